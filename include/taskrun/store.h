/*
 * The task store: where task files live, and reading, merging, creating and
 * updating them safely. The format is described in man/taskrun.1, TASK FILES.
 *
 * Every write happens under the task's lock, changes only the fields asked
 * for, and replaces the file atomically. Nothing here ever truncates a task
 * file in place or overwrites one when creating.
 */
#ifndef TASKRUN_STORE_H
#define TASKRUN_STORE_H

#include <limits.h>
#include <json-c/json.h>

#include "taskrun/error.h"

struct tr_meanwhile; /* taskrun/atomic.h */

#define TR_ID_MAX 128
#define TR_TASK_MAX_BYTES (16 * 1024 * 1024) /* larger task files are refused */

enum tr_schema {
        TR_SCHEMA_CLAUDE, /* a Claude Code task list: status in pending|in_progress|completed */
        TR_SCHEMA_PLAIN,  /* a plain JSON file of the user's: may say "failed" */
};

/* What named the list (tr_store_open's order). */
enum tr_list_source {
        TR_SOURCE_FILE,     /* --file */
        TR_SOURCE_DIR,      /* --dir */
        TR_SOURCE_LIST,     /* --list */
        TR_SOURCE_ENV_LIST, /* $CLAUDE_CODE_TASK_LIST_ID */
        TR_SOURCE_SESSION,  /* $CLAUDE_CODE_SESSION_ID: the Claude session's own list */
        TR_SOURCE_PERSONAL, /* none of those: the personal list in the state directory */
};

/* The personal list's name: <state dir>/tasks/default. */
#define TR_PERSONAL_LIST "default"

struct tr_store {
        char dir[PATH_MAX];   /* directory holding the task files */
        char list[TR_ID_MAX]; /* the list's name; "" for --dir and --file */
        enum tr_list_source source;
        int created; /* tr_store_open made the list directory */
        enum tr_schema schema;
        int follow_symlinks; /* allow a symlinked list dir or task file */
        int lock_timeout_ms; /* < 0: TR_LOCK_TIMEOUT_MS */
};

struct tr_task_ref {
        char id[TR_ID_MAX];
        char path[PATH_MAX];
};

/* Where a list lives: explicit dir, else list name, else the environment. */
struct tr_store_opts {
        const char *dir;  /* --dir */
        const char *list; /* --list, else the environment (tr_store_open) */
        const char *file; /* --file: plain mode on one file */
        int follow_symlinks;
        int lock_timeout_ms;
};

/* $CLAUDE_CONFIG_DIR, else $HOME/.claude (HOME from the password database if unset). */
int tr_claude_config_dir(char *buf, size_t n, struct tr_err *e);

/* taskrun's own state: ${XDG_STATE_HOME:-$HOME/.local/state}/taskrun. */
int tr_state_dir(char *buf, size_t n, struct tr_err *e);

/* The personal list used outside any agent session: <state dir>/tasks/default. */
int tr_personal_list_dir(char *buf, size_t n, struct tr_err *e);

/* buf = dir + "/" + name; -1 with errno ENAMETOOLONG if it does not fit. */
int tr_path_join(char *buf, size_t n, const char *dir, const char *name);

/* 0 if id is a safe task or list name: [A-Za-z0-9_-]+, at most TR_ID_MAX-1 bytes. */
int tr_id_validate(const char *what, const char *id, struct tr_err *e);

/*
 * Resolve and check the list directory (or, with opts->file, the plain file
 * and its directory; then *ref is filled too). create makes a missing list
 * directory (and sets s->created). Order: --file, --dir, --list,
 * $CLAUDE_CODE_TASK_LIST_ID, $CLAUDE_CODE_SESSION_ID, each as tasks/LIST under
 * $CLAUDE_CONFIG_DIR or ~/.claude; else the personal list
 * (tr_personal_list_dir). A variable that is not set is never an error.
 */
int tr_store_open(struct tr_store *s, const struct tr_store_opts *opts, int create,
                  struct tr_task_ref *ref, struct tr_err *e);

/* Fill ref for task id in a list store; validates id. */
int tr_store_ref(const struct tr_store *s, const char *id, struct tr_task_ref *ref,
                 struct tr_err *e);

/* Read and parse a task file; refuses symlinks, non-regular, huge, corrupt, non-object. */
int tr_task_read(const struct tr_store *s, const struct tr_task_ref *ref, json_object **out,
                 struct tr_err *e);

/* Parse task JSON text held in memory (what tr_task_read does after reading). */
json_object *tr_task_parse(const char *text, size_t len, struct tr_err *e);

/* Serialise as Claude does: JSON.stringify(task, null, 2), no trailing newline. */
const char *tr_task_format(json_object *task);

/*
 * Merge patch into task the way Claude's TaskUpdate does: top-level keys are
 * replaced, "metadata" is merged key by key, and so is "metadata.taskrun";
 * a null value deletes the key. Key order of kept keys is preserved.
 */
void tr_task_merge(json_object *task, json_object *patch);

/* Check a status for this store's schema (Claude lists never get "failed"). */
int tr_status_check(const struct tr_store *s, const char *status, struct tr_err *e);

/*
 * Check a task's status for this store's schema: it must be a string that
 * tr_status_check accepts; in a Claude list it must also be present.
 */
int tr_task_check_status(const struct tr_store *s, json_object *task, struct tr_err *e);

/* Called under the task lock with the current task; change it in place. */
typedef int (*tr_mutate_fn)(json_object *task, void *arg, struct tr_err *e);

/* Lock, read, mutate, check, write atomically, unlock. Retries if the file is
 * replaced behind our back between read and write. */
int tr_task_update(const struct tr_store *s, const struct tr_task_ref *ref, tr_mutate_fn fn,
                   void *arg, struct tr_err *e);

/* tr_task_update, with meanwhile's work done while the new version syncs (atomic.h). */
int tr_task_update_meanwhile(const struct tr_store *s, const struct tr_task_ref *ref,
                             tr_mutate_fn fn, void *arg, const struct tr_meanwhile *meanwhile,
                             struct tr_err *e);

/* tr_task_update with tr_task_merge(task, patch). */
int tr_task_patch(const struct tr_store *s, const struct tr_task_ref *ref, json_object *patch,
                  struct tr_err *e);

/* A new Claude-shaped task: id, subject, description, status pending, blocks, blockedBy. */
json_object *tr_task_new(const char *subject, const char *description);

enum {
        TR_CREATE_ADOPT = 1,    /* an existing file with this id is fine: leave it, return 1 */
        TR_CREATE_RESERVED = 2, /* ref's id came from tr_task_reserve: no list lock needed */
};

/*
 * Create the task file at ref, never overwriting: EEXIST unless
 * TR_CREATE_ADOPT. In a Claude list the task's "id" is set to ref->id and the
 * list lock is held, so Claude cannot allocate the same id meanwhile.
 * Returns 0 created, 1 adopted an existing file, -1 error.
 */
int tr_task_create_at(const struct tr_store *s, const struct tr_task_ref *ref, json_object *task,
                      int flags, struct tr_err *e);

/*
 * Create a task in a Claude list with the next free id, allocated as Claude
 * does under the list lock: max(numeric *.json, .highwatermark) + 1, then
 * recorded in .highwatermark. ref receives the new id and path.
 */
int tr_task_create(const struct tr_store *s, json_object *task, struct tr_task_ref *ref,
                   struct tr_err *e);

/*
 * Allocate the next id as tr_task_create does, but make no file yet: the id
 * is reserved by .highwatermark, which Claude and taskrun both count, and the
 * file comes later from tr_task_create_at(..., TR_CREATE_RESERVED), with the
 * contents it should have then. A run that ends quickly so writes its task
 * once. ref receives the id and path.
 */
int tr_task_reserve(const struct tr_store *s, struct tr_task_ref *ref, struct tr_err *e);

#endif
