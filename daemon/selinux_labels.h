/*
 * selinux_labels.h - SELinux labels for what the daemon creates in SOURCE.
 *
 * With SELinux enabled, a file or directory created through the mount gets
 * the label the loaded policy's file_contexts gives its backing path
 * (selabel_lookup), set for the creating thread only (setfscreatecon) around
 * the one openat/mkdirat, so concurrent creations never see each other's
 * label. With SELinux disabled the state is NULL: the functions below are
 * plain openat/mkdirat, and selinux_labels_open() logged that once.
 */
#ifndef MEDIAFS_DAEMON_SELINUX_LABELS_H
#define MEDIAFS_DAEMON_SELINUX_LABELS_H

#include <sys/types.h>

struct selinux_labels;

/*
 * Sets *out to NULL (SELinux disabled: one log line says what is skipped)
 * or to an open file-context handle. Returns 0, or a negative errno when
 * SELinux is enabled but its file contexts cannot be loaded (logged): the
 * daemon must not then create unlabelled files.
 */
int selinux_labels_open(struct selinux_labels **out);
void selinux_labels_close(struct selinux_labels *labels);

/*
 * openat(dirfd, name, flags | O_CREAT, mode) under the label for the new
 * file. Assumes: flags contain O_CREAT. Returns the descriptor, or -errno.
 * Thread-safe.
 */
int selinux_labels_create(struct selinux_labels *labels, int dirfd, const char *name,
                          int flags, mode_t mode);

/* mkdirat(dirfd, name, mode) under the label for the new directory.
 * Returns 0 or -errno. Thread-safe. */
int selinux_labels_mkdir(struct selinux_labels *labels, int dirfd, const char *name,
                         mode_t mode);

#endif
