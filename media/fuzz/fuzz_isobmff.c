/* libFuzzer target: the ISO-BMFF parser and the codec probe on arbitrary bytes. */
#include "media/codec_probe.h"
#include "media/fuzz/fuzz_common.h"

/* Assumes data has size bytes. Guarantees: returns 0 or aborts. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char codec[8];
	int is_hdr;
	int rc;

	fuzz_run_parser(data, size, isobmff_scan);
	rc = media_probe_video_codec_buffer(data, size, codec, &is_hdr);
	if (rc != 0 && rc != -ENOENT)
		abort();
	if (rc == 0 && (strnlen(codec, 8) == 8 || (is_hdr != 0 && is_hdr != 1)))
		abort();
	return 0;
}
