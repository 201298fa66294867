/* Codec probe: moov/trak/mdia(hdlr 'vide')/minf/stbl/stsd, first sample
 * entry, its colr box. Iterative, with a fixed nesting, so no depth limit
 * is needed; every walk is bounded by its parent box. */
#include <string.h>

#include "media/codec_probe.h"
#include "media/scan.h"

/* Bytes of a VisualSampleEntry before its child boxes (ISO 14496-12). */
#define VISUAL_SAMPLE_ENTRY_SIZE 78
#define CODEC_PROBE_TRACKS_MAX 64

/* Names a sample entry type. Assumes codec has 8 bytes. Guarantees: codec is
 * NUL-terminated; *is_dolby_vision says whether the entry is Dolby Vision. */
static void codec_name(uint32_t type, char codec[8], int *is_dolby_vision)
{
	*is_dolby_vision = 0;
	switch (type) {
	case FOURCC('d', 'v', 'h', '1'): case FOURCC('d', 'v', 'h', 'e'):
		*is_dolby_vision = 1;
		/* fall through */
	case FOURCC('h', 'v', 'c', '1'): case FOURCC('h', 'e', 'v', '1'):
		strcpy(codec, "hevc");
		return;
	case FOURCC('a', 'v', 'c', '1'): case FOURCC('a', 'v', 'c', '3'):
		strcpy(codec, "avc");
		return;
	case FOURCC('a', 'v', '0', '1'):
		strcpy(codec, "av1");
		return;
	case FOURCC('v', 'p', '0', '9'):
		strcpy(codec, "vp9");
		return;
	default:
		for (int i = 0; i < 4; i++) {
			char c = (char)(type >> (24 - 8 * i));
			codec[i] = c >= 0x20 && c < 0x7F ? c : '?';
		}
		codec[4] = '\0';
	}
}

/* Tells whether the colr box of a sample entry declares PQ or HLG.
 * Guarantees: 0 with *is_hdr, or an errno; a missing colr means SDR. */
static int codec_read_hdr(const struct media_reader *reader, const struct bmff_box *entry, int *is_hdr)
{
	struct bmff_box colr;
	uint8_t colour[8]; /* type, primaries, transfer */
	int rc;

	*is_hdr = 0;
	if (entry->end - entry->payload < VISUAL_SAMPLE_ENTRY_SIZE)
		return 0;
	rc = bmff_find_child(reader, entry->payload + VISUAL_SAMPLE_ENTRY_SIZE, entry->end,
			     FOURCC('c', 'o', 'l', 'r'), &colr);
	if (rc == -ENOENT)
		return 0;
	if (rc < 0)
		return rc;
	if (colr.end - colr.payload < sizeof(colour))
		return 0;
	if ((rc = media_read(reader, colr.payload, colour, sizeof(colour))) < 0)
		return rc;
	if (memcmp(colour, "nclx", 4) == 0 || memcmp(colour, "nclc", 4) == 0) {
		uint16_t transfer = load_be16(colour + 6);
		*is_hdr = transfer == 16 || transfer == 18;
	}
	return 0;
}

/* Follows a path of child types from [start, end). Guarantees: 0 with *box
 * the last one, -ENOENT, or an errno. */
static int codec_find_path(const struct media_reader *reader, uint64_t start, uint64_t end,
			   const uint32_t *path, size_t path_len, struct bmff_box *box)
{
	for (size_t i = 0; i < path_len; i++) {
		int rc = bmff_find_child(reader, start, end, path[i], box);

		if (rc < 0)
			return rc;
		start = box->payload;
		end = box->end;
	}
	return 0;
}

/* Probes one trak. Guarantees: 0 when it is a video track (codec filled),
 * -ENOENT when not, or an errno. */
static int codec_probe_track(const struct media_reader *reader, const struct bmff_box *trak, char codec[8],
			     int *is_hdr)
{
	static const uint32_t to_mdia[] = { FOURCC('m', 'd', 'i', 'a') };
	static const uint32_t to_stsd[] = { FOURCC('m', 'i', 'n', 'f'), FOURCC('s', 't', 'b', 'l'),
					    FOURCC('s', 't', 's', 'd') };
	struct bmff_box mdia, hdlr, stsd, entry;
	uint8_t hdlr_bytes[12];
	int is_dolby_vision;
	int rc = codec_find_path(reader, trak->payload, trak->end, to_mdia, 1, &mdia);

	if (rc == 0)
		rc = bmff_find_child(reader, mdia.payload, mdia.end, FOURCC('h', 'd', 'l', 'r'), &hdlr);
	if (rc < 0)
		return rc;
	/* hdlr: version/flags, pre_defined, handler_type. */
	if (hdlr.end - hdlr.payload < sizeof(hdlr_bytes))
		return -ENOENT;
	if ((rc = media_read(reader, hdlr.payload, hdlr_bytes, sizeof(hdlr_bytes))) < 0)
		return rc;
	if (memcmp(hdlr_bytes + 8, "vide", 4) != 0)
		return -ENOENT;
	if ((rc = codec_find_path(reader, mdia.payload, mdia.end, to_stsd, 3, &stsd)) < 0)
		return rc;
	/* stsd: version/flags, entry_count, then the sample entries. */
	if (stsd.end - stsd.payload < 8)
		return -ENOENT;
	rc = bmff_read_box(reader, stsd.payload + 8, stsd.end, &entry);
	if (scan_is_parse_failure(rc))
		return -ENOENT;
	if (rc < 0)
		return rc;
	codec_name(entry.type, codec, &is_dolby_vision);
	if ((rc = codec_read_hdr(reader, &entry, is_hdr)) < 0)
		return rc;
	*is_hdr |= is_dolby_vision;
	return 0;
}

/* Probes the file behind reader. Guarantees: see media_probe_video_codec. */
static int codec_probe_reader(const struct media_reader *reader, char codec[8], int *is_hdr)
{
	struct bmff_box moov, trak;
	uint64_t pos;
	int rc = bmff_find_child(reader, 0, reader->size, FOURCC('m', 'o', 'o', 'v'), &moov);

	codec[0] = '\0';
	*is_hdr = 0;
	if (rc < 0)
		return rc;
	pos = moov.payload;
	for (int tracks = 0; tracks < CODEC_PROBE_TRACKS_MAX; tracks++) {
		rc = bmff_find_child(reader, pos, moov.end, FOURCC('t', 'r', 'a', 'k'), &trak);
		if (rc < 0)
			return rc;
		rc = codec_probe_track(reader, &trak, codec, is_hdr);
		if (rc != -ENOENT)
			return rc;
		pos = trak.end;
	}
	return -ENOENT;
}

/* Assumes/guarantees: see codec_probe.h. */
int media_probe_video_codec(int fd, char codec[8], int *is_hdr)
{
	struct media_reader reader;
	int rc = media_reader_from_fd(fd, &reader);

	codec[0] = '\0';
	*is_hdr = 0;
	if (rc < 0)
		return rc;
	return codec_probe_reader(&reader, codec, is_hdr);
}

/* Assumes/guarantees: see codec_probe.h. */
int media_probe_video_codec_buffer(const uint8_t *data, size_t len, char codec[8], int *is_hdr)
{
	struct media_reader reader;

	media_reader_from_buffer(data, len, &reader);
	return codec_probe_reader(&reader, codec, is_hdr);
}
