/*
 * Many processes at once: creators get distinct ids, updaters lose no key,
 * readers never see half a file.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
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
        o.lock_timeout_ms = 60000; /* generous: sanitizer builds on a busy machine */
        cr_assert_eq(tr_store_open(&store, &o, 0, NULL, &e), 0, "%s", e.msg);
}

static void teardown(void)
{
        th_rmtree(tmp);
}

TestSuite(concurrency, .init = setup, .fini = teardown, .timeout = 120);

/* Children report on stderr and by exit status; they must never return into Criterion. */
static void child_fail(const char *what, const struct tr_err *e)
{
        fprintf(stderr, "child %d: %s: %s\n", (int)getpid(), what, e->msg);
        _exit(1);
}

/* Wait for every pid; returns how many did not exit 0. */
static int reap_all(const pid_t *pids, int n)
{
        int bad = 0, status;

        for (int i = 0; i < n; i++) {
                if (waitpid(pids[i], &status, 0) != pids[i] || !WIFEXITED(status) ||
                    WEXITSTATUS(status) != 0)
                        bad++;
        }
        return bad;
}

/* Fork n children that block on barrier until it is closed, then run fn(i). */
static void fork_behind_barrier(pid_t *pids, int n, int barrier[2], void (*fn)(int, void *),
                                void *arg)
{
        for (int i = 0; i < n; i++) {
                pids[i] = fork();
                cr_assert_geq(pids[i], 0, "fork %d: %s", i, strerror(errno));
                if (pids[i] == 0) {
                        char c;
                        close(barrier[1]);
                        while (read(barrier[0], &c, 1) == -1 && errno == EINTR)
                                ;
                        fn(i, arg);
                        _exit(0);
                }
        }
        close(barrier[0]);
}

static void create_once(int i, void *arg)
{
        int out = *(int *)arg;
        json_object *t = tr_task_new("concurrent", "made by one of many");
        struct tr_task_ref ref;
        struct tr_err e = {0};
        char line[64];

        (void)i;
        if (tr_task_create(&store, t, &ref, &e) == -1)
                child_fail("create", &e);
        int n = snprintf(line, sizeof line, "%s\n", ref.id);
        if (write(out, line, (size_t)n) != n) /* < PIPE_BUF: one atomic write */
                _exit(2);
        json_object_put(t);
}

Test(concurrency, two_hundred_concurrent_creators_get_distinct_ids)
{
        enum { N = 200 };
        pid_t pids[N];
        int barrier[2], results[2];
        static char seen[N + 1];

        cr_assert_eq(pipe(barrier), 0);
        cr_assert_eq(pipe(results), 0);
        fork_behind_barrier(pids, N, barrier, create_once, &results[1]);
        close(results[1]);
        long long t0 = th_now_ms();
        close(barrier[1]); /* go */
        int failed = reap_all(pids, N);
        long long took = th_now_ms() - t0;

        char *ids = NULL;
        size_t cap = 0, used = 0;
        ssize_t got;
        do {
                if (used + 512 > cap)
                        ids = realloc(ids, cap = cap * 2 + 1024);
                got = read(results[0], ids + used, cap - used - 1);
                if (got > 0)
                        used += (size_t)got;
        } while (got > 0);
        ids[used] = '\0';
        close(results[0]);

        int count = 0, distinct = 0, out_of_range = 0;
        for (char *tok = strtok(ids, "\n"); tok != NULL; tok = strtok(NULL, "\n")) {
                long id = strtol(tok, NULL, 10);
                count++;
                if (id < 1 || id > N) {
                        out_of_range++;
                        continue;
                }
                if (!seen[id]++)
                        distinct++;
        }
        free(ids);
        fprintf(stderr, "%d concurrent creators: %lld ms wall, %d distinct ids of %d\n", N, took,
                distinct, count);
        cr_log_info("%d concurrent creators: %lld ms wall, %d distinct ids of %d", N, took,
                    distinct, count);

        cr_expect_eq(failed, 0, "%d creators failed", failed);
        cr_expect_eq(count, N);
        cr_expect_eq(distinct, N, "duplicate ids handed out");
        cr_expect_eq(out_of_range, 0, "ids outside 1..%d", N);
        cr_expect_eq(th_count(tmp, "*.json"), N);
        char path[PATH_MAX + 32];
        snprintf(path, sizeof path, "%s/.highwatermark", tmp);
        char *hwm = th_read_file(path, NULL);
        cr_expect_str_eq(hwm ? hwm : "(missing)", "200");
        free(hwm);
        int wrong_id = 0;
        for (int id = 1; id <= N; id++) {
                char want[16];
                snprintf(path, sizeof path, "%s/%d.json", tmp, id);
                snprintf(want, sizeof want, "%d", id);
                json_object *t = th_read_json(path);
                const char *got_id = th_get_string(t, "id");
                if (got_id == NULL || strcmp(got_id, want) != 0)
                        wrong_id++;
                json_object_put(t);
        }
        cr_expect_eq(wrong_id, 0, "%d files do not carry their own id", wrong_id);
        cr_expect_eq(th_count_lockdirs(tmp), 0, "lock directory left");
        cr_expect_eq(th_count(tmp, ".*.tmp.*"), 0, "temp file left");
}

enum { UPDATERS = 8, UPDATES = 100 };

static const char FOREIGN_TASK[] = "{\n"
                                   "  \"id\": \"1\",\n"
                                   "  \"subject\": \"shared\",\n"
                                   "  \"description\": \"updated by many\",\n"
                                   "  \"status\": \"in_progress\",\n"
                                   "  \"blocks\": [],\n"
                                   "  \"blockedBy\": [],\n"
                                   "  \"foreign\": {\n"
                                   "    \"owner\": \"someone else\"\n"
                                   "  },\n"
                                   "  \"metadata\": {\n"
                                   "    \"theirs\": \"keep me\"\n"
                                   "  }\n"
                                   "}";

static void update_many(int p, void *arg)
{
        const struct tr_task_ref *ref = arg;
        struct tr_err e = {0};
        char key[32];

        for (int k = 0; k < UPDATES; k++) {
                json_object *patch = json_object_new_object();
                json_object *md = json_object_new_object();
                json_object *tr = json_object_new_object();
                snprintf(key, sizeof key, "p%d_k%d", p, k);
                json_object_object_add(md, key, json_object_new_int(k));
                json_object_object_add(tr, "last", json_object_new_string(key));
                json_object_object_add(md, "taskrun", tr);
                json_object_object_add(patch, "metadata", md);
                if (tr_task_patch(&store, ref, patch, &e) == -1)
                        child_fail(key, &e);
                json_object_put(patch);
        }
}

Test(concurrency, eight_updaters_lose_no_key)
{
        pid_t pids[UPDATERS];
        int barrier[2];
        struct tr_task_ref ref;
        struct tr_err e = {0};

        cr_assert_eq(tr_store_ref(&store, "1", &ref, &e), 0);
        th_write_file(ref.path, FOREIGN_TASK);
        cr_assert_eq(pipe(barrier), 0);
        fork_behind_barrier(pids, UPDATERS, barrier, update_many, &ref);
        long long t0 = th_now_ms();
        close(barrier[1]);
        int failed = reap_all(pids, UPDATERS);
        long long took = th_now_ms() - t0;

        json_object *t = th_read_json(ref.path);
        cr_assert_not_null(t, "task file unreadable at the end");
        int present = 0, wrong = 0;
        char key[64];
        for (int p = 0; p < UPDATERS; p++)
                for (int k = 0; k < UPDATES; k++) {
                        snprintf(key, sizeof key, "metadata.p%d_k%d", p, k);
                        json_object *v = th_get(t, key);
                        if (v == NULL)
                                continue;
                        present++;
                        if (json_object_get_int(v) != k)
                                wrong++;
                }
        int lost = UPDATERS * UPDATES - present;
        fprintf(stderr, "%d x %d concurrent updates: %lld ms wall, %d keys lost\n", UPDATERS,
                UPDATES, took, lost);
        cr_log_info("%d x %d concurrent updates: %lld ms wall, %d keys lost", UPDATERS, UPDATES,
                    took, lost);

        cr_expect_eq(failed, 0, "%d updaters failed", failed);
        cr_expect_eq(lost, 0, "%d of %d keys lost", lost, UPDATERS * UPDATES);
        cr_expect_eq(wrong, 0);
        cr_expect_str_eq(th_get_string(t, "foreign.owner"), "someone else");
        cr_expect_str_eq(th_get_string(t, "metadata.theirs"), "keep me");
        cr_expect_str_eq(th_get_string(t, "subject"), "shared");
        cr_expect_str_eq(th_get_string(t, "status"), "in_progress");
        const char *last = th_get_string(t, "metadata.taskrun.last");
        cr_expect(last != NULL && strstr(last, "_k99") != NULL, "taskrun.last = %s", last);
        /* 800 keys, theirs and taskrun. */
        cr_expect_eq(json_object_object_length(th_get(t, "metadata")), UPDATERS * UPDATES + 2);
        json_object_put(t);
        cr_expect_eq(th_count_lockdirs(tmp), 0, "lock directory left");
        cr_expect_eq(th_count(tmp, ".*.tmp.*"), 0, "temp file left");
}

/*
 * The reader: tr_task_read in a tight loop until stop is closed. A read is
 * bad if it fails or the file is not one whole version (pad as long as
 * padlen says). Reports "reads bad" on out.
 */
static void read_until_stopped(const struct tr_task_ref *ref, int ready, int stop, int out)
{
        long reads = 0, bad = 0;
        char c, line[128], first_error[sizeof((struct tr_err *)0)->msg] = "";

        fcntl(stop, F_SETFL, O_NONBLOCK);
        (void)!write(ready, "R", 1);
        while (read(stop, &c, 1) == -1 && errno == EAGAIN) {
                json_object *t = NULL;
                struct tr_err e = {0};
                reads++;
                if (tr_task_read(&store, ref, &t, &e) == -1) {
                        if (bad++ == 0)
                                snprintf(first_error, sizeof first_error, "%s", e.msg);
                        continue;
                }
                const char *pad = th_get_string(t, "pad");
                json_object *len = th_get(t, "padlen");
                if (pad == NULL || len == NULL || (int)strlen(pad) != json_object_get_int(len)) {
                        if (bad++ == 0)
                                snprintf(first_error, sizeof first_error, "inconsistent");
                }
                json_object_put(t);
        }
        if (bad > 0)
                fprintf(stderr, "reader: first bad read: %s\n", first_error);
        int n = snprintf(line, sizeof line, "%ld %ld\n", reads, bad);
        (void)!write(out, line, (size_t)n);
        _exit(0);
}

Test(concurrency, reader_never_sees_a_partial_file)
{
        enum { PATCHES = 500, MAXPAD = 100000 };
        int ready[2], stop[2], out[2];
        struct tr_task_ref ref;
        struct tr_err e = {0};
        char c;

        cr_assert_eq(tr_store_ref(&store, "1", &ref, &e), 0);
        th_write_file(ref.path, "{\"id\": \"1\", \"status\": \"pending\", \"pad\": \"\", "
                                "\"padlen\": 0}");
        cr_assert_eq(pipe(ready), 0);
        cr_assert_eq(pipe(stop), 0);
        cr_assert_eq(pipe(out), 0);
        pid_t pid = fork();
        cr_assert_geq(pid, 0);
        if (pid == 0) {
                close(ready[0]);
                close(stop[1]);
                close(out[0]);
                read_until_stopped(&ref, ready[1], stop[0], out[1]);
        }
        close(ready[1]);
        close(stop[0]);
        close(out[1]);
        cr_assert_eq(read(ready[0], &c, 1), 1);

        char *pad = malloc(MAXPAD + 1);
        memset(pad, 'x', MAXPAD);
        long long t0 = th_now_ms();
        int failed = 0;
        for (int i = 0; i < PATCHES; i++) {
                /* Sizes jump about between 0 and MAXPAD bytes, growing and shrinking. */
                int len = (int)(((long)i * 7919) % MAXPAD);
                pad[len] = '\0';
                json_object *patch = json_object_new_object();
                json_object_object_add(patch, "pad", json_object_new_string(pad));
                json_object_object_add(patch, "padlen", json_object_new_int(len));
                json_object_object_add(patch, "seq", json_object_new_int(i));
                if (tr_task_patch(&store, &ref, patch, &e) == -1 && failed++ == 0)
                        cr_log_error("patch %d: %s", i, e.msg);
                json_object_put(patch);
                pad[len] = 'x';
        }
        long long took = th_now_ms() - t0;
        free(pad);
        close(stop[1]);

        char line[128] = "";
        ssize_t got = read(out[0], line, sizeof line - 1);
        long reads = -1, bad = -1;
        if (got > 0) {
                line[got] = '\0';
                sscanf(line, "%ld %ld", &reads, &bad);
        }
        int status;
        waitpid(pid, &status, 0);
        fprintf(stderr, "%d patches in %lld ms while a reader read %ld times, %ld bad\n", PATCHES,
                took, reads, bad);
        cr_log_info("%d patches in %lld ms while a reader read %ld times, %ld bad", PATCHES, took,
                    reads, bad);
        cr_expect_eq(failed, 0);
        cr_expect_gt(reads, 0, "the reader never read");
        cr_expect_eq(bad, 0, "%ld of %ld reads saw a broken file", bad, reads);
        json_object *t = th_read_json(ref.path);
        cr_expect_eq(json_object_get_int(th_get(t, "seq")), PATCHES - 1);
        json_object_put(t);
        cr_expect_eq(th_count(tmp, ".*.tmp.*"), 0, "temp file left");
        cr_expect_eq(th_count_lockdirs(tmp), 0, "lock directory left");
        close(ready[0]);
        close(out[0]);
}
