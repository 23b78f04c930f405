/* taskrun update: change only the given fields, the way Claude's TaskUpdate merges. */
#include "cmd_helpers.h"

static char dir[512];

/* A task as another tool left it: foreign fields, metadata, taskrun's block. */
static const char *const TASK = "{\n"
                                "  \"id\": \"1\",\n"
                                "  \"subject\": \"old subject\",\n"
                                "  \"description\": \"old description\",\n"
                                "  \"status\": \"pending\",\n"
                                "  \"blocks\": [],\n"
                                "  \"blockedBy\": [],\n"
                                "  \"custom\": {\"keep\": [1, 2]},\n"
                                "  \"metadata\": {\n"
                                "    \"mine\": \"x\",\n"
                                "    \"gone\": 1,\n"
                                "    \"taskrun\": {\"state\": \"completed\", \"exit_code\": 0}\n"
                                "  }\n"
                                "}";

static void setup(void)
{
        th_tmpdir(dir, sizeof dir);
        tc_write_task(dir, "1", TASK);
}

static void teardown(void)
{
        th_rmtree(dir);
}

TestSuite(cmd_update, .init = setup, .fini = teardown);

/* The task before, with the changes a test expects applied: must equal the file now. */
static void expect_task(json_object *expected)
{
        json_object *now = tc_read_task(dir, "1");

        cr_expect(json_object_equal(now, expected), "got %s\nwanted %s",
                  json_object_to_json_string(now), json_object_to_json_string(expected));
        json_object_put(now);
        json_object_put(expected);
}

Test(cmd_update, changes_only_the_given_fields)
{
        json_object *want = json_tokener_parse(TASK);

        cr_assert_eq(tc_run(NULL,
                            "update --dir '%s' 1 --status in_progress --subject new --owner me "
                            "--active-form Doing",
                            dir),
                     0);
        json_object_object_add(want, "status", json_object_new_string("in_progress"));
        json_object_object_add(want, "subject", json_object_new_string("new"));
        json_object_object_add(want, "owner", json_object_new_string("me"));
        json_object_object_add(want, "activeForm", json_object_new_string("Doing"));
        expect_task(want);
}

Test(cmd_update, set_meta_merges_key_by_key_and_keeps_the_rest)
{
        json_object *want = json_tokener_parse(TASK), *meta = th_get(want, "metadata");

        cr_assert_eq(tc_run(NULL,
                            "update --dir '%s' 1 --set-meta 'n=[1,2]' --set-meta 'mine=\"y\"' "
                            "--unset-meta gone --unset-meta never-there",
                            dir),
                     0);
        json_object_object_add(meta, "mine", json_object_new_string("y"));
        json_object_object_del(meta, "gone");
        json_object_object_add(meta, "n", json_tokener_parse("[1,2]"));
        expect_task(want);
}

Test(cmd_update, set_meta_null_deletes_the_key)
{
        json_object *want = json_tokener_parse(TASK);

        cr_assert_eq(tc_run(NULL, "update --dir '%s' 1 --set-meta gone=null", dir), 0);
        json_object_object_del(th_get(want, "metadata"), "gone");
        expect_task(want);
}

Test(cmd_update, refuses_status_failed_in_a_claude_list)
{
        char path[PATH_MAX], *err;
        struct th_snapshot snap;

        tc_task_path(path, sizeof path, dir, "1");
        th_snapshot_take(path, &snap);
        cr_expect_eq(tc_run(&err, "update --dir '%s' 1 --status failed 2>&1", dir), 1);
        cr_expect(strstr(err, "taskrun: update: status 'failed'") != NULL, "stderr: %s", err);
        th_snapshot_assert_same(path, &snap);
        free(err);
}

Test(cmd_update, accepts_status_failed_in_a_plain_file)
{
        char path[PATH_MAX];
        json_object *task;

        tc_task_path(path, sizeof path, dir, "1");
        cr_assert_eq(tc_run(NULL, "update --file '%s' --status failed", path), 0);
        task = th_read_json(path);
        cr_expect_str_eq(th_get_string(task, "status"), "failed");
        json_object_put(task);
}

Test(cmd_update, invalid_json_value_is_a_usage_error_and_changes_nothing)
{
        char path[PATH_MAX];
        struct th_snapshot snap;

        tc_task_path(path, sizeof path, dir, "1");
        th_snapshot_take(path, &snap);
        cr_expect_eq(tc_run(NULL, "update --dir '%s' 1 --set-meta k=unquoted 2>/dev/null", dir), 2);
        th_snapshot_assert_same(path, &snap);
}

Test(cmd_update, missing_task_is_an_error)
{
        char *err;

        cr_expect_eq(tc_run(&err, "update --dir '%s' 9 --status completed 2>&1", dir), 1);
        cr_expect(strstr(err, "task 9: not found") != NULL, "stderr: %s", err);
        cr_expect_eq(th_count(dir, "9.json"), 0);
        free(err);
}

Test(cmd_update, corrupt_task_is_an_error_and_left_as_it_was)
{
        char path[PATH_MAX];
        struct th_snapshot snap;

        tc_write_task(dir, "2", "{\"id\": \"2\", ");
        tc_task_path(path, sizeof path, dir, "2");
        th_snapshot_take(path, &snap);
        cr_expect_eq(tc_run(NULL, "update --dir '%s' 2 --status completed 2>/dev/null", dir), 1);
        th_snapshot_assert_same(path, &snap);
}

Test(cmd_update, nothing_to_change_is_a_usage_error)
{
        cr_expect_eq(tc_run(NULL, "update --dir '%s' 1 2>/dev/null", dir), 2);
}

Test(cmd_update, needs_exactly_one_id)
{
        cr_expect_eq(tc_run(NULL, "update --dir '%s' --status completed 2>/dev/null", dir), 2);
        cr_expect_eq(tc_run(NULL, "update --dir '%s' 1 2 --status completed 2>/dev/null", dir), 2);
        cr_expect_eq(tc_run(NULL, "update --dir '%s' ../1 --status completed 2>/dev/null", dir), 2);
}
