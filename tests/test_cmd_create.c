/* taskrun create: new tasks in Claude's shape, ids allocated as Claude does. */
#include "cmd_helpers.h"

static char dir[512];

static void setup(void)
{
        th_tmpdir(dir, sizeof dir);
}

static void teardown(void)
{
        th_rmtree(dir);
}

TestSuite(cmd_create, .init = setup, .fini = teardown);

Test(cmd_create, prints_distinct_increasing_ids)
{
        char *a, *b, *c;

        cr_assert_eq(tc_run(&a, "create --dir '%s' -s one", dir), 0);
        cr_assert_eq(tc_run(&b, "create --dir '%s' -s two", dir), 0);
        cr_assert_eq(tc_run(&c, "create --dir '%s' -s three", dir), 0);
        cr_expect_str_eq(a, "1\n");
        cr_expect_str_eq(b, "2\n");
        cr_expect_str_eq(c, "3\n");
        free(a);
        free(b);
        free(c);
}

Test(cmd_create, concurrent_creates_get_distinct_ids)
{
        char *out;
        int seen[21] = {0};

        /* Twenty creators at once, all under the list lock. */
        char cmd[PATH_MAX * 2];
        snprintf(cmd, sizeof cmd, "for i in $(seq 20); do '%s' create --dir '%s' -s x & done; wait",
                 TASKRUN_BIN, dir);
        cr_assert_eq(th_run(cmd, &out), 0);
        for (char *p = strtok(out, "\n"); p != NULL; p = strtok(NULL, "\n")) {
                int id = atoi(p);
                cr_assert(id >= 1 && id <= 20, "id %s", p);
                cr_expect_eq(seen[id], 0, "id %d given twice", id);
                seen[id] = 1;
        }
        for (int i = 1; i <= 20; i++)
                cr_expect_eq(seen[i], 1, "id %d missing", i);
        free(out);
}

Test(cmd_create, writes_the_claude_shape)
{
        char path[PATH_MAX];
        char *text;

        cr_assert_eq(tc_run(NULL,
                            "create --dir '%s' -s 'Build it' --description 'the details'"
                            " --active-form 'Building it' >/dev/null",
                            dir),
                     0);
        tc_task_path(path, sizeof path, dir, "1");
        text = th_read_file(path, NULL);
        cr_assert_not_null(text);
        cr_expect_str_eq(text, "{\n"
                               "  \"id\": \"1\",\n"
                               "  \"subject\": \"Build it\",\n"
                               "  \"description\": \"the details\",\n"
                               "  \"status\": \"pending\",\n"
                               "  \"blocks\": [],\n"
                               "  \"blockedBy\": [],\n"
                               "  \"activeForm\": \"Building it\"\n"
                               "}");
        free(text);
}

Test(cmd_create, writes_the_highwatermark_like_claude)
{
        char path[PATH_MAX], *text;

        cr_assert_eq(tc_run(NULL, "create --dir '%s' >/dev/null", dir), 0);
        cr_assert_eq(tc_run(NULL, "create --dir '%s' >/dev/null", dir), 0);
        snprintf(path, sizeof path, "%s/.highwatermark", dir);
        text = th_read_file(path, NULL);
        cr_assert_not_null(text);
        cr_expect_str_eq(text, "2");
        free(text);
}

Test(cmd_create, blocked_by_links_both_tasks)
{
        json_object *blocker, *blocked;
        char *out;

        cr_assert_eq(tc_run(NULL, "create --dir '%s' -s first >/dev/null", dir), 0);
        cr_assert_eq(tc_run(&out, "create --dir '%s' -s second --blocked-by 1 --blocked-by 1", dir),
                     0);
        cr_expect_str_eq(out, "2\n");
        blocked = tc_read_task(dir, "2");
        blocker = tc_read_task(dir, "1");
        cr_expect_str_eq(json_object_to_json_string(th_get(blocked, "blockedBy")), "[ \"1\" ]");
        cr_expect_str_eq(json_object_to_json_string(th_get(blocker, "blocks")), "[ \"2\" ]");
        json_object_put(blocked);
        json_object_put(blocker);
        free(out);
}

Test(cmd_create, blocked_by_a_missing_task_creates_nothing)
{
        cr_expect_eq(tc_run(NULL, "create --dir '%s' --blocked-by 7 2>/dev/null", dir), 1);
        cr_expect_eq(th_count(dir, "*.json"), 0);
}

Test(cmd_create, blocked_by_an_unsafe_id_is_a_usage_error)
{
        cr_expect_eq(tc_run(NULL, "create --dir '%s' --blocked-by ../x 2>/dev/null", dir), 2);
        cr_expect_eq(th_count(dir, "*.json"), 0);
}

Test(cmd_create, set_meta_takes_json_values)
{
        json_object *task;

        cr_assert_eq(tc_run(NULL,
                            "create --dir '%s' --set-meta 'ci=\"yes\"' --set-meta n=5 "
                            "--set-meta 'o={\"a\":[1,true,null]}' >/dev/null",
                            dir),
                     0);
        task = tc_read_task(dir, "1");
        cr_expect_str_eq(th_get_string(task, "metadata.ci"), "yes");
        cr_expect_eq(json_object_get_int(th_get(task, "metadata.n")), 5);
        cr_expect_str_eq(
            json_object_to_json_string_ext(th_get(task, "metadata.o"), JSON_C_TO_STRING_PLAIN),
            "{\"a\":[1,true,null]}");
        json_object_put(task);
}

Test(cmd_create, set_meta_refuses_what_json_parse_would)
{
        const char *bad[] = {"k=abc", "k=NaN",           "k=Infinity", "k='x'", "k=[1,]",
                             "k=01",  "k=1,\\\"j\\\":2", "=5",         "k",     "k="};

        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
                cr_expect_eq(
                    tc_run(NULL, "create --dir '%s' --set-meta \"%s\" 2>/dev/null", dir, bad[i]), 2,
                    "--set-meta %s", bad[i]);
        cr_expect_eq(th_count(dir, "*.json"), 0);
}

Test(cmd_create, id_option_names_the_task_and_never_overwrites)
{
        char path[PATH_MAX], *out;
        struct th_snapshot snap;

        cr_assert_eq(tc_run(&out, "create --dir '%s' --id build-1 -s x", dir), 0);
        cr_expect_str_eq(out, "build-1\n");
        free(out);
        tc_task_path(path, sizeof path, dir, "build-1");
        th_snapshot_take(path, &snap);
        cr_expect_eq(tc_run(NULL, "create --dir '%s' --id build-1 -s y 2>/dev/null", dir), 1);
        th_snapshot_assert_same(path, &snap);
}

Test(cmd_create, file_option_creates_a_plain_task_and_prints_its_path)
{
        char path[PATH_MAX], *out;
        json_object *task;

        snprintf(path, sizeof path, "%s/job.json", dir);
        cr_assert_eq(tc_run(&out, "create --file '%s' -s job", path), 0);
        cr_expect_eq(strncmp(out, path, strlen(path)), 0, "printed %s", out);
        task = th_read_json(path);
        cr_assert_not_null(task);
        cr_expect_str_eq(th_get_string(task, "status"), "pending");
        cr_expect_str_eq(th_get_string(task, "subject"), "job");
        json_object_put(task);
        free(out);
}

Test(cmd_create, stray_argument_is_a_usage_error)
{
        cr_expect_eq(tc_run(NULL, "create --dir '%s' oops 2>/dev/null", dir), 2);
        cr_expect_eq(th_count(dir, "*.json"), 0);
}
