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

/* A task file's id, with what sorting it needs worked out once. */
struct name {
        char id[TR_ID_MAX];
        /* Numeric ids: how many leading zeros, and how many digits after them.
         * Offsets, not a pointer into id: qsort moves the structs. */
        size_t zeros, ndigits;
        int numeric;
};

static int name_compare(const void *a, const void *b)
{
        const struct name *x = a, *y = b;

        if (x->numeric != y->numeric)
                return x->numeric ? -1 : 1;
        if (x->numeric && x->ndigits != y->ndigits)
                return x->ndigits < y->ndigits ? -1 : 1;
        int r = x->numeric ? strcmp(x->id + x->zeros, y->id + y->zeros) : 0;
        /* "007" before "7": the same number, but an order that no qsort can vary. */
        return r != 0 ? r : strcmp(x->id, y->id);
}

/* The ids of a directory's task files: numeric ones by number first, then the others by strcmp. */
static int read_names(const char *dir, struct name **out, size_t *n, struct tr_err *e)
{
        DIR *d = opendir(dir);
        struct dirent *de;
        struct name *v = NULL;
        size_t cap = 0;

        *n = 0;
        if (d == NULL)
                return tr_err_sys(e, errno, "%s", dir);
        while ((de = readdir(d)) != NULL) {
                if (*n == cap) {
                        struct name *nv = realloc(v, (cap = cap ? cap * 2 : 64) * sizeof *v);
                        if (nv == NULL) {
                                closedir(d);
                                free(v);
                                return tr_err_sys(e, ENOMEM, "%s", dir);
                        }
                        v = nv;
                }
                struct name *m = &v[*n];
                if (task_file_id(de->d_name, m->id, sizeof m->id) == -1)
                        continue;
                (*n)++;
        }
        closedir(d);
        for (size_t i = 0; i < *n; i++) {
                struct name *m = &v[i];
                m->numeric = is_numeric(m->id);
                if (!m->numeric)
                        continue;
                for (m->zeros = 0; m->id[m->zeros] == '0' && m->id[m->zeros + 1] != '\0';
                     m->zeros++)
                        ;
                m->ndigits = strlen(m->id + m->zeros);
        }
        if (*n > 1)
                qsort(v, *n, sizeof *v, name_compare);
        *out = v;
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

/* Read one task and hand it to fn; a file that cannot be read is noted as skipped. */
static int visit(const struct tr_store *s, const char *id, struct tr_task_list *l, tr_list_fn fn,
                 void *arg, struct tr_err *e)
{
        struct tr_task_ref ref;
        json_object *task;
        int r;

        if (tr_store_ref(s, id, &ref, e) == -1)
                return 0;
        if (tr_task_read_settled(s, &ref, &task, e) == -1) {
                /* Deleted between readdir and open: it is simply gone. */
                if (e->errnum != ENOENT && note_skipped(l, e) == -1)
                        return tr_err_sys(e, ENOMEM, "%s", s->dir);
                return 0;
        }
        r = fn(&ref, task, arg);
        json_object_put(task);
        return r;
}

int tr_list_each(const struct tr_store *s, struct tr_task_list *l, tr_list_fn fn, void *arg,
                 struct tr_err *e)
{
        struct name *names = NULL;
        size_t n;
        int r = 0;

        memset(l, 0, sizeof *l);
        e->msg[0] = '\0';
        if (read_names(s->dir, &names, &n, e) == -1)
                return -1;
        for (size_t i = 0; i < n && r == 0; i++)
                r = visit(s, names[i].id, l, fn, arg, e);
        free(names);
        if (r == -1)
                free(l->skipped), l->skipped = NULL, l->n_skipped = 0;
        return r;
}

/* tr_list_load's fn: keep every task, in the order they come. */
static int keep(const struct tr_task_ref *ref, json_object *task, void *arg)
{
        struct tr_task_list *l = arg;

        if (l->n == l->cap) {
                size_t ncap = l->cap ? l->cap * 2 : 16;
                struct tr_task_entry *v = realloc(l->v, ncap * sizeof *v);
                if (v == NULL)
                        return -1;
                l->v = v;
                l->cap = ncap;
        }
        l->v[l->n].ref = *ref;
        l->v[l->n].task = json_object_get(task);
        l->n++;
        return 0;
}

int tr_list_load(const struct tr_store *s, struct tr_task_list *l, struct tr_err *e)
{
        struct tr_task_list kept = {0};
        int r = tr_list_each(s, l, keep, &kept, e);

        l->v = kept.v;
        l->n = kept.n;
        l->cap = kept.cap;
        if (r == -1) {
                if (e->msg[0] == '\0')
                        tr_err_sys(e, ENOMEM, "%s", s->dir);
                tr_list_free(l);
        }
        return r;
}

void tr_list_free(struct tr_task_list *l)
{
        for (size_t i = 0; i < l->n; i++)
                json_object_put(l->v[i].task);
        free(l->v);
        free(l->skipped);
        memset(l, 0, sizeof *l);
}
