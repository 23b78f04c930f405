/* How a run ended, in the words `wait` prints and the JSON it gives: one line per task. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "task_outcome.h"
#include "taskrun/procinfo.h"
#include "taskrun/signame.h"

#define LAST_LINE_CHARS 200

/* "timed_out" reads "timed out"; other words are printed as they are. */
static const char *human_word(const char *word)
{
        return strcmp(word, "timed_out") == 0 ? "timed out" : word;
}

/* "exit 2" or "SIGKILL", then the duration: what is inside the parentheses. */
static size_t outcome_facts(json_object *block, char *buf, size_t n)
{
        int64_t code, sig, ms;
        int used = 0;

        buf[0] = '\0';
        if (tr_json_int(block, "signal", &sig) == 0 && sig > 0 && sig < NSIG) {
                tr_signal_name((int)sig, buf, n);
                used = (int)strlen(buf);
        } else if (tr_json_int(block, "exit_code", &code) == 0) {
                used = snprintf(buf, n, "exit %lld", (long long)code);
        }
        if (used < 0 || (size_t)used >= n)
                return strlen(buf);
        if (tr_json_int(block, "duration_ms", &ms) == 0 && ms >= 0) {
                char took[32];
                tr_format_duration(ms, took, sizeof took);
                used += snprintf(buf + used, n - (size_t)used, "%s%s", used ? ", " : "", took);
        }
        return strlen(buf);
}

void tr_outcome_describe(const struct tr_outcome_view *v, char *buf, size_t n)
{
        char facts[256], last[LAST_LINE_CHARS * 4 + 4];
        const char *reason = v->reason;
        const char *line = v->block ? tr_json_str(v->block, "last_line") : NULL;
        int used;

        facts[0] = '\0';
        if (v->block != NULL)
                outcome_facts(v->block, facts, sizeof facts);
        if (reason == NULL && v->block != NULL && strcmp(v->word, "lost") == 0)
                reason = tr_json_str(v->block, "error");
        if (reason != NULL && *reason != '\0') {
                size_t len = strlen(facts);
                snprintf(facts + len, sizeof facts - len, "%s%s", len ? ", " : "", reason);
        }
        if (v->archived) {
                size_t len = strlen(facts);
                snprintf(facts + len, sizeof facts - len,
                         "%sfrom taskrun's run archive: the task file is gone", len ? "; " : "");
        }
        used = snprintf(buf, n, "%s: %s", v->id, human_word(v->word));
        if (used < 0 || (size_t)used >= n)
                return;
        if (facts[0] != '\0')
                used += snprintf(buf + used, n - (size_t)used, " (%s)", facts);
        /* The last line says why a run went wrong; a success needs no more. */
        if (line != NULL && *line != '\0' && strcmp(v->word, "completed") != 0 &&
            (size_t)used < n) {
                tr_oneline(line, LAST_LINE_CHARS, last, sizeof last);
                snprintf(buf + used, n - (size_t)used, ": %s", last);
        }
}

/* Copy key from the block into obj when it is there (null when not, so every object has it). */
static void copy_key(json_object *obj, json_object *block, const char *key)
{
        json_object *v = NULL;

        if (block != NULL)
                json_object_object_get_ex(block, key, &v);
        json_object_object_add(obj, key, json_object_get(v));
}

json_object *tr_outcome_json(const struct tr_outcome_view *v)
{
        json_object *o = json_object_new_object();
        const char *reason = v->reason;

        if (reason == NULL && v->block != NULL && strcmp(v->word, "lost") == 0)
                reason = tr_json_str(v->block, "error");
        json_object_object_add(o, "id", json_object_new_string(v->id));
        json_object_object_add(o, "state", json_object_new_string(v->word));
        json_object_object_add(o, "done", json_object_new_boolean(v->done));
        copy_key(o, v->block, "exit_code");
        copy_key(o, v->block, "signal");
        copy_key(o, v->block, "duration_ms");
        copy_key(o, v->block, "started_at");
        copy_key(o, v->block, "ended_at");
        copy_key(o, v->block, "last_line");
        json_object_object_add(o, "reason", reason ? json_object_new_string(reason) : NULL);
        json_object_object_add(o, "source",
                               json_object_new_string(v->archived ? "archive"
                                                      : v->block  ? "task"
                                                                  : "none"));
        return o;
}
