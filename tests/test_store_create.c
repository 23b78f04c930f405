/* Creating tasks: ids allocated as Claude does, and never overwriting a file. */
#include <criterion/criterion.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "helpers.h"
#include "taskrun/store.h"

static char tmp[PATH_MAX];
static struct tr_store store;

static void setup(void)
{
        struct tr_store_opts o = {0};
        struct tr_err e = {0};

        th_tmpdir(tmp, sizeof tmp);
        o.dir = tmp;
        o.lock_timeout_ms = 2000;
        cr_assert_eq(tr_store_open(&store, &o, 0, NULL, &e), 0, "%s", e.msg);
}

static void teardown(void)
{
        th_rmtree(tmp);
}

TestSuite(create, .init = setup, .fini = teardown);

static void path_of(char *buf, size_t n, const char *name)
{
        snprintf(buf, n, "%s/%s", tmp, name);
}

/* tr_task_create of a fresh task; returns the new id as a number. */
static long create_one(void)
{
        json_object *t = tr_task_new("subject", "description");
        struct tr_task_ref ref;
        struct tr_err e = {0};

        cr_assert_eq(tr_task_create(&store, t, &ref, &e), 0, "%s", e.msg);
        json_object_put(t);
        return strtol(ref.id, NULL, 10);
}

static void write_task_file(const char *name, const char *text)
{
        char path[PATH_MAX + 32];

        path_of(path, sizeof path, name);
        th_write_file(path, text);
}

static char *read_named(const char *name)
{
        char path[PATH_MAX + 32];

        path_of(path, sizeof path, name);
        return th_read_file(path, NULL);
}

Test(create, sequential_creates_get_1_2_3)
{
        cr_expect_eq(create_one(), 1);
        cr_expect_eq(create_one(), 2);
        cr_expect_eq(create_one(), 3);
        cr_expect_eq(th_count(tmp, "*.json"), 3);
        th_expect_clean(tmp);
}

Test(create, created_file_has_id_and_claude_shape)
{
        json_object *t = tr_task_new("Run tests", "make check");
        struct tr_task_ref ref;
        struct tr_err e = {0};

        cr_assert_eq(tr_task_create(&store, t, &ref, &e), 0, "%s", e.msg);
        cr_expect_str_eq(ref.id, "1");
        char want_path[PATH_MAX + 16];
        path_of(want_path, sizeof want_path, "1.json");
        cr_expect_str_eq(ref.path, want_path);
        char *text = read_named("1.json");
        cr_expect_str_eq(text, "{\n"
                               "  \"id\": \"1\",\n"
                               "  \"subject\": \"Run tests\",\n"
                               "  \"description\": \"make check\",\n"
                               "  \"status\": \"pending\",\n"
                               "  \"blocks\": [],\n"
                               "  \"blockedBy\": []\n"
                               "}");
        free(text);
        /* The caller's object now says which id it got. */
        cr_expect_str_eq(th_get_string(t, "id"), "1");
        json_object_put(t);
}

/* The mode of a task created under mask. */
static mode_t created_mode_under(mode_t mask)
{
        struct stat st;
        char path[PATH_MAX + 16];

        umask(mask);
        create_one();
        path_of(path, sizeof path, "1.json");
        cr_assert_eq(stat(path, &st), 0);
        return st.st_mode & 07777;
}

Test(create, created_file_mode_is_0644_under_umask_022)
{
        mode_t mode = created_mode_under(022);

        cr_expect_eq(mode, 0644, "mode %o", mode);
}

Test(create, created_file_mode_follows_umask)
{
        mode_t mode = created_mode_under(077);

        cr_expect_eq(mode, 0600, "mode %o", mode);
}

Test(create, highwatermark_above_files_is_respected_and_updated)
{
        write_task_file("1.json", "{}");
        write_task_file("2.json", "{}");
        write_task_file("3.json", "{}");
        write_task_file(".highwatermark", "10");
        cr_expect_eq(create_one(), 11);
        char *hwm = read_named(".highwatermark");
        cr_expect_str_eq(hwm, "11");
        free(hwm);
        cr_expect_eq(create_one(), 12);
}

Test(create, files_above_highwatermark_win)
{
        write_task_file("5.json", "{}");
        write_task_file(".highwatermark", "2");
        cr_expect_eq(create_one(), 6);
        char *hwm = read_named(".highwatermark");
        cr_expect_str_eq(hwm, "6");
        free(hwm);
}

Test(create, highwatermark_written_after_first_create)
{
        create_one();
        char *hwm = read_named(".highwatermark");
        cr_expect_str_eq(hwm, "1");
        free(hwm);
}

Test(create, junk_highwatermark_counts_as_zero)
{
        write_task_file(".highwatermark", "junk");
        cr_expect_eq(create_one(), 1);
}

Test(create, highwatermark_with_newline_is_read)
{
        write_task_file(".highwatermark", "7\n");
        cr_expect_eq(create_one(), 8);
}

Test(create, non_numeric_names_do_not_count)
{
        write_task_file("abc.json", "{}");
        write_task_file("9.json.bak", "{}");
        write_task_file("x9.json", "{}");
        write_task_file("99", "{}");
        cr_expect_eq(create_one(), 1);
}

Test(create, create_at_existing_id_fails_eexist_and_keeps_content)
{
        json_object *t = tr_task_new("new", "");
        struct tr_task_ref ref;
        struct tr_err e = {0};
        struct th_snapshot snap;
        char path[PATH_MAX + 16];

        write_task_file("4.json", "{\"id\": \"4\", \"subject\": \"old\"}");
        path_of(path, sizeof path, "4.json");
        th_snapshot_take(path, &snap);
        cr_assert_eq(tr_store_ref(&store, "4", &ref, &e), 0);
        cr_expect_eq(tr_task_create_at(&store, &ref, t, 0, &e), -1);
        cr_expect_eq(e.errnum, EEXIST);
        cr_expect(strstr(e.msg, "already exists") != NULL, "%s", e.msg);
        th_snapshot_assert_same(path, &snap);
        th_expect_clean(tmp);
        json_object_put(t);
}

Test(create, create_at_adopt_returns_1_and_keeps_content)
{
        json_object *t = tr_task_new("new", "");
        struct tr_task_ref ref;
        struct tr_err e = {0};
        struct th_snapshot snap;
        char path[PATH_MAX + 16];

        write_task_file("4.json", "{\"id\": \"4\", \"subject\": \"old\"}");
        path_of(path, sizeof path, "4.json");
        th_snapshot_take(path, &snap);
        cr_assert_eq(tr_store_ref(&store, "4", &ref, &e), 0);
        cr_expect_eq(tr_task_create_at(&store, &ref, t, TR_CREATE_ADOPT, &e), 1);
        th_snapshot_assert_same(path, &snap);
        th_expect_clean(tmp);
        json_object_put(t);
}

Test(create, create_at_new_id_sets_id_and_returns_0)
{
        json_object *t = tr_task_new("named", "");
        struct tr_task_ref ref;
        struct tr_err e = {0};

        json_object_object_add(t, "id", json_object_new_string("wrong"));
        cr_assert_eq(tr_store_ref(&store, "build-7", &ref, &e), 0);
        cr_expect_eq(tr_task_create_at(&store, &ref, t, TR_CREATE_ADOPT, &e), 0, "%s", e.msg);
        json_object *got = th_read_json(ref.path);
        cr_expect_str_eq(th_get_string(got, "id"), "build-7");
        json_object_put(got);
        json_object_put(t);
        th_expect_clean(tmp);
}

Test(create, create_at_plain_file_keeps_its_own_shape)
{
        struct tr_store_opts o = {0};
        struct tr_store s;
        struct tr_task_ref ref;
        struct tr_err e = {0};
        char file[PATH_MAX + 16];

        path_of(file, sizeof file, "ci.json");
        o.file = file;
        cr_assert_eq(tr_store_open(&s, &o, 0, &ref, &e), 0, "%s", e.msg);
        json_object *t = json_tokener_parse("{\"status\": \"failed\"}");
        cr_expect_eq(tr_task_create_at(&s, &ref, t, 0, &e), 0, "%s", e.msg);
        char *text = th_read_file(file, NULL);
        cr_expect_str_eq(text, "{\n  \"status\": \"failed\"\n}");
        free(text);
        cr_expect_eq(tr_task_create_at(&s, &ref, t, 0, &e), -1);
        cr_expect_eq(e.errnum, EEXIST);
        json_object_put(t);
}

Test(create, claude_list_refuses_to_create_a_failed_task)
{
        json_object *t = tr_task_new("x", "");
        struct tr_task_ref ref;
        struct tr_err e = {0};

        json_object_object_add(t, "status", json_object_new_string("failed"));
        cr_expect_eq(tr_task_create(&store, t, &ref, &e), -1);
        cr_expect(strstr(e.msg, "'failed'") != NULL, "%s", e.msg);
        cr_expect_eq(th_count(tmp, "*.json"), 0, "a task file was written");
        th_expect_clean(tmp);
        json_object_put(t);
}

Test(create, plain_store_cannot_allocate_ids)
{
        struct tr_store s = store;
        json_object *t = tr_task_new("x", "");
        struct tr_task_ref ref;
        struct tr_err e = {0};

        s.schema = TR_SCHEMA_PLAIN;
        cr_expect_eq(tr_task_create(&s, t, &ref, &e), -1);
        cr_expect_eq(e.errnum, EINVAL);
        json_object_put(t);
}

Test(create, list_lock_file_exists_after_create)
{
        char lockfile[PATH_MAX + 16], lockdir[PATH_MAX + 16];
        struct stat st;

        create_one();
        path_of(lockfile, sizeof lockfile, ".lock");
        path_of(lockdir, sizeof lockdir, ".lock.lock");
        cr_expect(lstat(lockfile, &st) == 0 && S_ISREG(st.st_mode), ".lock is not a file");
        cr_expect_neq(access(lockdir, F_OK), 0, ".lock.lock left behind");
}

Test(create, fresh_list_lock_blocks_create)
{
        char lockdir[PATH_MAX + 16];
        json_object *t = tr_task_new("x", "");
        struct tr_task_ref ref;
        struct tr_err e = {0};
        struct tr_store s = store;

        /* Claude holds the list lock. */
        path_of(lockdir, sizeof lockdir, ".lock.lock");
        cr_assert_eq(mkdir(lockdir, 0777), 0);
        s.lock_timeout_ms = 300;
        cr_expect_eq(tr_task_create(&s, t, &ref, &e), -1);
        cr_expect_eq(e.errnum, ETIMEDOUT);
        cr_expect(strstr(e.msg, lockdir) != NULL, "%s", e.msg);
        cr_expect_eq(th_count(tmp, "*.json"), 0);
        cr_expect_eq(access(lockdir, F_OK), 0, "someone else's lock was removed");
        json_object_put(t);
}

Test(create, create_at_takes_the_list_lock)
{
        char lockdir[PATH_MAX + 16];
        json_object *t = tr_task_new("x", "");
        struct tr_task_ref ref;
        struct tr_err e = {0};
        struct tr_store s = store;

        path_of(lockdir, sizeof lockdir, ".lock.lock");
        cr_assert_eq(mkdir(lockdir, 0777), 0);
        s.lock_timeout_ms = 200;
        cr_assert_eq(tr_store_ref(&s, "5", &ref, &e), 0);
        cr_expect_eq(tr_task_create_at(&s, &ref, t, 0, &e), -1);
        cr_expect_eq(e.errnum, ETIMEDOUT);
        cr_expect_eq(access(ref.path, F_OK), -1);
        json_object_put(t);
}

Test(create, reserve_moves_the_highwatermark_and_makes_no_file)
{
        struct tr_task_ref ref;
        struct tr_err e = {0};

        cr_assert_eq(tr_task_reserve(&store, &ref, &e), 0, "%s", e.msg);
        cr_expect_str_eq(ref.id, "1");
        cr_expect_eq(th_count(tmp, "*.json"), 0, "a reservation makes no task file");
        char *mark = read_named(".highwatermark");
        cr_expect_str_eq(mark, "1");
        free(mark);
        /* Whoever allocates next, taskrun or Claude, counts the mark and passes it by. */
        cr_expect_eq(create_one(), 2);
        th_expect_clean(tmp);
}

Test(create, a_reserved_id_is_created_later_without_the_list_lock)
{
        json_object *t = tr_task_new("later", "");
        struct tr_task_ref ref;
        struct tr_err e = {0};
        char lock[PATH_MAX + 16];

        cr_assert_eq(tr_task_reserve(&store, &ref, &e), 0, "%s", e.msg);
        /* A list lock held elsewhere, fresh: a reserved id does not wait for it. */
        path_of(lock, sizeof lock, ".lock.lock");
        cr_assert_eq(mkdir(lock, 0755), 0);
        cr_expect_eq(tr_task_create_at(&store, &ref, t, TR_CREATE_RESERVED, &e), 0, "%s", e.msg);
        rmdir(lock);
        char *text = read_named("1.json");
        cr_expect(text != NULL && strstr(text, "\"subject\": \"later\"") != NULL, "%s", text);
        free(text);
        json_object_put(t);
}

Test(create, a_reserved_id_taken_meanwhile_is_not_overwritten)
{
        json_object *t = tr_task_new("ours", "");
        struct tr_task_ref ref;
        struct tr_err e = {0};
        const char *theirs = "{\n  \"id\": \"1\",\n  \"subject\": \"theirs\"\n}";

        cr_assert_eq(tr_task_reserve(&store, &ref, &e), 0, "%s", e.msg);
        write_task_file("1.json", theirs);
        cr_expect_eq(tr_task_create_at(&store, &ref, t, TR_CREATE_RESERVED, &e), -1);
        cr_expect_eq(e.errnum, EEXIST);
        char *text = read_named("1.json");
        cr_expect_str_eq(text, theirs);
        free(text);
        json_object_put(t);
}
