/* `taskrun update ID`: change the given fields, as Claude's TaskUpdate merges them. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "taskrun/utf8.h"
#include "cmd.h"

#define CMD "update"

enum {
        OPT_STATUS = TR_OPT_FIRST_FREE,
        OPT_DESCRIPTION,
        OPT_ACTIVE_FORM,
        OPT_OWNER,
        OPT_SET_META,
        OPT_UNSET_META,
};

static const struct option options[] = {
    {"status", required_argument, NULL, OPT_STATUS},
    {"subject", required_argument, NULL, 's'},
    {"description", required_argument, NULL, OPT_DESCRIPTION},
    {"active-form", required_argument, NULL, OPT_ACTIVE_FORM},
    {"owner", required_argument, NULL, OPT_OWNER},
    {"set-meta", required_argument, NULL, OPT_SET_META},
    {"unset-meta", required_argument, NULL, OPT_UNSET_META},
    {"help", no_argument, NULL, 'h'},
    TR_STORE_LONGOPTS,
    {NULL, 0, NULL, 0},
};

struct update_opts {
        json_object *patch; /* the fields to change, as a TaskUpdate-style merge patch */
        json_object *meta;  /* patch's "metadata", once there is one */
        const char *status;
};

/* update's --help; the man page says the same. */
static void usage(FILE *f)
{
        fputs("usage: taskrun update [options] ID\n"
              "       taskrun update --file PATH [options]\n"
              "\n"
              "Change only the given fields of task ID, under its lock, keeping every\n"
              "other field and metadata key as it is (as Claude's TaskUpdate merges).\n"
              "\n"
              "fields:  --status STATUS          pending, in_progress or completed (a --file\n"
              "                                  task may also be failed)\n"
              "         -s, --subject TEXT       subject\n"
              "         --description TEXT       description (replaces it whole)\n"
              "         --active-form TEXT       activeForm\n"
              "         --owner NAME             owner\n"
              "         --set-meta KEY=JSON      set metadata.KEY to a JSON value (repeatable);\n"
              "                                  a string needs quotes: --set-meta 'ci=\"yes\"';\n"
              "                                  KEY=null deletes the key\n"
              "         --unset-meta KEY         delete metadata.KEY (repeatable)\n"
              "         -h, --help               this help\n",
              f);
        tr_cmd_store_usage(f);
        fputs("\nexit status: 0 updated; 1 not updated (task not found, status not allowed\n"
              "in this list, corrupt file, lock timeout, I/O error); 2 usage error.\n",
              f);
}

/* The patch's "metadata" object, made on first use: only the keys given are merged. */
static json_object *patch_meta(struct update_opts *o)
{
        if (o->meta == NULL) {
                o->meta = json_object_new_object();
                json_object_object_add(o->patch, "metadata", o->meta);
        }
        return o->meta;
}

/* A top-level field of the patch, made valid UTF-8. */
static void set_field(struct update_opts *o, const char *key, const char *value)
{
        json_object_object_add(o->patch, key, tr_json_utf8(value));
}

/* spec->apply: opts is a struct update_opts; each field option adds to the patch. */
static int apply_option(void *opts, int c, const char *arg)
{
        struct update_opts *o = opts;

        switch (c) {
        case OPT_STATUS:
                o->status = arg;
                set_field(o, "status", arg);
                return 0;
        case 's':
                set_field(o, "subject", arg);
                return 0;
        case OPT_DESCRIPTION:
                set_field(o, "description", arg);
                return 0;
        case OPT_ACTIVE_FORM:
                set_field(o, "activeForm", arg);
                return 0;
        case OPT_OWNER:
                set_field(o, "owner", arg);
                return 0;
        case OPT_SET_META:
                return tr_cmd_meta_arg(CMD, arg, patch_meta(o));
        case OPT_UNSET_META:
                if (*arg == '\0') {
                        tr_warnx("%s: --unset-meta: empty key", CMD);
                        return -1;
                }
                json_object_object_add(patch_meta(o), arg, NULL);
                return 0;
        }
        return -1;
}

/* spec->run: opts is a struct update_opts. */
static int update(void *opts, const struct tr_store_opts *so, char **ids, int nids)
{
        struct update_opts *o = opts;
        struct tr_targets t;
        struct tr_err e;
        int r;

        if (json_object_object_length(o->patch) == 0) {
                tr_warnx("%s: nothing to change (see --help)", CMD);
                return tr_cmd_usage_error(CMD);
        }
        if ((r = tr_targets_open(CMD, so, ids, nids, 1, &t)) != TR_EXIT_OK)
                return r;
        /* The store checks a changed status too; checking first gives the plain reason. */
        if (o->status != NULL && tr_status_check(&t.store, o->status, &e) == -1) {
                tr_cmd_warn(CMD, &e);
                r = TR_EXIT_FAIL;
        } else if (tr_task_patch(&t.store, &t.refs[0], o->patch, &e) == -1) {
                r = tr_cmd_task_error(CMD, &t.store, &t.refs[0], &e);
        }
        tr_targets_free(&t);
        return r;
}

static const struct tr_cmd_spec spec = {CMD, "s:h", options, usage, apply_option, update, -1};

int tr_cmd_update(int argc, char **argv)
{
        struct update_opts o = {.patch = json_object_new_object()};
        int r = tr_cmd_main(&spec, argc, argv, &o);

        json_object_put(o.patch);
        return r;
}
