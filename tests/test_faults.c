/*
 * Faults: a full disk and a read-only directory give a clear one-line error,
 * leave the old file byte for byte and no temp file behind; a command's output
 * keeps flowing and its exit status is kept when its task file cannot be
 * written (--strict makes that 125); signals arriving all the time (EINTR)
 * break nothing.
 *
 * The disk and read-only cases mount a small tmpfs, so they need root; they
 * are skipped, saying so, where mount(2) is refused, except under CI (the
 * environment variable CI set), where that is a failure.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "helpers.h"
#include "taskrun/atomic.h"
#include "taskrun/lock.h"
#include "taskrun/store.h"

static char tmp[PATH_MAX];      /* scratch root, on the ordinary disk */
static char mnt[PATH_MAX + 8];  /* tmp/mnt, a small tmpfs when mounted */
static char dir[PATH_MAX + 16]; /* the task list: tmp/mnt/list */
static char task1[PATH_MAX + 32];
static int mounted;
static struct tr_store store;
static struct tr_task_ref ref1;

static const char TASK[] = "{\n"
                           "  \"id\": \"1\",\n"
                           "  \"subject\": \"Build\",\n"
                           "  \"description\": \"make all\",\n"
                           "  \"status\": \"pending\",\n"
                           "  \"blocks\": [],\n"
                           "  \"blockedBy\": [],\n"
                           "  \"metadata\": {\n"
                           "    \"mine\": \"theirs\"\n"
                           "  }\n"
                           "}";

static void open_store(void)
{
        struct tr_store_opts o = {0};
        struct tr_err e = {0};

        o.dir = dir;
        o.lock_timeout_ms = 2000;
        cr_assert_eq(tr_store_open(&store, &o, 0, NULL, &e), 0, "%s", e.msg);
        cr_assert_eq(tr_store_ref(&store, "1", &ref1, &e), 0, "%s", e.msg);
}

static void setup_plain(void)
{
        th_tmpdir(tmp, sizeof tmp);
        snprintf(mnt, sizeof mnt, "%s/mnt", tmp);
        snprintf(dir, sizeof dir, "%s/list", mnt);
        snprintf(task1, sizeof task1, "%s/1.json", dir);
        cr_assert_eq(mkdir(mnt, 0755), 0);
        cr_assert_eq(mkdir(dir, 0755), 0);
        th_write_file(task1, TASK);
        open_store();
}

/* A 64 KiB tmpfs at mnt holding the list with task 1 in it. */
static void setup_tmpfs(void)
{
        th_tmpdir(tmp, sizeof tmp);
        snprintf(mnt, sizeof mnt, "%s/mnt", tmp);
        snprintf(dir, sizeof dir, "%s/list", mnt);
        snprintf(task1, sizeof task1, "%s/1.json", dir);
        cr_assert_eq(mkdir(mnt, 0755), 0);
        if (mount("taskrun-test", mnt, "tmpfs", 0, "size=64k,mode=0755") == -1) {
                int saved = errno;
                th_rmtree(tmp); /* a test that gives up in .init gets no .fini */
                if (th_in_ci())
                        cr_assert_fail("cannot mount a tmpfs (%s; needs root), and CI is set: "
                                       "full-disk and read-only cases not tested",
                                       strerror(saved));
                cr_skip_test("cannot mount a tmpfs (%s; needs root): full-disk and read-only "
                             "cases not tested",
                             strerror(saved));
        }
        mounted = 1;
        cr_assert_eq(mkdir(dir, 0755), 0);
        th_write_file(task1, TASK);
        open_store();
}

static void teardown(void)
{
        if (mounted && umount2(mnt, MNT_DETACH) == -1)
                cr_log_warn("umount %s: %s", mnt, strerror(errno));
        mounted = 0;
        th_rmtree(tmp);
}

TestSuite(full_disk, .init = setup_tmpfs, .fini = teardown, .timeout = 60);
TestSuite(read_only, .init = setup_tmpfs, .fini = teardown, .timeout = 60);
TestSuite(lock_busy, .init = setup_plain, .fini = teardown, .timeout = 60);
TestSuite(eintr, .init = setup_plain, .fini = teardown, .timeout = 60);

/* Write to a new file in d until the filesystem is full; returns bytes written. */
static long fill_disk(const char *d)
{
        char path[PATH_MAX + 32], buf[4096];
        long total = 0;
        int fd;

        snprintf(path, sizeof path, "%s/filler", d);
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        cr_assert_neq(fd, -1, "filler: %s", strerror(errno));
        memset(buf, 'f', sizeof buf);
        for (size_t chunk = sizeof buf; chunk > 0; chunk /= 2) {
                ssize_t n;
                while ((n = write(fd, buf, chunk)) > 0)
                        total += n;
                cr_assert(n == -1 && errno == ENOSPC, "filling %s: %s", d, strerror(errno));
        }
        close(fd);
        return total;
}

static void remount_read_only(void)
{
        cr_assert_eq(mount("taskrun-test", mnt, "tmpfs", MS_REMOUNT | MS_RDONLY, NULL), 0,
                     "remount read-only: %s", strerror(errno));
}

static int patch_text(const char *patch, struct tr_err *e)
{
        json_object *p = json_tokener_parse(patch);
        int r;

        cr_assert_not_null(p);
        r = tr_task_patch(&store, &ref1, p, e);
        json_object_put(p);
        return r;
}

static void expect_update_refused(const char *reason)
{
        struct th_snapshot snap;
        struct tr_err e = {0};

        th_snapshot_take(task1, &snap);
        cr_expect_eq(patch_text("{\"status\":\"completed\",\"metadata\":{\"x\":1}}", &e), -1,
                     "update succeeded");
        cr_expect(strstr(e.msg, reason) != NULL, "message lacks '%s': %s", reason, e.msg);
        cr_expect_null(strchr(e.msg, '\n'), "message is not one line: %s", e.msg);
        th_snapshot_assert_same(task1, &snap);
        th_expect_clean(dir);
}

/* Every line of the file is "taskrun: ..." and at least one contains want. */
static void expect_warnings(const char *path, const char *want)
{
        char *err = th_read_file(path, NULL), *line, *save = NULL;
        int found = 0;

        cr_assert_not_null(err);
        cr_expect(err[0] != '\0', "no warning at all");
        for (line = strtok_r(err, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                cr_expect(strncmp(line, "taskrun: ", 9) == 0, "not a taskrun line: %s", line);
                found |= strstr(line, want) != NULL;
        }
        cr_expect(found, "no warning says '%s'", want);
        free(err);
}

/* 300 KB of random bytes, the command's output. */
static const char *make_output(void)
{
        const char *in = th_at(tmp, "in");

        cr_assert_eq(th_sh("head -c 300000 /dev/urandom >'%s'", in), 0);
        return in;
}

static void expect_same_bytes(const char *a, const char *b)
{
        size_t la, lb;
        char *x = th_read_file(a, &la), *y = th_read_file(b, &lb);

        cr_assert_not_null(x);
        cr_assert_not_null(y);
        cr_expect(la == lb && memcmp(x, y, la) == 0, "output changed: %zu bytes in, %zu out", la,
                  lb);
        free(x);
        free(y);
}

/*
 * taskrun [extra] --task 1 -- sh -c 'cat IN; exit 3': its stdout must be IN
 * byte for byte, and it must exit with want.
 */
static void run_expecting(const char *extra, int want, const char *warning)
{
        struct th_snapshot snap;
        const char *in = make_output(), *out = th_at(tmp, "out"), *err = th_at(tmp, "err");
        int rc;

        th_snapshot_take(task1, &snap);
        rc = th_sh("'%s' --dir '%s' --task 1 --heartbeat 0.01 %s -- sh -c 'cat \"$0\"; exit 3' "
                   "'%s' >'%s' 2>'%s'",
                   TASKRUN_BIN, dir, extra, in, out, err);
        cr_expect_eq(rc, want, "exit status %d, want %d", rc, want);
        expect_same_bytes(in, out);
        expect_warnings(err, warning);
        th_snapshot_assert_same(task1, &snap);
        cr_expect_eq(th_count(dir, ".*.tmp.*"), 0, "temp file left in %s", dir);
}

/* --- a full disk --------------------------------------------------------- */

Test(full_disk, update_fails_clearly_and_leaves_the_file)
{
        fill_disk(mnt);
        expect_update_refused("No space left on device");
}

Test(full_disk, update_succeeds_once_there_is_room_again)
{
        struct tr_err e = {0};
        char filler[PATH_MAX + 16];
        json_object *t;

        fill_disk(mnt);
        expect_update_refused("No space left on device");
        snprintf(filler, sizeof filler, "%s/filler", mnt);
        cr_assert_eq(unlink(filler), 0);
        cr_expect_eq(patch_text("{\"status\":\"completed\"}", &e), 0, "%s", e.msg);
        t = th_read_json(task1);
        cr_expect_str_eq(th_get_string(t, "status"), "completed");
        cr_expect_str_eq(th_get_string(t, "metadata.mine"), "theirs");
        json_object_put(t);
        th_expect_clean(dir);
}

Test(full_disk, create_fails_clearly_and_leaves_no_file)
{
        json_object *t = tr_task_new("new", "");
        struct tr_task_ref ref;
        struct tr_err e = {0};

        fill_disk(mnt);
        cr_expect_eq(tr_task_create(&store, t, &ref, &e), -1, "created on a full disk");
        cr_expect(strstr(e.msg, "No space left on device") != NULL, "%s", e.msg);
        cr_expect_null(strchr(e.msg, '\n'));
        cr_expect_eq(th_count(dir, "*.json"), 1, "a task file appeared");
        th_expect_clean(dir);
        json_object_put(t);
}

Test(full_disk, run_output_flows_and_exit_status_is_kept)
{
        fill_disk(mnt);
        run_expecting("", 3, "No space left on device");
        th_expect_clean(dir);
}

Test(full_disk, strict_run_exits_125_and_output_still_flows)
{
        fill_disk(mnt);
        run_expecting("--strict", 125, "No space left on device");
}

/* --- a read-only directory ----------------------------------------------- */

Test(read_only, update_fails_clearly_and_leaves_the_file)
{
        remount_read_only();
        expect_update_refused("Read-only file system");
}

Test(read_only, run_output_flows_and_exit_status_is_kept)
{
        remount_read_only();
        run_expecting("", 3, "Read-only file system");
}

Test(read_only, strict_run_exits_125_and_output_still_flows)
{
        remount_read_only();
        run_expecting("--strict", 125, "Read-only file system");
}

Test(read_only, create_in_a_read_only_list_fails_clearly)
{
        const char *err = th_at(tmp, "err");
        int rc;

        remount_read_only();
        rc = th_sh("'%s' --dir '%s' -- true 2>'%s'", TASKRUN_BIN, dir, err);
        cr_expect_eq(rc, 0, "the command's status was not kept (%d)", rc);
        expect_warnings(err, "Read-only file system");
        rc = th_sh("'%s' --dir '%s' --strict -- true 2>'%s'", TASKRUN_BIN, dir, err);
        cr_expect_eq(rc, 125);
        th_expect_clean(dir);
}

/* --- a lock that is never released ---------------------------------------- */

Test(lock_busy, run_output_flows_while_the_task_lock_is_held_elsewhere)
{
        /* Kept fresh by a holder that never lets go; killed at the end. */
        pid_t holder = th_fork_lock_holder(task1, NULL);

        run_expecting("--lock-timeout 0.3", 3, "lock held by another process");
        run_expecting("--lock-timeout 0.3 --strict", 125, "lock held by another process");
        kill(holder, SIGKILL);
        th_reap(holder, 10000);
        cr_expect_eq(th_count_lockdirs(dir), 1, "taskrun removed a lock it did not hold");
}

/* --- EINTR ----------------------------------------------------------------- */

static volatile sig_atomic_t signals_seen;

static void count_signal(int sig)
{
        (void)sig;
        signals_seen++;
}

/* A child that sends sig to target every 100 us until killed. */
static pid_t bombard(pid_t target, int sig)
{
        pid_t pid = fork();

        cr_assert_neq(pid, -1);
        if (pid == 0) {
                struct timespec ts = {0, 100000};
                alarm(60);
                for (;;) {
                        if (kill(target, sig) == -1)
                                _exit(0);
                        nanosleep(&ts, NULL);
                }
        }
        return pid;
}

static void stop(pid_t pid)
{
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
}

Test(eintr, store_operations_succeed_under_a_storm_of_signals)
{
        struct sigaction sa = {0}, old;
        struct tr_err e = {0};
        json_object *t;
        pid_t storm;
        int failures = 0;

        sa.sa_handler = count_signal; /* no SA_RESTART: slow syscalls fail with EINTR */
        sigemptyset(&sa.sa_mask);
        cr_assert_eq(sigaction(SIGUSR1, &sa, &old), 0);
        storm = bombard(getpid(), SIGUSR1);
        for (int i = 0; i < 300; i++) {
                char patch[64];
                struct tr_task_ref ref;
                snprintf(patch, sizeof patch, "{\"metadata\":{\"n\":%d}}", i);
                if (patch_text(patch, &e) == -1) {
                        failures++;
                        cr_log_error("patch %d: %s", i, e.msg);
                }
                if (tr_task_read(&store, &ref1, &t, &e) == -1) {
                        failures++;
                        cr_log_error("read %d: %s", i, e.msg);
                } else {
                        json_object_put(t);
                }
                if (i % 30 == 0) {
                        t = tr_task_new("made in a storm", "");
                        if (tr_task_create(&store, t, &ref, &e) == -1) {
                                failures++;
                                cr_log_error("create %d: %s", i, e.msg);
                        }
                        json_object_put(t);
                }
        }
        stop(storm);
        sigaction(SIGUSR1, &old, NULL);
        th_stress_report("faults_eintr ops=%d failures=%d signals=%d", 300 * 2 + 10, failures,
                         (int)signals_seen);
        cr_expect_eq(failures, 0, "%d operations failed under signals", failures);
        cr_expect_gt(signals_seen, 100, "the storm did not reach us (%d signals)",
                     (int)signals_seen);
        t = th_read_json(task1);
        cr_expect_eq(json_object_get_int(th_get(t, "metadata.n")), 299);
        cr_expect_str_eq(th_get_string(t, "metadata.mine"), "theirs");
        json_object_put(t);
        th_expect_clean(dir);
}

Test(eintr, run_output_and_status_survive_a_storm_of_forwarded_signals)
{
        const char *in = make_output(), *out = th_at(tmp, "out"), *ready = th_at(tmp, "ready");
        json_object *t;
        pid_t pid, storm1, storm2;
        int status;

        pid = fork();
        cr_assert_neq(pid, -1);
        if (pid == 0) {
                int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
                dup2(fd, STDOUT_FILENO);
                close(fd);
                /* The command ignores USR1 and WINCH; taskrun forwards them to it. */
                execl(TASKRUN_BIN, "taskrun", "--dir", dir, "--task", "1", "--heartbeat", "0.01",
                      "--", "sh", "-c",
                      "trap '' USR1 WINCH; : >\"$1\"; i=0; while [ $i -lt 20 ]; do "
                      "sleep 0.02; i=$((i+1)); done; cat \"$0\"; exit 7",
                      in, ready, (char *)NULL);
                _exit(126);
        }
        /* Once the command runs, taskrun has its handlers and the command its traps. */
        for (int i = 0; i < 1000 && access(ready, F_OK) != 0; i++)
                usleep(10000);
        cr_assert_eq(access(ready, F_OK), 0, "the command never started");
        storm1 = bombard(pid, SIGWINCH);
        storm2 = bombard(pid, SIGUSR1);
        cr_assert_eq(waitpid(pid, &status, 0), pid);
        stop(storm1);
        stop(storm2);
        cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 7, "taskrun ended with status 0x%x",
                  status);
        expect_same_bytes(in, out);
        t = th_read_json(task1);
        cr_assert_not_null(t);
        cr_expect_str_eq(th_get_string(t, "metadata.taskrun.state"), "failed");
        cr_expect_eq(json_object_get_int(th_get(t, "metadata.taskrun.exit_code")), 7);
        cr_expect_str_eq(th_get_string(t, "metadata.mine"), "theirs");
        json_object_put(t);
        th_expect_clean(dir);
}

static int task_state_is(const char *state)
{
        json_object *t = th_read_json(task1);
        const char *s = th_get_string(t, "metadata.taskrun.state");
        int yes = s != NULL && strcmp(s, state) == 0;

        json_object_put(t);
        return yes;
}

/*
 * A signal taskrun forwards, arriving after the command has ended, has no one
 * to go to. It must not kill taskrun before or after it records the end: the
 * command's exit status is what taskrun exits with.
 */
Test(eintr, a_signal_after_the_command_ended_keeps_the_result_and_exit_status)
{
        const char *go = th_at(tmp, "go"), *ready = th_at(tmp, "ready");
        int release, status;
        pid_t pid, holder;
        json_object *t;

        pid = fork();
        cr_assert_neq(pid, -1);
        if (pid == 0) {
                int null = open("/dev/null", O_WRONLY);
                dup2(null, STDOUT_FILENO);
                dup2(null, STDERR_FILENO);
                execl(TASKRUN_BIN, "taskrun", "--dir", dir, "--task", "1", "--", "sh", "-c",
                      "trap '' USR1; : >\"$1\"; while [ ! -e \"$0\" ]; do sleep 0.01; done; "
                      "exit 7",
                      go, ready, (char *)NULL);
                _exit(126);
        }
        for (int i = 0; i < 1000 && (access(ready, F_OK) != 0 || !task_state_is("running")); i++)
                usleep(10000);
        cr_assert(task_state_is("running"), "the run never started");

        /* The end write will wait for this lock; meanwhile the signal comes. */
        holder = th_fork_lock_holder(task1, &release);
        th_write_file(go, "");
        usleep(300000);
        kill(pid, SIGUSR1);
        usleep(100000);
        cr_assert_eq(write(release, "x", 1), 1);
        close(release);
        th_reap(holder, 10000);

        cr_assert_eq(waitpid(pid, &status, 0), pid);
        cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 7,
                  "taskrun did not exit with the command's status 7 (%s %d)",
                  WIFSIGNALED(status) ? "killed by signal" : "exit",
                  WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
        t = th_read_json(task1);
        cr_expect_str_eq(th_get_string(t, "metadata.taskrun.state"), "failed",
                         "the end of the run was not recorded");
        cr_expect_eq(json_object_get_int(th_get(t, "metadata.taskrun.exit_code")), 7);
        json_object_put(t);
}

/*
 * However full the disk is, an update either lands whole or is refused and
 * leaves the file as it was, with nothing left behind. scripts/stress sets
 * TASKRUN_FAULT_RUNS.
 */
Test(full_disk, random_fill_levels_leave_the_old_or_the_new_file)
{
        long runs = th_env_long("TASKRUN_FAULT_RUNS", 20);
        long ok = 0, refused = 0, corrupt = 0;
        char filler[PATH_MAX + 16];
        unsigned seed = (unsigned)time(NULL) ^ (unsigned)getpid();

        snprintf(filler, sizeof filler, "%s/filler", mnt);
        cr_log_info("seed %u", seed);
        for (long i = 0; i < runs; i++) {
                size_t fill = (size_t)(rand_r(&seed) % 72000), pad = rand_r(&seed) % 6000;
                if (i == 0)
                        fill = 72000; /* at least once, all of the 64 KiB */
                char *patch = malloc(pad + 128), *before, *after;
                struct tr_err e = {0};
                size_t blen, alen;
                FILE *f;
                int r;

                f = fopen(filler, "w");
                cr_assert_not_null(f);
                for (size_t k = 0; k < fill; k++)
                        if (fputc('f', f) == EOF)
                                break;
                fclose(f); /* ENOSPC on the way is the point */
                /* Half the runs without a spare: a write into the spare takes no new
                 * block when the text fits in it, so a full disk can refuse only these. */
                if (i % 2 == 0)
                        tr_atomic_drop_spare(dir);
                snprintf(patch, pad + 128, "{\"metadata\":{\"n\":%ld,\"pad\":\"%*s\"}}", i,
                         (int)pad, "");
                before = th_read_file(task1, &blen);
                r = patch_text(patch, &e);
                after = th_read_file(task1, &alen);
                if (r == 0) {
                        json_object *t = json_tokener_parse(after);
                        ok++;
                        if (t == NULL || json_object_get_int64(th_get(t, "metadata.n")) != i ||
                            th_get_string(t, "metadata.mine") == NULL) {
                                corrupt++;
                                cr_expect_fail("run %ld: update succeeded, file wrong:\n%s", i,
                                               after);
                        }
                        json_object_put(t);
                } else {
                        refused++;
                        cr_expect_null(strchr(e.msg, '\n'), "%s", e.msg);
                        if (after == NULL || alen != blen || memcmp(before, after, blen) != 0) {
                                corrupt++;
                                cr_expect_fail("run %ld: refused (%s) but the file changed", i,
                                               e.msg);
                        }
                }
                cr_expect_eq(th_count(dir, ".*.tmp.*"), 0, "run %ld: temp file left", i);
                cr_expect_eq(th_count_lockdirs(dir), 0, "run %ld: lock left", i);
                unlink(filler);
                free(before);
                free(after);
                free(patch);
        }
        th_stress_report("faults_fill runs=%ld files=%ld ok=%ld refused=%ld corrupt=%ld", runs,
                         runs, ok, refused, corrupt);
        cr_expect_eq(corrupt, 0);
        cr_expect_gt(refused, 0, "the disk was never full enough to refuse");
        cr_expect_gt(ok, 0, "the disk was never empty enough to write");
}
