/* Reading task files, writing them back in Claude's format, and the locked update. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/printbuf.h>

#include "taskrun/atomic.h"
#include "taskrun/lock.h"
#include "taskrun/store.h"

#define TR_JSON_DEPTH 512
#define TR_UPDATE_ATTEMPTS 5

/*
 * JSON.parse's grammar (RFC 8259). json-c's tokener is laxer: it also takes
 * single quotes, NaN, comments, trailing commas, leading zeros and raw
 * control characters. Claude treats such a file as absent; taskrun refuses
 * it rather than rewrite it into something else.
 */
struct json_scan {
        const char *p, *end;
        int depth, too_deep;
};

static void scan_ws(struct json_scan *s)
{
        while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
                s->p++;
}

static int scan_char(struct json_scan *s, char c)
{
        if (s->p >= s->end || *s->p != c)
                return -1;
        s->p++;
        return 0;
}

static int scan_digits(struct json_scan *s)
{
        const char *start = s->p;

        while (s->p < s->end && *s->p >= '0' && *s->p <= '9')
                s->p++;
        return s->p > start ? 0 : -1;
}

static int scan_number(struct json_scan *s)
{
        scan_char(s, '-');
        if (scan_char(s, '0') == -1 && scan_digits(s) == -1)
                return -1; /* a leading 0 stands alone: "01" stops after the 0 */
        if (scan_char(s, '.') == 0 && scan_digits(s) == -1)
                return -1;
        if (scan_char(s, 'e') == 0 || scan_char(s, 'E') == 0) {
                if (scan_char(s, '+') == -1)
                        scan_char(s, '-');
                if (scan_digits(s) == -1)
                        return -1;
        }
        return 0;
}

static int scan_string(struct json_scan *s)
{
        if (scan_char(s, '"') == -1)
                return -1;
        while (s->p < s->end) {
                unsigned char c = (unsigned char)*s->p;
                if (c == '"') {
                        s->p++;
                        return 0;
                }
                if (c < 0x20)
                        return -1;
                s->p++;
                if (c != '\\')
                        continue;
                if (s->p >= s->end)
                        return -1;
                c = (unsigned char)*s->p;
                if (c != 'u') {
                        if (c == '\0' || strchr("\"\\/bfnrt", c) == NULL)
                                return -1;
                        s->p++;
                        continue;
                }
                s->p++;
                for (int i = 0; i < 4; i++, s->p++)
                        if (s->p >= s->end || !isxdigit((unsigned char)*s->p))
                                return -1;
        }
        return -1;
}

static int scan_literal(struct json_scan *s, const char *word)
{
        for (; *word; word++)
                if (scan_char(s, *word) == -1)
                        return -1;
        return 0;
}

static int scan_value(struct json_scan *s);

/* An object or an array, at its opening bracket. */
static int scan_container(struct json_scan *s, char close)
{
        if (++s->depth > TR_JSON_DEPTH) {
                s->too_deep = 1;
                return -1;
        }
        s->p++;
        scan_ws(s);
        if (scan_char(s, close) == 0) {
                s->depth--;
                return 0;
        }
        for (;;) {
                if (close == '}') {
                        if (scan_string(s) == -1)
                                return -1;
                        scan_ws(s);
                        if (scan_char(s, ':') == -1)
                                return -1;
                        scan_ws(s);
                }
                if (scan_value(s) == -1)
                        return -1;
                scan_ws(s);
                if (scan_char(s, close) == 0)
                        break;
                if (scan_char(s, ',') == -1)
                        return -1;
                scan_ws(s);
        }
        s->depth--;
        return 0;
}

static int scan_value(struct json_scan *s)
{
        if (s->p >= s->end)
                return -1;
        switch (*s->p) {
        case '{':
                return scan_container(s, '}');
        case '[':
                return scan_container(s, ']');
        case '"':
                return scan_string(s);
        case 't':
                return scan_literal(s, "true");
        case 'f':
                return scan_literal(s, "false");
        case 'n':
                return scan_literal(s, "null");
        default:
                return scan_number(s);
        }
}

/* "invalid JSON: WHAT at line L, column C" for the byte at. */
static int syntax_error(struct tr_err *e, const char *text, const char *at, const char *what)
{
        const char *bol = text;
        int line = 1;
        unsigned char c = (unsigned char)*at;

        for (const char *q = text; q < at; q++)
                if (*q == '\n') {
                        line++;
                        bol = q + 1;
                }
        if (what != NULL)
                return tr_err_set(e, EINVAL, "invalid JSON: %s at line %d, column %d", what, line,
                                  (int)(at - bol) + 1);
        if (c >= 0x20 && c < 0x7f)
                return tr_err_set(e, EINVAL, "invalid JSON: unexpected '%c' at line %d, column %d",
                                  c, line, (int)(at - bol) + 1);
        return tr_err_set(e, EINVAL, "invalid JSON: unexpected byte 0x%02x at line %d, column %d",
                          c, line, (int)(at - bol) + 1);
}

/* 0 if text is one JSON value and nothing else; *top is its first byte. */
static int json_syntax_check(const char *text, size_t len, char *top, struct tr_err *e)
{
        struct json_scan s = {text, text + len, 0, 0};

        scan_ws(&s);
        if (s.p == s.end)
                return tr_err_set(e, EINVAL, "invalid JSON: empty file");
        *top = *s.p;
        if (scan_value(&s) == -1) {
                if (s.too_deep)
                        return tr_err_set(e, EINVAL, "invalid JSON: nested deeper than %d",
                                          TR_JSON_DEPTH);
                if (s.p >= s.end)
                        return tr_err_set(e, EINVAL,
                                          "invalid JSON: unexpected end of file (truncated?)");
                return syntax_error(e, text, s.p, NULL);
        }
        scan_ws(&s);
        if (s.p < s.end)
                return syntax_error(e, text, s.p, "trailing data after the top-level value");
        return 0;
}

json_object *tr_task_parse(const char *text, size_t len, struct tr_err *e)
{
        struct json_tokener *tok;
        json_object *obj;
        size_t used;
        char top = 0;

        if (json_syntax_check(text, len, &top, e) == -1)
                return NULL;
        if (top != '{') {
                tr_err_set(e, EINVAL, "not a task: top level is not a JSON object");
                return NULL;
        }
        tok = json_tokener_new_ex(TR_JSON_DEPTH + 1);
        if (tok == NULL) {
                tr_err_sys(e, ENOMEM, "json");
                return NULL;
        }
        obj = json_tokener_parse_ex(tok, text, (int)len);
        used = json_tokener_get_parse_end(tok);
        if (obj == NULL) {
                tr_err_set(e, EINVAL, "invalid JSON: %s",
                           json_tokener_error_desc(json_tokener_get_error(tok)));
        } else if (used < len && strspn(text + used, " \t\r\n") != len - used) {
                tr_err_set(e, EINVAL, "invalid JSON: trailing data after the object");
                json_object_put(obj);
                obj = NULL;
        } else if (!json_object_is_type(obj, json_type_object)) {
                tr_err_set(e, EINVAL, "not a task: top level is not a JSON object");
                json_object_put(obj);
                obj = NULL;
        }
        json_tokener_free(tok);
        return obj;
}

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

static int update_locked(const struct tr_store *s, const char *path, struct tr_lock *lock,
                         tr_mutate_fn fn, void *arg, struct tr_err *e)
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
                int r = tr_atomic_write(path, text, strlen(text), st.st_mode & 07777, 0, e);
                json_object_put(task);
                return r;
        }
        return tr_err_set(e, EAGAIN, "%s: file kept changing while updating; gave up", path);
}

int tr_task_update(const struct tr_store *s, const struct tr_task_ref *ref, tr_mutate_fn fn,
                   void *arg, struct tr_err *e)
{
        struct tr_lock lock;
        char real[PATH_MAX];
        const char *path = ref->path;
        int r;

        /* Followed symlinks are written through: replace the target, not the link. */
        if (s->follow_symlinks && realpath(ref->path, real) != NULL)
                path = real;
        if (tr_lock_acquire(&lock, ref->path, s->lock_timeout_ms, e) == -1)
                return -1;
        r = update_locked(s, path, &lock, fn, arg, e);
        tr_lock_release(&lock);
        return r;
}

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
