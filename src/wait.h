/* `taskrun wait`'s parts: the loop (cmd_wait.c) and what it watches and reads (wait_*.c). */
#ifndef TASKRUN_WAIT_H
#define TASKRUN_WAIT_H

#include <ev.h>
#include <sys/types.h>

#include "cmd.h"
#include "taskrun/clock.h"

struct wait_ctx;

struct waited {
        struct tr_task_ref ref;
        ev_stat task_file_w;               /* the task file changed (inotify) */
        ev_io process_w;                   /* readable once the run's process has ended (pidfd) */
        int pidfd;                         /* -1: none */
        pid_t pid;                         /* the process pidfd refers to */
        double lost_since;                 /* ev_now when first found lost, -1 if not */
        char seen_started[TR_ISO8601_LEN]; /* started_at of the run last read; "" if none */
        enum tr_done done;
        struct wait_ctx *ctx;
};

struct wait_ctx {
        struct ev_loop *loop;
        const struct tr_store *store;
        struct tr_here here;
        struct waited *tasks;
        size_t n;
        ev_timer timeout_w;   /* --timeout */
        ev_timer settle_w;    /* the one re-read after a change, see SETTLE_SECONDS */
        ev_timer poll_pids_w; /* only without pidfds: look at live processes again */
        int64_t timeout_ms;   /* -1: none */
        int timeout_given;
        int any, quiet, wait_missing, json;
        int status; /* -1 until decided */
        /* What a watched process's end calls (cmd_wait.c sets them): wait_watch.c only
         * watches, so it calls back instead of depending on the command. */
        void (*recheck)(struct wait_ctx *c, struct waited *w, int first);
        void (*arm_settle)(struct wait_ctx *c);
};

/* Read task w again and decide whether it is done (first: at the start). */
void tr_wait_check(struct wait_ctx *c, struct waited *w, int first);
void tr_wait_check_all(struct wait_ctx *c, int first);
/* (Re)start the one-shot re-read SETTLE_SECONDS from now. */
void tr_wait_arm_settle(struct wait_ctx *c);
/* Record that w is done, print its line, decide the status if that settles it. */
void tr_wait_done(struct wait_ctx *c, struct waited *w, enum tr_done done,
                  const struct tr_outcome_view *v);

/* Watch the end of process pid (started at ticks; 0: unknown) for w (pidfd; a slow timer without).
 */
void tr_wait_watch_pid(struct wait_ctx *c, struct waited *w, pid_t pid, unsigned long long ticks);
void tr_wait_unwatch_pid(struct wait_ctx *c, struct waited *w);

/* The line (or JSON) for a task still not done when wait gives up. */
void tr_wait_print_pending(const struct wait_ctx *c, struct waited *w);

/* The targets of `wait` with no id: every task of the list whose taskrun run is live. */
int tr_wait_running_targets(const char *cmd, const struct tr_store_opts *so, struct tr_targets *t);

/*
 * A task file that is gone: when the run archive holds the run last seen (or
 * a later one; the newest if none was seen), say so on stderr and return 1
 * with the archived task in *task (to put) and how it ended in *done and
 * *word; 0 when it holds nothing.
 */
int tr_wait_from_archive(const struct wait_ctx *c, const struct waited *w, json_object **task,
                         enum tr_done *done, const char **word);

#endif
