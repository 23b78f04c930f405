/*
 * The run options a task records as metadata.taskrun.options, so that
 * `taskrun rerun` starts the command again as it was started: each option
 * that differs from its default, under a key of its own. Not recorded: where
 * the task is, its subject, the gates (--after), --detach (a rerun chooses
 * again) and --ping (its URL is a secret; $TASKRUN_PING_URL still applies).
 */
#include <stddef.h>
#include <string.h>

#include "on_exit.h"
#include "run.h"
#include "task_view.h"
#include "taskrun/utf8.h"

enum kind {
        K_MS,      /* int64_t milliseconds */
        K_INT,     /* int */
        K_BOOL,    /* int, 0 or 1: true when set */
        K_SIZE,    /* size_t */
        K_STR,     /* const char *: a path or a shell command */
        K_ORPHANS, /* enum tr_orphans: "leave", "wait", "kill" */
        K_ON_FAIL, /* fail_pending: "pending" when set */
        K_CODES,   /* the whole struct tr_retry_opts: --retry-on's statuses */
};

struct field {
        const char *key;
        enum kind kind;
        size_t off;
        int64_t min, max; /* what a recorded K_MS, K_INT or K_SIZE may be */
};

#define FIELD(key, kind, member, min, max)                                                         \
        {                                                                                          \
                key, kind, offsetof(struct tr_run_opts, member), min, max                          \
        }
#define YEAR_MS ((int64_t)365 * 24 * 3600 * 1000)

static const struct field fields[] = {
    FIELD("timeout_ms", K_MS, timeout_ms, 0, YEAR_MS),
    FIELD("stall_timeout_ms", K_MS, stall_timeout_ms, 0, YEAR_MS),
    FIELD("kill_after_ms", K_MS, kill_after_ms, 0, YEAR_MS),
    FIELD("signal", K_INT, timeout_signal, 1, 64),
    FIELD("preserve_status", K_BOOL, preserve_status, 0, 1),
    FIELD("orphans", K_ORPHANS, orphans, 0, 0),
    FIELD("group", K_BOOL, group, 0, 1),
    FIELD("pty", K_BOOL, pty, 0, 1),
    FIELD("tail", K_SIZE, tail_bytes, 1, TR_TAIL_MAX),
    FIELD("heartbeat_ms", K_MS, heartbeat_ms, 0, YEAR_MS),
    FIELD("quiet", K_BOOL, quiet, 0, 1),
    FIELD("on_fail", K_ON_FAIL, fail_pending, 0, 1),
    FIELD("strict", K_BOOL, strict, 0, 1),
    FIELD("retry", K_INT, retry.max, 0, TR_RETRY_MAX),
    FIELD("retry_delay_ms", K_MS, retry.delay_ms, 0, TR_RETRY_DELAY_MAX_MS),
    FIELD("retry_on", K_CODES, retry, 0, 0),
    FIELD("retry_timeouts", K_BOOL, retry.timeouts, 0, 1),
    FIELD("summary", K_STR, summary_path, 0, 0),
    FIELD("github", K_BOOL, github, 0, 1),
    FIELD("on_exit", K_STR, on_exit, 0, 0),
    FIELD("on_exit_timeout_ms", K_MS, on_exit_timeout_ms, 1, YEAR_MS),
    FIELD("events", K_STR, events_path, 0, 0),
    FIELD("log", K_STR, log_path, 0, 0),
};
#define NFIELDS (sizeof fields / sizeof fields[0])

static const char *const orphans_names[] = {"leave", "wait", "kill"};

/* Where the field lives in o. */
static const void *at(const struct tr_run_opts *o, const struct field *f)
{
        return (const char *)o + f->off;
}

/* The same, to set it. */
static void *at_mut(struct tr_run_opts *o, const struct field *f)
{
        return (char *)o + f->off;
}

/* 1 if the option differs in a and b. */
static int differs(const struct tr_run_opts *a, const struct tr_run_opts *b, const struct field *f)
{
        const void *x = at(a, f), *y = at(b, f);

        switch (f->kind) {
        case K_MS:
                return *(const int64_t *)x != *(const int64_t *)y;
        case K_SIZE:
                return *(const size_t *)x != *(const size_t *)y;
        case K_STR: {
                const char *s = *(const char *const *)x, *t = *(const char *const *)y;
                return (s == NULL) != (t == NULL) || (s != NULL && strcmp(s, t) != 0);
        }
        case K_CODES: {
                const struct tr_retry_opts *r = x, *q = y;
                return r->on_given != q->on_given || memcmp(r->on, q->on, sizeof r->on) != 0;
        }
        case K_ORPHANS:
                return *(const enum tr_orphans *)x != *(const enum tr_orphans *)y;
        default:
                return *(const int *)x != *(const int *)y;
        }
}

/* --retry-on as the statuses it holds, in order: [1, 2, 75]. */
static json_object *codes_json(const struct tr_retry_opts *r)
{
        json_object *a = json_object_new_array();

        for (int n = 1; n <= 255; n++)
                if (tr_retry_on_has(r, n))
                        json_object_array_add(a, json_object_new_int(n));
        return a;
}

/* The field's value as the record keeps it. */
static json_object *value_json(const struct tr_run_opts *o, const struct field *f)
{
        const void *x = at(o, f);

        switch (f->kind) {
        case K_MS:
                return json_object_new_int64(*(const int64_t *)x);
        case K_SIZE:
                return json_object_new_int64((int64_t) * (const size_t *)x);
        case K_STR:
                return tr_json_utf8(*(const char *const *)x);
        case K_BOOL:
                return json_object_new_boolean(*(const int *)x);
        case K_ORPHANS:
                return json_object_new_string(orphans_names[*(const enum tr_orphans *)x]);
        case K_ON_FAIL:
                return json_object_new_string(*(const int *)x ? "pending" : "in_progress");
        case K_CODES:
                return codes_json(x);
        default:
                return json_object_new_int(*(const int *)x);
        }
}

json_object *tr_run_opts_json(const struct tr_run_opts *o)
{
        struct tr_run_opts d;
        json_object *j = NULL;

        tr_run_defaults(&d);
        for (size_t i = 0; i < NFIELDS; i++) {
                if (!differs(o, &d, &fields[i]))
                        continue;
                if (j == NULL)
                        j = json_object_new_object();
                json_object_object_add(j, fields[i].key, value_json(o, &fields[i]));
        }
        return j;
}

/* A recorded name among names: its index, or -1. */
static int name_index(json_object *v, const char *const *names, int n)
{
        if (!json_object_is_type(v, json_type_string))
                return -1;
        for (int i = 0; i < n; i++)
                if (strcmp(json_object_get_string(v), names[i]) == 0)
                        return i;
        return -1;
}

/* A recorded --retry-on back into r; a list with anything amiss is skipped whole. */
static void codes_from_json(json_object *v, struct tr_retry_opts *r)
{
        struct tr_retry_opts got = {0};

        if (!json_object_is_type(v, json_type_array) || json_object_array_length(v) == 0)
                return;
        for (size_t i = 0; i < json_object_array_length(v); i++) {
                json_object *n = json_object_array_get_idx(v, i);
                int64_t c = json_object_get_int64(n);
                if (!json_object_is_type(n, json_type_int) || c < 1 || c > 255)
                        return;
                got.on[c / 8] |= (unsigned char)(1u << (c % 8));
        }
        memcpy(r->on, got.on, sizeof r->on);
        r->on_given = 1;
}

/* One recorded option into o, when its value is one the option can take. */
static void value_from_json(json_object *v, const struct field *f, struct tr_run_opts *o)
{
        void *x = at_mut(o, f);
        int64_t n = json_object_get_int64(v);
        int i;

        if (f->kind == K_MS || f->kind == K_INT || f->kind == K_SIZE) {
                if (!json_object_is_type(v, json_type_int) || n < f->min || n > f->max)
                        return;
                if (f->kind == K_MS)
                        *(int64_t *)x = n;
                else if (f->kind == K_SIZE)
                        *(size_t *)x = (size_t)n;
                else
                        *(int *)x = (int)n;
        } else if (f->kind == K_BOOL && json_object_is_type(v, json_type_boolean)) {
                *(int *)x = json_object_get_boolean(v);
        } else if (f->kind == K_STR && json_object_is_type(v, json_type_string)) {
                *(const char **)x = json_object_get_string(v);
        } else if (f->kind == K_ORPHANS && (i = name_index(v, orphans_names, 3)) >= 0) {
                *(enum tr_orphans *)x = (enum tr_orphans)i;
        } else if (f->kind == K_ON_FAIL && json_object_is_type(v, json_type_string)) {
                *(int *)x = strcmp(json_object_get_string(v), "pending") == 0;
        } else if (f->kind == K_CODES) {
                codes_from_json(v, x);
        }
}

void tr_run_opts_from_json(json_object *options, struct tr_run_opts *o)
{
        json_object *v;

        if (options == NULL || !json_object_is_type(options, json_type_object))
                return;
        for (size_t i = 0; i < NFIELDS; i++)
                if (json_object_object_get_ex(options, fields[i].key, &v))
                        value_from_json(v, &fields[i], o);
}
