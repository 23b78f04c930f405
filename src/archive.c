/* The run archive: each ended run's final task in taskrun's state directory (see archive.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "archive.h"
#include "taskrun/atomic.h"
#include "taskrun/clock.h"
#include "taskrun/path.h"
#include "task_view.h"

#define KEY_NAME_MAX 64 /* characters of the list's name in its archive directory's name */
#define RUN_KEY_MAX 64

int tr_archive_root(char *buf, size_t n, struct tr_err *e)
{
        char state[PATH_MAX];

        if (tr_state_dir(state, sizeof state, e) == -1)
                return -1;
        if (snprintf(buf, n, "%s/runs", state) >= (int)n)
                return tr_err_sys(e, ENAMETOOLONG, "%s/runs", state);
        return 0;
}

int tr_archive_dir(const struct tr_store *s, char *buf, size_t n, struct tr_err *e)
{
        char root[PATH_MAX], abs[PATH_MAX * 2], name[KEY_NAME_MAX + 1], cwd[PATH_MAX];
        const char *src = s->list, *slash;

        if (tr_archive_root(root, sizeof root, e) == -1)
                return -1;
        /* The same list from any working directory: the hash is of an absolute path. */
        if (s->dir[0] == '/' || getcwd(cwd, sizeof cwd) == NULL)
                snprintf(abs, sizeof abs, "%s", s->dir);
        else
                snprintf(abs, sizeof abs, "%s/%s", cwd, s->dir);
        if (*src == '\0')
                src = (slash = strrchr(s->dir, '/')) != NULL && slash[1] ? slash + 1 : s->dir;
        tr_path_safe_text(src, KEY_NAME_MAX, name);
        if (snprintf(buf, n, "%s/%s-%016llx", root, name[0] ? name : "list",
                     (unsigned long long)tr_path_hash(abs)) >= (int)n)
                return tr_err_sys(e, ENAMETOOLONG, "%s", root);
        return 0;
}

/*
 * "20261201T050000.123Z-1234": the run's start (normalised, so every key has
 * the same form and names sort by it) and its supervisor's pid.
 */
static void run_key(json_object *block, char *buf, size_t n)
{
        int64_t ms = tr_iso8601_parse(tr_json_str(block, "started_at")), pid = 0;
        struct timespec ts;
        char iso[TR_ISO8601_LEN], *o = buf;

        if (ms >= 0) {
                ts.tv_sec = (time_t)(ms / 1000);
                ts.tv_nsec = (long)(ms % 1000) * 1000000L;
        } else {
                clock_gettime(CLOCK_REALTIME, &ts);
        }
        tr_iso8601(&ts, iso);
        for (const char *p = iso; *p && (size_t)(o - buf) < n - 24; p++)
                if (*p != '-' && *p != ':')
                        *o++ = *p;
        if (tr_json_int(block, "supervisor_pid", &pid) == -1)
                tr_json_int(block, "pid", &pid);
        snprintf(o, n - (size_t)(o - buf), "-%lld", (long long)pid);
}

/*
 * A detached run's log, kept by a hard link beside the record: a person who
 * removes the whole list directory removes the log there, not this one. The
 * record then names the link and where this run's part ends (log_end): a
 * rerun appends to the same file.
 */
static void keep_log(json_object *block, const char *stem)
{
        const char *log = tr_json_str(block, "log");
        char link_path[PATH_MAX];
        struct stat st;

        if (log == NULL || stat(log, &st) == -1 || !S_ISREG(st.st_mode))
                return;
        json_object_object_add(block, "log_end", json_object_new_int64((int64_t)st.st_size));
        if (snprintf(link_path, sizeof link_path, "%s.log", stem) >= (int)sizeof link_path ||
            link(log, link_path) == -1)
                return; /* another filesystem: the record names the log where it is */
        json_object_object_add(block, "log", json_object_new_string(link_path));
}

/* The wrapper written to disk: what the record is of, and the task. */
static json_object *record_of(const struct tr_store *s, const char *id, json_object *task)
{
        json_object *r = json_object_new_object();
        char now[TR_ISO8601_LEN];

        tr_iso8601_now(now);
        json_object_object_add(r, "id", json_object_new_string(id));
        json_object_object_add(r, "list", json_object_new_string(s->list));
        json_object_object_add(r, "dir", json_object_new_string(s->dir));
        json_object_object_add(
            r, "schema", json_object_new_string(s->schema == TR_SCHEMA_PLAIN ? "plain" : "claude"));
        json_object_object_add(r, "archived_at", json_object_new_string(now));
        json_object_object_add(r, "task", json_object_get(task));
        return r;
}

static int write_record(const char *path, json_object *record, struct tr_err *e)
{
        const char *text = json_object_to_json_string_ext(
            record, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);

        return tr_atomic_write(path, text, strlen(text), 0600,
                               TR_ATOMIC_NOSYNC | TR_ATOMIC_EXCL | TR_ATOMIC_SPARE, e);
}

static int prune(const char *dir, size_t keep, int64_t older_than_ms, int dry_run, int recycle);

int tr_archive_open(const struct tr_store *s, char *dir, size_t n, struct tr_err *e)
{
        if (tr_archive_dir(s, dir, n, e) == -1)
                return -1;
        if (access(dir, F_OK) == -1 && tr_mkdir_p(dir, 0700) == -1)
                return tr_err_sys(e, errno, "%s", dir);
        return 0;
}

int tr_archive_put(const struct tr_store *s, const char *id, json_object *task, struct tr_err *e)
{
        char dir[PATH_MAX];

        if (tr_archive_open(s, dir, sizeof dir, e) == -1)
                return -1;
        return tr_archive_put_in(s, dir, id, task, e);
}

int tr_archive_put_in(const struct tr_store *s, const char *dir, const char *id, json_object *task,
                      struct tr_err *e)
{
        char stem[PATH_MAX + RUN_KEY_MAX + TR_ID_MAX], path[sizeof stem + 8];
        char key[RUN_KEY_MAX];
        json_object *copy = NULL, *block, *record;
        int r;

        /* A run with a log gets its log fields changed here: in a copy, not the caller's task. */
        block = tr_task_block(task, s->schema);
        if (block == NULL || tr_json_str(block, "log") == NULL)
                copy = json_object_get(task);
        else if (json_object_deep_copy(task, &copy, NULL) != 0)
                return tr_err_sys(e, ENOMEM, "run archive");
        block = tr_task_block(copy, s->schema);
        run_key(block, key, sizeof key);
        if (snprintf(stem, sizeof stem, "%s/%s.%s", dir, key, id) >= (int)sizeof stem) {
                json_object_put(copy);
                return tr_err_sys(e, ENAMETOOLONG, "%s", dir);
        }
        snprintf(path, sizeof path, "%s.json", stem);
        if (block != NULL)
                keep_log(block, stem);
        record = record_of(s, id, copy);
        r = write_record(path, record, e);
        json_object_put(record);
        json_object_put(copy);
        if (r == 0)
                prune(dir, TR_ARCHIVE_KEEP, -1, 0, 1);
        return r;
}

/* The id of a record's name "<run key>.<id>.json" (the run key has no '.' but its ms). */
static const char *name_id(const char *name, char *id, size_t n)
{
        size_t len = strlen(name);
        const char *dot = strchr(name, '.');

        /* "20261201T050000.123Z-1234.<id>.json": past the run key's own dot. */
        if (len <= 5 || strcmp(name + len - 5, ".json") != 0 || name[0] == '.' || dot == NULL ||
            (dot = strchr(dot + 1, '.')) == NULL || (size_t)(name + len - 5 - (dot + 1)) >= n)
                return NULL;
        memcpy(id, dot + 1, (size_t)(name + len - 5 - (dot + 1)));
        id[name + len - 5 - (dot + 1)] = '\0';
        return *id ? id : NULL;
}

/* Read a record; its task (owned) in a->task. -1 if it cannot be read or is not one. */
static int read_record(const char *dir, const char *name, struct tr_archived *a)
{
        struct tr_store any = {0};
        struct tr_task_ref ref;
        struct tr_err e;
        json_object *record, *task;
        struct stat st;

        if (snprintf(ref.path, sizeof ref.path, "%s/%s", dir, name) >= (int)sizeof ref.path ||
            tr_task_read(&any, &ref, &record, &e) == -1)
                return -1;
        if (!json_object_object_get_ex(record, "task", &task) ||
            !json_object_is_type(task, json_type_object)) {
                json_object_put(record);
                return -1;
        }
        a->task = json_object_get(task);
        json_object_put(record);
        snprintf(a->path, sizeof a->path, "%s", ref.path);
        a->mtime_ns = stat(ref.path, &st) == 0
                          ? (int64_t)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec
                          : 0;
        return 0;
}

static int compare_names(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The record names of dir (not temp files), sorted oldest first; *n of them. NULL on error. */
static char **record_names(const char *dir, size_t *n)
{
        DIR *d = opendir(dir);
        struct dirent *de;
        char **v = NULL, id[TR_ID_MAX];
        size_t cap = 0;

        *n = 0;
        if (d == NULL)
                return NULL;
        while ((de = readdir(d)) != NULL) {
                if (name_id(de->d_name, id, sizeof id) == NULL)
                        continue;
                if (*n == cap) {
                        char **nv = realloc(v, (cap = cap ? cap * 2 : 64) * sizeof *v);
                        if (nv == NULL)
                                break;
                        v = nv;
                }
                if ((v[*n] = strdup(de->d_name)) != NULL)
                        (*n)++;
        }
        closedir(d);
        if (v == NULL)
                v = calloc(1, sizeof *v);
        if (*n > 1)
                qsort(v, *n, sizeof *v, compare_names);
        return v;
}

static void free_names(char **v, size_t n)
{
        for (size_t i = 0; i < n; i++)
                free(v[i]);
        free(v);
}

/* The run key of started_at, as run_key writes it, without the pid; "" if not a time. */
static void start_prefix(const char *started_at, char *buf, size_t n)
{
        int64_t ms = tr_iso8601_parse(started_at);
        struct timespec ts = {.tv_sec = (time_t)(ms / 1000),
                              .tv_nsec = (long)(ms % 1000) * 1000000L};
        char iso[TR_ISO8601_LEN], *o = buf;

        *o = '\0';
        if (ms < 0)
                return;
        tr_iso8601(&ts, iso);
        for (const char *p = iso; *p && (size_t)(o - buf) < n - 1; p++)
                if (*p != '-' && *p != ':')
                        *o++ = *p;
        *o = '\0';
}

int tr_archive_find(const struct tr_store *s, const char *id, const char *started_at,
                    struct tr_archived *a, struct tr_err *e)
{
        char dir[PATH_MAX], nid[TR_ID_MAX], from[RUN_KEY_MAX] = "";
        size_t n;
        char **names;
        int found = 0;

        memset(a, 0, sizeof *a);
        if (tr_archive_dir(s, dir, sizeof dir, e) == -1)
                return -1;
        if ((names = record_names(dir, &n)) == NULL)
                return errno == ENOENT ? 0 : tr_err_sys(e, errno, "%s", dir);
        if (started_at != NULL)
                start_prefix(started_at, from, sizeof from);
        /* Newest first; a run older than the one seen is never the answer. */
        for (size_t i = n; i-- > 0 && !found;) {
                if (strcmp(name_id(names[i], nid, sizeof nid), id) != 0)
                        continue;
                if (*from && strncmp(names[i], from, strlen(from)) < 0)
                        break;
                found = read_record(dir, names[i], a) == 0;
        }
        free_names(names, n);
        if (found)
                snprintf(a->id, sizeof a->id, "%s", id);
        return found;
}

int tr_archive_each(const struct tr_store *s, int64_t since_ns, int64_t until_ns,
                    void (*fn)(const struct tr_archived *a, void *arg), void *arg, struct tr_err *e)
{
        char dir[PATH_MAX];
        struct tr_archived a;
        struct stat st;
        size_t n;
        char **names;

        if (tr_archive_dir(s, dir, sizeof dir, e) == -1)
                return -1;
        if ((names = record_names(dir, &n)) == NULL)
                return errno == ENOENT ? 0 : tr_err_sys(e, errno, "%s", dir);
        for (size_t i = 0; i < n; i++) {
                char path[PATH_MAX * 2];
                snprintf(path, sizeof path, "%s/%s", dir, names[i]);
                if (stat(path, &st) == -1)
                        continue;
                int64_t t = (int64_t)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
                if (t < since_ns || t >= until_ns)
                        continue;
                memset(&a, 0, sizeof a);
                if (read_record(dir, names[i], &a) == -1)
                        continue;
                name_id(names[i], a.id, sizeof a.id);
                fn(&a, arg);
                json_object_put(a.task);
        }
        free_names(names, n);
        return 0;
}

/*
 * Remove a record and the log link beside it. Recycled, the record becomes
 * the directory's spare file, which the next record is written into: freeing
 * an inode and allocating one cost more than the whole record's write.
 */
static int remove_record(const char *dir, const char *name, int recycle)
{
        char path[PATH_MAX * 2];
        size_t len = strlen(name);

        snprintf(path, sizeof path, "%s/%.*s.log", dir, (int)(len - 5), name);
        unlink(path);
        snprintf(path, sizeof path, "%s/%s", dir, name);
        if (recycle)
                return tr_atomic_retire(dir, path);
        return unlink(path) == 0 || errno == ENOENT ? 0 : -1;
}

/* Archived more than older_than_ms ago. */
static int too_old(const char *dir, const char *name, int64_t older_than_ms)
{
        char path[PATH_MAX * 2];
        struct stat st;

        if (older_than_ms < 0)
                return 0;
        snprintf(path, sizeof path, "%s/%s", dir, name);
        return stat(path, &st) == 0 && tr_realtime_ms() - ((int64_t)st.st_mtim.tv_sec * 1000 +
                                                           st.st_mtim.tv_nsec / 1000000) >
                                           older_than_ms;
}

/* tr_archive_prune, the records removed kept as the spare when recycle says so. -1: errno. */
static int prune(const char *dir, size_t keep, int64_t older_than_ms, int dry_run, int recycle)
{
        size_t n;
        char **names = record_names(dir, &n);
        int removed = 0;

        if (names == NULL)
                return -1;
        for (size_t i = 0; i < n; i++) {
                if (i + keep >= n && !too_old(dir, names[i], older_than_ms))
                        continue;
                if (dry_run || remove_record(dir, names[i], recycle) == 0)
                        removed++;
        }
        free_names(names, n);
        return removed;
}

int tr_archive_prune(const char *dir, size_t keep, int64_t older_than_ms, int dry_run,
                     struct tr_err *e)
{
        int removed = prune(dir, keep, older_than_ms, dry_run, 0);

        if (removed == -1)
                return errno == ENOENT ? 0 : tr_err_sys(e, errno, "%s", dir);
        /* gc trims for good: no spare is left for a list that may not run again. */
        if (!dry_run)
                tr_atomic_drop_spare(dir);
        return removed;
}
