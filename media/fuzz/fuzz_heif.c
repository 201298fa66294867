/* libFuzzer target: HEIF item metadata (iinf/iloc/idat), reached both
 * through the box walker and directly as the children of a meta box. */
#include "media/fuzz/fuzz_common.h"

/* Parser adapter: the whole input as the children of a 'meta' box. */
static int heif_meta_children(struct scan_ctx *ctx)
{
	return heif_scan_meta(ctx, 0, ctx->reader->size);
}

/* Assumes data has size bytes. Guarantees: returns 0 or aborts. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_run_parser(data, size, isobmff_scan);
	fuzz_run_parser(data, size, heif_meta_children);
	return 0;
}
