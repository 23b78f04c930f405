/* taskrun's own messages on stderr. Only the command line prints; library code hands errors back.
 */
#ifndef TASKRUN_WARN_H
#define TASKRUN_WARN_H

#include "taskrun/error.h"

/* "taskrun: " + message + newline on stderr. */
void tr_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Print an error struct the same way. */
void tr_warn_err(const struct tr_err *e);

#endif
