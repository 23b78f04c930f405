/* The command line: one entry per subcommand, each returning taskrun's exit status. */
#ifndef TASKRUN_CLI_H
#define TASKRUN_CLI_H

#include "exit.h"
#include "opts.h"
#include "taskrun/store.h"
#include "warn.h"

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
int tr_cmd_logs(int argc, char **argv);
int tr_cmd_lists(int argc, char **argv);
int tr_cmd_gc(int argc, char **argv);
int tr_cmd_hook(int argc, char **argv);
int tr_cmd_rerun(int argc, char **argv); /* taskrun rerun [options] ID */

/*
 * "taskrun: new task list 'NAME' in DIR" on stderr when tr_store_open has
 * just made a list named by --list, $CLAUDE_CODE_TASK_LIST_ID or the personal
 * default, so that a mistyped name is seen; nothing if quiet.
 */
void tr_note_new_list(const struct tr_store *s, int quiet);

#endif
