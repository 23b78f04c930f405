/* taskrun --slots N [--queue NAME]: at most N runs of a queue at once, first come first served. */
#include <sys/stat.h>

#include "gate_helpers.h"

TestSuite(gate_slots, .init = gh_setup, .fini = gh_teardown, .timeout = 90);

/* metadata.taskrun.<key> of task id in `taskrun list --json`, as an integer (-1 if absent). */
static long long listed_int(const char *id, const char *key)
{
        char *out, dotted[128];
        long long v = -1;

        cr_assert_eq(tc_run(&out, "list --json --dir list"), 0);
        json_object *all = json_tokener_parse(out);
        cr_assert_not_null(all, "list --json: %s", out);
        for (size_t i = 0; i < json_object_array_length(all); i++) {
                json_object *t = json_object_array_get_idx(all, i);
                snprintf(dotted, sizeof dotted, "metadata.taskrun.%s", key);
                if (strcmp(th_get_string(t, "id"), id) == 0 && th_get(t, dotted) != NULL)
                        v = json_object_get_int64(th_get(t, dotted));
        }
        json_object_put(all);
        free(out);
        return v;
}

/* A first run that holds the only slot until gh_go(). */
static pid_t hold_slot(const char *id, const char *slots)
{
        pid_t pid = gh_start(id, GH_HOLD, "--slots", slots, NULL);

        gh_await_state(id, "running");
        return pid;
}

Test(gate_slots, runs_start_in_the_order_they_queued)
{
        pid_t holder = hold_slot("1", "1"), p[6];
        char id[8], script[64];

        for (int k = 2; k <= 6; k++) {
                snprintf(id, sizeof id, "%d", k);
                snprintf(script, sizeof script, "echo %d >> order", k);
                p[k - 1] = gh_start(id, script, "--slots", "1", NULL);
                gh_await_state(id, "queued"); /* so the order of arrival is known */
        }
        cr_expect_not(gh_exists("order"), "a queued run started while the slot was held");
        gh_go();
        cr_assert_eq(tc_reap(holder, NULL), 0);
        for (int k = 2; k <= 6; k++)
                cr_expect_eq(tc_reap(p[k - 1], NULL), 0);
        char *order = gh_read("order");
        cr_expect_str_eq(order, "2\n3\n4\n5\n6\n");
        free(order);
}

Test(gate_slots, a_queued_run_records_queued_with_its_queue_and_position)
{
        pid_t holder = hold_slot("1", "1");
        pid_t a = gh_start("2", "true", "--slots", "1", NULL);
        gh_await_state("2", "queued");
        pid_t b = gh_start("3", "true", "--slots", "1", NULL);
        gh_await_state("3", "queued");

        json_object *task = gh_task("3");
        cr_expect_str_eq(th_get_string(task, "status"), "pending");
        cr_expect_str_eq(th_get_string(task, "metadata.taskrun.queue"), "list");
        cr_expect_eq(json_object_get_int(th_get(task, "metadata.taskrun.slots")), 1);
        cr_expect_eq(json_object_get_int(th_get(task, "metadata.taskrun.pid")), b,
                     "the pid is the taskrun that waits");
        const char *qdir = th_get_string(task, "metadata.taskrun.queue_dir");
        cr_expect(qdir != NULL && strncmp(qdir, th_at(gh_dir, "run/taskrun/queues/"),
                                          strlen(th_at(gh_dir, "run/taskrun/queues/"))) == 0,
                  "queue_dir %s", qdir);
        cr_expect_not_null(strstr(th_get_string(task, "description"), "queued"));
        json_object_put(task);
        /* Readers compute the place in line as it is now; the file says nothing stale. */
        cr_expect_eq(listed_int("2", "position"), 1);
        cr_expect_eq(listed_int("3", "position"), 2);
        cr_expect_eq(listed_int("1", "position"), -1, "a running run has no position");
        char *out;
        cr_assert_eq(tc_run(&out, "list --dir list"), 0);
        cr_expect_not_null(strstr(out, "queued 1"), "%s", out);
        cr_expect_not_null(strstr(out, "queued 2"), "%s", out);
        free(out);
        cr_assert_eq(tc_run(&out, "show --dir list 3"), 0);
        cr_expect_not_null(strstr(out, "queue:       list (1 slot), position 2"), "%s", out);
        free(out);

        gh_go();
        cr_expect_eq(tc_reap(holder, NULL), 0);
        cr_expect_eq(tc_reap(a, NULL), 0);
        cr_expect_eq(tc_reap(b, NULL), 0);
        task = gh_task("3");
        cr_expect_str_eq(th_get_string(task, "metadata.taskrun.state"), "completed");
        cr_expect_null(th_get(task, "metadata.taskrun.queue"), "the queue stays in the record");
        cr_expect_null(th_get(task, "metadata.taskrun.ticket"));
        json_object_put(task);
}

Test(gate_slots, a_run_killed_while_queued_frees_its_place)
{
        pid_t holder = hold_slot("1", "1");
        pid_t a = gh_start("2", "touch ran-2", "--slots", "1", NULL);
        gh_await_state("2", "queued");
        pid_t b = gh_start("3", "touch ran-3", "--slots", "1", NULL);
        gh_await_state("3", "queued");
        cr_expect_eq(listed_int("3", "position"), 2);

        kill(a, SIGKILL); /* no chance to clean up: its place must free itself */
        cr_assert_eq(tc_reap(a, NULL), 128 + SIGKILL);
        cr_expect_eq(listed_int("3", "position"), 1, "the run behind moved up");
        json_object *task = gh_task("2");
        cr_expect_str_eq(th_get_string(task, "metadata.taskrun.state"), "queued");
        json_object_put(task);
        char *out;
        cr_assert_eq(tc_run(&out, "list --json --dir list"), 0);
        cr_expect_not_null(strstr(out, "\"lost\""), "a dead queued run shows as lost: %s", out);
        free(out);

        gh_go();
        cr_expect_eq(tc_reap(holder, NULL), 0);
        cr_expect_eq(tc_reap(b, NULL), 0);
        cr_expect(gh_exists("ran-3"));
        cr_expect_not(gh_exists("ran-2"), "a killed run ran after all");
}

Test(gate_slots, sigterm_while_queued_records_killed_and_the_next_run_goes)
{
        pid_t holder = hold_slot("1", "1");
        pid_t a = gh_start("2", "touch ran-2", "--slots", "1", NULL);
        gh_await_state("2", "queued");
        pid_t b = gh_start("3", "touch ran-3", "--slots", "1", NULL);
        gh_await_state("3", "queued");

        kill(a, SIGTERM);
        cr_assert_eq(tc_reap(a, NULL), 128 + SIGTERM);
        json_object *task = gh_task("2");
        cr_expect_str_eq(th_get_string(task, "metadata.taskrun.state"), "killed");
        cr_expect_str_eq(th_get_string(task, "status"), "pending");
        json_object_put(task);
        gh_go();
        cr_expect_eq(tc_reap(holder, NULL), 0);
        cr_expect_eq(tc_reap(b, NULL), 0);
        cr_expect_not(gh_exists("ran-2"));
        cr_expect(gh_exists("ran-3"));
}

Test(gate_slots, kill_and_wait_work_on_queued_runs)
{
        pid_t holder = hold_slot("1", "1");
        pid_t a = gh_start("2", "touch ran-2", "--slots", "1", NULL);
        gh_await_state("2", "queued");
        pid_t b = gh_start("3", "touch ran-3", "--slots", "1", NULL);
        gh_await_state("3", "queued");
        const char *wait_args[] = {"wait", "--timeout", "20", "--dir", "list", "3", NULL};
        pid_t waiter = tc_spawn("wait-out", wait_args);

        cr_assert_eq(tc_run(NULL, "kill --dir list 2"), 0);
        cr_assert_eq(tc_reap(a, NULL), 128 + SIGTERM);
        char *out;
        cr_expect_eq(tc_run(&out, "wait --timeout 5 --dir list 2"), 1, "a killed run failed");
        cr_expect_not_null(strstr(out, "2: killed"), "%s", out);
        free(out);
        gh_assert_running(waiter, "wait on a queued run");

        gh_go();
        cr_expect_eq(tc_reap(holder, NULL), 0);
        cr_expect_eq(tc_reap(b, NULL), 0);
        cr_expect_eq(tc_reap(waiter, NULL), 0, "wait returned as the queued run completed");
        out = gh_read("wait-out");
        cr_expect_not_null(strstr(out, "3: completed"), "%s", out);
        free(out);
        cr_expect_not(gh_exists("ran-2"));
}

Test(gate_slots, ten_runs_started_at_once_with_one_slot_never_overlap)
{
        static const char script[] = "mkdir held 2>/dev/null || echo overlap >> bad; "
                                     "date +%s%N >> spans; sleep 0.05; date +%s%N >> spans; "
                                     "rmdir held";
        const char *argv[] = {TASKRUN_BIN, "--dir", "list", "--slots", "1",
                              "--",        "sh",    "-c",   script,    NULL};
        pid_t p[10];

        cr_assert_eq(mkdir("list", 0755), 0);
        gh_start_together(10, argv, p);
        for (int i = 0; i < 10; i++)
                cr_expect_eq(tc_reap(p[i], NULL), 0, "run %d", i);
        cr_expect_not(gh_exists("bad"), "two commands held the slot at once");
        /* Each command's start and end, in the order written: never interleaved. */
        char *spans = gh_read("spans"), *line = spans;
        long long prev = 0, t;
        int n = 0;
        while (sscanf(line, "%lld", &t) == 1) {
                cr_expect_geq(t, prev, "line %d goes back in time", n);
                prev = t;
                n++;
                line = strchr(line, '\n');
                if (line == NULL)
                        break;
                line++;
        }
        cr_expect_eq(n, 20, "%s", spans);
        free(spans);
        cr_expect_eq(th_count("list", "*.json"), 10);
}

Test(gate_slots, two_slots_run_two_at_once_and_queue_the_third)
{
        pid_t a = hold_slot("1", "2");
        pid_t b = hold_slot("2", "2");
        pid_t c = gh_start("3", "touch ran-3", "--slots", "2", NULL);

        gh_await_state("3", "queued");
        cr_expect_not(gh_exists("ran-3"));
        gh_go();
        cr_expect_eq(tc_reap(a, NULL), 0);
        cr_expect_eq(tc_reap(b, NULL), 0);
        cr_expect_eq(tc_reap(c, NULL), 0);
        cr_expect(gh_exists("ran-3"));
}

Test(gate_slots, detach_with_slots_returns_at_once_with_the_id)
{
        pid_t holder = hold_slot("1", "1");
        char *out;
        long long t0 = th_now_ms();

        cr_assert_eq(tc_run(&out, "--detach --dir list --slots 1 -- touch ran-d"), 0);
        long long took = th_now_ms() - t0;
        cr_expect_str_eq(out, "2\n");
        free(out);
        cr_expect_lt(took, 5000, "--detach took %lld ms: it waited for the slot", took);
        json_object *task = gh_task("2");
        cr_expect_str_eq(th_get_string(task, "metadata.taskrun.state"), "queued");
        json_object_put(task);
        cr_expect_not(gh_exists("ran-d"));

        gh_go();
        cr_expect_eq(tc_reap(holder, NULL), 0);
        cr_assert_eq(tc_run(NULL, "wait -q --timeout 10 --dir list 2"), 0);
        cr_expect(gh_exists("ran-d"));
}

Test(gate_slots, a_free_slot_runs_at_once_with_the_commands_status)
{
        cr_expect_eq(tc_run(NULL, "--dir list --slots 2 -- sh -c 'exit 3' 2>/dev/null"), 3);
        json_object *task = gh_task("1");
        cr_expect_str_eq(th_get_string(task, "metadata.taskrun.state"), "failed");
        json_object_put(task);
}

Test(gate_slots, a_named_queue_spans_lists_and_the_default_queue_does_not)
{
        pid_t holder = gh_start("1", GH_HOLD, "--slots", "1", "--queue", "heavy", NULL);
        gh_await_state("1", "running");

        /* Another list, its own default queue: not held up. */
        cr_expect_eq(tc_run(NULL, "--dir other --slots 1 -- true 2>/dev/null"), 0);
        /* The same named queue from another list: waits. */
        const char *args[] = {"--dir",   "other", "--task", "9",     "--create", "--slots", "1",
                              "--queue", "heavy", "--",     "touch", "ran-9",    NULL};
        pid_t other = tc_spawn(NULL, args);
        char path[PATH_MAX];
        tc_task_path(path, sizeof path, "other", "9");
        json_object *t = NULL;
        for (int i = 0; i < 1000; i++) {
                json_object_put(t);
                t = th_read_json(path);
                const char *s = t ? th_get_string(t, "metadata.taskrun.state") : NULL;
                if (s != NULL && strcmp(s, "queued") == 0)
                        break;
                th_sleep_ms(10);
        }
        cr_expect_str_eq(th_get_string(t, "metadata.taskrun.queue"), "heavy");
        json_object_put(t);
        cr_expect_not(gh_exists("ran-9"));
        gh_go();
        cr_expect_eq(tc_reap(holder, NULL), 0);
        cr_expect_eq(tc_reap(other, NULL), 0);
        cr_expect(gh_exists("ran-9"));
}

Test(gate_slots, waiting_in_line_costs_no_cpu)
{
        struct rusage ru;
        pid_t holder = hold_slot("1", "1");
        pid_t a = gh_start("2", "true", "--slots", "1", NULL);

        gh_await_state("2", "queued");
        th_sleep_ms(1000);
        gh_go();
        cr_expect_eq(tc_reap(holder, NULL), 0);
        cr_assert_eq(tc_reap(a, &ru), 0);
        long long us = (long long)ru.ru_utime.tv_sec * 1000000 + ru.ru_utime.tv_usec +
                       (long long)ru.ru_stime.tv_sec * 1000000 + ru.ru_stime.tv_usec;
        cr_log_info("a run that queued for over a second used %lld us of CPU", us);
        /* Polling every 10 ms for a second would cost far more than startup and one run. */
        cr_expect_lt(us, 200000, "used %lld us", us);
}

Test(gate_slots, bad_slot_options_are_refused)
{
        cr_expect_eq(tc_run(NULL, "--dir list --slots 0 -- true 2>/dev/null"), 125);
        cr_expect_eq(tc_run(NULL, "--dir list --slots 257 -- true 2>/dev/null"), 125);
        cr_expect_eq(tc_run(NULL, "--dir list --slots x -- true 2>/dev/null"), 125);
        cr_expect_eq(tc_run(NULL, "--dir list --queue q -- true 2>/dev/null"), 125);
        cr_expect_eq(tc_run(NULL, "--dir list --slots 1 --queue ../q -- true 2>/dev/null"), 125);
        cr_expect_not(gh_exists("list"), "a refused run made its list (and maybe a task)");
}

Test(gate_slots, a_runtime_directory_that_is_not_private_is_refused)
{
        char *err;

        cr_assert_eq(mkdir("open", 0755), 0);
        cr_assert_eq(mkdir("open/taskrun", 0755), 0);
        setenv("XDG_RUNTIME_DIR", th_at(gh_dir, "open"), 1);
        cr_expect_eq(tc_run(&err, "--dir list --slots 1 -- touch ran 2>&1"), 125);
        cr_expect_not_null(strstr(err, "not a private directory"), "%s", err);
        free(err);
        cr_expect_not(gh_exists("ran"));
        /* A run that asks for no slot never looks there. */
        cr_expect_eq(tc_run(NULL, "--dir list -- true 2>/dev/null"), 0);
}

Test(gate_slots, wait_with_no_id_waits_for_queued_runs_too)
{
        char *out;

        cr_assert_eq(tc_run(&out, "--detach --dir list --slots 1 -- sh -c '%s'", GH_HOLD), 0);
        free(out);
        cr_assert_eq(tc_run(&out, "--detach --dir list --slots 1 -- touch ran-2"), 0);
        cr_expect_str_eq(out, "2\n");
        free(out);
        gh_await_state("2", "queued");
        const char *args[] = {"wait", "--timeout", "20", "--dir", "list", NULL};
        pid_t waiter = tc_spawn("wait-out", args);

        gh_assert_running(waiter, "wait with no id");
        gh_go();
        cr_expect_eq(tc_reap(waiter, NULL), 0);
        out = gh_read("wait-out");
        cr_expect_not_null(strstr(out, "1: completed"), "%s", out);
        cr_expect_not_null(strstr(out, "2: completed"), "%s", out);
        free(out);
        cr_expect(gh_exists("ran-2"));
}
