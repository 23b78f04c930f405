/*
 * A queue of runs on this host (--slots N): first come first served, at most
 * N at once, with no daemon. A queue is a directory in the runtime directory:
 *   ticket   a counter, taken under flock(2): the order of arrival
 *   w.T      a FIFO per run in line, its read end held open by that run
 *   slot.I   a FIFO per slot, its read end held open and flock(2)ed by the run
 *            that holds the slot
 * A run waits for the run just ahead of it to leave the line, and the first
 * in line for a slot to be freed, each by holding the write end of that FIFO:
 * it reports an error (POLLERR) the moment the last reader is gone, whether
 * it left or died. So only the run that can move wakes, and nothing polls.
 */
#ifndef TASKRUN_QUEUE_H
#define TASKRUN_QUEUE_H

#include <limits.h>
#include <json-c/json.h>

#include "taskrun/error.h"

#define TR_QUEUE_SLOTS_MAX 256

struct tr_queue {
        char dir[PATH_MAX];
        int slots;
        unsigned long long ticket;    /* our place in line; 0 before tr_queue_join */
        int place_fd;                 /* read end of our FIFO w.T while in line; -1 */
        int ahead_fd;                 /* write end of the FIFO of the run just ahead; -1 */
        int slot_fd;                  /* the slot held: read end of slot.I, flock(2)ed; -1 */
        int busy[TR_QUEUE_SLOTS_MAX]; /* first in line: write ends of the busy slots */
        int n_busy;
};

/* The queue named by key ("list:DIR", "name:NAME"); its directory is made. */
int tr_queue_open(struct tr_queue *q, const char *key, int slots, struct tr_err *e);
/* Take a ticket and a place in line. */
int tr_queue_join(struct tr_queue *q, struct tr_err *e);
/*
 * 1: a run is ahead, and q->ahead_fd turns readable (an error) once it leaves
 * the line; 0: we are first; -1: error. Dead runs' places are removed.
 */
int tr_queue_find_ahead(struct tr_queue *q, struct tr_err *e);
/*
 * First in line: 1 a slot is ours (q->slot_fd); 0 every slot is busy, and
 * each of q->busy[0..n_busy) turns readable once its slot is freed; -1 error.
 */
int tr_queue_take(struct tr_queue *q, struct tr_err *e);
/* Leave the line (the run behind wakes); a slot taken stays held. */
void tr_queue_leave(struct tr_queue *q);
/* Leave the line and give back the slot (the first in line wakes). */
void tr_queue_release(struct tr_queue *q);

/*
 * A queued record (metadata.taskrun, in memory) gets "position", its place in
 * line as it is now (1 = next); nothing when it is no longer in line.
 */
void tr_queue_annotate(json_object *block);

#endif
