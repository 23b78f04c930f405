/*
 * What the task commands (create, update, show, list, wait, reap, kill)
 * share on the command line: opening the store and finding the tasks named,
 * with errors said as "taskrun: CMD: ...". All file access goes through the
 * store (store.h); the list, the record and liveness have headers of their own.
 */
#ifndef TASKRUN_CMD_H
#define TASKRUN_CMD_H

#include <stdint.h>
#include <stdio.h>

#include "opts.h"
#include "task_list.h"
#include "task_settle.h"
#include "task_live.h"
#include "task_view.h"
#include "taskrun/store.h"

/* --- command line (cmd_common.c) --- */

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

/* --- how a run ended, for wait (task_outcome.c) --- */

struct tr_outcome_view {
        const char *id;
        const char *word;   /* completed, failed, timed_out, killed, lost, gone, running, ... */
        json_object *block; /* the run's metadata.taskrun, or NULL */
        const char *reason; /* why lost or gone, or NULL (then a lost block's error) */
        int done;           /* 0: wait gave up first */
        int archived;       /* the block comes from the run archive: the task file is gone */
};

/* "3: failed (exit 2, 3.1s): last line": the line `wait` prints for a task. */
void tr_outcome_describe(const struct tr_outcome_view *v, char *buf, size_t n);

/* The same as one JSON object: id, state, done, exit_code, signal, duration_ms, ... */
json_object *tr_outcome_json(const struct tr_outcome_view *v);

/*
 * tr_list_load, saying "taskrun: CMD: skipping ..." for each file left out.
 * -1 (with e set) only when the directory itself cannot be read.
 */
int tr_list_read(const char *cmd, const struct tr_store *s, struct tr_task_list *l,
                 struct tr_err *e);

/*
 * The process whose end ends the run: the supervisor when recorded
 * (supervisor_pid), else the command (pid); its start ticks (0 if unknown).
 * -1 when the block records neither.
 */
int tr_task_watched_pid(json_object *block, pid_t *pid, unsigned long long *ticks);

/*
 * What readers that do not write (list, show, wait) show for a task: when its
 * record says running but its process is gone (TR_LIVE_LOST), the in-memory
 * task is changed as reap would change the file: state lost, error why, and
 * duration_ms up to the last heartbeat. Returns 1 if it was changed.
 */
int tr_task_judge(json_object *task, enum tr_schema schema, const struct tr_here *here);

#endif
