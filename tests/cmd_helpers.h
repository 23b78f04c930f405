/* Helpers for the task command tests (test_cmd_*.c): run taskrun, write tasks, spawn waiters. */
#ifndef TASKRUN_TEST_CMD_HELPERS_H
#define TASKRUN_TEST_CMD_HELPERS_H

#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "helpers.h"
#include "taskrun/procinfo.h"

/* Run `taskrun ARGS` (ARGS is shell text) and return its exit status; stdout into *out. */
static inline int tc_run(char **out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static inline int tc_run(char **out, const char *fmt, ...)
{
        char args[8192], cmd[8192 + 2 * PATH_MAX];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(args, sizeof args, fmt, ap);
        va_end(ap);
        snprintf(cmd, sizeof cmd, "'%s' %s", TASKRUN_BIN, args);
        return th_run(cmd, out);
}

/* DIR/ID.json */
static inline void tc_task_path(char *buf, size_t n, const char *dir, const char *id)
{
        int len = snprintf(buf, n, "%s/%s.json", dir, id);

        cr_assert(len > 0 && (size_t)len < n, "path too long");
}

/* Write DIR/ID.json with the given text (in place, as an editor or Claude would). */
static inline void tc_write_task(const char *dir, const char *id, const char *json)
{
        char path[PATH_MAX];

        tc_task_path(path, sizeof path, dir, id);
        th_write_file(path, json);
}

/* Parse DIR/ID.json; asserts it parses. */
static inline json_object *tc_read_task(const char *dir, const char *id)
{
        char path[PATH_MAX];
        json_object *task;

        tc_task_path(path, sizeof path, dir, id);
        task = th_read_json(path);
        cr_assert_not_null(task, "%s does not parse", path);
        return task;
}

/* Start taskrun with argv (NULL-terminated, without argv[0]); stdout to out_path or /dev/null. */
static inline pid_t tc_spawn(const char *out_path, const char *const *args)
{
        const char *argv[64] = {TASKRUN_BIN};
        pid_t pid;
        int i;

        for (i = 0; args[i] != NULL && i < 62; i++)
                argv[i + 1] = args[i];
        argv[i + 1] = NULL;
        pid = fork();
        cr_assert_neq(pid, -1, "fork");
        if (pid == 0) {
                int fd =
                    open(out_path ? out_path : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0644);
                if (fd != -1)
                        dup2(fd, STDOUT_FILENO);
                execv(TASKRUN_BIN, (char *const *)argv);
                _exit(127);
        }
        return pid;
}

/* How long tc_reap waits for a child before it kills it (a hung command fails, not hangs). */
#define TC_REAP_TIMEOUT_MS 20000

/*
 * Wait for pid, at most TC_REAP_TIMEOUT_MS, then SIGKILL it; its exit status
 * (128+signal if killed), its resource use in *ru if wanted.
 */
static inline int tc_reap(pid_t pid, struct rusage *ru)
{
        return th_reap_rusage(pid, TC_REAP_TIMEOUT_MS, ru);
}

/* 1 if pid has exited (and is reaped, status in *status), 0 if it still runs. */
static inline int tc_exited(pid_t pid, int *status)
{
        int ws;

        if (waitpid(pid, &ws, WNOHANG) != pid)
                return 0;
        *status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
        return 1;
}

/* metadata.taskrun.state of DIR/ID.json, polled until it is want (at most 10 s). */
static inline void tc_await_state(const char *dir, const char *id, const char *want)
{
        char path[PATH_MAX];

        tc_task_path(path, sizeof path, dir, id);
        for (int i = 0; i < 1000; i++) {
                json_object *task = th_read_json(path);
                const char *state = task ? th_get_string(task, "metadata.taskrun.state") : NULL;
                int same = state != NULL && strcmp(state, want) == 0;
                json_object_put(task);
                if (same)
                        return;
                th_sleep_ms(10);
        }
        cr_assert_fail("task %s never reached state %s", id, want);
}

/* Start `taskrun --detach OPTS --dir DIR -- sh -c 'CMD'`; the id it printed into id. */
static inline void tc_detach(const char *dir, const char *opts, const char *cmd, char *id, size_t n)
{
        char *out;

        cr_assert_eq(tc_run(&out, "--detach %s --dir '%s' -- sh -c '%s'", opts, dir, cmd), 0);
        size_t len = strspn(out, "0123456789");
        cr_assert(len > 0, "printed \"%s\"", out);
        snprintf(id, n, "%.*s", (int)len, out);
        free(out);
}

/* A child of ours that sleeps until killed (at most 60 s), and its start time. */
static inline pid_t tc_sleeper(unsigned long long *ticks)
{
        pid_t pid = fork();

        cr_assert_neq(pid, -1);
        if (pid == 0) {
                alarm(60);
                pause();
                _exit(0);
        }
        cr_assert_eq(tr_proc_start_ticks(pid, ticks), 0);
        return pid;
}

/* Kill and reap a child such as tc_sleeper's; nothing for pid <= 0. */
static inline void tc_end_child(pid_t pid)
{
        if (pid > 0) {
                kill(pid, SIGKILL);
                waitpid(pid, NULL, 0);
        }
}

static inline int tc_cmp_ll(const void *a, const void *b)
{
        long long x = *(const long long *)a, y = *(const long long *)b;

        return x < y ? -1 : x > y;
}

#endif
