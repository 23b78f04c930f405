/* Which tasks `wait` with no id waits for, and what it says of one still not done. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "wait.h"

/* A run that taskrun started (it recorded argv) and that says it is going on, or waits for
 * its blockers or a slot: `taskrun -d --slots 2 ...` several times, then `taskrun wait`. */
static int is_live_run(json_object *task, enum tr_schema schema)
{
        static const char *const live[] = {"running", "stopped", "waiting", "queued"};
        json_object *block = tr_task_block(task, schema), *argv;
        const char *state = tr_json_str(block, "state");

        if (state == NULL || !json_object_object_get_ex(block, "argv", &argv))
                return 0;
        for (size_t i = 0; i < sizeof live / sizeof live[0]; i++)
                if (strcmp(state, live[i]) == 0)
                        return 1;
        return 0;
}

int tr_wait_running_targets(const char *cmd, const struct tr_store_opts *so, struct tr_targets *t)
{
        struct tr_task_list l = {0};
        struct tr_err e;
        int missing, r;

        t->refs = NULL;
        t->n = 0;
        if ((r = tr_cmd_open_list(cmd, so, &t->store, &missing)) != TR_EXIT_OK || missing)
                return r;
        if (tr_list_read(cmd, &t->store, &l, &e) == -1) {
                tr_cmd_warn(cmd, &e);
                return TR_EXIT_FAIL;
        }
        if ((t->refs = calloc(l.n ? l.n : 1, sizeof *t->refs)) == NULL) {
                tr_list_free(&l);
                tr_warnx("%s: out of memory", cmd);
                return TR_EXIT_FAIL;
        }
        for (size_t i = 0; i < l.n; i++)
                if (is_live_run(l.v[i].task, t->store.schema))
                        t->refs[t->n++] = l.v[i].ref;
        tr_list_free(&l);
        return TR_EXIT_OK;
}

void tr_wait_print_pending(const struct wait_ctx *c, struct waited *w)
{
        struct tr_outcome_view v = {.id = w->ref.id, .word = "not done"};
        json_object *task = NULL, *block = NULL;
        struct tr_err e;
        char reason[96], took[32];

        if (c->quiet)
                return;
        if (tr_task_read(c->store, &w->ref, &task, &e) == 0) {
                block = tr_task_block(task, c->store->schema);
                const char *state = tr_json_str(block, "state");
                const char *status = tr_json_str(task, "status");
                v.word = state ? state : status ? status : "not done";
        }
        tr_task_duration(block, took, sizeof took);
        snprintf(reason, sizeof reason, "%s%s%swait timed out", strcmp(took, "-") ? took : "",
                 strcmp(took, "-") ? " so far" : "", strcmp(took, "-") ? "; " : "");
        v.reason = reason;
        v.block = block;
        if (c->json) {
                json_object *o = tr_outcome_json(&v);
                printf("%s\n", json_object_to_json_string_ext(
                                   o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
                json_object_put(o);
        } else {
                char line[1024];
                v.block = NULL; /* the reason says it all; no last line for a run going on */
                tr_outcome_describe(&v, line, sizeof line);
                printf("%s\n", line);
        }
        json_object_put(task);
}
