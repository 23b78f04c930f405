/* The run's writes into its task file (run_ctx.h): through the store, never holding a lock long. */
#include <errno.h>

#include "cli.h"
#include "run_ctx.h"
#include "taskrun/atomic.h"

/*
 * A transient record waits for a lock at most this long: the loop stands
 * still meanwhile, and a later heartbeat or the end will say more anyway.
 */
#define TRANSIENT_LOCK_MS 200

int tr_run_write(struct run_ctx *c, tr_mutate_fn fn, int flags)
{
        struct tr_store store = c->store;
        int transient = flags & TR_ATOMIC_LAZY;
        struct tr_err e;

        if (!c->tracked)
                return 0;
        if (transient && (store.lock_timeout_ms < 0 || store.lock_timeout_ms > TRANSIENT_LOCK_MS))
                store.lock_timeout_ms = TRANSIENT_LOCK_MS;
        if (tr_task_update_ex(&store, &c->ref, fn, &c->report, flags, &e) == 0)
                return 0;
        if (transient && e.errnum == ETIMEDOUT)
                return 1;
        tr_warn_err(&e);
        c->write_failed = 1;
        return -1;
}

int tr_run_report_start_end(json_object *task, void *arg, struct tr_err *e)
{
        if (tr_report_start(task, arg, e) == -1)
                return -1;
        return tr_report_end(task, arg, e);
}
