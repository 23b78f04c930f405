/* taskrun's own messages on stderr. Only the command line prints; library code hands errors back.
 */
#ifndef TASKRUN_WARN_H
#define TASKRUN_WARN_H

#include "taskrun/error.h"

/* "taskrun: " + message + newline on stderr. */
void tr_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* An error handed back by the library: "taskrun: message" (the run form's). */
void tr_warn_err(const struct tr_err *e);
/* The same in a command: "taskrun: CMD: message". */
void tr_cmd_warn(const char *cmd, const struct tr_err *e);

#endif
