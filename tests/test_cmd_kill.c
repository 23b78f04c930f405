/* taskrun kill: ends a run through its supervisor, and never signals a process that is not the
 * run's. */
#include <errno.h>

#include "taskrun/procinfo.h"

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

TestSuite(cmd_kill, .init = setup, .fini = teardown, .timeout = 60);

/* A task whose record says it runs as pid (started at ticks) on on_host; extra: more fields. */
static void add_running(const char *id, const char *on_host, long long pid,
                        unsigned long long ticks, const char *extra)
{
        char text[2048];

        snprintf(text, sizeof text,
                 "{\"id\": \"%s\", \"subject\": \"s\", \"description\": \"\", "
                 "\"status\": \"in_progress\", \"blocks\": [], \"blockedBy\": [], "
                 "\"metadata\": {\"taskrun\": {\"state\": \"running\", \"argv\": [\"sleep\"], "
                 "\"pid\": %lld, \"host\": \"%s\", \"boot_id\": \"%s\", "
                 "\"start_time_ticks\": %llu%s}}}",
                 id, pid, on_host, boot_id, ticks, extra ? extra : "");
        tc_write_task(dir, id, text);
}

/* metadata.taskrun.<key> of task id, a pid. */
static pid_t recorded_pid(const char *id, const char *key)
{
        char path[PATH_MAX];
        json_object *task;

        tc_task_path(path, sizeof path, dir, id);
        task = th_read_json(path);
        cr_assert_not_null(task);
        char dotted[64];
        snprintf(dotted, sizeof dotted, "metadata.taskrun.%s", key);
        pid_t pid = (pid_t)json_object_get_int(th_get(task, dotted));
        json_object_put(task);
        cr_assert_gt(pid, 0, "no %s recorded", key);
        return pid;
}

/*
 * Process pid has ended (within a second): gone, or a zombie, since an
 * orphan's reaper (init) may take its time to reap it.
 */
static int gone(pid_t pid)
{
        struct tr_proc_stat st;

        for (int i = 0; i < 100; i++) {
                if (tr_proc_stat(pid, &st) == -1 ? errno == ENOENT
                                                 : st.state == 'Z' || st.state == 'X')
                        return 1;
                th_sleep_ms(10);
        }
        return 0;
}

/* The pid a command wrote into file name of the scratch directory. */
static pid_t pid_file(const char *name)
{
        char *s = NULL;

        for (int i = 0; i < 500 && (s == NULL || atoi(s) <= 0); i++) {
                free(s);
                s = th_read_file(th_at(dir, name), NULL);
                if (s == NULL || atoi(s) <= 0)
                        th_sleep_ms(10);
        }
        cr_assert(s != NULL && atoi(s) > 0, "no pid in %s", name);
        pid_t pid = (pid_t)atoi(s);
        free(s);
        return pid;
}

static void expect_alive(pid_t pid)
{
        int status;

        cr_expect_eq(tc_exited(pid, &status), 0, "process %d was signalled", (int)pid);
}

Test(cmd_kill, kill_of_a_detached_run_ends_it_within_a_second_and_records_killed)
{
        char id[32], *out;

        tc_detach(dir, "", "exec sleep 20", id, sizeof id);
        pid_t pid = recorded_pid(id, "pid");
        long long t0 = th_now_ms();
        cr_assert_eq(tc_run(NULL, "kill --dir '%s' %s", dir, id), 0);
        cr_expect_eq(tc_run(&out, "wait --timeout 1 --dir '%s' %s", dir, id), 1);
        cr_expect(gone(pid), "the killed command %d is still there", (int)pid);
        cr_log_info("killed and recorded in %lld ms", th_now_ms() - t0);
        char want[64];
        snprintf(want, sizeof want, "%s: killed (SIGTERM, ", id);
        cr_expect(strncmp(out, want, strlen(want)) == 0, "%s", out);
        free(out);
        json_object *task = tc_read_task(dir, id);
        cr_expect_str_eq(th_get_string(task, "metadata.taskrun.state"), "killed");
        cr_expect_eq(json_object_get_int(th_get(task, "metadata.taskrun.signal")), SIGTERM);
        cr_expect_eq(json_object_get_int(th_get(task, "metadata.taskrun.killed_by.signal")),
                     SIGTERM);
        cr_expect_gt(json_object_get_int(th_get(task, "metadata.taskrun.killed_by.pid")), 0);
        cr_expect_neq(strstr(th_get_string(task, "description"), "killed by taskrun kill"), NULL);
        json_object_put(task);
}

Test(cmd_kill, kill_of_a_foreground_run_ends_it_and_taskrun_exits_with_the_signal)
{
        const char *args[] = {"--dir", dir, "--task", "1", "--create", "--", "sleep", "20", NULL};
        pid_t pid = tc_spawn(NULL, args);
        int status;

        /* Its running record, with the supervisor's pid, is there once wait sees a run start. */
        for (int i = 0; i < 500; i++) {
                json_object *task = th_read_json(th_at(dir, "1.json"));
                const char *state = task ? th_get_string(task, "metadata.taskrun.state") : NULL;
                int running = state && strcmp(state, "running") == 0;
                json_object_put(task);
                if (running)
                        break;
                th_sleep_ms(10);
        }
        cr_assert_eq(tc_run(NULL, "kill -s INT --dir '%s' 1", dir), 0);
        status = tc_reap(pid, NULL);
        cr_expect_eq(status, 128 + SIGINT);
        json_object *task = tc_read_task(dir, "1");
        cr_expect_str_eq(th_get_string(task, "metadata.taskrun.state"), "killed");
        cr_expect_eq(json_object_get_int(th_get(task, "metadata.taskrun.killed_by.signal")),
                     SIGINT);
        json_object_put(task);
}

Test(cmd_kill, kill_after_escalates_to_sigkill_when_the_signal_is_ignored)
{
        char id[32], cmd[1024];

        /* The kill waits for the trap: a TERM before it would end the shell at once. */
        snprintf(cmd, sizeof cmd,
                 "trap \"\" TERM; echo $$ > %s/trapped; "
                 "i=0; while [ $i -lt 400 ]; do sleep 0.05; i=$((i+1)); done",
                 dir);
        tc_detach(dir, "", cmd, id, sizeof id);
        pid_file("trapped");
        cr_assert_eq(tc_run(NULL, "kill -k 0.2 --dir '%s' %s", dir, id), 0);
        cr_expect_eq(tc_run(NULL, "wait -q --timeout 10 --dir '%s' %s", dir, id), 1);
        json_object *task = tc_read_task(dir, id);
        cr_expect_str_eq(th_get_string(task, "metadata.taskrun.state"), "killed");
        cr_expect_eq(json_object_get_int(th_get(task, "metadata.taskrun.signal")), SIGKILL);
        json_object_put(task);
}

Test(cmd_kill, kill_refuses_a_record_whose_pid_now_belongs_to_another_process)
{
        unsigned long long ticks;
        pid_t pid = sleeper = tc_sleeper(&ticks);
        char *out;

        add_running("1", host, pid, ticks + 1, NULL);
        cr_expect_eq(tc_run(&out, "kill -s KILL --dir '%s' 1 2>&1", dir), 3);
        cr_expect_neq(strstr(out, "another process"), NULL, "said: %s", out);
        free(out);
        expect_alive(pid);
        /* A supervisor pid that is another process is not asked either. */
        char extra[128];
        snprintf(extra, sizeof extra, ", \"supervisor_pid\": %d, \"supervisor_start_ticks\": %llu",
                 (int)pid, ticks + 1);
        add_running("2", host, pid, ticks + 1, extra);
        cr_expect_eq(tc_run(NULL, "kill -s KILL --dir '%s' 2 2>/dev/null", dir), 3);
        expect_alive(pid);
}

Test(cmd_kill, kill_refuses_a_run_on_another_host)
{
        unsigned long long ticks;
        pid_t pid = sleeper = tc_sleeper(&ticks);
        char *out;

        add_running("1", "elsewhere.example", pid, ticks, NULL);
        cr_expect_eq(tc_run(&out, "kill -s KILL --dir '%s' 1 2>&1", dir), 3);
        cr_expect_neq(strstr(out, "elsewhere.example"), NULL, "said: %s", out);
        free(out);
        expect_alive(pid);
}

Test(cmd_kill, a_run_that_is_over_is_reported_and_not_an_error)
{
        char *out;

        tc_write_task(dir, "1",
                      "{\"id\": \"1\", \"subject\": \"s\", \"description\": \"\", \"status\": "
                      "\"completed\", \"blocks\": [], \"blockedBy\": [], \"metadata\": "
                      "{\"taskrun\": {\"state\": \"completed\", \"pid\": 1}}}");
        cr_expect_eq(tc_run(&out, "kill --dir '%s' 1 2>&1", dir), 0);
        cr_expect_str_eq(out, "taskrun: kill: task 1: already over (completed)\n");
        free(out);
}

Test(cmd_kill, a_missing_task_is_not_found_and_a_bad_signal_is_a_usage_error)
{
        cr_expect_eq(tc_run(NULL, "kill --dir '%s' 7 2>/dev/null", dir), 1);
        cr_expect_eq(tc_run(NULL, "kill -s NOSUCH --dir '%s' 7 2>/dev/null", dir), 2);
        cr_expect_eq(tc_run(NULL, "kill --dir '%s' 2>/dev/null", dir), 2);
}

Test(cmd_kill, kill_of_a_stopped_run_continues_and_ends_it)
{
        char id[32];

        tc_detach(dir, "", "exec sleep 20", id, sizeof id);
        pid_t pid = recorded_pid(id, "pid");
        cr_assert_eq(kill(pid, SIGSTOP), 0);
        tc_await_state(dir, id, "stopped");
        cr_assert_eq(tc_run(NULL, "kill --dir '%s' %s", dir, id), 0);
        cr_expect_eq(tc_run(NULL, "wait -q --timeout 5 --dir '%s' %s", dir, id), 1);
        cr_expect(gone(pid), "the stopped command %d is still there", (int)pid);
        json_object *task = tc_read_task(dir, id);
        cr_expect_str_eq(th_get_string(task, "metadata.taskrun.state"), "killed");
        cr_expect_eq(json_object_get_int(th_get(task, "metadata.taskrun.signal")), SIGTERM);
        json_object_put(task);
}

Test(cmd_kill, kill_of_a_group_run_ends_the_commands_children_too)
{
        char id[32], cmd[1024];

        snprintf(cmd, sizeof cmd, "sleep 20 & echo $! > %s/child; wait", dir);
        tc_detach(dir, "-g", cmd, id, sizeof id);
        pid_t child = pid_file("child");
        cr_assert_eq(tc_run(NULL, "kill --dir '%s' %s", dir, id), 0);
        cr_expect_eq(tc_run(NULL, "wait -q --timeout 5 --dir '%s' %s", dir, id), 1);
        cr_expect(gone(child), "the command's child %d is still there", (int)child);
}

Test(cmd_kill, with_its_supervisor_gone_a_group_runs_whole_group_is_signalled)
{
        char id[32], cmd[1024], *out;

        snprintf(cmd, sizeof cmd, "sleep 20 & echo $! > %s/child; wait", dir);
        tc_detach(dir, "-g", cmd, id, sizeof id);
        pid_t child = pid_file("child");
        pid_t command = recorded_pid(id, "pid");
        pid_t sup = recorded_pid(id, "supervisor_pid");
        cr_assert_eq(kill(sup, SIGKILL), 0);
        cr_assert(gone(sup));
        cr_assert_eq(tc_run(&out, "kill --dir '%s' %s 2>&1", dir, id), 0);
        cr_expect_neq(strstr(out, "its taskrun is gone; signalled process"), NULL, "%s", out);
        free(out);
        cr_expect(gone(command), "the command %d is still there", (int)command);
        cr_expect(gone(child), "the command's child %d is still there", (int)child);
}
