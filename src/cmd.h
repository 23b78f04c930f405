/*
 * What the task commands (create, update, show, list, wait, reap) share:
 * finding the tasks named on the command line, reading a whole list, reading
 * taskrun's fields out of a task, and telling whether a task is done or its
 * process still alive. All file access goes through the store (store.h).
 */
#ifndef TASKRUN_CMD_H
#define TASKRUN_CMD_H

#include <stdint.h>
#include <stdio.h>

#include "taskrun/store.h"

/* --- command line (cmd_common.c) --- */

/* "Try 'taskrun CMD --help'." on stderr; returns TR_EXIT_USAGE. */
int tr_cmd_usage_error(const char *cmd);

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
void tr_targets_free(struct tr_targets *t);

/*
 * Read a task; a missing one reads as "task ID: not found in DIR". Prints
 * errors; returns 0 or the exit status to leave with.
 */
int tr_cmd_read(const char *cmd, const struct tr_store *s, const struct tr_task_ref *ref,
                json_object **task);

/*
 * A --set-meta "key=json" argument into the object meta. The value must be
 * one strict JSON value (RFC 8259, as JSON.parse takes it); a string needs its
 * quotes. null stays a JSON null, which a merge turns into deleting the key.
 * 0, or -1 after printing why as "taskrun: CMD: --set-meta ...".
 */
int tr_cmd_meta_arg(const char *cmd, const char *arg, json_object *meta);

/* --- a whole list (task_list.c) --- */

struct tr_task_entry {
        struct tr_task_ref ref;
        json_object *task;
};

struct tr_task_list {
        struct tr_task_entry *v;
        size_t n;
};

/*
 * Read every <id>.json of a list directory, sorted by id: numeric ids in
 * numeric order first, then the others in byte order. A file that cannot be
 * read or parsed is skipped with "taskrun: CMD: skipping ...", as Claude skips
 * it. -1 (with e set) only when the directory itself cannot be read.
 */
int tr_list_read(const char *cmd, const struct tr_store *s, struct tr_task_list *l,
                 struct tr_err *e);
void tr_list_free(struct tr_task_list *l);

/* Numeric ids by number, then the rest by strcmp. */
int tr_id_compare(const char *a, const char *b);

/* --- taskrun's fields in a task (task_view.c) --- */

/* metadata.taskrun in a Claude list, the task itself in a plain file; NULL if none. */
json_object *tr_task_block(json_object *task, enum tr_schema schema);

/* The string under key, or NULL if absent or not a string. */
const char *tr_json_str(json_object *obj, const char *key);

/* 0 and *out if the value under key is an integer, else -1. */
int tr_json_int(json_object *obj, const char *key, int64_t *out);

enum tr_done {
        TR_NOT_DONE,
        TR_DONE_OK,     /* status completed, or the run completed */
        TR_DONE_FAILED, /* status failed (plain), or the run failed, timed out, was killed or lost
                         */
};

/*
 * Whether a task is done and how: a status of completed (or failed in a plain
 * file) decides first, then metadata.taskrun.state when it is final. *word
 * gets the deciding status or state when done.
 */
enum tr_done tr_task_done(json_object *task, enum tr_schema schema, const char **word);

/* The recorded argv as a shell would show it, at most max bytes; malloc'd, NULL if none. */
char *tr_task_command(json_object *block, size_t max);

/* The run's duration: duration_ms, else the time since started_at while running; "-" if none. */
void tr_task_duration(json_object *block, char *buf, size_t n);

/* Milliseconds since the epoch from "2026-12-01T05:00:00.123Z"; -1 if not that form. */
int64_t tr_iso8601_parse(const char *s);

/*
 * One line for a terminal: control characters (newlines, escapes) become
 * spaces, and text longer than max characters is cut at a UTF-8 boundary and
 * ends in "...". NULL or "" gives "-".
 */
void tr_oneline(const char *in, size_t max, char *out, size_t n);

/* --- is a running task's process still there (task_live.c) --- */

struct tr_here {
        char host[256];
        char boot_id[64]; /* "" if unknown */
};

/* This machine's host name and boot id. */
void tr_here_init(struct tr_here *h);

enum tr_live {
        TR_LIVE_NOT_RUNNING, /* state is not "running": nothing to judge */
        TR_LIVE_ALIVE,       /* its process is there */
        TR_LIVE_FOREIGN,     /* it runs on another host: cannot tell, leave it */
        TR_LIVE_UNKNOWN,     /* too little recorded (no host or pid) to tell */
        TR_LIVE_LOST,        /* rebooted since, process gone, or pid reused */
};

/* Judge a taskrun block; why receives the reason in words. */
enum tr_live tr_task_liveness(json_object *block, const struct tr_here *here, char *why, size_t n);

#endif
