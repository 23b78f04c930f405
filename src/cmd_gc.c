/*
 * `taskrun gc`: trim the run archive. Each run's write already keeps its list
 * to the newest TR_ARCHIVE_KEEP records; gc keeps fewer, drops old ones, and
 * removes what a writer killed mid-write left behind.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "archive.h"
#include "cli.h"
#include "cmd.h"
#include "taskrun/atomic.h"
#include "taskrun/duration.h"

#define CMD "gc"

enum { OPT_KEEP = TR_OPT_FIRST_FREE, OPT_OLDER_THAN };

static const struct option options[] = {
    {"keep", required_argument, NULL, OPT_KEEP},
    {"older-than", required_argument, NULL, OPT_OLDER_THAN},
    {"dry-run", no_argument, NULL, 'n'},
    {"quiet", no_argument, NULL, 'q'},
    {"help", no_argument, NULL, 'h'},
    TR_STORE_LONGOPTS,
    {NULL, 0, NULL, 0},
};

struct gc_opts {
        long keep;
        int64_t older_than_ms; /* -1: no age limit */
        int dry_run, quiet;
        int status;
};

/* gc's --help; the man page says the same. */
static void usage(FILE *f)
{
        fprintf(f,
                "usage: taskrun gc [--keep N] [--older-than DURATION] [--dry-run] [options]\n"
                "\n"
                "Trim taskrun's run archive (${XDG_STATE_HOME:-~/.local/state}/taskrun/runs),\n"
                "where each run's final task (and a detached run's log) is kept after its\n"
                "task file is gone. Every run keeps its own list to the newest %d records\n"
                "on its own; gc keeps fewer or drops old ones, in every list's archive, or\n"
                "only in the list that --list, --dir or --file names.\n"
                "\n"
                "         --keep N                 keep the newest N runs per list (default %d)\n"
                "         --older-than DURATION    also remove runs archived longer ago than\n"
                "                                  DURATION (30m, 12h, 7d)\n"
                "         -n, --dry-run            say what would be removed; remove nothing\n"
                "         -q, --quiet              print nothing\n"
                "         -h, --help               this help\n",
                TR_ARCHIVE_KEEP, TR_ARCHIVE_KEEP);
        tr_cmd_store_usage(f);
        fputs("\nexit status: 0 done; 1 an archive directory could not be read or trimmed;\n"
              "2 usage error.\n",
              f);
}

/* Trim one list's archive directory, and remove it once it is empty. */
static void gc_dir(struct gc_opts *o, const char *dir)
{
        struct tr_err e;
        int n = tr_archive_prune(dir, (size_t)o->keep, o->older_than_ms, o->dry_run, &e);
        int temps = tr_atomic_sweep(dir, NULL, o->dry_run);

        if (n == -1) {
                tr_cmd_warn(CMD, &e);
                o->status = TR_EXIT_FAIL;
                return;
        }
        if (n > 0 && !o->quiet)
                printf("%s %d archived run%s in %s\n", o->dry_run ? "would remove" : "removed", n,
                       n == 1 ? "" : "s", dir);
        if (temps > 0 && !o->quiet)
                printf("%s %d orphaned temp file%s in %s\n",
                       o->dry_run ? "would remove" : "removed", temps, temps == 1 ? "" : "s", dir);
        if (!o->dry_run)
                rmdir(dir); /* only when nothing is left */
}

/* Every list's archive directory under <state dir>/runs. */
static void gc_all(struct gc_opts *o)
{
        char root[PATH_MAX], dir[PATH_MAX * 2];
        struct tr_err e;
        struct dirent *de;
        DIR *d;

        if (tr_archive_root(root, sizeof root, &e) == -1) {
                tr_cmd_warn(CMD, &e);
                o->status = TR_EXIT_FAIL;
                return;
        }
        if ((d = opendir(root)) == NULL) {
                if (errno != ENOENT) {
                        tr_warnx("%s: %s: %s", CMD, root, strerror(errno));
                        o->status = TR_EXIT_FAIL;
                }
                return;
        }
        while ((de = readdir(d)) != NULL)
                if (de->d_name[0] != '.' && de->d_type != DT_REG) {
                        snprintf(dir, sizeof dir, "%s/%s", root, de->d_name);
                        gc_dir(o, dir);
                }
        closedir(d);
}

/* spec->run: opts is a struct gc_opts. */
static int gc(void *opts, const struct tr_store_opts *so, char **args, int nargs)
{
        struct gc_opts *o = opts;
        struct tr_store s;
        struct tr_task_ref file_ref;
        struct tr_err e;
        char dir[PATH_MAX];

        (void)args, (void)nargs; /* none: max_args is 0 */
        if (so->list == NULL && so->dir == NULL && so->file == NULL) {
                gc_all(o);
                return o->status;
        }
        /* The list need not exist any more: its archive is what is left of it. */
        if (tr_store_open(&s, so, 0, &file_ref, &e) == -1 && e.errnum != ENOENT) {
                tr_cmd_warn(CMD, &e);
                return e.errnum == EINVAL ? TR_EXIT_USAGE : TR_EXIT_FAIL;
        }
        if (tr_archive_dir(&s, dir, sizeof dir, &e) == -1) {
                tr_cmd_warn(CMD, &e);
                return TR_EXIT_FAIL;
        }
        gc_dir(o, dir);
        return o->status;
}

/* spec->apply: opts is a struct gc_opts. */
static int apply_option(void *opts, int opt, const char *arg)
{
        struct gc_opts *o = opts;
        char *end;

        switch (opt) {
        case OPT_KEEP:
                errno = 0;
                o->keep = strtol(arg, &end, 10);
                if (errno == 0 && end != arg && *end == '\0' && o->keep >= 0)
                        return 0;
                tr_warnx("%s: --keep: not a number of runs '%s'", CMD, arg);
                return -1;
        case OPT_OLDER_THAN:
                return tr_duration_opt(CMD, "--older-than", arg, -1, &o->older_than_ms);
        case 'n':
                o->dry_run = 1;
                return 0;
        case 'q':
                o->quiet = 1;
                return 0;
        }
        return -1;
}

static const struct tr_cmd_spec spec = {CMD, "nqh", options, usage, apply_option, gc, 0};

int tr_cmd_gc(int argc, char **argv)
{
        struct gc_opts o = {.keep = TR_ARCHIVE_KEEP, .older_than_ms = -1, .status = TR_EXIT_OK};

        return tr_cmd_main(&spec, argc, argv, &o);
}
