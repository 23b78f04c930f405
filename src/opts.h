/* The option skeleton every command is parsed with (opts.c). */
#ifndef TASKRUN_OPTS_H
#define TASKRUN_OPTS_H

#include <getopt.h>

#include "taskrun/store.h"

/*
 * Options every command that touches the store accepts. Add
 * TR_STORE_LONGOPTS to a getopt_long table and pass each option to
 * tr_store_opt, which returns 1 if it was one of them, -1 on a bad value.
 */
enum {
        TR_OPT_DIR = 0x1000,
        TR_OPT_LIST,
        TR_OPT_FILE,
        TR_OPT_FOLLOW,
        TR_OPT_LOCK_TIMEOUT,
        TR_OPT_FIRST_FREE, /* commands number their own long-only options from here */
};
#define TR_STORE_LONGOPTS                                                                          \
        {"dir", required_argument, NULL, TR_OPT_DIR},                                              \
            {"list", required_argument, NULL, TR_OPT_LIST},                                        \
            {"file", required_argument, NULL, TR_OPT_FILE},                                        \
            {"follow-symlinks", no_argument, NULL, TR_OPT_FOLLOW},                                 \
        {                                                                                          \
                "lock-timeout", required_argument, NULL, TR_OPT_LOCK_TIMEOUT                       \
        }
int tr_store_opt(struct tr_store_opts *o, int opt, const char *arg);

#endif
