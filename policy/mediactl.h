/*
 * mediactl.h - what the files of mediactl share: the parsed command line,
 * error reporting, and the commands themselves (one file per group).
 */
#ifndef MEDIAFS_POLICY_MEDIACTL_H
#define MEDIAFS_POLICY_MEDIACTL_H

#include <stdio.h>
#include <sys/types.h>

#include "db/db.h"

/* Exit codes. */
#define EXIT_OK 0
#define EXIT_FAILED 1      /* the command was valid but could not be done */
#define EXIT_USAGE 2       /* bad input */

/* Options, as bits of cli.given. */
enum cli_option {
	OPT_DB = 1 << 0,
	OPT_SOURCE = 1 << 1,
	OPT_JSON = 1 << 2,
	OPT_UID = 1 << 3,
	OPT_PACKAGE = 1 << 4,
	OPT_NO_HEVC = 1 << 5,
	OPT_HEVC = 1 << 6,
	OPT_WRITE = 1 << 7,
	OPT_COMMAND = 1 << 8,
	OPT_CACHE_DIR = 1 << 9,
	OPT_CACHE_MAX_BYTES = 1 << 10,
	OPT_CONTEXT = 1 << 15,       /* grant --context (SELinux); high bit: no clash */
};

#define CLI_MAX_WORDS 8

struct cli {
	unsigned given;              /* OPT_* seen */
	const char *db_path;
	const char *source_arg;      /* --source as given */
	const char *uid_arg;
	const char *package;
	const char *command;         /* transcoder set --command */
	const char *cache_dir;       /* transcoder set --cache-dir */
	const char *cache_max_bytes; /* transcoder set --cache-max-bytes, as given */
	const char *context;         /* grant --context: required SELinux caller context */
	int json;
	const char *words[CLI_MAX_WORDS];  /* subcommand and positional arguments */
	int word_count;
	struct db_conn *conn;        /* opened by cli_open_db */
	char source[4096];           /* SOURCE, canonical; "" until cli_load_source */
};

/* Prints "mediactl: <message>" on stderr and returns `code`. */
int cli_fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Parses a uid (decimal, below 2^32 - 1). 0 or -EINVAL. */
int cli_parse_uid(const char *text, uid_t *out);

/* Opens --db (required). Returns EXIT_OK or an exit code after a message. */
int cli_open_db(struct cli *cli);

/* Finds SOURCE: --source, else the source_path the daemon stored in the
 * database. Returns EXIT_OK or an exit code after a message. */
int cli_load_source(struct cli *cli);

/*
 * Turns a PATH argument (under SOURCE, or under a mounted mediafs; relative
 * to the working directory unless absolute) into a path relative to SOURCE.
 * Returns EXIT_OK or EXIT_USAGE after a message.
 */
int cli_relpath(struct cli *cli, const char *arg, char *out, size_t len);

/* Writes `text` as a JSON string literal. */
void cli_json_string(FILE *out, const char *text);

/* Commands: each returns an exit code, after printing any error. */
int cmd_app(struct cli *cli);
int cmd_grant(struct cli *cli, int revoke);
int cmd_grant_file(struct cli *cli, int revoke);
int cmd_check(struct cli *cli);
int cmd_scan(struct cli *cli);
int cmd_stats(struct cli *cli);
int cmd_transcoder(struct cli *cli);
int cmd_cache(struct cli *cli);

#endif
