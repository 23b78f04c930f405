/*
 * The run archive (archive.c): taskrun's own record of each run that ended,
 * kept in its state directory because a task file does not last. Claude Code
 * deletes every task file of a list a few seconds after all its tasks are
 * completed, and agents and people delete tasks; `wait`, `show`, `logs` and
 * `hook` then read the run here.
 *
 * <state dir>/runs/<list key>/<run key>.<id>.json holds the task as its run
 * left it; <run key>.<id>.log is a hard link to a detached run's log. The run
 * key is the run's start time and its supervisor's pid, so a later run of a
 * task with the same list and id is never taken for this one, and names sort
 * oldest first.
 */
#ifndef TASKRUN_ARCHIVE_H
#define TASKRUN_ARCHIVE_H

#include <stddef.h>
#include <stdint.h>

#include "taskrun/store.h"

/* Records kept per list: a write beyond this many removes the oldest. */
#define TR_ARCHIVE_KEEP 100

/* <state dir>/runs/<list key>: the list's name (or its directory's) and a hash of its path. */
int tr_archive_dir(const struct tr_store *s, char *buf, size_t n, struct tr_err *e);

/* <state dir>/runs, where every list's archive directory is. */
int tr_archive_root(char *buf, size_t n, struct tr_err *e);

/*
 * Keep task (the final record of run id of list s) in the archive, with a
 * hard link to its log if it has one; then remove the list's records beyond
 * TR_ARCHIVE_KEEP, the last one removed kept as the spare file the next
 * record is written into. The record is written atomically (temp file,
 * rename) but not fsynced: the task file already holds the result durably,
 * and a record torn by a power loss reads as absent. 0, or -1 with e set.
 */
int tr_archive_put(const struct tr_store *s, const char *id, json_object *task, struct tr_err *e);

/* List s's archive directory, made if need be: its path in dir. 0, or -1 with e set. */
int tr_archive_open(const struct tr_store *s, char *dir, size_t n, struct tr_err *e);

/* tr_archive_put into dir, which tr_archive_open gave. */
int tr_archive_put_in(const struct tr_store *s, const char *dir, const char *id, json_object *task,
                      struct tr_err *e);

/* One archived run, as tr_archive_find and tr_archive_each give it. */
struct tr_archived {
        json_object *task; /* the task as its run left it (owned) */
        char path[PATH_MAX];
        char id[TR_ID_MAX];
        int64_t mtime_ns; /* when it was archived */
};

/*
 * The archived run of task id: with started_at, the run that started then or,
 * if that one was not archived, a later one; without, the newest. 1 found
 * (a->task to put), 0 none, -1 error (e set).
 */
int tr_archive_find(const struct tr_store *s, const char *id, const char *started_at,
                    struct tr_archived *a, struct tr_err *e);

/*
 * Call fn for each record of list s archived at or after since_ns and before
 * until_ns (mtime, nanoseconds since the epoch), oldest first. fn owns
 * nothing; a record that does not parse is skipped. 0, or -1 with e set (a
 * missing archive directory is no error).
 */
int tr_archive_each(const struct tr_store *s, int64_t since_ns, int64_t until_ns,
                    void (*fn)(const struct tr_archived *a, void *arg), void *arg,
                    struct tr_err *e);

/*
 * Remove the records of one archive directory (and their logs) beyond the
 * newest keep, and those archived more than older_than_ms ago (< 0: no age
 * limit). With dry_run only count. Returns how many records, or -1 (e set).
 */
int tr_archive_prune(const char *dir, size_t keep, int64_t older_than_ms, int dry_run,
                     struct tr_err *e);

#endif
