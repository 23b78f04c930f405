/* taskrun-ping's pings through libcurl: retries with backoff within a budget. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include "http.h"
#include "taskrun/clock.h"
#include "taskrun/utf8.h"

#define CONNECT_TIMEOUT_MS 2000 /* per attempt, so a dead address leaves time to retry */

/* One ping on its way: when it must give up by, and whether it was cut short. */
struct attempt {
        struct tr_ping_http *p;
        int64_t deadline; /* monotonic ms */
        int cut;
};

int tr_ping_http_init(struct tr_err *e)
{
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
                return tr_err_set(e, 0, "--ping: libcurl cannot be initialised");
        return 0;
}

/* URL + suffix before its query, and rid=<uuid> added to the query; malloc'd. */
static char *ping_url(const struct tr_ping_http *p, const char *suffix)
{
        const char *q = strchr(p->url, '?');
        size_t base = q ? (size_t)(q - p->url) : strlen(p->url);
        const char *query = q ? q + 1 : "";
        char *s;

        while (base > 0 && p->url[base - 1] == '/')
                base--;
        if (asprintf(&s, "%.*s%s?%s%srid=%s", (int)base, p->url, suffix, query, *query ? "&" : "",
                     p->rid) == -1)
                return NULL;
        return s;
}

/* Ping-Body-Limit: the monitor's own limit on a logged body (healthchecks.io v2.1+). */
static size_t on_header(char *buf, size_t size, size_t n, void *arg)
{
        static const char name[] = "Ping-Body-Limit:";
        size_t len = size * n;
        long *limit = arg;

        if (len > sizeof name - 1 && strncasecmp(buf, name, sizeof name - 1) == 0) {
                long v = strtol(buf + sizeof name - 1, NULL, 10);
                if (v > 0 && v < *limit)
                        *limit = v;
        }
        return len;
}

/* The monitor's answer body is not needed: read and dropped. */
static size_t discard(char *buf, size_t size, size_t n, void *arg)
{
        (void)buf, (void)arg;
        return size * n;
}

/* Worth another try: the network or the monitor may be back in a moment. */
static int transient(CURLcode rc)
{
        return rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST ||
               rc == CURLE_OPERATION_TIMEDOUT || rc == CURLE_SEND_ERROR || rc == CURLE_RECV_ERROR ||
               rc == CURLE_GOT_NOTHING || rc == CURLE_PARTIAL_FILE;
}

/* Past its deadline; the first time cut_short says so, the deadline comes within the grace. */
static int over(struct attempt *a)
{
        int64_t now = tr_monotonic_ms();

        if (!a->cut && a->p->cut_short != NULL && a->p->cut_short(a->p->cut_arg)) {
                a->cut = 1;
                if (a->deadline > now + TR_PING_START_GRACE_MS)
                        a->deadline = now + TR_PING_START_GRACE_MS;
        }
        return now > a->deadline;
}

/* Sleep ms, or until the attempt is over, in short steps. */
static void backoff_sleep(struct attempt *a, int64_t ms)
{
        int64_t until = tr_monotonic_ms() + ms;

        for (int64_t now = tr_monotonic_ms(); now < until && !over(a); now = tr_monotonic_ms()) {
                int64_t step = until - now < 50 ? until - now : 50;
                struct timespec ts = {.tv_sec = 0, .tv_nsec = step * 1000000};
                nanosleep(&ts, NULL);
        }
}

/* libcurl asks here about once a second or sooner: nonzero aborts the transfer. */
static int on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
        (void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
        return over(arg);
}

/* One POST of body to url, bounded by a's deadline; http and https only, a few redirects. */
static CURL *ping_handle(struct attempt *a, const char *url, const char *body, size_t len)
{
        CURL *h = curl_easy_init();

        if (h == NULL)
                return NULL;
        curl_easy_setopt(h, CURLOPT_URL, url);
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(h, CURLOPT_USERAGENT, "taskrun/" TASKRUN_VERSION);
        curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
        curl_easy_setopt(h, CURLOPT_MAXREDIRS, 3L);
        curl_easy_setopt(h, CURLOPT_POSTREDIR, (long)CURL_REDIR_POST_ALL);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
        curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
        curl_easy_setopt(h, CURLOPT_HEADERDATA, &a->p->body_limit);
        curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
        curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
        curl_easy_setopt(h, CURLOPT_XFERINFODATA, a);
        return h;
}

/* Attempts until a 2xx, a 4xx, an error not worth retrying, or the deadline. */
static int perform(struct attempt *a, CURL *h, const char *what, struct tr_err *e)
{
        int64_t backoff = TR_PING_BACKOFF_MS;

        for (int tries = 1;; tries++) {
                int64_t left = a->deadline - tr_monotonic_ms();
                long code = 0;

                if (left < 1)
                        left = 1;
                curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)left);
                curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                                 (long)(left < CONNECT_TIMEOUT_MS ? left : CONNECT_TIMEOUT_MS));
                CURLcode rc = curl_easy_perform(h);
                curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
                if (rc == CURLE_OK && code >= 200 && code < 300)
                        return 0;
                if (rc == CURLE_OK)
                        tr_err_set(e, 0, "--ping %s: HTTP status %ld", what, code);
                else if (a->cut && (rc == CURLE_ABORTED_BY_CALLBACK || over(a)))
                        tr_err_set(e, 0, "--ping %s: still unanswered when the command ended",
                                   what);
                else
                        tr_err_set(e, 0, "--ping %s: %s", what, curl_easy_strerror(rc));
                if (rc == CURLE_OK ? code < 500 : !transient(rc))
                        return -1;
                if (a->deadline - tr_monotonic_ms() <= backoff) {
                        size_t n = strlen(e->msg);
                        snprintf(e->msg + n, sizeof e->msg - n, " (%d %s)", tries,
                                 tries == 1 ? "try" : "tries");
                        return -1;
                }
                backoff_sleep(a, backoff);
                backoff *= 2;
        }
}

int tr_ping_http_send(struct tr_ping_http *p, const char *suffix, const char *what,
                      const char *body, size_t len, struct tr_err *e)
{
        struct attempt a = {.p = p, .deadline = tr_monotonic_ms() + p->budget_ms};
        char *url = ping_url(p, suffix);
        CURL *h;
        int r;

        size_t skip = tr_utf8_tail_start(body, len, (size_t)p->body_limit);

        body += skip; /* the end of the output matters most */
        len -= skip;
        h = url ? ping_handle(&a, url, body, len) : NULL;
        if (h == NULL)
                r = tr_err_sys(e, ENOMEM, "--ping %s", what);
        else
                r = perform(&a, h, what, e);
        curl_easy_cleanup(h);
        free(url);
        return r;
}
