/*
 * mediactl_stats.c - `stats MOUNTPOINT`: the daemon's counters, as JSON
 * as-is (--json) or as a "key value" table (nested keys joined with '.').
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/control.h"
#include "policy/mediactl.h"

#define KEY_MAX 256

/* A cursor over the daemon's JSON answer. */
struct json_reader {
	const char *p;
};

static void skip_space(struct json_reader *in)
{
	while (isspace((unsigned char)*in->p))
		in->p++;
}

/* Reads a string literal into buf (escapes kept simple: \x -> x). */
static int read_string(struct json_reader *in, char *buf, size_t len)
{
	size_t n = 0;

	if (*in->p != '"')
		return -EINVAL;
	for (in->p++; *in->p && *in->p != '"'; in->p++) {
		if (*in->p == '\\' && in->p[1])
			in->p++;
		if (n + 1 < len)
			buf[n++] = *in->p;
	}
	if (*in->p != '"')
		return -EINVAL;
	in->p++;
	buf[n] = '\0';
	return 0;
}

static int print_value(struct json_reader *in, char *key, int depth);

/* Prints each member of an object, its key appended to `key`. */
static int print_object(struct json_reader *in, char *key, int depth)
{
	size_t base = strlen(key);
	char name[KEY_MAX];
	int rc;

	in->p++;  /* '{' */
	skip_space(in);
	if (*in->p == '}') {
		in->p++;
		return 0;
	}
	for (;;) {
		skip_space(in);
		if ((rc = read_string(in, name, sizeof(name))) < 0)
			return rc;
		skip_space(in);
		if (*in->p++ != ':')
			return -EINVAL;
		snprintf(key + base, KEY_MAX - base, "%s%s", base ? "." : "", name);
		if ((rc = print_value(in, key, depth + 1)) < 0)
			return rc;
		key[base] = '\0';
		skip_space(in);
		if (*in->p == ',') {
			in->p++;
			continue;
		}
		if (*in->p++ != '}')
			return -EINVAL;
		return 0;
	}
}

/* Prints "key value" for a scalar, or recurses into an object. Arrays are
 * printed raw. */
static int print_value(struct json_reader *in, char *key, int depth)
{
	const char *start;
	char text[1024];
	int nesting = 0;

	if (depth > 16)
		return -EINVAL;
	skip_space(in);
	if (*in->p == '{')
		return print_object(in, key, depth);
	if (*in->p == '"') {
		if (read_string(in, text, sizeof(text)) < 0)
			return -EINVAL;
		printf("%-32s %s\n", key, text);
		return 0;
	}
	start = in->p;
	for (; *in->p; in->p++) {
		if (*in->p == '[')
			nesting++;
		else if (*in->p == ']')
			nesting--;
		else if (nesting == 0 && (*in->p == ',' || *in->p == '}' || isspace((unsigned char)*in->p)))
			break;
	}
	if (in->p == start || nesting != 0)
		return -EINVAL;
	printf("%-32s %.*s\n", key, (int)(in->p - start), start);
	return 0;
}

int cmd_stats(struct cli *cli)
{
	const char *mountpoint = cli->words[1];
	struct json_reader in;
	char key[KEY_MAX] = "";
	char *answer = NULL;
	int rc = control_request(mountpoint, "stats", &answer);

	switch (rc) {
	case 0:
		break;
	case -ENOENT:
		return cli_fail(EXIT_USAGE, "%s: no such directory", mountpoint);
	case -ENOTDIR:
		return cli_fail(EXIT_USAGE, "%s: not a directory", mountpoint);
	case -EINVAL:
		return cli_fail(EXIT_USAGE, "%s is not a mediafs mount point", mountpoint);
	case -ECONNREFUSED:
		return cli_fail(EXIT_FAILED, "%s: no mediafsd answers for this mount", mountpoint);
	case -EACCES:
		return cli_fail(EXIT_FAILED, "%s: the daemon refused (stats needs root)", mountpoint);
	default:
		return cli_fail(EXIT_FAILED, "%s: %s", mountpoint, strerror(-rc));
	}
	if (cli->json) {
		fputs(answer, stdout);
		if (answer[0] && answer[strlen(answer) - 1] != '\n')
			fputc('\n', stdout);
		free(answer);
		return EXIT_OK;
	}
	in.p = answer;
	skip_space(&in);
	rc = *in.p == '{' ? print_object(&in, key, 0) : -EINVAL;
	free(answer);
	if (rc < 0)
		return cli_fail(EXIT_FAILED, "%s: the daemon's answer is not a JSON object", mountpoint);
	return EXIT_OK;
}
