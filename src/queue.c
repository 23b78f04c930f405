/* The files of a --slots queue: tickets, places in line and slots (see queue.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "queue.h"
#include "rundir.h"
#include "task_view.h"
#include "taskrun/store.h"

#define TICKET_DIGITS 20
/* A slot whose holder leaves between our two opens is tried again, but not for ever. */
#define SLOT_RETRIES 100

/* Close and forget: every fd of a queue is -1 when not held. */
static void close_fd(int *fd)
{
        if (*fd != -1)
                close(*fd);
        *fd = -1;
}

/* dir/NAME, NAME from fmt and one number; -1 when it does not fit. */
static int path_in(char *buf, size_t n, const char *dir, const char *fmt, unsigned long long v)
{
        int len = snprintf(buf, n, "%s/", dir);

        if (len < 0 || (size_t)len >= n)
                return -1;
        int more = snprintf(buf + len, n - (size_t)len, fmt, v);
        return more < 0 || (size_t)(len + more) >= n ? -1 : 0;
}

int tr_queue_open(struct tr_queue *q, const char *key, int slots, struct tr_err *e)
{
        char name[128], sub[160];

        memset(q, 0, sizeof *q);
        q->place_fd = q->ahead_fd = q->slot_fd = -1;
        q->slots = slots;
        tr_rundir_name("q", key, name, sizeof name);
        snprintf(sub, sizeof sub, "queues/%s", name);
        return tr_rundir(sub, q->dir, sizeof q->dir, e);
}

/* The next number of the counter file dir/ticket, under its flock: arrivals are ordered. */
static int next_ticket(struct tr_queue *q, struct tr_err *e)
{
        char path[PATH_MAX], buf[32];
        unsigned long long v;
        ssize_t n;
        int fd, len;

        if (tr_path_join(path, sizeof path, q->dir, "ticket") == -1)
                return tr_err_set(e, ENAMETOOLONG, "%s: path too long", q->dir);
        if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600)) == -1)
                return tr_err_sys(e, errno, "%s", path);
        while (flock(fd, LOCK_EX) == -1)
                if (errno != EINTR) {
                        close(fd);
                        return tr_err_sys(e, errno, "%s: lock", path);
                }
        n = pread(fd, buf, sizeof buf - 1, 0);
        buf[n > 0 ? n : 0] = '\0';
        v = strtoull(buf, NULL, 10) + 1;
        len = snprintf(buf, sizeof buf, "%0*llu\n", TICKET_DIGITS, v);
        if (pwrite(fd, buf, (size_t)len, 0) != len) {
                int errnum = errno;
                close(fd);
                return tr_err_sys(e, errnum, "%s", path);
        }
        close(fd); /* and with it the lock */
        q->ticket = v;
        return 0;
}

int tr_queue_join(struct tr_queue *q, struct tr_err *e)
{
        char tmp[PATH_MAX], place[PATH_MAX];

        if (next_ticket(q, e) == -1)
                return -1;
        if (path_in(tmp, sizeof tmp, q->dir, ".w.%llu", (unsigned long long)getpid()) == -1 ||
            path_in(place, sizeof place, q->dir, "w.%020llu", q->ticket) == -1)
                return tr_err_set(e, ENAMETOOLONG, "%s: path too long", q->dir);
        /* Made aside and renamed in with its reader open: a place in line is never seen empty. */
        unlink(tmp);
        if (mkfifo(tmp, 0600) == -1)
                return tr_err_sys(e, errno, "%s", tmp);
        q->place_fd = open(tmp, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW);
        if (q->place_fd == -1 || rename(tmp, place) == -1) {
                tr_err_sys(e, errno, "%s", place);
                close_fd(&q->place_fd);
                unlink(tmp);
                return -1;
        }
        return 0;
}

/* "w.00000000000000000042" -> 42; 0 for any other name. */
static unsigned long long place_ticket(const char *name)
{
        char *end;
        unsigned long long v;

        if (strncmp(name, "w.", 2) != 0 || strlen(name + 2) != TICKET_DIGITS)
                return 0;
        v = strtoull(name + 2, &end, 10);
        return *end == '\0' ? v : 0;
}

/* The tickets in line before ours (all, when ours is 0), in *out; their number, or -1. */
static long tickets_before(const char *dir, unsigned long long ours, unsigned long long **out)
{
        DIR *d = opendir(dir);
        struct dirent *de;
        unsigned long long *v = NULL, t;
        size_t n = 0, cap = 0;

        if (d == NULL)
                return -1;
        while ((de = readdir(d)) != NULL) {
                if ((t = place_ticket(de->d_name)) == 0 || (ours != 0 && t >= ours))
                        continue;
                if (n == cap) {
                        unsigned long long *nv = realloc(v, (cap = cap ? cap * 2 : 64) * sizeof *v);
                        if (nv == NULL) {
                                free(v);
                                closedir(d);
                                return -1;
                        }
                        v = nv;
                }
                v[n++] = t;
        }
        closedir(d);
        *out = v;
        return (long)n;
}

/* The run just ahead is the highest ticket below ours: look at those first. */
static int by_ticket_desc(const void *a, const void *b)
{
        unsigned long long x = *(const unsigned long long *)a, y = *(const unsigned long long *)b;

        return x < y ? 1 : x > y ? -1 : 0;
}

/* The write end of a place's FIFO: -1 with ENXIO when no run holds it any more. */
static int open_writer(const char *path)
{
        int fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW);
        struct stat st;

        if (fd != -1 && (fstat(fd, &st) == -1 || !S_ISFIFO(st.st_mode))) {
                close(fd);
                errno = EINVAL;
                return -1;
        }
        return fd;
}

int tr_queue_find_ahead(struct tr_queue *q, struct tr_err *e)
{
        unsigned long long *v;
        long n = tickets_before(q->dir, q->ticket, &v);
        char path[PATH_MAX];

        close_fd(&q->ahead_fd);
        if (n < 0)
                return tr_err_sys(e, errno ? errno : ENOMEM, "%s", q->dir);
        if (n > 0)
                qsort(v, (size_t)n, sizeof *v, by_ticket_desc);
        for (long i = 0; i < n && q->ahead_fd == -1; i++) {
                if (path_in(path, sizeof path, q->dir, "w.%020llu", v[i]) == -1)
                        continue;
                q->ahead_fd = open_writer(path);
                if (q->ahead_fd == -1 && errno == ENXIO)
                        unlink(path); /* a run that died in line: its place is free */
        }
        free(v);
        return q->ahead_fd != -1;
}

/* dir/slot.I */
static int slot_path(const struct tr_queue *q, int i, char *buf, size_t n)
{
        return path_in(buf, n, q->dir, "slot.%llu", (unsigned long long)i);
}

/* Slot i: 1 taken (q->slot_fd), 0 busy (its write end added to q->busy), -1 error. */
static int try_slot(struct tr_queue *q, int i, struct tr_err *e)
{
        char path[PATH_MAX];
        int fd;

        if (slot_path(q, i, path, sizeof path) == -1)
                return tr_err_set(e, ENAMETOOLONG, "%s: path too long", q->dir);
        if (mkfifo(path, 0600) == -1 && errno != EEXIST)
                return tr_err_sys(e, errno, "%s", path);
        for (int tries = 0; tries < SLOT_RETRIES; tries++) {
                if ((fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW)) == -1)
                        return tr_err_sys(e, errno, "%s", path);
                if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
                        q->slot_fd = fd;
                        return 1;
                }
                close(fd);
                if (errno != EWOULDBLOCK)
                        return tr_err_sys(e, errno, "%s: lock", path);
                if ((fd = open_writer(path)) != -1) {
                        q->busy[q->n_busy++] = fd;
                        return 0;
                }
                if (errno != ENXIO)
                        return tr_err_sys(e, errno, "%s", path);
                /* Its holder left between the two opens: the slot may be free now. */
        }
        return tr_err_set(e, EAGAIN, "%s: neither free nor held", path);
}

/* Stop looking at the busy slots (before looking again, or once one is ours). */
static void close_busy(struct tr_queue *q)
{
        for (int i = 0; i < q->n_busy; i++)
                close(q->busy[i]);
        q->n_busy = 0;
}

int tr_queue_take(struct tr_queue *q, struct tr_err *e)
{
        close_busy(q);
        for (int i = 0; i < q->slots; i++) {
                int r = try_slot(q, i, e);
                if (r != 0) {
                        if (r == 1)
                                close_busy(q);
                        return r;
                }
        }
        return 0;
}

void tr_queue_leave(struct tr_queue *q)
{
        char place[PATH_MAX];

        close_busy(q);
        close_fd(&q->ahead_fd);
        if (q->place_fd == -1)
                return;
        /* Gone from the directory first: whoever looks next does not count us. */
        if (path_in(place, sizeof place, q->dir, "w.%020llu", q->ticket) == 0)
                unlink(place);
        close_fd(&q->place_fd);
}

void tr_queue_release(struct tr_queue *q)
{
        tr_queue_leave(q);
        if (q->slot_fd != -1) {
                /* Unlocked before the close that wakes the first in line: it must find it free. */
                flock(q->slot_fd, LOCK_UN);
                close_fd(&q->slot_fd);
        }
}

/* dir must be a queue in our runtime directory: a task file cannot send us elsewhere. */
static int is_our_queue(const char *dir)
{
        char base[PATH_MAX];
        size_t len;

        if (tr_rundir_path("queues", base, sizeof base) == -1)
                return 0;
        len = strlen(base);
        return strncmp(dir, base, len) == 0 && dir[len] == '/' &&
               strchr(dir + len + 1, '/') == NULL && strcmp(dir + len + 1, "..") != 0 &&
               dir[len + 1] != '\0';
}

/* The place of ticket in the queue at dir: 1 = next; 0 if it is not in line (or dir is no queue).
 */
static int position(const char *dir, unsigned long long ticket)
{
        char path[PATH_MAX];
        unsigned long long *v;
        long n;
        int fd, ahead = 0;

        if (ticket == 0 || !is_our_queue(dir) ||
            path_in(path, sizeof path, dir, "w.%020llu", ticket) == -1 ||
            (fd = open_writer(path)) == -1)
                return 0; /* not in line (any more) */
        close(fd);
        if ((n = tickets_before(dir, ticket, &v)) < 0)
                return 0;
        for (long i = 0; i < n; i++)
                if (path_in(path, sizeof path, dir, "w.%020llu", v[i]) == 0 &&
                    (fd = open_writer(path)) != -1) {
                        close(fd);
                        ahead++;
                }
        free(v);
        return ahead + 1;
}

void tr_queue_annotate(json_object *block)
{
        const char *state = tr_json_str(block, "state"), *dir = tr_json_str(block, "queue_dir");
        int64_t ticket;
        int pos;

        if (state == NULL || strcmp(state, "queued") != 0 || dir == NULL ||
            tr_json_int(block, "ticket", &ticket) == -1 || ticket <= 0)
                return;
        if ((pos = position(dir, (unsigned long long)ticket)) > 0)
                json_object_object_add(block, "position", json_object_new_int(pos));
}
