/*
 * --ping URL: report the run to a healthchecks.io-style monitor. URL/start
 * when the command starts, then URL on success or URL/<exit status> on
 * failure with the output tail as the body; ?rid=<uuid> pairs the two.
 * Connection errors and 5xx answers are retried with backoff within a few
 * seconds; a monitor that is down or slow never fails the command.
 *
 * The HTTP is done by a helper program, taskrun-ping (src/ping/), that links
 * libcurl: taskrun itself then starts without loading libcurl and its ~30
 * libraries, and can be linked statically. The helper is started with the
 * command, in a session of its own (Ctrl-C does not reach it) and not as our
 * child (the supervisor reaps every child it has). Nothing here prints.
 */
#ifndef TASKRUN_PING_H
#define TASKRUN_PING_H

#include <limits.h>
#include <stddef.h>

#include "taskrun/error.h"

#define TR_PING_BUDGET_MS 4000      /* all attempts of one ping together */
#define TR_PING_BODY_MAX 100000     /* healthchecks.io logs the first 100 kB of a body */
#define TR_PING_START_GRACE_MS 1000 /* a start ping still going when the command ends */

struct tr_ping {
        const char *url;       /* as given */
        char helper[PATH_MAX]; /* taskrun-ping's path */
        char rid[37];          /* run id, a UUID v4 */
        int to_helper;         /* its stdin: the end goes there; -1 */
        int from_helper;       /* its stdout: what it could not deliver; -1 */
};

/* 1 if url is one --ping takes: http:// or https://. */
int tr_ping_url_ok(const char *url);

/* Check the URL, find the helper and make the run id. */
int tr_ping_init(struct tr_ping *p, const char *url, struct tr_err *e);

/* Start the helper, which sends URL/start at once; 0, or -1. */
int tr_ping_start(struct tr_ping *p, struct tr_err *e);

/*
 * Hand the end to the helper and wait for it: URL when status is 0, else
 * URL/status, with the last TR_PING_BODY_MAX bytes of body. Returns 0, or -1
 * with e set when it could not be delivered. *start_e gets the start
 * ping's failure, if any (start_e->msg[0] == '\0' otherwise).
 */
int tr_ping_end(struct tr_ping *p, int status, const char *body, size_t len, struct tr_err *start_e,
                struct tr_err *e);

void tr_ping_free(struct tr_ping *p);

#endif
