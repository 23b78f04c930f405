/* Where task lists and task files are, and which names are safe. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "taskrun/path.h"
#include "taskrun/store.h"

int tr_path_join(char *buf, size_t n, const char *dir, const char *name)
{
        int len = snprintf(buf, n, "%s/%s", dir, name);

        if (len < 0 || (size_t)len >= n) {
                errno = ENAMETOOLONG;
                return -1;
        }
        return 0;
}

int tr_id_validate(const char *what, const char *id, struct tr_err *e)
{
        size_t n = strlen(id);

        if (n == 0)
                return tr_err_set(e, EINVAL, "%s: empty name", what);
        if (n >= TR_ID_MAX)
                return tr_err_set(e, EINVAL, "%s: name longer than %d bytes", what, TR_ID_MAX - 1);
        for (size_t i = 0; i < n; i++) {
                unsigned char c = (unsigned char)id[i];
                if (!(c >= 'a' && c <= 'z') && !(c >= 'A' && c <= 'Z') && !(c >= '0' && c <= '9') &&
                    c != '_' && c != '-')
                        return tr_err_set(e, EINVAL,
                                          "%s: invalid name '%s': only A-Z a-z 0-9 _ - allowed",
                                          what, id);
        }
        return 0;
}

/* mkdir -p for the parents of a list directory; the last component too. */
static int mkdir_parents(char *path)
{
        for (char *p = path + 1; *p; p++) {
                if (*p != '/')
                        continue;
                *p = '\0';
                int r = mkdir(path, 0777);
                *p = '/';
                if (r == -1 && errno != EEXIST)
                        return -1;
        }
        return mkdir(path, 0777) == -1 && errno != EEXIST ? -1 : 0;
}

/*
 * The list a command works on when neither --file nor --dir names one,
 * following Claude Code's own rule as the code of its release 2.1.332 states
 * it (getTaskListId, minified `ck`):
 *
 *   1. $CLAUDE_CODE_TASK_LIST_ID;
 *   2. in a teammate running inside the leader's process: the leader's
 *      session list id, else the teammate's team name;
 *   3. the team name of this process (a teammate in its own process gets it
 *      as --team-name);
 *   4. the session list id (a list carried over /clear or restored);
 *   5. the name of the team the session leads;
 *   6. the session's own list id (set by a restore), else the session id.
 *
 * A shell of Claude's Bash tool sees only 1 (when the user exported it, or a
 * leader with a carried-over list started the teammate: it then passes
 * CLAUDE_CODE_TASK_LIST_ID) and 6's session id, which the tool sets in
 * every shell as CLAUDE_CODE_SESSION_ID (with CLAUDECODE=1 and
 * CLAUDE_CODE_CHILD_SESSION=1). Steps 2-5 live in Claude's memory. After
 * /clear, Claude moves the session's list to the new session id, which the
 * shells then get. Outside any session: the personal list in taskrun's state
 * directory.
 */
static int resolve_list(struct tr_store *s, const char *list, struct tr_err *e)
{
        static const struct {
                const char *var;
                enum tr_list_source source;
        } vars[] = {
            {"CLAUDE_CODE_TASK_LIST_ID", TR_SOURCE_ENV_LIST},
            {"CLAUDE_CODE_SESSION_ID", TR_SOURCE_SESSION},
        };
        char config[PATH_MAX];

        s->source = TR_SOURCE_LIST;
        for (size_t i = 0; i < sizeof vars / sizeof vars[0] && (list == NULL || *list == '\0');
             i++) {
                list = getenv(vars[i].var);
                s->source = vars[i].source;
        }
        if (list == NULL || *list == '\0') {
                s->source = TR_SOURCE_PERSONAL;
                snprintf(s->list, sizeof s->list, "%s", TR_PERSONAL_LIST);
                return tr_personal_list_dir(s->dir, sizeof s->dir, e);
        }
        if (tr_id_validate("task list", list, e) == -1)
                return -1;
        snprintf(s->list, sizeof s->list, "%s", list);
        if (tr_claude_config_dir(config, sizeof config, e) == -1)
                return -1;
        if (snprintf(s->dir, sizeof s->dir, "%s/tasks/%s", config, list) >= (int)sizeof s->dir)
                return tr_err_sys(e, ENAMETOOLONG, "task list");
        return 0;
}

/* The list directory must be a directory, and not a symlink unless allowed. */
static int check_dir(struct tr_store *s, int create, struct tr_err *e)
{
        struct stat st;

        if (lstat(s->dir, &st) == -1) {
                if (errno != ENOENT || !create)
                        return tr_err_sys(e, errno, "%s", s->dir);
                char tmp[PATH_MAX];
                memcpy(tmp, s->dir, sizeof tmp);
                if (mkdir_parents(tmp) == -1)
                        return tr_err_sys(e, errno, "%s: cannot create", s->dir);
                s->created = 1;
                if (lstat(s->dir, &st) == -1)
                        return tr_err_sys(e, errno, "%s", s->dir);
        }
        if (S_ISLNK(st.st_mode)) {
                if (!s->follow_symlinks)
                        return tr_err_set(
                            e, ELOOP,
                            "%s: task list is a symlink; refusing (see --follow-symlinks)", s->dir);
                if (stat(s->dir, &st) == -1)
                        return tr_err_sys(e, errno, "%s", s->dir);
        }
        if (!S_ISDIR(st.st_mode))
                return tr_err_set(e, ENOTDIR, "%s: not a directory", s->dir);
        return 0;
}

/* --file: the store is the file's directory, the task the file itself. */
static int open_plain_file(struct tr_store *s, const char *file, struct tr_task_ref *ref,
                           struct tr_err *e)
{
        const char *base;

        if (tr_path_split(file, s->dir, sizeof s->dir, &base) == -1 ||
            snprintf(ref->path, sizeof ref->path, "%s", file) >= (int)sizeof ref->path)
                return tr_err_sys(e, ENAMETOOLONG, "%s", file);
        if (*base == '\0')
                return tr_err_set(e, EINVAL, "%s: not a file name", file);
        snprintf(ref->id, sizeof ref->id, "%s", base);
        s->schema = TR_SCHEMA_PLAIN;
        return 0;
}

int tr_store_open(struct tr_store *s, const struct tr_store_opts *opts, int create,
                  struct tr_task_ref *ref, struct tr_err *e)
{
        memset(s, 0, sizeof *s);
        s->follow_symlinks = opts->follow_symlinks;
        s->lock_timeout_ms = opts->lock_timeout_ms;
        s->schema = TR_SCHEMA_CLAUDE;
        if (opts->file != NULL) {
                s->source = TR_SOURCE_FILE;
                if (ref == NULL)
                        return tr_err_set(e, EINVAL, "--file: not usable with this command");
                if (open_plain_file(s, opts->file, ref, e) == -1)
                        return -1;
                return check_dir(s, 0, e);
        }
        if (opts->dir != NULL) {
                if (*opts->dir == '\0')
                        return tr_err_set(e, EINVAL, "--dir: empty path");
                if (snprintf(s->dir, sizeof s->dir, "%s", opts->dir) >= (int)sizeof s->dir)
                        return tr_err_sys(e, ENAMETOOLONG, "%s", opts->dir);
                s->source = TR_SOURCE_DIR;
        } else if (resolve_list(s, opts->list, e) == -1) {
                return -1;
        }
        return check_dir(s, create, e);
}

int tr_store_ref(const struct tr_store *s, const char *id, struct tr_task_ref *ref,
                 struct tr_err *e)
{
        if (tr_id_validate("task", id, e) == -1)
                return -1;
        snprintf(ref->id, sizeof ref->id, "%s", id);
        if (snprintf(ref->path, sizeof ref->path, "%s/%s.json", s->dir, id) >=
            (int)sizeof ref->path)
                return tr_err_sys(e, ENAMETOOLONG, "%s", s->dir);
        return 0;
}
