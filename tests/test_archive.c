/*
 * The run archive: a run's result outlives its task file. Claude Code deletes
 * a list's task files once all its tasks are completed; wait, show and logs
 * then answer from taskrun's own record and say so. A later run with the same
 * list and id is never taken for an earlier one, and the archive stays bounded
 * (the newest TR_ARCHIVE_KEEP per list, taskrun gc).
 */
#include <sys/stat.h>

#include "cmd_helpers.h"
#include "taskrun/clock.h"

static char tmp[PATH_MAX], list[PATH_MAX + 32];

static void setup(void)
{
        th_tmpdir(tmp, sizeof tmp);
        unsetenv("CLAUDECODE");
        unsetenv("CLAUDE_CODE_TASK_LIST_ID");
        unsetenv("CLAUDE_CODE_SESSION_ID");
        setenv("HOME", tmp, 1);
        setenv("CLAUDE_CONFIG_DIR", th_at(tmp, "cfg"), 1);
        setenv("XDG_STATE_HOME", th_at(tmp, "state"), 1);
        snprintf(list, sizeof list, "%s/cfg/tasks/L", tmp);
}

static void teardown(void)
{
        th_rmtree(tmp);
}

TestSuite(archive, .init = setup, .fini = teardown, .timeout = 60);

/* The archive directory of list L, and how many records it holds. */
static int archived_runs(void)
{
        char runs[PATH_MAX + 64], cmd[PATH_MAX * 2], *out;
        int n;

        snprintf(runs, sizeof runs, "%s/state/taskrun/runs", tmp);
        snprintf(cmd, sizeof cmd, "ls '%s'/L-*/ 2>/dev/null | grep -c '\\.json$'", runs);
        th_run(cmd, &out);
        n = out ? atoi(out) : 0;
        free(out);
        return n;
}

static void remove_task(const char *id)
{
        char path[PATH_MAX];

        tc_task_path(path, sizeof path, list, id);
        cr_assert_eq(unlink(path), 0, "unlink %s", path);
}

Test(archive, a_waited_task_whose_file_is_deleted_after_completing_reports_its_real_exit_code)
{
        char *out, *err;
        char cmd[PATH_MAX * 2];

        cr_assert_eq(tc_run(NULL, "--list L -- sh -c 'echo boom; exit 3' >/dev/null 2>&1"), 3);
        cr_expect_eq(archived_runs(), 1);
        remove_task("1"); /* as Claude Code's reset does */
        cr_expect_eq(tc_run(&out, "wait --list L 1"), 1, "failed run: status 1");
        cr_expect(strncmp(out, "1: failed (exit 3, ", 19) == 0, "%s", out);
        cr_expect(strstr(out, "run archive") != NULL, "the line says where it came from: %s", out);
        cr_expect(strstr(out, ": boom\n") != NULL, "%s", out);
        free(out);
        snprintf(cmd, sizeof cmd, "'%s' wait --list L 1 2>&1 >/dev/null", TASKRUN_BIN);
        th_run(cmd, &err);
        cr_expect(err && strstr(err, "taskrun: wait: task 1: its file is gone; answered from "
                                     "taskrun's run archive") != NULL,
                  "stderr: %s", err);
        free(err);
        cr_expect_eq(tc_run(&out, "wait --json --list L 1 2>/dev/null"), 1);
        json_object *o = json_tokener_parse(out);
        cr_assert_not_null(o, "%s", out);
        cr_expect_str_eq(th_get_string(o, "source"), "archive");
        cr_expect_eq(json_object_get_int(th_get(o, "exit_code")), 3);
        json_object_put(o);
        free(out);
}

Test(archive, a_waiter_whose_task_file_is_deleted_mid_run_reports_the_real_exit_code)
{
        char *id, out_path[PATH_MAX + 16], *out;
        pid_t waiter;

        cr_assert_eq(tc_run(&id, "--list L --detach -- sh -c 'sleep 1; exit 5' 2>/dev/null"), 0);
        id[strcspn(id, "\n")] = '\0';
        snprintf(out_path, sizeof out_path, "%s/wait.out", tmp);
        waiter = tc_spawn(out_path, (const char *const[]){"wait", "--list", "L", id, NULL});
        th_sleep_ms(300);
        remove_task(id); /* an agent deletes the task while it runs */
        cr_expect_eq(tc_reap(waiter, NULL), 1, "the run failed: status 1");
        out = th_read_file(out_path, NULL);
        cr_assert_not_null(out);
        cr_expect(strstr(out, ": failed (exit 5, ") != NULL, "wait said: %s", out);
        cr_expect(strstr(out, "run archive") != NULL, "%s", out);
        free(out);
        free(id);
}

Test(archive, wait_without_an_archived_run_says_gone_with_status_3)
{
        char *out;

        cr_assert_eq(th_sh("mkdir -p '%s'", list), 0);
        cr_expect_eq(tc_run(&out, "wait --list L 9 2>/dev/null"), 3);
        cr_expect(strstr(out, "9: gone") != NULL, "%s", out);
        free(out);
}

Test(archive, show_falls_back_to_the_archive_and_says_so)
{
        char cmd[PATH_MAX * 2], *out, *err;

        cr_assert_eq(tc_run(NULL, "--list L -- sh -c 'exit 4' >/dev/null 2>&1"), 4);
        remove_task("1");
        cr_expect_eq(tc_run(&out, "show --list L 1 2>/dev/null"), 0);
        cr_expect(strstr(out, "exit code:   4\n") != NULL, "%s", out);
        cr_expect(strstr(out, "archive:") != NULL, "%s", out);
        free(out);
        snprintf(cmd, sizeof cmd, "'%s' show --list L 1 2>&1 >/dev/null", TASKRUN_BIN);
        th_run(cmd, &err);
        cr_expect(err && strstr(err, "its file is gone; shown from taskrun's run archive"), "%s",
                  err);
        free(err);
        cr_expect_eq(tc_run(&out, "show --json --list L 1 2>/dev/null"), 0);
        json_object *task = json_tokener_parse(out);
        cr_assert_not_null(task, "%s", out);
        cr_expect_eq(json_object_get_int(th_get(task, "metadata.taskrun.exit_code")), 4);
        cr_expect_not_null(th_get_string(task, "metadata.taskrun.archive"));
        json_object_put(task);
        free(out);
}

Test(archive, logs_of_a_detached_run_survive_the_whole_list_directory)
{
        char *id, *out;

        cr_assert_eq(tc_run(&id, "--list L --detach -- sh -c 'echo first; echo second; exit 2' "
                                 "2>/dev/null"),
                     0);
        id[strcspn(id, "\n")] = '\0';
        cr_assert_eq(tc_run(NULL, "wait -q --list L %s", id), 1);
        th_rmtree(list); /* a person removes the list, logs and all */
        cr_expect_eq(tc_run(&out, "logs --list L %s 2>/dev/null", id), 0);
        cr_expect(strstr(out, "first\nsecond\n[exited with status 2 after ") != NULL, "%s", out);
        free(out);
        cr_expect_eq(tc_run(&out, "logs -n 1 --list L %s 2>/dev/null", id), 0);
        cr_expect(strncmp(out, "[exited with status 2", 21) == 0, "%s", out);
        free(out);
        cr_expect_eq(tc_run(&out, "logs -f --list L %s 2>/dev/null", id), 2, "-f: its status");
        free(out);
        free(id);
}

Test(archive, a_rerun_of_the_same_id_is_not_taken_for_the_run_that_was_seen)
{
        char out_path[PATH_MAX + 16], *out;
        pid_t waiter;

        cr_assert_eq(tc_run(NULL, "--list L --task 7 --create -q -- sh -c 'exit 10'"), 10);
        cr_assert_eq(tc_run(NULL, "--list L --task 7 --detach -- sh -c 'sleep 1; exit 11' "
                                  ">/dev/null 2>&1"),
                     0);
        snprintf(out_path, sizeof out_path, "%s/wait.out", tmp);
        waiter = tc_spawn(out_path, (const char *const[]){"wait", "--list", "L", "7", NULL});
        th_sleep_ms(300);
        remove_task("7"); /* the archive holds the first run (exit 10) only, so far */
        cr_expect_eq(tc_reap(waiter, NULL), 1);
        out = th_read_file(out_path, NULL);
        cr_assert_not_null(out);
        cr_expect(strstr(out, "7: failed (exit 11, ") != NULL,
                  "the run the waiter saw, not the earlier one: %s", out);
        free(out);
        cr_expect_eq(tc_run(&out, "wait --list L 7 2>/dev/null"), 1);
        cr_expect(strstr(out, "7: failed (exit 11, ") != NULL, "none seen: the newest: %s", out);
        free(out);
}

/* Names of L's archived records, oldest first, one per line; malloc'd. */
static char *record_names(void)
{
        char cmd[PATH_MAX * 2], *out;

        snprintf(cmd, sizeof cmd, "ls '%s'/state/taskrun/runs/L-*/ | grep '\\.json$'", tmp);
        th_run(cmd, &out);
        cr_assert_not_null(out);
        return out;
}

Test(archive, each_list_keeps_its_newest_100_runs)
{
        char *before, *after;

        cr_assert_eq(tc_run(NULL, "--list L -q -- true 2>/dev/null"), 0);
        before = record_names(); /* the very first run's record */
        before[strcspn(before, "\n")] = '\0';
        cr_assert_eq(th_sh("i=0; while [ $i -lt 104 ]; do '%s' --list L -q -- true || exit 1; "
                           "i=$((i+1)); done",
                           TASKRUN_BIN),
                     0);
        cr_expect_eq(archived_runs(), 100, "105 runs, 100 kept");
        after = record_names();
        cr_expect(strstr(after, before) == NULL, "the oldest run is gone: %s", before);
        cr_expect(strstr(after, ".105.json\n") != NULL, "the newest run is kept");
        free(before);
        free(after);
}

Test(archive, gc_keeps_n_runs_and_drops_old_ones)
{
        char *out, dir[PATH_MAX + 64], cmd[PATH_MAX * 3];

        for (int i = 0; i < 4; i++)
                cr_assert_eq(tc_run(NULL, "--list L -q -- true"), 0);
        cr_assert_eq(archived_runs(), 4);
        cr_expect_eq(tc_run(&out, "gc --keep 2 --dry-run"), 0);
        cr_expect(strstr(out, "would remove 2 archived runs in ") != NULL, "%s", out);
        free(out);
        cr_expect_eq(archived_runs(), 4, "--dry-run removes nothing");
        cr_expect_eq(tc_run(&out, "gc --keep 2"), 0);
        cr_expect(strstr(out, "removed 2 archived runs in ") != NULL, "%s", out);
        free(out);
        cr_expect_eq(archived_runs(), 2);
        /* Make one record a day old: --older-than removes it, whatever --keep says. */
        snprintf(cmd, sizeof cmd, "ls -d '%s'/state/taskrun/runs/L-* | head -1", tmp);
        th_run(cmd, &out);
        out[strcspn(out, "\n")] = '\0';
        snprintf(dir, sizeof dir, "%s", out);
        free(out);
        cr_assert_eq(th_sh("touch -d '2 days ago' \"$(ls '%s'/*.json | head -1)\"", dir), 0);
        cr_expect_eq(tc_run(NULL, "gc --list L --older-than 1d -q"), 0);
        cr_expect_eq(archived_runs(), 1);
        cr_expect_eq(tc_run(NULL, "gc --keep 0 -q"), 0);
        cr_expect_eq(archived_runs(), 0);
        cr_expect_neq(access(dir, F_OK), 0, "an emptied archive directory goes too");
        cr_expect_eq(tc_run(NULL, "gc --keep -1 2>/dev/null"), 2, "a bad --keep is a usage error");
}

Test(archive, reap_archives_the_lost_record)
{
        char text[1024], host[256];
        pid_t pid = fork();

        cr_assert_neq(pid, -1);
        if (pid == 0)
                _exit(0);
        waitpid(pid, NULL, 0); /* a process that is gone */
        gethostname(host, sizeof host);
        snprintf(text, sizeof text,
                 "{\"id\":\"1\",\"subject\":\"s\",\"description\":\"\",\"status\":\"in_progress\","
                 "\"blocks\":[],\"blockedBy\":[],\"metadata\":{\"taskrun\":{\"state\":\"running\","
                 "\"argv\":[\"sleep\",\"9\"],\"pid\":%d,\"host\":\"%s\","
                 "\"started_at\":\"2026-12-01T05:00:00.000Z\"}}}",
                 (int)pid, host);
        cr_assert_eq(th_sh("mkdir -p '%s'", list), 0);
        tc_write_task(list, "1", text);
        cr_assert_eq(tc_run(NULL, "reap --list L >/dev/null"), 0);
        cr_expect_eq(archived_runs(), 1);
        remove_task("1");
        char *out;
        cr_expect_eq(tc_run(&out, "wait --list L 1 2>/dev/null"), 3, "lost: status 3");
        cr_expect(strncmp(out, "1: lost (", 9) == 0, "%s", out);
        free(out);
}
