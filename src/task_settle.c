/*
 * Reading a task without its lock. Claude Code creates a task file with a
 * plain in-place write, so a reader that holds no lock can catch it
 * half-written; a file that does not parse is read again a few times before
 * it is called corrupt.
 */
#include <errno.h>
#include <time.h>

#include "task_settle.h"

/* About a third of a second in all: far longer than any in-place write of a task takes. */
static const long retry_ms[] = {5, 10, 20, 40, 80, 160};

int tr_task_read_settled(const struct tr_store *s, const struct tr_task_ref *ref, json_object **out,
                         struct tr_err *e)
{
        for (size_t i = 0;; i++) {
                if (tr_task_read(s, ref, out, e) == 0)
                        return 0;
                /* EINVAL: it does not parse (or is not a task); anything else will not heal. */
                if (e->errnum != EINVAL || i == sizeof retry_ms / sizeof retry_ms[0])
                        return -1;
                struct timespec ts = {0, retry_ms[i] * 1000000L};
                while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
                        ;
        }
}
