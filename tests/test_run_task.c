/* What taskrun writes in the task file: at start, while running, and at the end. */
#include <limits.h>

#include "taskrun/procinfo.h"
#include "test_run.h"

TestSuite(run_task, .init = run_setup, .fini = run_teardown, .timeout = 30);

/* The command waits for ./go, so the test can look at the task while it runs. */
#define WAIT_FOR_GO SH_WAIT_FOR_GO

static void assert_iso8601(const char *s, const char *what)
{
        cr_assert_not_null(s, "%s missing", what);
        cr_expect_eq(strlen(s), 24, "%s: %s", what, s);
        cr_expect(s[4] == '-' && s[10] == 'T' && s[19] == '.' && s[23] == 'Z', "%s: %s", what, s);
}

Test(run_task, running_task_is_in_progress_with_process_metadata)
{
        pid_t tr = run_start("\"$TR\" --dir list --task 5 --create -- sh -c '" WAIT_FOR_GO "'");
        json_object *t = run_await_state("list/5.json", "running", 5000);
        char cwd[PATH_MAX], host[256], boot[64];
        unsigned long long ticks;
        json_object *argv = run_meta(t, "argv");
        pid_t pid = (pid_t)run_meta_int(t, "pid");

        cr_expect_str_eq(th_get_string(t, "status"), "in_progress");
        cr_expect_str_eq(th_get_string(t, "activeForm"), "Running sh -c '" WAIT_FOR_GO "'");
        cr_assert(json_object_is_type(argv, json_type_array));
        cr_assert_eq(json_object_array_length(argv), 3);
        cr_expect_str_eq(json_object_get_string(json_object_array_get_idx(argv, 0)), "sh");
        cr_expect_str_eq(json_object_get_string(json_object_array_get_idx(argv, 2)), WAIT_FOR_GO);
        cr_assert_not_null(getcwd(cwd, sizeof cwd));
        cr_expect_str_eq(run_meta_str(t, "cwd"), cwd);
        /* The pid is the command's, alive now, and its start time tells it from a reused pid. */
        cr_expect_neq(pid, tr, "pid is taskrun's own, not the command's");
        cr_expect_eq(kill(pid, 0), 0, "pid %d is not alive", (int)pid);
        cr_assert_eq(tr_proc_start_ticks(pid, &ticks), 0);
        cr_expect_eq((unsigned long long)run_meta_int(t, "start_time_ticks"), ticks);
        tr_hostname(host, sizeof host);
        cr_expect_str_eq(run_meta_str(t, "host"), host);
        cr_assert_eq(tr_boot_id(boot, sizeof boot), 0);
        cr_expect_str_eq(run_meta_str(t, "boot_id"), boot);
        assert_iso8601(run_meta_str(t, "started_at"), "started_at");
        cr_expect_null(run_meta(t, "ended_at"), "ended_at while running");
        json_object_put(t);

        th_write_file("go", "");
        cr_assert_eq(run_wait(tr), 0);
}

Test(run_task, finished_task_records_the_result)
{
        json_object *t;
        const char *started, *ended;

        cr_assert_eq(run("\"$TR\" --dir list -- sh -c 'echo hello; sleep 0.1'"), 0);
        t = run_task("list/1.json");
        cr_expect_str_eq(th_get_string(t, "status"), "completed");
        cr_expect_str_eq(run_meta_str(t, "state"), "completed");
        cr_expect_eq(run_meta_int(t, "exit_code"), 0);
        cr_expect(json_object_is_type(run_meta(t, "signal"), json_type_null));
        cr_expect_geq(run_meta_int(t, "duration_ms"), 100);
        cr_expect_lt(run_meta_int(t, "duration_ms"), 10000);
        started = run_meta_str(t, "started_at");
        ended = run_meta_str(t, "ended_at");
        assert_iso8601(ended, "ended_at");
        cr_expect_geq(strcmp(ended, started), 0, "ended_at %s before started_at %s", ended,
                      started);
        cr_expect_str_eq(run_meta_str(t, "output_tail"), "hello\n");
        cr_expect_eq(run_meta_int(t, "output_bytes"), 6);
        json_object_put(t);
}

Test(run_task, new_task_gets_the_next_id_and_it_is_printed_on_stderr)
{
        char *err;
        json_object *t;

        cr_assert_eq(run("\"$TR\" --dir list -- true"), 0);
        cr_assert_eq(run("\"$TR\" --dir list -- echo 'a b'"), 0);
        err = run_stderr();
        cr_expect_str_eq(err, "taskrun: task 2\n");
        t = run_task("list/2.json");
        cr_expect_str_eq(th_get_string(t, "id"), "2");
        cr_expect_str_eq(th_get_string(t, "subject"), "echo 'a b'");
        json_object_put(t);
        free(err);
}

/*
 * A quick command's new task is written once, at its end, under an id
 * reserved at the start: no task file says "pending" or "running" for a run
 * that is already over, and .highwatermark keeps the id from anyone else.
 */
Test(run_task, a_quick_new_task_is_written_once_with_its_final_record)
{
        json_object *t;

        cr_assert_eq(run("\"$TR\" --dir list -- sh -c 'test ! -e list/1.json && "
                         "test \"$(cat list/.highwatermark)\" = 1'"),
                     0, "while the command ran the id was reserved and the file not made yet");
        t = run_task("list/1.json");
        cr_expect_str_eq(th_get_string(t, "status"), "completed");
        cr_expect_str_eq(run_meta_str(t, "state"), "completed");
        json_object_put(t);
        cr_expect_eq(th_count("list", ".*.tmp.*"), 0, "temp file left");
}

Test(run_task, a_reserved_id_taken_by_another_writer_moves_the_run_to_a_new_id)
{
        const char *theirs = "{\n  \"id\": \"1\",\n  \"subject\": \"theirs\",\n"
                             "  \"description\": \"\",\n  \"status\": \"pending\",\n"
                             "  \"blocks\": [],\n  \"blockedBy\": []\n}";
        char *text, *err;
        json_object *t;

        th_write_file("theirs.json", theirs);
        /* The command itself plays a writer that ignores the list lock. */
        cr_assert_eq(run("\"$TR\" --dir list -- cp theirs.json list/1.json"), 0);
        text = th_read_file("list/1.json", NULL);
        cr_expect_str_eq(text, theirs, "the other writer's task must be left as it is");
        free(text);
        t = run_task("list/2.json");
        cr_expect_str_eq(run_meta_str(t, "state"), "completed");
        json_object_put(t);
        err = run_stderr();
        cr_expect(strstr(err, "taskrun: task 1 was taken by another writer; this run is task 2") !=
                      NULL,
                  "%s", err);
        free(err);
}

Test(run_task, a_new_task_is_in_the_file_while_a_longer_command_runs)
{
        cr_assert_eq(run("\"$TR\" --dir list -- sh -c 'i=0; while [ ! -e list/1.json ]; do "
                         "[ $i -lt 300 ] || exit 9; sleep 0.01; i=$((i+1)); done'"),
                     0, "the running record of a new task did not appear");
}

Test(run_task, subject_option_names_a_new_task)
{
        json_object *t;

        cr_assert_eq(run("\"$TR\" --dir list --subject 'Build it' -- true"), 0);
        t = run_task("list/1.json");
        cr_expect_str_eq(th_get_string(t, "subject"), "Build it");
        json_object_put(t);
}

Test(run_task, list_comes_from_the_environment_under_the_config_dir)
{
        json_object *t;

        setenv("CLAUDE_CONFIG_DIR", "conf", 1);
        setenv("CLAUDE_CODE_TASK_LIST_ID", "mylist", 1);
        cr_assert_eq(run("\"$TR\" -- true"), 0);
        t = run_task("conf/tasks/mylist/1.json");
        cr_expect_str_eq(run_meta_str(t, "state"), "completed");
        json_object_put(t);
}

/* A task made by Claude (or a person), with fields and metadata that are not taskrun's. */
static const char foreign_task[] =
    "{\n"
    "  \"id\": \"7\",\n"
    "  \"subject\": \"Build\",\n"
    "  \"description\": \"Build the thing.\",\n"
    "  \"status\": \"pending\",\n"
    "  \"owner\": \"agent-1\",\n"
    "  \"blocks\": [\"8\"],\n"
    "  \"blockedBy\": [],\n"
    "  \"priority\": {\"level\": 3},\n"
    "  \"metadata\": {\"ticket\": \"T-1\", \"nested\": {\"a\": [1, 2]}}\n"
    "}";

static void assert_foreign_fields_kept(json_object *t)
{
        cr_expect_str_eq(th_get_string(t, "subject"), "Build");
        cr_expect_str_eq(th_get_string(t, "owner"), "agent-1");
        cr_expect_str_eq(json_object_get_string(json_object_array_get_idx(th_get(t, "blocks"), 0)),
                         "8");
        cr_expect_eq(json_object_get_int(th_get(t, "priority.level")), 3, "unknown field lost");
        cr_expect_str_eq(th_get_string(t, "metadata.ticket"), "T-1");
        cr_expect_eq(json_object_array_length(th_get(t, "metadata.nested.a")), 2,
                     "foreign metadata lost");
}

Test(run_task, failure_in_claude_list_stays_in_progress_with_result_block)
{
        json_object *t;
        const char *d;

        cr_assert_eq(mkdir("list", 0755), 0);
        th_write_file("list/7.json", foreign_task);
        cr_assert_eq(run("\"$TR\" --dir list --task 7 -- sh -c 'echo first; echo last words; "
                         "exit 3'"),
                     3);
        t = run_task("list/7.json");
        cr_expect_str_eq(th_get_string(t, "status"), "in_progress");
        cr_expect_str_eq(run_meta_str(t, "state"), "failed");
        d = th_get_string(t, "description");
        cr_assert_not_null(d);
        cr_expect(strncmp(d, "Build the thing.\n\n--- taskrun ---\n", 34) == 0, "description: %s",
                  d);
        cr_expect(strstr(d, "exit code 3"), "no exit code in: %s", d);
        cr_expect(strstr(d, "last words"), "no last line in: %s", d);
        assert_foreign_fields_kept(t);
        json_object_put(t);
}

Test(run_task, success_keeps_foreign_fields_and_description)
{
        json_object *t;

        cr_assert_eq(mkdir("list", 0755), 0);
        th_write_file("list/7.json", foreign_task);
        cr_assert_eq(run("\"$TR\" --dir list --task 7 -- true"), 0);
        t = run_task("list/7.json");
        cr_expect_str_eq(th_get_string(t, "status"), "completed");
        cr_expect_str_eq(th_get_string(t, "description"), "Build the thing.");
        assert_foreign_fields_kept(t);
        json_object_put(t);
}

Test(run_task, on_fail_pending_puts_a_failed_task_back_to_pending)
{
        json_object *t;

        cr_assert_eq(run("\"$TR\" --dir list --on-fail=pending -- false"), 1);
        t = run_task("list/1.json");
        cr_expect_str_eq(th_get_string(t, "status"), "pending");
        cr_expect_str_eq(run_meta_str(t, "state"), "failed");
        json_object_put(t);
}

Test(run_task, rerun_replaces_the_result_block)
{
        json_object *t;
        const char *d;

        cr_assert_eq(mkdir("list", 0755), 0);
        th_write_file("list/7.json", foreign_task);
        cr_assert_eq(run("\"$TR\" --dir list --task 7 -- sh -c 'exit 3'"), 3);
        cr_assert_eq(run("\"$TR\" --dir list --task 7 -- sh -c 'exit 4'"), 4);
        t = run_task("list/7.json");
        d = th_get_string(t, "description");
        cr_assert_not_null(d);
        cr_expect_eq(run_count_str(d, "--- taskrun ---"), 1, "description: %s", d);
        cr_expect(strstr(d, "exit code 4") && !strstr(d, "exit code 3"), "description: %s", d);
        cr_expect(strncmp(d, "Build the thing.\n", 17) == 0, "description: %s", d);
        json_object_put(t);
}

Test(run_task, rerun_that_succeeds_removes_the_result_block)
{
        json_object *t;

        cr_assert_eq(mkdir("list", 0755), 0);
        th_write_file("list/7.json", foreign_task);
        cr_assert_eq(run("\"$TR\" --dir list --task 7 -- false"), 1);
        cr_assert_eq(run("\"$TR\" --dir list --task 7 -- true"), 0);
        t = run_task("list/7.json");
        cr_expect_str_eq(th_get_string(t, "description"), "Build the thing.");
        json_object_put(t);
}

Test(run_task, file_mode_failure_writes_status_failed_at_top_level)
{
        json_object *t;

        cr_assert_eq(run("\"$TR\" --file job.json -- sh -c 'echo oops; exit 2'"), 2);
        t = run_task("job.json");
        cr_expect_str_eq(th_get_string(t, "status"), "failed");
        cr_expect_str_eq(th_get_string(t, "state"), "failed");
        cr_expect_eq(json_object_get_int(th_get(t, "exit_code")), 2);
        cr_expect_str_eq(th_get_string(t, "output_tail"), "oops\n");
        cr_expect_null(th_get(t, "metadata.taskrun"), "plain file got Claude metadata");
        json_object_put(t);
}

Test(run_task, file_mode_new_file_has_no_list_bookkeeping)
{
        json_object *t;

        cr_assert_eq(run("\"$TR\" --file job.json -- true"), 0);
        t = run_task("job.json");
        cr_expect_null(th_get(t, "id"), "a plain file got an id");
        cr_expect_null(th_get(t, "blocks"));
        cr_expect_null(th_get(t, "blockedBy"));
        json_object_put(t);
}

Test(run_task, file_mode_rerun_clears_the_previous_result)
{
        json_object *t;

        cr_assert_eq(run("\"$TR\" --file job.json -- ./no-such-command"), 127);
        cr_assert_eq(run("\"$TR\" --file job.json -- true"), 0);
        t = run_task("job.json");
        cr_expect_str_eq(th_get_string(t, "status"), "completed");
        cr_expect_not(json_object_object_get_ex(t, "error", NULL),
                      "the failed exec's error survived a good run");
        cr_expect_eq(json_object_get_int(th_get(t, "exit_code")), 0);
        json_object_put(t);
}

Test(run_task, active_form_chosen_by_someone_else_is_kept)
{
        json_object *t;

        cr_assert_eq(mkdir("list", 0755), 0);
        th_write_file("list/7.json", "{\"id\": \"7\", \"subject\": \"s\", \"description\": \"\", "
                                     "\"activeForm\": \"Building the release\", \"status\": "
                                     "\"pending\", \"blocks\": [], \"blockedBy\": []}");
        cr_assert_eq(run("\"$TR\" --dir list --task 7 -- true"), 0);
        t = run_task("list/7.json");
        cr_expect_str_eq(th_get_string(t, "activeForm"), "Building the release");
        json_object_put(t);
}

Test(run_task, active_form_after_a_failure_no_longer_says_running)
{
        json_object *t;

        cr_assert_eq(run("\"$TR\" --dir list --task 3 --create -- sh -c 'exit 2'"), 2);
        t = run_task("list/3.json");
        /* Claude Code shows an in_progress task's activeForm as its spinner's text. */
        cr_expect_str_eq(th_get_string(t, "status"), "in_progress");
        cr_expect_str_eq(th_get_string(t, "activeForm"), "Failed: sh -c 'exit 2'");
        json_object_put(t);
        cr_assert_eq(run("\"$TR\" --dir list --task 4 --create --timeout 0.1 -- sleep 5"), 124);
        t = run_task("list/4.json");
        cr_expect_str_eq(th_get_string(t, "activeForm"), "Timed out: sleep 5");
        json_object_put(t);
}

Test(run_task, active_form_of_a_completed_run_is_removed_and_a_rerun_sets_it_again)
{
        json_object *t;

        cr_assert_eq(run("\"$TR\" --dir list --task 3 --create -- sh -c 'exit 2'"), 2);
        cr_assert_eq(run("\"$TR\" --dir list --task 3 -- true"), 0);
        t = run_task("list/3.json");
        cr_expect_str_eq(th_get_string(t, "status"), "completed");
        cr_expect_null(th_get(t, "activeForm"), "no activeForm left of taskrun's");
        json_object_put(t);
        pid_t tr = run_start("\"$TR\" --dir list --task 3 -- sh -c '" WAIT_FOR_GO "'");
        t = run_await_state("list/3.json", "running", 5000);
        cr_expect_str_eq(th_get_string(t, "activeForm"), "Running sh -c '" WAIT_FOR_GO "'");
        json_object_put(t);
        th_write_file("go", "");
        cr_expect_eq(run_wait(tr), 0);
}

Test(run_task, active_form_chosen_by_someone_else_is_kept_after_a_failure)
{
        json_object *t;

        cr_assert_eq(mkdir("list", 0755), 0);
        th_write_file("list/7.json", "{\"id\": \"7\", \"subject\": \"s\", \"description\": \"\", "
                                     "\"activeForm\": \"Building the release\", \"status\": "
                                     "\"pending\", \"blocks\": [], \"blockedBy\": []}");
        cr_assert_eq(run("\"$TR\" --dir list --task 7 -- false"), 1);
        t = run_task("list/7.json");
        cr_expect_str_eq(th_get_string(t, "activeForm"), "Building the release");
        json_object_put(t);
}

Test(run_task, file_mode_success_writes_status_completed)
{
        json_object *t;

        cr_assert_eq(run("\"$TR\" --file job.json -- true"), 0);
        t = run_task("job.json");
        cr_expect_str_eq(th_get_string(t, "status"), "completed");
        json_object_put(t);
}

Test(run_task, heartbeat_records_the_last_line_while_running)
{
        pid_t tr = run_start("\"$TR\" --dir list --task 1 --create --heartbeat 0.2 -- sh -c 'echo "
                             "first; echo second; " WAIT_FOR_GO "'");
        long long deadline = th_now_ms() + 5000;
        json_object *t = NULL;
        const char *last = NULL;

        while (th_now_ms() < deadline) {
                json_object_put(t);
                t = th_read_json("list/1.json");
                last = t ? run_meta_str(t, "last_line") : NULL;
                if (last != NULL && strcmp(last, "second") == 0)
                        break;
                usleep(20000);
        }
        cr_expect_str_eq(last, "second", "no heartbeat with the last line");
        cr_expect_str_eq(run_meta_str(t, "state"), "running");
        cr_expect_eq(run_meta_int(t, "output_bytes"), 13);
        assert_iso8601(run_meta_str(t, "heartbeat_at"), "heartbeat_at");
        json_object_put(t);
        th_write_file("go", "");
        cr_assert_eq(run_wait(tr), 0);
}

/* taskrun itself may hold the lock for a moment, writing the running record. */
#define TAKE_LOCK "until mkdir job.json.lock 2>/dev/null; do sleep 0.01; done"

Test(run_task, strict_unwritable_task_exits_125_after_the_command_ran)
{
        char *err;

        /* The command takes the task's lock as Claude would, so the final write times out. */
        cr_assert_eq(run("\"$TR\" --strict --lock-timeout 0.3 --file job.json -- sh -c '" TAKE_LOCK
                         "; touch ran'"),
                     125);
        cr_expect_eq(access("ran", F_OK), 0, "the command did not run");
        err = run_stderr();
        cr_expect(strstr(err, "taskrun: ") && strstr(err, "lock"), "stderr: %s", err);
        free(err);
}

Test(run_task, unwritable_task_without_strict_keeps_the_command_status)
{
        char *err;

        cr_assert_eq(
            run("\"$TR\" --lock-timeout 0.3 --file job.json -- sh -c '" TAKE_LOCK "; exit 3'"), 3);
        err = run_stderr();
        cr_expect(strstr(err, "taskrun: "), "no error reported: %s", err);
        free(err);
}

Test(run_task, strict_task_in_a_vanished_directory_exits_125)
{
        cr_assert_eq(mkdir("d", 0755), 0);
        cr_assert_eq(run("\"$TR\" --strict --file d/job.json -- sh -c 'rm -r d; touch d ran'"),
                     125);
        cr_expect_eq(access("ran", F_OK), 0, "the command did not run");
}

Test(run_task, quick_command_still_records_how_it_ran)
{
        json_object *t;

        /* Done before any running record is due: the final write carries it all. */
        cr_assert_eq(run("\"$TR\" --dir list -- true"), 0);
        t = run_task("list/1.json");
        cr_expect_str_eq(run_meta_str(t, "state"), "completed");
        cr_expect_gt(run_meta_int(t, "pid"), 0);
        cr_expect_gt(run_meta_int(t, "start_time_ticks"), 0);
        cr_expect_eq(json_object_array_length(run_meta(t, "argv")), 1);
        cr_expect_not_null(run_meta_str(t, "cwd"));
        cr_expect_not_null(run_meta_str(t, "host"));
        cr_expect_not_null(run_meta_str(t, "boot_id"));
        assert_iso8601(run_meta_str(t, "started_at"), "started_at");
        assert_iso8601(run_meta_str(t, "ended_at"), "ended_at");
        json_object_put(t);
}

Test(run_task, file_mode_keeps_the_fields_of_an_existing_file)
{
        json_object *t;

        th_write_file("job.json",
                      "{\"name\": \"nightly\", \"status\": \"pending\", \"runs\": [1]}");
        cr_assert_eq(run("\"$TR\" --file job.json -- true"), 0);
        t = run_task("job.json");
        cr_expect_str_eq(th_get_string(t, "name"), "nightly");
        cr_expect_eq(json_object_array_length(th_get(t, "runs")), 1);
        cr_expect_str_eq(th_get_string(t, "status"), "completed");
        json_object_put(t);
}

Test(run_task, corrupt_task_file_is_refused_and_left_as_it_was)
{
        struct th_snapshot snap;
        char *err;

        th_write_file("job.json", "{\"status\": \"pending\",");
        th_snapshot_take("job.json", &snap);
        cr_assert_eq(run("\"$TR\" --file job.json -- touch ran"), 125);
        cr_expect_neq(access("ran", F_OK), 0, "the command ran");
        th_snapshot_assert_same("job.json", &snap);
        err = run_stderr();
        cr_expect(strncmp(err, "taskrun: ", 9) == 0 && strchr(err, '\n') == err + strlen(err) - 1,
                  "not one line: %s", err);
        free(err);
}

Test(run_task, detach_prints_the_id_returns_and_records_the_end)
{
        long long t0 = th_now_ms();
        json_object *t;
        char *out, *log;

        cr_assert_eq(
            run("\"$TR\" --dir list --detach -- sh -c '" WAIT_FOR_GO "; echo bye; exit 3'"), 0);
        cr_expect_lt(th_now_ms() - t0, 2000, "--detach waited for the command");
        out = run_stdout(NULL);
        cr_expect_str_eq(out, "1\n");
        th_write_file("go", "");
        t = run_await_state("list/1.json", "failed", 5000);
        cr_expect_eq(run_meta_int(t, "exit_code"), 3);
        json_object_put(t);
        log = th_read_file("list/1.log", NULL);
        cr_assert_not_null(log);
        /* Between the header line and the footer (see test_cmd_logs.c). */
        const char *body = strchr(log, '\n');
        cr_expect(body != NULL && strncmp(body, "\nbye\n[exited with status 3 after ", 33) == 0,
                  "log: %s", log);
        free(log);
        free(out);
}

/* Arguments are bytes; the task file must stay valid UTF-8 that taskrun can read back. */
Test(run_task, non_utf8_arguments_keep_the_task_readable)
{
        json_object *t;

        cr_assert_eq(run("\"$TR\" --dir list -- printf 'x%%s' \"$(printf 'a\\377b')\" >/dev/null"),
                     0);
        cr_assert_eq(run("\"$TR\" update 1 --dir list --subject renamed"), 0,
                     "the task file taskrun wrote is not readable by taskrun");
        t = run_task("list/1.json");
        cr_expect_str_eq(json_object_get_string(json_object_array_get_idx(run_meta(t, "argv"), 2)),
                         "a\xef\xbf\xbd"
                         "b");
        json_object_put(t);
}

Test(run_task, detach_of_a_missing_command_exits_127_and_still_prints_the_id)
{
        char *out;
        json_object *t;

        cr_assert_eq(run("\"$TR\" --dir list --detach -- ./no-such-command"), 127);
        out = run_stdout(NULL);
        cr_expect_str_eq(out, "1\n");
        t = run_task("list/1.json");
        cr_expect_str_eq(run_meta_str(t, "state"), "failed");
        cr_expect_eq(run_meta_int(t, "exit_code"), 127);
        json_object_put(t);
        free(out);
}

Test(run_task, active_form_of_an_earlier_run_is_replaced_but_a_users_running_form_kept)
{
        json_object *t;

        cr_assert_eq(run("\"$TR\" --dir list --task 1 --create -- true"), 0);
        cr_assert_eq(run("\"$TR\" --dir list --task 1 -- sh -c 'exit 1'"), 1);
        t = run_task("list/1.json");
        /* Replaced by the second run's, which says how it ended (a completed one's goes). */
        cr_expect_str_eq(th_get_string(t, "activeForm"), "Failed: sh -c 'exit 1'");
        json_object_put(t);
        cr_assert_eq(run("\"$TR\" update 1 --dir list --active-form 'Running tests'"), 0);
        cr_assert_eq(run("\"$TR\" --dir list --task 1 -- true"), 0);
        t = run_task("list/1.json");
        cr_expect_str_eq(th_get_string(t, "activeForm"), "Running tests");
        json_object_put(t);
}

/* The description of task 1 after running script, which fails. */
static json_object *failed_run_of(const char *script)
{
        th_write_file("script.sh", script);
        cr_assert_eq(run("\"$TR\" --dir list --task 1 --create -- sh script.sh"), 1);
        return run_task("list/1.json");
}

Test(run_task, result_block_is_bounded_in_bytes_and_each_line_cut_with_an_ellipsis)
{
        json_object *t;
        const char *d, *tail;

        /* 10 MB on one line. */
        t = failed_run_of("echo first; head -c 10000000 /dev/zero | tr '\\0' x; exit 1\n");
        d = th_get_string(t, "description");
        cr_assert_not_null(d);
        cr_expect_leq(strlen(d), 4096, "description of %zu bytes", strlen(d));
        cr_expect(strstr(d, "xxx…"), "the long line is not cut with an ellipsis: %.300s", d);
        tail = run_meta_str(t, "output_tail");
        cr_expect(tail && strlen(tail) > 60000, "the full tail is not kept in the metadata");
        json_object_put(t);
        /* Many long lines of two-byte characters: cut between characters, 4 KiB in all. */
        t = failed_run_of("j=0; while [ $j -lt 10 ]; do i=0; while [ $i -lt 400 ]; do "
                          "printf '\\303\\251'; i=$((i+1)); done; echo; j=$((j+1)); done; "
                          "exit 1\n");
        d = th_get_string(t, "description");
        cr_assert_not_null(d);
        cr_expect_leq(strlen(d), 4096 + 256, "description of %zu bytes", strlen(d));
        cr_expect(th_utf8_valid(d, strlen(d)), "the description is not UTF-8");
        cr_expect(strstr(d, "éé…\néé"), "long lines are not cut with an ellipsis: %zu bytes",
                  strlen(d));
        cr_expect_geq(strlen(d), 3000, "lines are missing: %zu bytes", strlen(d));
        json_object_put(t);
}

Test(run_task, result_block_of_an_empty_description_has_no_blank_lines_before_it)
{
        json_object *t;
        const char *d;

        cr_assert_eq(run("\"$TR\" --dir list --task 1 --create -- sh -c 'exit 2'"), 2);
        t = run_task("list/1.json");
        d = th_get_string(t, "description");
        cr_assert_not_null(d);
        cr_expect(strncmp(d, "--- taskrun ---\nfailed: exit code 2", 35) == 0, "description: %s",
                  d);
        json_object_put(t);
        /* A second failure replaces it, and a success removes it. */
        cr_assert_eq(run("\"$TR\" --dir list --task 1 -- sh -c 'exit 3'"), 3);
        t = run_task("list/1.json");
        d = th_get_string(t, "description");
        cr_expect(strncmp(d, "--- taskrun ---\nfailed: exit code 3", 35) == 0, "description: %s",
                  d);
        cr_expect_null(strstr(d, "exit code 2"), "the old block stayed: %s", d);
        json_object_put(t);
        cr_assert_eq(run("\"$TR\" --dir list --task 1 -- true"), 0);
        t = run_task("list/1.json");
        cr_expect_str_eq(th_get_string(t, "description"), "");
        json_object_put(t);
}
