/* `taskrun show ID`: one task for a person, or its JSON as stored. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cmd.h"
#include "queue.h"
#include "taskrun/signame.h"

#define CMD "show"
#define LINE_MAX_CHARS 1000

static const struct option options[] = {
    {"json", no_argument, NULL, TR_OPT_JSON},
    {"help", no_argument, NULL, 'h'},
    TR_STORE_LONGOPTS,
    {NULL, 0, NULL, 0},
};

/* show's --help; the man page says the same. */
static void usage(FILE *f)
{
        fputs("usage: taskrun show [--json] [options] ID\n"
              "       taskrun show [--json] --file PATH\n"
              "\n"
              "Show task ID: id, subject, status, state of its last run, exit code or\n"
              "signal, duration, start and end, command, last output line, owner,\n"
              "dependencies and description. Absent fields are left out. A task that\n"
              "says running although its process is gone shows as lost (with the\n"
              "reason as error), as reap would write it; nothing is written. A run\n"
              "that waits shows what for: its blockers, or its queue and its place\n"
              "in line (position 1 = next; in --json too, as \"position\"). A task\n"
              "whose file is gone (Claude Code deletes a list's files once all its tasks\n"
              "are completed) is shown from taskrun's run archive, which says so on\n"
              "stderr and as metadata.taskrun.archive.\n"
              "\n"
              "         --json                   the task's JSON as stored (Claude's format,\n"
              "                                  two-space indent), a newline, nothing else\n"
              "         -h, --help               this help\n",
              f);
        tr_cmd_store_usage(f);
        fputs("\nexit status: 0 shown; 1 task not found (nor archived), corrupt or unreadable;\n"
              "2 usage error.\n",
              f);
}

/* "label:      value" for a value that is there. */
static void field(const char *label, const char *value)
{
        char line[LINE_MAX_CHARS * 4 + 8];

        if (value == NULL)
                return;
        tr_oneline(value, LINE_MAX_CHARS, line, sizeof line);
        printf("%-12s %s\n", label, line);
}

/* An integer field of obj, if it is there. */
static void int_field(const char *label, json_object *obj, const char *key)
{
        char buf[32];
        int64_t v;

        if (tr_json_int(obj, key, &v) == 0) {
                snprintf(buf, sizeof buf, "%lld", (long long)v);
                field(label, buf);
        }
}

/* The signal that ended the run, by number and name. */
static void signal_field(json_object *block)
{
        char buf[64];
        int64_t sig;

        if (tr_json_int(block, "signal", &sig) == -1 || sig <= 0 || sig >= NSIG)
                return;
        char name[32];
        tr_signal_name((int)sig, name, sizeof name);
        snprintf(buf, sizeof buf, "%lld (%s)", (long long)sig, name);
        field("signal:", buf);
}

/* ["1","2"] as "1, 2"; nothing for an empty or absent list. */
static void list_field(const char *label, json_object *task, const char *key)
{
        json_object *a;
        char buf[1024] = "";
        size_t used = 0;

        if (!json_object_object_get_ex(task, key, &a) || !json_object_is_type(a, json_type_array) ||
            json_object_array_length(a) == 0)
                return;
        for (size_t i = 0; i < json_object_array_length(a) && used < sizeof buf; i++) {
                const char *s = json_object_get_string(json_object_array_get_idx(a, i));
                int n = snprintf(buf + used, sizeof buf - used, "%s%s", i ? ", " : "", s ? s : "");
                used += n > 0 ? (size_t)n : 0;
        }
        field(label, buf);
}

/* Before the command starts: what it waits for, or its place in a queue. */
static void queue_fields(json_object *block)
{
        const char *queue = tr_json_str(block, "queue");
        int64_t pos, slots;
        char buf[PATH_MAX + 64];

        list_field("waiting for:", block, "waiting_for");
        if (queue == NULL)
                return;
        if (tr_json_int(block, "slots", &slots) == -1)
                slots = 0;
        if (tr_json_int(block, "position", &pos) == 0)
                snprintf(buf, sizeof buf, "%s (%lld slot%s), position %lld", queue,
                         (long long)slots, slots == 1 ? "" : "s", (long long)pos);
        else
                snprintf(buf, sizeof buf, "%s (%lld slot%s)", queue, (long long)slots,
                         slots == 1 ? "" : "s");
        field("queue:", buf);
}

/* What the record (metadata.taskrun) says about the last run. */
static void run_fields(json_object *block)
{
        char buf[64], *cmd = tr_task_command(block, 4096);
        int64_t pid;
        const char *host = tr_json_str(block, "host");

        field("state:", tr_json_str(block, "state"));
        int_field("exit code:", block, "exit_code");
        signal_field(block);
        tr_task_duration(block, buf, sizeof buf);
        if (strcmp(buf, "-") != 0)
                field("duration:", buf);
        field("started:", tr_json_str(block, "started_at"));
        field("ended:", tr_json_str(block, "ended_at"));
        field("command:", cmd);
        free(cmd);
        if (tr_json_int(block, "pid", &pid) == 0) {
                char where[320];
                snprintf(where, sizeof where, "%lld%s%s", (long long)pid, host ? " on " : "",
                         host ? host : "");
                field("pid:", where);
        }
        queue_fields(block);
        field("log:", tr_json_str(block, "log"));
        field("archive:", tr_json_str(block, "archive"));
        field("last line:", tr_json_str(block, "last_line"));
        field("error:", tr_json_str(block, "error"));
}

/* The description as it is, indented; control characters other than newline and tab as '?'. */
static void description(const char *text)
{
        int bol = 1;

        if (text == NULL || *text == '\0')
                return;
        fputs("description:\n", stdout);
        for (const char *p = text; *p; p++) {
                unsigned char c = (unsigned char)*p;
                if (bol && c != '\n')
                        fputs("  ", stdout);
                bol = c == '\n';
                putchar(c == '\n' || c == '\t' ? c : c < 0x20 || c == 0x7f ? '?' : c);
        }
        if (!bol)
                putchar('\n');
}

/* The task for a person: one "label: value" line per field there is. */
static void show_human(const struct tr_store *s, const struct tr_task_ref *ref, json_object *task)
{
        json_object *block = tr_task_block(task, s->schema);
        const char *id = tr_json_str(task, "id");

        field("id:", id && *id ? id : ref->id);
        field("subject:", tr_json_str(task, "subject"));
        field("status:", tr_json_str(task, "status"));
        if (block != NULL)
                run_fields(block);
        field("owner:", tr_json_str(task, "owner"));
        list_field("blocked by:", task, "blockedBy");
        list_field("blocks:", task, "blocks");
        field("active form:", tr_json_str(task, "activeForm"));
        description(tr_json_str(task, "description"));
}

/* A task read from the run archive says so: metadata.taskrun.archive is the record's path. */
static void mark_archived(json_object *task, enum tr_schema schema, const char *archive)
{
        json_object *block = tr_task_block(task, schema);

        if (*archive != '\0' && block != NULL)
                json_object_object_add(block, "archive", json_object_new_string(archive));
}

/* spec->run: opts is the int that --json sets. */
static int show(void *opts, const struct tr_store_opts *so, char **ids, int nids)
{
        int json = *(int *)opts;
        struct tr_targets t;
        json_object *task;
        char archive[PATH_MAX];
        int r = tr_targets_open_ex(CMD, so, ids, nids, 1, 1, &t);

        if (r != TR_EXIT_OK)
                return r;
        if ((r = tr_cmd_read_or_archived(CMD, &t.store, &t.refs[0], &task, archive,
                                         sizeof archive)) == TR_EXIT_OK) {
                struct tr_here here;
                tr_here_init(&here);
                tr_task_judge(task, t.store.schema, &here); /* a dead record shows as lost */
                mark_archived(task, t.store.schema, archive);
                tr_queue_annotate(tr_task_block(task, t.store.schema)); /* its place in line */
                if (json)
                        printf("%s\n", tr_task_format(task));
                else
                        show_human(&t.store, &t.refs[0], task);
                json_object_put(task);
                if (tr_cmd_flush(CMD) == -1)
                        r = TR_EXIT_FAIL;
        }
        tr_targets_free(&t);
        return r;
}

static const struct tr_cmd_spec spec = {CMD, "h", options, usage, tr_cmd_json_opt, show, -1};

int tr_cmd_show(int argc, char **argv)
{
        int json = 0;

        return tr_cmd_main(&spec, argc, argv, &json);
}
