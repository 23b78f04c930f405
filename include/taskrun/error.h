/* Errors travel up as an errno plus a one-line "context: reason" message. */
#ifndef TASKRUN_ERROR_H
#define TASKRUN_ERROR_H

#include <stddef.h>

struct tr_err {
        int errnum;    /* errno-style code, 0 when not from a syscall */
        char msg[512]; /* "context: reason", without the "taskrun: " prefix */
};

/* Format msg; a trailing ": %m"-style reason is the caller's job. Returns -1. */
int tr_err_set(struct tr_err *e, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Like tr_err_set, then appends ": strerror(errnum)". Returns -1. */
int tr_err_sys(struct tr_err *e, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
