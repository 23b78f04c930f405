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

enum { OPT_STATUS = TR_OPT_FIRST_FREE, OPT_STATE };

static const struct option list_options[] = {
    {"json", no_argument, NULL, TR_OPT_JSON},
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

/* One table row, worked out while its task is at hand, printed once the widths are known. */
struct row {
        char id[TR_ID_MAX];
        char status[32], state[32], took[32];
        char subject[SUBJECT_CHARS * 4 + 4], last[LAST_LINE_CHARS * 4 + 4];
};

static void fill_row(const struct tr_store *s, const struct tr_task_ref *ref, json_object *task,
                     struct row *r)
{
        json_object *block = tr_task_block(task, s->schema);
        const char *word = tr_json_str(block, "state");
        char queued[32];
        int64_t pos;

        /* A queued run shows its place in line: "queued 3" (1 = next). */
        if (word != NULL && strcmp(word, "queued") == 0 &&
            tr_json_int(block, "position", &pos) == 0) {
                snprintf(queued, sizeof queued, "queued %lld", (long long)pos);
                word = queued;
        }
        snprintf(r->id, sizeof r->id, "%s", ref->id);
        tr_oneline(tr_json_str(task, "status"), 11, r->status, sizeof r->status);
        tr_oneline(word, 10, r->state, sizeof r->state);
        tr_task_duration(block, r->took, sizeof r->took);
        tr_oneline(tr_json_str(task, "subject"), SUBJECT_CHARS, r->subject, sizeof r->subject);
        tr_oneline(tr_json_str(block, "last_line"), LAST_LINE_CHARS, r->last, sizeof r->last);
}

static void print_row(const struct row *r, int id_width)
{
        printf("%-*s  ", id_width, r->id);
        cell(r->status, 11);
        cell(r->state, 10);
        printf("%8s  ", r->took);
        cell(r->subject, SUBJECT_CHARS);
        printf("%s\n", r->last);
}

/* What the walk over the list carries: the options, and the output so far. */
struct walk {
        const struct list_opts *o;
        const struct tr_store *s;
        struct tr_here here;
        struct row *rows; /* the table's */
        size_t n, cap;
        size_t printed; /* --json: objects printed */
};

/* A task as the reader should see it: a run whose process is gone is lost, as reap would write
 * it; a queued one shows its place in line as it is now. 1 if the options want it. */
static int judge(struct walk *w, json_object *task)
{
        tr_task_judge(task, w->s->schema, &w->here);
        tr_queue_annotate(tr_task_block(task, w->s->schema));
        return wanted(w->o, w->s, task);
}

static int add_row(const struct tr_task_ref *ref, json_object *task, void *arg)
{
        struct walk *w = arg;

        if (!judge(w, task))
                return 0;
        if (w->n == w->cap) {
                size_t cap = w->cap ? w->cap * 2 : 64;
                struct row *v = realloc(w->rows, cap * sizeof *v);
                if (v == NULL)
                        return -1;
                w->rows = v;
                w->cap = cap;
        }
        fill_row(w->s, ref, task, &w->rows[w->n++]);
        return 0;
}

static void print_table(const struct walk *w)
{
        int id_width = 2;

        for (size_t i = 0; i < w->n; i++)
                if ((int)strlen(w->rows[i].id) > id_width)
                        id_width = (int)strlen(w->rows[i].id);
        if (w->n > 0)
                printf("%-*s  %-11s  %-10s  %8s  %-*s  %s\n", id_width, "ID", "STATUS", "STATE",
                       "DURATION", SUBJECT_CHARS, "SUBJECT", "LAST LINE");
        for (size_t i = 0; i < w->n; i++)
                print_row(&w->rows[i], id_width);
}

/*
 * --json, one task at a time: the array as Claude's JSON.stringify(tasks,
 * null, 2) writes it, each object's own lines two spaces further in (a JSON
 * string holds no raw newline, so every newline starts a line of it).
 */
static int print_object(const struct tr_task_ref *ref, json_object *task, void *arg)
{
        struct walk *w = arg;
        const char *text, *nl;
        (void)ref;

        if (!judge(w, task))
                return 0;
        fputs(w->printed++ ? ",\n  " : "[\n  ", stdout);
        for (text = tr_task_format(task); (nl = strchr(text, '\n')) != NULL; text = nl + 1) {
                fwrite(text, 1, (size_t)(nl - text) + 1, stdout);
                fputs("  ", stdout);
        }
        fputs(text, stdout);
        return 0;
}

static int list(void *opts, const struct tr_store_opts *so, char **args, int nargs)
{
        const struct list_opts *o = opts;
        struct tr_store s;
        struct tr_task_list skipped = {0};
        struct walk w = {.o = o, .s = &s};
        struct tr_err e;
        int missing, r = tr_cmd_open_list(CMD, so, &s, &missing);

        (void)args, (void)nargs;

        if (r != TR_EXIT_OK)
                return r;
        for (int i = 0; i < o->n_statuses; i++)
                if (tr_status_check(&s, o->statuses[i], &e) == -1) {
                        tr_warnx("%s: --status: %s", CMD, e.msg);
                        return TR_EXIT_USAGE;
                }
        tr_here_init(&w.here);
        if (!missing &&
            tr_list_each(&s, &skipped, o->json ? print_object : add_row, &w, &e) == -1) {
                tr_warnx("%s: %s", CMD, e.msg[0] ? e.msg : "out of memory");
                free(w.rows);
                return TR_EXIT_FAIL;
        }
        for (size_t i = 0; i < skipped.n_skipped; i++)
                tr_warnx("%s: skipping %s", CMD, skipped.skipped[i].msg);
        tr_list_free(&skipped);
        if (o->json)
                fputs(w.printed ? "\n]\n" : "[]\n", stdout);
        else
                print_table(&w);
        free(w.rows);
        return tr_cmd_flush(CMD) == 0 ? TR_EXIT_OK : TR_EXIT_FAIL;
}

/* One of list's own options into its list_opts. */
static int apply_option(void *opts, int opt, const char *arg)
{
        struct list_opts *o = opts;

        if (opt == TR_OPT_JSON)
                o->json = 1;
        else if (opt == OPT_STATUS)
                o->statuses[o->n_statuses++] = arg;
        else if (opt == OPT_STATE && check_state(arg) == 0)
                o->states[o->n_states++] = arg;
        else
                return -1;
        return 0;
}

static const struct tr_cmd_spec spec = {CMD, "h", list_options, usage, apply_option, list, 0};

int tr_cmd_list(int argc, char **argv)
{
        struct list_opts o = {0};
        int r;

        /* Each --status or --state takes an argument: argc bounds how many there are. */
        o.statuses = calloc((size_t)argc + 1, sizeof *o.statuses);
        o.states = calloc((size_t)argc + 1, sizeof *o.states);
        if (o.statuses == NULL || o.states == NULL) {
                tr_warnx("%s: out of memory", CMD);
                r = TR_EXIT_FAIL;
        } else {
                r = tr_cmd_main(&spec, argc, argv, &o);
        }
        free(o.statuses);
        free(o.states);
        return r;
}
