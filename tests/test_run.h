/*
 * Helpers for the tests of `taskrun [options] -- command`: each test runs the
 * real binary through /bin/sh in a scratch directory that is also its working
 * directory, so command lines can name files relatively. "$TR" in a command
 * line is the taskrun binary (TASKRUN_BIN, or $TASKRUN_TEST_BIN if set). A Claude list lives in
 * ./list (pass --dir list).
 */
#ifndef TASKRUN_TEST_RUN_H
#define TASKRUN_TEST_RUN_H

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "helpers.h"

#define RUN_WAIT_MS 20000 /* no test command should come near this */

/*
 * Shell loops for commands that wait: bounded, so that a command a failed
 * test left behind goes away by itself.
 */
#define SH_WAIT_FOR_GO "i=0; while [ ! -e go ] && [ $i -lt 2000 ]; do sleep 0.01; i=$((i+1)); done"
#define SH_IDLE "i=0; while [ $i -lt 1000 ]; do sleep 0.02; i=$((i+1)); done"

static char run_scratch[4096];

/* Make a scratch directory, enter it, and export TR. Use as .init. */
static inline void run_setup(void)
{
        th_tmpdir(run_scratch, sizeof run_scratch);
        cr_assert_eq(chdir(run_scratch), 0);
        /* TASKRUN_TEST_BIN runs these tests against another build, e.g. an older one. */
        setenv("TR", getenv("TASKRUN_TEST_BIN") ? getenv("TASKRUN_TEST_BIN") : TASKRUN_BIN, 1);
        /* Nothing from the environment decides where tasks go unless a test says so. */
        unsetenv("CLAUDE_CODE_TASK_LIST_ID");
        unsetenv("CLAUDE_CODE_SESSION_ID");
        setenv("CLAUDE_CONFIG_DIR", "cfg", 1);
        char state[sizeof run_scratch + 8];
        snprintf(state, sizeof state, "%s/state", run_scratch);
        setenv("XDG_STATE_HOME", state, 1);
}

/* Use as .fini. */
static inline void run_teardown(void)
{
        if (chdir("/") == 0 && run_scratch[0] != '\0')
                th_rmtree(run_scratch);
}

/*
 * Signals at their defaults and none blocked, whatever we were started with:
 * a test run in the background by a script has SIGINT and SIGQUIT ignored,
 * which the commands would inherit and could not trap.
 */
static inline void run_default_signals(void)
{
        sigset_t none;

        for (int sig = 1; sig < NSIG; sig++)
                signal(sig, SIG_DFL);
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
}

/*
 * Start `sh -c "exec CMDLINE"` with stdin from /dev/null and stdout and
 * stderr to the files ./stdout and ./stderr, unless the command line
 * redirects them itself. Returns the pid, which is taskrun's if CMDLINE
 * starts with "$TR".
 */
static inline pid_t run_start(const char *fmt, ...)
{
        char cmd[8192], line[8300];
        va_list ap;
        pid_t pid;

        va_start(ap, fmt);
        vsnprintf(cmd, sizeof cmd, fmt, ap);
        va_end(ap);
        snprintf(line, sizeof line, "exec %s", cmd);
        pid = fork();
        cr_assert_neq(pid, -1, "fork");
        if (pid == 0) {
                int in = open("/dev/null", O_RDONLY);
                int out = open("stdout", O_WRONLY | O_CREAT | O_TRUNC, 0644);
                int err = open("stderr", O_WRONLY | O_CREAT | O_TRUNC, 0644);
                if (in == -1 || out == -1 || err == -1)
                        _exit(250);
                dup2(in, 0);
                dup2(out, 1);
                dup2(err, 2);
                /* Criterion's own descriptors must not leak into commands that outlive us. */
                closefrom(3);
                run_default_signals();
                execl("/bin/sh", "sh", "-c", line, (char *)NULL);
                _exit(251);
        }
        return pid;
}

/* Wait for pid, as a shell's $? would say; kill it and fail after timeout_ms. */
static inline int run_wait_ms(pid_t pid, long long timeout_ms)
{
        long long deadline = th_now_ms() + timeout_ms;
        int status;

        for (;;) {
                pid_t r = waitpid(pid, &status, WNOHANG);
                cr_assert_neq(r, -1, "waitpid: %s", strerror(errno));
                if (r == pid)
                        break;
                if (th_now_ms() > deadline) {
                        kill(pid, SIGKILL);
                        waitpid(pid, &status, 0);
                        cr_assert_fail("still running after %lld ms", timeout_ms);
                }
                usleep(5000);
        }
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static inline int run_wait(pid_t pid)
{
        return run_wait_ms(pid, RUN_WAIT_MS);
}

/* Run a command line to its end; its exit status. */
#define run(...) run_wait(run_start(__VA_ARGS__))

/* What the last command printed on stdout / stderr; malloc'd, never NULL. */
static inline char *run_stdout(size_t *len)
{
        char *s = th_read_file("stdout", len);

        cr_assert_not_null(s, "no ./stdout");
        return s;
}

static inline char *run_stderr(void)
{
        char *s = th_read_file("stderr", NULL);

        cr_assert_not_null(s, "no ./stderr");
        return s;
}

/* A task file as JSON; fails the test if it is missing or not JSON. */
static inline json_object *run_task(const char *path)
{
        json_object *t = th_read_json(path);

        cr_assert_not_null(t, "%s: missing or not JSON", path);
        return t;
}

/* metadata.taskrun.<key> of a Claude task, or NULL. */
static inline json_object *run_meta(json_object *task, const char *key)
{
        char dotted[256];

        snprintf(dotted, sizeof dotted, "metadata.taskrun.%s", key);
        return th_get(task, dotted);
}

static inline const char *run_meta_str(json_object *task, const char *key)
{
        json_object *v = run_meta(task, key);

        return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

static inline long long run_meta_int(json_object *task, const char *key)
{
        json_object *v = run_meta(task, key);

        cr_assert(v && json_object_is_type(v, json_type_int), "metadata.taskrun.%s: not an integer",
                  key);
        return (long long)json_object_get_int64(v);
}

/* Wait until a file exists; fails after timeout_ms. */
static inline void run_await_file(const char *path, long long timeout_ms)
{
        long long deadline = th_now_ms() + timeout_ms;

        while (access(path, F_OK) != 0) {
                cr_assert(th_now_ms() < deadline, "%s did not appear in %lld ms", path, timeout_ms);
                usleep(5000);
        }
}

/* Poll a Claude task file until metadata.taskrun.state is state; the task, or test failure. */
static inline json_object *run_await_state(const char *path, const char *state,
                                           long long timeout_ms)
{
        long long deadline = th_now_ms() + timeout_ms;

        for (;;) {
                json_object *t = th_read_json(path);
                const char *s = t ? run_meta_str(t, "state") : NULL;
                if (s != NULL && strcmp(s, state) == 0)
                        return t;
                json_object_put(t);
                cr_assert(th_now_ms() < deadline, "%s: state never became %s", path, state);
                usleep(5000);
        }
}

/* Occurrences of needle in haystack. */
static inline int run_count_str(const char *haystack, const char *needle)
{
        int n = 0;

        for (const char *p = haystack; (p = strstr(p, needle)) != NULL; p += strlen(needle))
                n++;
        return n;
}

/* Kill the process whose pid a command wrote to file (a grandchild left behind). */
static inline void run_kill_pidfile(const char *path)
{
        char *s = th_read_file(path, NULL);

        if (s != NULL && atoi(s) > 0)
                kill(atoi(s), SIGKILL);
        free(s);
}

#endif
