/*
 * transcoder.h - AVC copies of HEVC videos, made once and shared.
 *
 * For one source version (see cache.h: dev, ino, size, mtime) the first
 * caller that finds no cached copy runs the transcode (runner.h) and every
 * caller that asks meanwhile waits for that same run (single flight), so
 * eight concurrent opens start one process. A run that fails is
 * remembered for that version and command: later callers fail at once,
 * without starting it again, until the source changes (and so its key) or
 * the administrator changes the command.
 *
 * The daemon creates one transcoder and hangs it off its context; all
 * functions are thread-safe.
 */
#ifndef MEDIAFS_TRANSCODE_TRANSCODER_H
#define MEDIAFS_TRANSCODE_TRANSCODER_H

#include <stddef.h>

#include "transcode/config.h"

struct transcoder;

/* How a copy was obtained, for the daemon's counters and log. */
enum transcode_outcome {
	TRANSCODE_HIT,            /* it was in the cache */
	TRANSCODE_MADE,           /* this call ran the transcode, which succeeded */
	TRANSCODE_JOINED,         /* waited for another caller's run, which succeeded */
	TRANSCODE_FAILED,         /* this call ran the transcode, which failed */
	TRANSCODE_FAILED_BEFORE,  /* a run for this version failed (earlier or just now) */
	TRANSCODE_NOT_RUN,        /* failed before any run (cache directory, memory) */
};

struct transcode_service;

/* Runs its transcodes through `service` (service.h; not owned, must
 * outlive the transcoder). Returns 0 and sets *out, or -ENOMEM. */
int transcoder_create(struct transcode_service *service, struct transcoder **out);
/* Assumes no call is in progress. Accepts NULL. */
void transcoder_destroy(struct transcoder *tc);

/*
 * Gets the AVC copy of the regular file open (readable) as source_fd,
 * blocking until it exists. Settings come from cfg, read by the caller
 * for this call. Returns 0 with *copy_fd a read-only descriptor of the
 * copy (the caller closes it; it stays readable even when the copy is
 * evicted or the cache cleared), or -EIO when the transcode failed now or
 * before, or another negative errno; *outcome says which, and on failure
 * errbuf holds one line saying why.
 */
int transcoder_get_copy(struct transcoder *tc, const struct transcode_config *cfg,
                        int source_fd, int *copy_fd, enum transcode_outcome *outcome,
                        char *errbuf, size_t errlen);

#endif
