/*
 * What taskrun records in a task: the running state at start, heartbeats, and
 * the result at the end. taskrun owns metadata.taskrun in a Claude list (the
 * top level of a plain --file task) and a result block at the end of the
 * description; every other field is left as it was.
 */
#ifndef TASKRUN_REPORT_H
#define TASKRUN_REPORT_H

#include <limits.h>
#include <stdint.h>
#include <sys/types.h>

#include "taskrun/argv.h"
#include "taskrun/procinfo.h"
#include "taskrun/store.h"

/* The description's result block starts with this line; taskrun replaces it on each run.
 * It follows the description after a blank line, or is all of an empty one. */
#define TR_RESULT_HEAD "--- taskrun ---\n"
#define TR_RESULT_MARK "\n\n" TR_RESULT_HEAD
/* The block's output lines: at most this many bytes in all, each line at most TR_RESULT_LINE. */
#define TR_RESULT_OUTPUT_MAX 4096
#define TR_RESULT_LINE 300

enum tr_state {
        TR_STATE_RUNNING,
        TR_STATE_COMPLETED,
        TR_STATE_FAILED,
        TR_STATE_TIMED_OUT,
        TR_STATE_KILLED,
        TR_STATE_LOST,
        TR_STATE_STOPPED, /* by a signal (SIGSTOP, SIGTSTP ...), until it continues */
        TR_STATE_STALLED, /* --stall-timeout: no output for that long, so it was ended */
};

const char *tr_state_name(enum tr_state s);

struct tr_run_info {
        char *const *argv;
        char cwd[PATH_MAX];
        pid_t pid;
        char host[256];
        char boot_id[64];
        unsigned long long start_ticks;
        char started_at[TR_ISO8601_LEN];
        pid_t supervisor_pid; /* the taskrun that supervises: `taskrun kill` asks it */
        unsigned long long supervisor_start_ticks;
        const char *log;       /* --detach: the log's absolute path, else NULL */
        int64_t log_offset;    /* where this run's part of the log starts */
        json_object *options;  /* the run options a rerun reuses (metadata.taskrun.options) */
        int attempt;           /* --retry: this attempt, from 1; 0 without --retry */
        json_object *attempts; /* --retry: the last attempts, oldest first; else NULL */
};

struct tr_run_end {
        enum tr_state state;
        int exit_code; /* -1 when the command was killed by a signal */
        int signal;    /* 0 when it exited */
        int timed_out; /* --timeout expired */
        int stalled;   /* --stall-timeout expired */
        int64_t stall_timeout_ms;
        int exec_errno; /* the command could not be started; 0 otherwise */
        int64_t duration_ms;
        char ended_at[TR_ISO8601_LEN];
        const char *tail;       /* rendered output tail, for metadata */
        const char *tail_lines; /* its last few lines, for the description */
        const char *last_line;  /* last non-empty output line */
        uint64_t output_bytes;
        int between_attempts; /* --retry: the wait before the next attempt was ended */
        int kill_signal;      /* `taskrun kill` asked for this signal; 0 if it did not */
        pid_t kill_pid;       /* who asked */
        uid_t kill_uid;
        const char *output_error; /* "stdout: No space left on device", or NULL */
};

struct tr_report {
        enum tr_schema schema;
        int fail_status_pending; /* --on-fail=pending: a failed Claude task goes back to pending */
        const struct tr_run_info *info;
        const struct tr_run_end *end; /* for tr_report_end */
        const char *now, *last_line;  /* for tr_report_heartbeat */
        uint64_t output_bytes;        /* for tr_report_heartbeat */
        int stop_signal;              /* for tr_report_stopped: 0 when it continued */
        const char *retry_at;         /* for tr_report_retry: when the next attempt starts */
};

/* tr_mutate_fn callbacks; arg is a struct tr_report. */
int tr_report_start(json_object *task, void *arg, struct tr_err *e);
int tr_report_heartbeat(json_object *task, void *arg, struct tr_err *e);
int tr_report_end(json_object *task, void *arg, struct tr_err *e);
/* state "stopped" with stop_signal, or back to "running" when stop_signal is 0. */
int tr_report_stopped(json_object *task, void *arg, struct tr_err *e);
/* --retry: an attempt failed and the next starts at retry_at; the run goes on ("running"). */
int tr_report_retry(json_object *task, void *arg, struct tr_err *e);

/* Replace the description's result block (from TR_RESULT_MARK on) with one
 * saying outcome, command and output; command and output may be NULL. */
void tr_result_block_set(json_object *task, const char *outcome, const char *command,
                         const char *output);

/*
 * A Claude task's activeForm once its run has ended in state: taskrun's own
 * "Running CMD" becomes "Failed: CMD" (failed), "Timed out: CMD", "Killed:
 * CMD" or "Lost: CMD", and is removed for any other state (completed). An
 * activeForm someone else chose is left as it is.
 */
void tr_report_active_form_end(json_object *task, const char *state);

/* The one-line outcome, e.g. "failed: exit code 2 after 1.3s". */
void tr_outcome_line(const struct tr_run_end *end, char *buf, size_t n);

#endif
