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

void tr_path_safe_text(const char *text, size_t max, char *out)
{
        size_t k = 0;

        for (const char *p = text; *p && k < max; p++) {
                unsigned char c = (unsigned char)*p;
                int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                         (c >= '0' && c <= '9') || c == '-' || c == '_';
                if (ok || (k > 0 && out[k - 1] != '_'))
                        out[k++] = ok ? (char)c : '_';
        }
        out[k] = '\0';
}

uint64_t tr_path_hash(const char *text)
{
        uint64_t h = 14695981039346656037ULL;

        for (; *text; text++) {
                h ^= (unsigned char)*text;
                h *= 1099511628211ULL;
        }
        return h;
}
