/*
 * `taskrun rerun ID`: run a task's recorded command again, in its recorded
 * working directory, into the same task, with the run options it was started
 * with (metadata.taskrun.options) unless the rerun names them itself. A task
 * whose run is still going is left alone. The exit status is the run's.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cmd.h"
#include "run.h"

#define CMD "rerun"

struct rerun {
        struct tr_run_opts given; /* the rerun's own options, over the defaults */
        struct tr_run_opts o;     /* what runs */
        struct tr_targets t;
        int targets_open;
        json_object *task;
        char **argv; /* the recorded command; its strings belong to task */
        char store_path[PATH_MAX], summary[PATH_MAX], events[PATH_MAX], log[PATH_MAX];
};

/* rerun's --help: its own words, then the run options it takes. */
static void usage(FILE *f)
{
        fputs("usage: taskrun rerun [-d] [run options] ID\n"
              "       taskrun rerun [-d] [run options] --file PATH\n"
              "\n"
              "Run task ID's recorded command again, in its recorded working directory,\n"
              "into the same task, with the run options it was started with (recorded in\n"
              "metadata.taskrun.options: --timeout, --tail, --on-fail, --retry, ...) unless\n"
              "given here; -d runs it in the background. A task whose run is still going\n"
              "is refused. Relative paths given here are taken from this directory.\n"
              "\n",
              f);
        tr_run_usage_options(f, 1);
        fputs("\nexit status: as taskrun -- command: the command's, 128+N after signal N,\n"
              "124 timeout or stall, ...; 122 not run: the task's run is still going;\n"
              "125 not run: a bad option, no such task, no run recorded, or its working\n"
              "directory is gone.\n",
              f);
}

/* path as an absolute one (from this directory) in buf; path itself if it already is. */
static const char *absolute(const char *path, char *buf, size_t n)
{
        char cwd[PATH_MAX];

        if (path == NULL || path[0] == '/')
                return path;
        if (getcwd(cwd, sizeof cwd) == NULL || snprintf(buf, n, "%s/%s", cwd, path) >= (int)n)
                return NULL;
        return buf;
}

/* What only a first run decides: a rerun's task is the ID given. */
static int check_given(const struct tr_run_opts *g)
{
        const char *bad = g->task_id       ? "--task"
                          : g->create      ? "--create"
                          : g->subject     ? "--subject"
                          : g->description ? "--description"
                                           : NULL;

        if (bad == NULL)
                return 0;
        tr_warnx("%s: %s: not a rerun option (the task is the ID given)", CMD, bad);
        return -1;
}

/* The recorded argv as a NULL-terminated array of the task's strings. */
static int recorded_argv(struct rerun *r, json_object *block)
{
        json_object *a;
        size_t n;

        if (!json_object_object_get_ex(block, "argv", &a) ||
            !json_object_is_type(a, json_type_array) || (n = json_object_array_length(a)) == 0)
                return -1;
        if ((r->argv = calloc(n + 1, sizeof *r->argv)) == NULL)
                return -1;
        for (size_t i = 0; i < n; i++) {
                json_object *s = json_object_array_get_idx(a, i);
                if (!json_object_is_type(s, json_type_string))
                        return -1;
                r->argv[i] = (char *)json_object_get_string(s);
        }
        return 0;
}

/* A run that may still be going, here or elsewhere, is not started twice. */
static int still_going(const struct rerun *r, json_object *block)
{
        struct tr_here here;
        char why[256];

        tr_here_init(&here);
        switch (tr_task_liveness(block, &here, why, sizeof why)) {
        case TR_LIVE_ALIVE:
        case TR_LIVE_FOREIGN:
        case TR_LIVE_UNKNOWN:
                tr_warnx("%s: task %s: its run is still going (%s, %s); 'taskrun kill %s' "
                         "ends it",
                         CMD, r->t.refs[0].id, tr_json_str(block, "state"), why, r->t.refs[0].id);
                return 1;
        default:
                return 0;
        }
}

/*
 * Companions of a recorded option the rerun turned off go with it, unless
 * given here (g): --retry 0 drops the recorded --retry-delay, --timeout 0 its
 * --kill-after, and a rerun that is not detached the recorded --log.
 */
static void drop_orphaned(struct tr_run_opts *o, const struct tr_run_opts *g)
{
        struct tr_run_opts d;

        tr_run_defaults(&d);
        if (o->retry.max == 0 && g->retry.delay_ms == d.retry.delay_ms && !g->retry.on_given &&
            !g->retry.timeouts)
                o->retry = d.retry;
        if (o->kill_after_ms > 0 && o->timeout_ms == 0 && o->stall_timeout_ms == 0 &&
            o->orphans != TR_ORPHANS_KILL && g->kill_after_ms == 0)
                o->kill_after_ms = 0;
        if (!o->detach && g->log_path == NULL)
                o->log_path = NULL; /* a detached run's --log; this one is not detached */
}

/*
 * The options of the rerun: the recorded ones, then the rerun's own (argv,
 * parsed again) over them; paths given here and the store made absolute.
 */
static int build_opts(struct rerun *r, json_object *block, int argc, char **argv)
{
        struct tr_run_opts *o = &r->o;
        const struct tr_run_opts *g = &r->given;
        json_object *options = NULL;
        struct tr_cmd_args args;

        tr_run_defaults(o);
        json_object_object_get_ex(block, "options", &options);
        tr_run_opts_from_json(options, o);
        if (tr_run_options(CMD, usage, argc, argv, o, &args) != TR_GO)
                return -1; /* it took them once already */
        drop_orphaned(o, g);
        if (g->summary_path != NULL)
                o->summary_path = absolute(g->summary_path, r->summary, PATH_MAX);
        if (g->events_path != NULL)
                o->events_path = absolute(g->events_path, r->events, PATH_MAX);
        if (g->log_path != NULL)
                o->log_path = absolute(g->log_path, r->log, PATH_MAX);
        /* The task is found again after the chdir: by absolute path. */
        if (r->t.store.schema == TR_SCHEMA_PLAIN) {
                o->store.file = absolute(r->t.refs[0].path, r->store_path, PATH_MAX);
        } else {
                o->store.dir = absolute(r->t.store.dir, r->store_path, PATH_MAX);
                o->store.list = NULL;
                o->task_id = r->t.refs[0].id;
        }
        o->argv = r->argv;
        if (o->store.file == NULL && o->store.dir == NULL) {
                tr_warnx("%s: %s", CMD, strerror(ENAMETOOLONG));
                return -1;
        }
        return tr_run_check(o);
}

/* Find the task (ids) and its run, and decide whether and how to run it again. */
static int prepare(struct rerun *r, const struct tr_cmd_args *ids, int argc, char **argv)
{
        json_object *block;
        const char *id, *cwd;

        if (tr_targets_open(CMD, &r->given.store, ids->v, ids->n, 1, &r->t) != TR_EXIT_OK)
                return TR_EXIT_ERROR;
        r->targets_open = 1;
        id = r->t.refs[0].id;
        if (tr_cmd_read(CMD, &r->t.store, &r->t.refs[0], &r->task) != TR_EXIT_OK)
                return TR_EXIT_ERROR;
        block = tr_task_block(r->task, r->t.store.schema);
        if (block == NULL || recorded_argv(r, block) == -1) {
                tr_warnx("%s: task %s: no run recorded (no metadata.taskrun.argv)", CMD, id);
                return TR_EXIT_ERROR;
        }
        if (still_going(r, block))
                return TR_EXIT_RUNNING;
        cwd = tr_json_str(block, "cwd");
        if (cwd == NULL || cwd[0] != '/') {
                tr_warnx("%s: task %s: no working directory recorded", CMD, id);
                return TR_EXIT_ERROR;
        }
        if (build_opts(r, block, argc, argv) == -1)
                return TR_EXIT_ERROR;
        if (chdir(cwd) == -1) {
                tr_warnx("%s: task %s: %s: %s", CMD, id, cwd, strerror(errno));
                return TR_EXIT_ERROR;
        }
        return TR_GO;
}

int tr_cmd_rerun(int argc, char **argv)
{
        struct rerun r = {0};
        struct tr_cmd_args ids;
        int status;

        tr_run_defaults(&r.given);
        status = tr_run_options(CMD, usage, argc, argv, &r.given, &ids);
        if (status == TR_GO && check_given(&r.given) == -1)
                status = TR_EXIT_ERROR;
        if (status == TR_GO)
                status = prepare(&r, &ids, argc, argv);
        if (status == TR_GO)
                status = tr_run(&r.o);
        if (r.targets_open)
                tr_targets_free(&r.t);
        json_object_put(r.task);
        free(r.argv);
        tr_gate_opts_free(&r.given.gate);
        tr_gate_opts_free(&r.o.gate);
        return status;
}
