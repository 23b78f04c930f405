/* Reading a task that another writer may be half-way through (task_settle.c). */
#ifndef TASKRUN_TASK_SETTLE_H
#define TASKRUN_TASK_SETTLE_H

#include "taskrun/store.h"

/*
 * tr_task_read for readers that hold no lock (list, show, wait): a file that
 * does not parse is read again for about a third of a second first, since
 * Claude Code writes in place and may be half-way through (task_settle.c).
 */
int tr_task_read_settled(const struct tr_store *s, const struct tr_task_ref *ref, json_object **out,
                         struct tr_err *e);

#endif
