/*
 * What a run records before its command starts: waiting for blockers, queued
 * for a slot, or over before it began (skipped, killed while waiting). The
 * pid is taskrun's own: it is the process that waits, and the one to signal.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "gate.h"
#include "taskrun/procinfo.h"
#include "report.h"
#include "taskrun/signame.h"
#include "taskrun/utf8.h"

struct gate_record {
        struct tr_gate *g;
        const char *state;
        json_object *waiting_for; /* borrowed */
        const char *queue; /* queued: the queue's name; its dir and our ticket are in g->queue */
        int sig;
        const char *outcome; /* the line for the description's result block */
};

/* Keys of a run's record that an earlier run may have left at the top of a plain task. */
static void clear_plain(json_object *task)
{
        static const char *const keys[] = {
            "exit_code",   "signal",      "timed_out", "ended_at",        "duration_ms",
            "output_tail", "last_line",   "error",     "heartbeat_at",    "output_bytes",
            "started_at",  "waiting_for", "queue",     "queue_dir",       "ticket",
            "slots",       "position",    "since",     "skipped_because", "stalled",
            "attempt",     "attempts",    "retry_at",  "options"};

        for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
                json_object_object_del(task, keys[i]);
}

/* metadata.taskrun afresh in a Claude list; the task itself, cleared, in a plain file. */
static json_object *fresh_block(json_object *task, enum tr_schema schema)
{
        json_object *meta, *block;

        if (schema == TR_SCHEMA_PLAIN) {
                clear_plain(task);
                return task;
        }
        if (!json_object_object_get_ex(task, "metadata", &meta) ||
            !json_object_is_type(meta, json_type_object)) {
                meta = json_object_new_object();
                json_object_object_add(task, "metadata", meta);
        }
        block = json_object_new_object();
        json_object_object_add(meta, "taskrun", block);
        return block;
}

/* Who waits: this process, where, since when, to run what. */
static void set_waiter(json_object *b, char *const *argv)
{
        char cwd[PATH_MAX], host[256], boot[64], now[TR_ISO8601_LEN];
        unsigned long long ticks = 0;

        if (getcwd(cwd, sizeof cwd) == NULL)
                snprintf(cwd, sizeof cwd, "?");
        if (tr_hostname(host, sizeof host) == -1)
                host[0] = '\0';
        if (tr_boot_id(boot, sizeof boot) == -1)
                boot[0] = '\0';
        tr_proc_start_ticks(getpid(), &ticks);
        tr_iso8601_now(now);
        json_object_object_add(b, "argv", tr_json_argv(argv));
        json_object_object_add(b, "cwd", tr_json_utf8(cwd));
        json_object_object_add(b, "pid", json_object_new_int64(getpid()));
        json_object_object_add(b, "host", tr_json_utf8(host));
        json_object_object_add(b, "boot_id", json_object_new_string(boot));
        json_object_object_add(b, "start_time_ticks", json_object_new_int64((int64_t)ticks));
        json_object_object_add(b, "since", json_object_new_string(now));
}

/* tr_mutate_fn: the record of a run that has not started (waiting, queued, skipped or killed). */
static int record_before(json_object *task, void *arg, struct tr_err *e)
{
        struct gate_record *r = arg;
        enum tr_schema schema = r->g->store->schema;
        json_object *b = fresh_block(task, schema);
        char *cmd = tr_argv_join(r->g->argv, 200);
        (void)e;

        json_object_object_add(b, "state", json_object_new_string(r->state));
        set_waiter(b, r->g->argv);
        if (r->g->options != NULL)
                json_object_object_add(b, "options", json_object_get(r->g->options));
        if (r->waiting_for != NULL)
                json_object_object_add(b, "waiting_for", json_object_get(r->waiting_for));
        if (r->queue != NULL) {
                json_object_object_add(b, "queue", tr_json_utf8(r->queue));
                json_object_object_add(b, "slots", json_object_new_int(r->g->o->slots));
                json_object_object_add(b, "queue_dir", tr_json_utf8(r->g->queue.dir));
                json_object_object_add(b, "ticket",
                                       json_object_new_int64((int64_t)r->g->queue.ticket));
        }
        /* Not started: pending, or failed in a plain file once it is over. */
        int over = strcmp(r->state, "skipped") == 0 || strcmp(r->state, "killed") == 0;
        json_object_object_add(
            task, "status",
            json_object_new_string(over && schema == TR_SCHEMA_PLAIN ? "failed" : "pending"));
        if (over) {
                char now[TR_ISO8601_LEN];
                tr_iso8601_now(now);
                json_object_object_add(b, "ended_at", json_object_new_string(now));
                json_object_object_add(b, "signal", r->sig ? json_object_new_int(r->sig) : NULL);
                if (strcmp(r->state, "skipped") == 0)
                        json_object_object_add(b, "skipped_because", tr_json_utf8(r->g->why));
        }
        /* TaskGet shows the description, not the metadata: say it there too. */
        if (schema == TR_SCHEMA_CLAUDE)
                tr_result_block_set(task, r->outcome, cmd, NULL);
        free(cmd);
        return 0;
}

/* Write it into the task, if the run keeps one. */
static int write_record(struct gate_record *r, struct tr_err *e)
{
        if (r->g->ref == NULL)
                return 0;
        return tr_task_update(r->g->store, r->g->ref, record_before, r, e);
}

/* "task 3", "tasks 3, 4 and 5" */
static void ids_text(json_object *ids, char *buf, size_t n)
{
        size_t len = json_object_array_length(ids), used;

        used = (size_t)snprintf(buf, n, "task%s ", len == 1 ? "" : "s");
        for (size_t i = 0; i < len && used < n; i++)
                used += (size_t)snprintf(buf + used, n - used, "%s%s",
                                         i == 0         ? ""
                                         : i + 1 == len ? " and "
                                                        : ", ",
                                         json_object_get_string(json_object_array_get_idx(ids, i)));
}

int tr_gate_record_waiting(struct tr_gate *g, json_object *ids, struct tr_err *e)
{
        char list[400], outcome[480];
        struct gate_record r = {.g = g, .state = "waiting", .waiting_for = ids};

        ids_text(ids, list, sizeof list);
        snprintf(outcome, sizeof outcome, "waiting: starts once %s %s", list,
                 g->o->after_done ? "ended" : "completed");
        r.outcome = outcome;
        return write_record(&r, e);
}

int tr_gate_record_queued(struct tr_gate *g, const char *queue, struct tr_err *e)
{
        char outcome[PATH_MAX + 100];
        struct gate_record r = {.g = g, .state = "queued", .queue = queue};

        snprintf(outcome, sizeof outcome, "queued: waits for one of %d slot%s of queue %s",
                 g->o->slots, g->o->slots == 1 ? "" : "s", queue);
        r.outcome = outcome;
        return write_record(&r, e);
}

int tr_gate_record_end(struct tr_gate *g, const char *state, int sig, struct tr_err *e)
{
        char outcome[700];
        struct gate_record r = {.g = g, .state = state, .sig = sig};

        if (strcmp(state, "skipped") == 0)
                snprintf(outcome, sizeof outcome, "skipped, did not run: %s", g->why);
        else {
                char name[32];
                tr_signal_name(sig, name, sizeof name);
                snprintf(outcome, sizeof outcome, "killed by %s before it started", name);
        }
        r.outcome = outcome;
        return write_record(&r, e);
}

void tr_gate_ready(struct tr_gate *g)
{
        g->recorded = 1;
        if (*g->ready_fd != -1) {
                close(*g->ready_fd);
                *g->ready_fd = -1;
        }
}
