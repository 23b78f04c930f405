/*
 * A bounded tail of a command's combined output. Feeding must cost no more
 * than a memcpy, since every byte the command prints passes through it: raw
 * bytes go into a ring, and the cleaning (ANSI escapes stripped, carriage
 * return overwrites applied, invalid UTF-8 replaced) happens only when a
 * rendered copy is asked for, at heartbeat or at the end.
 */
#ifndef TASKRUN_TAIL_H
#define TASKRUN_TAIL_H

#include <stddef.h>
#include <stdint.h>

#define TR_TAIL_DEFAULT (64 * 1024)
/* The tail goes into the task file: escaped it may grow six-fold, and task
 * files over 16 MiB are refused, so it stays well below that. */
#define TR_TAIL_MAX (1024 * 1024)

struct tr_tail {
        char *ring;     /* cap raw bytes, made by the first feed */
        size_t cap;     /* ring size */
        size_t head;    /* next write position */
        size_t len;     /* bytes held, <= cap */
        uint64_t total; /* raw bytes ever fed */
};

int tr_tail_init(struct tr_tail *t, size_t cap); /* 0, or -1 with errno */
void tr_tail_feed(struct tr_tail *t, const void *data, size_t len);
void tr_tail_free(struct tr_tail *t);
/* Empty it for a new run of the command (--retry), keeping the ring. */
void tr_tail_reset(struct tr_tail *t);

/*
 * A malloc'd, NUL-terminated, valid UTF-8 rendering of the held output, with
 * escapes stripped. When the ring has wrapped, output starts after the first
 * newline so no half line, half escape or half UTF-8 sequence leads it.
 * max_lines > 0 keeps only that many last lines. NULL on ENOMEM.
 */
char *tr_tail_render(const struct tr_tail *t, int max_lines);

/* Where the last max_lines lines of a rendering begin, inside it (no copy). */
const char *tr_tail_last_lines(const char *rendered, int max_lines);

/*
 * The held bytes as they came, uncleaned (for replaying output), malloc'd,
 * length in *n; from the first whole line once the ring has wrapped. NULL on ENOMEM.
 */
char *tr_tail_raw(const struct tr_tail *t, size_t *n);

/* The last non-empty line of the rendering, malloc'd (may be ""), NULL on ENOMEM. */
char *tr_tail_last_line(const struct tr_tail *t);

#endif
