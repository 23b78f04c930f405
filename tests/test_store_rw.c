/*
 * Reading task files, merging updates the way Claude's TaskUpdate does, and
 * writing them back as JSON.stringify(task, null, 2) would, atomically.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <grp.h>
#include <sys/stat.h>
#include <unistd.h>

#include "helpers.h"
#include "taskrun/atomic.h"
#include "taskrun/store.h"

static char tmp[PATH_MAX];
static char task1[PATH_MAX + 16];
static struct tr_store store;
static struct tr_task_ref ref1;

static void setup(void)
{
        struct tr_store_opts o = {0};
        struct tr_err e = {0};

        th_tmpdir(tmp, sizeof tmp);
        o.dir = tmp;
        o.lock_timeout_ms = 2000;
        cr_assert_eq(tr_store_open(&store, &o, 0, NULL, &e), 0, "%s", e.msg);
        cr_assert_eq(tr_store_ref(&store, "1", &ref1, &e), 0, "%s", e.msg);
        snprintf(task1, sizeof task1, "%s/1.json", tmp);
}

static void teardown(void)
{
        th_rmtree(tmp);
}

TestSuite(read, .init = setup, .fini = teardown);
TestSuite(merge, .init = setup, .fini = teardown);
TestSuite(format, .init = setup, .fini = teardown);
TestSuite(atomic, .init = setup, .fini = teardown);

/* A task as Claude writes it: JSON.stringify(task, null, 2), no newline at the end. */
static const char CLAUDE_TASK[] = "{\n"
                                  "  \"id\": \"1\",\n"
                                  "  \"subject\": \"Build\",\n"
                                  "  \"description\": \"make all\",\n"
                                  "  \"activeForm\": \"Building\",\n"
                                  "  \"status\": \"in_progress\",\n"
                                  "  \"blocks\": [],\n"
                                  "  \"blockedBy\": [\n"
                                  "    \"3\"\n"
                                  "  ],\n"
                                  "  \"x_custom\": {\n"
                                  "    \"keep\": [\n"
                                  "      1,\n"
                                  "      2\n"
                                  "    ]\n"
                                  "  },\n"
                                  "  \"metadata\": {\n"
                                  "    \"alpha\": 1,\n"
                                  "    \"taskrun\": {\n"
                                  "      \"state\": \"running\",\n"
                                  "      \"pid\": 42\n"
                                  "    },\n"
                                  "    \"obj\": {\n"
                                  "      \"a\": 1\n"
                                  "    },\n"
                                  "    \"zeta\": \"z\"\n"
                                  "  },\n"
                                  "  \"owner\": \"me\"\n"
                                  "}";

static json_object *parse(const char *text)
{
        json_object *o = json_tokener_parse(text);

        cr_assert_not_null(o, "test bug: unparsable %s", text);
        return o;
}

/* Patch task 1 with the JSON text patch; returns tr_task_patch's result. */
static int patch_with(const struct tr_store *s, const struct tr_task_ref *ref, const char *patch,
                      struct tr_err *e)
{
        json_object *p = parse(patch);
        int r = tr_task_patch(s, ref, p, e);

        json_object_put(p);
        return r;
}

static void expect_file(const char *path, const char *want)
{
        char *got = th_read_file(path, NULL);

        cr_assert_not_null(got, "%s missing", path);
        cr_expect_str_eq(got, want);
        free(got);
}

/*
 * Both reading and patching what is at task1 fail with a message naming the
 * path and giving reason, and the file is left exactly as it was.
 */
static void expect_refused(const char *reason)
{
        struct th_snapshot snap;
        struct tr_err e = {0};
        json_object *obj = NULL;

        th_snapshot_take(task1, &snap);
        cr_expect_eq(tr_task_read(&store, &ref1, &obj, &e), -1, "read accepted");
        cr_expect_null(obj);
        cr_expect(strstr(e.msg, task1) != NULL, "read: message lacks the path: %s", e.msg);
        cr_expect(strstr(e.msg, reason) != NULL, "read: message lacks '%s': %s", reason, e.msg);
        cr_expect_null(strchr(e.msg, '\n'), "message is not one line: %s", e.msg);

        memset(&e, 0, sizeof e);
        cr_expect_eq(patch_with(&store, &ref1, "{\"subject\": \"changed\"}", &e), -1,
                     "patch accepted");
        cr_expect(strstr(e.msg, task1) != NULL, "patch: message lacks the path: %s", e.msg);
        cr_expect(strstr(e.msg, reason) != NULL, "patch: message lacks '%s': %s", reason, e.msg);
        th_snapshot_assert_same(task1, &snap);
        th_expect_clean(tmp);
}

Test(read, valid_task_is_read)
{
        json_object *obj = NULL;
        struct tr_err e = {0};

        th_write_file(task1, CLAUDE_TASK);
        cr_assert_eq(tr_task_read(&store, &ref1, &obj, &e), 0, "%s", e.msg);
        cr_expect_str_eq(th_get_string(obj, "metadata.taskrun.state"), "running");
        json_object_put(obj);
}

Test(read, missing_file_refused_with_path)
{
        json_object *obj = NULL;
        struct tr_err e = {0};

        cr_expect_eq(tr_task_read(&store, &ref1, &obj, &e), -1);
        cr_expect_eq(e.errnum, ENOENT);
        cr_expect(strstr(e.msg, task1) != NULL, "%s", e.msg);
        cr_expect_eq(patch_with(&store, &ref1, "{}", &e), -1);
        cr_expect_eq(access(task1, F_OK), -1, "patch created the file");
        th_expect_clean(tmp);
}

Test(read, corrupt_json_refused)
{
        th_write_file(task1, "{\n  \"id\": \"1\",\n  \"subject\": ");
        expect_refused("invalid JSON");
}

Test(read, empty_file_refused)
{
        th_write_file(task1, "");
        expect_refused("empty file");
}

Test(read, json_array_refused)
{
        th_write_file(task1, "[\n  1,\n  2\n]");
        expect_refused("not a JSON object");
}

Test(read, json_scalar_refused)
{
        th_write_file(task1, "42");
        expect_refused("not a JSON object");
}

Test(read, trailing_garbage_refused)
{
        th_write_file(task1, "{\n  \"id\": \"1\"\n}\ngarbage");
        expect_refused("invalid JSON");
}

Test(read, second_object_after_the_first_refused)
{
        th_write_file(task1, "{\"id\": \"1\"}{\"id\": \"2\"}");
        expect_refused("invalid JSON");
}

Test(read, trailing_whitespace_accepted)
{
        json_object *obj = NULL;
        struct tr_err e = {0};

        th_write_file(task1, "{\"id\": \"1\"}\n\n  \t");
        cr_expect_eq(tr_task_read(&store, &ref1, &obj, &e), 0, "%s", e.msg);
        json_object_put(obj);
}

/* json-c takes these; JSON.parse, and so Claude, does not. */
Test(read, trailing_comma_refused)
{
        th_write_file(task1, "{\"id\": \"1\", \"blocks\": [],}");
        expect_refused("invalid JSON");
}

Test(read, nan_refused)
{
        th_write_file(task1, "{\"id\": \"1\", \"n\": NaN}");
        expect_refused("invalid JSON");
}

Test(read, single_quotes_refused)
{
        th_write_file(task1, "{'id': '1'}");
        expect_refused("invalid JSON");
}

Test(read, comment_refused)
{
        th_write_file(task1, "{\"id\": \"1\" /* c */}");
        expect_refused("invalid JSON");
}

Test(read, leading_zero_refused)
{
        th_write_file(task1, "{\"n\": 01}");
        expect_refused("invalid JSON");
}

Test(read, raw_control_character_in_string_refused)
{
        th_write_file(task1, "{\"s\": \"a\001b\"}");
        expect_refused("invalid JSON");
}

Test(read, error_gives_line_and_column)
{
        json_object *obj = NULL;
        struct tr_err e = {0};

        th_write_file(task1, "{\n  \"a\": 1,\n  \"b\": ?\n}");
        cr_expect_eq(tr_task_read(&store, &ref1, &obj, &e), -1);
        cr_expect(strstr(e.msg, "line 3, column 8") != NULL, "%s", e.msg);
}

/* {"a": [[[...]]]} nested depth deep, in task1. */
static void write_nested(size_t depth)
{
        size_t n = 0;
        char *text = malloc(depth * 2 + 16);

        n += (size_t)sprintf(text, "{\"a\":");
        for (size_t i = 0; i < depth; i++)
                text[n++] = '[';
        for (size_t i = 0; i < depth; i++)
                text[n++] = ']';
        text[n++] = '}';
        text[n] = '\0';
        th_write_file(task1, text);
        free(text);
}

Test(read, nesting_beyond_limit_refused)
{
        write_nested(600);
        expect_refused("too deep");
}

/* Deeper than the first, shallow parse goes: read at full depth, not refused. */
Test(read, deep_nesting_within_limit_read)
{
        json_object *obj = NULL, *a;
        struct tr_err e = {0};

        write_nested(200);
        cr_assert_eq(tr_task_read(&store, &ref1, &obj, &e), 0, "%s", e.msg);
        a = json_object_object_get(obj, "a");
        for (int i = 1; i < 200; i++)
                a = json_object_array_get_idx(a, 0);
        cr_expect(json_object_is_type(a, json_type_array));
        cr_expect_eq(json_object_array_length(a), 0);
        json_object_put(obj);
}

Test(read, symlink_to_valid_task_refused)
{
        char target[PATH_MAX + 16];
        struct th_snapshot snap;

        snprintf(target, sizeof target, "%s/real.json", tmp);
        th_write_file(target, CLAUDE_TASK);
        cr_assert_eq(symlink(target, task1), 0);
        th_snapshot_take(target, &snap);
        expect_refused("symlink");
        th_snapshot_assert_same(target, &snap);
}

Test(read, symlink_followed_when_allowed)
{
        char target[PATH_MAX + 16];
        struct tr_store s = store;
        struct tr_err e = {0};
        struct stat st;

        s.follow_symlinks = 1;
        snprintf(target, sizeof target, "%s/real.json", tmp);
        th_write_file(target, CLAUDE_TASK);
        cr_assert_eq(symlink(target, task1), 0);
        cr_assert_eq(patch_with(&s, &ref1, "{\"subject\": \"Rebuilt\"}", &e), 0, "%s", e.msg);
        cr_expect(lstat(task1, &st) == 0 && S_ISLNK(st.st_mode), "the symlink was replaced");
        json_object *t = th_read_json(target);
        cr_expect_str_eq(th_get_string(t, "subject"), "Rebuilt");
        json_object_put(t);
        th_expect_clean(tmp);
}

Test(read, fifo_refused)
{
        cr_assert_eq(mkfifo(task1, 0600), 0);
        expect_refused("not a regular file");
}

Test(read, directory_named_like_a_task_refused)
{
        cr_assert_eq(mkdir(task1, 0700), 0);
        expect_refused("not a regular file");
}

Test(read, file_over_size_limit_refused)
{
        int fd = open(task1, O_WRONLY | O_CREAT | O_TRUNC, 0644);

        cr_assert_geq(fd, 0);
        cr_assert_eq(write(fd, "{", 1), 1);
        cr_assert_eq(ftruncate(fd, (off_t)TR_TASK_MAX_BYTES + 1), 0);
        close(fd);
        expect_refused("larger than");
}

Test(merge, keeps_unknown_fields_and_other_metadata_in_order)
{
        struct tr_err e = {0};

        th_write_file(task1, CLAUDE_TASK);
        cr_assert_eq(patch_with(&store, &ref1, "{\"subject\": \"Build v2\"}", &e), 0, "%s", e.msg);
        char want[sizeof CLAUDE_TASK + 3];
        const char *at = strstr(CLAUDE_TASK, "\"Build\"");
        size_t head = (size_t)(at - CLAUDE_TASK);
        /* The same text with "Build" become "Build v2", built by parts for -O0's sake. */
        memcpy(want, CLAUDE_TASK, head);
        strcpy(want + head, "\"Build v2\"");
        strcat(want, at + 7);
        expect_file(task1, want);
}

Test(merge, taskrun_block_merges_key_by_key)
{
        struct tr_err e = {0};

        th_write_file(task1, CLAUDE_TASK);
        cr_assert_eq(patch_with(&store, &ref1,
                                "{\"status\": \"completed\", \"metadata\": {\"taskrun\": "
                                "{\"state\": \"completed\", \"exit_code\": 0}}}",
                                &e),
                     0, "%s", e.msg);
        expect_file(task1, "{\n"
                           "  \"id\": \"1\",\n"
                           "  \"subject\": \"Build\",\n"
                           "  \"description\": \"make all\",\n"
                           "  \"activeForm\": \"Building\",\n"
                           "  \"status\": \"completed\",\n"
                           "  \"blocks\": [],\n"
                           "  \"blockedBy\": [\n"
                           "    \"3\"\n"
                           "  ],\n"
                           "  \"x_custom\": {\n"
                           "    \"keep\": [\n"
                           "      1,\n"
                           "      2\n"
                           "    ]\n"
                           "  },\n"
                           "  \"metadata\": {\n"
                           "    \"alpha\": 1,\n"
                           "    \"taskrun\": {\n"
                           "      \"state\": \"completed\",\n"
                           "      \"pid\": 42,\n"
                           "      \"exit_code\": 0\n"
                           "    },\n"
                           "    \"obj\": {\n"
                           "      \"a\": 1\n"
                           "    },\n"
                           "    \"zeta\": \"z\"\n"
                           "  },\n"
                           "  \"owner\": \"me\"\n"
                           "}");
}

Test(merge, null_deletes_a_metadata_key)
{
        struct tr_err e = {0};

        th_write_file(task1, CLAUDE_TASK);
        cr_assert_eq(patch_with(&store, &ref1, "{\"metadata\": {\"alpha\": null}}", &e), 0, "%s",
                     e.msg);
        json_object *t = th_read_json(task1);
        json_object *md = th_get(t, "metadata");
        cr_expect_null(th_get(t, "metadata.alpha"));
        cr_expect_eq(json_object_object_length(md), 3);
        cr_expect_str_eq(th_get_string(t, "metadata.zeta"), "z");
        json_object_put(t);
}

Test(merge, null_deletes_a_taskrun_key)
{
        struct tr_err e = {0};

        th_write_file(task1, CLAUDE_TASK);
        cr_assert_eq(
            patch_with(&store, &ref1, "{\"metadata\": {\"taskrun\": {\"pid\": null}}}", &e), 0,
            "%s", e.msg);
        json_object *t = th_read_json(task1);
        cr_expect_null(th_get(t, "metadata.taskrun.pid"));
        cr_expect_str_eq(th_get_string(t, "metadata.taskrun.state"), "running");
        json_object_put(t);
}

Test(merge, null_for_absent_key_writes_no_null)
{
        struct tr_err e = {0};

        th_write_file(task1, "{\n  \"id\": \"1\",\n  \"status\": \"pending\"\n}");
        cr_assert_eq(patch_with(&store, &ref1,
                                "{\"metadata\": {\"gone\": null, \"k\": \"v\", "
                                "\"taskrun\": {\"pid\": null, \"state\": \"running\"}}}",
                                &e),
                     0, "%s", e.msg);
        expect_file(task1, "{\n"
                           "  \"id\": \"1\",\n"
                           "  \"status\": \"pending\",\n"
                           "  \"metadata\": {\n"
                           "    \"k\": \"v\",\n"
                           "    \"taskrun\": {\n"
                           "      \"state\": \"running\"\n"
                           "    }\n"
                           "  }\n"
                           "}");
}

Test(merge, null_deletes_a_top_level_field)
{
        struct tr_err e = {0};

        th_write_file(task1, CLAUDE_TASK);
        cr_assert_eq(patch_with(&store, &ref1, "{\"owner\": null}", &e), 0, "%s", e.msg);
        json_object *t = th_read_json(task1);
        cr_expect_null(th_get(t, "owner"));
        cr_expect_not_null(th_get(t, "x_custom"));
        json_object_put(t);
}

Test(merge, other_values_are_replaced_whole)
{
        struct tr_err e = {0};

        th_write_file(task1, CLAUDE_TASK);
        cr_assert_eq(patch_with(&store, &ref1,
                                "{\"blockedBy\": [\"4\"], \"x_custom\": {\"new\": 1}, "
                                "\"metadata\": {\"obj\": {\"b\": 2}}}",
                                &e),
                     0, "%s", e.msg);
        json_object *t = th_read_json(task1);
        cr_expect_str_eq(json_object_to_json_string_ext(th_get(t, "blockedBy"), 0), "[\"4\"]");
        cr_expect_str_eq(json_object_to_json_string_ext(th_get(t, "x_custom"), 0), "{\"new\":1}");
        cr_expect_str_eq(json_object_to_json_string_ext(th_get(t, "metadata.obj"), 0), "{\"b\":2}");
        json_object_put(t);
}

Test(merge, new_keys_are_appended)
{
        json_object *task = parse("{\"b\": 1, \"a\": 2}");
        json_object *patch = parse("{\"c\": 3, \"a\": 4}");

        tr_task_merge(task, patch);
        cr_expect_str_eq(json_object_to_json_string_ext(task, 0), "{\"b\":1,\"a\":4,\"c\":3}");
        json_object_put(task);
        json_object_put(patch);
}

Test(merge, claude_list_refuses_failed_status_and_leaves_file)
{
        struct th_snapshot snap;
        struct tr_err e = {0};

        th_write_file(task1, CLAUDE_TASK);
        th_snapshot_take(task1, &snap);
        cr_expect_eq(patch_with(&store, &ref1,
                                "{\"status\": \"failed\", \"subject\": \"x\", "
                                "\"metadata\": {\"taskrun\": {\"state\": \"failed\"}}}",
                                &e),
                     -1);
        cr_expect_eq(e.errnum, EINVAL);
        cr_expect(strstr(e.msg, "'failed'") != NULL, "%s", e.msg);
        th_snapshot_assert_same(task1, &snap);
        th_expect_clean(tmp);
}

Test(merge, claude_list_refuses_non_string_or_deleted_status)
{
        struct th_snapshot snap;
        struct tr_err e = {0};

        th_write_file(task1, CLAUDE_TASK);
        th_snapshot_take(task1, &snap);
        cr_expect_eq(patch_with(&store, &ref1, "{\"status\": 5}", &e), -1);
        cr_expect(strstr(e.msg, "status") != NULL, "%s", e.msg);
        cr_expect_eq(patch_with(&store, &ref1, "{\"status\": null}", &e), -1);
        cr_expect(strstr(e.msg, "status") != NULL, "%s", e.msg);
        cr_expect_eq(patch_with(&store, &ref1, "{\"status\": \"\"}", &e), -1);
        th_snapshot_assert_same(task1, &snap);
}

Test(merge, claude_list_accepts_its_three_statuses)
{
        static const char *const ok[] = {"pending", "in_progress", "completed"};
        struct tr_err e = {0};
        char patch[64];

        th_write_file(task1, CLAUDE_TASK);
        for (int i = 0; i < 3; i++) {
                snprintf(patch, sizeof patch, "{\"status\": \"%s\"}", ok[i]);
                cr_expect_eq(patch_with(&store, &ref1, patch, &e), 0, "%s: %s", ok[i], e.msg);
        }
}

Test(merge, unchanged_status_is_not_checked)
{
        struct tr_err e = {0};

        /* Someone else wrote it; an unrelated update must still go through. */
        th_write_file(task1, "{\"id\": \"1\", \"status\": \"weird\"}");
        cr_expect_eq(patch_with(&store, &ref1, "{\"subject\": \"s\"}", &e), 0, "%s", e.msg);
}

Test(merge, plain_file_accepts_failed_status)
{
        struct tr_store_opts o = {0};
        struct tr_store s;
        struct tr_task_ref ref;
        struct tr_err e = {0};
        char file[PATH_MAX + 16];

        snprintf(file, sizeof file, "%s/ci-job.json", tmp);
        th_write_file(file, "{\"name\": \"ci\", \"status\": \"in_progress\"}");
        o.file = file;
        o.lock_timeout_ms = 2000;
        cr_assert_eq(tr_store_open(&s, &o, 0, &ref, &e), 0, "%s", e.msg);
        cr_assert_eq(patch_with(&s, &ref, "{\"status\": \"failed\"}", &e), 0, "%s", e.msg);
        expect_file(file, "{\n  \"name\": \"ci\",\n  \"status\": \"failed\"\n}");
        th_expect_clean(tmp);
}

Test(merge, plain_file_refuses_other_statuses)
{
        struct tr_store_opts o = {0};
        struct tr_store s;
        struct tr_task_ref ref;
        struct tr_err e = {0};
        char file[PATH_MAX + 16];

        snprintf(file, sizeof file, "%s/ci-job.json", tmp);
        th_write_file(file, "{\"status\": \"in_progress\"}");
        o.file = file;
        cr_assert_eq(tr_store_open(&s, &o, 0, &ref, &e), 0, "%s", e.msg);
        s.lock_timeout_ms = 2000;
        cr_expect_eq(patch_with(&s, &ref, "{\"status\": \"exploded\"}", &e), -1);
        cr_expect(strstr(e.msg, "or failed") != NULL, "%s", e.msg);
}

Test(merge, patch_replaces_file_never_truncates_in_place)
{
        struct tr_err e = {0};
        struct stat before, after;
        char buf[sizeof CLAUDE_TASK];

        th_write_file(task1, CLAUDE_TASK);
        int fd = open(task1, O_RDONLY);
        cr_assert_geq(fd, 0);
        fstat(fd, &before);
        cr_assert_eq(patch_with(&store, &ref1, "{\"subject\": \"x\"}", &e), 0, "%s", e.msg);
        stat(task1, &after);
        cr_expect_neq(before.st_ino, after.st_ino, "file rewritten in place");
        /* The old file, still open, is whole and unchanged. */
        cr_expect_eq(pread(fd, buf, sizeof buf, 0), (ssize_t)sizeof CLAUDE_TASK - 1);
        cr_expect(memcmp(buf, CLAUDE_TASK, sizeof CLAUDE_TASK - 1) == 0);
        close(fd);
}

Test(merge, patch_keeps_file_mode)
{
        struct tr_err e = {0};
        struct stat st;

        th_write_file(task1, CLAUDE_TASK);
        chmod(task1, 0640);
        cr_assert_eq(patch_with(&store, &ref1, "{\"subject\": \"x\"}", &e), 0, "%s", e.msg);
        stat(task1, &st);
        cr_expect_eq(st.st_mode & 07777, 0640, "mode %o", st.st_mode & 07777);
}

static int fail_fn(json_object *task, void *arg, struct tr_err *e)
{
        (void)arg;
        json_object_object_add(task, "subject", json_object_new_string("half done"));
        return tr_err_set(e, EIO, "mutator gave up");
}

Test(merge, failed_mutation_writes_nothing)
{
        struct th_snapshot snap;
        struct tr_err e = {0};

        th_write_file(task1, CLAUDE_TASK);
        th_snapshot_take(task1, &snap);
        cr_expect_eq(tr_task_update(&store, &ref1, fail_fn, NULL, &e), -1);
        cr_expect_str_eq(e.msg, "mutator gave up");
        th_snapshot_assert_same(task1, &snap);
        th_expect_clean(tmp);
}

Test(format, two_space_indent_no_trailing_newline)
{
        json_object *t = parse("{\"id\": \"1\", \"blocks\": [\"2\", \"3\"], \"m\": {\"a\": "
                               "{\"b\": true}}}");

        cr_expect_str_eq(tr_task_format(t), "{\n"
                                            "  \"id\": \"1\",\n"
                                            "  \"blocks\": [\n"
                                            "    \"2\",\n"
                                            "    \"3\"\n"
                                            "  ],\n"
                                            "  \"m\": {\n"
                                            "    \"a\": {\n"
                                            "      \"b\": true\n"
                                            "    }\n"
                                            "  }\n"
                                            "}");
        json_object_put(t);
}

Test(format, empty_containers_stay_on_one_line)
{
        json_object *t = parse("{\"a\": [], \"o\": {}, \"n\": [[], {}]}");

        cr_expect_str_eq(tr_task_format(t), "{\n"
                                            "  \"a\": [],\n"
                                            "  \"o\": {},\n"
                                            "  \"n\": [\n"
                                            "    [],\n"
                                            "    {}\n"
                                            "  ]\n"
                                            "}");
        json_object_put(t);
}

Test(format, container_that_was_empty_is_expanded)
{
        json_object *t = parse("{\"a\": []}");

        tr_task_format(t);
        json_object_array_add(th_get(t, "a"), json_object_new_int(1));
        cr_expect_str_eq(tr_task_format(t), "{\n  \"a\": [\n    1\n  ]\n}");
        json_object_put(t);
}

Test(format, slashes_not_escaped)
{
        json_object *t = parse("{\"url/key\": \"https://x.org/a/b\"}");

        cr_expect_str_eq(tr_task_format(t), "{\n  \"url/key\": \"https://x.org/a/b\"\n}");
        json_object_put(t);
}

Test(format, empty_task_is_braces)
{
        json_object *t = json_object_new_object();

        cr_expect_str_eq(tr_task_format(t), "{}");
        json_object_put(t);
}

/*
 * Written by hand as node prints JSON.stringify(x, null, 2) for
 * x = {id: "7", subject: 'Deploy "v2" to https://example.com/x', ...}:
 * escapes \" \\ \n \t and \u0001 (lower-case hex), leaves / and non-ASCII alone.
 */
static const char STRINGIFIED[] =
    "{\n"
    "  \"id\": \"7\",\n"
    "  \"subject\": \"Deploy \\\"v2\\\" to https://example.com/x\",\n"
    "  \"description\": \"line1\\nline2\\ttab \\\\ back \\u0001 ctrl \\u001f "
    "\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80 \xe2\x80\xa8 \x7f\",\n"
    "  \"status\": \"pending\",\n"
    "  \"blocks\": [],\n"
    "  \"blockedBy\": [],\n"
    "  \"metadata\": {\n"
    "    \"empty_obj\": {},\n"
    "    \"empty_arr\": [],\n"
    "    \"nested\": [\n"
    "      {\n"
    "        \"a\": null,\n"
    "        \"b\": true,\n"
    "        \"c\": false\n"
    "      },\n"
    "      [\n"
    "        []\n"
    "      ]\n"
    "    ],\n"
    "    \"num\": -12.5,\n"
    "    \"big\": 1e+21,\n"
    "    \"small\": 1e-7,\n"
    "    \"int\": 9007199254740991,\n"
    "    \"neg\": -3,\n"
    "    \"zero\": 0,\n"
    "    \"path/with/slash\": \"/usr/bin\",\n"
    "    \"taskrun\": {\n"
    "      \"state\": \"running\"\n"
    "    }\n"
    "  }\n"
    "}";

Test(format, json_stringify_output_round_trips_byte_identical)
{
        struct tr_err e = {0};

        th_write_file(task1, STRINGIFIED);
        cr_assert_eq(patch_with(&store, &ref1, "{}", &e), 0, "%s", e.msg);
        expect_file(task1, STRINGIFIED);
        /* Setting a value to what it is changes nothing either. */
        cr_assert_eq(patch_with(&store, &ref1,
                                "{\"status\": \"pending\", \"metadata\": {\"taskrun\": "
                                "{\"state\": \"running\"}}}",
                                &e),
                     0, "%s", e.msg);
        expect_file(task1, STRINGIFIED);
}

/* json-c clamps these to 64 bits by itself; rather than change them, refuse the file. */
Test(format, integers_beyond_64_bits_refused_untouched)
{
        static const char text[] = "{\n"
                                   "  \"a\": [\n"
                                   "    18446744073709551616,\n"
                                   "    -9223372036854775809\n"
                                   "  ],\n"
                                   "  \"b\": 123456789012345678901234567890,\n"
                                   "  \"c\": 18446744073709551615,\n"
                                   "  \"d\": -9223372036854775808\n"
                                   "}";
        struct tr_err e = {0};

        th_write_file(task1, text);
        cr_assert_eq(patch_with(&store, &ref1, "{}", &e), -1);
        cr_expect(strstr(e.msg, "beyond 64 bits") != NULL, "%s", e.msg);
        expect_file(task1, text);
}

Test(atomic, exclusive_write_never_overwrites)
{
        struct tr_err e = {0};

        th_write_file(task1, "old");
        cr_expect_eq(tr_atomic_write(task1, "new", 3, 0644, 1, &e), -1);
        cr_expect_eq(e.errnum, EEXIST);
        expect_file(task1, "old");
        th_expect_clean(tmp);
}

Test(atomic, exclusive_write_creates_with_mode)
{
        struct tr_err e = {0};
        struct stat st;

        umask(022);
        cr_assert_eq(tr_atomic_write(task1, "new", 3, 0640, 1, &e), 0, "%s", e.msg);
        expect_file(task1, "new");
        stat(task1, &st);
        cr_expect_eq(st.st_mode & 07777, 0640);
        cr_expect_eq(st.st_nlink, 1, "temp file still linked");
        th_expect_clean(tmp);
}

Test(atomic, replace_keeps_exact_mode_whatever_the_umask)
{
        struct tr_err e = {0};
        struct stat st;

        umask(077);
        th_write_file(task1, "old");
        cr_assert_eq(tr_atomic_write(task1, "new", 3, 0664, 0, &e), 0, "%s", e.msg);
        stat(task1, &st);
        cr_expect_eq(st.st_mode & 07777, 0664, "mode %o", st.st_mode & 07777);
}

Test(atomic, replace_writes_whole_content)
{
        struct tr_err e = {0};

        th_write_file(task1, "a much longer old content");
        cr_assert_eq(tr_atomic_write(task1, "short", 5, 0644, 0, &e), 0, "%s", e.msg);
        expect_file(task1, "short");
        th_expect_clean(tmp);
}

Test(atomic, failed_rename_removes_temp_file)
{
        char inner[PATH_MAX + 32];
        struct tr_err e = {0};

        /* rename(2) cannot replace a non-empty directory. */
        cr_assert_eq(mkdir(task1, 0700), 0);
        snprintf(inner, sizeof inner, "%s/x", task1);
        th_write_file(inner, "x");
        cr_expect_eq(tr_atomic_write(task1, "data", 4, 0644, 0, &e), -1);
        cr_expect(strstr(e.msg, task1) != NULL, "%s", e.msg);
        cr_expect_eq(th_count(tmp, ".*.tmp.*"), 0, "temp file left");
}

/* How unwritable_directory_reports_it's write went, as an exit status (a bit per failure). */
enum { UNWRITABLE_WROTE = 1, UNWRITABLE_ERRNO = 2, UNWRITABLE_MSG = 4, UNWRITABLE_NO_DROP = 77 };

static int write_into_unwritable(const char *file)
{
        struct tr_err e = {0};
        int bad = 0;

        if (tr_atomic_write(file, "x", 1, 0644, 0, &e) != -1)
                return UNWRITABLE_WROTE;
        if (e.errnum != EACCES)
                bad |= UNWRITABLE_ERRNO;
        if (strstr(e.msg, "temp file") == NULL)
                bad |= UNWRITABLE_MSG;
        if (bad)
                fprintf(stderr, "tr_atomic_write: errno %d: %s\n", e.errnum, e.msg);
        return bad;
}

/*
 * Root ignores directory permissions, so as root the write is made by a child
 * that has become nobody (uid and gid 65534), in a directory nobody owns but
 * may not write; the child reports through its exit status.
 */
Test(atomic, unwritable_directory_reports_it)
{
        char dir[PATH_MAX + 16], file[PATH_MAX + 32];
        const uid_t nobody = 65534;
        int rc;

        snprintf(dir, sizeof dir, "%s/ro", tmp);
        snprintf(file, sizeof file, "%s/1.json", dir);
        cr_assert_eq(mkdir(dir, 0500), 0);
        if (geteuid() != 0) {
                rc = write_into_unwritable(file);
        } else {
                /* mkdtemp made tmp 0700: nobody must be able to get through it. */
                cr_assert_eq(chmod(tmp, 0755), 0, "chmod %s: %s", tmp, strerror(errno));
                cr_assert_eq(chown(dir, nobody, nobody), 0, "chown %s: %s", dir, strerror(errno));
                pid_t pid = fork();
                cr_assert_neq(pid, -1, "fork: %s", strerror(errno));
                if (pid == 0) {
                        alarm(30);
                        if (setgroups(0, NULL) == -1 || setresgid(nobody, nobody, nobody) == -1 ||
                            setresuid(nobody, nobody, nobody) == -1)
                                _exit(UNWRITABLE_NO_DROP);
                        if (access(tmp, X_OK) == -1) {
                                fprintf(stderr, "as nobody: %s: %s\n", tmp, strerror(errno));
                                _exit(UNWRITABLE_NO_DROP + 1);
                        }
                        _exit(write_into_unwritable(file));
                }
                rc = th_reap(pid, 20000);
                if (rc == UNWRITABLE_NO_DROP) {
                        teardown(); /* a skipped test gets no .fini */
                        cr_skip_test("root could not become nobody (uid 65534) to test it");
                }
                cr_assert_neq(rc, UNWRITABLE_NO_DROP + 1,
                              "nobody cannot reach %s (a parent directory shuts it out)", tmp);
                cr_assert_lt(rc, 8, "the child as nobody died: $? %d", rc);
        }
        cr_expect_neq(rc, UNWRITABLE_WROTE, "wrote into a directory without write permission");
        cr_expect_eq(rc & UNWRITABLE_ERRNO, 0, "errno was not EACCES (see stderr)");
        cr_expect_eq(rc & UNWRITABLE_MSG, 0,
                     "the message does not name the temp file (see stderr)");
        chmod(dir, 0700);
}

/* The spare file (TR_ATOMIC_SPARE): the file a write replaced is the next write's temp file. */
static void spare_path(char *buf, size_t n)
{
        snprintf(buf, n, "%s/%s", tmp, TR_ATOMIC_SPARE_NAME);
}

Test(atomic, spare_write_keeps_the_replaced_file_and_writes_into_it_next)
{
        char spare[PATH_MAX + 32];
        struct tr_err e = {0};
        struct stat first, st;

        spare_path(spare, sizeof spare);
        th_write_file(task1, "version one");
        cr_assert_eq(stat(task1, &first), 0);
        cr_assert_eq(tr_atomic_write(task1, "two", 3, 0644, TR_ATOMIC_SPARE, &e), 0, "%s", e.msg);
        expect_file(task1, "two");
        cr_assert_eq(stat(spare, &st), 0, "no spare kept");
        cr_expect_eq(st.st_ino, first.st_ino, "the spare is the replaced file");
        cr_assert_eq(tr_atomic_write(task1, "version three, longer", 21, 0644, TR_ATOMIC_SPARE, &e),
                     0, "%s", e.msg);
        expect_file(task1, "version three, longer");
        cr_assert_eq(stat(task1, &st), 0);
        cr_expect_eq(st.st_ino, first.st_ino, "the second write went into the spare");
        cr_expect_eq(st.st_nlink, 1);
        cr_expect_eq(st.st_mode & 07777, 0644);
        th_expect_clean(tmp);
}

/* A spare longer than the new contents, of another mode: cut to them, given their mode. */
Test(atomic, spare_longer_and_of_another_mode_is_cut_and_given_the_mode)
{
        struct tr_err e = {0};
        struct stat st;

        th_write_file(task1, "a first version, long");
        cr_assert_eq(chmod(task1, 0600), 0);
        cr_assert_eq(tr_atomic_write(task1, "two", 3, 0644, TR_ATOMIC_SPARE, &e), 0, "%s", e.msg);
        cr_assert_eq(tr_atomic_write(task1, "3", 1, 0640, TR_ATOMIC_SPARE, &e), 0, "%s", e.msg);
        expect_file(task1, "3");
        cr_assert_eq(stat(task1, &st), 0);
        cr_expect_eq(st.st_size, 1);
        cr_expect_eq(st.st_mode & 07777, 0640);
        th_expect_clean(tmp);
}

struct meanwhile_seen {
        int calls;
        char during[64]; /* task1 as meanwhile found it */
};

static void see_task1(void *arg)
{
        struct meanwhile_seen *m = arg;
        FILE *f = fopen(task1, "r");

        m->calls++;
        if (f != NULL) {
                size_t n = fread(m->during, 1, sizeof m->during - 1, f);
                m->during[n] = '\0';
                fclose(f);
        }
}

/* The work done meanwhile runs once, while the old file is still in place. */
Test(atomic, meanwhile_runs_once_before_the_new_version_is_in_place)
{
        struct meanwhile_seen m = {0};
        struct tr_meanwhile mw = {see_task1, &m};
        struct tr_err e = {0};

        th_write_file(task1, "old");
        cr_assert_eq(tr_atomic_write_meanwhile(task1, "new", 3, 0644, TR_ATOMIC_SPARE, &mw, &e), 0,
                     "%s", e.msg);
        cr_expect_eq(m.calls, 1);
        cr_expect_str_eq(m.during, "old");
        expect_file(task1, "new");
        m.calls = 0;
        cr_assert_eq(tr_atomic_write_meanwhile(task1, "newer", 5, 0644, TR_ATOMIC_NOSYNC, &mw, &e),
                     0, "%s", e.msg);
        cr_expect_eq(m.calls, 1, "called once with no sync too");
        cr_expect_str_eq(m.during, "new");
        expect_file(task1, "newer");
}

Test(atomic, spare_still_open_by_a_reader_is_not_overwritten)
{
        char spare[PATH_MAX + 32], buf[64] = "";
        struct tr_err e = {0};
        int reader;

        spare_path(spare, sizeof spare);
        th_write_file(task1, "old version");
        reader = open(task1, O_RDONLY); /* a reader that has not read yet */
        cr_assert_geq(reader, 0);
        cr_assert_eq(tr_atomic_write(task1, "second", 6, 0644, TR_ATOMIC_SPARE, &e), 0, "%s",
                     e.msg);
        cr_assert_eq(tr_atomic_write(task1, "third", 5, 0644, TR_ATOMIC_SPARE, &e), 0, "%s", e.msg);
        expect_file(task1, "third");
        cr_expect_eq(read(reader, buf, sizeof buf - 1), 11);
        cr_expect_str_eq(buf, "old version", "the reader's file changed under it");
        close(reader);
        th_expect_clean(tmp);
}

Test(atomic, spare_linked_elsewhere_is_never_written)
{
        char spare[PATH_MAX + 32], other[PATH_MAX + 32];
        struct tr_err e = {0};

        spare_path(spare, sizeof spare);
        snprintf(other, sizeof other, "%s/someone-elses", tmp);
        th_write_file(other, "not ours");
        cr_assert_eq(link(other, spare), 0);
        th_write_file(task1, "old");
        cr_assert_eq(tr_atomic_write(task1, "new", 3, 0644, TR_ATOMIC_SPARE, &e), 0, "%s", e.msg);
        expect_file(task1, "new");
        expect_file(other, "not ours");
        cr_assert_eq(symlink(other, spare) == 0 || errno == EEXIST, 1);
        cr_assert_eq(tr_atomic_write(task1, "newer", 5, 0644, TR_ATOMIC_SPARE, &e), 0, "%s", e.msg);
        expect_file(task1, "newer");
        expect_file(other, "not ours");
        th_expect_clean(tmp);
}

Test(atomic, spare_exclusive_create_takes_the_spare_and_never_overwrites)
{
        char spare[PATH_MAX + 32], task2[PATH_MAX + 16];
        struct tr_err e = {0};
        struct stat sp, st;

        spare_path(spare, sizeof spare);
        snprintf(task2, sizeof task2, "%s/2.json", tmp);
        th_write_file(task1, "one");
        cr_assert_eq(tr_atomic_write(task1, "one'", 4, 0644, TR_ATOMIC_SPARE, &e), 0, "%s", e.msg);
        cr_assert_eq(stat(spare, &sp), 0);
        cr_expect_eq(tr_atomic_write(task1, "x", 1, 0644, TR_ATOMIC_EXCL | TR_ATOMIC_SPARE, &e),
                     -1);
        cr_expect_eq(e.errnum, EEXIST);
        expect_file(task1, "one'");
        cr_assert_eq(tr_atomic_write(task2, "two", 3, 0644, TR_ATOMIC_EXCL | TR_ATOMIC_SPARE, &e),
                     0, "%s", e.msg);
        expect_file(task2, "two");
        cr_assert_eq(stat(task2, &st), 0);
        cr_expect_eq(st.st_nlink, 1);
        th_expect_clean(tmp);
}

Test(atomic, spare_never_replaces_a_directory)
{
        struct tr_err e = {0};

        cr_assert_eq(mkdir(task1, 0700), 0);
        th_write_file(th_at(tmp, TR_ATOMIC_SPARE_NAME), "spare");
        cr_expect_eq(tr_atomic_write(task1, "data", 4, 0644, TR_ATOMIC_SPARE, &e), -1);
        struct stat st;
        cr_expect(stat(task1, &st) == 0 && S_ISDIR(st.st_mode), "the directory is still there");
        cr_expect_eq(th_count(tmp, ".*.tmp.*"), 0, "temp file left");
}
