#include <dirent.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <criterion/criterion.h>

#include "helpers.h"

void th_tmpdir(char *buf, size_t n)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(buf, n, "%s/taskrun-test.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	cr_assert_not_null(mkdtemp(buf), "mkdtemp %s", buf);
}

void th_rmtree(const char *path)
{
	char cmd[4200];

	snprintf(cmd, sizeof cmd, "rm -rf '%s'", path);
	if (system(cmd) != 0)
		cr_log_warn("could not remove %s", path);
}

void th_write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	cr_assert_not_null(f, "fopen %s", path);
	fputs(text, f);
	cr_assert_eq(fclose(f), 0);
}

char *th_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0, used = 0, n;

	if (f == NULL)
		return NULL;
	do {
		if (used + 4096 + 1 > cap) {
			cap = (cap + 4096) * 2;
			buf = realloc(buf, cap);
		}
		n = fread(buf + used, 1, cap - used - 1, f);
		used += n;
	} while (n > 0);
	fclose(f);
	buf[used] = '\0';
	if (len)
		*len = used;
	return buf;
}

json_object *th_read_json(const char *path)
{
	char *text = th_read_file(path, NULL);
	json_object *obj;

	if (text == NULL)
		return NULL;
	obj = json_tokener_parse(text);
	free(text);
	return obj;
}

json_object *th_get(json_object *obj, const char *dotted)
{
	char key[256];
	const char *p = dotted;

	while (obj != NULL && *p) {
		size_t n = strcspn(p, ".");
		snprintf(key, sizeof key, "%.*s", (int)n, p);
		if (!json_object_object_get_ex(obj, key, &obj))
			return NULL;
		p += n;
		if (*p == '.')
			p++;
	}
	return obj;
}

const char *th_get_string(json_object *obj, const char *dotted)
{
	json_object *v = th_get(obj, dotted);

	return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

int th_run(const char *cmdline, char **out)
{
	FILE *p = popen(cmdline, "r");
	char *buf = NULL;
	size_t cap = 0, used = 0, n;
	int status;

	cr_assert_not_null(p, "popen %s", cmdline);
	do {
		if (used + 4096 + 1 > cap) {
			cap = (cap + 4096) * 2;
			buf = realloc(buf, cap);
		}
		n = fread(buf + used, 1, cap - used - 1, p);
		used += n;
	} while (n > 0);
	buf[used] = '\0';
	status = pclose(p);
	if (out)
		*out = buf;
	else
		free(buf);
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + WTERMSIG(status);
}

int th_count(const char *dir, const char *pattern)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (fnmatch(pattern, de->d_name, FNM_PERIOD * 0) == 0)
			n++;
	closedir(d);
	return n;
}
