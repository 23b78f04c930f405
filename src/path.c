/* Splitting a path into its directory and its last name; making a directory's parents. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

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

int tr_mkdir_p(const char *path, mode_t mode)
{
        char tmp[PATH_MAX];

        if (snprintf(tmp, sizeof tmp, "%s", path) >= (int)sizeof tmp) {
                errno = ENAMETOOLONG;
                return -1;
        }
        for (char *p = tmp + 1; *p; p++) {
                if (*p != '/')
                        continue;
                *p = '\0';
                if (mkdir(tmp, mode) == -1 && errno != EEXIST)
                        return -1;
                *p = '/';
        }
        return mkdir(tmp, mode) == -1 && errno != EEXIST ? -1 : 0;
}
