/* `taskrun [options] -- command`: options, and the glue between store and supervisor. */
#ifndef TASKRUN_RUN_H
#define TASKRUN_RUN_H

#include <stdint.h>
#include <stdio.h>

#include "report.h"
#include "taskrun/store.h"
#include "gate.h"
#include "opts.h"
#include "retry.h"
#include "supervise.h"
#include "taskrun/signame.h"

struct tr_run_opts {
        char **argv; /* the command */
        const char *task_id;
        int create; /* --create: make --task ID if it does not exist */
        const char *subject, *description;
        struct tr_store_opts store;
        size_t tail_bytes;
        int64_t heartbeat_ms;
        int64_t timeout_ms, kill_after_ms;
        int64_t stall_timeout_ms; /* --stall-timeout; 0: none */
        int timeout_signal;
        int preserve_status; /* the command's status even after a timeout, as timeout(1) */
        enum tr_orphans orphans;
        int fail_pending; /* --on-fail=pending */
        int strict;       /* task file errors change the exit status */
        int group, pty, quiet;
        int detach;
        const char *log_path;
        const char *summary_path;
        int github;
        const char *on_exit; /* --on-exit CMD */
        int64_t on_exit_timeout_ms;
        const char *ping_url;     /* --ping URL, else $TASKRUN_PING_URL */
        const char *events_path;  /* --events FILE */
        struct tr_gate_opts gate; /* --after, --slots, --unique, ... */
        struct tr_retry_opts retry;
};

/* Parse argv of `taskrun [run] [options] -- command...`: TR_GO to go on,
 * or the status to exit with now (0 after --help or --version). With
 * explicit_run (the word "run" came first) the "--" may be left out. */
int tr_run_parse(int argc, char **argv, int explicit_run, struct tr_run_opts *o);

/* The pieces of tr_run_parse, for rerun. Every option at its default. */
void tr_run_defaults(struct tr_run_opts *o);
/*
 * The run options in argv into o, over what o holds, through tr_cmd_parse.
 * cmd NULL: the run form, whose options end at the first operand (the
 * command); else a command that takes the run options (rerun), anywhere
 * among its operands, and says so in getopt's messages. usage is the --help.
 * argv may be parsed again. TR_GO with the operands in *args, or the status
 * to exit with now (0 after --help or --version, 125 after an error).
 */
int tr_run_options(const char *cmd, void (*usage)(FILE *), int argc, char **argv,
                   struct tr_run_opts *o, struct tr_cmd_args *args);
/* Options that do not go together (said on stderr): -1; else 0, and
 * $TASKRUN_PING_URL taken when --ping was not given. */
int tr_run_check(struct tr_run_opts *o);

void tr_run_usage(FILE *f);
/* The option lines of tr_run_usage; rerun's --help shows them without those for a new task. */
void tr_run_usage_options(FILE *f, int rerun);

/* --- the options a task records for rerun (run_opts_record.c) --- */

/* The options that differ from the defaults, as metadata.taskrun.options; NULL if none do. */
json_object *tr_run_opts_json(const struct tr_run_opts *o);
/* Recorded options (from tr_run_opts_json) into o; unknown keys and bad values are skipped. */
void tr_run_opts_from_json(json_object *options, struct tr_run_opts *o);

/* Run it all; returns taskrun's exit status. */
int tr_run(const struct tr_run_opts *o);

#endif
