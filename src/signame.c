/* Signals by name: "TERM", "SIGTERM" or "15" in, "SIGTERM" out. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "taskrun/signame.h"

/*
 * The names glibc's sigabbrev_np gives, in a table of our own: that call is
 * glibc's alone (2.32 and later), and taskrun also links against musl.
 */
static const char *const abbrevs[] = {
    [SIGHUP] = "HUP",   [SIGINT] = "INT",       [SIGQUIT] = "QUIT", [SIGILL] = "ILL",
    [SIGTRAP] = "TRAP", [SIGABRT] = "ABRT",     [SIGBUS] = "BUS",   [SIGFPE] = "FPE",
    [SIGKILL] = "KILL", [SIGUSR1] = "USR1",     [SIGSEGV] = "SEGV", [SIGUSR2] = "USR2",
    [SIGPIPE] = "PIPE", [SIGALRM] = "ALRM",     [SIGTERM] = "TERM", [SIGSTKFLT] = "STKFLT",
    [SIGCHLD] = "CHLD", [SIGCONT] = "CONT",     [SIGSTOP] = "STOP", [SIGTSTP] = "TSTP",
    [SIGTTIN] = "TTIN", [SIGTTOU] = "TTOU",     [SIGURG] = "URG",   [SIGXCPU] = "XCPU",
    [SIGXFSZ] = "XFSZ", [SIGVTALRM] = "VTALRM", [SIGPROF] = "PROF", [SIGWINCH] = "WINCH",
    [SIGPOLL] = "POLL", [SIGPWR] = "PWR",       [SIGSYS] = "SYS",
};

static const char *abbrev_of(int sig)
{
        return sig > 0 && (size_t)sig < sizeof abbrevs / sizeof *abbrevs ? abbrevs[sig] : NULL;
}

/* "TERM", "SIGTERM" or "15". */
int tr_parse_signal(const char *s)
{
        char *end;
        long n = strtol(s, &end, 10);

        if (*s != '\0' && *end == '\0')
                return n > 0 && n < NSIG ? (int)n : -1;
        if (strncasecmp(s, "SIG", 3) == 0)
                s += 3;
        for (int sig = 1; sig < NSIG; sig++) {
                const char *abbrev = abbrev_of(sig);
                if (abbrev != NULL && strcasecmp(s, abbrev) == 0)
                        return sig;
        }
        return -1;
}

int tr_signal_name(int sig, char *buf, size_t n)
{
        const char *abbrev = abbrev_of(sig);

        if (abbrev != NULL)
                snprintf(buf, n, "SIG%s", abbrev);
        else
                snprintf(buf, n, "signal %d", sig);
        return abbrev != NULL;
}
