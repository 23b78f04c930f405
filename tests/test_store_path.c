/* Where task lists are, and which task and list names are safe. */
#include <criterion/criterion.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "helpers.h"
#include "taskrun/path.h"
#include "taskrun/store.h"

static char tmp[PATH_MAX];

static void setup(void)
{
        th_tmpdir(tmp, sizeof tmp);
        /* Each test runs in its own process: a clean, known environment. */
        unsetenv("CLAUDE_CONFIG_DIR");
        unsetenv("CLAUDE_CODE_TASK_LIST_ID");
        unsetenv("CLAUDE_CODE_SESSION_ID");
        unsetenv("XDG_STATE_HOME");
        setenv("HOME", tmp, 1);
}

static void teardown(void)
{
        th_rmtree(tmp);
}

TestSuite(store_path, .init = setup, .fini = teardown);

static void expect_refused(const char *id)
{
        struct tr_err e = {0};

        cr_expect_eq(tr_id_validate("task", id, &e), -1, "'%s' accepted", id);
        cr_expect_eq(e.errnum, EINVAL, "'%s': errnum %d", id, e.errnum);
        cr_expect(strncmp(e.msg, "task: ", 6) == 0, "message names what: %s", e.msg);
}

static void expect_accepted(const char *id)
{
        struct tr_err e = {0};

        cr_expect_eq(tr_id_validate("task", id, &e), 0, "'%s' refused: %s", id, e.msg);
}

Test(store_path, id_refuses_empty)
{
        struct tr_err e = {0};

        expect_refused("");
        tr_id_validate("task", "", &e);
        cr_expect(strstr(e.msg, "empty") != NULL, "%s", e.msg);
}

Test(store_path, id_refuses_dot_dot)
{
        expect_refused("..");
        expect_refused(".");
}

Test(store_path, id_refuses_slash)
{
        expect_refused("a/b");
        expect_refused("/etc");
}

Test(store_path, id_refuses_parent_path)
{
        expect_refused("../x");
}

Test(store_path, id_refuses_space)
{
        expect_refused("a b");
}

Test(store_path, id_refuses_non_ascii)
{
        expect_refused("\xc3\xa9"); /* é */
}

Test(store_path, id_refuses_control_characters)
{
        expect_refused("a\nb");
        expect_refused("a\tb");
}

Test(store_path, id_refuses_over_long)
{
        char id[TR_ID_MAX + 1];
        struct tr_err e = {0};

        memset(id, 'a', TR_ID_MAX);
        id[TR_ID_MAX] = '\0';
        expect_refused(id); /* TR_ID_MAX bytes: one too many */
        tr_id_validate("task", id, &e);
        cr_expect(strstr(e.msg, "longer") != NULL, "%s", e.msg);
}

Test(store_path, id_accepts_longest)
{
        char id[TR_ID_MAX];

        memset(id, 'a', TR_ID_MAX - 1);
        id[TR_ID_MAX - 1] = '\0';
        expect_accepted(id);
}

Test(store_path, id_accepts_digits_letters_underscore_dash)
{
        expect_accepted("12");
        expect_accepted("abc_DEF-9");
        expect_accepted("-");
}

Test(store_path, ref_is_dir_slash_id_json)
{
        struct tr_store s = {0};
        struct tr_task_ref ref;
        struct tr_err e = {0};

        snprintf(s.dir, sizeof s.dir, "%s", tmp);
        cr_assert_eq(tr_store_ref(&s, "17", &ref, &e), 0, "%s", e.msg);
        cr_expect_str_eq(ref.id, "17");
        char want[PATH_MAX + 16];
        snprintf(want, sizeof want, "%s/17.json", tmp);
        cr_expect_str_eq(ref.path, want);
}

Test(store_path, ref_refuses_unsafe_id)
{
        struct tr_store s = {0};
        struct tr_task_ref ref;
        struct tr_err e = {0};

        snprintf(s.dir, sizeof s.dir, "%s", tmp);
        cr_expect_eq(tr_store_ref(&s, "../1", &ref, &e), -1);
        cr_expect_eq(e.errnum, EINVAL);
}

/* A directory under tmp, made here. */
static void make_dir(char *buf, size_t n, const char *name)
{
        cr_assert_lt(snprintf(buf, n, "%s/%s", tmp, name), (int)n);
        cr_assert_eq(mkdir(buf, 0777), 0, "mkdir %s", buf);
}

Test(store_path, file_beats_dir_and_list)
{
        char dir[PATH_MAX], file[PATH_MAX + 16];
        struct tr_store_opts o = {0};
        struct tr_store s;
        struct tr_task_ref ref;
        struct tr_err e = {0};

        make_dir(dir, sizeof dir, "plain");
        snprintf(file, sizeof file, "%s/job.json", dir);
        o.file = file;
        o.dir = tmp;
        o.list = "mylist";
        setenv("CLAUDE_CODE_TASK_LIST_ID", "envlist", 1);
        cr_assert_eq(tr_store_open(&s, &o, 0, &ref, &e), 0, "%s", e.msg);
        cr_expect_eq(s.schema, TR_SCHEMA_PLAIN);
        cr_expect_str_eq(s.dir, dir);
        cr_expect_str_eq(ref.path, file);
        cr_expect_str_eq(ref.id, "job.json");
}

Test(store_path, file_needs_a_ref)
{
        struct tr_store_opts o = {.file = "x.json"};
        struct tr_store s;
        struct tr_err e = {0};

        cr_expect_eq(tr_store_open(&s, &o, 0, NULL, &e), -1);
        cr_expect(strstr(e.msg, "--file") != NULL, "%s", e.msg);
}

Test(store_path, dir_beats_list)
{
        struct tr_store_opts o = {.dir = tmp, .list = "mylist"};
        struct tr_store s;
        struct tr_err e = {0};

        setenv("CLAUDE_CODE_TASK_LIST_ID", "envlist", 1);
        cr_assert_eq(tr_store_open(&s, &o, 0, NULL, &e), 0, "%s", e.msg);
        cr_expect_str_eq(s.dir, tmp);
        cr_expect_eq(s.schema, TR_SCHEMA_CLAUDE);
}

/* Opening a store with o (creating the list) lands in root/rel; returns that path. */
static const char *expect_opens_at(const struct tr_store_opts *o, const char *root, const char *rel)
{
        static char want[PATH_MAX + 64];
        struct tr_store s;
        struct tr_err e = {0};

        cr_assert_eq(tr_store_open(&s, o, 1, NULL, &e), 0, "%s", e.msg);
        snprintf(want, sizeof want, "%s/%s", root, rel);
        cr_expect_str_eq(s.dir, want);
        return want;
}

Test(store_path, list_beats_environment)
{
        char config[PATH_MAX];
        struct tr_store_opts o = {.list = "mylist"};

        make_dir(config, sizeof config, "config");
        setenv("CLAUDE_CONFIG_DIR", config, 1);
        setenv("CLAUDE_CODE_TASK_LIST_ID", "envlist", 1);
        expect_opens_at(&o, config, "tasks/mylist");
}

Test(store_path, environment_list_under_claude_config_dir)
{
        char config[PATH_MAX];
        struct tr_store_opts o = {0};

        make_dir(config, sizeof config, "config");
        setenv("CLAUDE_CONFIG_DIR", config, 1);
        setenv("CLAUDE_CODE_TASK_LIST_ID", "envlist", 1);
        const char *want = expect_opens_at(&o, config, "tasks/envlist");
        struct stat st;
        cr_expect(stat(want, &st) == 0 && S_ISDIR(st.st_mode), "list dir not created");
}

Test(store_path, environment_list_under_home_claude)
{
        struct tr_store_opts o = {0};

        setenv("CLAUDE_CODE_TASK_LIST_ID", "envlist", 1);
        expect_opens_at(&o, tmp, ".claude/tasks/envlist");
}

Test(store_path, empty_claude_config_dir_falls_back_to_home)
{
        struct tr_store_opts o = {.list = "l"};

        setenv("CLAUDE_CONFIG_DIR", "", 1);
        expect_opens_at(&o, tmp, ".claude/tasks/l");
}

Test(store_path, session_id_names_the_list_when_no_list_id)
{
        struct tr_store_opts o = {0};
        struct tr_store s;
        struct tr_err e = {0};

        setenv("CLAUDE_CODE_SESSION_ID", "0b9d4c1e-5f6a-4b7c-8d9e-0f1a2b3c4d5e", 1);
        expect_opens_at(&o, tmp, ".claude/tasks/0b9d4c1e-5f6a-4b7c-8d9e-0f1a2b3c4d5e");
        cr_assert_eq(tr_store_open(&s, &o, 0, NULL, &e), 0, "%s", e.msg);
        cr_expect_eq(s.source, TR_SOURCE_SESSION);
        cr_expect_str_eq(s.list, "0b9d4c1e-5f6a-4b7c-8d9e-0f1a2b3c4d5e");
}

Test(store_path, list_id_beats_session_id)
{
        struct tr_store_opts o = {0};

        setenv("CLAUDE_CODE_SESSION_ID", "session", 1);
        setenv("CLAUDE_CODE_TASK_LIST_ID", "envlist", 1);
        expect_opens_at(&o, tmp, ".claude/tasks/envlist");
}

Test(store_path, list_option_beats_session_id)
{
        struct tr_store_opts o = {.list = "mine"};

        setenv("CLAUDE_CODE_SESSION_ID", "session", 1);
        expect_opens_at(&o, tmp, ".claude/tasks/mine");
}

Test(store_path, empty_list_id_falls_through_to_session_id)
{
        struct tr_store_opts o = {0};

        setenv("CLAUDE_CODE_TASK_LIST_ID", "", 1);
        setenv("CLAUDE_CODE_SESSION_ID", "session", 1);
        expect_opens_at(&o, tmp, ".claude/tasks/session");
}

Test(store_path, nothing_set_opens_the_personal_list_under_home)
{
        struct tr_store_opts o = {0};
        struct tr_store s;
        struct tr_err e = {0};

        expect_opens_at(&o, tmp, ".local/state/taskrun/tasks/default");
        cr_assert_eq(tr_store_open(&s, &o, 0, NULL, &e), 0, "%s", e.msg);
        cr_expect_eq(s.source, TR_SOURCE_PERSONAL);
        cr_expect_eq(s.schema, TR_SCHEMA_CLAUDE);
        cr_expect_str_eq(s.list, "default");
}

Test(store_path, personal_list_follows_xdg_state_home)
{
        char state[PATH_MAX];
        struct tr_store_opts o = {0};

        make_dir(state, sizeof state, "xdg");
        setenv("XDG_STATE_HOME", state, 1);
        expect_opens_at(&o, state, "taskrun/tasks/default");
}

Test(store_path, relative_xdg_state_home_is_ignored)
{
        struct tr_store_opts o = {0};

        setenv("XDG_STATE_HOME", "relative/state", 1);
        expect_opens_at(&o, tmp, ".local/state/taskrun/tasks/default");
}

Test(store_path, no_home_variable_is_not_an_error)
{
        struct tr_store_opts o = {0};
        struct tr_store s;
        struct tr_err e = {0};

        unsetenv("HOME");
        /* The password database's home may not be writable here: open without creating. */
        int r = tr_store_open(&s, &o, 0, NULL, &e);
        cr_expect(r == 0 || e.errnum != EINVAL, "%s", e.msg);
        cr_expect(strstr(s.dir, "taskrun/tasks/default") != NULL, "%s", s.dir);
}

Test(store_path, created_is_set_only_when_the_directory_was_made)
{
        struct tr_store_opts o = {.list = "fresh"};
        struct tr_store s;
        struct tr_err e = {0};

        cr_assert_eq(tr_store_open(&s, &o, 1, NULL, &e), 0, "%s", e.msg);
        cr_expect_eq(s.created, 1);
        cr_expect_eq(s.source, TR_SOURCE_LIST);
        cr_assert_eq(tr_store_open(&s, &o, 1, NULL, &e), 0, "%s", e.msg);
        cr_expect_eq(s.created, 0);
}

Test(store_path, unsafe_session_id_refused)
{
        struct tr_store_opts o = {0};
        struct tr_store s;
        struct tr_err e = {0};

        setenv("CLAUDE_CODE_SESSION_ID", "../x", 1);
        cr_expect_eq(tr_store_open(&s, &o, 1, NULL, &e), -1);
        cr_expect_eq(e.errnum, EINVAL);
}

Test(store_path, unsafe_list_name_refused)
{
        struct tr_store_opts o = {.list = "../escape"};
        struct tr_store s;
        struct tr_err e = {0};

        cr_expect_eq(tr_store_open(&s, &o, 1, NULL, &e), -1);
        cr_expect_eq(e.errnum, EINVAL);
        cr_expect(strstr(e.msg, "task list") != NULL, "%s", e.msg);
        char escaped[PATH_MAX + 32];
        snprintf(escaped, sizeof escaped, "%s/.claude/escape", tmp);
        cr_expect_neq(access(escaped, F_OK), 0, "created %s", escaped);
}

Test(store_path, unsafe_list_name_from_environment_refused)
{
        struct tr_store_opts o = {0};
        struct tr_store s;
        struct tr_err e = {0};

        setenv("CLAUDE_CODE_TASK_LIST_ID", "a/b", 1);
        cr_expect_eq(tr_store_open(&s, &o, 1, NULL, &e), -1);
        cr_expect_eq(e.errnum, EINVAL);
}

Test(store_path, missing_list_dir_refused_without_create)
{
        char dir[PATH_MAX + 16];
        struct tr_store_opts o = {0};
        struct tr_store s;
        struct tr_err e = {0};

        snprintf(dir, sizeof dir, "%s/nope", tmp);
        o.dir = dir;
        cr_expect_eq(tr_store_open(&s, &o, 0, NULL, &e), -1);
        cr_expect_eq(e.errnum, ENOENT);
        cr_expect(strstr(e.msg, dir) != NULL, "%s", e.msg);
}

Test(store_path, missing_list_dir_made_with_create)
{
        char dir[PATH_MAX + 16];
        struct tr_store_opts o = {0};
        struct tr_store s;
        struct tr_err e = {0};
        struct stat st;

        snprintf(dir, sizeof dir, "%s/a/b/c", tmp);
        o.dir = dir;
        cr_assert_eq(tr_store_open(&s, &o, 1, NULL, &e), 0, "%s", e.msg);
        cr_expect(stat(dir, &st) == 0 && S_ISDIR(st.st_mode));
}

Test(store_path, symlinked_list_dir_refused)
{
        char real[PATH_MAX], link[PATH_MAX + 16];
        struct tr_store_opts o = {0};
        struct tr_store s;
        struct tr_err e = {0};

        make_dir(real, sizeof real, "real");
        snprintf(link, sizeof link, "%s/link", tmp);
        cr_assert_eq(symlink(real, link), 0);
        o.dir = link;
        cr_expect_eq(tr_store_open(&s, &o, 1, NULL, &e), -1);
        cr_expect_eq(e.errnum, ELOOP);
        cr_expect(strstr(e.msg, link) != NULL && strstr(e.msg, "symlink") != NULL, "%s", e.msg);
}

Test(store_path, symlinked_list_dir_allowed_with_follow_symlinks)
{
        char real[PATH_MAX], link[PATH_MAX + 16];
        struct tr_store_opts o = {.follow_symlinks = 1};
        struct tr_store s;
        struct tr_err e = {0};

        make_dir(real, sizeof real, "real");
        snprintf(link, sizeof link, "%s/link", tmp);
        cr_assert_eq(symlink(real, link), 0);
        o.dir = link;
        cr_expect_eq(tr_store_open(&s, &o, 1, NULL, &e), 0, "%s", e.msg);
        cr_expect_eq(s.follow_symlinks, 1);
}

Test(store_path, dangling_symlinked_list_dir_refused_even_with_follow)
{
        char link[PATH_MAX + 16], target[PATH_MAX + 16];
        struct tr_store_opts o = {.follow_symlinks = 1};
        struct tr_store s;
        struct tr_err e = {0};

        snprintf(link, sizeof link, "%s/link", tmp);
        snprintf(target, sizeof target, "%s/gone", tmp);
        cr_assert_eq(symlink(target, link), 0);
        o.dir = link;
        cr_expect_eq(tr_store_open(&s, &o, 1, NULL, &e), -1);
        cr_expect_eq(e.errnum, ENOENT, "%s", e.msg);
}

Test(store_path, file_in_place_of_list_dir_refused)
{
        char file[PATH_MAX + 16];
        struct tr_store_opts o = {0};
        struct tr_store s;
        struct tr_err e = {0};

        snprintf(file, sizeof file, "%s/notadir", tmp);
        th_write_file(file, "x");
        o.dir = file;
        cr_expect_eq(tr_store_open(&s, &o, 1, NULL, &e), -1);
        cr_expect_eq(e.errnum, ENOTDIR);
        cr_expect(strstr(e.msg, file) != NULL && strstr(e.msg, "not a directory") != NULL, "%s",
                  e.msg);
}

Test(store_path, lock_timeout_and_follow_carried_into_store)
{
        struct tr_store_opts o = {.dir = tmp, .lock_timeout_ms = 1234};
        struct tr_store s;
        struct tr_err e = {0};

        cr_assert_eq(tr_store_open(&s, &o, 0, NULL, &e), 0, "%s", e.msg);
        cr_expect_eq(s.lock_timeout_ms, 1234);
        cr_expect_eq(s.follow_symlinks, 0);
}

/* Names made for files: safe characters kept, a run of others one '_', and a stable hash. */
Test(store_path, safe_text_keeps_what_a_file_name_may_hold)
{
        char out[16];

        tr_path_safe_text("build/x86 64..release", 15, out);
        cr_expect_str_eq(out, "build_x86_64_re");
        tr_path_safe_text("//leading", 15, out);
        cr_expect_str_eq(out, "leading");
        tr_path_safe_text("", 15, out);
        cr_expect_str_eq(out, "");
        cr_expect_eq(tr_path_hash(""), 14695981039346656037ULL);
        cr_expect_eq(tr_path_hash("a"), 0xaf63dc4c8601ec8cULL); /* FNV-1a's published value */
        cr_expect_neq(tr_path_hash("/tmp/a"), tr_path_hash("/tmp/b"));
}
