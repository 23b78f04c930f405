#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "taskrun/error.h"

/* The one formatter behind tr_err_set and tr_err_sys. */
static void err_vset(struct tr_err *e, int errnum, const char *fmt, va_list ap)
{
        e->errnum = errnum;
        vsnprintf(e->msg, sizeof e->msg, fmt, ap);
}

int tr_err_set(struct tr_err *e, int errnum, const char *fmt, ...)
{
        va_list ap;

        if (e == NULL)
                return -1;
        va_start(ap, fmt);
        err_vset(e, errnum, fmt, ap);
        va_end(ap);
        return -1;
}

int tr_err_sys(struct tr_err *e, int errnum, const char *fmt, ...)
{
        va_list ap;
        size_t len;

        if (e == NULL)
                return -1;
        va_start(ap, fmt);
        err_vset(e, errnum, fmt, ap);
        va_end(ap);
        len = strlen(e->msg);
        snprintf(e->msg + len, sizeof e->msg - len, ": %s", strerror(errnum));
        return -1;
}
