#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "helpers.h"
#include "taskrun/lock.h"

void th_tmpdir(char *buf, size_t n)
{
        const char *tmp = getenv("TMPDIR");

        snprintf(buf, n, "%s/taskrun-test.XXXXXX", tmp && *tmp ? tmp : "/tmp");
        cr_assert_not_null(mkdtemp(buf), "mkdtemp %s", buf);
}

void th_rmtree(const char *path)
{
        char cmd[4200];

        snprintf(cmd, sizeof cmd, "rm -rf '%s'", path);
        if (system(cmd) != 0)
                cr_log_warn("could not remove %s", path);
}

void th_write_file(const char *path, const char *text)
{
        FILE *f = fopen(path, "w");

        cr_assert_not_null(f, "fopen %s", path);
        fputs(text, f);
        cr_assert_eq(fclose(f), 0);
}

char *th_read_file(const char *path, size_t *len)
{
        FILE *f = fopen(path, "rb");
        char *buf = NULL;
        size_t cap = 0, used = 0, n;

        if (f == NULL)
                return NULL;
        do {
                if (used + 4096 + 1 > cap) {
                        cap = (cap + 4096) * 2;
                        buf = realloc(buf, cap);
                }
                n = fread(buf + used, 1, cap - used - 1, f);
                used += n;
        } while (n > 0);
        fclose(f);
        buf[used] = '\0';
        if (len)
                *len = used;
        return buf;
}

json_object *th_read_json(const char *path)
{
        char *text = th_read_file(path, NULL);
        json_object *obj;

        if (text == NULL)
                return NULL;
        obj = json_tokener_parse(text);
        free(text);
        return obj;
}

json_object *th_get(json_object *obj, const char *dotted)
{
        char key[256];
        const char *p = dotted;

        while (obj != NULL && *p) {
                size_t n = strcspn(p, ".");
                snprintf(key, sizeof key, "%.*s", (int)n, p);
                if (!json_object_object_get_ex(obj, key, &obj))
                        return NULL;
                p += n;
                if (*p == '.')
                        p++;
        }
        return obj;
}

const char *th_get_string(json_object *obj, const char *dotted)
{
        json_object *v = th_get(obj, dotted);

        return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

int th_run(const char *cmdline, char **out)
{
        FILE *p = popen(cmdline, "r");
        char *buf = NULL;
        size_t cap = 0, used = 0, n;
        int status;

        cr_assert_not_null(p, "popen %s", cmdline);
        do {
                if (used + 4096 + 1 > cap) {
                        cap = (cap + 4096) * 2;
                        buf = realloc(buf, cap);
                }
                n = fread(buf + used, 1, cap - used - 1, p);
                used += n;
        } while (n > 0);
        buf[used] = '\0';
        status = pclose(p);
        if (out)
                *out = buf;
        else
                free(buf);
        if (WIFEXITED(status))
                return WEXITSTATUS(status);
        return 128 + WTERMSIG(status);
}

int th_count(const char *dir, const char *pattern)
{
        DIR *d = opendir(dir);
        struct dirent *de;
        int n = 0;

        if (d == NULL)
                return -1;
        while ((de = readdir(d)) != NULL)
                if (fnmatch(pattern, de->d_name, FNM_PERIOD * 0) == 0)
                        n++;
        closedir(d);
        return n;
}

void th_snapshot_take(const char *path, struct th_snapshot *s)
{
        struct stat st;

        cr_assert_eq(lstat(path, &st), 0, "lstat %s", path);
        s->mode = st.st_mode;
        s->ino = st.st_ino;
        s->size = (unsigned long long)st.st_size;
        s->mtime_sec = st.st_mtim.tv_sec;
        s->mtime_nsec = st.st_mtim.tv_nsec;
        s->data = NULL;
        s->len = 0;
        if (S_ISREG(st.st_mode)) {
                s->data = th_read_file(path, &s->len);
                cr_assert_not_null(s->data, "read %s", path);
        }
}

void th_snapshot_assert_same(const char *path, struct th_snapshot *s)
{
        struct th_snapshot now;

        th_snapshot_take(path, &now);
        cr_expect_eq(now.mode, s->mode, "%s: file type or mode changed", path);
        cr_expect_eq(now.ino, s->ino, "%s: replaced (inode changed)", path);
        cr_expect_eq(now.size, s->size, "%s: size changed", path);
        cr_expect(now.mtime_sec == s->mtime_sec && now.mtime_nsec == s->mtime_nsec,
                  "%s: mtime changed", path);
        cr_expect_eq(now.len, s->len, "%s: length changed", path);
        if (s->data != NULL && now.data != NULL && now.len == s->len)
                cr_expect(memcmp(now.data, s->data, s->len) == 0, "%s: contents changed", path);
        free(now.data);
        free(s->data);
        s->data = NULL;
}

int th_count_lockdirs(const char *dir)
{
        DIR *d = opendir(dir);
        struct dirent *de;
        struct stat st;
        char path[4200];
        int n = 0;

        if (d == NULL)
                return -1;
        while ((de = readdir(d)) != NULL) {
                size_t len = strlen(de->d_name);
                if (len < 5 || strcmp(de->d_name + len - 5, ".lock") != 0)
                        continue;
                snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
                if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode))
                        n++;
        }
        closedir(d);
        return n;
}

void th_expect_clean(const char *dir)
{
        cr_expect_eq(th_count_lockdirs(dir), 0, "lock directory left in %s", dir);
        cr_expect_eq(th_count(dir, ".*.tmp.*"), 0, "temp file left in %s", dir);
}

int th_pid_gone(pid_t pid)
{
        return kill(pid, 0) == -1 && errno == ESRCH;
}

long long th_now_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void th_sleep_ms(long ms)
{
        struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

        while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
                ;
}

/* Wait up to ms (>= 0) for pid to exit without reaping it; 1 if it has, 0 if not. */
static int wait_exit(pid_t pid, long long ms)
{
        long long end = th_now_ms() + ms;
        int fd = (int)syscall(SYS_pidfd_open, pid, 0);

        if (fd != -1) {
                struct pollfd p = {.fd = fd, .events = POLLIN};
                long long left;
                int r;
                do {
                        left = end - th_now_ms();
                        r = poll(&p, 1, left > 0 ? (int)left : 0);
                } while (r == -1 && errno == EINTR);
                close(fd);
                cr_assert_neq(r, -1, "poll on pid %d: %s", (int)pid, strerror(errno));
                return r > 0;
        }
        /* No pidfd (Linux before 5.3): look every millisecond. */
        for (;;) {
                siginfo_t si = {0};
                cr_assert_eq(waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT), 0,
                             "waitid %d: %s", (int)pid, strerror(errno));
                if (si.si_pid == pid)
                        return 1;
                if (th_now_ms() >= end)
                        return 0;
                th_sleep_ms(1);
        }
}

int th_reap_rusage(pid_t pid, long timeout_ms, struct rusage *ru)
{
        struct rusage dummy;
        pid_t r;
        int status;

        if (timeout_ms >= 0 && !wait_exit(pid, timeout_ms)) {
                cr_log_warn("pid %d still running after %ld ms: killed", (int)pid, timeout_ms);
                kill(pid, SIGKILL);
        }
        do
                r = wait4(pid, &status, 0, ru ? ru : &dummy);
        while (r == -1 && errno == EINTR);
        cr_assert_eq(r, pid, "wait4 %d: %s", (int)pid, strerror(errno));
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int th_reap(pid_t pid, long timeout_ms)
{
        return th_reap_rusage(pid, timeout_ms, NULL);
}

pid_t th_fork_lock_holder(const char *file, int *release)
{
        int ready[2], go[2] = {-1, -1};
        char c;
        pid_t pid;

        cr_assert_eq(pipe(ready), 0, "pipe: %s", strerror(errno));
        if (release != NULL)
                cr_assert_eq(pipe(go), 0, "pipe: %s", strerror(errno));
        pid = fork();
        cr_assert_neq(pid, -1, "fork: %s", strerror(errno));
        if (pid == 0) {
                struct tr_lock l;
                struct pollfd p = {.fd = go[0], .events = POLLIN};
                sigset_t alrm;
                signal(SIGALRM, SIG_DFL);
                alarm(60); /* never outlive a test that fails before it lets go */
                close(ready[0]);
                if (release != NULL)
                        close(go[1]);
                if (tr_lock_acquire(&l, file, 5000, 0, NULL) == -1)
                        _exit(1);
                /* Holding the lock blocks every signal; the alarm must still end it. */
                sigemptyset(&alrm);
                sigaddset(&alrm, SIGALRM);
                sigprocmask(SIG_UNBLOCK, &alrm, NULL);
                if (write(ready[1], "x", 1) != 1)
                        _exit(1);
                /* poll ignores a negative fd: without release, this only ticks. */
                while (poll(&p, 1, 1000) <= 0)
                        tr_lock_refresh(&l);
                tr_lock_release(&l);
                _exit(0);
        }
        close(ready[1]);
        if (release != NULL) {
                close(go[0]);
                *release = go[1];
        }
        cr_assert_eq(read(ready[0], &c, 1), 1, "the child could not take the lock on %s", file);
        close(ready[0]);
        return pid;
}

int th_in_ci(void)
{
        return getenv("CI") != NULL;
}

int th_utf8_valid(const char *str, size_t n)
{
        const unsigned char *s = (const unsigned char *)str;
        size_t i = 0;

        while (i < n) {
                unsigned char c = s[i], lo = 0x80, hi = 0xbf;
                size_t need;
                if (c < 0x80) {
                        i++;
                        continue;
                }
                if (c >= 0xc2 && c <= 0xdf)
                        need = 1;
                else if (c >= 0xe0 && c <= 0xef)
                        need = 2;
                else if (c >= 0xf0 && c <= 0xf4)
                        need = 3;
                else
                        return 0;
                if (c == 0xe0)
                        lo = 0xa0;
                else if (c == 0xed)
                        hi = 0x9f;
                else if (c == 0xf0)
                        lo = 0x90;
                else if (c == 0xf4)
                        hi = 0x8f;
                for (size_t k = 1; k <= need; k++) {
                        if (i + k >= n || s[i + k] < lo || s[i + k] > hi)
                                return 0;
                        lo = 0x80;
                        hi = 0xbf;
                }
                i += need + 1;
        }
        return 1;
}

int th_sh(const char *fmt, ...)
{
        char cmd[16384];
        va_list ap;
        int n, status;

        va_start(ap, fmt);
        n = vsnprintf(cmd, sizeof cmd, fmt, ap);
        va_end(ap);
        cr_assert(n >= 0 && (size_t)n < sizeof cmd, "test bug: command line too long");
        status = system(cmd);
        cr_assert_neq(status, -1, "system: %s", cmd);
        if (WIFEXITED(status))
                return WEXITSTATUS(status);
        return 128 + WTERMSIG(status);
}

long th_env_long(const char *name, long def)
{
        const char *v = getenv(name);
        char *end;
        long n;

        if (v == NULL || *v == '\0')
                return def;
        n = strtol(v, &end, 10);
        return *end == '\0' ? n : def;
}

void th_stress_report(const char *fmt, ...)
{
        const char *path = getenv("TASKRUN_STRESS_REPORT");
        char line[1024];
        va_list ap;
        FILE *f;

        va_start(ap, fmt);
        vsnprintf(line, sizeof line, fmt, ap);
        va_end(ap);
        cr_log_info("%s", line);
        if (path == NULL || *path == '\0')
                return;
        f = fopen(path, "a");
        if (f == NULL)
                return;
        fprintf(f, "%s\n", line);
        fclose(f);
}

const char *th_at(const char *dir, const char *name)
{
        static char bufs[8][PATH_MAX + 64];
        static int next;
        char *b = bufs[next++ % 8];

        snprintf(b, sizeof bufs[0], "%s/%s", dir, name);
        return b;
}
