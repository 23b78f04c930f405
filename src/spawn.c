/*
 * Starting the command. The child learns nothing from us but its output
 * fds, its own process group, default signal dispositions and the signal
 * mask taskrun was started with.
 *
 * The usual run (pipes, no terminal to hand over) goes through posix_spawn,
 * whose vfork-style clone does not copy our memory. A pty, a terminal to
 * hand over, or a command that could not be executed that way takes fork and
 * exec: whether exec worked comes back over a close-on-exec pipe, EOF if it
 * did, an errno if not, so 126 and 127 are told apart before any task file
 * says "running", and the failed child exits as the loop expects.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "taskrun/atomic.h"
#include "exit.h"
#include "spawn.h"

struct fds {
        int out[2], err[2]; /* pipes, or out[0] master and out[1] slave with pty */
        int status[2];      /* exec status back to the parent */
};

void tr_pty_sync_winsize(int from_fd, int master_fd)
{
        struct winsize ws;

        if (ioctl(from_fd, TIOCGWINSZ, &ws) == 0)
                ioctl(master_fd, TIOCSWINSZ, &ws);
}

static int open_pty(int fds[2])
{
        int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
        char *name;

        if (master == -1)
                return -1;
        if (grantpt(master) == -1 || unlockpt(master) == -1 || (name = ptsname(master)) == NULL ||
            (fds[1] = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC)) == -1) {
                int saved = errno;
                close(master);
                errno = saved;
                return -1;
        }
        fds[0] = master;
        tr_pty_sync_winsize(STDOUT_FILENO, master);
        return 0;
}

static void close_pair(int p[2])
{
        for (int i = 0; i < 2; i++)
                if (p[i] != -1)
                        close(p[i]);
}

static int open_fds(const struct tr_spawn_opts *o, struct fds *f)
{
        memset(f, -1, sizeof *f);
        if (pipe2(f->status, O_CLOEXEC) == -1)
                return -1;
        if (o->pty)
                return open_pty(f->out);
        if (pipe2(f->out, O_CLOEXEC) == -1)
                return -1;
        if (o->one_pipe)
                return 0;
        return pipe2(f->err, O_CLOEXEC);
}

/* In the child: become what the command should see, then exec. Never returns. */
static void exec_child(const struct tr_spawn_opts *o, const struct fds *f)
{
        int err;

        if (o->pty) {
                setsid();
                ioctl(f->out[1], TIOCSCTTY, 0);
        } else {
                setpgid(0, 0);
                /* SIGTTOU is still ignored here, so taking the terminal cannot stop us. */
                if (o->foreground)
                        tcsetpgrp(STDIN_FILENO, getpid());
        }
        if (dup2(f->out[1], STDOUT_FILENO) == -1 ||
            dup2(o->pty || o->one_pipe ? f->out[1] : f->err[1], STDERR_FILENO) == -1)
                goto fail;
        /* exec resets handled signals; the ones taskrun ignores must be reset here. */
        for (int sig = 1; sig < NSIG; sig++)
                if (sigismember(&o->defaults, sig) == 1)
                        signal(sig, SIG_DFL);
        sigprocmask(SIG_SETMASK, &o->mask, NULL);
        execvp(o->argv[0], o->argv);
fail:
        err = errno;
        tr_write_all(f->status[1], &err, sizeof err);
        _exit(err == ENOENT ? TR_EXIT_NOENT : TR_EXIT_NOEXEC);
}

static int read_exec_status(int fd)
{
        int err = 0;
        ssize_t n;

        do
                n = read(fd, &err, sizeof err);
        while (n == -1 && errno == EINTR);
        return n == (ssize_t)sizeof err ? err : 0;
}

/*
 * posix_spawnp with what exec_child does by hand. Returns 0 with *pid, or the
 * errno: then no child is left, and the caller takes the fork path.
 */
static int spawn_plain(const struct tr_spawn_opts *o, const struct fds *f, pid_t *pid)
{
        posix_spawnattr_t a;
        posix_spawn_file_actions_t fa;
        int r;

        if ((r = posix_spawnattr_init(&a)) != 0)
                return r;
        if ((r = posix_spawn_file_actions_init(&fa)) != 0) {
                posix_spawnattr_destroy(&a);
                return r;
        }
        r = posix_spawnattr_setflags(&a, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF |
                                             POSIX_SPAWN_SETSIGMASK);
        if (r == 0)
                r = posix_spawnattr_setpgroup(&a, 0);
        if (r == 0)
                r = posix_spawnattr_setsigdefault(&a, &o->defaults);
        if (r == 0)
                r = posix_spawnattr_setsigmask(&a, &o->mask);
        if (r == 0)
                r = posix_spawn_file_actions_adddup2(&fa, f->out[1], STDOUT_FILENO);
        if (r == 0)
                r = posix_spawn_file_actions_adddup2(&fa, o->one_pipe ? f->out[1] : f->err[1],
                                                     STDERR_FILENO);
        if (r == 0)
                r = posix_spawnp(pid, o->argv[0], &fa, &a, o->argv, environ);
        posix_spawn_file_actions_destroy(&fa);
        posix_spawnattr_destroy(&a);
        return r;
}

/* fork, exec_child, and what the pipe says of the exec. */
static int spawn_forked(const struct tr_spawn_opts *o, struct fds *f, struct tr_child *c)
{
        c->pid = fork();
        if (c->pid == 0)
                exec_child(o, f);
        if (c->pid == -1)
                return -1;
        close(f->status[1]);
        f->status[1] = -1;
        if (!o->pty)
                setpgid(c->pid, c->pid); /* also here, so neither side races the other */
        c->exec_errno = read_exec_status(f->status[0]);
        return 0;
}

int tr_spawn(const struct tr_spawn_opts *o, struct tr_child *c, struct tr_err *e)
{
        struct fds f;
        int r = -1;

        memset(c, 0, sizeof *c);
        if (open_fds(o, &f) == -1) {
                int saved = errno;
                close_pair(f.status), close_pair(f.out), close_pair(f.err);
                return tr_err_sys(e, saved, "%s", o->pty ? "pty" : "pipe");
        }
        if (!o->pty && !o->foreground)
                r = spawn_plain(o, &f, &c->pid) == 0 ? 0 : -1;
        if (r == -1 && spawn_forked(o, &f, c) == -1) {
                int saved = errno;
                close_pair(f.status), close_pair(f.out), close_pair(f.err);
                return tr_err_sys(e, saved, "fork");
        }
        close_pair(f.status);
        close(f.out[1]);
        if (f.err[1] != -1)
                close(f.err[1]);
        c->out_fd = f.out[0];
        c->err_fd = f.err[0];
        fcntl(c->out_fd, F_SETFL, O_NONBLOCK);
        if (c->err_fd != -1)
                fcntl(c->err_fd, F_SETFL, O_NONBLOCK);
        return 0;
}
