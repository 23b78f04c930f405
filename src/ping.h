/*
 * --ping URL: report the run to a healthchecks.io-style monitor. URL/start
 * when the command starts (sent from a thread, so the command does not wait
 * for it), then URL on success or URL/<exit status> on failure with the output
 * tail as the body; ?rid=<uuid> pairs the two. Connection errors and 5xx
 * answers are retried with backoff within a few seconds; a monitor that is
 * down or slow never fails the command. Nothing here prints.
 */
#ifndef TASKRUN_PING_H
#define TASKRUN_PING_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "taskrun/error.h"

#define TR_PING_BUDGET_MS 4000      /* all attempts of one ping together */
#define TR_PING_BODY_MAX 100000     /* healthchecks.io logs the first 100 kB of a body */
#define TR_PING_BACKOFF_MS 100      /* first retry delay, doubled each time */
#define TR_PING_START_GRACE_MS 1000 /* a start ping still going when the command ends */

struct tr_ping {
        char *url;         /* as given */
        char rid[37];      /* run id, a UUID v4 */
        int64_t budget_ms; /* per ping */
        long body_limit;   /* TR_PING_BODY_MAX, or lower if the monitor says so */
        pthread_t start_thread;
        int start_sent;          /* the start thread was started */
        struct tr_err start_err; /* its outcome, read after the join */
        int start_failed;
        _Atomic int64_t start_cap; /* monotonic ms the start ping must give up by */
};

/* 1 if url is one --ping takes: http:// or https://. */
int tr_ping_url_ok(const char *url);

/* Check the URL and prepare (curl_global_init, run id). */
int tr_ping_init(struct tr_ping *p, const char *url, struct tr_err *e);

/* Send URL/start in the background. */
void tr_ping_start(struct tr_ping *p);

/*
 * Wait for the start ping, then send the end ping: URL when status is 0,
 * else URL/status, with the last body_limit bytes of body. Returns 0, or -1
 * with e set when it could not be delivered. *start_e gets the start
 * ping's failure, if any (start_e->msg[0] == '\0' otherwise).
 */
int tr_ping_end(struct tr_ping *p, int status, const char *body, size_t len, struct tr_err *start_e,
                struct tr_err *e);

void tr_ping_free(struct tr_ping *p);

#endif
