/* Passing output to our stdout and stderr without blocking the loop: see sink.h. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sink.h"

/* A description of our own on the same pipe or terminal, or -1. */
static int reopen_nonblocking(int fd)
{
        char path[64];

        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
        return open(path, O_WRONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
}

int tr_sink_open(struct tr_sink *k, int target_fd, size_t cap)
{
        memset(k, 0, sizeof *k);
        k->fd = target_fd;
        k->cap = cap;
        return 0;
}

/* Before the first write (a command with no output needs none): how to write without blocking. */
static void prepare(struct tr_sink *k)
{
        struct stat st;

        k->prepared = 1;
        if (fstat(k->fd, &st) == -1)
                return; /* writes will fail and say why */
        if (S_ISSOCK(st.st_mode)) {
                k->socket = 1;
        } else if (S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode)) {
                int fd = reopen_nonblocking(k->fd);
                if (fd != -1) {
                        k->fd = fd;
                        k->own_fd = 1;
                }
        }
}

void tr_sink_close(struct tr_sink *k)
{
        if (k->own_fd)
                close(k->fd);
        free(k->pending);
        k->pending = NULL;
}

/* One write: bytes taken, 0 if the reader is full, -1 on error. */
static ssize_t write_some(struct tr_sink *k, const char *buf, size_t n)
{
        for (;;) {
                ssize_t w = k->socket ? send(k->fd, buf, n, MSG_DONTWAIT | MSG_NOSIGNAL)
                                      : write(k->fd, buf, n);
                if (w >= 0)
                        return w;
                if (errno == EAGAIN || errno == EWOULDBLOCK)
                        return 0;
                if (errno != EINTR)
                        return -1;
        }
}

/* Write from buf until done or full; keep the rest. */
static int write_or_keep(struct tr_sink *k, const char *buf, size_t n)
{
        while (n > 0) {
                ssize_t w = write_some(k, buf, n);
                if (w == -1) {
                        k->broken = 1;
                        k->len = 0;
                        return -1;
                }
                if (w == 0) {
                        /* Made on first need: most readers never fall behind. */
                        if (k->pending == NULL && (k->pending = malloc(k->cap)) == NULL) {
                                k->broken = 1;
                                errno = ENOMEM;
                                return -1;
                        }
                        if (buf != k->pending)
                                memmove(k->pending, buf, n);
                        k->len = n;
                        return 1;
                }
                buf += w;
                n -= (size_t)w;
        }
        k->len = 0;
        return 0;
}

int tr_sink_write(struct tr_sink *k, const void *buf, size_t n)
{
        if (k->broken) {
                errno = EPIPE;
                return -1;
        }
        if (!k->prepared)
                prepare(k);
        return write_or_keep(k, buf, n);
}

int tr_sink_flush(struct tr_sink *k)
{
        if (k->broken) {
                errno = EPIPE;
                return -1;
        }
        return write_or_keep(k, k->pending, k->len);
}

int tr_sink_drain(struct tr_sink *k)
{
        int r;

        while ((r = tr_sink_flush(k)) == 1) {
                struct pollfd p = {.fd = k->fd, .events = POLLOUT};
                if (poll(&p, 1, -1) == -1 && errno != EINTR)
                        return -1;
        }
        return r;
}
