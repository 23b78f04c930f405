/* The fields taskrun writes into a task at start, at each heartbeat and at the end. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "taskrun/argv.h"
#include "report.h"
#include "taskrun/signame.h"
#include "taskrun/utf8.h"

const char *tr_state_name(enum tr_state s)
{
        static const char *const names[] = {"running", "completed", "failed",  "timed_out",
                                            "killed",  "lost",      "stopped", "stalled"};

        return names[s];
}

void tr_outcome_line(const struct tr_run_end *end, char *buf, size_t n)
{
        char took[32], sig[32], quiet[32];

        tr_format_duration(end->duration_ms, took, sizeof took);
        if (end->between_attempts) /* the last attempt's duration would mislead */
                snprintf(took, sizeof took, "%s", "while waiting to retry");
        tr_format_duration(end->stall_timeout_ms, quiet, sizeof quiet);
        tr_signal_name(end->kill_signal ? end->kill_signal : end->signal, sig, sizeof sig);
        if (end->exec_errno != 0)
                snprintf(buf, n, "failed: could not run the command: %s",
                         strerror(end->exec_errno));
        else if (end->kill_signal != 0)
                snprintf(buf, n, "killed by taskrun kill (%s from pid %d)%s%s", sig,
                         (int)end->kill_pid, end->between_attempts ? " " : " after ", took);
        else if (end->timed_out)
                snprintf(buf, n, "timed out after %s%s%s", took, end->signal ? ", ended by " : "",
                         end->signal ? sig : "");
        else if (end->stalled)
                snprintf(buf, n, "stalled after %s: no output for %s%s%s", took, quiet,
                         end->signal ? ", ended by " : "", end->signal ? sig : "");
        else if (end->signal != 0)
                snprintf(buf, n, "killed by %s%s%s", sig, end->between_attempts ? " " : " after ",
                         took);
        else if (end->exit_code == 0)
                snprintf(buf, n, "completed in %s", took);
        else
                snprintf(buf, n, "failed: exit code %d after %s", end->exit_code, took);
}

/* Where this schema keeps taskrun's fields: metadata.taskrun, or the top level. */
static json_object *block_of(json_object *task, enum tr_schema schema, int fresh)
{
        json_object *meta, *block;

        if (schema == TR_SCHEMA_PLAIN)
                return task;
        if (!json_object_object_get_ex(task, "metadata", &meta) ||
            !json_object_is_type(meta, json_type_object)) {
                meta = json_object_new_object();
                json_object_object_add(task, "metadata", meta);
        }
        if (fresh || !json_object_object_get_ex(meta, "taskrun", &block) ||
            !json_object_is_type(block, json_type_object)) {
                block = json_object_new_object();
                json_object_object_add(meta, "taskrun", block);
        }
        return block;
}

/* Strings from outside (argv, cwd, host) are bytes; a task file holds UTF-8 only. */
static void set_str(json_object *o, const char *key, const char *val)
{
        json_object_object_add(o, key, val ? tr_json_utf8(val) : NULL);
}

/* An integer field of o. */
static void set_int(json_object *o, const char *key, int64_t val)
{
        json_object_object_add(o, key, json_object_new_int64(val));
}

/* Drop the result block an earlier run left at the end of the description. */
static void strip_result_block(json_object *task)
{
        json_object *d;

        if (!json_object_object_get_ex(task, "description", &d) ||
            !json_object_is_type(d, json_type_string))
                return;
        const char *text = json_object_get_string(d);
        const char *mark = strstr(text, TR_RESULT_MARK);
        if (strncmp(text, TR_RESULT_HEAD, strlen(TR_RESULT_HEAD)) == 0)
                mark = text; /* the block was all of it */
        if (mark != NULL)
                json_object_object_add(task, "description",
                                       json_object_new_string_len(text, (int)(mark - text)));
}

/* An earlier run's result, and what the gates recorded while it waited, which a new run's
 * record must not inherit. */
static void clear_result(json_object *block)
{
        static const char *const keys[] = {
            "exit_code",   "signal",      "timed_out",     "stalled",        "ended_at",
            "duration_ms", "output_tail", "last_line",     "error",          "output_error",
            "stop_signal", "killed_by",   "on_exit_error", "retry_at",       "attempt",
            "attempts",    "options",     "waiting_for",   "queue",          "queue_dir",
            "ticket",      "slots",       "since",         "skipped_because"};

        for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
                json_object_object_del(block, keys[i]);
}

/* activeForm while the command runs: "Running make -j8", as Claude Code shows it in its spinner. */
static void running_form(char *const *argv, char *buf, size_t n)
{
        char *cmd = tr_argv_join(argv, 120);

        snprintf(buf, n, "Running %s", cmd ? cmd : argv[0]);
        free(cmd);
}

/*
 * What activeForm says once a run has ended, before the command: Claude Code
 * (2.1.332) shows an in_progress task's activeForm as the spinner's text, and
 * a failed run's task stays in_progress, so "Running make" would spin for
 * work that has ended. A completed task's activeForm is not shown: ours goes.
 */
static const char *ended_prefix(const char *state)
{
        static const struct {
                const char *state, *prefix;
        } forms[] = {{"failed", "Failed: "},
                     {"timed_out", "Timed out: "},
                     {"stalled", "Stalled: "},
                     {"killed", "Killed: "},
                     {"lost", "Lost: "}};

        for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++)
                if (state != NULL && strcmp(state, forms[i].state) == 0)
                        return forms[i].prefix;
        return NULL;
}

/* The recorded argv of the task's last run, as running_form takes it; 0 if none. */
static size_t recorded_argv(json_object *task, char **args, size_t max)
{
        json_object *argv = NULL, *meta, *block;
        size_t n = 0;

        if (json_object_object_get_ex(task, "metadata", &meta) &&
            json_object_object_get_ex(meta, "taskrun", &block))
                json_object_object_get_ex(block, "argv", &argv);
        if (argv == NULL || !json_object_is_type(argv, json_type_array))
                return 0;
        for (; n < json_object_array_length(argv) && n < max - 1; n++)
                args[n] = (char *)json_object_get_string(json_object_array_get_idx(argv, n));
        args[n] = NULL;
        return n;
}

/* The activeForm an earlier run of taskrun set (running or ended), from the argv it recorded. */
static int form_is_ours(const char *form, json_object *task)
{
        static const char *const states[] = {"failed", "timed_out", "stalled", "killed", "lost"};
        char *args[64], ours[160], *cmd;
        int mine;

        if (recorded_argv(task, args, 64) == 0)
                return 0;
        running_form(args, ours, sizeof ours);
        if (strcmp(form, ours) == 0)
                return 1;
        if ((cmd = tr_argv_join(args, 120)) == NULL)
                return 0;
        mine = 0;
        for (size_t i = 0; i < sizeof states / sizeof states[0] && !mine; i++) {
                snprintf(ours, sizeof ours, "%s%s", ended_prefix(states[i]), cmd);
                mine = strcmp(form, ours) == 0;
        }
        free(cmd);
        return mine;
}

/* "Running make -j8", unless someone else chose the words: then theirs stay. */
static void set_active_form(json_object *task, char *const *argv)
{
        json_object *cur;
        char form[160];

        if (json_object_object_get_ex(task, "activeForm", &cur) &&
            json_object_is_type(cur, json_type_string) && *json_object_get_string(cur) != '\0' &&
            !form_is_ours(json_object_get_string(cur), task))
                return;
        running_form(argv, form, sizeof form);
        set_str(task, "activeForm", form);
}

void tr_report_active_form_end(json_object *task, const char *state)
{
        json_object *cur;
        const char *prefix = ended_prefix(state);
        char *args[64], *cmd, form[160];

        if (!json_object_object_get_ex(task, "activeForm", &cur) ||
            !json_object_is_type(cur, json_type_string) ||
            !form_is_ours(json_object_get_string(cur), task))
                return;
        if (prefix == NULL) {
                json_object_object_del(task, "activeForm");
                return;
        }
        recorded_argv(task, args, 64);
        if ((cmd = tr_argv_join(args, 120)) == NULL)
                return;
        snprintf(form, sizeof form, "%s%s", prefix, cmd);
        set_str(task, "activeForm", form);
        free(cmd);
}

/* --retry: which attempt this is, and how the earlier ones ended. */
static void set_attempts(json_object *b, const struct tr_run_info *in)
{
        if (in->attempt <= 0)
                return;
        set_int(b, "attempt", in->attempt);
        if (in->attempts != NULL)
                json_object_object_add(b, "attempts", json_object_get(in->attempts));
}

int tr_report_start(json_object *task, void *arg, struct tr_err *e)
{
        const struct tr_report *r = arg;
        const struct tr_run_info *in = r->info;
        json_object *b;
        (void)e;

        if (r->schema == TR_SCHEMA_CLAUDE)
                set_active_form(task, in->argv); /* reads the last run's argv: before it goes */
        b = block_of(task, r->schema, 1);
        clear_result(b); /* a no-op on the fresh block of a Claude list; needed at top level */
        set_str(task, "status", "in_progress");
        if (r->schema == TR_SCHEMA_CLAUDE)
                strip_result_block(task);
        set_str(b, "state", tr_state_name(TR_STATE_RUNNING));
        json_object_object_add(b, "argv", tr_json_argv(in->argv));
        set_str(b, "cwd", in->cwd);
        set_int(b, "pid", in->pid);
        set_str(b, "host", in->host);
        set_str(b, "boot_id", in->boot_id);
        set_int(b, "start_time_ticks", (int64_t)in->start_ticks);
        if (in->supervisor_pid > 0) {
                set_int(b, "supervisor_pid", in->supervisor_pid);
                set_int(b, "supervisor_start_ticks", (int64_t)in->supervisor_start_ticks);
        }
        if (in->log != NULL) {
                set_str(b, "log", in->log);
                set_int(b, "log_offset", in->log_offset);
        } else {
                json_object_object_del(b, "log");
                json_object_object_del(b, "log_offset");
        }
        set_str(b, "started_at", in->started_at);
        set_str(b, "heartbeat_at", in->started_at);
        set_int(b, "output_bytes", 0);
        if (in->options != NULL)
                json_object_object_add(b, "options", json_object_get(in->options));
        set_attempts(b, in);
        return 0;
}

int tr_report_heartbeat(json_object *task, void *arg, struct tr_err *e)
{
        const struct tr_report *r = arg;
        json_object *b = block_of(task, r->schema, 0);
        (void)e;

        set_str(b, "heartbeat_at", r->now);
        set_int(b, "output_bytes", (int64_t)r->output_bytes);
        set_str(b, "last_line", r->last_line);
        return 0;
}

/*
 * The task's status once the run has ended: a failed Claude task stays
 * in_progress (or pending), never "failed".
 */
static const char *end_status(const struct tr_report *r, int ok)
{
        if (ok)
                return "completed";
        if (r->schema == TR_SCHEMA_PLAIN)
                return "failed";
        return r->fail_status_pending ? "pending" : "in_progress";
}

/*
 * The output lines of a result block: the last lines of output that fit in
 * TR_RESULT_OUTPUT_MAX bytes, each cut to TR_RESULT_LINE bytes with an
 * ellipsis, at a character boundary. malloc'd; NULL for no output.
 */
static char *bounded_output(const char *output)
{
        char *out, *line;
        size_t used = TR_RESULT_OUTPUT_MAX, len;
        const char *end, *start;

        if (output == NULL || *output == '\0' || (out = malloc(TR_RESULT_OUTPUT_MAX + 1)) == NULL)
                return NULL;
        out[TR_RESULT_OUTPUT_MAX] = '\0';
        end = output + strlen(output);
        if (end > output && end[-1] == '\n')
                end--;
        /* From the last line backwards, filling out from its end. */
        while (end > output) {
                for (start = end; start > output && start[-1] != '\n'; start--)
                        ;
                char *raw = strndup(start, (size_t)(end - start));
                line = raw ? tr_utf8_clean(raw, (size_t)(end - start) * 3 + 1) : NULL;
                free(raw);
                if (line == NULL)
                        break;
                len = strlen(line);
                int cut = len > TR_RESULT_LINE;
                if (cut) {
                        for (len = TR_RESULT_LINE; len > 0 && (line[len] & 0xC0) == 0x80; len--)
                                ; /* not inside a character */
                        line[len] = '\0';
                }
                size_t need = len + (cut ? strlen("…") : 0) + 1;
                if (need > used) {
                        free(line);
                        break;
                }
                used -= need;
                /* No terminating NUL here: it would land on the line after this one. */
                memcpy(out + used, line, len);
                if (cut)
                        memcpy(out + used + len, "…", strlen("…"));
                out[used + need - 1] = '\n';
                free(line);
                end = start > output ? start - 1 : start;
        }
        memmove(out, out + used, TR_RESULT_OUTPUT_MAX - used + 1);
        len = strlen(out);
        if (len > 0)
                out[len - 1] = '\0'; /* no newline after the last line */
        return *out ? out : (free(out), NULL);
}

void tr_result_block_set(json_object *task, const char *outcome, const char *command,
                         const char *output)
{
        json_object *d;
        const char *desc;
        char *text, *lines;
        size_t n;

        strip_result_block(task);
        if (!json_object_object_get_ex(task, "description", &d) ||
            !json_object_is_type(d, json_type_string))
                return;
        desc = json_object_get_string(d);
        lines = bounded_output(output);
        n = strlen(desc) + strlen(outcome) + (command ? strlen(command) : 0) +
            (lines ? strlen(lines) : 0) + sizeof TR_RESULT_MARK + 32;
        if ((text = malloc(n)) == NULL) {
                free(lines);
                return;
        }
        snprintf(text, n, "%s%s%s%s%s%s%s", desc, *desc ? TR_RESULT_MARK : TR_RESULT_HEAD, outcome,
                 command ? "\ncommand: " : "", command ? command : "",
                 lines ? "\nlast output:\n" : "", lines ? lines : "");
        json_object_object_add(task, "description", json_object_new_string(text));
        free(text);
        free(lines);
}

/* The lines an agent reads in TaskGet: outcome, command, last lines of output. */
static void append_result_block(json_object *task, const struct tr_report *r)
{
        char outcome[256];
        char *cmd = tr_argv_join(r->info->argv, 200);

        tr_outcome_line(r->end, outcome, sizeof outcome);
        tr_result_block_set(task, outcome, cmd, r->end->tail_lines);
        free(cmd);
}

int tr_report_end(json_object *task, void *arg, struct tr_err *e)
{
        const struct tr_report *r = arg;
        const struct tr_run_end *end = r->end;
        int ok = end->state == TR_STATE_COMPLETED;
        json_object *b = block_of(task, r->schema, 0);
        (void)e;

        set_str(task, "status", end_status(r, ok));
        if (r->schema == TR_SCHEMA_CLAUDE)
                tr_report_active_form_end(task, tr_state_name(end->state));
        if (r->schema == TR_SCHEMA_CLAUDE && ok)
                strip_result_block(task);
        else if (r->schema == TR_SCHEMA_CLAUDE)
                append_result_block(task, r); /* replacing an earlier run's */
        set_str(b, "state", tr_state_name(end->state));
        json_object_object_add(b, "exit_code",
                               end->signal ? NULL : json_object_new_int(end->exit_code));
        json_object_object_add(b, "signal", end->signal ? json_object_new_int(end->signal) : NULL);
        json_object_object_add(b, "timed_out", json_object_new_boolean(end->timed_out));
        if (end->stalled)
                json_object_object_add(b, "stalled", json_object_new_boolean(1));
        else
                json_object_object_del(b, "stalled");
        set_str(b, "ended_at", end->ended_at);
        set_int(b, "duration_ms", end->duration_ms);
        set_str(b, "heartbeat_at", end->ended_at);
        set_int(b, "output_bytes", (int64_t)end->output_bytes);
        set_str(b, "last_line", end->last_line);
        set_str(b, "output_tail", end->tail);
        if (end->kill_signal != 0) {
                json_object *k = json_object_new_object();
                set_int(k, "signal", end->kill_signal);
                set_int(k, "pid", end->kill_pid);
                set_int(k, "uid", (int64_t)end->kill_uid);
                json_object_object_add(b, "killed_by", k);
        } else {
                json_object_object_del(b, "killed_by");
        }
        if (end->output_error != NULL)
                set_str(b, "output_error", end->output_error);
        else
                json_object_object_del(b, "output_error");
        json_object_object_del(b, "stop_signal");
        json_object_object_del(b, "retry_at");
        set_attempts(b, r->info);
        /* An error a reap wrote while we were on our way here is no longer true. */
        if (end->exec_errno)
                set_str(b, "error", strerror(end->exec_errno));
        else
                json_object_object_del(b, "error");
        return 0;
}

int tr_report_stopped(json_object *task, void *arg, struct tr_err *e)
{
        const struct tr_report *r = arg;
        json_object *b = block_of(task, r->schema, 0);
        (void)e;

        set_str(b, "state", tr_state_name(r->stop_signal ? TR_STATE_STOPPED : TR_STATE_RUNNING));
        if (r->stop_signal)
                set_int(b, "stop_signal", r->stop_signal);
        else
                json_object_object_del(b, "stop_signal");
        return 0;
}

int tr_report_retry(json_object *task, void *arg, struct tr_err *e)
{
        const struct tr_report *r = arg;
        const struct tr_run_end *end = r->end;
        json_object *b = block_of(task, r->schema, 0);
        (void)e;

        set_str(b, "state", tr_state_name(TR_STATE_RUNNING));
        json_object_object_del(b, "stop_signal");
        set_str(b, "heartbeat_at", end->ended_at);
        set_int(b, "output_bytes", (int64_t)end->output_bytes);
        set_str(b, "last_line", end->last_line);
        set_attempts(b, r->info);
        set_str(b, "retry_at", r->retry_at);
        return 0;
}
