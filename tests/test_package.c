/*
 * The Debian package a distribution would ship: `cpack -G DEB` from this build
 * makes a .deb with the binary, the man page and the completions, whose Depends
 * names what the binary links; `dpkg -i` installs it, the installed taskrun runs
 * and `man taskrun` shows its page, and `dpkg -r` removes it all again.
 *
 * It installs into the real /usr, so it needs root (and skips without), and it
 * holds a machine-wide lock from install to removal: another ctest run (another
 * build, another clone) waits rather than swapping the package underneath.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "helpers.h"

#define LOCK_FILE "/tmp/taskrun-package-test.lock"
#define LOCK_WAIT_MS (180 * 1000)
#define INSTALLED_BIN "/usr/bin/taskrun"
#define INSTALLED_PING "/usr/libexec/taskrun/taskrun-ping"

static char scratch[PATH_MAX];
static int lock_fd = -1;

/* 1 if the shell finds program. */
static int have(const char *program)
{
        char cmd[256];

        snprintf(cmd, sizeof cmd, "command -v '%s' >/dev/null 2>&1", program);
        return th_run(cmd, NULL) == 0;
}

/* Skip without a tool this test needs, but fail in CI, where it must run. */
static void need(const char *program)
{
        if (have(program))
                return;
        if (th_in_ci())
                cr_assert_fail("%s is not installed (scripts/setup installs it)", program);
        cr_skip("%s is not installed (scripts/setup installs it)", program);
}

/* Wait (bounded) for the machine-wide lock that serialises package tests. */
static void take_machine_lock(void)
{
        long long until = th_now_ms() + LOCK_WAIT_MS;

        lock_fd = open(LOCK_FILE, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
        cr_assert(lock_fd >= 0, "open %s: %s", LOCK_FILE, strerror(errno));
        while (flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
                cr_assert(errno == EWOULDBLOCK, "flock %s: %s", LOCK_FILE, strerror(errno));
                cr_assert(th_now_ms() < until, "another package test held %s for %d s", LOCK_FILE,
                          LOCK_WAIT_MS / 1000);
                th_sleep_ms(100);
        }
}

/* 1 if dpkg has the taskrun package installed. */
static int package_installed(void)
{
        return th_run("dpkg-query -W -f='${Status}' taskrun 2>/dev/null | grep -q 'ok installed'",
                      NULL) == 0;
}

/* Whatever happened in the test, take the package off the machine again. */
static void cleanup(void)
{
        if (lock_fd >= 0) {
                if (package_installed() && th_run("dpkg -r taskrun >/dev/null 2>&1", NULL) != 0)
                        cr_log_error("could not remove the taskrun package: dpkg -r taskrun");
                close(lock_fd);
        }
        if (scratch[0])
                th_rmtree(scratch);
}

/* Build the .deb from this build's CPack config into the scratch dir; its path in deb. */
static void build_deb(char *deb, size_t n)
{
        char cmd[3 * PATH_MAX], *out;

        snprintf(cmd, sizeof cmd, "cpack -G DEB --config '%s/CPackConfig.cmake' -B '%s/pkg' 2>&1",
                 TASKRUN_BUILD_DIR, scratch);
        cr_assert_eq(th_run(cmd, &out), 0, "%s:\n%s", cmd, out);
        free(out);
        snprintf(cmd, sizeof cmd, "ls '%s/pkg/'taskrun_*.deb", scratch);
        cr_assert_eq(th_run(cmd, &out), 0, "cpack made no taskrun_*.deb in %s/pkg", scratch);
        out[strcspn(out, "\n")] = '\0';
        snprintf(deb, n, "%s", out);
        free(out);
}

/* The control field of the .deb, malloc'd, without the newline. */
static char *deb_field(const char *deb, const char *field)
{
        char cmd[PATH_MAX + 64], *out;

        snprintf(cmd, sizeof cmd, "dpkg-deb -f '%s' %s", deb, field);
        cr_assert_eq(th_run(cmd, &out), 0, "%s", cmd);
        out[strcspn(out, "\n")] = '\0';
        return out;
}

/* The .deb's control field is what it should be. */
static void expect_field(const char *deb, const char *field, const char *expected)
{
        char *value = deb_field(deb, field);

        cr_expect_str_eq(value, expected, "%s: %s", field, value);
        free(value);
}

/* 1 if a binary this build made names lib (e.g. "libev.so") among its DT_NEEDED. */
static int binary_needs(const char *bin, const char *lib)
{
        char cmd[PATH_MAX + 128];

        snprintf(cmd, sizeof cmd, "readelf -d '%s' | grep NEEDED | grep -qF '[%s'", bin, lib);
        return th_run(cmd, NULL) == 0;
}

/*
 * Depends names libc6, libcurl4 (taskrun-ping links it), and the json-c and
 * libev packages when they are linked shared.
 */
static void expect_depends(const char *deb)
{
        char *depends = deb_field(deb, "Depends");

        cr_expect(strstr(depends, "libc6") != NULL, "Depends: %s", depends);
        cr_expect(binary_needs(TASKRUN_PING_BIN, "libcurl.so"), "taskrun-ping links no libcurl");
        cr_expect(strstr(depends, "libcurl4") != NULL, "Depends: %s", depends);
        if (binary_needs(TASKRUN_BIN, "libjson-c.so"))
                cr_expect(strstr(depends, "libjson-c5") != NULL, "Depends: %s", depends);
        if (binary_needs(TASKRUN_BIN, "libev.so"))
                cr_expect(strstr(depends, "libev4") != NULL, "Depends: %s", depends);
        free(depends);
}

/* The .deb holds the binary, the man page, the three completions and the licence. */
static void expect_contents(const char *deb)
{
        static const char *const files[] = {
            "./usr/bin/taskrun",
            ("." INSTALLED_PING),
            "./usr/share/man/man1/taskrun.1",
            "./usr/share/bash-completion/completions/taskrun",
            "./usr/share/zsh/site-functions/_taskrun",
            "./usr/share/fish/vendor_completions.d/taskrun.fish",
            "./usr/share/doc/taskrun/LICENSE",
            "./usr/share/doc/taskrun/CHANGELOG.md",
        };
        char cmd[PATH_MAX + 64], *out;

        snprintf(cmd, sizeof cmd, "dpkg-deb -c '%s'", deb);
        cr_assert_eq(th_run(cmd, &out), 0, "%s", cmd);
        for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
                char line_end[PATH_MAX];
                snprintf(line_end, sizeof line_end, " %s\n", files[i]);
                cr_expect(strstr(out, line_end) != NULL, "%s is not in the .deb:\n%s", files[i],
                          out);
        }
        free(out);
}

/* dpkg -i, waiting while apt or dpkg elsewhere holds dpkg's own lock. */
static void dpkg_install(const char *deb)
{
        char cmd[PATH_MAX + 512], *out;

        snprintf(cmd, sizeof cmd,
                 "export DEBIAN_FRONTEND=noninteractive; i=0; while [ $i -lt 90 ]; do "
                 "out=$(dpkg -i '%s' 2>&1) && exit 0; "
                 "case $out in *lock*) sleep 2; i=$((i + 1)) ;; *) break ;; esac; done; "
                 "echo \"$out\"; exit 1",
                 deb);
        cr_assert_eq(th_run(cmd, &out), 0, "dpkg -i %s:\n%s", deb, out);
        free(out);
}

/* The installed binary is this version and keeps a task file. */
static void expect_installed_binary_works(void)
{
        char cmd[PATH_MAX + 128], expected[64], *out;
        json_object *task;

        cr_assert_eq(th_run(INSTALLED_BIN " --version", &out), 0, "%s does not run", INSTALLED_BIN);
        snprintf(expected, sizeof expected, "taskrun %s\n", TASKRUN_VERSION);
        cr_expect_str_eq(out, expected);
        free(out);
        /* The --ping helper is where the installed taskrun looks for it, and runs. */
        cr_expect_eq(th_run(INSTALLED_PING " 2>/dev/null", NULL), 2, "%s does not run",
                     INSTALLED_PING);

        snprintf(cmd, sizeof cmd, INSTALLED_BIN " --file '%s/t.json' -- sh -c 'exit 3'", scratch);
        cr_expect_eq(th_run(cmd, NULL), 3, "%s", cmd);
        task = th_read_json(th_at(scratch, "t.json"));
        cr_expect_not_null(task, "the installed taskrun wrote no task file");
        if (task != NULL)
                cr_expect_str_eq(th_get_string(task, "status"), "failed");
        json_object_put(task);
}

/* `man taskrun` finds the installed page and renders it. */
static void expect_man_page(void)
{
        char *out;

        cr_expect_eq(th_run("man -w taskrun 2>&1", &out), 0, "man -w taskrun: %s", out);
        cr_expect(strstr(out, "/usr/share/man/man1/taskrun.1") != NULL, "man -w: %s", out);
        free(out);
        cr_expect_eq(th_run("MANWIDTH=80 man -P cat taskrun 2>&1", &out), 0, "man taskrun: %s",
                     out);
        cr_expect(strstr(out, "NAME") != NULL && strstr(out, "taskrun") != NULL &&
                      strstr(out, "EXIT STATUS") != NULL,
                  "man taskrun rendered:\n%.2000s", out);
        free(out);
}

Test(package, deb_installs_runs_shows_its_man_page_and_removes, .fini = cleanup, .timeout = 280)
{
        char deb[PATH_MAX];
        struct stat st;

        if (geteuid() != 0)
                cr_skip("not root: dpkg -i of the .deb needs root");
        need("cpack");
        need("dpkg-deb");
        need("readelf");
        need("man");
        th_tmpdir(scratch, sizeof scratch);
        build_deb(deb, sizeof deb);
        expect_field(deb, "Package", "taskrun");
        expect_field(deb, "Version", TASKRUN_VERSION);
        expect_depends(deb);
        expect_contents(deb);

        take_machine_lock();
        cr_assert(package_installed() || lstat(INSTALLED_BIN, &st) != 0,
                  "%s exists and is not from the taskrun package; not overwriting it",
                  INSTALLED_BIN);
        dpkg_install(deb);
        cr_expect(package_installed(), "dpkg -i succeeded but taskrun is not installed");
        expect_installed_binary_works();
        expect_man_page();

        cr_assert_eq(th_run("dpkg -r taskrun 2>&1", NULL), 0, "dpkg -r taskrun failed");
        cr_expect(!package_installed(), "taskrun is still installed after dpkg -r");
        cr_expect(lstat(INSTALLED_BIN, &st) != 0, "%s is left after dpkg -r", INSTALLED_BIN);
        cr_expect(lstat("/usr/share/man/man1/taskrun.1", &st) != 0, "the man page is left");
}
