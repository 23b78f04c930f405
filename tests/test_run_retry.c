/* --retry: a failed command runs again, with backoff; the user's end is never retried. */
#include "test_run.h"

#include "../src/retry.h"

TestSuite(run_retry, .init = run_setup, .fini = run_teardown, .timeout = 60);

/* Counts its attempts in ./n, says "try N", and exits as EXIT (shell text, may use $n). */
#define COUNTED(exit)                                                                              \
        "n=$(cat n 2>/dev/null || echo 0); n=$((n+1)); echo $n > n; echo try $n; " exit

/* metadata.taskrun.attempts of task t, which must be an array. */
static json_object *attempts_of(json_object *t)
{
        json_object *a = run_meta(t, "attempts");

        cr_assert(a && json_object_is_type(a, json_type_array), "no attempts array");
        return a;
}

static json_object *attempt_at(json_object *t, size_t i)
{
        return json_object_array_get_idx(attempts_of(t), i);
}

static int attempt_int(json_object *a, const char *key)
{
        json_object *v;

        cr_assert(json_object_object_get_ex(a, key, &v) && json_object_is_type(v, json_type_int),
                  "attempt: no integer %s", key);
        return json_object_get_int(v);
}

Test(run_retry, failing_twice_then_succeeding_with_retry_2_exits_0_with_three_attempts_recorded)
{
        json_object *t;
        char *out;

        cr_assert_eq(run("\"$TR\" --dir list --retry 2 --retry-delay 0.01 -- sh -c '" COUNTED(
                         "[ $n -ge 3 ]") "'"),
                     0);
        out = run_stdout(NULL);
        cr_expect_str_eq(out, "try 1\ntry 2\ntry 3\n");
        free(out);
        t = run_task("list/1.json");
        cr_expect_str_eq(th_get_string(t, "status"), "completed");
        cr_expect_str_eq(run_meta_str(t, "state"), "completed");
        cr_expect_eq(run_meta_int(t, "attempt"), 3);
        cr_assert_eq(json_object_array_length(attempts_of(t)), 3);
        for (int i = 0; i < 3; i++) {
                json_object *a = attempt_at(t, (size_t)i);
                cr_expect_eq(attempt_int(a, "attempt"), i + 1);
                cr_expect_eq(attempt_int(a, "exit_code"), i < 2 ? 1 : 0);
                cr_expect_str_eq(th_get_string(a, "state"), i < 2 ? "failed" : "completed");
                cr_expect_geq(attempt_int(a, "duration_ms"), 0);
                cr_expect_not_null(th_get_string(a, "started_at"));
        }
        /* The tail is the last attempt's; the record no longer waits for a retry. */
        cr_expect_str_eq(run_meta_str(t, "output_tail"), "try 3\n");
        cr_expect_null(run_meta(t, "retry_at"));
        cr_expect_eq(json_object_get_int(th_get(t, "metadata.taskrun.options.retry")), 2);
        json_object_put(t);
}

Test(run_retry, retries_stop_after_n_more_and_the_exit_status_and_result_are_the_last_attempts)
{
        json_object *t;
        char *err;

        cr_assert_eq(run("\"$TR\" --dir list --retry 2 --retry-delay 0 -- sh -c '" COUNTED(
                         "exit $((10 + n))") "'"),
                     13);
        t = run_task("list/1.json");
        cr_expect_str_eq(run_meta_str(t, "state"), "failed");
        cr_expect_eq(run_meta_int(t, "exit_code"), 13);
        cr_expect_eq(run_meta_int(t, "attempt"), 3);
        cr_expect_eq(attempt_int(attempt_at(t, 0), "exit_code"), 11);
        cr_expect_eq(attempt_int(attempt_at(t, 1), "exit_code"), 12);
        cr_expect_neq(strstr(th_get_string(t, "description"), "failed: exit code 13 after"), NULL);
        cr_expect_null(strstr(th_get_string(t, "description"), "try 2"),
                       "an earlier attempt's output");
        json_object_put(t);
        err = run_stderr();
        cr_expect_neq(strstr(err, "taskrun: attempt 1 of 3: exited with status 11 after "), NULL,
                      "%s", err);
        cr_expect_neq(strstr(err, "taskrun: attempt 2 of 3: exited with status 12 after "), NULL,
                      "%s", err);
        cr_expect_null(strstr(err, "attempt 3 of 3"), "%s", err);
        free(err);
}

Test(run_retry, retry_on_retries_only_the_statuses_listed)
{
        json_object *t;

        /* 75 first (listed), then 2 (not listed): two attempts, status 2. */
        cr_assert_eq(
            run("\"$TR\" --dir list --retry 5 --retry-delay 0 --retry-on 1,75 -- sh -c '" COUNTED(
                "[ $n = 1 ] && exit 75; exit 2") "'"),
            2);
        t = run_task("list/1.json");
        cr_expect_eq(run_meta_int(t, "attempt"), 2);
        json_object *on = th_get(t, "metadata.taskrun.options.retry_on");
        cr_assert(on && json_object_array_length(on) == 2);
        cr_expect_eq(json_object_get_int(json_object_array_get_idx(on, 1)), 75);
        json_object_put(t);
}

Test(run_retry, a_signal_counts_as_128_plus_n_for_retry_on_and_a_crash_is_retried)
{
        json_object *t;

        cr_assert_eq(
            run("\"$TR\" --dir list --retry 1 --retry-delay 0 --retry-on 137 -- sh -c '" COUNTED(
                "kill -KILL $$") "'"),
            128 + SIGKILL);
        t = run_task("list/1.json");
        cr_expect_eq(run_meta_int(t, "attempt"), 2);
        cr_expect_eq(attempt_int(attempt_at(t, 0), "signal"), SIGKILL);
        cr_expect_null(th_get(attempt_at(t, 0), "exit_code"));
        json_object_put(t);
}

Test(run_retry, a_timeout_is_not_retried_unless_retry_timeouts)
{
        json_object *t;

        cr_assert_eq(
            run("\"$TR\" --dir list --retry 2 --retry-delay 0 --timeout 0.1 -- sh -c '" COUNTED(
                "exec sleep 5") "'"),
            124);
        t = run_task("list/1.json");
        cr_expect_eq(run_meta_int(t, "attempt"), 1);
        cr_expect_str_eq(run_meta_str(t, "state"), "timed_out");
        json_object_put(t);
        unlink("n");
        cr_assert_eq(run("\"$TR\" --dir list --task 1 --retry 2 --retry-delay 0 --timeout 0.1 "
                         "--retry-timeouts -- sh -c '" COUNTED("exec sleep 5") "'"),
                     124);
        t = run_task("list/1.json");
        cr_expect_eq(run_meta_int(t, "attempt"), 3);
        cr_expect_str_eq(th_get_string(attempt_at(t, 1), "state"), "timed_out");
        json_object_put(t);
}

Test(run_retry, a_command_that_cannot_start_is_not_retried)
{
        json_object *t;

        cr_assert_eq(run("\"$TR\" --dir list --retry 3 --retry-delay 0 -- no-such-command-xyzzy"),
                     127);
        t = run_task("list/1.json");
        cr_expect_eq(run_meta_int(t, "attempt"), 1);
        json_object_put(t);
}

Test(run_retry, a_command_ended_by_sigint_is_not_retried)
{
        json_object *t;

        /* Ctrl-C in the foreground reaches the command, not taskrun. */
        cr_assert_eq(run("\"$TR\" --dir list --retry 3 --retry-delay 0 -- sh -c '" COUNTED(
                         "kill -INT $$; sleep 1") "'"),
                     128 + SIGINT);
        t = run_task("list/1.json");
        cr_expect_eq(run_meta_int(t, "attempt"), 1);
        cr_expect_str_eq(run_meta_str(t, "state"), "killed");
        json_object_put(t);
}

Test(run_retry, ctrl_c_during_an_attempt_stops_retrying_and_the_command_is_gone)
{
        pid_t tr = run_start("\"$TR\" --dir list --retry 3 --retry-delay 0 -- sh -c '" COUNTED(
            "echo $$ > cmdpid; exec sleep 10") "'");
        json_object *t = run_await_state("list/1.json", "running", 5000);
        char *pid;

        json_object_put(t);
        run_await_file("cmdpid", 5000);
        th_sleep_ms(50); /* exec'd into sleep */
        pid = th_read_file("cmdpid", NULL);
        cr_assert_eq(kill(tr, SIGINT), 0);
        cr_expect_eq(run_wait_ms(tr, 5000), 128 + SIGINT);
        cr_expect(th_pid_gone(atoi(pid)), "the command %s is still there", pid);
        free(pid);
        t = run_task("list/1.json");
        cr_expect_eq(run_meta_int(t, "attempt"), 1);
        cr_expect_str_eq(run_meta_str(t, "state"), "killed");
        json_object_put(t);
}

/* Task 1 of ./list once its record says when the next attempt is due (at most 5 s). */
static json_object *await_retry_at(void)
{
        long long deadline = th_now_ms() + 5000;
        json_object *t;

        for (;;) {
                t = th_read_json("list/1.json");
                if (t != NULL && run_meta_str(t, "retry_at") != NULL)
                        return t;
                json_object_put(t);
                cr_assert(th_now_ms() < deadline, "no retry_at in the record");
                th_sleep_ms(10);
        }
}

Test(run_retry, ctrl_c_during_the_wait_ends_the_run_at_once_and_records_killed)
{
        pid_t tr = run_start(
            "\"$TR\" --dir list --retry 3 --retry-delay 20 -- sh -c '" COUNTED("exit 1") "'");
        /* The wait before attempt 2: the record says running, and when the retry is due. */
        json_object *t = await_retry_at();

        cr_expect_str_eq(run_meta_str(t, "state"), "running");
        cr_expect_eq(json_object_array_length(attempts_of(t)), 1);
        json_object_put(t);
        long long t0 = th_now_ms();
        cr_assert_eq(kill(tr, SIGINT), 0);
        cr_expect_eq(run_wait_ms(tr, 5000), 128 + SIGINT);
        cr_expect_lt(th_now_ms() - t0, 2000, "the wait was not cut short");
        t = run_task("list/1.json");
        cr_expect_str_eq(run_meta_str(t, "state"), "killed");
        cr_expect_eq(run_meta_int(t, "signal"), SIGINT);
        cr_expect_eq(run_meta_int(t, "attempt"), 1);
        cr_expect_null(run_meta(t, "retry_at"));
        cr_expect_neq(
            strstr(th_get_string(t, "description"), "killed by SIGINT while waiting to retry"),
            NULL, "%s", th_get_string(t, "description"));
        json_object_put(t);
        char *n = th_read_file("n", NULL);
        cr_expect_str_eq(n, "1\n", "another attempt ran");
        free(n);
}

Test(run_retry, taskrun_kill_during_the_wait_of_a_detached_run_ends_it_and_records_killed)
{
        json_object *t;
        char *out;

        cr_assert_eq(
            run("\"$TR\" --dir list --detach --retry 3 --retry-delay 20 -- sh -c '" COUNTED(
                "exit 1") "'"),
            0);
        t = await_retry_at();
        pid_t sup = (pid_t)run_meta_int(t, "supervisor_pid");
        json_object_put(t);
        long long t0 = th_now_ms();
        cr_assert_eq(run("\"$TR\" kill --dir list 1"), 0);
        cr_expect_eq(run("\"$TR\" wait --dir list --timeout 2 1"), 1);
        cr_expect_lt(th_now_ms() - t0, 1500);
        for (int i = 0; i < 200 && !th_pid_gone(sup); i++)
                th_sleep_ms(10);
        cr_expect(th_pid_gone(sup), "the supervisor %d is still there", (int)sup);
        t = run_task("list/1.json");
        cr_expect_str_eq(run_meta_str(t, "state"), "killed");
        cr_expect_eq(json_object_get_int(th_get(t, "metadata.taskrun.killed_by.signal")), SIGTERM);
        json_object_put(t);
        cr_assert_eq(run("\"$TR\" logs --dir list 1"), 0);
        out = run_stdout(NULL);
        cr_expect_neq(strstr(out, "try 1\n[attempt 1 of 4: exited with status 1 after "), NULL,
                      "%s", out);
        cr_expect_neq(strstr(out, "[killed by signal 15 (SIGTERM) while waiting to retry, ended by "
                                  "taskrun kill from pid "),
                      NULL, "%s", out);
        free(out);
}

Test(run_retry, the_waits_between_attempts_double)
{
        long long t0 = th_now_ms();

        /* Waits of 0.2s and 0.4s, each at least half of that: at least 0.3s in all. */
        cr_assert_eq(run("\"$TR\" --dir list --retry 2 --retry-delay 0.2 -- false"), 1);
        cr_expect_geq(th_now_ms() - t0, 300);
}

Test(run_retry, the_backoff_doubles_with_jitter_and_is_capped)
{
        struct tr_retry_opts o = {.max = 20, .delay_ms = 1000};

        /* rnd 0: half; rnd max: all of it. */
        cr_expect_eq(tr_retry_delay(&o, 1, 0), 500);
        cr_expect_eq(tr_retry_delay(&o, 1, UINT32_MAX), 1000);
        cr_expect_eq(tr_retry_delay(&o, 2, UINT32_MAX), 2000);
        cr_expect_eq(tr_retry_delay(&o, 4, UINT32_MAX), 8000);
        cr_expect_eq(tr_retry_delay(&o, 7, UINT32_MAX), TR_RETRY_CAP_MS);
        cr_expect_eq(tr_retry_delay(&o, 20, 0), TR_RETRY_CAP_MS / 2);
        int64_t mid = tr_retry_delay(&o, 3, UINT32_MAX / 2);
        cr_expect(mid > 2000 && mid < 4000, "%lld", (long long)mid);
        /* A first delay longer than the cap is the cap. */
        o.delay_ms = 120000;
        cr_expect_eq(tr_retry_delay(&o, 5, UINT32_MAX), 120000);
        o.delay_ms = 0;
        cr_expect_eq(tr_retry_delay(&o, 9, UINT32_MAX), 0);
}

Test(run_retry, events_hooks_and_the_summary_are_the_whole_runs)
{
        char *ev, *hook;
        json_object *sum;

        cr_assert_eq(
            run("\"$TR\" --dir list --retry 2 --retry-delay 0 --events ev --summary "
                "sum.json --on-exit 'echo $TASKRUN_STATE $TASKRUN_EXIT_CODE >> hook' -- sh "
                "-c '" COUNTED("[ $n -ge 3 ]") "'"),
            0);
        ev = th_read_file("ev", NULL);
        cr_assert_not_null(ev);
        cr_expect_eq(run_count_str(ev, "\"event\":\"start\""), 1, "%s", ev);
        cr_expect_eq(run_count_str(ev, "\"event\":\"retry\""), 2, "%s", ev);
        cr_expect_eq(run_count_str(ev, "\"event\":\"end\""), 1, "%s", ev);
        cr_expect_neq(strstr(ev, "\"attempts\":3"), NULL, "%s", ev);
        cr_expect_lt(strstr(ev, "\"event\":\"start\"") - ev,
                     strstr(ev, "\"event\":\"retry\"") - ev);
        free(ev);
        hook = th_read_file("hook", NULL);
        cr_expect_str_eq(hook, "completed 0\n");
        free(hook);
        sum = run_task("sum.json");
        cr_expect_str_eq(th_get_string(sum, "state"), "completed");
        json_object_put(sum);
}

Test(run_retry, quiet_shows_only_the_last_attempts_output_on_failure)
{
        char *out;

        cr_assert_eq(run("\"$TR\" --dir list --quiet --retry 1 --retry-delay 0 -- sh -c '" COUNTED(
                         "exit 4") "'"),
                     4);
        out = run_stdout(NULL);
        cr_expect_str_eq(out, "try 2\n");
        free(out);
        out = run_stderr();
        cr_expect_null(strstr(out, "attempt 1"), "--quiet said: %s", out);
        free(out);
}

Test(run_retry, the_history_keeps_the_last_ten_attempts)
{
        json_object *t;

        cr_assert_eq(
            run("\"$TR\" --dir list --retry 11 --retry-delay 0 -- sh -c '" COUNTED("exit 1") "'"),
            1);
        t = run_task("list/1.json");
        cr_expect_eq(run_meta_int(t, "attempt"), 12);
        cr_assert_eq(json_object_array_length(attempts_of(t)), 10);
        cr_expect_eq(attempt_int(attempt_at(t, 0), "attempt"), 3);
        cr_expect_eq(attempt_int(attempt_at(t, 9), "attempt"), 12);
        json_object_put(t);
}

Test(run_retry, bad_values_and_companions_without_retry_are_refused)
{
        cr_expect_eq(run("\"$TR\" --dir list --retry -1 -- true"), 125);
        cr_expect_eq(run("\"$TR\" --dir list --retry 1001 -- true"), 125);
        cr_expect_eq(run("\"$TR\" --dir list --retry 1 --retry-on 0 -- true"), 125);
        cr_expect_eq(run("\"$TR\" --dir list --retry 1 --retry-on 1,,2 -- true"), 125);
        cr_expect_eq(run("\"$TR\" --dir list --retry 1 --retry-on 256 -- true"), 125);
        cr_expect_eq(run("\"$TR\" --dir list --retry-delay 2 -- true"), 125);
        char *err = run_stderr();
        cr_expect_str_eq(err, "taskrun: --retry-delay: only with --retry\n");
        free(err);
        cr_expect_eq(run("\"$TR\" --dir list --retry-on 3 -- true"), 125);
        cr_expect_eq(run("\"$TR\" --dir list --retry-timeouts -- true"), 125);
        cr_expect_eq(access("list/1.json", F_OK), -1, "a task was made");
}

Test(run_retry, signals_reach_the_command_of_a_later_attempt_and_end_the_retrying)
{
        pid_t tr = run_start("\"$TR\" --dir list --retry 3 --retry-delay 0 -- sh -c '" COUNTED(
            "[ $n = 1 ] && exit 1; trap \"echo got > marker; exit 7\" TERM; touch "
            "ready; " SH_IDLE) "'");
        json_object *t;

        run_await_file("ready", 5000);
        cr_assert_eq(kill(tr, SIGTERM), 0);
        /* Exit 7 is a failure, but the user asked for the end: no third attempt. */
        cr_expect_eq(run_wait_ms(tr, 5000), 7);
        cr_expect_eq(access("marker", F_OK), 0, "SIGTERM did not reach the second attempt");
        t = run_task("list/1.json");
        cr_expect_eq(run_meta_int(t, "attempt"), 2);
        json_object_put(t);
}
