/*
 * Where one of the command's output streams goes: our stdout or stderr,
 * written without ever blocking the event loop, so that a slow or stalled
 * reader cannot hold up timeouts and signal forwarding.
 *
 * O_NONBLOCK belongs to an open file description, which we share with
 * whoever gave us stdout; setting it there would surprise them. A pipe or a
 * terminal is therefore reopened through /proc/self/fd, which gives a
 * description of our own; a socket is written with MSG_DONTWAIT. Regular
 * files (whose offset must stay shared) and anything that cannot be reopened
 * are written as they are.
 */
#ifndef TASKRUN_SINK_H
#define TASKRUN_SINK_H

#include <stddef.h>

struct tr_sink {
        int fd;        /* the handle written to */
        int own_fd;    /* fd is our reopened description: close it at the end */
        int socket;    /* write with send(MSG_DONTWAIT) */
        int broken;    /* a write failed for good; output is dropped from then on */
        int prepared;  /* the first write has chosen fd, own_fd and socket */
        char *pending; /* what the reader would not take yet, len bytes; made on first need */
        size_t len, cap;
};

/* cap: the largest write that will be asked of it. 0 (the buffer is made when first needed). */
int tr_sink_open(struct tr_sink *k, int target_fd, size_t cap);
void tr_sink_close(struct tr_sink *k);

/*
 * Write buf, which must not be larger than cap, while nothing is pending;
 * fd may be another handle after the first write (the reopened one).
 * 0: all written; 1: the rest is pending, wait until k->fd is writable and
 * call tr_sink_flush; -1: broken, with errno (EPIPE: the reader is gone).
 */
int tr_sink_write(struct tr_sink *k, const void *buf, size_t n);

/* Write what is pending; returns as tr_sink_write. */
int tr_sink_flush(struct tr_sink *k);

/* Block until nothing is pending (at the end, when nothing else is waiting). */
int tr_sink_drain(struct tr_sink *k);

#endif
