/*
 * stats.h - live counters, read by `mediactl stats` over the control socket.
 * Plain atomics: each counter is independent, and a reader may see them
 * from slightly different instants, which is fine for monitoring.
 */
#ifndef MEDIAFS_DAEMON_STATS_H
#define MEDIAFS_DAEMON_STATS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

struct mfs_stats {
	atomic_uint_fast64_t opens_passthrough;  /* opens answered with a backing id of the
	                                            original file */
	atomic_uint_fast64_t opens_server;       /* opens whose data the daemon serves */
	atomic_uint_fast64_t opens_denied;       /* opens and creates refused by policy */
	atomic_uint_fast64_t opens_redacted;     /* opens of a redacted view */
	atomic_uint_fast64_t opens_redacted_copy; /* ... of them, in passthrough to an
	                                             in-memory redacted copy */
	atomic_uint_fast64_t opens_transcoded;   /* opens of a transcoded view */
	atomic_uint_fast64_t transcodes_started; /* transcoder processes run */
	atomic_uint_fast64_t transcodes_failed;  /* ... that failed or timed out */
	atomic_uint_fast64_t transcode_cache_hits; /* transcoded opens served from the cache */
	atomic_uint_fast64_t server_read_bytes;  /* bytes the daemon read for callers */
	atomic_uint_fast64_t server_write_bytes; /* bytes the daemon wrote for callers */
	atomic_int_fast64_t backing_ids_open;    /* backing ids registered, not yet closed */
	atomic_uint_fast64_t policy_errors;      /* requests failed closed: policy unreadable */
};

static inline void stat_add(atomic_uint_fast64_t *counter, uint64_t amount)
{
	atomic_fetch_add_explicit(counter, amount, memory_order_relaxed);
}

struct mfs_ctx;
/* Writes the counters as one JSON object into buf (NUL-terminated).
 * Returns the length, or -ENOSPC if buf is too small. */
int stats_format_json(struct mfs_ctx *ctx, char *buf, size_t size);

#endif
