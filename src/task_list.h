/* A whole task list, read at once and sorted by id (task_list.c). */
#ifndef TASKRUN_TASK_LIST_H
#define TASKRUN_TASK_LIST_H

#include <stddef.h>

#include "taskrun/store.h"

struct tr_task_entry {
        struct tr_task_ref ref;
        json_object *task;
};

struct tr_task_list {
        struct tr_task_entry *v;
        size_t n, cap;
        struct tr_err *skipped; /* files left out, and why */
        size_t n_skipped;
};

/*
 * Read every <id>.json of a list directory, sorted by id: numeric ids in
 * numeric order first, then the others in byte order. A file that cannot be
 * read or parsed is left out, as Claude leaves it out, and why is kept in
 * skipped for the caller to say. -1 (with e set) only when the directory
 * itself cannot be read.
 */
int tr_list_load(const struct tr_store *s, struct tr_task_list *l, struct tr_err *e);
void tr_list_free(struct tr_task_list *l);

/* Called with each task of a list in id order; the task is borrowed. 0 goes on, -1 stops. */
typedef int (*tr_list_fn)(const struct tr_task_ref *ref, json_object *task, void *arg);

/*
 * The same walk without holding the list: the names are read and sorted
 * first, then each file is read, handed to fn and let go, so memory stays
 * flat however long the list. Skipped files go to l->skipped (l->v stays
 * empty). -1 with e set when the directory cannot be read, or fn stopped it.
 */
int tr_list_each(const struct tr_store *s, struct tr_task_list *l, tr_list_fn fn, void *arg,
                 struct tr_err *e);

#endif
