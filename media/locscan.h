/* Location-metadata scanner: finds the byte ranges of a media file that hold
 * location (GPS EXIF, XMP GPS properties, ISO-BMFF location boxes), so that a
 * copy with those ranges zeroed can be served to apps without
 * ACCESS_MEDIA_LOCATION. No FUSE, no SQL, no global state. */
#ifndef MEDIAFS_MEDIA_LOCSCAN_H
#define MEDIAFS_MEDIA_LOCSCAN_H

#include <stddef.h>
#include <stdint.h>

/* One byte range to zero: [offset, offset + length). */
struct redaction_range {
	uint64_t offset;
	uint64_t length;
};

/* A set of ranges. After a successful scan the ranges are sorted, merged,
 * non-overlapping and non-empty, and has_location == (count > 0): ranges
 * exist when location metadata was found, or when a metadata block that
 * might hold it could not be parsed with confidence and is redacted whole. */
struct redaction_ranges {
	struct redaction_range *ranges;
	size_t count;
	size_t capacity;
	int has_location;
};

/* Scans the file open as fd for location metadata.
 * Assumes: fd is readable with pread; *out is zero-initialised or was freed.
 * Guarantees: never changes the file offset; on 0, *out holds sorted merged
 * ranges that lie inside the file (no ranges when the format is unknown);
 * on a negative errno (I/O error, -ENOMEM), *out is empty and owns nothing. */
int locscan_fd(int fd, struct redaction_ranges *out);

/* Same as locscan_fd, for a file held in memory (fuzzers, tests).
 * Assumes: data points to len readable bytes (data may be NULL if len is 0). */
int locscan_buffer(const uint8_t *data, size_t len, struct redaction_ranges *out);

/* Releases the ranges. Assumes: r is NULL or was filled by this module or is
 * zero-initialised. Guarantees: *r is zeroed and reusable. */
void redaction_ranges_free(struct redaction_ranges *r);

/* Serialises the ranges as little-endian (offset, length) u64 pairs.
 * Assumes: r is valid. Guarantees: on 0, *blob is malloc'd (NULL when there
 * are no ranges) with *len = 16 * count bytes; caller frees it. has_location
 * is not stored: it is true exactly when the decoded set is non-empty. */
int redaction_ranges_encode(const struct redaction_ranges *r, uint8_t **blob, size_t *len);

/* Parses a blob made by redaction_ranges_encode.
 * Assumes: blob points to len bytes. Guarantees: on 0, *out holds the ranges
 * sorted and merged, has_location = (count > 0); -EINVAL if len is not a
 * multiple of 16 or a range overflows u64; *out is empty on error. */
int redaction_ranges_decode(const uint8_t *blob, size_t len, struct redaction_ranges *out);

#endif
