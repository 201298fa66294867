/*
 * fuse_version.h - the one place that picks the libfuse API level.
 * 3.12 is the oldest API we use (fuse_loop_cfg_*); Debian 12 ships 3.14.
 * Include this instead of <fuse_lowlevel.h> directly.
 */
#ifndef MEDIAFS_DAEMON_FUSE_VERSION_H
#define MEDIAFS_DAEMON_FUSE_VERSION_H
#define FUSE_USE_VERSION 312
#include <fuse3/fuse_lowlevel.h>

/* libfuse >= 3.17 has its own passthrough API; older ones need our shim. */
#if defined(FUSE_MAJOR_VERSION) && \
	(FUSE_MAJOR_VERSION > 3 || (FUSE_MAJOR_VERSION == 3 && FUSE_MINOR_VERSION >= 17))
#define MEDIAFS_LIBFUSE_HAS_PASSTHROUGH 1
#else
#define MEDIAFS_LIBFUSE_HAS_PASSTHROUGH 0
#endif
#endif
