/*
 * iomode.h - how one open of an inode moves its data: by kernel passthrough
 * or through the daemon. The decision and the inode's io-mode state live in
 * iomode.c, modelled on the kernel's fs/fuse/iomode.c which enforces the
 * same rules from the other side.
 */
#ifndef MEDIAFS_DAEMON_IOMODE_H
#define MEDIAFS_DAEMON_IOMODE_H

#include <stddef.h>
#include <sys/stat.h>

#include "daemon/access.h"
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

/*
 * The same for an open of a redacted view inode (VIEW_REDACTED): passthrough
 * to an in-memory copy of the source (open as source_fd, stat *st) with
 * `ranges` zeroed, or the daemon serves it. relpath is only for the log.
 * Returns 0 with *mode and *backing_id set, or -ESTALE (nothing admitted)
 * when the view inode passes through to a copy of an older version of the
 * source; see the state table in iomode.c.
 */
int iomode_open_redacted(struct mfs_ctx *ctx, struct mfs_inode *inode, int source_fd,
                         const struct stat *st, const struct access_range *ranges,
                         size_t range_count, const char *relpath, enum io_mode *mode,
                         int *backing_id);

/*
 * Presents a redacted view's attributes: st is the source's stat now; while
 * the view passes through to a copy, its size and times become the copy's,
 * so that fstat() of an open file agrees with what it reads and maps.
 */
void iomode_present_redacted(struct mfs_inode *inode, struct stat *st);

/* Ends one open that iomode_open() or iomode_open_redacted() admitted in
 * `mode`; closes the inode's backing id (and drops its redacted copy) when
 * its last passthrough open goes. */
void iomode_release(struct mfs_ctx *ctx, struct mfs_inode *inode, enum io_mode mode);

#endif
