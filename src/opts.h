/* The option skeleton every command is parsed with (opts.c). */
#ifndef TASKRUN_OPTS_H
#define TASKRUN_OPTS_H

#include <getopt.h>
#include <stdio.h>

#include "taskrun/store.h"

/*
 * Options every command that touches the store accepts. Add
 * TR_STORE_LONGOPTS to a getopt_long table and pass each option to
 * tr_store_opt, which returns 1 if it was one of them, -1 on a bad value.
 */
enum {
        TR_OPT_DIR = 0x1000,
        TR_OPT_LIST,
        TR_OPT_FILE,
        TR_OPT_FOLLOW,
        TR_OPT_LOCK_TIMEOUT,
        TR_OPT_FIRST_FREE, /* commands number their own long-only options from here */
};
#define TR_STORE_LONGOPTS                                                                          \
        {"dir", required_argument, NULL, TR_OPT_DIR},                                              \
            {"list", required_argument, NULL, TR_OPT_LIST},                                        \
            {"file", required_argument, NULL, TR_OPT_FILE},                                        \
            {"follow-symlinks", no_argument, NULL, TR_OPT_FOLLOW},                                 \
        {                                                                                          \
                "lock-timeout", required_argument, NULL, TR_OPT_LOCK_TIMEOUT                       \
        }
int tr_store_opt(struct tr_store_opts *o, int opt, const char *arg);

/* "Try 'taskrun CMD --help'." on stderr; returns TR_EXIT_USAGE. */
int tr_cmd_usage_error(const char *cmd);

/*
 * How a command's options are read. longopts holds the command's own, its
 * "help" (as 'h') and TR_STORE_LONGOPTS; shortopts includes "h".
 */
struct tr_cmd_spec {
        const char *name; /* "update": errors say "taskrun: update: ..." */
        const char *shortopts;
        const struct option *longopts;
        void (*usage)(FILE *f);
        /* Take one of the command's own options: 0, or -1 after saying why. */
        int (*apply)(void *opts, int opt, const char *arg);
        int max_args; /* positional arguments allowed; -1: any */
};

#define TR_CMD_GO (-1)

/*
 * The one option loop: --help prints the usage, store options go into
 * *store (set to its defaults first), the rest to spec->apply. Returns
 * TR_CMD_GO with the positional arguments from argv[optind], or the status to
 * exit with: TR_EXIT_OK after --help, TR_EXIT_USAGE after saying why.
 */
int tr_cmd_parse(const struct tr_cmd_spec *spec, int argc, char **argv, void *opts,
                 struct tr_store_opts *store);

#endif
