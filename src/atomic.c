/*
 * Atomic replacement: temp file in the same directory, fsync, rename (or
 * link for exclusive creation). Never truncate in place.
 *
 * The directory is not fsynced. The data is on disk before the name points
 * at it, and a rename or link is one journaled step, so after a crash or a
 * power loss the name holds the old file or the new one, whole; at worst the
 * last write is undone, as an unfinished transaction is. The directory fsync
 * would only make the new name survive sooner, at half the cost of the write.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "taskrun/atomic.h"
#include "taskrun/fdio.h"
#include "taskrun/path.h"

/* Write data to a fresh temp file named ".BASE.tmp.XXXXXX" and fsync it (if durable). */
static int write_temp(const char *dir, const char *base, const void *data, size_t len, mode_t mode,
                      int durable, char *tmp, size_t tsz, struct tr_err *e)
{
        int fd;

        /* A name not ending in .json, so no reader mistakes it for a task. */
        if (snprintf(tmp, tsz, "%s/.%s.tmp.XXXXXX", dir, base) >= (int)tsz)
                return tr_err_sys(e, ENAMETOOLONG, "%s", base);
        fd = mkostemp(tmp, O_CLOEXEC);
        if (fd == -1)
                return tr_err_sys(e, errno, "%s: cannot create temp file", dir);
        if (fchmod(fd, mode) == -1 || tr_write_all(fd, data, len) == -1 ||
            (durable && fsync(fd) == -1)) {
                int saved = errno;
                close(fd);
                unlink(tmp);
                return tr_err_sys(e, saved, "%s: write", tmp);
        }
        if (close(fd) == -1) {
                int saved = errno;
                unlink(tmp);
                return tr_err_sys(e, saved, "%s: close", tmp);
        }
        return 0;
}

/* The process umask; umask(2) can only be read by setting it, so set it back at once. */
static mode_t current_umask(void)
{
        mode_t m = umask(022);

        umask(m);
        return m;
}

int tr_atomic_write(const char *path, const void *data, size_t len, mode_t mode, int flags,
                    struct tr_err *e)
{
        char dir[PATH_MAX], tmp[PATH_MAX];
        const char *base;
        int excl = flags & TR_ATOMIC_EXCL;
        int r;

        if (tr_path_split(path, dir, sizeof dir, &base) == -1)
                return tr_err_sys(e, ENAMETOOLONG, "%s", path);
        /* A new file gets the mode open(2) would give it; a replacement keeps the exact mode. */
        if (excl)
                mode &= ~current_umask();
        if (write_temp(dir, base, data, len, mode, !(flags & TR_ATOMIC_NOSYNC), tmp, sizeof tmp,
                       e) == -1)
                return -1;
        /* link(2) refuses an existing target; rename(2) replaces it atomically. */
        r = excl ? link(tmp, path) : rename(tmp, path);
        if (r == -1) {
                int saved = errno;
                unlink(tmp);
                return tr_err_sys(e, saved, "%s", path);
        }
        if (excl)
                unlink(tmp);
        return 0;
}

/* ".BASE.tmp.XXXXXX", as write_temp names them; any BASE when base is NULL. */
static int is_temp_of(const char *name, const char *base)
{
        size_t n = strlen(name), b;

        if (name[0] != '.' || n < 1 + 11 || memcmp(name + n - 11, ".tmp.", 5) != 0)
                return 0;
        if (base == NULL)
                return 1;
        b = strlen(base);
        return n == 1 + b + 11 && memcmp(name + 1, base, b) == 0;
}

int tr_atomic_sweep(const char *dir, const char *base, int dry_run)
{
        DIR *d = opendir(dir);
        struct dirent *de;
        time_t cutoff = time(NULL) - TR_ATOMIC_ORPHAN_MS / 1000;
        int count = 0;

        if (d == NULL)
                return -1;
        while ((de = readdir(d)) != NULL) {
                struct stat st;
                if (!is_temp_of(de->d_name, base) ||
                    fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == -1 ||
                    !S_ISREG(st.st_mode) || st.st_mtime > cutoff)
                        continue;
                if (dry_run || unlinkat(dirfd(d), de->d_name, 0) == 0)
                        count++;
        }
        closedir(d);
        return count;
}
