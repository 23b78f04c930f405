/*
 * Helpers for the tests of the gates (--slots, --unique): a scratch directory
 * that is the working directory, a Claude list in it (./list), a private
 * runtime directory (./run, as $XDG_RUNTIME_DIR) so that queues and keys are
 * the test's own, and runs started in the background with their stdout kept.
 */
#ifndef TASKRUN_TEST_GATE_HELPERS_H
#define TASKRUN_TEST_GATE_HELPERS_H

#include <stdarg.h>
#include <sys/stat.h>

#include "cmd_helpers.h"

/* A command that waits (bounded) until the file "go" exists in the working directory. */
#define GH_HOLD "i=0; while [ ! -e go ] && [ $i -lt 2000 ]; do sleep 0.01; i=$((i+1)); done"

static char gh_dir[512];

static void gh_setup(void)
{
        th_tmpdir(gh_dir, sizeof gh_dir);
        cr_assert_eq(chdir(gh_dir), 0);
        cr_assert_eq(mkdir("run", 0700), 0);
        setenv("XDG_RUNTIME_DIR", th_at(gh_dir, "run"), 1);
        unsetenv("CLAUDE_CODE_TASK_LIST_ID");
        unsetenv("CLAUDE_CODE_SESSION_ID");
}

static void gh_teardown(void)
{
        if (chdir("/") == 0)
                th_rmtree(gh_dir);
}

/*
 * Start `taskrun --dir list --task ID --create [ARGS...] -- sh -c SCRIPT` (ARGS
 * NULL-terminated); its stdout goes to ./out-ID, its stderr to ./err-ID.
 */
static pid_t gh_start(const char *id, const char *script, ...)
{
        const char *argv[40] = {TASKRUN_BIN, "--dir", "list", "--task", id, "--create"};
        char out[64], err[64];
        int n = 6;
        va_list ap;
        pid_t pid;

        va_start(ap, script);
        for (const char *a; (a = va_arg(ap, const char *)) != NULL && n < 34;)
                argv[n++] = a;
        va_end(ap);
        argv[n++] = "--";
        argv[n++] = "sh";
        argv[n++] = "-c";
        argv[n++] = script;
        argv[n] = NULL;
        snprintf(out, sizeof out, "out-%s", id);
        snprintf(err, sizeof err, "err-%s", id);
        pid = fork();
        cr_assert_neq(pid, -1, "fork");
        if (pid == 0) {
                int o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
                int e = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
                if (o == -1 || e == -1)
                        _exit(250);
                dup2(o, STDOUT_FILENO);
                dup2(e, STDERR_FILENO);
                execv(TASKRUN_BIN, (char *const *)argv);
                _exit(127);
        }
        return pid;
}

/* The task ID of ./list, parsed. */
static json_object *gh_task(const char *id)
{
        return tc_read_task("list", id);
}

/* metadata.taskrun.state of task ID, polled until it is want (at most 10 s). */
static void gh_await_state(const char *id, const char *want)
{
        tc_await_state("list", id, want);
}

/* What a file holds (malloc'd), or "" when it does not exist. */
static char *gh_read(const char *path)
{
        char *s = th_read_file(path, NULL);

        return s ? s : strdup("");
}

static int gh_exists(const char *path)
{
        return access(path, F_OK) == 0;
}

/* Let the GH_HOLD commands go. */
static void gh_go(void)
{
        th_write_file("go", "");
}

/* Not exited yet (after a moment to show it would have). */
static void gh_assert_running(pid_t pid, const char *what)
{
        int status;

        th_sleep_ms(200);
        cr_assert_not(tc_exited(pid, &status), "%s: exited with %d instead of waiting", what,
                      status);
}

/*
 * Fork n children that each wait on one pipe and then exec argv (stdout to
 * out-at-I): closing the pipe starts them all at the same instant.
 */
static void gh_start_together(int n, const char *const *argv, pid_t *pids)
{
        int gate[2];

        cr_assert_eq(pipe(gate), 0);
        for (int i = 0; i < n; i++) {
                pids[i] = fork();
                cr_assert_neq(pids[i], -1, "fork");
                if (pids[i] == 0) {
                        char out[32], c;
                        snprintf(out, sizeof out, "out-at-%d", i);
                        int o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
                        int null = open("/dev/null", O_WRONLY);
                        close(gate[1]);
                        if (o == -1 || null == -1 || read(gate[0], &c, 1) != 0)
                                _exit(250);
                        dup2(o, STDOUT_FILENO);
                        dup2(null, STDERR_FILENO);
                        execv(TASKRUN_BIN, (char *const *)argv);
                        _exit(127);
                }
        }
        close(gate[0]);
        th_sleep_ms(100); /* every child is in read() by now, or soon after */
        close(gate[1]);
}

#endif
