/*
 * The output tail: a byte ring that feeding only copies into, and a renderer
 * that turns a copy of the ring into clean, valid UTF-8 text.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "taskrun/tail.h"
#include "taskrun/utf8.h"

#define LAST_LINE_WINDOW 4096 /* a last line longer than this shows its end */

#define ESC 0x1b
#define BEL 0x07

int tr_tail_init(struct tr_tail *t, size_t cap)
{
        memset(t, 0, sizeof *t);
        if (cap == 0) {
                errno = EINVAL;
                return -1;
        }
        t->cap = cap; /* the ring is made by the first feed: a quiet command's never is */
        return 0;
}

void tr_tail_free(struct tr_tail *t)
{
        free(t->ring);
        memset(t, 0, sizeof *t);
}

void tr_tail_reset(struct tr_tail *t)
{
        t->head = 0;
        t->len = 0;
        t->total = 0;
}

/* Every byte the command prints comes through here: nothing but copying. */
void tr_tail_feed(struct tr_tail *t, const void *data, size_t len)
{
        const char *bytes = data;
        size_t first;

        t->total += len;
        if (len == 0 || t->cap == 0)
                return;
        if (t->ring == NULL && (t->ring = malloc(t->cap)) == NULL)
                return; /* the tail is lost, not the output */
        if (len >= t->cap) {
                memcpy(t->ring, bytes + len - t->cap, t->cap);
                t->head = 0;
                t->len = t->cap;
                return;
        }
        first = t->cap - t->head;
        if (first > len)
                first = len;
        memcpy(t->ring + t->head, bytes, first);
        memcpy(t->ring, bytes + first, len - first);
        t->head = (t->head + len) % t->cap;
        t->len = t->len + len < t->cap ? t->len + len : t->cap;
}

/* The held bytes, oldest first, in one malloc'd block. */
static unsigned char *tail_linearize(const struct tr_tail *t)
{
        unsigned char *buf = malloc(t->len + 1);
        size_t oldest, first;

        if (buf == NULL || t->len == 0)
                return buf;
        oldest = (t->head + t->cap - t->len) % t->cap;
        first = t->cap - oldest;
        if (first > t->len)
                first = t->len;
        memcpy(buf, t->ring + oldest, first);
        memcpy(buf + first, t->ring, t->len - first);
        return buf;
}

/* A byte that may start a character: ASCII or a lead byte of a well-formed sequence. */
static bool is_utf8_lead(unsigned char c)
{
        return c < 0x80 || (c >= 0xc2 && c <= 0xf4);
}

/*
 * Where rendering starts. Once the ring has wrapped, its first bytes may be
 * the middle of a line, an escape or a UTF-8 sequence, so skip to the next
 * line; failing that, at least to the next character. A cut character leaves
 * at most 3 continuation bytes: more than that is garbage, shown as U+FFFD
 * rather than skipped, so binary output does not render as nothing.
 */
static size_t render_start(const unsigned char *buf, size_t n, bool wrapped)
{
        const unsigned char *nl;
        size_t i = 0;

        if (!wrapped)
                return 0;
        nl = memchr(buf, '\n', n);
        if (nl != NULL)
                return (size_t)(nl - buf) + 1;
        while (i < n && i < 3 && !is_utf8_lead(buf[i]))
                i++;
        return i;
}

/* Bytes of an OSC, DCS, SOS, PM or APC string, which ends at BEL or ESC \. */
static size_t escape_string_length(const unsigned char *p, size_t n)
{
        size_t i;

        for (i = 2; i < n; i++) {
                if (p[i] == BEL)
                        return i + 1;
                /* ESC ends it; the ESC \ terminator then goes as an escape of its own. */
                if (p[i] == ESC)
                        return i;
                /* Never part of a real title; stops an unterminated one eating the tail. */
                if (p[i] == '\n')
                        return i;
        }
        return n;
}

/* OSC, DCS, SOS, PM and APC introducers, after ESC. */
static bool starts_escape_string(unsigned char c)
{
        return c == ']' || c == 'P' || c == 'X' || c == '^' || c == '_';
}

/* Bytes of a CSI sequence: parameters and intermediates, then a final byte. */
static size_t csi_length(const unsigned char *p, size_t n)
{
        size_t i;

        for (i = 2; i < n; i++) {
                if (p[i] >= 0x40 && p[i] <= 0x7e)
                        return i + 1;
                if (p[i] < 0x20 || p[i] > 0x3f)
                        return i; /* malformed: the stray byte is rendered on its own */
        }
        return n;
}

/*
 * Bytes of the escape sequence at p (p[0] is ESC) that rendering drops. A
 * sequence cut short by a control or non-ASCII byte ends before that byte; one
 * cut short by the end of the buffer takes the rest.
 */
static size_t escape_length(const unsigned char *p, size_t n)
{
        size_t i = 1;

        if (n < 2)
                return n;
        if (p[1] == '[')
                return csi_length(p, n);
        if (starts_escape_string(p[1]))
                return escape_string_length(p, n);
        while (i < n && p[i] >= 0x20 && p[i] <= 0x2f)
                i++; /* intermediates, as in ESC ( B */
        if (i < n && p[i] >= 0x30 && p[i] <= 0x7e)
                return i + 1;
        return i;
}

/* The cleaned text being built, and the line a carriage return would reset. */
struct clean_out {
        char *buf;
        size_t len;
        size_t line_start;
        bool cr_pending;
};

/*
 * A carriage return takes effect lazily, when the next text arrives: so
 * "\r\n" and a progress bar's final "\r" leave the line as it was, and
 * "50%\r100%" leaves "100%".
 */
static void emit_text(struct clean_out *o, const void *bytes, size_t n)
{
        if (o->cr_pending) {
                o->len = o->line_start;
                o->cr_pending = false;
        }
        memcpy(o->buf + o->len, bytes, n);
        o->len += n;
}

/* End the line: a later carriage return overwrites only the line after it. */
static void emit_newline(struct clean_out *o)
{
        o->buf[o->len++] = '\n';
        o->line_start = o->len;
        o->cr_pending = false;
}

/* A C1 control (U+0080..U+009F): terminals act on them, so they are cleaned like escapes. */
static bool is_c1_control(const unsigned char *p, size_t seqlen)
{
        return seqlen == 2 && p[0] == 0xc2 && p[1] < 0xa0; /* U+0080..U+009F */
}

/* How many bytes from p are printable ASCII: copied in one go, the common case. */
static size_t printable_ascii_run(const unsigned char *p, size_t n)
{
        size_t i = 0;

        while (i < n && p[i] >= 0x20 && p[i] < 0x7f)
                i++;
        return i;
}

/* Clean one run of plain text, character or escape at p into o; returns the bytes consumed. */
static size_t clean_one(struct clean_out *o, const unsigned char *p, size_t n)
{
        size_t seqlen, bad, run = printable_ascii_run(p, n);

        if (run > 0) {
                emit_text(o, p, run); /* the common case, copied in one go */
                return run;
        }
        switch (p[0]) {
        case ESC:
                return escape_length(p, n);
        case '\n':
                emit_newline(o);
                return 1;
        case '\r':
                o->cr_pending = true;
                return 1;
        case '\t':
                emit_text(o, p, 1);
                return 1;
        }
        if (p[0] < 0x20 || p[0] == 0x7f)
                return 1; /* other C0 controls, NUL included, are dropped */
        seqlen = tr_utf8_sequence(p, n, &bad);
        if (seqlen == 0) {
                emit_text(o, "\xef\xbf\xbd", 3); /* U+FFFD */
                return bad;
        }
        if (!is_c1_control(p, seqlen))
                emit_text(o, p, seqlen);
        return seqlen;
}

/*
 * Cleans n raw bytes into out, which must hold 3 * n bytes: the most any
 * input can grow to is one U+FFFD (3 bytes) per invalid byte.
 */
static size_t clean_text(const unsigned char *in, size_t n, char *out)
{
        struct clean_out o = {.buf = out};
        size_t i = 0;

        while (i < n)
                i += clean_one(&o, in + i, n - i);
        return o.len;
}

/* Offset of the last max_lines lines of s; a trailing newline adds no line. */
static size_t last_lines_start(const char *s, size_t len, int max_lines)
{
        size_t i = len;
        int seen = 0;

        if (i > 0 && s[i - 1] == '\n')
                i--;
        for (; i > 0; i--)
                if (s[i - 1] == '\n' && ++seen == max_lines)
                        return i;
        return 0;
}

/* Moves s[start, end) to the front, terminates it and gives back spare memory. */
static char *keep_range(char *s, size_t start, size_t end)
{
        char *shrunk;

        memmove(s, s + start, end - start);
        s[end - start] = '\0';
        shrunk = realloc(s, end - start + 1);
        return shrunk != NULL ? shrunk : s;
}

char *tr_tail_render(const struct tr_tail *t, int max_lines)
{
        unsigned char *raw = tail_linearize(t);
        size_t start, len;
        char *out;

        if (raw == NULL)
                return NULL;
        start = render_start(raw, t->len, t->total > t->len);
        out = malloc(3 * (t->len - start) + 1);
        if (out == NULL) {
                free(raw);
                return NULL;
        }
        len = clean_text(raw + start, t->len - start, out);
        free(raw);
        start = max_lines > 0 ? last_lines_start(out, len, max_lines) : 0;
        return keep_range(out, start, len);
}

const char *tr_tail_last_lines(const char *rendered, int max_lines)
{
        return rendered + last_lines_start(rendered, strlen(rendered), max_lines);
}

char *tr_tail_last_line(const struct tr_tail *t)
{
        /* Heartbeats ask for this: render the last few KB, not the whole tail. */
        struct tr_tail recent = *t;
        char *s;

        if (recent.len > LAST_LINE_WINDOW)
                recent.len = LAST_LINE_WINDOW; /* total > len: starts at a line */
        s = tr_tail_render(&recent, 0);
        size_t start, end;

        if (s == NULL)
                return NULL;
        end = strlen(s);
        while (end > 0 && s[end - 1] == '\n')
                end--;
        start = end;
        while (start > 0 && s[start - 1] != '\n')
                start--;
        return keep_range(s, start, end);
}

char *tr_tail_raw(const struct tr_tail *t, size_t *n)
{
        unsigned char *buf = tail_linearize(t);
        size_t start;

        if (buf == NULL)
                return NULL;
        start = render_start(buf, t->len, t->total > t->len);
        *n = t->len - start;
        memmove(buf, buf + start, *n);
        return (char *)buf;
}
