/* Which list a command lands in with no --list: the environment's, else the personal one. */
#include <criterion/criterion.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd_helpers.h"
#include "helpers.h"

static char tmp[PATH_MAX];

static void setup(void)
{
        th_tmpdir(tmp, sizeof tmp);
        unsetenv("CLAUDE_CODE_TASK_LIST_ID");
        unsetenv("CLAUDE_CODE_SESSION_ID");
        setenv("HOME", tmp, 1);
        setenv("CLAUDE_CONFIG_DIR", th_at(tmp, "cfg"), 1);
        setenv("XDG_STATE_HOME", th_at(tmp, "state"), 1);
}

static void teardown(void)
{
        th_rmtree(tmp);
}

TestSuite(cmd_lists, .init = setup, .fini = teardown);

/* The state of task 1 in dir, or NULL if there is no such task. */
static const char *state_of_task_1(const char *dir)
{
        static char state[64];
        char path[PATH_MAX + 16];
        json_object *task;

        snprintf(path, sizeof path, "%s/1.json", dir);
        if ((task = th_read_json(path)) == NULL)
                return NULL;
        snprintf(state, sizeof state, "%s", th_get_string(task, "metadata.taskrun.state"));
        json_object_put(task);
        return state;
}

Test(cmd_lists, a_run_with_nothing_set_lands_in_the_personal_list)
{
        char dir[PATH_MAX + 64];

        cr_assert_eq(tc_run(NULL, "-q -- true 2>/dev/null"), 0);
        snprintf(dir, sizeof dir, "%s/state/taskrun/tasks/default", tmp);
        cr_expect_str_eq(state_of_task_1(dir), "completed");
}

Test(cmd_lists, a_run_in_a_claude_shell_lands_in_the_session_list)
{
        char dir[PATH_MAX + 64];

        setenv("CLAUDE_CODE_SESSION_ID", "5e55-1011", 1);
        cr_assert_eq(tc_run(NULL, "-- true 2>/dev/null"), 0);
        snprintf(dir, sizeof dir, "%s/cfg/tasks/5e55-1011", tmp);
        cr_expect_str_eq(state_of_task_1(dir), "completed");
}

Test(cmd_lists, task_list_id_beats_session_id)
{
        char dir[PATH_MAX + 64];

        setenv("CLAUDE_CODE_SESSION_ID", "session", 1);
        setenv("CLAUDE_CODE_TASK_LIST_ID", "team", 1);
        cr_assert_eq(tc_run(NULL, "-- true 2>/dev/null"), 0);
        snprintf(dir, sizeof dir, "%s/cfg/tasks/team", tmp);
        cr_expect_str_eq(state_of_task_1(dir), "completed");
        snprintf(dir, sizeof dir, "%s/cfg/tasks/session", tmp);
        cr_expect_null(state_of_task_1(dir));
}

Test(cmd_lists, list_option_beats_the_environment)
{
        char dir[PATH_MAX + 64];

        setenv("CLAUDE_CODE_SESSION_ID", "session", 1);
        setenv("CLAUDE_CODE_TASK_LIST_ID", "team", 1);
        cr_assert_eq(tc_run(NULL, "--list mine -- true 2>/dev/null"), 0);
        snprintf(dir, sizeof dir, "%s/cfg/tasks/mine", tmp);
        cr_expect_str_eq(state_of_task_1(dir), "completed");
}

Test(cmd_lists, a_new_list_named_by_option_is_announced_once)
{
        char cmd[PATH_MAX * 2];
        char *err;

        snprintf(cmd, sizeof cmd, "'%s' --list fresh -- true 2>&1 >/dev/null", TASKRUN_BIN);
        cr_assert_eq(th_run(cmd, &err), 0);
        cr_expect(err != NULL && strstr(err, "new task list 'fresh'") != NULL, "stderr: %s",
                  err ? err : "");
        free(err);
        cr_assert_eq(th_run(cmd, &err), 0);
        cr_expect(err == NULL || strstr(err, "new task list") == NULL, "said twice: %s", err);
        free(err);
}

Test(cmd_lists, quiet_keeps_the_new_list_notice_back)
{
        char cmd[PATH_MAX * 2];
        char *err;

        snprintf(cmd, sizeof cmd, "'%s' -q --list other -- true 2>&1 >/dev/null", TASKRUN_BIN);
        cr_assert_eq(th_run(cmd, &err), 0);
        cr_expect(err == NULL || strstr(err, "new task list") == NULL, "stderr: %s", err);
        free(err);
}

Test(cmd_lists, a_session_list_is_made_without_a_notice)
{
        char cmd[PATH_MAX * 2];
        char *err;

        setenv("CLAUDE_CODE_SESSION_ID", "s1", 1);
        snprintf(cmd, sizeof cmd, "'%s' -- true 2>&1 >/dev/null", TASKRUN_BIN);
        cr_assert_eq(th_run(cmd, &err), 0);
        cr_expect(err == NULL || strstr(err, "new task list") == NULL, "stderr: %s", err);
        free(err);
}

Test(cmd_lists, listing_a_personal_list_not_made_yet_is_empty)
{
        char *out;

        cr_expect_eq(tc_run(&out, "list --json"), 0);
        cr_expect(out != NULL && strncmp(out, "[", 1) == 0, "%s", out ? out : "");
        free(out);
        cr_expect_eq(tc_run(NULL, "list"), 0);
}

/* `taskrun lists --json`, parsed. */
static json_object *lists_json(void)
{
        char *out;
        json_object *a;

        cr_assert_eq(tc_run(&out, "lists --json"), 0);
        a = json_tokener_parse(out);
        cr_assert(json_object_is_type(a, json_type_array), "%s", out);
        free(out);
        return a;
}

Test(cmd_lists, lists_shows_every_list_newest_change_first_with_counts)
{
        json_object *a, *o;
        char tasks[PATH_MAX + 16];

        cr_assert_eq(tc_run(NULL, "--list older -q -- true"), 0);
        cr_assert_eq(tc_run(NULL, "--list older -q -- true"), 0);
        th_sleep_ms(20);
        cr_assert_eq(tc_run(NULL, "-q -- true"), 0); /* the personal list */
        th_sleep_ms(20);
        cr_assert_eq(tc_run(NULL, "--list newer --detach -- sleep 5 >/dev/null 2>&1"), 0);
        snprintf(tasks, sizeof tasks, "%s/cfg/tasks/empty", tmp);
        cr_assert_eq(mkdir(tasks, 0755), 0);
        th_sleep_ms(20);
        a = lists_json();
        cr_assert_eq(json_object_array_length(a), 4);
        o = json_object_array_get_idx(a, 0);
        cr_expect_str_eq(th_get_string(o, "list"), "empty", "newest change first");
        cr_expect_eq(json_object_get_int(th_get(o, "tasks")), 0);
        o = json_object_array_get_idx(a, 1);
        cr_expect_str_eq(th_get_string(o, "list"), "newer");
        cr_expect_eq(json_object_get_int(th_get(o, "tasks")), 1);
        cr_expect_eq(json_object_get_int(th_get(o, "running")), 1, "the detached run runs");
        o = json_object_array_get_idx(a, 2);
        cr_expect_str_eq(th_get_string(o, "list"), "default");
        cr_expect_str_eq(th_get_string(o, "kind"), "personal");
        cr_expect(json_object_get_boolean(th_get(o, "current")), "nothing set: the personal list");
        o = json_object_array_get_idx(a, 3);
        cr_expect_str_eq(th_get_string(o, "list"), "older");
        cr_expect_eq(json_object_get_int(th_get(o, "tasks")), 2);
        cr_expect_eq(json_object_get_int(th_get(o, "running")), 0);
        cr_expect_not_null(th_get_string(o, "changed_at"));
        json_object_put(a);
        cr_assert_eq(tc_run(NULL, "kill --list newer 1 >/dev/null 2>&1"), 0);
}

Test(cmd_lists, lists_marks_the_session_list_even_before_it_exists)
{
        char *out;
        json_object *a, *last;

        setenv("CLAUDE_CODE_SESSION_ID", "s-77", 1);
        cr_assert_eq(tc_run(NULL, "--list other -q -- true"), 0);
        a = lists_json();
        last = json_object_array_get_idx(a, json_object_array_length(a) - 1);
        cr_expect_str_eq(th_get_string(last, "list"), "s-77");
        cr_expect(json_object_get_boolean(th_get(last, "current")));
        cr_expect(!json_object_get_boolean(th_get(last, "exists")));
        cr_expect(json_object_is_type(th_get(last, "changed_at"), json_type_null));
        json_object_put(a);
        cr_expect_eq(tc_run(&out, "lists"), 0);
        cr_expect(strncmp(out, "  LIST ", 7) == 0, "a header: %s", out);
        cr_expect(strstr(out, "\n* s-77 ") != NULL, "the current list is marked: %s", out);
        cr_expect(strstr(out, "\n  other ") != NULL, "%s", out);
        free(out);
}
