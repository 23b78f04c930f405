/*
 * libFuzzer harness for the output tail. The first bytes choose the ring size,
 * the line limit and a seed for chunk sizes; the rest is the command's output,
 * fed in chunks. The rendering must be valid UTF-8 with no escape or other
 * control byte but tab and newline, the same whatever the chunking, and the
 * line-limited rendering must be a suffix of the full one.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "taskrun/tail.h"

/* Strict UTF-8 (no overlongs, surrogates or code points past U+10FFFF). */
static int valid_utf8(const unsigned char *s, size_t n)
{
        size_t i = 0;

        while (i < n) {
                unsigned char c = s[i];
                size_t need;
                unsigned char lo = 0x80, hi = 0xbf;
                if (c < 0x80) {
                        i++;
                        continue;
                }
                if (c >= 0xc2 && c <= 0xdf)
                        need = 1;
                else if (c >= 0xe0 && c <= 0xef)
                        need = 2;
                else if (c >= 0xf0 && c <= 0xf4)
                        need = 3;
                else
                        return 0;
                if (c == 0xe0)
                        lo = 0xa0;
                if (c == 0xed)
                        hi = 0x9f;
                if (c == 0xf0)
                        lo = 0x90;
                if (c == 0xf4)
                        hi = 0x8f;
                for (size_t k = 1; k <= need; k++) {
                        if (i + k >= n || s[i + k] < lo || s[i + k] > hi)
                                return 0;
                        lo = 0x80;
                        hi = 0xbf;
                }
                i += need + 1;
        }
        return 1;
}

static void check_clean(const char *s, const char *what)
{
        size_t n = strlen(s);

        if (!valid_utf8((const unsigned char *)s, n)) {
                fprintf(stderr, "%s: invalid UTF-8\n", what);
                abort();
        }
        for (size_t i = 0; i < n; i++) {
                unsigned char c = (unsigned char)s[i];
                if ((c < 0x20 && c != '\t' && c != '\n') || c == 0x7f) {
                        fprintf(stderr, "%s: control byte 0x%02x at %zu\n", what, c, i);
                        abort();
                }
                /* C1 controls, U+0080..U+009F (0x9b is a one-byte CSI on some terminals) */
                if (c == 0xc2 && i + 1 < n && (unsigned char)s[i + 1] < 0xa0) {
                        fprintf(stderr, "%s: C1 control at %zu\n", what, i);
                        abort();
                }
        }
}

static char *render(const struct tr_tail *t, int max_lines)
{
        char *s = tr_tail_render(t, max_lines);

        if (s == NULL)
                abort();
        return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct tr_tail chunked, whole;
        size_t cap, off = 0;
        int max_lines;
        uint32_t seed;
        char *full, *lines, *last, *one;

        if (size < 4)
                return 0;
        cap = 1 + ((size_t)data[0] | (size_t)(data[1] & 0x0f) << 8); /* 1..4096 */
        max_lines = data[2] % 8;
        seed = data[3] * 2654435761u + 1;
        data += 4;
        size -= 4;
        if (tr_tail_init(&chunked, cap) == -1 || tr_tail_init(&whole, cap) == -1)
                abort();
        while (off < size) {
                seed = seed * 1103515245u + 12345u;
                size_t n = 1 + (seed >> 16) % 97;
                if (n > size - off)
                        n = size - off;
                tr_tail_feed(&chunked, data + off, n);
                off += n;
        }
        tr_tail_feed(&whole, data, size);
        if (chunked.total != size || chunked.len > cap)
                abort();

        full = render(&chunked, 0);
        lines = render(&chunked, max_lines);
        one = render(&whole, 0);
        last = tr_tail_last_line(&chunked);
        if (last == NULL)
                abort();
        check_clean(full, "render");
        check_clean(lines, "render(max_lines)");
        check_clean(last, "last_line");
        if (strcmp(full, one) != 0) {
                fprintf(stderr, "rendering depends on how the output was chunked\n");
                abort();
        }
        size_t fl = strlen(full), ll = strlen(lines);
        if (ll > fl || strcmp(full + fl - ll, lines) != 0) {
                fprintf(stderr, "line-limited rendering is not a suffix of the full one\n");
                abort();
        }
        if (strchr(last, '\n') != NULL)
                abort();
        free(full);
        free(lines);
        free(one);
        free(last);
        tr_tail_free(&chunked);
        tr_tail_free(&whole);
        return 0;
}
