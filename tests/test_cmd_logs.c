/* taskrun logs: a run's output, from its log or its recorded tail; -f follows it to the end. */
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

TestSuite(cmd_logs, .init = setup, .fini = teardown, .timeout = 60);

/* The last line of text (without its newline), in buf. */
static void last_line(const char *text, char *buf, size_t n)
{
        size_t len = strlen(text);

        if (len > 0 && text[len - 1] == '\n')
                len--;
        size_t start = len;
        while (start > 0 && text[start - 1] != '\n')
                start--;
        snprintf(buf, n, "%.*s", (int)(len - start), text + start);
}

Test(cmd_logs, logs_f_prints_output_as_it_comes_and_exits_with_the_run_status)
{
        char id[32], go[600], out_path[600], *out = NULL;

        snprintf(go, sizeof go, "%s/go", dir);
        snprintf(out_path, sizeof out_path, "%s/followed", dir);
        char cmd[1024];
        snprintf(cmd, sizeof cmd,
                 "echo first; i=0; while [ ! -e %s ] && [ $i -lt 1000 ]; do sleep 0.01; "
                 "i=$((i+1)); done; echo second; exit 3",
                 go);
        tc_detach(dir, "", cmd, id, sizeof id);
        const char *args[] = {"logs", "-f", "--dir", dir, id, NULL};
        pid_t pid = tc_spawn(out_path, args);
        /* "first" shows while the run still waits for go. */
        for (int i = 0; i < 1000; i++) {
                free(out);
                out = th_read_file(out_path, NULL);
                if (out != NULL && strstr(out, "first\n") != NULL)
                        break;
                th_sleep_ms(10);
        }
        cr_assert(out != NULL && strstr(out, "first\n") != NULL, "not followed: %s", out);
        cr_expect_null(strstr(out, "\nsecond"), "the run went on before go: %s", out);
        free(out);
        int status;
        cr_expect_eq(tc_exited(pid, &status), 0, "logs -f returned before the run ended");
        th_write_file(go, "");
        cr_expect_eq(tc_reap(pid, NULL), 3);
        out = th_read_file(out_path, NULL);
        cr_assert_not_null(out);
        cr_expect_neq(strstr(out, "first\nsecond\n[exited with status 3 after "), NULL, "%s", out);
        free(out);
}

Test(cmd_logs, a_detached_log_has_a_header_and_an_nq_style_footer)
{
        char id[32], *out, line[512];

        tc_detach(dir, "", "echo hello; exit 2", id, sizeof id);
        cr_assert_eq(tc_run(NULL, "wait -q --timeout 10 --dir '%s' %s", dir, id), 1);
        cr_assert_eq(tc_run(&out, "logs --dir '%s' %s", dir, id), 0);
        cr_expect_eq(strncmp(out, "[started at ", 12), 0, "%s", out);
        cr_expect_neq(strstr(out, "sh -c 'echo hello; exit 2']\nhello\n"), NULL, "%s", out);
        last_line(out, line, sizeof line);
        cr_expect_eq(strncmp(line, "[exited with status 2 after ", 28), 0, "%s", line);
        free(out);
        cr_assert_eq(tc_run(&out, "logs -n 2 --dir '%s' %s", dir, id), 0);
        cr_expect_eq(strncmp(out, "hello\n[exited with status 2 after ", 34), 0, "%s", out);
        free(out);
}

Test(cmd_logs, the_footer_says_which_signal_ended_a_killed_run)
{
        char id[32], *out, line[512];

        tc_detach(dir, "", "exec sleep 20", id, sizeof id);
        cr_assert_eq(tc_run(NULL, "kill --dir '%s' %s", dir, id), 0);
        cr_expect_eq(tc_run(&out, "logs -f --dir '%s' %s", dir, id), 128 + SIGTERM);
        last_line(out, line, sizeof line);
        cr_expect_eq(strncmp(line, "[killed by signal 15 (SIGTERM) after ", 37), 0, "%s", line);
        cr_expect_neq(strstr(line, "ended by taskrun kill from pid "), NULL, "%s", line);
        free(out);
}

Test(cmd_logs, show_names_the_log_of_a_detached_run)
{
        char id[32], *out, want[700];

        tc_detach(dir, "", "true", id, sizeof id);
        cr_assert_eq(tc_run(NULL, "wait -q --timeout 10 --dir '%s' %s", dir, id), 0);
        cr_assert_eq(tc_run(&out, "show --dir '%s' %s", dir, id), 0);
        snprintf(want, sizeof want, "log:         %s/%s.log\n", dir, id);
        cr_expect_neq(strstr(out, want), NULL, "%s", out);
        free(out);
}

Test(cmd_logs, a_foreground_run_shows_its_recorded_tail)
{
        char *out;

        cr_assert_eq(tc_run(NULL,
                            "--dir '%s' --task 1 --create -- sh -c 'echo a; echo b; exit 4' "
                            ">/dev/null 2>&1",
                            dir),
                     4);
        cr_assert_eq(tc_run(&out, "logs --dir '%s' 1", dir), 0);
        cr_expect_str_eq(out, "a\nb\n");
        free(out);
        cr_assert_eq(tc_run(&out, "logs -n 1 --dir '%s' 1", dir), 0);
        cr_expect_str_eq(out, "b\n");
        free(out);
        cr_expect_eq(tc_run(&out, "logs -f --dir '%s' 1", dir), 4);
        cr_expect_str_eq(out, "a\nb\n");
        free(out);
}

Test(cmd_logs, a_missing_task_is_not_found)
{
        cr_expect_eq(tc_run(NULL, "logs --dir '%s' 9 2>/dev/null", dir), 1);
        cr_expect_eq(tc_run(NULL, "logs -n 0 --dir '%s' 9 2>/dev/null", dir), 2);
}

Test(cmd_logs, a_run_still_waiting_has_no_output_yet_and_f_follows_it_from_its_start)
{
        char id[32], out_path[600], *out = NULL;

        cr_assert_eq(tc_run(&out, "create --dir '%s' --subject blocker", dir), 0);
        free(out);
        cr_assert_eq(
            tc_run(&out, "--detach --after 1 --dir '%s' -- sh -c 'echo started; exit 6'", dir), 0);
        snprintf(id, sizeof id, "%.*s", (int)strspn(out, "0123456789"), out);
        free(out);
        cr_assert_eq(tc_run(&out, "logs --dir '%s' %s 2>&1", dir, id), 0);
        cr_expect_str_eq(out, "taskrun: logs: task 2: no output yet: its run has not started "
                              "(waiting)\n");
        free(out);
        snprintf(out_path, sizeof out_path, "%s/followed", dir);
        const char *args[] = {"logs", "-f", "--dir", dir, id, NULL};
        pid_t pid = tc_spawn(out_path, args);
        th_sleep_ms(200);
        int status;
        cr_expect_eq(tc_exited(pid, &status), 0, "logs -f returned before the run started");
        cr_assert_eq(tc_run(NULL, "update --dir '%s' --status completed 1", dir), 0);
        cr_expect_eq(tc_reap(pid, NULL), 6);
        out = th_read_file(out_path, NULL);
        cr_assert_not_null(out);
        cr_expect_eq(strncmp(out, "[started at ", 12), 0, "%s", out);
        cr_expect_neq(strstr(out, "]\nstarted\n[exited with status 6 after "), NULL, "%s", out);
        free(out);
}

Test(cmd_logs, the_footer_starts_a_line_of_its_own)
{
        char id[32], *out, line[512];

        tc_detach(dir, "", "printf partial; exit 1", id, sizeof id);
        cr_assert_eq(tc_run(NULL, "wait -q --timeout 10 --dir '%s' %s", dir, id), 1);
        cr_assert_eq(tc_run(&out, "logs --dir '%s' %s", dir, id), 0);
        cr_expect_neq(strstr(out, "\npartial\n[exited with status 1 after "), NULL, "%s", out);
        last_line(out, line, sizeof line);
        cr_expect_eq(strncmp(line, "[exited", 7), 0, "%s", line);
        free(out);
        cr_assert_eq(tc_run(&out, "logs -n 2 --dir '%s' %s", dir, id), 0);
        cr_expect_eq(strncmp(out, "partial\n[exited with status 1 after ", 36), 0, "%s", out);
        free(out);
}

Test(cmd_logs, logs_n_counts_only_this_runs_part_of_a_shared_log)
{
        char id[32], *out;

        tc_detach(dir, "", "echo first run", id, sizeof id);
        cr_assert_eq(tc_run(NULL, "wait -q --timeout 10 --dir '%s' %s", dir, id), 0);
        cr_assert_eq(
            tc_run(&out, "--detach --task %s --dir '%s' -- sh -c 'echo second run'", id, dir), 0);
        free(out);
        cr_assert_eq(tc_run(NULL, "wait -q --timeout 10 --dir '%s' %s", dir, id), 0);
        cr_assert_eq(tc_run(&out, "logs -n 100 --dir '%s' %s", dir, id), 0);
        cr_expect_null(strstr(out, "first run"), "%s", out);
        cr_expect_eq(strncmp(out, "[started at ", 12), 0, "%s", out);
        cr_expect_neq(strstr(out, "\nsecond run\n[exited with status 0 after "), NULL, "%s", out);
        free(out);
}
