/* Entry points of the location scanner: format detection and the shared
 * range helpers used by the per-format parsers. */
#include <string.h>

#include "media/scan.h"

/* Parse steps allowed per scan: generous for real files (a few thousand
 * boxes or IFD entries), small enough that hostile input stays fast. */
#define SCAN_WORK_BUDGET 2000000

/* Assumes: ctx valid. Guarantees: see scan.h. */
int scan_spend_work(struct scan_ctx *ctx, uint64_t units)
{
	if (ctx->work_left < units) {
		ctx->work_left = 0;
		return -SCAN_EUNPARSEABLE;
	}
	ctx->work_left -= units;
	return 0;
}

/* Assumes: ctx valid. Guarantees: see scan.h; ranges never leave the file. */
int scan_add_range(struct scan_ctx *ctx, uint64_t offset, uint64_t length)
{
	uint64_t file_size = ctx->reader->size;

	if (offset >= file_size || length == 0)
		return 0;
	if (length > file_size - offset)
		length = file_size - offset;
	return redaction_ranges_append(ctx->out, offset, length);
}

/* Assumes: ctx valid. Guarantees: see scan.h. */
int scan_redact_block(struct scan_ctx *ctx, uint64_t offset, uint64_t length)
{
	ctx->out->has_location = 1;
	return scan_add_range(ctx, offset, length);
}

/* Assumes: ctx valid. Guarantees: see scan.h. */
int scan_settle_block(struct scan_ctx *ctx, int rc, uint64_t offset, uint64_t length)
{
	if (scan_is_parse_failure(rc))
		return scan_redact_block(ctx, offset, length);
	return rc;
}

/* Tells whether the 4 bytes at p name a box that can open an ISO-BMFF or
 * QuickTime file. Assumes p has 4 bytes. */
static int is_isobmff_leading_box(const uint8_t *p)
{
	static const char *const leading_types[] = {
		"ftyp", "moov", "mdat", "free", "skip", "wide", "pnot", "uuid", "meta", "styp",
	};

	for (size_t i = 0; i < sizeof(leading_types) / sizeof(leading_types[0]); i++)
		if (memcmp(p, leading_types[i], 4) == 0)
			return 1;
	return 0;
}

/* Picks the parser from the magic bytes and runs it.
 * Assumes: ctx valid. Guarantees: 0 with ranges (none for unknown formats) or
 * a negative errno for I/O and memory errors only. */
static int scan_by_format(struct scan_ctx *ctx)
{
	uint8_t magic[12] = {0};
	size_t magic_len = ctx->reader->size < sizeof(magic) ? (size_t)ctx->reader->size : sizeof(magic);
	int rc = media_read(ctx->reader, 0, magic, magic_len);

	if (rc < 0)
		return rc;
	if (magic_len >= 3 && magic[0] == 0xFF && magic[1] == 0xD8 && magic[2] == 0xFF)
		rc = jpeg_scan(ctx);
	else if (magic_len >= 8 && memcmp(magic, "\x89PNG\r\n\x1a\n", 8) == 0)
		rc = png_scan(ctx);
	else if (magic_len >= 12 && memcmp(magic, "RIFF", 4) == 0 && memcmp(magic + 8, "WEBP", 4) == 0)
		rc = webp_scan(ctx);
	else if (magic_len >= 4 && (memcmp(magic, "II*\0", 4) == 0 || memcmp(magic, "MM\0*", 4) == 0))
		rc = tiff_scan(ctx, 0, ctx->reader->size, 1);
	else if (magic_len >= 8 && is_isobmff_leading_box(magic + 4))
		rc = isobmff_scan(ctx);
	else
		rc = 0;
	/* A top-level parse failure leaves the ranges found so far: there is no
	 * enclosing metadata block to fall back to, and the rest of the file is
	 * no more readable to other parsers than to us. */
	if (scan_is_parse_failure(rc))
		rc = 0;
	return rc;
}

/* Runs a scan over reader into out. Assumes: reader valid, out zeroed.
 * Guarantees: see locscan_fd. */
static int scan_reader(const struct media_reader *reader, struct redaction_ranges *out)
{
	struct scan_ctx ctx = { .reader = reader, .out = out, .work_left = SCAN_WORK_BUDGET };
	int rc;

	memset(out, 0, sizeof(*out));
	rc = scan_by_format(&ctx);
	if (rc < 0) {
		redaction_ranges_free(out);
		return rc;
	}
	redaction_ranges_normalize(out);
	/* Parsers flag blocks that claimed location; what counts is whether
	 * any byte in the file needs redacting (an empty value or a block
	 * past the end of the file leaves nothing to hide). This also makes
	 * the flag match what a decoded BLOB says. */
	out->has_location = out->count > 0;
	return 0;
}

/* Assumes/guarantees: see locscan.h. */
int locscan_fd(int fd, struct redaction_ranges *out)
{
	struct media_reader reader;
	int rc = media_reader_from_fd(fd, &reader);

	if (rc < 0) {
		memset(out, 0, sizeof(*out));
		return rc;
	}
	return scan_reader(&reader, out);
}

/* Assumes/guarantees: see locscan.h. */
int locscan_buffer(const uint8_t *data, size_t len, struct redaction_ranges *out)
{
	struct media_reader reader;

	media_reader_from_buffer(data, len, &reader);
	return scan_reader(&reader, out);
}
