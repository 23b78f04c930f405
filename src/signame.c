/* Signals by name: "TERM", "SIGTERM" or "15" in, "SIGTERM" out. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "taskrun/signame.h"

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
                const char *abbrev = sigabbrev_np(sig);
                if (abbrev != NULL && strcasecmp(s, abbrev) == 0)
                        return sig;
        }
        return -1;
}

int tr_signal_name(int sig, char *buf, size_t n)
{
        const char *abbrev = sigabbrev_np(sig);

        if (abbrev != NULL)
                snprintf(buf, n, "SIG%s", abbrev);
        else
                snprintf(buf, n, "signal %d", sig);
        return abbrev != NULL;
}
