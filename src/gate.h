/*
 * Gates a run passes before its command starts: --unique (one live run per
 * key), --after and a Claude task's blockedBy (wait for other tasks), and
 * --slots (at most N runs of a queue at once). No daemon: task files,
 * inotify through libev, and flock(2) in a per-user runtime directory.
 */
#ifndef TASKRUN_GATE_H
#define TASKRUN_GATE_H

#include <ev.h>
#include <stddef.h>
#include <stdio.h>

#include "cli.h"
#include "queue.h"
#include "taskrun/store.h"

struct tr_gate_opts {
        const char **after; /* --after IDs (each option may hold several, comma-separated) */
        size_t n_after, cap_after;
        int after_done;     /* --after-done: blockers only need to have ended */
        int ignore_blocked; /* --ignore-blocked: do not wait for the task's blockedBy */
        int slots;          /* --slots N; 0: no limit */
        const char *queue;  /* --queue NAME; NULL: the list's own queue */
        const char *unique; /* --unique KEY */
        int once;           /* --once: the key is the working directory and command line */
        int attach;         /* --attach: wait for the run that holds the key */
};

enum {
        TR_OPT_AFTER = 0x1100,
        TR_OPT_AFTER_DONE,
        TR_OPT_IGNORE_BLOCKED,
        TR_OPT_SLOTS,
        TR_OPT_QUEUE,
        TR_OPT_UNIQUE,
        TR_OPT_ONCE,
        TR_OPT_ATTACH,
};
#define TR_GATE_LONGOPTS                                                                           \
        {"after", required_argument, NULL, TR_OPT_AFTER},                                          \
            {"after-done", no_argument, NULL, TR_OPT_AFTER_DONE},                                  \
            {"ignore-blocked", no_argument, NULL, TR_OPT_IGNORE_BLOCKED},                          \
            {"slots", required_argument, NULL, TR_OPT_SLOTS},                                      \
            {"queue", required_argument, NULL, TR_OPT_QUEUE},                                      \
            {"unique", required_argument, NULL, TR_OPT_UNIQUE},                                    \
            {"once", no_argument, NULL, TR_OPT_ONCE},                                              \
        {                                                                                          \
                "attach", no_argument, NULL, TR_OPT_ATTACH                                         \
        }

/* 1 if opt was a gate option (applied), 0 if not one, -1 on a bad value (printed). */
int tr_gate_opt(struct tr_gate_opts *o, int opt, const char *arg);
/* Options that do not go together; prints why and returns -1. */
int tr_gate_check(const struct tr_gate_opts *o);
/* The gate options' lines of `taskrun --help`. */
void tr_gate_usage(FILE *f);
void tr_gate_opts_free(struct tr_gate_opts *o);

/* One run's way through the gates, and what it holds while its command runs. */
struct tr_gate {
        const struct tr_gate_opts *o;
        const struct tr_store *store;
        const struct tr_task_ref *ref; /* NULL: the run keeps no task file */
        const char *task_id;           /* --task, when given */
        char *const *argv;
        json_object *options;  /* the run options a rerun reuses, recorded too; or NULL */
        json_object *task;     /* the task as the run found it (borrowed), or NULL: read it */
        int *ready_fd;         /* --detach: closed once a waiting or queued record is written */
        int unique_fd;         /* the key's file, flock(2)ed for the run's life; -1 */
        struct tr_queue queue; /* --slots: the place in line, then the slot held */
        int signal;            /* the signal that ended a wait, or 0 */
        ev_signal sig_w[3];    /* TERM, INT, HUP while waiting */
        int recorded;          /* a waiting or queued record was written */
        char why[600];         /* why the command will not run */
};

void tr_gate_init(struct tr_gate *g, const struct tr_gate_opts *o, char *const *argv);

/*
 * --unique and --once, once g->store is open and before any task is created:
 * TR_GO when the key is ours (held in g->unique_fd), or the exit status to
 * leave with (the holder's id printed; with --attach, its status once it ended).
 */
int tr_gate_unique(struct tr_gate *g);
/* Before any task is created: every --after task exists (a typo creates nothing). */
int tr_gate_after_check(const struct tr_gate_opts *o, const struct tr_store_opts *so,
                        struct tr_err *e);
/* Record who holds the key: this process and its task (called in the process that runs). */
void tr_gate_unique_claim(struct tr_gate *g);
/* Record the run's exit status under its key, for an --attach waiting on it. */
void tr_gate_unique_end(struct tr_gate *g, int status);

/*
 * Wait for blockers, then for a slot. TR_GO (-1) to start the command,
 * or the exit status to leave with (the task records why).
 */
int tr_gate_pass(struct tr_gate *g);

/*
 * The command has started: leave the line of --slots, so the run behind moves
 * up only now (it would otherwise wake and take a CPU while we fork and exec).
 */
void tr_gate_started(struct tr_gate *g);

/* Give back the slot and the key (the waiters are woken). */
void tr_gate_release(struct tr_gate *g);

/* --- inside the gates --- */

/* While a gate waits, TERM, INT and HUP end the wait (g->signal says which). */
void tr_gate_signals_start(struct tr_gate *g, struct ev_loop *loop);
void tr_gate_signals_stop(struct tr_gate *g, struct ev_loop *loop);

/* What a gate's wait came to; -1 is an error (in e). */
enum {
        TR_GATE_GO = 0,        /* on to the next gate, or the command */
        TR_GATE_SKIP = 1,      /* a blocker failed: the command will not run (g->why says why) */
        TR_GATE_SIGNALLED = 2, /* a signal ended the wait (g->signal) */
};
/* The blockers' wait (gate_after.c): TR_GATE_GO, TR_GATE_SKIP, TR_GATE_SIGNALLED or -1. */
int tr_gate_after(struct tr_gate *g, struct tr_err *e);
/* The queue's wait (gate_slots.c): TR_GATE_GO holding a slot (and still the place in line,
 * until tr_gate_started), TR_GATE_SIGNALLED or -1. */
int tr_gate_slots(struct tr_gate *g, struct tr_err *e);

/* Records (gate_record.c): waiting for ids, queued in a queue, or over before it started. */
int tr_gate_record_waiting(struct tr_gate *g, json_object *ids, struct tr_err *e);
int tr_gate_record_queued(struct tr_gate *g, const char *queue, struct tr_err *e);
/* state is "skipped" or "killed" (then sig is the signal). */
int tr_gate_record_end(struct tr_gate *g, const char *state, int sig, struct tr_err *e);
/* A waiting or queued record is written: a detaching parent may print the id and go. */
void tr_gate_ready(struct tr_gate *g);

#endif
