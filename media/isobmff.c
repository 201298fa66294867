/* ISO-BMFF / QuickTime scanner (MP4, MOV, 3GP, M4A, and the box layer of
 * HEIF): walks moov/trak/udta/meta with a depth limit and redacts the
 * location boxes (loci, ©xyz, gps , gps0), XMP (uuid BE7ACFCB-..., XMP_),
 * ilst values of keys named com.apple.quicktime.location.*, and hands meta
 * boxes to the HEIF item scanner. */
#include <string.h>

#include "media/scan.h"

#define BMFF_DEPTH_MAX 16
#define BMFF_LOCATION_KEYS_MAX 32
/* Apple's location keys: ISO6709 and its siblings (name, body, note, ...). */
static const char BMFF_LOCATION_KEY_PREFIX[] = "com.apple.quicktime.location.";
static const uint8_t BMFF_XMP_UUID[16] = {
	0xBE, 0x7A, 0xCF, 0xCB, 0x97, 0xA9, 0x42, 0xE8, 0x9C, 0x71, 0x99, 0x94, 0x91, 0xE3, 0xAF, 0xAC,
};

/* Indices (1-based, as used for ilst item types) of location keys in the
 * 'keys' box of one meta box. */
struct bmff_location_keys {
	uint32_t indices[BMFF_LOCATION_KEYS_MAX];
	size_t count;
	int all_items_suspect; /* keys unreadable or too many: treat every ilst item as location */
};

/* Assumes/guarantees: see scan.h. */
int bmff_read_box(const struct media_reader *reader, uint64_t pos, uint64_t limit, struct bmff_box *box)
{
	uint8_t header[16];
	uint64_t size, header_size = 8;
	int rc;

	if (pos > limit || limit - pos < 8)
		return -ENODATA;
	if ((rc = media_read(reader, pos, header, 8)) < 0)
		return rc;
	size = load_be32(header);
	box->type = load_be32(header + 4);
	if (size == 1) {
		if (limit - pos < 16)
			return -SCAN_EUNPARSEABLE;
		if ((rc = media_read(reader, pos + 8, header + 8, 8)) < 0)
			return rc;
		size = load_be64(header + 8);
		header_size = 16;
	} else if (size == 0) {
		size = limit - pos;
	}
	if (size < header_size || size > limit - pos)
		return -SCAN_EUNPARSEABLE;
	box->start = pos;
	box->payload = pos + header_size;
	box->end = pos + size;
	return 0;
}

/* Assumes/guarantees: see scan.h. Children are bounded by the parent, so at
 * most (end - start) / 8 boxes are visited. */
int bmff_find_child(const struct media_reader *reader, uint64_t start, uint64_t end, uint32_t type,
		    struct bmff_box *box)
{
	uint64_t pos = start;

	while (pos < end) {
		int rc = bmff_read_box(reader, pos, end, box);

		if (scan_is_parse_failure(rc))
			return -ENOENT;
		if (rc < 0)
			return rc;
		if (box->type == type)
			return 0;
		pos = box->end;
	}
	return -ENOENT;
}

/* Tells whether type is a box that appears directly inside a 'meta' box;
 * used to tell QuickTime's plain 'meta' from ISO's FullBox 'meta'. */
static int bmff_is_meta_child_type(uint32_t type)
{
	static const uint32_t meta_child_types[] = {
		FOURCC('h', 'd', 'l', 'r'), FOURCC('k', 'e', 'y', 's'), FOURCC('i', 'l', 's', 't'),
		FOURCC('i', 'i', 'n', 'f'), FOURCC('i', 'l', 'o', 'c'), FOURCC('p', 'i', 't', 'm'),
		FOURCC('i', 'd', 'a', 't'), FOURCC('i', 'p', 'r', 'p'), FOURCC('i', 'r', 'e', 'f'),
		FOURCC('d', 'i', 'n', 'f'), FOURCC('x', 'm', 'l', ' '), FOURCC('u', 'u', 'i', 'd'),
		FOURCC('f', 'r', 'e', 'e'),
	};

	for (size_t i = 0; i < sizeof(meta_child_types) / sizeof(meta_child_types[0]); i++)
		if (type == meta_child_types[i])
			return 1;
	return 0;
}

/* Assumes/guarantees: see scan.h. */
int bmff_meta_children(const struct media_reader *reader, const struct bmff_box *meta, uint64_t *children)
{
	uint8_t first[8];
	int rc;

	*children = meta->payload + 4;
	if (meta->end - meta->payload < 8)
		return 0;
	if ((rc = media_read(reader, meta->payload, first, sizeof(first))) < 0)
		return rc;
	if (bmff_is_meta_child_type(load_be32(first + 4)))
		*children = meta->payload;
	return 0;
}

/* Tells whether box type is a location box whose payload is redacted whole. */
static int bmff_is_location_box(uint32_t type)
{
	return type == FOURCC('l', 'o', 'c', 'i') || type == FOURCC(0xA9, 'x', 'y', 'z') ||
	       type == FOURCC('g', 'p', 's', ' ') || type == FOURCC('g', 'p', 's', '0');
}

/* Tells whether type is a structural container that may hold metadata. */
static int bmff_is_container(uint32_t type)
{
	return type == FOURCC('m', 'o', 'o', 'v') || type == FOURCC('t', 'r', 'a', 'k') ||
	       type == FOURCC('m', 'd', 'i', 'a') || type == FOURCC('m', 'i', 'n', 'f') ||
	       type == FOURCC('u', 'd', 't', 'a') || type == FOURCC('m', 'e', 'c', 'o') ||
	       type == FOURCC('m', 'o', 'o', 'f') || type == FOURCC('t', 'r', 'a', 'f');
}

/* Tells whether a container holds only metadata, so that a malformed tail
 * inside it is redacted rather than ignored. */
static int bmff_is_metadata_container(uint32_t type)
{
	return type == FOURCC('u', 'd', 't', 'a') || type == FOURCC('m', 'e', 't', 'a') ||
	       type == FOURCC('i', 'l', 's', 't');
}

/* Reads the 'keys' box and records which indices name location keys.
 * Assumes: keys_box is a 'keys' box. Guarantees: 0 or an I/O errno; an
 * unreadable box sets all_items_suspect instead of failing. */
static int bmff_read_location_keys(struct scan_ctx *ctx, const struct bmff_box *keys_box,
				   struct bmff_location_keys *keys)
{
	uint8_t header[8];
	uint64_t pos = keys_box->payload + 8;
	uint32_t entry_count;
	int rc;

	if (keys_box->end - keys_box->payload < 8) {
		keys->all_items_suspect = 1;
		return 0;
	}
	if ((rc = media_read(ctx->reader, keys_box->payload, header, sizeof(header))) < 0)
		return rc;
	entry_count = load_be32(header + 4);
	for (uint32_t index = 1; index <= entry_count; index++) {
		char key[sizeof(BMFF_LOCATION_KEY_PREFIX) - 1];
		uint8_t entry_header[8];
		uint32_t entry_size;

		if (keys_box->end - pos < 8) {
			keys->all_items_suspect = 1;
			return 0;
		}
		if ((rc = scan_spend_work(ctx, 1)) < 0 ||
		    (rc = media_read(ctx->reader, pos, entry_header, 8)) < 0) {
			if (!scan_is_parse_failure(rc))
				return rc;
			keys->all_items_suspect = 1;
			return 0;
		}
		entry_size = load_be32(entry_header);
		if (entry_size < 8 || entry_size > keys_box->end - pos) {
			keys->all_items_suspect = 1;
			return 0;
		}
		if (entry_size - 8 >= sizeof(key)) {
			if ((rc = media_read(ctx->reader, pos + 8, key, sizeof(key))) < 0)
				return rc;
			if (memcmp(key, BMFF_LOCATION_KEY_PREFIX, sizeof(key)) == 0) {
				if (keys->count == BMFF_LOCATION_KEYS_MAX) {
					keys->all_items_suspect = 1;
					return 0;
				}
				keys->indices[keys->count++] = index;
			}
		}
		pos += entry_size;
	}
	return 0;
}

/* Tells whether an ilst item of this type holds location. */
static int bmff_is_location_item(uint32_t type, const struct bmff_location_keys *keys)
{
	if (type == FOURCC(0xA9, 'x', 'y', 'z'))
		return 1;
	if (!keys)
		return 0;
	if (keys->all_items_suspect)
		return 1;
	for (size_t i = 0; i < keys->count; i++)
		if (keys->indices[i] == type)
			return 1;
	return 0;
}

/* Redacts the value of a location ilst item: the bytes after the type and
 * locale words of each 'data' child, so the item stays well-formed but says
 * nothing. Guarantees: 0 or an errno; an item without a readable 'data'
 * child is redacted whole. */
static int bmff_redact_ilst_item(struct scan_ctx *ctx, const struct bmff_box *item)
{
	uint64_t pos = item->payload;
	int found_data = 0;
	int rc;

	ctx->out->has_location = 1;
	while (pos < item->end) {
		struct bmff_box child;

		if ((rc = scan_spend_work(ctx, 1)) < 0)
			return scan_settle_block(ctx, rc, item->payload, item->end - item->payload);
		rc = bmff_read_box(ctx->reader, pos, item->end, &child);
		if (rc < 0)
			return scan_settle_block(ctx, rc, item->payload, item->end - item->payload);
		if (child.type == FOURCC('d', 'a', 't', 'a')) {
			if (child.end - child.payload < 8)
				return scan_redact_block(ctx, item->payload, item->end - item->payload);
			if ((rc = scan_add_range(ctx, child.payload + 8, child.end - child.payload - 8)) < 0)
				return rc;
			found_data = 1;
		}
		pos = child.end;
	}
	return found_data ? 0 : scan_redact_block(ctx, item->payload, item->end - item->payload);
}

/* Declared ahead: walk and visit recurse into each other (depth-bounded). */
static int bmff_walk(struct scan_ctx *ctx, uint64_t start, uint64_t end, unsigned depth,
		     int is_metadata_container, const struct bmff_location_keys *keys);

/* Scans an 'ilst' box: location items get their values redacted.
 * Assumes: ilst is an 'ilst' box; keys may be NULL. Guarantees: 0 or an
 * errno; a malformed tail is redacted. */
static int bmff_scan_ilst(struct scan_ctx *ctx, const struct bmff_box *ilst,
			  const struct bmff_location_keys *keys)
{
	uint64_t pos = ilst->payload;
	int rc;

	while (pos < ilst->end) {
		struct bmff_box item;

		if ((rc = scan_spend_work(ctx, 1)) < 0)
			return scan_settle_block(ctx, rc, pos, ilst->end - pos);
		rc = bmff_read_box(ctx->reader, pos, ilst->end, &item);
		if (rc < 0)
			return scan_settle_block(ctx, rc, pos, ilst->end - pos);
		if (bmff_is_location_item(item.type, keys) &&
		    (rc = bmff_redact_ilst_item(ctx, &item)) < 0)
			return rc;
		pos = item.end;
	}
	return 0;
}

/* Scans a 'meta' box: HEIF items, then keys/ilst and any other children.
 * Assumes: meta is a 'meta' box at the given depth. Guarantees: 0 or an errno. */
static int bmff_scan_meta(struct scan_ctx *ctx, const struct bmff_box *meta, unsigned depth)
{
	struct bmff_location_keys keys = {0};
	struct bmff_box keys_box;
	uint64_t children;
	int rc = bmff_meta_children(ctx->reader, meta, &children);

	if (rc < 0)
		return scan_settle_block(ctx, rc, meta->payload, meta->end - meta->payload);
	if (children > meta->end)
		return 0;
	rc = heif_scan_meta(ctx, children, meta->end - children);
	if (rc < 0 && !scan_is_parse_failure(rc))
		return rc;
	rc = bmff_find_child(ctx->reader, children, meta->end, FOURCC('k', 'e', 'y', 's'), &keys_box);
	if (rc == 0)
		rc = bmff_read_location_keys(ctx, &keys_box, &keys);
	if (rc < 0 && rc != -ENOENT)
		return rc;
	return bmff_walk(ctx, children, meta->end, depth + 1, 1, &keys);
}

/* Handles one box found by the walk. Assumes: box is inside its parent.
 * Guarantees: 0 or an errno. */
static int bmff_visit(struct scan_ctx *ctx, const struct bmff_box *box, unsigned depth,
		      const struct bmff_location_keys *keys)
{
	uint64_t payload_length = box->end - box->payload;
	int rc;

	/* The type goes too: a zeroed loci payload would still parse, as the
	 * made-up location 0,0; a box of type 0 is skipped by readers. */
	if (bmff_is_location_box(box->type))
		return scan_redact_block(ctx, box->start + 4, box->end - box->start - 4);
	if (box->type == FOURCC('X', 'M', 'P', '_')) {
		rc = xmp_scan(ctx, box->payload, payload_length);
		return scan_settle_block(ctx, rc, box->payload, payload_length);
	}
	if (box->type == FOURCC('u', 'u', 'i', 'd') && payload_length >= 16) {
		uint8_t uuid[16];

		if ((rc = media_read(ctx->reader, box->payload, uuid, sizeof(uuid))) < 0)
			return rc;
		if (memcmp(uuid, BMFF_XMP_UUID, sizeof(uuid)) != 0)
			return 0;
		rc = xmp_scan(ctx, box->payload + 16, payload_length - 16);
		return scan_settle_block(ctx, rc, box->payload + 16, payload_length - 16);
	}
	if (depth + 1 >= BMFF_DEPTH_MAX)
		return 0; /* too deep to be a real file; bounds recursion */
	if (box->type == FOURCC('i', 'l', 's', 't'))
		return bmff_scan_ilst(ctx, box, keys);
	if (box->type == FOURCC('m', 'e', 't', 'a'))
		return bmff_scan_meta(ctx, box, depth);
	if (bmff_is_container(box->type))
		return bmff_walk(ctx, box->payload, box->end, depth + 1,
				 bmff_is_metadata_container(box->type), NULL);
	return 0;
}

/* Visits the boxes in [start, end). Recursion depth is bounded by
 * BMFF_DEPTH_MAX. Guarantees: 0 or an errno; a malformed tail inside a
 * metadata container is redacted, elsewhere it ends the walk. */
static int bmff_walk(struct scan_ctx *ctx, uint64_t start, uint64_t end, unsigned depth,
		     int is_metadata_container, const struct bmff_location_keys *keys)
{
	uint64_t pos = start;
	int rc;

	while (pos < end) {
		struct bmff_box box;

		/* QuickTime ends udta with a 32-bit zero; fewer than 8 bytes is
		 * padding, not a box. */
		if (end - pos < 8)
			return 0;
		if ((rc = scan_spend_work(ctx, 1)) < 0 ||
		    (rc = bmff_read_box(ctx->reader, pos, end, &box)) < 0) {
			if (!scan_is_parse_failure(rc))
				return rc;
			return is_metadata_container ? scan_redact_block(ctx, pos, end - pos) : 0;
		}
		if ((rc = bmff_visit(ctx, &box, depth, keys)) < 0)
			return rc;
		pos = box.end;
	}
	return 0;
}

/* Assumes/guarantees: see scan.h. */
int isobmff_scan(struct scan_ctx *ctx)
{
	return bmff_walk(ctx, 0, ctx->reader->size, 0, 0, NULL);
}
