/* The gates in order: blockers, then a slot; what a run that never started records and returns. */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "gate.h"
#include "run.h"
#include "taskrun/atomic.h"

void tr_gate_init(struct tr_gate *g, const struct tr_gate_opts *o, char *const *argv)
{
        memset(g, 0, sizeof *g);
        g->o = o;
        g->argv = argv;
        g->unique_fd = -1;
        g->queue.place_fd = g->queue.ahead_fd = g->queue.slot_fd = -1;
}

/* A run that will not start: a detaching parent still waiting learns the status. */
static int over(struct tr_gate *g, int status)
{
        if (*g->ready_fd != -1) {
                unsigned char byte = (unsigned char)status;
                tr_write_all(*g->ready_fd, &byte, 1);
                close(*g->ready_fd);
                *g->ready_fd = -1;
        }
        return status;
}

/* A blocker failed: the task records the run as skipped, and the status says it did not run. */
static int skipped(struct tr_gate *g)
{
        struct tr_err e;

        if (tr_gate_record_end(g, "skipped", 0, &e) == -1)
                tr_warn_err(&e);
        tr_warnx("not run: %s", g->why);
        return over(g, TR_EXIT_SKIPPED);
}

/* Killed while it waited: recorded as killed, and the status a signal gives. */
static int killed(struct tr_gate *g)
{
        struct tr_err e;

        if (tr_gate_record_end(g, "killed", g->signal, &e) == -1)
                tr_warn_err(&e);
        return over(g, TR_EXIT_SIGNAL + g->signal);
}

/* Blockers first, then a slot: a run holds a slot only once it can use it. */
int tr_gate_pass(struct tr_gate *g)
{
        struct tr_err e;
        int r = tr_gate_after(g, &e);

        if (r == TR_GATE_GO)
                r = tr_gate_slots(g, &e);
        if (r == -1) {
                tr_warn_err(&e);
                return over(g, TR_EXIT_ERROR);
        }
        if (r == TR_GATE_SKIP)
                return skipped(g);
        if (r == TR_GATE_SIGNALLED)
                return killed(g);
        return TR_GO;
}

void tr_gate_started(struct tr_gate *g)
{
        tr_queue_leave(&g->queue);
}

void tr_gate_release(struct tr_gate *g)
{
        tr_queue_release(&g->queue);
        /* Unlock before close: the close is what wakes a waiter, and it must find it free. */
        if (g->unique_fd != -1) {
                flock(g->unique_fd, LOCK_UN);
                close(g->unique_fd);
                g->unique_fd = -1;
        }
}
