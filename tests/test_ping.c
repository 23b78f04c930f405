/*
 * --ping URL and $TASKRUN_PING_URL: the healthchecks.io protocol against an
 * HTTP server the test starts on 127.0.0.1 (Python's http.server, which
 * logs every request to ./requests.jsonl and exits by itself after 60 s).
 * A monitor that is down, slow or failing never fails or blocks the command.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "test_run.h"

/* Modes: ok; slow (answers after 20 s); 500 (the first request gets 500); 404; limit
 * (Ping-Body-Limit: 1000). */
static const char server_py[] =
    "import http.server, json, os, sys, threading, time\n"
    "mode = sys.argv[1]\n"
    "count = [0]\n"
    "lock = threading.Lock()\n"
    "class H(http.server.BaseHTTPRequestHandler):\n"
    "    def answer(self):\n"
    "        n = int(self.headers.get('Content-Length') or 0)\n"
    "        body = self.rfile.read(n).decode('utf-8', 'replace')\n"
    "        with lock:\n"
    "            count[0] += 1\n"
    "            first = count[0] == 1\n"
    "            with open('requests.jsonl', 'a') as f:\n"
    "                f.write(json.dumps({'method': self.command, 'path': self.path,\n"
    "                                    'body': body}) + '\\n')\n"
    "        if mode == 'slow':\n"
    "            time.sleep(20)\n"
    "        code = 500 if mode == '500' and first else 404 if mode == '404' else 200\n"
    "        self.send_response(code)\n"
    "        if mode == 'limit':\n"
    "            self.send_header('Ping-Body-Limit', '1000')\n"
    "        self.send_header('Content-Length', '2')\n"
    "        self.end_headers()\n"
    "        self.wfile.write(b'OK')\n"
    "    do_GET = do_POST = do_HEAD = answer\n"
    "    def log_message(self, *a):\n"
    "        pass\n"
    "srv = http.server.ThreadingHTTPServer(('127.0.0.1', 0), H)\n"
    "threading.Timer(60, lambda: os._exit(0)).start()\n"
    "with open('port.tmp', 'w') as f:\n"
    "    f.write(str(srv.server_address[1]))\n"
    "os.rename('port.tmp', 'port')\n"
    "srv.serve_forever()\n";

static pid_t server_pid;
static int server_port;

static void setup(void)
{
        run_setup();
        unsetenv("TASKRUN_PING_URL");
        server_pid = 0;
}

static void teardown(void)
{
        if (server_pid > 0) {
                kill(server_pid, SIGKILL);
                waitpid(server_pid, NULL, 0);
        }
        run_teardown();
}

TestSuite(ping, .init = setup, .fini = teardown, .timeout = 90);

static void start_server(const char *mode)
{
        th_write_file("server.py", server_py);
        server_pid = fork();
        cr_assert_neq(server_pid, -1);
        if (server_pid == 0) {
                closefrom(3);
                execlp("python3", "python3", "server.py", mode, (char *)NULL);
                _exit(127);
        }
        run_await_file("port", 10000);
        char *port = th_read_file("port", NULL);
        cr_assert_not_null(port);
        server_port = atoi(port);
        free(port);
        cr_assert_gt(server_port, 0);
}

/* A port on 127.0.0.1 where nothing listens: bound, then closed. */
static int closed_port(void)
{
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        socklen_t len = sizeof a;
        int fd = socket(AF_INET, SOCK_STREAM, 0);

        cr_assert_neq(fd, -1);
        cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
        cr_assert_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
        close(fd);
        return ntohs(a.sin_port);
}

/* The requests the server saw, in order, as a JSON array. */
static json_object *requests(int want)
{
        long long deadline = th_now_ms() + 10000;
        json_object *all;

        for (;;) {
                char *text = th_read_file("requests.jsonl", NULL);
                all = json_object_new_array();
                for (char *line = text ? strtok(text, "\n") : NULL; line; line = strtok(NULL, "\n"))
                        json_object_array_add(all, json_tokener_parse(line));
                free(text);
                if ((int)json_object_array_length(all) >= want || th_now_ms() > deadline)
                        return all;
                json_object_put(all);
                usleep(10000);
        }
}

static const char *req_str(json_object *all, size_t i, const char *key)
{
        json_object *r = json_object_array_get_idx(all, i);
        cr_assert_not_null(r, "no request %zu", i);
        return th_get_string(r, key);
}

/* The rid=... of a path, checked to be a UUID. */
static void expect_rid(const char *path, char *rid)
{
        const char *p = strstr(path, "rid=");

        cr_assert_not_null(p, "no rid in %s", path);
        snprintf(rid, 37, "%s", p + 4);
        cr_expect_eq(strlen(p + 4), 36, "rid %s", p + 4);
        cr_expect_eq(strspn(rid, "0123456789abcdef-"), 36, "rid %s", rid);
        cr_expect(rid[8] == '-' && rid[13] == '-' && rid[14] == '4' && rid[18] == '-' &&
                      rid[23] == '-',
                  "not a UUID v4: %s", rid);
}

static void expect_paths(json_object *all, const char *start, const char *end)
{
        char rid1[37], rid2[37], want[256];
        const char *p0 = req_str(all, 0, "path"), *p1 = req_str(all, 1, "path");

        expect_rid(p0, rid1);
        expect_rid(p1, rid2);
        cr_expect_str_eq(rid1, rid2, "start and end must share the run id");
        snprintf(want, sizeof want, "%s%srid=%s", start, strchr(start, '?') ? "&" : "?", rid1);
        cr_expect_str_eq(p0, want);
        snprintf(want, sizeof want, "%s%srid=%s", end, strchr(end, '?') ? "&" : "?", rid1);
        cr_expect_str_eq(p1, want);
}

Test(ping, success_sends_start_then_success_with_the_tail)
{
        json_object *all;

        start_server("ok");
        cr_assert_eq(run("\"$TR\" --dir list --ping http://127.0.0.1:%d/abc -- "
                         "sh -c 'echo first; echo last'",
                         server_port),
                     0);
        all = requests(2);
        cr_assert_eq(json_object_array_length(all), 2);
        expect_paths(all, "/abc/start", "/abc");
        cr_expect_str_eq(req_str(all, 1, "body"), "first\nlast\n");
        cr_expect_str_eq(req_str(all, 1, "method"), "POST");
        json_object_put(all);
        char *err = run_stderr();
        cr_expect(strstr(err, "--ping") == NULL, "%s", err);
        free(err);
}

Test(ping, failure_sends_the_exit_status)
{
        json_object *all;

        start_server("ok");
        cr_assert_eq(run("\"$TR\" --dir list --ping http://127.0.0.1:%d/abc/ -- "
                         "sh -c 'echo broke; exit 3'",
                         server_port),
                     3);
        all = requests(2);
        expect_paths(all, "/abc/start", "/abc/3");
        cr_expect_str_eq(req_str(all, 1, "body"), "broke\n");
        json_object_put(all);
}

Test(ping, signal_and_timeout_send_taskrun_s_exit_status)
{
        json_object *all;

        start_server("ok");
        cr_assert_eq(run("\"$TR\" --dir list --timeout 0.1 --ping http://127.0.0.1:%d/x -- "
                         "sleep 10",
                         server_port),
                     124);
        all = requests(2);
        expect_paths(all, "/x/start", "/x/124");
        json_object_put(all);
}

Test(ping, environment_variable_names_the_url_and_a_query_is_kept)
{
        char url[128];
        json_object *all;

        start_server("ok");
        snprintf(url, sizeof url, "http://127.0.0.1:%d/key/job?create=1", server_port);
        setenv("TASKRUN_PING_URL", url, 1);
        cr_assert_eq(run("\"$TR\" --dir list -- true"), 0);
        all = requests(2);
        expect_paths(all, "/key/job/start?create=1", "/key/job?create=1");
        json_object_put(all);
}

Test(ping, a_server_that_is_down_does_not_fail_the_command)
{
        long long t0 = th_now_ms(), took;
        char *err;

        cr_assert_eq(run("\"$TR\" --dir list --ping http://127.0.0.1:%d/abc -- sh -c 'exit 5'",
                         closed_port()),
                     5);
        took = th_now_ms() - t0;
        cr_log_info("with the monitor down taskrun took %lld ms", took);
        cr_expect_lt(took, 15000, "took %lld ms", took);
        err = run_stderr();
        cr_expect(strstr(err, "taskrun: --ping start: ") != NULL, "%s", err);
        cr_expect(strstr(err, "taskrun: --ping failure: ") != NULL, "%s", err);
        free(err);
        json_object *task = run_task("list/1.json");
        cr_expect_eq(run_meta_int(task, "exit_code"), 5);
        json_object_put(task);
}

Test(ping, a_slow_server_delays_neither_the_start_nor_much_the_end)
{
        long long t0 = th_now_ms(), started, took;

        start_server("slow");
        cr_assert_eq(run("\"$TR\" --dir list --ping http://127.0.0.1:%d/abc -- "
                         "sh -c 'echo >started; exit 0'",
                         server_port),
                     0);
        took = th_now_ms() - t0;
        struct stat st;
        cr_assert_eq(stat("started", &st), 0, "the command did not run");
        (void)started;
        cr_log_info("with a slow monitor taskrun took %lld ms", took);
        cr_expect_lt(took, 15000, "took %lld ms", took);
        /* The start ping was sent (and not answered) while the command ran. */
        json_object *all = requests(1);
        cr_expect_geq(json_object_array_length(all), 1);
        cr_expect(strncmp(req_str(all, 0, "path"), "/abc/start?", 11) == 0);
        json_object_put(all);
        char *err = run_stderr();
        cr_expect(strstr(err, "timed out") != NULL || strstr(err, "Timeout") != NULL, "%s", err);
        free(err);
}

Test(ping, the_command_starts_while_a_slow_start_ping_waits)
{
        start_server("slow");
        /* The command sees the start ping in the server's log before it ends: it did not
         * wait for the answer, which takes 20 s. */
        cr_assert_eq(run("\"$TR\" --dir list --ping http://127.0.0.1:%d/abc -- "
                         "sh -c 'i=0; while ! grep -q start requests.jsonl 2>/dev/null; do "
                         "[ $i -lt 500 ] || exit 9; sleep 0.01; i=$((i+1)); done'",
                         server_port),
                     0);
}

Test(ping, a_500_is_retried)
{
        json_object *all;
        char *err;

        start_server("500");
        cr_assert_eq(run("\"$TR\" --dir list --ping http://127.0.0.1:%d/abc -- true", server_port),
                     0);
        all = requests(3);
        cr_assert_eq(json_object_array_length(all), 3, "%s", json_object_to_json_string(all));
        cr_expect(strncmp(req_str(all, 0, "path"), "/abc/start?", 11) == 0);
        cr_expect(strncmp(req_str(all, 1, "path"), "/abc/start?", 11) == 0);
        cr_expect(strncmp(req_str(all, 2, "path"), "/abc?", 5) == 0);
        json_object_put(all);
        err = run_stderr();
        cr_expect(strstr(err, "--ping") == NULL, "%s", err);
        free(err);
}

Test(ping, a_404_is_not_retried)
{
        json_object *all;
        char *err;

        start_server("404");
        cr_assert_eq(run("\"$TR\" --dir list --ping http://127.0.0.1:%d/abc -- true", server_port),
                     0);
        all = requests(2);
        th_sleep_ms(300); /* a retry would come within the first backoff */
        json_object_put(all);
        all = requests(2);
        cr_expect_eq(json_object_array_length(all), 2);
        json_object_put(all);
        err = run_stderr();
        cr_expect(strstr(err, "taskrun: --ping start: HTTP status 404\n") != NULL, "%s", err);
        free(err);
}

Test(ping, the_body_is_bounded_to_the_end_of_the_output)
{
        json_object *all;
        const char *body;

        start_server("ok");
        cr_assert_eq(run("\"$TR\" --dir list --tail 1M --ping http://127.0.0.1:%d/abc -- "
                         "sh -c 'seq 1 100000; echo the-end'",
                         server_port),
                     0);
        all = requests(2);
        body = req_str(all, 1, "body");
        cr_expect_leq(strlen(body), 100000);
        cr_expect_gt(strlen(body), 90000);
        cr_expect(strstr(body, "99999\n100000\nthe-end\n") != NULL);
        json_object_put(all);
}

Test(ping, the_monitor_s_body_limit_is_kept)
{
        json_object *all;
        const char *body;

        start_server("limit");
        cr_assert_eq(run("\"$TR\" --dir list --ping http://127.0.0.1:%d/abc -- "
                         "sh -c 'seq 1 10000; echo the-end'",
                         server_port),
                     0);
        all = requests(2);
        body = req_str(all, 1, "body");
        cr_expect_leq(strlen(body), 1000);
        cr_expect(strstr(body, "10000\nthe-end\n") != NULL);
        json_object_put(all);
}

Test(ping, not_an_http_url_is_a_usage_error)
{
        cr_expect_eq(run("\"$TR\" --dir list --ping ftp://127.0.0.1/x -- true"), 125);
        cr_expect_eq(access("list/1.json", F_OK), -1);
}

Test(ping, ctrl_c_ends_the_run_and_the_end_ping_still_goes_out)
{
        json_object *all;
        pid_t tr;

        start_server("ok");
        /* setsid: taskrun leads a process group of its own, as a job in a terminal does. */
        tr = run_start("setsid \"$TR\" --dir list --ping http://127.0.0.1:%d/abc -- sleep 30",
                       server_port);
        all = requests(1);
        cr_assert_eq(json_object_array_length(all), 1, "no start ping");
        json_object_put(all);
        kill(-tr, SIGINT); /* Ctrl-C: the whole foreground group, helper included if it were */
        cr_assert_eq(run_wait(tr), 130);
        all = requests(2);
        cr_assert_eq(json_object_array_length(all), 2, "%s", json_object_to_json_string(all));
        cr_expect(strncmp(req_str(all, 1, "path"), "/abc/130?", 9) == 0, "%s",
                  req_str(all, 1, "path"));
        json_object_put(all);
}

Test(ping, a_taskrun_killed_outright_still_tells_the_monitor_the_run_failed)
{
        json_object *all;
        pid_t tr;

        start_server("ok");
        tr = run_start("\"$TR\" --dir list --ping http://127.0.0.1:%d/abc -- "
                       "sh -c 'echo $$ >cmd.pid; exec sleep 30'",
                       server_port);
        all = requests(1);
        cr_assert_eq(json_object_array_length(all), 1, "no start ping");
        json_object_put(all);
        kill(tr, SIGKILL);
        cr_assert_eq(run_wait(tr), 128 + SIGKILL);
        run_await_file("cmd.pid", 5000);
        run_kill_pidfile("cmd.pid");
        all = requests(2);
        cr_assert_eq(json_object_array_length(all), 2, "%s", json_object_to_json_string(all));
        cr_expect(strncmp(req_str(all, 1, "path"), "/abc/fail?", 10) == 0, "%s",
                  req_str(all, 1, "path"));
        json_object_put(all);
}
