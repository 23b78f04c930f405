/* Splitting a path into its directory and its last name. */
#include <stdio.h>
#include <string.h>

#include "taskrun/path.h"

int tr_path_split(const char *path, char *dir, size_t dsz, const char **base)
{
        const char *slash = strrchr(path, '/');

        *base = slash ? slash + 1 : path;
        if (slash == NULL)
                return snprintf(dir, dsz, ".") >= (int)dsz ? -1 : 0;
        if (slash == path)
                return snprintf(dir, dsz, "/") >= (int)dsz ? -1 : 0;
        if ((size_t)(slash - path) >= dsz)
                return -1;
        memcpy(dir, path, slash - path);
        dir[slash - path] = '\0';
        return 0;
}
