/*
 * media_index.h - has the media scanners (media/, no SQL) look at one file
 * and records what they found in its index record (db/, no parsing):
 * whether it carries location, its video codec, the byte ranges a redacted
 * view zeroes, and the size and mtime the scan saw, so that an unchanged
 * file is never parsed twice. Shared by the daemon (first sight, close after
 * write, change behind its back) and `mediactl scan`.
 *
 * The parsers never run in the calling process: media_index hands the file
 * to a scan service (index/scan_service.h), an unprivileged sandboxed child.
 */
#ifndef MEDIAFS_INDEX_MEDIA_INDEX_H
#define MEDIAFS_INDEX_MEDIA_INDEX_H

#include <stdint.h>
#include <sys/stat.h>

#include "db/db.h"
#include "index/scan_service.h"

struct media_index_result {
	int has_location;
	char codec[DB_CODEC_MAX];   /* "" when not a video, or unknown */
};

/* True when the record's media info does not describe the file as it is. */
int media_index_is_stale(const struct db_file *rec, const struct stat *st);

/*
 * Scans `relpath` (relative to the directory open as dir_fd; never follows
 * a symlink) through `scanner` and stores the result in its existing index
 * record. Fills *out when not NULL. Returns 0, -ENOENT when the file or its
 * record is gone, -EIO when the scanner failed (crashed, hung, or none:
 * scanner == NULL), or another negative errno; on failure nothing is
 * recorded and the caller must fail closed (an unscanned file may hold
 * location).
 */
int media_index_scan(struct scan_service *scanner, struct db_conn *conn, int dir_fd,
                     const char *relpath, struct media_index_result *out);

#endif
