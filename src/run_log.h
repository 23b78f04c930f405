/*
 * The frame of a detached run's log, in the manner of nq: a header line when
 * the run starts (start time, cwd, command) and a footer when it ends
 * ("[exited with status 2 after 41.3s]"), so a log read later says what it is.
 */
#ifndef TASKRUN_RUN_LOG_H
#define TASKRUN_RUN_LOG_H

#include <stddef.h>
#include <stdint.h>

#include "report.h"

/* "[started at TIME in CWD: COMMAND]\n" on fd. */
void tr_log_header(int fd, const struct tr_run_info *in);

/* The footer's text without brackets or newline: "exited with status 2 after 41.3s". */
void tr_log_outcome(const struct tr_run_end *end, char *buf, size_t n);

/* "[OUTCOME]\n" on fd, on a line of its own. */
void tr_log_footer(int fd, const struct tr_run_end *end);

/* "[LINE]\n" on fd, on a line of its own. */
void tr_log_retry(int fd, const char *line);

/* --retry: "attempt 1 of 3: exited with status 2 after 0.1s; retrying in 0.9s". */
void tr_log_retry_line(int attempt, int of, const struct tr_run_end *end, int64_t delay_ms,
                       char *buf, size_t n);

#endif
