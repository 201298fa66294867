/*
 * redact.h - serving reads of a redacted view: the backing file's bytes
 * with the location ranges zeroed. File segments are spliced from the
 * backing file, zero segments come from one shared read-only zero buffer,
 * so a read allocates nothing proportional to the file or the request.
 */
#ifndef MEDIAFS_DAEMON_REDACT_H
#define MEDIAFS_DAEMON_REDACT_H

#include <stddef.h>
#include <sys/types.h>

#include "daemon/access.h"
#include "daemon/fuse_version.h"

/* Largest read the kernel sends (max_pages 256 x 4 KiB): the zero buffer's size. */
#define REDACT_ZERO_BUFFER_SIZE (1u << 20)

/* Maps the shared zero buffer. Returns it, or NULL (errno set). */
const char *redact_zero_buffer_create(void);
void redact_zero_buffer_destroy(const char *zeroes);

/*
 * Replies to a read of `size` bytes at `off` from the backing file open as
 * fd, whose current size is file_size, with every byte inside `ranges`
 * (sorted, non-overlapping) replaced by zero. Returns the number of bytes
 * the reply carries, or a negative errno (already replied).
 */
ssize_t redact_reply_read(fuse_req_t req, int fd, off_t file_size, size_t size, off_t off,
                          const struct access_range *ranges, size_t range_count,
                          const char *zeroes);

#endif
