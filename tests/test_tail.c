/* The output tail: bounded, cheap to feed, and rendered as clean UTF-8 text. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "taskrun/tail.h"

#define FFFD "\xef\xbf\xbd"

/*
 * A UTF-8 check written independently of the renderer: decode each code point
 * and reject overlongs, surrogates and anything past U+10FFFF.
 */
static bool valid_utf8(const char *str)
{
        static const uint32_t min_for_len[] = {0, 0, 0x80, 0x800, 0x10000};
        const unsigned char *s = (const unsigned char *)str;

        while (*s) {
                int len = *s < 0x80         ? 1
                          : *s >> 5 == 0x6  ? 2
                          : *s >> 4 == 0xe  ? 3
                          : *s >> 3 == 0x1e ? 4
                                            : 0;
                uint32_t cp = len == 1   ? *s
                              : len == 2 ? *s & 0x1f
                              : len == 3 ? *s & 0x0f
                                         : *s & 0x07;

                if (len == 0)
                        return false;
                for (int i = 1; i < len; i++) {
                        if (s[i] >> 6 != 0x2)
                                return false;
                        cp = cp << 6 | (s[i] & 0x3f);
                }
                if (cp < min_for_len[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
                        return false;
                s += len;
        }
        return true;
}

/* True if the rendering holds no control characters besides newline and tab. */
static bool only_text_controls(const char *s)
{
        for (; *s; s++)
                if (((unsigned char)*s < 0x20 && *s != '\n' && *s != '\t') || *s == 0x7f)
                        return false;
        return true;
}

static struct tr_tail tail_of(size_t cap)
{
        struct tr_tail t;

        cr_assert_eq(tr_tail_init(&t, cap), 0);
        return t;
}

static void feed_str(struct tr_tail *t, const char *s)
{
        tr_tail_feed(t, s, strlen(s));
}

/* Renders the given bytes fed in one go into a fresh tail of cap bytes. */
static char *render_bytes(const void *data, size_t len, size_t cap, int max_lines)
{
        struct tr_tail t = tail_of(cap);
        char *out;

        tr_tail_feed(&t, data, len);
        out = tr_tail_render(&t, max_lines);
        tr_tail_free(&t);
        cr_assert_not_null(out);
        return out;
}

static void assert_renders(const char *input, const char *expected)
{
        char *out = render_bytes(input, strlen(input), TR_TAIL_DEFAULT, 0);

        cr_expect_str_eq(out, expected, "input \"%s\"", input);
        free(out);
}

Test(tail, init_rejects_zero_capacity)
{
        struct tr_tail t;

        cr_assert_eq(tr_tail_init(&t, 0), -1);
        cr_assert_eq(errno, EINVAL);
}

Test(tail, bound_holds_after_feeding_ten_times_cap)
{
        enum { CAP = 1000 };
        static const size_t chunks[] = {1, 7, 333, 999, 1000, 1001, 2500};
        struct tr_tail t = tail_of(CAP);
        char *all = malloc(20 * CAP), *out;
        size_t fed = 0;

        for (size_t i = 0; fed < 10 * CAP; i++) {
                char chunk[2600];
                size_t n = chunks[i % 7];

                for (size_t j = 0; j < n; j++)
                        chunk[j] = (fed + j) % 17 == 16 ? '\n' : 'a' + (fed + j) % 17;
                tr_tail_feed(&t, chunk, n);
                memcpy(all + fed, chunk, n);
                fed += n;
                cr_assert_leq(t.len, CAP);
                cr_assert_lt(t.head, CAP);
        }
        all[fed] = '\0';
        cr_assert_eq(t.len, CAP);
        out = tr_tail_render(&t, 0);
        cr_assert_not_null(out);
        cr_assert_leq(strlen(out), CAP);
        /* What is held is exactly the end of what was fed. */
        cr_assert_str_eq(out, all + fed - strlen(out));
        free(out);
        free(all);
        tr_tail_free(&t);
}

Test(tail, feed_larger_than_cap_keeps_its_last_bytes)
{
        struct tr_tail t = tail_of(8);
        char *out;

        feed_str(&t, "old\n");
        feed_str(&t, "0123456789\nabcdef\n");
        cr_assert_eq(t.len, 8);
        out = tr_tail_render(&t, 0);
        cr_assert_str_eq(out, "abcdef\n");
        free(out);
        tr_tail_free(&t);
}

Test(tail, total_counts_every_byte_fed)
{
        struct tr_tail t = tail_of(16);
        char block[100] = {0};

        for (int i = 0; i < 1000; i++)
                tr_tail_feed(&t, block, (size_t)(i % 100));
        tr_tail_feed(&t, NULL, 0);
        cr_assert_eq(t.total, (uint64_t)(1000 / 100) * (99 * 100 / 2));
        tr_tail_free(&t);
}

Test(tail, wrapped_output_starts_at_line_boundary)
{
        /* The ring keeps "aaaaa\nbbbb\ncccc\n"; the half line "aaaaa" goes. */
        const char input[] = "aaaaaaaaaa\nbbbb\ncccc\n";
        char *out = render_bytes(input, strlen(input), 16, 0);

        cr_assert_str_eq(out, "bbbb\ncccc\n");
        free(out);
}

Test(tail, wrapped_output_drops_half_escape_before_first_newline)
{
        /* The ring starts inside the colour code, "31mred\n". */
        const char input[] = "\x1b[31mred\ngreen\n";
        char *out = render_bytes(input, strlen(input), 13, 0);

        cr_assert_str_eq(out, "green\n");
        free(out);
}

Test(tail, wrapped_output_without_newline_starts_at_a_character)
{
        /* "ééé" is C3 A9 C3 A9 C3 A9; a 5-byte ring starts on a stray A9. */
        const char input[] = "\xc3\xa9\xc3\xa9\xc3\xa9";
        char *out = render_bytes(input, strlen(input), 5, 0);

        cr_assert_str_eq(out, "\xc3\xa9\xc3\xa9");
        free(out);
}

Test(tail, wrapped_binary_output_without_newline_still_shows)
{
        /* Past the 3 bytes a cut character can leave, garbage shows as U+FFFD. */
        char garbage[16];
        char *out;

        memset(garbage, 0x80, sizeof garbage);
        out = render_bytes(garbage, sizeof garbage, 8, 0);
        cr_assert_str_eq(out, FFFD FFFD FFFD FFFD FFFD);
        free(out);
}

Test(tail, ansi_colour_codes_stripped)
{
        assert_renders("\x1b[1;31mred\x1b[0m plain\x1b[m\n", "red plain\n");
        assert_renders("\x1b[38;5;208mcolour\x1b[K\x1b[2J\x1b[?25l\n", "colour\n");
        /* A control byte inside a sequence ends it and is itself rendered. */
        assert_renders("a\x1b[1\nb\x1b\n", "a\nb\n");
        assert_renders("\x1b(Bcharset\x1b=keypad\x1b"
                       "7\n",
                       "charsetkeypad\n");
}

Test(tail, osc_titles_stripped)
{
        assert_renders("\x1b]0;window title\x07text\n", "text\n");
        assert_renders("\x1b]2;title\x1b\\more\n", "more\n");
        assert_renders("\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\\n", "link\n");
}

Test(tail, unterminated_osc_ends_at_newline)
{
        assert_renders("\x1b]0;never ends\nvisible\n", "\nvisible\n");
}

Test(tail, escape_split_across_two_feeds_stripped)
{
        struct tr_tail t = tail_of(64);
        char *out;

        feed_str(&t, "ab\x1b");
        feed_str(&t, "[3");
        feed_str(&t, "1mcd\x1b]0;ti");
        feed_str(&t, "tle\x07"
                     "ef\n");
        out = tr_tail_render(&t, 0);
        cr_assert_str_eq(out, "abcdef\n");
        free(out);
        tr_tail_free(&t);
}

Test(tail, carriage_return_progress_collapses_to_last_state)
{
        assert_renders("10%\r20%\r100%\ndone\n", "100%\ndone\n");
        assert_renders("step 1\r\x1b[Kstep 2\r\x1b[Kstep 3", "step 3");
        /* A final "\r" with nothing after it leaves the last state showing. */
        assert_renders("50%\r", "50%");
}

Test(tail, crlf_is_a_newline)
{
        assert_renders("one\r\ntwo\r\n", "one\ntwo\n");
        assert_renders("a\r\r\nb\n", "a\nb\n");
}

Test(tail, control_chars_dropped_except_newline_and_tab)
{
        static const char input[] = "a\0b\x07"
                                    "c\x08"
                                    "d\te\x7f\x0c\n";
        char *out = render_bytes(input, sizeof input - 1, 64, 0);

        cr_assert_str_eq(out, "abcd\te\n");
        free(out);
        assert_renders("x\xc2\x85y\n", "xy\n"); /* U+0085, a C1 control */
}

Test(tail, invalid_utf8_replaced)
{
        assert_renders("ok \xe2\x82\xac \xc3\xa9\n", "ok \xe2\x82\xac \xc3\xa9\n");
        assert_renders("a\xff"
                       "b\n",
                       "a" FFFD "b\n");
        assert_renders("\xc0\xaf\n", FFFD FFFD "\n");                   /* overlong '/' */
        assert_renders("\xe0\x80\xaf\n", FFFD FFFD FFFD "\n");          /* overlong */
        assert_renders("\xed\xa0\x80\n", FFFD FFFD FFFD "\n");          /* surrogate */
        assert_renders("\xf4\x90\x80\x80\n", FFFD FFFD FFFD FFFD "\n"); /* > U+10FFFF */
        assert_renders("\xe2\x82"
                       "x\n",
                       FFFD "x\n");                                 /* cut short */
        assert_renders("end\xf0\x9f\x98", "end" FFFD);              /* truncated at end */
        assert_renders("\xf0\x9f\x98\x80\n", "\xf0\x9f\x98\x80\n"); /* U+1F600 kept */
}

/* A fixed-seed generator, so a failure reproduces. */
static uint32_t next_random(uint32_t *state)
{
        *state = *state * 1664525u + 1013904223u;
        return *state >> 8;
}

Test(tail, output_always_valid_utf8)
{
        static const unsigned char alphabet[] = {'a',  '\n', '\r', 0x1b, '[',  ']',  '\\', 0x07,
                                                 '0',  ';',  'm',  0x00, 0x80, 0xbf, 0xc2, 0xc3,
                                                 0xe0, 0xed, 0xef, 0xf0, 0xf4, 0xf8, 0xff, 0x9b};
        uint32_t state = 42;
        unsigned char buf[600];

        for (int round = 0; round < 3000; round++) {
                size_t n = next_random(&state) % sizeof buf;
                size_t cap = 1 + next_random(&state) % 300;
                char *out;

                for (size_t i = 0; i < n; i++)
                        buf[i] = next_random(&state) % 2
                                     ? alphabet[next_random(&state) % sizeof alphabet]
                                     : (unsigned char)next_random(&state);
                out = render_bytes(buf, n, cap, (int)(next_random(&state) % 4));
                cr_assert(valid_utf8(out), "round %d gave invalid UTF-8", round);
                cr_assert(only_text_controls(out), "round %d kept a control character", round);
                free(out);
        }
}

Test(tail, max_lines_keeps_only_last_lines)
{
        static const char input[] = "1\n2\n3\n4\n";
        char *two = render_bytes(input, strlen(input), 64, 2);
        char *one_unterminated = render_bytes("1\n2\n3", 5, 64, 1);
        char *more_than_held = render_bytes(input, strlen(input), 64, 10);

        cr_assert_str_eq(two, "3\n4\n");
        cr_assert_str_eq(one_unterminated, "3");
        cr_assert_str_eq(more_than_held, input);
        free(two);
        free(one_unterminated);
        free(more_than_held);
}

Test(tail, last_line_is_last_non_empty_line)
{
        struct tr_tail t = tail_of(64);
        char *line;

        feed_str(&t, "first\nsecond\x1b[0m\n\n\n");
        line = tr_tail_last_line(&t);
        cr_assert_str_eq(line, "second");
        free(line);
        feed_str(&t, "copying 10%\rcopying 90%");
        line = tr_tail_last_line(&t);
        cr_assert_str_eq(line, "copying 90%");
        free(line);
        tr_tail_free(&t);
}

Test(tail, empty_tail_renders_empty_string)
{
        struct tr_tail t = tail_of(16);
        char *out = tr_tail_render(&t, 0), *line = tr_tail_last_line(&t);

        cr_assert_str_eq(out, "");
        cr_assert_str_eq(line, "");
        free(out);
        free(line);
        feed_str(&t, "\x1b[0m\n\n");
        line = tr_tail_last_line(&t);
        cr_assert_str_eq(line, "");
        free(line);
        tr_tail_free(&t);
}

Test(tail, last_lines_of_a_rendering_match_a_rendering_of_last_lines)
{
        struct tr_tail t;
        char *full, *lines;

        cr_assert_eq(tr_tail_init(&t, 256), 0);
        for (int i = 0; i < 40; i++) {
                char line[32];
                int n = snprintf(line, sizeof line, "\x1b[1mline %d\x1b[0m\n", i);
                tr_tail_feed(&t, line, (size_t)n);
        }
        full = tr_tail_render(&t, 0);
        lines = tr_tail_render(&t, 3);
        cr_assert_not_null(full);
        cr_assert_not_null(lines);
        cr_expect_str_eq(tr_tail_last_lines(full, 3), lines);
        cr_expect_str_eq(lines, "line 37\nline 38\nline 39\n");
        free(full);
        free(lines);
        tr_tail_free(&t);
}
