/* Reading taskrun's record back out of a task (task_view.c). */
#ifndef TASKRUN_TASK_VIEW_H
#define TASKRUN_TASK_VIEW_H

#include <stddef.h>
#include <stdint.h>

#include "taskrun/store.h"

/* metadata.taskrun in a Claude list, the task itself in a plain file; NULL if none. */
json_object *tr_task_block(json_object *task, enum tr_schema schema);

/* The string under key, or NULL if absent or not a string. */
const char *tr_json_str(json_object *obj, const char *key);

/* 0 and *out if the value under key is an integer, else -1. */
int tr_json_int(json_object *obj, const char *key, int64_t *out);

enum tr_done {
        TR_NOT_DONE,
        TR_DONE_OK,     /* status completed, or the run completed */
        TR_DONE_FAILED, /* status failed (plain), or the run failed, timed out or was killed */
        TR_DONE_LOST,   /* the run was lost: how it ended is not known */
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

/*
 * One line for a terminal: control characters (newlines, escapes) become
 * spaces, and text longer than max characters is cut at a UTF-8 boundary and
 * ends in "...". NULL or "" gives "-".
 */
void tr_oneline(const char *in, size_t max, char *out, size_t n);

#endif
