/* Time as taskrun records it: UTC ISO 8601 with milliseconds, and the clocks. */
#ifndef TASKRUN_CLOCK_H
#define TASKRUN_CLOCK_H

#include <stdint.h>
#include <time.h>

#define TR_ISO8601_LEN 32

/* UTC "2026-12-01T05:00:00.123Z" into buf (at least TR_ISO8601_LEN bytes). */
void tr_iso8601(const struct timespec *ts, char *buf);
void tr_iso8601_now(char *buf);

/* CLOCK_MONOTONIC in milliseconds. */
int64_t tr_monotonic_ms(void);

/* Milliseconds since the epoch from "2026-12-01T05:00:00.123Z"; -1 if not that form. */
int64_t tr_iso8601_parse(const char *s);

/* CLOCK_REALTIME in milliseconds since the epoch. */
int64_t tr_realtime_ms(void);

#endif
