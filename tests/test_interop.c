/*
 * Interop with the real client: Claude Code's own lock library
 * (proper-lockfile, with the options Claude passes) and its task schema,
 * written in zod, run by Node from tests/interop. taskrun waits while Claude
 * holds the list or task lock, Claude waits or fails while taskrun holds it,
 * and every file taskrun writes is one Claude reads as a task.
 *
 * Node packages come from tests/interop/package-lock.json: scripts/setup runs
 * `npm ci`, and the test runs it once itself when node_modules is missing.
 * Skipped, saying why, when node or npm is missing or npm ci fails; under CI
 * (the environment variable CI set) those fail instead, so that the interop
 * test cannot go silently untested there.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "helpers.h"
#include "taskrun/lock.h"
#include "taskrun/store.h"

#define INTEROP TASKRUN_SOURCE_DIR "/tests/interop"
#define HOLD_MS 1500

static char dir[PATH_MAX];
static char task1[PATH_MAX + 16];

/*
 * Give up on the interop test, saying why: a skip, or under CI a failure. Either
 * way from .init, which gets no .fini, so the scratch directory goes first.
 */
static void no_node(const char *why)
{
        th_rmtree(dir);
        if (th_in_ci())
                cr_assert_fail("%s: Claude interop not tested, and CI is set (run scripts/setup)",
                               why);
        cr_skip_test("%s: Claude interop not tested (run scripts/setup)", why);
}

/* npm ci once, under a lock: Criterion runs tests in parallel processes. */
static void need_node(void)
{
        char log[PATH_MAX + 32], why[128], *out = NULL;
        int fd, rc;

        if (th_sh("command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1") != 0)
                no_node("node and npm are not installed (Debian: apt-get install nodejs npm)");
        fd = open(INTEROP "/.npm-ci.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        cr_assert_neq(fd, -1, "%s: %s", INTEROP, strerror(errno));
        cr_assert_eq(flock(fd, LOCK_EX), 0);
        if (access(INTEROP "/node_modules/proper-lockfile/package.json", F_OK) != 0 ||
            access(INTEROP "/node_modules/zod/package.json", F_OK) != 0) {
                snprintf(log, sizeof log, "%s/npm-ci.log", dir);
                rc = th_sh("npm ci --prefix '%s' --no-audit --no-fund --prefer-offline "
                           ">'%s' 2>&1",
                           INTEROP, log);
                if (rc != 0) {
                        out = th_read_file(log, NULL);
                        close(fd);
                        cr_log_warn("npm ci output:\n%s", out ? out : "");
                        free(out);
                        snprintf(why, sizeof why, "npm ci in tests/interop failed (exit %d)", rc);
                        no_node(why);
                }
        }
        close(fd);
}

static void setup(void)
{
        th_tmpdir(dir, sizeof dir);
        snprintf(task1, sizeof task1, "%s/1.json", dir);
        need_node();
}

static void teardown(void)
{
        th_rmtree(dir);
}

TestSuite(interop, .init = setup, .fini = teardown, .timeout = 60);

/* A task as Claude writes it: JSON.stringify(task, null, 2). */
static const char CLAUDE_TASK[] = "{\n"
                                  "  \"id\": \"1\",\n"
                                  "  \"subject\": \"Run the build\",\n"
                                  "  \"description\": \"make all, then report\",\n"
                                  "  \"activeForm\": \"Running the build\",\n"
                                  "  \"owner\": \"main\",\n"
                                  "  \"status\": \"pending\",\n"
                                  "  \"blocks\": [\n"
                                  "    \"2\"\n"
                                  "  ],\n"
                                  "  \"blockedBy\": [],\n"
                                  "  \"metadata\": {\n"
                                  "    \"from_claude\": true\n"
                                  "  }\n"
                                  "}";

/* Node running claude-lock.js; read its lines with node_line. */
struct node {
        FILE *out;
};

static void node_start(struct node *n, const char *args)
{
        char cmd[PATH_MAX * 2];

        snprintf(cmd, sizeof cmd, "exec node '%s/claude-lock.js' %s", INTEROP, args);
        n->out = popen(cmd, "r");
        cr_assert_not_null(n->out, "popen node");
}

static void node_line(struct node *n, char *buf, size_t size)
{
        cr_assert_not_null(fgets(buf, (int)size, n->out), "node said nothing");
        buf[strcspn(buf, "\n")] = '\0';
}

/* Wait for node to end; its exit status. */
static int node_end(struct node *n)
{
        int status = pclose(n->out);

        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Claude holds FILE's lock for HOLD_MS; returns once it has it. */
static void claude_holds(struct node *n, const char *file)
{
        char args[PATH_MAX + 64], line[128];

        snprintf(args, sizeof args, "hold '%s' %d", file, HOLD_MS);
        node_start(n, args);
        node_line(n, line, sizeof line);
        cr_assert_str_eq(line, "locked");
}

static void claude_releases(struct node *n)
{
        char line[128];

        node_line(n, line, sizeof line);
        cr_expect_str_eq(line, "released");
        cr_expect_eq(node_end(n), 0, "claude-lock.js failed");
}

Test(interop, taskrun_waits_for_claudes_list_lock_then_creates)
{
        char listlock[PATH_MAX + 16];
        struct node n;
        long long t0, waited;
        int rc;

        snprintf(listlock, sizeof listlock, "%s/.lock", dir);
        claude_holds(&n, listlock);
        t0 = th_now_ms();
        rc = th_sh("'%s' --dir '%s' -- true 2>/dev/null", TASKRUN_BIN, dir);
        waited = th_now_ms() - t0;
        cr_expect_eq(rc, 0);
        cr_expect_geq(waited, HOLD_MS - 400,
                      "taskrun did not wait for Claude's list lock (%lld ms)", waited);
        cr_expect_eq(access(task1, F_OK), 0, "no task was created");
        claude_releases(&n);
}

Test(interop, taskrun_waits_for_claudes_task_lock_then_updates)
{
        struct node n;
        long long t0, waited;
        json_object *t;
        int rc;

        th_write_file(task1, CLAUDE_TASK);
        claude_holds(&n, task1);
        t0 = th_now_ms();
        rc = th_sh("'%s' --dir '%s' --task 1 -- true 2>/dev/null", TASKRUN_BIN, dir);
        waited = th_now_ms() - t0;
        cr_expect_eq(rc, 0);
        cr_expect_geq(waited, HOLD_MS - 400,
                      "taskrun did not wait for Claude's task lock (%lld ms)", waited);
        claude_releases(&n);
        t = th_read_json(task1);
        cr_assert_not_null(t);
        cr_expect_str_eq(th_get_string(t, "metadata.taskrun.state"), "completed");
        cr_expect_not_null(th_get(t, "metadata.from_claude"));
        json_object_put(t);
}

Test(interop, taskrun_gives_up_on_claudes_lock_at_its_lock_timeout)
{
        struct node n;
        struct th_snapshot snap;
        int rc;

        th_write_file(task1, CLAUDE_TASK);
        th_snapshot_take(task1, &snap);
        claude_holds(&n, task1);
        rc = th_sh("'%s' --dir '%s' --task 1 --lock-timeout 0.3 --strict -- true 2>/dev/null",
                   TASKRUN_BIN, dir);
        cr_expect_eq(rc, 125, "--strict run with the task locked: exit %d", rc);
        th_snapshot_assert_same(task1, &snap);
        claude_releases(&n);
}

/* Claude tries FILE's lock with retries ("" for Claude's own); returns its exit status. */
static int claude_tries(const char *file, const char *retries, long *ms)
{
        char args[PATH_MAX + 64], line[128];
        struct node n;

        snprintf(args, sizeof args, "try '%s' %s", file, retries);
        node_start(&n, args);
        node_line(&n, line, sizeof line);
        cr_assert_str_eq(line, "trying");
        node_line(&n, line, sizeof line);
        *ms = strtol(strchr(line, ' ') ? strchr(line, ' ') + 1 : "-1", NULL, 10);
        return node_end(&n);
}

static void claude_waits_for_taskrun(const char *file)
{
        char args[PATH_MAX + 64], line[128];
        struct tr_lock l;
        struct tr_err e = {0};
        struct node n;
        long ms;

        /* Held: Claude without retries is refused at once. */
        cr_assert_eq(tr_lock_acquire(&l, file, 2000, 0, &e), 0, "%s", e.msg);
        cr_expect_eq(claude_tries(file, "0", &ms), 3, "Claude took a lock taskrun holds");

        /* Released after a second: Claude, retrying as it does, gets it then. */
        snprintf(args, sizeof args, "try '%s'", file);
        node_start(&n, args);
        node_line(&n, line, sizeof line);
        cr_assert_str_eq(line, "trying");
        sleep(1);
        tr_lock_release(&l);
        node_line(&n, line, sizeof line);
        cr_expect_eq(node_end(&n), 0, "Claude did not get the lock once released: %s", line);
        cr_expect(strncmp(line, "acquired ", 9) == 0, "%s", line);
        ms = strtol(line + 9, NULL, 10);
        cr_expect_geq(ms, 900, "Claude got the lock while taskrun held it (%ld ms)", ms);
        cr_expect_eq(th_count_lockdirs(dir), 0, "a lock directory is left");
}

Test(interop, claude_waits_while_taskrun_holds_the_list_lock)
{
        char listlock[PATH_MAX + 16];

        snprintf(listlock, sizeof listlock, "%s/.lock", dir);
        th_write_file(listlock, "");
        claude_waits_for_taskrun(listlock);
}

Test(interop, claude_waits_while_taskrun_holds_a_task_lock)
{
        th_write_file(task1, CLAUDE_TASK);
        claude_waits_for_taskrun(task1);
}

static void set_lock_age(const char *lockdir, int seconds)
{
        struct timespec t[2];

        clock_gettime(CLOCK_REALTIME, &t[0]);
        t[0].tv_sec -= seconds;
        t[1] = t[0];
        cr_assert_eq(utimensat(AT_FDCWD, lockdir, t, 0), 0);
}

Test(interop, claude_and_taskrun_agree_on_when_a_lock_is_stale)
{
        char lockdir[PATH_MAX + 32];
        long ms;
        int rc;

        th_write_file(task1, CLAUDE_TASK);
        snprintf(lockdir, sizeof lockdir, "%s.lock", task1);
        cr_assert_eq(mkdir(lockdir, 0755), 0);

        /* 5 s old: alive for both. */
        set_lock_age(lockdir, 5);
        cr_expect_eq(claude_tries(task1, "0", &ms), 3, "Claude took a live lock");
        rc = th_sh("'%s' --dir '%s' --task 1 --lock-timeout 0.3 --strict -- true 2>/dev/null",
                   TASKRUN_BIN, dir);
        cr_expect_eq(rc, 125, "taskrun took a live lock");

        /* 11 s old: stale for both. */
        set_lock_age(lockdir, 11);
        cr_expect_eq(claude_tries(task1, "0", &ms), 0, "Claude would not take a stale lock");
        cr_assert_eq(mkdir(lockdir, 0755), 0);
        set_lock_age(lockdir, 11);
        rc = th_sh("'%s' --dir '%s' --task 1 --lock-timeout 0.3 --strict -- true 2>/dev/null",
                   TASKRUN_BIN, dir);
        cr_expect_eq(rc, 0, "taskrun would not take a stale lock");
}

/* --- every file taskrun writes passes Claude's schema ---------------------- */

static int taskrun_has(const char *subcommand)
{
        return th_sh("'%s' %s --help >/dev/null 2>&1", TASKRUN_BIN, subcommand) == 0;
}

/* Run a taskrun command line (after the binary) in the list; log it. */
static int tr(const char *args)
{
        int rc =
            th_sh("cd '%s' && '%s' %s >/dev/null 2>>'%s/.stderr'", dir, TASKRUN_BIN, args, dir);

        cr_log_info("taskrun %s -> %d", args, rc);
        return rc;
}

static const char *out_script(void)
{
        static char path[PATH_MAX + 16];

        snprintf(path, sizeof path, "%s/.hostile.sh", dir);
        return path;
}

/* A task whose run died with the machine: running, on this host, with a dead pid. */
static void write_orphan(const char *id)
{
        char path[PATH_MAX + 32], host[256] = "", boot[64] = "", text[2048];
        FILE *f;
        pid_t pid = fork();

        cr_assert_neq(pid, -1);
        if (pid == 0)
                _exit(0);
        waitpid(pid, NULL, 0); /* a pid that is gone */
        cr_assert_eq(gethostname(host, sizeof host - 1), 0, "gethostname: %s", strerror(errno));
        f = fopen("/proc/sys/kernel/random/boot_id", "r");
        if (f != NULL) {
                if (fgets(boot, sizeof boot, f) != NULL)
                        boot[strcspn(boot, "\n")] = '\0';
                fclose(f);
        }
        snprintf(text, sizeof text,
                 "{\n  \"id\": \"%s\",\n  \"subject\": \"orphan\",\n  \"description\": \"\",\n"
                 "  \"status\": \"in_progress\",\n  \"blocks\": [],\n  \"blockedBy\": [],\n"
                 "  \"metadata\": {\n    \"taskrun\": {\n      \"state\": \"running\",\n"
                 "      \"pid\": %d,\n      \"host\": \"%s\",\n      \"boot_id\": \"%s\",\n"
                 "      \"start_time_ticks\": 1,\n"
                 "      \"started_at\": \"2026-12-01T05:00:00.000Z\"\n    }\n  }\n}",
                 id, (int)pid, host, boot);
        snprintf(path, sizeof path, "%s/%s.json", dir, id);
        th_write_file(path, text);
}

Test(interop, every_task_file_taskrun_writes_passes_claudes_schema)
{
        char *out = NULL;
        int rc;

        th_write_file(task1, CLAUDE_TASK);
        cr_expect_eq(tr("--dir . --task 1 -- true"), 0);                 /* 1: Claude's, run */
        cr_expect_eq(tr("--dir . -- true"), 0);                          /* 2: success */
        cr_expect_eq(tr("--dir . -- sh -c 'echo oops >&2; exit 3'"), 3); /* 3: failure */
        cr_expect_eq(tr("--dir . --timeout 0.3 -- sleep 5"), 124);       /* 4: timed out */
        tr("--dir . -- sh -c 'kill -TERM $$'");                          /* 5: killed */
        cr_expect_eq(tr("--dir . -- /nonexistent/command"), 127);        /* 6: not started */
        cr_expect_eq(tr("--dir . --on-fail pending -- false"), 1);       /* 7: back to pending */
        th_write_file(out_script(),
                      "printf '\\033[31mred\\033[0m \\377\\376 \\001\\177 end\\r\\n'\n");
        cr_expect_eq(th_sh("cd '%s' && SUBJ=\"$(printf 'u\\303\\274 \\042q\\042 \\\\ </x>\\t')\" "
                           "DESC=\"$(printf 'a\\tb\\001c\\033[1m')\" '%s' --dir . "
                           "--subject \"$SUBJ\" --description \"$DESC\" -- sh .hostile.sh "
                           ">/dev/null 2>&1",
                           dir, TASKRUN_BIN),
                     0); /* 8: hostile text */
        cr_expect_eq(tr("--dir . --heartbeat 0.05 -- sh -c 'for i in 1 2 3 4 5; do echo $i; "
                        "sleep 0.1; done'"),
                     0);                                  /* 9: heartbeats */
        cr_expect_eq(tr("--dir . --task 9 -- false"), 1); /* 9 again: failed after completed */

        /* 10: killed mid-run, left as running. */
        cr_expect_eq(th_sh("cd '%s' && { setsid '%s' --dir . --task 10 --create --heartbeat 0.02 "
                           "-- sh -c 'while :; do echo x; sleep 0.01; done' >/dev/null 2>&1 & "
                           "sleep 0.5; kill -9 -$!; }",
                           dir, TASKRUN_BIN),
                     0);

        if (taskrun_has("create")) {
                cr_expect_eq(tr("create --dir . --subject made --description by-create"), 0);
                cr_expect_eq(tr("create --dir . --id named --subject named --blocked-by 2"), 0);
        } else {
                cr_log_warn("taskrun create not available: not validated");
        }
        if (taskrun_has("update")) {
                cr_expect_eq(tr("update --dir . --status completed --owner me "
                                "--set-meta 'note=\"x\"' 2"),
                             0);
                cr_expect_eq(tr("update --dir . --status in_progress --unset-meta note 2"), 0);
        } else {
                cr_log_warn("taskrun update not available: not validated");
        }
        if (taskrun_has("reap")) {
                write_orphan("20");
                cr_expect_eq(tr("reap --dir ."), 0);
                json_object *t;
                char path[PATH_MAX + 16];
                snprintf(path, sizeof path, "%s/20.json", dir);
                t = th_read_json(path);
                cr_expect_str_eq(th_get_string(t, "metadata.taskrun.state"), "lost");
                json_object_put(t);
        } else {
                cr_log_warn("taskrun reap not available: lost tasks not validated");
        }

        rc = th_sh("node '%s/validate.js' '%s'/*.json >'%s/.validate' 2>&1", INTEROP, dir, dir);
        {
                char path[PATH_MAX + 16];
                snprintf(path, sizeof path, "%s/.validate", dir);
                out = th_read_file(path, NULL);
        }
        cr_log_info("%s", out ? out : "");
        cr_expect_eq(rc, 0, "files Claude would not read as tasks:\n%s", out ? out : "");
        cr_expect_geq(th_count(dir, "*.json"), 10, "scenarios did not all leave a task file");
        free(out);
}
