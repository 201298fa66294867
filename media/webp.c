/* WebP scanner: the RIFF 'EXIF' chunk goes to the TIFF scanner (with or
 * without the "Exif\0\0" prefix some writers add), 'XMP ' to the XMP
 * scanner. */
#include <string.h>

#include "media/scan.h"

/* Assumes/guarantees: see scan.h. */
int webp_scan(struct scan_ctx *ctx)
{
	uint8_t riff_header[12];
	uint64_t pos = 12, riff_end;
	int rc = media_read(ctx->reader, 0, riff_header, sizeof(riff_header));

	if (rc < 0)
		return rc;
	riff_end = 8 + (uint64_t)load_le32(riff_header + 4);
	if (riff_end > ctx->reader->size)
		riff_end = ctx->reader->size; /* truncated: scan what is there */
	while (pos + 8 <= riff_end) {
		uint8_t chunk_header[8];
		uint64_t data, length;

		if ((rc = scan_spend_work(ctx, 1)) < 0)
			return rc;
		if ((rc = media_read(ctx->reader, pos, chunk_header, sizeof(chunk_header))) < 0)
			return rc;
		length = load_le32(chunk_header + 4);
		data = pos + 8;
		if (memcmp(chunk_header, "EXIF", 4) == 0) {
			uint8_t prefix[6] = {0};
			uint64_t tiff_start = data;

			if (data + length > riff_end)
				return scan_redact_block(ctx, data, length);
			if (length >= 6 && media_read(ctx->reader, data, prefix, 6) == 0 &&
			    memcmp(prefix, "Exif\0", 5) == 0)
				tiff_start += 6;
			rc = tiff_scan(ctx, tiff_start, length - (tiff_start - data), 0);
			rc = scan_settle_block(ctx, rc, data, length);
		} else if (memcmp(chunk_header, "XMP ", 4) == 0) {
			if (data + length > riff_end)
				return scan_redact_block(ctx, data, length);
			rc = xmp_scan(ctx, data, length);
			rc = scan_settle_block(ctx, rc, data, length);
		}
		if (rc < 0)
			return rc;
		pos = data + length + (length & 1); /* chunks are padded to even */
	}
	return 0;
}
