/*
 * How `taskrun kill` asks a run's supervisor to end its command: a queued
 * real-time signal (TR_CONTROL_SIGNAL) whose value carries the signal to send
 * and an optional kill-after. The supervisor reads it from a signalfd inside
 * its libev loop, which also tells it who asked (pid and uid of the sender).
 */
#ifndef TASKRUN_CONTROL_H
#define TASKRUN_CONTROL_H

#include <signal.h>
#include <stdint.h>
#include <sys/types.h>

/* Not forwarded, not used by libev; its default action would end us, so it stays blocked. */
#define TR_CONTROL_SIGNAL (SIGRTMIN + 4)

/* Longest kill-after a request can carry (it travels in deciseconds, 22 bits). */
#define TR_CONTROL_KILL_AFTER_MAX_MS (((int64_t)1 << 22) * 100 - 100)

struct tr_kill_request {
        int signal;            /* to send to the command */
        int64_t kill_after_ms; /* then SIGKILL this much later; 0: the run's own --kill-after */
        pid_t pid;             /* who asked */
        uid_t uid;
};

/* Block TR_CONTROL_SIGNAL and open a non-blocking signalfd for it; the fd, or -1 with errno. */
int tr_control_open(void);

/* One pending request from fd: 1 and *r, 0 when none is pending, -1 with errno. */
int tr_control_read(int fd, struct tr_kill_request *r);

/* Decode a request's value (as queued by tr_control_send). */
void tr_control_decode(int value, struct tr_kill_request *r);

/* Queue a request to the process behind pidfd. 0, or -1 with errno. */
int tr_control_send(int pidfd, int sig, int64_t kill_after_ms);

#endif
