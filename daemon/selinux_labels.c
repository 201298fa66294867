/* selinux_labels.c - see selinux_labels.h. */
#include "daemon/selinux_labels.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <selinux/label.h>
#include <selinux/selinux.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/log.h"

struct selinux_labels {
	pthread_mutex_t lock;             /* protects handle: lookups are serialised */
	struct selabel_handle *handle;    /* SELABEL_CTX_FILE of the loaded policy */
};

int selinux_labels_open(struct selinux_labels **out)
{
	struct selinux_labels *labels;

	*out = NULL;
	if (is_selinux_enabled() <= 0) {
		log_info("SELinux is disabled: new files get no label and permission context "
		         "conditions are not checked");
		return 0;
	}
	labels = calloc(1, sizeof(*labels));
	if (!labels)
		return -ENOMEM;
	labels->handle = selabel_open(SELABEL_CTX_FILE, NULL, 0);
	if (!labels->handle) {
		int err = errno ? errno : EIO;
		log_err("SELinux is enabled but its file contexts cannot be loaded: %s",
		        strerror(err));
		free(labels);
		return -err;
	}
	pthread_mutex_init(&labels->lock, NULL);
	log_info("SELinux is enabled: new files are labelled from file_contexts and permission "
	         "context conditions are checked");
	*out = labels;
	return 0;
}

void selinux_labels_close(struct selinux_labels *labels)
{
	if (!labels)
		return;
	selabel_close(labels->handle);
	pthread_mutex_destroy(&labels->lock);
	free(labels);
}

/*
 * Sets this thread's file-creation context to the label of dirfd/name as
 * `mode` would create it. Returns 0 (the caller must reset with
 * setfscreatecon(NULL)), -ENOENT when the policy gives no label (nothing
 * set), or another -errno.
 */
static int prepare_label(struct selinux_labels *labels, int dirfd, const char *name,
                         mode_t mode)
{
	char link[64], path[PATH_MAX];
	char *context = NULL;
	ssize_t len;
	int rc;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", dirfd);
	len = readlink(link, path, sizeof(path) - 1);
	if (len < 0)
		return -errno;
	path[len] = '\0';
	if ((size_t)len + 1 + strlen(name) + 1 > sizeof(path))
		return -ENAMETOOLONG;
	strcat(strcat(path, "/"), name);
	pthread_mutex_lock(&labels->lock);
	rc = selabel_lookup(labels->handle, &context, path, (int)mode) == 0 ? 0 : -errno;
	pthread_mutex_unlock(&labels->lock);
	if (rc < 0)
		return rc;
	rc = setfscreatecon(context) == 0 ? 0 : -errno;
	freecon(context);
	return rc;
}

int selinux_labels_create(struct selinux_labels *labels, int dirfd, const char *name,
                          int flags, mode_t mode)
{
	int rc = 0, fd, err;

	if (labels) {
		rc = prepare_label(labels, dirfd, name, S_IFREG | (mode & 07777));
		if (rc < 0 && rc != -ENOENT)
			return rc;
	}
	fd = openat(dirfd, name, flags, mode);
	err = fd < 0 ? -errno : fd;
	if (labels && rc == 0)
		setfscreatecon(NULL);
	return err;
}

int selinux_labels_mkdir(struct selinux_labels *labels, int dirfd, const char *name,
                         mode_t mode)
{
	int rc = 0, err;

	if (labels) {
		rc = prepare_label(labels, dirfd, name, S_IFDIR | (mode & 07777));
		if (rc < 0 && rc != -ENOENT)
			return rc;
	}
	err = mkdirat(dirfd, name, mode) == 0 ? 0 : -errno;
	if (labels && rc == 0)
		setfscreatecon(NULL);
	return err;
}
