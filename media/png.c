/* PNG scanner: eXIf chunks go to the TIFF scanner, XMP in iTXt
 * (keyword "XML:com.adobe.xmp") to the XMP scanner. Compressed XMP and the
 * legacy hex "Raw profile type exif/xmp" text chunks are redacted whole:
 * their bytes cannot be redacted piecewise. */
#include <string.h>
#include <strings.h>

#include "media/scan.h"

#define PNG_SIGNATURE_SIZE 8 /* checked by the format detector */
/* Keyword (1-79 bytes) + NUL + compression flag + method + language tag and
 * translated keyword: this much is read to find where the iTXt text starts. */
#define PNG_ITXT_HEADER_MAX 1024

/* Tells whether a text keyword names legacy ImageMagick EXIF/XMP storage. */
static int png_is_raw_profile_keyword(const char *keyword)
{
	return strcasecmp(keyword, "Raw profile type exif") == 0 ||
	       strcasecmp(keyword, "Raw profile type APP1") == 0 ||
	       strcasecmp(keyword, "Raw profile type xmp") == 0;
}

/* Scans a text chunk (tEXt, zTXt or iTXt) whose data is [data, data + length).
 * Guarantees: 0 or an I/O/memory errno; XMP scanned, raw profiles and
 * unreadable XMP redacted whole. */
static int png_scan_text_chunk(struct scan_ctx *ctx, uint32_t type, uint64_t data, uint64_t length)
{
	char header[PNG_ITXT_HEADER_MAX + 1] = {0};
	size_t header_len = length < PNG_ITXT_HEADER_MAX ? (size_t)length : PNG_ITXT_HEADER_MAX;
	size_t cursor;
	int rc = media_read(ctx->reader, data, header, header_len);

	if (rc < 0)
		return rc;
	/* header is NUL-terminated at header_len, so strlen stays in bounds. */
	if (png_is_raw_profile_keyword(header))
		return scan_redact_block(ctx, data, length);
	if (type != FOURCC('i', 'T', 'X', 't') || strcmp(header, "XML:com.adobe.xmp") != 0)
		return 0;
	cursor = strlen(header) + 1;
	if (cursor + 2 > header_len)
		return scan_redact_block(ctx, data, length);
	if (header[cursor] != 0) /* compressed */
		return scan_redact_block(ctx, data, length);
	cursor += 2;
	for (int skipped_strings = 0; skipped_strings < 2; skipped_strings++) {
		const char *nul = memchr(header + cursor, '\0', header_len - cursor);

		if (!nul || (size_t)(nul - header) >= header_len)
			return scan_redact_block(ctx, data, length);
		cursor = (size_t)(nul - header) + 1;
	}
	rc = xmp_scan(ctx, data + cursor, length - cursor);
	return scan_settle_block(ctx, rc, data, length);
}

/* Assumes/guarantees: see scan.h. */
int png_scan(struct scan_ctx *ctx)
{
	uint64_t pos = PNG_SIGNATURE_SIZE;
	uint64_t file_size = ctx->reader->size;
	int rc;

	while (pos + 8 <= file_size) {
		uint8_t chunk_header[8];
		uint64_t data, length;
		uint32_t type;

		if ((rc = scan_spend_work(ctx, 1)) < 0)
			return rc;
		if ((rc = media_read(ctx->reader, pos, chunk_header, sizeof(chunk_header))) < 0)
			return rc;
		length = load_be32(chunk_header);
		type = load_be32(chunk_header + 4);
		data = pos + 8;
		if (type == FOURCC('I', 'E', 'N', 'D'))
			return 0;
		if (data + length > file_size) {
			/* Truncated chunk: a metadata chunk is redacted to the end. */
			if (type == FOURCC('e', 'X', 'I', 'f') || type == FOURCC('i', 'T', 'X', 't') ||
			    type == FOURCC('t', 'E', 'X', 't') || type == FOURCC('z', 'T', 'X', 't'))
				return scan_redact_block(ctx, data, length);
			return 0;
		}
		if (type == FOURCC('e', 'X', 'I', 'f')) {
			rc = tiff_scan(ctx, data, length, 0);
			rc = scan_settle_block(ctx, rc, data, length);
		} else if (type == FOURCC('i', 'T', 'X', 't') || type == FOURCC('t', 'E', 'X', 't') ||
			   type == FOURCC('z', 'T', 'X', 't')) {
			rc = png_scan_text_chunk(ctx, type, data, length);
		}
		if (rc < 0)
			return rc;
		pos = data + length + 4; /* + CRC */
	}
	return 0;
}
