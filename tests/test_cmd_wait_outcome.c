/*
 * What `wait` says and how it exits: one line (or JSON object) per task, the
 * status for completed, failed and lost runs, `wait` with no id, and runs
 * whose supervisor was killed with -9, which wait, list, show and reap must
 * all see as lost (a zombie included).
 */
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>

#include "cmd_helpers.h"
#include "taskrun/procinfo.h"

static char dir[512];

static void setup(void)
{
        th_tmpdir(dir, sizeof dir);
        unsetenv("CLAUDECODE");
}

static void teardown(void)
{
        th_rmtree(dir);
}

TestSuite(wait_outcome, .init = setup, .fini = teardown, .timeout = 60);

/* Run `taskrun --dir DIR --task ID --create -q -- sh -c SCRIPT`; its exit status. */
static int run_task(const char *id, const char *script)
{
        return tc_run(NULL, "--dir '%s' --task %s --create -q -- sh -c '%s' >/dev/null 2>&1", dir,
                      id, script);
}

Test(wait_outcome, a_completed_run_says_exit_0_and_its_duration)
{
        char *out;

        cr_assert_eq(run_task("1", "exit 0"), 0);
        cr_expect_eq(tc_run(&out, "wait --dir '%s' 1", dir), 0);
        cr_expect(strncmp(out, "1: completed (exit 0, ", 22) == 0, "%s", out);
        cr_expect(strstr(out, "s)\n") != NULL, "%s", out);
        free(out);
}

Test(wait_outcome, a_failed_run_says_exit_code_and_last_line_and_exits_1)
{
        char *out;

        cr_assert_eq(run_task("1", "echo first; echo boom; exit 2"), 2);
        cr_expect_eq(tc_run(&out, "wait --dir '%s' 1", dir), 1);
        cr_expect(strncmp(out, "1: failed (exit 2, ", 19) == 0, "%s", out);
        cr_expect(strstr(out, "): boom\n") != NULL, "%s", out);
        free(out);
}

Test(wait_outcome, a_timed_out_run_says_so)
{
        char *out;

        cr_assert_eq(
            tc_run(NULL, "--dir '%s' --task 1 --create -q --timeout 0.2 -- sleep 5 2>&1", dir),
            124);
        cr_expect_eq(tc_run(&out, "wait --dir '%s' 1", dir), 1);
        cr_expect(strncmp(out, "1: timed out (SIGTERM, ", 23) == 0, "%s", out);
        free(out);
}

Test(wait_outcome, json_gives_one_object_per_task)
{
        char *out;

        cr_assert_eq(run_task("1", "exit 0"), 0);
        cr_assert_eq(run_task("2", "echo why; exit 3"), 3);
        cr_expect_eq(tc_run(&out, "wait --json --dir '%s' 1 2", dir), 1);
        char *second = strchr(out, '\n');
        cr_assert_not_null(second);
        *second++ = '\0';
        json_object *a = json_tokener_parse(out), *b = json_tokener_parse(second);
        cr_assert_not_null(a, "%s", out);
        cr_assert_not_null(b, "%s", second);
        cr_expect_str_eq(th_get_string(a, "state"), "completed");
        cr_expect_eq(json_object_get_int(th_get(a, "exit_code")), 0);
        cr_expect_str_eq(th_get_string(b, "state"), "failed");
        cr_expect_eq(json_object_get_int(th_get(b, "exit_code")), 3);
        cr_expect_str_eq(th_get_string(b, "last_line"), "why");
        cr_expect_str_eq(th_get_string(b, "source"), "task");
        cr_expect(json_object_get_boolean(th_get(b, "done")));
        json_object_put(a);
        json_object_put(b);
        free(out);
}

Test(wait_outcome, its_own_timeout_lists_what_still_runs_and_exits_124)
{
        char *out;

        tc_write_task(dir, "1",
                      "{\"id\": \"1\", \"subject\": \"s\", \"description\": \"\", \"status\": "
                      "\"in_progress\", \"blocks\": [], \"blockedBy\": []}");
        cr_expect_eq(tc_run(&out, "wait --timeout 0.1 --dir '%s' 1 2>/dev/null", dir), 124);
        cr_expect(strncmp(out, "1: in_progress (wait timed out)", 31) == 0, "%s", out);
        free(out);
}

Test(wait_outcome, in_a_claude_shell_the_default_timeout_is_under_the_tool_timeout)
{
        char *out;
        long long t0 = th_now_ms();

        tc_write_task(dir, "1",
                      "{\"id\": \"1\", \"subject\": \"s\", \"description\": \"\", \"status\": "
                      "\"pending\", \"blocks\": [], \"blockedBy\": []}");
        /* A 2 s tool timeout leaves a default of 1 s. */
        char cmd[2048];
        snprintf(cmd, sizeof cmd,
                 "CLAUDECODE=1 BASH_DEFAULT_TIMEOUT_MS=2000 '%s' wait --dir '%s' 1 2>/dev/null",
                 TASKRUN_BIN, dir);
        cr_expect_eq(th_run(cmd, &out), 124);
        cr_expect_lt(th_now_ms() - t0, 10000);
        free(out);
}

/* Wait (bounded) until task id of dir says running with a pid; returns the pid. */
static pid_t wait_for_running(const char *id)
{
        for (int i = 0; i < 1000; i++) {
                char path[PATH_MAX];
                tc_task_path(path, sizeof path, dir, id);
                json_object *t = th_read_json(path);
                const char *state = t ? th_get_string(t, "metadata.taskrun.state") : NULL;
                json_object *pid = t ? th_get(t, "metadata.taskrun.pid") : NULL;
                pid_t p = pid ? (pid_t)json_object_get_int(pid) : 0;
                int running = state && strcmp(state, "running") == 0 && p > 0;
                json_object_put(t);
                if (running)
                        return p;
                th_sleep_ms(10);
        }
        cr_assert_fail("task %s never said running", id);
        return -1;
}

Test(wait_outcome, no_id_waits_for_every_running_task_that_taskrun_started)
{
        char go[PATH_MAX + 8], script[PATH_MAX + 128];
        const char *args[] = {"wait", "--timeout", "30", "--dir", dir, NULL};

        snprintf(go, sizeof go, "%s/go", dir);
        snprintf(script, sizeof script,
                 "i=0; while [ ! -e \"%s\" ] && [ $i -lt 2000 ]; do sleep 0.01; i=$((i+1)); done",
                 go);
        cr_assert_eq(tc_run(NULL, "--dir '%s' --detach -- sh -c '%s' >/dev/null 2>&1", dir, script),
                     0);
        cr_assert_eq(tc_run(NULL, "--dir '%s' --detach -- sh -c '%s' >/dev/null 2>&1", dir, script),
                     0);
        /* A task nobody runs is not waited for. */
        tc_write_task(dir, "9",
                      "{\"id\": \"9\", \"subject\": \"s\", \"description\": \"\", \"status\": "
                      "\"in_progress\", \"blocks\": [], \"blockedBy\": []}");
        wait_for_running("1");
        wait_for_running("2");
        char out[PATH_MAX + 8];
        snprintf(out, sizeof out, "%s/out", dir);
        pid_t pid = tc_spawn(out, args);
        th_sleep_ms(150);
        int status;
        cr_assert(!tc_exited(pid, &status), "wait returned early with %d", status);
        th_write_file(go, "");
        cr_expect_eq(tc_reap(pid, NULL), 0);
        char *text = th_read_file(out, NULL);
        cr_expect(strstr(text, "1: completed") != NULL && strstr(text, "2: completed") != NULL,
                  "%s", text);
        cr_expect(strstr(text, "9:") == NULL, "%s", text);
        free(text);
}

/*
 * A run whose supervisor died by SIGKILL. This test process becomes a child
 * subreaper, so the orphaned command becomes its child (to end and reap by
 * pid); a child killed and not reaped stays a zombie, as under a pid 1 that
 * does not reap.
 */
struct orphan {
        pid_t supervisor, command;
};

static struct orphan start_run(void)
{
        const char *args[] = {"--dir", dir,  "--task", "1",  "--create",
                              "-q",    "--", "sleep",  "30", NULL};
        struct orphan o;

        cr_assert_eq(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
        o.supervisor = tc_spawn(NULL, args);
        o.command = wait_for_running("1");
        return o;
}

static char proc_state(pid_t pid)
{
        char path[64], *text, *close;
        char state = '?';

        snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
        if ((text = th_read_file(path, NULL)) == NULL)
                return '?';
        if ((close = strrchr(text, ')')) != NULL && close[1] == ' ')
                state = close[2];
        free(text);
        return state;
}

static void expect_zombie(pid_t pid)
{
        for (int i = 0; i < 500 && proc_state(pid) != 'Z'; i++)
                th_sleep_ms(10);
        cr_assert_eq(proc_state(pid), 'Z', "%d is not a zombie", (int)pid);
}

/* End and reap the orphaned command (now this process's child). */
static void end_command(pid_t command)
{
        kill(command, SIGKILL);
        tc_reap(command, NULL);
}

static void expect_seen_as_lost_by_readers(const char *why)
{
        char *out, path[PATH_MAX];
        struct th_snapshot snap;

        tc_task_path(path, sizeof path, dir, "1");
        th_snapshot_take(path, &snap);
        cr_expect_eq(tc_run(&out, "list --dir '%s'", dir), 0);
        cr_expect(strstr(out, "lost") != NULL, "list: %s", out);
        free(out);
        cr_expect_eq(tc_run(&out, "show --dir '%s' 1", dir), 0);
        cr_expect(strstr(out, "state:       lost") != NULL, "show: %s", out);
        cr_expect(strstr(out, why) != NULL, "show: %s", out);
        free(out);
        th_snapshot_assert_same(path, &snap); /* readers never write */
        cr_expect_eq(tc_run(&out, "wait --timeout 20 --dir '%s' 1", dir), 3);
        cr_expect(strncmp(out, "1: lost (", 9) == 0, "wait: %s", out);
        cr_expect(strstr(out, why) != NULL, "wait: %s", out);
        free(out);
        cr_expect_eq(tc_run(&out, "reap --dir '%s'", dir), 0);
        cr_expect(strstr(out, "1: lost") != NULL, "reap: %s", out);
        free(out);
        json_object *t = tc_read_task(dir, "1");
        cr_expect_str_eq(th_get_string(t, "metadata.taskrun.state"), "lost");
        json_object_put(t);
}

Test(wait_outcome, a_supervisor_killed_and_reaped_is_lost_everywhere)
{
        struct orphan o = start_run();

        cr_assert_eq(kill(o.supervisor, SIGKILL), 0);
        cr_assert_eq(tc_reap(o.supervisor, NULL), 128 + SIGKILL);
        expect_seen_as_lost_by_readers("is gone");
        end_command(o.command);
}

Test(wait_outcome, a_zombie_supervisor_is_lost_everywhere)
{
        struct orphan o = start_run();

        cr_assert_eq(kill(o.supervisor, SIGKILL), 0);
        expect_zombie(o.supervisor);
        expect_seen_as_lost_by_readers("zombie");
        tc_reap(o.supervisor, NULL);
        end_command(o.command);
}

/* A record without supervisor_pid (older taskrun) is judged by its command: here a zombie. */
Test(wait_outcome, a_zombie_command_of_an_old_record_is_lost_everywhere)
{
        char host[256], boot[64], text[2048];
        unsigned long long ticks;
        pid_t child = fork();

        cr_assert_neq(child, -1);
        if (child == 0)
                _exit(0);
        expect_zombie(child);
        cr_assert_eq(tr_proc_start_ticks(child, &ticks), 0);
        cr_assert_eq(tr_hostname(host, sizeof host), 0);
        if (tr_boot_id(boot, sizeof boot) == -1)
                boot[0] = '\0';
        snprintf(text, sizeof text,
                 "{\"id\": \"1\", \"subject\": \"s\", \"description\": \"\", \"status\": "
                 "\"in_progress\", \"blocks\": [], \"blockedBy\": [], \"metadata\": {\"taskrun\": "
                 "{\"state\": \"running\", \"argv\": [\"x\"], \"pid\": %d, \"host\": \"%s\", "
                 "\"boot_id\": \"%s\", \"start_time_ticks\": %llu, \"started_at\": "
                 "\"2026-01-01T00:00:00.000Z\"}}}",
                 (int)child, host, boot, ticks);
        tc_write_task(dir, "1", text);
        expect_seen_as_lost_by_readers("zombie");
        tc_reap(child, NULL);
}

Test(wait_outcome, a_waiter_wakes_when_the_supervisor_is_killed)
{
        const char *args[] = {"wait", "--timeout", "30", "--dir", dir, "1", NULL};
        struct orphan o = start_run();
        pid_t waiter = tc_spawn(NULL, args);
        int status;

        th_sleep_ms(200);
        cr_assert(!tc_exited(waiter, &status), "wait returned early with %d", status);
        cr_assert_eq(kill(o.supervisor, SIGKILL), 0);
        long long t0 = th_now_ms();
        cr_expect_eq(tc_reap(waiter, NULL), 3);
        cr_expect_lt(th_now_ms() - t0, 5000);
        tc_reap(o.supervisor, NULL);
        end_command(o.command);
}
