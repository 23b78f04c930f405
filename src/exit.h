/* taskrun's exit statuses, one list for every command (see man/taskrun.1, EXIT STATUS). */
#ifndef TASKRUN_EXIT_H
#define TASKRUN_EXIT_H

enum {
        TR_EXIT_OK = 0,
        TR_EXIT_FAIL = 1,        /* a command's negative answer or operational error */
        TR_EXIT_USAGE = 2,       /* bad options or arguments of a subcommand; unknown word */
        TR_EXIT_REFUSED = 3,     /* kill: not ours to signal (another host or boot, pid reused) */
        TR_EXIT_LOST = 3,        /* wait: a run was lost, or its task is gone without a record;
                                    --attach: the run attached to was lost */
        TR_EXIT_SKIPPED = 121,   /* a blocker failed, was killed or lost: the command did not run */
        TR_EXIT_DUPLICATE = 122, /* a live run is in the way, nothing was run: --unique/--once */
        TR_EXIT_RUNNING = 122,   /* (the key's holder, its id printed), rerun (the task's run) */
        TR_EXIT_TIMEOUT = 124,   /* --timeout or --stall-timeout expired */
        TR_EXIT_ERROR = 125,     /* taskrun's own error (before the child ran, or its output) */
        TR_EXIT_NOEXEC = 126,    /* command found but not executable */
        TR_EXIT_NOENT = 127,     /* command not found */
        TR_EXIT_SIGNAL = 128,    /* + N: signal N ended the command, as a shell says */
        TR_EXIT_TIMEOUT_KILL = 137 /* --timeout expired and SIGKILL ended it, as timeout(1) */
};

/*
 * Not an exit status: each step that may end taskrun (parsing the options,
 * passing a gate, ...) returns the status to leave with, or TR_GO to go on.
 */
#define TR_GO (-1)

#endif
