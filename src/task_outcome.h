/* How a run ended, in the words `wait` (and the Claude Code hook) say it (task_outcome.c). */
#ifndef TASKRUN_TASK_OUTCOME_H
#define TASKRUN_TASK_OUTCOME_H

#include <stddef.h>
#include <json-c/json.h>

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

#endif
