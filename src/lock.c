/*
 * mkdir(2) locks in the manner of the proper-lockfile npm package, which is
 * what Claude Code uses: holding the lock on FILE means having created the
 * directory FILE.lock. A lock directory whose mtime is older than the stale
 * time belongs to a holder that died and may be removed and taken.
 *
 * Two taskrun processes racing to take over the same stale lock could both
 * win (rmdir, mkdir, rmdir, mkdir); flock(2) on the containing directory makes
 * taskrun processes take turns first, so that race is left only between
 * taskrun and a crashed Claude, where proper-lockfile has it too.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "taskrun/atomic.h"
#include "taskrun/lock.h"
#include "taskrun/path.h"
#include "taskrun/procinfo.h"

/* Sleep the whole ms, even when signals arrive. */
static void sleep_ms(long ms)
{
        struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

        while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
                ;
}

/* Backoff between 1 and 64 ms, growing; jitter keeps waiters apart. */
static long next_backoff(long prev, unsigned *seed)
{
        long next = prev < 1 ? 2 : prev * 2;

        if (next > 64)
                next = 64;
        return next / 2 + rand_r(seed) % (next / 2 + 1);
}

long tr_lock_age_ms(const char *lockdir)
{
        struct stat st;
        struct timespec now;
        long long ms;

        if (stat(lockdir, &st) == -1)
                return -1;
        clock_gettime(CLOCK_REALTIME, &now);
        ms = (long long)(now.tv_sec - st.st_mtim.tv_sec) * 1000 +
             (now.tv_nsec - st.st_mtim.tv_nsec) / 1000000;
        return ms < 0 ? 0 : (long)ms;
}

/* The directory holding file, opened for flock(2): -1 with errno. */
static int open_parent_dir(const char *file)
{
        char dir[PATH_MAX];
        const char *base;

        if (tr_path_split(file, dir, sizeof dir, &base) == -1) {
                errno = ENAMETOOLONG;
                return -1;
        }
        return open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

/* flock(2) fd, retrying with backoff until deadline: a blocking flock could not give up in time. */
static int flock_until(int fd, int64_t deadline)
{
        long backoff = 0;
        unsigned seed = (unsigned)getpid();

        while (flock(fd, LOCK_EX | LOCK_NB) == -1) {
                if (errno != EWOULDBLOCK && errno != EINTR)
                        return -1;
                if (tr_monotonic_ms() >= deadline) {
                        errno = ETIMEDOUT;
                        return -1;
                }
                backoff = next_backoff(backoff, &seed);
                sleep_ms(backoff);
        }
        return 0;
}

/* The directory a released lock is kept in as lock's spare, beside it. */
static int spare_lock_path(const char *lock, char *buf, size_t n)
{
        const char *slash = strrchr(lock, '/');
        int dirlen = slash ? (int)(slash - lock) : 1;

        return snprintf(buf, n, "%.*s/%s", dirlen, slash ? lock : ".", TR_LOCK_SPARE_NAME) >= (int)n
                   ? -1
                   : 0;
}

/*
 * Make the lock directory: the spare renamed into place (its mtime made now
 * first, or it would look stale) when there is one, else mkdir(2). Renaming
 * allocates nothing, where mkdir makes an inode and a block and rmdir frees
 * them; either fails with EEXIST when the lock is there.
 */
static int make_lock_dir(const char *path, int flags)
{
        char spare[PATH_MAX];

        if ((flags & TR_LOCK_SPARE) && spare_lock_path(path, spare, sizeof spare) == 0 &&
            utimensat(AT_FDCWD, spare, NULL, AT_SYMLINK_NOFOLLOW) == 0) {
                if (tr_rename_noreplace(spare, path) == 0)
                        return 0;
                if (errno == EEXIST)
                        return -1;
        }
        return mkdir(path, 0777);
}

/* One attempt at the lock directory: 0 taken, 1 busy, -1 error. */
static int try_mkdir_lock(const char *path, int flags)
{
        if (make_lock_dir(path, flags) == 0)
                return 0;
        if (errno != EEXIST)
                return -1;
        long age = tr_lock_age_ms(path);
        if (age < 0)
                return errno == ENOENT ? 1 : -1; /* released meanwhile: retry */
        if (age <= TR_LOCK_STALE_MS)
                return 1;
        /* Stale: its holder died. Take it over as proper-lockfile does. */
        if (rmdir(path) == -1 && errno != ENOENT)
                return -1;
        if (make_lock_dir(path, flags) == 0)
                return 0;
        return errno == EEXIST ? 1 : -1;
}

/* Block every catchable signal, the old mask into saved. */
static void block_signals(sigset_t *saved)
{
        sigset_t all;

        sigfillset(&all);
        sigprocmask(SIG_BLOCK, &all, saved);
}

/*
 * Catchable signals are blocked from just before each mkdir, and stay blocked
 * if it takes the lock, so no handler can leave the directory behind. While
 * waiting they are not: a Ctrl-C or a forwarded signal is not held up for as
 * long as another process keeps the lock.
 */
static int mkdir_lock_until(const char *path, int flags, int64_t deadline, sigset_t *saved)
{
        long backoff = 0;
        unsigned seed = (unsigned)getpid() * 2654435761u;
        int r;

        for (;;) {
                block_signals(saved);
                if ((r = try_mkdir_lock(path, flags)) != 1)
                        break;
                sigprocmask(SIG_SETMASK, saved, NULL);
                if (tr_monotonic_ms() >= deadline) {
                        errno = ETIMEDOUT;
                        return -1;
                }
                backoff = next_backoff(backoff, &seed);
                sleep_ms(backoff);
        }
        return r;
}

int tr_lock_acquire(struct tr_lock *l, const char *file, int timeout_ms, int flags,
                    struct tr_err *e)
{
        int64_t deadline = tr_monotonic_ms() + (timeout_ms < 0 ? TR_LOCK_TIMEOUT_MS : timeout_ms);

        memset(l, 0, sizeof *l);
        l->dirfd = -1;
        if (snprintf(l->path, sizeof l->path, "%s.lock", file) >= (int)sizeof l->path)
                return tr_err_sys(e, ENAMETOOLONG, "%s", file);

        sigprocmask(SIG_SETMASK, NULL, &l->saved);
        l->dirfd = open_parent_dir(file);
        if (l->dirfd == -1) {
                tr_err_sys(e, errno, "%s: lock", file);
                goto fail;
        }
        if (flock_until(l->dirfd, deadline) == -1 ||
            mkdir_lock_until(l->path, flags, deadline, &l->saved) == -1) {
                if (errno == ETIMEDOUT)
                        tr_err_set(e, ETIMEDOUT,
                                   "%s: lock held by another process, gave up after %d ms", l->path,
                                   timeout_ms < 0 ? TR_LOCK_TIMEOUT_MS : timeout_ms);
                else
                        tr_err_sys(e, errno, "%s", l->path);
                goto fail;
        }
        l->held = 1;
        l->flags = flags;
        return 0;
fail:
        if (l->dirfd != -1)
                close(l->dirfd); /* drops the flock too */
        l->dirfd = -1;
        sigprocmask(SIG_SETMASK, &l->saved, NULL);
        return -1;
}

int tr_lock_refresh(struct tr_lock *l)
{
        if (!l->held)
                return 0;
        return utimensat(AT_FDCWD, l->path, NULL, 0);
}

void tr_lock_release(struct tr_lock *l)
{
        char spare[PATH_MAX];

        if (!l->held)
                return;
        /* Kept as the spare, or removed when there is one already. */
        if (!(l->flags & TR_LOCK_SPARE) || spare_lock_path(l->path, spare, sizeof spare) == -1 ||
            tr_rename_noreplace(l->path, spare) == -1)
                rmdir(l->path);
        close(l->dirfd);
        l->dirfd = -1;
        l->held = 0;
        sigprocmask(SIG_SETMASK, &l->saved, NULL);
}
