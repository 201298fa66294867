/* transcoded.c - see transcoded.h. */
#include "daemon/transcoded.h"

#include <errno.h>
#include <string.h>

#include "daemon/context.h"
#include "daemon/log.h"
#include "transcode/cache.h"
#include "transcode/transcoder.h"

/*
 * The daemon's transcoder, created by the first caller. A lost race
 * destroys its own and uses the winner's, so no lock is needed. Assumes
 * ctx->transcode_service is set. Returns NULL only when out of memory.
 */
static struct transcoder *transcoder_of(struct mfs_ctx *ctx)
{
	struct transcoder *existing = atomic_load(&ctx->transcoder), *mine;

	if (existing)
		return existing;
	if (transcoder_create(ctx->transcode_service, &mine) < 0)
		return NULL;
	if (atomic_compare_exchange_strong(&ctx->transcoder, &existing, mine))
		return mine;
	transcoder_destroy(mine);
	return existing;
}

/* The settings now, defaults applied. Returns 0 or a negative errno. */
static int current_config(struct mfs_ctx *ctx, struct transcode_config *cfg)
{
	struct access_transcode_settings stored;
	int rc = access_transcode_settings(ctx->access, &stored);

	if (rc < 0)
		return rc;
	return transcode_config_resolve(stored.command, stored.cache_dir, stored.cache_max_bytes,
	                                ctx->source_path, cfg);
}

int transcoded_open(struct mfs_ctx *ctx, const char *relpath, int source_fd, int *copy_fd)
{
	struct transcode_config cfg;
	enum transcode_outcome outcome;
	struct transcoder *tc;
	char why[256] = "";
	int rc;

	if (!ctx->transcode_service) {
		/* Only a process that may still change uids can start it: main.c,
		 * before the privilege drop. */
		log_err("transcoding '%s': no transcoder service was started: EIO", relpath);
		return -EIO;
	}
	tc = transcoder_of(ctx);
	if (!tc)
		return -ENOMEM;
	rc = current_config(ctx, &cfg);
	if (rc < 0) {
		log_err("transcoding '%s': cannot read the transcoder settings: %s", relpath,
		        strerror(-rc));
		return rc;
	}
	rc = transcoder_get_copy(tc, &cfg, source_fd, copy_fd, &outcome, why, sizeof(why));
	switch (outcome) {
	case TRANSCODE_HIT:
		stat_add(&ctx->stats.transcode_cache_hits, 1);
		break;
	case TRANSCODE_MADE:
		stat_add(&ctx->stats.transcodes_started, 1);
		log_info("transcoded '%s' into %s", relpath, cfg.cache_dir);
		break;
	case TRANSCODE_FAILED:
		stat_add(&ctx->stats.transcodes_started, 1);
		stat_add(&ctx->stats.transcodes_failed, 1);
		log_err("transcoding '%s' failed: %s; opens of this version fail with EIO until it "
		        "changes", relpath, why);
		break;
	case TRANSCODE_FAILED_BEFORE:
		log_debug("transcoded view of '%s': EIO, its transcode failed: %s", relpath, why);
		break;
	case TRANSCODE_NOT_RUN:
		log_err("transcoding '%s': %s", relpath, why);
		break;
	case TRANSCODE_JOINED:
		break;
	}
	return rc;
}

void transcoded_present_size(struct mfs_ctx *ctx, struct stat *st)
{
	struct transcode_config cfg;
	struct transcode_key key;
	off_t size;

	if (!S_ISREG(st->st_mode) || current_config(ctx, &cfg) < 0)
		return;
	transcode_key_of(st, &key);
	if (tcache_entry_size(cfg.cache_dir, &key, &size) < 0)
		return;
	st->st_size = size;
	st->st_blocks = (size + 511) / 512;
}
