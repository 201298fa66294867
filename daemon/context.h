/*
 * context.h - the daemon context: the one place that holds mediafsd's
 * mutable state. Every FUSE op reaches it through fuse_req_userdata().
 */
#ifndef MEDIAFS_DAEMON_CONTEXT_H
#define MEDIAFS_DAEMON_CONTEXT_H

#include <sys/types.h>

#include "daemon/access.h"
#include "daemon/inode.h"
#include "daemon/options.h"
#include "daemon/passthrough.h"
#include "daemon/stats.h"

struct control_server;

struct mfs_ctx {
	struct mfs_options opt;            /* immutable after parsing */
	char *source_path;                 /* realpath of SOURCE; immutable */
	size_t source_path_len;
	struct inode_table inodes;         /* has its own lock */
	struct passthrough passthrough;    /* see passthrough.h for its rules */
	struct access_state *access;       /* NULL in posix mode; thread-safe */
	struct mfs_stats stats;            /* atomics */
	struct fuse_session *se;
	struct control_server *control;
	unsigned dev_major, dev_minor;     /* the mount's device, names the control socket */
	const char *zeroes;                /* shared read-only zero buffer for redacted reads */
	/* Cache lifetimes handed to the kernel; immutable after start-up. */
	double entry_timeout;
	double attr_timeout;
};

static inline struct mfs_ctx *ctx_of(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

#endif
