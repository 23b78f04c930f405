/*
 * One run's state, shared by the files of the run form: run.c (store and
 * supervisor glue), run_events.c (--events), run_hooks.c (--summary,
 * --github, --ping, --on-exit), run_detach.c (--detach) and run_retry.c
 * (--retry). None of them calls back into run.c.
 */
#ifndef TASKRUN_RUN_CTX_H
#define TASKRUN_RUN_CTX_H

#include <limits.h>
#include <signal.h>

#include "events.h"
#include "ping.h"
#include "retry.h"
#include "run.h"

struct run_ctx {
        const struct tr_run_opts *o;
        struct tr_store store;
        struct tr_task_ref ref;
        int tracked;          /* a task file is kept for this run */
        int write_failed;     /* a task file write failed: --strict turns it into 125 */
        int running_written;  /* this attempt's running record is in the file */
        int host_facts;       /* info's host, boot_id and supervisor_start_ticks are filled */
        int idle_steps;       /* steps of the end's work done while the command ran */
        json_object *pending; /* a new task whose id is reserved and whose file is not made yet */
        json_object *final;   /* the task as the final write left it, for the run archive */
        char *archive_dir;    /* the run archive's directory, made, with a spare (malloc'd); NULL */
        int ready_fd;         /* --detach: closed once the running record is written */
        struct tr_run_info info;
        struct tr_report report;
        char *log;                             /* --detach: the log's absolute path (malloc'd) */
        sigset_t mask, defaults;               /* what the command starts with, for hooks too */
        struct tr_ping *ping;                  /* --ping, while its helper runs (malloc'd) */
        char output_error[128];                /* "stdout: No space left on device" */
        struct tr_tail replay_out, replay_err; /* --quiet with two pipes */
        struct tr_events events;               /* --events */
        int start_emitted;
        struct tr_gate gate; /* --after, --slots, --unique: what the command waits for */
};

/* --- run_record.c: the task file --- */
#define TR_RUN_TRANSIENT 1 /* tr_run_write: a record a later one supersedes */
/*
 * A new task for the run (none was named): made now, or, when nothing must
 * read it sooner, its id reserved and the task kept in c->pending, so that
 * its first record makes the file. 0, or -1 with e set.
 */
int tr_run_new_task(struct run_ctx *c, struct tr_err *e);
/*
 * Write through fn (tr_report_*, arg c->report). A TR_RUN_TRANSIENT record
 * (running, heartbeat, stopped, retry) waits for a lock only briefly. 0
 * written (or no task file kept), 1 skipped because another process holds
 * the lock, -1 failed (said, and remembered for --strict).
 */
int tr_run_write(struct run_ctx *c, tr_mutate_fn fn, int transient);
/* The final record through fn, then the same task into the run archive. */
void tr_run_write_final(struct run_ctx *c, tr_mutate_fn fn);
/* The run archive's directory made, with a spare for the record, while the command runs (once). */
void tr_run_archive_ready(struct run_ctx *c);
/* A spare file in the list, so that the final write makes no inode (a new task's would). */
void tr_run_list_spare(struct run_ctx *c);
/*
 * The facts no one needs before the command starts (host, boot, our own
 * start time): read while it runs, or by the first record or event that
 * names them.
 */
void tr_run_host_facts(struct run_ctx *c);
/* A command that ended before its running record was written gets both in one write. */
int tr_run_report_start_end(json_object *task, void *arg, struct tr_err *e);

/* --- run_retry.c: between attempts --- */
/* Add the attempt that ended to the record's history (--retry only). */
void tr_run_attempt_add(struct run_ctx *c, const struct tr_run_end *end);
/*
 * The attempt that ended (end) is followed by another: record it, say so,
 * and wait the backoff. 0 to go on, 1 when a signal or `taskrun kill` ended
 * the wait (*stop says which).
 */
int tr_run_retry_pause(struct run_ctx *c, const struct tr_run_end *end, struct tr_retry_stop *stop);

/* --- run_events.c: --events lines, each a no-op when no file is open --- */
void tr_run_emit_start(struct run_ctx *c);
void tr_run_emit_heartbeat(struct run_ctx *c, uint64_t bytes, const char *last);
void tr_run_emit_stop(struct run_ctx *c, int sig); /* stopped (sig > 0) or continued (0) */
void tr_run_emit_retry(struct run_ctx *c, const struct tr_run_end *end, int64_t delay_ms);
void tr_run_emit_end(struct run_ctx *c, const struct tr_run_end *end, int status);

/* --- run_hooks.c: what reports the run to others --- */
/* Before the first attempt: the --github group, the --ping start, the --events file. */
void tr_run_hooks_begin(struct run_ctx *c);
/* After the final record: --summary and --github (the output group ends). */
void tr_run_report_ci(struct run_ctx *c, const struct tr_run_end *end, int status);
/* Then the --events end, the --ping end and --on-exit. */
void tr_run_hooks_end(struct run_ctx *c, const struct tr_run_end *end, int status,
                      const char *tail);
/* The supervisor could not start at all: give up the ping and the events file. */
void tr_run_hooks_abort(struct run_ctx *c);

/* --- run_detach.c --- */
/*
 * --detach: print the task id and return at once; a grandchild in a new
 * session, with output to the log, supervises. Returns 1 in the parent (which
 * should exit with *status), 0 in the supervisor, -1 on error.
 */
int tr_run_detach(struct run_ctx *c, int *status, struct tr_err *e);

#endif
