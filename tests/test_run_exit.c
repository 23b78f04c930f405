/* taskrun's exit status is the command's: its code, 128+signal, 124, 126, 127; 125 is ours. */
#include "test_run.h"

TestSuite(run_exit, .init = run_setup, .fini = run_teardown, .timeout = 30);

/* Run `sh -c SCRIPT` in a fresh list; the status, and the task through *task. */
static int run_script(const char *script, json_object **task)
{
        int status = run("\"$TR\" --dir list -- sh -c '%s'", script);

        *task = run_task("list/1.json");
        return status;
}

Test(run_exit, exit_code_0_propagates_and_task_completes)
{
        json_object *t;

        cr_assert_eq(run_script("exit 0", &t), 0);
        cr_expect_str_eq(th_get_string(t, "status"), "completed");
        cr_expect_str_eq(run_meta_str(t, "state"), "completed");
        cr_expect_eq(run_meta_int(t, "exit_code"), 0);
        json_object_put(t);
}

Test(run_exit, exit_code_1_propagates)
{
        json_object *t;

        cr_assert_eq(run_script("exit 1", &t), 1);
        cr_expect_str_eq(run_meta_str(t, "state"), "failed");
        cr_expect_eq(run_meta_int(t, "exit_code"), 1);
        json_object_put(t);
}

Test(run_exit, exit_code_2_propagates)
{
        json_object *t;

        cr_assert_eq(run_script("exit 2", &t), 2);
        cr_expect_str_eq(run_meta_str(t, "state"), "failed");
        cr_expect_eq(run_meta_int(t, "exit_code"), 2);
        json_object_put(t);
}

Test(run_exit, command_not_found_exits_127)
{
        json_object *t;
        char *err;

        cr_assert_eq(run("\"$TR\" --dir list -- no-such-command-xyzzy"), 127);
        err = run_stderr();
        cr_expect(strstr(err, "taskrun: no-such-command-xyzzy: No such file or directory\n"),
                  "stderr: %s", err);
        t = run_task("list/1.json");
        cr_expect_str_eq(run_meta_str(t, "state"), "failed");
        cr_expect_eq(run_meta_int(t, "exit_code"), 127);
        cr_expect_str_neq(th_get_string(t, "status"), "completed");
        json_object_put(t);
        free(err);
}

Test(run_exit, command_not_executable_exits_126)
{
        json_object *t;

        /* No execute bit at all: even root gets EACCES. */
        th_write_file("script", "#!/bin/sh\necho never\n");
        cr_assert_eq(chmod("script", 0644), 0);
        cr_assert_eq(run("\"$TR\" --dir list -- ./script"), 126);
        t = run_task("list/1.json");
        cr_expect_str_eq(run_meta_str(t, "state"), "failed");
        cr_expect_eq(run_meta_int(t, "exit_code"), 126);
        json_object_put(t);
}

Test(run_exit, timeout_exits_124)
{
        long long t0 = th_now_ms();
        json_object *t;

        cr_assert_eq(run("\"$TR\" --dir list --timeout 0.2 -- sleep 10"), 124);
        cr_expect_lt(th_now_ms() - t0, 5000, "the timeout did not stop the command");
        t = run_task("list/1.json");
        cr_expect_str_eq(run_meta_str(t, "state"), "timed_out");
        cr_expect(json_object_get_boolean(run_meta(t, "timed_out")));
        cr_expect_eq(run_meta_int(t, "signal"), SIGTERM);
        json_object_put(t);
}

Test(run_exit, killed_by_signal_n_exits_128_plus_n)
{
        json_object *t;

        cr_assert_eq(run_script("kill -USR1 $$", &t), 128 + SIGUSR1);
        cr_expect_str_eq(run_meta_str(t, "state"), "killed");
        cr_expect_eq(run_meta_int(t, "signal"), SIGUSR1);
        cr_expect(json_object_is_type(run_meta(t, "exit_code"), json_type_null),
                  "exit_code should be null when a signal ended the command");
        json_object_put(t);
}

Test(run_exit, killed_by_sigkill_exits_137)
{
        json_object *t;

        cr_assert_eq(run_script("kill -KILL $$", &t), 137);
        cr_expect_eq(run_meta_int(t, "signal"), SIGKILL);
        json_object_put(t);
}

Test(run_exit, own_error_before_the_command_exits_125_without_running_it)
{
        char *err;

        cr_assert_eq(run("\"$TR\" --dir list --task 42 -- touch ran"), 125);
        cr_expect_neq(access("ran", F_OK), 0, "the command ran");
        err = run_stderr();
        cr_expect(strncmp(err, "taskrun: ", 9) == 0 && strstr(err, "42"), "stderr: %s", err);
        free(err);
}

/* As execvp(3) and the shells do: an executable without "#!" runs through /bin/sh. */
Test(run_exit, a_script_without_a_shebang_runs_through_sh)
{
        char *out;

        th_write_file("plain-script", "echo from-the-script; exit 3\n");
        cr_assert_eq(chmod("plain-script", 0755), 0);
        cr_assert_eq(run("\"$TR\" --dir list -- ./plain-script"), 3);
        out = run_stdout(NULL);
        cr_expect_str_eq(out, "from-the-script\n");
        free(out);
}

/* Found on PATH too, with its arguments, whatever the libc's execvp does (musl's does not). */
Test(run_exit, a_script_without_a_shebang_on_path_gets_its_arguments)
{
        char *out;

        cr_assert_eq(mkdir("bin", 0755), 0);
        th_write_file("bin/plain-tool", "echo \"$0 got $# args: $1 $2\"; exit 4\n");
        cr_assert_eq(chmod("bin/plain-tool", 0755), 0);
        cr_assert_eq(run("env PATH=\"$PWD/missing:$PWD/bin:$PATH\" \"$TR\" --dir list -- "
                         "plain-tool a 'b c'"),
                     4);
        out = run_stdout(NULL);
        cr_expect(strstr(out, "/bin/plain-tool got 2 args: a b c\n") != NULL, "stdout: %s", out);
        free(out);
}
