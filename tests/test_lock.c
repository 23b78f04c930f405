/*
 * mkdir(2) locks as Claude Code's proper-lockfile takes them: FILE.lock is the
 * lock, a lock older than 10 s is stale, signals wait until release.
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

static char tmp[PATH_MAX];
static char task1[PATH_MAX + 16], lock1[PATH_MAX + 32];
static struct tr_store store;
static struct tr_task_ref ref1;

static const char TASK[] = "{\n  \"id\": \"1\",\n  \"status\": \"pending\"\n}";

static void setup(void)
{
        struct tr_store_opts o = {0};
        struct tr_err e = {0};

        th_tmpdir(tmp, sizeof tmp);
        o.dir = tmp;
        o.lock_timeout_ms = -1;
        cr_assert_eq(tr_store_open(&store, &o, 0, NULL, &e), 0, "%s", e.msg);
        cr_assert_eq(tr_store_ref(&store, "1", &ref1, &e), 0, "%s", e.msg);
        snprintf(task1, sizeof task1, "%s/1.json", tmp);
        snprintf(lock1, sizeof lock1, "%s/1.json.lock", tmp);
        th_write_file(task1, TASK);
}

static void teardown(void)
{
        th_rmtree(tmp);
}

TestSuite(lock, .init = setup, .fini = teardown, .timeout = 60);

/* A lock directory as a holder that last refreshed it age_s seconds ago left it. */
static void make_lockdir(const char *path, int age_s)
{
        struct timespec now, times[2];

        cr_assert_eq(mkdir(path, 0777), 0, "mkdir %s", path);
        clock_gettime(CLOCK_REALTIME, &now);
        times[0] = times[1] = now;
        times[0].tv_sec -= age_s;
        times[1].tv_sec -= age_s;
        cr_assert_eq(utimensat(AT_FDCWD, path, times, 0), 0);
}

static int patch_subject(const struct tr_store *s, const char *subject, struct tr_err *e)
{
        json_object *p = json_object_new_object();
        int r;

        json_object_object_add(p, "subject", json_object_new_string(subject));
        r = tr_task_patch(s, &ref1, p, e);
        json_object_put(p);
        return r;
}

static const char *subject_now(void)
{
        static char buf[256];
        json_object *t = th_read_json(task1);
        const char *s = th_get_string(t, "subject");

        snprintf(buf, sizeof buf, "%s", s ? s : "(none)");
        json_object_put(t);
        return buf;
}

/* Fork a child that removes path after ms milliseconds. */
static pid_t remove_later(const char *path, long ms)
{
        pid_t pid = fork();

        cr_assert_geq(pid, 0);
        if (pid == 0) {
                th_sleep_ms(ms);
                _exit(rmdir(path) == 0 ? 0 : 1);
        }
        return pid;
}

static int blocked(int sig)
{
        sigset_t now;

        sigprocmask(SIG_BLOCK, NULL, &now);
        return sigismember(&now, sig);
}

Test(lock, stale_task_lock_is_taken_over_quickly)
{
        struct tr_err e = {0};
        long long t0;

        make_lockdir(lock1, 11);
        t0 = th_now_ms();
        cr_assert_eq(patch_subject(&store, "after stale", &e), 0, "%s", e.msg);
        long long took = th_now_ms() - t0;
        cr_log_info("stale task lock taken over in %lld ms", took);
        cr_expect_lt(took, 1000, "took %lld ms", took);
        cr_expect_str_eq(subject_now(), "after stale");
        cr_expect_neq(access(lock1, F_OK), 0, "lock directory left");
}

Test(lock, stale_list_lock_is_taken_over_quickly)
{
        char lockdir[PATH_MAX + 16];
        json_object *t = tr_task_new("x", "");
        struct tr_task_ref ref;
        struct tr_err e = {0};
        long long t0;

        snprintf(lockdir, sizeof lockdir, "%s/.lock.lock", tmp);
        make_lockdir(lockdir, 11);
        t0 = th_now_ms();
        cr_assert_eq(tr_task_create(&store, t, &ref, &e), 0, "%s", e.msg);
        cr_expect_lt(th_now_ms() - t0, 1000);
        cr_expect_str_eq(ref.id, "2");
        cr_expect_neq(access(lockdir, F_OK), 0, "lock directory left");
        json_object_put(t);
}

Test(lock, fresh_lock_times_out_with_message)
{
        struct tr_store s = store;
        struct th_snapshot snap;
        struct tr_err e = {0};
        long long t0;

        make_lockdir(lock1, 0);
        th_snapshot_take(task1, &snap);
        s.lock_timeout_ms = 300;
        t0 = th_now_ms();
        cr_expect_eq(patch_subject(&s, "never", &e), -1);
        long long took = th_now_ms() - t0;
        cr_expect_eq(e.errnum, ETIMEDOUT);
        cr_expect(strstr(e.msg, lock1) != NULL, "message lacks the lock: %s", e.msg);
        cr_expect(strstr(e.msg, "300 ms") != NULL, "message lacks the timeout: %s", e.msg);
        cr_expect_geq(took, 290, "gave up after %lld ms", took);
        cr_expect_lt(took, 1500, "gave up after %lld ms", took);
        th_snapshot_assert_same(task1, &snap);
        cr_expect_eq(access(lock1, F_OK), 0, "the holder's lock was removed");
}

Test(lock, lock_younger_than_stale_age_is_respected)
{
        struct tr_store s = store;
        struct tr_err e = {0};

        make_lockdir(lock1, 9);
        s.lock_timeout_ms = 200;
        cr_expect_eq(patch_subject(&s, "never", &e), -1);
        cr_expect_eq(e.errnum, ETIMEDOUT);
        cr_expect_eq(access(lock1, F_OK), 0);
}

Test(lock, fresh_lock_released_meanwhile_is_waited_for)
{
        struct tr_store s = store;
        struct tr_err e = {0};
        long long t0;

        make_lockdir(lock1, 0);
        s.lock_timeout_ms = 5000;
        t0 = th_now_ms();
        pid_t pid = remove_later(lock1, 200);
        cr_assert_eq(patch_subject(&s, "waited", &e), 0, "%s", e.msg);
        long long took = th_now_ms() - t0;
        cr_log_info("waited %lld ms for a lock released after 200 ms", took);
        cr_expect_geq(took, 150, "did not wait: %lld ms", took);
        cr_expect_lt(took, 1500, "noticed late: %lld ms", took);
        cr_expect_eq(th_reap(pid, 10000), 0, "the other process could not remove its lock");
        cr_expect_str_eq(subject_now(), "waited");
        cr_expect_neq(access(lock1, F_OK), 0);
}

Test(lock, followed_symlink_locks_the_target_as_claude_does)
{
        char target[PATH_MAX + 16], target_lock[PATH_MAX + 32];
        struct tr_store s = store;
        struct tr_err e = {0};

        snprintf(target, sizeof target, "%s/real.json", tmp);
        snprintf(target_lock, sizeof target_lock, "%s.lock", target);
        cr_assert_eq(rename(task1, target), 0);
        cr_assert_eq(symlink(target, task1), 0);
        make_lockdir(target_lock, 0); /* Claude is writing the target */
        s.follow_symlinks = 1;
        s.lock_timeout_ms = 200;
        cr_expect_eq(patch_subject(&s, "through the link", &e), -1, "target lock ignored");
        cr_expect_eq(e.errnum, ETIMEDOUT);
        cr_expect(strstr(e.msg, target_lock) != NULL, "%s", e.msg);
        cr_assert_eq(rmdir(target_lock), 0);
        cr_expect_eq(patch_subject(&s, "through the link", &e), 0, "%s", e.msg);
        cr_expect_eq(th_count_lockdirs(tmp), 0);
}

Test(lock, no_lock_directory_left_after_any_operation)
{
        struct tr_store claude = store;
        struct tr_task_ref ref;
        struct tr_err e = {0};
        json_object *t = tr_task_new("x", "");
        json_object *bad = json_tokener_parse("{\"status\": \"failed\"}");
        char corrupt[PATH_MAX + 16];

        cr_expect_eq(patch_subject(&claude, "ok", &e), 0, "%s", e.msg);
        cr_expect_eq(th_count_lockdirs(tmp), 0, "after a successful update");
        cr_expect_eq(tr_task_patch(&claude, &ref1, bad, &e), -1);
        cr_expect_eq(th_count_lockdirs(tmp), 0, "after a refused status");
        snprintf(corrupt, sizeof corrupt, "%s/2.json", tmp);
        th_write_file(corrupt, "{");
        cr_assert_eq(tr_store_ref(&claude, "2", &ref, &e), 0);
        cr_expect_eq(tr_task_patch(&claude, &ref, bad, &e), -1);
        cr_expect_eq(th_count_lockdirs(tmp), 0, "after a corrupt file");
        cr_assert_eq(tr_store_ref(&claude, "9", &ref, &e), 0);
        cr_expect_eq(tr_task_patch(&claude, &ref, bad, &e), -1);
        cr_expect_eq(th_count_lockdirs(tmp), 0, "after a missing file");
        cr_expect_eq(tr_task_create(&claude, t, &ref, &e), 0, "%s", e.msg);
        cr_expect_eq(th_count_lockdirs(tmp), 0, "after a create");
        cr_expect_eq(tr_task_create_at(&claude, &ref, t, 0, &e), -1);
        cr_expect_eq(th_count_lockdirs(tmp), 0, "after a create of an existing id");
        cr_expect_eq(tr_task_create_at(&claude, &ref, t, TR_CREATE_ADOPT, &e), 1);
        cr_expect_eq(th_count_lockdirs(tmp), 0, "after an adopt");
        cr_expect_eq(tr_task_create(&claude, bad, &ref, &e), -1);
        cr_expect_eq(th_count_lockdirs(tmp), 0, "after a refused create");
        json_object_put(t);
        json_object_put(bad);
}

Test(lock, acquire_makes_lock_directory_and_release_removes_it)
{
        struct tr_lock l;
        struct tr_err e = {0};
        struct stat st;

        cr_assert_eq(tr_lock_acquire(&l, task1, 1000, 0, &e), 0, "%s", e.msg);
        cr_expect_str_eq(l.path, lock1);
        cr_expect(stat(lock1, &st) == 0 && S_ISDIR(st.st_mode), "no lock directory");
        cr_expect_lt(tr_lock_age_ms(lock1), 1000);
        tr_lock_release(&l);
        cr_expect_neq(access(lock1, F_OK), 0);
        tr_lock_release(&l); /* a second release is harmless */
        cr_expect_eq(l.held, 0);
}

Test(lock, lock_on_missing_file_is_fine)
{
        char path[PATH_MAX + 16];
        struct tr_lock l;
        struct tr_err e = {0};

        snprintf(path, sizeof path, "%s/not-yet.json", tmp);
        cr_assert_eq(tr_lock_acquire(&l, path, 1000, 0, &e), 0, "%s", e.msg);
        tr_lock_release(&l);
        cr_expect_eq(th_count_lockdirs(tmp), 0);
}

Test(lock, lock_in_missing_directory_fails_and_restores_signals)
{
        char path[PATH_MAX + 32];
        struct tr_lock l;
        struct tr_err e = {0};

        snprintf(path, sizeof path, "%s/nodir/1.json", tmp);
        cr_expect_eq(tr_lock_acquire(&l, path, 100, 0, &e), -1);
        cr_expect_eq(e.errnum, ENOENT);
        cr_expect(strstr(e.msg, path) != NULL, "%s", e.msg);
        cr_expect_not(blocked(SIGTERM), "signals still blocked after a failed acquire");
}

Test(lock, refresh_renews_lock_age)
{
        struct tr_lock l;
        struct tr_err e = {0};
        struct timespec old[2] = {{0, 0}, {0, 0}};

        cr_assert_eq(tr_lock_acquire(&l, task1, 1000, 0, &e), 0, "%s", e.msg);
        old[0].tv_sec = old[1].tv_sec = time(NULL) - 8;
        utimensat(AT_FDCWD, lock1, old, 0);
        cr_expect_geq(tr_lock_age_ms(lock1), 7000);
        cr_expect_eq(tr_lock_refresh(&l), 0);
        cr_expect_lt(tr_lock_age_ms(lock1), 1000);
        tr_lock_release(&l);
}

Test(lock, age_of_missing_lock_is_minus_one)
{
        cr_expect_eq(tr_lock_age_ms(lock1), -1);
}

Test(lock, taskrun_holder_is_waited_for)
{
        struct tr_lock l;
        struct tr_err e = {0};
        int ready[2];
        char c;

        cr_assert_eq(pipe(ready), 0);
        pid_t pid = fork();
        cr_assert_geq(pid, 0);
        if (pid == 0) {
                struct tr_lock held;
                if (tr_lock_acquire(&held, task1, 1000, 0, NULL) == -1)
                        _exit(1);
                (void)!write(ready[1], "L", 1);
                th_sleep_ms(250);
                tr_lock_release(&held);
                _exit(0);
        }
        close(ready[1]);
        cr_assert_eq(read(ready[0], &c, 1), 1);
        close(ready[0]);
        long long t0 = th_now_ms();
        cr_expect_eq(tr_lock_acquire(&l, task1, 100, 0, &e), -1, "taken while held");
        cr_expect_eq(e.errnum, ETIMEDOUT);
        cr_assert_eq(tr_lock_acquire(&l, task1, 5000, 0, &e), 0, "%s", e.msg);
        cr_expect_geq(th_now_ms() - t0, 150);
        tr_lock_release(&l);
        cr_expect_eq(th_reap(pid, 10000), 0);
}

Test(lock, signals_blocked_while_held_and_restored_after)
{
        struct tr_lock l;
        struct tr_err e = {0};

        cr_assert_not(blocked(SIGTERM));
        cr_assert_eq(tr_lock_acquire(&l, task1, 1000, 0, &e), 0, "%s", e.msg);
        cr_expect(blocked(SIGTERM) && blocked(SIGINT) && blocked(SIGHUP) && blocked(SIGQUIT),
                  "a catchable signal is not blocked while the lock is held");
        tr_lock_release(&l);
        cr_expect_not(blocked(SIGTERM));
        cr_expect_not(blocked(SIGINT));
}

/*
 * The child takes the lock, is sent SIGTERM, and must live on until it
 * releases; then it dies of the signal before running another line, and the
 * lock directory is gone.
 */
Test(lock, sigterm_while_held_waits_for_release_and_leaves_no_lock)
{
        int ready[2], go[2], after[2];
        char c;
        int status;

        cr_assert_eq(pipe(ready), 0);
        cr_assert_eq(pipe(go), 0);
        cr_assert_eq(pipe(after), 0);
        pid_t pid = fork();
        cr_assert_geq(pid, 0);
        if (pid == 0) {
                struct tr_lock l;
                signal(SIGTERM, SIG_DFL);
                close(go[1]);
                if (tr_lock_acquire(&l, task1, 1000, 0, NULL) == -1)
                        _exit(1);
                (void)!write(ready[1], "L", 1);
                (void)!read(go[0], &c, 1);
                tr_lock_release(&l);
                (void)!write(after[1], "A", 1); /* must not happen */
                _exit(0);
        }
        close(ready[1]);
        close(go[0]);
        close(after[1]);
        cr_assert_eq(read(ready[0], &c, 1), 1, "child could not take the lock");
        cr_assert_eq(kill(pid, SIGTERM), 0);
        th_sleep_ms(100);
        cr_expect_eq(waitpid(pid, &status, WNOHANG), 0, "child died while holding the lock");
        cr_expect_eq(access(lock1, F_OK), 0, "lock released before the child let go");
        cr_assert_eq(write(go[1], "G", 1), 1);
        status = th_reap(pid, 10000);
        cr_expect_eq(status, 128 + SIGTERM, "child did not die of SIGTERM ($? %d)", status);
        cr_expect_eq(read(after[0], &c, 1), 0, "child ran on after release");
        cr_expect_neq(access(lock1, F_OK), 0, "lock directory left behind");
        close(ready[0]);
        close(go[1]);
        close(after[0]);
}

static volatile sig_atomic_t got_term;

static void on_term(int sig)
{
        (void)sig;
        got_term = 1;
}

Test(lock, handler_runs_after_release_not_before)
{
        struct tr_lock l;
        struct tr_err e = {0};

        got_term = 0;
        signal(SIGTERM, on_term);
        cr_assert_eq(tr_lock_acquire(&l, task1, 1000, 0, &e), 0, "%s", e.msg);
        raise(SIGTERM);
        cr_expect_eq(got_term, 0, "handler ran while the lock was held");
        tr_lock_release(&l);
        cr_expect_eq(got_term, 1, "pending signal lost");
        cr_expect_neq(access(lock1, F_OK), 0);
        signal(SIGTERM, SIG_DFL);
}

/* The spare lock directory (TR_LOCK_SPARE): one per directory, renamed into place and back. */
Test(lock, spare_lock_directory_is_kept_between_locks_and_looks_fresh_when_taken)
{
        char spare[PATH_MAX + 32];
        struct timespec hour_ago[2] = {{0, 0}, {0, 0}};
        struct tr_lock l;
        struct tr_err e = {0};
        struct stat st;

        snprintf(spare, sizeof spare, "%s/%s", tmp, TR_LOCK_SPARE_NAME);
        cr_assert_eq(tr_lock_acquire(&l, task1, 1000, TR_LOCK_SPARE, &e), 0, "%s", e.msg);
        tr_lock_release(&l);
        cr_expect_neq(access(lock1, F_OK), 0, "the lock is released");
        cr_assert(stat(spare, &st) == 0 && S_ISDIR(st.st_mode), "the released lock is the spare");
        /* An hour-old spare must not make the lock look stale to Claude when it is taken. */
        hour_ago[0].tv_sec = hour_ago[1].tv_sec = time(NULL) - 3600;
        cr_assert_eq(utimensat(AT_FDCWD, spare, hour_ago, 0), 0);
        cr_assert_eq(tr_lock_acquire(&l, task1, 1000, TR_LOCK_SPARE, &e), 0, "%s", e.msg);
        cr_expect(stat(lock1, &st) == 0 && S_ISDIR(st.st_mode), "no lock directory");
        cr_expect_neq(access(spare, F_OK), 0, "the spare became the lock");
        cr_expect_lt(tr_lock_age_ms(lock1), 1000, "a taken lock is fresh");
        tr_lock_release(&l);
        cr_expect_eq(th_count_lockdirs(tmp), 0);
}

Test(lock, spare_lock_directory_never_takes_a_lock_claude_holds)
{
        char spare[PATH_MAX + 32];
        struct tr_lock l;
        struct tr_err e = {0};

        snprintf(spare, sizeof spare, "%s/%s", tmp, TR_LOCK_SPARE_NAME);
        cr_assert_eq(mkdir(spare, 0755), 0);
        cr_assert_eq(mkdir(lock1, 0755), 0, "Claude holds the lock");
        cr_expect_eq(tr_lock_acquire(&l, task1, 150, TR_LOCK_SPARE, &e), -1);
        cr_expect_eq(e.errnum, ETIMEDOUT, "%s", e.msg);
        cr_expect_eq(access(spare, F_OK), 0, "the spare is still there");
        cr_expect_eq(access(lock1, F_OK), 0, "Claude's lock is untouched");
        cr_assert_eq(rmdir(lock1), 0, "Claude releases");
        cr_assert_eq(tr_lock_acquire(&l, task1, 1000, TR_LOCK_SPARE, &e), 0, "%s", e.msg);
        tr_lock_release(&l);
}

Test(lock, without_spare_flag_no_spare_is_left)
{
        char spare[PATH_MAX + 32];
        struct tr_lock l;
        struct tr_err e = {0};

        snprintf(spare, sizeof spare, "%s/%s", tmp, TR_LOCK_SPARE_NAME);
        cr_assert_eq(tr_lock_acquire(&l, task1, 1000, 0, &e), 0, "%s", e.msg);
        tr_lock_release(&l);
        cr_expect_neq(access(spare, F_OK), 0, "a plain file's directory gets no spare");
}
