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

/*
 * Same host and boot: is the process recorded under pid_key (started at
 * ticks_key) still there? A zombie (Z) or dead (X) process has ended:
 * nothing will ever run in it again, whether or not its parent gets round to
 * reaping it. what names it in the reason ("process", "supervisor").
 */
static enum tr_live process_liveness(json_object *block, const char *pid_key, const char *ticks_key,
                                     const char *what, char *why, size_t n)
{
        struct tr_proc_stat st;
        int64_t pid, recorded;

        if (tr_json_int(block, pid_key, &pid) == -1 || pid <= 0 || pid > INT_MAX) {
                snprintf(why, n, "no pid recorded");
                return TR_LIVE_UNKNOWN;
        }
        if (tr_proc_stat((pid_t)pid, &st) == -1) {
                if (errno == ENOENT) {
                        snprintf(why, n, "%s %lld is gone", what, (long long)pid);
                        return TR_LIVE_LOST;
                }
                snprintf(why, n, "cannot read %s %lld: %s", what, (long long)pid, strerror(errno));
                return TR_LIVE_UNKNOWN;
        }
        /* 0 is what a supervisor that could not read the start time records. */
        if (tr_json_int(block, ticks_key, &recorded) == 0 && recorded > 0 &&
            (unsigned long long)recorded != st.start_ticks) {
                snprintf(why, n, "%s pid %lld is now another process (start time differs)", what,
                         (long long)pid);
                return TR_LIVE_LOST;
        }
        if (st.state == 'Z' || st.state == 'X') {
                snprintf(why, n, "%s %lld has ended (a zombie nobody reaped)", what,
                         (long long)pid);
                return TR_LIVE_LOST;
        }
        snprintf(why, n, "%s %lld is running", what, (long long)pid);
        return TR_LIVE_ALIVE;
}

int tr_task_watched_pid(json_object *block, pid_t *pid, unsigned long long *ticks)
{
        int sup = json_object_object_get_ex(block, "supervisor_pid", NULL);
        int64_t p, t;

        if (tr_json_int(block, sup ? "supervisor_pid" : "pid", &p) == -1 || p <= 0 || p > INT_MAX)
                return -1;
        if (tr_json_int(block, sup ? "supervisor_start_ticks" : "start_time_ticks", &t) == -1 ||
            t < 0)
                t = 0;
        *pid = (pid_t)p;
        *ticks = (unsigned long long)t;
        return 0;
}

/*
 * The supervisor, when recorded, is who writes the end: while it lives the run
 * is not lost (even when the command has just ended and the end is on its
 * way), and once it is gone the end will never be written, whatever became
 * of the command. Records without it are judged by the command's process.
 */
static enum tr_live run_liveness(json_object *block, char *why, size_t n)
{
        if (json_object_object_get_ex(block, "supervisor_pid", NULL))
                return process_liveness(block, "supervisor_pid", "supervisor_start_ticks",
                                        "supervisor", why, n);
        return process_liveness(block, "pid", "start_time_ticks", "process", why, n);
}

enum tr_live tr_task_liveness(json_object *block, const struct tr_here *here, char *why, size_t n)
{
        const char *state = tr_json_str(block, "state");
        const char *host = tr_json_str(block, "host");
        const char *boot = tr_json_str(block, "boot_id");

        /* A waiting or queued run's pid is the taskrun process that waits; "stopped" (by
         * SIGSTOP) is a live run too: its process must still be there. */
        if (state == NULL || (strcmp(state, "running") != 0 && strcmp(state, "stopped") != 0 &&
                              strcmp(state, "waiting") != 0 && strcmp(state, "queued") != 0)) {
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
        return run_liveness(block, why, n);
}

int tr_task_judge(json_object *task, enum tr_schema schema, const struct tr_here *here)
{
        json_object *block = tr_task_block(task, schema);
        char why[256];
        int64_t started, last;

        if (block == NULL || tr_task_liveness(block, here, why, sizeof why) != TR_LIVE_LOST)
                return 0;
        json_object_object_add(block, "state", json_object_new_string("lost"));
        json_object_object_add(block, "error", json_object_new_string(why));
        started = tr_iso8601_parse(tr_json_str(block, "started_at"));
        last = tr_iso8601_parse(tr_json_str(block, "heartbeat_at"));
        if (started >= 0 && last >= started)
                json_object_object_add(block, "duration_ms", json_object_new_int64(last - started));
        return 1;
}
