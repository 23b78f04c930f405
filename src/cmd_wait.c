/*
 * `taskrun wait ID...`: block until tasks are done. One libev loop sleeps on
 * an ev_stat watcher per task file (inotify on Linux, so a change wakes it at
 * once and nothing polls); each wakeup re-reads only that task.
 */
#include <errno.h>
#include <ev.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cmd.h"
#include "taskrun/procinfo.h"

#define CMD "wait"
/*
 * ev_stat compares times to the second: a second change of the same size in
 * the same second looks like no change. One re-read this long after any
 * change catches it; it is not repeated, so an idle wait stays asleep.
 */
#define SETTLE_SECONDS 1.1

enum {
        OPT_TIMEOUT = TR_OPT_FIRST_FREE,
        OPT_ANY,
        OPT_WAIT_MISSING,
};

static const struct option wait_options[] = {
    {"timeout", required_argument, NULL, OPT_TIMEOUT},
    {"any", no_argument, NULL, OPT_ANY},
    {"wait-missing", no_argument, NULL, OPT_WAIT_MISSING},
    {"quiet", no_argument, NULL, 'q'},
    {"help", no_argument, NULL, 'h'},
    TR_STORE_LONGOPTS,
    {NULL, 0, NULL, 0},
};

struct wait_ctx;

struct waited {
        struct tr_task_ref ref;
        ev_stat watch; /* the task file */
        enum tr_done done;
        struct wait_ctx *ctx;
};

struct wait_ctx {
        struct ev_loop *loop;
        const struct tr_store *store;
        struct waited *tasks;
        size_t n;
        ev_timer timeout;   /* --timeout */
        ev_timer settle;    /* the one re-read after a change, see SETTLE_SECONDS */
        int64_t timeout_ms; /* -1: none */
        int any, quiet, wait_missing;
        int status; /* -1 until decided */
};

static void usage(FILE *f)
{
        fputs("usage: taskrun wait [--timeout DURATION] [--any] [options] ID...\n"
              "       taskrun wait [--timeout DURATION] --file PATH\n"
              "\n"
              "Block until every task ID is done, woken by changes to the task files\n"
              "(inotify), without polling. Done: status completed (or failed in a --file\n"
              "task), or a last run that ended (metadata.taskrun.state completed, failed,\n"
              "timed_out, killed or lost). Prints \"ID: STATE\" for each task as it is done.\n"
              "\n"
              "         --timeout DURATION       give up after DURATION (10, 1.5s, 2m, 1h)\n"
              "         --any                    return when the first task is done; it decides\n"
              "         --wait-missing           wait for a task that does not exist (yet, or\n"
              "                                  any more); without it a missing task is an\n"
              "                                  error and one deleted meanwhile has failed\n"
              "         -q, --quiet              print nothing on stdout\n"
              "         -h, --help               this help\n",
              f);
        tr_cmd_store_usage(f);
        fputs("\nexit status: 0 all tasks completed (--any: the first done completed);\n"
              "1 a task failed, timed out, was killed, lost or deleted (--any: the first\n"
              "done did), or a task was not found or unreadable; 2 usage error;\n"
              "124 --timeout expired first.\n",
              f);
}

/* With --any the first task done decides; otherwise all must be, and one failure fails. */
static void decide(struct wait_ctx *c, const struct waited *now_done)
{
        int failed = 0;

        if (c->any) {
                c->status = now_done->done == TR_DONE_OK ? TR_EXIT_OK : TR_EXIT_FAIL;
                return;
        }
        for (size_t i = 0; i < c->n; i++) {
                if (c->tasks[i].done == TR_NOT_DONE)
                        return;
                failed |= c->tasks[i].done == TR_DONE_FAILED;
        }
        c->status = failed ? TR_EXIT_FAIL : TR_EXIT_OK;
}

static void mark_done(struct wait_ctx *c, struct waited *w, enum tr_done done, const char *word)
{
        w->done = done;
        if (!c->quiet) {
                printf("%s: %s\n", w->ref.id, word);
                fflush(stdout);
        }
        decide(c, w);
}

/* A task that cannot be read: an error at the start, afterwards a write still in progress. */
static void read_failed(struct wait_ctx *c, struct waited *w, const struct tr_err *e, int first)
{
        if (e->errnum == ENOENT && c->wait_missing)
                return;
        if (e->errnum == ENOENT && !first) {
                mark_done(c, w, TR_DONE_FAILED, "deleted");
        } else if (first) {
                if (e->errnum == ENOENT && c->store->schema == TR_SCHEMA_CLAUDE)
                        tr_warnx("%s: task %s: not found in %s", CMD, w->ref.id, c->store->dir);
                else
                        tr_warnx("%s: %s", CMD, e->msg);
                c->status = TR_EXIT_FAIL;
        }
}

static void check_task(struct wait_ctx *c, struct waited *w, int first)
{
        struct tr_err e;
        json_object *task;
        const char *word = NULL;

        if (w->done != TR_NOT_DONE || c->status != -1)
                return;
        if (tr_task_read(c->store, &w->ref, &task, &e) == -1) {
                read_failed(c, w, &e, first);
                return;
        }
        enum tr_done done = tr_task_done(task, c->store->schema, &word);
        if (done != TR_NOT_DONE)
                mark_done(c, w, done, word);
        json_object_put(task);
}

static void check_all(struct wait_ctx *c, int first)
{
        for (size_t i = 0; i < c->n && c->status == -1; i++)
                check_task(c, &c->tasks[i], first);
        if (c->status != -1)
                ev_break(c->loop, EVBREAK_ALL);
}

static void arm_settle(struct wait_ctx *c)
{
        ev_timer_stop(c->loop, &c->settle);
        ev_timer_set(&c->settle, SETTLE_SECONDS, 0.);
        ev_timer_start(c->loop, &c->settle);
}

static void on_task_changed(struct ev_loop *loop, ev_stat *watch, int revents)
{
        struct waited *w = watch->data;
        struct wait_ctx *c = w->ctx;
        (void)revents;

        check_task(c, w, 0);
        if (c->status != -1)
                ev_break(loop, EVBREAK_ALL);
        else
                arm_settle(c);
}

static void on_settle(struct ev_loop *loop, ev_timer *timer, int revents)
{
        (void)loop;
        (void)revents;
        check_all(timer->data, 0);
}

static void on_timeout(struct ev_loop *loop, ev_timer *timer, int revents)
{
        struct wait_ctx *c = timer->data;
        (void)revents;

        fprintf(stderr, "taskrun: %s: timed out; not done:", CMD);
        for (size_t i = 0; i < c->n; i++)
                if (c->tasks[i].done == TR_NOT_DONE)
                        fprintf(stderr, " %s", c->tasks[i].ref.id);
        fputc('\n', stderr);
        c->status = TR_EXIT_TIMEOUT;
        ev_break(loop, EVBREAK_ALL);
}

static void start_watchers(struct wait_ctx *c)
{
        for (size_t i = 0; i < c->n; i++) {
                struct waited *w = &c->tasks[i];
                ev_stat_init(&w->watch, on_task_changed, w->ref.path, 0.);
                w->watch.data = w;
                ev_stat_start(c->loop, &w->watch);
        }
        ev_timer_init(&c->settle, on_settle, SETTLE_SECONDS, 0.);
        c->settle.data = c;
        ev_timer_start(c->loop, &c->settle);
        if (c->timeout_ms >= 0) {
                ev_timer_init(&c->timeout, on_timeout, (double)c->timeout_ms / 1000., 0.);
                c->timeout.data = c;
                ev_timer_start(c->loop, &c->timeout);
        }
}

/* Watch first, then read: a change between the two still wakes the loop. */
static int wait_for(struct wait_ctx *c)
{
        start_watchers(c);
        check_all(c, 1);
        if (c->status == -1 && c->timeout_ms == 0)
                on_timeout(c->loop, &c->timeout, 0);
        if (c->status == -1)
                ev_run(c->loop, 0);
        return c->status == -1 ? TR_EXIT_FAIL : c->status;
}

static int run_wait(struct wait_ctx *c, const struct tr_store_opts *so, char **ids, int nids)
{
        struct tr_targets t;
        int r = tr_targets_open(CMD, so, ids, nids, INT_MAX, &t);

        if (r != TR_EXIT_OK)
                return r;
        c->store = &t.store;
        c->n = t.n;
        c->tasks = calloc(t.n, sizeof *c->tasks);
        c->loop = ev_loop_new(EVFLAG_AUTO);
        if (c->tasks == NULL || c->loop == NULL) {
                tr_warnx("%s: %s", CMD, c->loop ? "out of memory" : "cannot start the event loop");
                r = TR_EXIT_FAIL;
        } else {
                for (size_t i = 0; i < t.n; i++) {
                        c->tasks[i].ref = t.refs[i];
                        c->tasks[i].ctx = c;
                }
                r = wait_for(c);
        }
        if (c->loop != NULL)
                ev_loop_destroy(c->loop);
        free(c->tasks);
        tr_targets_free(&t);
        return r;
}

static int apply_option(struct wait_ctx *c, struct tr_store_opts *so, int opt, const char *arg)
{
        switch (opt) {
        case OPT_TIMEOUT:
                if (tr_parse_duration(arg, &c->timeout_ms) == 0)
                        return 0;
                tr_warnx("%s: --timeout: invalid duration '%s'", CMD, arg);
                return -1;
        case OPT_ANY:
                c->any = 1;
                return 0;
        case OPT_WAIT_MISSING:
                c->wait_missing = 1;
                return 0;
        case 'q':
                c->quiet = 1;
                return 0;
        }
        return tr_store_opt(so, opt, arg) == 1 ? 0 : -1;
}

int tr_cmd_wait(int argc, char **argv)
{
        struct wait_ctx c = {.timeout_ms = -1, .status = -1};
        struct tr_store_opts so = {.lock_timeout_ms = -1};
        int opt;

        optind = 1;
        argv[0] = "taskrun: " CMD;
        while ((opt = getopt_long(argc, argv, "qh", wait_options, NULL)) != -1) {
                if (opt == 'h') {
                        usage(stdout);
                        return TR_EXIT_OK;
                }
                if (opt == '?' || apply_option(&c, &so, opt, optarg) == -1)
                        return tr_cmd_usage_error(CMD);
        }
        return run_wait(&c, &so, argv + optind, argc - optind);
}
