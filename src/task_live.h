/* Whether a running task's process is still there (task_live.c). */
#ifndef TASKRUN_TASK_LIVE_H
#define TASKRUN_TASK_LIVE_H

#include <stddef.h>
#include <sys/types.h>

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

/*
 * The process whose end ends the run: the supervisor when recorded
 * (supervisor_pid), else the command (pid); its start ticks (0 if unknown).
 * -1 when the block records neither.
 */
int tr_task_watched_pid(json_object *block, pid_t *pid, unsigned long long *ticks);

/*
 * What readers that do not write (list, show, wait) show for a task: when its
 * record says running but its process is gone (TR_LIVE_LOST), the in-memory
 * task is changed as reap would change the file: state lost, error why, and
 * duration_ms up to the last heartbeat. Returns 1 if it was changed.
 */
int tr_task_judge(json_object *task, enum tr_schema schema, const struct tr_here *here);

#endif
