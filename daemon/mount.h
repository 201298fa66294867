/*
 * mount.h - checking SOURCE and MOUNTPOINT, and mounting the FUSE file
 * system ourselves with mount(2): libfuse's custom-io path needs an fd we
 * opened, and doing it here gives one clear error line per failure.
 */
#ifndef MEDIAFS_DAEMON_MOUNT_H
#define MEDIAFS_DAEMON_MOUNT_H

#include "daemon/options.h"

struct mount_result {
	int dev_fd;              /* the /dev/fuse descriptor of the mount */
	char *source_path;       /* realpath of SOURCE (malloc'd) */
	int source_fd;           /* O_PATH descriptor of SOURCE */
	char *mount_path;        /* realpath of MOUNTPOINT (malloc'd) */
	unsigned dev_major, dev_minor;
};

/*
 * Validates SOURCE (an existing directory) and MOUNTPOINT (an existing
 * directory that is not already a mount point) and opens SOURCE. On failure
 * prints exactly one line to stderr and returns a negative errno; on
 * success fills source_* and mount_path of *out.
 */
int mount_prepare(const struct mfs_options *opt, struct mount_result *out);

/*
 * Opens /dev/fuse and mounts at out->mount_path. `default_permissions` asks
 * the kernel to check the backing modes (posix mode). On failure prints
 * one line and returns a negative errno (out keeps what prepare filled).
 */
int mount_fuse(const struct mfs_options *opt, int default_permissions,
               struct mount_result *out);

/* Frees what mount_prepare() filled (not the mount itself). */
void mount_result_free(struct mount_result *out);

/* Unmounts (lazily if busy). Returns 0 or a negative errno. */
int unmount_fuse(const char *mount_path);

#endif
