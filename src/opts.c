/* The option skeleton every command is parsed with: store options, --help, one way to stop. */
#include <stdint.h>

#include "opts.h"
#include "taskrun/procinfo.h"
#include "warn.h"

int tr_store_opt(struct tr_store_opts *o, int opt, const char *arg)
{
        int64_t ms;

        switch (opt) {
        case TR_OPT_DIR:
                o->dir = arg;
                return 1;
        case TR_OPT_LIST:
                o->list = arg;
                return 1;
        case TR_OPT_FILE:
                o->file = arg;
                return 1;
        case TR_OPT_FOLLOW:
                o->follow_symlinks = 1;
                return 1;
        case TR_OPT_LOCK_TIMEOUT:
                if (tr_parse_duration(arg, &ms) == -1 || ms > 24 * 3600 * 1000) {
                        tr_warnx("--lock-timeout: invalid duration '%s'", arg);
                        return -1;
                }
                o->lock_timeout_ms = (int)ms;
                return 1;
        }
        return 0;
}
