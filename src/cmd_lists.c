/*
 * `taskrun lists`: every task list there is (Claude Code's under <config
 * dir>/tasks, and taskrun's personal one), newest change first, so that an
 * agent or a person can see where runs went.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "cmd.h"
#include "taskrun/clock.h"

#define CMD "lists"

static const struct option options[] = {
    {"json", no_argument, NULL, TR_OPT_JSON},
    {"help", no_argument, NULL, 'h'},
    TR_STORE_LONGOPTS,
    {NULL, 0, NULL, 0},
};

struct list_info {
        char name[TR_ID_MAX];
        char dir[PATH_MAX];
        int personal, current, exists;
        size_t tasks, running;
        int64_t changed_ns; /* newest mtime of the directory and its task files; -1 if none */
};

struct lists {
        struct list_info *v;
        size_t n, cap;
};

/* lists' --help; the man page says the same. */
static void usage(FILE *f)
{
        fputs("usage: taskrun lists [--json] [options]\n"
              "\n"
              "Every task list: each directory under $CLAUDE_CONFIG_DIR/tasks (or\n"
              "~/.claude/tasks) and taskrun's personal list, with its number of tasks,\n"
              "of running runs (a run whose process is gone counts as lost, not running),\n"
              "and its last change, newest first. The list a command would use here\n"
              "(--list, $CLAUDE_CODE_TASK_LIST_ID, $CLAUDE_CODE_SESSION_ID, else the\n"
              "personal list) is marked with '*', and shown even before it exists.\n"
              "\n"
              "         --json                   a JSON array of {list, dir, kind, tasks,\n"
              "                                  running, changed_at, current, exists}\n"
              "         -h, --help               this help\n",
              f);
        tr_cmd_store_usage(f);
        fputs("\nexit status: 0 listed; 1 a directory could not be read; 2 usage error.\n", f);
}

/* src into dst, cut to fit (names are validated ids and paths under PATH_MAX already). */
static void set_text(char *dst, size_t n, const char *src)
{
        size_t len = strnlen(src, n - 1);

        memcpy(dst, src, len);
        dst[len] = '\0';
}

/* A new, zeroed entry at the end of l, or NULL when out of memory. */
static struct list_info *lists_add(struct lists *l)
{
        if (l->n == l->cap) {
                size_t cap = l->cap ? l->cap * 2 : 16;
                struct list_info *v = realloc(l->v, cap * sizeof *v);
                if (v == NULL)
                        return NULL;
                l->v = v;
                l->cap = cap;
        }
        memset(&l->v[l->n], 0, sizeof l->v[0]);
        l->v[l->n].changed_ns = -1;
        return &l->v[l->n++];
}

/* When path last changed, in ns since the epoch; -1 if it is not there. */
static int64_t mtime_ns(const char *path)
{
        struct stat st;

        if (stat(path, &st) == -1)
                return -1;
        return (int64_t)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
}

/* Tasks, running runs and the last change of one list directory. */
static void count_list(struct list_info *li, const struct tr_here *here)
{
        struct tr_store s = {.schema = TR_SCHEMA_CLAUDE};
        struct tr_task_list tl;
        struct tr_err e;

        snprintf(s.dir, sizeof s.dir, "%s", li->dir);
        li->changed_ns = mtime_ns(li->dir);
        li->exists = li->changed_ns != -1;
        if (!li->exists || tr_list_load(&s, &tl, &e) == -1)
                return;
        li->tasks = tl.n;
        for (size_t i = 0; i < tl.n; i++) {
                int64_t t = mtime_ns(tl.v[i].ref.path);
                const char *state;
                if (t > li->changed_ns)
                        li->changed_ns = t;
                tr_task_judge(tl.v[i].task, TR_SCHEMA_CLAUDE, here);
                state = tr_json_str(tr_task_block(tl.v[i].task, TR_SCHEMA_CLAUDE), "state");
                if (state != NULL &&
                    (strcmp(state, "running") == 0 || strcmp(state, "stopped") == 0))
                        li->running++;
        }
        tr_list_free(&tl);
}

/* Every directory of <config dir>/tasks. -1 if it exists but cannot be read. */
static int scan_claude_lists(struct lists *l)
{
        char config[PATH_MAX], tasks[PATH_MAX + 8];
        struct tr_err e;
        struct dirent *de;
        struct stat st;
        DIR *d;

        if (tr_claude_config_dir(config, sizeof config, &e) == -1)
                return 0; /* no home: no Claude lists */
        snprintf(tasks, sizeof tasks, "%s/tasks", config);
        if ((d = opendir(tasks)) == NULL) {
                if (errno == ENOENT)
                        return 0;
                tr_warnx("%s: %s: %s", CMD, tasks, strerror(errno));
                return -1;
        }
        while ((de = readdir(d)) != NULL) {
                struct list_info *li;
                char dir[PATH_MAX * 2];
                if (de->d_name[0] == '.' || tr_id_validate("list", de->d_name, NULL) == -1)
                        continue;
                snprintf(dir, sizeof dir, "%s/%s", tasks, de->d_name);
                if (lstat(dir, &st) == -1 || !S_ISDIR(st.st_mode) || (li = lists_add(l)) == NULL)
                        continue;
                set_text(li->name, sizeof li->name, de->d_name);
                set_text(li->dir, sizeof li->dir, dir);
        }
        closedir(d);
        return 0;
}

/* The personal list, and the one this command's options and environment name. */
static void add_personal_and_current(struct lists *l, const struct tr_store_opts *so)
{
        struct tr_store cur;
        struct tr_err e;
        struct list_info *li;
        char personal[PATH_MAX];
        int have_cur = tr_store_open(&cur, so, 0, NULL, &e) == 0 || e.errnum == ENOENT;

        if (tr_personal_list_dir(personal, sizeof personal, &e) == 0 && (li = lists_add(l))) {
                set_text(li->name, sizeof li->name, TR_PERSONAL_LIST);
                set_text(li->dir, sizeof li->dir, personal);
                li->personal = 1;
        }
        if (!have_cur || cur.dir[0] == '\0')
                return;
        for (size_t i = 0; i < l->n; i++)
                if (strcmp(l->v[i].dir, cur.dir) == 0) {
                        l->v[i].current = 1;
                        return;
                }
        if ((li = lists_add(l)) != NULL) {
                set_text(li->name, sizeof li->name, cur.list[0] ? cur.list : cur.dir);
                set_text(li->dir, sizeof li->dir, cur.dir);
                li->current = 1;
        }
}

/* Newest change first; lists that have none (not made yet) last, by name. */
static int by_change(const void *a, const void *b)
{
        const struct list_info *x = a, *y = b;

        if (x->changed_ns != y->changed_ns)
                return x->changed_ns > y->changed_ns ? -1 : 1;
        return strcmp(x->name, y->name);
}

/* The last change as ISO 8601, or "-" for a list with no file yet. */
static void changed_text(const struct list_info *li, char *buf)
{
        struct timespec ts = {.tv_sec = (time_t)(li->changed_ns / 1000000000LL),
                              .tv_nsec = (long)(li->changed_ns % 1000000000LL)};

        if (li->changed_ns < 0)
                snprintf(buf, TR_ISO8601_LEN, "-");
        else
                tr_iso8601(&ts, buf);
}

/* The lists as a table for people, the current one marked with "*". */
static void print_table(const struct lists *l)
{
        int w = 4;
        char changed[TR_ISO8601_LEN];

        for (size_t i = 0; i < l->n; i++)
                if ((int)strlen(l->v[i].name) > w)
                        w = (int)strlen(l->v[i].name);
        printf("  %-*s  %5s  %7s  %-24s  %s\n", w, "LIST", "TASKS", "RUNNING", "CHANGED", "DIR");
        for (size_t i = 0; i < l->n; i++) {
                const struct list_info *li = &l->v[i];
                changed_text(li, changed);
                printf("%c %-*s  %5zu  %7zu  %-24s  %s%s\n", li->current ? '*' : ' ', w, li->name,
                       li->tasks, li->running, changed, li->dir, li->personal ? " (personal)" : "");
        }
}

/* The lists as one JSON array, for scripts. */
static void print_json(const struct lists *l)
{
        json_object *a = json_object_new_array();
        char changed[TR_ISO8601_LEN];

        for (size_t i = 0; i < l->n; i++) {
                const struct list_info *li = &l->v[i];
                json_object *o = json_object_new_object();
                changed_text(li, changed);
                json_object_object_add(o, "list", json_object_new_string(li->name));
                json_object_object_add(o, "dir", json_object_new_string(li->dir));
                json_object_object_add(
                    o, "kind", json_object_new_string(li->personal ? "personal" : "claude"));
                json_object_object_add(o, "tasks", json_object_new_int64((int64_t)li->tasks));
                json_object_object_add(o, "running", json_object_new_int64((int64_t)li->running));
                json_object_object_add(o, "changed_at",
                                       li->changed_ns < 0 ? NULL : json_object_new_string(changed));
                json_object_object_add(o, "current", json_object_new_boolean(li->current));
                json_object_object_add(o, "exists", json_object_new_boolean(li->exists));
                json_object_array_add(a, o);
        }
        printf("%s\n", tr_task_format(a));
        json_object_put(a);
}

/* spec->run: opts is the int that --json sets. */
static int lists(void *opts, const struct tr_store_opts *so, char **args, int nargs)
{
        int json = *(int *)opts;
        struct lists l = {0};
        struct tr_here here;
        int r = TR_EXIT_OK;

        (void)args, (void)nargs; /* none: max_args is 0 */
        if (scan_claude_lists(&l) == -1)
                r = TR_EXIT_FAIL;
        add_personal_and_current(&l, so);
        tr_here_init(&here);
        for (size_t i = 0; i < l.n; i++)
                count_list(&l.v[i], &here);
        if (l.n > 1)
                qsort(l.v, l.n, sizeof *l.v, by_change);
        if (json)
                print_json(&l);
        else
                print_table(&l);
        free(l.v);
        return tr_cmd_flush(CMD) == -1 ? TR_EXIT_FAIL : r;
}

static const struct tr_cmd_spec spec = {CMD, "h", options, usage, tr_cmd_json_opt, lists, 0};

int tr_cmd_lists(int argc, char **argv)
{
        int json = 0;

        return tr_cmd_main(&spec, argc, argv, &json);
}
