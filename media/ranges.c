/* The range set: append with a cap, normalise, serialise. */
#include <stdlib.h>
#include <string.h>

#include "media/scan.h"

/* More ranges than this is hostile or absurd; beyond it we collapse. */
#define RANGES_MAX 4096

/* qsort comparator by offset then length. Assumes both point to ranges. */
static int compare_ranges(const void *left, const void *right)
{
	const struct redaction_range *a = left, *b = right;

	if (a->offset != b->offset)
		return a->offset < b->offset ? -1 : 1;
	if (a->length != b->length)
		return a->length < b->length ? -1 : 1;
	return 0;
}

/* Assumes: ranges is valid. Guarantees: sorted, merged (overlapping or
 * touching ranges joined), no empty ranges; never allocates. */
void redaction_ranges_normalize(struct redaction_ranges *ranges)
{
	size_t kept = 0;

	if (ranges->count == 0)
		return;
	qsort(ranges->ranges, ranges->count, sizeof(ranges->ranges[0]), compare_ranges);
	for (size_t i = 0; i < ranges->count; i++) {
		struct redaction_range next = ranges->ranges[i];

		if (next.length == 0)
			continue;
		if (kept > 0) {
			struct redaction_range *last = &ranges->ranges[kept - 1];
			uint64_t last_end = last->offset + last->length;

			if (next.offset <= last_end) {
				uint64_t next_end = next.offset + next.length;
				if (next_end > last_end)
					last->length = next_end - last->offset;
				continue;
			}
		}
		ranges->ranges[kept++] = next;
	}
	ranges->count = kept;
}

/* Replaces all ranges by the single range covering them. Assumes count > 0
 * and the set is normalised (sorted). */
static void collapse_to_hull(struct redaction_ranges *ranges)
{
	struct redaction_range *first = &ranges->ranges[0];
	const struct redaction_range *last = &ranges->ranges[ranges->count - 1];

	first->length = last->offset + last->length - first->offset;
	ranges->count = 1;
}

/* Assumes: offset + length does not overflow (callers clamp to the file).
 * Guarantees: see scan.h. */
int redaction_ranges_append(struct redaction_ranges *ranges, uint64_t offset, uint64_t length)
{
	if (length == 0)
		return 0;
	if (ranges->count == RANGES_MAX) {
		redaction_ranges_normalize(ranges);
		if (ranges->count == RANGES_MAX)
			collapse_to_hull(ranges);
	}
	if (ranges->count == ranges->capacity) {
		size_t new_capacity = ranges->capacity ? ranges->capacity * 2 : 16;
		struct redaction_range *grown;

		if (new_capacity > RANGES_MAX)
			new_capacity = RANGES_MAX;
		grown = realloc(ranges->ranges, new_capacity * sizeof(*grown));
		if (!grown)
			return -ENOMEM;
		ranges->ranges = grown;
		ranges->capacity = new_capacity;
	}
	ranges->ranges[ranges->count].offset = offset;
	ranges->ranges[ranges->count].length = length;
	ranges->count++;
	return 0;
}

/* Assumes: r is NULL, zeroed, or filled here. Guarantees: *r zeroed. */
void redaction_ranges_free(struct redaction_ranges *r)
{
	if (!r)
		return;
	free(r->ranges);
	memset(r, 0, sizeof(*r));
}

/* Stores v little-endian at p. Assumes p has 8 bytes. */
static void store_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* Loads a little-endian u64. Assumes p has 8 bytes. */
static uint64_t load_le64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* Assumes: r is valid. Guarantees: see locscan.h. */
int redaction_ranges_encode(const struct redaction_ranges *r, uint8_t **blob, size_t *len)
{
	uint8_t *bytes;

	*blob = NULL;
	*len = 0;
	if (r->count == 0)
		return 0;
	if (r->count > SIZE_MAX / 16)
		return -EOVERFLOW;
	bytes = malloc(r->count * 16);
	if (!bytes)
		return -ENOMEM;
	for (size_t i = 0; i < r->count; i++) {
		store_le64(bytes + 16 * i, r->ranges[i].offset);
		store_le64(bytes + 16 * i + 8, r->ranges[i].length);
	}
	*blob = bytes;
	*len = r->count * 16;
	return 0;
}

/* Assumes: blob has len bytes. Guarantees: see locscan.h. The blob comes from
 * our own database, but it is still checked: a corrupt row must not make the
 * daemon serve unredacted bytes or crash. */
int redaction_ranges_decode(const uint8_t *blob, size_t len, struct redaction_ranges *out)
{
	size_t count = len / 16;

	memset(out, 0, sizeof(*out));
	if (len % 16 != 0)
		return -EINVAL;
	if (count == 0)
		return 0;
	out->ranges = malloc(count * sizeof(*out->ranges));
	if (!out->ranges)
		return -ENOMEM;
	out->capacity = count;
	for (size_t i = 0; i < count; i++) {
		uint64_t offset = load_le64(blob + 16 * i);
		uint64_t length = load_le64(blob + 16 * i + 8);

		if (length > UINT64_MAX - offset) {
			redaction_ranges_free(out);
			return -EINVAL;
		}
		out->ranges[i].offset = offset;
		out->ranges[i].length = length;
	}
	out->count = count;
	redaction_ranges_normalize(out);
	out->has_location = out->count > 0;
	return 0;
}
