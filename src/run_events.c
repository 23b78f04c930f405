/* --events FILE: the run's lifecycle as JSON Lines (events.h writes them). */
#include "cli.h"
#include "run_ctx.h"

/* An --events line: event, time and task first; the caller adds the rest. */
static json_object *event_new(struct run_ctx *c, const char *name)
{
        json_object *ev = tr_event_new(name);

        json_object_object_add(ev, "task", c->tracked ? json_object_new_string(c->ref.id) : NULL);
        return ev;
}

/* Append it; a failure is one warning (and 125 with --strict), then no more events. */
static void emit(struct run_ctx *c, json_object *ev)
{
        struct tr_err e;

        if (tr_events_emit(&c->events, ev, &e) == -1) {
                tr_warn_err(&e);
                c->write_failed = 1;
                tr_events_close(&c->events);
        }
}

/* exit_code or signal, as the record has them: one of the two is null. */
static void add_result(json_object *ev, const struct tr_run_end *end)
{
        json_object_object_add(ev, "exit_code",
                               end->signal ? NULL : json_object_new_int(end->exit_code));
        json_object_object_add(ev, "signal", end->signal ? json_object_new_int(end->signal) : NULL);
}

/* Once per run, at the first attempt's start. */
void tr_run_emit_start(struct run_ctx *c)
{
        json_object *ev;

        if (c->events.fd == -1 || c->start_emitted)
                return;
        c->start_emitted = 1;
        tr_run_host_facts(c);
        ev = event_new(c, "start");
        json_object_object_add(ev, "pid", c->info.pid ? json_object_new_int(c->info.pid) : NULL);
        tr_event_add_text(ev, "host", c->info.host);
        json_object_object_add(ev, "argv", tr_json_argv(c->o->argv));
        emit(c, ev);
}

void tr_run_emit_heartbeat(struct run_ctx *c, uint64_t bytes, const char *last)
{
        json_object *ev;

        if (c->events.fd == -1)
                return;
        ev = event_new(c, "heartbeat");
        json_object_object_add(ev, "output_bytes", json_object_new_int64((int64_t)bytes));
        tr_event_add_text(ev, "last_line", last);
        emit(c, ev);
}

void tr_run_emit_stop(struct run_ctx *c, int sig)
{
        json_object *ev;

        if (c->events.fd == -1)
                return;
        ev = event_new(c, sig ? "stopped" : "continued");
        if (sig)
                json_object_object_add(ev, "signal", json_object_new_int(sig));
        emit(c, ev);
}

/* An attempt failed and another follows after delay_ms. */
void tr_run_emit_retry(struct run_ctx *c, const struct tr_run_end *end, int64_t delay_ms)
{
        json_object *ev;

        if (c->events.fd == -1)
                return;
        ev = event_new(c, "retry");
        json_object_object_add(ev, "attempt", json_object_new_int(c->info.attempt));
        json_object_object_add(ev, "state", json_object_new_string(tr_state_name(end->state)));
        add_result(ev, end);
        json_object_object_add(ev, "duration_ms", json_object_new_int64(end->duration_ms));
        json_object_object_add(ev, "delay_ms", json_object_new_int64(delay_ms));
        emit(c, ev);
}

void tr_run_emit_end(struct run_ctx *c, const struct tr_run_end *end, int status)
{
        json_object *ev;

        if (c->events.fd == -1)
                return;
        tr_run_emit_start(c); /* a command that could not start has its start too */
        ev = event_new(c, "end");
        json_object_object_add(ev, "state", json_object_new_string(tr_state_name(end->state)));
        add_result(ev, end);
        json_object_object_add(ev, "status", json_object_new_int(status));
        json_object_object_add(ev, "duration_ms", json_object_new_int64(end->duration_ms));
        if (c->info.attempt > 0)
                json_object_object_add(ev, "attempts", json_object_new_int(c->info.attempt));
        emit(c, ev);
        tr_events_close(&c->events);
}
