/* --ping: taskrun's side. The pings go out from the helper taskrun-ping (ping.h). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "exit.h"
#include "ping.h"
#include "taskrun/clock.h"
#include "taskrun/fdio.h"
#include "taskrun/path.h"
#include "taskrun/utf8.h"

#ifndef TASKRUN_LIBEXECDIR
#define TASKRUN_LIBEXECDIR "/usr/local/libexec/taskrun"
#endif
#define HELPER "taskrun-ping"
#define REPLY_MAX 2048

/* A random (version 4) UUID: the run id that pairs start and end. */
static void make_rid(char *out)
{
        unsigned char b[16];

        if (getrandom(b, sizeof b, 0) != (ssize_t)sizeof b) {
                struct timespec ts;
                clock_gettime(CLOCK_REALTIME, &ts);
                srandom((unsigned)(ts.tv_nsec ^ getpid()));
                for (size_t i = 0; i < sizeof b; i++)
                        b[i] = (unsigned char)random();
        }
        b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
        b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
        snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
                 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
                 b[13], b[14], b[15]);
}

int tr_ping_url_ok(const char *url)
{
        return strncasecmp(url, "http://", 7) == 0 || strncasecmp(url, "https://", 8) == 0;
}

/* 0 if dir/rel/taskrun-ping is there to run (the path in buf). */
static int try_helper(char *buf, size_t n, const char *dir, const char *rel)
{
        int len = snprintf(buf, n, "%s%s/" HELPER, dir, rel);

        return len > 0 && (size_t)len < n && access(buf, X_OK) == 0 ? 0 : -1;
}

/* Beside our binary (a build tree), in ../libexec/taskrun (an install moved as a whole),
 * or where it was installed. */
static int find_helper(char *buf, size_t n)
{
        char self[PATH_MAX], dir[PATH_MAX];
        ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
        const char *base;

        if (len > 0) {
                self[len] = '\0';
                if (tr_path_split(self, dir, sizeof dir, &base) == 0 &&
                    (try_helper(buf, n, dir, "") == 0 ||
                     try_helper(buf, n, dir, "/../libexec/taskrun") == 0))
                        return 0;
        }
        return try_helper(buf, n, TASKRUN_LIBEXECDIR, "");
}

int tr_ping_init(struct tr_ping *p, const char *url, struct tr_err *e)
{
        memset(p, 0, sizeof *p);
        p->to_helper = p->from_helper = -1;
        if (!tr_ping_url_ok(url))
                return tr_err_set(e, EINVAL, "--ping: not an http or https URL: %s", url);
        if (find_helper(p->helper, sizeof p->helper) == -1)
                return tr_err_set(e, ENOENT,
                                  "--ping: %s not found (looked beside taskrun and in %s)", HELPER,
                                  TASKRUN_LIBEXECDIR);
        p->url = url;
        make_rid(p->rid);
        return 0;
}

/* In the grandchild: the helper, in a session of its own, with the end on stdin. */
static void exec_helper(const struct tr_ping *p, int in, int out)
{
        sigset_t none;

        setsid();
        dup2(in, STDIN_FILENO);
        dup2(out, STDOUT_FILENO);
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        execl(p->helper, HELPER, p->url, p->rid, (char *)NULL);
        dprintf(STDOUT_FILENO, "start --ping: %s: %s\n", p->helper, strerror(errno));
        _exit(TR_EXIT_NOENT);
}

/*
 * Fork twice, so the helper is not our child: the supervisor reaps every
 * child it has, and would wait for it with --orphans wait. A subreaper would
 * get it back, so we are none while it is made.
 */
static pid_t spawn_detached(const struct tr_ping *p, int in, int out)
{
        int subreaper = 0;
        pid_t pid;

        prctl(PR_GET_CHILD_SUBREAPER, &subreaper);
        if (subreaper)
                prctl(PR_SET_CHILD_SUBREAPER, 0);
        pid = fork();
        if (pid == 0) {
                pid_t helper = fork();
                if (helper == 0)
                        exec_helper(p, in, out);
                if (helper == -1)
                        dprintf(out, "start --ping: fork: %s\n", strerror(errno));
                _exit(TR_EXIT_OK);
        }
        if (subreaper)
                prctl(PR_SET_CHILD_SUBREAPER, 1);
        return pid;
}

int tr_ping_start(struct tr_ping *p, struct tr_err *e)
{
        int in[2], out[2], ws;
        pid_t pid;

        if (pipe2(in, O_CLOEXEC) == -1)
                return tr_err_sys(e, errno, "--ping: pipe");
        if (pipe2(out, O_CLOEXEC) == -1) {
                int saved = errno;
                close(in[0]);
                close(in[1]);
                return tr_err_sys(e, saved, "--ping: pipe");
        }
        pid = spawn_detached(p, in[0], out[1]);
        close(in[0]);
        close(out[1]);
        if (pid == -1) {
                int saved = errno;
                close(in[1]);
                close(out[0]);
                return tr_err_sys(e, saved, "--ping: fork");
        }
        while (waitpid(pid, &ws, 0) == -1 && errno == EINTR)
                ;
        p->to_helper = in[1];
        p->from_helper = out[0];
        return 0;
}

/* Wait until fd is ready for events, or the deadline (monotonic ms) passes; 1 ready. */
static int wait_fd(int fd, short events, int64_t deadline)
{
        struct pollfd pf = {.fd = fd, .events = events};

        for (;;) {
                int64_t left = deadline - tr_monotonic_ms();
                if (left <= 0)
                        return 0;
                int r = poll(&pf, 1, left > 1000 ? 1000 : (int)left);
                if (r == 1)
                        return 1;
                if (r == -1 && errno != EINTR)
                        return 0;
        }
}

/* All of data to the helper, unless it is gone or the deadline passes; 0, or -1. */
static int send_end(int fd, const char *data, size_t len, int64_t deadline)
{
        while (len > 0) {
                ssize_t n = write(fd, data, len);
                if (n > 0) {
                        data += n;
                        len -= (size_t)n;
                } else if (n == -1 && errno == EAGAIN) {
                        if (!wait_fd(fd, POLLOUT, deadline))
                                return -1;
                } else if (n == -1 && errno != EINTR) {
                        return -1;
                }
        }
        return 0;
}

/* The helper's lines until it exits: "start MESSAGE", "end MESSAGE". */
static int read_replies(int fd, int64_t deadline, struct tr_err *start_e, struct tr_err *e)
{
        char buf[REPLY_MAX + 1], *line, *next;
        size_t len = 0;
        ssize_t n;
        int done = 0;

        while (len < REPLY_MAX && (done = wait_fd(fd, POLLIN, deadline))) {
                if ((n = read(fd, buf + len, REPLY_MAX - len)) == 0)
                        break;
                if (n > 0)
                        len += (size_t)n;
                else if (errno != EINTR && errno != EAGAIN)
                        break;
        }
        buf[len] = '\0';
        for (line = buf; *line != '\0'; line = next) {
                next = line + strcspn(line, "\n");
                if (*next == '\n')
                        *next++ = '\0';
                if (strncmp(line, "start ", 6) == 0)
                        tr_err_set(start_e, 0, "%s", line + 6);
                else if (strncmp(line, "end ", 4) == 0)
                        tr_err_set(e, 0, "%s", line + 4);
        }
        if (!done && e->msg[0] == '\0')
                tr_err_set(e, ETIMEDOUT, "--ping: no answer from the monitor within %d s",
                           (TR_PING_START_GRACE_MS + TR_PING_BUDGET_MS) / 1000);
        return e->msg[0] != '\0' ? -1 : 0;
}

int tr_ping_end(struct tr_ping *p, int status, const char *body, size_t len, struct tr_err *start_e,
                struct tr_err *e)
{
        /* The start ping gets its grace, then the end ping its budget, and a moment more. */
        int64_t deadline = tr_monotonic_ms() + TR_PING_START_GRACE_MS + TR_PING_BUDGET_MS + 500;
        char head[16];
        int n = snprintf(head, sizeof head, "%d\n", status);
        size_t skip;

        start_e->msg[0] = e->msg[0] = '\0';
        if (p->to_helper == -1)
                return tr_err_set(e, 0, "--ping: the helper was not started");
        if (body == NULL)
                body = "", len = 0;
        skip = tr_utf8_tail_start(body, len, TR_PING_BODY_MAX);
        fcntl(p->to_helper, F_SETFL, O_NONBLOCK);
        if (send_end(p->to_helper, head, (size_t)n, deadline) == 0)
                send_end(p->to_helper, body + skip, len - skip, deadline);
        close(p->to_helper);
        p->to_helper = -1;
        return read_replies(p->from_helper, deadline, start_e, e);
}

void tr_ping_free(struct tr_ping *p)
{
        if (p->to_helper != -1)
                close(p->to_helper);
        if (p->from_helper != -1)
                close(p->from_helper);
        p->to_helper = p->from_helper = -1;
}
