/*
 * `taskrun wait [ID...]`: block until tasks are done. One libev loop sleeps on
 * an ev_stat watcher per task file (inotify on Linux, so a change wakes it at
 * once and nothing polls) and, for a run on this host, on a pidfd of its
 * process, so a supervisor killed with -9 cannot leave it waiting for ever.
 */
#include <errno.h>
#include <ev.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cli.h"
#include "cmd.h"
#include "taskrun/procinfo.h"
#include "wait.h"

#define CMD "wait"
/*
 * ev_stat compares times to the second: a second change of the same size in
 * the same second looks like no change. One re-read this long after any
 * change catches it; it is not repeated, so an idle wait stays asleep. A run
 * found lost must stay lost this long too: its supervisor may be on its way
 * to writing the end (the process is reaped a moment before the record says so).
 */
#define SETTLE_SECONDS 1.1
/* Without pidfds (Linux < 5.3), how often a live process is looked at again. */
#define POLL_PID_SECONDS 2.0

enum {
        OPT_TIMEOUT = TR_OPT_FIRST_FREE,
        OPT_ANY,
        OPT_WAIT_MISSING,
};

static const struct option options[] = {
    {"timeout", required_argument, NULL, OPT_TIMEOUT},
    {"any", no_argument, NULL, OPT_ANY},
    {"wait-missing", no_argument, NULL, OPT_WAIT_MISSING},
    {"json", no_argument, NULL, TR_OPT_JSON},
    {"quiet", no_argument, NULL, 'q'},
    {"help", no_argument, NULL, 'h'},
    TR_STORE_LONGOPTS,
    {NULL, 0, NULL, 0},
};

/* wait's --help; the man page says the same. */
static void usage(FILE *f)
{
        fputs("usage: taskrun wait [--timeout DURATION] [--any] [--json] [options] [ID...]\n"
              "       taskrun wait [--timeout DURATION] --file PATH\n"
              "\n"
              "Block until every task ID is done, woken by changes to the task files\n"
              "(inotify) and by the end of their processes (pidfd), without polling. With\n"
              "no ID: every task of the list whose run taskrun started and that is\n"
              "running now, or waiting or queued to start. Done: status completed (or\n"
              "failed in a --file task), or a last run that ended (completed, failed,\n"
              "timed_out, stalled, killed, lost), or a run whose process is gone (lost,\n"
              "as reap judges it; nothing is written). A task file that is gone is\n"
              "answered from taskrun's run archive when it holds the run. One line per\n"
              "task as it is done:\n"
              "  3: completed (exit 0, 41.3s)\n"
              "  4: failed (exit 2, 3.1s): last line of output\n"
              "  5: lost (process 1234 is gone)\n"
              "\n"
              "         --timeout DURATION       give up after DURATION (10, 1.5s, 2m, 1h;\n"
              "                                  none: never). Default: none, but in a Claude\n"
              "                                  Code shell 20s less than its Bash tool's\n"
              "                                  timeout ($BASH_DEFAULT_TIMEOUT_MS, 2m), so\n"
              "                                  the answer comes before the tool call ends.\n"
              "                                  Wait in slices: status 124 = still running,\n"
              "                                  call again.\n"
              "         --any                    return when the first task is done; it decides\n"
              "         --wait-missing           wait for a task that does not exist (yet, or\n"
              "                                  any more); without it a missing task is gone\n"
              "         --json                   one JSON object per task and line instead\n"
              "         -q, --quiet              print nothing on stdout\n"
              "         -h, --help               this help\n",
              f);
        tr_cmd_store_usage(f);
        fputs("\nexit status: 0 all completed (--any: the first done did); 1 some failed,\n"
              "timed out, stalled or were killed, or a task is unreadable; 3 some lost, or gone\n"
              "with no record of their run; 124 --timeout expired first (still running);\n"
              "2 usage error. When several apply: 124, then 3, then 1.\n",
              f);
}

/* The answer so far: with --any the first task done decides, otherwise the worst of all. */
static int status_of(const struct wait_ctx *c)
{
        int lost = 0, failed = 0;

        for (size_t i = 0; i < c->n; i++) {
                enum tr_done d = c->tasks[i].done;
                if (d == TR_NOT_DONE && !c->any)
                        return -1;
                lost |= d == TR_DONE_LOST;
                failed |= d == TR_DONE_FAILED;
        }
        if (c->any && !lost && !failed) {
                for (size_t i = 0; i < c->n; i++)
                        if (c->tasks[i].done == TR_DONE_OK)
                                return TR_EXIT_OK;
                return -1;
        }
        return lost ? TR_EXIT_LOST : failed ? TR_EXIT_FAIL : TR_EXIT_OK;
}

/*
 * The line (or JSON) for a task that is done, flushed at once: a caller may
 * be reading as tasks end.
 */
static void print_outcome(const struct wait_ctx *c, const struct tr_outcome_view *v)
{
        char line[2048];

        if (c->quiet)
                return;
        if (c->json) {
                json_object *o = tr_outcome_json(v);
                printf("%s\n", json_object_to_json_string_ext(
                                   o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
                json_object_put(o);
        } else {
                tr_outcome_describe(v, line, sizeof line);
                printf("%s\n", line);
        }
        fflush(stdout);
}

void tr_wait_done(struct wait_ctx *c, struct waited *w, enum tr_done done,
                  const struct tr_outcome_view *v)
{
        w->done = done;
        tr_wait_unwatch_pid(c, w);
        print_outcome(c, v);
        if (c->status == -1 && (c->any || status_of(c) != -1))
                c->status = status_of(c);
}

/*
 * A missing task: the run archive may know how its run ended; else it is
 * gone. A run seen alive whose process is still there is not over: its
 * supervisor archives the end before it exits, and the pidfd wakes us then.
 */
static void task_missing(struct wait_ctx *c, struct waited *w, int first)
{
        struct tr_outcome_view v = {.id = w->ref.id, .word = "gone", .done = 1};
        json_object *task;
        enum tr_done done;

        if (c->wait_missing)
                return;
        if (tr_wait_from_archive(c, w, &task, &done, &v.word) == 1) {
                v.block = tr_task_block(task, c->store->schema);
                v.archived = 1;
                tr_wait_done(c, w, done, &v);
                json_object_put(task);
                return;
        }
        if (w->pidfd != -1)
                return;
        v.reason = first ? "no such task, and no record of a run" : "task file deleted";
        if (first && c->store->schema == TR_SCHEMA_CLAUDE)
                tr_cmd_not_found(CMD, c->store, &w->ref);
        tr_wait_done(c, w, TR_DONE_LOST, &v);
}

/*
 * A run whose process is gone is lost once it has stayed so for
 * SETTLE_SECONDS; a live one on this host gets its process watched.
 */
static void judge_running(struct wait_ctx *c, struct waited *w, json_object *task)
{
        json_object *block = tr_task_block(task, c->store->schema);
        char why[256];
        unsigned long long ticks;
        pid_t pid;

        if (block == NULL)
                return;
        switch (tr_task_liveness(block, &c->here, why, sizeof why)) {
        case TR_LIVE_LOST:
                if (w->lost_since < 0) {
                        w->lost_since = ev_now(c->loop);
                        tr_wait_arm_settle(c);
                } else if (ev_now(c->loop) - w->lost_since >= SETTLE_SECONDS - 0.05) {
                        tr_task_judge(task, c->store->schema, &c->here);
                        struct tr_outcome_view v = {
                            .id = w->ref.id, .word = "lost", .block = block, .done = 1};
                        tr_wait_done(c, w, TR_DONE_LOST, &v);
                } else {
                        tr_wait_arm_settle(c);
                }
                return;
        case TR_LIVE_ALIVE:
                w->lost_since = -1;
                if (tr_task_watched_pid(block, &pid, &ticks) == 0)
                        tr_wait_watch_pid(c, w, pid, ticks);
                return;
        default:
                w->lost_since = -1;
                return;
        }
}

void tr_wait_check(struct wait_ctx *c, struct waited *w, int first)
{
        struct tr_err e;
        json_object *task;
        const char *word = NULL;

        if (w->done != TR_NOT_DONE || c->status != -1)
                return;
        if (tr_task_read_settled(c->store, &w->ref, &task, &e) == -1) {
                if (e.errnum == ENOENT) {
                        task_missing(c, w, first);
                } else if (first) {
                        /* Later, a read that fails is a write in progress: the next change says. */
                        tr_cmd_warn(CMD, &e);
                        c->status = TR_EXIT_FAIL;
                }
                return;
        }
        const char *started = tr_json_str(tr_task_block(task, c->store->schema), "started_at");
        if (started != NULL)
                snprintf(w->seen_started, sizeof w->seen_started, "%s", started);
        enum tr_done done = tr_task_done(task, c->store->schema, &word);
        if (done != TR_NOT_DONE) {
                struct tr_outcome_view v = {.id = w->ref.id,
                                            .word = word,
                                            .block = tr_task_block(task, c->store->schema),
                                            .done = 1};
                tr_wait_done(c, w, done, &v);
        } else {
                judge_running(c, w, task);
        }
        json_object_put(task);
}

void tr_wait_check_all(struct wait_ctx *c, int first)
{
        for (size_t i = 0; i < c->n && c->status == -1; i++)
                tr_wait_check(c, &c->tasks[i], first);
        if (c->status != -1)
                ev_break(c->loop, EVBREAK_ALL);
}

void tr_wait_arm_settle(struct wait_ctx *c)
{
        ev_timer_stop(c->loop, &c->settle_w);
        ev_timer_set(&c->settle_w, SETTLE_SECONDS, 0.);
        ev_timer_start(c->loop, &c->settle_w);
}

/* A task file changed: read it again, and re-read once more a moment later (see SETTLE_SECONDS). */
static void on_task_changed(struct ev_loop *loop, ev_stat *task_file_w, int revents)
{
        struct waited *w = task_file_w->data;
        struct wait_ctx *c = w->ctx;
        (void)revents;

        tr_wait_check(c, w, 0);
        if (c->status != -1)
                ev_break(loop, EVBREAK_ALL);
        else
                tr_wait_arm_settle(c);
}

/* The settle re-read, or the slow look at live processes without pidfds: read every task. */
static void on_recheck(struct ev_loop *loop, ev_timer *timer, int revents)
{
        (void)loop;
        (void)revents;
        tr_wait_check_all(timer->data, 0);
}

/* What is not done yet, on stdout as for a done task, then one line on stderr. */
static void on_timeout(struct ev_loop *loop, ev_timer *timer, int revents)
{
        struct wait_ctx *c = timer->data;
        (void)revents;

        for (size_t i = 0; i < c->n; i++)
                if (c->tasks[i].done == TR_NOT_DONE)
                        tr_wait_print_pending(c, &c->tasks[i]);
        fprintf(stderr, "taskrun: %s: timed out; not done:", CMD);
        for (size_t i = 0; i < c->n; i++)
                if (c->tasks[i].done == TR_NOT_DONE)
                        fprintf(stderr, " %s", c->tasks[i].ref.id);
        fputs(" (still running: wait again)\n", stderr);
        c->status = TR_EXIT_TIMEOUT;
        ev_break(loop, EVBREAK_ALL);
}

/*
 * The task files, the settle re-read and --timeout; the pid timer starts
 * only when a pidfd cannot be had.
 */
static void start_watchers(struct wait_ctx *c)
{
        for (size_t i = 0; i < c->n; i++) {
                struct waited *w = &c->tasks[i];
                ev_stat_init(&w->task_file_w, on_task_changed, w->ref.path, 0.);
                w->task_file_w.data = w;
                ev_stat_start(c->loop, &w->task_file_w);
        }
        ev_timer_init(&c->settle_w, on_recheck, SETTLE_SECONDS, 0.);
        c->settle_w.data = c;
        ev_timer_start(c->loop, &c->settle_w);
        ev_timer_init(&c->poll_pids_w, on_recheck, POLL_PID_SECONDS, POLL_PID_SECONDS);
        c->poll_pids_w.data = c;
        if (c->timeout_ms >= 0) {
                ev_timer_init(&c->timeout_w, on_timeout, (double)c->timeout_ms / 1000., 0.);
                c->timeout_w.data = c;
                ev_timer_start(c->loop, &c->timeout_w);
        }
}

/* Watch first, then read: a change between the two still wakes the loop. */
static int wait_for(struct wait_ctx *c)
{
        start_watchers(c);
        tr_wait_check_all(c, 1);
        if (c->status == -1 && c->timeout_ms == 0)
                on_timeout(c->loop, &c->timeout_w, 0);
        if (c->status == -1)
                ev_run(c->loop, 0);
        for (size_t i = 0; i < c->n; i++)
                tr_wait_unwatch_pid(c, &c->tasks[i]);
        return c->status == -1 ? TR_EXIT_FAIL : c->status;
}

/*
 * Open the targets (the IDs, or every live run), wait for them, and free
 * what was taken: the exit status.
 */
static int run_wait(struct wait_ctx *c, const struct tr_store_opts *so, char **ids, int nids)
{
        struct tr_targets t;
        int r = nids == 0 && so->file == NULL
                    ? tr_wait_running_targets(CMD, so, &t)
                    : tr_targets_open_ex(CMD, so, ids, nids, INT_MAX, 1, &t);

        if (r != TR_EXIT_OK)
                return r;
        if (t.n == 0) {
                if (!c->quiet)
                        tr_warnx("%s: no running task in %s", CMD, t.store.dir);
                tr_targets_free(&t);
                return TR_EXIT_OK;
        }
        c->store = &t.store;
        c->n = t.n;
        c->tasks = calloc(t.n, sizeof *c->tasks);
        c->loop = ev_loop_new(EVFLAG_AUTO);
        tr_here_init(&c->here);
        if (c->tasks == NULL || c->loop == NULL) {
                tr_warnx("%s: %s", CMD, c->loop ? "out of memory" : "cannot start the event loop");
                r = TR_EXIT_FAIL;
        } else {
                for (size_t i = 0; i < t.n; i++) {
                        c->tasks[i].ref = t.refs[i];
                        c->tasks[i].ctx = c;
                        c->tasks[i].pidfd = -1;
                        c->tasks[i].lost_since = -1;
                }
                r = wait_for(c);
        }
        if (c->loop != NULL)
                ev_loop_destroy(c->loop);
        free(c->tasks);
        tr_targets_free(&t);
        return r;
}

/*
 * No --timeout: unbounded, except in a shell of Claude Code's Bash tool, whose
 * call is bounded. Claude Code 2.1.332: a call's timeout is
 * $BASH_DEFAULT_TIMEOUT_MS (a positive number), else 120000 ms, unless the
 * call asks for more, up to $BASH_MAX_TIMEOUT_MS, else 600000 ms. A shell
 * cannot see what its call asked for, so the default is what it gets.
 */
static int64_t default_timeout_ms(void)
{
        const char *claude = getenv("CLAUDECODE");
        const char *bash = getenv("BASH_DEFAULT_TIMEOUT_MS");
        long long tool_ms = 120000; /* Claude Code 2.1.332's default Bash timeout */
        char *end;

        if (claude == NULL || strcmp(claude, "1") != 0)
                return -1;
        if (bash != NULL && *bash != '\0') {
                long long v = strtoll(bash, &end, 10);
                if (*end == '\0' && v > 0)
                        tool_ms = v;
        }
        return tool_ms > 40000 ? tool_ms - 20000 : tool_ms / 2;
}

/* spec->apply: opts is the struct wait_ctx. */
static int apply_option(void *opts, int opt, const char *arg)
{
        struct wait_ctx *c = opts;

        switch (opt) {
        case OPT_TIMEOUT:
                c->timeout_given = 1;
                if (strcmp(arg, "none") == 0) {
                        c->timeout_ms = -1;
                        return 0;
                }
                return tr_duration_opt(CMD, "--timeout", arg, -1, &c->timeout_ms);
        case OPT_ANY:
                c->any = 1;
                return 0;
        case OPT_WAIT_MISSING:
                c->wait_missing = 1;
                return 0;
        case TR_OPT_JSON:
                c->json = 1;
                return 0;
        case 'q':
                c->quiet = 1;
                return 0;
        }
        return -1;
}

/* spec->run: opts is the struct wait_ctx. */
static int wait_main(void *opts, const struct tr_store_opts *so, char **ids, int nids)
{
        struct wait_ctx *c = opts;

        if (!c->timeout_given)
                c->timeout_ms = default_timeout_ms();
        return run_wait(c, so, ids, nids);
}

static const struct tr_cmd_spec spec = {CMD, "qh", options, usage, apply_option, wait_main, -1};

int tr_cmd_wait(int argc, char **argv)
{
        struct wait_ctx c = {.timeout_ms = -1,
                             .status = -1,
                             .recheck = tr_wait_check,
                             .arm_settle = tr_wait_arm_settle};

        return tr_cmd_main(&spec, argc, argv, &c);
}
