/*
 * The documentation tells the truth: the man page names every option that
 * --help shows and nothing taskrun does not take, it passes mandoc's lint,
 * --version is the CMake project version, `cmake --install` puts everything
 * in place, and the shell completions offer what --help lists.
 */
#include <ctype.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "helpers.h"

#define MAN_PAGE TASKRUN_SOURCE_DIR "/man/taskrun.1"
#define COMPLETION_DIR TASKRUN_SOURCE_DIR "/scripts/completion"
#define MAX_OPTS 64
#define OPT_LEN 48

/* The forms of the command line: "" is the run form. */
static const char *const forms[] = {"",     "create", "update", "show",  "list", "wait", "reap",
                                    "kill", "logs",   "rerun",  "lists", "gc",   "hook"};
#define N_FORMS (sizeof forms / sizeof forms[0])

/* Where the man page documents a form's own options; the rest are in "Common options". */
static const char *man_block_of(const char *form)
{
        return *form ? form : "Run options";
}

struct opts {
        char v[MAX_OPTS][OPT_LEN]; /* "--name" */
        int n;
};

static const char *bin(void)
{
        const char *b = getenv("TASKRUN_TEST_BIN");

        return b && *b ? b : TASKRUN_BIN;
}

static int in_name(char c)
{
        return islower((unsigned char)c) || isdigit((unsigned char)c) || c == '-';
}

static int opts_has(const struct opts *o, const char *opt)
{
        for (int i = 0; i < o->n; i++)
                if (strcmp(o->v[i], opt) == 0)
                        return 1;
        return 0;
}

static void opts_add(struct opts *o, const char *name, size_t len)
{
        char opt[OPT_LEN];

        cr_assert(len + 3 <= sizeof opt, "option name too long: %.*s", (int)len, name);
        snprintf(opt, sizeof opt, "--%.*s", (int)len, name);
        if (!opts_has(o, opt)) {
                cr_assert(o->n < MAX_OPTS, "too many options");
                snprintf(o->v[o->n++], OPT_LEN, "%s", opt);
        }
}

/* Every "--name" in text (after a non-name character), as "--name". */
static void long_options(const char *text, struct opts *o)
{
        o->n = 0;
        for (const char *p = text; (p = strstr(p, "--")) != NULL; p += 2) {
                if (p > text && (in_name(p[-1]) || p[-1] == '\\'))
                        continue;
                if (!islower((unsigned char)p[2]))
                        continue;
                size_t len = 0;
                while (in_name(p[2 + len]))
                        len++;
                opts_add(o, p + 2, len);
        }
}

/* Every "Fl \-name" in man page source, as "--name". */
static void man_long_options(const char *text, struct opts *o)
{
        static const char mark[] = "Fl \\-";

        o->n = 0;
        for (const char *p = text; (p = strstr(p, mark)) != NULL; p += sizeof mark - 1) {
                size_t len = 0;
                const char *name = p + sizeof mark - 1;
                while (in_name(name[len]))
                        len++;
                if (len > 0)
                        opts_add(o, name, len);
        }
}

/* `taskrun FORM --help`; malloc'd. */
static char *help_of(const char *form)
{
        char cmd[PATH_MAX + 64], *out;

        snprintf(cmd, sizeof cmd, "'%s' %s --help", bin(), form);
        cr_assert_eq(th_run(cmd, &out), 0, "%s --help failed", form);
        return out;
}

static char *read_text(const char *path)
{
        char *text = th_read_file(path, NULL);

        cr_assert_not_null(text, "cannot read %s", path);
        return text;
}

/* The man page text from ".Ss title" to the next .Ss or .Sh; malloc'd. */
static char *man_block(const char *man, const char *title)
{
        char head[128];
        const char *start, *end;

        snprintf(head, sizeof head, "\n.Ss %s\n", title);
        start = strstr(man, head);
        cr_assert_not_null(start, "man page: no subsection '%s'", title);
        start += strlen(head);
        end = start;
        while ((end = strstr(end, "\n.S")) != NULL && end[3] != 's' && end[3] != 'h')
                end++;
        if (end == NULL)
                end = start + strlen(start);
        return strndup(start, (size_t)(end - start));
}

/* "Fl \-name" in text, and not as the start of a longer name. */
static int has_man_option(const char *text, const char *opt)
{
        char mark[OPT_LEN + 8];

        snprintf(mark, sizeof mark, "Fl \\-%s", opt + 2);
        for (const char *p = text; (p = strstr(p, mark)) != NULL; p++)
                if (!in_name(p[strlen(mark)]))
                        return 1;
        return 0;
}

/* A line of text holding both "Fl X" and "Fl \-name": the short and long forms documented together.
 */
static int has_man_pair(const char *text, char short_opt, const char *opt)
{
        char mark[8];
        const char *line = text;

        snprintf(mark, sizeof mark, "Fl %c", short_opt);
        while (*line) {
                const char *nl = strchr(line, '\n');
                size_t len = nl ? (size_t)(nl - line) : strlen(line);
                char *one = strndup(line, len);
                const char *p = strstr(one, mark);
                int ok = p && !in_name(p[strlen(mark)]) && has_man_option(one, opt);
                free(one);
                if (ok)
                        return 1;
                line += len + (nl != NULL);
        }
        return 0;
}

/* A form's own options in the man page; rerun takes the run options as well as its own. */
static char *man_own_block(const char *man, const char *form)
{
        char *own = man_block(man, man_block_of(form)), *run, *both;

        if (strcmp(form, "rerun") != 0)
                return own;
        run = man_block(man, "Run options");
        both = malloc(strlen(own) + strlen(run) + 2);
        cr_assert_not_null(both);
        sprintf(both, "%s\n%s", own, run);
        free(own);
        free(run);
        return both;
}

Test(docs, every_option_in_a_help_is_documented_for_that_form_in_the_man_page)
{
        char *man = read_text(MAN_PAGE), *common = man_block(man, "Common options");

        for (size_t f = 0; f < N_FORMS; f++) {
                char *help = help_of(forms[f]), *own = man_own_block(man, forms[f]);
                struct opts o;

                long_options(help, &o);
                cr_expect_geq(o.n, 3, "%s --help: too few options found", forms[f]);
                for (int i = 0; i < o.n; i++)
                        cr_expect(has_man_option(own, o.v[i]) || has_man_option(common, o.v[i]),
                                  "taskrun %s %s: not in the man page under '%s' or 'Common "
                                  "options'",
                                  forms[f], o.v[i], man_block_of(forms[f]));
                /* "-t, --task": both spellings, documented together. */
                for (const char *p = help; (p = strstr(p, ", --")) != NULL; p += 4) {
                        if (p - help < 3 || p[-2] != '-' || p[-3] != ' ')
                                continue;
                        char opt[OPT_LEN] = "--";
                        size_t len = 0;
                        while (in_name(p[4 + len]) && len < OPT_LEN - 3)
                                len++;
                        memcpy(opt + 2, p + 4, len);
                        opt[2 + len] = '\0';
                        cr_expect(has_man_pair(own, p[-1], opt) || has_man_pair(common, p[-1], opt),
                                  "taskrun %s -%c, %s: not documented together in the man page",
                                  forms[f], p[-1], opt);
                }
                free(own);
                free(help);
        }
        free(common);
        free(man);
}

/* Whether FORM takes --opt: run it with no list and no command; only the option is judged. */
static int form_accepts(const char *scratch, const char *form, const char *opt)
{
        char cmd[2 * PATH_MAX + 256], *out;
        int accepted;

        int len = snprintf(cmd, sizeof cmd,
                           "cd '%s' && env -u CLAUDE_CODE_TASK_LIST_ID CLAUDE_CONFIG_DIR='%s/cfg' "
                           "HOME='%s' '%s' %s %s </dev/null 2>&1 >/dev/null",
                           scratch, scratch, scratch, bin(), form, opt);
        cr_assert_lt(len, (int)sizeof cmd, "command line too long");
        th_run(cmd, &out);
        accepted = strstr(out, "unrecognized option") == NULL;
        free(out);
        return accepted;
}

Test(docs, every_option_in_the_man_page_is_accepted_and_in_a_help)
{
        char *man = read_text(MAN_PAGE), *helps = NULL, scratch[PATH_MAX];
        size_t len = 0;
        struct opts all;

        th_tmpdir(scratch, sizeof scratch);
        for (size_t f = 0; f < N_FORMS; f++) {
                char *help = help_of(forms[f]);
                helps = realloc(helps, len + strlen(help) + 1);
                memcpy(helps + len, help, strlen(help) + 1);
                len += strlen(help);
                free(help);
        }
        man_long_options(man, &all);
        cr_expect_geq(all.n, 30, "man page: too few options found");
        for (int i = 0; i < all.n; i++) {
                struct opts one;
                long_options(helps, &one);
                cr_expect(opts_has(&one, all.v[i]), "man page: %s is in no --help", all.v[i]);
        }
        /* Each form takes the options of its own subsection and the common ones. */
        char *common = man_block(man, "Common options");
        struct opts common_opts;
        man_long_options(common, &common_opts);
        for (size_t f = 0; f < N_FORMS; f++) {
                char *own = man_own_block(man, forms[f]);
                struct opts o;
                man_long_options(own, &o);
                for (int i = 0; i < o.n; i++)
                        cr_expect(form_accepts(scratch, forms[f], o.v[i]),
                                  "man page says taskrun %s takes %s; it does not", forms[f],
                                  o.v[i]);
                for (int i = 0; i < common_opts.n; i++)
                        cr_expect(form_accepts(scratch, forms[f], common_opts.v[i]),
                                  "man page says every form takes %s; taskrun %s does not",
                                  common_opts.v[i], forms[f]);
                free(own);
        }
        free(common);
        free(helps);
        free(man);
        th_rmtree(scratch);
}

static int have(const char *prog)
{
        char cmd[256];

        snprintf(cmd, sizeof cmd, "command -v %s >/dev/null 2>&1", prog);
        return th_run(cmd, NULL) == 0;
}

Test(docs, man_page_passes_mandoc_lint)
{
        char *out, *line, *save = NULL;

        if (!have("mandoc"))
                cr_skip("mandoc is not installed");
        th_run("mandoc -Tlint '" MAN_PAGE "' 2>&1", &out);
        for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                /* Whether a cross-referenced page is installed here says nothing of ours. */
                if (strstr(line, "outdated mandoc.db") ||
                    strstr(line, "referenced manual not found"))
                        continue;
                cr_expect_fail("mandoc -Tlint: %s", line);
        }
        free(out);
}

Test(docs, man_page_renders_with_groff_without_warnings)
{
        char *out;

        if (!have("groff"))
                cr_skip("groff is not installed");
        cr_expect_eq(th_run("groff -ww -mandoc -Tutf8 '" MAN_PAGE "' 2>&1 >/dev/null", &out), 0);
        cr_expect_str_eq(out, "");
        free(out);
        cr_expect_eq(th_run("groff -mandoc -Tutf8 '" MAN_PAGE "' 2>/dev/null | grep -c .", &out),
                     0);
        cr_expect_gt(atoi(out), 400, "the rendered page is suspiciously short: %s lines", out);
        free(out);
}

/* The VERSION of project(taskrun VERSION x.y.z) in CMakeLists.txt. */
static void cmake_version(char *buf, size_t n)
{
        char *cm = read_text(TASKRUN_SOURCE_DIR "/CMakeLists.txt");
        const char *p = strstr(cm, "project(taskrun VERSION ");
        size_t len = 0;

        cr_assert_not_null(p, "CMakeLists.txt: no project(taskrun VERSION ...)");
        p += strlen("project(taskrun VERSION ");
        while (isdigit((unsigned char)p[len]) || p[len] == '.')
                len++;
        cr_assert(len > 0 && len < n);
        snprintf(buf, n, "%.*s", (int)len, p);
        free(cm);
}

Test(docs, version_prints_the_cmake_project_version)
{
        char version[32], expected[64], cmd[PATH_MAX + 32], *out;

        cmake_version(version, sizeof version);
        cr_expect_str_eq(TASKRUN_VERSION, version, "built with %s, CMakeLists.txt says %s",
                         TASKRUN_VERSION, version);
        snprintf(expected, sizeof expected, "taskrun %s\n", version);
        snprintf(cmd, sizeof cmd, "'%s' --version", bin());
        cr_assert_eq(th_run(cmd, &out), 0);
        cr_expect_str_eq(out, expected);
        free(out);
        snprintf(cmd, sizeof cmd, "'%s' -V", bin());
        cr_assert_eq(th_run(cmd, &out), 0);
        cr_expect_str_eq(out, expected);
        free(out);
}

static void expect_same_file(const char *installed, const char *source)
{
        size_t a_len, b_len;
        char *a = th_read_file(installed, &a_len), *b = th_read_file(source, &b_len);

        cr_expect_not_null(a, "not installed: %s", installed);
        cr_assert_not_null(b, "%s", source);
        if (a != NULL)
                cr_expect(a_len == b_len && memcmp(a, b, a_len) == 0, "%s differs from %s",
                          installed, source);
        free(a);
        free(b);
}

Test(docs, staged_install_puts_binary_man_page_and_completions_in_place)
{
        char stage[PATH_MAX], builddir[PATH_MAX], cmd[3 * PATH_MAX], path[2 * PATH_MAX], *out;
        struct stat st;

        if (!have("cmake"))
                cr_skip("cmake is not in PATH");
        th_tmpdir(stage, sizeof stage);
        snprintf(builddir, sizeof builddir, "%s", TASKRUN_BIN);
        dirname(builddir);
        snprintf(cmd, sizeof cmd, "DESTDIR='%s' cmake --install '%s' --prefix /usr 2>&1", stage,
                 builddir);
        cr_assert_eq(th_run(cmd, &out), 0, "%s:\n%s", cmd, out);
        free(out);

        snprintf(path, sizeof path, "%s/usr/bin/taskrun", stage);
        cr_expect(stat(path, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111),
                  "no executable %s", path);
        snprintf(cmd, sizeof cmd, "'%s' --version", path);
        cr_expect_eq(th_run(cmd, NULL), 0, "the installed binary does not run");

        snprintf(path, sizeof path, "%s/usr/share/man/man1/taskrun.1", stage);
        expect_same_file(path, MAN_PAGE);
        snprintf(path, sizeof path, "%s/usr/share/bash-completion/completions/taskrun", stage);
        expect_same_file(path, COMPLETION_DIR "/taskrun.bash");
        snprintf(path, sizeof path, "%s/usr/share/zsh/site-functions/_taskrun", stage);
        expect_same_file(path, COMPLETION_DIR "/_taskrun");
        snprintf(path, sizeof path, "%s/usr/share/fish/vendor_completions.d/taskrun.fish", stage);
        expect_same_file(path, COMPLETION_DIR "/taskrun.fish");
        /* The Claude Code hook: its script (executable), settings and README. */
        snprintf(path, sizeof path, "%s/usr/share/taskrun/claude/taskrun-hook", stage);
        expect_same_file(path, TASKRUN_SOURCE_DIR "/contrib/claude/taskrun-hook");
        cr_expect(stat(path, &st) == 0 && (st.st_mode & 0111), "%s is not executable", path);
        snprintf(path, sizeof path, "%s/usr/share/taskrun/claude/settings.json", stage);
        expect_same_file(path, TASKRUN_SOURCE_DIR "/contrib/claude/settings.json");
        snprintf(path, sizeof path, "%s/usr/share/taskrun/claude/README.md", stage);
        expect_same_file(path, TASKRUN_SOURCE_DIR "/contrib/claude/README.md");
        th_rmtree(stage);
}

/* Run _taskrun in bash for the words given (shell text); COMPREPLY, space-separated. */
static char *bash_complete(const char *words)
{
        char cmd[4096], *out;

        snprintf(cmd, sizeof cmd,
                 "bash --norc --noprofile -c 'source \"%s/taskrun.bash\" || exit 9; "
                 "COMP_WORDS=(%s); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); _taskrun; "
                 "echo \"${COMPREPLY[*]}\"'",
                 COMPLETION_DIR, words);
        cr_assert_eq(th_run(cmd, &out), 0, "bash completion failed for: %s", words);
        return out;
}

Test(docs, bash_completion_loads_and_completes_subcommands)
{
        char *out;

        if (!have("bash"))
                cr_skip("bash is not installed");
        out = bash_complete("taskrun cr");
        cr_expect_str_eq(out, "create\n");
        free(out);
        out = bash_complete("taskrun \"\"");
        cr_expect_str_eq(out,
                         "create update show list wait reap kill logs rerun lists gc hook run\n");
        free(out);
}

/* The options a shell completion offers for "taskrun FORM --", against FORM --help. */
static void expect_same_options(const char *shell, const char *form, const char *offered)
{
        char *help = help_of(form);
        struct opts want, got;

        long_options(help, &want);
        long_options(offered, &got);
        for (int i = 0; i < want.n; i++)
                cr_expect(opts_has(&got, want.v[i]), "%s: taskrun %s: %s is not offered", shell,
                          form, want.v[i]);
        for (int i = 0; i < got.n; i++)
                cr_expect(opts_has(&want, got.v[i]),
                          "%s: taskrun %s: %s is offered but not in --help", shell, form, got.v[i]);
        free(help);
}

Test(docs, bash_completion_offers_the_options_of_each_help)
{
        if (!have("bash"))
                cr_skip("bash is not installed");
        for (size_t f = 0; f < N_FORMS; f++) {
                char words[64], *out;
                snprintf(words, sizeof words, "taskrun %s --", forms[f]);
                out = bash_complete(words);
                expect_same_options("bash", forms[f], out);
                free(out);
        }
}

Test(docs, bash_completion_completes_task_ids_of_the_list)
{
        char dir[PATH_MAX], path[PATH_MAX + 16], words[PATH_MAX + 64], *out;

        if (!have("bash"))
                cr_skip("bash is not installed");
        th_tmpdir(dir, sizeof dir);
        for (int i = 0; i < 3; i++) {
                snprintf(path, sizeof path, "%s/%d.json", dir, (int[]){1, 2, 10}[i]);
                th_write_file(path, "{}");
        }
        snprintf(path, sizeof path, "%s/.highwatermark", dir);
        th_write_file(path, "10");
        snprintf(words, sizeof words, "taskrun show --dir '%s' 1", dir);
        out = bash_complete(words);
        cr_expect_str_eq(out, "1 10\n");
        free(out);
        snprintf(words, sizeof words, "taskrun --dir '%s' --task \"\"", dir);
        out = bash_complete(words);
        cr_expect_str_eq(out, "1 10 2\n");
        free(out);
        th_rmtree(dir);
}

Test(docs, bash_completion_completes_the_wrapped_command)
{
        char *out;

        if (!have("bash"))
                cr_skip("bash is not installed");
        out = bash_complete("taskrun --timeout 5 -- printen");
        cr_expect_str_eq(out, "printenv\n");
        free(out);
}

/* "--name" in text, not as the start of a longer name. */
static int mentions(const char *text, const char *opt)
{
        for (const char *p = text; (p = strstr(p, opt)) != NULL; p++)
                if (!in_name(p[strlen(opt)]) && (p == text || !in_name(p[-1])))
                        return 1;
        return 0;
}

Test(docs, zsh_completion_parses_and_names_every_option)
{
        char *text;

        if (!have("zsh"))
                cr_skip("zsh is not installed");
        cr_expect_eq(th_run("zsh -n '" COMPLETION_DIR "/_taskrun' 2>&1", NULL), 0);
        text = read_text(COMPLETION_DIR "/_taskrun");
        cr_expect_eq(strncmp(text, "#compdef taskrun\n", 17), 0);
        for (size_t f = 0; f < N_FORMS; f++) {
                char *help = help_of(forms[f]);
                struct opts o;
                long_options(help, &o);
                for (int i = 0; i < o.n; i++)
                        cr_expect(mentions(text, o.v[i]), "zsh: taskrun %s %s is not completed",
                                  forms[f], o.v[i]);
                free(help);
        }
        free(text);
}

/*
 * fish's completions for a command line; malloc'd. An empty fish_complete_path
 * keeps fish from also autoloading an installed taskrun.fish (test_package
 * installs one for a moment, maybe during this test in another ctest run).
 */
static char *fish_complete(const char *line)
{
        char cmd[1024], *out;

        snprintf(cmd, sizeof cmd,
                 "fish --no-config -c 'set -g fish_complete_path; source \"%s/taskrun.fish\"; "
                 "complete -C \"%s\"' 2>&1",
                 COMPLETION_DIR, line);
        cr_assert_eq(th_run(cmd, &out), 0, "fish: %s", out);
        return out;
}

Test(docs, fish_completion_completes_subcommands_and_every_option)
{
        char *out;

        if (!have("fish"))
                cr_skip("fish is not installed");
        out = fish_complete("taskrun cr");
        cr_expect_eq(strncmp(out, "create\t", 7), 0, "fish: %s", out);
        free(out);
        for (size_t f = 0; f < N_FORMS; f++) {
                char line[64];
                snprintf(line, sizeof line, "taskrun %s --", forms[f]);
                out = fish_complete(line);
                expect_same_options("fish", forms[f], out);
                free(out);
        }
}
