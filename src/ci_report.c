/* Results for CI systems: --summary FILE and --github. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/random.h>
#include <sys/stat.h>

#include "taskrun/atomic.h"
#include "annotate.h"
#include "ci.h"

json_object *tr_ci_summary(const struct tr_ci_result *r)
{
        const struct tr_run_end *end = r->end;
        json_object *o = json_object_new_object();
        char *line = tr_argv_join(r->argv, 4096);

        json_object_object_add(o, "command", tr_json_argv(r->argv));
        json_object_object_add(o, "command_line", json_object_new_string(line ? line : ""));
        json_object_object_add(o, "task", r->task_id ? json_object_new_string(r->task_id) : NULL);
        json_object_object_add(o, "state", json_object_new_string(tr_state_name(end->state)));
        json_object_object_add(o, "exit_code",
                               end->signal ? NULL : json_object_new_int(end->exit_code));
        json_object_object_add(o, "signal", end->signal ? json_object_new_int(end->signal) : NULL);
        json_object_object_add(o, "timed_out", json_object_new_boolean(end->timed_out));
        json_object_object_add(o, "duration_ms", json_object_new_int64(end->duration_ms));
        json_object_object_add(o, "started_at", json_object_new_string(r->started_at));
        json_object_object_add(o, "ended_at", json_object_new_string(end->ended_at));
        json_object_object_add(o, "output_bytes",
                               json_object_new_int64((int64_t)end->output_bytes));
        json_object_object_add(o, "tail", json_object_new_string(end->tail ? end->tail : ""));
        free(line);
        return o;
}

int tr_ci_write_summary(const char *path, const struct tr_ci_result *r, struct tr_err *e)
{
        json_object *o = tr_ci_summary(r);
        const char *text = json_object_to_json_string_ext(
            o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE);
        int ret = tr_atomic_write(path, text, strlen(text), 0644, 0, e);

        if (ret == -1) {
                char reason[sizeof e->msg];
                memcpy(reason, e->msg, sizeof reason);
                tr_err_set(e, e->errnum, "--summary: %s", reason);
        }
        json_object_put(o);
        return ret;
}

int tr_github_active(void)
{
        const char *v = getenv("GITHUB_ACTIONS");

        return v != NULL && strcmp(v, "true") == 0;
}

void tr_github_group_begin(const char *subject, char *const *argv)
{
        char *line = subject ? strndup(subject, 200) : tr_argv_join(argv, 200);

        /* Workflow commands are lines on stdout; a newline in the title would end it early. */
        for (char *p = line; p && *p; p++)
                if (*p == '\n' || *p == '\r')
                        *p = ' ';
        printf("::group::%s\n", line ? line : argv[0]);
        fflush(stdout);
        free(line);
}

void tr_github_group_end(void)
{
        printf("::endgroup::\n");
        fflush(stdout);
}

/* Markdown code fences must be longer than any backtick run inside them. */
static int fence_len(const char *text)
{
        int longest = 0, run = 0;

        for (const char *p = text; *p; p++) {
                run = *p == '`' ? run + 1 : 0;
                if (run > longest)
                        longest = run;
        }
        return longest < 3 ? 3 : longest + 1;
}

/* A code fence of n backquotes: longer than any run in the text it encloses. */
static void put_fence(FILE *f, int n)
{
        while (n-- > 0)
                fputc('`', f);
        fputc('\n', f);
}

/* The last n bytes of text at most, not starting inside a UTF-8 character. */
static const char *last_bytes(const char *text, size_t n)
{
        size_t len = strlen(text);

        if (len <= n)
                return text;
        text += len - n;
        while ((*text & 0xc0) == 0x80)
                text++;
        return text;
}

/*
 * The step summary section for the run: a heading, the command, the outcome
 * and (with_tail) its last output.
 */
static void write_step_summary(FILE *f, const struct tr_ci_result *r, const char *outcome,
                               int with_tail)
{
        const char *tail = r->end->tail_lines && with_tail
                               ? last_bytes(r->end->tail_lines, TR_GITHUB_SECTION_TAIL)
                               : "";
        char *line = tr_argv_join(r->argv, 200);
        const char *mark = r->end->state == TR_STATE_COMPLETED ? "✅" : "❌";
        int fence = fence_len(tail);

        if (r->subject != NULL)
                fprintf(f, "### %s %s\n\n`%s`\n\n%s\n", mark, r->subject, line ? line : r->argv[0],
                        outcome);
        else
                fprintf(f, "### %s `%s`\n\n%s\n", mark, line ? line : r->argv[0], outcome);
        if (r->task_id)
                fprintf(f, "\ntask: `%s`\n", r->task_id);
        if (*tail) {
                fputc('\n', f);
                put_fence(f, fence);
                fputs(tail, f);
                if (tail[strlen(tail) - 1] != '\n')
                        fputc('\n', f);
                put_fence(f, fence);
        } else if (!with_tail) {
                fputs("\n(output left out: the step summary is near GitHub's 1 MiB limit)\n", f);
        }
        fputc('\n', f);
        free(line);
}

/* The section in memory, with the output if it fits under the step's limit, else without. */
static char *summary_section(const struct tr_ci_result *r, const char *outcome, off_t used,
                             size_t *len)
{
        for (int with_tail = 1; with_tail >= 0; with_tail--) {
                char *buf = NULL;
                FILE *m = open_memstream(&buf, len);
                if (m == NULL)
                        return NULL;
                write_step_summary(m, r, outcome, with_tail);
                if (fclose(m) == EOF) {
                        free(buf);
                        return NULL;
                }
                if ((uint64_t)used + *len < TR_GITHUB_SUMMARY_MAX)
                        return buf;
                free(buf);
        }
        *len = 0;
        return NULL;
}

/* Add the section to $GITHUB_STEP_SUMMARY, the tail left out when the file nears its size limit. */
static int append_step_summary(const struct tr_ci_result *r, const char *outcome, struct tr_err *e)
{
        const char *path = getenv("GITHUB_STEP_SUMMARY");
        struct stat st;
        size_t len = 0;
        char *section;
        int fd;

        if (path == NULL || *path == '\0')
                return 0;
        fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
        if (fd == -1)
                return tr_err_sys(e, errno, "GITHUB_STEP_SUMMARY: %s", path);
        section = fstat(fd, &st) == 0 ? summary_section(r, outcome, st.st_size, &len) : NULL;
        if (section == NULL) {
                close(fd);
                return tr_err_set(e, EFBIG, "GITHUB_STEP_SUMMARY: %s: no room under GitHub's 1 MiB",
                                  path);
        }
        int w = tr_write_all(fd, section, len), saved = errno;
        free(section);
        if (close(fd) == -1 && w == 0)
                w = -1, saved = errno;
        return w == -1 ? tr_err_sys(e, saved, "GITHUB_STEP_SUMMARY: %s", path) : 0;
}

/* name<<DELIMITER, value, DELIMITER: GitHub's multiline-safe form, with a random delimiter. */
static void put_output(FILE *f, const char *delim, const char *name, const char *value)
{
        fprintf(f, "%s<<%s\n%s\n%s\n", name, delim, value, delim);
}

/*
 * The step outputs (exit code, state, ...) into $GITHUB_OUTPUT, each value
 * between random delimiters so output cannot forge one.
 */
static int append_outputs(const struct tr_ci_result *r, struct tr_err *e)
{
        const char *path = getenv("GITHUB_OUTPUT");
        unsigned char rnd[16];
        char delim[64], num[32];
        FILE *f;

        if (path == NULL || *path == '\0')
                return 0;
        if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd)
                memset(rnd, 0x5a, sizeof rnd);
        int n = snprintf(delim, sizeof delim, "ghadelimiter_");
        for (size_t i = 0; i < sizeof rnd; i++)
                n += snprintf(delim + n, sizeof delim - (size_t)n, "%02x", rnd[i]);
        f = fopen(path, "ae");
        if (f == NULL)
                return tr_err_sys(e, errno, "GITHUB_OUTPUT: %s", path);
        snprintf(num, sizeof num, "%d", r->status);
        put_output(f, delim, "exit_code", num);
        snprintf(num, sizeof num, "%lld", (long long)r->end->duration_ms);
        put_output(f, delim, "duration_ms", num);
        put_output(f, delim, "state", tr_state_name(r->end->state));
        put_output(f, delim, "task_id", r->task_id ? r->task_id : "");
        if (fclose(f) == EOF)
                return tr_err_sys(e, errno, "GITHUB_OUTPUT: %s", path);
        return 0;
}

/* Diagnostics first, taskrun's own ::error last; together within GitHub's caps. */
static void annotate(const struct tr_ci_result *r, const char *title, const char *outcome)
{
        int failed = r->end->state != TR_STATE_COMPLETED;
        struct tr_annotate_count n;
        char note[256];

        tr_annotate_output(stdout, r->end->tail ? r->end->tail : "", title,
                           getenv("GITHUB_WORKSPACE"), TR_GITHUB_ANNOTATIONS_PER_KIND - failed,
                           TR_GITHUB_ANNOTATIONS_PER_KIND, &n);
        if (n.more_errors > 0 || n.more_warnings > 0) {
                snprintf(note, sizeof note,
                         "%d more errors and %d more warnings in the output were not annotated "
                         "(GitHub shows %d of each per step)",
                         n.more_errors, n.more_warnings, TR_GITHUB_ANNOTATIONS_PER_KIND);
                tr_annotation(stdout, "notice", title, note);
        }
        if (failed)
                tr_annotation(stdout, "error", title, outcome);
        fflush(stdout);
}

int tr_github_report(const struct tr_ci_result *r, struct tr_err *e)
{
        char outcome[256];
        struct tr_err e2;
        int r1, r2;

        tr_outcome_line(r->end, outcome, sizeof outcome);
        annotate(r, r->subject ? r->subject : "taskrun", outcome);
        r1 = append_step_summary(r, outcome, e);
        r2 = append_outputs(r, r1 == -1 ? &e2 : e);
        return r1 == -1 || r2 == -1 ? -1 : 0;
}
