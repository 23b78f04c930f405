/*
 * libFuzzer harness for the task parser and merger. The input is a task file,
 * optionally followed by a NUL byte and a patch. Whatever parses must be JSON
 * by RFC 8259 (checked by a grammar of its own here, as JSON.parse would) and
 * must format to RFC 8259 text that parses again to an equal value and
 * formats to the same bytes; a merge must keep every key the patch does not
 * name and apply the rest the way Claude's TaskUpdate does; whatever is
 * refused gets a one-line error.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "taskrun/store.h"

/* RFC 8259, as JSON.parse takes it: a recursive descent check, nothing built. */
struct rfc {
        const unsigned char *p, *end;
        int depth;
};

static void rfc_ws(struct rfc *r)
{
        while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r'))
                r->p++;
}

static int rfc_eat(struct rfc *r, unsigned char c)
{
        if (r->p < r->end && *r->p == c) {
                r->p++;
                return 1;
        }
        return 0;
}

static int rfc_digits(struct rfc *r)
{
        const unsigned char *start = r->p;

        while (r->p < r->end && *r->p >= '0' && *r->p <= '9')
                r->p++;
        return r->p > start;
}

static int rfc_number(struct rfc *r)
{
        rfc_eat(r, '-');
        if (!rfc_eat(r, '0') && !(r->p < r->end && *r->p >= '1' && *r->p <= '9' && rfc_digits(r)))
                return 0;
        if (rfc_eat(r, '.') && !rfc_digits(r))
                return 0;
        if (rfc_eat(r, 'e') || rfc_eat(r, 'E')) {
                if (!rfc_eat(r, '+'))
                        rfc_eat(r, '-');
                if (!rfc_digits(r))
                        return 0;
        }
        return 1;
}

static int rfc_hex(unsigned char c)
{
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static int rfc_string(struct rfc *r)
{
        if (!rfc_eat(r, '"'))
                return 0;
        while (r->p < r->end) {
                unsigned char c = *r->p++;
                if (c == '"')
                        return 1;
                if (c < 0x20)
                        return 0;
                if (c != '\\')
                        continue;
                if (r->p >= r->end)
                        return 0;
                c = *r->p++;
                if (c == 'u') {
                        for (int i = 0; i < 4; i++)
                                if (r->p >= r->end || !rfc_hex(*r->p++))
                                        return 0;
                } else if (!strchr("\"\\/bfnrt", c) || c == '\0') {
                        return 0;
                }
        }
        return 0;
}

static int rfc_value(struct rfc *r);

static int rfc_container(struct rfc *r, unsigned char close)
{
        if (++r->depth > 10000)
                return 0;
        r->p++;
        rfc_ws(r);
        if (rfc_eat(r, close)) {
                r->depth--;
                return 1;
        }
        for (;;) {
                if (close == '}') {
                        if (!rfc_string(r))
                                return 0;
                        rfc_ws(r);
                        if (!rfc_eat(r, ':'))
                                return 0;
                        rfc_ws(r);
                }
                if (!rfc_value(r))
                        return 0;
                rfc_ws(r);
                if (rfc_eat(r, close))
                        break;
                if (!rfc_eat(r, ','))
                        return 0;
                rfc_ws(r);
        }
        r->depth--;
        return 1;
}

static int rfc_literal(struct rfc *r, const char *w)
{
        for (; *w; w++)
                if (!rfc_eat(r, (unsigned char)*w))
                        return 0;
        return 1;
}

static int rfc_value(struct rfc *r)
{
        if (r->p >= r->end)
                return 0;
        switch (*r->p) {
        case '{':
                return rfc_container(r, '}');
        case '[':
                return rfc_container(r, ']');
        case '"':
                return rfc_string(r);
        case 't':
                return rfc_literal(r, "true");
        case 'f':
                return rfc_literal(r, "false");
        case 'n':
                return rfc_literal(r, "null");
        default:
                return rfc_number(r);
        }
}

/* 1 if text is exactly one JSON value (with surrounding whitespace). */
static int rfc8259(const char *text, size_t len)
{
        struct rfc r = {(const unsigned char *)text, (const unsigned char *)text + len, 0};

        rfc_ws(&r);
        if (!rfc_value(&r))
                return 0;
        rfc_ws(&r);
        return r.p == r.end;
}

static json_object *get(json_object *obj, const char *key)
{
        json_object *v = NULL;

        if (obj == NULL || !json_object_is_type(obj, json_type_object))
                return NULL;
        return json_object_object_get_ex(obj, key, &v) ? v : NULL;
}

static int has(json_object *obj, const char *key)
{
        return json_object_is_type(obj, json_type_object) &&
               json_object_object_get_ex(obj, key, NULL);
}

static void check_error(const struct tr_err *e)
{
        if (e->msg[0] == '\0' || strchr(e->msg, '\n') != NULL)
                abort(); /* every refusal says why, on one line */
}

/* format -> parse -> equal -> format gives the same bytes; returns the text, malloc'd. */
static char *round_trip(json_object *task)
{
        struct tr_err e = {0};
        char *text = strdup(tr_task_format(task));
        size_t len = strlen(text);
        json_object *again;

        if (len == 0 || text[len - 1] != '}')
                abort(); /* an object, with no trailing newline, like JSON.stringify */
        if (!rfc8259(text, len)) {
                fprintf(stderr, "formatted task is not JSON by RFC 8259:\n%s\n", text);
                abort();
        }
        again = tr_task_parse(text, len, &e);
        if (again == NULL) {
                fprintf(stderr, "formatted task does not parse: %s\n%s\n", e.msg, text);
                abort();
        }
        if (!json_object_equal(task, again)) {
                fprintf(stderr, "formatted task parses to a different value:\n%s\n", text);
                abort();
        }
        if (strcmp(tr_task_format(again), text) != 0) {
                fprintf(stderr, "formatting is not stable:\n%s\n", text);
                abort();
        }
        json_object_put(again);
        return text;
}

/* Keys named by patch at this level merge (depth 0 "metadata", depth 1 "taskrun"). */
static int merges(int depth, const char *key)
{
        return (depth == 0 && strcmp(key, "metadata") == 0) ||
               (depth == 1 && strcmp(key, "taskrun") == 0);
}

/* result must be before with patch applied as TaskUpdate does. */
static void check_merge(json_object *before, json_object *patch, json_object *result, int depth)
{
        json_object_object_foreach(before, key, val)
        {
                if (!has(patch, key) &&
                    (!has(result, key) || !json_object_equal(val, get(result, key))))
                        abort(); /* a key the patch did not name changed */
        }
        json_object_object_foreach(patch, pkey, pval)
        {
                json_object *r = get(result, pkey);
                if (pval == NULL) {
                        if (has(result, pkey))
                                abort(); /* null must delete */
                } else if (merges(depth, pkey) && json_object_is_type(pval, json_type_object)) {
                        json_object *b = get(before, pkey);
                        if (!json_object_is_type(r, json_type_object))
                                abort();
                        if (json_object_is_type(b, json_type_object)) {
                                check_merge(b, pval, r, depth + 1);
                        } else {
                                json_object *empty = json_object_new_object();
                                check_merge(empty, pval, r, depth + 1);
                                json_object_put(empty);
                        }
                } else if (!has(result, pkey) || !json_object_equal(pval, r)) {
                        abort(); /* a value the patch set is not there */
                }
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        const char *text = (const char *)data;
        const char *nul = memchr(data, '\0', size);
        size_t tlen = nul ? (size_t)(nul - text) : size;
        struct tr_err e = {0};
        json_object *task, *patch, *before;
        char *formatted;

        task = tr_task_parse(text, tlen, &e);
        if (task == NULL) {
                check_error(&e);
                return 0;
        }
        if (!rfc8259(text, tlen)) {
                fprintf(stderr, "accepted a task file that JSON.parse would refuse\n");
                abort();
        }
        formatted = round_trip(task);
        free(formatted);
        if (nul == NULL) {
                json_object_put(task);
                return 0;
        }
        /* Patches come from taskrun itself, not from files: no RFC check on them. */
        patch = tr_task_parse(nul + 1, size - tlen - 1, &e);
        if (patch == NULL) {
                check_error(&e);
                json_object_put(task);
                return 0;
        }
        before = NULL;
        if (json_object_deep_copy(task, &before, NULL) != 0)
                abort();
        tr_task_merge(task, patch);
        check_merge(before, patch, task, 0);
        formatted = round_trip(task);
        free(formatted);
        json_object_put(before);
        json_object_put(patch);
        json_object_put(task);
        return 0;
}
