/*
 * The option skeleton every command is parsed with (opts.c): one table per
 * command (struct tr_cmd_spec), one getopt loop, one way to stop.
 */
#ifndef TASKRUN_OPTS_H
#define TASKRUN_OPTS_H

#include <getopt.h>
#include <stdint.h>
#include <stdio.h>

#include "taskrun/store.h"

/*
 * Long-only options shared by several commands. The store options: add
 * TR_STORE_LONGOPTS to a command's table and tr_cmd_parse takes them.
 */
enum {
        TR_OPT_DIR = 0x1000,
        TR_OPT_LIST,
        TR_OPT_FILE,
        TR_OPT_FOLLOW,
        TR_OPT_LOCK_TIMEOUT,
        TR_OPT_JSON,       /* --json, for tr_cmd_json_opt */
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

/* A store option into o: 1 if opt was one, 0 if not, -1 on a bad value (said). */
int tr_store_opt(struct tr_store_opts *o, int opt, const char *arg);
/* The store options' defaults: the environment names the list, locks wait the default time. */
void tr_store_opts_defaults(struct tr_store_opts *o);

/* "Try 'taskrun CMD --help'." on stderr; returns TR_EXIT_USAGE. */
int tr_cmd_usage_error(const char *cmd);

/*
 * A command: its options, read by tr_cmd_parse, and what it does with them.
 * longopts holds the command's own, "help" (as 'h') and TR_STORE_LONGOPTS;
 * shortopts includes "h" (and "V" where --version is one). A command writes
 * its spec as one row, as getopt's own tables are.
 */
struct tr_cmd_spec {
        const char *name; /* "update": messages say "taskrun: update: ..."; NULL: the run form */
        const char *shortopts;
        const struct option *longopts;
        void (*usage)(FILE *f);
        /* Take one of the command's own options: 0, or -1 after saying why. */
        int (*apply)(void *opts, int opt, const char *arg);
        /* The command, once its options are read: the exit status (tr_cmd_main). */
        int (*run)(void *opts, const struct tr_store_opts *store, char **args, int nargs);
        int max_args; /* positional arguments allowed; -1: any */
};

/* The positional arguments left after the options (argv from optind on). */
struct tr_cmd_args {
        char **v;
        int n;
        int after_dashdash; /* a "--" ended the options */
};

/*
 * The one option loop: --help prints the usage and --version the version,
 * store options go into *store (which holds their defaults, or what a
 * previous parse left), the rest to spec->apply. Returns TR_GO with the
 * positional arguments in *args, or the status to exit with: TR_EXIT_OK after
 * --help or --version, TR_EXIT_USAGE after saying what was wrong. argv may be
 * parsed again.
 */
int tr_cmd_parse(const struct tr_cmd_spec *spec, int argc, char **argv, void *opts,
                 struct tr_store_opts *store, struct tr_cmd_args *args);

/*
 * A command's entry: tr_cmd_parse with the store's defaults, then spec->run;
 * a usage error ends with "Try 'taskrun CMD --help'.".
 */
int tr_cmd_main(const struct tr_cmd_spec *spec, int argc, char **argv, void *opts);

/*
 * A duration option's value (tr_parse_duration) of at most max_ms (-1: any):
 * 0, or -1 after saying "taskrun: CMD: OPT: invalid duration 'ARG'" (without
 * "CMD: " when cmd is NULL).
 */
int tr_duration_opt(const char *cmd, const char *opt, const char *arg, int64_t max_ms, int64_t *ms);

/* spec->apply of a command whose one option of its own is --json: opts is an int, set to 1. */
int tr_cmd_json_opt(void *opts, int opt, const char *arg);

#endif
