/* Paths: splitting one into its directory and its last name, and names made for files. */
#ifndef TASKRUN_PATH_H
#define TASKRUN_PATH_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * The directory of path into dir ("." for a bare name, "/" for one in the
 * root) and its last component in *base (inside path). 0, or -1 if dir is
 * too small.
 */
int tr_path_split(const char *path, char *dir, size_t dsz, const char **base);

/* mkdir -p: path and its missing parents, each with mode. 0, or -1 with errno. */
int tr_mkdir_p(const char *path, mode_t mode);

/*
 * A file name's worth of any text: its first characters of [A-Za-z0-9_-]
 * (at most max), each run of others as one '_'; out holds max + 1 bytes.
 */
void tr_path_safe_text(const char *text, size_t max, char *out);

/* FNV-1a, 64 bits: a stable short name for a string, to keep names apart, not a secret. */
uint64_t tr_path_hash(const char *text);

#endif
