/*
 * Crash safety: a writer killed with SIGKILL at a random point leaves the task
 * file whole, either the old or the new version, with every foreign field
 * intact; a lock directory it leaves behind holds the next writer up for no
 * more than the stale time; its temp files are never taken for tasks.
 *
 * The loops here are short. scripts/stress runs them long by setting
 * TASKRUN_CRASH_RUNS (runs per loop), TASKRUN_CRASH_REAL_WAITS (kills that
 * left a lock and are then waited out for real rather than backdated) and
 * TASKRUN_STRESS_REPORT (where the figures go); TASKRUN_CRASH_SEED repeats a
 * run.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "helpers.h"
#include "taskrun/lock.h"
#include "taskrun/store.h"

static char dir[PATH_MAX];
static char task1[PATH_MAX + 16];
static char lockdir[PATH_MAX + 32];
static struct tr_store store;
static struct tr_task_ref ref1;

/* What a Claude task with data of others in it looks like. */
static const char BASE[] =
    "{\"id\":\"1\",\"subject\":\"Build \\u00e9\",\"description\":\"make all\","
    "\"activeForm\":\"Building\",\"owner\":\"agent-7\",\"status\":\"pending\","
    "\"blocks\":[\"2\"],\"blockedBy\":[],"
    "\"x_foreign\":{\"keep\":[1,2.5,\"three\",null,true],\"s\":\"\\ud83d\\ude00\"},"
    "\"metadata\":{\"alpha\":1,\"counter\":0,\"zeta\":{\"deep\":[{}]}}}";

static void setup(void)
{
        struct tr_store_opts o = {0};
        struct tr_err e = {0};

        th_tmpdir(dir, sizeof dir);
        o.dir = dir;
        o.lock_timeout_ms = 20000;
        cr_assert_eq(tr_store_open(&store, &o, 0, NULL, &e), 0, "%s", e.msg);
        cr_assert_eq(tr_store_ref(&store, "1", &ref1, &e), 0, "%s", e.msg);
        snprintf(task1, sizeof task1, "%s/1.json", dir);
        snprintf(lockdir, sizeof lockdir, "%s.lock", task1);
}

static void teardown(void)
{
        th_rmtree(dir);
}

/* No time limit: scripts/stress makes the loops long; ctest stops a hung one. */
TestSuite(crash, .init = setup, .fini = teardown);

static json_object *parse(const char *text)
{
        struct tr_err e = {0};
        json_object *o = tr_task_parse(text, strlen(text), &e);

        cr_assert_not_null(o, "test bug: %s", e.msg);
        return o;
}

static void write_base(void)
{
        json_object *t = parse(BASE);

        th_write_file(task1, tr_task_format(t));
        json_object_put(t);
}

static unsigned seed_once(void)
{
        static unsigned seed;

        if (seed == 0) {
                seed = (unsigned)th_env_long("TASKRUN_CRASH_SEED", 0);
                if (seed == 0)
                        seed = (unsigned)time(NULL) ^ (unsigned)getpid();
                srand(seed);
                cr_log_info("TASKRUN_CRASH_SEED=%u", seed);
        }
        return seed;
}

/* The file as the store writes it with metadata.counter = n. */
static char *version_text(long n)
{
        json_object *t = parse(BASE), *p = json_object_new_object(), *m = json_object_new_object();
        char *text;

        json_object_object_add(m, "counter", json_object_new_int64(n));
        json_object_object_add(p, "metadata", m);
        tr_task_merge(t, p);
        text = strdup(tr_task_format(t));
        json_object_put(p);
        json_object_put(t);
        return text;
}

struct figures {
        long runs, files, corrupt, locks_left, temps_left, max_wait_ms, real_waits;
};

/* Count what the kills left, print the figures scripts/stress reads, and demand no corruption. */
static void report_figures(const char *name, struct figures *f, int with_waits)
{
        f->temps_left = th_count(dir, ".*.tmp.*");
        if (with_waits)
                th_stress_report("%s runs=%ld files=%ld corrupt=%ld locks_left=%ld temps_left=%ld "
                                 "max_lock_wait_ms=%ld real_waits=%ld",
                                 name, f->runs, f->files, f->corrupt, f->locks_left, f->temps_left,
                                 f->max_wait_ms, f->real_waits);
        else
                th_stress_report("%s runs=%ld files=%ld corrupt=%ld locks_left=%ld temps_left=%ld",
                                 name, f->runs, f->files, f->corrupt, f->locks_left, f->temps_left);
        cr_expect_eq(f->corrupt, 0);
}

/*
 * A lock directory the killed writer left: either wait it out for real (the
 * next writer must get in within the stale time and a little), or backdate it
 * to show that a stale one is taken over at once. Then time the next write.
 */
static void next_writer_gets_in(struct figures *f, int lock_left, long real_waits_allowed,
                                const char *patch)
{
        json_object *p = parse(patch);
        struct tr_err e = {0};
        long long t0, waited;
        int real = 0;

        if (lock_left) {
                f->locks_left++;
                if (f->real_waits < real_waits_allowed) {
                        f->real_waits++;
                        real = 1;
                } else {
                        struct timespec old[2];
                        clock_gettime(CLOCK_REALTIME, &old[0]);
                        old[0].tv_sec -= TR_LOCK_STALE_MS / 1000 + 1;
                        old[1] = old[0];
                        cr_assert_eq(utimensat(AT_FDCWD, lockdir, old, 0), 0);
                }
        }
        t0 = th_now_ms();
        cr_expect_eq(tr_task_patch(&store, &ref1, p, &e), 0, "next writer: %s", e.msg);
        waited = th_now_ms() - t0;
        if (waited > f->max_wait_ms)
                f->max_wait_ms = (long)waited;
        if (real)
                cr_expect_leq(waited, TR_LOCK_STALE_MS + 1500,
                              "a killed holder's lock held the next writer for %lld ms", waited);
        else
                cr_expect_leq(waited, 2000, "next writer took %lld ms", waited);
        json_object_put(p);
}

static void patch_forever(long from)
{
        for (long k = from;; k++) {
                char text[64];
                struct tr_err e;
                snprintf(text, sizeof text, "{\"metadata\":{\"counter\":%ld}}", k);
                json_object *p = json_tokener_parse(text);
                tr_task_patch(&store, &ref1, p, &e);
                json_object_put(p);
        }
}

/* The counter in the file, after checking that the file is exactly one version. */
static long check_version(struct figures *f, long at_least)
{
        struct tr_err e = {0};
        json_object *t = NULL;
        json_object *c;
        long n = -1;
        char *text, *want;

        f->files++;
        text = th_read_file(task1, NULL);
        if (text == NULL || (t = tr_task_parse(text, strlen(text), &e)) == NULL ||
            (c = th_get(t, "metadata.counter")) == NULL) {
                f->corrupt++;
                cr_expect_fail("run %ld: task file unreadable: %s\n%s", f->runs, e.msg,
                               text ? text : "(missing)");
                free(text);
                json_object_put(t);
                return at_least;
        }
        n = (long)json_object_get_int64(c);
        want = version_text(n);
        if (strcmp(text, want) != 0 || n < at_least) {
                f->corrupt++;
                cr_expect_fail("run %ld: not a whole version (counter %ld, at least %ld):\n%s",
                               f->runs, n, at_least, text);
        }
        free(want);
        free(text);
        json_object_put(t);
        return n;
}

Test(crash, patch_loop_killed_anywhere_leaves_a_whole_version)
{
        long runs = th_env_long("TASKRUN_CRASH_RUNS", 40);
        long real_waits = th_env_long("TASKRUN_CRASH_REAL_WAITS", 0);
        struct figures f = {0};
        long counter = 0;
        char *text = version_text(0);

        seed_once();
        th_write_file(task1, text);
        free(text);
        for (f.runs = 0; f.runs < runs;) {
                pid_t pid = fork();
                cr_assert_neq(pid, -1);
                if (pid == 0) {
                        alarm(30); /* never outlive a test gone wrong */
                        patch_forever(counter + 1);
                }
                th_sleep_ms(rand() % 25);
                kill(pid, SIGKILL);
                waitpid(pid, NULL, 0);
                f.runs++;
                counter = check_version(&f, counter);
                char patch[64];
                snprintf(patch, sizeof patch, "{\"metadata\":{\"counter\":%ld}}", counter + 1);
                next_writer_gets_in(&f, th_count_lockdirs(dir) > 0, real_waits, patch);
                counter = check_version(&f, counter + 1);
        }
        report_figures("crash_patch", &f, 1);
        cr_expect_gt(counter, 0, "no write ever completed");
}

/* Every key but the ones taskrun writes is as it was in BASE. */
static int foreign_intact(json_object *t, const char **why)
{
        json_object *base = parse(BASE), *now = NULL;
        const char *desc = th_get_string(t, "description");
        const char *status = th_get_string(t, "status");
        int ok = 1;

        *why = "";
        if (json_object_deep_copy(t, &now, NULL) != 0)
                cr_assert_fail("deep copy");
        if (desc == NULL || strncmp(desc, "make all", 8) != 0) {
                *why = "description lost";
                ok = 0;
        } else if (status == NULL || (strcmp(status, "pending") && strcmp(status, "in_progress") &&
                                      strcmp(status, "completed"))) {
                *why = "status not one Claude accepts";
                ok = 0;
        }
        if (ok) {
                json_object *nm = th_get(now, "metadata");
                json_object_object_del(base, "status");
                json_object_object_del(now, "status");
                json_object_object_del(base, "description");
                json_object_object_del(now, "description");
                /* taskrun says what it is running there (see report.c). */
                json_object_object_del(base, "activeForm");
                json_object_object_del(now, "activeForm");
                if (nm != NULL)
                        json_object_object_del(nm, "taskrun");
                if (!json_object_equal(base, now)) {
                        *why = "a foreign field changed";
                        ok = 0;
                }
        }
        json_object_put(base);
        json_object_put(now);
        return ok;
}

static void check_run_file(struct figures *f)
{
        struct tr_err e = {0};
        json_object *t = NULL;
        const char *why = "unreadable";
        size_t len;
        char *text = th_read_file(task1, &len);

        f->files++;
        if (text != NULL && th_utf8_valid(text, len) &&
            (t = tr_task_parse(text, len, &e)) != NULL && foreign_intact(t, &why)) {
                free(text);
                json_object_put(t);
                return;
        }
        f->corrupt++;
        cr_expect_fail("run %ld: %s %s\n%s", f->runs, why, e.msg, text ? text : "(missing)");
        free(text);
        json_object_put(t);
}

static pid_t start_taskrun(const char *script)
{
        pid_t pid = fork();

        cr_assert_neq(pid, -1);
        if (pid == 0) {
                int null = open("/dev/null", O_RDWR);
                setpgid(0, 0); /* so that the kill takes the command down too */
                dup2(null, STDIN_FILENO);
                dup2(null, STDOUT_FILENO);
                dup2(null, STDERR_FILENO);
                execl(TASKRUN_BIN, "taskrun", "--dir", dir, "--task", "1", "--heartbeat", "0.005",
                      "--", "sh", "-c", script, (char *)NULL);
                _exit(127);
        }
        setpgid(pid, pid);
        return pid;
}

Test(crash, taskrun_killed_anywhere_in_a_run_leaves_a_valid_task)
{
        static const char script[] =
            "i=0; while [ $i -lt 200 ]; do echo \"line $i\"; sleep 0.001; i=$((i+1)); done";
        long runs = th_env_long("TASKRUN_CRASH_RUNS", 40) / 2;
        long real_waits = th_env_long("TASKRUN_CRASH_REAL_WAITS", 0);
        struct figures f = {0};

        seed_once();
        write_base();
        for (f.runs = 0; f.runs < runs;) {
                pid_t pid = start_taskrun(script);
                /* From before the start write to well into the heartbeats. */
                th_sleep_ms(rand() % 120);
                kill(-pid, SIGKILL);
                waitpid(pid, NULL, 0);
                f.runs++;
                check_run_file(&f);
                next_writer_gets_in(&f, th_count_lockdirs(dir) > 0, real_waits,
                                    "{\"status\":\"pending\"}");
                check_run_file(&f);
        }
        report_figures("crash_run", &f, 1);
}

static void create_forever(void)
{
        for (;;) {
                struct tr_task_ref ref;
                struct tr_err e;
                json_object *t = tr_task_new("created", "under kill -9");
                tr_task_create(&store, t, &ref, &e);
                json_object_put(t);
        }
}

/* Every N.json is a whole task with id "N"; returns how many there are. */
static long check_created(struct figures *f)
{
        long n = 0;

        for (long id = 1; id < 100000; id++) {
                char path[PATH_MAX + 32], want[32];
                struct tr_err e = {0};
                json_object *t;
                char *text;
                snprintf(path, sizeof path, "%s/%ld.json", dir, id);
                text = th_read_file(path, NULL);
                if (text == NULL)
                        break;
                n++;
                f->files++;
                t = tr_task_parse(text, strlen(text), &e);
                snprintf(want, sizeof want, "%ld", id);
                if (t == NULL || th_get_string(t, "id") == NULL ||
                    strcmp(th_get_string(t, "id"), want) != 0) {
                        f->corrupt++;
                        cr_expect_fail("%s: %s\n%s", path, e.msg, text);
                }
                json_object_put(t);
                free(text);
        }
        return n;
}

Test(crash, create_killed_anywhere_leaves_whole_tasks_and_unique_ids)
{
        long runs = th_env_long("TASKRUN_CRASH_RUNS", 40) / 2;
        struct figures f = {0};
        long total, lists = th_count(dir, "*.json");
        char listlock[PATH_MAX + 32];

        seed_once();
        snprintf(listlock, sizeof listlock, "%s/.lock.lock", dir);
        for (f.runs = 0; f.runs < runs;) {
                pid_t pid = fork();
                cr_assert_neq(pid, -1);
                if (pid == 0) {
                        alarm(30);
                        create_forever();
                }
                /* Now and then long enough for whole creates, even under valgrind. */
                th_sleep_ms(f.runs % 5 == 4 ? 300 : rand() % 20);
                kill(pid, SIGKILL);
                waitpid(pid, NULL, 0);
                f.runs++;
                if (th_count_lockdirs(dir) > 0) {
                        struct timespec old[2];
                        f.locks_left++;
                        clock_gettime(CLOCK_REALTIME, &old[0]);
                        old[0].tv_sec -= TR_LOCK_STALE_MS / 1000 + 1;
                        old[1] = old[0];
                        utimensat(AT_FDCWD, listlock, old, 0);
                }
        }
        total = check_created(&f);
        /* Numbered without gaps: a temp file or a lost write never took an id. */
        cr_expect_eq(th_count(dir, "*.json"), total + lists, "a gap or a stray .json file");
        report_figures("crash_create", &f, 0);
        cr_expect_gt(total, 0, "no task was ever created");
}

/* A holder killed while it has the lock, in a child; the lock directory stays. */
static void kill_a_lock_holder(const char *file)
{
        pid_t pid = th_fork_lock_holder(file, NULL);

        kill(pid, SIGKILL);
        th_reap(pid, 10000);
}

Test(crash, lock_of_a_killed_holder_blocks_the_next_writer_at_most_the_stale_time)
{
        json_object *p = parse("{\"status\":\"completed\"}");
        struct tr_err e = {0};
        long long t0, waited;
        long age;
        json_object *t;

        write_base();
        kill_a_lock_holder(task1);
        cr_assert_eq(th_count_lockdirs(dir), 1, "the killed holder left no lock directory");
        /* The lock is stale once it is STALE old: the wait is what it lacks of that at t0. */
        age = tr_lock_age_ms(lockdir);
        t0 = th_now_ms();
        cr_assert_geq(age, 0, "no lock directory %s", lockdir);
        cr_expect_eq(tr_task_patch(&store, &ref1, p, &e), 0, "%s", e.msg);
        waited = th_now_ms() - t0;
        th_stress_report("stale_takeover waited_ms=%lld lock_age_at_start_ms=%ld", waited, age);
        cr_expect_geq(waited, TR_LOCK_STALE_MS - age - 100,
                      "a fresh lock was not respected: %lld ms (it was %ld ms old)", waited, age);
        cr_expect_leq(waited, TR_LOCK_STALE_MS + 1500, "waited %lld ms", waited);
        cr_expect_eq(th_count_lockdirs(dir), 0);
        t = th_read_json(task1);
        cr_expect_str_eq(th_get_string(t, "status"), "completed");
        json_object_put(t);
        json_object_put(p);
}

Test(crash, stale_lock_of_a_killed_holder_is_taken_over_at_once)
{
        json_object *p = parse("{\"status\":\"completed\"}");
        struct tr_err e = {0};
        struct timespec old[2];
        long long t0;

        write_base();
        kill_a_lock_holder(task1);
        clock_gettime(CLOCK_REALTIME, &old[0]);
        old[0].tv_sec -= TR_LOCK_STALE_MS / 1000 + 1;
        old[1] = old[0];
        cr_assert_eq(utimensat(AT_FDCWD, lockdir, old, 0), 0);
        t0 = th_now_ms();
        cr_expect_eq(tr_task_patch(&store, &ref1, p, &e), 0, "%s", e.msg);
        cr_expect_lt(th_now_ms() - t0, 1000);
        cr_expect_eq(th_count_lockdirs(dir), 0);
        json_object_put(p);
}

Test(crash, killed_taskrun_lock_is_taken_over_by_the_next_taskrun)
{
        struct timespec old[2];
        long long t0;
        int rc;

        write_base();
        kill_a_lock_holder(task1);
        clock_gettime(CLOCK_REALTIME, &old[0]);
        old[0].tv_sec -= TR_LOCK_STALE_MS / 1000 + 1;
        old[1] = old[0];
        cr_assert_eq(utimensat(AT_FDCWD, lockdir, old, 0), 0);
        t0 = th_now_ms();
        rc = th_sh("'%s' --dir '%s' --task 1 -- true 2>/dev/null", TASKRUN_BIN, dir);
        cr_expect_eq(rc, 0);
        cr_expect_lt(th_now_ms() - t0, 2000);
        json_object *t = th_read_json(task1);
        cr_expect_str_eq(th_get_string(t, "metadata.taskrun.state"), "completed");
        json_object_put(t);
}

Test(crash, leftover_temp_files_are_not_taken_for_tasks)
{
        json_object *t = tr_task_new("next", "");
        struct tr_task_ref ref;
        struct tr_err e = {0};
        char path[PATH_MAX + 64];

        write_base();
        /* What a kill between mkostemp and rename leaves: some whole, some cut short. */
        snprintf(path, sizeof path, "%s/.1.json.tmp.Ab12Cd", dir);
        th_write_file(path, "{\"id\":\"1\",\"sta");
        snprintf(path, sizeof path, "%s/.7.json.tmp.Zz9900", dir);
        th_write_file(path, "{\"id\":\"7\",\"status\":\"pending\"}");
        snprintf(path, sizeof path, "%s/..highwatermark.tmp.Qq1234", dir);
        th_write_file(path, "99");
        cr_assert_eq(tr_task_create(&store, t, &ref, &e), 0, "%s", e.msg);
        cr_expect_str_eq(ref.id, "2", "a temp file was counted as a task");
        json_object_put(t);

        char cmd[PATH_MAX + 64], *out = NULL;
        json_object *list;
        snprintf(cmd, sizeof cmd, "'%s' list --json --dir '%s'", TASKRUN_BIN, dir);
        cr_expect_eq(th_run(cmd, &out), 0, "taskrun list failed");
        list = json_tokener_parse(out);
        cr_assert(json_object_is_type(list, json_type_array), "taskrun list --json: %s", out);
        cr_expect_eq(json_object_array_length(list), 2, "taskrun list shows temp files:\n%s", out);
        json_object_put(list);
        free(out);
}

/* `taskrun update` in a loop, from `from` on, in its own process group. */
static pid_t start_update_loop(long from)
{
        char start[32];
        pid_t pid = fork();

        cr_assert_neq(pid, -1);
        if (pid == 0) {
                int null = open("/dev/null", O_RDWR);
                setpgid(0, 0);
                dup2(null, STDOUT_FILENO);
                dup2(null, STDERR_FILENO);
                snprintf(start, sizeof start, "%ld", from);
                execl("/bin/sh", "sh", "-c",
                      "i=$1; while :; do \"$0\" update --dir \"$2\" --set-meta counter=$i 1; "
                      "i=$((i+1)); done",
                      TASKRUN_BIN, start, dir, (char *)NULL);
                _exit(127);
        }
        setpgid(pid, pid);
        return pid;
}

/*
 * How long one `taskrun update` takes here, in ms: the kills must fall across
 * a whole update, and one takes a few ms in a plain build but tens under
 * ASan on a loaded machine.
 */
static long one_update_ms(void)
{
        char calib[PATH_MAX + 16], cmd[2 * PATH_MAX + 128], *text = version_text(0);
        long long t0;

        snprintf(calib, sizeof calib, "%s.calib", dir);
        mkdir(calib, 0755);
        th_write_file(th_at(calib, "1.json"), text);
        free(text);
        snprintf(cmd, sizeof cmd, "'%s' update --dir '%s' --set-meta counter=1 1", TASKRUN_BIN,
                 calib);
        t0 = th_now_ms();
        cr_assert_eq(th_run(cmd, NULL), 0, "%s", cmd);
        t0 = th_now_ms() - t0;
        th_rmtree(calib);
        return (long)t0;
}

Test(crash, update_command_killed_anywhere_leaves_a_whole_version)
{
        long runs = th_env_long("TASKRUN_CRASH_RUNS", 40) / 2;
        long real_waits = th_env_long("TASKRUN_CRASH_REAL_WAITS", 0);
        struct figures f = {0};
        long counter = 0, loop_writes = 0, window;
        char *text = version_text(0), patch[64];

        seed_once();
        th_write_file(task1, text);
        free(text);
        /* Kill anywhere in the first few updates of the loop: 60 ms, or three updates if longer. */
        window = 3 * one_update_ms();
        window = window > 60 ? window : 60;
        for (f.runs = 0; f.runs < runs;) {
                pid_t pid = start_update_loop(counter + 1);
                th_sleep_ms(rand() % window);
                kill(-pid, SIGKILL);
                waitpid(pid, NULL, 0);
                f.runs++;
                long was = counter;
                counter = check_version(&f, counter);
                loop_writes += counter - was;
                snprintf(patch, sizeof patch, "{\"metadata\":{\"counter\":%ld}}", counter + 1);
                next_writer_gets_in(&f, th_count_lockdirs(dir) > 0, real_waits, patch);
                counter = check_version(&f, counter + 1);
        }
        report_figures("crash_update", &f, 1);
        cr_expect_gt(loop_writes, 0, "taskrun update never completed a write");
}
