/*
 * The Claude Code hook (contrib/claude/taskrun-hook, `taskrun hook`), fed the
 * input JSON that Claude Code 2.1.332 gives a hook: it tells the agent once
 * which detached runs of its session's list ended, as a Stop decision or as
 * additionalContext, says nothing when nothing new ended, and never keeps a
 * turn going twice (stop_hook_active).
 */
#include "cmd_helpers.h"

#define HOOK_SCRIPT TASKRUN_SOURCE_DIR "/contrib/claude/taskrun-hook"
#define SESSION "5e55-a1b2"

static char tmp[PATH_MAX];

static void setup(void)
{
        th_tmpdir(tmp, sizeof tmp);
        unsetenv("CLAUDECODE");
        unsetenv("CLAUDE_CODE_TASK_LIST_ID");
        setenv("CLAUDE_CODE_SESSION_ID", SESSION, 1); /* as the agent's Bash tool sets it */
        setenv("HOME", tmp, 1);
        setenv("CLAUDE_CONFIG_DIR", th_at(tmp, "cfg"), 1);
        setenv("XDG_STATE_HOME", th_at(tmp, "state"), 1);
}

static void teardown(void)
{
        th_rmtree(tmp);
}

TestSuite(claude_hook, .init = setup, .fini = teardown, .timeout = 60);

/* The hook script fed input on stdin (without the session's variable, as a hook
 * gets the session from its input); its stdout in *out, its exit status. */
static int hook(const char *input, const char *args, char **out)
{
        char path[PATH_MAX + 16], cmd[PATH_MAX * 3];

        snprintf(path, sizeof path, "%s/input.json", tmp);
        th_write_file(path, input);
        snprintf(cmd, sizeof cmd,
                 "env -u CLAUDE_CODE_SESSION_ID TASKRUN='%s' '%s' %s <'%s' 2>'%s/hook.err'",
                 TASKRUN_BIN, HOOK_SCRIPT, args, path, tmp);
        return th_run(cmd, out);
}

static const char *stop_input = "{\"session_id\":\"" SESSION "\",\"transcript_path\":\"/t.jsonl\","
                                "\"cwd\":\"/\",\"hook_event_name\":\"Stop\","
                                "\"stop_hook_active\":false}";

/* A detached run of the session's list that ended; its id. */
static char *detached_run(const char *script)
{
        char *id;

        cr_assert_eq(tc_run(&id, "--detach -- sh -c '%s' 2>/dev/null", script), 0);
        id[strcspn(id, "\n")] = '\0';
        tc_run(NULL, "wait -q %s", id);
        return id;
}

Test(claude_hook, a_finished_run_is_told_on_stop_as_a_block_decision)
{
        char *id = detached_run("echo compiling; echo error: boom; exit 2"), *out;
        json_object *o;
        const char *reason;

        cr_expect_eq(hook(stop_input, "", &out), 0);
        o = json_tokener_parse(out ? out : "");
        cr_assert_not_null(o, "not JSON: %s", out);
        cr_expect_str_eq(th_get_string(o, "decision"), "block");
        reason = th_get_string(o, "reason");
        cr_assert_not_null(reason);
        cr_expect(strstr(reason, "1 run ended since the last report (task list " SESSION ")"), "%s",
                  reason);
        cr_expect(strstr(reason, ": failed (exit 2, ") && strstr(reason, "): error: boom"), "%s",
                  reason);
        cr_expect(strstr(reason, "[sh -c 'echo compiling; echo error: boom; exit 2']"), "%s",
                  reason);
        json_object_put(o);
        free(out);
        free(id);
}

Test(claude_hook, nothing_new_says_nothing)
{
        char *id = detached_run("exit 0"), *out;

        cr_expect_eq(hook(stop_input, "", &out), 0);
        cr_expect(out && *out, "the first call tells");
        free(out);
        cr_expect_eq(hook(stop_input, "", &out), 0);
        cr_expect(out == NULL || *out == '\0', "told twice: %s", out);
        free(out);
        free(id);
}

Test(claude_hook, with_no_run_at_all_it_says_nothing)
{
        char *out;

        cr_expect_eq(hook(stop_input, "", &out), 0);
        cr_expect(out == NULL || *out == '\0', "%s", out);
        free(out);
}

Test(claude_hook, stop_hook_active_says_nothing_and_keeps_the_news_for_later)
{
        char *id = detached_run("exit 3"), *out, active[512];

        snprintf(active, sizeof active, "%s", stop_input);
        *strstr(active, "false") = '\0';
        strcat(active, "true}");
        cr_expect_eq(hook(active, "", &out), 0);
        cr_expect(out == NULL || *out == '\0', "a turn kept going is not kept going again: %s",
                  out);
        free(out);
        cr_expect_eq(hook(stop_input, "", &out), 0);
        cr_expect(out && strstr(out, ": failed (exit 3, "), "told later: %s", out);
        free(out);
        free(id);
}

Test(claude_hook, user_prompt_submit_gets_additional_context)
{
        char *id = detached_run("exit 0"), *out;
        json_object *o;

        cr_expect_eq(hook("{\"session_id\":\"" SESSION
                          "\",\"hook_event_name\":\"UserPromptSubmit\","
                          "\"prompt\":\"go on\"}",
                          "", &out),
                     0);
        o = json_tokener_parse(out ? out : "");
        cr_assert_not_null(o, "not JSON: %s", out);
        cr_expect_str_eq(th_get_string(o, "hookSpecificOutput.hookEventName"), "UserPromptSubmit");
        cr_expect(strstr(th_get_string(o, "hookSpecificOutput.additionalContext"),
                         ": completed (exit 0, "),
                  "%s", out);
        cr_expect_null(th_get(o, "decision"));
        json_object_put(o);
        free(out);
        free(id);
}

Test(claude_hook, a_run_in_the_agents_own_shell_is_told_only_with_all)
{
        char *out;

        cr_assert_eq(tc_run(NULL, "-q -- sh -c 'exit 4'"), 4);
        cr_expect_eq(hook(stop_input, "", &out), 0);
        cr_expect(out == NULL || *out == '\0', "the agent saw it in its shell: %s", out);
        free(out);
        cr_assert_eq(tc_run(NULL, "-q -- sh -c 'exit 5'"), 5);
        cr_expect_eq(hook(stop_input, "--all", &out), 0);
        cr_expect(out && strstr(out, ": failed (exit 5, "), "--all: %s", out);
        free(out);
}

Test(claude_hook, a_run_whose_task_file_claude_deleted_is_told)
{
        char *id = detached_run("exit 6"), *out, path[PATH_MAX * 2];

        snprintf(path, sizeof path, "%s/cfg/tasks/" SESSION "/%s.json", tmp, id);
        cr_assert_eq(unlink(path), 0);
        cr_expect_eq(hook(stop_input, "", &out), 0);
        cr_expect(out && strstr(out, ": failed (exit 6, "), "%s", out);
        free(out);
        free(id);
}

Test(claude_hook, other_events_and_other_sessions_say_nothing)
{
        char *id = detached_run("exit 0"), *out;

        cr_expect_eq(
            hook("{\"session_id\":\"" SESSION "\",\"hook_event_name\":\"Notification\"}", "", &out),
            0);
        cr_expect(out == NULL || *out == '\0', "%s", out);
        free(out);
        cr_expect_eq(hook("{\"session_id\":\"another\",\"hook_event_name\":\"Stop\","
                          "\"stop_hook_active\":false}",
                          "", &out),
                     0);
        cr_expect(out == NULL || *out == '\0', "another session's list: %s", out);
        free(out);
        cr_expect_eq(hook(stop_input, "", &out), 0);
        cr_expect(out && *out, "the news is still there for this session");
        free(out);
        free(id);
}

Test(claude_hook, bad_input_or_options_never_exit_2)
{
        char *out;

        /* 2 is a blocking error to Claude Code: its stderr would go to the model. */
        cr_expect_eq(hook("not json", "", &out), 1);
        free(out);
        cr_expect_eq(hook(stop_input, "--bogus", &out), 1);
        free(out);
}
