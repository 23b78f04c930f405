/*
 * `taskrun hook`: a Claude Code hook that tells the agent, once, which of its
 * session's background runs have ended since it last told it. It reads the
 * hook's input JSON on stdin and answers on stdout as Claude Code 2.1.332's
 * hook contract asks (read in that release's code):
 *
 *   input:  {session_id, transcript_path, cwd, hook_event_name, ...};
 *           Stop and SubagentStop add stop_hook_active, true while the turn
 *           goes on because a Stop hook blocked its end.
 *   Stop, SubagentStop:  {"decision":"block","reason":TEXT} keeps the turn
 *           going with TEXT for the model to read.
 *   UserPromptSubmit, SessionStart, PostToolUse:
 *           {"hookSpecificOutput":{"hookEventName":EVENT,"additionalContext":TEXT}}
 *           adds TEXT to what the model reads.
 *   exit 0 with nothing on stdout: nothing to say. Exit 2 is a blocking error
 *   to Claude Code, so this command never exits 2 (a usage error exits 1).
 *
 * What ended comes from the run archive (archive.h); a marker in the state
 * directory holds the time up to which runs were reported. With
 * stop_hook_active it says nothing and moves no marker: a Stop hook that
 * blocks again and again would keep the agent from ever stopping.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "archive.h"
#include "cli.h"
#include "cmd.h"
#include "taskrun/atomic.h"
#include "taskrun/path.h"

#define CMD "hook"
#define INPUT_MAX (16 * 1024 * 1024)
#define REPORT_MAX_RUNS 20
#define SUBJECT_CHARS 80

enum { OPT_ALL = TR_OPT_FIRST_FREE };

static const struct option options[] = {
    {"all", no_argument, NULL, OPT_ALL},
    {"help", no_argument, NULL, 'h'},
    TR_STORE_LONGOPTS,
    {NULL, 0, NULL, 0},
};

struct report {
        int all; /* runs that were not detached too */
        enum tr_schema schema;
        size_t n;   /* runs reported */
        char *text; /* the lines so far (malloc'd) */
        size_t len;
};

/* hook's --help; the man page and contrib/claude/README.md say the same. */
static void usage(FILE *f)
{
        fputs("usage: taskrun hook [--all] [options] < HOOK-INPUT-JSON\n"
              "\n"
              "A Claude Code hook (the hook contract of Claude Code 2.1.332): reads the\n"
              "hook's input JSON on stdin and, when runs of the session's task list have\n"
              "ended since it last reported, tells the agent once, one line per run:\n"
              "on Stop and SubagentStop as {\"decision\":\"block\",\"reason\":...} (the turn\n"
              "goes on so the agent can act on it; nothing while stop_hook_active is\n"
              "true), on UserPromptSubmit, SessionStart and PostToolUse as\n"
              "hookSpecificOutput.additionalContext. Nothing new: no output. The list is\n"
              "--list/--dir/--file, else $CLAUDE_CODE_TASK_LIST_ID, else the input's\n"
              "session_id, else $CLAUDE_CODE_SESSION_ID. Runs are read from taskrun's run\n"
              "archive, so runs whose task files Claude Code already deleted are told too.\n"
              "contrib/claude/ (installed in share/taskrun/claude) has the settings.\n"
              "\n"
              "         --all                    every run, not only detached (-d) ones:\n"
              "                                  a run in the agent's own shell was seen\n"
              "         -h, --help               this help\n",
              f);
        tr_cmd_store_usage(f);
        fputs("\nexit status: 0 answered (or nothing to say); 1 unreadable input or state,\n"
              "or a usage error (never 2: Claude Code reads 2 as a blocking error).\n",
              f);
}

/* All of stdin, NUL-terminated; NULL if unreadable or larger than INPUT_MAX. */
static char *read_input(size_t *len)
{
        size_t cap = 65536;
        char *buf = malloc(cap + 1);
        ssize_t n;

        *len = 0;
        while (buf != NULL && (n = read(STDIN_FILENO, buf + *len, cap - *len)) != 0) {
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 || (*len += (size_t)n) >= INPUT_MAX) {
                        free(buf);
                        return NULL;
                }
                if (*len == cap) {
                        char *more = realloc(buf, (cap *= 2) + 1);
                        if (more == NULL)
                                free(buf);
                        buf = more;
                }
        }
        if (buf != NULL)
                buf[*len] = '\0';
        return buf;
}

/* What the input says: the event, the session, and whether a Stop hook already blocked. */
struct hook_input {
        json_object *obj;
        const char *event, *session;
        int stop_active;
};

/*
 * The hook input Claude Code writes to stdin: one JSON object, read whole.
 * 0, or -1 after saying why.
 */
static int parse_input(struct hook_input *in)
{
        struct tr_err e;
        json_object *v;
        size_t len;
        char *text = read_input(&len);

        if (text == NULL) {
                tr_warnx("%s: cannot read the hook input on stdin", CMD);
                return -1;
        }
        in->obj = tr_task_parse(text, len, &e);
        free(text);
        if (in->obj == NULL) {
                tr_warnx("%s: hook input: %s", CMD, e.msg);
                return -1;
        }
        in->event = tr_json_str(in->obj, "hook_event_name");
        in->session = tr_json_str(in->obj, "session_id");
        in->stop_active = json_object_object_get_ex(in->obj, "stop_hook_active", &v) &&
                          json_object_get_boolean(v);
        return 0;
}

/* Events whose answer the model reads: 1 Stop-like (decision), 2 context, 0 none. */
static int event_kind(const char *event)
{
        static const char *const stops[] = {"Stop", "SubagentStop"};
        static const char *const contexts[] = {"UserPromptSubmit", "SessionStart", "PostToolUse"};

        for (size_t i = 0; event != NULL && i < 2; i++)
                if (strcmp(event, stops[i]) == 0)
                        return 1;
        for (size_t i = 0; event != NULL && i < 3; i++)
                if (strcmp(event, contexts[i]) == 0)
                        return 2;
        return 0;
}

/* The store: the options, else $CLAUDE_CODE_TASK_LIST_ID, else the input's session. */
static int open_store(const struct tr_store_opts *so, const struct hook_input *in,
                      struct tr_store *s)
{
        struct tr_store_opts o = *so;
        struct tr_task_ref file_ref;
        struct tr_err e;
        const char *env = getenv("CLAUDE_CODE_TASK_LIST_ID");

        if (o.list == NULL && o.dir == NULL && o.file == NULL && (env == NULL || !*env) &&
            in->session != NULL && tr_id_validate("session", in->session, NULL) == 0)
                o.list = in->session;
        /* A list whose directory is gone still has its archive. */
        if (tr_store_open(s, &o, 0, o.file ? &file_ref : NULL, &e) == 0 || e.errnum == ENOENT)
                return 0;
        tr_cmd_warn(CMD, &e);
        return -1;
}

/* <state dir>/hooks/<archive dir's name>.since: up to when runs were reported. */
static int marker_path(const struct tr_store *s, char *buf, size_t n, struct tr_err *e)
{
        char archive[PATH_MAX], dir[PATH_MAX], state[PATH_MAX];
        const char *key;

        if (tr_archive_dir(s, archive, sizeof archive, e) == -1 ||
            tr_state_dir(state, sizeof state, e) == -1)
                return -1;
        tr_path_split(archive, dir, sizeof dir, &key); /* dir is as long as archive */
        if (snprintf(buf, n, "%s/hooks/%s.since", state, key) >= (int)n)
                return tr_err_sys(e, ENAMETOOLONG, "%s/hooks", state);
        return 0;
}

/* The marker's time in ns since the epoch; 0 (report everything) if there is none. */
static int64_t marker_read(const char *path)
{
        long long ns = 0;
        FILE *f = fopen(path, "re");

        if (f != NULL) {
                if (fscanf(f, "%lld", &ns) != 1 || ns < 0)
                        ns = 0;
                fclose(f);
        }
        return ns;
}

/* Write the marker atomically; its directory is made on the first report, not before. */
static int marker_write(const char *path, int64_t ns, struct tr_err *e)
{
        char text[32], dir[PATH_MAX];
        const char *base;
        int len = snprintf(text, sizeof text, "%lld\n", (long long)ns);

        if (tr_atomic_write(path, text, (size_t)len, 0600, 0, e) == 0)
                return 0;
        if (e->errnum != ENOENT)
                return -1;
        tr_path_split(path, dir, sizeof dir, &base); /* dir is as long as path */
        if (tr_mkdir_p(dir, 0700) == -1)
                return tr_err_sys(e, errno, "%s", dir);
        return tr_atomic_write(path, text, (size_t)len, 0600, 0, e);
}

/* Append one line to the report. */
static void report_line(struct report *r, const char *line)
{
        size_t n = strlen(line);
        char *more = realloc(r->text, r->len + n + 2);

        if (more == NULL)
                return;
        r->text = more;
        memcpy(r->text + r->len, line, n);
        r->len += n;
        r->text[r->len++] = '\n';
        r->text[r->len] = '\0';
}

/* tr_archive_each's callback: one line per ended run, "- 3: failed (exit 2, 3.1s): ... [subject]".
 */
static void add_run(const struct tr_archived *a, void *arg)
{
        struct report *r = arg;
        json_object *block = tr_task_block(a->task, r->schema);
        const char *word = NULL, *subject = tr_json_str(a->task, "subject");
        char line[2048], out[2400], subj[SUBJECT_CHARS * 4 + 4];

        if (block == NULL || (!r->all && tr_json_str(block, "log") == NULL) ||
            tr_task_done(a->task, r->schema, &word) == TR_NOT_DONE)
                return;
        if (++r->n > REPORT_MAX_RUNS)
                return;
        struct tr_outcome_view v = {.id = a->id, .word = word, .block = block, .done = 1};
        tr_outcome_describe(&v, line, sizeof line);
        tr_oneline(subject, SUBJECT_CHARS, subj, sizeof subj);
        snprintf(out, sizeof out, "- %s%s%s%s", line, subject ? " [" : "", subject ? subj : "",
                 subject ? "]" : "");
        report_line(r, out);
}

/* The answer Claude Code reads: decision/reason for Stop, additionalContext for the others. */
static void answer(int kind, const char *event, const char *text)
{
        json_object *o = json_object_new_object(), *hso;

        if (kind == 1) {
                json_object_object_add(o, "decision", json_object_new_string("block"));
                json_object_object_add(o, "reason", json_object_new_string(text));
        } else {
                hso = json_object_new_object();
                json_object_object_add(hso, "hookEventName", json_object_new_string(event));
                json_object_object_add(hso, "additionalContext", json_object_new_string(text));
                json_object_object_add(o, "hookSpecificOutput", hso);
        }
        printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
                                                             JSON_C_TO_STRING_NOSLASHESCAPE));
        json_object_put(o);
}

/* The message: a head line, the runs, and where to read more. */
static char *message(const struct tr_store *s, const struct report *r)
{
        size_t n = r->len + strlen(s->dir) + 512;
        char *text = malloc(n), more[64] = "";

        if (text == NULL)
                return NULL;
        if (r->n > REPORT_MAX_RUNS)
                snprintf(more, sizeof more, "- ... and %zu more\n", r->n - REPORT_MAX_RUNS);
        snprintf(text, n,
                 "taskrun: %zu run%s ended since the last report (task list %s):\n%s%s"
                 "Details: taskrun show ID, taskrun logs ID.",
                 r->n, r->n == 1 ? "" : "s", *s->list ? s->list : s->dir, r->text, more);
        return text;
}

/* spec->run: opts is a struct report. */
static int hook(void *opts, const struct tr_store_opts *so, char **args, int nargs)
{
        struct report *r = opts;
        struct hook_input in = {0};
        struct tr_store s;
        struct tr_err e;
        struct timespec now;
        char marker[PATH_MAX];
        int kind, status = TR_EXIT_FAIL;

        (void)args, (void)nargs; /* none: max_args is 0 */
        if (parse_input(&in) == -1)
                return TR_EXIT_FAIL;
        kind = event_kind(in.event);
        /* Nothing the model would read, or a turn a Stop hook already kept going. */
        if (kind == 0 || (kind == 1 && in.stop_active)) {
                json_object_put(in.obj);
                return TR_EXIT_OK;
        }
        if (open_store(so, &in, &s) == -1) {
                json_object_put(in.obj);
                return TR_EXIT_FAIL;
        }
        if (marker_path(&s, marker, sizeof marker, &e) == -1) {
                tr_cmd_warn(CMD, &e);
                json_object_put(in.obj);
                return TR_EXIT_FAIL;
        }
        r->schema = s.schema;
        /* The coarse clock is the one file times come from: a record written after
         * this moment has an mtime at or after it, and is told next time. */
        clock_gettime(CLOCK_REALTIME_COARSE, &now);
        int64_t until = (int64_t)now.tv_sec * 1000000000LL + now.tv_nsec;
        if (tr_archive_each(&s, marker_read(marker), until, add_run, r, &e) == -1) {
                tr_cmd_warn(CMD, &e);
        } else if (marker_write(marker, until, &e) == -1) {
                tr_cmd_warn(CMD, &e); /* said now, and again next time: not lost */
        } else {
                char *text = r->n ? message(&s, r) : NULL;
                if (text != NULL)
                        answer(kind, in.event, text);
                free(text);
                status = TR_EXIT_OK;
        }
        free(r->text);
        json_object_put(in.obj);
        return status;
}

/* spec->apply: opts is the struct report; --all is the one option. */
static int apply_option(void *opts, int opt, const char *arg)
{
        (void)arg;
        if (opt != OPT_ALL)
                return -1;
        ((struct report *)opts)->all = 1;
        return 0;
}

static const struct tr_cmd_spec spec = {CMD, "h", options, usage, apply_option, hook, 0};

/* A hook's status 2 would block Claude Code's turn: a usage error is 1, as any other failure. */
int tr_cmd_hook(int argc, char **argv)
{
        struct report r = {0};
        int status = tr_cmd_main(&spec, argc, argv, &r);

        return status == TR_EXIT_USAGE ? TR_EXIT_FAIL : status;
}
