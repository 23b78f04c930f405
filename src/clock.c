/* Time: ISO 8601 stamps written and read back, and the clocks they come from. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "taskrun/clock.h"

void tr_iso8601(const struct timespec *ts, char *buf)
{
        struct tm tm;
        long ms = ts->tv_nsec / 1000000;
        size_t len;

        if (ms < 0 || ms > 999)
                ms = 0;
        /* Fails only for years that do not fit the buffer: say so, do not invent a time. */
        if (gmtime_r(&ts->tv_sec, &tm) == NULL ||
            (len = strftime(buf, TR_ISO8601_LEN - 5, "%Y-%m-%dT%H:%M:%S", &tm)) == 0) {
                snprintf(buf, TR_ISO8601_LEN, "invalid-time");
                return;
        }
        snprintf(buf + len, TR_ISO8601_LEN - len, ".%03ldZ", ms);
}

void tr_iso8601_now(char *buf)
{
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        tr_iso8601(&ts, buf);
}

int64_t tr_monotonic_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t tr_iso8601_parse(const char *s)
{
        struct tm tm = {0};
        int ms = 0, used = 0;

        if (s == NULL || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon,
                                &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &used) != 6)
                return -1;
        s += used;
        if (*s == '.' && sscanf(s, ".%3d%n", &ms, &used) == 1)
                s += used;
        if (strcmp(s, "Z") != 0)
                return -1;
        tm.tm_year -= 1900;
        tm.tm_mon -= 1;
        time_t t = timegm(&tm);
        return t == (time_t)-1 ? -1 : (int64_t)t * 1000 + ms;
}

int64_t tr_realtime_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
