/* The command line: one entry per subcommand, each returning taskrun's exit status. */
#ifndef TASKRUN_CLI_H
#define TASKRUN_CLI_H

#include <getopt.h>

#include "exit.h"
#include "taskrun/store.h"

int tr_cli_main(int argc, char **argv);

int tr_cmd_run(int argc, char **argv);      /* taskrun [options] -- command */
int tr_cmd_run_word(int argc, char **argv); /* taskrun run [options] [--] command */
int tr_cmd_create(int argc, char **argv);
int tr_cmd_update(int argc, char **argv);
int tr_cmd_show(int argc, char **argv);
int tr_cmd_list(int argc, char **argv);
int tr_cmd_wait(int argc, char **argv);
int tr_cmd_reap(int argc, char **argv);
int tr_cmd_kill(int argc, char **argv);

/* "taskrun: " + message + newline on stderr. */
void tr_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Print an error struct the same way. */
void tr_warn_err(const struct tr_err *e);

/*
 * "taskrun: new task list 'NAME' in DIR" on stderr when tr_store_open has
 * just made a list named by --list, $CLAUDE_CODE_TASK_LIST_ID or the personal
 * default, so that a mistyped name is seen; nothing if quiet.
 */
void tr_note_new_list(const struct tr_store *s, int quiet);

/*
 * Options every command that touches the store accepts. Add
 * TR_STORE_LONGOPTS to a getopt_long table and pass each option to
 * tr_store_opt, which returns 1 if it was one of them, -1 on a bad value.
 */
enum {
        TR_OPT_DIR = 0x1000,
        TR_OPT_LIST,
        TR_OPT_FILE,
        TR_OPT_FOLLOW,
        TR_OPT_LOCK_TIMEOUT,
        TR_OPT_FIRST_FREE, /* commands number their own long-only options from here */
};
#define TR_STORE_LONGOPTS                                                                          \
        {"dir", required_argument, NULL, TR_OPT_DIR},                                              \
            {"list", required_argument, NULL, TR_OPT_LIST},                                        \
            {"file", required_argument, NULL, TR_OPT_FILE},                                        \
            {"follow-symlinks", no_argument, NULL, TR_OPT_FOLLOW},                                 \
        {                                                                                          \
                "lock-timeout", required_argument, NULL, TR_OPT_LOCK_TIMEOUT                       \
        }
int tr_store_opt(struct tr_store_opts *o, int opt, const char *arg);

#endif
