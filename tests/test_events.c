/*
 * --events FILE: one JSON object per line for each lifecycle event (start,
 * heartbeat, stopped, continued, end), each with its time and task, appended
 * with one write so that runs sharing a file never tear each other's lines.
 */
#include <limits.h>

#include "test_run.h"

TestSuite(events, .init = run_setup, .fini = run_teardown, .timeout = 60);

/* Every line of path parsed; fails on a line that is not one whole JSON object. */
static json_object *event_lines(const char *path)
{
        char *text = th_read_file(path, NULL);
        json_object *all = json_object_new_array();

        cr_assert_not_null(text, "no %s", path);
        cr_assert(*text == '\0' || text[strlen(text) - 1] == '\n', "last line unterminated");
        for (char *l = strtok(text, "\n"); l; l = strtok(NULL, "\n")) {
                json_object *o = json_tokener_parse(l);
                cr_assert(o && json_object_is_type(o, json_type_object), "not an object: %s", l);
                json_object_array_add(all, o);
        }
        free(text);
        return all;
}

static const char *ev_str(json_object *all, size_t i, const char *key)
{
        json_object *o = json_object_array_get_idx(all, i);

        cr_assert_not_null(o, "no event %zu", i);
        return th_get_string(o, key);
}

static long long ev_int(json_object *all, size_t i, const char *key)
{
        json_object *v = th_get(json_object_array_get_idx(all, i), key);

        cr_assert(v && json_object_is_type(v, json_type_int), "event %zu: %s", i, key);
        return (long long)json_object_get_int64(v);
}

Test(events, start_and_end_with_times_task_and_outcome)
{
        json_object *all;

        cr_assert_eq(run("\"$TR\" --dir list --events ev.jsonl -- sh -c 'exit 3'"), 3);
        all = event_lines("ev.jsonl");
        cr_assert_eq(json_object_array_length(all), 2);
        cr_expect_str_eq(ev_str(all, 0, "event"), "start");
        cr_expect_str_eq(ev_str(all, 0, "task"), "1");
        cr_expect_gt(ev_int(all, 0, "pid"), 0);
        cr_expect_not_null(ev_str(all, 0, "time"));
        cr_expect_str_eq(ev_str(all, 1, "event"), "end");
        cr_expect_str_eq(ev_str(all, 1, "state"), "failed");
        cr_expect_eq(ev_int(all, 1, "exit_code"), 3);
        cr_expect_eq(ev_int(all, 1, "status"), 3);
        cr_expect_geq(ev_int(all, 1, "duration_ms"), 0);
        cr_expect(strcmp(ev_str(all, 0, "time"), ev_str(all, 1, "time")) <= 0);
        cr_expect_eq(strlen(ev_str(all, 1, "time")), 24, "ISO 8601 with ms: %s",
                     ev_str(all, 1, "time"));
        json_object_put(all);
}

Test(events, heartbeats_carry_bytes_and_last_line)
{
        json_object *all;
        size_t n;

        cr_assert_eq(run("\"$TR\" --dir list --heartbeat 0.05 --events ev.jsonl -- "
                         "sh -c 'for i in 1 2 3 4 5; do echo line$i; sleep 0.05; done'"),
                     0);
        all = event_lines("ev.jsonl");
        n = json_object_array_length(all);
        cr_assert_geq(n, 3, "no heartbeat");
        cr_expect_str_eq(ev_str(all, 1, "event"), "heartbeat");
        cr_expect_gt(ev_int(all, 1, "output_bytes"), 0);
        cr_expect_eq(strncmp(ev_str(all, 1, "last_line"), "line", 4), 0);
        cr_expect_str_eq(ev_str(all, n - 1, "event"), "end");
        cr_expect_str_eq(ev_str(all, n - 1, "state"), "completed");
        json_object_put(all);
}

/* Wait until path holds a line with needle. */
static void await_line(const char *path, const char *needle)
{
        long long deadline = th_now_ms() + 10000;

        for (;;) {
                char *s = th_read_file(path, NULL);
                int found = s && strstr(s, needle);
                free(s);
                if (found)
                        return;
                cr_assert(th_now_ms() < deadline, "%s never had %s", path, needle);
                usleep(5000);
        }
}

Test(events, stopped_and_continued)
{
        pid_t pid = run_start("\"$TR\" --dir list --events ev.jsonl -- "
                              "sh -c 'echo $$ >cmd.pid; kill -STOP $$; " SH_WAIT_FOR_GO "'");
        await_line("ev.jsonl", "\"event\":\"stopped\"");
        char *cmd = th_read_file("cmd.pid", NULL);
        cr_assert_not_null(cmd);
        cr_assert_eq(kill(atoi(cmd), SIGCONT), 0);
        free(cmd);
        /* Still running once continued, so the continue is seen before the exit. */
        await_line("ev.jsonl", "\"event\":\"continued\"");
        th_write_file("go", "");
        cr_assert_eq(run_wait(pid), 0);
        json_object *all = event_lines("ev.jsonl");
        cr_assert_eq(json_object_array_length(all), 4);
        cr_expect_str_eq(ev_str(all, 0, "event"), "start");
        cr_expect_str_eq(ev_str(all, 1, "event"), "stopped");
        cr_expect_eq(ev_int(all, 1, "signal"), SIGSTOP);
        cr_expect_str_eq(ev_str(all, 2, "event"), "continued");
        cr_expect_str_eq(ev_str(all, 3, "event"), "end");
        json_object_put(all);
}

Test(events, a_command_not_found_has_a_start_and_an_end)
{
        cr_assert_eq(run("\"$TR\" --dir list --events ev.jsonl -- ./no-such-command"), 127);
        json_object *all = event_lines("ev.jsonl");
        cr_assert_eq(json_object_array_length(all), 2);
        cr_expect_str_eq(ev_str(all, 0, "event"), "start");
        cr_expect_eq(ev_int(all, 1, "status"), 127);
        json_object_put(all);
}

Test(events, long_lines_are_cut_so_each_event_stays_under_pipe_buf)
{
        cr_assert_eq(run("\"$TR\" --dir list --heartbeat 0.05 --events ev.jsonl -- "
                         "sh -c 'head -c 3000 /dev/zero | tr \"\\\\0\" x; echo; sleep 0.2'"),
                     0);
        char *text = th_read_file("ev.jsonl", NULL);
        cr_assert_not_null(text);
        for (char *l = strtok(text, "\n"); l; l = strtok(NULL, "\n"))
                cr_expect_lt(strlen(l) + 1, PIPE_BUF, "a %zu-byte line", strlen(l));
        free(text);
        json_object *all = event_lines("ev.jsonl");
        cr_assert_geq(json_object_array_length(all), 3);
        cr_expect_eq(strlen(ev_str(all, 1, "last_line")), 1024);
        json_object_put(all);
}

Test(events, concurrent_runs_appending_to_one_file_never_tear_a_line)
{
        pid_t pids[4];
        int lines = 0;

        for (int i = 0; i < 4; i++)
                pids[i] = run_start("\"$TR\" --dir list%d --heartbeat 0.01 --events ev.jsonl -- "
                                    "sh -c 'j=0; while [ $j -lt 30 ]; do head -c 900 /dev/zero | "
                                    "tr \"\\\\0\" %c; echo; sleep 0.01; j=$((j+1)); done' "
                                    ">/dev/null",
                                    i, 'a' + i);
        for (int i = 0; i < 4; i++)
                cr_assert_eq(run_wait(pids[i]), 0);
        json_object *all = event_lines("ev.jsonl"); /* fails on a torn line */
        lines = (int)json_object_array_length(all);
        cr_log_info("%d event lines from 4 runs", lines);
        cr_expect_geq(lines, 8);
        int ends = 0;
        for (int i = 0; i < lines; i++)
                ends += strcmp(ev_str(all, (size_t)i, "event"), "end") == 0;
        cr_expect_eq(ends, 4);
        json_object_put(all);
}

Test(events, an_unwritable_file_is_a_warning_and_125_only_with_strict)
{
        cr_assert_eq(run("\"$TR\" --dir list --events no-dir/ev.jsonl -- sh -c 'exit 4'"), 4);
        char *err = run_stderr();
        cr_expect(strstr(err, "taskrun: --events: no-dir/ev.jsonl: No such file or directory\n"),
                  "%s", err);
        free(err);
        cr_expect_eq(run("\"$TR\" --dir list --strict --events no-dir/ev.jsonl -- true"), 125);
}
