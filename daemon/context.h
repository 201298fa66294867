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
#include "daemon/redact_copy.h"
#include "daemon/stats.h"

struct control_server;
struct transcoder;
struct transcode_service;
struct selinux_labels;
struct scan_service;

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
	struct redact_copies redact_copies; /* in-memory redacted copies; has its own lock */
	struct redact_copies redact_disk_copies; /* on disk, for larger files; own lock */
	int redact_copy_dir_fd;            /* where disk copies live (owned); -1: none */
	/* Forked by main.c before the privilege drop (policy mode); NULL:
	 * transcoded opens fail with EIO. Immutable after start-up. */
	struct transcode_service *transcode_service;
	/* Made on the first transcoded open (daemon/transcoded.c), then
	 * immutable until exit; thread-safe itself. */
	struct transcoder *_Atomic transcoder;
	/* Security state, set before threads start, then immutable: */
	struct selinux_labels *labels;     /* NULL when SELinux is disabled */
	struct scan_service *scanner;      /* media parsers, out of process (policy mode) */
	char capabilities[256];            /* effective set after the drop, cap_to_text() */
	/* Cache lifetimes handed to the kernel; immutable after start-up. */
	double entry_timeout;              /* names of regular files */
	double dir_entry_timeout;          /* names of directories (see entry_lookup) */
	double attr_timeout;
	/* Moves after every rename, unlink and rmdir through the mount: paths
	 * remembered before it are no longer trusted (daemon/gate.c). */
	_Atomic uint64_t names_generation;
};

static inline struct mfs_ctx *ctx_of(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

#endif
