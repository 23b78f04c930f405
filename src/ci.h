/* CI step results: a one-object JSON summary, and GitHub Actions integration. */
#ifndef TASKRUN_CI_H
#define TASKRUN_CI_H

#include "taskrun/report.h"

struct tr_ci_result {
        char *const *argv;
        const char *task_id; /* NULL when no task file was kept */
        const char *started_at;
        const struct tr_run_end *end;
};

/* The summary object: command, exit, signal, state, duration, times, tail. */
json_object *tr_ci_summary(const struct tr_ci_result *r);

/* Write tr_ci_summary atomically to path. */
int tr_ci_write_summary(const char *path, const struct tr_ci_result *r, struct tr_err *e);

/* True when $GITHUB_ACTIONS says we run in GitHub Actions. */
int tr_github_active(void);

/* "::group::command" before the output, "::endgroup::" after it. */
void tr_github_group_begin(char *const *argv);
void tr_github_group_end(void);

/* An ::error:: annotation on failure, and a Markdown section appended to
 * $GITHUB_STEP_SUMMARY when it is set. */
int tr_github_report(const struct tr_ci_result *r, struct tr_err *e);

#endif
