/* taskrun --unique KEY, --once and --attach: one live run per key in a list. */
#include "gate_helpers.h"

TestSuite(gate_unique, .init = gh_setup, .fini = gh_teardown, .timeout = 90);

/* A run that holds key until gh_go(), then exits with status. */
static pid_t hold_key(const char *id, const char *key, int status)
{
        char script[300];
        pid_t pid;

        snprintf(script, sizeof script, "%s; exit %d", GH_HOLD, status);
        pid = gh_start(id, script, "--unique", key, NULL);
        gh_await_state(id, "running");
        return pid;
}

Test(gate_unique, a_duplicate_prints_the_holders_id_and_exits_122_without_a_task)
{
        pid_t holder = hold_key("1", "build", 0);
        char *out, *err;

        cr_expect_eq(tc_run(&out, "--dir list --unique build -- touch ran-2 2>err"), 122);
        cr_expect_str_eq(out, "1\n");
        free(out);
        err = gh_read("err");
        cr_expect_not_null(strstr(err, "--unique build: already running as task 1"), "%s", err);
        free(err);
        cr_expect_not(gh_exists("ran-2"), "the duplicate ran its command");
        cr_expect_eq(th_count("list", "*.json"), 1, "the duplicate made a task");
        gh_go();
        cr_expect_eq(tc_reap(holder, NULL), 0);
}

Test(gate_unique, the_key_is_free_again_once_the_run_is_over)
{
        pid_t holder = hold_key("1", "build", 0);

        gh_go();
        cr_assert_eq(tc_reap(holder, NULL), 0);
        cr_expect_eq(tc_run(NULL, "--dir list --unique build -- touch ran-2 2>/dev/null"), 0);
        cr_expect(gh_exists("ran-2"));
}

Test(gate_unique, a_holder_killed_with_sigkill_frees_the_key)
{
        pid_t holder = hold_key("1", "build", 0);
        json_object *task = gh_task("1");
        pid_t cmd = (pid_t)json_object_get_int(th_get(task, "metadata.taskrun.pid"));

        json_object_put(task);
        kill(holder, SIGKILL);
        kill(cmd, SIGKILL);
        tc_reap(holder, NULL);
        cr_expect_eq(tc_run(NULL, "--dir list --unique build -- touch ran-2 2>/dev/null"), 0);
        cr_expect(gh_exists("ran-2"));
}

Test(gate_unique, attach_waits_for_the_holder_and_exits_with_its_status)
{
        pid_t holder = hold_key("1", "build", 7);
        const char *args[] = {"--dir", "list",  "--unique", "build", "--attach",
                              "--",    "touch", "ran-2",    NULL};
        pid_t attached = tc_spawn("attach-out", args);

        gh_assert_running(attached, "--attach");
        gh_go();
        cr_expect_eq(tc_reap(holder, NULL), 7);
        cr_expect_eq(tc_reap(attached, NULL), 7, "--attach exits with the holder's status");
        char *out = gh_read("attach-out");
        cr_expect_str_eq(out, "1\n");
        free(out);
        cr_expect_not(gh_exists("ran-2"));
}

Test(gate_unique, attach_to_a_holder_that_dies_exits_3)
{
        pid_t holder = hold_key("1", "build", 0);
        json_object *task = gh_task("1");
        pid_t cmd = (pid_t)json_object_get_int(th_get(task, "metadata.taskrun.pid"));
        const char *args[] = {"--dir", "list", "--unique", "build", "--attach", "--", "true", NULL};

        json_object_put(task);
        pid_t attached = tc_spawn(NULL, args);
        gh_assert_running(attached, "--attach");
        kill(holder, SIGKILL); /* it writes no status, and its record still says running */
        kill(cmd, SIGKILL);
        tc_reap(holder, NULL);
        cr_expect_eq(tc_reap(attached, NULL), 3, "a lost run is status 3, as for wait");
}

Test(gate_unique, once_keys_on_the_command_line_and_directory)
{
        pid_t holder = gh_start("1", GH_HOLD, "--once", NULL);
        gh_await_state("1", "running");
        char cmd[400];

        /* The same command line in the same directory: a duplicate. */
        snprintf(cmd, sizeof cmd, "--dir list --once -- sh -c '%s' 2>/dev/null", GH_HOLD);
        char *out;
        cr_expect_eq(tc_run(&out, "%s", cmd), 122);
        cr_expect_str_eq(out, "1\n");
        free(out);
        /* Another command: runs. */
        cr_expect_eq(tc_run(NULL, "--dir list --once -- touch ran-other 2>/dev/null"), 0);
        cr_expect(gh_exists("ran-other"));
        /* The same command line from another directory: runs (its "go" is there already). */
        cr_assert_eq(mkdir("sub", 0755), 0);
        th_write_file("sub/go", "");
        snprintf(cmd, sizeof cmd,
                 "cd sub && '%s' --dir ../list --once -- sh -c '%s' 2>/dev/null && touch ran-sub",
                 TASKRUN_BIN, GH_HOLD);
        cr_expect_eq(th_run(cmd, NULL), 0);
        cr_expect(gh_exists("sub/ran-sub"));
        gh_go();
        cr_expect_eq(tc_reap(holder, NULL), 0);
}

Test(gate_unique, the_same_key_in_another_list_does_not_clash)
{
        pid_t holder = hold_key("1", "build", 0);

        cr_expect_eq(tc_run(NULL, "--dir other --unique build -- touch ran-2 2>/dev/null"), 0);
        cr_expect(gh_exists("ran-2"));
        gh_go();
        cr_expect_eq(tc_reap(holder, NULL), 0);
}

Test(gate_unique, a_queued_run_holds_its_key)
{
        pid_t slot = gh_start("1", GH_HOLD, "--slots", "1", NULL);
        gh_await_state("1", "running");
        pid_t queued = gh_start("2", "touch ran-2", "--slots", "1", "--unique", "deploy", NULL);
        gh_await_state("2", "queued");
        char *out;

        /* An agent retrying the call while the first is still queued starts nothing. */
        cr_expect_eq(
            tc_run(&out, "--dir list --slots 1 --unique deploy -- touch ran-3 2>/dev/null"), 122);
        cr_expect_str_eq(out, "2\n");
        free(out);
        gh_go();
        cr_expect_eq(tc_reap(slot, NULL), 0);
        cr_expect_eq(tc_reap(queued, NULL), 0);
        cr_expect(gh_exists("ran-2"));
        cr_expect_not(gh_exists("ran-3"));
}

Test(gate_unique, detach_prints_the_holders_id_for_a_duplicate)
{
        char *out;

        cr_assert_eq(tc_run(&out, "--detach --dir list --unique build -- sh -c '%s'", GH_HOLD), 0);
        cr_expect_str_eq(out, "1\n");
        free(out);
        cr_expect_eq(
            tc_run(&out, "--detach --dir list --unique build -- sh -c '%s' 2>/dev/null", GH_HOLD),
            122);
        cr_expect_str_eq(out, "1\n", "the duplicate names the detached run");
        free(out);
        cr_expect_eq(th_count("list", "*.json"), 1);
        gh_go();
        cr_expect_eq(tc_run(NULL, "wait -q --timeout 10 --dir list 1"), 0);
}

Test(gate_unique, ten_runs_started_at_once_with_one_key_start_one_command)
{
        static const char script[] = "echo x >> ran; " GH_HOLD;
        const char *argv[] = {TASKRUN_BIN, "--dir", "list", "--unique", "k",
                              "--",        "sh",    "-c",   script,     NULL};
        pid_t p[10];
        int status[10], exited[10] = {0}, n_exited = 0, started = 0, dup = 0;
        char *first = NULL;

        cr_assert_eq(mkdir("list", 0755), 0);
        gh_start_together(10, argv, p);
        /* The one that got the key holds it until "go": every other must have given up. */
        for (long long deadline = th_now_ms() + 20000; n_exited < 9 && th_now_ms() < deadline;) {
                for (int i = 0; i < 10; i++)
                        if (!exited[i] && tc_exited(p[i], &status[i]))
                                n_exited += exited[i] = 1;
                th_sleep_ms(20);
        }
        gh_go();
        for (int i = 0; i < 10; i++) {
                if (!exited[i])
                        status[i] = tc_reap(p[i], NULL);
                started += status[i] == 0;
                dup += status[i] == 122;
        }
        cr_expect_eq(started, 1);
        cr_expect_eq(dup, 9);
        char *ran = gh_read("ran");
        cr_expect_str_eq(ran, "x\n", "the command ran more than once");
        free(ran);
        cr_expect_eq(th_count("list", "*.json"), 1);
        /* Every duplicate named the same task. */
        for (int i = 0; i < 10; i++) {
                char name[32];
                snprintf(name, sizeof name, "out-at-%d", i);
                char *out = gh_read(name);
                if (*out != '\0' && first == NULL)
                        first = strdup(out);
                else if (*out != '\0')
                        cr_expect_str_eq(out, first);
                free(out);
        }
        cr_expect(first != NULL && strcmp(first, "1\n") == 0, "printed %s", first);
        free(first);
}

Test(gate_unique, attach_needs_a_key_and_is_not_for_detach)
{
        cr_expect_eq(tc_run(NULL, "--dir list --attach -- true 2>/dev/null"), 125);
        cr_expect_eq(tc_run(NULL, "--dir list --unique k --once -- true 2>/dev/null"), 125);
        cr_expect_eq(tc_run(NULL, "--dir list --unique k --attach --detach -- true 2>/dev/null"),
                     125);
        cr_expect_eq(tc_run(NULL, "--dir list --unique '' -- true 2>/dev/null"), 125);
        cr_expect_not(gh_exists("list"));
}
