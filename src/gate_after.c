/*
 * --after and blockedBy: the command starts once its blockers completed (or,
 * with --after-done, ended). One libev loop sleeps on an ev_stat per blocker
 * file (inotify) and a pidfd per blocker process that is alive, so a
 * supervisor that dies without writing wakes us too; nothing polls.
 *
 * What a blocker is follows Claude Code 2.1.332. Its claimTask (what lets an
 * agent start a task) counts a blockedBy id as open only if a task with that
 * id exists and its status is not "completed"; TaskUpdate to "completed"
 * changes the status only (it runs the TaskCompleted hooks and leaves
 * blocks/blockedBy as they are: TaskGet and TaskList filter completed ids
 * out when they show them), and deleting a task removes its id from every
 * other task's blocks and blockedBy. So a blockedBy id whose file is gone does
 * not block, as in claimTask; an --after id that is gone was lost.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "gate.h"
#include "taskrun/procinfo.h"

/* A second change in the same second may look like none to ev_stat: re-read once after. */
#define SETTLE_SECONDS 1.1
/*
 * A blocker's process is gone but its record still says it runs: its
 * supervisor may be writing the end right now. Judge it lost only if it still
 * says so this much later.
 */
#define LOST_GRACE_SECONDS 1.0

struct after_ctx;

struct blocker {
        struct tr_task_ref ref;
        int from_after;      /* named by --after (else from blockedBy) */
        int settled;         /* no longer blocks */
        ev_stat task_file_w; /* the blocker's task file changed (inotify) */
        ev_io process_w;     /* pidfd of the process its record names: readable at its end */
        pid_t pid;
        pid_t exited;         /* a pid its pidfd said has ended (maybe a zombie nobody reaps) */
        ev_tstamp lost_since; /* 0: not judged lost */
        struct after_ctx *ctx;
};

struct after_ctx {
        struct tr_gate *g;
        struct ev_loop *loop;
        struct blocker *v;
        size_t n;
        ev_timer settle_w, grace_w; /* the re-read after a change; the lost grace */
        struct tr_here here;
        int result;          /* -1 undecided, TR_GATE_GO or TR_GATE_SKIP */
        size_t last_waiting; /* blockers unsettled when the record was last written */
};

static void on_process_end(struct ev_loop *loop, ev_io *w, int revents);

/* Watch the process the blocker's record names, so that its end wakes us. */
static void watch_process(struct after_ctx *c, struct blocker *b, pid_t pid)
{
        int fd;

        if (b->pid == pid)
                return;
        if (b->pid != 0) {
                ev_io_stop(c->loop, &b->process_w);
                close(b->process_w.fd);
                b->pid = 0;
        }
        if ((fd = tr_pidfd_open(pid)) == -1)
                return; /* gone already (the next judgement sees it) or no pidfd: files only */
        b->pid = pid;
        ev_io_init(&b->process_w, on_process_end, fd, EV_READ);
        b->process_w.data = b;
        ev_io_start(c->loop, &b->process_w);
}

/* "failed", "timed_out", ... as words after "task 3 ". */
static const char *ended_how(const char *word)
{
        static const char *const words[][2] = {
            {"timed_out", "timed out"}, {"stalled", "stalled"},     {"killed", "was killed"},
            {"lost", "was lost"},       {"skipped", "was skipped"}, {"failed", "failed"},
        };

        for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
                if (strcmp(word, words[i][0]) == 0)
                        return words[i][1];
        return word;
}

/* The run will not start: g->why says which blocker and how it ended. */
static void skip(struct after_ctx *c, const char *fmt, const char *id, const char *how)
{
        snprintf(c->g->why, sizeof c->g->why, fmt, id, how);
        c->result = TR_GATE_SKIP;
}

/* A blocker that is waiting for us: neither would ever start. */
static int waits_for_us(struct after_ctx *c, json_object *block)
{
        json_object *ids;

        if (c->g->ref == NULL || !json_object_object_get_ex(block, "waiting_for", &ids) ||
            !json_object_is_type(ids, json_type_array))
                return 0;
        for (size_t i = 0; i < json_object_array_length(ids); i++)
                if (strcmp(json_object_get_string(json_object_array_get_idx(ids, i)),
                           c->g->ref->id) == 0)
                        return 1;
        return 0;
}

/* A blocker whose run is not over: alive, lost (after the grace), or in a cycle with us. */
static void judge_live(struct after_ctx *c, struct blocker *b, json_object *block)
{
        char why[256];
        int64_t pid;
        enum tr_live live = tr_task_liveness(block, &c->here, why, sizeof why);

        if (live == TR_LIVE_ALIVE && tr_json_int(block, "pid", &pid) == 0) {
                if (pid == b->exited) { /* a zombie: ended, though /proc still shows it */
                        live = TR_LIVE_LOST;
                        snprintf(why, sizeof why, "process %lld is gone", (long long)pid);
                } else {
                        watch_process(c, b, (pid_t)pid);
                }
        }
        if (live != TR_LIVE_LOST) {
                b->lost_since = 0;
                if (waits_for_us(c, block))
                        skip(c, "task %s waits for this one%s", b->ref.id, "");
                return;
        }
        if (b->lost_since == 0) {
                b->lost_since = ev_now(c->loop);
                ev_timer_stop(c->loop, &c->grace_w);
                ev_timer_set(&c->grace_w, LOST_GRACE_SECONDS, 0.);
                ev_timer_start(c->loop, &c->grace_w);
        } else if (ev_now(c->loop) - b->lost_since >= LOST_GRACE_SECONDS - 0.01) {
                if (c->g->o->after_done)
                        b->settled = 1;
                else
                        skip(c, "task %s was lost (%s)", b->ref.id, why);
        }
}

/* Read one blocker and decide whether it still blocks, has settled, or makes the run skip. */
static void judge(struct after_ctx *c, struct blocker *b)
{
        const char *word = NULL;
        json_object *task;
        struct tr_err e;

        if (b->settled)
                return;
        if (tr_task_read(c->g->store, &b->ref, &task, &e) == -1) {
                /* Claude drops a deleted task from blockedBy; an --after task is lost. */
                if (e.errnum == ENOENT && (!b->from_after || c->g->o->after_done))
                        b->settled = 1;
                else if (e.errnum == ENOENT)
                        skip(c, "task %s %s", b->ref.id, "was deleted");
                return; /* unreadable (torn by an in-place write): the next change says more */
        }
        switch (tr_task_done(task, c->g->store->schema, &word)) {
        case TR_DONE_OK:
                b->settled = 1;
                break;
        case TR_DONE_FAILED:
        case TR_DONE_LOST:
                if (c->g->o->after_done)
                        b->settled = 1;
                else
                        skip(c, "task %s %s", b->ref.id, ended_how(word));
                break;
        case TR_NOT_DONE:
                judge_live(c, b, tr_task_block(task, c->g->store->schema));
                break;
        }
        json_object_put(task);
}

/* The record says what we still wait for; rewritten when that shrinks. */
static void record_waiting(struct after_ctx *c, size_t unsettled)
{
        json_object *ids;
        struct tr_err e;

        if (unsettled == c->last_waiting)
                return;
        ids = json_object_new_array();
        for (size_t i = 0; i < c->n; i++)
                if (!c->v[i].settled)
                        json_object_array_add(ids, json_object_new_string(c->v[i].ref.id));
        if (tr_gate_record_waiting(c->g, ids, &e) == -1)
                tr_warn_err(&e); /* the wait goes on; the end is recorded all the same */
        json_object_put(ids);
        c->last_waiting = unsettled;
        tr_gate_ready(c->g); /* --detach: the parent may print the id and go */
}

/* Judge every blocker: go once none blocks, stop at the first that makes the run skip. */
static void judge_all(struct after_ctx *c)
{
        size_t unsettled = 0;

        for (size_t i = 0; i < c->n && c->result == -1; i++) {
                judge(c, &c->v[i]);
                unsettled += !c->v[i].settled;
        }
        if (c->result == -1 && unsettled == 0)
                c->result = TR_GATE_GO;
        if (c->result == -1)
                record_waiting(c, unsettled);
        if (c->result != -1)
                ev_break(c->loop, EVBREAK_ALL);
}

/* A blocker's task file changed: judge again, and once more after SETTLE_SECONDS. */
static void on_task_file(struct ev_loop *loop, ev_stat *w, int revents)
{
        struct blocker *b = w->data;
        struct after_ctx *c = b->ctx;
        (void)revents;

        judge_all(c);
        ev_timer_stop(loop, &c->settle_w);
        ev_timer_set(&c->settle_w, SETTLE_SECONDS, 0.);
        ev_timer_start(loop, &c->settle_w);
}

/* A blocker's process ended: its record says how, or it is lost (after the grace). */
static void on_process_end(struct ev_loop *loop, ev_io *w, int revents)
{
        struct blocker *b = w->data;
        (void)revents;

        ev_io_stop(loop, w); /* readable for good once the process is gone */
        close(w->fd);
        b->exited = b->pid;
        b->pid = 0;
        judge_all(b->ctx);
}

/* The settle re-read or the lost grace is due: judge every blocker again. */
static void on_recheck(struct ev_loop *loop, ev_timer *w, int revents)
{
        (void)loop;
        (void)revents;
        judge_all(w->data);
}

/* Add one blocker unless it is there already; the run's own task is refused. */
static int add_blocker(struct after_ctx *c, const char *id, int from_after, struct tr_err *e)
{
        struct blocker *b;

        if (c->g->ref != NULL && strcmp(id, c->g->ref->id) == 0)
                return from_after ? tr_err_set(e, EINVAL,
                                               "--after %s: a task cannot wait for "
                                               "itself",
                                               id)
                                  : 0;
        for (size_t i = 0; i < c->n; i++)
                if (strcmp(c->v[i].ref.id, id) == 0) {
                        c->v[i].from_after |= from_after;
                        return 0;
                }
        b = &c->v[c->n];
        if (tr_store_ref(c->g->store, id, &b->ref, e) == -1)
                return -1;
        b->from_after = from_after;
        b->ctx = c;
        c->n++;
        return 0;
}

/* The run's own task's blockedBy (Claude lists, --task, unless --ignore-blocked). */
static json_object *read_blocked_by(struct tr_gate *g)
{
        json_object *task, *ids;
        struct tr_err e;

        if (g->ref == NULL || g->task_id == NULL || g->o->ignore_blocked ||
            g->store->schema != TR_SCHEMA_CLAUDE)
                return NULL;
        /* The task the run just read, if it has it: no second read at every launch. */
        if ((task = json_object_get(g->task)) == NULL &&
            tr_task_read(g->store, g->ref, &task, &e) == -1)
                return NULL;
        if (!json_object_object_get_ex(task, "blockedBy", &ids) ||
            !json_object_is_type(ids, json_type_array)) {
                json_object_put(task);
                return NULL;
        }
        json_object_get(ids);
        json_object_put(task);
        return ids;
}

/* The blockers: --after IDs, then the task's own blockedBy. */
static int collect(struct after_ctx *c, struct tr_err *e)
{
        json_object *blocked_by = read_blocked_by(c->g);
        size_t nb = blocked_by ? json_object_array_length(blocked_by) : 0;
        int r = 0;

        c->v = calloc(c->g->o->n_after + nb + 1, sizeof *c->v);
        if (c->v == NULL) {
                json_object_put(blocked_by);
                return tr_err_sys(e, ENOMEM, "--after");
        }
        for (size_t i = 0; i < c->g->o->n_after && r == 0; i++)
                r = add_blocker(c, c->g->o->after[i], 1, e);
        for (size_t i = 0; i < nb && r == 0; i++) {
                const char *id = json_object_get_string(json_object_array_get_idx(blocked_by, i));
                if (id != NULL && tr_id_validate("blockedBy", id, NULL) == 0)
                        r = add_blocker(c, id, 0, e); /* a malformed id is no file to wait for */
        }
        json_object_put(blocked_by);
        return r;
}

/* Watch first, then judge: a change in between still wakes the loop. */
static void wait_blockers(struct after_ctx *c)
{
        for (size_t i = 0; i < c->n; i++) {
                ev_stat_init(&c->v[i].task_file_w, on_task_file, c->v[i].ref.path, 0.);
                c->v[i].task_file_w.data = &c->v[i];
                ev_stat_start(c->loop, &c->v[i].task_file_w);
        }
        ev_timer_init(&c->settle_w, on_recheck, SETTLE_SECONDS, 0.);
        ev_timer_init(&c->grace_w, on_recheck, LOST_GRACE_SECONDS, 0.);
        c->settle_w.data = c->grace_w.data = c;
        tr_gate_signals_start(c->g, c->loop);
        judge_all(c);
        if (c->result == -1)
                ev_run(c->loop, 0);
        tr_gate_signals_stop(c->g, c->loop);
        ev_timer_stop(c->loop, &c->settle_w);
        ev_timer_stop(c->loop, &c->grace_w);
        for (size_t i = 0; i < c->n; i++) {
                ev_stat_stop(c->loop, &c->v[i].task_file_w);
                if (c->v[i].pid != 0) {
                        ev_io_stop(c->loop, &c->v[i].process_w);
                        close(c->v[i].process_w.fd);
                }
        }
}

int tr_gate_after(struct tr_gate *g, struct tr_err *e)
{
        struct after_ctx c = {.g = g, .result = -1, .last_waiting = (size_t)-1};

        if (collect(&c, e) == -1) {
                free(c.v);
                return -1;
        }
        if (c.n == 0) {
                free(c.v);
                return TR_GATE_GO;
        }
        tr_here_init(&c.here);
        c.loop = ev_default_loop(EVFLAG_AUTO);
        wait_blockers(&c);
        free(c.v);
        return g->signal != 0 ? TR_GATE_SIGNALLED : c.result;
}

int tr_gate_after_check(const struct tr_gate_opts *o, const struct tr_store_opts *so,
                        struct tr_err *e)
{
        struct tr_store store;
        struct tr_task_ref ref;

        if (o->n_after == 0)
                return 0;
        if (so->file != NULL)
                return tr_err_set(e, EINVAL, "--after: needs a task list, not --file");
        if (tr_store_open(&store, so, 0, NULL, e) == -1)
                return -1;
        for (size_t i = 0; i < o->n_after; i++) {
                if (tr_store_ref(&store, o->after[i], &ref, e) == -1)
                        return -1;
                if (access(ref.path, F_OK) == -1)
                        return tr_err_set(e, ENOENT, "--after %s: no such task in %s", o->after[i],
                                          store.dir);
        }
        return 0;
}
