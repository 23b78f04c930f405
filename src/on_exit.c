/* --on-exit: run the user's hook, bounded, with the final record on its stdin. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "exit.h"
#include "taskrun/atomic.h"
#include "taskrun/procinfo.h"
#include "on_exit.h"

extern char **environ;

static const char *const var_names[] = {"TASKRUN_ID", "TASKRUN_STATE", "TASKRUN_EXIT_CODE",
                                        "TASKRUN_DURATION_MS", "TASKRUN_LIST_DIR"};
#define N_VARS (sizeof var_names / sizeof var_names[0])

struct hook_env {
        char vars[N_VARS][PATH_MAX + 32];
        char **envp;
};

/* The record as a file, not a pipe: a hook that never reads it cannot block us. */
static int input_fd(const struct tr_on_exit *h)
{
        int fd = memfd_create("taskrun-on-exit", MFD_CLOEXEC);

        if (fd == -1)
                return -1;
        if (tr_write_all(fd, h->input, h->input_len) == -1 || lseek(fd, 0, SEEK_SET) == -1) {
                int saved = errno;
                close(fd);
                errno = saved;
                return -1;
        }
        return fd;
}

/* An inherited TASKRUN_* variable of ours would shadow the run's own. */
static int is_our_var(const char *entry)
{
        for (size_t i = 0; i < N_VARS; i++) {
                size_t n = strlen(var_names[i]);
                if (strncmp(entry, var_names[i], n) == 0 && entry[n] == '=')
                        return 1;
        }
        return 0;
}

/* Built before the fork, so the child only execs. */
static int build_env(const struct tr_on_exit *h, struct hook_env *env)
{
        size_t n = 0, k = 0;

        snprintf(env->vars[0], sizeof env->vars[0], "TASKRUN_ID=%s", h->task_id);
        snprintf(env->vars[1], sizeof env->vars[1], "TASKRUN_STATE=%s", h->state);
        snprintf(env->vars[2], sizeof env->vars[2], "TASKRUN_EXIT_CODE=%d", h->exit_status);
        snprintf(env->vars[3], sizeof env->vars[3], "TASKRUN_DURATION_MS=%lld",
                 (long long)h->duration_ms);
        snprintf(env->vars[4], sizeof env->vars[4], "TASKRUN_LIST_DIR=%s", h->list_dir);
        while (environ[n] != NULL)
                n++;
        env->envp = calloc(n + N_VARS + 1, sizeof *env->envp);
        if (env->envp == NULL)
                return -1;
        for (size_t i = 0; i < n; i++)
                if (!is_our_var(environ[i]))
                        env->envp[k++] = environ[i];
        for (size_t i = 0; i < N_VARS; i++)
                env->envp[k++] = env->vars[i];
        env->envp[k] = NULL;
        return 0;
}

/* In the child: a process group of its own (so a timeout reaches its children), then sh. */
static void exec_hook(const struct tr_on_exit *h, int in, char **envp)
{
        char *argv[] = {"sh", "-c", (char *)h->cmd, NULL};

        setpgid(0, 0);
        if (dup2(in, STDIN_FILENO) == -1)
                _exit(TR_EXIT_NOEXEC);
        for (int sig = 1; sig < NSIG; sig++)
                if (sigismember(&h->defaults, sig) == 1)
                        signal(sig, SIG_DFL);
        sigprocmask(SIG_SETMASK, &h->mask, NULL);
        execve("/bin/sh", argv, envp);
        _exit(TR_EXIT_NOENT);
}

/* 1 when pid has ended (*ws set), 0 at the deadline, -1 if it cannot be waited for. */
static int wait_until(pid_t pid, int pidfd, int64_t deadline, int *ws)
{
        for (;;) {
                pid_t r = waitpid(pid, ws, WNOHANG);
                if (r == pid)
                        return 1;
                if (r == -1 && errno != EINTR)
                        return -1;
                int64_t left = deadline - tr_monotonic_ms();
                if (left <= 0)
                        return 0;
                if (left > INT_MAX)
                        left = INT_MAX;
                if (pidfd == -1) /* no pidfd (old kernel): look again soon */
                        usleep(left > 10 ? 10000 : (useconds_t)left * 1000);
                else
                        poll(&(struct pollfd){.fd = pidfd, .events = POLLIN}, 1, (int)left);
        }
}

/* At the timeout: SIGTERM to the hook's group, then SIGKILL after a grace period. */
static int stop_hook(pid_t pid, int pidfd, int *ws)
{
        kill(-pid, SIGTERM);
        int r = wait_until(pid, pidfd, tr_monotonic_ms() + TR_ON_EXIT_GRACE_MS, ws);
        if (r != 0)
                return r;
        kill(-pid, SIGKILL);
        return wait_until(pid, pidfd, INT64_MAX, ws);
}

/*
 * Wait for the hook at most its timeout, then end its group; 0, or -1 with
 * why (timed out, signal, status).
 */
static int wait_hook(const struct tr_on_exit *h, pid_t pid, struct tr_err *e)
{
        int pidfd = tr_pidfd_open(pid);
        int ws = 0, r = wait_until(pid, pidfd, tr_monotonic_ms() + h->timeout_ms, &ws);
        int timed_out = r == 0;
        char took[32];

        if (timed_out)
                r = stop_hook(pid, pidfd, &ws);
        if (pidfd != -1)
                close(pidfd);
        tr_format_duration(h->timeout_ms, took, sizeof took);
        if (timed_out)
                return tr_err_set(e, ETIMEDOUT, "timed out after %s", took);
        if (r == -1)
                return tr_err_sys(e, errno, "waitpid");
        if (WIFSIGNALED(ws))
                return tr_err_set(e, 0, "killed by signal %d", WTERMSIG(ws));
        if (WEXITSTATUS(ws) != 0)
                return tr_err_set(e, 0, "exit status %d", WEXITSTATUS(ws));
        return 0;
}

int tr_on_exit_run(const struct tr_on_exit *h, struct tr_err *e)
{
        struct hook_env env;
        int in = input_fd(h), saved;
        pid_t pid;

        if (in == -1)
                return tr_err_sys(e, errno, "input");
        if (build_env(h, &env) == -1) {
                close(in);
                return tr_err_sys(e, ENOMEM, "environment");
        }
        fflush(NULL); /* what we printed comes before what the hook prints */
        pid = fork();
        if (pid == 0)
                exec_hook(h, in, env.envp);
        saved = errno;
        close(in);
        free(env.envp);
        if (pid == -1)
                return tr_err_sys(e, saved, "fork");
        setpgid(pid, pid); /* also here, so a timeout cannot miss the group */
        return wait_hook(h, pid, e);
}
