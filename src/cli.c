/* Entry point: pick the subcommand, or run a command under supervision. */
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
    {"run", tr_cmd_run_word},  {"create", tr_cmd_create},
    {"update", tr_cmd_update}, {"show", tr_cmd_show},
    {"list", tr_cmd_list},     {"wait", tr_cmd_wait},
    {"reap", tr_cmd_reap},     {"kill", tr_cmd_kill},
    {"logs", tr_cmd_logs},     {"lists", tr_cmd_lists},
    {"gc", tr_cmd_gc},         {"hook", tr_cmd_hook},
    {"rerun", tr_cmd_rerun},   {NULL, NULL},
};

/* Optimal string alignment distance (a swap of neighbours counts one), for "did you mean". */
static size_t edit_distance(const char *a, const char *b)
{
        size_t la = strlen(a), lb = strlen(b);
        size_t d[16][16];

        if (la >= 16 || lb >= 16)
                return 16;
        for (size_t i = 0; i <= la; i++)
                for (size_t j = 0; j <= lb; j++) {
                        if (i == 0 || j == 0) {
                                d[i][j] = i + j;
                                continue;
                        }
                        size_t sub = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
                        size_t del = d[i - 1][j] + 1, ins = d[i][j - 1] + 1;
                        size_t best = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
                        if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                            d[i - 2][j - 2] + 1 < best)
                                best = d[i - 2][j - 2] + 1;
                        d[i][j] = best;
                }
        return d[la][lb];
}

/* The subcommand a mistyped word was most likely meant to be, or NULL. */
static const char *closest_subcommand(const char *word)
{
        const char *best = NULL;
        size_t best_d = 3; /* more than two edits away is a different word */

        for (const struct subcommand *s = subcommands; s->name != NULL; s++) {
                size_t d = edit_distance(word, s->name);
                if (d < best_d && d < strlen(s->name)) {
                        best = s->name;
                        best_d = d;
                }
        }
        return best;
}

/*
 * A bare first word that is no subcommand is refused, never run: `taskrun
 * kill 2` must not run kill(1), nor `taskrun lsit` make a task for "lsit".
 */
static int unknown_command(const char *word)
{
        const char *near = closest_subcommand(word);

        if (near != NULL)
                tr_warnx("unknown command '%s' (did you mean '%s'?); to run a program: "
                         "taskrun -- %s",
                         word, near, word);
        else
                tr_warnx("unknown command '%s'; to run a program: taskrun -- %s", word, word);
        return TR_EXIT_USAGE;
}

int tr_cli_main(int argc, char **argv)
{
        if (argc > 1 && argv[1][0] != '-') {
                for (const struct subcommand *s = subcommands; s->name != NULL; s++)
                        if (strcmp(argv[1], s->name) == 0)
                                return s->fn(argc - 1, argv + 1);
                return unknown_command(argv[1]);
        }
        return tr_cmd_run(argc, argv);
}
