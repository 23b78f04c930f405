/*
 * Starting the command. The child learns nothing from us but its output
 * fds, its own process group, default signal dispositions and the signal
 * mask taskrun was started with.
 *
 * The usual run (pipes, no terminal to hand over) goes through vfork, which
 * does not copy our memory. A pty or a terminal to hand over takes fork and
 * exec: whether exec worked comes back over a close-on-exec pipe, EOF if it
 * did, an errno if not. Either way 126 and 127 are told apart before any
 * task file says "running", and the failed child exits as the loop expects.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
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
        if (o->pty)
                return open_pty(f->out);
        if (pipe2(f->out, O_CLOEXEC) == -1)
                return -1;
        if (o->one_pipe)
                return 0;
        return pipe2(f->err, O_CLOEXEC);
}

/* In a child before exec: the signals in set back at their default disposition. */
static void set_default(const sigset_t *set)
{
        for (int sig = 1; sig < NSIG; sig++)
                if (sigismember(set, sig) == 1)
                        signal(sig, SIG_DFL);
}

/* /bin/sh runs path, a file the kernel would not execute, with argv's arguments. */
static void exec_sh(const char *path, char *const argv[])
{
        size_t n = 0;

        while (argv[n] != NULL)
                n++;
        char *sh[n + 2]; /* on the stack: this runs in a vfork child */
        sh[0] = "sh";
        sh[1] = (char *)path;
        memcpy(sh + 2, argv + 1, n * sizeof *argv); /* argv[1..n], its NULL included */
        execv("/bin/sh", sh);
        errno = ENOEXEC;
}

/*
 * execvp(3), and what POSIX has it do, glibc's does and musl's does not: a
 * file found that the kernel cannot execute (ENOEXEC: a script without "#!")
 * is run by /bin/sh. That file is the first executable one on PATH, as
 * execvp's search stops there. Returns with errno set, as execvp does.
 */
static void exec_command(char *const argv[])
{
        const char *dirs = getenv("PATH"), *file = argv[0];
        char path[PATH_MAX];
        size_t flen = strlen(file);

        execvp(file, argv);
        if (errno != ENOEXEC)
                return;
        if (strchr(file, '/') != NULL) {
                exec_sh(file, argv);
                return;
        }
        for (dirs = dirs ? dirs : "/bin:/usr/bin"; *dirs != '\0'; dirs += *dirs == ':') {
                size_t dlen = strcspn(dirs, ":");
                const char *dir = dlen ? dirs : "."; /* an empty entry is the current directory */
                size_t n = dlen ? dlen : 1;
                if (n + flen + 2 <= sizeof path) {
                        memcpy(path, dir, n);
                        path[n] = '/';
                        memcpy(path + n + 1, file, flen + 1);
                        if (access(path, X_OK) == 0) {
                                exec_sh(path, argv);
                                return;
                        }
                }
                dirs += dlen;
        }
        errno = ENOEXEC;
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
        set_default(&o->defaults);
        sigprocmask(SIG_SETMASK, &o->mask, NULL);
        exec_command(o->argv);
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
 * The signals the vfork child must set back before it unblocks signals: the
 * ones taskrun ignores that were at their default, and the ones it has a
 * handler for, which must not run in the child while it borrows our memory.
 * Handlers exist only for standard signals; each is looked up here.
 */
static void child_resets(const struct tr_spawn_opts *o, sigset_t *to_default)
{
        *to_default = o->defaults;
        for (int sig = 1; sig < SIGRTMIN; sig++) {
                struct sigaction sa;
                if (sig != SIGKILL && sig != SIGSTOP && sigaction(sig, NULL, &sa) == 0 &&
                    sa.sa_handler != SIG_DFL && sa.sa_handler != SIG_IGN)
                        sigaddset(to_default, sig);
        }
}

/*
 * The usual run: vfork, whose child shares our memory until its exec, so
 * nothing is copied. Every signal is blocked around it; the child resets the
 * dispositions child_resets found before taking the mask the command gets,
 * and only then can a signal reach it. posix_spawn does the same, but looks
 * up all 64 signals in the child, where we are suspended: 128 system calls.
 * An exec that fails leaves a child that has exited 126 or 127 and its errno.
 */
static int spawn_vforked(const struct tr_spawn_opts *o, const struct fds *f, struct tr_child *c)
{
        sigset_t all, saved, to_default;
        volatile int exec_errno = 0; /* written by the child, in our memory */
        pid_t pid;

        child_resets(o, &to_default);
        sigfillset(&all);
        sigprocmask(SIG_SETMASK, &all, &saved);
        pid = vfork();
        if (pid == 0) {
                setpgid(0, 0);
                if (dup2(f->out[1], STDOUT_FILENO) != -1 &&
                    dup2(o->one_pipe ? f->out[1] : f->err[1], STDERR_FILENO) != -1) {
                        set_default(&to_default);
                        sigprocmask(SIG_SETMASK, &o->mask, NULL);
                        exec_command(o->argv);
                }
                exec_errno = errno;
                _exit(exec_errno == ENOENT ? TR_EXIT_NOENT : TR_EXIT_NOEXEC);
        }
        sigprocmask(SIG_SETMASK, &saved, NULL);
        if (pid == -1)
                return -1;
        c->pid = pid;
        c->exec_errno = exec_errno;
        return 0;
}

/* fork, exec_child, and what the pipe says of the exec. */
static int spawn_forked(const struct tr_spawn_opts *o, struct fds *f, struct tr_child *c)
{
        if (pipe2(f->status, O_CLOEXEC) == -1)
                return -1;
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
                r = spawn_vforked(o, &f, c);
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
