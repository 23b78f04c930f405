/* Host, process and clock facts, and durations in and out. */
#include <criterion/criterion.h>
#include <errno.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "helpers.h"
#include "taskrun/procinfo.h"

static void read_line(const char *path, char *buf, size_t n)
{
        FILE *f = fopen(path, "r");

        cr_assert_not_null(f, "%s: %s", path, strerror(errno));
        cr_assert_not_null(fgets(buf, (int)n, f));
        fclose(f);
        buf[strcspn(buf, "\n")] = '\0';
}

/*
 * starttime parsed a second, simpler way: a scanf pattern that only works for
 * command names without ')', which is true of this test's own processes.
 */
static unsigned long long start_ticks_by_scanf(pid_t pid)
{
        char path[64], line[4096];
        unsigned long long ticks;

        snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
        read_line(path, line, sizeof line);
        cr_assert_eq(sscanf(line,
                            "%*d (%*[^)]) %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u"
                            " %*d %*d %*d %*d %*d %*d %llu",
                            &ticks),
                     1, "unparsable: %s", line);
        return ticks;
}

static pid_t fork_paused_child(void)
{
        pid_t pid = fork();

        cr_assert_geq(pid, 0);
        if (pid == 0) {
                prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive a failed test */
                pause();
                _exit(0);
        }
        return pid;
}

static void kill_and_reap(pid_t pid)
{
        kill(pid, SIGKILL);
        cr_assert_eq(th_reap(pid, 10000), 128 + SIGKILL);
}

Test(procinfo, boot_id_is_36_chars_matching_proc)
{
        char id[64], expected[64];

        cr_assert_eq(tr_boot_id(id, sizeof id), 0);
        read_line("/proc/sys/kernel/random/boot_id", expected, sizeof expected);
        cr_assert_eq(strlen(id), 36);
        cr_assert_str_eq(id, expected);
}

Test(procinfo, boot_id_too_small_buffer_is_erange)
{
        char id[36];

        cr_assert_eq(tr_boot_id(id, sizeof id), -1);
        cr_assert_eq(errno, ERANGE);
}

Test(procinfo, hostname_matches_uname)
{
        struct utsname u;
        char name[256];

        cr_assert_eq(uname(&u), 0);
        cr_assert_eq(tr_hostname(name, sizeof name), 0);
        cr_assert_str_eq(name, u.nodename);
}

Test(procinfo, hostname_is_terminated_even_when_truncated)
{
        char name[2];

        memset(name, 'x', sizeof name);
        tr_hostname(name, sizeof name);
        cr_assert_eq(name[1], '\0');
}

Test(procinfo, start_ticks_of_self_match_independent_parse)
{
        unsigned long long ticks;

        cr_assert_eq(tr_proc_start_ticks(getpid(), &ticks), 0);
        cr_assert_eq(ticks, start_ticks_by_scanf(getpid()));
}

Test(procinfo, start_ticks_cope_with_paren_and_space_in_name)
{
        static const char odd[] = "a) b) (c";
        unsigned long long before, after;
        char comm[64];

        cr_assert_eq(tr_proc_start_ticks(getpid(), &before), 0);
        cr_assert_eq(prctl(PR_SET_NAME, odd), 0);
        read_line("/proc/self/comm", comm, sizeof comm);
        cr_assert_str_eq(comm, odd, "rename did not reach /proc/self/stat");
        cr_assert_eq(tr_proc_start_ticks(getpid(), &after), 0);
        cr_assert_eq(after, before);
}

Test(procinfo, start_ticks_of_forked_child_differ)
{
        unsigned long long self, child, expected;
        pid_t pid;

        /* Ticks are 1/100 s or coarser: make sure the child starts on a later one. */
        usleep(50 * 1000);
        pid = fork_paused_child();
        cr_assert_eq(tr_proc_start_ticks(getpid(), &self), 0);
        cr_assert_eq(tr_proc_start_ticks(pid, &child), 0);
        expected = start_ticks_by_scanf(pid);
        kill_and_reap(pid);
        cr_assert_eq(child, expected);
        cr_assert_gt(child, self);
}

Test(procinfo, start_ticks_of_dead_pid_is_enoent)
{
        unsigned long long ticks;
        pid_t pid = fork_paused_child();

        kill_and_reap(pid);
        errno = 0;
        cr_assert_eq(tr_proc_start_ticks(pid, &ticks), -1);
        cr_assert_eq(errno, ENOENT);
        errno = 0;
        cr_assert_eq(tr_proc_start_ticks(0, &ticks), -1);
        cr_assert_eq(errno, ENOENT);
}

Test(procinfo, iso8601_now_has_utc_millisecond_shape)
{
        regex_t re;
        char buf[TR_ISO8601_LEN];

        cr_assert_eq(regcomp(&re,
                             "^[0-9]{4}-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9]"
                             "\\.[0-9]{3}Z$",
                             REG_EXTENDED | REG_NOSUB),
                     0);
        tr_iso8601_now(buf);
        cr_assert_eq(regexec(&re, buf, 0, NULL, 0), 0, "bad shape: %s", buf);
        regfree(&re);
}

Test(procinfo, iso8601_formats_known_times)
{
        static const struct {
                struct timespec ts;
                const char *text;
        } cases[] = {
            {{0, 123000000}, "1970-01-01T00:00:00.123Z"},
            {{1796101200, 999999999}, "2026-12-01T05:00:00.999Z"}, /* truncated, not rounded */
            {{951868799, 5000000}, "2000-02-29T23:59:59.005Z"},
            {{-1, 0}, "1969-12-31T23:59:59.000Z"},
            {{4107542400, 0}, "2100-03-01T00:00:00.000Z"}, /* 2100 is no leap year */
            {{253402300799, 0}, "9999-12-31T23:59:59.000Z"},
        };
        char buf[TR_ISO8601_LEN];

        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                tr_iso8601(&cases[i].ts, buf);
                cr_expect_str_eq(buf, cases[i].text);
        }
}

/* Reading a stamp back agrees with timegm over four centuries. */
Test(procinfo, iso8601_parse_agrees_with_timegm)
{
        char buf[TR_ISO8601_LEN];

        for (time_t t = -2208988800LL; t < 10413792000LL; t += 86400 * 3 + 3607) {
                struct timespec ts = {t, 250000000};
                tr_iso8601(&ts, buf);
                cr_assert_eq(tr_iso8601_parse(buf), (int64_t)t * 1000 + 250, "%s", buf);
        }
        cr_expect_eq(tr_iso8601_parse("2026-13-01T00:00:00Z"), -1);
        cr_expect_eq(tr_iso8601_parse("2026-12-01T24:00:00Z"), -1);
        cr_expect_eq(tr_iso8601_parse("2026-12-01T05:00:00"), -1, "no Z, no UTC");
}

/* The hand-made calendar agrees with the C library's over four centuries. */
Test(procinfo, iso8601_agrees_with_gmtime_day_by_day)
{
        char buf[TR_ISO8601_LEN], want[TR_ISO8601_LEN];

        for (time_t t = -2208988800LL; t < 10413792000LL; t += 86400 + 3607) {
                struct timespec ts = {t, 0};
                struct tm tm;
                cr_assert_not_null(gmtime_r(&t, &tm));
                strftime(want, sizeof want, "%Y-%m-%dT%H:%M:%S.000Z", &tm);
                tr_iso8601(&ts, buf);
                cr_assert_str_eq(buf, want, "at %lld", (long long)t);
        }
}

Test(procinfo, iso8601_now_round_trips_to_current_time)
{
        char buf[TR_ISO8601_LEN];
        struct tm tm = {0};
        time_t before = time(NULL), parsed;

        tr_iso8601_now(buf);
        cr_assert_str_eq(strptime(buf, "%Y-%m-%dT%H:%M:%S", &tm), buf + 19);
        parsed = timegm(&tm);
        cr_assert(parsed >= before && parsed <= time(NULL), "%s is not now", buf);
}

Test(procinfo, monotonic_ms_advances_with_sleep)
{
        int64_t start = tr_monotonic_ms(), elapsed;

        usleep(30 * 1000);
        elapsed = tr_monotonic_ms() - start;
        cr_assert_geq(elapsed, 30);
        cr_assert_lt(elapsed, 10000);
}

Test(duration, parse_accepts_numbers_with_units)
{
        static const struct {
                const char *text;
                int64_t ms;
        } cases[] = {
            {"10", 10000},    {"1.5s", 1500}, {"2m", 120000},    {"1h", 3600000},
            {"1d", 86400000}, {"0", 0},       {"0.25m", 15000},  {".5", 500},
            {"3.", 3000},     {"0.0005s", 1}, {"1.00049", 1000},
        };

        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                int64_t ms = -1;

                cr_expect_eq(tr_parse_duration(cases[i].text, &ms), 0, "rejected \"%s\"",
                             cases[i].text);
                cr_expect_eq(ms, cases[i].ms, "\"%s\" gave %lld", cases[i].text, (long long)ms);
        }
}

Test(duration, parse_rejects_malformed_and_negative)
{
        static const char *bad[] = {"", "-1", "abc", "5x", "1e999", " 1", "1 ", ".", "1..2", "inf",
                                    "nan", "+1", "1ss", "1s2", "0x10",
                                    /* more milliseconds than int64_t holds */
                                    "99999999999999999999", "18446744073709551617",
                                    "9223372036854775807", "200000000000d"};

        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
                int64_t ms = 7;

                errno = 0;
                cr_expect_eq(tr_parse_duration(bad[i], &ms), -1, "accepted \"%s\"", bad[i]);
                cr_expect_eq(errno, EINVAL, "\"%s\"", bad[i]);
                cr_expect_eq(ms, 7, "\"%s\" wrote a result", bad[i]);
        }
}

Test(duration, format_uses_two_units_at_most)
{
        static const struct {
                int64_t ms;
                const char *text;
        } cases[] = {
            {0, "0ms"},          {850, "850ms"},     {999, "999ms"},     {1000, "1.0s"},
            {12345, "12.3s"},    {59999, "59.9s"},   {60000, "1m00s"},   {245000, "4m05s"},
            {3599999, "59m59s"}, {3600000, "1h00m"}, {7380000, "2h03m"}, {90000000, "1d01h"},
            {-1500, "-1.5s"},
        };
        char buf[32];

        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                tr_format_duration(cases[i].ms, buf, sizeof buf);
                cr_expect_str_eq(buf, cases[i].text);
        }
}

Test(duration, format_truncates_to_buffer)
{
        char buf[4];

        tr_format_duration(12345, buf, sizeof buf);
        cr_assert_str_eq(buf, "12.");
        tr_format_duration(INT64_MIN, buf, sizeof buf);
        cr_assert_str_eq(buf, "-10");
}
