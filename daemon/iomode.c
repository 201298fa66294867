/* iomode.c - see iomode.h. */
#include "daemon/iomode.h"

#include "daemon/context.h"

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
 * View inodes (redacted, transcoded) are always SERVER: their bytes are not
 * the backing file's, and passthrough would also let mmap reach the original.
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
	pthread_mutex_unlock(&inode->io_lock);
}
