/* libFuzzer target: the TIFF parser, as a standalone file and as an
 * embedded EXIF block (the two modes treat bad offsets differently). */
#include "media/fuzz/fuzz_common.h"

/* Parser adapter: the whole input as a TIFF file. Guarantees: its result. */
static int tiff_as_file(struct scan_ctx *ctx)
{
	return tiff_scan(ctx, 0, ctx->reader->size, 1);
}

/* Guarantees: the parser's result; offsets must stay inside the input. */
static int tiff_as_embedded_block(struct scan_ctx *ctx)
{
	return tiff_scan(ctx, 0, ctx->reader->size, 0);
}

/* Assumes data has size bytes. Guarantees: returns 0 or aborts. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_run_parser(data, size, tiff_as_file);
	fuzz_run_parser(data, size, tiff_as_embedded_block);
	return 0;
}
