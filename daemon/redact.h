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
 * Plans a read of `size` bytes at `off` from the backing file open as fd,
 * whose current size is file_size, with every byte inside `ranges` (sorted,
 * non-overlapping) replaced by zero: a malloc'd buffer vector of file and
 * zero segments that refers to fd and zeroes only, never to `ranges`, so
 * the caller may drop the lock that protects them before replying.
 * Sets *vec (NULL for an empty read) and *total. Returns 0 or -ENOMEM.
 */
int redact_plan_read(int fd, off_t file_size, size_t size, off_t off,
                     const struct access_range *ranges, size_t range_count,
                     const char *zeroes, struct fuse_bufvec **vec, size_t *total);

/* Sends a planned read (vec may be NULL) and frees it. Returns what
 * fuse_reply_data/fuse_reply_buf returned. */
int redact_reply_planned(fuse_req_t req, struct fuse_bufvec *vec);

#endif
