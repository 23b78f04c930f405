/* taskrun --detach: returns at once with the id; the run survives its parent and is recorded. */
#include "cmd_helpers.h"

static char dir[512];

static void setup(void)
{
        th_tmpdir(dir, sizeof dir);
}

static void teardown(void)
{
        th_rmtree(dir);
}

TestSuite(cmd_detach, .init = setup, .fini = teardown, .timeout = 60);

/* The id printed by a detached run: digits and a newline, nothing else. */
static void expect_id(const char *out, char *id, size_t n)
{
        size_t len = strspn(out, "0123456789");

        cr_assert(len > 0 && strcmp(out + len, "\n") == 0, "printed \"%s\"", out);
        snprintf(id, n, "%.*s", (int)len, out);
}

static void expect_completed(const char *id)
{
        cr_assert_eq(tc_run(NULL, "wait -q --timeout 10 --dir '%s' %s", dir, id), 0);
        json_object *task = tc_read_task(dir, id);
        cr_expect_str_eq(th_get_string(task, "status"), "completed");
        cr_expect_str_eq(th_get_string(task, "metadata.taskrun.state"), "completed");
        cr_expect_str_eq(th_get_string(task, "metadata.taskrun.last_line"), "done");
        json_object_put(task);
}

/* A log: the header line, the output, the footer of a run that exited 0. */
static void expect_framed(const char *log, const char *output)
{
        const char *nl = strchr(log, '\n');

        cr_assert(strncmp(log, "[started at ", 12) == 0 && nl != NULL, "no header: %s", log);
        cr_expect_eq(strncmp(nl + 1, output, strlen(output)), 0, "log: %s", log);
        cr_expect_eq(strncmp(nl + 1 + strlen(output), "[exited with status 0 after ", 28), 0,
                     "no footer: %s", log);
}

Test(cmd_detach, returns_at_once_printing_the_id)
{
        char *out, id[32];
        long long t0 = th_now_ms();

        cr_assert_eq(tc_run(&out, "--detach --dir '%s' -- sh -c 'sleep 1; echo done'", dir), 0);
        long long took = th_now_ms() - t0;
        cr_log_info("detach returned in %lld ms", took);
        cr_expect_lt(took, 500, "took %lld ms", took);
        expect_id(out, id, sizeof id);
        free(out);
        /* Not done yet when detach returned. */
        json_object *task = tc_read_task(dir, id);
        cr_expect_neq(strcmp(th_get_string(task, "status"), "completed"), 0);
        json_object_put(task);
        expect_completed(id);
}

Test(cmd_detach, survives_its_parent_shell_exiting)
{
        char cmd[2048], *out, id[32];

        /* The shell starts taskrun in the background and exits at once. */
        snprintf(cmd, sizeof cmd,
                 "sh -c \"'%s' --detach --dir '%s' -- sh -c 'sleep 1; echo done' >'%s/id' & "
                 "exit 0\"",
                 TASKRUN_BIN, dir, dir);
        cr_assert_eq(th_run(cmd, NULL), 0);
        snprintf(cmd, sizeof cmd, "%s/id", dir);
        for (int i = 0; i < 100 && ((out = th_read_file(cmd, NULL)) == NULL || *out == '\0'); i++) {
                free(out);
                th_sleep_ms(20);
        }
        cr_assert_not_null(out);
        expect_id(out, id, sizeof id);
        free(out);
        expect_completed(id);
}

Test(cmd_detach, survives_a_hangup_of_its_parents_process_group)
{
        char cmd[2048], *out, id[32];

        /* In a session of its own, the shell sends SIGHUP to its whole process group. */
        snprintf(cmd, sizeof cmd,
                 "setsid -w sh -c \"'%s' --detach --dir '%s' -- sh -c 'sleep 1; echo done'; "
                 "kill -HUP 0\" 2>/dev/null",
                 TASKRUN_BIN, dir);
        /* The shell hangs itself up too: 128 + SIGHUP shows the hangup was sent. */
        cr_expect_eq(th_run(cmd, &out), 128 + SIGHUP, "the hangup did not reach the shell");
        expect_id(out, id, sizeof id);
        free(out);
        expect_completed(id);
}

Test(cmd_detach, output_goes_to_the_log_beside_the_task)
{
        char *out, id[32], path[PATH_MAX];

        cr_assert_eq(tc_run(&out, "--detach --dir '%s' -- sh -c 'sleep 1; echo done'", dir), 0);
        expect_id(out, id, sizeof id);
        free(out);
        expect_completed(id);
        snprintf(path, sizeof path, "%s/%s.log", dir, id);
        out = th_read_file(path, NULL);
        cr_assert_not_null(out, "no log %s", path);
        expect_framed(out, "done\n");
        free(out);
}

Test(cmd_detach, log_option_names_the_log)
{
        char *out, id[32], path[PATH_MAX];

        snprintf(path, sizeof path, "%s/custom.log", dir);
        cr_assert_eq(tc_run(&out, "--detach --log '%s' --dir '%s' -- sh -c 'echo done'", path, dir),
                     0);
        expect_id(out, id, sizeof id);
        free(out);
        expect_completed(id);
        out = th_read_file(path, NULL);
        cr_assert_not_null(out, "no log %s", path);
        expect_framed(out, "done\n");
        free(out);
}

/*
 * Rerunning an existing task detached: when --detach returns, the old run's
 * final state must already be gone, or a `taskrun wait` right after it returns
 * at once with the old result.
 */
Test(cmd_detach, wait_right_after_a_detached_rerun_sees_the_new_run)
{
        char *out;

        cr_assert_eq(tc_run(NULL,
                            "create --dir '%s' --id x --set-meta "
                            "'taskrun={\"state\":\"failed\"}' >/dev/null",
                            dir),
                     0);
        cr_assert_eq(
            tc_run(&out, "--detach --dir '%s' --task x -- sh -c 'sleep 1; echo done'", dir), 0);
        free(out);
        cr_expect_eq(tc_run(&out, "wait --timeout 10 --dir '%s' x", dir), 0);
        cr_expect(strncmp(out, "x: completed (exit 0, ", 22) == 0, "%s", out);
        free(out);
}
