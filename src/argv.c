/* A command's argv shown to people (as a shell would quote it) and kept in JSON. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "taskrun/argv.h"
#include "taskrun/utf8.h"

/*
 * An empty word or one with a blank or shell metacharacter is quoted, so the
 * line pastes back into a shell.
 */
static int needs_quotes(const char *s)
{
        return *s == '\0' || s[strcspn(s, " \t\n'\"\\$`!*?[]{}()<>|&;#~")] != '\0';
}

char *tr_argv_join(char *const *argv, size_t max)
{
        size_t len = 1, used = 0;
        char *line, *out;

        for (size_t i = 0; argv[i] != NULL; i++)
                len += strlen(argv[i]) + 3;
        if ((line = malloc(len)) == NULL)
                return NULL;
        for (size_t i = 0; argv[i] != NULL; i++) {
                int q = needs_quotes(argv[i]);
                used += (size_t)sprintf(line + used, "%s%s%s%s", i ? " " : "", q ? "'" : "",
                                        argv[i], q ? "'" : "");
        }
        /* Arguments are bytes; JSON wants UTF-8 and a cut between characters. */
        out = tr_utf8_clean(line, max);
        free(line);
        return out;
}

json_object *tr_json_argv(char *const *argv)
{
        json_object *a = json_object_new_array();

        for (size_t i = 0; argv[i] != NULL; i++)
                json_object_array_add(a, tr_json_utf8(argv[i]));
        return a;
}
