/* Internal interface shared by the format parsers of the location scanner:
 * a bounded reader over an fd or a buffer, the scan context, and one entry
 * point per format. Not part of the public API (see locscan.h). */
#ifndef MEDIAFS_MEDIA_SCAN_H
#define MEDIAFS_MEDIA_SCAN_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#include "media/locscan.h"

/* A read-only view of a file: either an fd read with pread, or memory. */
struct media_reader {
	int fd;              /* used when data is NULL */
	const uint8_t *data; /* file bytes when scanning memory */
	uint64_t size;       /* file size, fixed for the whole scan */
};

/* Builds a reader over fd. Assumes: fd is open for reading. Guarantees: 0 and
 * *reader filled with the current file size, or a negative errno. */
int media_reader_from_fd(int fd, struct media_reader *reader);

/* Builds a reader over memory. Assumes: data has len bytes. Guarantees: 0. */
int media_reader_from_buffer(const uint8_t *data, size_t len, struct media_reader *reader);

/* Reads exactly len bytes at offset into dst.
 * Assumes: dst has len bytes. Guarantees: never reads beyond reader->size and
 * never moves the fd offset; 0 on success, -ENODATA when the range is not
 * wholly inside the file (a parse problem, not an I/O error), else the
 * negative errno of pread (-EIO for a short read of a shrinking file). */
int media_read(const struct media_reader *reader, uint64_t offset, void *dst, size_t len);

/* State of one scan. Owned by locscan_*; parsers only add ranges. */
struct scan_ctx {
	const struct media_reader *reader;
	struct redaction_ranges *out;
	uint64_t work_left; /* parse steps left: bounds time on hostile input */
};

/* Parse results besides 0 and I/O errors: the block could not be parsed with
 * confidence, so the caller redacts the whole block. */
#define SCAN_EUNPARSEABLE EBADMSG

/* Tells whether rc means "could not parse this block" (as opposed to success
 * or a real I/O or memory error). Assumes nothing. */
static inline int scan_is_parse_failure(int rc)
{
	return rc == -SCAN_EUNPARSEABLE || rc == -ENODATA;
}

/* Consumes one unit of parse work. Guarantees: 0, or -EBADMSG once the
 * budget is spent (hostile files cannot make a scan run for long). */
int scan_spend_work(struct scan_ctx *ctx, uint64_t units);

/* Records [offset, offset + length) for redaction, clamped to the file.
 * Assumes: ctx is valid. Guarantees: 0 or -ENOMEM; empty ranges ignored. */
int scan_add_range(struct scan_ctx *ctx, uint64_t offset, uint64_t length);

/* Records a whole metadata block for redaction because it holds, or may hold,
 * location. Guarantees: the range is added and has_location set, or -ENOMEM. */
int scan_redact_block(struct scan_ctx *ctx, uint64_t offset, uint64_t length);

/* Folds a block parser's result: a parse failure redacts the whole block
 * [offset, offset + length) and becomes 0; other results pass through. */
int scan_settle_block(struct scan_ctx *ctx, int rc, uint64_t offset, uint64_t length);

/* Sorts and merges the ranges of *ranges in place. Guarantees: sorted,
 * non-overlapping, non-adjacent, non-empty ranges. */
void redaction_ranges_normalize(struct redaction_ranges *ranges);

/* Appends a range, growing the array up to a fixed cap; beyond the cap the
 * set is merged and, if still full, collapsed into its covering hull (which
 * over-redacts but never under-redacts). Guarantees: 0 or -ENOMEM. */
int redaction_ranges_append(struct redaction_ranges *ranges, uint64_t offset, uint64_t length);

/* Big- and little-endian loads from a byte array with known length. */
static inline uint16_t load_be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static inline uint32_t load_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline uint64_t load_be64(const uint8_t *p) { return (uint64_t)load_be32(p) << 32 | load_be32(p + 4); }
static inline uint16_t load_le16(const uint8_t *p) { return (uint16_t)(p[1] << 8 | p[0]); }
static inline uint32_t load_le32(const uint8_t *p)
{
	return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

/* Builds a four-character code as stored big-endian in files. */
#define FOURCC(a, b, c, d) ((uint32_t)(uint8_t)(a) << 24 | (uint32_t)(uint8_t)(b) << 16 | \
			    (uint32_t)(uint8_t)(c) << 8 | (uint32_t)(uint8_t)(d))

/* One ISO-BMFF box: [start, end) in the file, children or data from payload. */
struct bmff_box {
	uint32_t type;
	uint64_t start;
	uint64_t payload; /* after the size/type header (and largesize) */
	uint64_t end;
};

/* Reads the box header at pos inside a parent ending at limit.
 * Assumes: pos <= limit <= file size. Guarantees: 0 with *box inside
 * [pos, limit) (size 0 means "to the end of the parent"); a parse failure
 * when the header is truncated or the size is inconsistent; or an errno. */
int bmff_read_box(const struct media_reader *reader, uint64_t pos, uint64_t limit, struct bmff_box *box);

/* Finds the first child of type inside [start, end). Guarantees: 0 with *box,
 * -ENOENT when absent or when the children cannot be walked, or an errno. */
int bmff_find_child(const struct media_reader *reader, uint64_t start, uint64_t end, uint32_t type,
		    struct bmff_box *box);

/* Tells where the children of a 'meta' box start: ISO 'meta' is a FullBox
 * (4 bytes of version and flags first), QuickTime 'meta' is a plain
 * container. Guarantees: 0 with *children set, or an errno. */
int bmff_meta_children(const struct media_reader *reader, const struct bmff_box *meta, uint64_t *children);

/* Per-format scanners. Each assumes ctx is valid and guarantees: 0 (ranges
 * added for everything found), or a negative errno for I/O or memory errors.
 * Block scanners (tiff, xmp, heif) may also return a parse failure
 * (scan_is_parse_failure) so the caller can redact the whole block. */
int jpeg_scan(struct scan_ctx *ctx);
int png_scan(struct scan_ctx *ctx);
int webp_scan(struct scan_ctx *ctx);
int isobmff_scan(struct scan_ctx *ctx);

/* A TIFF structure at [offset, offset + length). standalone = 1 for a TIFF or
 * DNG file (offsets beyond the file hold nothing to redact), 0 for an EXIF
 * block embedded in another format (any out-of-block offset is a failure). */
int tiff_scan(struct scan_ctx *ctx, uint64_t offset, uint64_t length, int standalone);

/* An XMP packet (UTF-8 XML text) at [offset, offset + length). */
int xmp_scan(struct scan_ctx *ctx, uint64_t offset, uint64_t length);

/* Extended-XMP chunk text at [offset, offset + length): the text is split
 * across chunks, so a chunk that may mention GPS is redacted whole. */
int xmp_scan_fragment(struct scan_ctx *ctx, uint64_t offset, uint64_t length);

/* The children [offset, offset + length) of an ISO-BMFF 'meta' box that may
 * describe HEIF items (iinf, iloc, idat). */
int heif_scan_meta(struct scan_ctx *ctx, uint64_t offset, uint64_t length);

#endif
