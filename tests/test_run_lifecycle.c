/*
 * A run always ends and says truthfully how: stopped commands, descendants
 * left behind, output that cannot be written, descriptors, unknown words.
 */
#include <dirent.h>

#include "test_run.h"

TestSuite(run_lifecycle, .init = run_setup, .fini = run_teardown, .timeout = 30);

/* The pid in a file a command wrote, or fail. */
static pid_t read_pid(const char *path)
{
        char *s;
        long pid;

        run_await_file(path, 5000);
        for (int i = 0; i < 200; i++) { /* the file may exist before its line is written */
                s = th_read_file(path, NULL);
                pid = s ? atol(s) : 0;
                free(s);
                if (pid > 0)
                        return (pid_t)pid;
                usleep(5000);
        }
        cr_assert_fail("no pid in %s", path);
        return -1;
}

/* Field 3 (state) and 4 (ppid) of /proc/PID/stat; 0 if the process is gone. */
static char proc_state(pid_t pid, pid_t *ppid)
{
        char path[64], *s, *p, state = 0;
        long pp = 0;

        snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
        if ((s = th_read_file(path, NULL)) == NULL)
                return 0;
        if ((p = strrchr(s, ')')) != NULL)
                sscanf(p + 1, " %c %ld", &state, &pp);
        free(s);
        if (ppid != NULL)
                *ppid = (pid_t)pp;
        return state;
}

/* End a process a test started and left running, by pid. */
static void end_pid(pid_t pid)
{
        if (pid > 0 && proc_state(pid, NULL) != 0)
                kill(pid, SIGKILL);
}

Test(run_lifecycle, a_stopped_command_is_ended_by_the_timeout)
{
        long long t0 = th_now_ms();

        cr_expect_eq(run("\"$TR\" --dir list --timeout 0.3 -- sh -c 'kill -STOP $$'"), 124);
        cr_expect_lt(th_now_ms() - t0, 5000);
        json_object *t = run_task("list/1.json");
        cr_expect_str_eq(run_meta_str(t, "state"), "timed_out");
        json_object_put(t);
}

Test(run_lifecycle, sigterm_to_taskrun_ends_a_stopped_command)
{
        pid_t tr = run_start("\"$TR\" --dir list -- sh -c 'echo $$ > cpid; kill -STOP $$; "
                             "echo continued'");
        pid_t cmd = read_pid("cpid");

        for (int i = 0; i < 400 && proc_state(cmd, NULL) != 'T'; i++)
                usleep(5000);
        cr_assert_eq(proc_state(cmd, NULL), 'T', "the command did not stop");
        cr_assert_eq(kill(tr, SIGTERM), 0);
        cr_expect_eq(run_wait_ms(tr, 5000), 128 + SIGTERM);
        json_object *t = run_task("list/1.json");
        cr_expect_str_eq(run_meta_str(t, "state"), "killed");
        cr_expect_eq(run_meta_int(t, "signal"), SIGTERM);
        json_object_put(t);
}

Test(run_lifecycle, a_stopped_command_is_recorded_stopped_then_running_again)
{
        pid_t tr = run_start(
            "\"$TR\" --dir list -- sh -c 'echo $$ > cpid; kill -STOP $$; " SH_WAIT_FOR_GO "'");
        pid_t cmd = read_pid("cpid");
        json_object *t = run_await_state("list/1.json", "stopped", 5000);

        cr_expect_eq(run_meta_int(t, "stop_signal"), SIGSTOP);
        json_object_put(t);
        cr_assert_eq(kill(cmd, SIGCONT), 0);
        t = run_await_state("list/1.json", "running", 5000);
        cr_expect_null(run_meta(t, "stop_signal"));
        json_object_put(t);
        th_write_file("go", "");
        cr_expect_eq(run_wait(tr), 0);
        t = run_task("list/1.json");
        cr_expect_str_eq(run_meta_str(t, "state"), "completed");
        cr_expect_null(run_meta(t, "stop_signal"));
        json_object_put(t);
}

/* The subshell exits at once, so its background sleep is orphaned while the command runs. */
Test(run_lifecycle, an_orphan_is_reparented_to_taskrun_and_reaped)
{
        pid_t tr = run_start(
            "\"$TR\" --dir list -- sh -c '(sleep 0.3 & echo $! > gpid); " SH_WAIT_FOR_GO "'");
        pid_t orphan = read_pid("gpid"), ppid = 0;

        for (int i = 0; i < 200 && proc_state(orphan, &ppid) != 0 && ppid != tr; i++)
                usleep(5000);
        if (proc_state(orphan, &ppid) != 0)
                cr_expect_eq(ppid, tr, "the orphan's parent is %d, not taskrun (%d)", ppid, tr);
        for (int i = 0; i < 400 && proc_state(orphan, NULL) != 0; i++)
                usleep(5000);
        cr_expect_eq(proc_state(orphan, NULL), 0, "the orphan was left as state %c",
                     proc_state(orphan, NULL));
        th_write_file("go", "");
        cr_expect_eq(run_wait(tr), 0);
}

Test(run_lifecycle, by_default_the_run_ends_with_the_command_and_descendants_go_on)
{
        long long t0 = th_now_ms();

        cr_expect_eq(run("\"$TR\" --dir list -- sh -c 'sleep 20 & echo $! > gpid'"), 0);
        pid_t left = read_pid("gpid");
        cr_expect_lt(th_now_ms() - t0, 5000);
        cr_expect_neq(proc_state(left, NULL), 0, "the descendant was ended");
        end_pid(left);
}

Test(run_lifecycle, orphans_wait_ends_the_run_when_the_last_descendant_exits)
{
        char *out;
        long long t0 = th_now_ms();

        cr_expect_eq(run("\"$TR\" --dir list --orphans wait -- sh -c "
                         "'(sleep 0.4; echo late) & echo early'"),
                     0);
        cr_expect_geq(th_now_ms() - t0, 400, "the run did not wait for the descendant");
        out = run_stdout(NULL);
        cr_expect_str_eq(out, "early\nlate\n");
        free(out);
        json_object *t = run_task("list/1.json");
        cr_expect_str_eq(run_meta_str(t, "output_tail"), "early\nlate\n");
        json_object_put(t);
}

Test(run_lifecycle, orphans_kill_terms_then_kills_descendants_when_the_command_exits)
{
        long long t0 = th_now_ms();

        cr_expect_eq(run("\"$TR\" --dir list --orphans kill -k 0.3 -- sh -c "
                         "'(trap \"\" TERM; sleep 20) & echo $! > gpid; "
                         "(trap \"echo term > got\" TERM; sleep 20) & echo $! > gpid2; sleep 0.2'"),
                     0);
        pid_t ignorer = read_pid("gpid"), polite = read_pid("gpid2");
        cr_expect_lt(th_now_ms() - t0, 5000, "the run did not end");
        cr_expect_eq(proc_state(ignorer, NULL), 0, "the TERM-ignoring descendant is alive");
        cr_expect_eq(proc_state(polite, NULL), 0, "the descendant is alive");
        end_pid(ignorer);
        end_pid(polite);
}

Test(run_lifecycle, output_that_cannot_be_written_is_said_once_recorded_and_never_success)
{
        char *err, *first;

        cr_expect_eq(run("\"$TR\" --dir list -- sh -c 'echo hi; echo more' >/dev/full"), 125);
        err = run_stderr();
        first = strstr(err, "taskrun: stdout: No space left on device\n");
        cr_expect_not_null(first, "stderr: %s", err);
        if (first != NULL)
                cr_expect_null(strstr(first + 20, "No space left"), "said twice: %s", err);
        free(err);
        json_object *t = run_task("list/1.json");
        cr_expect_str_eq(run_meta_str(t, "output_error"), "stdout: No space left on device");
        cr_expect_str_eq(run_meta_str(t, "output_tail"), "hi\nmore\n");
        json_object_put(t);
}

Test(run_lifecycle, lost_output_keeps_draining_and_a_failure_keeps_its_own_status)
{
        json_object *t;

        cr_expect_eq(run("\"$TR\" --dir list --task 1 --create -- "
                         "sh -c 'head -c 3000000 /dev/zero; exit 0' >/dev/full"),
                     125);
        t = run_task("list/1.json");
        cr_expect_eq(run_meta_int(t, "output_bytes"), 3000000, "the command was not drained");
        json_object_put(t);
        cr_expect_eq(run("\"$TR\" --dir list --task 1 -- sh -c 'echo x; exit 3' 2>/dev/full"
                         " >&2"),
                     3);
}

Test(run_lifecycle, a_reader_that_goes_away_still_ends_the_command_with_sigpipe)
{
        long long t0 = th_now_ms();

        cr_expect_eq(run("\"$TR\" --dir list -- yes | head -1 > /dev/null"), 0);
        cr_expect_lt(th_now_ms() - t0, 5000);
        json_object *t = run_task("list/1.json");
        cr_expect_eq(run_meta_int(t, "signal"), SIGPIPE);
        json_object_put(t);
}

/*
 * The descriptors >= 3 of a shell started by cmdline (which ends in
 * `sh -c ...` writing its pid to ./cpid, then waiting for ./go), as read
 * from outside, so that looking does not open one.
 */
static void extra_fds_of(const char *cmdline, char *out, size_t n)
{
        char path[64];
        unlink("cpid");
        unlink("go");
        pid_t p = run_start("%s", cmdline);
        pid_t sh = read_pid("cpid");
        DIR *d;
        struct dirent *de;

        snprintf(path, sizeof path, "/proc/%d/fd", (int)sh);
        usleep(20000); /* past the redirection that wrote cpid */
        cr_assert_not_null(d = opendir(path), "%s", path);
        out[0] = '\0';
        while ((de = readdir(d)) != NULL)
                if (atoi(de->d_name) >= 3)
                        snprintf(out + strlen(out), n - strlen(out), " %s", de->d_name);
        closedir(d);
        th_write_file("go", "");
        cr_expect_eq(run_wait(p), 0);
}

Test(run_lifecycle, the_command_gets_no_descriptor_it_would_not_have_had_without_taskrun)
{
        static const char *const closes[] = {"<&- >&- 2>&-", ">&- 2>&-", "2>&-", "<&-", ""};
        char direct[256], via[256], cmd[512];

        for (size_t i = 0; i < sizeof closes / sizeof closes[0]; i++) {
                snprintf(cmd, sizeof cmd, "sh -c 'echo $$ > cpid; %s' %s", SH_WAIT_FOR_GO,
                         closes[i]);
                extra_fds_of(cmd, direct, sizeof direct);
                snprintf(cmd, sizeof cmd, "\"$TR\" --dir list -- sh -c 'echo $$ > cpid; %s' %s",
                         SH_WAIT_FOR_GO, closes[i]);
                extra_fds_of(cmd, via, sizeof via);
                cr_expect_str_eq(via, direct, "with %s: taskrun's command has fds%s", closes[i],
                                 via);
        }
}

Test(run_lifecycle, stdout_and_stderr_to_one_file_keep_their_exact_order)
{
        char *out;

        cr_assert_eq(
            run("\"$TR\" --dir list -- sh -c 'echo one; echo two >&2; echo three' >both 2>&1"), 0);
        out = th_read_file("both", NULL);
        cr_expect_str_eq(out, "taskrun: task 1\none\ntwo\nthree\n");
        free(out);
        json_object *t = run_task("list/1.json");
        cr_expect_str_eq(run_meta_str(t, "output_tail"), "one\ntwo\nthree\n");
        json_object_put(t);
}

Test(run_lifecycle, stdout_and_stderr_to_different_files_stay_apart)
{
        char *out, *err;

        cr_assert_eq(run("\"$TR\" --dir list --task 1 --create -- "
                         "sh -c 'echo one; echo two >&2; echo three'"),
                     0);
        out = run_stdout(NULL);
        err = run_stderr();
        cr_expect_str_eq(out, "one\nthree\n");
        cr_expect_str_eq(err, "two\n");
        free(out);
        free(err);
}

Test(run_lifecycle, preserve_status_exits_with_the_commands_status_after_a_timeout)
{
        cr_expect_eq(run("\"$TR\" --dir list --preserve-status --timeout 0.2 -- sleep 10"),
                     128 + SIGTERM);
        json_object *t = run_task("list/1.json");
        cr_expect(json_object_get_boolean(run_meta(t, "timed_out")));
        json_object_put(t);
        cr_expect_eq(run("\"$TR\" --dir list --preserve-status --timeout 5 -- sh -c 'exit 7'"), 7);
}

/*
 * The command's signal mask and dispositions are those it would have had
 * without taskrun: what was ignored stays ignored (nohup), what taskrun
 * itself ignores (SIGPIPE, SIGTTOU) or catches is back at its default, and
 * a blocked signal stays blocked.
 */
Test(run_lifecycle, the_command_gets_the_signal_mask_and_dispositions_it_would_have_had)
{
        static const char *const setups[] = {"", "trap '' HUP INT", "trap '' PIPE TTOU USR1"};
        sigset_t block, old;
        char *direct, *via, script[128];

        sigemptyset(&block);
        sigaddset(&block, SIGUSR2);
        sigprocmask(SIG_BLOCK, &block, &old);
        for (size_t i = 0; i < sizeof setups / sizeof setups[0]; i++) {
                snprintf(script, sizeof script, "%s\nexec \"$@\"\n", setups[i]);
                th_write_file("with.sh", script);
                cr_assert_eq(
                    run("sh with.sh grep -E '^Sig(Blk|Ign|Cgt)' /proc/self/status >direct"), 0);
                cr_assert_eq(run("sh with.sh \"$TR\" --dir list -- grep -E '^Sig(Blk|Ign|Cgt)' "
                                 "/proc/self/status >via 2>/dev/null"),
                             0);
                direct = th_read_file("direct", NULL);
                via = th_read_file("via", NULL);
                cr_assert(direct != NULL && strstr(direct, "SigBlk") != NULL);
                cr_expect_str_eq(via, direct, "with \"%s\": %s against %s", setups[i], via, direct);
                free(direct);
                free(via);
        }
        sigprocmask(SIG_SETMASK, &old, NULL);
}
