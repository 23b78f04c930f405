/* Walking /proc for a process tree: every pid with its parent, then down from a root. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "taskrun/proctree.h"

struct proc {
        pid_t pid, ppid;
};

struct procs {
        struct proc *v;
        size_t n, cap;
};

/* The parent of pid from /proc/PID/stat (field 4, after the parenthesised name), or -1. */
static pid_t read_ppid(const char *pid_name)
{
        char path[64], line[1024];
        ssize_t got;
        int fd;

        snprintf(path, sizeof path, "/proc/%s/stat", pid_name);
        if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
                return -1;
        got = read(fd, line, sizeof line - 1);
        close(fd);
        if (got <= 0)
                return -1;
        line[got] = '\0';
        const char *p = strrchr(line, ')');
        char state;
        long ppid;
        if (p == NULL || sscanf(p + 1, " %c %ld", &state, &ppid) != 2)
                return -1;
        /* A zombie has exited: it is waiting for its parent, not something to end. */
        return state == 'Z' || state == 'X' ? -1 : (pid_t)ppid;
}

/* Add a pid and its parent to ps, growing it. 0, or -1 when out of memory. */
static int push(struct procs *ps, pid_t pid, pid_t ppid)
{
        if (ps->n == ps->cap) {
                size_t cap = ps->cap ? ps->cap * 2 : 256;
                struct proc *v = realloc(ps->v, cap * sizeof *v);
                if (v == NULL)
                        return -1;
                ps->v = v;
                ps->cap = cap;
        }
        ps->v[ps->n++] = (struct proc){pid, ppid};
        return 0;
}

/* Every process in /proc with its parent: a snapshot. 0, or -1 with errno. */
static int read_all(struct procs *ps)
{
        DIR *d = opendir("/proc");
        struct dirent *de;

        if (d == NULL)
                return -1;
        while ((de = readdir(d)) != NULL) {
                if (!isdigit((unsigned char)de->d_name[0]))
                        continue;
                pid_t ppid = read_ppid(de->d_name);
                if (ppid > 0 && push(ps, (pid_t)atol(de->d_name), ppid) == -1) {
                        closedir(d);
                        return -1;
                }
        }
        closedir(d);
        return 0;
}

/* Append the children of parent to out (room for ps->n in all). */
static void add_children(const struct procs *ps, pid_t parent, pid_t *out, size_t *found)
{
        for (size_t i = 0; i < ps->n && *found < ps->n; i++)
                if (ps->v[i].ppid == parent)
                        out[(*found)++] = ps->v[i].pid;
}

int tr_proc_descendants(pid_t root, pid_t **pids, size_t *n)
{
        struct procs ps = {0};
        pid_t *out;
        size_t found = 0;

        *pids = NULL;
        *n = 0;
        if (read_all(&ps) == -1 || (out = malloc((ps.n + 1) * sizeof *out)) == NULL) {
                free(ps.v);
                return -1;
        }
        /* Breadth first: out[] is both the answer and the queue of parents to expand. */
        add_children(&ps, root, out, &found);
        for (size_t i = 0; i < found; i++)
                add_children(&ps, out[i], out, &found);
        free(ps.v);
        *pids = out;
        *n = found;
        return 0;
}
