/* Entry point: pick the subcommand, or run a command under supervision. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "taskrun/procinfo.h"

struct subcommand {
        const char *name;
        int (*fn)(int argc, char **argv);
};

static const struct subcommand subcommands[] = {
    {"run", tr_cmd_run},   {"create", tr_cmd_create}, {"update", tr_cmd_update},
    {"show", tr_cmd_show}, {"list", tr_cmd_list},     {"wait", tr_cmd_wait},
    {"reap", tr_cmd_reap}, {"kill", tr_cmd_kill},     {NULL, NULL},
};

void tr_warnx(const char *fmt, ...)
{
        va_list ap;

        fputs("taskrun: ", stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
}

void tr_warn_err(const struct tr_err *e)
{
        tr_warnx("%s", e->msg);
}

int tr_store_opt(struct tr_store_opts *o, int opt, const char *arg)
{
        int64_t ms;

        switch (opt) {
        case TR_OPT_DIR:
                o->dir = arg;
                return 1;
        case TR_OPT_LIST:
                o->list = arg;
                return 1;
        case TR_OPT_FILE:
                o->file = arg;
                return 1;
        case TR_OPT_FOLLOW:
                o->follow_symlinks = 1;
                return 1;
        case TR_OPT_LOCK_TIMEOUT:
                if (tr_parse_duration(arg, &ms) == -1 || ms > 24 * 3600 * 1000) {
                        tr_warnx("--lock-timeout: invalid duration '%s'", arg);
                        return -1;
                }
                o->lock_timeout_ms = (int)ms;
                return 1;
        }
        return 0;
}

int tr_cli_main(int argc, char **argv)
{
        /* A subcommand is a bare first word; anything else is "run". */
        if (argc > 1) {
                for (const struct subcommand *s = subcommands; s->name != NULL; s++)
                        if (strcmp(argv[1], s->name) == 0)
                                return s->fn(argc - 1, argv + 1);
        }
        return tr_cmd_run(argc, argv);
}
