/*
 * passthrough.h - kernel FUSE passthrough (Linux 6.9+): negotiating it at
 * INIT, registering backing files, and marking open replies.
 *
 * Debian 12's libfuse 3.14 predates the passthrough API, so with it this
 * module installs fuse_session_custom_io() hooks that (1) read the kernel's
 * INIT request to learn whether it offers FUSE_PASSTHROUGH, (2) add
 * FUSE_PASSTHROUGH and max_stack_depth to our INIT reply, and (3) add
 * FOPEN_PASSTHROUGH and the backing id to the one open/create reply the
 * calling thread marked just before replying. With libfuse >= 3.17 the
 * library's own API does all three and the hooks are not installed.
 *
 * Backing ids are registered with the FUSE_DEV_IOC_BACKING_OPEN ioctl
 * ourselves (also with 3.17, whose wrapper hides EPERM vs ELOOP).
 */
#ifndef MEDIAFS_DAEMON_PASSTHROUGH_H
#define MEDIAFS_DAEMON_PASSTHROUGH_H

#include <stdatomic.h>
#include <stdint.h>

#include "daemon/fuse_version.h"

struct passthrough {
	int dev_fd;               /* the session's /dev/fuse descriptor; immutable */
	int wanted;               /* not disabled by --no-passthrough; immutable */
	/* Written by the INIT exchange (one thread, before any other request),
	 * read afterwards: */
	int kernel_offers;        /* the INIT request carried FUSE_PASSTHROUGH */
	int kernel_allows_mmap;   /* ... and FUSE_DIRECT_IO_ALLOW_MMAP */
	uint64_t init_unique;     /* request id of INIT, to find its reply */
	/* Cleared for good by the first failure that is not about one file. */
	atomic_int active;
	atomic_int unavailable_logged;
};

/* Prepares the state; `wanted` is 0 for --no-passthrough. */
void passthrough_init(struct passthrough *pt, int dev_fd, int wanted);

/*
 * Hands the session its (already mounted) /dev/fuse descriptor, through the
 * custom-io hooks when libfuse needs them. Assumes the session's userdata is
 * the struct mfs_ctx that contains `pt`. Returns 0 or a negative errno.
 */
int passthrough_attach_session(struct passthrough *pt, struct fuse_session *se);

/* Called from the init op: for libfuse >= 3.17 asks for FUSE_CAP_PASSTHROUGH.
 * Always makes sure writeback cache is off (it disables passthrough). */
void passthrough_negotiate(struct passthrough *pt, struct fuse_conn_info *conn);

/* True while passthrough can be used for new opens. */
int passthrough_usable(struct passthrough *pt);

/*
 * Registers the open file `fd` as a backing file. Returns the positive
 * backing id, or a negative errno. A failure that means "never" (no
 * capability, kernel without support) turns passthrough off for the rest
 * of the daemon's life and logs that once; -ELOOP and the like concern
 * only this file.
 */
int passthrough_backing_open(struct passthrough *pt, int fd);
/* Drops a backing id; the kernel keeps its own reference while in use. */
void passthrough_backing_close(struct passthrough *pt, int backing_id);

/*
 * Replies to an open or create with FOPEN_PASSTHROUGH and backing_id.
 * `e` is NULL for open. Returns what fuse_reply_open/create returned.
 */
int passthrough_reply_open(fuse_req_t req, const struct fuse_entry_param *e,
                           struct fuse_file_info *fi, int backing_id);

#endif
