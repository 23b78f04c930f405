/*
 * Is the process of a task that says "running" still there? Only a process on
 * this host, in this boot, with the recorded pid and the recorded start time
 * is that task's process; anything else on this host means the run was lost.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "task_live.h"
#include "task_view.h"
#include "taskrun/procinfo.h"

void tr_here_init(struct tr_here *h)
{
        if (tr_hostname(h->host, sizeof h->host) == -1)
                h->host[0] = '\0';
        if (tr_boot_id(h->boot_id, sizeof h->boot_id) == -1)
                h->boot_id[0] = '\0';
}

/* Same host and boot: judge by the pid and, when recorded, its start time. */
static enum tr_live process_liveness(json_object *block, char *why, size_t n)
{
        unsigned long long ticks;
        int64_t pid, recorded;

        if (tr_json_int(block, "pid", &pid) == -1 || pid <= 0 || pid > INT_MAX) {
                snprintf(why, n, "no pid recorded");
                return TR_LIVE_UNKNOWN;
        }
        if (tr_proc_start_ticks((pid_t)pid, &ticks) == -1) {
                if (errno == ENOENT) {
                        snprintf(why, n, "process %lld is gone", (long long)pid);
                        return TR_LIVE_LOST;
                }
                snprintf(why, n, "cannot read process %lld: %s", (long long)pid, strerror(errno));
                return TR_LIVE_UNKNOWN;
        }
        /* 0 is what a supervisor that could not read the start time records. */
        if (tr_json_int(block, "start_time_ticks", &recorded) == 0 && recorded > 0 &&
            (unsigned long long)recorded != ticks) {
                snprintf(why, n, "pid %lld is now another process (start time differs)",
                         (long long)pid);
                return TR_LIVE_LOST;
        }
        snprintf(why, n, "process %lld is running", (long long)pid);
        return TR_LIVE_ALIVE;
}

enum tr_live tr_task_liveness(json_object *block, const struct tr_here *here, char *why, size_t n)
{
        const char *state = tr_json_str(block, "state");
        const char *host = tr_json_str(block, "host");
        const char *boot = tr_json_str(block, "boot_id");

        /* A waiting or queued run's pid is the taskrun process that waits. */
        if (state == NULL || (strcmp(state, "running") != 0 && strcmp(state, "waiting") != 0 &&
                              strcmp(state, "queued") != 0)) {
                snprintf(why, n, "not running");
                return TR_LIVE_NOT_RUNNING;
        }
        if (host == NULL || *host == '\0') {
                snprintf(why, n, "no host recorded");
                return TR_LIVE_UNKNOWN;
        }
        if (here->host[0] == '\0' || strcmp(host, here->host) != 0) {
                snprintf(why, n, "runs on host %s", host);
                return TR_LIVE_FOREIGN;
        }
        if (boot != NULL && *boot != '\0' && here->boot_id[0] != '\0' &&
            strcmp(boot, here->boot_id) != 0) {
                snprintf(why, n, "boot id differs: started before the last reboot");
                return TR_LIVE_LOST;
        }
        return process_liveness(block, why, n);
}
