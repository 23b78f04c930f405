/* Reading task files, writing them back in Claude's format, and the locked update. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/printbuf.h>

#include "taskrun/atomic.h"
#include "taskrun/lock.h"
#include "taskrun/store.h"

#define TR_JSON_DEPTH 512
/*
 * json-c makes its parse stack for the whole depth up front: 16 KiB at
 * TR_JSON_DEPTH, pages that cost microseconds each to fault in, for a task
 * a few levels deep. Files are parsed at this depth first, and again at
 * TR_JSON_DEPTH only when they are deeper.
 */
#define TR_JSON_SHALLOW 32
#define TR_UPDATE_ATTEMPTS 5

/* "invalid JSON: WHAT at line L, column C" for the byte at offset. */
static json_object *syntax_error(struct tr_err *e, const char *text, size_t offset,
                                 const char *what)
{
        int line = 1, column = 1;

        for (size_t i = 0; i < offset; i++, column++)
                if (text[i] == '\n')
                        line++, column = 0;
        tr_err_set(e, EINVAL, "invalid JSON: %s at line %d, column %d", what, line, column);
        return NULL;
}

/*
 * json-c, even in strict mode, takes NaN and Infinity, and clamps integers
 * beyond 64 bits to the nearest one it can hold. Rewriting such a file would
 * change values nobody touched, so it is refused instead.
 */
/* The offset of the first byte from i on that is not JSON whitespace. */
static size_t skip_ws(const char *text, size_t i, size_t len)
{
        while (i < len && (text[i] == ' ' || text[i] == '\t' || text[i] == '\r' || text[i] == '\n'))
                i++;
        return i;
}

/* "dXXX" with its second digit among range: a UTF-16 surrogate's hex digits. */
static int is_surrogate(const char *p, const char *range)
{
        return (p[0] == 'd' || p[0] == 'D') && p[1] != '\0' && strchr(range, p[1]) != NULL &&
               isxdigit((unsigned char)p[2]) && isxdigit((unsigned char)p[3]);
}

/*
 * The escape after a backslash at text[i]: how many bytes it spans, so a
 * surrogate pair is taken whole, or -1 for a lone surrogate. Other escapes
 * count one byte; json-c judges them.
 */
static int escape_span(const char *text, size_t i, size_t len)
{
        static const char high[] = "89abAB", low[] = "cdefCDEF";

        if (text[i] != 'u' || i + 5 > len)
                return 1;
        if (is_surrogate(text + i + 1, low))
                return -1;
        if (!is_surrogate(text + i + 1, high))
                return 1;
        if (i + 11 > len || text[i + 5] != '\\' || text[i + 6] != 'u' ||
            !is_surrogate(text + i + 7, low))
                return -1;
        return 11;
}

/* A digit on both sides of text[i]: inside a number. */
static int digits_around(const char *text, size_t i, size_t len)
{
        return i > 0 && isdigit((unsigned char)text[i - 1]) && i + 1 < len &&
               isdigit((unsigned char)text[i + 1]);
}

/* A number's integer part starting with 0 and more digits ("-037"); exponents may. */
static int leading_zero(const char *text, size_t i, size_t len)
{
        size_t j = i;

        if (text[i] != '0' || i + 1 >= len || !isdigit((unsigned char)text[i + 1]))
                return 0;
        if (j > 0 && (text[j - 1] == '-' || text[j - 1] == '+'))
                j--;
        return j == 0 || !(isdigit((unsigned char)text[j - 1]) || text[j - 1] == '.' ||
                           text[j - 1] == 'e' || text[j - 1] == 'E');
}

/*
 * What json-c's strict mode still lets through and JSON.parse does not: raw
 * control characters inside strings, and numbers like "1.", "-.5", "1.e5" or "-037". Also
 * lone UTF-16 surrogates, which json-c would turn into U+FFFD. A file with
 * any of these is refused rather than silently changed.
 */
static int lexical_check(const char *text, size_t len, struct tr_err *e)
{
        int in_string = 0;

        for (size_t i = 0; i < len; i++) {
                unsigned char c = (unsigned char)text[i];
                const char *why = NULL;
                int span;

                if (in_string && c == '\\' && i + 1 < len) {
                        if ((span = escape_span(text, i + 1, len)) == -1)
                                why = "lone UTF-16 surrogate";
                        else
                                i += (size_t)span;
                } else if (c == '"')
                        in_string = !in_string;
                else if (c < 0x20 && (in_string || (c != '\t' && c != '\n' && c != '\r')))
                        why = "control character";
                else if (!in_string && c == '.' && !digits_around(text, i, len))
                        why = "a '.' needs digits on both sides";
                else if (!in_string && leading_zero(text, i, len))
                        why = "leading zero";
                if (why != NULL) {
                        syntax_error(e, text, i, why);
                        return -1;
                }
        }
        return 0;
}

/* Why v cannot be written back exactly as it was read (NaN, a 64-bit overflow), or NULL. */
static const char *unfaithful_value(json_object *v)
{
        switch (json_object_get_type(v)) {
        case json_type_double:
                return isfinite(json_object_get_double(v)) ? NULL : "NaN or Infinity is not JSON";
        case json_type_int:
                if (json_object_get_int64(v) == INT64_MIN ||
                    json_object_get_uint64(v) == UINT64_MAX)
                        return "an integer beyond 64 bits cannot be kept exactly";
                return NULL;
        case json_type_object: {
                json_object_object_foreach(v, key, val)
                {
                        (void)key;
                        const char *why = unfaithful_value(val);
                        if (why != NULL)
                                return why;
                }
                return NULL;
        }
        case json_type_array:
                for (size_t i = 0; i < json_object_array_length(v); i++) {
                        const char *why = unfaithful_value(json_object_array_get_idx(v, i));
                        if (why != NULL)
                                return why;
                }
                return NULL;
        default:
                return NULL;
        }
}

/*
 * RFC 8259 JSON, one object and nothing after it; json-c alone would take
 * more. NULL with e set; *too_deep when only the depth was in the way.
 */
static json_object *parse_at(const char *text, size_t len, int depth, int *too_deep,
                             struct tr_err *e)
{
        struct json_tokener *tok = json_tokener_new_ex(depth);
        json_object *obj;
        size_t used;

        *too_deep = 0;
        if (tok == NULL) {
                tr_err_sys(e, ENOMEM, "json");
                return NULL;
        }
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
        obj = json_tokener_parse_ex(tok, text, (int)len);
        used = json_tokener_get_parse_end(tok);
        if (obj == NULL) {
                enum json_tokener_error err = json_tokener_get_error(tok);
                *too_deep = err == json_tokener_error_depth;
                if (err == json_tokener_continue)
                        tr_err_set(e, EINVAL, "invalid JSON: unexpected end of file (truncated?)");
                else
                        syntax_error(e, text, used, json_tokener_error_desc(err));
        } else if (skip_ws(text, used, len) != len) {
                json_object_put(obj);
                obj = syntax_error(e, text, used, "trailing data after the top-level value");
        }
        json_tokener_free(tok);
        return obj;
}

static json_object *parse_strict(const char *text, size_t len, struct tr_err *e)
{
        int too_deep;
        json_object *obj = parse_at(text, len, TR_JSON_SHALLOW, &too_deep, e);

        if (obj == NULL && too_deep)
                obj = parse_at(text, len, TR_JSON_DEPTH, &too_deep, e);
        return obj;
}

json_object *tr_task_parse(const char *text, size_t len, struct tr_err *e)
{
        size_t start = skip_ws(text, 0, len);
        json_object *obj;
        const char *why;

        if (start == len) {
                tr_err_set(e, EINVAL, "invalid JSON: empty file");
                return NULL;
        }
        if (lexical_check(text, len, e) == -1)
                return NULL;
        if (text[start] != '{') {
                tr_err_set(e, EINVAL, "not a task: top level is not a JSON object");
                return NULL;
        }
        if ((obj = parse_strict(text, len, e)) == NULL)
                return NULL;
        if ((why = unfaithful_value(obj)) != NULL)
                tr_err_set(e, EINVAL, "invalid JSON: %s; refusing to rewrite it", why);
        else
                return obj;
        json_object_put(obj);
        return NULL;
}

/*
 * Up to size bytes of fd into a malloc'd, NUL-terminated buffer (fewer if
 * the file shrank meanwhile): how many, or -1 with errno.
 */
static int read_fd(int fd, size_t size, char **out)
{
        char *buf = malloc(size + 1);
        size_t got = 0;

        if (buf == NULL)
                return -1;
        while (got < size) {
                ssize_t n = read(fd, buf + got, size - got);
                if (n == -1 && errno == EINTR)
                        continue;
                if (n <= 0) {
                        if (n == 0)
                                break; /* shrank under us: parse what is there */
                        free(buf);
                        return -1;
                }
                got += (size_t)n;
        }
        buf[got] = '\0';
        *out = buf;
        return (int)got;
}

/* Open and read path as a task file, with the identity of what was read in *st. */
static json_object *read_task(const struct tr_store *s, const char *path, struct stat *st,
                              struct tr_err *e)
{
        int flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK | (s->follow_symlinks ? 0 : O_NOFOLLOW);
        int fd = open(path, flags);
        json_object *obj = NULL;
        char *text;
        int len;

        if (fd == -1) {
                if (errno == ELOOP)
                        tr_err_set(e, ELOOP, "%s: is a symlink; refusing (see --follow-symlinks)",
                                   path);
                else
                        tr_err_sys(e, errno, "%s", path);
                return NULL;
        }
        if (fstat(fd, st) == -1) {
                tr_err_sys(e, errno, "%s", path);
        } else if (!S_ISREG(st->st_mode)) {
                tr_err_set(e, EINVAL, "%s: not a regular file", path);
        } else if (st->st_size > TR_TASK_MAX_BYTES) {
                tr_err_set(e, EFBIG, "%s: larger than %d bytes; refusing", path, TR_TASK_MAX_BYTES);
        } else if ((len = read_fd(fd, (size_t)st->st_size, &text)) == -1) {
                tr_err_sys(e, errno, "%s", path);
        } else {
                obj = tr_task_parse(text, (size_t)len, e);
                if (obj == NULL) {
                        char reason[sizeof e->msg];
                        memcpy(reason, e->msg, sizeof reason);
                        tr_err_set(e, EINVAL, "%s: %s", path, reason);
                }
                free(text);
        }
        close(fd);
        return obj;
}

int tr_task_read(const struct tr_store *s, const struct tr_task_ref *ref, json_object **out,
                 struct tr_err *e)
{
        struct stat st;

        *out = read_task(s, ref->path, &st, e);
        return *out == NULL ? -1 : 0;
}

/* JSON.stringify(x, null, 2) writes [] and {}; json-c would break them over lines. */
static int serialize_empty(json_object *obj, struct printbuf *pb, int level, int flags)
{
        (void)level;
        (void)flags;
        return printbuf_memappend(pb, json_object_is_type(obj, json_type_array) ? "[]" : "{}", 2);
}

/* Empty arrays and objects written as [] and {}, as JSON.stringify does, not json-c's "[ ]". */
static void mark_empty_containers(json_object *obj)
{
        if (json_object_is_type(obj, json_type_array)) {
                size_t n = json_object_array_length(obj);
                json_object_set_serializer(obj, n ? NULL : serialize_empty, NULL, NULL);
                for (size_t i = 0; i < n; i++)
                        mark_empty_containers(json_object_array_get_idx(obj, i));
        } else if (json_object_is_type(obj, json_type_object)) {
                json_object_set_serializer(
                    obj, json_object_object_length(obj) ? NULL : serialize_empty, NULL, NULL);
                json_object_object_foreach(obj, key, val)
                {
                        (void)key;
                        mark_empty_containers(val);
                }
        }
}

const char *tr_task_format(json_object *task)
{
        mark_empty_containers(task);
        return json_object_to_json_string_ext(task, JSON_C_TO_STRING_PRETTY |
                                                        JSON_C_TO_STRING_SPACED |
                                                        JSON_C_TO_STRING_NOSLASHESCAPE);
}

/*
 * path is still the file stat gave: same inode, size and mtime. Else someone
 * replaced it meanwhile.
 */
static int same_file(const char *path, int follow, const struct stat *was)
{
        struct stat now;

        if ((follow ? stat(path, &now) : lstat(path, &now)) == -1)
                return 0;
        return now.st_dev == was->st_dev && now.st_ino == was->st_ino &&
               now.st_size == was->st_size && now.st_mtim.tv_sec == was->st_mtim.tv_sec &&
               now.st_mtim.tv_nsec == was->st_mtim.tv_nsec;
}

/* The status as JSON text, "null" for a JSON null, NULL when absent; malloc'd. */
static char *status_text(json_object *task)
{
        json_object *v;

        if (!json_object_object_get_ex(task, "status", &v))
                return NULL;
        return strdup(json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN));
}

/*
 * Apply fn to a fresh read; a status it changed (to another value, type, or
 * none) must be one the schema allows. An untouched status is left alone.
 */
static int mutate_checked(const struct tr_store *s, json_object *task, tr_mutate_fn fn, void *arg,
                          struct tr_err *e)
{
        char *before = status_text(task), *after;
        int r = fn(task, arg, e);

        if (r == 0) {
                after = status_text(task);
                if ((before == NULL) != (after == NULL) ||
                    (before != NULL && strcmp(before, after) != 0))
                        r = tr_task_check_status(s, task, e);
                free(after);
        }
        free(before);
        return r;
}

/*
 * Read, mutate and write path under the lock; again if the file was replaced
 * between read and write.
 */
static int update_locked(const struct tr_store *s, const char *path, struct tr_lock *lock,
                         int atomic_flags, tr_mutate_fn fn, void *arg,
                         const struct tr_meanwhile *meanwhile, struct tr_err *e)
{
        for (int attempt = 0; attempt < TR_UPDATE_ATTEMPTS; attempt++) {
                struct stat st;
                json_object *task = read_task(s, path, &st, e);
                if (task == NULL)
                        return -1;
                if (mutate_checked(s, task, fn, arg, e) == -1) {
                        json_object_put(task);
                        return -1;
                }
                const char *text = tr_task_format(task);
                tr_lock_refresh(lock);
                /* A writer that ignores the lock replaced the file: merge into the new one. */
                if (!same_file(path, s->follow_symlinks, &st)) {
                        json_object_put(task);
                        continue;
                }
                int r = tr_atomic_write_meanwhile(path, text, strlen(text), st.st_mode & 07777,
                                                  atomic_flags, meanwhile, e);
                json_object_put(task);
                return r;
        }
        return tr_err_set(e, EAGAIN, "%s: file kept changing while updating; gave up", path);
}

int tr_task_update(const struct tr_store *s, const struct tr_task_ref *ref, tr_mutate_fn fn,
                   void *arg, struct tr_err *e)
{
        return tr_task_update_meanwhile(s, ref, fn, arg, NULL, e);
}

int tr_task_update_meanwhile(const struct tr_store *s, const struct tr_task_ref *ref,
                             tr_mutate_fn fn, void *arg, const struct tr_meanwhile *meanwhile,
                             struct tr_err *e)
{
        struct tr_lock lock;
        char real[PATH_MAX];
        const char *path = ref->path;
        int r;

        /*
         * Followed symlinks are written through: replace the target, not the
         * link, and lock the target as proper-lockfile (realpath: true) does,
         * so that Claude writing the target and taskrun exclude each other.
         */
        if (s->follow_symlinks && realpath(ref->path, real) != NULL)
                path = real;
        /* Spares only in a list's own directory, not where a link leads. */
        int in_list = s->schema == TR_SCHEMA_CLAUDE && path == ref->path;
        if (tr_lock_acquire(&lock, path, s->lock_timeout_ms, in_list ? TR_LOCK_SPARE : 0, e) == -1)
                return -1;
        r = update_locked(s, path, &lock, in_list ? TR_ATOMIC_SPARE : 0, fn, arg, meanwhile, e);
        tr_lock_release(&lock);
        return r;
}

/* tr_mutate_fn of tr_task_patch: merge the patch. */
static int merge_fn(json_object *task, void *patch, struct tr_err *e)
{
        (void)e;
        tr_task_merge(task, patch);
        return 0;
}

int tr_task_patch(const struct tr_store *s, const struct tr_task_ref *ref, json_object *patch,
                  struct tr_err *e)
{
        return tr_task_update(s, ref, merge_fn, patch, e);
}
