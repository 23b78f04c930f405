/* UTF-8: JSON strings must be valid, and command lines, paths and output need not be. */
#ifndef TASKRUN_UTF8_H
#define TASKRUN_UTF8_H

#include <stddef.h>
#include <json-c/json.h>

/*
 * Length of the well-formed UTF-8 sequence at p (n bytes available), or 0
 * with *bad set to the length of its maximal ill-formed prefix (at least 1),
 * which stands for one U+FFFD as Unicode recommends.
 */
size_t tr_utf8_sequence(const unsigned char *p, size_t n, size_t *bad);

/* A malloc'd copy of s with invalid UTF-8 replaced by U+FFFD, cut at a
 * character boundary to at most max bytes. NULL on ENOMEM. */
char *tr_utf8_clean(const char *s, size_t max);

/*
 * Where the last max bytes of s (len bytes) begin, moved on past any
 * continuation bytes so that no character is cut in half; 0 if len <= max.
 */
size_t tr_utf8_tail_start(const char *s, size_t len, size_t max);
/* Characters in valid UTF-8 text (for column widths). */
size_t tr_utf8_chars(const char *s);

/* A JSON string of bytes from outside (argv, paths, user text), made valid UTF-8. */
json_object *tr_json_utf8(const char *bytes);

#endif
