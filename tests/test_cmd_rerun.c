/* taskrun rerun: the recorded command again, in its recorded directory, with its options. */
#include "taskrun/procinfo.h"

#include "test_run.h"

TestSuite(cmd_rerun, .init = run_setup, .fini = run_teardown, .timeout = 60);

static int lines_in(const char *path)
{
        char *s = th_read_file(path, NULL);
        int n = s ? run_count_str(s, "\n") : 0;

        free(s);
        return n;
}

Test(cmd_rerun, rerun_uses_the_recorded_cwd_and_the_same_task)
{
        char want[sizeof run_scratch + 16];
        char *where;
        json_object *t;

        cr_assert_eq(mkdir("work", 0755), 0);
        cr_assert_eq(run("env -C work \"$TR\" --dir ../list -- sh -c 'pwd >> where'"), 0);
        /* From elsewhere, with the list named relative to here. */
        cr_assert_eq(run("\"$TR\" rerun --dir list 1"), 0);
        cr_expect_eq(access("where", F_OK), -1, "it ran in the rerun's directory");
        snprintf(want, sizeof want, "%s/work\n", run_scratch);
        where = th_read_file("work/where", NULL);
        cr_assert_not_null(where);
        cr_expect_eq(run_count_str(where, want), 2, "%s", where);
        free(where);
        cr_expect_eq(access("list/2.json", F_OK), -1, "a new task was made");
        t = run_task("list/1.json");
        cr_expect_str_eq(run_meta_str(t, "state"), "completed");
        want[strlen(want) - 1] = '\0';
        cr_expect_str_eq(run_meta_str(t, "cwd"), want);
        json_object_put(t);
}

Test(cmd_rerun, rerun_reuses_the_options_the_run_was_started_with)
{
        json_object *t;

        cr_assert_eq(run("\"$TR\" --dir list --timeout 0.3 --tail 8 -- sh -c 'echo line1; echo "
                         "line2; [ -e hang ] && exec sleep 10; exit 0'"),
                     0);
        th_write_file("hang", "");
        long long t0 = th_now_ms();
        cr_assert_eq(run("\"$TR\" rerun --dir list 1"), 124);
        cr_expect_lt(th_now_ms() - t0, 5000);
        t = run_task("list/1.json");
        cr_expect_str_eq(run_meta_str(t, "state"), "timed_out");
        cr_expect_str_eq(run_meta_str(t, "output_tail"), "line2\n");
        cr_expect_eq(json_object_get_int64(th_get(t, "metadata.taskrun.options.timeout_ms")), 300);
        json_object_put(t);
}

Test(cmd_rerun, options_given_to_rerun_replace_the_recorded_ones)
{
        json_object *t;

        cr_assert_eq(run("\"$TR\" --dir list --retry 2 --retry-delay 0 --tail 8 -- sh -c 'echo "
                         "line1; echo line2; echo x >> ran; exit 3'"),
                     3);
        cr_expect_eq(lines_in("ran"), 3);
        cr_expect_eq(run("\"$TR\" rerun --dir list --retry 0 --tail 1K --events ev 1"), 3);
        cr_expect_eq(lines_in("ran"), 4, "the recorded --retry still applied");
        cr_expect_eq(lines_in("ev"), 2, "--events ev is taken from the rerun's directory");
        t = run_task("list/1.json");
        cr_expect_str_eq(run_meta_str(t, "output_tail"), "line1\nline2\n");
        cr_expect_null(run_meta(t, "attempt"));
        cr_expect_null(th_get(t, "metadata.taskrun.options.retry"));
        cr_expect_null(th_get(t, "metadata.taskrun.options.retry_delay_ms"));
        json_object_put(t);
}

Test(cmd_rerun, rerun_of_a_live_run_is_refused_with_122_and_leaves_it_alone)
{
        json_object *t;
        char *err;

        cr_assert_eq(run("\"$TR\" --dir list --detach -- sleep 20"), 0);
        t = run_task("list/1.json");
        pid_t pid = (pid_t)run_meta_int(t, "pid");
        json_object_put(t);
        cr_expect_eq(run("\"$TR\" rerun --dir list 1"), 122);
        err = run_stderr();
        cr_expect_neq(strstr(err, "taskrun: rerun: task 1: its run is still going (running, "),
                      NULL, "%s", err);
        free(err);
        t = run_task("list/1.json");
        cr_expect_eq(run_meta_int(t, "pid"), pid, "the record was replaced");
        cr_expect_str_eq(run_meta_str(t, "state"), "running");
        json_object_put(t);
        cr_expect_eq(kill(pid, 0), 0, "the run was disturbed");
        cr_assert_eq(run("\"$TR\" kill --dir list 1"), 0);
        cr_expect_eq(run("\"$TR\" wait --dir list --timeout 5 1"), 1);
        /* Over now: it may be rerun. */
        cr_expect_eq(run("\"$TR\" rerun --dir list --timeout 0.1 1"), 124);
}

Test(cmd_rerun, rerun_detach_prints_the_id_and_the_log_shows_this_run)
{
        char *out;

        cr_assert_eq(run("\"$TR\" --dir list --detach -- sh -c 'echo run; exit 5'"), 0);
        cr_assert_eq(run("\"$TR\" wait --dir list --timeout 5 1"), 1);
        cr_assert_eq(run("\"$TR\" rerun --dir list --detach 1"), 0);
        out = run_stdout(NULL);
        cr_expect_str_eq(out, "1\n");
        free(out);
        cr_expect_eq(run("\"$TR\" logs -f --dir list 1"), 5);
        out = run_stdout(NULL);
        cr_expect_eq(run_count_str(out, "[started at "), 1, "%s", out);
        cr_expect_eq(run_count_str(out, "run\n"), 1, "%s", out);
        free(out);
        out = th_read_file("list/1.log", NULL);
        cr_expect_eq(run_count_str(out, "[exited with status 5 after "), 2, "%s", out);
        free(out);
}

Test(cmd_rerun, a_plain_file_task_is_rerun_by_its_path)
{
        cr_assert_eq(mkdir("work", 0755), 0);
        cr_assert_eq(run("env -C work \"$TR\" --file st.json -- sh -c 'echo x >> ran'"), 0);
        cr_assert_eq(run("\"$TR\" rerun --file work/st.json"), 0);
        cr_expect_eq(lines_in("work/ran"), 2);
        json_object *t = run_task("work/st.json");
        cr_expect_str_eq(th_get_string(t, "state"), "completed");
        json_object_put(t);
}

Test(cmd_rerun, a_lost_run_may_be_rerun)
{
        char host[256], boot[64], text[6144];
        unsigned long long ticks;
        pid_t dead = fork();

        cr_assert_neq(dead, -1);
        if (dead == 0)
                _exit(0);
        cr_assert_eq(tr_proc_start_ticks(getpid(), &ticks), 0);
        waitpid(dead, NULL, 0);
        cr_assert_eq(tr_hostname(host, sizeof host), 0);
        cr_assert_eq(tr_boot_id(boot, sizeof boot), 0);
        cr_assert_eq(mkdir("list", 0755), 0);
        snprintf(text, sizeof text,
                 "{\"id\": \"1\", \"subject\": \"s\", \"description\": \"\", \"status\": "
                 "\"in_progress\", \"blocks\": [], \"blockedBy\": [], \"metadata\": {\"taskrun\": "
                 "{\"state\": \"running\", \"argv\": [\"sh\", \"-c\", \"echo again > again\"], "
                 "\"cwd\": \"%s\", \"pid\": %d, \"host\": \"%s\", \"boot_id\": \"%s\", "
                 "\"start_time_ticks\": %llu}}}",
                 run_scratch, (int)dead, host, boot, ticks);
        th_write_file("list/1.json", text);
        cr_assert_eq(run("\"$TR\" rerun --dir list 1"), 0);
        cr_expect_eq(access("again", F_OK), 0);
}

Test(cmd_rerun, a_task_without_a_run_or_missing_or_a_first_run_option_is_125)
{
        char *err;

        cr_assert_eq(run("\"$TR\" create --dir list --subject plain"), 0);
        cr_expect_eq(run("\"$TR\" rerun --dir list 1"), 125);
        err = run_stderr();
        cr_expect_str_eq(err,
                         "taskrun: rerun: task 1: no run recorded (no metadata.taskrun.argv)\n");
        free(err);
        cr_expect_eq(run("\"$TR\" rerun --dir list 9"), 125);
        cr_expect_eq(run("\"$TR\" rerun --dir list"), 125);
        cr_expect_eq(run("\"$TR\" rerun --dir list --subject x 1"), 125);
        err = run_stderr();
        cr_expect_str_eq(
            err, "taskrun: rerun: --subject: not a rerun option (the task is the ID given)\n");
        free(err);
        cr_expect_eq(run("\"$TR\" rerun --dir list --timeout soon 1"), 125);
}

Test(cmd_rerun, a_working_directory_that_is_gone_is_125)
{
        cr_assert_eq(mkdir("work", 0755), 0);
        cr_assert_eq(run("env -C work \"$TR\" --dir ../list -- true"), 0);
        cr_assert_eq(rmdir("work"), 0);
        cr_expect_eq(run("\"$TR\" rerun --dir list 1"), 125);
        char *err = run_stderr();
        cr_expect_neq(strstr(err, "/work: No such file or directory"), NULL, "%s", err);
        free(err);
}

Test(cmd_rerun, a_skipped_run_is_rerun_with_the_options_it_was_given)
{
        json_object *t;

        /* Task 1 fails; task 2 waits for it with a timeout, and is skipped. */
        cr_assert_eq(run("\"$TR\" --dir list -- false"), 1);
        cr_assert_eq(run("\"$TR\" --dir list --after 1 --timeout 0.2 -- sh -c 'exec sleep 10'"),
                     121);
        t = run_task("list/2.json");
        cr_expect_str_eq(run_meta_str(t, "state"), "skipped");
        json_object_put(t);
        /* --after is not the task's: the rerun starts at once, with the recorded timeout. */
        cr_expect_eq(run("\"$TR\" rerun --dir list 2"), 124);
        t = run_task("list/2.json");
        cr_expect_str_eq(run_meta_str(t, "state"), "timed_out");
        json_object_put(t);
}
