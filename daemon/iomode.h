/*
 * iomode.h - how one open of an inode moves its data: by kernel passthrough
 * or through the daemon. The decision and the inode's io-mode state live in
 * iomode.c, modelled on the kernel's fs/fuse/iomode.c which enforces the
 * same rules from the other side.
 */
#ifndef MEDIAFS_DAEMON_IOMODE_H
#define MEDIAFS_DAEMON_IOMODE_H

#include "daemon/inode.h"

struct mfs_ctx;

enum io_mode {
	IO_SERVER = 0,      /* the daemon serves read/write (cached, or direct_io for views) */
	IO_PASSTHROUGH,     /* the kernel reads/writes the backing file itself */
};

/*
 * Chooses the io mode for a new open of `inode` whose daemon-side descriptor
 * is `fd`, registering a backing id when this is the inode's first
 * passthrough open. Sets *mode and *backing_id (0 for IO_SERVER).
 * Never fails: server mode is always possible. Every call must be paired
 * with iomode_release() with the same mode, also when the reply to the open
 * could not be delivered.
 */
void iomode_open(struct mfs_ctx *ctx, struct mfs_inode *inode, int fd,
                 enum io_mode *mode, int *backing_id);

/* Ends one open that iomode_open() admitted in `mode`; closes the inode's
 * backing id when its last passthrough open goes. */
void iomode_release(struct mfs_ctx *ctx, struct mfs_inode *inode, enum io_mode mode);

#endif
