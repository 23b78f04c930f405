/* --retry: when to run a failed command again, how long to wait, and the wait (retry.h). */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <ev.h>

#include "exit.h"
#include "retry.h"

/* What a user (or the system) sends to ask a process to end: never a reason to retry. */
static const int ending[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
#define NENDING (sizeof ending / sizeof ending[0])

int tr_retry_on_parse(const char *arg, struct tr_retry_opts *o)
{
        unsigned char on[sizeof o->on] = {0};
        const char *p = arg;

        do {
                char *end;
                errno = 0;
                long n = strtol(p, &end, 10);
                if (errno != 0 || end == p || *p == '-' || *p == '+' || n < 1 || n > 255 ||
                    (*end != ',' && *end != '\0')) {
                        errno = EINVAL;
                        return -1;
                }
                on[n / 8] |= (unsigned char)(1u << (n % 8));
                p = *end == ',' ? end + 1 : end;
        } while (*p != '\0');
        memcpy(o->on, on, sizeof on);
        o->on_given = 1;
        return 0;
}

int tr_retry_on_has(const struct tr_retry_opts *o, int status)
{
        return status >= 1 && status <= 255 && (o->on[status / 8] >> (status % 8)) & 1;
}

/* One of the signals in ending[]. */
static int is_ending(int sig)
{
        for (size_t i = 0; i < NENDING; i++)
                if (ending[i] == sig)
                        return 1;
        return 0;
}

int tr_retry_wanted(const struct tr_retry_opts *o, const struct tr_outcome *out, int attempt)
{
        if (o->max == 0 || attempt > o->max || out->exec_errno != 0 || out->user_ended ||
            out->kill_signal != 0)
                return 0;
        if (out->timed_out || out->stalled)
                return o->timeouts;
        if (out->signal == 0 && out->exit_code == 0)
                return 0;
        /* Ctrl-C in the foreground reaches the command, not us: its death by SIGINT says so. */
        if (out->signal != 0 && is_ending(out->signal))
                return 0;
        return !o->on_given ||
               tr_retry_on_has(o, out->signal ? TR_EXIT_SIGNAL + out->signal : out->exit_code);
}

int64_t tr_retry_delay(const struct tr_retry_opts *o, int attempt, uint32_t rnd)
{
        int64_t cap = o->delay_ms > TR_RETRY_CAP_MS ? o->delay_ms : TR_RETRY_CAP_MS;
        int64_t d = o->delay_ms;

        for (int i = 1; i < attempt && d < cap; i++)
                d *= 2;
        if (d > cap)
                d = cap;
        /* "Equal jitter": runs that failed together do not all come back together. */
        return d / 2 + (int64_t)((uint64_t)(d - d / 2) * rnd / UINT32_MAX);
}

uint32_t tr_retry_random(void)
{
        uint32_t r;
        struct timespec ts;

        if (getrandom(&r, sizeof r, GRND_NONBLOCK) == (ssize_t)sizeof r)
                return r;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint32_t)ts.tv_nsec ^ (uint32_t)getpid() << 16;
}

/* The watchers of one wait between attempts. */
struct retry_wait {
        ev_timer time_w; /* the delay */
        ev_signal sig_w[NENDING];
        ev_io control_w; /* `taskrun kill` (control.h) */
        struct tr_retry_stop *stop;
        int stopped;
};

/* The delay is over: the next attempt may start. */
static void on_time_up(struct ev_loop *loop, ev_timer *w, int revents)
{
        (void)w;
        (void)revents;
        ev_break(loop, EVBREAK_ALL);
}

/* Ctrl-C and the like: the user wants the run over, not another attempt. */
static void on_signal(struct ev_loop *loop, ev_signal *w, int revents)
{
        struct retry_wait *rw = w->data;
        (void)revents;

        if (!rw->stopped)
                rw->stop->signal = w->signum;
        rw->stopped = 1;
        ev_break(loop, EVBREAK_ALL);
}

/* `taskrun kill` while no command runs: the run ends here, as killed. */
static void on_control(struct ev_loop *loop, ev_io *w, int revents)
{
        struct retry_wait *rw = w->data;
        struct tr_kill_request r;
        (void)revents;

        while (tr_control_read(w->fd, &r) == 1) {
                if (rw->stopped || r.signal <= 0 || r.signal >= NSIG)
                        continue;
                rw->stop->signal = r.signal;
                rw->stop->req = r;
                rw->stopped = 1;
                ev_break(loop, EVBREAK_ALL);
        }
}

/* The ending signals taskrun was not started with blocked: those the wait listens to. */
static void watched_set(const sigset_t *as_started, sigset_t *set)
{
        sigemptyset(set);
        for (size_t i = 0; i < NENDING; i++)
                if (!sigismember(as_started, ending[i]))
                        sigaddset(set, ending[i]);
}

int tr_retry_wait(int64_t delay_ms, const sigset_t *as_started, struct tr_retry_stop *stop)
{
        struct ev_loop *loop = ev_default_loop(EVFLAG_AUTO);
        struct retry_wait rw = {.stop = stop};
        sigset_t watched;
        int control_fd = tr_control_open(); /* a request queued meanwhile is read now */

        memset(stop, 0, sizeof *stop);
        watched_set(as_started, &watched);
        ev_now_update(loop);
        ev_timer_init(&rw.time_w, on_time_up, (double)delay_ms / 1000.0, 0);
        ev_timer_start(loop, &rw.time_w);
        for (size_t i = 0; i < NENDING; i++) {
                ev_signal_init(&rw.sig_w[i], on_signal, ending[i]);
                rw.sig_w[i].data = &rw;
                if (sigismember(&watched, ending[i]))
                        ev_signal_start(loop, &rw.sig_w[i]);
        }
        ev_io_init(&rw.control_w, on_control, control_fd, EV_READ);
        rw.control_w.data = &rw;
        if (control_fd >= 0)
                ev_io_start(loop, &rw.control_w);
        /* The first attempt's end left them held; one that came meanwhile arrives now. */
        sigprocmask(SIG_UNBLOCK, &watched, NULL);
        ev_run(loop, 0);
        /* Held again before the watchers go, which puts back their default (deadly) action. */
        sigprocmask(SIG_BLOCK, &watched, NULL);
        for (size_t i = 0; i < NENDING; i++)
                ev_signal_stop(loop, &rw.sig_w[i]);
        ev_timer_stop(loop, &rw.time_w);
        ev_io_stop(loop, &rw.control_w);
        if (control_fd >= 0)
                close(control_fd);
        return rw.stopped;
}
