/* A command's argv shown to people (as a shell would quote it) and kept in JSON. */
#ifndef TASKRUN_ARGV_H
#define TASKRUN_ARGV_H

#include <stddef.h>
#include <json-c/json.h>

/* "make -j8 'a b'": argv as a shell would show it, valid UTF-8, at most max bytes; malloc'd. */
char *tr_argv_join(char *const *argv, size_t max);

/* argv as a JSON array of UTF-8 strings. */
json_object *tr_json_argv(char *const *argv);

#endif
