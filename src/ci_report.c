/* Results for CI systems: --summary FILE and --github. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "taskrun/atomic.h"
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

void tr_github_group_begin(char *const *argv)
{
        char *line = tr_argv_join(argv, 200);

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

static void put_fence(FILE *f, int n)
{
        while (n-- > 0)
                fputc('`', f);
        fputc('\n', f);
}

static void write_step_summary(FILE *f, const struct tr_ci_result *r, const char *outcome)
{
        const char *tail = r->end->tail_lines ? r->end->tail_lines : "";
        char *line = tr_argv_join(r->argv, 200);
        int fence = fence_len(tail);

        fprintf(f, "### %s `%s`\n\n%s\n", r->end->state == TR_STATE_COMPLETED ? "✅" : "❌",
                line ? line : r->argv[0], outcome);
        if (r->task_id)
                fprintf(f, "\ntask: `%s`\n", r->task_id);
        if (*tail) {
                fputc('\n', f);
                put_fence(f, fence);
                fputs(tail, f);
                if (tail[strlen(tail) - 1] != '\n')
                        fputc('\n', f);
                put_fence(f, fence);
        }
        fputc('\n', f);
        free(line);
}

int tr_github_report(const struct tr_ci_result *r, struct tr_err *e)
{
        const char *path = getenv("GITHUB_STEP_SUMMARY");
        char outcome[256];
        FILE *f;

        tr_outcome_line(r->end, outcome, sizeof outcome);
        if (r->end->state != TR_STATE_COMPLETED) {
                printf("::error title=taskrun::%s\n", outcome);
                fflush(stdout);
        }
        if (path == NULL || *path == '\0')
                return 0;
        f = fopen(path, "a");
        if (f == NULL)
                return tr_err_sys(e, errno, "GITHUB_STEP_SUMMARY: %s", path);
        write_step_summary(f, r, outcome);
        if (fclose(f) == EOF)
                return tr_err_sys(e, errno, "GITHUB_STEP_SUMMARY: %s", path);
        return 0;
}
