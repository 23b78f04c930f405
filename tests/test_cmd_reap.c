/* taskrun reap: running tasks whose process is gone become lost; live and foreign ones stay. */
#include <sys/stat.h>

#include "taskrun/procinfo.h"
#include "../src/report.h"

#include "cmd_helpers.h"

static char dir[512];
static char host[256], boot_id[64];
static pid_t sleeper = -1;

static void setup(void)
{
        th_tmpdir(dir, sizeof dir);
        cr_assert_eq(tr_hostname(host, sizeof host), 0);
        cr_assert_eq(tr_boot_id(boot_id, sizeof boot_id), 0);
}

static void teardown(void)
{
        tc_end_child(sleeper);
        th_rmtree(dir);
}

TestSuite(cmd_reap, .init = setup, .fini = teardown, .timeout = 60);

/* A task that says it is running as pid on host, started at ticks. */
static void add_running(const char *id, const char *on_host, long long pid,
                        unsigned long long ticks)
{
        char text[2048];

        snprintf(text, sizeof text,
                 "{\n  \"id\": \"%s\",\n  \"subject\": \"s\",\n"
                 "  \"description\": \"the work\\n\\n--- taskrun ---\\nan old result\",\n"
                 "  \"status\": \"in_progress\",\n  \"blocks\": [],\n  \"blockedBy\": [],\n"
                 "  \"extra\": 1,\n"
                 "  \"metadata\": {\n    \"other\": true,\n    \"taskrun\": {\n"
                 "      \"state\": \"running\",\n      \"argv\": [\"sleep\", \"100\"],\n"
                 "      \"pid\": %lld,\n      \"host\": \"%s\",\n      \"boot_id\": \"%s\",\n"
                 "      \"start_time_ticks\": %llu,\n      \"last_line\": \"half way\"\n"
                 "    }\n  }\n}",
                 id, pid, on_host, boot_id, ticks);
        tc_write_task(dir, id, text);
}

/* The pid of a process that has exited and been reaped. */
static pid_t dead_pid(void)
{
        pid_t pid = fork();

        cr_assert_neq(pid, -1);
        if (pid == 0)
                _exit(0);
        waitpid(pid, NULL, 0);
        return pid;
}

static void expect_lost(const char *id)
{
        json_object *task = tc_read_task(dir, id);
        const char *desc = th_get_string(task, "description");

        cr_expect_str_eq(th_get_string(task, "metadata.taskrun.state"), "lost");
        cr_expect_not_null(th_get_string(task, "metadata.taskrun.ended_at"));
        cr_expect_str_eq(th_get_string(task, "status"), "in_progress", "status must stay");
        cr_expect_not_null(th_get(task, "extra"), "foreign field dropped");
        cr_expect_not_null(th_get(task, "metadata.other"), "metadata key dropped");
        cr_assert_not_null(desc);
        cr_expect_eq(
            strncmp(desc, "the work" TR_RESULT_MARK "lost: ", 8 + strlen(TR_RESULT_MARK) + 6), 0,
            "description: %s", desc);
        cr_expect(strstr(desc, "an old result") == NULL, "old result block kept: %s", desc);
        cr_expect(strstr(desc, "half way") != NULL, "no last line: %s", desc);
        json_object_put(task);
}

static void expect_untouched(const char *id, struct th_snapshot *snap)
{
        char path[PATH_MAX];

        tc_task_path(path, sizeof path, dir, id);
        th_snapshot_assert_same(path, snap);
}

static void snapshot(const char *id, struct th_snapshot *snap)
{
        char path[PATH_MAX];

        tc_task_path(path, sizeof path, dir, id);
        th_snapshot_take(path, snap);
}

Test(cmd_reap, marks_a_task_with_a_dead_pid_lost)
{
        char *out;

        add_running("1", host, dead_pid(), 12345);
        cr_assert_eq(tc_run(&out, "reap --dir '%s'", dir), 0);
        cr_expect(strstr(out, "1: lost (process ") != NULL, "output: %s", out);
        expect_lost("1");
        free(out);
}

Test(cmd_reap, marks_a_reused_pid_lost)
{
        unsigned long long ticks;
        pid_t pid = sleeper = tc_sleeper(&ticks);
        char *out;

        add_running("1", host, pid, ticks + 1);
        cr_assert_eq(tc_run(&out, "reap --dir '%s'", dir), 0);
        cr_expect(strstr(out, "start time differs") != NULL, "output: %s", out);
        expect_lost("1");
        free(out);
}

Test(cmd_reap, marks_a_task_from_an_earlier_boot_lost)
{
        char text[1024];

        snprintf(text, sizeof text,
                 "{\"id\": \"1\", \"subject\": \"s\", \"description\": \"\", \"status\": "
                 "\"in_progress\", \"blocks\": [], \"blockedBy\": [], \"metadata\": {\"taskrun\": "
                 "{\"state\": \"running\", \"pid\": %d, \"host\": \"%s\", \"boot_id\": \"old\"}}}",
                 (int)getpid(), host);
        tc_write_task(dir, "1", text);
        cr_assert_eq(tc_run(NULL, "reap --dir '%s' >/dev/null", dir), 0);
        json_object *task = tc_read_task(dir, "1");
        cr_expect_str_eq(th_get_string(task, "metadata.taskrun.state"), "lost");
        json_object_put(task);
}

Test(cmd_reap, leaves_a_live_task_alone)
{
        unsigned long long ticks;
        pid_t pid = sleeper = tc_sleeper(&ticks);
        struct th_snapshot snap;
        char *out;

        add_running("1", host, pid, ticks);
        snapshot("1", &snap);
        cr_assert_eq(tc_run(&out, "reap --dir '%s'", dir), 0);
        cr_expect_str_eq(out, "");
        expect_untouched("1", &snap);
        free(out);
}

Test(cmd_reap, leaves_another_hosts_task_alone)
{
        struct th_snapshot snap;
        char *out;

        add_running("1", "some-other-host", dead_pid(), 1);
        snapshot("1", &snap);
        cr_assert_eq(tc_run(&out, "reap --dir '%s'", dir), 0);
        cr_expect(strstr(out, "1: left alone (runs on host some-other-host)") != NULL, "%s", out);
        expect_untouched("1", &snap);
        free(out);
}

Test(cmd_reap, leaves_tasks_that_are_not_running_alone)
{
        struct th_snapshot snap;

        tc_write_task(
            dir, "1",
            "{\"id\": \"1\", \"subject\": \"s\", \"description\": \"\", \"status\": "
            "\"completed\", \"blocks\": [], \"blockedBy\": [], \"metadata\": {\"taskrun\": "
            "{\"state\": \"completed\", \"pid\": 1, \"host\": \"x\"}}}");
        tc_write_task(dir, "2",
                      "{\"id\": \"2\", \"subject\": \"s\", \"description\": \"\", \"status\": "
                      "\"pending\", \"blocks\": [], \"blockedBy\": []}");
        snapshot("1", &snap);
        cr_assert_eq(tc_run(NULL, "reap --dir '%s'", dir), 0);
        expect_untouched("1", &snap);
}

Test(cmd_reap, dry_run_changes_nothing)
{
        struct th_snapshot snap;
        char *out;

        add_running("1", host, dead_pid(), 12345);
        snapshot("1", &snap);
        cr_assert_eq(tc_run(&out, "reap --dry-run --dir '%s'", dir), 0);
        cr_expect(strstr(out, "1: would mark lost (process ") != NULL, "output: %s", out);
        expect_untouched("1", &snap);
        cr_expect_eq(th_count_lockdirs(dir), 0);
        free(out);
}

Test(cmd_reap, a_reaped_task_is_not_reaped_again)
{
        char *out;

        add_running("1", host, dead_pid(), 12345);
        cr_assert_eq(tc_run(NULL, "reap --dir '%s' >/dev/null", dir), 0);
        struct th_snapshot snap;
        snapshot("1", &snap);
        cr_assert_eq(tc_run(&out, "reap --dir '%s'", dir), 0);
        cr_expect_str_eq(out, "");
        expect_untouched("1", &snap);
        free(out);
}

Test(cmd_reap, a_plain_file_task_becomes_failed)
{
        char path[PATH_MAX], text[1024];

        snprintf(path, sizeof path, "%s/job.json", dir);
        snprintf(text, sizeof text,
                 "{\"status\": \"in_progress\", \"state\": \"running\", \"pid\": %d, "
                 "\"host\": \"%s\", \"boot_id\": \"%s\"}",
                 (int)dead_pid(), host, boot_id);
        th_write_file(path, text);
        cr_assert_eq(tc_run(NULL, "reap --file '%s' >/dev/null", path), 0);
        json_object *task = th_read_json(path);
        cr_expect_str_eq(th_get_string(task, "status"), "failed");
        cr_expect_str_eq(th_get_string(task, "state"), "lost");
        json_object_put(task);
}

Test(cmd_reap, stray_argument_is_a_usage_error)
{
        cr_expect_eq(tc_run(NULL, "reap --dir '%s' 1 2>/dev/null", dir), 2);
}

static void add_temp_file(const char *name, int age_s)
{
        char path[1024];
        struct timespec t[2];

        snprintf(path, sizeof path, "%s/%s", dir, name);
        th_write_file(path, "{\"half\": ");
        clock_gettime(CLOCK_REALTIME, &t[0]);
        t[0].tv_sec -= age_s;
        t[1] = t[0];
        cr_assert_eq(utimensat(AT_FDCWD, path, t, 0), 0);
}

Test(cmd_reap, removes_temp_files_orphaned_by_a_killed_writer)
{
        char *out = NULL;

        add_temp_file(".1.json.tmp.AbC123", 11 * 60);
        add_temp_file(".2.json.tmp.XyZ789", 5); /* may be a write in progress */
        cr_assert_eq(tc_run(&out, "reap --dir '%s' --dry-run", dir), 0);
        cr_expect(strstr(out, "would remove 1 orphaned temp file") != NULL, "%s", out);
        cr_expect_eq(th_count(dir, ".*.tmp.*"), 2, "dry run removed something");
        free(out);
        cr_assert_eq(tc_run(&out, "reap --dir '%s'", dir), 0);
        cr_expect(strstr(out, "removed 1 orphaned temp file") != NULL, "%s", out);
        cr_expect_eq(th_count(dir, ".1.json.tmp.*"), 0, "the old temp file is still there");
        cr_expect_eq(th_count(dir, ".2.json.tmp.*"), 1, "a fresh temp file was removed");
        free(out);
}
