/* Durations as people type them (timeout(1) style) and as they like to read them. */
#ifndef TASKRUN_DURATION_H
#define TASKRUN_DURATION_H

#include <stddef.h>
#include <stdint.h>

/*
 * Parse a duration like timeout(1): a non-negative decimal number with an
 * optional suffix s, m, h or d ("10", "1.5s", "2m"). Result in milliseconds.
 * 0, or -1 with errno EINVAL.
 */
int tr_parse_duration(const char *s, int64_t *ms);

/* Human form of a duration: "850ms", "12.3s", "4m05s", "2h03m". */
void tr_format_duration(int64_t ms, char *buf, size_t n);

#endif
