/* The per-user runtime directory, and file names in it for arbitrary keys. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rundir.h"
#include "taskrun/path.h"

#define NAME_TEXT_CHARS 40

/* Make dir 0700 if missing; then it must be a directory of ours that nobody else may enter. */
static int private_dir(const char *dir, struct tr_err *e)
{
        struct stat st;

        if (mkdir(dir, 0700) == -1 && errno != EEXIST)
                return tr_err_sys(e, errno, "%s", dir);
        if (lstat(dir, &st) == -1)
                return tr_err_sys(e, errno, "%s", dir);
        if (!S_ISDIR(st.st_mode))
                return tr_err_set(e, ENOTDIR, "%s: not a directory (a symlink?)", dir);
        if (st.st_uid != geteuid() || (st.st_mode & 077) != 0)
                return tr_err_set(e, EPERM, "%s: not a private directory of this user", dir);
        return 0;
}

/* $XDG_RUNTIME_DIR/taskrun when that is an absolute path, else /tmp/taskrun-UID. */
static int base_dir(char *buf, size_t n)
{
        const char *xdg = getenv("XDG_RUNTIME_DIR");
        int len;

        if (xdg != NULL && xdg[0] == '/')
                len = snprintf(buf, n, "%s/taskrun", xdg);
        else
                len = snprintf(buf, n, "/tmp/taskrun-%u", (unsigned)geteuid());
        return len < 0 || (size_t)len >= n ? -1 : 0;
}

int tr_rundir_path(const char *sub, char *buf, size_t n)
{
        size_t used;

        if (base_dir(buf, n) == -1)
                return -1;
        used = strlen(buf);
        if (sub != NULL && *sub != '\0' &&
            snprintf(buf + used, n - used, "/%s", sub) >= (int)(n - used))
                return -1;
        return 0;
}

int tr_rundir(const char *sub, char *buf, size_t n, struct tr_err *e)
{
        size_t used;

        if (base_dir(buf, n) == -1)
                return tr_err_set(e, ENAMETOOLONG, "runtime directory: path too long");
        if (private_dir(buf, e) == -1)
                return -1;
        /* Each component in turn, so that each is made and checked. */
        for (const char *p = sub; p != NULL && *p != '\0';) {
                size_t len = strcspn(p, "/");
                used = strlen(buf);
                if (len == 0 || used + 1 + len >= n)
                        return tr_err_set(e, ENAMETOOLONG, "runtime directory: bad name '%s'", sub);
                buf[used] = '/';
                memcpy(buf + used + 1, p, len);
                buf[used + 1 + len] = '\0';
                if (private_dir(buf, e) == -1)
                        return -1;
                p += len;
                p += *p == '/';
        }
        return 0;
}

void tr_rundir_name(const char *prefix, const char *text, char *buf, size_t n)
{
        char safe[NAME_TEXT_CHARS + 1];

        tr_path_safe_text(text, NAME_TEXT_CHARS, safe);
        snprintf(buf, n, "%s-%s-%016llx", prefix, safe, (unsigned long long)tr_path_hash(text));
}
