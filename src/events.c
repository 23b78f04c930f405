/* --events FILE: lifecycle events as JSON Lines, each appended with a single write. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "taskrun/procinfo.h"
#include "taskrun/utf8.h"
#include "events.h"

int tr_events_open(struct tr_events *ev, const char *path, struct tr_err *e)
{
        ev->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0644);
        if (ev->fd == -1)
                return tr_err_sys(e, errno, "--events: %s", path);
        return 0;
}

json_object *tr_event_new(const char *name)
{
        json_object *o = json_object_new_object();
        char now[TR_ISO8601_LEN];

        tr_iso8601_now(now);
        json_object_object_add(o, "event", json_object_new_string(name));
        json_object_object_add(o, "time", json_object_new_string(now));
        return o;
}

void tr_event_add_text(json_object *ev, const char *key, const char *text)
{
        size_t n = text ? strlen(text) : 0;

        if (text == NULL) {
                json_object_object_add(ev, key, NULL);
                return;
        }
        if (n > TR_EVENT_TEXT_MAX) {
                n = TR_EVENT_TEXT_MAX;
                while (n > 0 && ((unsigned char)text[n] & 0xc0) == 0x80)
                        n--; /* text[n] would start the cut-off part: cut before it */
        }
        char *cut = strndup(text, n);
        json_object_object_add(ev, key, cut ? tr_json_utf8(cut) : NULL);
        free(cut);
}

int tr_events_emit(struct tr_events *ev, json_object *event, struct tr_err *e)
{
        const char *text;
        char *line;
        size_t len;
        ssize_t w;

        if (ev->fd == -1) {
                json_object_put(event);
                return 0;
        }
        text = json_object_to_json_string_ext(event, JSON_C_TO_STRING_PLAIN |
                                                         JSON_C_TO_STRING_NOSLASHESCAPE);
        len = strlen(text);
        line = malloc(len + 1);
        if (line == NULL) {
                json_object_put(event);
                return tr_err_sys(e, ENOMEM, "--events");
        }
        memcpy(line, text, len);
        line[len++] = '\n';
        json_object_put(event);
        /* One write: a short one would leave half a line for others to append after. */
        do
                w = write(ev->fd, line, len);
        while (w == -1 && errno == EINTR);
        free(line);
        if (w == (ssize_t)len)
                return 0;
        return tr_err_sys(e, w == -1 ? errno : EIO, "--events");
}

void tr_events_close(struct tr_events *ev)
{
        if (ev->fd != -1)
                close(ev->fd);
        ev->fd = -1;
}
