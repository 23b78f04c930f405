/* Facts about this host, processes and time, as recorded in metadata.taskrun. */
#ifndef TASKRUN_PROCINFO_H
#define TASKRUN_PROCINFO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#define TR_ISO8601_LEN 32

/* /proc/sys/kernel/random/boot_id without newline. 0, or -1 with errno. */
int tr_boot_id(char *buf, size_t n);

/* gethostname(2), always NUL-terminated. 0, or -1 with errno. */
int tr_hostname(char *buf, size_t n);

/*
 * Start time of pid in clock ticks since boot (field 22 of /proc/PID/stat),
 * which tells a reused pid from the original. -1 with errno ENOENT when the
 * process does not exist. Copes with ')' and spaces in the command name.
 */
int tr_proc_start_ticks(pid_t pid, unsigned long long *ticks);

/* UTC "2026-12-01T05:00:00.123Z" into buf (at least TR_ISO8601_LEN bytes). */
void tr_iso8601(const struct timespec *ts, char *buf);
void tr_iso8601_now(char *buf);

/* CLOCK_MONOTONIC in milliseconds. */
int64_t tr_monotonic_ms(void);

/*
 * Parse a duration like timeout(1): a non-negative decimal number with an
 * optional suffix s, m, h or d ("10", "1.5s", "2m"). Result in milliseconds.
 * 0, or -1 with errno EINVAL.
 */
int tr_parse_duration(const char *s, int64_t *ms);

/* Human form of a duration: "850ms", "12.3s", "4m05s", "2h03m". */
void tr_format_duration(int64_t ms, char *buf, size_t n);

#endif
