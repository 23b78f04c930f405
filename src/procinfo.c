/* Facts about this host, processes and clocks, read from /proc and the kernel. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "taskrun/procinfo.h"

#define BOOT_ID_PATH "/proc/sys/kernel/random/boot_id"

/* Reads up to n - 1 bytes of a small file into buf and terminates them. */
static ssize_t read_small_file(const char *path, char *buf, size_t n)
{
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        ssize_t got;
        int saved;

        if (fd < 0)
                return -1;
        do
                got = read(fd, buf, n - 1);
        while (got < 0 && errno == EINTR);
        saved = errno;
        close(fd);
        errno = saved;
        if (got >= 0)
                buf[got] = '\0';
        return got;
}

int tr_boot_id(char *buf, size_t n)
{
        char id[128];
        ssize_t got = read_small_file(BOOT_ID_PATH, id, sizeof id);
        size_t len;

        if (got < 0)
                return -1;
        len = strcspn(id, "\n");
        if (len == 0) {
                errno = EIO;
                return -1;
        }
        if (len >= n) {
                errno = ERANGE;
                return -1;
        }
        memcpy(buf, id, len);
        buf[len] = '\0';
        return 0;
}

int tr_hostname(char *buf, size_t n)
{
        int rc;

        if (n == 0) {
                errno = EINVAL;
                return -1;
        }
        rc = gethostname(buf, n);
        /* POSIX leaves a truncated name unterminated. */
        buf[n - 1] = '\0';
        return rc;
}

/*
 * The fields after the command name of a /proc/PID/stat line. The name sits
 * in parentheses and may itself hold ')' and spaces, but the kernel prints
 * nothing after it that contains ')', so the last one closes it.
 */
static const char *stat_after_comm(const char *line)
{
        const char *close = strrchr(line, ')');

        return close != NULL && close[1] == ' ' ? close + 2 : NULL;
}

/* Field 3 (state) and field 22 (starttime, in clock ticks after boot) of a /proc/PID/stat line. */
static int parse_stat(const char *line, struct tr_proc_stat *st)
{
        const char *p = stat_after_comm(line);
        char *end;
        int field;

        if (p == NULL || p[0] == '\0' || p[1] != ' ')
                return -1;
        st->state = p[0];
        /* p is at field 3 (state); step over fields 3 to 21. */
        for (field = 3; field < 22; field++) {
                p = strchr(p, ' ');
                if (p == NULL)
                        return -1;
                p++;
        }
        errno = 0;
        st->start_ticks = strtoull(p, &end, 10);
        if (end == p || (*end != ' ' && *end != '\n' && *end != '\0') || errno != 0)
                return -1;
        return 0;
}

int tr_proc_stat(pid_t pid, struct tr_proc_stat *st)
{
        char path[64], line[4096];

        if (pid <= 0) {
                errno = ENOENT;
                return -1;
        }
        snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
        if (read_small_file(path, line, sizeof line) < 0) {
                /* A process that exits between open and read reads as ESRCH. */
                if (errno == ESRCH)
                        errno = ENOENT;
                return -1;
        }
        if (parse_stat(line, st) < 0) {
                errno = EIO;
                return -1;
        }
        return 0;
}

int tr_proc_start_ticks(pid_t pid, unsigned long long *ticks)
{
        struct tr_proc_stat st;

        if (tr_proc_stat(pid, &st) == -1)
                return -1;
        *ticks = st.start_ticks;
        return 0;
}

int tr_proc_is_running(pid_t pid, unsigned long long ticks)
{
        struct tr_proc_stat st;

        return tr_proc_stat(pid, &st) == 0 && (ticks == 0 || st.start_ticks == ticks) &&
               st.state != 'Z' && st.state != 'X';
}

int tr_pidfd_open(pid_t pid)
{
#ifdef SYS_pidfd_open
        return (int)syscall(SYS_pidfd_open, pid, 0);
#else
        (void)pid;
        errno = ENOSYS;
        return -1;
#endif
}

int tr_pidfd_send_signal(int pidfd, int sig, siginfo_t *info)
{
#ifdef SYS_pidfd_send_signal
        return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, info, 0);
#else
        (void)pidfd, (void)sig, (void)info;
        errno = ENOSYS;
        return -1;
#endif
}
