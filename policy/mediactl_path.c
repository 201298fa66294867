/*
 * mediactl_path.c - where SOURCE is, and PATH arguments -> paths relative
 * to SOURCE. Paths are normalised lexically, never by reading through a
 * FUSE mount (which may be hung, and would answer as the policy sees root).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/mountinfo.h"
#include "policy/mediactl.h"
#include "policy/path.h"

int cli_load_source(struct cli *cli)
{
	char stored[PATH_MAX];
	const char *source = cli->source_arg;
	int rc;

	if (source == NULL) {
		rc = db_meta_get(cli->conn, "source_path", stored, sizeof(stored));
		if (rc == -ENOENT)
			return cli_fail(EXIT_USAGE, "SOURCE unknown: pass --source DIR (or start "
			                "mediafsd with this database once)");
		if (rc < 0)
			return cli_fail(EXIT_FAILED, "reading the database: %s", strerror(-rc));
		source = stored;
	}
	if (realpath(source, cli->source) == NULL)
		return cli_fail(EXIT_USAGE, "SOURCE %s: %s", source, strerror(errno));
	return EXIT_OK;
}

/*
 * Makes `arg` absolute (against the working directory) and removes ".",
 * ".." and repeated or trailing slashes, without looking at the file system.
 */
static int normalise(const char *arg, char *out, size_t len)
{
	char joined[PATH_MAX * 2], cwd[PATH_MAX];
	char *save = NULL, *part;
	size_t used = 0;

	if (arg[0] != '/') {
		if (getcwd(cwd, sizeof(cwd)) == NULL)
			return -errno;
		snprintf(joined, sizeof(joined), "%s/%s", cwd, arg);
	} else {
		snprintf(joined, sizeof(joined), "%s", arg);
	}
	out[0] = '\0';
	for (part = strtok_r(joined, "/", &save); part; part = strtok_r(NULL, "/", &save)) {
		if (strcmp(part, ".") == 0)
			continue;
		if (strcmp(part, "..") == 0) {
			char *slash = strrchr(out, '/');

			used = slash ? (size_t)(slash - out) : 0;
			out[used] = '\0';
			continue;
		}
		if (used + 1 + strlen(part) + 1 > len)
			return -ENAMETOOLONG;
		used += (size_t)sprintf(out + used, "/%s", part);
	}
	if (used == 0)
		strcpy(out, "/");
	return 0;
}

/* If `abs` is `dir` or below it, sets *rest to the part after "dir/". */
static int under(const char *abs, const char *dir, const char **rest)
{
	size_t n = strlen(dir);

	if (strcmp(dir, "/") == 0) {
		*rest = abs + 1;
		return 1;
	}
	if (strncmp(abs, dir, n) != 0 || (abs[n] != '\0' && abs[n] != '/'))
		return 0;
	*rest = abs[n] ? abs + n + 1 : abs + n;
	return 1;
}

/* Is a mediafsd listening for the mount major:minor? (/proc/net/unix lists
 * abstract sockets as "@name".) */
static int mediafs_socket_exists(unsigned major, unsigned minor)
{
	char name[64], *line = NULL;
	size_t cap = 0, name_len;
	FILE *in = fopen("/proc/net/unix", "re");
	int found = 0;

	if (in == NULL)
		return 0;
	name_len = (size_t)snprintf(name, sizeof(name), "@mediafs/%u:%u", major, minor);
	while (!found && getline(&line, &cap, in) > 0) {
		char *at = strstr(line, name);

		found = at != NULL && (at[name_len] == '\n' || at[name_len] == '\0' ||
		                       at[name_len] == ' ');
	}
	free(line);
	fclose(in);
	return found;
}

/*
 * Finds the innermost mount point containing `abs`. Sets *rest to the part
 * of abs below it when that mount is a FUSE mount served by mediafsd.
 */
static int under_mediafs_mount(const char *abs, const char **rest)
{
	char prefix[PATH_MAX];
	FILE *in = fopen("/proc/self/mountinfo", "re");
	int found = 0;

	if (in == NULL)
		return 0;
	snprintf(prefix, sizeof(prefix), "%s", abs);
	for (;;) {
		unsigned major, minor;
		char *slash;
		int rc;

		rewind(in);
		rc = mountinfo_find_fuse(in, prefix, &major, &minor);
		if (rc == 0 && mediafs_socket_exists(major, minor))
			found = under(abs, prefix, rest);
		if (rc != -ENOENT || strcmp(prefix, "/") == 0)
			break;  /* the innermost mount decides */
		slash = strrchr(prefix, '/');
		if (slash == prefix)
			strcpy(prefix, "/");
		else
			*slash = '\0';
	}
	fclose(in);
	return found;
}

int cli_relpath(struct cli *cli, const char *arg, char *out, size_t len)
{
	char abs[PATH_MAX];
	const char *rest = NULL;
	struct policy_path classified;
	int rc = cli->source[0] ? EXIT_OK : cli_load_source(cli);

	if (rc != EXIT_OK)
		return rc;
	if (normalise(arg, abs, sizeof(abs)) < 0)
		return cli_fail(EXIT_USAGE, "invalid path '%s'", arg);
	if (!under(abs, cli->source, &rest) && !under_mediafs_mount(abs, &rest))
		return cli_fail(EXIT_USAGE, "%s is outside SOURCE (%s) and not on a mediafs mount",
		                arg, cli->source);
	if (strlen(rest) >= len || policy_path_classify(rest, &classified) < 0)
		return cli_fail(EXIT_USAGE, "invalid path '%s'", arg);
	strcpy(out, rest);
	return EXIT_OK;
}
