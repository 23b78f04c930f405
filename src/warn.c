/* taskrun's own messages: one line on stderr, "taskrun: " first. */
#include <stdarg.h>
#include <stdio.h>

#include "warn.h"

void tr_warnx(const char *fmt, ...)
{
        va_list ap;

        fputs("taskrun: ", stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
}

void tr_warn_err(const struct tr_err *e)
{
        tr_warnx("%s", e->msg);
}

void tr_cmd_warn(const char *cmd, const struct tr_err *e)
{
        tr_warnx("%s: %s", cmd, e->msg);
}
