/*
 * --retry between attempts (run_ctx.h): the record's history of attempts, the
 * record and the line that say another attempt follows, and the wait.
 */
#include <stdio.h>
#include <unistd.h>

#include "cli.h"
#include "run_ctx.h"
#include "run_log.h"
#include "taskrun/atomic.h"

/* {attempt, started_at, duration_ms, state, exit_code, signal}: one attempt, as the record keeps
 * it. */
static json_object *attempt_entry(const struct run_ctx *c, const struct tr_run_end *end)
{
        json_object *a = json_object_new_object();

        json_object_object_add(a, "attempt", json_object_new_int(c->info.attempt));
        json_object_object_add(a, "started_at", json_object_new_string(c->info.started_at));
        json_object_object_add(a, "duration_ms", json_object_new_int64(end->duration_ms));
        json_object_object_add(a, "state", json_object_new_string(tr_state_name(end->state)));
        json_object_object_add(a, "exit_code",
                               end->signal ? NULL : json_object_new_int(end->exit_code));
        json_object_object_add(a, "signal", end->signal ? json_object_new_int(end->signal) : NULL);
        return a;
}

void tr_run_attempt_add(struct run_ctx *c, const struct tr_run_end *end)
{
        json_object *h = c->info.attempts;

        if (h == NULL)
                return;
        json_object_array_add(h, attempt_entry(c, end));
        if (json_object_array_length(h) > TR_ATTEMPTS_KEPT)
                json_object_array_del_idx(h, 0, json_object_array_length(h) - TR_ATTEMPTS_KEPT);
}

/* The running record of a quick attempt, and that it is to be retried, in one write. */
static int report_start_retry(json_object *task, void *arg, struct tr_err *e)
{
        if (tr_report_start(task, arg, e) == -1)
                return -1;
        return tr_report_retry(task, arg, e);
}

/* "attempt 1 of 3: ...; retrying in 0.9s": into the log, or on stderr unless --quiet. */
static void say_retry(const struct run_ctx *c, const struct tr_run_end *end, int64_t delay_ms)
{
        char line[400];

        tr_log_retry_line(c->info.attempt, c->o->retry.max + 1, end, delay_ms, line, sizeof line);
        if (c->o->detach)
                tr_log_retry(STDOUT_FILENO, line);
        else if (!c->o->quiet)
                tr_warnx("%s", line);
}

int tr_run_retry_pause(struct run_ctx *c, const struct tr_run_end *end, struct tr_retry_stop *stop)
{
        int64_t delay = tr_retry_delay(&c->o->retry, c->info.attempt, tr_retry_random());
        int64_t at_ms = tr_realtime_ms() + delay;
        struct timespec at = {.tv_sec = at_ms / 1000, .tv_nsec = at_ms % 1000 * 1000000};
        char retry_at[TR_ISO8601_LEN];

        tr_iso8601(&at, retry_at);
        c->report.end = end;
        c->report.retry_at = retry_at;
        if (tr_run_write(c, c->running_written ? tr_report_retry : report_start_retry,
                         TR_RUN_TRANSIENT) != 1)
                c->running_written = 1; /* as on_running does: the end needs no start again */
        c->report.end = NULL;
        if (c->ready_fd != -1) {
                close(c->ready_fd); /* --detach: a quick first attempt; the parent may go */
                c->ready_fd = -1;
        }
        say_retry(c, end, delay);
        tr_run_emit_retry(c, end, delay);
        return tr_retry_wait(delay, &c->mask, stop);
}
