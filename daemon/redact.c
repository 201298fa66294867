/* redact.c - see redact.h. */
#include "daemon/redact.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>

const char *redact_zero_buffer_create(void)
{
	/* Anonymous pages read as zero and, being PROT_READ, stay zero. */
	void *zeroes = mmap(NULL, REDACT_ZERO_BUFFER_SIZE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS,
	                    -1, 0);
	return zeroes == MAP_FAILED ? NULL : zeroes;
}

void redact_zero_buffer_destroy(const char *zeroes)
{
	if (zeroes)
		munmap((void *)zeroes, REDACT_ZERO_BUFFER_SIZE);
}

/* Appends one segment of `len` bytes at file offset `pos`: from the file, or
 * (zero != 0) from the zero buffer. Assumes room in vec. */
static void add_segment(struct fuse_bufvec *vec, int fd, off_t pos, size_t len, int zero,
                        const char *zeroes)
{
	struct fuse_buf *buf = &vec->buf[vec->count++];

	buf->size = len;
	if (zero) {
		buf->flags = 0;
		buf->mem = (void *)zeroes;
		buf->fd = -1;
	} else {
		buf->flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
		buf->fd = fd;
		buf->pos = pos;
		buf->mem = NULL;
	}
}

int redact_plan_read(int fd, off_t file_size, size_t size, off_t off,
                     const struct access_range *ranges, size_t range_count,
                     const char *zeroes, struct fuse_bufvec **out, size_t *total)
{
	struct fuse_bufvec *vec;
	size_t first = 0, overlapping = 0, max_segments;
	uint64_t pos, end;

	*out = NULL;
	*total = 0;
	if (off >= file_size || size == 0)
		return 0;
	if (size > REDACT_ZERO_BUFFER_SIZE)
		size = REDACT_ZERO_BUFFER_SIZE;
	pos = (uint64_t)off;
	end = pos + size < (uint64_t)file_size ? pos + size : (uint64_t)file_size;
	/* Ranges are sorted: skip those that end before this read. */
	while (first < range_count && ranges[first].offset + ranges[first].length <= pos)
		first++;
	while (first + overlapping < range_count && ranges[first + overlapping].offset < end)
		overlapping++;
	/* Each overlapping range adds at most one zero and one file segment. */
	max_segments = 2 * overlapping + 1;
	vec = malloc(sizeof(*vec) + max_segments * sizeof(struct fuse_buf));
	if (!vec)
		return -ENOMEM;
	vec->count = 0;
	vec->idx = 0;
	vec->off = 0;
	for (size_t i = first; i < first + overlapping && pos < end; i++) {
		uint64_t zero_start = ranges[i].offset > pos ? ranges[i].offset : pos;
		uint64_t zero_end = ranges[i].offset + ranges[i].length;
		if (zero_end > end)
			zero_end = end;
		if (zero_start > pos)
			add_segment(vec, fd, (off_t)pos, zero_start - pos, 0, zeroes);
		add_segment(vec, fd, 0, zero_end - zero_start, 1, zeroes);
		pos = zero_end;
	}
	if (pos < end)
		add_segment(vec, fd, (off_t)pos, end - pos, 0, zeroes);
	*out = vec;
	*total = (size_t)(end - (uint64_t)off);
	return 0;
}

int redact_reply_planned(fuse_req_t req, struct fuse_bufvec *vec)
{
	int res;

	if (!vec)
		return fuse_reply_buf(req, NULL, 0);
	res = fuse_reply_data(req, vec, FUSE_BUF_SPLICE_MOVE);
	free(vec);
	return res;
}
