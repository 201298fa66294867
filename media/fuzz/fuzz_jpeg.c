/* libFuzzer target: the jpeg parser on arbitrary bytes. */
#include "media/fuzz/fuzz_common.h"

/* Assumes data has size bytes. Guarantees: returns 0 or aborts. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_run_parser(data, size, jpeg_scan);
	return 0;
}
