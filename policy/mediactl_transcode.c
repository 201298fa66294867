/*
 * mediactl_transcode.c - `transcoder show|set|reset` (the settings mediafsd
 * reads on every transcoded open) and `cache stats|clear` (the cache
 * directory itself, which is safe to inspect and empty while the daemon
 * runs: see transcode/cache.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/size.h"
#include "policy/mediactl.h"
#include "transcode/cache.h"
#include "transcode/command.h"
#include "transcode/config.h"

/* The settings in effect: stored ones, defaults for the rest. `stored`
 * receives what the database holds. Returns EXIT_OK or an exit code. */
static int effective_config(struct cli *cli, struct db_transcoder *stored,
                            struct transcode_config *cfg)
{
	int rc = db_transcoder_get(cli->conn, stored);

	if (rc < 0)
		return cli_fail(EXIT_FAILED, "reading the transcoder settings: %s", strerror(-rc));
	/* The default cache directory is derived from SOURCE. */
	if (stored->cache_dir[0] == '\0' && (rc = cli_load_source(cli)) != EXIT_OK)
		return rc;
	rc = transcode_config_resolve(stored->command, stored->cache_dir,
	                              (uint64_t)stored->cache_max_bytes, cli->source, cfg);
	return rc < 0 ? cli_fail(EXIT_FAILED, "settings: %s", strerror(-rc)) : EXIT_OK;
}

/* A cache size: a byte count (common/size.h) above 0 that fits the database. */
static int parse_bytes(const char *text, int64_t *out)
{
	uint64_t value;

	if (parse_size(text, &value) < 0 || value == 0 || value > INT64_MAX)
		return -EINVAL;
	*out = (int64_t)value;
	return 0;
}

static int transcoder_show(struct cli *cli)
{
	struct db_transcoder stored;
	struct transcode_config cfg;
	int rc = effective_config(cli, &stored, &cfg);

	if (rc != EXIT_OK)
		return rc;
	if (cli->json) {
		fputs("{\"command\": ", stdout);
		cli_json_string(stdout, cfg.command);
		printf(", \"command_is_default\": %s, \"cache_dir\": ", stored.command[0] ? "false" : "true");
		cli_json_string(stdout, cfg.cache_dir);
		printf(", \"cache_dir_is_default\": %s, \"cache_max_bytes\": %" PRIu64
		       ", \"cache_max_bytes_is_default\": %s}\n", stored.cache_dir[0] ? "false" : "true",
		       cfg.cache_max_bytes, stored.cache_max_bytes ? "false" : "true");
		return EXIT_OK;
	}
	printf("command          %s%s\n", cfg.command, stored.command[0] ? "" : "  (default)");
	printf("cache-dir        %s%s\n", cfg.cache_dir, stored.cache_dir[0] ? "" : "  (default)");
	printf("cache-max-bytes  %" PRIu64 "%s\n", cfg.cache_max_bytes,
	       stored.cache_max_bytes ? "" : "  (default)");
	return EXIT_OK;
}

static int transcoder_set(struct cli *cli)
{
	int64_t max_bytes = -1;
	const char *why = NULL;
	int rc;

	if (!(cli->given & (OPT_COMMAND | OPT_CACHE_DIR | OPT_CACHE_MAX_BYTES)))
		return cli_fail(EXIT_USAGE, "transcoder set: give --command, --cache-dir or "
		                "--cache-max-bytes (see --help)");
	if (cli->command && cli->command[0] && transcode_command_validate(cli->command, &why) < 0)
		return cli_fail(EXIT_USAGE, "--command: %s (it needs {input} and {output})", why);
	/* An empty value restores that setting's default. */
	if (cli->cache_dir && cli->cache_dir[0] != '/' && cli->cache_dir[0] != '\0')
		return cli_fail(EXIT_USAGE, "--cache-dir must be an absolute path");
	if (cli->cache_max_bytes && cli->cache_max_bytes[0] == '\0')
		max_bytes = 0;
	else if (cli->cache_max_bytes && parse_bytes(cli->cache_max_bytes, &max_bytes) < 0)
		return cli_fail(EXIT_USAGE, "--cache-max-bytes: '%s' is not a positive size "
		                "(bytes, or with K, M, G)", cli->cache_max_bytes);
	rc = db_transcoder_set(cli->conn, cli->command, cli->cache_dir, max_bytes);
	if (rc < 0)
		return cli_fail(EXIT_FAILED, "storing the transcoder settings: %s", strerror(-rc));
	return EXIT_OK;
}

int cmd_transcoder(struct cli *cli)
{
	const char *sub = cli->words[1];
	unsigned set_options = OPT_COMMAND | OPT_CACHE_DIR | OPT_CACHE_MAX_BYTES;
	int rc = cli_open_db(cli);

	if (rc != EXIT_OK)
		return rc;
	if (strcmp(sub, "set") != 0 && (cli->given & set_options))
		return cli_fail(EXIT_USAGE, "--command, --cache-dir and --cache-max-bytes apply to "
		                "'transcoder set' only");
	if (strcmp(sub, "show") != 0 && cli->json)
		return cli_fail(EXIT_USAGE, "option --json does not apply to 'transcoder %s'", sub);
	if (strcmp(sub, "show") == 0)
		return transcoder_show(cli);
	if (strcmp(sub, "set") == 0)
		return transcoder_set(cli);
	if (strcmp(sub, "reset") == 0) {
		rc = db_transcoder_set(cli->conn, "", "", 0);
		return rc < 0 ? cli_fail(EXIT_FAILED, "resetting: %s", strerror(-rc)) : EXIT_OK;
	}
	return cli_fail(EXIT_USAGE, "unknown subcommand 'transcoder %s' (show, set, reset)", sub);
}

int cmd_cache(struct cli *cli)
{
	const char *sub = cli->words[1];
	struct db_transcoder stored;
	struct transcode_config cfg;
	struct tcache_usage usage = { 0, 0 };
	int dirfd = -1, clear = strcmp(sub, "clear") == 0, rc;

	if (!clear && strcmp(sub, "stats") != 0)
		return cli_fail(EXIT_USAGE, "unknown subcommand 'cache %s' (stats, clear)", sub);
	if (clear && cli->json)
		return cli_fail(EXIT_USAGE, "option --json does not apply to 'cache clear'");
	rc = cli_open_db(cli);
	if (rc == EXIT_OK)
		rc = effective_config(cli, &stored, &cfg);
	if (rc != EXIT_OK)
		return rc;
	rc = tcache_open_dir(cfg.cache_dir, 0, &dirfd);
	if (rc == 0)
		rc = clear ? tcache_clear(dirfd, &usage) : tcache_usage(dirfd, &usage);
	if (dirfd >= 0)
		close(dirfd);
	if (rc < 0 && rc != -ENOENT)  /* no directory yet: an empty cache */
		return cli_fail(EXIT_FAILED, "cache %s: %s", cfg.cache_dir, strerror(-rc));
	if (clear) {
		printf("removed %" PRIu64 " entries, %" PRIu64 " bytes\n", usage.entries, usage.bytes);
	} else if (cli->json) {
		fputs("{\"dir\": ", stdout);
		cli_json_string(stdout, cfg.cache_dir);
		printf(", \"entries\": %" PRIu64 ", \"bytes\": %" PRIu64 ", \"limit\": %" PRIu64 "}\n",
		       usage.entries, usage.bytes, cfg.cache_max_bytes);
	} else {
		printf("dir      %s\nentries  %" PRIu64 "\nbytes    %" PRIu64 "\nlimit    %" PRIu64 "\n",
		       cfg.cache_dir, usage.entries, usage.bytes, cfg.cache_max_bytes);
	}
	return EXIT_OK;
}
