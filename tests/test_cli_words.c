/* A program runs only after `--` (or the word run): an unknown first word is refused. */
#include "test_run.h"

TestSuite(cli_words, .init = run_setup, .fini = run_teardown, .timeout = 30);

/* A program named frob on PATH that leaves a marker if it is ever run. */
static void install_frob(void)
{
        char path[8192];

        cr_assert_eq(mkdir("bin", 0755), 0);
        th_write_file("bin/frob", "#!/bin/sh\ntouch \"$(dirname \"$0\")/../ran\"\n");
        cr_assert_eq(chmod("bin/frob", 0755), 0);
        snprintf(path, sizeof path, "%s/bin:%s", run_scratch, getenv("PATH"));
        setenv("PATH", path, 1);
}

Test(cli_words, a_typo_of_a_subcommand_is_refused_with_a_suggestion_and_creates_nothing)
{
        char *err;

        cr_expect_eq(run("\"$TR\" lsit"), 2);
        err = run_stderr();
        cr_expect_str_eq(err, "taskrun: unknown command 'lsit' (did you mean 'list'?); "
                              "to run a program: taskrun -- lsit\n");
        free(err);
        cr_expect_neq(access("cfg", F_OK), 0, "something was created");
        cr_expect_eq(run("\"$TR\" wiat 1"), 2);
        err = run_stderr();
        cr_expect(strstr(err, "did you mean 'wait'?"), "stderr: %s", err);
        free(err);
}

Test(cli_words, an_unknown_word_is_never_run_as_a_program)
{
        char *err;

        install_frob();
        cr_expect_eq(run("\"$TR\" frob 2"), 2);
        err = run_stderr();
        cr_expect_str_eq(err, "taskrun: unknown command 'frob'; to run a program: "
                              "taskrun -- frob\n");
        free(err);
        cr_expect_neq(access("ran", F_OK), 0, "frob was run");
        cr_expect_eq(run("\"$TR\" --dir list frob"), 2, "a command after options needs --");
        cr_expect_neq(access("ran", F_OK), 0, "frob was run");
        cr_expect_neq(access("list", F_OK), 0, "a task was created");
}

Test(cli_words, a_program_runs_after_double_dash_or_the_word_run)
{
        install_frob();
        cr_expect_eq(run("\"$TR\" --dir list -- frob"), 0);
        cr_expect_eq(access("ran", F_OK), 0, "frob did not run after --");
        unlink("ran");
        cr_expect_eq(run("\"$TR\" run --dir list frob"), 0);
        cr_expect_eq(access("ran", F_OK), 0, "frob did not run after the word run");
        unlink("ran");
        cr_expect_eq(run("\"$TR\" run --dir list -- frob"), 0);
        cr_expect_eq(access("ran", F_OK), 0, "frob did not run after run --");
}
