/* --stall-timeout: a command that prints nothing for that long is ended as --timeout would. */
#include "test_run.h"

TestSuite(run_stall, .init = run_setup, .fini = run_teardown, .timeout = 60);

/* The pid a command wrote to path. */
static pid_t pid_in(const char *path)
{
        char *s = th_read_file(path, NULL);
        pid_t pid;

        cr_assert_not_null(s, "no %s", path);
        pid = (pid_t)atoi(s);
        free(s);
        cr_assert_gt(pid, 0);
        return pid;
}

Test(run_stall, a_silent_command_is_ended_with_124_and_recorded_stalled)
{
        long long t0 = th_now_ms();
        json_object *t;

        cr_assert_eq(run("\"$TR\" --dir list --stall-timeout 0.3 -- sh -c 'echo started; echo $$ > "
                         "pid; exec sleep 10'"),
                     124);
        cr_expect_lt(th_now_ms() - t0, 5000);
        cr_expect(th_pid_gone(pid_in("pid")), "the stalled command is still there");
        t = run_task("list/1.json");
        cr_expect_str_eq(run_meta_str(t, "state"), "stalled");
        cr_expect(json_object_get_boolean(run_meta(t, "stalled")));
        cr_expect(!json_object_get_boolean(run_meta(t, "timed_out")));
        cr_expect_eq(run_meta_int(t, "signal"), SIGTERM);
        cr_expect_geq(run_meta_int(t, "duration_ms"), 300);
        cr_expect_eq(json_object_get_int64(th_get(t, "metadata.taskrun.options.stall_timeout_ms")),
                     300);
        const char *d = th_get_string(t, "description");
        cr_expect_neq(strstr(d, "stalled after "), NULL, "%s", d);
        cr_expect_neq(strstr(d, ": no output for 300ms, ended by SIGTERM"), NULL, "%s", d);
        cr_expect_str_neq(th_get_string(t, "status"), "completed");
        json_object_put(t);
}

Test(run_stall, output_keeps_the_command_alive_past_the_stall_timeout)
{
        json_object *t;

        /* 1.2s of run time, never 0.5s without a line. */
        cr_assert_eq(
            run("\"$TR\" --dir list --stall-timeout 0.5 -- sh -c 'i=0; while [ $i -lt 12 ]; "
                "do echo $i; sleep 0.1; i=$((i+1)); done'"),
            0);
        t = run_task("list/1.json");
        cr_expect_str_eq(run_meta_str(t, "state"), "completed");
        cr_expect_geq(run_meta_int(t, "duration_ms"), 1000);
        cr_expect_null(run_meta(t, "stalled"));
        json_object_put(t);
}

Test(run_stall, output_on_stderr_counts_too)
{
        cr_assert_eq(
            run("\"$TR\" --dir list --stall-timeout 0.5 -- sh -c 'i=0; while [ $i -lt 12 ]; "
                "do echo $i >&2; sleep 0.1; i=$((i+1)); done'"),
            0);
}

Test(run_stall, a_command_ignoring_the_signal_is_killed_after_kill_after_with_137)
{
        json_object *t;

        cr_assert_eq(run("\"$TR\" --dir list --stall-timeout 0.2 -k 0.2 -- sh -c 'trap \"\" TERM; "
                         "echo $$ > pid; " SH_IDLE "'"),
                     137);
        cr_expect(th_pid_gone(pid_in("pid")), "the stalled command is still there");
        t = run_task("list/1.json");
        cr_expect_str_eq(run_meta_str(t, "state"), "stalled");
        cr_expect_eq(run_meta_int(t, "signal"), SIGKILL);
        json_object_put(t);
}

Test(run_stall, time_while_the_command_is_stopped_does_not_count)
{
        pid_t tr = run_start(
            "\"$TR\" --dir list --stall-timeout 0.4 -- sh -c 'echo $$ > pid; kill -STOP $$; echo "
            "resumed'");
        json_object *t;

        t = run_await_state("list/1.json", "stopped", 5000);
        json_object_put(t);
        th_sleep_ms(800); /* twice the stall timeout, stopped */
        cr_assert_eq(kill(pid_in("pid"), SIGCONT), 0);
        cr_expect_eq(run_wait_ms(tr, 5000), 0);
        t = run_task("list/1.json");
        cr_expect_str_eq(run_meta_str(t, "state"), "completed");
        json_object_put(t);
}

Test(run_stall, preserve_status_gives_the_commands_own_status)
{
        json_object *t;

        cr_assert_eq(run("\"$TR\" --dir list --stall-timeout 0.2 --preserve-status -- sleep 10"),
                     128 + SIGTERM);
        t = run_task("list/1.json");
        cr_expect_str_eq(run_meta_str(t, "state"), "stalled");
        json_object_put(t);
}

Test(run_stall, a_timeout_that_comes_first_is_a_timeout)
{
        json_object *t;

        cr_assert_eq(run("\"$TR\" --dir list --stall-timeout 5 --timeout 0.2 -- sleep 10"), 124);
        t = run_task("list/1.json");
        cr_expect_str_eq(run_meta_str(t, "state"), "timed_out");
        cr_expect_null(run_meta(t, "stalled"));
        json_object_put(t);
}

Test(run_stall, a_detached_runs_log_and_logs_f_say_it_stalled)
{
        char *out;

        cr_assert_eq(run("\"$TR\" --dir list --detach --stall-timeout 0.2 -- sh -c 'printf "
                         "partial; exec sleep 10'"),
                     0);
        cr_expect_eq(run("\"$TR\" logs -f --dir list 1"), 124);
        out = run_stdout(NULL);
        cr_expect_neq(strstr(out, "partial\n[stalled after "), NULL, "%s", out);
        cr_expect_neq(strstr(out, " (no output for 200ms); killed by signal 15 (SIGTERM)]\n"), NULL,
                      "%s", out);
        free(out);
        cr_expect_eq(run("\"$TR\" wait --dir list 1"), 1);
        out = run_stdout(NULL);
        cr_expect_eq(strncmp(out, "1: stalled (SIGTERM, ", 21), 0, "%s", out);
        free(out);
}

Test(run_stall, a_bad_duration_is_refused)
{
        cr_expect_eq(run("\"$TR\" --dir list --stall-timeout soon -- true"), 125);
        char *err = run_stderr();
        cr_expect_str_eq(err, "taskrun: --stall-timeout: invalid duration 'soon'\n");
        free(err);
}
