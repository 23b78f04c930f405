/* Header and footer lines of a detached run's log (see run_log.h). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "taskrun/atomic.h"
#include "taskrun/signame.h"
#include "run_log.h"

/* One line, written whole; a log that cannot take it loses only the frame. */
static void put_line(int fd, const char *line)
{
        tr_write_all(fd, line, strlen(line));
}

/*
 * A frame line after output starts a line of its own: output that did not end
 * with a newline gets one first. A log that cannot be read back (a FIFO)
 * gets none.
 */
static void put_frame(int fd, const char *line)
{
        off_t end = lseek(fd, 0, SEEK_END);
        char last;

        if (end > 0 && pread(fd, &last, 1, end - 1) == 1 && last != '\n')
                put_line(fd, "\n");
        put_line(fd, line);
}

void tr_log_header(int fd, const struct tr_run_info *in)
{
        char *cmd = tr_argv_join(in->argv, 4096), *line;
        size_t n = strlen(in->cwd) + (cmd ? strlen(cmd) : 0) + TR_ISO8601_LEN + 32;

        if ((line = malloc(n)) != NULL) {
                snprintf(line, n, "[started at %s in %s: %s]\n", in->started_at, in->cwd,
                         cmd ? cmd : in->argv[0]);
                put_line(fd, line);
        }
        free(line);
        free(cmd);
}

/* "signal 15 (SIGTERM)", or "signal 34" for one without a name. */
static void describe_signal(int sig, char *buf, size_t n)
{
        char name[32];

        if (tr_signal_name(sig, name, sizeof name))
                snprintf(buf, n, "signal %d (%s)", sig, name);
        else
                snprintf(buf, n, "%s", name);
}

void tr_log_outcome(const struct tr_run_end *end, char *buf, size_t n)
{
        char took[32], quiet[32], sig[48], how[96], by[64] = "";

        tr_format_duration(end->duration_ms, took, sizeof took);
        tr_format_duration(end->stall_timeout_ms, quiet, sizeof quiet);
        if (end->between_attempts) /* the last attempt's duration would mislead */
                snprintf(took, sizeof took, "%s", "while waiting to retry");
        describe_signal(end->signal, sig, sizeof sig);
        if (end->exec_errno != 0) {
                snprintf(buf, n, "could not run the command: %s", strerror(end->exec_errno));
                return;
        }
        if (end->signal != 0)
                snprintf(how, sizeof how, "killed by %s", sig);
        else
                snprintf(how, sizeof how, "exited with status %d", end->exit_code);
        if (end->kill_signal != 0)
                snprintf(by, sizeof by, ", ended by taskrun kill from pid %d", (int)end->kill_pid);
        if (end->timed_out)
                snprintf(buf, n, "timed out after %s; %s%s", took, how, by);
        else if (end->stalled)
                snprintf(buf, n, "stalled after %s (no output for %s); %s", took, quiet, how);
        else
                snprintf(buf, n, "%s%s%s%s", how, end->between_attempts ? " " : " after ", took,
                         by);
}

void tr_log_footer(int fd, const struct tr_run_end *end)
{
        char outcome[256], line[272];

        tr_log_outcome(end, outcome, sizeof outcome);
        snprintf(line, sizeof line, "[%s]\n", outcome);
        put_frame(fd, line);
}

void tr_log_retry_line(int attempt, int of, const struct tr_run_end *end, int64_t delay_ms,
                       char *buf, size_t n)
{
        char outcome[256], wait[32];

        tr_log_outcome(end, outcome, sizeof outcome);
        tr_format_duration(delay_ms, wait, sizeof wait);
        snprintf(buf, n, "attempt %d of %d: %s; retrying in %s", attempt, of, outcome, wait);
}

void tr_log_retry(int fd, const char *line)
{
        char framed[512];

        snprintf(framed, sizeof framed, "[%s]\n", line);
        put_frame(fd, framed);
}
