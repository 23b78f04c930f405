/*
 * --retry N: a command that fails is run again, up to N more times, after a
 * jittered exponential backoff. Not after a timeout or stall unless asked,
 * never after the user ended it, and the wait between attempts ends at once
 * on Ctrl-C, SIGTERM, SIGHUP, SIGQUIT or `taskrun kill`. Nothing here prints.
 */
#ifndef TASKRUN_RETRY_H
#define TASKRUN_RETRY_H

#include <signal.h>
#include <stdint.h>

#include "control.h"
#include "supervise.h"

#define TR_RETRY_MAX 1000      /* --retry N: at most this many more attempts */
#define TR_RETRY_DELAY_MS 1000 /* default --retry-delay */
#define TR_RETRY_CAP_MS 60000  /* no wait is longer (unless --retry-delay itself is) */
#define TR_RETRY_DELAY_MAX_MS ((int64_t)24 * 3600 * 1000) /* --retry-delay at most a day */
#define TR_ATTEMPTS_KEPT 10 /* the record's attempts history keeps the last ones */

struct tr_retry_opts {
        int max;              /* --retry N; 0: no retry */
        int64_t delay_ms;     /* --retry-delay: the first wait */
        unsigned char on[32]; /* --retry-on: a bit per exit status 1..255 */
        int on_given;         /* else every failure counts */
        int timeouts;         /* --retry-timeouts: also after --timeout or --stall-timeout */
};

/* --retry-on "1,2,75": statuses 1 to 255, comma-separated. 0, or -1 (errno EINVAL). */
int tr_retry_on_parse(const char *arg, struct tr_retry_opts *o);

/* 1 if status (1..255) is one of --retry-on's. */
int tr_retry_on_has(const struct tr_retry_opts *o, int status);

/*
 * Should the attempt-th attempt (1-based), which ended as out says, be
 * followed by another? Never after a success, an exec failure, or an end the
 * user asked for (see the man page, --retry).
 */
int tr_retry_wanted(const struct tr_retry_opts *o, const struct tr_outcome *out, int attempt);

/*
 * How long to wait after the attempt-th attempt: delay_ms doubled for each
 * earlier retry, capped at TR_RETRY_CAP_MS (or delay_ms if longer), then
 * between half of that and all of it, as rnd (uniform) falls.
 */
int64_t tr_retry_delay(const struct tr_retry_opts *o, int attempt, uint32_t rnd);

/* A random number for the jitter. */
uint32_t tr_retry_random(void);

/* Why a wait between attempts ended early. */
struct tr_retry_stop {
        int signal;                 /* the signal taskrun got, or the one kill asked for */
        struct tr_kill_request req; /* signal 0 unless `taskrun kill` asked */
};

/*
 * Wait delay_ms on the default loop. 0 when the time is up, 1 when SIGINT,
 * SIGTERM, SIGHUP, SIGQUIT (those not in as_started, the mask taskrun was
 * started with) or a kill request came first (*stop says which). Those
 * signals are blocked when it returns, as tr_supervise leaves them.
 */
int tr_retry_wait(int64_t delay_ms, const sigset_t *as_started, struct tr_retry_stop *stop);

#endif
