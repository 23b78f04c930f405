/*
 * `taskrun reap`: find tasks that say "running" although their process is
 * gone, and mark them lost. Only a process on this host can be judged; a
 * task of another host, or one whose process is alive, is never touched.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "taskrun/atomic.h"
#include "archive.h"
#include "cli.h"
#include "cmd.h"
#include "taskrun/procinfo.h"
#include "report.h"

#define CMD "reap"

static const struct option options[] = {
    {"dry-run", no_argument, NULL, 'n'},
    {"help", no_argument, NULL, 'h'},
    TR_STORE_LONGOPTS,
    {NULL, 0, NULL, 0},
};

struct reap_ctx {
        const struct tr_store *store;
        struct tr_here here;
        int dry_run;
        int status;
};

/* What the update callback needs; why receives the reason found under the lock. */
struct lost_mark {
        const struct reap_ctx *c;
        char now[TR_ISO8601_LEN];
        char why[256];
        json_object *final; /* the task as marked, for the run archive */
};

/* reap's --help; the man page says the same. */
static void usage(FILE *f)
{
        fputs("usage: taskrun reap [--dry-run] [options]\n"
              "\n"
              "Mark lost every task whose metadata.taskrun.state is running on this host\n"
              "although its run is over: the machine rebooted since (boot id differs), the\n"
              "pid is gone, or the pid is now another process (start time differs). A lost\n"
              "task gets state lost, ended_at and error in metadata.taskrun and a note at\n"
              "the end of its description; its status stays (a --file task: failed).\n"
              "Tasks of other hosts and tasks whose process is alive are left alone.\n"
              "Prints \"ID: lost (reason)\" for each task marked, \"ID: left alone (reason)\"\n"
              "for each running task it cannot judge. Also removes temp files that writers\n"
              "killed mid-write left behind (.ID.json.tmp.*, older than ten minutes).\n"
              "\n"
              "         -n, --dry-run            print what would be done; change nothing\n"
              "         -h, --help               this help\n",
              f);
        tr_cmd_store_usage(f);
        fputs("\nexit status: 0 done (whether or not any task was lost); 1 a task could not\n"
              "be updated or the list not read; 2 usage error.\n",
              f);
}

/* Drop an earlier result block from the description, then append the lost note. */
static void note_lost(json_object *task, json_object *block, const struct lost_mark *m)
{
        char *cmd = tr_task_command(block, 200), outcome[512];

        snprintf(outcome, sizeof outcome, "lost: %s (found by taskrun reap at %s)", m->why, m->now);
        tr_result_block_set(task, outcome, cmd, tr_json_str(block, "last_line"));
        free(cmd);
}

/* tr_mutate_fn: judge again under the lock, so a run that ended meanwhile is left as it is. */
static int mark_lost(json_object *task, void *arg, struct tr_err *e)
{
        struct lost_mark *m = arg;
        json_object *block = tr_task_block(task, m->c->store->schema);

        if (block == NULL ||
            tr_task_liveness(block, &m->c->here, m->why, sizeof m->why) != TR_LIVE_LOST)
                return tr_err_set(e, ECANCELED, "no longer lost");
        json_object_object_add(block, "state", json_object_new_string("lost"));
        json_object_object_add(block, "ended_at", json_object_new_string(m->now));
        json_object_object_add(block, "error", json_object_new_string(m->why));
        if (m->c->store->schema == TR_SCHEMA_PLAIN) {
                json_object_object_add(task, "status", json_object_new_string("failed"));
        } else {
                note_lost(task, block, m);
                tr_report_active_form_end(task, "lost");
        }
        json_object_put(m->final); /* a retry after a concurrent replace: the last one counts */
        m->final = json_object_get(task);
        return 0;
}

/* Mark one task lost under its lock (or, with --dry-run, say that it would be). */
static void reap_lost(struct reap_ctx *c, const struct tr_task_ref *ref, const char *why)
{
        struct lost_mark m = {.c = c};
        struct tr_err e;

        if (c->dry_run) {
                printf("%s: would mark lost (%s)\n", ref->id, why);
                return;
        }
        tr_iso8601_now(m.now);
        if (tr_task_update(c->store, ref, mark_lost, &m, &e) == 0) {
                printf("%s: lost (%s)\n", ref->id, m.why);
                /* Its supervisor will never archive this run: the lost record is its end. */
                if (tr_archive_put(c->store, ref->id, m.final, &e) == -1)
                        tr_warnx("%s: run archive: %s", CMD, e.msg);
        } else if (e.errnum != ECANCELED && e.errnum != ENOENT) {
                tr_warnx("%s: task %s: %s", CMD, ref->id, e.msg);
                c->status = TR_EXIT_FAIL;
        }
        json_object_put(m.final);
}

/* A task whose record says running but whose process is gone is lost; others are left alone. */
static void reap_task(struct reap_ctx *c, const struct tr_task_ref *ref, json_object *task)
{
        json_object *block = tr_task_block(task, c->store->schema);
        char why[256];

        if (block == NULL)
                return;
        switch (tr_task_liveness(block, &c->here, why, sizeof why)) {
        case TR_LIVE_LOST:
                reap_lost(c, ref, why);
                break;
        case TR_LIVE_FOREIGN:
        case TR_LIVE_UNKNOWN:
                printf("%s: left alone (%s)\n", ref->id, why);
                break;
        case TR_LIVE_ALIVE:
        case TR_LIVE_NOT_RUNNING:
                break;
        }
}

/* Temp files of writers killed mid-write: nothing else ever removes them. */
static void sweep_temp_files(struct reap_ctx *c, const struct tr_store *s, const char *base)
{
        int n = tr_atomic_sweep(s->dir, base, c->dry_run);

        if (n == -1)
                tr_warnx("%s: %s: %s", CMD, s->dir, strerror(errno));
        else if (n > 0)
                printf("%s %d orphaned temp file%s in %s\n",
                       c->dry_run ? "would remove" : "removed", n, n == 1 ? "" : "s", s->dir);
}

/* spec->run: opts is a struct reap_ctx. */
static int reap(void *opts, const struct tr_store_opts *so, char **args, int nargs)
{
        struct reap_ctx *c = opts;
        struct tr_store s;
        struct tr_task_ref file_ref;
        struct tr_task_list l = {0};
        struct tr_err e;
        json_object *task;
        int r;

        (void)args, (void)nargs; /* none: max_args is 0 */
        if ((r = tr_cmd_open(CMD, so, 0, &s, &file_ref)) != TR_EXIT_OK)
                return r;
        c->store = &s;
        tr_here_init(&c->here);
        if (s.schema == TR_SCHEMA_PLAIN) {
                if ((r = tr_cmd_read(CMD, &s, &file_ref, &task)) != TR_EXIT_OK)
                        return r;
                reap_task(c, &file_ref, task);
                json_object_put(task);
        } else if (tr_list_read(CMD, &s, &l, &e) == -1) {
                tr_cmd_warn(CMD, &e);
                return TR_EXIT_FAIL;
        }
        for (size_t i = 0; i < l.n; i++)
                reap_task(c, &l.v[i].ref, l.v[i].task);
        tr_list_free(&l);
        sweep_temp_files(c, &s, s.schema == TR_SCHEMA_PLAIN ? file_ref.id : NULL);
        return c->status;
}

/* spec->apply: opts is a struct reap_ctx; --dry-run is the one option. */
static int apply_option(void *opts, int opt, const char *arg)
{
        struct reap_ctx *c = opts;
        (void)arg;

        if (opt != 'n')
                return -1;
        c->dry_run = 1;
        return 0;
}

static const struct tr_cmd_spec spec = {CMD, "nh", options, usage, apply_option, reap, 0};

int tr_cmd_reap(int argc, char **argv)
{
        struct reap_ctx c = {.status = TR_EXIT_OK};

        return tr_cmd_main(&spec, argc, argv, &c);
}
