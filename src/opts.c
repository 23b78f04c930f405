/* The option skeleton every command is parsed with: store options, --help, one way to stop. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "exit.h"
#include "opts.h"
#include "taskrun/duration.h"
#include "warn.h"

void tr_store_opts_defaults(struct tr_store_opts *o)
{
        *o = (struct tr_store_opts){.lock_timeout_ms = -1};
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
                if (tr_duration_opt(NULL, "--lock-timeout", arg, 24 * 3600 * 1000, &ms) == -1)
                        return -1;
                o->lock_timeout_ms = (int)ms;
                return 1;
        }
        return 0;
}

int tr_duration_opt(const char *cmd, const char *opt, const char *arg, int64_t max_ms, int64_t *ms)
{
        if (tr_parse_duration(arg, ms) == 0 && (max_ms < 0 || *ms <= max_ms))
                return 0;
        tr_warnx("%s%s%s: invalid duration '%s'", cmd ? cmd : "", cmd ? ": " : "", opt, arg);
        return -1;
}

int tr_cmd_usage_error(const char *cmd)
{
        fprintf(stderr, "Try 'taskrun %s --help'.\n", cmd);
        return TR_EXIT_USAGE;
}

/*
 * The long options arg ("--name" or "--name=value") can name: the one it
 * names in full or abbreviates alone, with *n 1; else NULL, with *n how many
 * it abbreviates.
 */
static const struct option *long_named(const struct option *o, const char *arg, int *n)
{
        const struct option *found = NULL;
        size_t len = strcspn(arg, "=");

        *n = 0;
        for (; o->name != NULL; o++) {
                if (strncmp(o->name, arg, len) != 0)
                        continue;
                if (o->name[len] == '\0') {
                        *n = 1;
                        return o;
                }
                found = o;
                ++*n;
        }
        return *n == 1 ? found : NULL;
}

/*
 * getopt's complaint when it returned '?' or ':' (opterr off), in glibc's
 * words whatever the libc: musl and the BSDs word it otherwise. The element
 * it stopped in is argv[optind - 1] for a long option; a short one is optopt.
 */
static void option_error(const char *prog, int c, int argc, char **argv,
                         const struct option *longopts)
{
        /* musl leaves optind past argc after a short option's missing argument. */
        const char *e = optind > 0 && optind <= argc ? argv[optind - 1] : "";
        const struct option *o = NULL;
        int n = 0;

        if (strncmp(e, "--", 2) == 0 && e[2] != '\0')
                o = long_named(longopts, e + 2, &n);
        if (optopt != 0 && (o == NULL || o->val != optopt)) {
                fprintf(stderr,
                        c == ':' ? "%s: option requires an argument -- '%c'\n"
                                 : "%s: invalid option -- '%c'\n",
                        prog, optopt);
        } else if (o == NULL && n > 1) {
                size_t len = strcspn(e + 2, "=");
                fprintf(stderr, "%s: option '%s' is ambiguous; possibilities:", prog, e);
                for (o = longopts; o->name != NULL; o++)
                        if (strncmp(o->name, e + 2, len) == 0)
                                fprintf(stderr, " '--%s'", o->name);
                fputc('\n', stderr);
        } else if (o == NULL) {
                fprintf(stderr, "%s: unrecognized option '%s'\n", prog, e);
        } else if (c == ':') {
                fprintf(stderr, "%s: option '--%s' requires an argument\n", prog, o->name);
        } else {
                fprintf(stderr, "%s: option '--%s' doesn't allow an argument\n", prog, o->name);
        }
}

int tr_cmd_parse(const struct tr_cmd_spec *spec, int argc, char **argv, void *opts,
                 struct tr_store_opts *store, struct tr_cmd_args *args)
{
        char prog[64], optstring[64];
        const char *plus = spec->shortopts[0] == '+' ? "+" : "";
        int c, r, options_end = 1;

        /* 0, not 1: getopt starts afresh, also on an argv it has scanned before. */
        optind = 0;
        /* Its messages are ours (option_error): ':' after any '+' says so. */
        opterr = 0;
        snprintf(optstring, sizeof optstring, "%s:%s", plus, spec->shortopts + strlen(plus));
        snprintf(prog, sizeof prog, "taskrun%s%s", spec->name ? ": " : "",
                 spec->name ? spec->name : "");
        while ((c = getopt_long(argc, argv, optstring, spec->longopts, NULL)) != -1) {
                if (c == 'h') {
                        spec->usage(stdout);
                        return TR_EXIT_OK;
                }
                if (c == 'V') {
                        printf("taskrun %s\n", TASKRUN_VERSION);
                        return TR_EXIT_OK;
                }
                if (c == '?' || c == ':') {
                        option_error(prog, c, argc, argv, spec->longopts);
                        return TR_EXIT_USAGE;
                }
                r = tr_store_opt(store, c, optarg);
                if (r == 0)
                        r = spec->apply(opts, c, optarg) == 0 ? 1 : -1;
                if (r == -1)
                        return TR_EXIT_USAGE;
                options_end = optind;
        }
        if (spec->max_args >= 0 && argc - optind > spec->max_args) {
                tr_warnx("%s: unexpected argument '%s'", spec->name, argv[optind + spec->max_args]);
                return TR_EXIT_USAGE;
        }
        args->v = argv + optind;
        args->n = argc - optind;
        args->after_dashdash = optind != options_end; /* getopt stepped over a "--" */
        return TR_GO;
}

int tr_cmd_main(const struct tr_cmd_spec *spec, int argc, char **argv, void *opts)
{
        struct tr_store_opts store;
        struct tr_cmd_args args;
        int r;

        tr_store_opts_defaults(&store);
        r = tr_cmd_parse(spec, argc, argv, opts, &store, &args);
        if (r == TR_EXIT_USAGE)
                return tr_cmd_usage_error(spec->name);
        return r == TR_GO ? spec->run(opts, &store, args.v, args.n) : r;
}

int tr_cmd_json_opt(void *opts, int opt, const char *arg)
{
        (void)arg;
        if (opt != TR_OPT_JSON)
                return -1;
        *(int *)opts = 1;
        return 0;
}
