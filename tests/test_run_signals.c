/* Signals reach the command; the timeout escalates; the command's exit is the end. */
#include "test_run.h"

TestSuite(run_signals, .init = run_setup, .fini = run_teardown, .timeout = 30);

/*
 * A command that traps sig, says it is ready, and on the signal writes a
 * marker and exits with code. Waiting in short sleeps lets the trap run soon.
 */
static pid_t start_trapper(const char *opts, const char *sig, int code)
{
        char script[512];

        snprintf(script, sizeof script,
                 "trap 'echo %s > marker; exit %d' %s\n"
                 "touch ready\n" SH_IDLE "\n",
                 sig, code, sig);
        th_write_file("trapper.sh", script);
        return run_start("\"$TR\" --dir list %s -- sh trapper.sh", opts);
}

static void assert_forwarded(int signo, const char *sig)
{
        pid_t tr = start_trapper("", sig, 40 + signo);
        char *marker;

        run_await_file("ready", 5000);
        cr_assert_eq(kill(tr, signo), 0);
        cr_expect_eq(run_wait_ms(tr, 5000), 40 + signo, "SIG%s: the command's exit code", sig);
        marker = th_read_file("marker", NULL);
        cr_expect_not_null(marker, "SIG%s did not reach the command", sig);
        free(marker);
        unlink("ready");
        unlink("marker");
}

Test(run_signals, sigterm_is_forwarded_to_the_command)
{
        assert_forwarded(SIGTERM, "TERM");
}

Test(run_signals, sigusr1_is_forwarded_to_the_command)
{
        assert_forwarded(SIGUSR1, "USR1");
}

Test(run_signals, int_hup_quit_usr2_winch_are_forwarded_to_the_command)
{
        assert_forwarded(SIGINT, "INT");
        assert_forwarded(SIGHUP, "HUP");
        assert_forwarded(SIGQUIT, "QUIT");
        assert_forwarded(SIGUSR2, "USR2");
        assert_forwarded(SIGWINCH, "WINCH");
}

/* outer.sh runs inner.sh as a grandchild of taskrun; only inner.sh traps TERM. */
static pid_t start_grandchild_trapper(const char *opts)
{
        th_write_file("inner.sh", "echo $$ > ipid\n"
                                  "trap 'touch marker; exit 0' TERM\n"
                                  "touch ready\n" SH_IDLE "\n");
        th_write_file("outer.sh", "echo $$ > opid\n"
                                  "trap 'exit 5' TERM\n"
                                  "sh inner.sh\n");
        return run_start("\"$TR\" --dir list %s -- sh outer.sh", opts);
}

Test(run_signals, group_delivers_signals_to_a_grandchild)
{
        pid_t tr = start_grandchild_trapper("--group");

        run_await_file("ready", 5000);
        cr_assert_eq(kill(tr, SIGTERM), 0);
        run_wait_ms(tr, 5000);
        cr_expect_eq(access("marker", F_OK), 0, "the grandchild did not get SIGTERM");
}

Test(run_signals, without_group_only_the_command_gets_the_signal)
{
        pid_t tr = start_grandchild_trapper("");

        run_await_file("ready", 5000);
        cr_assert_eq(kill(tr, SIGTERM), 0);
        /* outer.sh waits for inner.sh before its trap runs; stop inner.sh ourselves. */
        usleep(200000);
        cr_expect_neq(access("marker", F_OK), 0, "the grandchild got SIGTERM without --group");
        run_kill_pidfile("ipid");
        run_kill_pidfile("opid");
        run_wait_ms(tr, 5000);
}

Test(run_signals, timeout_escalates_to_sigkill_after_kill_after_and_exits_137)
{
        long long t0 = th_now_ms(), took;
        json_object *t;
        int status;

        status = run(
            "\"$TR\" --dir list --timeout 0.2 --kill-after 0.3 -- sh -c 'trap \"\" TERM; " SH_IDLE
            "'");
        took = th_now_ms() - t0;
        cr_expect_eq(status, 137, "timeout(1) exits 137 when SIGKILL had to end the command");
        cr_expect_geq(took, 450, "SIGKILL came before --kill-after: %lld ms", took);
        cr_expect_lt(took, 5000, "the command was not killed: %lld ms", took);
        t = run_task("list/1.json");
        cr_expect_str_eq(run_meta_str(t, "state"), "timed_out");
        cr_expect(json_object_get_boolean(run_meta(t, "timed_out")));
        cr_expect_eq(run_meta_int(t, "signal"), SIGKILL);
        json_object_put(t);
}

Test(run_signals, timeout_sends_the_chosen_signal)
{
        cr_assert_eq(
            run("\"$TR\" --dir list --timeout 0.2 --signal USR1 -- sh -c 'trap \"echo usr1 "
                "> marker; exit 0\" USR1; " SH_IDLE "'"),
            124);
        cr_expect_eq(access("marker", F_OK), 0, "the command did not get SIGUSR1");
}

Test(run_signals, grandchild_holding_the_pipes_does_not_keep_taskrun_alive)
{
        long long t0 = th_now_ms(), took;
        char *out;
        json_object *t;
        int status;

        status = run("\"$TR\" --dir list -- sh -c 'sleep 30 & echo $! > gpid; echo hi'");
        took = th_now_ms() - t0;
        run_kill_pidfile("gpid");
        cr_expect_eq(status, 0);
        cr_expect_lt(took, 2000, "taskrun waited for the grandchild: %lld ms", took);
        out = run_stdout(NULL);
        cr_expect_str_eq(out, "hi\n");
        t = run_task("list/1.json");
        cr_expect_str_eq(run_meta_str(t, "state"), "completed");
        json_object_put(t);
        free(out);
}

/*
 * A signal that comes while taskrun is starting the command either ends
 * taskrun before the command exists or reaches the command: never does it
 * kill taskrun and leave the command running unwatched.
 */
#define STARTUP_TRIES 60

Test(run_signals, signal_during_startup_never_leaves_the_command_unwatched)
{
        int orphans = 0;

        for (int i = 0; i < STARTUP_TRIES; i++) {
                char pidfile[32], *text;
                pid_t tr = run_start(
                    "\"$TR\" --dir list%d -- sh -c 'echo $$ > cpid%d; exec sleep 5'", i, i);

                /* The task file is made just before the fork: aim around it. */
                snprintf(pidfile, sizeof pidfile, "list%d/1.json", i);
                for (long long end = th_now_ms() + 2000;
                     access(pidfile, F_OK) != 0 && th_now_ms() < end;)
                        ;
                usleep((useconds_t)(i % 10) * 100);
                kill(tr, SIGTERM);
                run_wait_ms(tr, 5000);
                snprintf(pidfile, sizeof pidfile, "cpid%d", i);
                text = th_read_file(pidfile, NULL);
                if (text != NULL && atoi(text) > 0 && kill(atoi(text), 0) == 0) {
                        orphans++;
                        kill(atoi(text), SIGKILL);
                }
                free(text);
        }
        cr_expect_eq(orphans, 0, "%d of %d commands outlived a killed taskrun", orphans,
                     STARTUP_TRIES);
}

/*
 * Once the command has ended, a signal taskrun would forward has no one to
 * go to; it must not kill taskrun while it records the end.
 */
Test(run_signals, signal_after_the_command_ended_keeps_its_result)
{
        pid_t tr;
        json_object *t;

        /* The command takes the task's lock as it leaves, so the end write has to wait. */
        tr =
            run_start("\"$TR\" --file job.json -- sh -c 'until mkdir job.json.lock 2>/dev/null; do "
                      "sleep 0.01; done; touch ended; exit 7'");
        run_await_file("ended", 5000);
        usleep(200000);
        cr_assert_eq(kill(tr, SIGUSR1), 0);
        usleep(100000);
        cr_assert_eq(rmdir("job.json.lock"), 0);
        cr_expect_eq(run_wait(tr), 7, "taskrun did not exit with the command's status");
        t = run_task("job.json");
        cr_expect_str_eq(th_get_string(t, "state"), "failed", "the end was not recorded");
        cr_expect_eq(json_object_get_int(th_get(t, "exit_code")), 7);
        json_object_put(t);
}

/* As Ctrl-C on a terminal would: the pty's whole foreground group, not just the shell. */
Test(run_signals, pty_sigint_reaches_the_foreground_group_on_the_pty)
{
        pid_t tr = run_start("\"$TR\" --dir list --pty -- sh -c 'touch ready; sleep 20'");
        long long t0;
        int status;

        run_await_file("ready", 5000);
        usleep(100000); /* let sh start the sleep */
        t0 = th_now_ms();
        cr_assert_eq(kill(tr, SIGINT), 0);
        status = run_wait_ms(tr, 5000);
        cr_expect_eq(status, 128 + SIGINT, "exit status %d", status);
        cr_expect_lt(th_now_ms() - t0, 3000, "the sleep on the pty did not get SIGINT");
}

/* Another process holding the task's lock must not hold up the timeout. */
Test(run_signals, held_lock_does_not_delay_the_timeout)
{
        struct timespec now;
        struct stat st;
        long long t0;
        json_object *t;

        cr_assert_eq(mkdir("list", 0755), 0);
        th_write_file("list/1.json", "{\"id\": \"1\", \"subject\": \"s\", \"description\": \"\", "
                                     "\"status\": \"pending\", \"blocks\": [], \"blockedBy\": []}");
        cr_assert_eq(mkdir("list/1.json.lock", 0755), 0);
        clock_gettime(CLOCK_REALTIME, &now); /* as file times are */
        t0 = (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000;
        cr_assert_eq(run("sh -c '(sleep 2; rmdir list/1.json.lock) & exec \"$0\" \"$@\"' "
                         "\"$TR\" --dir list --task 1 --timeout 0.5 -- "
                         "sh -c 'trap \"touch killed; exit 1\" TERM; " SH_IDLE "'"),
                     124);
        cr_assert_eq(stat("killed", &st), 0, "the command never got the timeout signal");
        cr_expect_lt((long long)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000 - t0, 1600,
                     "the timeout waited for the lock");
        t = run_task("list/1.json");
        cr_expect_str_eq(run_meta_str(t, "state"), "timed_out");
        json_object_put(t);
}
