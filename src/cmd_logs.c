/*
 * `taskrun logs ID`: a run's output: the log of a detached run, else the tail
 * the task recorded. With -f it follows the log as it grows and returns when
 * the run ends, with the run's exit status. One libev loop watches an inotify
 * descriptor (ev_io) for the log's writes and the task file's replacements;
 * nothing polls.
 */
#include <errno.h>
#include <ev.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "cmd.h"
#include "taskrun/atomic.h"
#include "taskrun/path.h"
#include "taskrun/procinfo.h"
#include "taskrun/tail.h"

#define CMD "logs"
#define COPY_CHUNK 65536

static const struct option options[] = {
    {"follow", no_argument, NULL, 'f'},
    {"lines", required_argument, NULL, 'n'},
    {"help", no_argument, NULL, 'h'},
    TR_STORE_LONGOPTS,
    {NULL, 0, NULL, 0},
};

struct follow {
        struct ev_loop *loop;
        ev_io inotify_w; /* the inotify descriptor: log written, task file replaced */
        int inotify_fd;  /* -1 when not following */
        int log_wd, dir_wd;
        int log_fd;            /* -1: the run keeps no log; its tail is printed at the end */
        const char *task_name; /* the task file's name in its directory */
        const struct tr_store *store;
        const struct tr_task_ref *ref;
        struct tr_here here;
        long lines;
        int status; /* -1 until the run is over */
};

/* logs' --help; the man page says the same. */
static void usage(FILE *f)
{
        fputs("usage: taskrun logs [-f] [-n LINES] [options] ID\n"
              "       taskrun logs [-f] [-n LINES] --file PATH\n"
              "\n"
              "Print the output of task ID's run: the log of a detached run (from its\n"
              "header line to its footer), or else the output tail the task recorded when\n"
              "the run ended. A run still waiting for its blockers or a slot has none yet;\n"
              "-f waits for it to start. A task whose file is gone is read from taskrun's\n"
              "run archive (which keeps a detached run's log by a hard link), saying so on\n"
              "stderr.\n"
              "\n"
              "         -f, --follow             print output as it comes until the run ends,\n"
              "                                  then exit with the run's exit status\n"
              "         -n, --lines LINES        only the last LINES lines (then follow)\n"
              "         -h, --help               this help\n",
              f);
        tr_cmd_store_usage(f);
        fputs("\nexit status: 0 printed; 1 task not found, without a run, or its log\n"
              "unreadable; 2 usage error. With -f: the run's exit status (124 timed out or\n"
              "stalled, 128+N ended by signal N), or 1 if it was lost.\n",
              f);
}

/* The run's exit status as taskrun run returned it, from the record. */
static int run_status(json_object *task, enum tr_schema schema)
{
        json_object *block = tr_task_block(task, schema);
        const char *state = tr_json_str(block, "state"), *word;
        int64_t v;

        if (state != NULL && (strcmp(state, "timed_out") == 0 || strcmp(state, "stalled") == 0))
                return TR_EXIT_TIMEOUT;
        if (tr_json_int(block, "exit_code", &v) == 0 && v >= 0 && v < 256)
                return (int)v;
        if (tr_json_int(block, "signal", &v) == 0 && v > 0 && v < 128)
                return TR_EXIT_SIGNAL + (int)v;
        return tr_task_done(task, schema, &word) == TR_DONE_OK ? TR_EXIT_OK : TR_EXIT_FAIL;
}

/* Offset of the start of the last `lines` lines of fd before upto (< 0: its end). */
static off_t last_lines_offset(int fd, off_t from, off_t upto, long lines)
{
        char buf[COPY_CHUNK];
        off_t end = upto >= 0 ? upto : lseek(fd, 0, SEEK_END), pos = end;
        long seen = 0;
        int first = 1;

        while (pos > from) {
                size_t n =
                    (size_t)(pos - from < (off_t)sizeof buf ? pos - from : (off_t)sizeof buf);
                if (pread(fd, buf, n, pos - (off_t)n) != (ssize_t)n)
                        return from;
                for (size_t i = n; i-- > 0;) {
                        /* A newline that ends the file ends the last line; it starts none. */
                        if (buf[i] == '\n' && !(first && pos - (off_t)n + (off_t)i == end - 1) &&
                            ++seen == lines)
                                return pos - (off_t)n + (off_t)i + 1;
                }
                first = 0;
                pos -= (off_t)n;
        }
        return from;
}

/* Copy what fd holds from its offset on to stdout, up to offset end (< 0: to its end). */
static int copy_upto(int fd, off_t end)
{
        char buf[COPY_CHUNK];
        off_t at = lseek(fd, 0, SEEK_CUR);
        ssize_t n;

        for (;;) {
                size_t want = sizeof buf;
                if (end >= 0 && at >= 0)
                        want = end <= at ? 0 : end - at < (off_t)want ? (size_t)(end - at) : want;
                if (want == 0)
                        return 0;
                if ((n = read(fd, buf, want)) <= 0)
                        return n == -1 && errno != EINTR ? -1 : 0;
                at += n;
                if (tr_write_all(STDOUT_FILENO, buf, (size_t)n) == -1)
                        return -1;
        }
}

/* The rest of the log, from where fd is, to stdout. */
static int copy_out(int fd)
{
        return copy_upto(fd, -1);
}

/*
 * Open the run's log at the run's own part (log_offset on), the last `lines`
 * if asked; when following, watch it first, so no write goes unseen. 0 also
 * when the record names no log (yet).
 */
static int open_log(struct follow *f, json_object *block, long lines, int *fd)
{
        const char *path = tr_json_str(block, "log");
        int64_t from = 0, upto = -1;
        off_t at;

        *fd = -1;
        if (path == NULL)
                return 0;
        if (f->inotify_fd >= 0 && (f->log_wd = inotify_add_watch(
                                       f->inotify_fd, path, IN_MODIFY | IN_CLOSE_WRITE)) == -1) {
                tr_warnx("%s: inotify: %s: %s", CMD, path, strerror(errno));
                return -1;
        }
        if ((*fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
                tr_warnx("%s: %s: %s", CMD, path, strerror(errno));
                return -1;
        }
        if (tr_json_int(block, "log_offset", &from) == -1 || from < 0)
                from = 0;
        if (tr_json_int(block, "log_end", &upto) == -1)
                upto = -1; /* an archived run: its part ends there */
        at = lines > 0 ? last_lines_offset(*fd, (off_t)from, (off_t)upto, lines) : (off_t)from;
        lseek(*fd, at, SEEK_SET);
        return 0;
}

/* A run without a log: the recorded tail, or its last `lines` lines. */
static void print_tail(json_object *block, long lines)
{
        const char *tail = tr_json_str(block, "output_tail");

        if (tail == NULL)
                return;
        if (lines > 0)
                tail = tr_tail_last_lines(tail, lines > INT_MAX ? INT_MAX : (int)lines);
        fputs(tail, stdout);
        fflush(stdout);
}

/* Re-read the task: once its run is over, print the rest and decide the status. */
static void check_task(struct follow *f)
{
        struct tr_err e;
        json_object *task;
        const char *word;

        if (tr_task_read(f->store, f->ref, &task, &e) == -1) {
                if (e.errnum == ENOENT) {
                        tr_warnx("%s: task %s: deleted", CMD, f->ref->id);
                        f->status = TR_EXIT_FAIL;
                }
                return; /* a write in progress: the next event says more */
        }
        /* A run that waited for blockers or a slot has started, and names its log now. */
        if (f->log_fd < 0) {
                if (open_log(f, tr_task_block(task, f->store->schema), 0, &f->log_fd) == -1)
                        f->status = TR_EXIT_FAIL;
                else if (f->log_fd >= 0)
                        copy_out(f->log_fd);
        }
        if (f->status == -1 && tr_task_done(task, f->store->schema, &word) != TR_NOT_DONE) {
                if (f->log_fd >= 0)
                        copy_out(f->log_fd);
                else
                        print_tail(tr_task_block(task, f->store->schema), f->lines);
                f->status = run_status(task, f->store->schema);
        }
        json_object_put(task);
}

/* Every writer closed the log: if the run's process is gone without a record, it was lost. */
static void check_lost(struct follow *f)
{
        struct tr_err e;
        json_object *task;
        char why[256];

        if (tr_task_read(f->store, f->ref, &task, &e) == -1)
                return;
        json_object *block = tr_task_block(task, f->store->schema);
        if (block != NULL && tr_task_liveness(block, &f->here, why, sizeof why) == TR_LIVE_LOST) {
                copy_out(f->log_fd);
                tr_warnx("%s: task %s: lost (%s)", CMD, f->ref->id, why);
                f->status = TR_EXIT_FAIL;
        }
        json_object_put(task);
}

/*
 * The log was written or closed, or the task file replaced: copy what is
 * new, then see whether the run is over.
 */
static void on_inotify(struct ev_loop *loop, ev_io *w, int revents)
{
        struct follow *f = w->data;
        char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
        int task_changed = 0, log_closed = 0;
        ssize_t n;
        (void)revents;

        while ((n = read(w->fd, buf, sizeof buf)) > 0) {
                for (char *p = buf; p < buf + n;) {
                        struct inotify_event *ev = (struct inotify_event *)p;
                        if (ev->wd == f->log_wd)
                                log_closed |= (ev->mask & IN_CLOSE_WRITE) != 0;
                        else if (ev->len > 0 && strcmp(ev->name, f->task_name) == 0)
                                task_changed = 1;
                        p += sizeof *ev + ev->len;
                }
        }
        if (f->log_fd >= 0 && copy_out(f->log_fd) == -1)
                f->status = TR_EXIT_FAIL;
        if (f->status == -1 && task_changed)
                check_task(f);
        if (f->status == -1 && log_closed)
                check_lost(f);
        if (f->status != -1)
                ev_break(loop, EVBREAK_ALL);
}

/* Watch the task directory's renames, before anything is read. */
static int watch_task(struct follow *f)
{
        char dir[PATH_MAX];

        if (tr_path_split(f->ref->path, dir, sizeof dir, &f->task_name) == -1) {
                tr_warnx("%s: %s: %s", CMD, f->ref->path, strerror(ENAMETOOLONG));
                return -1;
        }
        f->dir_wd = inotify_add_watch(f->inotify_fd, dir, IN_MOVED_TO | IN_CLOSE_WRITE | IN_DELETE);
        if (f->dir_wd == -1) {
                tr_warnx("%s: inotify: %s", CMD, strerror(errno));
                return -1;
        }
        return 0;
}

/* Release what following took: the loop and the inotify descriptor. */
static void follow_end(struct follow *f)
{
        if (f->loop != NULL)
                ev_loop_destroy(f->loop);
        if (f->inotify_fd >= 0)
                close(f->inotify_fd);
        f->loop = NULL;
        f->inotify_fd = -1;
}

/* The watches first, then the log (the last `lines`) and the task. */
static int follow_start(struct follow *f, json_object *block)
{
        f->status = -1;
        tr_here_init(&f->here);
        f->inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        f->loop = ev_loop_new(EVFLAG_AUTO);
        if (f->inotify_fd == -1 || f->loop == NULL) {
                tr_warnx("%s: cannot watch the task: %s", CMD, strerror(errno));
                return -1;
        }
        if (watch_task(f) == -1 || open_log(f, block, f->lines, &f->log_fd) == -1)
                return -1;
        ev_io_init(&f->inotify_w, on_inotify, f->inotify_fd, EV_READ);
        f->inotify_w.data = f;
        ev_io_start(f->loop, &f->inotify_w);
        return 0;
}

/* -f: print the log as it grows until the run ends; its status (run_status), or 1. */
static int follow(struct follow *f, json_object *block)
{
        if (follow_start(f, block) == -1) {
                follow_end(f);
                return TR_EXIT_FAIL;
        }
        if (f->log_fd >= 0)
                copy_out(f->log_fd);
        check_task(f); /* after the watches: a change meanwhile still wakes the loop */
        if (f->status == -1)
                ev_run(f->loop, 0);
        ev_io_stop(f->loop, &f->inotify_w);
        follow_end(f);
        return f->status == -1 ? TR_EXIT_FAIL : f->status;
}

/*
 * An archived run is over: its part of the log (up to log_end: a rerun
 * appends to the same file) or its tail; with -f, then its status.
 */
static int show_archived(struct follow *f, json_object *task, int following)
{
        json_object *block = tr_task_block(task, f->store->schema);
        int64_t end = -1;
        int r = TR_EXIT_OK;

        if (f->log_fd >= 0) {
                if (tr_json_int(block, "log_end", &end) == -1)
                        end = -1;
                r = copy_upto(f->log_fd, (off_t)end) == 0 ? TR_EXIT_OK : TR_EXIT_FAIL;
        } else {
                print_tail(block, f->lines);
        }
        return following && r == TR_EXIT_OK ? run_status(task, f->store->schema) : r;
}

/* A run that has not started yet: waiting for blockers, or queued for a slot. */
static int not_started(json_object *block)
{
        const char *state = tr_json_str(block, "state");

        return strcmp(state, "waiting") == 0 || strcmp(state, "queued") == 0;
}

/* The run's output: its log, else the recorded tail; with -f, followed to the end. */
static int show_logs(struct follow *f, json_object *task, int following, int archived)
{
        json_object *block = tr_task_block(task, f->store->schema);
        int r = TR_EXIT_OK;

        if (tr_json_str(block, "state") == NULL) {
                tr_warnx("%s: task %s: no run recorded", CMD, f->ref->id);
                return TR_EXIT_FAIL;
        }
        if (archived) {
                if (open_log(f, block, f->lines, &f->log_fd) == -1)
                        return TR_EXIT_FAIL;
                r = show_archived(f, task, following);
        } else if (following) {
                r = follow(f, block);
        } else if (not_started(block)) {
                tr_warnx("%s: task %s: no output yet: its run has not started (%s)", CMD,
                         f->ref->id, tr_json_str(block, "state"));
        } else if (open_log(f, block, f->lines, &f->log_fd) == -1) {
                r = TR_EXIT_FAIL;
        } else if (f->log_fd >= 0) {
                r = copy_out(f->log_fd) == 0 ? TR_EXIT_OK : TR_EXIT_FAIL;
        } else {
                print_tail(block, f->lines);
        }
        if (f->log_fd >= 0)
                close(f->log_fd);
        return r;
}

struct logs_opts {
        long lines; /* -n: 0 for all */
        int following;
};

/* spec->run: opts is a struct logs_opts. */
static int logs(void *opts, const struct tr_store_opts *so, char **ids, int nids)
{
        const struct logs_opts *o = opts;
        struct tr_targets t;
        struct follow f = {.lines = o->lines, .log_fd = -1, .inotify_fd = -1, .log_wd = -2};
        json_object *task;
        char archive[PATH_MAX];
        int r = tr_targets_open_ex(CMD, so, ids, nids, 1, 1, &t);

        if (r != TR_EXIT_OK)
                return r;
        f.store = &t.store;
        f.ref = &t.refs[0];
        if ((r = tr_cmd_read_or_archived(CMD, &t.store, &t.refs[0], &task, archive,
                                         sizeof archive)) == TR_EXIT_OK) {
                r = show_logs(&f, task, o->following, archive[0] != '\0');
                json_object_put(task);
        }
        if (tr_cmd_flush(CMD) == -1 && r == TR_EXIT_OK)
                r = TR_EXIT_FAIL;
        tr_targets_free(&t);
        return r;
}

/* spec->apply: opts is a struct logs_opts. */
static int apply_option(void *opts, int opt, const char *arg)
{
        struct logs_opts *o = opts;
        char *end;

        if (opt == 'f') {
                o->following = 1;
                return 0;
        }
        errno = 0;
        o->lines = strtol(arg, &end, 10);
        if (errno != 0 || end == arg || *end != '\0' || o->lines <= 0) {
                tr_warnx("%s: --lines: not a positive number '%s'", CMD, arg);
                return -1;
        }
        return 0;
}

static const struct tr_cmd_spec spec = {CMD, "fn:h", options, usage, apply_option, logs, -1};

int tr_cmd_logs(int argc, char **argv)
{
        struct logs_opts o = {0};

        return tr_cmd_main(&spec, argc, argv, &o);
}
