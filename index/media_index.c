/* media_index.c - see media_index.h. */
#include "index/media_index.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


static int64_t mtime_ns_of(const struct stat *st)
{
	return (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
}

int media_index_is_stale(const struct db_file *rec, const struct stat *st)
{
	return rec->media_size != (int64_t)st->st_size || rec->media_mtime_ns != mtime_ns_of(st);
}

/* Converts the scanner's ranges to the index's. *out is malloc'd. */
static int to_db_ranges(const struct redaction_ranges *found, struct db_range **out)
{
	*out = NULL;
	if (found->count == 0)
		return 0;
	*out = calloc(found->count, sizeof(**out));
	if (!*out)
		return -ENOMEM;
	for (size_t i = 0; i < found->count; i++) {
		(*out)[i].offset = found->ranges[i].offset;
		(*out)[i].length = found->ranges[i].length;
	}
	return 0;
}

int media_index_scan(struct scan_service *scanner, struct db_conn *conn, int dir_fd,
                     const char *relpath, struct media_index_result *out)
{
	struct scan_result found = { 0 };
	struct db_range *ranges = NULL;
	struct stat st;
	int fd, rc;

	/* O_NONBLOCK: a fifo planted under a media name must not hang us. */
	fd = openat(dir_fd, relpath, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	/* The generation is taken before parsing: a change during the scan
	 * moves the mtime past it and the next check scans again. */
	rc = fstat(fd, &st) == 0 ? 0 : -errno;
	if (rc == 0 && !S_ISREG(st.st_mode))
		rc = -ENOENT;
	if (rc == 0)
		rc = scan_service_scan(scanner, fd, &found);
	close(fd);
	if (rc == 0)
		rc = to_db_ranges(&found.ranges, &ranges);
	if (rc == 0)
		rc = db_file_set_media_info(conn, relpath, found.has_location, found.codec, ranges,
		                            found.ranges.count, (int64_t)st.st_size,
		                            mtime_ns_of(&st));
	if (rc == 0 && out) {
		out->has_location = found.has_location;
		snprintf(out->codec, sizeof(out->codec), "%s", found.codec);
	}
	free(ranges);
	scan_result_free(&found);
	return rc;
}
