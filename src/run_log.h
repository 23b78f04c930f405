/*
 * The frame of a detached run's log, in the manner of nq: a header line when
 * the run starts (start time, cwd, command) and a footer when it ends
 * ("[exited with status 2 after 41.3s]"), so a log read later says what it is.
 */
#ifndef TASKRUN_RUN_LOG_H
#define TASKRUN_RUN_LOG_H

#include <stddef.h>

#include "taskrun/report.h"

/* "[started at TIME in CWD: COMMAND]\n" on fd. */
void tr_log_header(int fd, const struct tr_run_info *in);

/* The footer's text without brackets or newline: "exited with status 2 after 41.3s". */
void tr_log_outcome(const struct tr_run_end *end, char *buf, size_t n);

/* "[OUTCOME]\n" on fd. */
void tr_log_footer(int fd, const struct tr_run_end *end);

#endif
