/*
 * What tells others about a run: --summary and --github for CI, --ping for a
 * monitor, --events for a log shipper, --on-exit for a command of the user's.
 * Each fires once per run, however many attempts --retry makes: the start
 * before the first, the end after the final record.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ci.h"
#include "cli.h"
#include "on_exit.h"
#include "run_ctx.h"

/* --ping: the start ping goes out from the helper, so the command does not wait. */
static void ping_begin(struct run_ctx *c)
{
        struct tr_err e;

        if (c->o->ping_url == NULL)
                return;
        if ((c->ping = malloc(sizeof *c->ping)) == NULL) {
                tr_warnx("--ping: %s", strerror(ENOMEM));
                return;
        }
        if (tr_ping_init(c->ping, c->o->ping_url, &e) == -1 || tr_ping_start(c->ping, &e) == -1) {
                tr_warn_err(&e);
                tr_ping_free(c->ping);
                free(c->ping);
                c->ping = NULL;
        }
}

/* The end ping, after the final record; a monitor's trouble is only a warning. */
static void ping_end(struct run_ctx *c, int status, const char *body)
{
        struct tr_err start_e, e;
        int r;

        if (c->ping == NULL)
                return;
        r = tr_ping_end(c->ping, status, body, body ? strlen(body) : 0, &start_e, &e);
        if (start_e.msg[0] != '\0')
                tr_warn_err(&start_e);
        if (r == -1)
                tr_warn_err(&e);
        tr_ping_free(c->ping);
        free(c->ping);
        c->ping = NULL;
}

void tr_run_hooks_begin(struct run_ctx *c)
{
        const struct tr_run_opts *o = c->o;
        struct tr_err e;

        if (o->github && tr_github_active())
                tr_github_group_begin(o->subject, o->argv);
        ping_begin(c);
        if (o->events_path != NULL && tr_events_open(&c->events, o->events_path, &e) == -1) {
                tr_warn_err(&e);
                c->write_failed = 1;
        }
}

void tr_run_hooks_abort(struct run_ctx *c)
{
        tr_events_close(&c->events);
        ping_end(c, TR_EXIT_ERROR, NULL);
}

void tr_run_report_ci(struct run_ctx *c, const struct tr_run_end *end, int status)
{
        struct tr_ci_result r = {
            .argv = c->o->argv,
            .task_id = c->tracked ? c->ref.id : NULL,
            .started_at = c->info.started_at,
            .end = end,
            .subject = c->o->subject,
            .status = status,
        };
        struct tr_err e;

        if (c->o->summary_path != NULL && tr_ci_write_summary(c->o->summary_path, &r, &e) == -1) {
                tr_warn_err(&e);
                c->write_failed = 1;
        }
        if (c->o->github && tr_github_active()) {
                tr_github_group_end();
                if (tr_github_report(&r, &e) == -1)
                        tr_warn_err(&e);
        }
}

/* The hook's stdin: the task as it reads now, or the --summary object without one. */
static char *final_record(struct run_ctx *c, const struct tr_ci_result *r)
{
        json_object *o = NULL;
        struct tr_err e;
        char *text;

        if (c->tracked && tr_task_read(&c->store, &c->ref, &o, &e) == 0)
                text = strdup(tr_task_format(o));
        else if ((o = tr_ci_summary(r)) != NULL)
                text = strdup(json_object_to_json_string_ext(
                    o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
        else
                text = NULL;
        json_object_put(o);
        return text;
}

/* A failed hook is a warning, and metadata.taskrun.on_exit_error in the task. */
static void record_on_exit_error(struct run_ctx *c, const char *why)
{
        json_object *patch, *block;
        struct tr_err e;

        tr_warnx("--on-exit: %s", why);
        if (!c->tracked)
                return;
        patch = block = json_object_new_object();
        if (c->store.schema == TR_SCHEMA_CLAUDE) {
                json_object *meta = json_object_new_object();
                block = json_object_new_object();
                json_object_object_add(meta, "taskrun", block);
                json_object_object_add(patch, "metadata", meta);
        }
        json_object_object_add(block, "on_exit_error", json_object_new_string(why));
        if (tr_task_patch(&c->store, &c->ref, patch, &e) == -1)
                tr_warn_err(&e);
        json_object_put(patch);
}

/* --on-exit CMD, once the final record is written; never changes our exit status. */
static void run_on_exit(struct run_ctx *c, const struct tr_run_end *end, int status)
{
        struct tr_ci_result r = {
            .argv = c->o->argv,
            .task_id = c->tracked ? c->ref.id : NULL,
            .started_at = c->info.started_at,
            .end = end,
        };
        char *input = final_record(c, &r), dir[PATH_MAX];
        struct tr_on_exit h = {
            .cmd = c->o->on_exit,
            .input = input ? input : "",
            .input_len = input ? strlen(input) : 0,
            .timeout_ms = c->o->on_exit_timeout_ms,
            .task_id = c->tracked ? c->ref.id : "",
            .list_dir = !c->tracked                           ? ""
                        : realpath(c->store.dir, dir) != NULL ? dir
                                                              : c->store.dir,
            .state = tr_state_name(end->state),
            .exit_status = status,
            .duration_ms = end->duration_ms,
            .mask = c->mask,
            .defaults = c->defaults,
        };
        struct tr_err e;

        if (tr_on_exit_run(&h, &e) == -1)
                record_on_exit_error(c, e.msg);
        free(input);
}

void tr_run_hooks_end(struct run_ctx *c, const struct tr_run_end *end, int status, const char *tail)
{
        tr_run_emit_end(c, end, status);
        ping_end(c, status, tail);
        if (c->o->on_exit != NULL)
                run_on_exit(c, end, status);
}
