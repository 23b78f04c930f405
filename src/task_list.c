/* Reading a whole task list: every <id>.json in the directory, sorted by id. */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "task_list.h"
#include "task_settle.h"

/* The id of a task file name "<id>.json", into id; -1 for any other name. */
static int task_file_id(const char *name, char *id, size_t n)
{
        size_t len = strlen(name);

        if (len <= 5 || len - 5 >= n || strcmp(name + len - 5, ".json") != 0)
                return -1;
        memcpy(id, name, len - 5);
        id[len - 5] = '\0';
        return tr_id_validate("task", id, NULL);
}

/* A run of ASCII digits and nothing else. */
static int is_numeric(const char *s)
{
        if (*s == '\0')
                return 0;
        for (; *s; s++)
                if (*s < '0' || *s > '9')
                        return 0;
        return 1;
}

int tr_id_compare(const char *a, const char *b)
{
        int na = is_numeric(a), nb = is_numeric(b);

        if (na != nb)
                return na ? -1 : 1;
        if (na) {
                /* Compare as numbers of any length: skip leading zeros, then longer is bigger. */
                while (*a == '0' && a[1] != '\0')
                        a++;
                while (*b == '0' && b[1] != '\0')
                        b++;
                size_t la = strlen(a), lb = strlen(b);
                if (la != lb)
                        return la < lb ? -1 : 1;
        }
        return strcmp(a, b);
}

static int entry_compare(const void *a, const void *b)
{
        const struct tr_task_entry *x = a, *y = b;

        return tr_id_compare(x->ref.id, y->ref.id);
}

static int list_push(struct tr_task_list *l, size_t *cap, const struct tr_task_ref *ref,
                     json_object *task)
{
        if (l->n == *cap) {
                size_t ncap = *cap ? *cap * 2 : 16;
                struct tr_task_entry *v = realloc(l->v, ncap * sizeof *v);
                if (v == NULL)
                        return -1;
                l->v = v;
                *cap = ncap;
        }
        l->v[l->n].ref = *ref;
        l->v[l->n].task = task;
        l->n++;
        return 0;
}

/* Keep why a file was skipped, for the caller to say. */
static int note_skipped(struct tr_task_list *l, const struct tr_err *why)
{
        struct tr_err *v = realloc(l->skipped, (l->n_skipped + 1) * sizeof *v);

        if (v == NULL)
                return -1;
        l->skipped = v;
        l->skipped[l->n_skipped++] = *why;
        return 0;
}

/* Read one directory entry into the list if it is a task file; note it as skipped if bad. */
static int add_entry(const struct tr_store *s, const char *name, struct tr_task_list *l,
                     size_t *cap, struct tr_err *e)
{
        struct tr_task_ref ref;
        json_object *task;
        char id[TR_ID_MAX];

        if (task_file_id(name, id, sizeof id) == -1 || tr_store_ref(s, id, &ref, e) == -1)
                return 0;
        if (tr_task_read_settled(s, &ref, &task, e) == -1) {
                /* Deleted between readdir and open: it is simply gone. */
                if (e->errnum != ENOENT && note_skipped(l, e) == -1)
                        return tr_err_sys(e, ENOMEM, "%s", s->dir);
                return 0;
        }
        if (list_push(l, cap, &ref, task) == -1) {
                json_object_put(task);
                return tr_err_sys(e, ENOMEM, "%s", s->dir);
        }
        return 0;
}

int tr_list_load(const struct tr_store *s, struct tr_task_list *l, struct tr_err *e)
{
        DIR *d = opendir(s->dir);
        struct dirent *de;
        size_t cap = 0;

        memset(l, 0, sizeof *l);
        if (d == NULL)
                return tr_err_sys(e, errno, "%s", s->dir);
        while ((de = readdir(d)) != NULL)
                if (add_entry(s, de->d_name, l, &cap, e) == -1) {
                        closedir(d);
                        tr_list_free(l);
                        return -1;
                }
        closedir(d);
        if (l->n > 1)
                qsort(l->v, l->n, sizeof *l->v, entry_compare);
        return 0;
}

void tr_list_free(struct tr_task_list *l)
{
        for (size_t i = 0; i < l->n; i++)
                json_object_put(l->v[i].task);
        free(l->v);
        free(l->skipped);
        memset(l, 0, sizeof *l);
}
