/* Every task command: --help on stdout with exit 0 and its exit statuses; usage errors exit 2. */
#include "cmd_helpers.h"

static const char *const commands[] = {"create", "update", "show", "list",
                                       "wait",   "reap",   "kill", "logs"};
#define N_COMMANDS (sizeof commands / sizeof commands[0])

static char dir[512];

static void setup(void)
{
        th_tmpdir(dir, sizeof dir);
}

static void teardown(void)
{
        th_rmtree(dir);
}

TestSuite(cmd_help, .init = setup, .fini = teardown);

Test(cmd_help, help_prints_usage_and_exit_statuses_to_stdout)
{
        for (size_t i = 0; i < N_COMMANDS; i++) {
                char *out, usage[64];
                cr_expect_eq(tc_run(&out, "%s --help 2>/dev/null", commands[i]), 0, "%s",
                             commands[i]);
                snprintf(usage, sizeof usage, "usage: taskrun %s", commands[i]);
                cr_expect_eq(strncmp(out, usage, strlen(usage)), 0, "%s --help: %s", commands[i],
                             out);
                cr_expect(strstr(out, "exit status: 0") != NULL, "%s: no exit statuses",
                          commands[i]);
                cr_expect(strstr(out, "2 usage error") != NULL, "%s: no usage status", commands[i]);
                free(out);
        }
}

Test(cmd_help, unknown_option_exits_2_with_a_one_line_error)
{
        for (size_t i = 0; i < N_COMMANDS; i++) {
                char *err, first[128];
                cr_expect_eq(tc_run(&err, "%s --no-such-option 2>&1 >/dev/null", commands[i]), 2,
                             "%s", commands[i]);
                snprintf(first, sizeof first,
                         "taskrun: %s: unrecognized option '--no-such-option'\n", commands[i]);
                cr_expect_eq(strncmp(err, first, strlen(first)), 0, "%s: %s", commands[i], err);
                free(err);
        }
}

/* The other complaints, worded as glibc's getopt words them, whatever the libc taskrun links. */
Test(cmd_help, option_errors_are_worded_alike_on_every_libc)
{
        static const struct {
                const char *args, *first;
        } cases[] = {
            {"wait --json=1", "taskrun: wait: option '--json' doesn't allow an argument\n"},
            {"list --dir", "taskrun: list: option '--dir' requires an argument\n"},
            {"show --l", "taskrun: show: option '--l' is ambiguous; possibilities: '--list' "
                         "'--lock-timeout'\n"},
            {"list -Z", "taskrun: list: invalid option -- 'Z'\n"},
            {"--task", "taskrun: option '--task' requires an argument\n"},
            {"-t", "taskrun: option requires an argument -- 't'\n"},
            {"--no-such=1 -- true", "taskrun: unrecognized option '--no-such=1'\n"},
        };

        for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
                char *err;
                int status = tc_run(&err, "%s 2>&1 >/dev/null", cases[i].args);
                cr_expect(status == 2 || status == 125, "%s: exit %d", cases[i].args, status);
                cr_expect_eq(strncmp(err, cases[i].first, strlen(cases[i].first)), 0, "%s: %s",
                             cases[i].args, err);
                free(err);
        }
}

Test(cmd_help, a_bad_store_option_value_exits_2)
{
        for (size_t i = 0; i < N_COMMANDS; i++)
                cr_expect_eq(tc_run(NULL, "%s --lock-timeout never --dir '%s' 1 2>/dev/null",
                                    commands[i], dir),
                             2, "%s", commands[i]);
        cr_expect_eq(th_count(dir, "*"), 2, "something was created in %s", dir); /* . and .. */
}

/* rerun exits as the run form does: its own errors are 125, never a command's status. */
Test(cmd_help, rerun_help_and_a_bad_option_of_rerun)
{
        char *out;

        cr_expect_eq(tc_run(&out, "rerun --help"), 0);
        cr_expect_eq(strncmp(out, "usage: taskrun rerun", 20), 0, "%s", out);
        cr_expect_neq(strstr(out, "exit status: as taskrun -- command"), NULL, "%s", out);
        cr_expect_null(strstr(out, "--subject"), "a first run's option: %s", out);
        free(out);
        cr_expect_eq(tc_run(&out, "rerun --no-such-option --dir '%s' 1 2>&1 >/dev/null", dir), 125);
        cr_expect_str_eq(out, "taskrun: rerun: unrecognized option '--no-such-option'\n");
        free(out);
}
