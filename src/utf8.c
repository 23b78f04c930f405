/* UTF-8 validation and repair. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "taskrun/utf8.h"

/*
 * Sequence length for a UTF-8 lead byte, or 0 if it cannot start one; lo and
 * hi bound the second byte, which is what rules out overlongs, surrogates and
 * code points past U+10FFFF.
 */
static size_t utf8_lead_length(unsigned char c, unsigned char *lo, unsigned char *hi)
{
        *lo = 0x80;
        *hi = 0xbf;
        if (c < 0x80)
                return 1;
        if (c >= 0xc2 && c <= 0xdf)
                return 2;
        if (c >= 0xe0 && c <= 0xef) {
                *lo = c == 0xe0 ? 0xa0 : 0x80;
                *hi = c == 0xed ? 0x9f : 0xbf;
                return 3;
        }
        if (c >= 0xf0 && c <= 0xf4) {
                *lo = c == 0xf0 ? 0x90 : 0x80;
                *hi = c == 0xf4 ? 0x8f : 0xbf;
                return 4;
        }
        return 0;
}

size_t tr_utf8_sequence(const unsigned char *p, size_t n, size_t *bad)
{
        unsigned char lo, hi;
        size_t need = utf8_lead_length(p[0], &lo, &hi);
        size_t i;

        *bad = 1;
        if (need == 0)
                return 0;
        for (i = 1; i < need; i++) {
                if (i >= n || p[i] < lo || p[i] > hi) {
                        *bad = i;
                        return 0;
                }
                lo = 0x80;
                hi = 0xbf;
        }
        return need;
}

char *tr_utf8_clean(const char *s, size_t max)
{
        const unsigned char *p = (const unsigned char *)s;
        size_t n = strlen(s), used = 0, i = 0;
        char *out = malloc((n < max ? n : max) * 3 + 1);

        if (out == NULL)
                return NULL;
        while (i < n) {
                size_t bad, len = tr_utf8_sequence(p + i, n - i, &bad);
                const char *piece = len ? s + i : "\xef\xbf\xbd";
                size_t plen = len ? len : 3;
                if (used + plen > max)
                        break;
                memcpy(out + used, piece, plen);
                used += plen;
                i += len ? len : bad;
        }
        out[used] = '\0';
        return out;
}

json_object *tr_json_utf8(const char *bytes)
{
        char *clean = tr_utf8_clean(bytes, SIZE_MAX);
        json_object *s = json_object_new_string(clean ? clean : "");

        free(clean);
        return s;
}

size_t tr_utf8_chars(const char *s)
{
        size_t n = 0;

        for (; *s; s++)
                n += ((unsigned char)*s & 0xc0) != 0x80; /* lead bytes and ASCII */
        return n;
}

size_t tr_utf8_tail_start(const char *s, size_t len, size_t max)
{
        size_t start;

        if (len <= max)
                return 0;
        start = len - max;
        while (start < len && ((unsigned char)s[start] & 0xc0) == 0x80)
                start++;
        return start;
}
