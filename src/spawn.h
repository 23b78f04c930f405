/* Starting the command: fork, wire its output to pipes or a pty, exec. */
#ifndef TASKRUN_SPAWN_H
#define TASKRUN_SPAWN_H

#include <sys/types.h>

#include "taskrun/error.h"

#include <signal.h>

struct tr_spawn_opts {
        char *const *argv;
        sigset_t mask;     /* the signal mask taskrun was started with */
        sigset_t defaults; /* signals taskrun ignores that the child gets back as SIG_DFL */
        int pty;           /* stdout and stderr on a pseudo-terminal instead of two pipes */
        int one_pipe;      /* stdout and stderr on one pipe: they go to the same file anyway */
        int foreground;    /* hand the terminal on stdin to the child's process group */
};

struct tr_child {
        pid_t pid;
        int out_fd;     /* read end for the child's stdout (the pty master with pty) */
        int err_fd;     /* read end for its stderr; -1 with pty or one_pipe */
        int exec_errno; /* exec failed with this errno: the child has exited 126/127 */
};

/*
 * Fork and exec argv in its own process group (its own session with pty).
 * Returns 0 once the exec has succeeded or failed (see exec_errno), -1 if the
 * child could not be created. Read ends are non-blocking and close-on-exec.
 */
int tr_spawn(const struct tr_spawn_opts *o, struct tr_child *c, struct tr_err *e);

/* Copy the window size of the terminal on fd to the pty master. */
void tr_pty_sync_winsize(int from_fd, int master_fd);

#endif
