/* taskrun wait: woken by the task file changing, not by polling; exit status from the tasks. */
#include <sys/stat.h>

#include "taskrun/store.h"

#include "cmd_helpers.h"

static char dir[512];

static void add_task(const char *id, const char *status)
{
        char text[512];

        snprintf(text, sizeof text,
                 "{\n  \"id\": \"%s\",\n  \"subject\": \"s\",\n  \"description\": \"\",\n"
                 "  \"status\": \"%s\",\n  \"blocks\": [],\n  \"blockedBy\": []\n}",
                 id, status);
        tc_write_task(dir, id, text);
}

static void setup(void)
{
        th_tmpdir(dir, sizeof dir);
        add_task("1", "pending");
        add_task("2", "pending");
}

static void teardown(void)
{
        th_rmtree(dir);
}

TestSuite(cmd_wait, .init = setup, .fini = teardown, .timeout = 60);

/* Another process's update through the store: lock, merge, atomic rename. */
static void patch(const char *id, const char *json)
{
        struct tr_store_opts o = {.dir = dir, .lock_timeout_ms = -1};
        struct tr_store s;
        struct tr_task_ref ref;
        struct tr_err e;
        json_object *p = json_tokener_parse(json);

        cr_assert_not_null(p, "bad patch %s", json);
        cr_assert_eq(tr_store_open(&s, &o, 0, NULL, &e), 0, "%s", e.msg);
        cr_assert_eq(tr_store_ref(&s, id, &ref, &e), 0, "%s", e.msg);
        cr_assert_eq(tr_task_patch(&s, &ref, p, &e), 0, "%s", e.msg);
        json_object_put(p);
}

/*
 * Start `taskrun wait --dir DIR a b c d` (up to the first NULL). Unless the
 * test gives its own --timeout, with --timeout 30: a waiter that the test
 * never wakes, or leaves behind when it fails, ends by itself.
 */
static pid_t spawn_wait(const char *a, const char *b, const char *c, const char *d)
{
        const char *given[] = {a, b, c, d, NULL};
        const char *args[12] = {"wait", "--dir", dir};
        int n = 3, timed = 0;

        for (int i = 0; given[i] != NULL; i++)
                if (strcmp(given[i], "--timeout") == 0 || strncmp(given[i], "--timeout=", 10) == 0)
                        timed = 1;
        if (!timed) {
                args[n++] = "--timeout";
                args[n++] = "30";
        }
        for (int i = 0; given[i] != NULL; i++)
                args[n++] = given[i];
        args[n] = NULL;
        return tc_spawn(NULL, args);
}

/* Give the waiter time to start and block; it must not have returned. */
static void expect_still_waiting(pid_t pid, long ms)
{
        int status;

        th_sleep_ms(ms);
        cr_assert(!tc_exited(pid, &status), "wait returned early with %d", status);
}

/* What starting and reaping a taskrun costs here (median of 3, ms): ASan makes it tens of ms. */
static long long launch_ms(void)
{
        const char *args[] = {"--version", NULL};
        long long t[3];

        for (int i = 0; i < 3; i++) {
                long long t0 = th_now_ms();
                cr_assert_eq(tc_reap(tc_spawn(NULL, args), NULL), 0);
                t[i] = th_now_ms() - t0;
        }
        qsort(t, 3, sizeof t[0], tc_cmp_ll);
        return t[1];
}

/*
 * Woken by the change, not by a poll: within 100 ms beyond what a taskrun's
 * own start and exit cost on this machine (a poll of even 1 s would miss it).
 */
Test(cmd_wait, wakes_within_100ms_of_the_task_completing)
{
        long long lat[5], floor_ms = launch_ms();

        for (int i = 0; i < 5; i++) {
                char id[8];
                snprintf(id, sizeof id, "l%d", i);
                add_task(id, "pending");
                pid_t pid = spawn_wait("-q", id, NULL, NULL);
                expect_still_waiting(pid, 200);
                long long t0 = th_now_ms();
                patch(id, "{\"status\": \"completed\"}");
                cr_assert_eq(tc_reap(pid, NULL), 0);
                lat[i] = th_now_ms() - t0;
        }
        qsort(lat, 5, sizeof lat[0], tc_cmp_ll);
        cr_log_info("wait wake-up latency ms: min %lld median %lld max %lld (launch %lld)", lat[0],
                    lat[2], lat[4], floor_ms);
        cr_expect_lt(lat[2], 100 + floor_ms, "median latency %lld ms (a launch takes %lld ms)",
                     lat[2], floor_ms);
        cr_expect_lt(lat[4], 1000, "max latency %lld ms", lat[4]);
}

static long long cpu_us(const struct rusage *ru)
{
        return (long long)(ru->ru_utime.tv_sec + ru->ru_stime.tv_sec) * 1000000 +
               ru->ru_utime.tv_usec + ru->ru_stime.tv_usec;
}

#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZED 1
#endif
#endif

Test(cmd_wait, uses_no_cpu_while_waiting)
{
        struct rusage ru, base;
        pid_t pid;

        /* What starting and exiting costs: a wait on a task that is already done. */
        add_task("3", "completed");
        pid = spawn_wait("-q", "3", NULL, NULL);
        cr_assert_eq(tc_reap(pid, &base), 0);

        pid = spawn_wait("-q", "1", NULL, NULL);
        long long t0 = th_now_ms();
        expect_still_waiting(pid, 1000);
        patch("1", "{\"status\": \"completed\"}");
        cr_assert_eq(tc_reap(pid, &ru), 0);
        long long elapsed = th_now_ms() - t0;
        cr_log_info("wait: %lld us CPU over %lld ms (start and exit alone: %lld us)", cpu_us(&ru),
                    elapsed, cpu_us(&base));
        cr_expect_geq(elapsed, 1000);
#ifdef SANITIZED
        /* ASan's bookkeeping costs CPU of its own, more so on a loaded machine. */
        cr_expect_lt(cpu_us(&ru) - cpu_us(&base), 50000, "waiting used %lld us of CPU",
                     cpu_us(&ru) - cpu_us(&base));
#else
        cr_expect_lt(cpu_us(&ru) - cpu_us(&base), 20000, "waiting used %lld us of CPU",
                     cpu_us(&ru) - cpu_us(&base));
        cr_expect_lt(cpu_us(&ru), 20000, "wait used %lld us of CPU in %lld ms", cpu_us(&ru),
                     elapsed);
#endif
}

Test(cmd_wait, keeps_watching_after_the_file_is_replaced)
{
        pid_t pid = spawn_wait("-q", "1", NULL, NULL);

        expect_still_waiting(pid, 150);
        patch("1", "{\"status\": \"in_progress\"}");
        expect_still_waiting(pid, 150);
        patch("1", "{\"metadata\": {\"taskrun\": {\"state\": \"running\"}}}");
        expect_still_waiting(pid, 150);
        long long t0 = th_now_ms();
        patch("1", "{\"status\": \"completed\"}");
        cr_expect_eq(tc_reap(pid, NULL), 0);
        cr_expect_lt(th_now_ms() - t0, 500);
}

Test(cmd_wait, wakes_on_an_in_place_write_as_claude_does_it)
{
        pid_t pid = spawn_wait("-q", "1", NULL, NULL);

        expect_still_waiting(pid, 150);
        long long t0 = th_now_ms();
        add_task("1", "completed"); /* fopen "w": truncate and rewrite the same inode */
        cr_expect_eq(tc_reap(pid, NULL), 0);
        cr_expect_lt(th_now_ms() - t0, 500);
}

Test(cmd_wait, a_failed_run_exits_1_and_says_so)
{
        char out[PATH_MAX];
        const char *args[] = {"wait", "--timeout", "30", "--dir", dir, "1", NULL};
        pid_t pid;

        snprintf(out, sizeof out, "%s/out", dir);
        pid = tc_spawn(out, args);
        expect_still_waiting(pid, 150);
        patch("1", "{\"metadata\": {\"taskrun\": {\"state\": \"failed\", \"exit_code\": 2}}}");
        cr_expect_eq(tc_reap(pid, NULL), 1);
        char *text = th_read_file(out, NULL);
        cr_expect_str_eq(text, "1: failed (exit 2)\n");
        free(text);
}

Test(cmd_wait, every_final_state_counts_as_done)
{
        const char *states[] = {"completed", "failed", "timed_out", "killed", "lost"};

        for (int i = 0; i < 5; i++) {
                char json[128];
                snprintf(json, sizeof json, "{\"metadata\": {\"taskrun\": {\"state\": \"%s\"}}}",
                         states[i]);
                patch("1", json);
                cr_expect_eq(tc_run(NULL, "wait -q --timeout 2 --dir '%s' 1", dir),
                             i == 0   ? 0
                             : i == 4 ? 3
                                      : 1,
                             "state %s", states[i]);
        }
        patch("1", "{\"metadata\": {\"taskrun\": {\"state\": \"running\"}}}");
        cr_expect_eq(tc_run(NULL, "wait -q --timeout 0.1 --dir '%s' 1 2>/dev/null", dir), 124);
}

Test(cmd_wait, waits_for_all_tasks)
{
        pid_t pid = spawn_wait("-q", "1", "2", NULL);

        expect_still_waiting(pid, 150);
        patch("1", "{\"status\": \"completed\"}");
        expect_still_waiting(pid, 200);
        patch("2", "{\"status\": \"completed\"}");
        cr_expect_eq(tc_reap(pid, NULL), 0);
}

Test(cmd_wait, all_tasks_one_failed_exits_1)
{
        pid_t pid = spawn_wait("-q", "1", "2", NULL);

        expect_still_waiting(pid, 150);
        patch("1", "{\"metadata\": {\"taskrun\": {\"state\": \"killed\"}}}");
        expect_still_waiting(pid, 200);
        patch("2", "{\"status\": \"completed\"}");
        cr_expect_eq(tc_reap(pid, NULL), 1);
}

Test(cmd_wait, any_returns_with_the_first_done)
{
        pid_t pid = spawn_wait("--any", "-q", "1", "2");

        expect_still_waiting(pid, 150);
        patch("2", "{\"status\": \"completed\"}");
        cr_expect_eq(tc_reap(pid, NULL), 0);

        patch("2", "{\"status\": \"pending\"}");
        pid = spawn_wait("--any", "-q", "1", "2");
        expect_still_waiting(pid, 150);
        patch("1", "{\"metadata\": {\"taskrun\": {\"state\": \"timed_out\"}}}");
        cr_expect_eq(tc_reap(pid, NULL), 1);
}

Test(cmd_wait, timeout_exits_124)
{
        char *err;
        long long t0 = th_now_ms();

        cr_expect_eq(tc_run(&err, "wait --timeout 0.3 --dir '%s' 1 2 2>&1", dir), 124);
        long long took = th_now_ms() - t0;
        cr_expect_geq(took, 300);
        cr_expect_lt(took, 1000);
        cr_expect(strstr(err, "timed out; not done: 1 2") != NULL, "stderr: %s", err);
        free(err);
}

Test(cmd_wait, a_task_already_done_returns_at_once)
{
        char *out;

        add_task("3", "completed");
        cr_expect_eq(tc_run(&out, "wait --timeout 5 --dir '%s' 3", dir), 0);
        cr_expect_str_eq(out, "3: completed\n");
        free(out);
}

Test(cmd_wait, a_missing_task_is_gone_and_exits_3)
{
        char *err;

        patch("1", "{\"status\": \"completed\"}");
        cr_expect_eq(tc_run(&err, "wait --timeout 5 --dir '%s' 1 42 2>&1", dir), 3);
        cr_expect(strstr(err, "taskrun: wait: task 42: not found") != NULL, "stderr: %s", err);
        cr_expect(strstr(err, "42: gone (no such task") != NULL, "stdout: %s", err);
        free(err);
}

Test(cmd_wait, wait_missing_waits_for_the_task_to_appear)
{
        pid_t pid = spawn_wait("-q", "--wait-missing", "7", NULL);

        expect_still_waiting(pid, 200);
        add_task("7", "pending");
        expect_still_waiting(pid, 200);
        long long t0 = th_now_ms();
        patch("7", "{\"status\": \"completed\"}");
        cr_expect_eq(tc_reap(pid, NULL), 0);
        cr_expect_lt(th_now_ms() - t0, 500);
}

Test(cmd_wait, a_task_deleted_while_waited_for_exits_3)
{
        char path[PATH_MAX];
        pid_t pid = spawn_wait("-q", "1", NULL, NULL);

        expect_still_waiting(pid, 150);
        tc_task_path(path, sizeof path, dir, "1");
        cr_assert_eq(unlink(path), 0);
        cr_expect_eq(tc_reap(pid, NULL), 3);
}

Test(cmd_wait, plain_file_failed_status_exits_1)
{
        char path[PATH_MAX];

        tc_task_path(path, sizeof path, dir, "1");
        pid_t pid =
            tc_spawn(NULL, (const char *[]){"wait", "-q", "--timeout", "30", "--file", path, NULL});
        expect_still_waiting(pid, 150);
        cr_assert_eq(tc_run(NULL, "update --file '%s' --status failed", path), 0);
        cr_expect_eq(tc_reap(pid, NULL), 1);
}

Test(cmd_wait, needs_a_valid_timeout)
{
        cr_expect_eq(tc_run(NULL, "wait --dir '%s' --timeout soon 1 2>/dev/null", dir), 2);
}

Test(cmd_wait, no_id_and_nothing_running_returns_0_at_once)
{
        char *err;

        cr_expect_eq(tc_run(&err, "wait --dir '%s' 2>&1", dir), 0);
        cr_expect(strstr(err, "no running task") != NULL, "stderr: %s", err);
        free(err);
}
