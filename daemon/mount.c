/* mount.c - see mount.h. */
#include "daemon/mount.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/mountinfo.h"

#define MOUNT_MAX_READ (252u * 4096u)

/* Opens SOURCE. Returns an O_PATH fd, or prints the reason and -errno. */
static int open_source(const char *source, char **real)
{
	struct stat st;
	int fd;

	if (stat(source, &st) != 0) {
		int err = errno;
		fprintf(stderr, "mediafsd: source '%s': %s\n", source, strerror(err));
		return -err;
	}
	if (!S_ISDIR(st.st_mode)) {
		fprintf(stderr, "mediafsd: source '%s' is not a directory\n", source);
		return -ENOTDIR;
	}
	*real = realpath(source, NULL);
	fd = *real ? open(*real, O_PATH | O_DIRECTORY | O_CLOEXEC) : -1;
	if (fd < 0) {
		int err = errno;
		fprintf(stderr, "mediafsd: source '%s': %s\n", source, strerror(err));
		free(*real);
		*real = NULL;
		return -err;
	}
	return fd;
}

/*
 * Looks real_path up in /proc/self/mountinfo only: right after our own
 * mount, a stat of the mount point would wait for our own INIT reply.
 * Returns 0 for a FUSE mount, -EINVAL for another mount, -ENOENT for none.
 */
static int find_mount(const char *real_path, unsigned *major, unsigned *minor)
{
	FILE *mountinfo = fopen("/proc/self/mountinfo", "re");
	int res;

	if (!mountinfo)
		return -errno;
	res = mountinfo_find_fuse(mountinfo, real_path, major, minor);
	fclose(mountinfo);
	return res;
}

/* Checks MOUNTPOINT. Returns 0, or prints the reason and -errno. */
static int check_mountpoint(const char *mountpoint, char **real)
{
	unsigned major, minor;
	struct stat st;

	if (stat(mountpoint, &st) != 0) {
		int err = errno;
		if (err == ENOTCONN)
			fprintf(stderr, "mediafsd: mount point '%s' is a dead FUSE mount "
			        "(run: umount -l %s)\n", mountpoint, mountpoint);
		else
			fprintf(stderr, "mediafsd: mount point '%s': %s\n", mountpoint, strerror(err));
		return -err;
	}
	if (!S_ISDIR(st.st_mode)) {
		fprintf(stderr, "mediafsd: mount point '%s' is not a directory\n", mountpoint);
		return -ENOTDIR;
	}
	*real = realpath(mountpoint, NULL);
	if (!*real) {
		int err = errno;
		fprintf(stderr, "mediafsd: mount point '%s': %s\n", mountpoint, strerror(err));
		return -err;
	}
	if (find_mount(*real, &major, &minor) != -ENOENT) {
		fprintf(stderr, "mediafsd: mount point '%s' is already mounted\n", mountpoint);
		free(*real);
		*real = NULL;
		return -EBUSY;
	}
	return 0;
}

int mount_prepare(const struct mfs_options *opt, struct mount_result *out)
{
	int err;

	memset(out, 0, sizeof(*out));
	out->dev_fd = -1;
	out->source_fd = open_source(opt->source, &out->source_path);
	if (out->source_fd < 0) {
		int err = out->source_fd;
		out->source_fd = -1;
		return err;
	}
	err = check_mountpoint(opt->mountpoint, &out->mount_path);
	if (err < 0) {
		mount_result_free(out);
		return err;
	}
	return 0;
}

int mount_fuse(const struct mfs_options *opt, int default_permissions,
               struct mount_result *out)
{
	char data[256];
	int err;

	out->dev_fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
	if (out->dev_fd < 0) {
		err = -errno;
		fprintf(stderr, "mediafsd: cannot open /dev/fuse: %s\n", strerror(-err));
		return err;
	}
	/*
	 * max_read: 252 pages, so that libfuse's splice pipe for a read reply
	 * (data, header, and its 3-page margin) fits the 1 MiB an unprivileged
	 * process may ask for; with 256 pages it cannot grow the pipe once
	 * CAP_SYS_RESOURCE is dropped, and every daemon-served read falls back
	 * to a copy through a freshly allocated buffer (measured: 6x slower).
	 */
	snprintf(data, sizeof(data),
	         "fd=%d,rootmode=40000,user_id=0,group_id=0,max_read=%u%s%s", out->dev_fd,
	         MOUNT_MAX_READ, opt->allow_other ? ",allow_other" : "",
	         default_permissions ? ",default_permissions" : "");
	if (mount(opt->fsname, out->mount_path, "fuse.mediafs", opt->mount_flags, data) != 0) {
		err = -errno;
		if (err == -EBUSY)
			fprintf(stderr, "mediafsd: mount point '%s' is busy\n", opt->mountpoint);
		else if (err == -EPERM)
			fprintf(stderr, "mediafsd: mounting '%s' needs root (CAP_SYS_ADMIN)\n",
			        opt->mountpoint);
		else
			fprintf(stderr, "mediafsd: cannot mount on '%s': %s\n", opt->mountpoint,
			        strerror(-err));
		goto fail;
	}
	err = find_mount(out->mount_path, &out->dev_major, &out->dev_minor);
	if (err < 0) {
		fprintf(stderr, "mediafsd: mounted '%s' but cannot find it in mountinfo\n",
		        opt->mountpoint);
		umount2(out->mount_path, MNT_DETACH);
		goto fail;
	}
	return 0;
fail:
	close(out->dev_fd);
	out->dev_fd = -1;
	return err;
}

void mount_result_free(struct mount_result *out)
{
	if (out->source_fd >= 0)
		close(out->source_fd);
	free(out->source_path);
	free(out->mount_path);
	out->source_fd = -1;
	out->source_path = NULL;
	out->mount_path = NULL;
}

int unmount_fuse(const char *mount_path)
{
	if (umount2(mount_path, 0) == 0)
		return 0;
	if (errno == EBUSY && umount2(mount_path, MNT_DETACH) == 0)
		return 0;
	return errno == EINVAL ? 0 : -errno; /* EINVAL: already unmounted */
}
