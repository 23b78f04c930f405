/*
 * Atomic replacement: temp file in the same directory, fdatasync, rename (or,
 * to create, a rename that will not replace: link(2) where that is missing).
 * Never truncate in place.
 *
 * The directory is not fsynced. The data is on disk before the name points
 * at it, and a rename is one journaled step, so after a crash or a
 * power loss the name holds the old file or the new one, whole; at worst the
 * last write is undone, as an unfinished transaction is. The directory fsync
 * would only make the new name survive sooner, at half the cost of the write.
 *
 * With TR_ATOMIC_SPARE the temp file is the directory's spare, the file the
 * last write replaced: claimed by renaming it to a temp name (one writer
 * wins), overwritten, synced, and exchanged with the target, which becomes
 * the next spare. No inode or block is allocated or freed, so the sync
 * writes one data block and the inode; a new file each time costs three times
 * that on ext4. A spare that anyone still has open (a reader of the old
 * version) is not reused: see claim_spare.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "taskrun/atomic.h"
#include "taskrun/fdio.h"
#include "taskrun/path.h"

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0) /* the kernel's values, for libcs that lack them */
#define RENAME_EXCHANGE (1 << 1)
#endif

/* renameat2(2) by its system call: musl before 1.2.5 has no wrapper for it. */
static int rename2(const char *from, const char *to, unsigned int flags)
{
        return (int)syscall(SYS_renameat2, AT_FDCWD, from, AT_FDCWD, to, flags);
}

int tr_rename_noreplace(const char *from, const char *to)
{
        return rename2(from, to, RENAME_NOREPLACE);
}

int tr_rename_exchange(const char *a, const char *b)
{
        return rename2(a, b, RENAME_EXCHANGE);
}

/* dir's spare file. */
static int spare_path(const char *dir, char *buf, size_t n)
{
        return snprintf(buf, n, "%s/%s", dir, TR_ATOMIC_SPARE_NAME) >= (int)n ? -1 : 0;
}

/*
 * "DIR/.BASE.tmp.XXXXXX", mkostemp's template for a temp file of base: a name
 * not ending in .json, so no reader mistakes it for a task. Its length, or -1
 * (ENAMETOOLONG) when it does not fit.
 */
static int temp_template(const char *dir, const char *base, char *tmp, size_t tsz)
{
        int len = snprintf(tmp, tsz, "%s/.%s.tmp.XXXXXX", dir, base);

        if (len < (int)tsz)
                return len;
        errno = ENAMETOOLONG;
        return -1;
}

/* A temp name for base in dir, as mkostemp makes them, not created. */
static int temp_name(const char *dir, const char *base, char *tmp, size_t tsz)
{
        static const char digits[] =
            "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
        const unsigned base_n = sizeof digits - 1;
        struct timespec ts;
        unsigned long long v;
        int len = temp_template(dir, base, tmp, tsz);

        if (len == -1)
                return -1;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        v = (unsigned long long)ts.tv_nsec * 2654435761u ^ (unsigned long long)getpid() << 20;
        for (char *p = tmp + len - 6; *p; p++, v /= base_n)
                *p = digits[v % base_n];
        return 0;
}

/*
 * The directory's spare, claimed under a temp name in tmp: an fd open for
 * writing (*st what it is), or -1 when there is none or it will not do (a
 * link, another owner's, linked elsewhere), then removed.
 */
static int claim_spare(const char *dir, const char *base, char *tmp, size_t tsz, struct stat *st)
{
        char spare[PATH_MAX];
        int fd;

        if (spare_path(dir, spare, sizeof spare) == -1 || temp_name(dir, base, tmp, tsz) == -1 ||
            tr_rename_noreplace(spare, tmp) == -1)
                return -1;
        fd = open(tmp, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
        /* A write lease is refused while anyone else has the file open: a
         * reader still reading the old version it was, which must not change
         * under it. Taken and given back at once; no one else can open it by
         * this name. */
        if (fd != -1 && fstat(fd, st) == 0 && S_ISREG(st->st_mode) && st->st_nlink == 1 &&
            st->st_uid == geteuid() && fcntl(fd, F_SETLEASE, F_WRLCK) == 0 &&
            fcntl(fd, F_SETLEASE, F_UNLCK) == 0)
                return fd;
        if (fd != -1)
                close(fd);
        unlink(tmp);
        return -1;
}

/* Open a temp file for base in dir, the spare if asked and there is one: *st what it is. */
static int open_temp(const char *dir, const char *base, int flags, char *tmp, size_t tsz,
                     struct stat *st)
{
        int fd = -1;

        if (flags & TR_ATOMIC_SPARE)
                fd = claim_spare(dir, base, tmp, tsz, st);
        if (fd == -1) {
                if (temp_template(dir, base, tmp, tsz) == -1)
                        return -1;
                fd = mkostemp(tmp, O_CLOEXEC);
                memset(st, 0, sizeof *st);
                st->st_mode = S_IFREG | 0600; /* as mkostemp makes it: empty, 0600 */
        }
        return fd;
}

/* The contents and mode, over what a spare held before. 0, or -1 with errno. */
static int fill_temp(int fd, const struct stat *st, const void *data, size_t len, mode_t mode)
{
        if ((st->st_mode & 07777) != mode && fchmod(fd, mode) == -1)
                return -1;
        if (tr_write_all(fd, data, len) == -1)
                return -1;
        return st->st_size > (off_t)len ? ftruncate(fd, (off_t)len) : 0;
}

/*
 * Data to disk (unless nosync), with meanwhile's work done while it goes:
 * the write is started first, so that only the device's flush is left to
 * wait for after.
 */
static int sync_temp(int fd, int nosync, const struct tr_meanwhile *meanwhile)
{
        if (meanwhile != NULL) {
                if (!nosync)
                        sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);
                meanwhile->fn(meanwhile->arg);
        }
        return nosync ? 0 : fdatasync(fd);
}

/*
 * Write data to a temp file (the spare, if asked and there is one) and sync
 * it unless told not to. fdatasync is enough: it makes the data and the size
 * durable, which is what reading the file back whole takes; the times and
 * the mode (set here to what it was) may lag.
 */
static int write_temp(const char *dir, const char *base, const void *data, size_t len, mode_t mode,
                      int flags, const struct tr_meanwhile *meanwhile, char *tmp, size_t tsz,
                      struct tr_err *e)
{
        struct stat st;
        int fd = open_temp(dir, base, flags, tmp, tsz, &st);

        if (fd == -1)
                return tr_err_sys(e, errno, "%s: cannot create temp file", dir);
        if (fill_temp(fd, &st, data, len, mode) == -1 ||
            sync_temp(fd, flags & TR_ATOMIC_NOSYNC, meanwhile) == -1) {
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

/*
 * Put tmp in path's place: exchanged with the old file, which is kept as the
 * spare (or removed), with TR_ATOMIC_SPARE; renamed over it otherwise, as
 * anything but a regular file is (a symlink is replaced, not followed).
 */
static int replace(const char *dir, const char *tmp, const char *path, int flags)
{
        struct stat st;

        if (!(flags & TR_ATOMIC_SPARE) || tr_rename_exchange(tmp, path) == -1)
                return rename(tmp, path);
        if (lstat(tmp, &st) == -1 || !S_ISREG(st.st_mode)) {
                tr_rename_exchange(tmp, path);
                return rename(tmp, path);
        }
        tr_atomic_retire(dir, tmp);
        return 0;
}

/* Put tmp at path, which must not exist; on success the temp name is gone. */
static int create(const char *tmp, const char *path)
{
        if (tr_rename_noreplace(tmp, path) == 0)
                return 0;
        /* No RENAME_NOREPLACE in the filesystem or kernel: link(2) refuses a target too. */
        if ((errno != EINVAL && errno != ENOSYS) || link(tmp, path) == -1)
                return -1;
        unlink(tmp);
        return 0;
}

int tr_atomic_retire(const char *dir, const char *path)
{
        char spare[PATH_MAX];

        if (spare_path(dir, spare, sizeof spare) == 0 && tr_rename_noreplace(path, spare) == 0)
                return 0;
        return unlink(path) == 0 || errno == ENOENT ? 0 : -1;
}

int tr_atomic_keep_spare(const char *dir)
{
        char spare[PATH_MAX];
        int fd;

        if (spare_path(dir, spare, sizeof spare) == -1) {
                errno = ENAMETOOLONG;
                return -1;
        }
        fd = open(spare, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd == -1)
                return errno == EEXIST ? 0 : -1;
        return close(fd);
}

void tr_atomic_drop_spare(const char *dir)
{
        char spare[PATH_MAX];

        if (spare_path(dir, spare, sizeof spare) == 0)
                unlink(spare);
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
        return tr_atomic_write_meanwhile(path, data, len, mode, flags, NULL, e);
}

int tr_atomic_write_meanwhile(const char *path, const void *data, size_t len, mode_t mode,
                              int flags, const struct tr_meanwhile *meanwhile, struct tr_err *e)
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
        if (write_temp(dir, base, data, len, mode, flags, meanwhile, tmp, sizeof tmp, e) == -1)
                return -1;
        r = excl ? create(tmp, path) : replace(dir, tmp, path, flags);
        if (r == -1) {
                int saved = errno;
                unlink(tmp);
                return tr_err_sys(e, saved, "%s", path);
        }
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
