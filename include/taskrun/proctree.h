/* A process's descendants, as /proc shows them now. */
#ifndef TASKRUN_PROCTREE_H
#define TASKRUN_PROCTREE_H

#include <stddef.h>
#include <sys/types.h>

/*
 * The pids of every living descendant of root (children, their children, ...),
 * malloc'd into *pids (free it), count in *n. A snapshot: processes may come
 * and go while it is taken. 0, or -1 with errno.
 */
int tr_proc_descendants(pid_t root, pid_t **pids, size_t *n);

#endif
