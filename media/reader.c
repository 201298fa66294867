/* Bounded reader: the only place that touches the file, so every parser gets
 * the same bounds checks whether it scans an fd or memory. */
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "media/scan.h"

/* Assumes: fd is open for reading. Guarantees: 0 with the size captured once
 * (parsers bound themselves by it), or a negative errno from fstat. */
int media_reader_from_fd(int fd, struct media_reader *reader)
{
	struct stat file_status;

	if (fstat(fd, &file_status) != 0)
		return -errno;
	reader->fd = fd;
	reader->data = NULL;
	reader->size = file_status.st_size > 0 ? (uint64_t)file_status.st_size : 0;
	return 0;
}

/* Assumes: data has len bytes. Guarantees: 0; the reader never writes. */
int media_reader_from_buffer(const uint8_t *data, size_t len, struct media_reader *reader)
{
	reader->fd = -1;
	reader->data = data;
	reader->size = data ? len : 0;
	return 0;
}

/* Assumes: dst has len bytes. Guarantees: see scan.h; pread never moves the
 * fd offset, which the daemon may share with a reader. */
int media_read(const struct media_reader *reader, uint64_t offset, void *dst, size_t len)
{
	size_t done = 0;

	if (offset > reader->size || len > reader->size - offset)
		return -ENODATA;
	if (reader->data) {
		memcpy(dst, reader->data + offset, len);
		return 0;
	}
	while (done < len) {
		ssize_t got = pread(reader->fd, (uint8_t *)dst + done, len - done,
				    (off_t)(offset + done));
		if (got < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (got == 0)
			return -EIO; /* the file shrank under us */
		done += (size_t)got;
	}
	return 0;
}
