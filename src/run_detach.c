/* --detach: the run goes on in the background, its output into a log (run_ctx.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "run_ctx.h"

/* --log, else beside the task file: LISTDIR/ID.log, or PATH.log for --file PATH. */
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

/*
 * A regular file is opened to read too: the footer looks at its last byte
 * (run_log.c). A FIFO or a device is only written, as it would be without us.
 */
static int open_log(const char *path)
{
        const int flags = O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW;
        struct stat st;
        int rw = lstat(path, &st) == -1 || S_ISREG(st.st_mode);
        int fd = open(path, (rw ? O_RDWR : O_WRONLY) | flags, 0644);

        if (fd == -1 && rw && errno == EACCES)
                fd = open(path, O_WRONLY | flags, 0644);
        return fd;
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

int tr_run_detach(struct run_ctx *c, int *status, struct tr_err *e)
{
        char path[PATH_MAX];
        int log, ready[2];
        pid_t pid;

        if (log_path(c, path, sizeof path) == -1)
                return tr_err_sys(e, ENAMETOOLONG, "--log");
        log = open_log(path);
        if (log == -1)
                return tr_err_sys(e, errno, "%s", path);
        c->info.log_offset = lseek(log, 0, SEEK_END); /* a rerun appends; this run starts here */
        free(c->log);
        if ((c->log = realpath(path, NULL)) == NULL && (c->log = strdup(path)) == NULL) {
                close(log);
                return tr_err_sys(e, ENOMEM, "%s", path);
        }
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
                _exit(pid == -1 ? TR_EXIT_ERROR : TR_EXIT_OK);
        int null = open("/dev/null", O_RDONLY);
        dup2(null, STDIN_FILENO);
        dup2(log, STDOUT_FILENO);
        dup2(log, STDERR_FILENO);
        close(null);
        close(log);
        return 0;
}
