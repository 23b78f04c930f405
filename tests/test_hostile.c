/*
 * Hostile input: symlinks where task files and lists should be, ids that try
 * to leave the list, huge and deeply nested or invalid JSON, invalid UTF-8 in
 * the command's output, and a task file replaced behind taskrun's back. Each
 * is refused with a clear one-line error and leaves every file as it was, or
 * is turned into something safe.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "helpers.h"
#include "taskrun/store.h"

static char tmp[PATH_MAX];     /* scratch root */
static char dir[PATH_MAX + 8]; /* the task list, tmp/list */
static char task1[PATH_MAX + 16];
static struct tr_store store;
static struct tr_task_ref ref1;

static const char TASK[] = "{\n"
                           "  \"id\": \"1\",\n"
                           "  \"subject\": \"Build\",\n"
                           "  \"description\": \"make all\",\n"
                           "  \"status\": \"pending\",\n"
                           "  \"blocks\": [],\n"
                           "  \"blockedBy\": [],\n"
                           "  \"x_foreign\": {\n"
                           "    \"keep\": true\n"
                           "  },\n"
                           "  \"metadata\": {\n"
                           "    \"mine\": \"theirs\"\n"
                           "  }\n"
                           "}";

/* Entries in d, not counting . and .. */
static int entries(const char *d)
{
        return th_count(d, "*") - 2;
}

static void setup(void)
{
        struct tr_store_opts o = {0};
        struct tr_err e = {0};

        th_tmpdir(tmp, sizeof tmp);
        snprintf(dir, sizeof dir, "%s/list", tmp);
        cr_assert_eq(mkdir(dir, 0755), 0);
        o.dir = dir;
        o.lock_timeout_ms = 2000;
        cr_assert_eq(tr_store_open(&store, &o, 0, NULL, &e), 0, "%s", e.msg);
        cr_assert_eq(tr_store_ref(&store, "1", &ref1, &e), 0, "%s", e.msg);
        snprintf(task1, sizeof task1, "%s/1.json", dir);
}

static void teardown(void)
{
        th_rmtree(tmp);
}

TestSuite(symlink, .init = setup, .fini = teardown, .timeout = 30);
TestSuite(ids, .init = setup, .fini = teardown, .timeout = 30);
TestSuite(json, .init = setup, .fini = teardown, .timeout = 30);
TestSuite(output, .init = setup, .fini = teardown, .timeout = 30);
TestSuite(replaced, .init = setup, .fini = teardown, .timeout = 30);

static int patch_text(const struct tr_store *s, const struct tr_task_ref *ref, const char *patch,
                      struct tr_err *e)
{
        json_object *p = json_tokener_parse(patch);
        int r;

        cr_assert_not_null(p, "test bug: unparsable patch %s", patch);
        r = tr_task_patch(s, ref, p, e);
        json_object_put(p);
        return r;
}

static void expect_one_line(const char *msg)
{
        cr_expect(msg[0] != '\0', "empty error message");
        cr_expect_null(strchr(msg, '\n'), "message is not one line: %s", msg);
}

/* The whole of a file of stderr output: exactly one "taskrun: ..." line containing want. */
static void expect_stderr_line(const char *path, const char *want)
{
        char *err = th_read_file(path, NULL);
        char *nl;

        cr_assert_not_null(err);
        cr_expect(strncmp(err, "taskrun: ", 9) == 0, "stderr: %s", err);
        cr_expect(strstr(err, want) != NULL, "stderr lacks '%s': %s", want, err);
        nl = strchr(err, '\n');
        cr_expect(nl != NULL && nl[1] == '\0', "stderr is not one line: %s", err);
        free(err);
}

/* --- symlinks ------------------------------------------------------------ */

Test(symlink, task_file_symlink_refused_by_update)
{
        char target[PATH_MAX + 16];
        struct th_snapshot snap;
        struct tr_err e = {0};

        snprintf(target, sizeof target, "%s/elsewhere.json", tmp);
        th_write_file(target, TASK);
        cr_assert_eq(symlink(target, task1), 0);
        th_snapshot_take(target, &snap);

        cr_expect_eq(patch_text(&store, &ref1, "{\"status\":\"completed\"}", &e), -1);
        cr_expect_eq(e.errnum, ELOOP);
        cr_expect(strstr(e.msg, "symlink") != NULL && strstr(e.msg, "--follow-symlinks"),
                  "message: %s", e.msg);
        expect_one_line(e.msg);
        th_snapshot_assert_same(target, &snap);
        struct stat st;
        cr_expect(lstat(task1, &st) == 0 && S_ISLNK(st.st_mode), "the link was replaced");
        th_expect_clean(dir);
}

Test(symlink, task_file_symlink_refused_by_run_and_command_not_started)
{
        char target[PATH_MAX + 16];
        struct th_snapshot snap;
        int rc;

        snprintf(target, sizeof target, "%s/elsewhere.json", tmp);
        th_write_file(target, TASK);
        cr_assert_eq(symlink(target, task1), 0);
        th_snapshot_take(target, &snap);

        rc = th_sh("'%s' --dir '%s' --task 1 -- touch '%s/ran' 2>'%s/err'", TASKRUN_BIN, dir, tmp,
                   tmp);
        cr_expect_eq(rc, 125);
        cr_expect_neq(access(th_at(tmp, "ran"), F_OK), 0,
                      "the command ran although its task file was refused");
        expect_stderr_line(th_at(tmp, "err"), "symlink");
        th_snapshot_assert_same(target, &snap);
        th_expect_clean(dir);
}

Test(symlink, task_file_symlink_followed_with_option)
{
        char target[PATH_MAX + 16];
        json_object *t;
        struct stat st;
        int rc;

        snprintf(target, sizeof target, "%s/elsewhere.json", tmp);
        th_write_file(target, TASK);
        cr_assert_eq(symlink(target, task1), 0);

        rc = th_sh("'%s' --dir '%s' --task 1 --follow-symlinks -- true 2>/dev/null", TASKRUN_BIN,
                   dir);
        cr_expect_eq(rc, 0);
        cr_expect(lstat(task1, &st) == 0 && S_ISLNK(st.st_mode), "the link was replaced");
        t = th_read_json(target);
        cr_assert_not_null(t, "the target is no longer JSON");
        cr_expect_str_eq(th_get_string(t, "metadata.taskrun.state"), "completed");
        cr_expect_str_eq(th_get_string(t, "metadata.mine"), "theirs");
        cr_expect_not_null(th_get(t, "x_foreign.keep"));
        json_object_put(t);
        th_expect_clean(dir);
        th_expect_clean(tmp);
}

Test(symlink, list_dir_symlink_refused_unless_followed)
{
        char link[PATH_MAX + 16], err[PATH_MAX + 8];
        struct th_snapshot snap;
        json_object *t;
        int rc;

        snprintf(link, sizeof link, "%s/link", tmp);
        snprintf(err, sizeof err, "%s/err", tmp);
        cr_assert_eq(symlink(dir, link), 0);
        th_write_file(task1, TASK);
        th_snapshot_take(task1, &snap);

        rc = th_sh("'%s' --dir '%s' --task 1 -- true 2>'%s'", TASKRUN_BIN, link, err);
        cr_expect_eq(rc, 125);
        expect_stderr_line(err, "symlink");
        th_snapshot_assert_same(task1, &snap);

        rc = th_sh("'%s' --dir '%s' --follow-symlinks --task 1 -- true 2>/dev/null", TASKRUN_BIN,
                   link);
        cr_expect_eq(rc, 0);
        t = th_read_json(task1);
        cr_assert_not_null(t);
        cr_expect_str_eq(th_get_string(t, "metadata.taskrun.state"), "completed");
        json_object_put(t);
        th_expect_clean(dir);
}

Test(symlink, list_dir_symlink_refused_by_store_open)
{
        char link[PATH_MAX + 16];
        struct tr_store_opts o = {0};
        struct tr_store s;
        struct tr_err e = {0};

        snprintf(link, sizeof link, "%s/link", tmp);
        cr_assert_eq(symlink(dir, link), 0);
        o.dir = link;
        cr_expect_eq(tr_store_open(&s, &o, 1, NULL, &e), -1);
        cr_expect_eq(e.errnum, ELOOP, "%s", e.msg);
        expect_one_line(e.msg);
}

/* --- ids ----------------------------------------------------------------- */

Test(ids, dot_dot_ids_refused_by_the_store)
{
        static const char *const bad[] = {"../x",      "..", ".",      "a/b",    "../../etc/passwd",
                                          "x/../../y", "",   "1.json", ".hidden"};
        struct tr_task_ref ref;

        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
                struct tr_err e = {0};
                cr_expect_eq(tr_store_ref(&store, bad[i], &ref, &e), -1, "id '%s' accepted",
                             bad[i]);
                expect_one_line(e.msg);
        }
}

Test(ids, dot_dot_ids_refused_by_run_and_nothing_written_outside)
{
        static const char *const bad[] = {"../x", "../../x", "..", "../list/1", "a/../../x"};
        char err[PATH_MAX + 8];

        snprintf(err, sizeof err, "%s/err", tmp);
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
                int rc = th_sh("'%s' --dir '%s' --task '%s' --create -- touch '%s/ran' 2>'%s'",
                               TASKRUN_BIN, dir, bad[i], tmp, err);
                cr_expect_eq(rc, 125, "--task '%s': exit %d", bad[i], rc);
                expect_stderr_line(err, "invalid name");
        }
        cr_expect_eq(entries(tmp), 2, "something was created beside the list: %d entries",
                     entries(tmp));
        cr_expect_eq(entries(dir), 0, "something was created in the list");
        cr_expect_neq(access(th_at(tmp, "ran"), F_OK), 0);
}

Test(ids, dot_dot_list_names_refused)
{
        char err[PATH_MAX + 8];
        int rc;

        snprintf(err, sizeof err, "%s/err", tmp);
        rc = th_sh("CLAUDE_CONFIG_DIR='%s' '%s' --list ../../x -- true 2>'%s'", tmp, TASKRUN_BIN,
                   err);
        cr_expect_eq(rc, 125);
        expect_stderr_line(err, "invalid name");
        rc = th_sh("CLAUDE_CONFIG_DIR='%s' CLAUDE_CODE_TASK_LIST_ID=../x '%s' -- true 2>'%s'", tmp,
                   TASKRUN_BIN, err);
        cr_expect_eq(rc, 125);
        expect_stderr_line(err, "invalid name");
        cr_expect_eq(entries(tmp), 2, "something was created: %d entries in %s", entries(tmp), tmp);
}

/* --- JSON ------------------------------------------------------------------ */

/* The file under test, for messages. */
static const char *what = "the task file";

/* tr_task_patch on task1 is refused with reason in a one-line message; file untouched. */
static void expect_patch_refused(const char *reason)
{
        struct th_snapshot snap;
        struct tr_err e = {0};

        cr_assert(reason[0] != '\0', "test bug: no reason to look for");
        th_snapshot_take(task1, &snap);
        cr_expect_eq(patch_text(&store, &ref1, "{\"status\":\"completed\"}", &e), -1,
                     "patch accepted on %s", what);
        cr_expect(strstr(e.msg, reason) != NULL, "message lacks '%s': %s", reason, e.msg);
        cr_expect(strstr(e.msg, task1) != NULL, "message lacks the path: %s", e.msg);
        expect_one_line(e.msg);
        th_snapshot_assert_same(task1, &snap);
        th_expect_clean(dir);
}

/* A file of n bytes: prefix, then fill repeated, then suffix. */
static void write_big(const char *path, const char *prefix, char fill, size_t n, const char *suffix)
{
        FILE *f = fopen(path, "w");
        size_t body = n - strlen(prefix) - strlen(suffix);
        char *buf = malloc(body);

        cr_assert_not_null(f);
        cr_assert_not_null(buf);
        memset(buf, fill, body);
        fputs(prefix, f);
        cr_assert_eq(fwrite(buf, 1, body, f), body);
        fputs(suffix, f);
        cr_assert_eq(fclose(f), 0);
        free(buf);
}

Test(json, twenty_megabyte_task_file_refused)
{
        write_big(task1, "{\"id\":\"1\",\"status\":\"pending\",\"description\":\"", 'x',
                  20 * 1024 * 1024, "\"}");
        expect_patch_refused("larger than");
}

Test(json, twenty_megabyte_task_file_refused_by_run)
{
        char err[PATH_MAX + 8];
        struct th_snapshot snap;

        snprintf(err, sizeof err, "%s/err", tmp);
        write_big(task1, "{\"id\":\"1\",\"status\":\"pending\",\"description\":\"", 'x',
                  20 * 1024 * 1024, "\"}");
        th_snapshot_take(task1, &snap);
        cr_expect_eq(th_sh("'%s' --dir '%s' --task 1 -- true 2>'%s'", TASKRUN_BIN, dir, err), 125);
        expect_stderr_line(err, "larger than");
        th_snapshot_assert_same(task1, &snap);
}

Test(json, hundred_thousand_open_brackets_refused)
{
        write_big(task1, "", '[', 100000, "");
        /* Refused before any parsing: the top level is not an object. */
        expect_patch_refused("top level is not a JSON object");
}

Test(json, deeply_nested_value_inside_a_task_refused)
{
        write_big(task1, "{\"id\":\"1\",\"status\":\"pending\",\"x\":", '[', 100000, "");
        expect_patch_refused("deep");
        /* Balanced, so only the depth is wrong. */
        char *text = malloc(200001 + 64);
        cr_assert_not_null(text);
        int n = sprintf(text, "{\"id\":\"1\",\"status\":\"pending\",\"x\":");
        memset(text + n, '[', 100000);
        memset(text + n + 100000, ']', 100000);
        strcpy(text + n + 200000, "}");
        th_write_file(task1, text);
        free(text);
        expect_patch_refused("deep");
}

Test(json, nesting_within_limit_is_kept)
{
        char text[4096];
        int n = sprintf(text, "{\"id\":\"1\",\"status\":\"pending\",\"x\":");
        json_object *t;
        struct tr_err e = {0};

        memset(text + n, '[', 400);
        memset(text + n + 400, ']', 400);
        strcpy(text + n + 800, "}");
        th_write_file(task1, text);
        cr_expect_eq(patch_text(&store, &ref1, "{\"status\":\"completed\"}", &e), 0, "%s", e.msg);
        cr_assert_eq(tr_task_read(&store, &ref1, &t, &e), 0, "%s", e.msg);
        cr_expect_str_eq(th_get_string(t, "status"), "completed");
        json_object_put(t);
}

Test(json, invalid_json_refused_and_untouched)
{
        static const char *const bad[] = {
            "{\"id\":\"1\",\"status\":\"pending\"", /* truncated */
            "{\"id\":\"1\",}",                      /* trailing comma */
            "{\"id\":NaN}",                         /* not JSON */
            "{'id':'1'}",                           /* single quotes */
            "{\"id\":\"1\"} {\"id\":\"2\"}",        /* two values */
            "\xef\xbb\xbf{\"id\":\"1\"}",           /* a byte order mark */
            "{\"id\":\"1\" /* comment */}",         /* comment */
            "{\"a\":\"\x01\"}",                     /* raw control character */
            "{\"a\":\"\\x41\"}",                    /* bad escape */
            "{\"a\":\"\\u12\"}",                    /* short \u escape */
            "{\"a\":01}",                           /* leading zero */
            "{\"a\":-}",                            /* sign alone */
            "{\"a\":1.}",                           /* no fraction digits */
            "{\"a\":-0.}",                          /* no fraction digits */
            "{\"a\":1.e5}",                         /* no fraction digits */
            "{\"a\":.5}",                           /* no integer digits */
            "{\"a\":+1}",                           /* plus sign */
            "{\"a\":-037}",                         /* leading zero after a sign (fuzz) */
            "{\"a\":-.750}",                        /* no integer digits after a sign (fuzz) */
            "{\"a\":\"\\ude00\"}",                  /* lone low surrogate */
            "{\"a\":\"x\ty\"}",                     /* raw tab in a string */
            "{\"a\":\"x\ny\"}",                     /* raw newline in a string */
            "{\"a\":\"x\ry\"}",                     /* raw CR in a string */
            "{\"a\":tru}",                          /* cut literal */
            "\x89PNG\r\n\x1a\n\x00\x00",            /* binary */
            "",                                     /* empty */
            "   \n",                                /* blank */
        };

        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
                what = bad[i];
                th_write_file(task1, bad[i]);
                expect_patch_refused("JSON");
        }
}

/* tr_task_parse takes (text, len): nothing past len is read, even if it is not a NUL. */
Test(json, parse_reads_only_the_bytes_it_is_given)
{
        static const char buf[] = "{\"id\":\"1\",\"status\":\"pending\"}  "
                                  "  x";
        size_t len = sizeof buf - 1 - 3;
        struct tr_err e = {0};
        json_object *t = tr_task_parse(buf, len, &e);

        cr_expect_not_null(t, "refused because of bytes past its length: %s", e.msg);
        json_object_put(t);
        memset(&e, 0, sizeof e);
        t = tr_task_parse(buf, 7, &e); /* cut inside the object */
        cr_expect_null(t, "accepted a cut object");
        json_object_put(t);
}

Test(json, top_level_not_an_object_refused)
{
        static const char *const bad[] = {"[]", "\"task\"", "42", "null", "true"};

        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
                th_write_file(task1, bad[i]);
                expect_patch_refused("not a task");
        }
}

Test(json, invalid_json_refused_by_run_with_one_line)
{
        char err[PATH_MAX + 8];
        struct th_snapshot snap;

        snprintf(err, sizeof err, "%s/err", tmp);
        th_write_file(task1, "{\"id\": \"1\",\n \"status\": \"pending\",\n oops}");
        th_snapshot_take(task1, &snap);
        cr_expect_eq(
            th_sh("'%s' --dir '%s' --task 1 -- touch '%s/ran' 2>'%s'", TASKRUN_BIN, dir, tmp, err),
            125);
        expect_stderr_line(err, "line 3");
        th_snapshot_assert_same(task1, &snap);
        cr_expect_neq(access(th_at(tmp, "ran"), F_OK), 0);
}

/*
 * A foreign number that does not fit in 64 bits is JSON all the same; Claude
 * reads it as a double and writes it back as it was. taskrun must either keep
 * the digits or refuse to rewrite the file; json-c clamps it to 2^64-1.
 */
Test(json, huge_integer_in_a_foreign_field_is_not_changed)
{
        static const char text[] = "{\n  \"id\": \"1\",\n  \"status\": \"pending\",\n"
                                   "  \"metadata\": {\n    \"big\": 99999999999999999999,\n"
                                   "    \"neg\": -99999999999999999999\n  }\n}";
        struct tr_err e = {0};
        char *after;

        th_write_file(task1, text);
        if (patch_text(&store, &ref1, "{\"status\":\"completed\"}", &e) == -1) {
                expect_one_line(e.msg);
                after = th_read_file(task1, NULL);
                cr_expect_str_eq(after, text, "refused, yet the file changed");
        } else {
                after = th_read_file(task1, NULL);
                cr_expect(strstr(after, "99999999999999999999,") != NULL &&
                              strstr(after, "-99999999999999999999\n") != NULL,
                          "foreign numbers changed:\n%s", after);
        }
        free(after);
}

/*
 * A lone UTF-16 surrogate escape is valid JSON (JSON.parse takes it and
 * JSON.stringify writes it back as "\ud800"); taskrun must not rewrite a
 * foreign string into something else.
 */
Test(json, lone_surrogate_escape_in_a_foreign_field_is_not_changed)
{
        static const char text[] = "{\n  \"id\": \"1\",\n  \"status\": \"pending\",\n"
                                   "  \"x\": \"a\\ud800b\"\n}";
        struct tr_err e = {0};
        char *after;

        th_write_file(task1, text);
        if (patch_text(&store, &ref1, "{\"status\":\"completed\"}", &e) == -1) {
                expect_one_line(e.msg);
                after = th_read_file(task1, NULL);
                cr_expect_str_eq(after, text, "refused, yet the file changed");
        } else {
                after = th_read_file(task1, NULL);
                cr_expect(strstr(after, "\"a\\ud800b\"") != NULL, "foreign string changed:\n%s",
                          after);
        }
        free(after);
}

/* --- the command's output ------------------------------------------------ */

Test(output, invalid_utf8_in_output_becomes_valid_utf8)
{
        /* Bad bytes, a cut sequence, an encoded surrogate, an overlong and escapes. */
        static const char out[] = "ok \xff\xfe \xc3\x28 \xe2\x82 \xed\xa0\x80 \xc0\xaf "
                                  "\x1b[31mred\x1b[0m \xe2\x82\xac\n"
                                  "last \xf0\x9f\x98\x80 \xf4\x90\x80\x80\n";
        char in[PATH_MAX + 8], got[PATH_MAX + 8];
        char *text, *passed;
        size_t len, plen;
        json_object *t;
        const char *tail;

        snprintf(in, sizeof in, "%s/in", tmp);
        snprintf(got, sizeof got, "%s/out", tmp);
        th_write_file(in, out);
        th_write_file(task1, TASK);
        cr_assert_eq(th_sh("'%s' --dir '%s' --task 1 -- cat '%s' >'%s' 2>/dev/null", TASKRUN_BIN,
                           dir, in, got),
                     0);

        passed = th_read_file(got, &plen);
        cr_expect(plen == sizeof out - 1 && memcmp(passed, out, plen) == 0,
                  "output was not passed through byte for byte");
        free(passed);

        text = th_read_file(task1, &len);
        cr_assert_not_null(text);
        cr_expect(th_utf8_valid(text, len), "the task file is not valid UTF-8");
        t = json_tokener_parse(text);
        cr_assert_not_null(t, "the task file does not parse");
        tail = th_get_string(t, "metadata.taskrun.output_tail");
        cr_assert_not_null(tail, "no output_tail");
        cr_expect(th_utf8_valid(tail, strlen(tail)), "output_tail is not valid UTF-8");
        cr_expect_null(strchr(tail, '\x1b'), "output_tail keeps an escape: %s", tail);
        cr_expect(strstr(tail, "red") != NULL && strstr(tail, "\xe2\x82\xac") != NULL,
                  "output_tail lost good text: %s", tail);
        cr_expect(strstr(tail, "\xf0\x9f\x98\x80") != NULL, "output_tail lost the emoji: %s", tail);
        cr_expect(strstr(tail, "\xef\xbf\xbd") != NULL, "no U+FFFD for the bad bytes: %s", tail);
        json_object_put(t);
        free(text);
}

Test(output, binary_output_leaves_a_valid_task)
{
        char err[PATH_MAX + 8], *text;
        size_t len;
        json_object *t;

        snprintf(err, sizeof err, "%s/err", tmp);
        th_write_file(task1, TASK);
        cr_assert_eq(th_sh("'%s' --dir '%s' --task 1 -- head -c 200000 /dev/urandom >/dev/null "
                           "2>'%s'",
                           TASKRUN_BIN, dir, err),
                     0);
        text = th_read_file(task1, &len);
        cr_assert_not_null(text);
        cr_expect(th_utf8_valid(text, len), "the task file is not valid UTF-8");
        t = json_tokener_parse(text);
        cr_assert_not_null(t, "the task file does not parse");
        cr_expect_not_null(th_get(t, "x_foreign.keep"), "foreign field lost");
        json_object_put(t);
        free(text);
}

/* --- a task file replaced between read and write ---------------------------- */

struct replacer {
        int calls;
        int replace_every_time;
        const char *path;
        const char *dir;
};

/* Like a writer that ignores the lock: put a whole new file in place by rename. */
static void replace_file(const struct replacer *r, int n)
{
        char other[PATH_MAX + 32], text[512];

        snprintf(other, sizeof other, "%s/.other.%d", r->dir, n);
        snprintf(text, sizeof text,
                 "{\n  \"id\": \"1\",\n  \"subject\": \"rewritten %d\",\n"
                 "  \"status\": \"pending\",\n  \"added_by_other\": %d,\n"
                 "  \"metadata\": {\n    \"other\": \"yes\"\n  }\n}",
                 n, n);
        th_write_file(other, text);
        cr_assert_eq(rename(other, r->path), 0);
}

static int replace_then_set(json_object *task, void *arg, struct tr_err *e)
{
        struct replacer *r = arg;

        (void)e;
        r->calls++;
        if (r->calls == 1 || r->replace_every_time)
                replace_file(r, r->calls);
        json_object_object_add(task, "status", json_object_new_string("completed"));
        return 0;
}

Test(replaced, update_merges_into_the_new_file)
{
        struct replacer r = {.path = task1, .dir = dir};
        struct tr_err e = {0};
        json_object *t;

        th_write_file(task1, TASK);
        cr_assert_eq(tr_task_update(&store, &ref1, replace_then_set, &r, &e), 0, "%s", e.msg);
        cr_expect_eq(r.calls, 2, "mutate ran %d times, not again on the new file", r.calls);
        t = th_read_json(task1);
        cr_assert_not_null(t);
        cr_expect_str_eq(th_get_string(t, "status"), "completed");
        cr_expect_str_eq(th_get_string(t, "subject"), "rewritten 1", "the new file was lost");
        cr_expect_not_null(th_get(t, "added_by_other"));
        cr_expect_str_eq(th_get_string(t, "metadata.other"), "yes");
        cr_expect_null(th_get(t, "x_foreign"), "the old file came back");
        json_object_put(t);
        th_expect_clean(dir);
}

Test(replaced, update_gives_up_without_clobbering_a_file_that_keeps_changing)
{
        struct replacer r = {.path = task1, .dir = dir, .replace_every_time = 1};
        struct tr_err e = {0};
        json_object *t;
        char want[32];

        th_write_file(task1, TASK);
        cr_expect_eq(tr_task_update(&store, &ref1, replace_then_set, &r, &e), -1);
        expect_one_line(e.msg);
        t = th_read_json(task1);
        cr_assert_not_null(t);
        snprintf(want, sizeof want, "rewritten %d", r.calls);
        cr_expect_str_eq(th_get_string(t, "subject"), want, "the last replacement was lost");
        cr_expect_str_eq(th_get_string(t, "status"), "pending", "wrote over a changed file");
        json_object_put(t);
        th_expect_clean(dir);
}

static int replace_with_garbage(json_object *task, void *arg, struct tr_err *e)
{
        struct replacer *r = arg;
        char other[PATH_MAX + 32];

        (void)task;
        (void)e;
        r->calls++;
        snprintf(other, sizeof other, "%s/.other", r->dir);
        th_write_file(other, "{ not json");
        cr_assert_eq(rename(other, r->path), 0);
        return 0;
}

Test(replaced, update_refuses_when_the_new_file_is_corrupt)
{
        struct replacer r = {.path = task1, .dir = dir};
        struct tr_err e = {0};
        char *after;

        th_write_file(task1, TASK);
        cr_expect_eq(tr_task_update(&store, &ref1, replace_with_garbage, &r, &e), -1);
        expect_one_line(e.msg);
        cr_expect(strstr(e.msg, "JSON") != NULL, "%s", e.msg);
        after = th_read_file(task1, NULL);
        cr_expect_str_eq(after, "{ not json", "the corrupt file was overwritten");
        free(after);
        th_expect_clean(dir);
}
