/* TIFF structure scanner: finds the GPS IFD (tag 0x8825 in the main IFD
 * chain) and redacts its entries and their out-of-line values; scans an XMP
 * packet stored in tag 700. Used for TIFF/DNG files and for EXIF blocks
 * embedded in JPEG, PNG, WebP and HEIF. */
#include <string.h>

#include "media/scan.h"

#define TIFF_TAG_XMP_PACKET 0x02BC
#define TIFF_TAG_GPS_IFD 0x8825
#define TIFF_IFD_CHAIN_MAX 8      /* IFD0, IFD1 (thumbnail), a few more */
#define TIFF_IFD_ENTRIES_MAX 4096 /* real IFDs hold tens of entries */
#define TIFF_GPS_IFDS_MAX 4       /* distinct GPS pointers honoured */

/* A TIFF structure being scanned: where it lives and how to read numbers. */
struct tiff_block {
	uint64_t base;   /* file offset of the TIFF header; IFD offsets count from here */
	uint64_t length; /* bytes of the block */
	int big_endian;  /* "MM" */
	int standalone;  /* see tiff_scan */
};

/* Decodes a u16 in the block's byte order. Assumes p has 2 bytes. */
static uint16_t tiff_u16(const struct tiff_block *tiff, const uint8_t *p)
{
	return tiff->big_endian ? load_be16(p) : load_le16(p);
}

/* Decodes a u32 in the block's byte order. Assumes p has 4 bytes. */
static uint32_t tiff_u32(const struct tiff_block *tiff, const uint8_t *p)
{
	return tiff->big_endian ? load_be32(p) : load_le32(p);
}

/* Size in bytes of one value of a TIFF field type, 0 for unknown types. */
static unsigned tiff_type_size(uint16_t type)
{
	switch (type) {
	case 1: case 2: case 6: case 7: return 1; /* BYTE ASCII SBYTE UNDEFINED */
	case 3: case 8: return 2;                 /* SHORT SSHORT */
	case 4: case 9: case 11: case 13: return 4; /* LONG SLONG FLOAT IFD */
	case 5: case 10: case 12: return 8;       /* RATIONAL SRATIONAL DOUBLE */
	default: return 0;
	}
}

/* Reads bytes at a block-relative offset.
 * Assumes: tiff valid. Guarantees: 0, -ENODATA when [offset, offset + len)
 * is outside the block or the file, or an I/O errno. */
static int tiff_read(struct scan_ctx *ctx, const struct tiff_block *tiff, uint64_t offset,
		     void *dst, size_t len)
{
	if (offset > tiff->length || len > tiff->length - offset)
		return -ENODATA;
	return media_read(ctx->reader, tiff->base + offset, dst, len);
}

/* Where an entry's value lives: inline in the entry or out of line. */
struct tiff_value_span {
	uint64_t offset; /* block-relative offset of the value bytes */
	uint64_t length; /* value bytes; 0 for unknown types */
	int out_of_line;
};

/* Locates the value of a 12-byte IFD entry whose own block offset is
 * entry_offset. Assumes entry has 12 bytes. Guarantees: fills *span. */
static void tiff_entry_value(const struct tiff_block *tiff, const uint8_t *entry,
			     uint64_t entry_offset, struct tiff_value_span *span)
{
	uint64_t count = tiff_u32(tiff, entry + 4);

	span->length = count * tiff_type_size(tiff_u16(tiff, entry + 2));
	span->out_of_line = span->length > 4;
	span->offset = span->out_of_line ? tiff_u32(tiff, entry + 8) : entry_offset + 8;
}

/* Redacts the GPS IFD at block offset gps_offset: its entry count, entries
 * and out-of-line values.
 * Assumes: tiff valid. Guarantees: 0; a parse failure when embedded and a
 * value lies outside the block (standalone files: the in-file part is
 * redacted, since nothing else can be there); or an I/O errno. */
static int tiff_redact_gps_ifd(struct scan_ctx *ctx, const struct tiff_block *tiff,
			       uint64_t gps_offset)
{
	uint8_t count_bytes[2];
	uint16_t entry_count;
	int rc = tiff_read(ctx, tiff, gps_offset, count_bytes, 2);

	if (rc < 0)
		return tiff->standalone && rc == -ENODATA ? 0 : rc;
	entry_count = tiff_u16(tiff, count_bytes);
	if (entry_count == 0)
		return 0;
	if (entry_count > TIFF_IFD_ENTRIES_MAX) {
		/* Absurd: embedded blocks go whole; in a file, the IFD and
		 * whatever its count claims are the only safe guess. */
		if (!tiff->standalone)
			return -SCAN_EUNPARSEABLE;
		return scan_redact_block(ctx, tiff->base + gps_offset, 2 + 12 * (uint64_t)entry_count);
	}
	ctx->out->has_location = 1;
	/* The count goes too: a zero count makes readers see an empty IFD. */
	rc = scan_add_range(ctx, tiff->base + gps_offset, 2 + 12 * (uint64_t)entry_count);
	if (rc < 0)
		return rc;
	if (!tiff->standalone && gps_offset + 2 + 12 * (uint64_t)entry_count > tiff->length)
		return -SCAN_EUNPARSEABLE;
	for (uint16_t i = 0; i < entry_count; i++) {
		uint64_t entry_offset = gps_offset + 2 + 12 * (uint64_t)i;
		struct tiff_value_span span;
		uint8_t entry[12];

		if ((rc = scan_spend_work(ctx, 1)) < 0)
			return rc;
		rc = tiff_read(ctx, tiff, entry_offset, entry, sizeof(entry));
		if (rc == -ENODATA && tiff->standalone)
			return 0; /* the IFD runs off the end of the file */
		if (rc < 0)
			return rc;
		tiff_entry_value(tiff, entry, entry_offset, &span);
		if (span.length == 0 && tiff_u32(tiff, entry + 4) != 0 && !tiff->standalone)
			return -SCAN_EUNPARSEABLE; /* unknown type: its size is unknowable */
		if (!span.out_of_line)
			continue;
		if (span.offset > tiff->length || span.length > tiff->length - span.offset) {
			if (!tiff->standalone)
				return -SCAN_EUNPARSEABLE;
			if (span.offset >= tiff->length)
				continue;
		}
		rc = scan_add_range(ctx, tiff->base + span.offset, span.length);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* Scans the XMP packet of a tag 700 entry. Assumes entry has 12 bytes.
 * Guarantees: 0, a parse failure, or an I/O errno; the packet is redacted
 * whole when it cannot be parsed. */
static int tiff_scan_xmp_entry(struct scan_ctx *ctx, const struct tiff_block *tiff,
			       const uint8_t *entry, uint64_t entry_offset)
{
	struct tiff_value_span span;
	int rc;

	tiff_entry_value(tiff, entry, entry_offset, &span);
	if (span.length == 0)
		return 0;
	if (span.offset > tiff->length || span.length > tiff->length - span.offset)
		return tiff->standalone ? scan_redact_block(ctx, tiff->base + span.offset, span.length)
					: -SCAN_EUNPARSEABLE;
	rc = xmp_scan(ctx, tiff->base + span.offset, span.length);
	return scan_settle_block(ctx, rc, tiff->base + span.offset, span.length);
}

/* Scans one IFD of the main chain and returns the next IFD's offset.
 * Assumes: tiff valid; gps_seen holds *gps_seen_count offsets already done.
 * Guarantees: 0 with *next_ifd set (0 = end), a parse failure, or an errno. */
static int tiff_scan_ifd(struct scan_ctx *ctx, const struct tiff_block *tiff, uint64_t ifd_offset,
			 int is_first_ifd, uint32_t *gps_seen, size_t *gps_seen_count, uint32_t *next_ifd)
{
	uint8_t bytes[12];
	uint16_t entry_count;
	int rc = tiff_read(ctx, tiff, ifd_offset, bytes, 2);

	*next_ifd = 0;
	if (rc < 0)
		return rc;
	entry_count = tiff_u16(tiff, bytes);
	if (entry_count > TIFF_IFD_ENTRIES_MAX)
		return -SCAN_EUNPARSEABLE;
	for (uint16_t i = 0; i < entry_count; i++) {
		uint64_t entry_offset = ifd_offset + 2 + 12 * (uint64_t)i;
		uint16_t tag;

		if ((rc = scan_spend_work(ctx, 1)) < 0)
			return rc;
		if ((rc = tiff_read(ctx, tiff, entry_offset, bytes, 12)) < 0)
			return rc;
		tag = tiff_u16(tiff, bytes);
		if (tag == TIFF_TAG_GPS_IFD) {
			uint32_t gps_offset = tiff_u32(tiff, bytes + 8);
			int already_seen = 0;

			for (size_t k = 0; k < *gps_seen_count; k++)
				already_seen |= gps_seen[k] == gps_offset;
			if (already_seen)
				continue;
			if (*gps_seen_count == TIFF_GPS_IFDS_MAX)
				return -SCAN_EUNPARSEABLE;
			gps_seen[(*gps_seen_count)++] = gps_offset;
			rc = tiff_redact_gps_ifd(ctx, tiff, gps_offset);
		} else if (tag == TIFF_TAG_XMP_PACKET && is_first_ifd) {
			rc = tiff_scan_xmp_entry(ctx, tiff, bytes, entry_offset);
		}
		if (rc < 0)
			return rc;
	}
	rc = tiff_read(ctx, tiff, ifd_offset + 2 + 12 * (uint64_t)entry_count, bytes, 4);
	if (rc == -ENODATA)
		return 0; /* a missing next pointer is common in the wild: end of chain */
	if (rc < 0)
		return rc;
	*next_ifd = tiff_u32(tiff, bytes);
	return 0;
}

/* Assumes/guarantees: see scan.h. */
int tiff_scan(struct scan_ctx *ctx, uint64_t offset, uint64_t length, int standalone)
{
	struct tiff_block tiff = { .base = offset, .length = length, .standalone = standalone };
	uint32_t gps_seen[TIFF_GPS_IFDS_MAX];
	size_t gps_seen_count = 0;
	uint8_t header[8];
	uint32_t ifd_offset;
	int rc = tiff_read(ctx, &tiff, 0, header, sizeof(header));

	if (rc < 0)
		return rc;
	if (memcmp(header, "MM\0*", 4) == 0)
		tiff.big_endian = 1;
	else if (memcmp(header, "II*\0", 4) != 0)
		return -SCAN_EUNPARSEABLE; /* BigTIFF and garbage alike */
	ifd_offset = tiff_u32(&tiff, header + 4);
	for (int depth = 0; depth < TIFF_IFD_CHAIN_MAX && ifd_offset != 0; depth++) {
		uint32_t next_ifd;

		rc = tiff_scan_ifd(ctx, &tiff, ifd_offset, depth == 0, gps_seen, &gps_seen_count, &next_ifd);
		if (rc < 0) {
			/* Only the first IFD is essential; a broken thumbnail IFD
			 * in a standalone file ends the chain. */
			if (depth > 0 && standalone && scan_is_parse_failure(rc))
				return 0;
			return rc;
		}
		ifd_offset = next_ifd;
	}
	return 0;
}
