/* Shared test helpers: scratch directories, files, running the taskrun binary. */
#ifndef TASKRUN_TEST_HELPERS_H
#define TASKRUN_TEST_HELPERS_H

#include <stddef.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <json-c/json.h>

/* mkdtemp under $TMPDIR or /tmp; the returned path is static per call site's buffer. */
void th_tmpdir(char *buf, size_t n);
/* Remove a directory tree (rm -rf). */
void th_rmtree(const char *path);
/* Write a whole file (truncating); aborts the test on failure. */
void th_write_file(const char *path, const char *text);
/* malloc'd file contents or NULL. */
char *th_read_file(const char *path, size_t *len);
/* Parse a file as JSON, or NULL. */
json_object *th_read_json(const char *path);
/* A string field of a JSON object (dotted path "metadata.taskrun.state"), or NULL. */
const char *th_get_string(json_object *obj, const char *dotted);
json_object *th_get(json_object *obj, const char *dotted);
/* Run a shell command line, capturing stdout (malloc'd, may be NULL) and returning the exit
 * status as a shell would ($?). */
int th_run(const char *cmdline, char **out);
/* Count entries in dir whose name matches a fnmatch pattern. */
int th_count(const char *dir, const char *pattern);

/*
 * A file's bytes (regular files only) and identity, to show that an operation
 * left it exactly as it was: same bytes, type, inode, size and mtime.
 */
struct th_snapshot {
        char *data;
        size_t len;
        unsigned mode;
        unsigned long long ino, size;
        long long mtime_sec, mtime_nsec;
};
void th_snapshot_take(const char *path, struct th_snapshot *s);
/* Assert that path still matches s (lstat, not following a symlink); frees s. */
void th_snapshot_assert_same(const char *path, struct th_snapshot *s);
/* Count subdirectories of dir whose name ends in ".lock": mkdir locks left behind. */
int th_count_lockdirs(const char *dir);
/* Expect nothing left behind in dir: no lock directory, no temp file. */
void th_expect_clean(const char *dir);
/* 1 if process pid no longer exists (reaped, or never ours); a zombie is still there. */
int th_pid_gone(pid_t pid);
/* CLOCK_MONOTONIC in milliseconds. */
long long th_now_ms(void);
/* Sleep ms milliseconds, the whole time even when signals arrive. */
void th_sleep_ms(long ms);
/*
 * Wait for child pid at most timeout_ms (no bound if negative); SIGKILL it if
 * it is still running then (saying so in the log). Returns its status as $?
 * would be: the exit status, or 128 + the signal that killed it. th_reap_rusage
 * also gives its resource use in *ru when ru is not NULL.
 */
int th_reap(pid_t pid, long timeout_ms);
int th_reap_rusage(pid_t pid, long timeout_ms, struct rusage *ru);
/*
 * Fork a child that takes file's lock (tr_lock_acquire, 5 s) and holds it,
 * refreshing it every second, and return once it holds it. With release NULL
 * it holds until killed; otherwise *release is a pipe's write end: writing a
 * byte to it or closing it makes the child release the lock and exit 0. The
 * child never outlives 60 s (alarm). Asserts that the child took the lock.
 */
pid_t th_fork_lock_holder(const char *file, int *release);
/* 1 when the environment variable CI is set: a missing prerequisite fails rather than skips. */
int th_in_ci(void);

/* 1 if s[0..n) is well-formed UTF-8 (no overlongs, surrogates or code points past U+10FFFF). */
int th_utf8_valid(const char *s, size_t n);
/* Format a shell command line and run it with system(3); returns its status as $? would. */
int th_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* An integer from the environment, or def when unset or not a number. */
long th_env_long(const char *name, long def);
/*
 * For scripts/stress: append one line of figures ("name key=value ...") to the
 * file named by $TASKRUN_STRESS_REPORT, if set; also logged with cr_log_info.
 */
void th_stress_report(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* dir/name, in one of a few rotating buffers (so several may be used at once). */
const char *th_at(const char *dir, const char *name);

#endif
