/* `taskrun list`: every task of a list, as a table or as JSON. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cmd.h"
#include "queue.h"
#include "taskrun/utf8.h"

#define CMD "list"
#define SUBJECT_CHARS 40
#define LAST_LINE_CHARS 60

enum { OPT_JSON = TR_OPT_FIRST_FREE, OPT_STATUS, OPT_STATE };

static const struct option list_options[] = {
    {"json", no_argument, NULL, OPT_JSON},
    {"status", required_argument, NULL, OPT_STATUS},
    {"state", required_argument, NULL, OPT_STATE},
    {"help", no_argument, NULL, 'h'},
    TR_STORE_LONGOPTS,
    {NULL, 0, NULL, 0},
};

struct list_opts {
        int json;
        const char **statuses; /* --status values; n_statuses of them */
        int n_statuses;
        const char **states; /* --state values; n_states of them */
        int n_states;
        struct tr_store_opts store;
};

static void usage(FILE *f)
{
        fputs("usage: taskrun list [--json] [--status STATUS]... [--state STATE]... [options]\n"
              "\n"
              "List the tasks of a list sorted by id (numeric ids in numeric order, then\n"
              "the others), as a table: ID, STATUS, STATE (of the last run), DURATION,\n"
              "SUBJECT, LAST LINE (of output). A task that says running although its\n"
              "process is gone shows as lost (nothing is written; reap writes it). A\n"
              "run waiting for a slot shows its place in line: \"queued 3\" (1 = next).\n"
              "A file that cannot be read or parsed is\n"
              "skipped with a warning on stderr, as Claude skips it.\n"
              "\n"
              "         --json                   a JSON array of the task objects exactly as\n"
              "                                  stored (id, subject, description, status,\n"
              "                                  blocks, blockedBy, metadata.taskrun, ...),\n"
              "                                  in table order; a run whose process is gone\n"
              "                                  shows state lost, as reap would write it,\n"
              "                                  and a queued run its current \"position\"\n"
              "         --status STATUS          only tasks with this status (repeatable)\n"
              "         --state STATE            only tasks whose last run is in this state\n"
              "                                  (metadata.taskrun.state, as shown: a run\n"
              "                                  whose process is gone is lost): running,\n"
              "                                  stopped, completed, failed, timed_out,\n"
              "                                  killed, lost, waiting, queued or skipped\n"
              "                                  (repeatable)\n"
              "         -h, --help               this help\n",
              f);
        tr_cmd_store_usage(f);
        fputs("         (--file does not apply: list reads a whole list directory)\n"
              "\nexit status: 0 listed (also when files were skipped); 1 the list cannot be\n"
              "read; 2 usage error.\n",
              f);
}

/* The states taskrun records in metadata.taskrun.state. */
static const char *const known_states[] = {"running", "stopped", "completed", "failed", "timed_out",
                                           "killed",  "lost",    "waiting",   "queued", "skipped"};

static int check_state(const char *state)
{
        for (size_t i = 0; i < sizeof known_states / sizeof known_states[0]; i++)
                if (strcmp(state, known_states[i]) == 0)
                        return 0;
        tr_warnx("%s: --state: unknown state '%s' (running, stopped, completed, failed, "
                 "timed_out, killed, lost, waiting, queued, skipped)",
                 CMD, state);
        return -1;
}

/* value is one of the n values; with none given, anything is. */
static int one_of(const char *value, const char **values, int n)
{
        if (n == 0)
                return 1;
        for (int i = 0; i < n && value != NULL; i++)
                if (strcmp(value, values[i]) == 0)
                        return 1;
        return 0;
}

static int wanted(const struct list_opts *o, const struct tr_store *s, json_object *task)
{
        const char *state = tr_json_str(tr_task_block(task, s->schema), "state");

        return one_of(tr_json_str(task, "status"), o->statuses, o->n_statuses) &&
               one_of(state, o->states, o->n_states);
}

/* A cell padded to width characters (not bytes), then two spaces. */
static void cell(const char *text, size_t width)
{
        fputs(text, stdout);
        for (size_t n = tr_utf8_chars(text); n < width + 2; n++)
                putchar(' ');
}

static void row(const struct tr_store *s, const struct tr_task_entry *t, int id_width)
{
        json_object *block = tr_task_block(t->task, s->schema);
        char status[32], state[32], took[32], subject[SUBJECT_CHARS * 4 + 4],
            last[LAST_LINE_CHARS * 4 + 4];

        tr_oneline(tr_json_str(t->task, "status"), 11, status, sizeof status);
        int64_t pos;
        char queued[32];
        const char *word = tr_json_str(block, "state");

        /* A queued run shows its place in line: "queued 3" (1 = next). */
        if (word != NULL && strcmp(word, "queued") == 0 &&
            tr_json_int(block, "position", &pos) == 0) {
                snprintf(queued, sizeof queued, "queued %lld", (long long)pos);
                word = queued;
        }
        tr_oneline(word, 10, state, sizeof state);
        tr_task_duration(block, took, sizeof took);
        tr_oneline(tr_json_str(t->task, "subject"), SUBJECT_CHARS, subject, sizeof subject);
        tr_oneline(tr_json_str(block, "last_line"), LAST_LINE_CHARS, last, sizeof last);
        printf("%-*s  ", id_width, t->ref.id);
        cell(status, 11);
        cell(state, 10);
        printf("%8s  ", took);
        cell(subject, SUBJECT_CHARS);
        printf("%s\n", last);
}

static void print_table(const struct list_opts *o, const struct tr_store *s,
                        const struct tr_task_list *l)
{
        int id_width = 2, header = 0;

        for (size_t i = 0; i < l->n; i++)
                if (wanted(o, s, l->v[i].task) && (int)strlen(l->v[i].ref.id) > id_width)
                        id_width = (int)strlen(l->v[i].ref.id);
        for (size_t i = 0; i < l->n; i++) {
                if (!wanted(o, s, l->v[i].task))
                        continue;
                if (!header++)
                        printf("%-*s  %-11s  %-10s  %8s  %-*s  %s\n", id_width, "ID", "STATUS",
                               "STATE", "DURATION", SUBJECT_CHARS, "SUBJECT", "LAST LINE");
                row(s, &l->v[i], id_width);
        }
}

static void print_json(const struct list_opts *o, const struct tr_store *s,
                       const struct tr_task_list *l)
{
        json_object *array = json_object_new_array();

        for (size_t i = 0; i < l->n; i++)
                if (wanted(o, s, l->v[i].task))
                        json_object_array_add(array, json_object_get(l->v[i].task));
        printf("%s\n", tr_task_format(array));
        json_object_put(array);
}

/* A running record whose process is gone shows as lost, as reap would write it; a queued
 * one shows its position in line as it is now. */
static void judge_all(const struct tr_store *s, struct tr_task_list *l)
{
        struct tr_here here;

        tr_here_init(&here);
        for (size_t i = 0; i < l->n; i++) {
                tr_task_judge(l->v[i].task, s->schema, &here);
                tr_queue_annotate(tr_task_block(l->v[i].task, s->schema));
        }
}

static int list(const struct list_opts *o)
{
        struct tr_store s;
        struct tr_task_list l;
        struct tr_err e;
        int missing, r = tr_cmd_open_list(CMD, &o->store, &s, &missing);

        if (r != TR_EXIT_OK)
                return r;
        for (int i = 0; i < o->n_statuses; i++)
                if (tr_status_check(&s, o->statuses[i], &e) == -1) {
                        tr_warnx("%s: --status: %s", CMD, e.msg);
                        return TR_EXIT_USAGE;
                }
        if (missing) {
                l = (struct tr_task_list){0};
        } else if (tr_list_read(CMD, &s, &l, &e) == -1) {
                tr_warnx("%s: %s", CMD, e.msg);
                return TR_EXIT_FAIL;
        }
        judge_all(&s, &l);
        if (o->json)
                print_json(o, &s, &l);
        else
                print_table(o, &s, &l);
        tr_list_free(&l);
        if (fflush(stdout) == EOF || ferror(stdout)) {
                tr_warnx("%s: write error on standard output", CMD);
                return TR_EXIT_FAIL;
        }
        return TR_EXIT_OK;
}

static int parse(int argc, char **argv, struct list_opts *o, int *done)
{
        int c;

        *done = 0;
        optind = 1;
        argv[0] = "taskrun: " CMD;
        while ((c = getopt_long(argc, argv, "h", list_options, NULL)) != -1) {
                if (c == 'h') {
                        usage(stdout);
                        *done = 1;
                        return TR_EXIT_OK;
                }
                if (c == OPT_JSON)
                        o->json = 1;
                else if (c == OPT_STATUS)
                        o->statuses[o->n_statuses++] = optarg;
                else if (c == OPT_STATE && check_state(optarg) == -1)
                        return tr_cmd_usage_error(CMD);
                else if (c == OPT_STATE)
                        o->states[o->n_states++] = optarg;
                else if (c == '?' || tr_store_opt(&o->store, c, optarg) != 1)
                        return tr_cmd_usage_error(CMD);
        }
        if (optind < argc) {
                tr_warnx("%s: unexpected argument '%s'", CMD, argv[optind]);
                return tr_cmd_usage_error(CMD);
        }
        return TR_EXIT_OK;
}

int tr_cmd_list(int argc, char **argv)
{
        struct list_opts o = {.store = {.lock_timeout_ms = -1}};
        int done, r;

        o.statuses = calloc((size_t)argc + 1, sizeof *o.statuses);
        o.states = calloc((size_t)argc + 1, sizeof *o.states);
        if (o.statuses == NULL || o.states == NULL) {
                free(o.statuses);
                free(o.states);
                tr_warnx("%s: out of memory", CMD);
                return TR_EXIT_FAIL;
        }
        r = parse(argc, argv, &o, &done);
        if (r == TR_EXIT_OK && !done)
                r = list(&o);
        free(o.statuses);
        free(o.states);
        return r;
}
