/*
 * mediactl.c - the command line: option parsing, dispatch, --help.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/mediactl.h"
#include "transcode/config.h"


static const char help_text[] =
"NAME\n"
"    mediactl - manage the mediafs access policy and inspect a running mediafsd\n"
"\n"
"SYNOPSIS\n"
"    mediactl --db DB app add --uid UID --package PKG [--no-hevc]\n"
"    mediactl --db DB app remove (--uid UID | --package PKG)\n"
"    mediactl --db DB app set (--uid UID | --package PKG) (--hevc | --no-hevc)\n"
"    mediactl --db DB app list [--json]\n"
"    mediactl --db DB grant UID PERMISSION [--context CTX]\n"
"    mediactl --db DB revoke UID PERMISSION\n"
"    mediactl --db DB [--source DIR] grant-file UID PATH [--write]\n"
"    mediactl --db DB [--source DIR] revoke-file UID PATH\n"
"    mediactl --db DB [--source DIR] check UID PATH [--write] [--json]\n"
"    mediactl --db DB [--source DIR] scan [PATH] [--json]\n"
"    mediactl stats MOUNTPOINT [--json]\n"
"    mediactl --db DB [--source DIR] transcoder show [--json]\n"
"    mediactl --db DB transcoder set [--command CMD] [--cache-dir DIR]\n"
"                                    [--cache-max-bytes N]\n"
"    mediactl --db DB transcoder reset\n"
"    mediactl --db DB [--source DIR] cache (stats [--json] | clear)\n"
"    mediactl --help\n"
"\n"
"DESCRIPTION\n"
"    mediafsd decides, on every open, what each app (a uid) may see in its\n"
"    shared storage. mediactl edits the policy database DB that it reads;\n"
"    a change takes effect on the daemon's very next request. The database is\n"
"    created when missing; it may be changed while the daemon runs.\n"
"\n"
"    An app is a uid >= 10000 registered with a package name; uid / 100000 is\n"
"    its user, whose files live in SOURCE/<user>. uids below 10000 are the\n"
"    system and may do everything.\n"
"\n"
"COMMANDS\n"
"    app add --uid UID --package PKG [--no-hevc]\n"
"        Registers an app. --no-hevc: the app cannot decode HEVC video, so it\n"
"        is served transcoded copies of other apps' HEVC videos.\n"
"    app remove --uid UID | --package PKG\n"
"        Unregisters an app with its permissions and file grants. Files it\n"
"        created keep it as their owner.\n"
"    app set --uid UID | --package PKG --hevc | --no-hevc\n"
"        Changes whether the app decodes HEVC.\n"
"    app list\n"
"        Lists apps: uid, package, hevc support, permissions.\n"
"    grant UID PERMISSION [--context CTX], revoke UID PERMISSION\n"
"        With --context (SELinux enabled only; ignored when disabled) the\n"
"        permission holds only for calling processes whose SELinux context\n"
"        has type CTX (a bare type, e.g. untrusted_app) or equals CTX (a full\n"
"        context u:r:type:level). Repeat grant --context to accept several\n"
"        contexts; grant without --context lifts every condition; revoke\n"
"        removes the permission and its conditions.\n"
"        PERMISSION is one of READ_MEDIA_IMAGES, READ_MEDIA_VIDEO,\n"
"        READ_MEDIA_AUDIO (read every file of that media type in the user's\n"
"        shared directories), ACCESS_MEDIA_LOCATION (read location metadata\n"
"        unredacted), MANAGE_EXTERNAL_STORAGE (read and write everything in\n"
"        the user's directory but other apps' Android/data and Android/obb).\n"
"    grant-file UID PATH [--write], revoke-file UID PATH\n"
"        Grants (or revokes) one app access to one existing media file: read,\n"
"        or read and write with --write. Grants follow renames.\n"
"    check UID PATH [--write]\n"
"        Prints what the daemon would decide for UID opening PATH for reading\n"
"        (or writing with --write), or creating it when it does not exist,\n"
"        and the rule that decided: plain, redact, transcode, or deny with an\n"
"        errno. For redact, also the byte ranges the app reads as zeros\n"
"        (the location metadata). Exits 0 whatever the decision. Changes no\n"
"        policy; like the daemon, it indexes the file (no owner) when unknown\n"
"        and re-reads its location and codec when it changed.\n"
"    scan [PATH]\n"
"        Indexes every regular file below PATH (default: all of SOURCE):\n"
"        new files get no owner, changed ones their new size and mtime,\n"
"        media files are parsed for location and codec (so that no open has\n"
"        to parse them);\n"
"        records of files that are gone are removed.\n"
"    stats MOUNTPOINT\n"
"        Asks the mediafsd serving MOUNTPOINT for its counters, over its\n"
"        control socket (root only). Needs no --db. Besides open and byte\n"
"        counts: opens_transcoded, transcodes_started, transcodes_failed,\n"
"        transcode_cache_hits; policy_errors (requests failed closed because\n"
"        the database could not be read), decisions_from_memory and\n"
"        decisions_from_db (policy decisions answered from the daemon's\n"
"        record cache, and those that read the database); opens_redacted,\n"
"        opens_redacted_copy (of those, passed through to a redacted copy),\n"
"        redact_copies and redact_copy_bytes (in memory), redact_disk_copies\n"
"        and redact_disk_copy_bytes (on disk).\n"
"    transcoder show\n"
"        Prints the transcoder settings in effect, marking defaults.\n"
"    transcoder set [--command CMD] [--cache-dir DIR] [--cache-max-bytes N]\n"
"        Changes the settings mediafsd uses from its next transcoded open on.\n"
"        CMD is the transcoder's command line, split like a simple shell\n"
"        command ('...' and \"...\" quote, backslash escapes) but never run by\n"
"        a shell; it must contain {input} and {output}, which become\n"
"        /dev/fd/3 (the HEVC source, read-only, seekable) and /dev/fd/4 (the\n"
"        copy to write: a regular file, so the mp4 muxer may seek). It runs\n"
"        as uid/gid 65534 (nobody) with no capabilities, no_new_privs,\n"
"        limits (4 GiB address space, output at most the cache limit) and\n"
"        30 s + 20 s per MiB of source, then SIGKILL. Default:\n"
"            " TRANSCODE_DEFAULT_COMMAND "\n"
"        DIR (absolute) holds the finished copies; default\n"
"        /var/cache/mediafs/<hash of SOURCE>, created mode 0700. N is the\n"
"        most the copies may take, in bytes or with K, M, G (default 2G);\n"
"        least recently used copies are removed first. An empty value\n"
"        (--command '') restores that setting's default.\n"
"    transcoder reset\n"
"        Restores every transcoder setting to its default.\n"
"    cache stats\n"
"        Prints the cache directory, its number of copies, their bytes and\n"
"        the limit. Copies are named after their source's device, inode,\n"
"        size and mtime: a changed source never gets its old copy.\n"
"    cache clear\n"
"        Removes every cached copy, also while mediafsd runs: readers that\n"
"        have a copy open keep reading it; the next open transcodes again.\n"
"        Only files named like copies are ever removed.\n"
"\n"
"OPTIONS\n"
"    --db DB        the policy database (required but for stats)\n"
"    --source DIR   the SOURCE directory the daemon serves; default: the one\n"
"                   the daemon recorded in DB when it last started\n"
"    --json         print data as JSON (app list, check, scan, stats,\n"
"                   transcoder show, cache stats)\n"
"    --uid UID, --package PKG, --hevc, --no-hevc, --write   as above\n"
"    --command CMD, --cache-dir DIR, --cache-max-bytes N    as above\n"
"    -h, --help     this text\n"
"    Options may come before or after the command words.\n"
"\n"
"PATHS\n"
"    A PATH argument names a file in either of two ways, absolute or relative\n"
"    to the working directory: under SOURCE (e.g. /srv/media/0/DCIM/a.jpg),\n"
"    or under a mounted mediafs (e.g. /mnt/media/0/DCIM/a.jpg), which is\n"
"    recognised through /proc/self/mountinfo and the daemon's control socket\n"
"    without reading through the mount. Either way it is stored relative to\n"
"    SOURCE (0/DCIM/a.jpg). SOURCE comes from --source, or else from the\n"
"    database, where mediafsd records it on every start. A PATH outside both\n"
"    is an error.\n"
"\n"
"EXIT STATUS\n"
"    0 success; 1 the command failed (no such app or file, database or\n"
"    daemon error); 2 bad input (unknown command or option, unknown\n"
"    permission, non-numeric uid, path outside SOURCE). Errors are one line\n"
"    on stderr.\n"
"\n"
"EXAMPLES\n"
"    mediactl --db /var/lib/mediafs/policy.db app add --uid 10123 --package org.gallery\n"
"    mediactl --db /var/lib/mediafs/policy.db grant 10123 READ_MEDIA_IMAGES\n"
"    mediactl --db /var/lib/mediafs/policy.db check 10123 /mnt/media/0/DCIM/a.jpg\n"
"    mediactl stats /mnt/media --json\n"
"    mediactl --db /var/lib/mediafs/policy.db app set --package org.player --no-hevc\n"
"    mediactl --db /var/lib/mediafs/policy.db transcoder set --cache-max-bytes 512M\n"
"    mediactl --db /var/lib/mediafs/policy.db cache stats --json\n";

int cli_fail(int code, const char *fmt, ...)
{
	va_list args;

	fputs("mediactl: ", stderr);
	va_start(args, fmt);
	vfprintf(stderr, fmt, args);
	va_end(args);
	fputc('\n', stderr);
	return code;
}

int cli_parse_uid(const char *text, uid_t *out)
{
	unsigned long long value = 0;

	if (*text == '\0' || strlen(text) > 10)
		return -EINVAL;
	for (const char *p = text; *p; p++) {
		if (*p < '0' || *p > '9')
			return -EINVAL;
		value = value * 10 + (unsigned)(*p - '0');
	}
	if (value >= 0xffffffffULL)  /* (uid_t)-1 means "no uid" to the kernel */
		return -EINVAL;
	*out = (uid_t)value;
	return 0;
}

int cli_open_db(struct cli *cli)
{
	char err[DB_ERRMSG_MAX];

	if (cli->db_path == NULL)
		return cli_fail(EXIT_USAGE, "--db PATH is required (see --help)");
	if (db_open(cli->db_path, &cli->conn, err, sizeof(err)) < 0)
		return cli_fail(EXIT_FAILED, "%s", err);
	return EXIT_OK;
}

void cli_json_string(FILE *out, const char *text)
{
	fputc('"', out);
	for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(out, "\\%c", *p);
		else if (*p < 0x20)
			fprintf(out, "\\u%04x", *p);
		else
			fputc(*p, out);
	}
	fputc('"', out);
}

struct option_spec {
	const char *name;
	enum cli_option bit;
	int takes_value;
};

static const struct option_spec option_specs[] = {
	{ "--db", OPT_DB, 1 }, { "--source", OPT_SOURCE, 1 }, { "--json", OPT_JSON, 0 },
	{ "--uid", OPT_UID, 1 }, { "--package", OPT_PACKAGE, 1 },
	{ "--no-hevc", OPT_NO_HEVC, 0 }, { "--hevc", OPT_HEVC, 0 }, { "--write", OPT_WRITE, 0 },
	{ "--command", OPT_COMMAND, 1 }, { "--cache-dir", OPT_CACHE_DIR, 1 },
	{ "--cache-max-bytes", OPT_CACHE_MAX_BYTES, 1 },
	{ "--context", OPT_CONTEXT, 1 },
};

static void store_option(struct cli *cli, enum cli_option bit, const char *value)
{
	switch (bit) {
	case OPT_DB: cli->db_path = value; break;
	case OPT_SOURCE: cli->source_arg = value; break;
	case OPT_UID: cli->uid_arg = value; break;
	case OPT_PACKAGE: cli->package = value; break;
	case OPT_JSON: cli->json = 1; break;
	case OPT_COMMAND: cli->command = value; break;
	case OPT_CACHE_DIR: cli->cache_dir = value; break;
	case OPT_CACHE_MAX_BYTES: cli->cache_max_bytes = value; break;
	case OPT_CONTEXT: cli->context = value; break;
	default: break;
	}
	cli->given |= bit;
}

/* Parses one "--name[=value]" at argv[*i]. Returns EXIT_OK or EXIT_USAGE. */
static int parse_option(struct cli *cli, int argc, char **argv, int *i)
{
	const char *arg = argv[*i], *eq = strchr(arg, '=');
	size_t name_len = eq ? (size_t)(eq - arg) : strlen(arg);

	for (size_t k = 0; k < sizeof(option_specs) / sizeof(option_specs[0]); k++) {
		const struct option_spec *spec = &option_specs[k];

		if (strlen(spec->name) != name_len || strncmp(arg, spec->name, name_len) != 0)
			continue;
		if (!spec->takes_value) {
			if (eq)
				return cli_fail(EXIT_USAGE, "option %s takes no value", spec->name);
			store_option(cli, spec->bit, NULL);
			return EXIT_OK;
		}
		if (eq) {
			store_option(cli, spec->bit, eq + 1);
			return EXIT_OK;
		}
		if (*i + 1 >= argc)
			return cli_fail(EXIT_USAGE, "option %s needs a value", spec->name);
		store_option(cli, spec->bit, argv[++*i]);
		return EXIT_OK;
	}
	return cli_fail(EXIT_USAGE, "unknown option '%s' (see --help)", arg);
}

static int parse_args(struct cli *cli, int argc, char **argv)
{
	int only_words = 0;

	for (int i = 1; i < argc; i++) {
		int rc;

		if (!only_words && strcmp(argv[i], "--") == 0) {
			only_words = 1;
			continue;
		}
		if (!only_words && argv[i][0] == '-' && argv[i][1] != '\0') {
			rc = parse_option(cli, argc, argv, &i);
			if (rc != EXIT_OK)
				return rc;
			continue;
		}
		if (cli->word_count == CLI_MAX_WORDS)
			return cli_fail(EXIT_USAGE, "too many arguments (see --help)");
		cli->words[cli->word_count++] = argv[i];
	}
	return EXIT_OK;
}

struct command {
	const char *name;
	int min_words, max_words;   /* including the command word */
	unsigned allowed;           /* options besides --db and --source */
	int (*run)(struct cli *cli);
};

static int run_app(struct cli *cli) { return cmd_app(cli); }
static int run_grant(struct cli *cli) { return cmd_grant(cli, 0); }
static int run_revoke(struct cli *cli) { return cmd_grant(cli, 1); }
static int run_grant_file(struct cli *cli) { return cmd_grant_file(cli, 0); }
static int run_revoke_file(struct cli *cli) { return cmd_grant_file(cli, 1); }

static const struct command commands[] = {
	{ "app", 2, 2, OPT_JSON | OPT_UID | OPT_PACKAGE | OPT_HEVC | OPT_NO_HEVC, run_app },
	{ "grant", 3, 3, OPT_CONTEXT, run_grant },
	{ "revoke", 3, 3, 0, run_revoke },
	{ "grant-file", 3, 3, OPT_WRITE, run_grant_file },
	{ "revoke-file", 3, 3, 0, run_revoke_file },
	{ "check", 3, 3, OPT_WRITE | OPT_JSON, cmd_check },
	{ "scan", 1, 2, OPT_JSON, cmd_scan },
	{ "stats", 2, 2, OPT_JSON, cmd_stats },
	{ "transcoder", 2, 2, OPT_JSON | OPT_COMMAND | OPT_CACHE_DIR | OPT_CACHE_MAX_BYTES,
	  cmd_transcoder },
	{ "cache", 2, 2, OPT_JSON, cmd_cache },
};

static const char *option_name(unsigned bit)
{
	for (size_t k = 0; k < sizeof(option_specs) / sizeof(option_specs[0]); k++)
		if (option_specs[k].bit == bit)
			return option_specs[k].name;
	return "?";
}

int main(int argc, char **argv)
{
	struct cli cli = { 0 };
	int rc;

	for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			fputs(help_text, stdout);
			return EXIT_OK;
		}
	}
	rc = parse_args(&cli, argc, argv);
	if (rc != EXIT_OK)
		return rc;
	if (cli.word_count == 0)
		return cli_fail(EXIT_USAGE, "no command given (see --help)");
	for (size_t k = 0; k < sizeof(commands) / sizeof(commands[0]); k++) {
		const struct command *cmd = &commands[k];
		unsigned extra = cli.given & ~(cmd->allowed | OPT_DB | OPT_SOURCE);

		if (strcmp(cli.words[0], cmd->name) != 0)
			continue;
		if (extra)
			return cli_fail(EXIT_USAGE, "option %s does not apply to '%s'",
			                option_name(extra & -extra), cmd->name);
		if (cli.word_count < cmd->min_words || cli.word_count > cmd->max_words)
			return cli_fail(EXIT_USAGE, "wrong number of arguments for '%s' (see --help)",
			                cmd->name);
		rc = cmd->run(&cli);
		db_close(cli.conn);
		return rc;
	}
	return cli_fail(EXIT_USAGE, "unknown command '%s' (see --help)", cli.words[0]);
}
