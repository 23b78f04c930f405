/* Time: ISO 8601 stamps written and read back, and the clocks they come from. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "taskrun/clock.h"

/*
 * The civil date of a day count since 1970-01-01 (proleptic Gregorian), by
 * Howard Hinnant's days_from_civil inverse. Not gmtime_r: glibc's reads
 * /etc/localtime on its first call, a time zone a UTC stamp does not need.
 */
static void civil_from_days(long long z, long long *y, unsigned *m, unsigned *d)
{
        z += 719468;
        long long era = (z >= 0 ? z : z - 146096) / 146097;
        unsigned doe = (unsigned)(z - era * 146097);
        unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
        unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        unsigned mp = (5 * doy + 2) / 153;

        *d = doy - (153 * mp + 2) / 5 + 1;
        *m = mp < 10 ? mp + 3 : mp - 9;
        *y = (long long)yoe + era * 400 + (*m <= 2);
}

void tr_iso8601(const struct timespec *ts, char *buf)
{
        long long days = ts->tv_sec / 86400, secs = ts->tv_sec % 86400, year;
        long ms = ts->tv_nsec / 1000000;
        unsigned month, day;
        int len;

        if (secs < 0) {
                secs += 86400;
                days--;
        }
        if (ms < 0 || ms > 999)
                ms = 0;
        civil_from_days(days, &year, &month, &day);
        len = snprintf(buf, TR_ISO8601_LEN, "%04lld-%02u-%02uT%02lld:%02lld:%02lld.%03ldZ", year,
                       month, day, secs / 3600, secs / 60 % 60, secs % 60, ms);
        /* Only for years that do not fit the buffer: say so, do not invent a time. */
        if (len < 0 || len >= TR_ISO8601_LEN)
                snprintf(buf, TR_ISO8601_LEN, "invalid-time");
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

/* Days since 1970-01-01 of a civil date (proleptic Gregorian): days_from_civil, as above. */
static long long days_from_civil(long long y, unsigned m, unsigned d)
{
        y -= m <= 2;
        long long era = (y >= 0 ? y : y - 399) / 400;
        unsigned yoe = (unsigned)(y - era * 400);
        unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
        unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

        return era * 146097 + (long long)doe - 719468;
}

int64_t tr_iso8601_parse(const char *s)
{
        int year, month, day, hour, min, sec, ms = 0, used = 0;

        if (s == NULL || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &year, &month, &day, &hour, &min,
                                &sec, &used) != 6)
                return -1;
        s += used;
        if (*s == '.' && sscanf(s, ".%3d%n", &ms, &used) == 1)
                s += used;
        if (strcmp(s, "Z") != 0 || month < 1 || month > 12 || day < 1 || day > 31 || hour < 0 ||
            hour > 23 || min < 0 || min > 59 || sec < 0 || sec > 60 || ms < 0)
                return -1;
        long long days = days_from_civil(year, (unsigned)month, (unsigned)day);
        return ((days * 24 + hour) * 60 + min) * 60000LL + sec * 1000LL + ms;
}

int64_t tr_realtime_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
