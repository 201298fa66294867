/* JPEG scanner: walks the marker segments before the scan data and hands
 * EXIF (APP1 "Exif") to the TIFF scanner, XMP (APP1 Adobe namespace) to the
 * XMP scanner, and Extended XMP chunks to the fragment check. */
#include <string.h>

#include "media/scan.h"

#define JPEG_MARKER_APP1 0xE1
#define JPEG_MARKER_SOS 0xDA
#define JPEG_MARKER_EOI 0xD9

static const char JPEG_EXIF_ID[] = "Exif\0";                               /* + 1 pad byte */
static const char JPEG_XMP_ID[] = "http://ns.adobe.com/xap/1.0/";           /* + NUL */
static const char JPEG_XMP_EXT_ID[] = "http://ns.adobe.com/xmp/extension/"; /* + NUL */
/* Extended XMP: id, then a 32-byte GUID, u32 full length, u32 chunk offset. */
#define JPEG_XMP_EXT_HEADER (sizeof(JPEG_XMP_EXT_ID) + 32 + 4 + 4)

/* Scans one APP1 payload at [payload, payload + length).
 * Assumes: the payload lies in the file or is clamped by the caller.
 * Guarantees: 0 or an I/O/memory errno; an unparseable EXIF or XMP payload is
 * redacted whole. */
static int jpeg_scan_app1(struct scan_ctx *ctx, uint64_t payload, uint64_t length)
{
	uint8_t id[sizeof(JPEG_XMP_EXT_ID)] = {0};
	size_t id_len = length < sizeof(id) ? (size_t)length : sizeof(id);
	int rc = media_read(ctx->reader, payload, id, id_len);

	if (rc < 0)
		return scan_settle_block(ctx, rc, payload, length);
	if (id_len >= 6 && memcmp(id, JPEG_EXIF_ID, 5) == 0) {
		rc = tiff_scan(ctx, payload + 6, length - 6, 0);
		return scan_settle_block(ctx, rc, payload, length);
	}
	if (id_len >= sizeof(JPEG_XMP_ID) && memcmp(id, JPEG_XMP_ID, sizeof(JPEG_XMP_ID)) == 0) {
		rc = xmp_scan(ctx, payload + sizeof(JPEG_XMP_ID), length - sizeof(JPEG_XMP_ID));
		return scan_settle_block(ctx, rc, payload, length);
	}
	if (id_len == sizeof(JPEG_XMP_EXT_ID) && memcmp(id, JPEG_XMP_EXT_ID, sizeof(JPEG_XMP_EXT_ID)) == 0) {
		if (length < JPEG_XMP_EXT_HEADER)
			return scan_redact_block(ctx, payload, length);
		rc = xmp_scan_fragment(ctx, payload + JPEG_XMP_EXT_HEADER, length - JPEG_XMP_EXT_HEADER);
		return scan_settle_block(ctx, rc, payload, length);
	}
	return 0;
}

/* Assumes/guarantees: see scan.h. Stops at SOS or EOI: location metadata
 * lives in the header segments, and the entropy-coded data after SOS has no
 * segment structure to trust. */
int jpeg_scan(struct scan_ctx *ctx)
{
	uint64_t pos = 2; /* after SOI */
	uint64_t file_size = ctx->reader->size;
	int rc;

	while (pos < file_size) {
		uint8_t marker_bytes[4];
		uint8_t marker;
		uint64_t segment_length, payload, payload_length;

		if ((rc = scan_spend_work(ctx, 1)) < 0)
			return rc;
		if ((rc = media_read(ctx->reader, pos, marker_bytes, 2)) < 0)
			return rc;
		if (marker_bytes[0] != 0xFF)
			return -SCAN_EUNPARSEABLE;
		marker = marker_bytes[1];
		if (marker == 0xFF) { /* fill byte */
			pos++;
			continue;
		}
		if (marker == JPEG_MARKER_SOS || marker == JPEG_MARKER_EOI)
			return 0;
		if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD8)) { /* no length */
			pos += 2;
			continue;
		}
		if ((rc = media_read(ctx->reader, pos + 2, marker_bytes + 2, 2)) < 0)
			return rc;
		segment_length = load_be16(marker_bytes + 2);
		if (segment_length < 2)
			return -SCAN_EUNPARSEABLE;
		payload = pos + 4;
		payload_length = segment_length - 2;
		if (marker == JPEG_MARKER_APP1) {
			if (payload + payload_length > file_size) /* truncated: keep nothing of it */
				return scan_redact_block(ctx, payload, payload_length);
			if ((rc = jpeg_scan_app1(ctx, payload, payload_length)) < 0)
				return rc;
		}
		pos = payload + payload_length;
	}
	return 0;
}
