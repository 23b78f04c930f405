/* The command-line side shared by the task commands: usage, opening the store, naming tasks. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "archive.h"
#include "cli.h"
#include "cmd.h"

void tr_cmd_store_usage(FILE *f)
{
        fputs("store:   --list NAME              task list in $CLAUDE_CONFIG_DIR/tasks or\n"
              "                                  ~/.claude/tasks (default: "
              "$CLAUDE_CODE_TASK_LIST_ID,\n"
              "                                  else $CLAUDE_CODE_SESSION_ID, else the personal\n"
              "                                  list ${XDG_STATE_HOME:-~/.local/state}/taskrun/\n"
              "                                  tasks/default)\n"
              "         --dir DIR                task list directory\n"
              "         --file PATH              a plain JSON task file, not a Claude list\n"
              "         --follow-symlinks        allow a symlinked task file or list directory\n"
              "         --lock-timeout DURATION  give up waiting for a lock (default 30s)\n",
              f);
}

void tr_note_new_list(const struct tr_store *s, int quiet)
{
        /* A session's own list is made on its first run: that is no news. */
        if (!s->created || quiet || s->source == TR_SOURCE_SESSION || s->source == TR_SOURCE_DIR)
                return;
        tr_warnx("new task list '%s' in %s", s->list, s->dir);
}

/* tr_cmd_open; with gone_ok, a list directory that is not there is no error. */
static int cmd_open(const char *cmd, const struct tr_store_opts *o, int create, int gone_ok,
                    struct tr_store *s, struct tr_task_ref *file_ref)
{
        struct tr_err e;

        if (tr_store_open(s, o, create, file_ref, &e) == 0) {
                tr_note_new_list(s, 0);
                return TR_EXIT_OK;
        }
        if (gone_ok && e.errnum == ENOENT && s->dir[0] != '\0')
                return TR_EXIT_OK;
        tr_cmd_warn(cmd, &e);
        /* EINVAL: the options name no usable store (no list given, bad name, --file here). */
        return e.errnum == EINVAL ? TR_EXIT_USAGE : TR_EXIT_FAIL;
}

int tr_cmd_open(const char *cmd, const struct tr_store_opts *o, int create, struct tr_store *s,
                struct tr_task_ref *file_ref)
{
        return cmd_open(cmd, o, create, 0, s, file_ref);
}

int tr_cmd_open_list(const char *cmd, const struct tr_store_opts *o, struct tr_store *s,
                     int *missing)
{
        struct tr_err e;

        *missing = 0;
        if (tr_store_open(s, o, 0, NULL, &e) == 0)
                return TR_EXIT_OK;
        /* A list nobody named is not there until its first run: it is empty, not an error. */
        if (e.errnum == ENOENT &&
            (s->source == TR_SOURCE_ENV_LIST || s->source == TR_SOURCE_SESSION ||
             s->source == TR_SOURCE_PERSONAL)) {
                *missing = 1;
                return TR_EXIT_OK;
        }
        tr_cmd_warn(cmd, &e);
        return e.errnum == EINVAL ? TR_EXIT_USAGE : TR_EXIT_FAIL;
}

/*
 * The task IDs given fit the command: one of --file or IDs, at most max. 0,
 * or -1 after saying why.
 */
static int check_count(const char *cmd, const struct tr_store_opts *o, int nids, int max)
{
        if (o->file != NULL && nids > 0)
                tr_warnx("%s: --file names the task; give no ID with it", cmd);
        else if (o->file == NULL && nids == 0)
                tr_warnx("%s: no task ID given", cmd);
        else if (nids > max)
                tr_warnx("%s: too many task IDs (at most %d)", cmd, max);
        else
                return 0;
        return -1;
}

int tr_targets_open(const char *cmd, const struct tr_store_opts *o, char **ids, int nids, int max,
                    struct tr_targets *t)
{
        return tr_targets_open_ex(cmd, o, ids, nids, max, 0, t);
}

int tr_targets_open_ex(const char *cmd, const struct tr_store_opts *o, char **ids, int nids,
                       int max, int gone_ok, struct tr_targets *t)
{
        struct tr_task_ref file_ref;
        struct tr_err e;
        int r;

        t->refs = NULL;
        t->n = 0;
        if (check_count(cmd, o, nids, max) == -1)
                return tr_cmd_usage_error(cmd);
        for (int i = 0; i < nids; i++)
                if (tr_id_validate("task", ids[i], &e) == -1) {
                        tr_cmd_warn(cmd, &e);
                        return TR_EXIT_USAGE;
                }
        if ((r = cmd_open(cmd, o, 0, gone_ok, &t->store, &file_ref)) != TR_EXIT_OK)
                return r;
        t->refs = calloc(nids > 0 ? (size_t)nids : 1, sizeof *t->refs);
        if (t->refs == NULL) {
                tr_warnx("%s: %s", cmd, "out of memory");
                return TR_EXIT_FAIL;
        }
        if (o->file != NULL)
                t->refs[t->n++] = file_ref;
        for (int i = 0; i < nids; i++)
                if (tr_store_ref(&t->store, ids[i], &t->refs[t->n++], &e) == -1) {
                        tr_cmd_warn(cmd, &e);
                        tr_targets_free(t);
                        return TR_EXIT_FAIL;
                }
        return TR_EXIT_OK;
}

void tr_targets_free(struct tr_targets *t)
{
        free(t->refs);
        t->refs = NULL;
        t->n = 0;
}

int tr_cmd_flush(const char *cmd)
{
        if (fflush(stdout) != EOF && !ferror(stdout))
                return 0;
        tr_warnx("%s: write error on standard output", cmd);
        return -1;
}

void tr_cmd_not_found(const char *cmd, const struct tr_store *s, const struct tr_task_ref *ref)
{
        tr_warnx("%s: task %s: not found in %s", cmd, ref->id, s->dir);
}

int tr_cmd_task_error(const char *cmd, const struct tr_store *s, const struct tr_task_ref *ref,
                      const struct tr_err *e)
{
        if (e->errnum == ENOENT && s->schema == TR_SCHEMA_CLAUDE)
                tr_cmd_not_found(cmd, s, ref);
        else
                tr_cmd_warn(cmd, e);
        return TR_EXIT_FAIL;
}

int tr_cmd_read(const char *cmd, const struct tr_store *s, const struct tr_task_ref *ref,
                json_object **task)
{
        struct tr_err e;

        if (tr_task_read_settled(s, ref, task, &e) == 0)
                return TR_EXIT_OK;
        return tr_cmd_task_error(cmd, s, ref, &e);
}

int tr_cmd_read_or_archived(const char *cmd, const struct tr_store *s,
                            const struct tr_task_ref *ref, json_object **task, char *archive,
                            size_t n)
{
        struct tr_archived a;
        struct tr_err e;

        archive[0] = '\0';
        if (tr_task_read_settled(s, ref, task, &e) == 0)
                return TR_EXIT_OK;
        if (e.errnum == ENOENT && tr_archive_find(s, ref->id, NULL, &a, NULL) == 1) {
                *task = a.task;
                snprintf(archive, n, "%s", a.path);
                tr_warnx("%s: task %s: its file is gone; shown from taskrun's run archive (%s)",
                         cmd, ref->id, a.path);
                return TR_EXIT_OK;
        }
        return tr_cmd_task_error(cmd, s, ref, &e);
}

/*
 * One strict JSON value: json-c alone is lax (NaN, Infinity) and the store's
 * check wants an object, so the text must pass both json-c's strict mode on
 * its own (one value, nothing after it) and the store's RFC 8259 check as
 * the value of a wrapping object.
 */
static int parse_json_value(const char *text, json_object **out)
{
        struct json_tokener *tok = json_tokener_new();
        struct tr_err e;
        json_object *v, *wrapped;
        size_t len = strlen(text) + 8;
        char *buf;

        if (tok == NULL)
                return -1;
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
        v = json_tokener_parse_ex(tok, text, (int)strlen(text) + 1);
        enum json_tokener_error err = json_tokener_get_error(tok);
        json_object_put(v);
        json_tokener_free(tok);
        if (err != json_tokener_success || (buf = malloc(len)) == NULL)
                return -1;
        snprintf(buf, len, "{\"v\":%s}", text);
        wrapped = tr_task_parse(buf, strlen(buf), &e);
        free(buf);
        if (wrapped == NULL)
                return -1;
        json_object_object_get_ex(wrapped, "v", &v);
        *out = json_object_get(v);
        json_object_put(wrapped);
        return 0;
}

int tr_cmd_meta_arg(const char *cmd, const char *arg, json_object *meta)
{
        const char *eq = strchr(arg, '=');
        json_object *value;
        char *key;

        if (eq == NULL || eq == arg) {
                tr_warnx("%s: --set-meta '%s': expected KEY=JSON", cmd, arg);
                return -1;
        }
        if (parse_json_value(eq + 1, &value) == -1) {
                tr_warnx("%s: --set-meta %s: value is not valid JSON (a string needs quotes: "
                         "'%.*s=\"text\"')",
                         cmd, arg, (int)(eq - arg), arg);
                return -1;
        }
        if ((key = strndup(arg, (size_t)(eq - arg))) == NULL) {
                json_object_put(value);
                tr_warnx("%s: out of memory", cmd);
                return -1;
        }
        json_object_object_add(meta, key, value);
        free(key);
        return 0;
}

int tr_list_read(const char *cmd, const struct tr_store *s, struct tr_task_list *l,
                 struct tr_err *e)
{
        if (tr_list_load(s, l, e) == -1)
                return -1;
        for (size_t i = 0; i < l->n_skipped; i++)
                tr_warnx("%s: skipping %s", cmd, l->skipped[i].msg);
        return 0;
}
