/*
 * --slots N [--queue NAME]: wait for a slot of the queue (queue.h) before the
 * command starts. One libev loop sleeps on one FIFO write end (the run just
 * ahead) or, first in line, on those of the busy slots; each turns readable
 * only when its reader is gone, so a freed slot or a run that left the line
 * wakes exactly the run that can move, and a wait costs no CPU.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gate.h"

struct slots_ctx {
        struct tr_gate *g;
        struct ev_loop *loop;
        ev_io holder_w[TR_QUEUE_SLOTS_MAX]; /* the run ahead, or the busy slots: gone */
        int n_holders;
        int recorded; /* the queued record is written */
        int first;    /* first in line: only the slots matter now */
};

/* A reader is gone: look again. */
static void on_gone(struct ev_loop *loop, ev_io *w, int revents)
{
        (void)w;
        (void)revents;
        ev_break(loop, EVBREAK_ALL);
}

/* Sleep on fd until its reader is gone (libev reports POLLERR as readable). */
static void watch(struct slots_ctx *c, int fd)
{
        ev_io *w = &c->holder_w[c->n_holders++];

        ev_io_init(w, on_gone, fd, EV_READ);
        ev_io_start(c->loop, w);
}

/* Woken: stop every watcher before looking again. */
static void unwatch(struct slots_ctx *c)
{
        for (int i = 0; i < c->n_holders; i++)
                ev_io_stop(c->loop, &c->holder_w[i]);
        c->n_holders = 0;
}

/* The queue's key and the name the record shows: --queue NAME, else the list. */
static int queue_names(const struct tr_gate *g, char *key, size_t kn, const char **label)
{
        char dir[PATH_MAX];
        int len;

        if (g->o->queue != NULL) {
                *label = g->o->queue;
                len = snprintf(key, kn, "name:%s", g->o->queue);
        } else {
                *label = g->store->list[0] != '\0' ? g->store->list : g->store->dir;
                len = snprintf(key, kn, "list:%s",
                               realpath(g->store->dir, dir) != NULL ? dir : g->store->dir);
        }
        return len < 0 || (size_t)len >= kn ? -1 : 0;
}

/* Once: the record says queued, and a detaching parent may go. */
static void record_queued(struct slots_ctx *c, const char *label)
{
        struct tr_err e;

        if (c->recorded)
                return;
        if (tr_gate_record_queued(c->g, label, &e) == -1)
                tr_warn_err(&e); /* the wait goes on; the end is recorded all the same */
        tr_gate_ready(c->g);
        c->recorded = 1;
}

/*
 * 0 a slot is ours, 1 wait for what c watches now, -1 error. Once first in
 * line, always first (tickets only grow): a freed slot is taken at once.
 */
static int step(struct slots_ctx *c, struct tr_err *e)
{
        struct tr_queue *q = &c->g->queue;
        int r = c->first ? 0 : tr_queue_find_ahead(q, e);

        if (r == 1) {
                watch(c, q->ahead_fd);
                return 1;
        }
        c->first = r == 0;
        if (r == 0 && (r = tr_queue_take(q, e)) == 0)
                for (int i = 0; i < q->n_busy; i++)
                        watch(c, q->busy[i]);
        return r == 1 ? 0 : r == 0 ? 1 : -1;
}

/* Look, and sleep until something changes, until a slot is ours or a signal ends the wait. */
static int wait_in_line(struct slots_ctx *c, const char *label, struct tr_err *e)
{
        int r;

        tr_gate_signals_start(c->g, c->loop);
        while ((r = step(c, e)) == 1) {
                record_queued(c, label);
                ev_run(c->loop, 0);
                unwatch(c);
                if (c->g->signal != 0)
                        break;
        }
        tr_gate_signals_stop(c->g, c->loop);
        return r;
}

int tr_gate_slots(struct tr_gate *g, struct tr_err *e)
{
        struct slots_ctx *c;
        char key[PATH_MAX + 16];
        const char *label;
        int r;

        if (g->o->slots == 0)
                return TR_GATE_GO;
        if (queue_names(g, key, sizeof key, &label) == -1)
                return tr_err_set(e, ENAMETOOLONG, "--queue: name too long");
        if (tr_queue_open(&g->queue, key, g->o->slots, e) == -1 ||
            tr_queue_join(&g->queue, e) == -1)
                return -1;
        if ((c = calloc(1, sizeof *c)) == NULL)
                return tr_err_sys(e, ENOMEM, "--slots");
        c->g = g;
        c->loop = ev_default_loop(EVFLAG_AUTO);
        r = wait_in_line(c, label, e);
        free(c);
        if (g->signal != 0 || r != 0)
                tr_queue_leave(&g->queue); /* a slot taken stays ours */
        if (g->signal != 0)
                return TR_GATE_SIGNALLED;
        return r == 0 ? TR_GATE_GO : -1;
}
