/* Options of `taskrun [run] [options] -- command...`. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"
#include "taskrun/procinfo.h"
#include "on_exit.h"
#include "ping.h"
#include "run.h"
#include "taskrun/signame.h"

enum {
        OPT_CREATE = TR_OPT_FIRST_FREE,
        OPT_DESCRIPTION,
        OPT_TAIL,
        OPT_HEARTBEAT,
        OPT_TIMEOUT,
        OPT_SIGNAL,
        OPT_ON_FAIL,
        OPT_STRICT,
        OPT_PTY,
        OPT_LOG,
        OPT_SUMMARY,
        OPT_GITHUB,
        OPT_ON_EXIT,
        OPT_ON_EXIT_TIMEOUT,
        OPT_PING,
        OPT_PRESERVE_STATUS,
        OPT_ORPHANS,
        OPT_EVENTS,
        OPT_STALL_TIMEOUT,
        OPT_RETRY,
        OPT_RETRY_DELAY,
        OPT_RETRY_ON,
        OPT_RETRY_TIMEOUTS,
};

static const struct option run_options[] = {
    {"task", required_argument, NULL, 't'},
    {"create", no_argument, NULL, OPT_CREATE},
    {"subject", required_argument, NULL, 's'},
    {"description", required_argument, NULL, OPT_DESCRIPTION},
    {"tail", required_argument, NULL, OPT_TAIL},
    {"heartbeat", required_argument, NULL, OPT_HEARTBEAT},
    {"timeout", required_argument, NULL, OPT_TIMEOUT},
    {"stall-timeout", required_argument, NULL, OPT_STALL_TIMEOUT},
    {"signal", required_argument, NULL, OPT_SIGNAL},
    {"kill-after", required_argument, NULL, 'k'},
    {"preserve-status", no_argument, NULL, OPT_PRESERVE_STATUS},
    {"orphans", required_argument, NULL, OPT_ORPHANS},
    {"retry", required_argument, NULL, OPT_RETRY},
    {"retry-delay", required_argument, NULL, OPT_RETRY_DELAY},
    {"retry-on", required_argument, NULL, OPT_RETRY_ON},
    {"retry-timeouts", no_argument, NULL, OPT_RETRY_TIMEOUTS},
    {"on-fail", required_argument, NULL, OPT_ON_FAIL},
    {"strict", no_argument, NULL, OPT_STRICT},
    {"group", no_argument, NULL, 'g'},
    {"pty", no_argument, NULL, OPT_PTY},
    {"quiet", no_argument, NULL, 'q'},
    {"detach", no_argument, NULL, 'd'},
    {"log", required_argument, NULL, OPT_LOG},
    {"summary", required_argument, NULL, OPT_SUMMARY},
    {"github", no_argument, NULL, OPT_GITHUB},
    {"on-exit", required_argument, NULL, OPT_ON_EXIT},
    {"on-exit-timeout", required_argument, NULL, OPT_ON_EXIT_TIMEOUT},
    {"ping", required_argument, NULL, OPT_PING},
    {"events", required_argument, NULL, OPT_EVENTS},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    TR_STORE_LONGOPTS,
    TR_GATE_LONGOPTS,
    {NULL, 0, NULL, 0},
};

void tr_run_usage_options(FILE *f, int rerun)
{
        if (!rerun)
                fputs("task:    -t, --task ID      update task ID (with --create, make it if "
                      "missing)\n"
                      "             --create       create --task ID if it does not exist\n"
                      "         -s, --subject TEXT subject of a new task (default: the command "
                      "line)\n"
                      "             --description TEXT  description of a new task\n",
                      f);
        else
                fputs("task:\n", f);
        fputs(
            "             --list NAME    task list (default $CLAUDE_CODE_TASK_LIST_ID, else\n"
            "                            $CLAUDE_CODE_SESSION_ID, else the personal list in\n"
            "                            ${XDG_STATE_HOME:-~/.local/state}/taskrun/tasks/default)\n"
            "             --dir DIR      task list directory\n"
            "             --file PATH    a plain JSON task file instead of a Claude list\n"
            "             --follow-symlinks   allow a symlinked task file or list directory\n"
            "             --lock-timeout DURATION  give up waiting for a lock (default 30s)\n"
            "             --on-fail in_progress|pending  status of a failed Claude task\n"
            "             --strict       task file errors make taskrun fail (status 125)\n"
            "run:     -k, --kill-after DURATION  SIGKILL this long after the timeout signal\n"
            "             --timeout DURATION     stop the command after DURATION (status 124)\n"
            "             --stall-timeout DURATION  stop it once it has printed nothing for\n"
            "                            DURATION (status 124, state stalled)\n"
            "             --signal SIG   signal sent on timeout or stall (default TERM)\n"
            "             --preserve-status      exit with the command's status even on timeout\n"
            "             --orphans leave|wait|kill  descendants left when the command exits:\n"
            "                            go on (default), wait for them, or end them\n"
            "         -g, --group        forward signals to the command's process group\n"
            "             --retry N      run a failed command again, up to N more times\n"
            "             --retry-delay DURATION  first wait before a retry (1s), doubled\n"
            "                            each time, at most 60s, with jitter\n"
            "             --retry-on CODES  retry only on these exit statuses (1,2,75)\n"
            "             --retry-timeouts  retry after a timeout or stall too\n"
            "             --pty          run the command on a pseudo-terminal (keeps colour)\n"
            "output:      --tail SIZE    bytes of output kept for the task (default 64K, max 1M)\n"
            "             --heartbeat DURATION   progress updates at most this often (5s; 0 off)\n"
            "         -q, --quiet        show output only if the command fails\n"
            "             --summary FILE write a JSON result object to FILE\n"
            "             --github       GitHub Actions: fold output, write step summary\n"
            "report:      --on-exit CMD  run sh -c CMD at the end, the task as JSON on stdin\n"
            "             --on-exit-timeout DURATION  stop the --on-exit hook after this (30s)\n"
            "             --ping URL     healthchecks.io pings: URL/start, URL or URL/STATUS\n"
            "             --events FILE  append lifecycle events to FILE as JSON Lines\n"
            "         -d, --detach       run in the background; print the task id and return\n"
            "             --log PATH     output of a detached run (default: beside the task)\n"
            "         -h, --help         this help\n"
            "         -V, --version      print the version\n",
            f);
        tr_gate_usage(f);
}

void tr_run_usage(FILE *f)
{
        fputs("usage: taskrun [options] [--] command [arg...]\n"
              "       taskrun create|update|show|list|wait|reap|kill|logs|rerun [options] ...\n"
              "       taskrun lists|gc|hook [options]\n"
              "\n"
              "Run a command and keep its task file true: in_progress while it runs,\n"
              "then completed or failed with exit status, duration and output tail.\n"
              "\n",
              f);
        tr_run_usage_options(f, 0);
        fputs("\n"
              "The command goes after '--'; a first word that is no subcommand is refused.\n"
              "Each run's final task is also kept in taskrun's run archive\n"
              "(${XDG_STATE_HOME:-~/.local/state}/taskrun/runs, the newest 100 per list),\n"
              "where wait, show and logs find it once the task file is gone.\n"
              "\n"
              "exit status: the command's (its last attempt's with --retry), or 128+N if\n"
              "signal N ended it; 124 --timeout or --stall-timeout expired (137 if SIGKILL\n"
              "had to end it); 125 taskrun's own error (or a task\n"
              "file error with --strict), also when output could not be written and the\n"
              "command succeeded; 126 command not executable; 127 command not found (also\n"
              "with --detach, which otherwise exits 0 once the command has started);\n"
              "2 an unknown command word, or a command without '--'; 121 not run: a\n"
              "blocker failed, was killed or lost; 122 not run: --unique/--once found a\n"
              "live run with the key (its id printed); with --attach, that run's status\n"
              "(3 if it was lost).\n",
              f);
}

/* "65536", "64K", "1M". */
static int parse_size(const char *s, size_t *out)
{
        char *end;
        unsigned long long n;

        errno = 0;
        n = strtoull(s, &end, 10);
        if (errno != 0 || end == s || *s == '-')
                return -1;
        int shift = 0;

        if (*end == 'k' || *end == 'K')
                shift = 10, end++;
        else if (*end == 'm' || *end == 'M')
                shift = 20, end++;
        if (*end != '\0' || n == 0 || n > ((unsigned long long)TR_TAIL_MAX >> shift))
                return -1;
        n <<= shift;
        *out = (size_t)n;
        return 0;
}

/* --orphans leave|wait|kill. 0, or -1 after saying why. */
static int orphans_opt(const char *arg, enum tr_orphans *out)
{
        static const char *const names[] = {"leave", "wait", "kill"};

        for (int i = 0; i < 3; i++)
                if (strcmp(arg, names[i]) == 0) {
                        *out = (enum tr_orphans)i;
                        return 0;
                }
        tr_warnx("--orphans: must be leave, wait or kill, not '%s'", arg);
        return -1;
}

static int apply_retry_option(struct tr_run_opts *o, int c, const char *arg);

/* spec->apply of the run form and rerun: o is a struct tr_run_opts. */
static int apply_option(void *opts, int c, const char *arg)
{
        struct tr_run_opts *o = opts;

        switch (c) {
        case 't':
                o->task_id = arg;
                return 0;
        case OPT_CREATE:
                o->create = 1;
                return 0;
        case 's':
                o->subject = arg;
                return 0;
        case OPT_DESCRIPTION:
                o->description = arg;
                return 0;
        case OPT_TAIL:
                if (parse_size(arg, &o->tail_bytes) == 0)
                        return 0;
                tr_warnx("--tail: invalid size '%s' (1 to 1M, K and M suffixes)", arg);
                return -1;
        case OPT_HEARTBEAT:
                return tr_duration_opt(NULL, "--heartbeat", arg, -1, &o->heartbeat_ms);
        case OPT_TIMEOUT:
                return tr_duration_opt(NULL, "--timeout", arg, -1, &o->timeout_ms);
        case 'k':
                return tr_duration_opt(NULL, "--kill-after", arg, -1, &o->kill_after_ms);
        case OPT_SIGNAL:
                if ((o->timeout_signal = tr_parse_signal(arg)) > 0)
                        return 0;
                tr_warnx("--signal: unknown signal '%s'", arg);
                return -1;
        case OPT_ON_FAIL:
                if (strcmp(arg, "pending") == 0 || strcmp(arg, "in_progress") == 0) {
                        o->fail_pending = strcmp(arg, "pending") == 0;
                        return 0;
                }
                tr_warnx("--on-fail: must be in_progress or pending, not '%s'", arg);
                return -1;
        case OPT_STRICT:
                o->strict = 1;
                return 0;
        case 'g':
                o->group = 1;
                return 0;
        case OPT_PTY:
                o->pty = 1;
                return 0;
        case 'q':
                o->quiet = 1;
                return 0;
        case 'd':
                o->detach = 1;
                return 0;
        case OPT_LOG:
                o->log_path = arg;
                return 0;
        case OPT_SUMMARY:
                o->summary_path = arg;
                return 0;
        case OPT_GITHUB:
                o->github = 1;
                return 0;
        case OPT_ON_EXIT:
                o->on_exit = arg;
                return 0;
        case OPT_ON_EXIT_TIMEOUT:
                return tr_duration_opt(NULL, "--on-exit-timeout", arg, -1, &o->on_exit_timeout_ms);
        case OPT_EVENTS:
                o->events_path = arg;
                return 0;
        case OPT_PING:
                if (tr_ping_url_ok(arg)) {
                        o->ping_url = arg;
                        return 0;
                }
                tr_warnx("--ping: not an http or https URL: %s", arg);
                return -1;
        case OPT_PRESERVE_STATUS:
                o->preserve_status = 1;
                return 0;
        case OPT_ORPHANS:
                return orphans_opt(arg, &o->orphans);
        case OPT_STALL_TIMEOUT:
                return tr_duration_opt(NULL, "--stall-timeout", arg, -1, &o->stall_timeout_ms);
        }
        return apply_retry_option(o, c, arg);
}

/* --retry and its companions, then the gate options. */
static int apply_retry_option(struct tr_run_opts *o, int c, const char *arg)
{
        char *end;
        long n;

        switch (c) {
        case OPT_RETRY:
                errno = 0;
                n = strtol(arg, &end, 10);
                if (errno == 0 && end != arg && *end == '\0' && n >= 0 && n <= TR_RETRY_MAX) {
                        o->retry.max = (int)n;
                        return 0;
                }
                tr_warnx("--retry: must be a number from 0 to %d, not '%s'", TR_RETRY_MAX, arg);
                return -1;
        case OPT_RETRY_DELAY:
                if (tr_duration_opt(NULL, "--retry-delay", arg, -1, &o->retry.delay_ms) == -1)
                        return -1;
                if (o->retry.delay_ms <= TR_RETRY_DELAY_MAX_MS)
                        return 0;
                tr_warnx("--retry-delay: at most a day, not '%s'", arg);
                return -1;
        case OPT_RETRY_ON:
                if (tr_retry_on_parse(arg, &o->retry) == 0)
                        return 0;
                tr_warnx("--retry-on: exit statuses from 1 to 255 separated by commas, not '%s'",
                         arg);
                return -1;
        case OPT_RETRY_TIMEOUTS:
                o->retry.timeouts = 1;
                return 0;
        }
        return tr_gate_opt(&o->gate, c, arg) == 1 ? 0 : -1;
}

/* The companions of --retry need it. */
static int check_retry(const struct tr_run_opts *o)
{
        const struct tr_retry_opts *r = &o->retry;

        if (r->max > 0)
                return 0;
        if (r->delay_ms != TR_RETRY_DELAY_MS)
                tr_warnx("--retry-delay: only with --retry");
        else if (r->on_given)
                tr_warnx("--retry-on: only with --retry");
        else if (r->timeouts)
                tr_warnx("--retry-timeouts: only with --retry");
        else
                return 0;
        return -1;
}

/* Options that need or exclude each other. 0, or -1 after saying which. */
static int check_combination(const struct tr_run_opts *o)
{
        if (o->create && o->task_id == NULL)
                tr_warnx("--create: needs --task ID");
        else if (o->store.file != NULL && (o->task_id || o->store.dir || o->store.list))
                tr_warnx("--file: cannot be combined with --task, --dir or --list");
        else if (o->log_path != NULL && !o->detach)
                tr_warnx("--log: only with --detach");
        else if (o->kill_after_ms > 0 && o->timeout_ms == 0 && o->stall_timeout_ms == 0 &&
                 o->orphans != TR_ORPHANS_KILL)
                tr_warnx("--kill-after: only with --timeout, --stall-timeout or --orphans kill");
        else if (o->on_exit_timeout_ms != TR_ON_EXIT_TIMEOUT_MS && o->on_exit == NULL)
                tr_warnx("--on-exit-timeout: only with --on-exit");
        else if (o->on_exit_timeout_ms <= 0)
                tr_warnx("--on-exit-timeout: must be more than 0");
        else if (o->gate.attach && o->detach)
                tr_warnx("--attach: not with --detach (it waits for the other run)");
        else if (check_retry(o) == 0)
                return tr_gate_check(&o->gate);
        return -1;
}

/* $TASKRUN_PING_URL stands in for --ping; a bad one is only a warning, as it may be
 * set for every command of a machine. */
static void ping_from_env(struct tr_run_opts *o)
{
        const char *url = getenv("TASKRUN_PING_URL");

        if (o->ping_url != NULL || url == NULL || *url == '\0')
                return;
        if (tr_ping_url_ok(url))
                o->ping_url = url;
        else
                tr_warnx("TASKRUN_PING_URL: not an http or https URL, not pinging: %s", url);
}

int tr_run_check(struct tr_run_opts *o)
{
        if (check_combination(o) == -1)
                return -1;
        ping_from_env(o);
        return 0;
}

/*
 * The command must follow "--" (or the word "run"): a word taskrun does not
 * know is a typo far more often than a program to run.
 */
static int command_unmarked(const struct tr_cmd_args *args, int explicit_run)
{
        if (explicit_run || args->n == 0 || args->after_dashdash)
                return 0;
        tr_warnx("'%s': the command goes after '--': taskrun [options] -- %s", args->v[0],
                 args->v[0]);
        return 1;
}

void tr_run_defaults(struct tr_run_opts *o)
{
        memset(o, 0, sizeof *o);
        o->tail_bytes = TR_TAIL_DEFAULT;
        o->heartbeat_ms = 5000;
        o->timeout_signal = SIGTERM;
        o->on_exit_timeout_ms = TR_ON_EXIT_TIMEOUT_MS;
        tr_store_opts_defaults(&o->store);
        o->retry.delay_ms = TR_RETRY_DELAY_MS;
}

int tr_run_options(const char *cmd, void (*usage)(FILE *), int argc, char **argv,
                   struct tr_run_opts *o, struct tr_cmd_args *args)
{
        /* '+': the run form's options end at the command, whose own options are not ours. */
        const char *shortopts = cmd == NULL ? "+t:s:k:gqdhV" : "t:s:k:gqdhV";
        const struct tr_cmd_spec spec = {cmd,          shortopts, run_options, usage,
                                         apply_option, NULL,      -1};
        int r = tr_cmd_parse(&spec, argc, argv, o, &o->store, args);

        /* As env(1) and timeout(1): taskrun's own errors are 125, never the command's 2. */
        return r == TR_EXIT_USAGE ? TR_EXIT_ERROR : r;
}

int tr_run_parse(int argc, char **argv, int explicit_run, struct tr_run_opts *o)
{
        struct tr_cmd_args args;
        int r;

        tr_run_defaults(o);
        if ((r = tr_run_options(NULL, tr_run_usage, argc, argv, o, &args)) != TR_GO)
                return r;
        if (command_unmarked(&args, explicit_run))
                return TR_EXIT_USAGE;
        if (args.n == 0) {
                tr_warnx("no command given (usage: taskrun [options] -- command [arg...])");
                return TR_EXIT_ERROR;
        }
        if (tr_run_check(o) == -1)
                return TR_EXIT_ERROR;
        o->argv = args.v;
        return TR_GO;
}
