/*
 * What `wait` watches besides the task files: the process of a run on this
 * host, through a pidfd that becomes readable when it ends (zombie or reaped),
 * so that a run whose supervisor died is found lost without polling.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "taskrun/procinfo.h"
#include "wait.h"

/* The run's process ended: read its task again; it says how the run ended, or it is lost. */
static void on_pid_exit(struct ev_loop *loop, ev_io *io, int revents)
{
        struct waited *w = io->data;
        struct wait_ctx *c = w->ctx;
        (void)revents;

        tr_wait_unwatch_pid(c, w);
        c->recheck(c, w, 0); /* finds it lost, or already ended properly */
        if (c->status != -1)
                ev_break(loop, EVBREAK_ALL);
}

void tr_wait_watch_pid(struct wait_ctx *c, struct waited *w, pid_t pid, unsigned long long ticks)
{
        if (w->pidfd != -1 && w->pid == pid)
                return;
        tr_wait_unwatch_pid(c, w);
        if ((w->pidfd = tr_pidfd_open(pid)) == -1) {
                /* No pidfds here: look again every few seconds while anything runs. */
                if (!ev_is_active(&c->poll_pids_w))
                        ev_timer_start(c->loop, &c->poll_pids_w);
                return;
        }
        w->pid = pid;
        /*
         * The pid could be reused between the judgement and the open, so the
         * process is looked at once more after it: if it is still the recorded
         * one, the pidfd is its (a pid is not reused while its process lives).
         */
        if (!tr_proc_is_running(pid, ticks)) {
                tr_wait_unwatch_pid(c, w);
                c->arm_settle(c); /* the re-read finds it lost */
                return;
        }
        ev_io_init(&w->process_w, on_pid_exit, w->pidfd, EV_READ);
        w->process_w.data = w;
        ev_io_start(c->loop, &w->process_w);
}

void tr_wait_unwatch_pid(struct wait_ctx *c, struct waited *w)
{
        if (w->pidfd == -1)
                return;
        ev_io_stop(c->loop, &w->process_w);
        close(w->pidfd);
        w->pidfd = -1;
        w->pid = 0;
}
