/*
 * Where the directories are: the home directory, Claude Code's config
 * directory and taskrun's own state directory. A missing variable is never an
 * error: each has a fallback, down to the password database.
 */
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "taskrun/store.h"

/* A variable's value when it is set to an absolute path, else NULL. */
static const char *abs_env(const char *name)
{
        const char *v = getenv(name);

        return v != NULL && v[0] == '/' ? v : NULL;
}

/* $HOME, else the password database's home for our uid; ENOENT if neither. */
static int home_dir(char *buf, size_t n, struct tr_err *e)
{
        const char *home = abs_env("HOME");
        struct passwd pw, *found = NULL;
        char scratch[4096];

        if (home == NULL && getpwuid_r(getuid(), &pw, scratch, sizeof scratch, &found) == 0 &&
            found != NULL && found->pw_dir != NULL && found->pw_dir[0] == '/')
                home = found->pw_dir;
        if (home == NULL)
                return tr_err_set(e, ENOENT, "no home directory: HOME is not set");
        if (snprintf(buf, n, "%s", home) >= (int)n)
                return tr_err_sys(e, ENAMETOOLONG, "HOME");
        return 0;
}

int tr_claude_config_dir(char *buf, size_t n, struct tr_err *e)
{
        const char *config = getenv("CLAUDE_CONFIG_DIR");
        char home[PATH_MAX];

        if (config != NULL && *config != '\0') {
                if (snprintf(buf, n, "%s", config) >= (int)n)
                        return tr_err_sys(e, ENAMETOOLONG, "CLAUDE_CONFIG_DIR");
                return 0;
        }
        if (home_dir(home, sizeof home, e) == -1)
                return -1;
        if (snprintf(buf, n, "%s/.claude", home) >= (int)n)
                return tr_err_sys(e, ENAMETOOLONG, "%s/.claude", home);
        return 0;
}

int tr_state_dir(char *buf, size_t n, struct tr_err *e)
{
        /* The XDG spec: a relative XDG_STATE_HOME is invalid and ignored. */
        const char *state = abs_env("XDG_STATE_HOME");
        char home[PATH_MAX];
        int len;

        if (state != NULL) {
                len = snprintf(buf, n, "%s/taskrun", state);
        } else {
                if (home_dir(home, sizeof home, e) == -1)
                        return -1;
                len = snprintf(buf, n, "%s/.local/state/taskrun", home);
        }
        if (len < 0 || (size_t)len >= n)
                return tr_err_sys(e, ENAMETOOLONG, "state directory");
        return 0;
}

int tr_personal_list_dir(char *buf, size_t n, struct tr_err *e)
{
        char state[PATH_MAX];

        if (tr_state_dir(state, sizeof state, e) == -1)
                return -1;
        if (snprintf(buf, n, "%s/tasks/" TR_PERSONAL_LIST, state) >= (int)n)
                return tr_err_sys(e, ENAMETOOLONG, "%s", state);
        return 0;
}
