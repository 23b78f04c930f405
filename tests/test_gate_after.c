/* taskrun --after, --after-done, blockedBy and --ignore-blocked: start once the blockers are done.
 */
#include <sys/stat.h>

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

TestSuite(gate_after, .init = setup, .fini = teardown, .timeout = 60);

static void make_task(const char *id, const char *blocked_by)
{
        char json[512];

        snprintf(json, sizeof json,
                 "{\"id\":\"%s\",\"subject\":\"t%s\",\"description\":\"d\",\"status\":\"pending\","
                 "\"blocks\":[],\"blockedBy\":[%s]}",
                 id, id, blocked_by);
        tc_write_task(dir, id, json);
}

/* Start `taskrun --dir DIR --task ID --create EXTRA... -- touch DIR/ran-ID`. */
static pid_t start_gated(const char *id, const char *a1, const char *a2, const char *a3)
{
        const char *args[16] = {"--dir", dir, "--task", id, "--create"};
        int n = 5;

        if (a1)
                args[n++] = a1;
        if (a2)
                args[n++] = a2;
        if (a3)
                args[n++] = a3;
        args[n++] = "--";
        args[n++] = "touch";
        args[n++] = th_at(dir, id[0] == '1' ? "ran-1" : id[0] == '2' ? "ran-2" : "ran");
        args[n] = NULL;
        return tc_spawn(NULL, args);
}

static int ran(const char *name)
{
        struct stat st;

        return stat(th_at(dir, name), &st) == 0;
}

static void finish_task(const char *id, const char *cmd)
{
        cr_assert_eq(tc_run(NULL, "--quiet --dir '%s' --task %s -- %s 2>/dev/null", dir, id, cmd),
                     strcmp(cmd, "true") == 0 ? 0 : 1);
}

Test(gate_after, waits_recording_waiting_until_the_blocker_completes)
{
        make_task("1", "");
        pid_t pid = start_gated("5", "--after", "1", NULL);

        tc_await_state(dir, "5", "waiting");
        json_object *task = tc_read_task(dir, "5");
        json_object *ids = th_get(task, "metadata.taskrun.waiting_for");
        cr_assert_not_null(ids);
        cr_expect_eq(json_object_array_length(ids), 1);
        cr_expect_str_eq(json_object_get_string(json_object_array_get_idx(ids, 0)), "1");
        cr_expect_str_eq(th_get_string(task, "status"), "pending");
        cr_expect_eq(th_get(task, "metadata.taskrun.pid") != NULL, 1);
        json_object_put(task);
        cr_expect_not(ran("ran"), "the command ran before its blocker completed");
        int status;
        cr_expect_not(tc_exited(pid, &status), "taskrun did not wait");

        finish_task("1", "true");
        cr_assert_eq(tc_reap(pid, NULL), 0);
        cr_expect(ran("ran"));
        task = tc_read_task(dir, "5");
        cr_expect_str_eq(th_get_string(task, "metadata.taskrun.state"), "completed");
        cr_expect_null(th_get(task, "metadata.taskrun.waiting_for"));
        json_object_put(task);
}

Test(gate_after, a_completed_blocker_does_not_wait)
{
        make_task("1", "");
        finish_task("1", "true");
        cr_assert_eq(tc_run(NULL, "--dir '%s' --after 1 -- true 2>/dev/null", dir), 0);
}

Test(gate_after, a_failed_blocker_skips_the_command_with_status_121)
{
        make_task("1", "");
        pid_t pid = start_gated("5", "--after", "1", NULL);

        tc_await_state(dir, "5", "waiting");
        finish_task("1", "false");
        cr_assert_eq(tc_reap(pid, NULL), 121);
        cr_expect_not(ran("ran"));
        json_object *task = tc_read_task(dir, "5");
        cr_expect_str_eq(th_get_string(task, "metadata.taskrun.state"), "skipped");
        cr_expect_str_eq(th_get_string(task, "status"), "pending");
        cr_expect_str_eq(th_get_string(task, "metadata.taskrun.skipped_because"), "task 1 failed");
        cr_expect_not_null(strstr(th_get_string(task, "description"), "skipped"));
        json_object_put(task);
        /* wait counts a skipped run as done and not completed. */
        cr_expect_eq(tc_run(NULL, "wait -q --timeout 5 --dir '%s' 5", dir), 1);
}

Test(gate_after, after_done_runs_once_the_blocker_ended_however)
{
        make_task("1", "");
        pid_t pid = start_gated("5", "--after", "1", "--after-done");

        tc_await_state(dir, "5", "waiting");
        finish_task("1", "false");
        cr_assert_eq(tc_reap(pid, NULL), 0);
        cr_expect(ran("ran"));
}

Test(gate_after, several_blockers_all_must_complete)
{
        make_task("1", "");
        make_task("2", "");
        pid_t pid = start_gated("5", "--after", "1,2", NULL);

        tc_await_state(dir, "5", "waiting");
        finish_task("1", "true");
        th_sleep_ms(100);
        int status;
        cr_expect_not(tc_exited(pid, &status), "started with task 2 still pending");
        cr_expect_not(ran("ran"));
        finish_task("2", "true");
        cr_assert_eq(tc_reap(pid, NULL), 0);
        cr_expect(ran("ran"));
}

Test(gate_after, a_lost_blocker_skips_the_command)
{
        char host[256], boot[64] = "", json[1024];
        pid_t dead = fork();

        cr_assert_neq(dead, -1);
        if (dead == 0)
                _exit(0);
        cr_assert_eq(th_reap(dead, 5000), 0);
        gethostname(host, sizeof host);
        char *b = th_read_file("/proc/sys/kernel/random/boot_id", NULL);
        if (b != NULL)
                snprintf(boot, sizeof boot, "%.36s", b);
        free(b);
        /* A record that says running, for a process that is gone: its supervisor died. */
        snprintf(json, sizeof json,
                 "{\"id\":\"1\",\"subject\":\"s\",\"description\":\"d\",\"status\":\"in_progress\","
                 "\"blocks\":[],\"blockedBy\":[],\"metadata\":{\"taskrun\":{\"state\":\"running\","
                 "\"pid\":%d,\"host\":\"%s\",\"boot_id\":\"%s\"}}}",
                 (int)dead, host, boot);
        tc_write_task(dir, "1", json);
        pid_t pid = start_gated("5", "--after", "1", NULL);

        cr_assert_eq(tc_reap(pid, NULL), 121);
        cr_expect_not(ran("ran"));
        json_object *task = tc_read_task(dir, "5");
        const char *why = th_get_string(task, "metadata.taskrun.skipped_because");
        cr_expect(why != NULL && strstr(why, "task 1 was lost") != NULL, "why: %s", why);
        json_object_put(task);
}

Test(gate_after, a_blocker_killed_with_its_supervisor_skips_the_command)
{
        make_task("1", "");
        const char *args[] = {"--dir", dir, "--task", "1", "--", "sleep", "30", NULL};
        pid_t blocker = tc_spawn(NULL, args);

        tc_await_state(dir, "1", "running");
        pid_t pid = start_gated("5", "--after", "1", NULL);
        tc_await_state(dir, "5", "waiting");
        json_object *task = tc_read_task(dir, "1");
        json_object *p = th_get(task, "metadata.taskrun.pid");
        cr_assert_not_null(p);
        pid_t sleeper = (pid_t)json_object_get_int(p);
        json_object_put(task);
        /* Neither can write an end: the record stays "running" for a process that is gone. */
        kill(blocker, SIGKILL);
        kill(sleeper, SIGKILL);
        th_reap(blocker, 5000);
        cr_assert_eq(tc_reap(pid, NULL), 121);
        cr_expect_not(ran("ran"));
}

Test(gate_after, blocked_by_of_the_task_is_honoured)
{
        make_task("1", "");
        make_task("5", "\"1\"");
        pid_t pid = start_gated("5", NULL, NULL, NULL);

        tc_await_state(dir, "5", "waiting");
        cr_expect_not(ran("ran"));
        finish_task("1", "true");
        cr_assert_eq(tc_reap(pid, NULL), 0);
        cr_expect(ran("ran"));
        /* As Claude does on completion: blocks and blockedBy stay as they were. */
        json_object *task = tc_read_task(dir, "5");
        json_object *ids = th_get(task, "blockedBy");
        cr_expect(ids != NULL && json_object_array_length(ids) == 1);
        cr_expect_str_eq(th_get_string(task, "status"), "completed");
        json_object_put(task);
}

Test(gate_after, ignore_blocked_runs_at_once)
{
        make_task("1", "");
        make_task("5", "\"1\"");
        cr_assert_eq(tc_run(NULL, "--dir '%s' --task 5 --ignore-blocked -- true", dir), 0);
}

Test(gate_after, a_blocked_by_id_without_a_task_does_not_block)
{
        make_task("5", "\"9\"");
        cr_assert_eq(tc_run(NULL, "--dir '%s' --task 5 -- true", dir), 0);
}

Test(gate_after, an_unknown_after_id_is_an_error_and_creates_nothing)
{
        make_task("1", "");
        cr_assert_eq(tc_run(NULL, "--dir '%s' --after 7 -- true 2>/dev/null", dir), 125);
        cr_expect_eq(th_count(dir, "*.json"), 1);
}

Test(gate_after, sigterm_while_waiting_records_killed_and_frees_nothing_else)
{
        make_task("1", "");
        pid_t pid = start_gated("5", "--after", "1", NULL);

        tc_await_state(dir, "5", "waiting");
        kill(pid, SIGTERM);
        cr_assert_eq(tc_reap(pid, NULL), 128 + SIGTERM);
        cr_expect_not(ran("ran"));
        json_object *task = tc_read_task(dir, "5");
        cr_expect_str_eq(th_get_string(task, "metadata.taskrun.state"), "killed");
        json_object_put(task);
        task = tc_read_task(dir, "1");
        cr_expect_str_eq(th_get_string(task, "status"), "pending");
        json_object_put(task);
}

Test(gate_after, two_tasks_waiting_for_each_other_both_skip)
{
        make_task("1", "");
        make_task("2", "");
        pid_t a = start_gated("1", "--after", "2", NULL);

        tc_await_state(dir, "1", "waiting");
        pid_t b = start_gated("2", "--after", "1", NULL);
        cr_expect_eq(tc_reap(b, NULL), 121);
        cr_expect_eq(tc_reap(a, NULL), 121);
        cr_expect_not(ran("ran-1"));
        cr_expect_not(ran("ran-2"));
}

Test(gate_after, detach_returns_at_once_while_the_run_waits)
{
        char *out;

        make_task("1", "");
        cr_assert_eq(tc_run(&out, "--detach --dir '%s' --task 5 --create --after 1 -- touch '%s'",
                            dir, th_at(dir, "ran")),
                     0);
        cr_expect_str_eq(out, "5\n");
        free(out);
        json_object *task = tc_read_task(dir, "5");
        cr_expect_str_eq(th_get_string(task, "metadata.taskrun.state"), "waiting");
        json_object_put(task);
        finish_task("1", "true");
        cr_assert_eq(tc_run(NULL, "wait -q --timeout 10 --dir '%s' 5", dir), 0);
        cr_expect(ran("ran"));
}

Test(gate_after, waiting_costs_no_cpu)
{
        struct rusage ru;

        make_task("1", "");
        pid_t pid = start_gated("5", "--after", "1", NULL);
        tc_await_state(dir, "5", "waiting");
        th_sleep_ms(1000);
        finish_task("1", "true");
        cr_assert_eq(tc_reap(pid, &ru), 0);
        long long us = (long long)ru.ru_utime.tv_sec * 1000000 + ru.ru_utime.tv_usec +
                       (long long)ru.ru_stime.tv_sec * 1000000 + ru.ru_stime.tv_usec;
        cr_log_info("a run that waited over a second used %lld us of CPU", us);
        /* Polling every 10 ms for a second would cost far more than startup and one run. */
        cr_expect_lt(us, 200000, "used %lld us", us);
}

Test(gate_after, taskrun_kill_ends_a_waiting_run_before_it_starts)
{
        make_task("1", "");
        pid_t pid = start_gated("5", "--after", "1", NULL);

        tc_await_state(dir, "5", "waiting");
        cr_assert_eq(tc_run(NULL, "kill --dir '%s' 5", dir), 0);
        cr_assert_eq(tc_reap(pid, NULL), 128 + SIGTERM);
        cr_expect_not(ran("ran"));
        json_object *task = tc_read_task(dir, "5");
        cr_expect_str_eq(th_get_string(task, "metadata.taskrun.state"), "killed");
        json_object_put(task);
}

Test(gate_after, completing_a_blocker_leaves_blocks_and_blocked_by_as_claude_does)
{
        /* Claude Code 2.1.332's TaskUpdate to completed changes the status only. */
        tc_write_task(dir, "1",
                      "{\"id\":\"1\",\"subject\":\"t1\",\"description\":\"d\",\"status\":"
                      "\"pending\",\"blocks\":[\"5\"],\"blockedBy\":[]}");
        make_task("5", "\"1\"");
        finish_task("1", "true");
        json_object *task = tc_read_task(dir, "1");
        cr_expect_str_eq(th_get_string(task, "status"), "completed");
        json_object *blocks = th_get(task, "blocks");
        cr_expect(blocks != NULL && json_object_array_length(blocks) == 1 &&
                      strcmp(json_object_get_string(json_object_array_get_idx(blocks, 0)), "5") ==
                          0,
                  "blocks changed");
        json_object_put(task);
        task = tc_read_task(dir, "5");
        json_object *by = th_get(task, "blockedBy");
        cr_expect(by != NULL && json_object_array_length(by) == 1, "blockedBy of 5 changed");
        json_object_put(task);
        /* And task 5 is no longer blocked: it runs at once. */
        cr_expect_eq(tc_run(NULL, "--dir '%s' --task 5 -- true", dir), 0);
}
