/* `taskrun create`: make a task as Claude's TaskCreate does and print its id. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "taskrun/utf8.h"
#include "cmd.h"

#define CMD "create"

enum {
        OPT_DESCRIPTION = TR_OPT_FIRST_FREE,
        OPT_ACTIVE_FORM,
        OPT_BLOCKED_BY,
        OPT_ID,
        OPT_SET_META,
};

static const struct option options[] = {
    {"subject", required_argument, NULL, 's'},
    {"description", required_argument, NULL, OPT_DESCRIPTION},
    {"active-form", required_argument, NULL, OPT_ACTIVE_FORM},
    {"blocked-by", required_argument, NULL, OPT_BLOCKED_BY},
    {"id", required_argument, NULL, OPT_ID},
    {"set-meta", required_argument, NULL, OPT_SET_META},
    {"help", no_argument, NULL, 'h'},
    TR_STORE_LONGOPTS,
    {NULL, 0, NULL, 0},
};

struct create_opts {
        const char *subject, *description, *active_form, *id;
        const char **blocked_by; /* argc entries at most; n_blocked used */
        int n_blocked;
        json_object *meta; /* NULL until a --set-meta */
};

/* create's --help; the man page says the same. */
static void usage(FILE *f)
{
        fputs("usage: taskrun create [options]\n"
              "\n"
              "Create a pending task and print its id (with --file: the file's path).\n"
              "The id is allocated as Claude Code does, under the list lock.\n"
              "\n"
              "task:    -s, --subject TEXT       subject (default empty)\n"
              "         --description TEXT       description (default empty)\n"
              "         --active-form TEXT       activeForm, shown while in progress\n"
              "         --blocked-by ID          add ID to blockedBy and this task to ID's\n"
              "                                  blocks (repeatable; ID must exist)\n"
              "         --id ID                  this id instead of the next free one\n"
              "         --set-meta KEY=JSON      set metadata.KEY to a JSON value (repeatable);\n"
              "                                  a string needs quotes: --set-meta 'ci=\"yes\"'\n"
              "         -h, --help               this help\n",
              f);
        tr_cmd_store_usage(f);
        fputs("\nexit status: 0 created; 1 could not create (id taken, blocker not found,\n"
              "lock timeout, I/O error); 2 usage error. A blocker whose blocks could not be\n"
              "updated is reported, the new id still printed, and the status is 1.\n",
              f);
}

/* spec->apply: opts is a struct create_opts; a --blocked-by given twice counts once. */
static int apply_option(void *opts, int c, const char *arg)
{
        struct create_opts *o = opts;

        switch (c) {
        case 's':
                o->subject = arg;
                return 0;
        case OPT_DESCRIPTION:
                o->description = arg;
                return 0;
        case OPT_ACTIVE_FORM:
                o->active_form = arg;
                return 0;
        case OPT_ID:
                o->id = arg;
                return 0;
        case OPT_BLOCKED_BY:
                for (int i = 0; i < o->n_blocked; i++)
                        if (strcmp(o->blocked_by[i], arg) == 0)
                                return 0;
                o->blocked_by[o->n_blocked++] = arg;
                return 0;
        case OPT_SET_META:
                if (o->meta == NULL)
                        o->meta = json_object_new_object();
                return tr_cmd_meta_arg(CMD, arg, o->meta);
        }
        return -1;
}

/* Every blocker must be a valid id of an existing task. */
static int check_blockers(const struct create_opts *o, const struct tr_store *s)
{
        struct tr_task_ref ref;
        struct tr_err e;
        json_object *task;
        int r;

        for (int i = 0; i < o->n_blocked; i++) {
                if (tr_id_validate("--blocked-by", o->blocked_by[i], &e) == -1) {
                        tr_cmd_warn(CMD, &e);
                        return TR_EXIT_USAGE;
                }
                if (tr_store_ref(s, o->blocked_by[i], &ref, &e) == -1) {
                        tr_cmd_warn(CMD, &e);
                        return TR_EXIT_FAIL;
                }
                if ((r = tr_cmd_read(CMD, s, &ref, &task)) != TR_EXIT_OK)
                        return r;
                json_object_put(task);
        }
        return TR_EXIT_OK;
}

/* The new task as Claude's TaskCreate makes it, with the options given. */
static json_object *build_task(const struct create_opts *o)
{
        json_object *task = tr_task_new(o->subject, o->description), *blocked;

        if (o->active_form != NULL)
                json_object_object_add(task, "activeForm", tr_json_utf8(o->active_form));
        if (json_object_object_get_ex(task, "blockedBy", &blocked))
                for (int i = 0; i < o->n_blocked; i++)
                        json_object_array_add(blocked, json_object_new_string(o->blocked_by[i]));
        if (o->meta != NULL)
                json_object_object_add(task, "metadata", json_object_get(o->meta));
        return task;
}

/* Create it: a plain file or a given --id at its path, else with the next free id of the list. */
static int write_task(const struct create_opts *o, const struct tr_store *s,
                      struct tr_task_ref *ref, struct tr_err *e)
{
        json_object *task = build_task(o);
        int r;

        if (s->schema == TR_SCHEMA_PLAIN)
                r = tr_task_create_at(s, ref, task, 0, e);
        else if (o->id != NULL)
                r = tr_store_ref(s, o->id, ref, e) == -1 ? -1
                                                         : tr_task_create_at(s, ref, task, 0, e);
        else
                r = tr_task_create(s, task, ref, e);
        json_object_put(task);
        return r;
}

/* The JSON array holds the string s. */
static int has_string(json_object *array, const char *s)
{
        for (size_t i = 0; i < json_object_array_length(array); i++) {
                json_object *v = json_object_array_get_idx(array, i);
                if (json_object_is_type(v, json_type_string) &&
                    strcmp(json_object_get_string(v), s) == 0)
                        return 1;
        }
        return 0;
}

/* tr_mutate_fn: add the new task's id (arg) to a blocker's "blocks", as TaskUpdate does. */
static int add_to_blocks(json_object *task, void *arg, struct tr_err *e)
{
        const char *id = arg;
        json_object *blocks;

        if (!json_object_object_get_ex(task, "blocks", &blocks) || blocks == NULL) {
                blocks = json_object_new_array();
                json_object_object_add(task, "blocks", blocks);
        }
        if (!json_object_is_type(blocks, json_type_array))
                return tr_err_set(e, EINVAL, "\"blocks\" is not an array");
        if (!has_string(blocks, id))
                json_object_array_add(blocks, json_object_new_string(id));
        return 0;
}

/*
 * Each blocker gets the new id in its blocks, as Claude does; one that
 * cannot is said, and the status is 1.
 */
static int link_blockers(const struct create_opts *o, const struct tr_store *s, char *new_id)
{
        struct tr_task_ref ref;
        struct tr_err e;
        int status = TR_EXIT_OK;

        for (int i = 0; i < o->n_blocked; i++)
                if (tr_store_ref(s, o->blocked_by[i], &ref, &e) == -1 ||
                    tr_task_update(s, &ref, add_to_blocks, new_id, &e) == -1) {
                        tr_warnx("%s: task %s: adding %s to its blocks: %s", CMD, o->blocked_by[i],
                                 new_id, e.msg);
                        status = TR_EXIT_FAIL;
                }
        return status;
}

/* spec->run: opts is a struct create_opts. */
static int create(void *opts, const struct tr_store_opts *so, char **args, int nargs)
{
        struct create_opts *o = opts;
        struct tr_store s;
        struct tr_task_ref ref;
        struct tr_err e;
        int r;

        (void)args, (void)nargs; /* none: max_args is 0 */
        if (so->file != NULL && (o->id != NULL || o->n_blocked > 0)) {
                tr_warnx("%s: --file: cannot be combined with --id or --blocked-by", CMD);
                return tr_cmd_usage_error(CMD);
        }
        if (o->id != NULL && tr_id_validate("--id", o->id, &e) == -1) {
                tr_cmd_warn(CMD, &e);
                return TR_EXIT_USAGE;
        }
        if ((r = tr_cmd_open(CMD, so, 1, &s, &ref)) != TR_EXIT_OK ||
            (r = check_blockers(o, &s)) != TR_EXIT_OK)
                return r;
        if (write_task(o, &s, &ref, &e) == -1) {
                tr_cmd_warn(CMD, &e);
                return TR_EXIT_FAIL;
        }
        r = link_blockers(o, &s, ref.id);
        printf("%s\n", s.schema == TR_SCHEMA_PLAIN ? ref.path : ref.id);
        return r;
}

static const struct tr_cmd_spec spec = {CMD, "s:h", options, usage, apply_option, create, 0};

int tr_cmd_create(int argc, char **argv)
{
        struct create_opts o = {0};
        int r;

        o.blocked_by = calloc((size_t)argc + 1, sizeof *o.blocked_by);
        if (o.blocked_by == NULL) {
                tr_warnx("%s: out of memory", CMD);
                return TR_EXIT_FAIL;
        }
        r = tr_cmd_main(&spec, argc, argv, &o);
        json_object_put(o.meta);
        free(o.blocked_by);
        return r;
}
