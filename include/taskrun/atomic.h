/* Replace a file so that a reader at any moment sees the old or the new one, whole. */
#ifndef TASKRUN_ATOMIC_H
#define TASKRUN_ATOMIC_H

#include <stddef.h>
#include <sys/types.h>

#include "taskrun/error.h"

enum {
        /* path must not exist: the temp file is renamed into place with
         * RENAME_NOREPLACE (or link(2)ed where that is missing), which fails
         * with EEXIST instead of overwriting. */
        TR_ATOMIC_EXCL = 1,
        /* Skip the temp file's sync too: readers still see the old file or
         * the new one, whole, but after a power loss the new one may be
         * empty. For copies whose original was written durably. */
        TR_ATOMIC_NOSYNC = 2,
        /* The directory is a task list or taskrun's own: write into its
         * spare file, TR_ATOMIC_SPARE_NAME, if there is one, and keep the
         * file replaced as the next spare (see atomic.c). */
        TR_ATOMIC_SPARE = 4,
};

/*
 * renameat2(2) on any libc, by its system call: from becomes to unless to
 * exists (EEXIST), and a and b swap names. EINVAL where the filesystem, and
 * ENOSYS where the kernel (before 3.15), cannot. 0, or -1 with errno.
 */
int tr_rename_noreplace(const char *from, const char *to);
int tr_rename_exchange(const char *a, const char *b);

/* The file TR_ATOMIC_SPARE leaves in a directory between writes. */
#define TR_ATOMIC_SPARE_NAME ".taskrun.spare"

/*
 * path, a file in dir that is no longer wanted (never one someone else may
 * have linked), becomes dir's spare, or is removed when dir has one. 0, or
 * -1 with errno.
 */
int tr_atomic_retire(const char *dir, const char *path);

/* Remove dir's spare, if it has one. */
void tr_atomic_drop_spare(const char *dir);

/*
 * Make dir's spare, empty, if it has none: the next TR_ATOMIC_SPARE write
 * there then makes no inode, for a caller with time to spare before it.
 * 0, or -1 with errno.
 */
int tr_atomic_keep_spare(const char *dir);

/*
 * Write data to a temp file beside path, fdatasync it and rename it over path
 * (or, for TR_ATOMIC_EXCL, to path where nothing is).
 * After a crash or power loss path is the old file or the new one, whole
 * (the directory is not fsynced: the last write may be undone, never torn).
 * The temp file is removed on every failure path.
 * mode is the file's mode: exactly, when replacing; less the umask, when
 * TR_ATOMIC_EXCL creates a new file.
 */
int tr_atomic_write(const char *path, const void *data, size_t len, mode_t mode, int flags,
                    struct tr_err *e);

/* Work done while a write's data goes to disk, instead of after it: fn(arg). */
struct tr_meanwhile {
        void (*fn)(void *arg);
        void *arg;
};

/*
 * tr_atomic_write, calling meanwhile (if not NULL) once the data is written
 * and on its way to disk, before the sync is waited for. The file is not in
 * place yet then, and may still fail to get there; a write that fails
 * before never calls meanwhile.
 */
int tr_atomic_write_meanwhile(const char *path, const void *data, size_t len, mode_t mode,
                              int flags, const struct tr_meanwhile *meanwhile, struct tr_err *e);

/* A temp file this old was left by a writer killed mid-write (kill -9, power loss). */
#define TR_ATOMIC_ORPHAN_MS (10 * 60 * 1000)

/*
 * Remove the temp files tr_atomic_write left in dir when killed: those of
 * base (a file name), or all with base NULL, older than TR_ATOMIC_ORPHAN_MS.
 * With dry_run, only count. Returns how many, or -1 with errno.
 */
int tr_atomic_sweep(const char *dir, const char *base, int dry_run);

/* tr_write_all was declared here before; its users keep finding it. */
#include "taskrun/fdio.h"

#endif
