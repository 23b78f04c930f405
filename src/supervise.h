/*
 * The supervisor: run the command under one libev loop, pass its output
 * through, keep a tail, forward signals, enforce a timeout, and report
 * progress through callbacks. It knows nothing of task files.
 */
#ifndef TASKRUN_SUPERVISE_H
#define TASKRUN_SUPERVISE_H

#include <stdint.h>
#include <sys/types.h>

#include "taskrun/error.h"
#include "spawn.h"
#include "taskrun/tail.h"

/* What happens to the command's descendants that outlive it (taskrun is their subreaper). */
enum tr_orphans {
        TR_ORPHANS_LEAVE, /* the run ends with the command; they go on */
        TR_ORPHANS_WAIT,  /* the run ends when the last of them has exited */
        TR_ORPHANS_KILL,  /* TERM them when the command exits, KILL after kill_after_ms */
};

struct tr_supervise_opts {
        struct tr_spawn_opts spawn;
        int group; /* forward signals to the child's process group */
        int quiet; /* do not pass output through */
        enum tr_orphans orphans;
        struct tr_tail *replay_out, *replay_err; /* --quiet: each stream's own tail, or NULL */
        int64_t timeout_ms;                      /* 0: none */
        int64_t stall_timeout_ms;                /* end it after this long without output; 0 */
        int timeout_signal;                      /* sent when either timeout expires */
        int64_t kill_after_ms;                   /* then SIGKILL this much later; 0: never */
        int64_t orphan_kill_ms;                  /* TR_ORPHANS_KILL: SIGKILL this long after TERM */
        int64_t heartbeat_ms;                    /* 0: no heartbeats */
        int64_t running_delay_ms;                /* on_running this long after the start */

        /* Called once the command runs (pid known). */
        void (*on_start)(void *ctx, const struct tr_child *child);
        /* Called once the command has run for running_delay_ms, unless it ended sooner. */
        void (*on_running)(void *ctx);
        /*
         * Called while the command runs whenever nothing else is to be done,
         * until it returns 0: work that would otherwise wait for the end, in
         * steps short enough that a command ending meanwhile is not kept waiting.
         */
        int (*on_idle)(void *ctx);
        /* Called every heartbeat_ms when there is new output. */
        void (*on_heartbeat)(void *ctx, const struct tr_tail *tail);
        /* Called when the command is stopped by signal sig, and when it continues. */
        void (*on_stopped)(void *ctx, int sig);
        void (*on_continued)(void *ctx);
        /* Called once per stream whose output could not be written (name: "stdout"). */
        void (*on_output_error)(void *ctx, const char *name, int errnum);
        void *ctx;
};

struct tr_outcome {
        int exit_code;    /* valid when signal == 0 */
        int signal;       /* the signal that ended the command, or 0 */
        int timed_out;    /* the timeout expired (whatever then ended it) */
        int stalled;      /* the stall timeout expired first (whatever then ended it) */
        int exec_errno;   /* the command could not be started */
        int output_errno; /* its output could not be passed on (not EPIPE), or 0 */
        int64_t duration_ms;
        int user_ended;  /* someone ended it: Ctrl-C, SIGTERM, SIGHUP, SIGQUIT or taskrun kill */
        int kill_signal; /* the signal taskrun kill asked for, or 0 */
        pid_t kill_pid;  /* and who asked */
        uid_t kill_uid;
};

/*
 * Run the command to its end. Returns 0 with *out filled (also when exec
 * failed), or -1 if it could not be started at all.
 */
int tr_supervise(const struct tr_supervise_opts *o, struct tr_tail *tail, struct tr_outcome *out,
                 struct tr_err *e);

/*
 * taskrun's exit status for an outcome, as timeout(1) gives it: the child's,
 * 128+signal, 124 on timeout or stall (137 if SIGKILL had to end it), 126, 127; with
 * preserve_status the child's own even after a timeout. Output that could not
 * be passed on turns a success into TR_EXIT_ERROR.
 */
int tr_outcome_status(const struct tr_outcome *out, int preserve_status);

#endif
