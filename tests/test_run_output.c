/* Output passes through unchanged; the task keeps a bounded, cleaned tail of it. */
#include "test_run.h"

TestSuite(run_output, .init = run_setup, .fini = run_teardown, .timeout = 60);

#define FFFD "\xef\xbf\xbd"

/* n random bytes into path; the malloc'd bytes. */
static unsigned char *random_file(const char *path, size_t n)
{
        unsigned char *buf = malloc(n);
        FILE *f;

        cr_assert_not_null(buf);
        f = fopen("/dev/urandom", "rb");
        cr_assert_not_null(f);
        cr_assert_eq(fread(buf, 1, n, f), n);
        fclose(f);
        f = fopen(path, "wb");
        cr_assert_not_null(f);
        cr_assert_eq(fwrite(buf, 1, n, f), n);
        cr_assert_eq(fclose(f), 0);
        return buf;
}

static void assert_file_is(const char *path, const unsigned char *want, size_t n)
{
        size_t len;
        char *got = th_read_file(path, &len);

        cr_assert_not_null(got, "%s missing", path);
        cr_expect_eq(len, n, "%s: %zu bytes, want %zu", path, len, n);
        cr_expect(len == n && memcmp(got, want, n) == 0, "%s: bytes differ", path);
        free(got);
}

Test(run_output, ten_megabytes_of_binary_output_pass_through_byte_identical)
{
        size_t nout = 10 * 1024 * 1024, nerr = 1024 * 1024 + 7;
        unsigned char *out = random_file("rand.out", nout);
        unsigned char *err = random_file("rand.err", nerr);
        json_object *t;

        /* --task: taskrun itself prints nothing, so ./stderr is the command's alone. */
        cr_assert_eq(run("\"$TR\" --dir list --task 1 --create -- sh -c 'cat rand.out; cat "
                         "rand.err >&2'"),
                     0);
        assert_file_is("stdout", out, nout);
        assert_file_is("stderr", err, nerr);
        t = run_task("list/1.json");
        cr_expect_eq(run_meta_int(t, "output_bytes"), (long long)(nout + nerr));
        json_object_put(t);
        free(out);
        free(err);
}

Test(run_output, output_passes_through_before_the_command_ends)
{
        pid_t tr =
            run_start("\"$TR\" --dir list -- sh -c 'echo early; " SH_WAIT_FOR_GO "; echo late'");
        long long deadline = th_now_ms() + 5000;
        char *out = NULL;

        do {
                free(out);
                usleep(10000);
                out = th_read_file("stdout", NULL);
        } while (th_now_ms() < deadline && (out == NULL || strcmp(out, "early\n") != 0));
        cr_expect_str_eq(out, "early\n", "output held back while the command runs");
        th_write_file("go", "");
        cr_assert_eq(run_wait(tr), 0);
        free(out);
        out = run_stdout(NULL);
        cr_expect_str_eq(out, "early\nlate\n");
        free(out);
}

Test(run_output, tail_is_bounded_by_the_tail_option)
{
        json_object *t;
        const char *tail;
        size_t len;

        cr_assert_eq(run("\"$TR\" --dir list --tail 1K -- sh -c 'yes 0123456789abcdef | head -c "
                         "1048576' >/dev/null"),
                     0);
        t = run_task("list/1.json");
        tail = run_meta_str(t, "output_tail");
        cr_assert_not_null(tail);
        len = strlen(tail);
        cr_expect_leq(len, 1024 + 16, "output_tail is %zu bytes", len);
        cr_expect_geq(len, 1024 - 2 * 17, "output_tail is only %zu bytes", len);
        cr_expect_eq(run_meta_int(t, "output_bytes"), 1048576);
        json_object_put(t);
}

Test(run_output, tail_strips_ansi_and_replaces_invalid_utf8_but_stdout_gets_raw_bytes)
{
        static const char raw[] = "\033[1;31mred\033[0m \377 ok \303\251\n";
        json_object *t;
        size_t len;
        char *out;

        cr_assert_eq(run("\"$TR\" --dir list -- printf '\\033[1;31mred\\033[0m \\377 ok "
                         "\\303\\251\\n'"),
                     0);
        out = run_stdout(&len);
        cr_expect_eq(len, sizeof raw - 1);
        cr_expect(memcmp(out, raw, sizeof raw - 1) == 0, "stdout was changed: %s", out);
        t = run_task("list/1.json");
        cr_expect_str_eq(run_meta_str(t, "output_tail"), "red " FFFD " ok \xc3\xa9\n");
        cr_expect_str_eq(run_meta_str(t, "last_line"), "red " FFFD " ok \xc3\xa9");
        json_object_put(t);
        free(out);
}

Test(run_output, quiet_shows_nothing_on_success)
{
        char *out, *err;

        cr_assert_eq(run("\"$TR\" --dir list --quiet -- sh -c 'echo out; echo err >&2'"), 0);
        out = run_stdout(NULL);
        err = run_stderr();
        cr_expect_str_eq(out, "");
        cr_expect_str_eq(err, ""); /* like chronic(1): not even the task id */
        free(out);
        free(err);
}

Test(run_output, quiet_replays_stdout_on_stdout_and_stderr_on_stderr_on_failure)
{
        char *out, *err;

        cr_assert_eq(run("\"$TR\" --dir list --quiet -- sh -c 'echo out; echo err >&2; exit 1'"),
                     1);
        out = run_stdout(NULL);
        err = run_stderr();
        cr_expect_str_eq(out, "out\n");
        cr_expect_str_eq(err, "err\n");
        free(out);
        free(err);
}

Test(run_output, works_with_stdin_and_stdout_closed)
{
        json_object *t;

        cr_assert_eq(run("\"$TR\" --dir list -- sh -c 'echo lost; exit 3' <&- >&-"), 3);
        t = run_task("list/1.json");
        cr_expect_str_eq(run_meta_str(t, "state"), "failed");
        cr_expect_str_eq(run_meta_str(t, "output_tail"), "lost\n");
        json_object_put(t);
}

Test(run_output, works_with_all_standard_fds_closed)
{
        json_object *t;

        cr_assert_eq(run("\"$TR\" --dir list -- sh -c 'echo lost; echo more >&2' <&- >&- 2>&-"), 0);
        t = run_task("list/1.json");
        cr_expect_str_eq(run_meta_str(t, "state"), "completed");
        /* Two pipes: which line comes first in the tail depends on the reads. */
        cr_expect(strstr(run_meta_str(t, "output_tail"), "lost\n") &&
                      strstr(run_meta_str(t, "output_tail"), "more\n"),
                  "output_tail: %s", run_meta_str(t, "output_tail"));
        json_object_put(t);
}

Test(run_output, command_without_pty_sees_no_terminal)
{
        char *out;

        cr_assert_eq(run("\"$TR\" --dir list -- sh -c 'test -t 1 && echo tty || echo notty'"), 0);
        out = run_stdout(NULL);
        cr_expect_str_eq(out, "notty\n");
        free(out);
}

Test(run_output, pty_gives_the_command_a_terminal_and_output_still_reaches_stdout)
{
        char *out;
        json_object *t;

        cr_assert_eq(run("\"$TR\" --dir list --pty -- sh -c 'test -t 1 && test -t 2 && echo tty'"),
                     0);
        out = run_stdout(NULL);
        /* The terminal turns "\n" into "\r\n". */
        cr_expect_str_eq(out, "tty\r\n");
        t = run_task("list/1.json");
        cr_expect_str_eq(run_meta_str(t, "output_tail"), "tty\n");
        json_object_put(t);
        free(out);
}

Test(run_output, pty_keeps_the_exit_status)
{
        cr_assert_eq(run("\"$TR\" --dir list --pty -- sh -c 'echo x; exit 4'"), 4);
}

/*
 * stdout may be a non-blocking pipe (O_NONBLOCK belongs to the open file,
 * which taskrun shares with whoever gave it stdout). A full pipe must slow
 * taskrun down, never lose output.
 */
Test(run_output, nonblocking_stdout_loses_no_output)
{
        int p[2];
        pid_t tr;
        size_t total = 0;
        char buf[65536];
        ssize_t n;

        cr_assert_eq(pipe(p), 0);
        tr = fork();
        cr_assert_neq(tr, -1);
        if (tr == 0) {
                int null = open("/dev/null", O_WRONLY);
                dup2(p[1], 1);
                dup2(null, 2);
                close(p[0]);
                close(p[1]);
                fcntl(1, F_SETFL, O_NONBLOCK);
                run_default_signals();
                execl(getenv("TR"), "taskrun", "--dir", "list", "--", "sh", "-c",
                      "head -c 4194304 /dev/zero", (char *)NULL);
                _exit(127);
        }
        close(p[1]);
        usleep(300000); /* let the pipe fill up */
        while ((n = read(p[0], buf, sizeof buf)) > 0)
                total += (size_t)n;
        close(p[0]);
        cr_expect_eq(run_wait(tr), 0);
        cr_expect_eq(total, 4194304, "got %zu bytes", total);
}

Test(run_output, gone_reader_gives_the_command_sigpipe_as_without_taskrun)
{
        json_object *t;
        char *status;

        /* As with `yes | head -n 1` alone: yes dies of SIGPIPE once head has gone. */
        cr_assert_eq(run("sh -c '\"$TR\" --dir list -- yes; echo $? > status' | head -n 1"), 0);
        status = th_read_file("status", NULL);
        cr_expect_str_eq(status, "141\n");
        t = run_task("list/1.json");
        cr_expect_str_eq(run_meta_str(t, "state"), "killed");
        cr_expect_eq(run_meta_int(t, "signal"), SIGPIPE);
        json_object_put(t);
        free(status);
}

/* A command that closes its stdout before exiting must not be hung up (SIGHUP). */
Test(run_output, pty_command_closing_stdout_early_is_not_hung_up)
{
        for (int i = 0; i < 20; i++)
                cr_assert_eq(run("\"$TR\" --dir list --pty -- ls -l /proc/self/fd"), 0, "run %d",
                             i);
}
