/* Facts about this host and its processes, as recorded in metadata.taskrun. */
#ifndef TASKRUN_PROCINFO_H
#define TASKRUN_PROCINFO_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

/* Where the clock and duration functions were declared before: kept for their users. */
#include "taskrun/clock.h"
#include "taskrun/duration.h"

/* /proc/sys/kernel/random/boot_id without newline. 0, or -1 with errno. */
int tr_boot_id(char *buf, size_t n);

/* gethostname(2), always NUL-terminated. 0, or -1 with errno. */
int tr_hostname(char *buf, size_t n);

/*
 * Start time of pid in clock ticks since boot (field 22 of /proc/PID/stat),
 * which tells a reused pid from the original. -1 with errno ENOENT when the
 * process does not exist. Copes with ')' and spaces in the command name.
 */
int tr_proc_start_ticks(pid_t pid, unsigned long long *ticks);

struct tr_proc_stat {
        char state;                     /* R, S, D, T, t, Z (zombie), X (dead), ... */
        unsigned long long start_ticks; /* as tr_proc_start_ticks */
};

/* State and start time of pid from /proc/PID/stat; -1 with errno ENOENT if there is none. */
int tr_proc_stat(pid_t pid, struct tr_proc_stat *st);

/*
 * 1 if pid is still the process that started at ticks (0: whichever has the
 * pid) and has not ended: a zombie has, though /proc still shows it.
 */
int tr_proc_is_running(pid_t pid, unsigned long long ticks);

/*
 * A pidfd of pid (pidfd_open(2), close-on-exec): it turns readable when pid
 * ends, and while it is open the pid cannot name another process. -1 with
 * errno: ESRCH no such process, ENOSYS a kernel before Linux 5.3.
 */
int tr_pidfd_open(pid_t pid);

/* pidfd_send_signal(2) by its system call (musl has no wrapper): 0, or -1 with errno. */
int tr_pidfd_send_signal(int pidfd, int sig, siginfo_t *info);

#endif
