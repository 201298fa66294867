/* stats.c - see stats.h. */
#include "daemon/stats.h"

#include <errno.h>
#include <stdio.h>
#include <unistd.h>

#include "daemon/context.h"

int stats_format_json(struct mfs_ctx *ctx, char *buf, size_t size)
{
	const struct mfs_stats *s = &ctx->stats;
	uint64_t from_memory, from_db, copies, copy_bytes, disk_copies, disk_copy_bytes;
	int len;

	access_counters(ctx->access, &from_memory, &from_db);
	redact_copies_usage(&ctx->redact_copies, &copies, &copy_bytes);
	redact_copies_usage(&ctx->redact_disk_copies, &disk_copies, &disk_copy_bytes);
	len = snprintf(buf, size,
		"{\"opens_passthrough\": %llu, \"opens_server\": %llu, \"opens_denied\": %llu, "
		"\"opens_redacted\": %llu, \"opens_redacted_copy\": %llu, "
		"\"redact_copies\": %llu, \"redact_copy_bytes\": %llu, "
		"\"redact_disk_copies\": %llu, \"redact_disk_copy_bytes\": %llu, "
		"\"opens_transcoded\": %llu, "
		"\"transcodes_started\": %llu, \"transcodes_failed\": %llu, "
		"\"transcode_cache_hits\": %llu, \"server_read_bytes\": %llu, "
		"\"server_write_bytes\": %llu, \"backing_ids_open\": %lld, "
		"\"policy_errors\": %llu, \"decisions_from_memory\": %llu, "
		"\"decisions_from_db\": %llu, \"inodes\": %zu, \"passthrough_active\": %d, "
		"\"mode\": \"%s\", \"pid\": %d, \"capabilities\": \"%s\"}\n",
		(unsigned long long)atomic_load(&s->opens_passthrough),
		(unsigned long long)atomic_load(&s->opens_server),
		(unsigned long long)atomic_load(&s->opens_denied),
		(unsigned long long)atomic_load(&s->opens_redacted),
		(unsigned long long)atomic_load(&s->opens_redacted_copy),
		(unsigned long long)copies, (unsigned long long)copy_bytes,
		(unsigned long long)disk_copies, (unsigned long long)disk_copy_bytes,
		(unsigned long long)atomic_load(&s->opens_transcoded),
		(unsigned long long)atomic_load(&s->transcodes_started),
		(unsigned long long)atomic_load(&s->transcodes_failed),
		(unsigned long long)atomic_load(&s->transcode_cache_hits),
		(unsigned long long)atomic_load(&s->server_read_bytes),
		(unsigned long long)atomic_load(&s->server_write_bytes),
		(long long)atomic_load(&s->backing_ids_open),
		(unsigned long long)atomic_load(&s->policy_errors),
		(unsigned long long)from_memory, (unsigned long long)from_db,
		inode_table_count(&ctx->inodes),
		passthrough_usable(&ctx->passthrough),
		ctx->access ? (ctx->opt.bench_allow_all ? "bench-allow-all" : "policy") : "posix",
		(int)getpid(),
		ctx->capabilities); /* cap_to_text(): [a-z_,=+] only, JSON-safe */

	if (len < 0 || (size_t)len >= size)
		return -ENOSPC;
	return len;
}
