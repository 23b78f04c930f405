/* Replace a file so that a reader at any moment sees the old or the new one, whole. */
#ifndef TASKRUN_ATOMIC_H
#define TASKRUN_ATOMIC_H

#include <stddef.h>
#include <sys/types.h>

#include "taskrun/error.h"

/*
 * Write data to a temp file beside path, fsync it, rename it over path and
 * fsync the directory. The temp file is removed on every failure path.
 * If excl is set, path must not exist: the temp file is link(2)ed into place,
 * which fails with EEXIST instead of overwriting. mode is the file's mode:
 * exactly, when replacing; less the umask, when excl creates a new file.
 */
int tr_atomic_write(const char *path, const void *data, size_t len, mode_t mode, int excl,
		    struct tr_err *e);

/* write(2) all of buf, retrying on EINTR and short writes. */
int tr_write_all(int fd, const void *buf, size_t len);

#endif
