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
#include "ci.h"
#include "cli.h"
#include "events.h"
#include "on_exit.h"
#include "ping.h"
#include "run.h"
#include "run_log.h"

#define RESULT_LINES 10 /* output lines in a failed task's description */
/*
 * The running record is written once the command has run this long. A quick
 * command then costs one durable write, at its end, instead of two; nobody
 * can act on a task that says "running" for less than this anyway.
 */
#define RUNNING_DELAY_MS 50
#define TRANSIENT_LOCK_MS 200
#define ORPHAN_KILL_MS                                                                             \
        5000 /* --orphans kill without --kill-after: SIGKILL this long after TERM                  \
              */

struct run_ctx {
        const struct tr_run_opts *o;
        struct tr_store store;
        struct tr_task_ref ref;
        int tracked;         /* a task file is kept for this run */
        int write_failed;    /* a task file write failed: --strict turns it into 125 */
        int running_written; /* the running record is in the file */
        int ready_fd;        /* --detach: closed once the running record is written */
        struct tr_run_info info;
        struct tr_report report;
        char log[PATH_MAX];      /* --detach: the log's absolute path */
        sigset_t mask, defaults; /* what the command starts with, for hooks too */
        struct tr_ping ping;     /* --ping */
        int pinging;
        char output_error[128];                /* "stdout: No space left on device" */
        struct tr_tail replay_out, replay_err; /* --quiet with two pipes */
        struct tr_events events;               /* --events */
        int start_emitted;
        struct tr_gate gate; /* --after, --slots, --unique: what the command waits for */
};

/* An --events line: event, time and task first; the caller adds the rest. */
static json_object *event_new(struct run_ctx *c, const char *name)
{
        json_object *ev = tr_event_new(name);

        json_object_object_add(ev, "task", c->tracked ? json_object_new_string(c->ref.id) : NULL);
        return ev;
}

/* Append it; a failure is one warning (and 125 with --strict), then no more events. */
static void emit(struct run_ctx *c, json_object *ev)
{
        struct tr_err e;

        if (tr_events_emit(&c->events, ev, &e) == -1) {
                tr_warn_err(&e);
                c->write_failed = 1;
                tr_events_close(&c->events);
        }
}

static void emit_start(struct run_ctx *c)
{
        json_object *ev;

        if (c->events.fd == -1 || c->start_emitted)
                return;
        c->start_emitted = 1;
        ev = event_new(c, "start");
        json_object_object_add(ev, "pid", c->info.pid ? json_object_new_int(c->info.pid) : NULL);
        tr_event_add_text(ev, "host", c->info.host);
        json_object_object_add(ev, "argv", tr_json_argv(c->o->argv));
        emit(c, ev);
}

static void emit_heartbeat(struct run_ctx *c, uint64_t bytes, const char *last)
{
        json_object *ev;

        if (c->events.fd == -1)
                return;
        ev = event_new(c, "heartbeat");
        json_object_object_add(ev, "output_bytes", json_object_new_int64((int64_t)bytes));
        tr_event_add_text(ev, "last_line", last);
        emit(c, ev);
}

/* stopped (sig > 0) or continued (sig == 0). */
static void emit_stop(struct run_ctx *c, int sig)
{
        json_object *ev;

        if (c->events.fd == -1)
                return;
        ev = event_new(c, sig ? "stopped" : "continued");
        if (sig)
                json_object_object_add(ev, "signal", json_object_new_int(sig));
        emit(c, ev);
}

static void emit_end(struct run_ctx *c, const struct tr_run_end *end, int status)
{
        json_object *ev;

        if (c->events.fd == -1)
                return;
        emit_start(c); /* a command that could not start has its start too */
        ev = event_new(c, "end");
        json_object_object_add(ev, "state", json_object_new_string(tr_state_name(end->state)));
        json_object_object_add(ev, "exit_code",
                               end->signal ? NULL : json_object_new_int(end->exit_code));
        json_object_object_add(ev, "signal", end->signal ? json_object_new_int(end->signal) : NULL);
        json_object_object_add(ev, "status", json_object_new_int(status));
        json_object_object_add(ev, "duration_ms", json_object_new_int64(end->duration_ms));
        emit(c, ev);
        tr_events_close(&c->events);
}

/* Errors about what the user asked for stop us; I/O trouble only loses tracking. */
static int is_usage_error(int errnum)
{
        return errnum == EINVAL || errnum == ENOENT || errnum == ELOOP || errnum == EEXIST ||
               errnum == ENOTDIR || errnum == EFBIG;
}

static int select_existing(struct run_ctx *c, struct tr_err *e)
{
        json_object *task;

        if (tr_task_read(&c->store, &c->ref, &task, e) == -1) {
                if (e->errnum == ENOENT)
                        tr_err_set(e, ENOENT, "task %s: not found in %s (use --create to make it)",
                                   c->ref.id, c->store.dir);
                return -1;
        }
        json_object_put(task);
        return 0;
}

static int open_list(struct run_ctx *c, struct tr_err *e)
{
        if (tr_store_open(&c->store, &c->o->store, 1, &c->ref, e) == -1)
                return -1;
        tr_note_new_list(&c->store, c->o->quiet);
        return 0;
}

static int select_task(struct run_ctx *c, struct tr_err *e)
{
        const struct tr_run_opts *o = c->o;
        char *subject;
        json_object *task;
        int r;

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
        subject = o->subject ? NULL : tr_argv_join(o->argv, 200);
        task = tr_task_new(o->subject ? o->subject : subject, o->description);
        free(subject);
        if (c->store.schema == TR_SCHEMA_PLAIN || o->task_id != NULL)
                r = tr_task_create_at(&c->store, &c->ref, task, TR_CREATE_ADOPT, e);
        else
                r = tr_task_create(&c->store, task, &c->ref, e);
        json_object_put(task);
        /* --detach prints the id on stdout; --quiet says nothing unless the command fails. */
        if (r == 0 && o->task_id == NULL && c->store.schema == TR_SCHEMA_CLAUDE && !o->detach &&
            !o->quiet)
                fprintf(stderr, "taskrun: task %s\n", c->ref.id);
        return r < 0 ? -1 : 0;
}

/* flags: TR_ATOMIC_LAZY for the transient running and heartbeat records. */
/*
 * Returns 0 written (or nothing to write to), 1 skipped because another
 * process holds the lock, -1 failed. A transient record waits for a lock at
 * most TRANSIENT_LOCK_MS: the loop stands still meanwhile, and a later
 * heartbeat or the end will say more anyway.
 */
static int write_task(struct run_ctx *c, tr_mutate_fn fn, int flags)
{
        struct tr_store store = c->store;
        int transient = flags & TR_ATOMIC_LAZY;
        struct tr_err e;

        if (!c->tracked)
                return 0;
        if (transient && (store.lock_timeout_ms < 0 || store.lock_timeout_ms > TRANSIENT_LOCK_MS))
                store.lock_timeout_ms = TRANSIENT_LOCK_MS;
        if (tr_task_update_ex(&store, &c->ref, fn, &c->report, flags, &e) == 0)
                return 0;
        if (transient && e.errnum == ETIMEDOUT)
                return 1;
        tr_warn_err(&e);
        c->write_failed = 1;
        return -1;
}

static void on_start(void *ctx, const struct tr_child *child)
{
        struct run_ctx *c = ctx;

        c->info.pid = child->pid;
        tr_gate_started(&c->gate); /* the run behind in a --slots queue moves up */
        tr_proc_start_ticks(child->pid, &c->info.start_ticks);
        emit_start(c);
}

static void on_running(void *ctx)
{
        struct run_ctx *c = ctx;

        if (c->running_written)
                return;
        /* A busy lock: try again at the next heartbeat; the end writes both if need be. */
        c->running_written = write_task(c, tr_report_start, TR_ATOMIC_LAZY) != 1;
        if (c->ready_fd != -1) {
                close(c->ready_fd); /* the detaching parent may print the id now */
                c->ready_fd = -1;
        }
}

/* A command that ended before its running record was written gets both in one write. */
static int report_start_end(json_object *task, void *arg, struct tr_err *e)
{
        if (tr_report_start(task, arg, e) == -1)
                return -1;
        return tr_report_end(task, arg, e);
}

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
        write_task(c, tr_report_heartbeat, TR_ATOMIC_LAZY);
        emit_heartbeat(c, tail->total, last);
        free(last);
}

static void on_stopped(void *ctx, int sig)
{
        struct run_ctx *c = ctx;

        c->report.stop_signal = sig;
        on_running(c); /* the running record first, if it is not written yet */
        write_task(c, tr_report_stopped, TR_ATOMIC_LAZY);
        emit_stop(c, sig);
}

static void on_continued(void *ctx)
{
        struct run_ctx *c = ctx;

        c->report.stop_signal = 0;
        write_task(c, tr_report_stopped, TR_ATOMIC_LAZY);
        emit_stop(c, 0);
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
        if (c->replay_out.ring != NULL) {
                replay(&c->replay_out, STDOUT_FILENO);
                replay(&c->replay_err, STDERR_FILENO);
        } else {
                replay(tail, STDOUT_FILENO); /* one pipe: stdout and stderr are one file */
        }
}

static enum tr_state end_state(const struct tr_outcome *out)
{
        if (out->exec_errno == 0 && out->kill_signal != 0)
                return TR_STATE_KILLED; /* whatever the command made of it */
        if (out->timed_out)
                return TR_STATE_TIMED_OUT;
        if (out->exec_errno == 0 && out->signal != 0)
                return TR_STATE_KILLED;
        if (out->exec_errno == 0 && out->exit_code == 0)
                return TR_STATE_COMPLETED;
        return TR_STATE_FAILED;
}

/* --summary and --github: results for whatever CI runs us. */
static void report_to_ci(struct run_ctx *c, const struct tr_run_end *end, int status)
{
        struct tr_ci_result r = {
            .argv = c->o->argv,
            .task_id = c->tracked ? c->ref.id : NULL,
            .started_at = c->info.started_at,
            .end = end,
            .subject = c->o->subject,
            .status = status,
        };
        struct tr_err e;

        if (c->o->summary_path != NULL && tr_ci_write_summary(c->o->summary_path, &r, &e) == -1) {
                tr_warn_err(&e);
                c->write_failed = 1;
        }
        if (c->o->github && tr_github_active()) {
                tr_github_group_end();
                if (tr_github_report(&r, &e) == -1)
                        tr_warn_err(&e);
        }
}

/* The hook's stdin: the task as it reads now, or the --summary object without one. */
static char *final_record(struct run_ctx *c, const struct tr_ci_result *r)
{
        json_object *o = NULL;
        struct tr_err e;
        char *text;

        if (c->tracked && tr_task_read(&c->store, &c->ref, &o, &e) == 0)
                text = strdup(tr_task_format(o));
        else if ((o = tr_ci_summary(r)) != NULL)
                text = strdup(json_object_to_json_string_ext(
                    o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
        else
                text = NULL;
        json_object_put(o);
        return text;
}

/* A failed hook is a warning, and metadata.taskrun.on_exit_error in the task. */
static void record_on_exit_error(struct run_ctx *c, const char *why)
{
        json_object *patch, *block;
        struct tr_err e;

        tr_warnx("--on-exit: %s", why);
        if (!c->tracked)
                return;
        patch = block = json_object_new_object();
        if (c->store.schema == TR_SCHEMA_CLAUDE) {
                json_object *meta = json_object_new_object();
                block = json_object_new_object();
                json_object_object_add(meta, "taskrun", block);
                json_object_object_add(patch, "metadata", meta);
        }
        json_object_object_add(block, "on_exit_error", json_object_new_string(why));
        if (tr_task_patch(&c->store, &c->ref, patch, &e) == -1)
                tr_warn_err(&e);
        json_object_put(patch);
}

/* --on-exit CMD, once the final record is written; never changes our exit status. */
static void run_on_exit(struct run_ctx *c, const struct tr_run_end *end, int status)
{
        struct tr_ci_result r = {
            .argv = c->o->argv,
            .task_id = c->tracked ? c->ref.id : NULL,
            .started_at = c->info.started_at,
            .end = end,
        };
        char *input = final_record(c, &r), dir[PATH_MAX];
        struct tr_on_exit h = {
            .cmd = c->o->on_exit,
            .input = input ? input : "",
            .input_len = input ? strlen(input) : 0,
            .timeout_ms = c->o->on_exit_timeout_ms,
            .task_id = c->tracked ? c->ref.id : "",
            .list_dir = !c->tracked                           ? ""
                        : realpath(c->store.dir, dir) != NULL ? dir
                                                              : c->store.dir,
            .state = tr_state_name(end->state),
            .exit_status = status,
            .duration_ms = end->duration_ms,
            .mask = c->mask,
            .defaults = c->defaults,
        };
        struct tr_err e;

        if (tr_on_exit_run(&h, &e) == -1)
                record_on_exit_error(c, e.msg);
        free(input);
}

/* --ping: the start ping goes out in the background, so the command does not wait. */
static void ping_begin(struct run_ctx *c)
{
        struct tr_err e;

        if (c->o->ping_url == NULL)
                return;
        if (tr_ping_init(&c->ping, c->o->ping_url, &e) == -1) {
                tr_warn_err(&e);
                return;
        }
        c->pinging = 1;
        tr_ping_start(&c->ping);
}

/* The end ping, after the final record; a monitor's trouble is only a warning. */
static void ping_end(struct run_ctx *c, int status, const char *body)
{
        struct tr_err start_e, e;
        int r;

        if (!c->pinging)
                return;
        r = tr_ping_end(&c->ping, status, body, body ? strlen(body) : 0, &start_e, &e);
        if (start_e.msg[0] != '\0')
                tr_warn_err(&start_e);
        if (r == -1)
                tr_warn_err(&e);
        tr_ping_free(&c->ping);
        c->pinging = 0;
}

static void finish(struct run_ctx *c, const struct tr_outcome *out, const struct tr_tail *tail)
{
        struct tr_run_end end = {
            .state = end_state(out),
            .exit_code = out->signal       ? -1
                         : out->exec_errno ? tr_outcome_status(out, 0)
                                           : out->exit_code,
            .signal = out->signal,
            .timed_out = out->timed_out,
            .exec_errno = out->exec_errno,
            .duration_ms = out->duration_ms,
            .output_bytes = tail->total,
            .kill_signal = out->kill_signal,
            .kill_pid = out->kill_pid,
            .kill_uid = out->kill_uid,
            .output_error = c->output_error[0] ? c->output_error : NULL,
        };
        char *full = tr_tail_render(tail, 0), *last = tr_tail_last_line(tail);

        tr_iso8601_now(end.ended_at);
        end.tail = full;
        end.tail_lines = full ? tr_tail_last_lines(full, RESULT_LINES) : NULL;
        end.last_line = last;
        c->report.end = &end;
        if (c->o->detach)
                tr_log_footer(STDOUT_FILENO, &end); /* before the record: logs -f ends on it */
        write_task(c, c->running_written || out->exec_errno ? tr_report_end : report_start_end, 0);
        if (c->ready_fd != -1 && out->exec_errno != 0) {
                unsigned char status = (unsigned char)tr_outcome_status(out, 0);
                tr_write_all(c->ready_fd, &status, 1); /* --detach: the parent exits with it */
        }
        report_to_ci(c, &end, tr_outcome_status(out, c->o->preserve_status));
        if (c->o->quiet && end.state != TR_STATE_COMPLETED)
                replay_output(c, tail);
        if (out->exec_errno != 0)
                tr_warnx("%s: %s", c->o->argv[0], strerror(out->exec_errno));
        emit_end(c, &end, tr_outcome_status(out, c->o->preserve_status));
        ping_end(c, tr_outcome_status(out, c->o->preserve_status), full);
        if (c->o->on_exit != NULL)
                run_on_exit(c, &end, tr_outcome_status(out, c->o->preserve_status));
        free(full);
        free(last);
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

static int log_path(const struct run_ctx *c, char *buf, size_t n)
{
        int len;

        if (c->o->log_path != NULL)
                len = snprintf(buf, n, "%s", c->o->log_path);
        else if (c->store.schema == TR_SCHEMA_PLAIN)
                len = snprintf(buf, n, "%s.log", c->ref.path);
        else
                len = snprintf(buf, n, "%s/%s.log", c->store.dir, c->ref.id);
        return len < 0 || (size_t)len >= n ? -1 : 0;
}

/* The parent returns once the supervisor has written the running record (or
 * died), so a `taskrun wait` right after sees this run, not the last one. */
static int detach_parent(const struct run_ctx *c, pid_t pid, int ready, int *status)
{
        unsigned char exec_status;
        ssize_t n;
        int ws = 0;

        while (waitpid(pid, &ws, 0) == -1 && errno == EINTR)
                ;
        while ((n = read(ready, &exec_status, 1)) == -1 && errno == EINTR)
                ;
        close(ready);
        *status = WIFEXITED(ws) ? WEXITSTATUS(ws) : TR_EXIT_ERROR;
        if (*status == 0 && n == 1)
                *status = exec_status; /* 126 or 127: the task records why */
        if (*status == 0 || n == 1)
                printf("%s\n", c->ref.id);
        return 1;
}

/*
 * --detach: print the task id and return at once; a grandchild in a new
 * session, with output to the log, supervises. Returns 1 in the parent (which
 * should exit with *status), 0 in the supervisor, -1 on error.
 */
static int detach(struct run_ctx *c, int *status, struct tr_err *e)
{
        char path[PATH_MAX];
        int log, ready[2];
        pid_t pid;

        if (log_path(c, path, sizeof path) == -1)
                return tr_err_sys(e, ENAMETOOLONG, "--log");
        log = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (log == -1)
                return tr_err_sys(e, errno, "%s", path);
        c->info.log_offset = lseek(log, 0, SEEK_END); /* a rerun appends; this run starts here */
        if (realpath(path, c->log) == NULL)
                snprintf(c->log, sizeof c->log, "%s", path);
        c->info.log = c->log;
        if (pipe2(ready, O_CLOEXEC) == -1) {
                close(log);
                return tr_err_sys(e, errno, "pipe");
        }
        fflush(NULL);
        pid = fork();
        if (pid != 0) {
                close(log);
                close(ready[1]);
                if (pid > 0)
                        return detach_parent(c, pid, ready[0], status);
                close(ready[0]);
                return tr_err_sys(e, errno, "fork");
        }
        close(ready[0]);
        c->ready_fd = ready[1];
        setsid();
        pid = fork();
        if (pid != 0) /* the session leader goes; its child can never get a terminal */
                _exit(pid == -1 ? TR_EXIT_ERROR : 0);
        int null = open("/dev/null", O_RDONLY);
        dup2(null, STDIN_FILENO);
        dup2(log, STDOUT_FILENO);
        dup2(log, STDERR_FILENO);
        close(null);
        close(log);
        return 0;
}

static void fill_info(struct run_ctx *c)
{
        struct tr_run_info *in = &c->info;

        in->argv = c->o->argv;
        if (getcwd(in->cwd, sizeof in->cwd) == NULL)
                snprintf(in->cwd, sizeof in->cwd, "?");
        tr_hostname(in->host, sizeof in->host);
        tr_boot_id(in->boot_id, sizeof in->boot_id);
        tr_iso8601_now(in->started_at);
        in->supervisor_pid = getpid();
        tr_proc_start_ticks(in->supervisor_pid, &in->supervisor_start_ticks);
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

static int supervise(struct run_ctx *c)
{
        const struct tr_run_opts *o = c->o;
        struct tr_supervise_opts so = {
            .group = o->group,
            .quiet = o->quiet,
            .timeout_ms = o->timeout_ms,
            .timeout_signal = o->timeout_signal,
            .kill_after_ms = o->kill_after_ms,
            .heartbeat_ms = o->heartbeat_ms,
            .running_delay_ms = o->detach ? 0 : RUNNING_DELAY_MS,
            .orphans = o->orphans,
            .orphan_kill_ms = o->kill_after_ms > 0 ? o->kill_after_ms : ORPHAN_KILL_MS,
            .on_start = on_start,
            .on_running = on_running,
            .on_heartbeat = on_heartbeat,
            .on_stopped = on_stopped,
            .on_continued = on_continued,
            .on_output_error = on_output_error,
            .ctx = c,
        };
        struct tr_tail tail;
        struct tr_outcome out;
        struct tr_err e;

        so.spawn.argv = o->argv;
        so.spawn.pty = o->pty;
        so.spawn.one_pipe = !o->pty && same_file(STDOUT_FILENO, STDERR_FILENO);
        so.spawn.foreground =
            !o->pty && !o->detach && isatty(STDIN_FILENO) && tcgetpgrp(STDIN_FILENO) == getpgrp();
        prepare_signals(&so.spawn);
        c->mask = so.spawn.mask;
        c->defaults = so.spawn.defaults;
        if (tr_tail_init(&tail, o->tail_bytes) == -1 ||
            (o->quiet && !so.spawn.one_pipe && !o->pty && init_replay(c, &so) == -1)) {
                tr_warnx("output tail: %s", strerror(errno));
                return TR_EXIT_ERROR;
        }
        fill_info(c);
        if (o->detach)
                tr_log_header(STDOUT_FILENO, &c->info);
        if (o->github && tr_github_active())
                tr_github_group_begin(o->subject, o->argv);
        ping_begin(c);
        if (o->events_path != NULL && tr_events_open(&c->events, o->events_path, &e) == -1) {
                tr_warn_err(&e);
                c->write_failed = 1;
        }
        if (tr_supervise(&so, &tail, &out, &e) == -1) {
                tr_events_close(&c->events);
                tr_warn_err(&e);
                ping_end(c, TR_EXIT_ERROR, NULL);
                tr_tail_free(&tail);
                return TR_EXIT_ERROR;
        }
        finish(c, &out, &tail);
        tr_tail_free(&tail);
        tr_tail_free(&c->replay_out);
        tr_tail_free(&c->replay_err);
        return c->o->strict && c->write_failed ? TR_EXIT_ERROR
                                               : tr_outcome_status(&out, o->preserve_status);
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
        tr_gate_unique_claim(g);
        status = tr_gate_pass(g);
        if (status == TR_RUN_GO)
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
        if ((status = tr_gate_unique(&c->gate)) != TR_RUN_GO)
                return status;
        if (opened == -1 || select_task(c, &e) == -1) {
                tr_warn_err(&e);
                if (o->strict || is_usage_error(e.errnum))
                        return TR_EXIT_ERROR;
                tr_warnx("running the command without a task file");
                c->tracked = 0;
        }
        return TR_RUN_GO;
}

int tr_run(const struct tr_run_opts *o)
{
        struct run_ctx c = {.o = o, .tracked = 1, .ready_fd = -1, .events = {.fd = -1}};
        struct tr_err e;
        int status = TR_EXIT_ERROR;

        ensure_std_fds();
        if (tr_gate_after_check(&o->gate, &o->store, &e) == -1) {
                tr_warn_err(&e);
                return TR_EXIT_ERROR;
        }
        tr_gate_init(&c.gate, &o->gate, o->argv);
        c.gate.store = &c.store;
        c.gate.task_id = o->task_id;
        c.gate.ready_fd = &c.ready_fd;
        if ((status = open_and_select(&c)) != TR_RUN_GO)
                return status;
        if (o->detach) {
                int r = detach(&c, &status, &e);
                if (r != 0) {
                        if (r == -1)
                                tr_warn_err(&e);
                        return r == -1 ? TR_EXIT_ERROR : status;
                }
        }
        return gate_and_supervise(&c);
}

static int run_main(int argc, char **argv, int explicit_run)
{
        struct tr_run_opts o;
        int r = tr_run_parse(argc, argv, explicit_run, &o);

        if (r == TR_RUN_GO)
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
