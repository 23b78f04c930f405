/* Durations as people type them (timeout(1) style) and as they like to read them. */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "taskrun/duration.h"

#define MS_PER_S INT64_C(1000)
#define MS_PER_M (60 * MS_PER_S)
#define MS_PER_H (60 * MS_PER_M)
#define MS_PER_D (24 * MS_PER_H)

/*
 * A number read as whole + frac / scale. Fraction digits past the ninth are
 * checked but ignored: they are worth under a millisecond even in days.
 */
struct decimal {
        int64_t whole;
        int64_t frac;
        int64_t scale;
};

/* isdigit(3) without the locale. */
static bool is_digit(char c)
{
        return c >= '0' && c <= '9';
}

/* Reads digits[.digits] from *p, advancing it; false if none or too large. */
static bool parse_decimal(const char **p, struct decimal *d)
{
        const char *s = *p;
        bool any = false;

        *d = (struct decimal){.scale = 1};
        for (; is_digit(*s); s++, any = true) {
                if (d->whole > (INT64_MAX - (*s - '0')) / 10)
                        return false;
                d->whole = d->whole * 10 + (*s - '0');
        }
        if (*s == '.')
                for (s++; is_digit(*s); s++, any = true)
                        if (d->scale < 1000000000) {
                                d->frac = d->frac * 10 + (*s - '0');
                                d->scale *= 10;
                        }
        *p = s;
        return any;
}

/* Milliseconds per unit for a suffix (none means seconds), or -1. */
static int64_t suffix_ms(const char *suffix)
{
        if (suffix[0] != '\0' && suffix[1] != '\0')
                return -1;
        switch (suffix[0]) {
        case '\0':
        case 's':
                return MS_PER_S;
        case 'm':
                return MS_PER_M;
        case 'h':
                return MS_PER_H;
        case 'd':
                return MS_PER_D;
        }
        return -1;
}

int tr_parse_duration(const char *s, int64_t *ms)
{
        struct decimal d;
        int64_t unit, frac_ms;

        if (!parse_decimal(&s, &d) || (unit = suffix_ms(s)) < 0 || d.whole > INT64_MAX / unit) {
                errno = EINVAL;
                return -1;
        }
        /* frac < 1e9 and unit <= 8.64e7, so the product fits; round to nearest. */
        frac_ms = (d.frac * unit + d.scale / 2) / d.scale;
        if (d.whole * unit > INT64_MAX - frac_ms) {
                errno = EINVAL;
                return -1;
        }
        *ms = d.whole * unit + frac_ms;
        return 0;
}

/*
 * Two units at most, the smaller truncated rather than rounded so that a
 * value never shows as the next unit up ("59.9s", not "60.0s").
 */
void tr_format_duration(int64_t ms, char *buf, size_t n)
{
        const char *sign = ms < 0 ? "-" : "";
        uint64_t u = ms < 0 ? 0 - (uint64_t)ms : (uint64_t)ms;

        if (n == 0)
                return;
        if (u < MS_PER_S)
                snprintf(buf, n, "%s%" PRIu64 "ms", sign, u);
        else if (u < MS_PER_M)
                snprintf(buf, n, "%s%" PRIu64 ".%" PRIu64 "s", sign, u / MS_PER_S,
                         u % MS_PER_S / 100);
        else if (u < MS_PER_H)
                snprintf(buf, n, "%s%" PRIu64 "m%02" PRIu64 "s", sign, u / MS_PER_M,
                         u % MS_PER_M / MS_PER_S);
        else if (u < MS_PER_D)
                snprintf(buf, n, "%s%" PRIu64 "h%02" PRIu64 "m", sign, u / MS_PER_H,
                         u % MS_PER_H / MS_PER_M);
        else
                snprintf(buf, n, "%s%" PRIu64 "d%02" PRIu64 "h", sign, u / MS_PER_D,
                         u % MS_PER_D / MS_PER_H);
}
