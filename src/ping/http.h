/*
 * The pings of taskrun-ping, through libcurl: the healthchecks.io protocol.
 * Connection errors, timeouts and 5xx answers are retried with backoff
 * within a budget; 2xx is delivered, any other answer is final. Nothing here
 * prints.
 */
#ifndef TASKRUN_PING_HTTP_H
#define TASKRUN_PING_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "ping.h"
#include "taskrun/error.h"

#define TR_PING_BACKOFF_MS 100 /* first retry delay, doubled each time */

struct tr_ping_http {
        const char *url;   /* as given */
        const char *rid;   /* run id, a UUID */
        int64_t budget_ms; /* per ping, all attempts together */
        long body_limit;   /* lowered by the monitor's Ping-Body-Limit header */
        /*
         * Polled while a ping waits: once it returns 1, the ping gets
         * TR_PING_START_GRACE_MS more, then gives up. NULL: never cut short.
         */
        int (*cut_short)(void *arg);
        void *cut_arg;
};

/* libcurl's global set-up; 0, or -1. */
int tr_ping_http_init(struct tr_err *e);

/*
 * One ping: URL + suffix ("/start", "", "/2", "/fail"), with ?rid= added and
 * body (the last body_limit bytes of it) posted. what names it in errors.
 * 0 when the monitor took it, -1 with e set.
 */
int tr_ping_http_send(struct tr_ping_http *p, const char *suffix, const char *what,
                      const char *body, size_t len, struct tr_err *e);

#endif
