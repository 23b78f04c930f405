/*
 * taskrun's per-user runtime directory: the lock files and FIFOs through which
 * runs on this host coordinate without a daemon (--slots, --unique).
 */
#ifndef TASKRUN_RUNDIR_H
#define TASKRUN_RUNDIR_H

#include <stddef.h>

#include "taskrun/error.h"

/*
 * $XDG_RUNTIME_DIR/taskrun/SUB, else /tmp/taskrun-UID/SUB, each directory made
 * 0700 and checked to be ours, private and no symlink (anyone can create
 * names in /tmp first). sub may have several components ("queues/NAME").
 */
int tr_rundir(const char *sub, char *buf, size_t n, struct tr_err *e);

/* The same path, made and checked by nothing: for readers that only look. */
int tr_rundir_path(const char *sub, char *buf, size_t n);

/* A file name for any string: prefix, the string's first safe characters and its hash. */
void tr_rundir_name(const char *prefix, const char *text, char *buf, size_t n);

#endif
