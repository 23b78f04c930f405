/*
 * taskrun as a CI step: --summary FILE writes one JSON object with the
 * result; --github folds the output and reports to GitHub Actions, and only
 * there; --quiet shows output only on failure, with memory that stays flat.
 * Each test runs the real binary through sh in a scratch directory that is
 * also its working directory; the command's stdout and stderr land in the
 * files ./stdout and ./stderr.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "helpers.h"

static char scratch[4096];

static void setup(void)
{
        const char *test_bin = getenv("TASKRUN_TEST_BIN");

        th_tmpdir(scratch, sizeof scratch);
        cr_assert_eq(chdir(scratch), 0);
        setenv("TR", test_bin && *test_bin ? test_bin : TASKRUN_BIN, 1);
        unsetenv("CLAUDE_CODE_TASK_LIST_ID");
        unsetenv("CLAUDE_CODE_SESSION_ID");
        setenv("CLAUDE_CONFIG_DIR", "cfg", 1);
        unsetenv("GITHUB_ACTIONS");
        unsetenv("GITHUB_STEP_SUMMARY");
}

static void teardown(void)
{
        if (chdir("/") == 0 && scratch[0] != '\0')
                th_rmtree(scratch);
        scratch[0] = '\0';
}

TestSuite(ci, .init = setup, .fini = teardown, .timeout = 120);

/* Run a shell command line, stdin from /dev/null, output to ./stdout and ./stderr; its $?. */
static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
        char cmd[8192];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(cmd, sizeof cmd, fmt, ap);
        va_end(ap);
        return th_sh("( %s ) </dev/null >stdout 2>stderr", cmd);
}

static char *file(const char *path)
{
        char *s = th_read_file(path, NULL);

        cr_assert_not_null(s, "no %s", path);
        return s;
}

/* The whole file must be one JSON object and nothing else. */
static json_object *one_object(const char *path)
{
        size_t len;
        char *text = th_read_file(path, &len);
        struct json_tokener *tok = json_tokener_new();
        json_object *o;
        size_t used;

        cr_assert_not_null(text, "no %s", path);
        o = json_tokener_parse_ex(tok, text, (int)len);
        cr_assert_eq(json_tokener_get_error(tok), json_tokener_success, "%s: not JSON: %s", path,
                     text);
        used = json_tokener_get_parse_end(tok);
        while (used < len && strchr(" \t\r\n", text[used]))
                used++;
        cr_expect_eq(used, len, "%s: more after the object: %s", path, text + used);
        cr_assert(json_object_is_type(o, json_type_object), "%s: not an object", path);
        json_tokener_free(tok);
        free(text);
        return o;
}

static json_object *key(json_object *o, const char *k)
{
        json_object *v;

        cr_assert(json_object_object_get_ex(o, k, &v), "summary has no \"%s\"", k);
        return v;
}

static void expect_int(json_object *o, const char *k, long long want)
{
        json_object *v = key(o, k);

        cr_expect(json_object_is_type(v, json_type_int), "\"%s\" is not an integer", k);
        cr_expect_eq(json_object_get_int64(v), want, "\"%s\"", k);
}

static void expect_null(json_object *o, const char *k)
{
        cr_expect_null(key(o, k), "\"%s\" is not null", k);
}

static void expect_str(json_object *o, const char *k, const char *want)
{
        json_object *v = key(o, k);

        cr_expect(json_object_is_type(v, json_type_string), "\"%s\" is not a string", k);
        cr_expect_str_eq(json_object_get_string(v), want, "\"%s\"", k);
}

static void expect_bool(json_object *o, const char *k, int want)
{
        json_object *v = key(o, k);

        cr_expect(json_object_is_type(v, json_type_boolean), "\"%s\" is not a boolean", k);
        cr_expect_eq(json_object_get_boolean(v), want, "\"%s\"", k);
}

/* "2026-12-01T05:00:00.123Z" */
static void expect_time(json_object *o, const char *k)
{
        const char *s = json_object_get_string(key(o, k));
        int y, mo, d, h, mi, sec, ms;
        char z;

        cr_expect(s && strlen(s) == 24 &&
                      sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d.%3d%c", &y, &mo, &d, &h, &mi, &sec, &ms,
                             &z) == 8 &&
                      z == 'Z',
                  "\"%s\": not an ISO 8601 UTC time: %s", k, s ? s : "(null)");
}

Test(ci, summary_writes_one_json_object_with_the_result_of_a_failure)
{
        static const char *const keys[] = {
            "command",   "command_line", "task",       "state",    "exit_code",    "signal",
            "timed_out", "duration_ms",  "started_at", "ended_at", "output_bytes", "tail",
        };
        json_object *s, *cmd;

        cr_assert_eq(sh("\"$TR\" --dir list --summary result.json -- "
                        "sh -c 'echo out; sleep 0.1; echo err >&2; exit 3'"),
                     3);
        s = one_object("result.json");
        cr_expect_eq(json_object_object_length(s), (int)(sizeof keys / sizeof keys[0]), "keys: %s",
                     json_object_to_json_string(s));
        for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
                key(s, keys[i]);

        cmd = key(s, "command");
        cr_assert(json_object_is_type(cmd, json_type_array));
        cr_assert_eq(json_object_array_length(cmd), 3);
        cr_expect_str_eq(json_object_get_string(json_object_array_get_idx(cmd, 0)), "sh");
        cr_expect_str_eq(json_object_get_string(json_object_array_get_idx(cmd, 1)), "-c");
        cr_expect_str_eq(json_object_get_string(json_object_array_get_idx(cmd, 2)),
                         "echo out; sleep 0.1; echo err >&2; exit 3");
        expect_str(s, "command_line", "sh -c 'echo out; sleep 0.1; echo err >&2; exit 3'");
        expect_str(s, "task", "1");
        expect_str(s, "state", "failed");
        expect_int(s, "exit_code", 3);
        expect_null(s, "signal");
        expect_bool(s, "timed_out", 0);
        cr_expect(json_object_is_type(key(s, "duration_ms"), json_type_int));
        cr_expect_geq(json_object_get_int64(key(s, "duration_ms")), 100);
        cr_expect_lt(json_object_get_int64(key(s, "duration_ms")), 20000);
        expect_time(s, "started_at");
        expect_time(s, "ended_at");
        cr_expect_leq(strcmp(json_object_get_string(key(s, "started_at")),
                             json_object_get_string(key(s, "ended_at"))),
                      0, "ended before it started");
        expect_int(s, "output_bytes", 8);
        expect_str(s, "tail", "out\nerr\n");
        json_object_put(s);
}

Test(ci, summary_of_a_success)
{
        json_object *s;

        cr_assert_eq(sh("\"$TR\" --dir list --task 7 --create --summary result.json -- echo fine"),
                     0);
        s = one_object("result.json");
        expect_str(s, "task", "7");
        expect_str(s, "state", "completed");
        expect_int(s, "exit_code", 0);
        expect_null(s, "signal");
        expect_bool(s, "timed_out", 0);
        expect_int(s, "output_bytes", 5);
        expect_str(s, "tail", "fine\n");
        json_object_put(s);
}

Test(ci, summary_records_a_signal_and_a_timeout)
{
        json_object *s;

        cr_assert_eq(sh("\"$TR\" --dir list --summary killed.json -- sh -c 'kill -9 $$'"), 137);
        s = one_object("killed.json");
        expect_str(s, "state", "killed");
        expect_null(s, "exit_code");
        expect_int(s, "signal", 9);
        expect_bool(s, "timed_out", 0);
        json_object_put(s);

        cr_assert_eq(sh("\"$TR\" --dir list --timeout 0.2 --summary timeout.json -- sleep 10"),
                     124);
        s = one_object("timeout.json");
        expect_str(s, "state", "timed_out");
        expect_null(s, "exit_code");
        expect_int(s, "signal", 15);
        expect_bool(s, "timed_out", 1);
        json_object_put(s);
}

Test(ci, summary_of_a_command_that_is_not_found)
{
        json_object *s;

        cr_assert_eq(sh("\"$TR\" --dir list --summary result.json -- ./no-such-command"), 127);
        s = one_object("result.json");
        expect_str(s, "state", "failed");
        expect_int(s, "exit_code", 127);
        expect_null(s, "signal");
        json_object_put(s);
}

Test(ci, summary_names_a_plain_file_task_by_its_file_name)
{
        json_object *s;

        cr_assert_eq(sh("\"$TR\" --file status.json --summary result.json -- true"), 0);
        s = one_object("result.json");
        expect_str(s, "task", "status.json");
        expect_str(s, "state", "completed");
        json_object_put(s);
}

#define GH_ENV "GITHUB_ACTIONS=true GITHUB_STEP_SUMMARY=\"$PWD/step-summary.md\" "

Test(ci, github_folds_output_reports_a_failure_and_appends_a_step_summary)
{
        char *out, *md;

        th_write_file("step-summary.md", "earlier step\n");
        cr_assert_eq(sh(GH_ENV "\"$TR\" --dir list --github -- sh -c 'echo one; echo two; exit 2'"),
                     2);
        out = file("stdout");
        cr_expect_eq(strncmp(out,
                             "::group::sh -c 'echo one; echo two; exit 2'\none\ntwo\n"
                             "::endgroup::\n::error title=taskrun::failed: exit code 2 after ",
                             strlen("::group::sh -c 'echo one; echo two; exit 2'\none\ntwo\n"
                                    "::endgroup::\n::error title=taskrun::failed: exit code 2 "
                                    "after ")),
                     0, "stdout: %s", out);
        cr_expect_eq(out[strlen(out) - 1], '\n');
        cr_expect_eq(strchr(strstr(out, "::error"), '\n')[1], '\0', "more after ::error: %s", out);

        md = file("step-summary.md");
        cr_expect_eq(strncmp(md, "earlier step\n", 13), 0, "the step summary was not appended to");
        cr_expect(strstr(md, "### \xe2\x9d\x8c `sh -c 'echo one; echo two; exit 2'`\n"),
                  "no failed heading: %s", md);
        cr_expect(strstr(md, "\nfailed: exit code 2 after "), "no outcome: %s", md);
        cr_expect(strstr(md, "\ntask: `1`\n"), "no task: %s", md);
        cr_expect(strstr(md, "\n```\none\ntwo\n```\n"), "no output block: %s", md);
        free(out);
        free(md);
}

Test(ci, github_success_folds_output_without_an_error_line)
{
        char *out, *md;

        cr_assert_eq(sh(GH_ENV "\"$TR\" --dir list --github -- echo fine"), 0);
        out = file("stdout");
        cr_expect_str_eq(out, "::group::echo fine\nfine\n::endgroup::\n");
        md = file("step-summary.md");
        cr_expect(strstr(md, "### \xe2\x9c\x85 `echo fine`\n\ncompleted in "), "summary: %s", md);
        free(out);
        free(md);
}

Test(ci, github_without_github_actions_changes_nothing)
{
        char *out;

        cr_assert_eq(sh("GITHUB_STEP_SUMMARY=\"$PWD/step-summary.md\" "
                        "\"$TR\" --dir list --github -- sh -c 'echo one; exit 2'"),
                     2);
        out = file("stdout");
        cr_expect_str_eq(out, "one\n");
        free(out);
        cr_expect_neq(access("step-summary.md", F_OK), 0, "the step summary was written");

        cr_assert_eq(sh("GITHUB_ACTIONS=false GITHUB_STEP_SUMMARY=\"$PWD/step-summary.md\" "
                        "\"$TR\" --dir list --github -- sh -c 'echo one; exit 2'"),
                     2);
        out = file("stdout");
        cr_expect_str_eq(out, "one\n");
        free(out);
        cr_expect_neq(access("step-summary.md", F_OK), 0, "the step summary was written");
}

Test(ci, github_actions_without_the_option_changes_nothing)
{
        char *out;

        cr_assert_eq(sh(GH_ENV "\"$TR\" --dir list -- sh -c 'echo one; exit 2'"), 2);
        out = file("stdout");
        cr_expect_str_eq(out, "one\n");
        free(out);
        cr_expect_neq(access("step-summary.md", F_OK), 0, "the step summary was written");
}

Test(ci, quiet_shows_no_output_on_success)
{
        char *out, *err;

        cr_assert_eq(sh("\"$TR\" --dir list --task 1 --create --quiet -- "
                        "sh -c 'echo out; echo err >&2'"),
                     0);
        out = file("stdout");
        err = file("stderr");
        cr_expect_str_eq(out, "");
        cr_expect_str_eq(err, "");
        free(out);
        free(err);
}

Test(ci, quiet_replays_each_stream_where_it_was_going_on_failure)
{
        char *out, *err;

        cr_assert_eq(sh("\"$TR\" --dir list --task 1 --create --quiet -- "
                        "sh -c 'echo out; echo err >&2; exit 5'"),
                     5);
        out = file("stdout");
        err = file("stderr");
        cr_expect_str_eq(out, "out\n");
        cr_expect_str_eq(err, "err\n");
        free(out);
        free(err);
}

Test(ci, quiet_shows_only_the_kept_tail_of_a_long_failure)
{
        size_t len;
        char *err;

        cr_assert_eq(sh("\"$TR\" --dir list --task 1 --create --quiet --tail 4K -- "
                        "sh -c 'seq 100000; echo last line; exit 1'"),
                     1);
        err = th_read_file("stdout", &len);
        cr_assert_not_null(err);
        cr_expect_leq(len, 4096, "stdout holds %zu bytes", len);
        cr_expect_gt(len, 1000, "stdout holds %zu bytes", len);
        cr_expect(len > 10 && strcmp(err + len - 10, "last line\n") == 0, "tail: %s", err);
        free(err);
}

/* The quiet mode keeps only its tail: taskrun's peak RSS does not grow with the output. */
Test(ci, quiet_memory_stays_flat_with_200_MB_of_output)
{
        const char *preload = getenv("LD_PRELOAD");
        long hwm_kb = -1;
        json_object *task;
        FILE *f;

        /* A skipped test gets no .fini: each skip runs the teardown first. */
#if defined(__SANITIZE_ADDRESS__)
        teardown();
        cr_skip("AddressSanitizer's shadow memory says nothing of taskrun's own");
#endif
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
        teardown();
        cr_skip("AddressSanitizer's shadow memory says nothing of taskrun's own");
#endif
#endif
        if (preload != NULL && strstr(preload, "vgpreload") != NULL) {
                teardown();
                cr_skip("under valgrind");
        }
        /* The command's parent is taskrun: it reads taskrun's high-water mark once it is done. */
        cr_assert_eq(sh("\"$TR\" --dir list --task 1 --create --quiet -- sh -c '"
                        "yes \"a line of output, over and over\" | head -c 209715200; "
                        "grep VmHWM /proc/$PPID/status > hwm'"),
                     0);
        f = fopen("hwm", "r");
        cr_assert_not_null(f, "no VmHWM read");
        cr_assert_eq(fscanf(f, "VmHWM: %ld kB", &hwm_kb), 1);
        fclose(f);
        cr_expect_lt(hwm_kb, 8 * 1024, "taskrun --quiet peaked at %ld kB for 200 MB of output",
                     hwm_kb);
        task = th_read_json("list/1.json");
        cr_assert_not_null(task);
        cr_expect_eq(json_object_get_int64(th_get(task, "metadata.taskrun.output_bytes")),
                     209715200LL, "not all the output went through taskrun");
        json_object_put(task);
}
