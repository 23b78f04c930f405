/*
 * --unique KEY and --once: at most one live run per key in a list, on this
 * host. The key is a file in the runtime directory (unique/NAME) that the run
 * holds flock(2)ed from before its task exists until it ends, so a run that
 * dies gives it back with nothing to clean up. The file says who holds it, as
 * JSON: pid and start_time_ticks at once, "task" (null when the run keeps no
 * task file) once it is known, and "status" when the run is over, for an
 * --attach waiting on it. A second run prints the holder's id and leaves, or
 * with --attach sleeps on a pidfd of the holder and leaves with its status.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "cmd.h"
#include "gate.h"
#include "run.h"
#include "rundir.h"
#include "taskrun/clock.h"
#include "taskrun/lock.h"
#include "taskrun/procinfo.h"

/* Past the lock timeout: how long a holder may take to say which task it runs. */
#define CLAIM_GRACE_MS 5000
/* While a holder has not said who it is: look again this often, in case no change wakes us. */
#define CLAIM_RECHECK_SECONDS 1.0
/* Without pidfds (Linux < 5.3): how often --attach looks at the holder again. */
#define ATTACH_POLL_SECONDS 1.0
#define KEY_FILE_MAX 4096

struct holder {
        pid_t pid;
        unsigned long long ticks;
        int claimed;          /* it said which task it runs (or that it keeps none) */
        char task[TR_ID_MAX]; /* "" when it keeps no task file */
        int status;           /* -1 while it runs */
};

/* How messages name the key: "--unique KEY" or "--once". */
static const char *key_label(const struct tr_gate *g, char *buf, size_t n)
{
        if (g->o->once)
                return "--once";
        snprintf(buf, n, "--unique %s", g->o->unique);
        return buf;
}

/* KEY (or the command line and directory, for --once), then the list it is unique in. */
static char *key_text(const struct tr_gate *g)
{
        char scope[PATH_MAX], cwd[PATH_MAX], *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);

        if (f == NULL)
                return NULL;
        if (realpath(g->store->dir, scope) == NULL)
                snprintf(scope, sizeof scope, "%s", g->store->dir);
        if (g->o->once) {
                for (char *const *a = g->argv; *a != NULL; a++)
                        fprintf(f, "%s\x1f", *a);
                fprintf(f, "\x1e%s", getcwd(cwd, sizeof cwd) ? cwd : "?");
        } else {
                fputs(g->o->unique, f);
        }
        fprintf(f, "\x1e%s", scope);
        return fclose(f) == 0 ? text : (free(text), NULL);
}

/* The key's file in the runtime directory (made private if need be). */
static int key_path(const struct tr_gate *g, char *buf, size_t n, struct tr_err *e)
{
        char dir[PATH_MAX], name[128];
        char *text = key_text(g);

        if (text == NULL)
                return tr_err_sys(e, ENOMEM, "--unique");
        tr_rundir_name("u", text, name, sizeof name);
        free(text);
        if (tr_rundir("unique", dir, sizeof dir, e) == -1)
                return -1;
        if (tr_path_join(buf, n, dir, name) == -1)
                return tr_err_set(e, ENAMETOOLONG, "%s: path too long", dir);
        return 0;
}

/* Say who holds the key: emptied first, so that a reader sees all of it or nothing. */
static void write_claim(struct tr_gate *g, int claimed, int status)
{
        json_object *o = json_object_new_object();
        unsigned long long ticks = 0;
        const char *text;

        tr_proc_start_ticks(getpid(), &ticks);
        json_object_object_add(o, "pid", json_object_new_int(getpid()));
        json_object_object_add(o, "start_time_ticks", json_object_new_int64((int64_t)ticks));
        if (claimed)
                json_object_object_add(o, "task",
                                       g->ref ? json_object_new_string(g->ref->id) : NULL);
        if (status >= 0)
                json_object_object_add(o, "status", json_object_new_int(status));
        text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
        /* One small write at 0: nobody else writes while we hold the lock. */
        if (ftruncate(g->unique_fd, 0) == -1 ||
            pwrite(g->unique_fd, text, strlen(text), 0) != (ssize_t)strlen(text))
                tr_warnx("--unique: cannot record who holds the key: %s", strerror(errno));
        json_object_put(o);
}

/* What the key file says; 0, or -1 when it says nothing usable (yet). */
static int read_holder(int fd, struct holder *h)
{
        char buf[KEY_FILE_MAX];
        ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
        json_object *o, *task;
        int64_t v;

        memset(h, 0, sizeof *h);
        h->status = -1;
        if (n <= 0)
                return -1;
        buf[n] = '\0';
        if ((o = json_tokener_parse(buf)) == NULL)
                return -1;
        if (tr_json_int(o, "pid", &v) == 0 && v > 0)
                h->pid = (pid_t)v;
        if (tr_json_int(o, "start_time_ticks", &v) == 0 && v > 0)
                h->ticks = (unsigned long long)v;
        if (tr_json_int(o, "status", &v) == 0 && v >= 0 && v <= 255)
                h->status = (int)v;
        if (json_object_object_get_ex(o, "task", &task)) {
                const char *id = json_object_get_string(task);
                h->claimed = task == NULL || tr_id_validate("task", id, NULL) == 0;
                if (task != NULL && h->claimed)
                        snprintf(h->task, sizeof h->task, "%s", id);
        }
        json_object_put(o);
        return h->pid > 0 ? 0 : -1;
}

/* The holder's process is still the one that wrote the file (not a zombie, not a reused pid). */
static int holder_alive(const struct holder *h)
{
        return h->pid > 0 && tr_proc_is_running(h->pid, h->ticks);
}

/* The holder's process ended (its pidfd is readable): look again. */
static void on_holder_end(struct ev_loop *loop, ev_io *w, int revents)
{
        (void)w;
        (void)revents;
        ev_break(loop, EVBREAK_ALL);
}

/* The key file changed: look again. */
static void on_key_file(struct ev_loop *loop, ev_stat *w, int revents)
{
        (void)w;
        (void)revents;
        ev_break(loop, EVBREAK_ALL);
}

/* Time to look again: no pidfd for the holder, or a holder that has not said who it is yet. */
static void on_recheck(struct ev_loop *loop, ev_timer *w, int revents)
{
        (void)w;
        (void)revents;
        ev_break(loop, EVBREAK_ALL);
}

/*
 * Sleep until something may have changed: the key file (ev_stat: inotify), the
 * holder's end (a pidfd, when pid > 0), a signal (g->signal), or after
 * `recheck` seconds. 0, or the exit status a signal gives.
 */
static int sleep_on(struct tr_gate *g, const char *path, pid_t pid, double recheck)
{
        struct ev_loop *loop = ev_default_loop(EVFLAG_AUTO);
        ev_stat key_file_w; /* the key file changed (inotify) */
        ev_io holder_w;     /* the holder's pidfd: readable at its end */
        ev_timer recheck_w;
        int fd = -1;

        if (pid > 0 && (fd = tr_pidfd_open(pid)) == -1) {
                if (errno == ESRCH)
                        return 0;              /* gone already: look again */
                recheck = ATTACH_POLL_SECONDS; /* no pidfds: look at it now and then */
        }
        ev_stat_init(&key_file_w, on_key_file, path, 0.);
        ev_stat_start(loop, &key_file_w);
        ev_timer_init(&recheck_w, on_recheck, recheck, 0.);
        if (recheck > 0)
                ev_timer_start(loop, &recheck_w);
        if (fd != -1) {
                ev_io_init(&holder_w, on_holder_end, fd, EV_READ);
                ev_io_start(loop, &holder_w);
        }
        tr_gate_signals_start(g, loop);
        ev_run(loop, 0);
        tr_gate_signals_stop(g, loop);
        if (fd != -1) {
                ev_io_stop(loop, &holder_w);
                close(fd);
        }
        ev_timer_stop(loop, &recheck_w);
        ev_stat_stop(loop, &key_file_w);
        return g->signal != 0 ? TR_EXIT_SIGNAL + g->signal : 0;
}

/* The status a run's record stands for, as that run exited (or 3 if it was lost). */
static int status_of_record(struct tr_gate *g, const char *id)
{
        struct tr_task_ref ref;
        json_object *task, *block;
        const char *state;
        int64_t v;
        int status = TR_EXIT_LOST;

        if (*id == '\0' || tr_store_ref(g->store, id, &ref, NULL) == -1 ||
            tr_task_read_settled(g->store, &ref, &task, NULL) == -1)
                return TR_EXIT_LOST;
        block = tr_task_block(task, g->store->schema);
        state = tr_json_str(block, "state");
        if (state == NULL)
                status = TR_EXIT_LOST;
        else if (strcmp(state, "completed") == 0)
                status = TR_EXIT_OK;
        else if (strcmp(state, "failed") == 0)
                status = tr_json_int(block, "exit_code", &v) == 0 && v > 0 && v < 256
                             ? (int)v
                             : TR_EXIT_FAIL;
        else if (strcmp(state, "timed_out") == 0)
                status = TR_EXIT_TIMEOUT;
        else if (strcmp(state, "killed") == 0)
                status =
                    TR_EXIT_SIGNAL +
                    (tr_json_int(block, "signal", &v) == 0 && v > 0 && v < 64 ? (int)v : SIGTERM);
        else if (strcmp(state, "skipped") == 0)
                status = TR_EXIT_SKIPPED;
        json_object_put(task);
        return status;
}

/* --attach: sleep until the holder's process has ended, then leave with its status. */
static int attach(struct tr_gate *g, int fd, const char *path, const struct holder *h)
{
        struct holder end;
        int r;

        while (holder_alive(h))
                if ((r = sleep_on(g, path, h->pid, 0.)) != 0)
                        return r;
        if (read_holder(fd, &end) == 0 && end.pid == h->pid && end.ticks == h->ticks &&
            end.status >= 0)
                return end.status;
        return status_of_record(g, h->task);
}

/* A live run holds the key: say which, then leave or attach. */
static int duplicate(struct tr_gate *g, int fd, const char *path, const struct holder *h)
{
        char buf[300];
        const char *label = key_label(g, buf, sizeof buf);

        if (h->task[0] != '\0') {
                printf("%s\n", h->task);
                fflush(stdout);
                tr_warnx("%s: already running as task %s (pid %d)%s", label, h->task, (int)h->pid,
                         g->o->attach ? "; attached" : "; not started again");
        } else {
                tr_warnx("%s: already running as pid %d (no task file)%s", label, (int)h->pid,
                         g->o->attach ? "; attached" : "; not started again");
        }
        return g->o->attach ? attach(g, fd, path, h) : TR_EXIT_DUPLICATE;
}

/* The key is held: wait until its holder says who it is (or lets go: then 1). */
static int held(struct tr_gate *g, int fd, const char *path)
{
        int64_t deadline =
            tr_monotonic_ms() + CLAIM_GRACE_MS +
            (g->store->lock_timeout_ms < 0 ? TR_LOCK_TIMEOUT_MS : g->store->lock_timeout_ms);
        struct holder h;
        int r;

        for (;;) {
                if (flock(fd, LOCK_EX | LOCK_NB) == 0)
                        return 1;
                if (errno != EWOULDBLOCK && errno != EINTR) {
                        tr_warnx("%s: lock: %s", path, strerror(errno));
                        return TR_EXIT_ERROR;
                }
                int known = read_holder(fd, &h) == 0 && holder_alive(&h);
                if (known && h.claimed)
                        return duplicate(g, fd, path, &h);
                if (tr_monotonic_ms() > deadline) {
                        tr_warnx("%s: held by a run that does not say which (pid %d)", path,
                                 (int)h.pid);
                        return TR_EXIT_ERROR;
                }
                if ((r = sleep_on(g, path, known ? h.pid : 0, CLAIM_RECHECK_SECONDS)) != 0)
                        return r;
        }
}

int tr_gate_unique(struct tr_gate *g)
{
        char path[PATH_MAX];
        struct tr_err e;
        int fd, r;

        if (g->o->unique == NULL && !g->o->once)
                return TR_GO;
        if (key_path(g, path, sizeof path, &e) == -1) {
                tr_warn_err(&e);
                return TR_EXIT_ERROR;
        }
        if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600)) == -1) {
                tr_warnx("%s: %s", path, strerror(errno));
                return TR_EXIT_ERROR;
        }
        if (flock(fd, LOCK_EX | LOCK_NB) == 0 || (r = held(g, fd, path)) == 1) {
                g->unique_fd = fd;
                write_claim(g, 0, -1); /* who holds it, until the task is known */
                return TR_GO;
        }
        close(fd);
        return r;
}

void tr_gate_unique_claim(struct tr_gate *g)
{
        if (g->unique_fd != -1)
                write_claim(g, 1, -1);
}

void tr_gate_unique_end(struct tr_gate *g, int status)
{
        if (g->unique_fd != -1)
                write_claim(g, 1, status);
}
