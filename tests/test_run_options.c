/* Options of `taskrun [options] -- command`: bad ones stop taskrun with one line and 125. */
#include "test_run.h"

TestSuite(run_options, .init = run_setup, .fini = run_teardown, .timeout = 30);

/* Each must be refused before the command (touch ran) runs. */
static const char *const bad_options[] = {
    "--no-such-option",
    "-Z",
    "--tail 0",
    "--tail lots",
    "--tail 2G",
    "--tail 2M",              /* over TR_TAIL_MAX */
    "--tail 17592186044417M", /* wraps to 1M when shifted */
    "--timeout soon",
    "--timeout -1",
    "--heartbeat 1x",
    "--kill-after 1",
    "--signal NOSUCHSIG",
    "--signal 0",
    "--on-fail completed",
    "--create",
    "--file t.json --task 1",
    "--lock-timeout forever",
    "--log out.log",
};

static void assert_one_line_error(const char *what)
{
        char *err = run_stderr();
        size_t len = strlen(err);

        cr_expect(strncmp(err, "taskrun: ", 9) == 0, "%s: stderr does not start 'taskrun: ': %s",
                  what, err);
        cr_expect(len > 0 && err[len - 1] == '\n' && strchr(err, '\n') == err + len - 1,
                  "%s: not exactly one line: %s", what, err);
        free(err);
}

Test(run_options, bad_options_give_one_line_error_and_125)
{
        for (size_t i = 0; i < sizeof bad_options / sizeof bad_options[0]; i++) {
                int status = run("\"$TR\" --dir list %s -- touch ran", bad_options[i]);

                cr_expect_eq(status, 125, "%s: status %d", bad_options[i], status);
                cr_expect_neq(access("ran", F_OK), 0, "%s: the command ran", bad_options[i]);
                assert_one_line_error(bad_options[i]);
        }
        cr_expect_eq(th_count("list", "*.json"), -1, "a task list was made for bad options");
}

Test(run_options, missing_option_argument_gives_one_line_error_and_125)
{
        cr_assert_eq(run("\"$TR\" --dir list --timeout"), 125);
        assert_one_line_error("--timeout");
}

Test(run_options, no_command_gives_one_line_error_and_125)
{
        cr_assert_eq(run("\"$TR\" --dir list --"), 125);
        assert_one_line_error("no command");
}

Test(run_options, help_prints_usage_and_exits_0)
{
        char *out;

        cr_assert_eq(run("\"$TR\" --help"), 0);
        out = run_stdout(NULL);
        cr_expect(strncmp(out, "usage: taskrun", 14) == 0, "stdout: %s", out);
        free(out);
}

Test(run_options, command_options_are_not_taskrun_options)
{
        char *out;

        /* Options end at the command: -q and --timeout here belong to echo. */
        cr_assert_eq(run("\"$TR\" --dir list -- echo -q --timeout"), 0);
        out = run_stdout(NULL);
        cr_expect_str_eq(out, "-q --timeout\n");
        free(out);
}
