/*
 * Locks compatible with Claude Code's proper-lockfile: a lock on FILE is the
 * directory FILE.lock made with mkdir(2). Its mtime says the holder is alive;
 * one older than TR_LOCK_STALE_MS may be taken over. On top, taskrun processes
 * serialise among themselves with flock(2) on the directory holding FILE, so
 * they queue in the kernel instead of polling each other.
 */
#ifndef TASKRUN_LOCK_H
#define TASKRUN_LOCK_H

#include <signal.h>

#include "taskrun/error.h"

#define TR_LOCK_STALE_MS 10000
#define TR_LOCK_TIMEOUT_MS 30000

struct tr_lock {
        char path[4096]; /* the lock directory, FILE.lock */
        int dirfd;       /* flock(2)ed directory of FILE; -1 when not held */
        sigset_t saved;  /* signal mask to restore on release */
        int held;
        int flags;
};

enum {
        /* The directory is a task list or taskrun's own: keep a released
         * lock directory there as TR_LOCK_SPARE_NAME, and take the next lock
         * by renaming it into place (see lock.c). */
        TR_LOCK_SPARE = 1,
};

#define TR_LOCK_SPARE_NAME ".taskrun.lockdir"

/*
 * Take the lock on file (which need not exist). Catchable signals are blocked
 * while it is held, not while waiting for it, so that no handler can leave
 * the lock directory behind.
 * timeout_ms < 0 means TR_LOCK_TIMEOUT_MS. On timeout: errno ETIMEDOUT.
 * flags: TR_LOCK_SPARE or 0.
 */
int tr_lock_acquire(struct tr_lock *l, const char *file, int timeout_ms, int flags,
                    struct tr_err *e);

/* Refresh the lock directory's mtime; call during long critical sections. */
int tr_lock_refresh(struct tr_lock *l);

/* Release; safe to call on a lock that is not held. */
void tr_lock_release(struct tr_lock *l);

/* How old the lock directory is in ms, or -1 if there is none. For tests and reap. */
long tr_lock_age_ms(const char *lockdir);

#endif
