/*
 * `taskrun kill ID...`: ask a run's supervisor to end its command. Nothing is
 * signalled until the record proves the process is the run's: this host, this
 * boot, the recorded pid with the recorded start time. The check and the
 * signal go through a pidfd, so a pid reused in between is never hit.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cmd.h"
#include "control.h"
#include "run.h"
#include "taskrun/procinfo.h"

#define CMD "kill"

static const struct option options[] = {
    {"signal", required_argument, NULL, 's'},
    {"kill-after", required_argument, NULL, 'k'},
    {"help", no_argument, NULL, 'h'},
    TR_STORE_LONGOPTS,
    {NULL, 0, NULL, 0},
};

struct kill_ctx {
        const struct tr_store *store;
        struct tr_here here;
        int signal;
        int64_t kill_after_ms;
};

/* What a recorded pid is now. */
enum pid_match { PID_SAME, PID_GONE, PID_REUSED, PID_UNKNOWN };

/* kill's --help; the man page says the same. */
static void usage(FILE *f)
{
        fputs("usage: taskrun kill [-s SIG] [-k DURATION] [options] ID...\n"
              "       taskrun kill [-s SIG] [-k DURATION] --file PATH\n"
              "\n"
              "End the run of each task ID, in the foreground of another shell or detached:\n"
              "its supervising taskrun sends the signal to the command (to its process group\n"
              "if it was run with -g), then SIGCONT, then SIGKILL after the kill-after\n"
              "if one is given here or was given to the run, and records the state killed\n"
              "with the signal and who asked (metadata.taskrun.killed_by). Nothing is\n"
              "signalled unless the record matches this host, this boot, and the pid with\n"
              "its recorded start time. A run still waiting for its blockers or queued for\n"
              "a slot is ended before its command starts (the waiting taskrun gets the\n"
              "signal and gives up its place). A run that is already over is reported on\n"
              "stderr and is not an error, so scripts may kill \"just in case\".\n"
              "\n"
              "         -s, --signal SIG         signal to send (default TERM)\n"
              "         -k, --kill-after DURATION  then SIGKILL this long after, if still running\n"
              "         -h, --help               this help\n",
              f);
        tr_cmd_store_usage(f);
        fputs("\nexit status: 0 signalled, or already over; 1 a task not found, without a run,\n"
              "or it could not be signalled; 2 usage error; 3 refused: the run is on another\n"
              "host or from before a reboot, or its pid now belongs to another process.\n",
              f);
}

/*
 * Open pid as a pidfd and check its start time against the record's. A
 * zombie has ended: nothing it could be asked would ever be done (a
 * supervisor killed with -9 whose reaper has not reaped it yet).
 */
static enum pid_match open_recorded(json_object *block, const char *pid_key, const char *ticks_key,
                                    int *pidfd)
{
        struct tr_proc_stat st;
        int64_t pid, recorded;
        int fd;

        *pidfd = -1;
        if (tr_json_int(block, pid_key, &pid) == -1 || pid <= 0 || pid > INT_MAX)
                return PID_UNKNOWN;
        if ((fd = tr_pidfd_open((pid_t)pid)) == -1)
                return errno == ESRCH ? PID_GONE : PID_UNKNOWN;
        /* The pidfd pins the process: if it matches now, signals reach this one. */
        if (tr_proc_stat((pid_t)pid, &st) == -1) {
                close(fd);
                return errno == ENOENT ? PID_GONE : PID_UNKNOWN;
        }
        if (tr_json_int(block, ticks_key, &recorded) == -1 || recorded <= 0) {
                close(fd);
                return PID_UNKNOWN;
        }
        if ((unsigned long long)recorded != st.start_ticks) {
                close(fd);
                return PID_REUSED;
        }
        if (st.state == 'Z' || st.state == 'X') {
                close(fd);
                return PID_GONE;
        }
        *pidfd = fd;
        return PID_SAME;
}

/* Host and boot: a run elsewhere, or before a reboot, is never ours to signal. */
static int check_place(const struct kill_ctx *c, const char *id, json_object *block)
{
        const char *host = tr_json_str(block, "host");
        const char *boot = tr_json_str(block, "boot_id");

        if (host == NULL || *host == '\0')
                tr_warnx("%s: task %s: refused: no host recorded", CMD, id);
        else if (c->here.host[0] == '\0' || strcmp(host, c->here.host) != 0)
                tr_warnx("%s: task %s: refused: it runs on host %s", CMD, id, host);
        else if (boot != NULL && *boot != '\0' && c->here.boot_id[0] != '\0' &&
                 strcmp(boot, c->here.boot_id) != 0)
                tr_warnx("%s: task %s: refused: it started before the last reboot", CMD, id);
        else
                return 0;
        return -1;
}

/* The run was started with --group: its command leads a process group of its own. */
static int recorded_group(json_object *block)
{
        json_object *recorded, *group;

        return json_object_object_get_ex(block, "options", &recorded) &&
               json_object_object_get_ex(recorded, "group", &group) &&
               json_object_get_boolean(group);
}

/*
 * Signal the command behind the verified pidfd, then SIGCONT so that a
 * stopped one acts on it; with group, its whole process group (taskrun
 * started the command as its leader), as the supervisor would have. A group's
 * number is not given to a new process while any member of the group lives,
 * and the leader was alive a moment ago.
 */
static int send_verified(int pidfd, pid_t pid, int group, int sig)
{
        int r = group ? kill(-pid, sig) : tr_pidfd_send_signal(pidfd, sig, NULL);

        if (r == -1 && group) /* the command left its group: at least the command */
                r = tr_pidfd_send_signal(pidfd, sig, NULL);
        if (r == 0 && sig != SIGKILL && sig != SIGCONT) {
                if (group)
                        kill(-pid, SIGCONT);
                tr_pidfd_send_signal(pidfd, SIGCONT, NULL);
        }
        return r;
}

/* No supervisor to ask (gone, or a record without one): signal the verified command. */
static int signal_command(const struct kill_ctx *c, const char *id, json_object *block)
{
        int64_t pid = 0;
        int fd, r;

        tr_json_int(block, "pid", &pid);
        switch (open_recorded(block, "pid", "start_time_ticks", &fd)) {
        case PID_GONE:
                tr_warnx("%s: task %s: already over (process %lld is gone)", CMD, id,
                         (long long)pid);
                return TR_EXIT_OK;
        case PID_REUSED:
                tr_warnx("%s: task %s: refused: pid %lld is now another process", CMD, id,
                         (long long)pid);
                return TR_EXIT_REFUSED;
        case PID_UNKNOWN:
                tr_warnx("%s: task %s: refused: cannot tell that pid %lld is its process", CMD, id,
                         (long long)pid);
                return TR_EXIT_REFUSED;
        case PID_SAME:
                break;
        }
        r = send_verified(fd, (pid_t)pid, recorded_group(block), c->signal);
        close(fd);
        if (r == -1) {
                tr_warnx("%s: task %s: process %lld: %s", CMD, id, (long long)pid, strerror(errno));
                return TR_EXIT_FAIL;
        }
        tr_warnx("%s: task %s: its taskrun is gone; signalled process %lld directly", CMD, id,
                 (long long)pid);
        return TR_EXIT_OK;
}

/* A run waiting for blockers or queued for a slot: its pid is the taskrun that waits. */
static int signal_waiter(const struct kill_ctx *c, const char *id, json_object *block)
{
        int fd, r;

        switch (open_recorded(block, "pid", "start_time_ticks", &fd)) {
        case PID_GONE:
                tr_warnx("%s: task %s: already over (its taskrun is gone)", CMD, id);
                return TR_EXIT_OK;
        case PID_REUSED:
        case PID_UNKNOWN:
                tr_warnx("%s: task %s: refused: cannot tell that the recorded pid is its taskrun",
                         CMD, id);
                return TR_EXIT_REFUSED;
        case PID_SAME:
                break;
        }
        r = tr_pidfd_send_signal(fd, c->signal, NULL);
        close(fd);
        if (r == 0)
                return TR_EXIT_OK;
        tr_warnx("%s: task %s: cannot signal its taskrun: %s", CMD, id, strerror(errno));
        return TR_EXIT_FAIL;
}

/*
 * Signal one task's run: a waiting or queued one directly, a running one
 * through its supervisor (its command itself when the supervisor is gone).
 * The status for this task.
 */
static int kill_task(const struct kill_ctx *c, const char *id, json_object *task)
{
        json_object *block = tr_task_block(task, c->store->schema);
        const char *state = tr_json_str(block, "state");
        int fd;

        if (state == NULL) {
                tr_warnx("%s: task %s: no run recorded", CMD, id);
                return TR_EXIT_FAIL;
        }
        if (strcmp(state, "waiting") == 0 || strcmp(state, "queued") == 0)
                return check_place(c, id, block) == -1 ? TR_EXIT_REFUSED
                                                       : signal_waiter(c, id, block);
        /* A command stopped by SIGSTOP or Ctrl-Z is still there: the supervisor continues it. */
        if (strcmp(state, "running") != 0 && strcmp(state, "stopped") != 0) {
                tr_warnx("%s: task %s: already over (%s)", CMD, id, state);
                return TR_EXIT_OK;
        }
        if (check_place(c, id, block) == -1)
                return TR_EXIT_REFUSED;
        if (open_recorded(block, "supervisor_pid", "supervisor_start_ticks", &fd) != PID_SAME)
                return signal_command(c, id, block);
        int r = tr_control_send(fd, c->signal, c->kill_after_ms);
        int errnum = errno;
        close(fd);
        if (r == 0)
                return TR_EXIT_OK;
        tr_warnx("%s: task %s: cannot reach its taskrun: %s", CMD, id, strerror(errnum));
        return TR_EXIT_FAIL;
}

/* Refusals outrank failures, which outrank success. */
static int worse(int a, int b)
{
        if (a == TR_EXIT_REFUSED || b == TR_EXIT_REFUSED)
                return TR_EXIT_REFUSED;
        return a != TR_EXIT_OK ? a : b;
}

/* spec->run: opts is a struct kill_ctx. */
static int kill_all(void *opts, const struct tr_store_opts *so, char **ids, int nids)
{
        struct kill_ctx *c = opts;
        struct tr_targets t;
        json_object *task;
        int r = tr_targets_open(CMD, so, ids, nids, INT_MAX, &t), status = TR_EXIT_OK;

        if (r != TR_EXIT_OK)
                return r;
        c->store = &t.store;
        tr_here_init(&c->here);
        for (size_t i = 0; i < t.n; i++) {
                if ((r = tr_cmd_read(CMD, &t.store, &t.refs[i], &task)) == TR_EXIT_OK) {
                        r = kill_task(c, t.refs[i].id, task);
                        json_object_put(task);
                }
                status = worse(status, r);
        }
        tr_targets_free(&t);
        return status;
}

/* spec->apply: opts is a struct kill_ctx. */
static int apply_option(void *opts, int opt, const char *arg)
{
        struct kill_ctx *c = opts;

        switch (opt) {
        case 's':
                if ((c->signal = tr_parse_signal(arg)) > 0)
                        return 0;
                tr_warnx("%s: --signal: unknown signal '%s'", CMD, arg);
                return -1;
        case 'k':
                return tr_duration_opt(CMD, "--kill-after", arg, TR_CONTROL_KILL_AFTER_MAX_MS,
                                       &c->kill_after_ms);
        }
        return -1;
}

static const struct tr_cmd_spec spec = {CMD, "s:k:h", options, usage, apply_option, kill_all, -1};

int tr_cmd_kill(int argc, char **argv)
{
        struct kill_ctx c = {.signal = SIGTERM};

        return tr_cmd_main(&spec, argc, argv, &c);
}
