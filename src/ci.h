/* CI step results: a one-object JSON summary, and GitHub Actions integration. */
#ifndef TASKRUN_CI_H
#define TASKRUN_CI_H

#include "report.h"

struct tr_ci_result {
        char *const *argv;
        const char *task_id; /* NULL when no task file was kept */
        const char *started_at;
        const struct tr_run_end *end;
        const char *subject; /* --subject: titles the group and the annotations; may be NULL */
        int status;          /* taskrun's exit status */
};

/* The summary object: command, exit, signal, state, duration, times, tail. */
json_object *tr_ci_summary(const struct tr_ci_result *r);

/* Write tr_ci_summary atomically to path. */
int tr_ci_write_summary(const char *path, const struct tr_ci_result *r, struct tr_err *e);

/* True when $GITHUB_ACTIONS says we run in GitHub Actions. */
int tr_github_active(void);

/* "::group::subject" (or the command line) before the output, "::endgroup::" after it. */
void tr_github_group_begin(const char *subject, char *const *argv);
void tr_github_group_end(void);

#define TR_GITHUB_SUMMARY_MAX (1024 * 1024) /* GitHub's limit on a step's summary */
#define TR_GITHUB_SECTION_TAIL (64 * 1024)  /* output bytes one run puts in it at most */

/*
 * Annotations for the diagnostics in the output tail and an ::error:: one on
 * failure, capped per step; a Markdown section appended to
 * $GITHUB_STEP_SUMMARY, which stays under TR_GITHUB_SUMMARY_MAX; exit_code,
 * duration_ms, state and task_id appended to $GITHUB_OUTPUT. Each file only
 * when its variable is set. -1 with e set if a file could not be written.
 */
int tr_github_report(const struct tr_ci_result *r, struct tr_err *e);

#endif
