/* Signals by name: "TERM", "SIGTERM" or "15" in, "SIGTERM" out. */
#ifndef TASKRUN_SIGNAME_H
#define TASKRUN_SIGNAME_H

#include <stddef.h>

/* "TERM", "SIGTERM" or "15" (any case) -> signal number, or -1. */
int tr_parse_signal(const char *s);

/* "SIGTERM", or "signal 99" for one without a name: 1 if it has a name, else 0. */
int tr_signal_name(int sig, char *buf, size_t n);

#endif
