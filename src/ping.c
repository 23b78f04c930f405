/* --ping URL: healthchecks.io-style start and end pings through libcurl. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#define CURL_DISABLE_TYPECHECK
#include <curl/curl.h>

#include "curl_dl.h"

#include "taskrun/procinfo.h"
#include "ping.h"

#define CONNECT_TIMEOUT_MS 2000 /* per attempt, so a dead address leaves time to retry */

/* A random (version 4) UUID: the run id that pairs start and end. */
static void make_rid(char *out)
{
        unsigned char b[16];

        if (getrandom(b, sizeof b, 0) != (ssize_t)sizeof b) {
                struct timespec ts;
                clock_gettime(CLOCK_REALTIME, &ts);
                srandom((unsigned)(ts.tv_nsec ^ getpid()));
                for (size_t i = 0; i < sizeof b; i++)
                        b[i] = (unsigned char)random();
        }
        b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
        b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
        snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
                 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
                 b[13], b[14], b[15]);
}

int tr_ping_url_ok(const char *url)
{
        return strncasecmp(url, "http://", 7) == 0 || strncasecmp(url, "https://", 8) == 0;
}

int tr_ping_init(struct tr_ping *p, const char *url, struct tr_err *e)
{
        memset(p, 0, sizeof *p);
        if (!tr_ping_url_ok(url))
                return tr_err_set(e, EINVAL, "--ping: not an http or https URL: %s", url);
        if (tr_curl_load(e) == -1)
                return -1;
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
                return tr_err_set(e, 0, "--ping: libcurl cannot be initialised");
        p->url = strdup(url);
        if (p->url == NULL) {
                curl_global_cleanup();
                return tr_err_sys(e, ENOMEM, "--ping");
        }
        p->budget_ms = TR_PING_BUDGET_MS;
        atomic_init(&p->start_cap, INT64_MAX);
        p->body_limit = TR_PING_BODY_MAX;
        make_rid(p->rid);
        return 0;
}

/* URL + suffix before its query, and rid=<uuid> added to the query; malloc'd. */
static char *ping_url(const struct tr_ping *p, const char *suffix)
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

        if (limit != NULL && len > sizeof name - 1 &&
            strncasecmp(buf, name, sizeof name - 1) == 0) {
                long v = strtol(buf + sizeof name - 1, NULL, 10);
                if (v > 0 && v < *limit)
                        *limit = v;
        }
        return len;
}

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

/* Sleep ms, or until *cap (when given) passes, in short steps. */
static void sleep_ms(int64_t ms, _Atomic int64_t *cap)
{
        int64_t until = tr_monotonic_ms() + ms;

        for (int64_t now = tr_monotonic_ms(); now < until; now = tr_monotonic_ms()) {
                if (cap != NULL && now > atomic_load(cap))
                        return;
                int64_t step = until - now < 50 ? until - now : 50;
                struct timespec ts = {.tv_sec = 0, .tv_nsec = step * 1000000};
                nanosleep(&ts, NULL);
        }
}

static int64_t min64(int64_t a, int64_t b)
{
        return a < b ? a : b;
}

/* The end may cut a start ping short: libcurl asks here, about once a second or sooner. */
static int on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
        _Atomic int64_t *cap = arg;
        (void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;

        return cap != NULL && tr_monotonic_ms() > atomic_load(cap);
}

static CURL *ping_handle(const char *url, const char *body, size_t len, long *limit,
                         _Atomic int64_t *cap)
{
        CURL *h = curl_easy_init();

        if (h == NULL)
                return NULL;
        curl_easy_setopt(h, CURLOPT_URL, url);
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L); /* we may be a thread: no SIGALRM */
        curl_easy_setopt(h, CURLOPT_USERAGENT, "taskrun/" TASKRUN_VERSION);
        curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
        curl_easy_setopt(h, CURLOPT_MAXREDIRS, 3L);
        curl_easy_setopt(h, CURLOPT_POSTREDIR, (long)CURL_REDIR_POST_ALL);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
        curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
        curl_easy_setopt(h, CURLOPT_HEADERDATA, limit);
        curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
        curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
        curl_easy_setopt(h, CURLOPT_XFERINFODATA, cap);
        return h;
}

/* Attempts until a 2xx, a 4xx, an error not worth retrying, or the budget is spent. */
static int perform(struct tr_ping *p, CURL *h, const char *what, _Atomic int64_t *cap,
                   struct tr_err *e)
{
        int64_t deadline = tr_monotonic_ms() + p->budget_ms, backoff = TR_PING_BACKOFF_MS;

        for (int tries = 1;; tries++) {
                int64_t left =
                    min64(deadline, cap ? atomic_load(cap) : INT64_MAX) - tr_monotonic_ms();
                if (left < 1)
                        left = 1;
                long code = 0;
                curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)left);
                curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                                 (long)(left < CONNECT_TIMEOUT_MS ? left : CONNECT_TIMEOUT_MS));
                CURLcode rc = curl_easy_perform(h);
                curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
                if (rc == CURLE_OK && code >= 200 && code < 300)
                        return 0;
                if (rc == CURLE_OK)
                        tr_err_set(e, 0, "--ping %s: HTTP status %ld", what, code);
                else if (rc == CURLE_ABORTED_BY_CALLBACK)
                        tr_err_set(e, 0, "--ping %s: still unanswered when the command ended",
                                   what);
                else
                        tr_err_set(e, 0, "--ping %s: %s", what, curl_easy_strerror(rc));
                if (rc == CURLE_OK ? code < 500 : !transient(rc))
                        return -1;
                left = min64(deadline, cap ? atomic_load(cap) : INT64_MAX) - tr_monotonic_ms();
                if (left <= backoff) {
                        size_t n = strlen(e->msg);
                        snprintf(e->msg + n, sizeof e->msg - n, " (%d %s)", tries,
                                 tries == 1 ? "try" : "tries");
                        return -1;
                }
                sleep_ms(backoff, cap);
                backoff *= 2;
        }
}

/* One ping; 0 when the monitor took it. */
static int send_ping(struct tr_ping *p, const char *suffix, const char *what, const char *body,
                     size_t len, long *limit, _Atomic int64_t *cap, struct tr_err *e)
{
        char *url = ping_url(p, suffix);
        CURL *h = url ? ping_handle(url, body, len, limit, cap) : NULL;
        int r;

        if (h == NULL)
                r = tr_err_sys(e, ENOMEM, "--ping %s", what);
        else
                r = perform(p, h, what, cap, e);
        curl_easy_cleanup(h);
        free(url);
        return r;
}

static void *start_main(void *arg)
{
        struct tr_ping *p = arg;

        p->start_failed =
            send_ping(p, "/start", "start", "", 0, &p->body_limit, &p->start_cap, &p->start_err);
        return NULL;
}

void tr_ping_start(struct tr_ping *p)
{
        sigset_t all, old;
        int err;

        /* Signals are the supervisor's business: the thread blocks them all from birth. */
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &old);
        err = pthread_create(&p->start_thread, NULL, start_main, p);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        p->start_sent = err == 0;
        if (err != 0) {
                p->start_failed = 1;
                tr_err_sys(&p->start_err, err, "--ping start: thread");
        }
}

int tr_ping_end(struct tr_ping *p, int status, const char *body, size_t len, struct tr_err *start_e,
                struct tr_err *e)
{
        char suffix[16] = "";

        /* Start before end, but a start ping that is still retrying gets only a grace period. */
        atomic_store(&p->start_cap, tr_monotonic_ms() + TR_PING_START_GRACE_MS);
        if (p->start_sent)
                pthread_join(p->start_thread, NULL);
        p->start_sent = 0;
        if (p->start_failed)
                *start_e = p->start_err;
        else
                start_e->msg[0] = '\0';
        if (status != 0)
                snprintf(suffix, sizeof suffix, "/%d", status);
        if (body == NULL)
                body = "", len = 0;
        if (len > (size_t)p->body_limit) { /* the end of the output matters most */
                body += len - (size_t)p->body_limit;
                len = (size_t)p->body_limit;
                while (len > 0 && ((unsigned char)*body & 0xc0) == 0x80)
                        body++, len--; /* not half a UTF-8 character */
        }
        return send_ping(p, suffix, status == 0 ? "success" : "failure", body, len, NULL, NULL, e);
}

void tr_ping_free(struct tr_ping *p)
{
        if (p->start_sent)
                pthread_join(p->start_thread, NULL);
        p->start_sent = 0;
        if (p->url != NULL)
                curl_global_cleanup();
        free(p->url);
        p->url = NULL;
}
