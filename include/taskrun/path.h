/* Splitting a path into its directory and its last name. */
#ifndef TASKRUN_PATH_H
#define TASKRUN_PATH_H

#include <stddef.h>
#include <sys/types.h>

/*
 * The directory of path into dir ("." for a bare name, "/" for one in the
 * root) and its last component in *base (inside path). 0, or -1 if dir is
 * too small.
 */
int tr_path_split(const char *path, char *dir, size_t dsz, const char **base);

/* mkdir -p: path and its missing parents, each with mode. 0, or -1 with errno. */
int tr_mkdir_p(const char *path, mode_t mode);

#endif
