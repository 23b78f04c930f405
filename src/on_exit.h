/*
 * --on-exit CMD: a user's command run through sh -c once the final record is
 * written, with the record on its standard input and the run's outcome in its
 * environment. Bounded by a timeout; it cannot change taskrun's exit status.
 */
#ifndef TASKRUN_ON_EXIT_H
#define TASKRUN_ON_EXIT_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "taskrun/error.h"

#define TR_ON_EXIT_TIMEOUT_MS 30000 /* default --on-exit-timeout */
#define TR_ON_EXIT_GRACE_MS 1000    /* SIGTERM at the timeout, SIGKILL this much later */

struct tr_on_exit {
        const char *cmd;   /* run as sh -c cmd */
        const char *input; /* its standard input (the final record) */
        size_t input_len;
        int64_t timeout_ms;   /* then its process group gets SIGTERM, later SIGKILL */
        const char *task_id;  /* TASKRUN_ID ("" when no task file was kept) */
        const char *list_dir; /* TASKRUN_LIST_DIR */
        const char *state;    /* TASKRUN_STATE */
        int exit_status;      /* TASKRUN_EXIT_CODE: taskrun's own exit status */
        int64_t duration_ms;  /* TASKRUN_DURATION_MS */
        sigset_t mask;        /* signal mask the hook starts with */
        sigset_t defaults;    /* signals taskrun ignores that go back to default */
};

/*
 * Run the hook to its end or its timeout. Returns 0 if it exited 0, -1
 * otherwise, with e->msg saying why ("exit status 3", "timed out after 2s").
 */
int tr_on_exit_run(const struct tr_on_exit *h, struct tr_err *e);

#endif
