/* `wait` for a task whose file is gone: the run archive may hold how its last run ended. */
#include "wait.h"

int tr_wait_from_archive(struct wait_ctx *c, struct waited *w, json_object **record)
{
        (void)c;
        (void)w;
        *record = NULL;
        return 0;
}
