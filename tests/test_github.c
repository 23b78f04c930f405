/*
 * --github in GitHub Actions: compiler diagnostics in the output become
 * ::error and ::warning annotations (gcc, clang, MSVC, tsc, rustc forms),
 * capped at GitHub's 10 of each per step with taskrun's own failure
 * annotation counted and a notice for the rest; --subject titles the group and
 * the annotations; the step summary stays under 1 MiB; $GITHUB_OUTPUT gets
 * exit_code, duration_ms, state and task_id in the multiline-safe form.
 */
#include "test_run.h"

static void setup(void)
{
        run_setup();
        setenv("GITHUB_ACTIONS", "true", 1);
        unsetenv("GITHUB_STEP_SUMMARY");
        unsetenv("GITHUB_OUTPUT");
        unsetenv("GITHUB_WORKSPACE");
}

TestSuite(github, .init = setup, .fini = run_teardown, .timeout = 60);

/* The lines of ./stdout that start with prefix, joined with newlines; malloc'd. */
static char *lines_with(const char *prefix)
{
        char *out = run_stdout(NULL), *res = calloc(1, strlen(out) + 1);

        for (char *l = strtok(out, "\n"); l; l = strtok(NULL, "\n"))
                if (strncmp(l, prefix, strlen(prefix)) == 0)
                        strcat(strcat(res, l), "\n");
        free(out);
        return res;
}

static void expect_stdout_has(const char *line)
{
        char *out = run_stdout(NULL);

        cr_expect(strstr(out, line) != NULL, "want %s in:\n%s", line, out);
        free(out);
}

Test(github, gcc_and_clang_diagnostics_become_annotations)
{
        th_write_file("out.txt", "In file included from src/a.h:1:\n"
                                 "src/a.c:12:5: error: 'x' undeclared\n"
                                 "src/b.c:3: warning: unused variable 'y' [-Wunused-variable]\n"
                                 "src/c.c:7:1: fatal error: foo.h: No such file or directory\n"
                                 "src/a.c:12:5: note: each undeclared identifier is reported once\n"
                                 "cc1: all warnings being treated as errors\n");
        cr_assert_eq(run("\"$TR\" --dir list --github -- cat out.txt"), 0);
        char *err = lines_with("::error"), *warn = lines_with("::warning");
        cr_expect_str_eq(err, "::error file=src/a.c,line=12,col=5,title=taskrun::'x' undeclared\n"
                              "::error file=src/c.c,line=7,col=1,title=taskrun::foo.h: No such "
                              "file or directory\n");
        cr_expect_str_eq(warn, "::warning file=src/b.c,line=3,title=taskrun::unused variable 'y' "
                               "[-Wunused-variable]\n");
        free(err);
        free(warn);
}

Test(github, msvc_tsc_and_rustc_diagnostics_become_annotations)
{
        th_write_file("out.txt", "lib/x.ts(4,7): error TS2322: Type 'string' is not assignable\n"
                                 "m.cpp(10): warning C4996: 'strcpy': deprecated\n"
                                 "warning: unused variable: `v`\n"
                                 "  --> src/lib.rs:9:13\n"
                                 "error[E0308]: mismatched types\n"
                                 " --> src/main.rs:4:5\n"
                                 "error: aborting due to previous error\n");
        cr_assert_eq(run("\"$TR\" --dir list --github -- cat out.txt"), 0);
        char *err = lines_with("::error"), *warn = lines_with("::warning");
        cr_expect_str_eq(err, "::error file=lib/x.ts,line=4,col=7,title=taskrun::TS2322: Type "
                              "'string' is not assignable\n"
                              "::error file=src/main.rs,line=4,col=5,title=taskrun::error[E0308]: "
                              "mismatched types\n");
        cr_expect_str_eq(warn, "::warning file=m.cpp,line=10,title=taskrun::C4996: 'strcpy': "
                               "deprecated\n"
                               "::warning file=src/lib.rs,line=9,col=13,title=taskrun::unused "
                               "variable: `v`\n");
        free(err);
        free(warn);
}

Test(github, annotations_are_capped_with_the_failure_counted_and_a_notice_for_the_rest)
{
        cr_assert_eq(run("\"$TR\" --dir list --github -- sh -c 'i=0; while [ $i -lt 15 ]; do "
                         "echo \"f.c:$i:1: error: e$i\"; echo \"f.c:$i:2: warning: w$i\"; "
                         "i=$((i+1)); done; exit 2'"),
                     2);
        char *err = lines_with("::error"), *warn = lines_with("::warning"),
             *note = lines_with("::notice");
        cr_expect_eq(run_count_str(err, "\n"), 10, "%s", err);
        cr_expect_eq(run_count_str(err, "::error file=f.c"), 9, "%s", err);
        cr_expect(strstr(err, "::error title=taskrun::failed: exit code 2") != NULL, "%s", err);
        cr_expect_eq(run_count_str(warn, "\n"), 10, "%s", warn);
        cr_expect_str_eq(note, "::notice title=taskrun::6 more errors and 5 more warnings in the "
                               "output were not annotated (GitHub shows 10 of each per step)\n");
        free(err);
        free(warn);
        free(note);
}

Test(github, a_successful_run_may_annotate_ten_errors)
{
        cr_assert_eq(run("\"$TR\" --dir list --github -- sh -c 'i=0; while [ $i -lt 10 ]; do "
                         "echo \"f.c:$i: error: e$i\"; i=$((i+1)); done'"),
                     0);
        char *err = lines_with("::error"), *note = lines_with("::notice");
        cr_expect_eq(run_count_str(err, "::error file=f.c"), 10, "%s", err);
        cr_expect_str_eq(note, "");
        free(err);
        free(note);
}

Test(github, subject_titles_the_group_and_the_annotations_escaped)
{
        cr_assert_eq(run("\"$TR\" --dir list --github -s 'build: 100%%, all' -- "
                         "sh -c 'echo \"a.c:1:2: error: 50%% done\"; exit 1'"),
                     1);
        char *out = run_stdout(NULL);
        cr_expect_eq(strncmp(out, "::group::build: 100%, all\n", 26), 0, "%s", out);
        free(out);
        expect_stdout_has("::error file=a.c,line=1,col=2,title=build%3A 100%25%2C all::50%25 "
                          "done\n");
        expect_stdout_has("::error title=build%3A 100%25%2C all::failed: exit code 1 after ");
}

Test(github, paths_in_the_workspace_become_relative)
{
        setenv("GITHUB_WORKSPACE", "/home/runner/work/r/r", 1);
        cr_assert_eq(run("\"$TR\" --dir list --github -- "
                         "echo '/home/runner/work/r/r/src/x.c:5:1: warning: w'"),
                     0);
        expect_stdout_has("::warning file=src/x.c,line=5,col=1,title=taskrun::w\n");
}

/* GITHUB_OUTPUT's name<<DELIM / value / DELIM records: the value of name. */
static char *output_value(const char *text, const char *name)
{
        char head[64], delim[128];
        const char *p;

        snprintf(head, sizeof head, "%s<<", name);
        p = strstr(text, head);
        cr_assert_not_null(p, "no %s in %s", name, text);
        p += strlen(head);
        size_t n = strcspn(p, "\n");
        cr_assert_lt(n, sizeof delim - 2);
        snprintf(delim, sizeof delim, "\n%.*s\n", (int)n, p);
        cr_expect_eq(strncmp(p, "ghadelimiter_", 13), 0, "delimiter %.*s", (int)n, p);
        p += n + 1;
        const char *end = strstr(p - 1, delim);
        cr_assert_not_null(end, "%s: no closing delimiter", name);
        return strndup(p, (size_t)(end + 1 - p) - 1);
}

Test(github, github_output_gets_exit_code_duration_state_and_task_id)
{
        char *text, *v;

        th_write_file("gh-output", "earlier=1\n");
        setenv("GITHUB_OUTPUT", "gh-output", 1);
        cr_assert_eq(run("\"$TR\" --dir list --github -- sh -c 'sleep 0.05; exit 3'"), 3);
        text = th_read_file("gh-output", NULL);
        cr_assert_not_null(text);
        cr_expect_eq(strncmp(text, "earlier=1\n", 10), 0, "not appended: %s", text);
        cr_expect_str_eq(v = output_value(text, "exit_code"), "3");
        free(v);
        cr_expect_str_eq(v = output_value(text, "state"), "failed");
        free(v);
        cr_expect_str_eq(v = output_value(text, "task_id"), "1");
        free(v);
        v = output_value(text, "duration_ms");
        cr_expect(atoi(v) >= 50 && strspn(v, "0123456789") == strlen(v), "duration_ms %s", v);
        free(v);
        free(text);
}

Test(github, step_summary_stays_under_one_mebibyte)
{
        struct stat st;
        char *big = malloc(1024 * 1024);

        /* A summary nearly full already, and a run whose last lines are long. */
        memset(big, 'x', 1024 * 1024 - 2000);
        big[1024 * 1024 - 2000] = '\0';
        th_write_file("summary.md", big);
        free(big);
        setenv("GITHUB_STEP_SUMMARY", "summary.md", 1);
        cr_assert_eq(run("\"$TR\" --dir list --tail 1M --github -- "
                         "sh -c 'head -c 300000 /dev/zero | tr \"\\\\0\" y; echo; exit 1'"),
                     1);
        cr_assert_eq(stat("summary.md", &st), 0);
        cr_expect_lt(st.st_size, 1024 * 1024, "summary is %lld bytes", (long long)st.st_size);
        char *md = th_read_file("summary.md", NULL);
        cr_expect(strstr(md, "failed: exit code 1") != NULL, "no section appended");
        cr_expect(strstr(md, "output left out") != NULL, "no note of the output left out");
        free(md);
}

Test(github, one_run_puts_at_most_64k_of_output_in_the_summary)
{
        struct stat st;

        setenv("GITHUB_STEP_SUMMARY", "summary.md", 1);
        cr_assert_eq(run("\"$TR\" --dir list --tail 1M --github -- "
                         "sh -c 'head -c 500000 /dev/zero | tr \"\\\\0\" y; echo; exit 1'"),
                     1);
        cr_assert_eq(stat("summary.md", &st), 0);
        cr_expect_gt(st.st_size, 64 * 1024);
        cr_expect_lt(st.st_size, 64 * 1024 + 1024, "summary is %lld bytes", (long long)st.st_size);
}
