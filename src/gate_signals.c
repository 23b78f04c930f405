/* While a run waits at a gate, TERM, INT and HUP end the wait (the run is then killed, not
 * started). */
#include <signal.h>
#include <stddef.h>

#include "gate.h"

/* TERM, INT or HUP while waiting: the wait ends, and the run is recorded as killed. */
static void on_signal(struct ev_loop *loop, ev_signal *w, int revents)
{
        struct tr_gate *g = w->data;
        (void)revents;

        g->signal = w->signum;
        ev_break(loop, EVBREAK_ALL);
}

void tr_gate_signals_start(struct tr_gate *g, struct ev_loop *loop)
{
        static const int sigs[] = {SIGTERM, SIGINT, SIGHUP};

        for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
                ev_signal_init(&g->sig_w[i], on_signal, sigs[i]);
                g->sig_w[i].data = g;
                ev_signal_start(loop, &g->sig_w[i]);
        }
}

void tr_gate_signals_stop(struct tr_gate *g, struct ev_loop *loop)
{
        for (size_t i = 0; i < sizeof g->sig_w / sizeof g->sig_w[0]; i++)
                ev_signal_stop(loop, &g->sig_w[i]);
}
