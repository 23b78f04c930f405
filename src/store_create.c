/* Creating task files: safe ids under the list lock, never overwriting. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "taskrun/atomic.h"
#include "taskrun/fdio.h"
#include "taskrun/lock.h"
#include "taskrun/store.h"

#define HIGHWATERMARK ".highwatermark"
#define CREATE_ATTEMPTS 100

/* "<digits>.json" -> its number; -1 for any other name or an overflow. */
static long long numeric_task_id(const char *name)
{
        const char *p = name;
        long long n = 0;

        if (*p < '0' || *p > '9')
                return -1;
        for (; *p >= '0' && *p <= '9'; p++) {
                if (n > (LLONG_MAX - 9) / 10)
                        return -1;
                n = n * 10 + (*p - '0');
        }
        return strcmp(p, ".json") == 0 ? n : -1;
}

static long long read_highwatermark(const char *dir)
{
        char path[PATH_MAX], buf[32];
        long long n = 0;
        ssize_t len;
        int fd;

        if (tr_path_join(path, sizeof path, dir, HIGHWATERMARK) == -1)
                return 0;
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd == -1)
                return 0;
        len = read(fd, buf, sizeof buf - 1);
        close(fd);
        if (len > 0) {
                buf[len] = '\0';
                n = strtoll(buf, NULL, 10); /* like parseInt: junk counts as 0 */
        }
        return n < 0 ? 0 : n;
}

/* The highest id in use: the largest numeric task file or .highwatermark, as Claude counts. */
static int highest_id(const char *dir, long long *out, struct tr_err *e)
{
        DIR *d = opendir(dir);
        struct dirent *de;
        long long max = read_highwatermark(dir);

        if (d == NULL)
                return tr_err_sys(e, errno, "%s", dir);
        while ((de = readdir(d)) != NULL) {
                long long n = numeric_task_id(de->d_name);
                if (n > max)
                        max = n;
        }
        closedir(d);
        *out = max;
        return 0;
}

/*
 * Written in place and not synced, as Claude writes it (writeFile): it is
 * read and written only under the list lock, and if a crash loses or tears
 * it, ids still start above the highest task file, as they do for Claude.
 */
static int write_highwatermark(const char *dir, long long n, struct tr_err *e)
{
        char path[PATH_MAX], buf[32];
        int len = snprintf(buf, sizeof buf, "%lld", n);
        int fd;

        if (tr_path_join(path, sizeof path, dir, HIGHWATERMARK) == -1)
                return tr_err_sys(e, errno, "%s", dir);
        /* Overwritten, then cut to length: O_TRUNC would free the block and take another. */
        fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd == -1)
                return tr_err_sys(e, errno, "%s", path);
        if (tr_write_all(fd, buf, (size_t)len) == -1 || ftruncate(fd, len) == -1) {
                int saved = errno;
                close(fd);
                return tr_err_sys(e, saved, "%s", path);
        }
        return close(fd) == -1 ? tr_err_sys(e, errno, "%s", path) : 0;
}

/* proper-lockfile resolves the locked file's realpath, so Claude needs .lock to exist. */
static int lock_list(const struct tr_store *s, struct tr_lock *lock, struct tr_err *e)
{
        char path[PATH_MAX];
        int fd;

        if (tr_path_join(path, sizeof path, s->dir, ".lock") == -1)
                return tr_err_sys(e, errno, "%s", s->dir);
        fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd == -1)
                return tr_err_sys(e, errno, "%s", path);
        close(fd);
        return tr_lock_acquire(lock, path, s->lock_timeout_ms, TR_LOCK_SPARE, e);
}

/* A plain file is the user's own JSON: no empty id, blocks or blockedBy of a list's. */
static void drop_list_bookkeeping(json_object *task)
{
        static const char *const keys[] = {"id", "blocks", "blockedBy"};

        for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
                json_object *v;
                if (!json_object_object_get_ex(task, keys[i], &v))
                        continue;
                if ((json_object_is_type(v, json_type_string) &&
                     *json_object_get_string(v) == '\0') ||
                    (json_object_is_type(v, json_type_array) && json_object_array_length(v) == 0))
                        json_object_object_del(task, keys[i]);
        }
}

/* Write task as a new file at ref, never over one that is there (unless adopting it). */
static int write_new(const struct tr_store *s, const struct tr_task_ref *ref, json_object *task,
                     int flags, struct tr_err *e)
{
        const char *text;

        if (tr_task_check_status(s, task, e) == -1)
                return -1;
        if (s->schema == TR_SCHEMA_CLAUDE)
                json_object_object_add(task, "id", json_object_new_string(ref->id));
        else
                drop_list_bookkeeping(task);
        /* Adopting is the common case for a rerun: don't write a temp file for nothing. */
        if ((flags & TR_CREATE_ADOPT) && access(ref->path, F_OK) == 0)
                return 1;
        text = tr_task_format(task);
        if (tr_atomic_write(ref->path, text, strlen(text), 0644,
                            TR_ATOMIC_EXCL | (s->schema == TR_SCHEMA_CLAUDE ? TR_ATOMIC_SPARE : 0),
                            e) == 0)
                return 0;
        if (e->errnum == EEXIST && (flags & TR_CREATE_ADOPT))
                return 1;
        if (e->errnum == EEXIST)
                return tr_err_set(e, EEXIST, "task %s: already exists in %s", ref->id, s->dir);
        return -1;
}

int tr_task_create_at(const struct tr_store *s, const struct tr_task_ref *ref, json_object *task,
                      int flags, struct tr_err *e)
{
        struct tr_lock lock;
        int r;

        if (s->schema == TR_SCHEMA_PLAIN || (flags & TR_CREATE_RESERVED))
                return write_new(s, ref, task, flags, e);
        if (lock_list(s, &lock, e) == -1)
                return -1;
        r = write_new(s, ref, task, flags, e);
        tr_lock_release(&lock);
        return r;
}

/* Under the list lock: the next free id, retried past ids created meanwhile without the lock. */
static int create_next_locked(const struct tr_store *s, json_object *task, struct tr_task_ref *ref,
                              struct tr_err *e)
{
        long long max = 0;
        char id[32];
        int r;

        if (highest_id(s->dir, &max, e) == -1)
                return -1;
        if (max > LLONG_MAX - CREATE_ATTEMPTS)
                return tr_err_set(e, ERANGE, "%s: task ids are exhausted", s->dir);
        /*
         * Claude releases before 2.1.331 create without the list lock, so an id
         * can be taken between the scan and the link: move on to the next one.
         */
        for (int attempt = 0; attempt < CREATE_ATTEMPTS; attempt++) {
                snprintf(id, sizeof id, "%lld", ++max);
                if (tr_store_ref(s, id, ref, e) == -1)
                        return -1;
                r = write_new(s, ref, task, 0, e);
                if (r == -1 && e->errnum == EEXIST)
                        continue;
                if (r != 0)
                        return -1;
                /* Best effort: the new file itself already keeps the id from being reused. */
                struct tr_err ignored;
                write_highwatermark(s->dir, max, &ignored);
                return 0;
        }
        return tr_err_set(e, EEXIST, "%s: %d ids in a row were taken while creating; gave up",
                          s->dir, CREATE_ATTEMPTS);
}

/* Under the list lock: the next id, past every file and the high-water mark, kept in the mark. */
static int reserve_locked(const struct tr_store *s, struct tr_task_ref *ref, struct tr_err *e)
{
        long long max = 0;
        char id[32];

        if (highest_id(s->dir, &max, e) == -1)
                return -1;
        if (max == LLONG_MAX)
                return tr_err_set(e, ERANGE, "%s: task ids are exhausted", s->dir);
        snprintf(id, sizeof id, "%lld", ++max);
        if (tr_store_ref(s, id, ref, e) == -1)
                return -1;
        return write_highwatermark(s->dir, max, e);
}

/* Both ways to a new id take the list lock as Claude does; task NULL: only reserve it. */
static int allocate(const struct tr_store *s, json_object *task, struct tr_task_ref *ref,
                    struct tr_err *e)
{
        struct tr_lock lock;
        int r;

        if (s->schema == TR_SCHEMA_PLAIN)
                return tr_err_set(e, EINVAL,
                                  "--file: a plain task file has no list to allocate in");
        if (lock_list(s, &lock, e) == -1)
                return -1;
        r = task ? create_next_locked(s, task, ref, e) : reserve_locked(s, ref, e);
        tr_lock_release(&lock);
        return r;
}

int tr_task_create(const struct tr_store *s, json_object *task, struct tr_task_ref *ref,
                   struct tr_err *e)
{
        return allocate(s, task, ref, e);
}

int tr_task_reserve(const struct tr_store *s, struct tr_task_ref *ref, struct tr_err *e)
{
        return allocate(s, NULL, ref, e);
}
