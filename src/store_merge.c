/* The shape of a task: new tasks, TaskUpdate-style merging, allowed statuses. */
#include <errno.h>
#include <string.h>

#include "taskrun/store.h"
#include "taskrun/utf8.h"

/*
 * Whether the value under key at this depth merges key by key rather than
 * being replaced: "metadata" at the top, "taskrun" inside metadata.
 */
static int merges_by_key(int depth, const char *key)
{
        return (depth == 0 && strcmp(key, "metadata") == 0) ||
               (depth == 1 && strcmp(key, "taskrun") == 0);
}

/* Merge patch into dst at one level; metadata and metadata.taskrun merge key by key. */
static void merge_level(json_object *dst, json_object *patch, int depth)
{
        json_object_object_foreach(patch, key, val)
        {
                json_object *cur;
                int has = json_object_object_get_ex(dst, key, &cur);

                if (val == NULL) {
                        if (has)
                                json_object_object_del(dst, key);
                } else if (merges_by_key(depth, key) &&
                           json_object_is_type(val, json_type_object)) {
                        /*
                         * Merge into a fresh object when there is none, so that
                         * a null in the patch deletes rather than lands in the file.
                         */
                        if (!has || !json_object_is_type(cur, json_type_object)) {
                                cur = json_object_new_object();
                                json_object_object_add(dst, key, cur);
                        }
                        merge_level(cur, val, depth + 1);
                } else {
                        /* object_add on an existing key replaces in place: order kept. */
                        json_object_object_add(dst, key, json_object_get(val));
                }
        }
}

void tr_task_merge(json_object *task, json_object *patch)
{
        merge_level(task, patch, 0);
}

int tr_status_check(const struct tr_store *s, const char *status, struct tr_err *e)
{
        static const char *const claude[] = {"pending", "in_progress", "completed", NULL};

        for (int i = 0; claude[i] != NULL; i++)
                if (strcmp(status, claude[i]) == 0)
                        return 0;
        if (s->schema == TR_SCHEMA_PLAIN && strcmp(status, "failed") == 0)
                return 0;
        return tr_err_set(e, EINVAL, "status '%s': must be pending, in_progress or completed%s",
                          status, s->schema == TR_SCHEMA_PLAIN ? " or failed" : "");
}

int tr_task_check_status(const struct tr_store *s, json_object *task, struct tr_err *e)
{
        json_object *v;

        if (!json_object_object_get_ex(task, "status", &v))
                return s->schema == TR_SCHEMA_PLAIN
                           ? 0
                           : tr_err_set(e, EINVAL, "status: missing; a Claude task needs one");
        if (!json_object_is_type(v, json_type_string))
                return tr_err_set(e, EINVAL, "status: must be a string, not %s",
                                  json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN));
        return tr_status_check(s, json_object_get_string(v), e);
}

json_object *tr_task_new(const char *subject, const char *description)
{
        json_object *t = json_object_new_object();

        json_object_object_add(t, "id", json_object_new_string(""));
        json_object_object_add(t, "subject", tr_json_utf8(subject ? subject : ""));
        json_object_object_add(t, "description", tr_json_utf8(description ? description : ""));
        json_object_object_add(t, "status", json_object_new_string("pending"));
        json_object_object_add(t, "blocks", json_object_new_array());
        json_object_object_add(t, "blockedBy", json_object_new_array());
        return t;
}
