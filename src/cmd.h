/*
 * What the task commands (create, update, show, list, wait, reap, kill, logs,
 * rerun, lists, gc, hook) share on the command line (cmd_common.c): opening
 * the store and finding the tasks named, with errors said as "taskrun: CMD:
 * ...". All file access goes through the store (store.h); the list, the
 * record, liveness and outcomes have headers of their own, included here.
 */
#ifndef TASKRUN_CMD_H
#define TASKRUN_CMD_H

#include <stdint.h>
#include <stdio.h>

#include "opts.h"
#include "task_list.h"
#include "task_settle.h"
#include "task_live.h"
#include "task_outcome.h"
#include "task_view.h"
#include "taskrun/store.h"

/* The store options' lines of a --help text. */
void tr_cmd_store_usage(FILE *f);

/*
 * tr_store_open, printing "taskrun: CMD: ..." on failure. Returns 0, or the
 * exit status to leave with: 2 when the options name no usable store, 1 when
 * the store cannot be used (missing directory, symlink, ...).
 */
int tr_cmd_open(const char *cmd, const struct tr_store_opts *o, int create, struct tr_store *s,
                struct tr_task_ref *file_ref);

/*
 * Open a whole list for reading (no --file). A list that the environment or
 * the personal default names but that does not exist yet sets *missing and
 * returns 0: it is empty. Prints errors; returns 0 or the status to leave with.
 */
int tr_cmd_open_list(const char *cmd, const struct tr_store_opts *o, struct tr_store *s,
                     int *missing);

/* The tasks a command works on: the IDs given, or the one --file task. */
struct tr_targets {
        struct tr_store store;
        struct tr_task_ref *refs;
        size_t n;
};

/*
 * Open the store and resolve ids (nids of them, at most max; at least one
 * unless --file names the task). Prints errors as "taskrun: CMD: ...".
 * Returns 0, or the exit status to leave with.
 */
int tr_targets_open(const char *cmd, const struct tr_store_opts *o, char **ids, int nids, int max,
                    struct tr_targets *t);
/*
 * tr_targets_open for the readers that can answer from the run archive
 * (show, logs, wait): with gone_ok, a list directory that is not there (a
 * person removed it) is no error; its tasks then read as missing.
 */
int tr_targets_open_ex(const char *cmd, const struct tr_store_opts *o, char **ids, int nids,
                       int max, int gone_ok, struct tr_targets *t);
void tr_targets_free(struct tr_targets *t);

/* Flush stdout: 0, or -1 after saying "taskrun: CMD: write error on standard output". */
int tr_cmd_flush(const char *cmd);

/* "taskrun: CMD: task ID: not found in DIR", for a task of a list whose file is missing. */
void tr_cmd_not_found(const char *cmd, const struct tr_store *s, const struct tr_task_ref *ref);

/*
 * Say why task ref could not be read or changed (e, from the store): not
 * found (tr_cmd_not_found) when a list's task file is missing, else e's
 * message. Returns TR_EXIT_FAIL.
 */
int tr_cmd_task_error(const char *cmd, const struct tr_store *s, const struct tr_task_ref *ref,
                      const struct tr_err *e);

/*
 * Read a task; a missing one reads as "task ID: not found in DIR". Prints
 * errors; returns 0 or the exit status to leave with.
 */
int tr_cmd_read(const char *cmd, const struct tr_store *s, const struct tr_task_ref *ref,
                json_object **task);

/*
 * tr_cmd_read, but a task whose file is gone is read from the run archive
 * when it holds a run of it (the newest): then archive gets the record's path
 * (else it is ""), and a line on stderr says so.
 */
int tr_cmd_read_or_archived(const char *cmd, const struct tr_store *s,
                            const struct tr_task_ref *ref, json_object **task, char *archive,
                            size_t n);

/*
 * A --set-meta "key=json" argument into the object meta. The value must be
 * one strict JSON value (RFC 8259, as JSON.parse takes it); a string needs its
 * quotes. null stays a JSON null, which a merge turns into deleting the key.
 * 0, or -1 after printing why as "taskrun: CMD: --set-meta ...".
 */
int tr_cmd_meta_arg(const char *cmd, const char *arg, json_object *meta);

/*
 * tr_list_load, saying "taskrun: CMD: skipping ..." for each file left out.
 * -1 (with e set) only when the directory itself cannot be read.
 */
int tr_list_read(const char *cmd, const struct tr_store *s, struct tr_task_list *l,
                 struct tr_err *e);

#endif
