/* The run's writes into its task file (run_ctx.h): through the store, never holding a lock long. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "archive.h"
#include "cli.h"
#include "run_ctx.h"
#include "taskrun/atomic.h"
#include "taskrun/procinfo.h"

/*
 * A transient record waits for a lock at most this long: the loop stands
 * still meanwhile, and a later heartbeat or the end will say more anyway.
 */
#define TRANSIENT_LOCK_MS 200

/*
 * A new task's file can wait for its first record when nothing must read it
 * sooner: no gate writes a waiting or queued record, and no detaching parent
 * waits for the running one. A quick command then writes its task once.
 */
static int can_defer_create(const struct run_ctx *c)
{
        const struct tr_run_opts *o = c->o;

        return c->store.schema == TR_SCHEMA_CLAUDE && o->task_id == NULL && !o->detach &&
               o->gate.n_after == 0 && o->gate.slots == 0;
}

int tr_run_new_task(struct run_ctx *c, struct tr_err *e)
{
        const struct tr_run_opts *o = c->o;
        char *subject = o->subject ? NULL : tr_argv_join(o->argv, 200);
        json_object *task = tr_task_new(o->subject ? o->subject : subject, o->description);
        int r;

        free(subject);
        if (c->store.schema == TR_SCHEMA_PLAIN || o->task_id != NULL)
                r = tr_task_create_at(&c->store, &c->ref, task, TR_CREATE_ADOPT, e);
        else if (can_defer_create(c) && (r = tr_task_reserve(&c->store, &c->ref, e)) == 0)
                c->pending = json_object_get(task);
        else
                r = tr_task_create(&c->store, task, &c->ref, e);
        json_object_put(task);
        /* --detach prints the id on stdout; --quiet says nothing unless the command fails. */
        if (r == 0 && o->task_id == NULL && c->store.schema == TR_SCHEMA_CLAUDE && !o->detach &&
            !o->quiet)
                fprintf(stderr, "taskrun: task %s\n", c->ref.id);
        return r < 0 ? -1 : 0;
}

/*
 * The first record of a task whose id was reserved makes its file. If the id
 * was taken meanwhile (a Claude release that allocates without the list
 * lock), the run moves to a new id and says so.
 */
static int create_pending(struct run_ctx *c, tr_mutate_fn fn, void *arg, struct tr_err *e)
{
        int r;

        if (fn(c->pending, arg, e) == -1)
                return -1;
        r = tr_task_create_at(&c->store, &c->ref, c->pending, TR_CREATE_RESERVED, e);
        if (r == -1 && e->errnum == EEXIST) {
                char was[sizeof c->ref.id];
                snprintf(was, sizeof was, "%s", c->ref.id);
                if ((r = tr_task_create(&c->store, c->pending, &c->ref, e)) == 0)
                        tr_warnx("task %s was taken by another writer; this run is task %s", was,
                                 c->ref.id);
        }
        if (r == 0) {
                json_object_put(c->pending);
                c->pending = NULL;
        }
        return r;
}

void tr_run_host_facts(struct run_ctx *c)
{
        struct tr_run_info *in = &c->info;

        if (c->host_facts)
                return;
        c->host_facts = 1;
        tr_hostname(in->host, sizeof in->host);
        tr_boot_id(in->boot_id, sizeof in->boot_id);
        tr_proc_start_ticks(in->supervisor_pid, &in->supervisor_start_ticks);
}

/* tr_run_write with fn's own argument, and meanwhile's work while it syncs. */
static int write_arg(struct run_ctx *c, tr_mutate_fn fn, void *arg, int transient,
                     const struct tr_meanwhile *meanwhile)
{
        struct tr_store store = c->store;
        struct tr_err e;

        if (!c->tracked)
                return 0;
        tr_run_host_facts(c);
        if (transient && (store.lock_timeout_ms < 0 || store.lock_timeout_ms > TRANSIENT_LOCK_MS))
                store.lock_timeout_ms = TRANSIENT_LOCK_MS;
        if (c->pending ? create_pending(c, fn, arg, &e) == 0
                       : tr_task_update_meanwhile(&store, &c->ref, fn, arg, meanwhile, &e) == 0)
                return 0;
        if (transient && e.errnum == ETIMEDOUT)
                return 1;
        tr_warn_err(&e);
        c->write_failed = 1;
        return -1;
}

int tr_run_write(struct run_ctx *c, tr_mutate_fn fn, int transient)
{
        return write_arg(c, fn, &c->report, transient, NULL);
}

int tr_run_report_start_end(json_object *task, void *arg, struct tr_err *e)
{
        if (tr_report_start(task, arg, e) == -1)
                return -1;
        return tr_report_end(task, arg, e);
}

/* The final write: the end record, and a hold on the task it leaves for the archive. */
struct final_write {
        struct run_ctx *c;
        tr_mutate_fn fn;
        int archived; /* archive_run is done */
};

static int report_final(json_object *task, void *arg, struct tr_err *e)
{
        struct final_write *w = arg;

        if (w->fn(task, &w->c->report, e) == -1)
                return -1;
        json_object_put(w->c->final); /* a retry after a concurrent replace: the last one counts */
        w->c->final = json_object_get(task);
        return 0;
}

/*
 * The run archive keeps the final task after the task file is gone. Without
 * a final task (its write failed: the file was deleted meanwhile), the record
 * is made anew from what this run knows. A failure is a warning only.
 */
static void archive_run(struct run_ctx *c)
{
        json_object *task = json_object_get(c->final);
        struct tr_err e;

        if (!c->tracked)
                return;
        if (task == NULL) {
                task =
                    tr_task_new(c->o->subject ? c->o->subject : c->o->argv[0], c->o->description);
                json_object_object_add(task, "id", json_object_new_string(c->ref.id));
                tr_run_report_start_end(task, &c->report, &e);
        }
        if ((c->archive_dir ? tr_archive_put_in(&c->store, c->archive_dir, c->ref.id, task, &e)
                            : tr_archive_put(&c->store, c->ref.id, task, &e)) == -1)
                tr_warnx("run archive: %s", e.msg);
        json_object_put(task);
}

void tr_run_archive_ready(struct run_ctx *c)
{
        struct tr_err e;
        char dir[PATH_MAX];

        /* On failure the end tries again, and says why. Trimming is left to the end,
         * where it overlaps the final sync: here it could keep a quick command's end waiting. */
        if (c->tracked && c->archive_dir == NULL &&
            tr_archive_open(&c->store, dir, sizeof dir, &e) == 0) {
                c->archive_dir = strdup(dir);
                tr_atomic_keep_spare(dir); /* a list's first 100 records make no inode at the end */
        }
}

/* The archive, written while the final record goes to disk. */
static void archive_meanwhile(void *arg)
{
        struct final_write *w = arg;

        archive_run(w->c);
        w->archived = 1;
}

void tr_run_list_spare(struct run_ctx *c)
{
        /* As tr_task_update keeps them: in a Claude list's own directory only. */
        if (c->tracked && c->store.schema == TR_SCHEMA_CLAUDE && !c->store.follow_symlinks)
                tr_atomic_keep_spare(c->store.dir);
}

void tr_run_write_final(struct run_ctx *c, tr_mutate_fn fn)
{
        struct final_write fw = {.c = c, .fn = fn};
        struct tr_meanwhile archive = {archive_meanwhile, &fw};

        write_arg(c, report_final, &fw, 0, &archive);
        if (!fw.archived)
                archive_run(c); /* the final write failed before its sync */
        json_object_put(c->final);
        c->final = NULL;
}
