/* iomode.c - see iomode.h. */
#include "daemon/iomode.h"

#include <errno.h>
#include <string.h>

#include "daemon/context.h"
#include "daemon/log.h"
#include "daemon/redact_copy.h"

/*
 * The kernel keeps ONE io mode per FUSE inode:
 *   - a passthrough open fails with EIO while the inode has cached
 *     (non-direct_io, non-passthrough) opens;
 *   - a non-passthrough open fails with EIO while the inode has a backing file;
 *   - a second, different backing id for the inode fails with EIO.
 * So the daemon mirrors that state per inode, under inode->io_lock:
 *
 *   IDLE         no opens.                     next open: try passthrough
 *   PASSTHROUGH  passthrough_opens > 0,        next open: share backing_id
 *                backing_id != 0
 *   SERVER       server_opens > 0              next open: server too
 *
 * View inodes never pass through to the original: their bytes are not the
 * backing file's, and passthrough would also let mmap reach the original.
 * Transcoded views are always SERVER; a redacted view may pass through to
 * an in-memory redacted copy instead (iomode_open_redacted below).
 * The backing id is closed when the last passthrough open is released; the
 * kernel drops its own reference when its last passthrough file closes, which
 * always happens before we see that file's RELEASE, so an open racing with
 * that release still gets a valid id.
 */
void iomode_open(struct mfs_ctx *ctx, struct mfs_inode *inode, int fd,
                 enum io_mode *mode, int *backing_id)
{
	pthread_mutex_lock(&inode->io_lock);
	if (inode->view == VIEW_PLAIN && inode->backing_id > 0) {
		/* PASSTHROUGH: share the inode's one id. */
		inode->passthrough_opens++;
		*mode = IO_PASSTHROUGH;
		*backing_id = inode->backing_id;
	} else if (inode->view == VIEW_PLAIN && inode->server_opens == 0 &&
	           passthrough_usable(&ctx->passthrough)) {
		/* IDLE -> PASSTHROUGH, unless the kernel refuses this file. */
		int id = passthrough_backing_open(&ctx->passthrough, fd);
		if (id > 0) {
			inode->backing_id = id;
			inode->passthrough_opens = 1;
			atomic_fetch_add(&ctx->stats.backing_ids_open, 1);
			*mode = IO_PASSTHROUGH;
			*backing_id = id;
		} else {
			inode->server_opens++;
			*mode = IO_SERVER;
			*backing_id = 0;
		}
	} else {
		/* SERVER (or a view inode, or passthrough off). */
		inode->server_opens++;
		*mode = IO_SERVER;
		*backing_id = 0;
	}
	pthread_mutex_unlock(&inode->io_lock);
}

void iomode_release(struct mfs_ctx *ctx, struct mfs_inode *inode, enum io_mode mode)
{
	int closing_id = 0;

	pthread_mutex_lock(&inode->io_lock);
	if (mode == IO_PASSTHROUGH) {
		if (--inode->passthrough_opens == 0) {
			/* PASSTHROUGH -> IDLE */
			closing_id = inode->backing_id;
			inode->backing_id = 0;
			/* Closed under the lock so a concurrent open cannot register a
			 * second id for this inode before the first one is gone. */
			passthrough_backing_close(&ctx->passthrough, closing_id);
			atomic_fetch_sub(&ctx->stats.backing_ids_open, 1);
		}
	} else {
		inode->server_opens--;
	}
	if (closing_id && inode->redact_copy) {
		/* The kernel keeps the copy's file while its files are open; the copy
		 * stays cached for the next open of this version. */
		redact_copy_put(inode->redact_copy);
		inode->redact_copy = NULL;
	}
	pthread_mutex_unlock(&inode->io_lock);
}

/*
 * A redacted view inode (VIEW_REDACTED) has the same three states, with the
 * backing file being a redacted copy (redact_copy.h): a sealed memfd up to
 * --redact-copy-max, an unnamed read-only disk file above it:
 *
 *   IDLE         next open: make or reuse the copy of the source as it is
 *                now, register it -> PASSTHROUGH; SERVER when no copy can be
 *                had (above --redact-disk-budget, budget taken by copies in
 *                use, no O_TMPFILE or no space on disk, source changed
 *                during the fill) or passthrough is off.
 *   PASSTHROUGH  the copy is of the source as it is now, with these ranges:
 *                share the id. The source changed since: the kernel would
 *                fail a second backing id for this inode with EIO, and a
 *                daemon-served open of an inode with a backing file with EIO
 *                too, and the old copy must never be served for a changed
 *                source. So: -ESTALE. It cannot last: a redacted view's
 *                identity includes the source version it was looked up at
 *                (inode.c), names are never cached in policy mode, so every
 *                open of a changed file looks up a NEW view inode. Only an
 *                open racing with a change between its LOOKUP and its OPEN
 *                lands here, and the VFS redoes such an open once, with a
 *                fresh lookup (LOOKUP_REVAL), on ESTALE; losing that race
 *                twice in a row, or reopening an old file through
 *                /proc/PID/fd (no lookup), gives the caller ESTALE.
 *   SERVER       daemon-served opens exist (a passthrough open would fail
 *                with EIO): SERVER too, ranges re-derived on every read.
 *
 * Open readers of an old copy keep reading that copy (the version they
 * opened, location zeroed) until they close it.
 */
int iomode_open_redacted(struct mfs_ctx *ctx, struct mfs_inode *inode, int source_fd,
                         const struct stat *st, const struct access_range *ranges,
                         size_t range_count, const char *relpath, enum io_mode *mode,
                         int *backing_id)
{
	struct redact_copy *copy = NULL;
	const char *why = NULL;
	int err = 0;

	*mode = IO_SERVER;
	*backing_id = 0;
	pthread_mutex_lock(&inode->io_lock);
	if (inode->backing_id > 0) {
		if (!redact_copy_matches(inode->redact_copy, st, ranges, range_count)) {
			pthread_mutex_unlock(&inode->io_lock);
			log_debug("redacted view of '%s': changed while its old copy is open on this "
			          "view inode: ESTALE (the VFS looks it up again)", relpath);
			return -ESTALE;
		}
		inode->passthrough_opens++;
		*mode = IO_PASSTHROUGH;
		*backing_id = inode->backing_id;
	} else if (inode->server_opens > 0) {
		why = "the view has daemon-served opens";
	} else if (!passthrough_usable(&ctx->passthrough)) {
		why = "passthrough unavailable";
	} else {
		/* Photo-size files get a copy in memory; larger ones on disk. */
		err = redact_copy_get(&ctx->redact_copies, source_fd, st, ranges, range_count, &copy);
		if (err == -EFBIG)
			err = redact_copy_get(&ctx->redact_disk_copies, source_fd, st, ranges,
			                      range_count, &copy);
		if (err == 0) {
			int id = passthrough_backing_open(&ctx->passthrough, redact_copy_fd(copy));
			if (id > 0) {
				inode->backing_id = id;
				inode->redact_copy = copy;
				inode->passthrough_opens = 1;
				atomic_fetch_add(&ctx->stats.backing_ids_open, 1);
				*mode = IO_PASSTHROUGH;
				*backing_id = id;
			} else {
				redact_copy_put(copy);
				err = id;
			}
		}
		why = err == -EFBIG  ? "larger than --redact-copy-max and --redact-disk-budget"
		    : err == -ENOSPC ? "the copies' budget is taken by copies in use"
		    : err == -ESTALE ? "the file changed while it was copied"
		    : err < 0        ? strerror(-err) : NULL;
	}
	if (*mode == IO_SERVER)
		inode->server_opens++;
	pthread_mutex_unlock(&inode->io_lock);
	if (*mode == IO_PASSTHROUGH)
		log_debug("redacted view of '%s': kernel passthrough to a redacted copy (%lld bytes)",
		          relpath, (long long)st->st_size);
	else
		log_debug("redacted view of '%s': served by the daemon (%s)", relpath, why);
	return 0;
}

void iomode_present_redacted(struct mfs_inode *inode, struct stat *st)
{
	pthread_mutex_lock(&inode->io_lock);
	if (inode->redact_copy)
		redact_copy_present(inode->redact_copy, st);
	pthread_mutex_unlock(&inode->io_lock);
}
