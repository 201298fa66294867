/*
 * transcoded.h - the daemon's side of transcoded views: what op_open and
 * the attribute paths of a VIEW_TRANSCODED inode call. It reads the
 * transcoder's settings through access.h, gets copies from the transcoder
 * of transcode/ (created on first use, hung off the daemon context),
 * counts and logs.
 */
#ifndef MEDIAFS_DAEMON_TRANSCODED_H
#define MEDIAFS_DAEMON_TRANSCODED_H

#include <sys/stat.h>

struct mfs_ctx;

/*
 * Gets the transcoded copy of the file open (readable) as source_fd,
 * blocking until it exists (as Android does). relpath is only for the log.
 * Returns 0 with *copy_fd, a read-only descriptor of the copy for the
 * open file to serve; -EIO when the transcode failed (now or for this
 * version of the source before: logged once per run); or another negative
 * errno.
 */
int transcoded_open(struct mfs_ctx *ctx, const char *relpath, int source_fd, int *copy_fd);

/*
 * Presents a transcoded view's size: st is the source's stat; when a copy
 * of this version of it is cached, st_size and st_blocks become the
 * copy's. Otherwise (not made yet, settings unreadable) st is left as is.
 */
void transcoded_present_size(struct mfs_ctx *ctx, struct stat *st);

#endif
