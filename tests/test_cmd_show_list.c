/* taskrun show and taskrun list (one fixture list for both): what a person reads, and JSON for
 * scripts. */
#include <sys/stat.h>

#include "cmd_helpers.h"

static char dir[512];

static const char *const FAILED_TASK =
    "{\n"
    "  \"id\": \"2\",\n"
    "  \"subject\": \"Build the thing\",\n"
    "  \"description\": \"make it\\n\\n--- taskrun ---\\nfailed: exit code 2 after 1.2s\",\n"
    "  \"status\": \"in_progress\",\n"
    "  \"blocks\": [],\n"
    "  \"blockedBy\": [\n"
    "    \"1\"\n"
    "  ],\n"
    "  \"metadata\": {\n"
    "    \"taskrun\": {\n"
    "      \"state\": \"failed\",\n"
    "      \"argv\": [\n"
    "        \"make\",\n"
    "        \"all\"\n"
    "      ],\n"
    "      \"pid\": 4242,\n"
    "      \"host\": \"buildbox\",\n"
    "      \"started_at\": \"2026-01-01T00:00:00.000Z\",\n"
    "      \"ended_at\": \"2026-01-01T00:00:01.234Z\",\n"
    "      \"duration_ms\": 1234,\n"
    "      \"exit_code\": 2,\n"
    "      \"signal\": null,\n"
    "      \"last_line\": \"make: *** [all] Error 2\"\n"
    "    }\n"
    "  }\n"
    "}";

static void add_task(const char *id, const char *status, const char *subject)
{
        char text[1024];

        snprintf(text, sizeof text,
                 "{\n  \"id\": \"%s\",\n  \"subject\": \"%s\",\n  \"description\": \"\",\n"
                 "  \"status\": \"%s\",\n  \"blocks\": [],\n  \"blockedBy\": []\n}",
                 id, subject, status);
        tc_write_task(dir, id, text);
}

static void setup(void)
{
        th_tmpdir(dir, sizeof dir);
        add_task("1", "completed", "Fetch sources");
        tc_write_task(dir, "2", FAILED_TASK);
        add_task("10", "pending", "Tenth");
        add_task("9", "pending", "Ninth");
        add_task("abc", "in_progress", "Named");
}

static void teardown(void)
{
        th_rmtree(dir);
}

TestSuite(cmd_show, .init = setup, .fini = teardown);
TestSuite(cmd_list, .init = setup, .fini = teardown);

static void expect_contains(const char *text, const char *what)
{
        cr_expect(strstr(text, what) != NULL, "no \"%s\" in:\n%s", what, text);
}

Test(cmd_show, human_view_has_the_fields)
{
        char *out;

        cr_assert_eq(tc_run(&out, "show --dir '%s' 2", dir), 0);
        expect_contains(out, "id:          2\n");
        expect_contains(out, "subject:     Build the thing\n");
        expect_contains(out, "status:      in_progress\n");
        expect_contains(out, "state:       failed\n");
        expect_contains(out, "exit code:   2\n");
        expect_contains(out, "duration:    1.2s\n");
        expect_contains(out, "started:     2026-01-01T00:00:00.000Z\n");
        expect_contains(out, "ended:       2026-01-01T00:00:01.234Z\n");
        expect_contains(out, "command:     make all\n");
        expect_contains(out, "last line:   make: *** [all] Error 2\n");
        expect_contains(out, "blocked by:  1\n");
        expect_contains(out, "description:\n  make it\n\n  --- taskrun ---\n");
        free(out);
}

Test(cmd_show, json_is_the_task_exactly_as_stored)
{
        char *out;

        cr_assert_eq(tc_run(&out, "show --dir '%s' --json 2", dir), 0);
        cr_expect_eq(strlen(out), strlen(FAILED_TASK) + 1);
        cr_expect_eq(strncmp(out, FAILED_TASK, strlen(FAILED_TASK)), 0, "got:\n%s", out);
        cr_expect_str_eq(out + strlen(FAILED_TASK), "\n");
        free(out);
}

Test(cmd_show, missing_task_exits_1)
{
        char *err;

        cr_expect_eq(tc_run(&err, "show --dir '%s' 77 2>&1", dir), 1);
        expect_contains(err, "taskrun: show: task 77: not found");
        free(err);
}

Test(cmd_show, escapes_control_characters)
{
        char *out;

        add_task("5", "pending", "evil\\u001b[2Jsubject");
        cr_assert_eq(tc_run(&out, "show --dir '%s' 5", dir), 0);
        cr_expect(strchr(out, '\033') == NULL, "escape reached the terminal");
        free(out);
}

Test(cmd_list, table_has_a_row_per_task_sorted_by_id)
{
        char *out;

        cr_assert_eq(tc_run(&out, "list --dir '%s'", dir), 0);
        const char *h = strstr(out, "ID");
        const char *r1 = strstr(out, "\n1 "), *r2 = strstr(out, "\n2 "), *r9 = strstr(out, "\n9 ");
        const char *r10 = strstr(out, "\n10 "), *rabc = strstr(out, "\nabc ");
        cr_assert(h == out && r1 && r2 && r9 && r10 && rabc, "table:\n%s", out);
        cr_expect(r1 < r2 && r2 < r9 && r9 < r10 && r10 < rabc, "order:\n%s", out);
        expect_contains(out, "STATUS");
        expect_contains(out, "LAST LINE");
        expect_contains(r2, "in_progress  failed");
        expect_contains(r2, "1.2s  Build the thing");
        expect_contains(r2, "make: *** [all] Error 2\n");
        free(out);
}

Test(cmd_list, status_filters)
{
        char *out;

        cr_assert_eq(tc_run(&out, "list --dir '%s' --status pending", dir), 0);
        cr_expect(strstr(out, "Tenth") && strstr(out, "Ninth"), "%s", out);
        cr_expect(!strstr(out, "Fetch") && !strstr(out, "Build") && !strstr(out, "Named"), "%s",
                  out);
        free(out);
        cr_assert_eq(tc_run(&out, "list --dir '%s' --status completed --status in_progress", dir),
                     0);
        cr_expect(strstr(out, "Fetch") && strstr(out, "Build") && strstr(out, "Named"), "%s", out);
        cr_expect(!strstr(out, "Tenth"), "%s", out);
        free(out);
}

Test(cmd_list, status_filter_is_checked)
{
        cr_expect_eq(tc_run(NULL, "list --dir '%s' --status done 2>/dev/null", dir), 2);
}

Test(cmd_list, json_is_an_array_of_the_stored_tasks_in_order)
{
        const char *order[] = {"1", "2", "9", "10", "abc"};
        json_object *array, *task;
        char *out;

        cr_assert_eq(tc_run(&out, "list --dir '%s' --json", dir), 0);
        array = json_tokener_parse(out);
        cr_assert(json_object_is_type(array, json_type_array), "not an array: %s", out);
        cr_assert_eq(json_object_array_length(array), 5);
        for (size_t i = 0; i < 5; i++) {
                json_object *stored = tc_read_task(dir, order[i]);
                task = json_object_array_get_idx(array, i);
                cr_expect_str_eq(th_get_string(task, "id"), order[i]);
                cr_expect(json_object_equal(task, stored), "task %s differs", order[i]);
                json_object_put(stored);
        }
        json_object_put(array);
        free(out);
}

/* Numbers by value, then by how they are spelt: the same order whatever the libc's qsort. */
Test(cmd_list, ids_that_are_the_same_number_sort_by_their_spelling)
{
        const char *order[] = {"1", "2", "0007", "007", "7", "9", "10", "abc"};
        json_object *array;
        char *out;

        add_task("7", "pending", "Seven");
        add_task("007", "pending", "Zero zero seven");
        add_task("0007", "pending", "Zero zero zero seven");
        cr_assert_eq(tc_run(&out, "list --dir '%s' --json", dir), 0);
        array = json_tokener_parse(out);
        cr_assert_eq(json_object_array_length(array), 8, "%s", out);
        for (size_t i = 0; i < 8; i++)
                cr_expect_str_eq(th_get_string(json_object_array_get_idx(array, i), "id"),
                                 order[i]);
        json_object_put(array);
        free(out);
}

Test(cmd_list, json_of_a_filtered_empty_list_is_an_empty_array)
{
        char *out;

        cr_assert_eq(
            tc_run(&out, "list --dir '%s' --json --status completed --status pending", dir), 0);
        free(out);
        th_rmtree(dir);
        cr_assert_eq(mkdir(dir, 0700), 0);
        cr_assert_eq(tc_run(&out, "list --dir '%s' --json", dir), 0);
        cr_expect_str_eq(out, "[]\n");
        free(out);
}

Test(cmd_list, skips_a_corrupt_file_with_a_warning)
{
        char *out;

        tc_write_task(dir, "3", "{\"id\": \"3\", \"subject\": ");
        cr_assert_eq(tc_run(&out, "list --dir '%s' 2>&1", dir), 0);
        expect_contains(out, "taskrun: list: skipping ");
        expect_contains(out, "3.json");
        expect_contains(out, "Tenth");
        expect_contains(out, "Build the thing");
        free(out);
}

Test(cmd_list, ignores_files_that_are_not_tasks)
{
        char path[PATH_MAX + 32], *out;

        snprintf(path, sizeof path, "%s/.highwatermark", dir);
        th_write_file(path, "10");
        snprintf(path, sizeof path, "%s/notes.txt", dir);
        th_write_file(path, "hello");
        cr_assert_eq(tc_run(&out, "list --dir '%s' --json 2>&1", dir), 0);
        json_object *array = json_tokener_parse(out);
        cr_expect_eq(json_object_array_length(array), 5);
        json_object_put(array);
        free(out);
}

Test(cmd_list, missing_list_directory_exits_1)
{
        cr_expect_eq(tc_run(NULL, "list --dir '%s/nope' 2>/dev/null", dir), 1);
}

Test(cmd_list, state_filters_on_the_last_runs_state)
{
        char *out;

        cr_assert_eq(tc_run(NULL, "--dir '%s' --task 1 --create -q -- true", dir), 0);
        cr_assert_eq(tc_run(NULL, "--dir '%s' --task 2 --create -q -- false 2>/dev/null", dir), 1);
        cr_assert_eq(
            tc_run(NULL, "--dir '%s' --task 3 --create -q -- sh -c 'exit 3' 2>/dev/null", dir), 3);
        cr_expect_eq(tc_run(&out, "list --dir '%s' --state failed", dir), 0);
        cr_expect(strstr(out, "\n2 ") != NULL && strstr(out, "\n3 ") != NULL, "%s", out);
        cr_expect(strstr(out, "\n1 ") == NULL, "a completed run listed as failed: %s", out);
        free(out);
        cr_expect_eq(tc_run(&out, "list --dir '%s' --json --state completed --state failed", dir),
                     0);
        json_object *a = json_tokener_parse(out);
        cr_assert(json_object_is_type(a, json_type_array), "%s", out);
        cr_expect_eq(json_object_array_length(a), 3, "repeatable: %s", out);
        json_object_put(a);
        free(out);
        cr_expect_eq(tc_run(&out, "list --dir '%s' --json --state running", dir), 0);
        cr_expect_str_eq(out, "[]\n");
        free(out);
}

Test(cmd_list, state_filter_is_checked)
{
        char *err, cmd[PATH_MAX * 2];

        snprintf(cmd, sizeof cmd, "'%s' list --dir '%s' --state done 2>&1 >/dev/null", TASKRUN_BIN,
                 dir);
        cr_expect_eq(th_run(cmd, &err), 2);
        cr_expect(err && strstr(err, "taskrun: list: --state: unknown state 'done'"), "%s", err);
        free(err);
}
