/* HEIF/HEIC/AVIF item scanner: finds the items that hold EXIF (item type
 * 'Exif') and XMP (mime application/rdf+xml) through iinf, locates them
 * through iloc (construction method 0: file offsets, 1: idat offsets) and
 * scans them. An item split into several extents is redacted whole, since
 * the TIFF offsets inside it span the extents. */
#include <string.h>

#include "media/scan.h"

#define HEIF_ITEMS_OF_INTEREST_MAX 64
#define HEIF_INFE_READ_MAX 512 /* enough for ids, type and a content type */
static const char HEIF_XMP_CONTENT_TYPE[] = "application/rdf+xml";

enum heif_item_kind { HEIF_ITEM_EXIF = 1, HEIF_ITEM_XMP = 2 };

/* Items of the meta box that may hold location. */
struct heif_items {
	uint32_t ids[HEIF_ITEMS_OF_INTEREST_MAX];
	enum heif_item_kind kinds[HEIF_ITEMS_OF_INTEREST_MAX];
	size_t count;
};

/* Where the idat box's data is, for construction method 1. */
struct heif_idat {
	int present;
	uint64_t offset, length;
};

/* Looks up an item id. Guarantees: its kind, or 0 when not of interest. */
static enum heif_item_kind heif_item_kind(const struct heif_items *items, uint32_t id)
{
	for (size_t i = 0; i < items->count; i++)
		if (items->ids[i] == id)
			return items->kinds[i];
	return 0;
}

/* Finds the end of the NUL-terminated string at buf[pos]. Guarantees: the
 * index after the NUL, or 0 if there is none before len. */
static size_t heif_skip_string(const uint8_t *buf, size_t len, size_t pos)
{
	const uint8_t *nul = pos < len ? memchr(buf + pos, '\0', len - pos) : NULL;

	return nul ? (size_t)(nul - buf) + 1 : 0;
}

/* Tells whether buf[pos] starts the XMP content type string. */
static int heif_is_xmp_content_type(const uint8_t *buf, size_t len, size_t pos)
{
	return pos + sizeof(HEIF_XMP_CONTENT_TYPE) <= len &&
	       memcmp(buf + pos, HEIF_XMP_CONTENT_TYPE, sizeof(HEIF_XMP_CONTENT_TYPE)) == 0;
}

/* Classifies one 'infe' box and records it if it may hold location.
 * Guarantees: 0 or an errno; malformed entries are ignored (no reader can
 * find their data either). */
static int heif_read_infe(struct scan_ctx *ctx, const struct bmff_box *infe, struct heif_items *items)
{
	uint8_t buf[HEIF_INFE_READ_MAX];
	uint64_t payload_length = infe->end - infe->payload;
	size_t len = payload_length < sizeof(buf) ? (size_t)payload_length : sizeof(buf);
	enum heif_item_kind kind = 0;
	uint32_t id;
	size_t pos;
	int rc = media_read(ctx->reader, infe->payload, buf, len);

	if (rc < 0)
		return rc;
	if (len < 8)
		return 0;
	if (buf[0] >= 2) {
		uint32_t item_type;

		pos = buf[0] == 2 ? 6 : 8;
		id = buf[0] == 2 ? load_be16(buf + 4) : load_be32(buf + 4);
		if (pos + 2 + 4 > len)
			return 0;
		item_type = load_be32(buf + pos + 2);
		if (item_type == FOURCC('E', 'x', 'i', 'f')) {
			kind = HEIF_ITEM_EXIF;
		} else if (item_type == FOURCC('m', 'i', 'm', 'e')) {
			pos = heif_skip_string(buf, len, pos + 6); /* item name */
			if (pos && heif_is_xmp_content_type(buf, len, pos))
				kind = HEIF_ITEM_XMP;
		}
	} else {
		id = load_be16(buf + 4);
		pos = heif_skip_string(buf, len, 8); /* item name */
		if (pos && heif_is_xmp_content_type(buf, len, pos))
			kind = HEIF_ITEM_XMP;
	}
	if (kind && items->count < HEIF_ITEMS_OF_INTEREST_MAX) {
		items->ids[items->count] = id;
		items->kinds[items->count] = kind;
		items->count++;
	}
	return 0;
}

/* Reads the item info box. Guarantees: 0 or an errno. */
static int heif_read_iinf(struct scan_ctx *ctx, const struct bmff_box *iinf, struct heif_items *items)
{
	uint8_t version;
	uint64_t pos;
	int rc;

	if (iinf->end - iinf->payload < 6)
		return 0;
	if ((rc = media_read(ctx->reader, iinf->payload, &version, 1)) < 0)
		return rc;
	pos = iinf->payload + 4 + (version == 0 ? 2 : 4);
	while (pos < iinf->end) {
		struct bmff_box infe;

		if ((rc = scan_spend_work(ctx, 1)) < 0)
			return rc;
		rc = bmff_read_box(ctx->reader, pos, iinf->end, &infe);
		if (rc < 0)
			return scan_is_parse_failure(rc) ? 0 : rc;
		if (infe.type == FOURCC('i', 'n', 'f', 'e') && (rc = heif_read_infe(ctx, &infe, items)) < 0)
			return rc;
		pos = infe.end;
	}
	return 0;
}

/* A cursor over the iloc box. */
struct heif_iloc_cursor {
	uint64_t pos, end;
};

/* Reads a big-endian unsigned of size bytes (0 to 8) and advances.
 * Guarantees: 0 with *value, a parse failure past the box end, or an errno. */
static int heif_iloc_uint(struct scan_ctx *ctx, struct heif_iloc_cursor *cursor, unsigned size,
			  uint64_t *value)
{
	uint8_t bytes[8];
	int rc;

	*value = 0;
	if (size > 8 || cursor->end - cursor->pos < size)
		return -SCAN_EUNPARSEABLE;
	if (size == 0)
		return 0;
	if ((rc = media_read(ctx->reader, cursor->pos, bytes, size)) < 0)
		return rc;
	for (unsigned i = 0; i < size; i++)
		*value = *value << 8 | bytes[i];
	cursor->pos += size;
	return 0;
}

/* Scans the data of one item stored in one extent [offset, offset + length).
 * Guarantees: 0 or an errno; an unparseable item is redacted whole. */
static int heif_scan_item_extent(struct scan_ctx *ctx, enum heif_item_kind kind, uint64_t offset,
				 uint64_t length)
{
	uint8_t prefix[4];
	uint64_t tiff_offset;
	int rc;

	if (kind == HEIF_ITEM_XMP) {
		rc = xmp_scan(ctx, offset, length);
		return scan_settle_block(ctx, rc, offset, length);
	}
	/* Exif item: u32 offset of the TIFF header after the field, usually
	 * skipping an "Exif\0\0" identifier. */
	if (length < 4 || (rc = media_read(ctx->reader, offset, prefix, 4)) == -ENODATA)
		return scan_redact_block(ctx, offset, length);
	if (rc < 0)
		return rc;
	tiff_offset = 4 + (uint64_t)load_be32(prefix);
	if (tiff_offset > length)
		return scan_redact_block(ctx, offset, length);
	rc = tiff_scan(ctx, offset + tiff_offset, length - tiff_offset, 0);
	return scan_settle_block(ctx, rc, offset, length);
}

/* Walks the item location box, scanning the items of interest.
 * Guarantees: 0, a parse failure (malformed iloc), or an errno. */
static int heif_scan_iloc(struct scan_ctx *ctx, const struct bmff_box *iloc, const struct heif_items *items,
			  const struct heif_idat *idat)
{
	struct heif_iloc_cursor cursor = { .pos = iloc->payload, .end = iloc->end };
	uint64_t version, sizes, item_count;
	unsigned offset_size, length_size, base_offset_size, index_size;
	int rc;

	if ((rc = heif_iloc_uint(ctx, &cursor, 4, &version)) < 0 ||
	    (rc = heif_iloc_uint(ctx, &cursor, 2, &sizes)) < 0)
		return rc;
	version >>= 24;
	if (version > 2)
		return -SCAN_EUNPARSEABLE;
	offset_size = (sizes >> 12) & 0xF;
	length_size = (sizes >> 8) & 0xF;
	base_offset_size = (sizes >> 4) & 0xF;
	index_size = version >= 1 ? (sizes & 0xF) : 0;
	if ((rc = heif_iloc_uint(ctx, &cursor, version < 2 ? 2 : 4, &item_count)) < 0)
		return rc;
	for (uint64_t item = 0; item < item_count; item++) {
		uint64_t id, method = 0, unused, base_offset, extent_count;
		enum heif_item_kind kind;

		if ((rc = scan_spend_work(ctx, 1)) < 0 ||
		    (rc = heif_iloc_uint(ctx, &cursor, version < 2 ? 2 : 4, &id)) < 0 ||
		    (version >= 1 && (rc = heif_iloc_uint(ctx, &cursor, 2, &method)) < 0) ||
		    (rc = heif_iloc_uint(ctx, &cursor, 2, &unused)) < 0 ||
		    (rc = heif_iloc_uint(ctx, &cursor, base_offset_size, &base_offset)) < 0 ||
		    (rc = heif_iloc_uint(ctx, &cursor, 2, &extent_count)) < 0)
			return rc;
		method &= 0xF;
		kind = heif_item_kind(items, (uint32_t)id);
		for (uint64_t extent = 0; extent < extent_count; extent++) {
			uint64_t extent_offset, extent_length, data_start, data_end, start;

			if ((rc = scan_spend_work(ctx, 1)) < 0 ||
			    (rc = heif_iloc_uint(ctx, &cursor, index_size, &unused)) < 0 ||
			    (rc = heif_iloc_uint(ctx, &cursor, offset_size, &extent_offset)) < 0 ||
			    (rc = heif_iloc_uint(ctx, &cursor, length_size, &extent_length)) < 0)
				return rc;
			if (!kind || method > 1 || (method == 1 && !idat->present))
				continue; /* method 2 (from another item): not followed */
			data_start = method == 1 ? idat->offset : 0;
			data_end = method == 1 ? idat->offset + idat->length : ctx->reader->size;
			if (base_offset > data_end - data_start ||
			    extent_offset > data_end - data_start - base_offset)
				continue; /* points beyond the data: nothing there to redact */
			start = data_start + base_offset + extent_offset;
			if (extent_length == 0 || extent_length > data_end - start)
				extent_length = data_end - start; /* 0 means "to the end" */
			if (extent_count == 1)
				rc = heif_scan_item_extent(ctx, kind, start, extent_length);
			else
				rc = scan_redact_block(ctx, start, extent_length);
			if (rc < 0)
				return rc;
		}
	}
	return 0;
}

/* Assumes/guarantees: see scan.h. */
int heif_scan_meta(struct scan_ctx *ctx, uint64_t offset, uint64_t length)
{
	struct heif_items items = {0};
	struct heif_idat idat = {0};
	struct bmff_box iinf, iloc, idat_box;
	uint64_t end = offset + length;
	int rc;

	rc = bmff_find_child(ctx->reader, offset, end, FOURCC('i', 'i', 'n', 'f'), &iinf);
	if (rc == 0)
		rc = bmff_find_child(ctx->reader, offset, end, FOURCC('i', 'l', 'o', 'c'), &iloc);
	if (rc == -ENOENT)
		return 0; /* no items: not HEIF-style metadata */
	if (rc < 0)
		return rc;
	if ((rc = heif_read_iinf(ctx, &iinf, &items)) < 0)
		return rc;
	if (items.count == 0)
		return 0;
	rc = bmff_find_child(ctx->reader, offset, end, FOURCC('i', 'd', 'a', 't'), &idat_box);
	if (rc == 0)
		idat = (struct heif_idat){ .present = 1, .offset = idat_box.payload,
					   .length = idat_box.end - idat_box.payload };
	else if (rc != -ENOENT)
		return rc;
	return heif_scan_iloc(ctx, &iloc, &items, &idat);
}
