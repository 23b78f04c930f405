/* Compiler diagnostics to GitHub annotations: parsing the common forms, escaping, caps. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "annotate.h"

/* Reads digits at *p (advancing it) into *v; 0 if there are none. */
static int read_num(const char **p, const char *end, long *v)
{
        const char *s = *p;
        long n = 0;

        while (s < end && isdigit((unsigned char)*s) && n < 100000000)
                n = n * 10 + (*s++ - '0');
        if (s == *p || (s < end && isdigit((unsigned char)*s)))
                return 0;
        *p = s, *v = n;
        return 1;
}

/* "error", "fatal error" or "warning" at *p, followed by stop; advances past it. */
static int read_severity(const char **p, const char *end, const char *stop, int *error)
{
        static const struct {
                const char *word;
                int error;
        } kinds[] = {{"fatal error", 1}, {"error", 1}, {"warning", 0}};

        for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
                size_t n = strlen(kinds[i].word);
                if ((size_t)(end - *p) > n && strncmp(*p, kinds[i].word, n) == 0 &&
                    strchr(stop, (*p)[n]) != NULL) {
                        *p += n, *error = kinds[i].error;
                        return 1;
                }
        }
        return 0;
}

/* A path: no leading blank, no control characters, not empty. */
static int plausible_path(const char *s, size_t n)
{
        if (n == 0 || n > 1024 || *s == ' ' || *s == '\t')
                return 0;
        for (size_t i = 0; i < n; i++)
                if ((unsigned char)s[i] < 0x20)
                        return 0;
        return 1;
}

/* The message after the severity, blanks skipped: 1 if there is one, for a diagnostic needs it. */
static int set_msg(struct tr_diag *d, const char *p, const char *end)
{
        while (p < end && *p == ' ')
                p++;
        d->msg = p;
        d->msg_len = (size_t)(end - p);
        return d->msg_len > 0;
}

/* gcc, clang: path:line[:col]: severity: msg */
static int parse_gcc(const char *line, const char *end, const char *colon, struct tr_diag *d)
{
        const char *p = colon + 1;

        d->col = 0;
        if (!read_num(&p, end, &d->line))
                return 0;
        if (p < end && *p == ':' && p + 1 < end && isdigit((unsigned char)p[1])) {
                p++;
                if (!read_num(&p, end, &d->col))
                        return 0;
        }
        if (end - p < 2 || p[0] != ':' || p[1] != ' ')
                return 0;
        p += 2;
        if (!read_severity(&p, end, ":", &d->error) || p >= end || *p != ':')
                return 0;
        d->file = line, d->file_len = (size_t)(colon - line);
        return set_msg(d, p + 1, end);
}

/* MSVC, tsc: path(line[,col]): severity [CODE]: msg; the code stays in the message. */
static int parse_msvc(const char *line, const char *end, const char *paren, struct tr_diag *d)
{
        const char *p = paren + 1;

        d->col = 0;
        if (!read_num(&p, end, &d->line))
                return 0;
        if (p < end && *p == ',') {
                p++;
                if (!read_num(&p, end, &d->col))
                        return 0;
        }
        if (end - p < 3 || p[0] != ')' || p[1] != ':' || p[2] != ' ')
                return 0;
        p += 3;
        if (!read_severity(&p, end, ": ", &d->error))
                return 0;
        d->file = line, d->file_len = (size_t)(paren - line);
        if (*p == ':')
                p++;
        return set_msg(d, p, end);
}

int tr_diag_parse(const char *line, size_t len, struct tr_diag *d)
{
        const char *end = line + len;

        for (const char *p = line; p < end; p++) {
                if (*p == ':' && plausible_path(line, (size_t)(p - line)) &&
                    parse_gcc(line, end, p, d))
                        return 1;
                if (*p == '(' && plausible_path(line, (size_t)(p - line)) &&
                    parse_msvc(line, end, p, d))
                        return 1;
        }
        return 0;
}

int tr_diag_parse_arrow(const char *line, size_t len, struct tr_diag *d)
{
        const char *end = line + len, *p = line, *colon = NULL;

        while (p < end && *p == ' ')
                p++;
        if (p == line || end - p < 4 || strncmp(p, "--> ", 4) != 0)
                return 0;
        p += 4;
        /* path:line:col; the path may itself hold a colon, so take the last two. */
        for (const char *q = end - 1, *last = NULL; q > p; q--)
                if (*q == ':') {
                        if (last != NULL) {
                                colon = q;
                                break;
                        }
                        last = q;
                }
        if (colon == NULL || !plausible_path(p, (size_t)(colon - p)))
                return 0;
        const char *q = colon + 1;
        if (!read_num(&q, end, &d->line) || q >= end || *q != ':')
                return 0;
        q++;
        if (!read_num(&q, end, &d->col) || q != end)
                return 0;
        d->file = p, d->file_len = (size_t)(colon - p);
        return 1;
}

/* Workflow command data: %, CR and LF escaped; properties also ':' and ','. */
static void put_escaped(FILE *f, const char *s, size_t n, int property)
{
        for (size_t i = 0; i < n; i++) {
                char c = s[i];
                if (c == '%')
                        fputs("%25", f);
                else if (c == '\r')
                        fputs("%0D", f);
                else if (c == '\n')
                        fputs("%0A", f);
                else if (property && c == ':')
                        fputs("%3A", f);
                else if (property && c == ',')
                        fputs("%2C", f);
                else
                        fputc(c, f);
        }
}

void tr_annotation(FILE *f, const char *kind, const char *title, const char *msg)
{
        fprintf(f, "::%s title=", kind);
        put_escaped(f, title, strlen(title), 1);
        fputs("::", f);
        put_escaped(f, msg, strlen(msg), 0);
        fputc('\n', f);
}

/*
 * One ::error or ::warning line; the file relative to the workspace, as
 * GitHub shows it beside the code.
 */
static void put_diag(FILE *f, const struct tr_diag *d, const char *title, const char *workspace)
{
        const char *file = d->file;
        size_t n = d->file_len, w = workspace ? strlen(workspace) : 0;

        if (w > 0 && n > w + 1 && strncmp(file, workspace, w) == 0 &&
            (file[w] == '/' || workspace[w - 1] == '/')) {
                size_t skip = file[w] == '/' ? w + 1 : w;
                file += skip, n -= skip;
        }
        fprintf(f, "::%s file=", d->error ? "error" : "warning");
        put_escaped(f, file, n, 1);
        fprintf(f, ",line=%ld", d->line);
        if (d->col > 0)
                fprintf(f, ",col=%ld", d->col);
        fputs(",title=", f);
        put_escaped(f, title, strlen(title), 1);
        fputs("::", f);
        put_escaped(f, d->msg, d->msg_len, 0);
        fputc('\n', f);
}

/* rustc: "error[E0308]: msg" or "warning: msg" at the start of a line, its location next. */
static int rust_heading(const char *line, size_t len, struct tr_diag *d)
{
        const char *p = line, *end = line + len;

        if (!read_severity(&p, end, "[:", &d->error))
                return 0;
        if (p < end && *p == '[') {
                const char *close = memchr(p, ']', (size_t)(end - p));
                if (close == NULL)
                        return 0;
                p = line; /* keep the code: "error[E0308]: msg" */
                d->msg = p, d->msg_len = len;
                return 1;
        }
        if (end - p < 2 || p[0] != ':' || p[1] != ' ')
                return 0;
        return set_msg(d, p + 1, end);
}

/*
 * Print d unless its kind is over its cap: GitHub keeps only the first few
 * annotations of a step.
 */
static void count(FILE *f, const struct tr_diag *d, const char *title, const char *workspace,
                  int error_cap, int warning_cap, struct tr_annotate_count *n)
{
        int *done = d->error ? &n->errors : &n->warnings;
        int *more = d->error ? &n->more_errors : &n->more_warnings;

        if (*done < (d->error ? error_cap : warning_cap)) {
                put_diag(f, d, title, workspace);
                (*done)++;
        } else {
                (*more)++;
        }
}

void tr_annotate_output(FILE *f, const char *text, const char *title, const char *workspace,
                        int error_cap, int warning_cap, struct tr_annotate_count *n)
{
        struct tr_diag d, heading;
        int pending = 0; /* a rustc heading waits for its "-->" line */

        memset(n, 0, sizeof *n);
        for (const char *line = text; line != NULL && *line != '\0';) {
                const char *nl = strchr(line, '\n');
                size_t len = nl ? (size_t)(nl - line) : strlen(line);
                if (len > 0 && line[len - 1] == '\r')
                        len--;
                if (pending && tr_diag_parse_arrow(line, len, &heading)) {
                        count(f, &heading, title, workspace, error_cap, warning_cap, n);
                        pending = 0;
                } else if (tr_diag_parse(line, len, &d)) {
                        count(f, &d, title, workspace, error_cap, warning_cap, n);
                        pending = 0;
                } else {
                        pending = rust_heading(line, len, &heading);
                }
                line = nl ? nl + 1 : NULL;
        }
}
