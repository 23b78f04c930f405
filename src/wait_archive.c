/* `wait` for a task whose file is gone: the run archive may hold how its run ended. */
#include <stdio.h>

#include "archive.h"
#include "cli.h"
#include "wait.h"

int tr_wait_from_archive(const struct wait_ctx *c, const struct waited *w, json_object **task,
                         enum tr_done *done, const char **word)
{
        struct tr_archived a;

        *task = NULL;
        if (tr_archive_find(c->store, w->ref.id, w->seen_started[0] ? w->seen_started : NULL, &a,
                            NULL) != 1)
                return 0;
        /* An archived run has ended; a record that says otherwise says nothing. */
        if ((*done = tr_task_done(a.task, c->store->schema, word)) == TR_NOT_DONE) {
                json_object_put(a.task);
                return 0;
        }
        if (!c->quiet)
                tr_warnx(
                    "wait: task %s: its file is gone; answered from taskrun's run archive (%s)",
                    w->ref.id, a.path);
        *task = a.task;
        return 1;
}
