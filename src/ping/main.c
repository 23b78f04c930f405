/*
 * taskrun-ping URL RID: the helper behind --ping (see ping.h for why it is a
 * program of its own). It sends URL/start at once; meanwhile taskrun writes
 * the end to its stdin: a line with the exit status, then the body. At end
 * of file it sends URL on status 0, URL/<status> otherwise, or URL/fail when
 * no status came (taskrun died). Each ping that could not be delivered is one
 * line on stdout, "start MESSAGE" or "end MESSAGE", for taskrun to warn with.
 * Exit status: 0 the end ping was delivered, 1 it was not, 2 usage.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "exit.h"
#include "http.h"

#define STATUS_LINE_MAX 16

/* The end has begun to arrive (or taskrun is gone): a start ping still going is cut short. */
static int end_is_coming(void *arg)
{
        struct pollfd in = {.fd = STDIN_FILENO, .events = POLLIN};

        (void)arg;
        return poll(&in, 1, 0) == 1;
}

/* All of stdin, keeping its first STATUS_LINE_MAX + TR_PING_BODY_MAX bytes; malloc'd. */
static char *read_end(size_t *len)
{
        size_t cap = STATUS_LINE_MAX + TR_PING_BODY_MAX, n = 0;
        char *buf = malloc(cap + 1), sink[4096];
        ssize_t r;

        if (buf == NULL)
                return NULL;
        for (;;) {
                r = n < cap ? read(STDIN_FILENO, buf + n, cap - n)
                            : read(STDIN_FILENO, sink, sizeof sink);
                if (r == -1 && errno == EINTR)
                        continue;
                if (r <= 0)
                        break;
                if (n < cap)
                        n += (size_t)r;
        }
        buf[n] = '\0';
        *len = n;
        return buf;
}

/* "0\n", "2\n"...: the suffix "" or "/2"; anything else (nothing came): "/fail". */
static const char *end_suffix(const char *end, size_t len, const char **body, char *buf, size_t n)
{
        const char *nl = memchr(end, '\n', len);
        char *stop;
        long status;

        *body = nl ? nl + 1 : end + len;
        if (nl == NULL || nl == end)
                return "/fail";
        errno = 0;
        status = strtol(end, &stop, 10);
        if (errno != 0 || stop != nl || status < 0 || status > 255)
                return "/fail";
        if (status == 0)
                return "";
        snprintf(buf, n, "/%ld", status);
        return buf;
}

int main(int argc, char **argv)
{
        struct tr_ping_http p = {.budget_ms = TR_PING_BUDGET_MS, .body_limit = TR_PING_BODY_MAX};
        char suffix_buf[8];
        const char *suffix, *body;
        struct tr_err e;
        size_t len;
        char *end;
        int r;

        if (argc != 3) {
                fputs("usage: taskrun-ping URL RID (the end on stdin); started by taskrun --ping\n",
                      stderr);
                return TR_EXIT_USAGE;
        }
        signal(SIGPIPE, SIG_IGN); /* taskrun may be gone: its stdout is then nobody's */
        p.url = argv[1];
        p.rid = argv[2];
        if (tr_ping_http_init(&e) == -1) {
                printf("start %s\n", e.msg);
                return TR_EXIT_FAIL;
        }
        p.cut_short = end_is_coming;
        if (tr_ping_http_send(&p, "/start", "start", "", 0, &e) == -1)
                printf("start %s\n", e.msg);
        fflush(stdout);
        p.cut_short = NULL;
        if ((end = read_end(&len)) == NULL)
                return TR_EXIT_FAIL;
        suffix = end_suffix(end, len, &body, suffix_buf, sizeof suffix_buf);
        r = tr_ping_http_send(&p, suffix, *suffix == '\0' ? "success" : "failure", body,
                              len - (size_t)(body - end), &e);
        if (r == -1)
                printf("end %s\n", e.msg);
        free(end);
        return r == -1 ? TR_EXIT_FAIL : TR_EXIT_OK;
}
