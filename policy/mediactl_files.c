/*
 * mediactl_files.c - `grant-file`, `revoke-file` and `check`.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "policy/engine.h"
#include "index/media_index.h"
#include "policy/mediactl.h"
#include "policy/path.h"

/* lstat of SOURCE/relpath. */
static int stat_in_source(struct cli *cli, const char *relpath, struct stat *st)
{
	char full[PATH_MAX * 2];

	snprintf(full, sizeof(full), "%s%s%s", cli->source, relpath[0] ? "/" : "", relpath);
	return lstat(full, st) == 0 ? 0 : -errno;
}

/* Indexes an existing regular file that has no record yet (no owner). */
static int ensure_indexed(struct cli *cli, const char *relpath, const struct stat *st)
{
	struct db_file rec = {
		.owner_uid = DB_NO_OWNER,
		.media_type = policy_media_type_of_path(relpath),
		.size = st->st_size,
		.mtime_ns = (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec,
	};
	int rc = db_file_add_if_absent(cli->conn, relpath, &rec);

	return rc < 0 ? rc : 0;
}

int cmd_grant_file(struct cli *cli, int revoke)
{
	char relpath[PATH_MAX];
	struct stat st;
	uid_t uid;
	int rc;

	if (cli_parse_uid(cli->words[1], &uid) < 0)
		return cli_fail(EXIT_USAGE, "invalid uid '%s'", cli->words[1]);
	rc = cli_open_db(cli);
	if (rc == EXIT_OK)
		rc = cli_relpath(cli, cli->words[2], relpath, sizeof(relpath));
	if (rc != EXIT_OK)
		return rc;
	if (revoke) {
		rc = db_grant_remove(cli->conn, uid, relpath);
		if (rc == -ENOENT)
			return cli_fail(EXIT_FAILED, "uid %u holds no grant on %s", (unsigned)uid, relpath);
		if (rc < 0)
			return cli_fail(EXIT_FAILED, "revoking: %s", strerror(-rc));
		return EXIT_OK;
	}
	rc = stat_in_source(cli, relpath, &st);
	if (rc < 0)
		return cli_fail(EXIT_FAILED, "%s: %s", cli->words[2], strerror(-rc));
	if (!S_ISREG(st.st_mode))
		return cli_fail(EXIT_USAGE, "%s is not a regular file", cli->words[2]);
	rc = ensure_indexed(cli, relpath, &st);
	if (rc == 0)
		rc = db_grant_set(cli->conn, uid, relpath, (cli->given & OPT_WRITE) != 0);
	if (rc == -ENOENT)
		return cli_fail(EXIT_FAILED, "no app with uid %u (app add first)", (unsigned)uid);
	if (rc < 0)
		return cli_fail(EXIT_FAILED, "granting: %s", strerror(-rc));
	return EXIT_OK;
}

static int add_permission(const char *name, void *ctx)
{
	unsigned bit;

	if (policy_permission_from_name(name, &bit) == 0)
		*(unsigned *)ctx |= bit;
	return 0;
}

/*
 * Brings the file's index record up to date the way the daemon would before
 * deciding: indexed (no owner) when unknown, location and codec facts
 * re-read when the file changed since they were found. Changes no policy.
 */
static int refresh_index(struct cli *cli, const char *relpath, const struct stat *st)
{
	struct scan_service_config config;
	struct scan_service *scanner = NULL;
	struct db_file rec;
	int source_fd, rc = ensure_indexed(cli, relpath, st);

	if (rc == 0)
		rc = db_file_get(cli->conn, relpath, &rec);
	if (rc < 0 || rec.pending || rec.media_type == MEDIA_OTHER ||
	    !media_index_is_stale(&rec, st))
		return rc;
	source_fd = open(cli->source, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (source_fd < 0)
		return -errno;
	rc = scan_service_default_config(&config);
	if (rc == 0)
		rc = scan_service_start(&config, &scanner);
	if (rc == 0)
		rc = media_index_scan(scanner, cli->conn, source_fd, relpath, NULL);
	scan_service_stop(scanner);
	close(source_fd);
	return rc;
}

/* Everything check needs. */
struct check_inputs {
	struct db_app app_rec;
	struct policy_app app;
	struct policy_path path;
	struct policy_file file;
	struct policy_grant grant;
	struct policy_request req;
};

static int gather(struct cli *cli, uid_t uid, const char *relpath,
                  struct check_inputs *in, int *exists)
{
	struct db_file rec;
	struct stat st;
	int64_t version;
	int writable, rc;

	memset(in, 0, sizeof(*in));
	in->app.uid = uid;
	rc = db_app_snapshot(cli->conn, uid, &in->app_rec, add_permission,
	                     &in->app.permissions, &version);
	if (rc < 0 && rc != -ENOENT)
		return rc;
	if (rc == 0) {
		in->app.package = in->app_rec.package;
		in->app.no_hevc = in->app_rec.no_hevc;
	}
	policy_path_classify(relpath, &in->path);  /* validated by cli_relpath */
	in->req = (struct policy_request){ .app = &in->app, .path = &in->path,
	                                   .grant = &in->grant };
	rc = stat_in_source(cli, relpath, &st);
	*exists = rc == 0;
	if (rc < 0)
		return rc == -ENOENT ? 0 : rc;
	in->req.is_dir = S_ISDIR(st.st_mode);
	if (!S_ISREG(st.st_mode))
		return 0;
	rc = refresh_index(cli, relpath, &st);
	if (rc == 0)
		rc = db_file_get(cli->conn, relpath, &rec);
	if (rc < 0)
		return rc;
	in->file = (struct policy_file){ 1, rec.owner_uid, rec.pending, rec.has_location,
	                                 strcmp(rec.codec, "hevc") == 0 };
	in->req.file = &in->file;
	rc = db_grant_get(cli->conn, uid, relpath, &writable);
	if (rc == 0)
		in->grant = (struct policy_grant){ 1, writable };
	return rc == -ENOENT ? 0 : rc;
}

static const char *op_name(enum policy_op op)
{
	switch (op) {
	case POLICY_OP_READ: return "read";
	case POLICY_OP_WRITE: return "write";
	case POLICY_OP_CREATE: return "create";
	default: return "?";
	}
}

int cmd_check(struct cli *cli)
{
	char relpath[PATH_MAX];
	struct check_inputs in;
	struct policy_decision decision;
	struct db_range *ranges = NULL;
	size_t range_count = 0;
	const char *err_name;
	uid_t uid;
	int exists, rc;

	if (cli_parse_uid(cli->words[1], &uid) < 0)
		return cli_fail(EXIT_USAGE, "invalid uid '%s'", cli->words[1]);
	rc = cli_open_db(cli);
	if (rc == EXIT_OK)
		rc = cli_relpath(cli, cli->words[2], relpath, sizeof(relpath));
	if (rc != EXIT_OK)
		return rc;
	rc = gather(cli, uid, relpath, &in, &exists);
	if (rc < 0)
		return cli_fail(EXIT_FAILED, "%s: %s", cli->words[2], strerror(-rc));
	in.req.op = !exists ? POLICY_OP_CREATE :
	            (cli->given & OPT_WRITE) ? POLICY_OP_WRITE : POLICY_OP_READ;
	policy_decide(&in.req, &decision);
	err_name = decision.err ? strerrorname_np(decision.err) : NULL;
	/* A redacted reader gets these byte ranges zeroed. */
	if (decision.verdict == POLICY_REDACT &&
	    (rc = db_file_get_redaction(cli->conn, relpath, &ranges, &range_count)) < 0)
		return cli_fail(EXIT_FAILED, "%s: %s", cli->words[2], strerror(-rc));
	if (cli->json) {
		printf("{\"uid\": %u, \"path\": ", (unsigned)uid);
		cli_json_string(stdout, relpath);
		printf(", \"op\": \"%s\", \"decision\": \"%s\", \"errno\": ",
		       op_name(in.req.op), policy_verdict_name(decision.verdict));
		if (err_name)
			printf("\"%s\"", err_name);
		else
			printf("null");
		printf(", \"rule\": \"%s\", \"redaction_ranges\": [", decision.rule);
		for (size_t i = 0; i < range_count; i++)
			printf("%s[%llu, %llu]", i ? ", " : "", (unsigned long long)ranges[i].offset,
			       (unsigned long long)ranges[i].length);
		printf("]}\n");
	} else {
		/* The decision first, for scripts: "deny ENOENT (rule: ...)". */
		printf("%s%s%s (rule: %s; %s %s as uid %u%s%s)\n",
		       policy_verdict_name(decision.verdict), err_name ? " " : "",
		       err_name ? err_name : "", decision.rule, op_name(in.req.op), relpath,
		       (unsigned)uid, in.app.package ? ", " : ", unregistered",
		       in.app.package ? in.app.package : "");
		for (size_t i = 0; i < range_count; i++)
			printf("  zeroes bytes %llu-%llu (%llu bytes)\n",
			       (unsigned long long)ranges[i].offset,
			       (unsigned long long)(ranges[i].offset + ranges[i].length - 1),
			       (unsigned long long)ranges[i].length);
	}
	free(ranges);
	return EXIT_OK;
}
