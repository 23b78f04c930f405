/*
 * --events FILE: one JSON object per line (JSON Lines) for each lifecycle
 * event of a run: start, heartbeat, stopped, continued, end. Each line is
 * appended with one write(2) on an O_APPEND descriptor, so lines from several
 * runs sharing the file never interleave on a local filesystem, and each is
 * kept under PIPE_BUF so the same holds for a FIFO. Nothing here prints.
 */
#ifndef TASKRUN_EVENTS_H
#define TASKRUN_EVENTS_H

#include <json-c/json.h>

#include "taskrun/error.h"

#define TR_EVENT_TEXT_MAX 1024 /* bytes of a string field (last_line) in an event */

struct tr_events {
        int fd; /* -1: closed, or given up after an error */
};

int tr_events_open(struct tr_events *ev, const char *path, struct tr_err *e);

/*
 * A new event object: {"event": name, "time": now}; the caller adds fields
 * and passes it to tr_events_emit, which takes it.
 */
json_object *tr_event_new(const char *name);

/* Add a string field cut to TR_EVENT_TEXT_MAX bytes (not inside a UTF-8 character). */
void tr_event_add_text(json_object *ev, const char *key, const char *text);

/* Append ev as one line with one write; frees ev. -1 with e set on failure. */
int tr_events_emit(struct tr_events *ev, json_object *event, struct tr_err *e);

void tr_events_close(struct tr_events *ev);

#endif
