/* Whether a running task's process is still there (task_live.c). */
#ifndef TASKRUN_TASK_LIVE_H
#define TASKRUN_TASK_LIVE_H

#include <stddef.h>

#include "taskrun/store.h"

struct tr_here {
        char host[256];
        char boot_id[64]; /* "" if unknown */
};

/* This machine's host name and boot id. */
void tr_here_init(struct tr_here *h);

enum tr_live {
        TR_LIVE_NOT_RUNNING, /* state is not "running": nothing to judge */
        TR_LIVE_ALIVE,       /* its process is there */
        TR_LIVE_FOREIGN,     /* it runs on another host: cannot tell, leave it */
        TR_LIVE_UNKNOWN,     /* too little recorded (no host or pid) to tell */
        TR_LIVE_LOST,        /* rebooted since, process gone, or pid reused */
};

/* Judge a taskrun block; why receives the reason in words. */
enum tr_live tr_task_liveness(json_object *block, const struct tr_here *here, char *why, size_t n);

#endif
