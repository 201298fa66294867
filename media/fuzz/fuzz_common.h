/* Shared checks for the libFuzzer targets: run one format parser directly
 * (so mutations reach it whatever the magic bytes say) and the public entry
 * point, then verify the result's invariants; abort() on any violation so
 * libFuzzer records it as a crash. */
#ifndef MEDIAFS_MEDIA_FUZZ_COMMON_H
#define MEDIAFS_MEDIA_FUZZ_COMMON_H

#include <stdlib.h>
#include <string.h>

#include "media/scan.h"

/* A per-format parser taking a scan context. */
typedef int (*fuzz_format_parser)(struct scan_ctx *ctx);

/* Aborts unless ranges are sorted, merged, non-empty and inside size bytes. */
static inline void fuzz_check_ranges(const struct redaction_ranges *ranges, size_t size)
{
	for (size_t i = 0; i < ranges->count; i++) {
		const struct redaction_range *range = &ranges->ranges[i];

		if (range->length == 0 || range->offset > size || range->length > size - range->offset)
			abort();
		if (i > 0 && ranges->ranges[i - 1].offset + ranges->ranges[i - 1].length >= range->offset)
			abort();
	}
	if (ranges->has_location != (ranges->count > 0))
		abort();
}

/* Runs parser over data, then locscan_buffer, and checks both results and
 * the BLOB round trip. Assumes data has size bytes. Guarantees: returns
 * only if every invariant holds. */
static inline void fuzz_run_parser(const uint8_t *data, size_t size, fuzz_format_parser parser)
{
	struct redaction_ranges direct = {0}, public_result, decoded;
	struct media_reader reader;
	struct scan_ctx ctx = { .reader = &reader, .out = &direct, .work_left = 2000000 };
	uint8_t *blob;
	size_t blob_len;
	int rc;

	media_reader_from_buffer(data, size, &reader);
	rc = parser(&ctx);
	if (rc < 0 && !scan_is_parse_failure(rc) && rc != -ENOMEM)
		abort(); /* a buffer has no I/O errors */
	redaction_ranges_normalize(&direct);
	direct.has_location = direct.count > 0;
	fuzz_check_ranges(&direct, size);
	redaction_ranges_free(&direct);

	if (locscan_buffer(data, size, &public_result) != 0)
		abort();
	fuzz_check_ranges(&public_result, size);
	if (redaction_ranges_encode(&public_result, &blob, &blob_len) != 0 ||
	    redaction_ranges_decode(blob, blob_len, &decoded) != 0 || decoded.count != public_result.count ||
	    (decoded.count && memcmp(decoded.ranges, public_result.ranges,
				     decoded.count * sizeof(decoded.ranges[0])) != 0))
		abort();
	free(blob);
	redaction_ranges_free(&decoded);
	redaction_ranges_free(&public_result);
}

#endif
