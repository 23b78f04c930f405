/*
 * --github annotations: compiler-style diagnostics in the output become
 * ::error and ::warning workflow commands with file, line, column and title,
 * capped at what GitHub shows per step.
 */
#ifndef TASKRUN_ANNOTATE_H
#define TASKRUN_ANNOTATE_H

#include <stddef.h>
#include <stdio.h>

#define TR_GITHUB_ANNOTATIONS_PER_KIND 10 /* errors, warnings and notices a step shows */

/* One diagnostic; the strings point into the parsed line and are not terminated. */
struct tr_diag {
        int error; /* 1 error, 0 warning */
        const char *file;
        size_t file_len;
        long line, col; /* col 0: not given */
        const char *msg;
        size_t msg_len;
};

/*
 * Parse one line (without its newline) of the single-line forms:
 * gcc and clang "path:line[:col]: error|warning|fatal error: msg", and
 * MSVC and tsc "path(line[,col]): error|warning CODE: msg". 1 if it is one.
 */
int tr_diag_parse(const char *line, size_t len, struct tr_diag *d);

/* Parse rustc's "  --> path:line:col" location line into d's file, line and col. */
int tr_diag_parse_arrow(const char *line, size_t len, struct tr_diag *d);

struct tr_annotate_count {
        int errors, warnings;           /* annotated */
        int more_errors, more_warnings; /* found past the caps */
};

/*
 * Print an annotation for each diagnostic in text, at most error_cap errors
 * and warning_cap warnings, each titled title; count them in *n. File paths
 * under workspace (GitHub's checkout, may be NULL) are made relative to it.
 */
void tr_annotate_output(FILE *f, const char *text, const char *title, const char *workspace,
                        int error_cap, int warning_cap, struct tr_annotate_count *n);

/* "::kind title=T::msg", escaped as GitHub's toolkit does. */
void tr_annotation(FILE *f, const char *kind, const char *title, const char *msg);

#endif
