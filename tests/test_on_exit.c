/*
 * --on-exit CMD: once the final record is written, sh -c CMD runs with the
 * task on its stdin and the outcome in TASKRUN_* variables; it is bounded by
 * --on-exit-timeout, never changes taskrun's exit status, and a failure is one
 * warning line and metadata.taskrun.on_exit_error. Each test runs the real
 * binary in a scratch directory (see test_run.h).
 */
#include <limits.h>

#include "test_run.h"

TestSuite(on_exit, .init = run_setup, .fini = run_teardown, .timeout = 60);

/* The hook's environment as the lines it wrote to ./env. */
static char *hook_env(void)
{
        run_await_file("env.done", 10000);
        char *s = th_read_file("env", NULL);
        cr_assert_not_null(s, "the hook wrote no ./env");
        return s;
}

#define DUMP_ENV                                                                                   \
        "'{ echo id=$TASKRUN_ID; echo state=$TASKRUN_STATE; echo exit=$TASKRUN_EXIT_CODE; "        \
        "echo ms=$TASKRUN_DURATION_MS; echo dir=$TASKRUN_LIST_DIR; } >env; cat >record.json; "     \
        ": >env.done'"

Test(on_exit, hook_gets_the_outcome_in_its_environment)
{
        char want[PATH_MAX + 16], *env;

        cr_assert_eq(run("\"$TR\" --dir list --on-exit " DUMP_ENV " -- sh -c 'exit 3'"), 3);
        env = hook_env();
        cr_expect(strstr(env, "id=1\n") != NULL, "%s", env);
        cr_expect(strstr(env, "state=failed\n") != NULL, "%s", env);
        cr_expect(strstr(env, "exit=3\n") != NULL, "%s", env);
        cr_expect(strstr(env, "ms=") != NULL && strstr(env, "ms=\n") == NULL, "%s", env);
        /* An absolute path: the hook may change directory. */
        snprintf(want, sizeof want, "dir=%s/list\n", run_scratch);
        cr_expect(strstr(env, want) != NULL, "want %s in %s", want, env);
        free(env);
}

Test(on_exit, hook_reads_the_final_task_on_stdin)
{
        json_object *rec;

        cr_assert_eq(run("\"$TR\" --dir list --on-exit " DUMP_ENV " -- sh -c 'echo out; exit 0'"),
                     0);
        free(hook_env());
        rec = run_task("record.json");
        cr_expect_str_eq(th_get_string(rec, "id"), "1");
        cr_expect_str_eq(th_get_string(rec, "status"), "completed");
        cr_expect_str_eq(run_meta_str(rec, "state"), "completed");
        cr_expect_eq(run_meta_int(rec, "exit_code"), 0);
        cr_expect_str_eq(run_meta_str(rec, "last_line"), "out");
        json_object_put(rec);
}

Test(on_exit, plain_file_task_gives_its_id_and_top_level_record)
{
        json_object *rec;
        char *env;

        cr_assert_eq(run("\"$TR\" --file job.json --on-exit " DUMP_ENV " -- false"), 1);
        env = hook_env();
        cr_expect(strstr(env, "state=failed\n") != NULL, "%s", env);
        cr_expect(strstr(env, "exit=1\n") != NULL, "%s", env);
        free(env);
        rec = run_task("record.json");
        cr_expect_str_eq(th_get_string(rec, "status"), "failed");
        cr_expect_str_eq(th_get_string(rec, "state"), "failed");
        json_object_put(rec);
}

Test(on_exit, signal_end_gives_128_plus_the_signal)
{
        char *env;

        cr_assert_eq(run("\"$TR\" --dir list --on-exit " DUMP_ENV " -- sh -c 'kill -TERM $$'"),
                     128 + SIGTERM);
        env = hook_env();
        cr_expect(strstr(env, "state=killed\n") != NULL, "%s", env);
        cr_expect(strstr(env, "exit=143\n") != NULL, "%s", env);
        free(env);
}

Test(on_exit, failing_hook_warns_once_and_is_recorded_but_keeps_the_status)
{
        json_object *task;
        char *err;

        cr_assert_eq(run("\"$TR\" --dir list --on-exit 'exit 7' -- true"), 0);
        err = run_stderr();
        cr_expect_eq(run_count_str(err, "\n"), 2, "stderr: %s", err); /* task id, warning */
        cr_expect(strstr(err, "taskrun: --on-exit: exit status 7\n") != NULL, "stderr: %s", err);
        free(err);
        task = run_task("list/1.json");
        cr_expect_str_eq(th_get_string(task, "status"), "completed");
        cr_expect_str_eq(run_meta_str(task, "on_exit_error"), "exit status 7");
        json_object_put(task);
}

Test(on_exit, succeeding_hook_says_nothing_and_clears_an_old_error)
{
        json_object *task;
        char *err;

        cr_assert_eq(run("\"$TR\" --dir list -t 1 --create --on-exit 'exit 1' -- true"), 0);
        cr_assert_eq(run("\"$TR\" --dir list -t 1 --on-exit 'exit 0' -- true"), 0);
        err = run_stderr();
        cr_expect_str_eq(err, "");
        free(err);
        task = run_task("list/1.json");
        cr_expect_null(run_meta(task, "on_exit_error"), "an earlier run's error stayed");
        json_object_put(task);
}

Test(on_exit, hook_past_its_timeout_is_stopped_with_its_children)
{
        long long t0 = th_now_ms(), took;
        char *err;

        /* The hook's child would run for 20 s and write ./late unless its group is stopped. */
        cr_assert_eq(run("\"$TR\" --dir list --on-exit-timeout 0.2 --on-exit "
                         "'(sleep 20; echo >late) & echo $! >child.pid; wait' -- true"),
                     0);
        took = th_now_ms() - t0;
        cr_log_info("taskrun with a hung hook took %lld ms", took);
        cr_expect_lt(took, 10000, "took %lld ms", took);
        err = run_stderr();
        cr_expect(strstr(err, "taskrun: --on-exit: timed out after 200ms\n") != NULL, "%s", err);
        free(err);
        /* The child got the group's SIGTERM: kill(pid, 0) fails once it is gone. */
        char *pid = th_read_file("child.pid", NULL);
        cr_assert_not_null(pid);
        long long deadline = th_now_ms() + 5000;
        while (kill(atoi(pid), 0) == 0 && th_now_ms() < deadline)
                usleep(10000);
        cr_expect_neq(kill(atoi(pid), 0), 0, "the hook's child still runs");
        run_kill_pidfile("child.pid");
        free(pid);
}

Test(on_exit, hook_that_never_reads_stdin_does_not_block_taskrun)
{
        /* A 1M tail makes the record larger than any pipe buffer. */
        cr_assert_eq(run("\"$TR\" --dir list --tail 1M --on-exit 'sleep 0.1' -- "
                         "sh -c 'head -c 1500000 /dev/zero | tr \"\\\\0\" x'"),
                     0);
        char *err = run_stderr();
        cr_expect(strstr(err, "--on-exit") == NULL, "%s", err);
        free(err);
}

Test(on_exit, hook_gets_the_signal_dispositions_taskrun_was_given)
{
        /* taskrun ignores SIGPIPE, SIGTTIN and SIGTTOU; the hook's shell must not inherit that
         * (a non-interactive sh keeps ignored signals ignored, so $$ shows what it got). */
        cr_assert_eq(run("\"$TR\" --dir list --on-exit "
                         "'grep SigIgn /proc/$$/status >ign; : >env.done' -- true"),
                     0);
        run_await_file("env.done", 10000);
        char *ign = th_read_file("ign", NULL);
        cr_assert_not_null(ign);
        cr_expect(strstr(ign, "0000000000000000") != NULL, "%s", ign);
        free(ign);
}

Test(on_exit, runs_in_a_detached_run_too)
{
        char *env;

        cr_assert_eq(run("\"$TR\" --detach --dir list --on-exit " DUMP_ENV " -- sh -c 'exit 4'"),
                     0);
        env = hook_env();
        cr_expect(strstr(env, "state=failed\n") != NULL, "%s", env);
        cr_expect(strstr(env, "exit=4\n") != NULL, "%s", env);
        free(env);
}

Test(on_exit, runs_when_the_command_is_not_found)
{
        char *env;

        cr_assert_eq(run("\"$TR\" --dir list --on-exit " DUMP_ENV " -- ./no-such-command"), 127);
        env = hook_env();
        cr_expect(strstr(env, "exit=127\n") != NULL, "%s", env);
        free(env);
}

Test(on_exit, timeout_needs_the_hook_and_a_positive_duration)
{
        cr_expect_eq(run("\"$TR\" --dir list --on-exit-timeout 5 -- true"), 125);
        cr_expect_eq(run("\"$TR\" --dir list --on-exit true --on-exit-timeout 0 -- true"), 125);
        cr_expect_eq(access("list/1.json", F_OK), -1, "a task was made despite the usage error");
}
