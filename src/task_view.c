/* Reading taskrun's fields out of a task: its block, whether it is done, text for display. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "task_view.h"
#include "taskrun/clock.h"
#include "taskrun/duration.h"
#include "report.h"
#include "taskrun/utf8.h"

json_object *tr_task_block(json_object *task, enum tr_schema schema)
{
        json_object *meta, *block;

        if (schema == TR_SCHEMA_PLAIN)
                return task;
        if (!json_object_object_get_ex(task, "metadata", &meta) ||
            !json_object_object_get_ex(meta, "taskrun", &block) ||
            !json_object_is_type(block, json_type_object))
                return NULL;
        return block;
}

const char *tr_json_str(json_object *obj, const char *key)
{
        json_object *v;

        if (obj == NULL || !json_object_object_get_ex(obj, key, &v) ||
            !json_object_is_type(v, json_type_string))
                return NULL;
        return json_object_get_string(v);
}

int tr_json_int(json_object *obj, const char *key, int64_t *out)
{
        json_object *v;

        if (obj == NULL || !json_object_object_get_ex(obj, key, &v) ||
            !json_object_is_type(v, json_type_int))
                return -1;
        *out = json_object_get_int64(v);
        return 0;
}

/* A state in which a run ended without success. */
static int is_failed_state(const char *state)
{
        static const char *const failed[] = {"failed", "timed_out", "stalled",
                                             "killed", "skipped",   NULL};

        for (int i = 0; failed[i] != NULL; i++)
                if (strcmp(state, failed[i]) == 0)
                        return 1;
        return 0;
}

enum tr_done tr_task_done(json_object *task, enum tr_schema schema, const char **word)
{
        const char *status = tr_json_str(task, "status");
        const char *state = tr_json_str(tr_task_block(task, schema), "state");

        /* A person or agent who sets the status has the last word over an old run's state. */
        if (status != NULL && strcmp(status, "completed") == 0) {
                *word = status;
                return TR_DONE_OK;
        }
        if (schema == TR_SCHEMA_PLAIN && status != NULL && strcmp(status, "failed") == 0) {
                *word = status;
                return TR_DONE_FAILED;
        }
        if (state == NULL)
                return TR_NOT_DONE;
        *word = state;
        if (strcmp(state, "completed") == 0)
                return TR_DONE_OK;
        if (strcmp(state, "lost") == 0)
                return TR_DONE_LOST;
        return is_failed_state(state) ? TR_DONE_FAILED : TR_NOT_DONE;
}

char *tr_task_command(json_object *block, size_t max)
{
        json_object *argv;
        char **v, *line;
        size_t n;

        if (block == NULL || !json_object_object_get_ex(block, "argv", &argv) ||
            !json_object_is_type(argv, json_type_array) ||
            (n = json_object_array_length(argv)) == 0 || (v = calloc(n + 1, sizeof *v)) == NULL)
                return NULL;
        for (size_t i = 0; i < n; i++) {
                const char *arg = json_object_get_string(json_object_array_get_idx(argv, i));
                v[i] = (char *)(arg ? arg : "");
        }
        line = tr_argv_join(v, max);
        free(v);
        return line;
}

void tr_task_duration(json_object *block, char *buf, size_t n)
{
        const char *state = tr_json_str(block, "state");
        int64_t ms, started;

        if (tr_json_int(block, "duration_ms", &ms) == 0 && ms >= 0) {
                tr_format_duration(ms, buf, n);
        } else if (state != NULL && strcmp(state, "running") == 0 &&
                   (started = tr_iso8601_parse(tr_json_str(block, "started_at"))) >= 0) {
                ms = tr_realtime_ms() - started;
                tr_format_duration(ms > 0 ? ms : 0, buf, n);
        } else {
                snprintf(buf, n, "-");
        }
}

/* Bytes of the UTF-8 character starting at s (1 for a stray continuation byte). */
static size_t utf8_len(const char *s)
{
        unsigned char c = (unsigned char)*s;
        size_t len = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;

        for (size_t i = 1; i < len; i++)
                if (((unsigned char)s[i] & 0xc0) != 0x80)
                        return i;
        return len;
}

void tr_oneline(const char *in, size_t max, char *out, size_t n)
{
        size_t used = 0, chars = 0, keep;

        while (in != NULL && (*in == ' ' || *in == '\t' || *in == '\n' || *in == '\r'))
                in++;
        if (in == NULL || *in == '\0' || n < 4) {
                snprintf(out, n, "-");
                return;
        }
        keep = tr_utf8_chars(in) > max && max > 3 ? max - 3 : max;
        for (; *in && chars < keep; chars++) {
                size_t len = utf8_len(in);
                if (used + len + 4 > n)
                        break;
                for (size_t i = 0; i < len; i++, in++) {
                        unsigned char c = (unsigned char)*in;
                        out[used++] = c < 0x20 || c == 0x7f ? ' ' : (char)c;
                }
        }
        while (used > 0 && out[used - 1] == ' ')
                used--;
        if (*in != '\0') {
                memcpy(out + used, "...", 3);
                used += 3;
        }
        out[used] = '\0';
}
