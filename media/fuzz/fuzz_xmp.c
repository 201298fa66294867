/* libFuzzer target: the XMP tokenizer and the Extended-XMP fragment check. */
#include "media/fuzz/fuzz_common.h"

/* Parser adapter: the whole input as one packet. Guarantees: its result. */
static int xmp_whole_packet(struct scan_ctx *ctx)
{
	return xmp_scan(ctx, 0, ctx->reader->size);
}

/* Guarantees: the fragment check's result on the whole input. */
static int xmp_fragment(struct scan_ctx *ctx)
{
	return xmp_scan_fragment(ctx, 0, ctx->reader->size);
}

/* Assumes data has size bytes. Guarantees: returns 0 or aborts. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_run_parser(data, size, xmp_whole_packet);
	fuzz_run_parser(data, size, xmp_fragment);
	return 0;
}
