/* `taskrun -- command`: pick the task, supervise the command, record its life. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "taskrun/atomic.h"
#include "cli.h"
#include "prefault.h"
#include "run_ctx.h"
#include "run_log.h"

#define RESULT_LINES 10 /* output lines in a failed task's description */
/*
 * The running record is written once the command has run this long. A quick
 * command then costs one durable write, at its end, instead of two; nobody
 * can act on a task that says "running" for less than this anyway.
 */
#define RUNNING_DELAY_MS 50
#define ORPHAN_KILL_MS                                                                             \
        5000 /* --orphans kill without --kill-after: SIGKILL this long after TERM                  \
              */

/* An attempt's end as the record and the reports take it, and the text it owns. */
struct ending {
        struct tr_run_end end;
        char *tail, *last; /* end.tail and end.last_line */
};

/* Errors about what the user asked for stop us; I/O trouble only loses tracking. */
static int is_usage_error(int errnum)
{
        return errnum == EINVAL || errnum == ENOENT || errnum == ELOOP || errnum == EEXIST ||
               errnum == ENOTDIR || errnum == EFBIG;
}

/* The task --task names (or --file) must be there: reading it says so, and why not. */
static int select_existing(struct run_ctx *c, struct tr_err *e)
{
        json_object *task;

        if (tr_task_read(&c->store, &c->ref, &task, e) == -1) {
                if (e->errnum == ENOENT)
                        tr_err_set(e, ENOENT, "task %s: not found in %s (use --create to make it)",
                                   c->ref.id, c->store.dir);
                return -1;
        }
        json_object_put(c->gate.task);
        c->gate.task = task; /* its blockedBy is the gate's to read */
        return 0;
}

/* Open the store the options name, making a missing list, and say when a named list is new. */
static int open_list(struct run_ctx *c, struct tr_err *e)
{
        if (tr_store_open(&c->store, &c->o->store, 1, &c->ref, e) == -1)
                return -1;
        tr_note_new_list(&c->store, c->o->quiet);
        return 0;
}

/* The task the run keeps: --task (made with --create), --file, or a new one of the list. */
static int select_task(struct run_ctx *c, struct tr_err *e)
{
        const struct tr_run_opts *o = c->o;

        if (o->task_id != NULL && tr_store_ref(&c->store, o->task_id, &c->ref, e) == -1)
                return -1;
        if (o->task_id != NULL && !o->create)
                return select_existing(c, e);
        /* A task that is already there needs no create, which would write, fsync and
         * unlink a temp file only to find it there; one that is not is created below. */
        if (c->store.schema == TR_SCHEMA_PLAIN || o->task_id != NULL) {
                if (select_existing(c, e) == 0)
                        return 0;
                if (e->errnum != ENOENT)
                        return -1;
        }
        return tr_run_new_task(c, e);
}

/* The command has started: record its pid and start time, and leave the --slots line. */
static void on_start(void *ctx, const struct tr_child *child)
{
        struct run_ctx *c = ctx;

        c->info.pid = child->pid;
        tr_gate_started(&c->gate); /* the run behind in a --slots queue moves up */
        tr_proc_start_ticks(child->pid, &c->info.start_ticks);
        tr_run_emit_start(c);
}

/*
 * While the command runs and nothing else is to be done: what the end would
 * otherwise do between the command's exit and ours, a step at a time: first
 * what the final write would wait for, last the archive's part, which would
 * otherwise overlap the write's sync.
 */
static int on_idle(void *ctx)
{
        struct run_ctx *c = ctx;

        switch (c->idle_steps++) {
        case 0:
                tr_run_host_facts(c);
                return 1;
        case 1:
                tr_run_list_spare(c);
                return 1;
        default:
                tr_run_archive_ready(c);
                return 0;
        }
}

/*
 * Write the running record once, a moment after the start, so a quick
 * command writes its task once.
 */
static void on_running(void *ctx)
{
        struct run_ctx *c = ctx;

        if (c->running_written)
                return;
        /* A busy lock: try again at the next heartbeat; the end writes both if need be. */
        c->running_written = tr_run_write(c, tr_report_start, TR_RUN_TRANSIENT) != 1;
        tr_run_list_spare(c); /* a new task's first write took it: one for the end */
        if (c->ready_fd != -1) {
                close(c->ready_fd); /* the detaching parent may print the id now */
                c->ready_fd = -1;
        }
}

/* Progress into the task: output so far and the last line, at most every --heartbeat. */
static void on_heartbeat(void *ctx, const struct tr_tail *tail)
{
        struct run_ctx *c = ctx;
        char now[TR_ISO8601_LEN];
        char *last = tr_tail_last_line(tail);

        on_running(c); /* a heartbeat sooner than RUNNING_DELAY_MS */
        tr_iso8601_now(now);
        c->report.now = now;
        c->report.last_line = last;
        c->report.output_bytes = tail->total;
        tr_run_write(c, tr_report_heartbeat, TR_RUN_TRANSIENT);
        tr_run_emit_heartbeat(c, tail->total, last);
        free(last);
}

/* The command was stopped by a signal: the record says stopped until it continues. */
static void on_stopped(void *ctx, int sig)
{
        struct run_ctx *c = ctx;

        c->report.stop_signal = sig;
        on_running(c); /* the running record first, if it is not written yet */
        tr_run_write(c, tr_report_stopped, TR_RUN_TRANSIENT);
        tr_run_emit_stop(c, sig);
}

/* The command continues: the record says running again. */
static void on_continued(void *ctx)
{
        struct run_ctx *c = ctx;

        c->report.stop_signal = 0;
        tr_run_write(c, tr_report_stopped, TR_RUN_TRANSIENT);
        tr_run_emit_stop(c, 0);
}

/* Output the user will not see: say so once, and keep it for the record. */
static void on_output_error(void *ctx, const char *name, int errnum)
{
        struct run_ctx *c = ctx;

        tr_warnx("%s: %s", name, strerror(errnum));
        if (c->output_error[0] == '\0')
                snprintf(c->output_error, sizeof c->output_error, "%s: %s", name, strerror(errnum));
}

/* One stream's held bytes, as they came, to fd. */
static void replay(const struct tr_tail *t, int fd)
{
        size_t n;
        char *raw = tr_tail_raw(t, &n);

        if (raw != NULL)
                tr_write_all(fd, raw, n);
        free(raw);
}

/* --quiet and the command failed: what it wrote, each stream where it was going, as chronic. */
static void replay_output(const struct run_ctx *c, const struct tr_tail *tail)
{
        if (c->replay_out.cap != 0) {
                replay(&c->replay_out, STDOUT_FILENO);
                replay(&c->replay_err, STDERR_FILENO);
        } else {
                replay(tail, STDOUT_FILENO); /* one pipe: stdout and stderr are one file */
        }
}

/* The state a run ended in; a `taskrun kill` counts as killed whatever the command made of it. */
static enum tr_state end_state(const struct tr_outcome *out)
{
        if (out->exec_errno == 0 && out->kill_signal != 0)
                return TR_STATE_KILLED; /* whatever the command made of it */
        if (out->timed_out)
                return TR_STATE_TIMED_OUT;
        if (out->stalled)
                return TR_STATE_STALLED;
        if (out->exec_errno == 0 && out->signal != 0)
                return TR_STATE_KILLED;
        if (out->exec_errno == 0 && out->exit_code == 0)
                return TR_STATE_COMPLETED;
        return TR_STATE_FAILED;
}

/* How the attempt that ended is recorded and reported; ending_free gives back its text. */
static void ending_of(const struct run_ctx *c, const struct tr_outcome *out,
                      const struct tr_tail *tail, struct ending *x)
{
        struct tr_run_end *end = &x->end;

        *end = (struct tr_run_end){
            .state = end_state(out),
            .exit_code = out->signal       ? -1
                         : out->exec_errno ? tr_outcome_status(out, 0)
                                           : out->exit_code,
            .signal = out->signal,
            .timed_out = out->timed_out,
            .stalled = out->stalled,
            .stall_timeout_ms = c->o->stall_timeout_ms,
            .exec_errno = out->exec_errno,
            .duration_ms = out->duration_ms,
            .output_bytes = tail->total,
            .kill_signal = out->kill_signal,
            .kill_pid = out->kill_pid,
            .kill_uid = out->kill_uid,
            .output_error = c->output_error[0] ? c->output_error : NULL,
        };
        tr_iso8601_now(end->ended_at);
        x->tail = tr_tail_render(tail, 0);
        x->last = tr_tail_last_line(tail);
        end->tail = x->tail;
        end->tail_lines = x->tail ? tr_tail_last_lines(x->tail, RESULT_LINES) : NULL;
        end->last_line = x->last;
}

/* The text an ending owns; it may be filled again after. */
static void ending_free(struct ending *x)
{
        free(x->tail);
        free(x->last);
        x->tail = x->last = NULL;
}

/* The final record, then everything that reports the run to others. */
static void finish(struct run_ctx *c, const struct tr_outcome *out, const struct tr_run_end *end,
                   const struct tr_tail *tail)
{
        int status = tr_outcome_status(out, c->o->preserve_status);

        c->report.end = end;
        if (c->o->detach)
                tr_log_footer(STDOUT_FILENO, end); /* before the record: logs -f ends on it */
        tr_run_write_final(c, c->running_written || out->exec_errno ? tr_report_end
                                                                    : tr_run_report_start_end);
        if (c->ready_fd != -1 && out->exec_errno != 0) {
                unsigned char exec_status = (unsigned char)tr_outcome_status(out, 0);
                tr_write_all(c->ready_fd, &exec_status, 1); /* --detach: the parent exits with it */
        }
        tr_run_report_ci(c, end, status);
        if (c->o->quiet && end->state != TR_STATE_COMPLETED)
                replay_output(c, tail);
        if (out->exec_errno != 0)
                tr_warnx("%s: %s", c->o->argv[0], strerror(out->exec_errno));
        tr_run_hooks_end(c, end, status, end->tail);
}

/* fds 0-2 must be open, or our pipes could land on them and get mixed up. */
static void ensure_std_fds(void)
{
        for (int fd = 0; fd <= 2; fd++) {
                if (fcntl(fd, F_GETFD) != -1 || errno != EBADF)
                        continue;
                int null = open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY);
                if (null != -1 && null != fd) {
                        dup2(null, fd);
                        close(null);
                }
        }
}

/*
 * taskrun ignores SIGPIPE (a closed stdout is an error to handle, not death)
 * and SIGTTOU/SIGTTIN (it hands the terminal around). Those that were at
 * their default go back to it in the child.
 */
static void prepare_signals(struct tr_spawn_opts *sp)
{
        static const int ignored[] = {SIGPIPE, SIGTTOU, SIGTTIN};

        sigprocmask(SIG_SETMASK, NULL, &sp->mask);
        sigemptyset(&sp->defaults);
        for (size_t i = 0; i < sizeof ignored / sizeof ignored[0]; i++) {
                struct sigaction old;
                sigaction(ignored[i], NULL, &old);
                if (old.sa_handler == SIG_DFL) {
                        signal(ignored[i], SIG_IGN);
                        sigaddset(&sp->defaults, ignored[i]);
                }
        }
}

/* The facts of the run that go into its record: command, directory, start, supervisor. */
static void fill_info(struct run_ctx *c)
{
        struct tr_run_info *in = &c->info;

        in->argv = c->o->argv;
        if (getcwd(in->cwd, sizeof in->cwd) == NULL)
                snprintf(in->cwd, sizeof in->cwd, "?");
        tr_iso8601_now(in->started_at);
        in->supervisor_pid = getpid();
        if (c->o->retry.max > 0) {
                in->attempt = 1;
                in->attempts = json_object_new_array();
        }
        c->report.schema = c->store.schema;
        c->report.fail_status_pending = c->o->fail_pending;
        c->report.info = in;
}

/*
 * The same open file (a terminal, or `2>&1`): the command then gets one pipe
 * for both streams, so their order is exact, and the bytes go to the same
 * place anyway.
 */
static int same_file(int a, int b)
{
        struct stat sa, sb;

        return fstat(a, &sa) == 0 && fstat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
               sa.st_ino == sb.st_ino;
}

/* --quiet keeps each stream's own tail, to replay it where it was going. */
static int init_replay(struct run_ctx *c, struct tr_supervise_opts *so)
{
        if (tr_tail_init(&c->replay_out, c->o->tail_bytes) == -1 ||
            tr_tail_init(&c->replay_err, c->o->tail_bytes) == -1)
                return -1;
        so->replay_out = &c->replay_out;
        so->replay_err = &c->replay_err;
        return 0;
}

/* What the supervisor is told: the same for every attempt. */
static void supervise_opts(struct run_ctx *c, struct tr_supervise_opts *so)
{
        const struct tr_run_opts *o = c->o;

        *so = (struct tr_supervise_opts){
            .group = o->group,
            .quiet = o->quiet,
            .timeout_ms = o->timeout_ms,
            .stall_timeout_ms = o->stall_timeout_ms,
            .timeout_signal = o->timeout_signal,
            .kill_after_ms = o->kill_after_ms,
            .heartbeat_ms = o->heartbeat_ms,
            .running_delay_ms = o->detach ? 0 : RUNNING_DELAY_MS,
            .orphans = o->orphans,
            .orphan_kill_ms = o->kill_after_ms > 0 ? o->kill_after_ms : ORPHAN_KILL_MS,
            .on_start = on_start,
            .on_running = on_running,
            .on_idle = on_idle,
            .on_heartbeat = on_heartbeat,
            .on_stopped = on_stopped,
            .on_continued = on_continued,
            .on_output_error = on_output_error,
            .ctx = c,
        };
        so->spawn.argv = o->argv;
        so->spawn.pty = o->pty;
        so->spawn.one_pipe = !o->pty && same_file(STDOUT_FILENO, STDERR_FILENO);
        so->spawn.foreground =
            !o->pty && !o->detach && isatty(STDIN_FILENO) && tcgetpgrp(STDIN_FILENO) == getpgrp();
        prepare_signals(&so->spawn);
        c->mask = so->spawn.mask;
        c->defaults = so->spawn.defaults;
}

/* The wait before a retry was ended by a signal or `taskrun kill`: so ends the run. */
static void ended_waiting(struct tr_outcome *out, const struct tr_retry_stop *stop)
{
        out->signal = stop->signal;
        out->exit_code = 0;
        out->timed_out = out->stalled = 0;
        out->user_ended = 1;
        out->kill_signal = stop->req.signal;
        out->kill_pid = stop->req.pid;
        out->kill_uid = stop->req.uid;
}

/* A clean slate for the next attempt: its own output tail, start time and running record. */
static void next_attempt(struct run_ctx *c, struct tr_tail *tail)
{
        tr_tail_reset(tail);
        tr_tail_reset(&c->replay_out);
        tr_tail_reset(&c->replay_err);
        c->running_written = 0;
        c->output_error[0] = '\0';
        c->info.attempt++;
        c->info.pid = 0;
        tr_iso8601_now(c->info.started_at);
}

/*
 * The command, and again while --retry says so. *out and *x: the last
 * attempt's end (or the end of the wait that a signal cut short). 0, or -1
 * when the supervisor could not start the command at all.
 */
static int attempts(struct run_ctx *c, const struct tr_supervise_opts *so, struct tr_tail *tail,
                    struct tr_outcome *out, struct ending *x)
{
        struct tr_retry_stop stop;
        struct tr_err e;

        for (;;) {
                if (tr_supervise(so, tail, out, &e) == -1) {
                        tr_warn_err(&e);
                        return -1;
                }
                ending_of(c, out, tail, x);
                tr_run_attempt_add(c, &x->end);
                if (!tr_retry_wanted(&c->o->retry, out, c->info.attempt))
                        return 0;
                if (tr_run_retry_pause(c, &x->end, &stop) == 1) {
                        ended_waiting(out, &stop);
                        ending_free(x);
                        ending_of(c, out, tail, x);
                        x->end.between_attempts = 1;
                        return 0;
                }
                ending_free(x);
                next_attempt(c, tail);
        }
}

/* Past the gates: the attempts, the final record and the reports; the exit status. */
static int supervise(struct run_ctx *c)
{
        const struct tr_run_opts *o = c->o;
        struct tr_supervise_opts so;
        struct tr_tail tail;
        struct tr_outcome out;
        struct ending x = {0};
        int status = TR_EXIT_ERROR;

        supervise_opts(c, &so);
        if (tr_tail_init(&tail, o->tail_bytes) == -1 ||
            (o->quiet && !so.spawn.one_pipe && !o->pty && init_replay(c, &so) == -1)) {
                tr_warnx("output tail: %s", strerror(errno));
                return TR_EXIT_ERROR;
        }
        fill_info(c);
        if (o->detach)
                tr_log_header(STDOUT_FILENO, &c->info);
        tr_run_hooks_begin(c);
        if (attempts(c, &so, &tail, &out, &x) == 0) {
                finish(c, &out, &x.end, &tail);
                status = o->strict && c->write_failed ? TR_EXIT_ERROR
                                                      : tr_outcome_status(&out, o->preserve_status);
        } else {
                tr_run_hooks_abort(c);
        }
        ending_free(&x);
        tr_tail_free(&tail);
        tr_tail_free(&c->replay_out);
        tr_tail_free(&c->replay_err);
        json_object_put(c->info.attempts);
        return status;
}

/*
 * The pre-start gates (gate.h): blockers, then a slot; the command runs only
 * past them. In the process that supervises (after --detach): the key of
 * --unique names it, and learns its status at the end.
 */
static int gate_and_supervise(struct run_ctx *c)
{
        struct tr_gate *g = &c->gate;
        int status;

        g->ref = c->tracked ? &c->ref : NULL;
        g->options = c->info.options;
        tr_gate_unique_claim(g);
        status = tr_gate_pass(g);
        if (status == TR_GO)
                status = supervise(c);
        tr_gate_unique_end(g, status);
        tr_gate_release(g);
        return status;
}

/* The list, then --unique (before a task is made for a run that will not start), then the task. */
static int open_and_select(struct run_ctx *c)
{
        const struct tr_run_opts *o = c->o;
        struct tr_err e;
        int opened = open_list(c, &e), status;

        if (opened == -1 && (o->strict || is_usage_error(e.errnum))) {
                tr_warn_err(&e);
                return TR_EXIT_ERROR;
        }
        if ((status = tr_gate_unique(&c->gate)) != TR_GO)
                return status;
        if (opened == -1 || select_task(c, &e) == -1) {
                tr_warn_err(&e);
                if (o->strict || is_usage_error(e.errnum))
                        return TR_EXIT_ERROR;
                tr_warnx("running the command without a task file");
                c->tracked = 0;
        }
        return TR_GO;
}

/* From the task chosen to the end: detached or not, then the gates and the command. */
static int run_selected(struct run_ctx *c)
{
        struct tr_err e;
        int status = TR_EXIT_ERROR;

        if (c->o->detach) {
                int r = tr_run_detach(c, &status, &e);
                if (r != 0) {
                        if (r == -1)
                                tr_warn_err(&e);
                        return r == -1 ? TR_EXIT_ERROR : status;
                }
        }
        c->info.options = tr_run_opts_json(c->o); /* NULL for a run with the default options */
        return gate_and_supervise(c);
}

int tr_run(const struct tr_run_opts *o)
{
        struct run_ctx c = {.o = o, .tracked = 1, .ready_fd = -1, .events = {.fd = -1}};
        struct tr_err e;
        int status;

        ensure_std_fds();
        if (tr_gate_after_check(&o->gate, &o->store, &e) == -1) {
                tr_warn_err(&e);
                return TR_EXIT_ERROR;
        }
        tr_gate_init(&c.gate, &o->gate, o->argv);
        c.gate.store = &c.store;
        c.gate.task_id = o->task_id;
        c.gate.ready_fd = &c.ready_fd;
        if ((status = open_and_select(&c)) == TR_GO)
                status = run_selected(&c);
        json_object_put(c.info.options);
        json_object_put(c.pending);
        json_object_put(c.gate.task);
        free(c.archive_dir);
        free(c.log);
        return status;
}

/* The run form and `taskrun run`: parse, run, and free the options. */
static int run_main(int argc, char **argv, int explicit_run)
{
        struct tr_run_opts o;
        int r;

        tr_prefault(); /* first: before the stack and heap grow */
        r = tr_run_parse(argc, argv, explicit_run, &o);

        if (r == TR_GO)
                r = tr_run(&o);
        tr_gate_opts_free(&o.gate);
        return r;
}

int tr_cmd_run(int argc, char **argv)
{
        return run_main(argc, argv, 0);
}

int tr_cmd_run_word(int argc, char **argv)
{
        return run_main(argc, argv, 1);
}
