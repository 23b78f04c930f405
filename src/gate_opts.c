/* The gate options of `taskrun [options] -- command`: --after, --slots, --unique and friends. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gate.h"

/* --after 3,4 --after 5: every id, in order, each checked as a task id. */
static int add_after(struct tr_gate_opts *o, const char *arg)
{
        const char *p = arg;
        struct tr_err e;

        do {
                size_t len = strcspn(p, ",");
                char *id = strndup(p, len);
                if (id == NULL || tr_id_validate("--after", id, &e) == -1) {
                        tr_warnx("%s", id ? e.msg : "out of memory");
                        free(id);
                        return -1;
                }
                if (o->n_after == o->cap_after) {
                        size_t cap = o->cap_after ? o->cap_after * 2 : 4;
                        const char **v = realloc(o->after, cap * sizeof *v);
                        if (v == NULL) {
                                free(id);
                                tr_warnx("out of memory");
                                return -1;
                        }
                        o->after = v;
                        o->cap_after = cap;
                }
                o->after[o->n_after++] = id;
                p += len;
        } while (*p++ == ',');
        return 0;
}

/* --slots N: 1 to TR_QUEUE_SLOTS_MAX. 0, or -1 after saying why. */
static int parse_slots(const char *arg, int *out)
{
        char *end;
        long n;

        errno = 0;
        n = strtol(arg, &end, 10);
        if (errno != 0 || end == arg || *end != '\0' || n < 1 || n > TR_QUEUE_SLOTS_MAX) {
                tr_warnx("--slots: must be a number from 1 to %d, not '%s'", TR_QUEUE_SLOTS_MAX,
                         arg);
                return -1;
        }
        *out = (int)n;
        return 0;
}

int tr_gate_opt(struct tr_gate_opts *o, int opt, const char *arg)
{
        struct tr_err e;

        switch (opt) {
        case TR_OPT_AFTER:
                return add_after(o, arg) == 0 ? 1 : -1;
        case TR_OPT_AFTER_DONE:
                o->after_done = 1;
                return 1;
        case TR_OPT_IGNORE_BLOCKED:
                o->ignore_blocked = 1;
                return 1;
        case TR_OPT_SLOTS:
                return parse_slots(arg, &o->slots) == 0 ? 1 : -1;
        case TR_OPT_QUEUE:
                if (tr_id_validate("--queue", arg, &e) == -1) {
                        tr_warn_err(&e);
                        return -1;
                }
                o->queue = arg;
                return 1;
        case TR_OPT_UNIQUE:
                if (*arg == '\0') {
                        tr_warnx("--unique: the key must not be empty");
                        return -1;
                }
                o->unique = arg;
                return 1;
        case TR_OPT_ONCE:
                o->once = 1;
                return 1;
        case TR_OPT_ATTACH:
                o->attach = 1;
                return 1;
        }
        return 0;
}

int tr_gate_check(const struct tr_gate_opts *o)
{
        if (o->queue != NULL && o->slots == 0)
                tr_warnx("--queue: only with --slots N");
        else if (o->unique != NULL && o->once)
                tr_warnx("--unique and --once: give one of them");
        else if (o->attach && o->unique == NULL && !o->once)
                tr_warnx("--attach: only with --unique KEY or --once");
        else
                return 0;
        return -1;
}

void tr_gate_usage(FILE *f)
{
        fputs("gates:       --after ID[,ID...]  start once these tasks completed (repeatable);\n"
              "                            if one fails, is killed or lost: skip (status 121)\n"
              "             --after-done   start once the blockers ended, however they ended\n"
              "             --ignore-blocked    do not wait for the task's own blockedBy\n"
              "             --slots N      at most N runs of the queue at once on this host,\n"
              "                            first come first served (1 to 256; state queued)\n"
              "             --queue NAME   the queue of --slots (default: the task list's)\n"
              "             --unique KEY   if a live run of this list holds KEY, print its id\n"
              "                            and exit 122 instead of starting another\n"
              "             --once         --unique with the directory and command as the key\n"
              "             --attach       with --unique/--once: wait for that run instead,\n"
              "                            and exit with its status\n",
              f);
}

void tr_gate_opts_free(struct tr_gate_opts *o)
{
        for (size_t i = 0; i < o->n_after; i++)
                free((char *)o->after[i]);
        free(o->after);
        o->after = NULL;
        o->n_after = o->cap_after = 0;
}
