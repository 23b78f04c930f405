/*
 * One libev loop watches everything: the child (ev_child: stops, continues,
 * exit) and any orphaned descendant, its output streams (ev_io), the signals
 * to forward (ev_signal), and the timeout, stall, kill and heartbeat timers
 * (ev_timer). Callbacks are short; signal
 * handling happens in the loop, never in a raw handler.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <ev.h>

#include "control.h"
#include "exit.h"
#include "sink.h"
#include "supervise.h"
#include "taskrun/procinfo.h"
#include "taskrun/proctree.h"

#define READ_CHUNK (128 * 1024)
/*
 * Where each read lands, static like the default loop the supervisor runs on:
 * no map to make and unmap per run, and its pages are touched only by output
 * (on a VM, every page first touched costs microseconds).
 */
static char read_buf[READ_CHUNK];
/*
 * A read that empties a full pipe of the default size (64 KiB) says the
 * command writes faster than we read: the pipe grows to this, for fewer
 * wakeups. Quiet commands never pay for a big pipe.
 */
#define FULL_DEFAULT_PIPE (64 * 1024)
#define BIG_PIPE (1024 * 1024)
#define DRAIN_READS 64 /* after exit, reads per stream before a grandchild's output is cut */
#define ORPHAN_KILL_REPEAT 0.1 /* seconds between SIGKILL rounds for descendants that remain */

static const int forwarded[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH};
#define NFORWARDED (sizeof forwarded / sizeof forwarded[0])

/* One of the command's output streams: read from its pipe, passed to a sink.
 * While the sink is full we stop reading, so the command feels the reader's
 * pace as it would without us, but the loop goes on. */
struct stream {
        ev_io w;                /* the command's side: readable */
        ev_io sink_w;           /* our side: writable again */
        struct tr_sink sink;    /* our stdout or stderr */
        int eof;                /* the command's side is done; the fd stays open until the end */
        int failed;             /* writing to the sink failed for good (not EPIPE): said once */
        const char *name;       /* "stdout" or "stderr", for that message */
        struct tr_tail *replay; /* --quiet: this stream's own bytes, or NULL */
        int grown;              /* the pipe was made large: the command is chatty */
        struct supervisor *s;
};

struct supervisor {
        const struct tr_supervise_opts *o;
        struct tr_tail *tail;
        struct tr_child child;
        struct stream out, err;
        ev_child child_w;  /* the command: stops, continues, exit */
        ev_child orphan_w; /* any child: descendants that outlived the command */
        ev_signal sig_w[NFORWARDED];
        ev_timer timeout_w, kill_w, heartbeat_w, running_w, orphan_kill_w;
        ev_idle idle_w;
        ev_timer stall_w;      /* --stall-timeout: reset by output, lazily (see on_stall) */
        ev_tstamp last_output; /* loop time of the last output read */
        int status;
        int exited; /* the command has been reaped: its pid may belong to someone else now */
        int ended;  /* the run is over */
        int timed_out, stalled, output_errno;
        ev_io control_w;                 /* kill requests (control.h) */
        struct tr_kill_request kill_req; /* the first one; signal 0 if none */
        int user_ended;                  /* a forwarded ending signal or a kill request */
        int control_fd;                  /* signalfd for kill requests, or -1 */
        int64_t exit_ms;
        uint64_t heartbeat_bytes; /* tail->total at the last heartbeat */
};

/*
 * Where a signal for the command goes. Ctrl-C on our terminal reaches us,
 * not the command on its pty; a terminal would signal the pty's foreground
 * process group (the sleep inside a script, too), so INT and QUIT go there.
 */
static pid_t signal_target(const struct supervisor *s, int sig)
{
        if (s->o->spawn.pty && (sig == SIGINT || sig == SIGQUIT)) {
                pid_t fg = s->child.out_fd >= 0 ? tcgetpgrp(s->child.out_fd) : -1;
                if (fg > 0)
                        return -fg;
        }
        return s->o->group ? -s->child.pid : s->child.pid;
}

/* Signals that end a process: a stopped one must be continued to act on them. */
static int is_ending(const struct supervisor *s, int sig)
{
        return sig == SIGTERM || sig == SIGINT || sig == SIGHUP || sig == SIGQUIT ||
               (sig == s->o->timeout_signal && sig != SIGKILL && sig != SIGCONT);
}

/*
 * A stopped process keeps an ending signal pending and never acts on it, so
 * like timeout(1) we follow each ending signal with SIGCONT, to the same
 * target. Once the command is reaped its pid may be someone else's: nothing
 * is sent then.
 */
static void signal_child(struct supervisor *s, int sig)
{
        pid_t target = signal_target(s, sig);

        if (s->exited)
                return;
        kill(target, sig);
        if (is_ending(s, sig))
                kill(target, SIGCONT);
}

/*
 * Signal every descendant still alive (we are their subreaper, so those the
 * command left behind are ours). A zombie child of ours cannot be reused,
 * so its pid is safe; a deeper pid could in principle be reused between the
 * scan and the kill, as with any pid-based tool.
 */
static void signal_descendants(const struct supervisor *s, int sig)
{
        pid_t *pids;
        size_t n;

        if (tr_proc_descendants(getpid(), &pids, &n) == -1)
                return;
        for (size_t i = 0; i < n; i++) {
                kill(pids[i], sig);
                if (is_ending(s, sig))
                        kill(pids[i], SIGCONT);
        }
        free(pids);
}

/* No child of ours is left, reaped or not. */
static int no_children(void)
{
        siginfo_t si;

        return waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) == -1 && errno == ECHILD;
}

static void stream_close(struct ev_loop *loop, struct stream *st)
{
        if (st->w.fd < 0)
                return;
        ev_io_stop(loop, &st->w);
        close(st->w.fd);
        st->w.fd = -1;
}

/*
 * A write to our stdout or stderr failed. If the reader is gone (EPIPE),
 * close the command's pipe too, so it gets SIGPIPE as it would have without
 * us in between. Any other error (a full disk) is said once and remembered;
 * we go on reading, so the command is never blocked by it.
 */
static void stream_write_failed(struct ev_loop *loop, struct stream *st, int errnum)
{
        struct supervisor *s = st->s;

        if (errnum == EPIPE) {
                stream_close(loop, st);
                return;
        }
        if (st->failed)
                return;
        st->failed = 1;
        if (s->output_errno == 0)
                s->output_errno = errnum;
        if (s->o->on_output_error != NULL)
                s->o->on_output_error(s->o->ctx, st->name, errnum);
}

/* Pass bytes through; keep them in the tail (and in the stream's replay for --quiet). */
static void stream_forward(struct ev_loop *loop, struct supervisor *s, struct stream *st, size_t n)
{
        s->last_output = ev_now(loop); /* the stall timer looks at it when it fires */
        tr_tail_feed(s->tail, read_buf, n);
        if (st->replay != NULL)
                tr_tail_feed(st->replay, read_buf, n);
        if (s->o->quiet || st->sink.broken)
                return;
        int r = tr_sink_write(&st->sink, read_buf, n);
        if (r == 1) {
                ev_io_stop(loop, &st->w);
                ev_io_set(&st->sink_w, st->sink.fd, EV_WRITE); /* the handle the sink chose */
                ev_io_start(loop, &st->sink_w);
        } else if (r == -1) {
                stream_write_failed(loop, st, errno);
        }
}

static void on_sink_writable(struct ev_loop *loop, ev_io *w, int revents)
{
        struct stream *st = w->data;
        int r = tr_sink_flush(&st->sink);
        (void)revents;

        if (r == 1)
                return;
        ev_io_stop(loop, w);
        if (r == -1)
                stream_write_failed(loop, st, errno);
        if (st->w.fd >= 0 && !st->eof)
                ev_io_start(loop, &st->w);
}

/* One read; 1 if more may follow now, 0 if drained or closed. */
static int stream_read(struct ev_loop *loop, struct supervisor *s, struct stream *st)
{
        ssize_t n = read(st->w.fd, read_buf, READ_CHUNK);

        if (n >= FULL_DEFAULT_PIPE && !st->grown) {
                fcntl(st->w.fd, F_SETPIPE_SZ, BIG_PIPE); /* best effort; a pty has no size */
                st->grown = 1;
        }
        if (n > 0) {
                stream_forward(loop, s, st, (size_t)n);
                return st->w.fd >= 0 && !st->eof;
        }
        if (n == -1 && (errno == EINTR))
                return 1;
        if (n == -1 && errno == EAGAIN)
                return 0;
        /*
         * EOF, or EIO from a pty whose slave side is closed. The fd stays open
         * until the command is reaped: closing a pty master hangs up the
         * slave, and the kernel would SIGHUP a command that closed its
         * stdout but has not exited yet.
         */
        ev_io_stop(loop, &st->w);
        st->eof = 1;
        return 0;
}

static void on_output(struct ev_loop *loop, ev_io *w, int revents)
{
        struct stream *st = w->data;
        (void)revents;
        stream_read(loop, st->s, st);
}

/* Block until the sink has taken what is pending, unless it is broken. */
static void sink_settle(struct ev_loop *loop, struct stream *st)
{
        if (!st->sink.broken && tr_sink_drain(&st->sink) == -1)
                stream_write_failed(loop, st, errno);
}

/* At the end nothing else waits on the loop, so the sink may block here. */
static void drain(struct ev_loop *loop, struct supervisor *s, struct stream *st)
{
        for (int i = 0; i < DRAIN_READS && st->w.fd >= 0 && !st->eof; i++) {
                sink_settle(loop, st);
                if (!stream_read(loop, s, st))
                        break;
        }
        sink_settle(loop, st);
        ev_io_stop(loop, &st->sink_w);
        stream_close(loop, st);
}

/* The run is over: take the output that is there, even if a grandchild holds the pipes. */
static void end_run(struct ev_loop *loop, struct supervisor *s)
{
        s->ended = 1;
        drain(loop, s, &s->out);
        drain(loop, s, &s->err);
        ev_break(loop, EVBREAK_ALL);
}

/* The command has exited: end the run now, or when its descendants are gone. */
static void command_exited(struct ev_loop *loop, struct supervisor *s)
{
        s->exited = 1;
        s->exit_ms = tr_monotonic_ms(); /* before draining, which may wait for our reader */
        if (s->o->orphans == TR_ORPHANS_KILL && !no_children()) {
                signal_descendants(s, SIGTERM);
                ev_timer_set(&s->orphan_kill_w, s->o->orphan_kill_ms / 1000.0, ORPHAN_KILL_REPEAT);
                ev_timer_start(loop, &s->orphan_kill_w);
        }
        if (s->o->orphans == TR_ORPHANS_LEAVE || no_children())
                end_run(loop, s);
}

/* Ctrl-Z stopped the child in the foreground: stop ourselves so the shell
 * sees the job stop, and on fg/bg pass the terminal and SIGCONT back. */
static void follow_job_stop(struct supervisor *s)
{
        tcsetpgrp(STDIN_FILENO, getpgrp());
        kill(getpid(), SIGSTOP);
        if (tcgetpgrp(STDIN_FILENO) == getpgrp())
                tcsetpgrp(STDIN_FILENO, s->child.pid);
        kill(-s->child.pid, SIGCONT);
}

static void on_child(struct ev_loop *loop, ev_child *w, int revents)
{
        struct supervisor *s = w->data;
        int st = w->rstatus;
        (void)revents;

        if (WIFSTOPPED(st)) {
                int sig = WSTOPSIG(st);
                ev_timer_stop(loop, &s->stall_w); /* stopped on purpose is not stalled */
                if (s->o->on_stopped != NULL)
                        s->o->on_stopped(s->o->ctx, sig);
                if (s->o->spawn.foreground && (sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU))
                        follow_job_stop(s);
                return;
        }
        if (WIFCONTINUED(st)) {
                s->last_output = ev_now(loop);
                if (s->o->stall_timeout_ms > 0 && !s->timed_out && !s->stalled)
                        ev_timer_start(loop, &s->stall_w);
                if (s->o->on_continued != NULL)
                        s->o->on_continued(s->o->ctx);
                return;
        }
        s->status = st;
        ev_child_stop(loop, w);
        command_exited(loop, s);
}

/* A descendant the command left behind was reaped: was it the last? */
static void on_orphan(struct ev_loop *loop, ev_child *w, int revents)
{
        struct supervisor *s = w->data;
        (void)revents;

        if (s->exited && !s->ended && !WIFSTOPPED(w->rstatus) && !WIFCONTINUED(w->rstatus) &&
            no_children())
                end_run(loop, s);
}

static void on_signal(struct ev_loop *loop, ev_signal *w, int revents)
{
        struct supervisor *s = w->data;
        (void)loop;
        (void)revents;

        if (w->signum == SIGINT || w->signum == SIGTERM || w->signum == SIGHUP ||
            w->signum == SIGQUIT)
                s->user_ended = 1;
        if (s->o->spawn.pty && w->signum == SIGWINCH)
                tr_pty_sync_winsize(STDOUT_FILENO, s->child.out_fd); /* the pty signals the child */
        else if (s->exited)
                signal_descendants(s, w->signum); /* waiting for orphans: they get it */
        else
                signal_child(s, w->signum);
}

static void on_kill_after(struct ev_loop *loop, ev_timer *w, int revents)
{
        struct supervisor *s = w->data;
        (void)loop;
        (void)revents;

        if (s->exited)
                signal_descendants(s, SIGKILL);
        else
                signal_child(s, SIGKILL);
}

/* A stopped command would never act on the signal: wake it, unless the signal is about stopping. */
static int wants_cont(int sig)
{
        return sig != SIGKILL && sig != SIGCONT && sig != SIGSTOP && sig != SIGTSTP &&
               sig != SIGTTIN && sig != SIGTTOU;
}

/* `taskrun kill`: send what was asked, wake the command, and SIGKILL later if told to. */
static void on_kill_request(struct ev_loop *loop, struct supervisor *s,
                            const struct tr_kill_request *r)
{
        int64_t after = r->kill_after_ms > 0 ? r->kill_after_ms : s->o->kill_after_ms;

        if (s->kill_req.signal == 0)
                s->kill_req = *r;
        s->user_ended = 1;
        if (s->exited) {
                signal_descendants(s, r->signal); /* waiting for orphans: they get it */
        } else {
                signal_child(s, r->signal);
                if (wants_cont(r->signal))
                        signal_child(s, SIGCONT);
        }
        if (after > 0 && r->signal != SIGKILL && !ev_is_active(&s->kill_w)) {
                ev_timer_set(&s->kill_w, after / 1000.0, 0);
                ev_timer_start(loop, &s->kill_w);
        }
}

static void on_control(struct ev_loop *loop, ev_io *w, int revents)
{
        struct supervisor *s = w->data;
        struct tr_kill_request r;
        (void)revents;

        while (tr_control_read(w->fd, &r) == 1)
                if (r.signal > 0 && r.signal < NSIG)
                        on_kill_request(loop, s, &r);
}

/* TR_ORPHANS_KILL: those that did not end on SIGTERM get SIGKILL, until none is left. */
static void on_orphan_kill(struct ev_loop *loop, ev_timer *w, int revents)
{
        (void)loop;
        (void)revents;
        signal_descendants(w->data, SIGKILL);
}

/* A timeout (or stall) expired: the timeout signal now, SIGKILL after --kill-after. */
static void end_command(struct ev_loop *loop, struct supervisor *s)
{
        if (s->exited)
                signal_descendants(s, s->o->timeout_signal);
        else
                signal_child(s, s->o->timeout_signal);
        if (s->o->kill_after_ms > 0) {
                ev_timer_set(&s->kill_w, s->o->kill_after_ms / 1000.0, 0);
                ev_timer_start(loop, &s->kill_w);
        }
}

static void on_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
        struct supervisor *s = w->data;
        (void)revents;

        s->timed_out = 1;
        ev_timer_stop(loop, &s->stall_w); /* one ending is enough */
        end_command(loop, s);
}

/* Our reader is behind: the command is blocked on us, not hung. */
static int reader_behind(const struct supervisor *s)
{
        return ev_is_active(&s->out.sink_w) || ev_is_active(&s->err.sink_w);
}

/*
 * --stall-timeout. Output only notes the time (no timer call per read); when
 * the timer fires it either finds output since, and sleeps until the stall
 * timeout after that output, or ends the command as --timeout would.
 */
static void on_stall(struct ev_loop *loop, ev_timer *w, int revents)
{
        struct supervisor *s = w->data;
        ev_tstamp stall = s->o->stall_timeout_ms / 1000.0;
        ev_tstamp left = s->last_output + stall - ev_now(loop);
        (void)revents;

        if (reader_behind(s))
                left = stall;
        if (left > 0) {
                ev_timer_set(w, left, 0);
                ev_timer_start(loop, w);
                return;
        }
        s->stalled = 1;
        ev_timer_stop(loop, &s->timeout_w);
        end_command(loop, s);
}

static void on_heartbeat(struct ev_loop *loop, ev_timer *w, int revents)
{
        struct supervisor *s = w->data;
        (void)loop;
        (void)revents;

        /* Only when there is something new to say. */
        if (s->tail->total == s->heartbeat_bytes || s->o->on_heartbeat == NULL)
                return;
        s->heartbeat_bytes = s->tail->total;
        s->o->on_heartbeat(s->o->ctx, s->tail);
}

static void on_idle(struct ev_loop *loop, ev_idle *w, int revents)
{
        struct supervisor *s = w->data;
        (void)revents;

        if (s->o->on_idle(s->o->ctx) == 0)
                ev_idle_stop(loop, w);
}

static void on_running(struct ev_loop *loop, ev_timer *w, int revents)
{
        struct supervisor *s = w->data;
        (void)loop;
        (void)revents;
        s->o->on_running(s->o->ctx);
}

static int stream_open_sink(struct stream *st, int to_fd)
{
        if (tr_sink_open(&st->sink, to_fd, READ_CHUNK) == -1)
                return -1;
        ev_io_init(&st->sink_w, on_sink_writable, st->sink.fd, EV_WRITE);
        st->sink_w.data = st;
        st->name = to_fd == STDOUT_FILENO ? "stdout" : "stderr";
        return 0;
}

static void stream_start(struct ev_loop *loop, struct supervisor *s, struct stream *st, int fd)
{
        ev_io_init(&st->w, on_output, fd, EV_READ);
        st->w.data = st;
        st->s = s;
        if (fd >= 0)
                ev_io_start(loop, &st->w);
}

static void timer_init(ev_timer *t, void (*cb)(struct ev_loop *, ev_timer *, int), double after,
                       double repeat, struct supervisor *s)
{
        ev_timer_init(t, cb, after, repeat);
        t->data = s;
}

static void start_watchers(struct ev_loop *loop, struct supervisor *s)
{
        const struct tr_supervise_opts *o = s->o;

        ev_child_init(&s->child_w, on_child, s->child.pid, 1);
        s->child_w.data = s;
        ev_child_start(loop, &s->child_w);
        ev_child_init(&s->orphan_w, on_orphan, 0, 0);
        s->orphan_w.data = s;
        ev_child_start(loop, &s->orphan_w);
        s->out.replay = o->replay_out;
        s->err.replay = o->replay_err;
        stream_start(loop, s, &s->out, s->child.out_fd);
        stream_start(loop, s, &s->err, s->child.err_fd);
        ev_io_init(&s->control_w, on_control, s->control_fd, EV_READ);
        s->control_w.data = s;
        if (s->control_fd >= 0)
                ev_io_start(loop, &s->control_w);
        for (size_t i = 0; i < NFORWARDED; i++) {
                ev_signal_init(&s->sig_w[i], on_signal, forwarded[i]);
                s->sig_w[i].data = s;
                ev_signal_start(loop, &s->sig_w[i]);
        }
        timer_init(&s->kill_w, on_kill_after, 0, 0, s);
        timer_init(&s->orphan_kill_w, on_orphan_kill, 0, 0, s);
        timer_init(&s->timeout_w, on_timeout, o->timeout_ms / 1000.0, 0, s);
        if (o->timeout_ms > 0)
                ev_timer_start(loop, &s->timeout_w);
        timer_init(&s->stall_w, on_stall, o->stall_timeout_ms / 1000.0, 0, s);
        if (o->stall_timeout_ms > 0) {
                ev_now_update(loop); /* the silence starts now, not when the loop last ran */
                s->last_output = ev_now(loop);
                ev_timer_start(loop, &s->stall_w);
        }
        timer_init(&s->heartbeat_w, on_heartbeat, o->heartbeat_ms / 1000.0,
                   o->heartbeat_ms / 1000.0, s);
        if (o->heartbeat_ms > 0)
                ev_timer_start(loop, &s->heartbeat_w);
        timer_init(&s->running_w, on_running, o->running_delay_ms / 1000.0, 0, s);
        if (o->on_running != NULL && s->child.exec_errno == 0)
                ev_timer_start(loop, &s->running_w);
        ev_idle_init(&s->idle_w, on_idle);
        s->idle_w.data = s;
        if (o->on_idle != NULL && s->child.exec_errno == 0)
                ev_idle_start(loop, &s->idle_w); /* runs only when no other event is pending */
}

static void stop_watchers(struct ev_loop *loop, struct supervisor *s)
{
        ev_child_stop(loop, &s->child_w);
        ev_child_stop(loop, &s->orphan_w);
        stream_close(loop, &s->out);
        stream_close(loop, &s->err);
        ev_io_stop(loop, &s->out.sink_w);
        ev_io_stop(loop, &s->err.sink_w);
        tr_sink_close(&s->out.sink);
        tr_sink_close(&s->err.sink);
        for (size_t i = 0; i < NFORWARDED; i++)
                ev_signal_stop(loop, &s->sig_w[i]);
        ev_timer_stop(loop, &s->timeout_w);
        ev_timer_stop(loop, &s->stall_w);
        ev_timer_stop(loop, &s->kill_w);
        ev_timer_stop(loop, &s->orphan_kill_w);
        ev_timer_stop(loop, &s->heartbeat_w);
        ev_timer_stop(loop, &s->running_w);
        ev_idle_stop(loop, &s->idle_w);
        ev_io_stop(loop, &s->control_w);
        if (s->control_fd >= 0)
                close(s->control_fd); /* the signal stays blocked: a late request is dropped */
        s->control_fd = -1;
}

static void fill_outcome(const struct supervisor *s, int64_t start_ms, struct tr_outcome *out)
{
        memset(out, 0, sizeof *out);
        out->exec_errno = s->child.exec_errno;
        out->timed_out = s->timed_out;
        out->stalled = s->stalled;
        out->output_errno = s->output_errno;
        out->user_ended = s->user_ended;
        out->kill_signal = s->kill_req.signal;
        out->kill_pid = s->kill_req.pid;
        out->kill_uid = s->kill_req.uid;
        if (WIFSIGNALED(s->status))
                out->signal = WTERMSIG(s->status);
        else
                out->exit_code = WEXITSTATUS(s->status);
        out->duration_ms = s->exit_ms - start_ms;
}

int tr_outcome_status(const struct tr_outcome *out, int preserve_status)
{
        int status;

        if (out->exec_errno != 0)
                return out->exec_errno == ENOENT ? TR_EXIT_NOENT : TR_EXIT_NOEXEC;
        if ((out->timed_out || out->stalled) && !preserve_status)
                return out->signal == SIGKILL ? TR_EXIT_TIMEOUT_KILL : TR_EXIT_TIMEOUT;
        status = out->signal != 0 ? TR_EXIT_SIGNAL + out->signal : out->exit_code;
        /* Output lost on the way is never a success. */
        return status == 0 && out->output_errno != 0 ? TR_EXIT_ERROR : status;
}

/*
 * Between the fork and ev_signal_start, a signal meant for the command would
 * kill us by its default action and leave the command running unwatched:
 * hold those signals back until the watchers take them. The child starts
 * with the mask taskrun was given (o->spawn.mask), not this one. The same
 * holds once the command has ended and the watchers are stopped.
 */
static void hold_forwarded(sigset_t *old)
{
        sigset_t set;

        sigemptyset(&set);
        for (size_t i = 0; i < NFORWARDED; i++)
                sigaddset(&set, forwarded[i]);
        sigprocmask(SIG_BLOCK, &set, old);
}

/*
 * The forwarded signals blocked or not as taskrun was started (o->spawn.mask):
 * a second attempt (--retry) finds them held since the first one's end.
 */
static void as_started(const struct tr_supervise_opts *o, sigset_t *mask)
{
        for (size_t i = 0; i < NFORWARDED; i++)
                if (sigismember(&o->spawn.mask, forwarded[i]))
                        sigaddset(mask, forwarded[i]);
                else
                        sigdelset(mask, forwarded[i]);
}

static void free_sinks(struct supervisor *s)
{
        tr_sink_close(&s->out.sink);
        tr_sink_close(&s->err.sink);
}

int tr_supervise(const struct tr_supervise_opts *o, struct tr_tail *tail, struct tr_outcome *out,
                 struct tr_err *e)
{
        /* ev_child needs the default loop, created before fork so no exit is missed. */
        struct ev_loop *loop = ev_default_loop(EVFLAG_AUTO);
        struct supervisor s = {.o = o, .tail = tail, .control_fd = -1};
        int64_t start_ms;
        sigset_t mask;

        if (loop == NULL)
                return tr_err_set(e, 0, "libev: cannot initialise the event loop");
        if (stream_open_sink(&s.out, STDOUT_FILENO) == -1 ||
            stream_open_sink(&s.err, STDERR_FILENO) == -1) {
                free_sinks(&s);
                return tr_err_sys(e, ENOMEM, "output buffer");
        }
        /* Descendants the command leaves behind become ours, reaped, never zombies. */
        prctl(PR_SET_CHILD_SUBREAPER, 1);
        start_ms = tr_monotonic_ms();
        /* Blocked before the mask is saved, so it stays blocked (the child gets o->spawn.mask). */
        s.control_fd = tr_control_open();
        hold_forwarded(&mask);
        as_started(o, &mask);
        if (tr_spawn(&o->spawn, &s.child, e) == -1) {
                sigprocmask(SIG_SETMASK, &mask, NULL);
                if (s.control_fd >= 0)
                        close(s.control_fd);
                free_sinks(&s);
                return -1;
        }
        start_watchers(loop, &s);
        sigprocmask(SIG_SETMASK, &mask, NULL);
        if (s.child.exec_errno == 0 && o->on_start != NULL)
                o->on_start(o->ctx, &s.child);
        while (!s.ended)
                ev_run(loop, 0);
        /*
         * A signal to forward now has no one to go to, and stopping the
         * watchers gives it back its default action: it would kill us before
         * the end is recorded. Hold such signals for the rest of our life.
         */
        hold_forwarded(&mask);
        stop_watchers(loop, &s);
        if (o->spawn.foreground)
                tcsetpgrp(STDIN_FILENO, getpgrp()); /* take the terminal back */
        fill_outcome(&s, start_ms, out);
        return 0;
}
