/* Tests of the location scanner against real media made at test time with
 * ffmpeg, exiftool and heif-enc, checked with exiftool itself: after zeroing
 * the ranges no location may be shown, the non-location tag "keepme" must
 * survive, and the copy must still decode. A missing tool fails the run. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "media/codec_probe.h"
#include "media/locscan.h"

/* Where generated media live for this run. */
struct test_dir {
	char path[1024]; /* short enough that path + file name fits PATH_MAX */
};

#define GPS_TAGS "-GPSLatitude=48.8566 -GPSLatitudeRef=N -GPSLongitude=2.3522 " \
		 "-GPSLongitudeRef=E -GPSAltitude=35 -GPSAltitudeRef=0"
#define XMP_GPS_TAGS "-XMP:GPSLatitude=48.8566 -XMP:GPSLongitude=2.3522 -XMP:GPSAltitude=35"
#define STILL_64 "ffmpeg -v error -y -f lavfi -i testsrc=size=64x64 -frames:v 1"
#define CLIP_64 "ffmpeg -v error -y -f lavfi -i testsrc=size=64x64 -t 0.2 -pix_fmt yuv420p"
#define EXIFTOOL "exiftool -q -q -m -overwrite_original"

/* Runs a shell command in the test directory. Assumes dir exists.
 * Guarantees: the command's exit status (-1 if it could not run). */
static int run_in_dir(const struct test_dir *dir, const char *command)
{
	char line[8192];
	int status;

	snprintf(line, sizeof(line), "cd '%s' && { %s ; } >/dev/null 2>&1", dir->path, command);
	status = system(line);
	if (status == -1 || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

/* Runs a command and captures its stdout. Guarantees: a malloc'd string
 * (caller frees) or a failed assertion. */
static char *capture_in_dir(const struct test_dir *dir, const char *command)
{
	char line[8192];
	size_t used = 0, capacity = 4096;
	char *output = malloc(capacity);
	FILE *pipe;
	size_t got;

	assert_non_null(output);
	snprintf(line, sizeof(line), "cd '%s' && %s 2>/dev/null", dir->path, command);
	pipe = popen(line, "r");
	assert_non_null(pipe);
	while ((got = fread(output + used, 1, capacity - used - 1, pipe)) > 0) {
		used += got;
		if (capacity - used < 2) {
			capacity *= 2;
			output = realloc(output, capacity);
			assert_non_null(output);
		}
	}
	output[used] = '\0';
	pclose(pipe);
	return output;
}

/* Reads a whole file. Guarantees: malloc'd bytes and *size, or a failure. */
static uint8_t *read_whole_file(const char *path, size_t *size)
{
	struct stat file_status;
	int fd = open(path, O_RDONLY);
	uint8_t *bytes;

	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &file_status), 0);
	*size = (size_t)file_status.st_size;
	bytes = malloc(*size ? *size : 1);
	assert_non_null(bytes);
	assert_int_equal(pread(fd, bytes, *size, 0), (ssize_t)*size);
	close(fd);
	return bytes;
}

/* Tells whether exiftool shows a location for the file: a GPS* or *Location*
 * tag with a digit in its value, or the test coordinates anywhere. */
static int exiftool_shows_location(const struct test_dir *dir, const char *name)
{
	char command[PATH_MAX + 64];
	char *output, *line, *saved;
	int shown = 0;

	snprintf(command, sizeof(command), "exiftool -a -G1 -s -n -ee '%s'", name);
	output = capture_in_dir(dir, command);
	if (strstr(output, "48.85") || strstr(output, "2.352"))
		shown = 1;
	for (line = strtok_r(output, "\n", &saved); line; line = strtok_r(NULL, "\n", &saved)) {
		char *colon = strstr(line, " : ");
		char tag[256] = "";

		if (!colon || sscanf(line, "[%*[^]]] %255s", tag) != 1)
			continue;
		if (!strcasestr(tag, "gps") && !strcasestr(tag, "location"))
			continue;
		if (strpbrk(colon + 3, "0123456789"))
			shown = 1;
	}
	free(output);
	return shown;
}

/* Checks the invariants of a scan result against a file of file_size bytes. */
static void assert_ranges_well_formed(const struct redaction_ranges *ranges, uint64_t file_size)
{
	for (size_t i = 0; i < ranges->count; i++) {
		const struct redaction_range *range = &ranges->ranges[i];

		assert_true(range->length > 0);
		assert_true(range->offset + range->length <= file_size);
		if (i > 0)
			assert_true(ranges->ranges[i - 1].offset + ranges->ranges[i - 1].length < range->offset);
	}
	assert_int_equal(ranges->has_location, ranges->count > 0);
}

/* Scans path with locscan_fd, checks the fd offset is untouched and that
 * locscan_buffer agrees. Guarantees: *ranges filled (caller frees). */
static void scan_file(const char *path, struct redaction_ranges *ranges)
{
	struct redaction_ranges from_buffer;
	size_t size;
	uint8_t *bytes = read_whole_file(path, &size);
	int fd = open(path, O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(lseek(fd, 3, SEEK_SET), 3);
	assert_int_equal(locscan_fd(fd, ranges), 0);
	assert_int_equal(lseek(fd, 0, SEEK_CUR), 3);
	close(fd);
	assert_ranges_well_formed(ranges, size);
	assert_int_equal(locscan_buffer(bytes, size, &from_buffer), 0);
	assert_int_equal(from_buffer.count, ranges->count);
	assert_int_equal(from_buffer.has_location, ranges->has_location);
	if (ranges->count)
		assert_memory_equal(from_buffer.ranges, ranges->ranges, ranges->count * sizeof(ranges->ranges[0]));
	redaction_ranges_free(&from_buffer);
	free(bytes);
}

/* Tells whether offset lies in one of the ranges. */
static int offset_is_redacted(const struct redaction_ranges *ranges, uint64_t offset)
{
	for (size_t i = 0; i < ranges->count; i++)
		if (offset >= ranges->ranges[i].offset && offset - ranges->ranges[i].offset < ranges->ranges[i].length)
			return 1;
	return 0;
}

/* Writes copy_path = original with the ranges zeroed, reads it back and
 * checks every byte: zero inside the ranges, original outside. */
static void write_redacted_copy(const char *original_path, const char *copy_path,
				const struct redaction_ranges *ranges)
{
	size_t size, copy_size;
	uint8_t *bytes = read_whole_file(original_path, &size);
	uint8_t *original = read_whole_file(original_path, &size);
	uint8_t *copy;
	int fd;

	for (size_t i = 0; i < ranges->count; i++)
		memset(bytes + ranges->ranges[i].offset, 0, ranges->ranges[i].length);
	fd = open(copy_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, bytes, size), (ssize_t)size);
	close(fd);
	copy = read_whole_file(copy_path, &copy_size);
	assert_int_equal(copy_size, size);
	for (size_t i = 0; i < size; i++)
		assert_int_equal(copy[i], offset_is_redacted(ranges, i) ? 0 : original[i]);
	free(copy);
	free(original);
	free(bytes);
}

/* One generated media file and how to check it. */
struct media_case {
	const char *name;         /* file name in the test directory */
	const char *make;         /* shell commands creating $F */
	const char *keep_tag;     /* exiftool tag that must still read "keepme", or NULL */
	const char *decode;       /* command that must succeed on $F after redaction, or NULL */
	int expect_location;
};

#define DECODE_FFMPEG "ffmpeg -v error -i \"$F\" -f null -"
#define DECODE_HEIF "heif-convert \"$F\" \"$F.png\""

/* Generates the case's file, scans it and checks the redacted copy. */
static void check_media_case(void **state, const struct media_case *media)
{
	const struct test_dir *dir = *state;
	char command[4096], path[PATH_MAX], copy_name[256], copy_path[PATH_MAX];
	struct redaction_ranges ranges;

	snprintf(command, sizeof(command), "F='%s'; %s", media->name, media->make);
	if (run_in_dir(dir, command) != 0)
		fail_msg("could not generate %s with: %s", media->name, media->make);
	snprintf(path, sizeof(path), "%s/%s", dir->path, media->name);
	snprintf(copy_name, sizeof(copy_name), "redacted_%s", media->name);
	snprintf(copy_path, sizeof(copy_path), "%s/%s", dir->path, copy_name);
	/* The generator worked: exiftool sees the location (or none). */
	assert_int_equal(exiftool_shows_location(dir, media->name), media->expect_location);
	scan_file(path, &ranges);
	assert_int_equal(ranges.has_location, media->expect_location);
	write_redacted_copy(path, copy_path, &ranges);
	if (exiftool_shows_location(dir, copy_name))
		fail_msg("exiftool still shows a location in %s", copy_name);
	if (media->keep_tag) {
		char *value;

		snprintf(command, sizeof(command), "exiftool -s -s -s -%s '%s'", media->keep_tag, copy_name);
		value = capture_in_dir(dir, command);
		if (!strstr(value, "keepme"))
			fail_msg("%s lost %s", copy_name, media->keep_tag);
		free(value);
	}
	if (media->decode) {
		snprintf(command, sizeof(command), "F='%s'; %s", copy_name, media->decode);
		if (run_in_dir(dir, command) != 0)
			fail_msg("redacted %s no longer decodes", media->name);
	}
	redaction_ranges_free(&ranges);
}

/* Defines a test that generates one media file and checks its redaction:
 * MEDIA_TEST(name, file, make, keep_tag, decode, expect_location). */
#define MEDIA_TEST(test_name, ...)                                        \
	static void test_name(void **state)                               \
	{                                                                 \
		static const struct media_case media = { __VA_ARGS__ };  \
		check_media_case(state, &media);                          \
	}

MEDIA_TEST(test_jpeg_exif_intel, "exif_ii.jpg",
	   STILL_64 " \"$F\" && " EXIFTOOL " " GPS_TAGS " -Artist=keepme \"$F\"", "Artist", DECODE_FFMPEG, 1)
MEDIA_TEST(test_jpeg_exif_motorola, "exif_mm.jpg",
	   STILL_64 " \"$F\" && " EXIFTOOL " -ExifByteOrder=Big-endian " GPS_TAGS " -Artist=keepme \"$F\"",
	   "Artist", DECODE_FFMPEG, 1)
MEDIA_TEST(test_jpeg_xmp_elements, "xmp_elements.jpg",
	   STILL_64 " \"$F\" && " EXIFTOOL " " XMP_GPS_TAGS " -XMP:Creator=keepme \"$F\"", "XMP:Creator",
	   DECODE_FFMPEG, 1)
MEDIA_TEST(test_jpeg_xmp_attributes, "xmp_attributes.jpg",
	   STILL_64 " \"$F\" && " EXIFTOOL " -api XMPShorthand=1 " XMP_GPS_TAGS " -XMP:Creator=keepme \"$F\"",
	   "XMP:Creator", DECODE_FFMPEG, 1)
MEDIA_TEST(test_jpeg_exif_and_xmp, "both.jpg",
	   STILL_64 " \"$F\" && " EXIFTOOL " " GPS_TAGS " " XMP_GPS_TAGS " -Artist=keepme \"$F\"", "Artist",
	   DECODE_FFMPEG, 1)
MEDIA_TEST(test_jpeg_without_location, "plain.jpg",
	   STILL_64 " \"$F\" && " EXIFTOOL " -Artist=keepme -XMP:Creator=keepme \"$F\"", "Artist",
	   DECODE_FFMPEG, 0)
MEDIA_TEST(test_png, "gps.png",
	   STILL_64 " \"$F\" && " EXIFTOOL " " GPS_TAGS " " XMP_GPS_TAGS " -EXIF:Artist=keepme \"$F\"",
	   "EXIF:Artist", DECODE_FFMPEG, 1)
MEDIA_TEST(test_png_without_location, "plain.png",
	   STILL_64 " \"$F\" && " EXIFTOOL " -EXIF:Artist=keepme \"$F\"", "EXIF:Artist", DECODE_FFMPEG, 0)
MEDIA_TEST(test_webp, "gps.webp",
	   STILL_64 " \"$F\" && " EXIFTOOL " " GPS_TAGS " " XMP_GPS_TAGS " -Artist=keepme \"$F\"", "Artist",
	   DECODE_FFMPEG, 1)
MEDIA_TEST(test_tiff, "gps.tif",
	   STILL_64 " -pix_fmt rgb24 \"$F\" && " EXIFTOOL " " GPS_TAGS " " XMP_GPS_TAGS " -Artist=keepme \"$F\"",
	   "Artist", DECODE_FFMPEG, 1)
MEDIA_TEST(test_tiff_without_location, "plain.tif",
	   STILL_64 " -pix_fmt rgb24 \"$F\" && " EXIFTOOL " -Artist=keepme \"$F\"", "Artist", DECODE_FFMPEG, 0)
MEDIA_TEST(test_heic, "gps.heic",
	   STILL_64 " \"$F.png\" && heif-enc -q 50 \"$F.png\" -o \"$F\" && " EXIFTOOL " " GPS_TAGS " " XMP_GPS_TAGS
	   " -Artist=keepme \"$F\"", "Artist", DECODE_HEIF, 1)
MEDIA_TEST(test_heic_without_location, "plain.heic",
	   STILL_64 " \"$F.png\" && heif-enc -q 50 \"$F.png\" -o \"$F\" && " EXIFTOOL " -Artist=keepme \"$F\"",
	   "Artist", DECODE_HEIF, 0)
MEDIA_TEST(test_avif, "gps.avif",
	   STILL_64 " \"$F.png\" && heif-enc -A \"$F.png\" -o \"$F\" && " EXIFTOOL " " GPS_TAGS " " XMP_GPS_TAGS
	   " -Artist=keepme \"$F\"", "Artist", DECODE_HEIF, 1)
MEDIA_TEST(test_mp4_loci, "loci.mp4",
	   CLIP_64 " -metadata location=+48.8566+002.3522/ -metadata title=keepme \"$F\"", "Title",
	   DECODE_FFMPEG, 1)
MEDIA_TEST(test_mp4_xmp, "xmp.mp4",
	   CLIP_64 " -metadata title=keepme \"$F\" && " EXIFTOOL " " XMP_GPS_TAGS " \"$F\"", "Title",
	   DECODE_FFMPEG, 1)
MEDIA_TEST(test_mp4_without_location, "plain.mp4",
	   CLIP_64 " -metadata title=keepme \"$F\"", "Title", DECODE_FFMPEG, 0)
MEDIA_TEST(test_mov_userdata_xyz, "xyz.mov",
	   CLIP_64 " -metadata location=+48.8566+002.3522/ -metadata title=keepme \"$F\"", "Title",
	   DECODE_FFMPEG, 1)
MEDIA_TEST(test_mov_keys_iso6709, "keys.mov",
	   CLIP_64 " \"$F\" && " EXIFTOOL " -n -Keys:GPSCoordinates='48.8566 2.3522 35' -Keys:Title=keepme \"$F\"",
	   "Keys:Title", DECODE_FFMPEG, 1)
MEDIA_TEST(test_mov_itemlist_xyz, "itemlist.mov",
	   CLIP_64 " \"$F\" && " EXIFTOOL " -n -ItemList:GPSCoordinates='48.8566 2.3522' -ItemList:Title=keepme \"$F\"",
	   "ItemList:Title", DECODE_FFMPEG, 1)
MEDIA_TEST(test_mov_userdata_and_xmp, "udta_xmp.mov",
	   CLIP_64 " \"$F\" && " EXIFTOOL " -n -UserData:GPSCoordinates='48.8566 2.3522' " XMP_GPS_TAGS
	   " -XMP:Creator=keepme \"$F\"", "XMP:Creator", DECODE_FFMPEG, 1)
MEDIA_TEST(test_m4a, "loci.m4a",
	   "ffmpeg -v error -y -f lavfi -i sine=duration=0.2 -metadata location=+48.8566+002.3522/ "
	   "-metadata title=keepme \"$F\"", "Title", DECODE_FFMPEG, 1)
MEDIA_TEST(test_3gp, "loci.3gp",
	   CLIP_64 " -c:v libx264 -metadata location=+48.8566+002.3522/ \"$F\"", NULL, DECODE_FFMPEG, 1)

/* Scans an in-memory file. Guarantees: ranges filled, rc checked. */
static void scan_bytes(const uint8_t *bytes, size_t len, struct redaction_ranges *ranges)
{
	assert_int_equal(locscan_buffer(bytes, len, ranges), 0);
	assert_ranges_well_formed(ranges, len);
}

/* Builds a JPEG with one APP1 segment holding header + body.
 * Guarantees: the JPEG length; *payload_offset where the APP1 payload starts. */
static size_t build_jpeg_app1(uint8_t *out, size_t out_size, const void *header, size_t header_len,
			      const char *body, size_t *payload_offset)
{
	size_t body_len = strlen(body);
	size_t segment_len = 2 + header_len + body_len;
	size_t len = 0;

	assert_true(segment_len <= 0xFFFF && 6 + segment_len + 4 <= out_size);
	memcpy(out, "\xFF\xD8\xFF\xE1", 4);
	out[4] = (uint8_t)(segment_len >> 8);
	out[5] = (uint8_t)segment_len;
	*payload_offset = 6;
	memcpy(out + 6, header, header_len);
	memcpy(out + 6 + header_len, body, body_len);
	len = 6 + header_len + body_len;
	memcpy(out + len, "\xFF\xDA\x00\x02", 4);
	return len + 4;
}

static const char XMP_HEADER[] = "http://ns.adobe.com/xap/1.0/"; /* sizeof includes the NUL */

/* An XMP packet mentioning GPS where no property says it: whole packet. */
static void test_xmp_unknown_gps_mention_redacts_packet(void **state)
{
	static const char packet[] = "<x:xmpmeta xmlns:x='adobe:ns:meta/'><rdf:RDF><rdf:Description "
				     "dc:description='GPS fix 48.8566'/></rdf:RDF></x:xmpmeta>";
	uint8_t jpeg[1024];
	size_t payload, len = build_jpeg_app1(jpeg, sizeof(jpeg), XMP_HEADER, sizeof(XMP_HEADER), packet, &payload);
	struct redaction_ranges ranges;

	(void)state;
	scan_bytes(jpeg, len, &ranges);
	assert_int_equal(ranges.count, 1);
	assert_int_equal(ranges.ranges[0].offset, payload);
	assert_int_equal(ranges.ranges[0].length, sizeof(XMP_HEADER) + strlen(packet));
	redaction_ranges_free(&ranges);
}

/* GPS attributes and elements: exactly the value bytes go. */
static void test_xmp_values_redacted_precisely(void **state)
{
	static const char packet[] = "<rdf:Description exif:GPSLatitude=\"48,51.4N\" dc:x='1'>"
				     "<exif:GPSLongitude>2,21.1E</exif:GPSLongitude>"
				     "<drone-dji:GpsAltitude>35</drone-dji:GpsAltitude>"
				     "<!-- a comment --></rdf:Description>";
	uint8_t jpeg[1024];
	size_t payload, len = build_jpeg_app1(jpeg, sizeof(jpeg), XMP_HEADER, sizeof(XMP_HEADER), packet, &payload);
	struct redaction_ranges ranges;
	const char *text = (const char *)jpeg;
	size_t text_start = payload + sizeof(XMP_HEADER);

	(void)state;
	scan_bytes(jpeg, len, &ranges);
	assert_int_equal(ranges.has_location, 1);
	assert_int_equal(ranges.count, 3);
	assert_memory_equal(text + ranges.ranges[0].offset, "48,51.4N", ranges.ranges[0].length);
	assert_memory_equal(text + ranges.ranges[1].offset, "2,21.1E", ranges.ranges[1].length);
	assert_memory_equal(text + ranges.ranges[2].offset, "35", ranges.ranges[2].length);
	assert_true(ranges.ranges[0].offset > text_start);
	redaction_ranges_free(&ranges);
}

/* An unclosed GPS element cannot be bounded: whole packet. */
static void test_xmp_unclosed_gps_element_redacts_packet(void **state)
{
	static const char packet[] = "<rdf:Description><exif:GPSLatitude>48,51.4N</rdf:Description>";
	uint8_t jpeg[512];
	size_t payload, len = build_jpeg_app1(jpeg, sizeof(jpeg), XMP_HEADER, sizeof(XMP_HEADER), packet, &payload);
	struct redaction_ranges ranges;

	(void)state;
	scan_bytes(jpeg, len, &ranges);
	assert_int_equal(ranges.count, 1);
	assert_int_equal(ranges.ranges[0].offset, payload);
	redaction_ranges_free(&ranges);
}

/* Extended XMP chunks that mention GPS are redacted whole. */
static void test_extended_xmp_chunk(void **state)
{
	uint8_t header[35 + 32 + 8] = "http://ns.adobe.com/xmp/extension/";
	uint8_t jpeg[512];
	size_t payload, len;
	struct redaction_ranges ranges;

	(void)state;
	len = build_jpeg_app1(jpeg, sizeof(jpeg), header, sizeof(header), "itude>48,51.4N</exif:GP", &payload);
	scan_bytes(jpeg, len, &ranges);
	/* The chunk's text goes; its header (id, GUID, offsets) stays. */
	assert_int_equal(ranges.count, 1);
	assert_int_equal(ranges.ranges[0].offset, payload + sizeof(header));
	assert_int_equal(ranges.ranges[0].length, strlen("itude>48,51.4N</exif:GP"));
	redaction_ranges_free(&ranges);
	len = build_jpeg_app1(jpeg, sizeof(jpeg), header, sizeof(header), "<dc:title>x</dc:title>", &payload);
	scan_bytes(jpeg, len, &ranges);
	assert_int_equal(ranges.count, 0);
	redaction_ranges_free(&ranges);
}

/* An EXIF block whose IFD0 points outside it: whole APP1 payload. */
static void test_exif_inconsistent_offsets_redacts_segment(void **state)
{
	static const uint8_t header[] = { 'E', 'x', 'i', 'f', 0, 0, 'I', 'I', 42, 0, 0xF0, 0xFF, 0, 0 };
	uint8_t jpeg[256];
	size_t payload, len = build_jpeg_app1(jpeg, sizeof(jpeg), header, sizeof(header), "", &payload);
	struct redaction_ranges ranges;

	(void)state;
	scan_bytes(jpeg, len, &ranges);
	assert_int_equal(ranges.count, 1);
	assert_int_equal(ranges.ranges[0].offset, payload);
	assert_int_equal(ranges.ranges[0].length, sizeof(header));
	assert_int_equal(ranges.has_location, 1);
	redaction_ranges_free(&ranges);
}

/* Truncated files and unknown formats never fail and never overrun. */
static void test_truncations_and_unknown_formats(void **state)
{
	const struct test_dir *dir = *state;
	static const char *const names[] = { "exif_ii.jpg", "gps.png", "gps.webp", "gps.tif", "gps.heic",
					     "keys.mov", "loci.mp4" };
	struct redaction_ranges ranges;
	static const uint8_t garbage[] = "not a media file at all";

	scan_bytes(garbage, sizeof(garbage), &ranges);
	assert_int_equal(ranges.count, 0);
	assert_int_equal(ranges.has_location, 0);
	scan_bytes(NULL, 0, &ranges);
	assert_int_equal(ranges.count, 0);
	for (size_t n = 0; n < sizeof(names) / sizeof(names[0]); n++) {
		char path[PATH_MAX];
		size_t size;
		uint8_t *bytes;

		snprintf(path, sizeof(path), "%s/%s", dir->path, names[n]);
		bytes = read_whole_file(path, &size);
		for (size_t cut = 0; cut < size; cut += 1 + cut / 8) {
			/* A private copy of exactly cut bytes so ASan-style
			 * tools would catch any overrun. */
			uint8_t *prefix = malloc(cut ? cut : 1);

			assert_non_null(prefix);
			memcpy(prefix, bytes, cut);
			scan_bytes(prefix, cut, &ranges);
			redaction_ranges_free(&ranges);
			free(prefix);
		}
		free(bytes);
	}
}

/* Ranges survive the database encoding; bad blobs are refused. */
static void test_encode_decode(void **state)
{
	struct redaction_range input[] = { { 100, 10 }, { 5, 5 }, { 10, 3 }, { 105, 20 } };
	struct redaction_ranges ranges = { .ranges = input, .count = 4, .capacity = 4 };
	struct redaction_ranges decoded;
	uint8_t *blob;
	size_t len;
	uint8_t overflow[16];

	(void)state;
	assert_int_equal(redaction_ranges_encode(&ranges, &blob, &len), 0);
	assert_int_equal(len, 64);
	assert_int_equal(blob[0], 100);
	assert_int_equal(redaction_ranges_decode(blob, len, &decoded), 0);
	/* Decoding normalises: [5,13) and [100,125). */
	assert_int_equal(decoded.count, 2);
	assert_int_equal(decoded.ranges[0].offset, 5);
	assert_int_equal(decoded.ranges[0].length, 8);
	assert_int_equal(decoded.ranges[1].offset, 100);
	assert_int_equal(decoded.ranges[1].length, 25);
	assert_int_equal(decoded.has_location, 1);
	redaction_ranges_free(&decoded);
	assert_int_equal(redaction_ranges_decode(blob, len - 1, &decoded), -EINVAL);
	assert_null(decoded.ranges);
	free(blob);
	memset(overflow, 0xFF, sizeof(overflow));
	assert_int_equal(redaction_ranges_decode(overflow, sizeof(overflow), &decoded), -EINVAL);
	assert_int_equal(redaction_ranges_decode(NULL, 0, &decoded), 0);
	assert_int_equal(decoded.count, 0);
	assert_int_equal(decoded.has_location, 0);
	ranges.count = 0;
	assert_int_equal(redaction_ranges_encode(&ranges, &blob, &len), 0);
	assert_null(blob);
	assert_int_equal(len, 0);
}

/* Probes a generated file. Guarantees: the probe's return value. */
static int probe_generated(const struct test_dir *dir, const char *name, const char *make, char codec[8],
			   int *is_hdr)
{
	char command[4096], path[PATH_MAX];
	int fd, rc;

	snprintf(command, sizeof(command), "F='%s'; %s", name, make);
	if (run_in_dir(dir, command) != 0)
		fail_msg("could not generate %s", name);
	snprintf(path, sizeof(path), "%s/%s", dir->path, name);
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	rc = media_probe_video_codec(fd, codec, is_hdr);
	close(fd);
	return rc;
}

/* The codec probe on real AVC, HEVC, HLG and PQ files, audio and a still. */
static void test_codec_probe(void **state)
{
	const struct test_dir *dir = *state;
	char codec[8];
	int is_hdr;

	assert_int_equal(probe_generated(dir, "avc.mp4", CLIP_64 " -c:v libx264 \"$F\"", codec, &is_hdr), 0);
	assert_string_equal(codec, "avc");
	assert_int_equal(is_hdr, 0);
	assert_int_equal(probe_generated(dir, "hevc.mp4", CLIP_64 " -c:v libx265 -x265-params log-level=none "
					 "-tag:v hvc1 \"$F\"", codec, &is_hdr), 0);
	assert_string_equal(codec, "hevc");
	assert_int_equal(is_hdr, 0);
	assert_int_equal(probe_generated(dir, "hlg.mov", CLIP_64 " -c:v libx265 -x265-params log-level=none "
					 "-tag:v hvc1 -color_primaries bt2020 -color_trc arib-std-b67 "
					 "-colorspace bt2020nc \"$F\"", codec, &is_hdr), 0);
	assert_string_equal(codec, "hevc");
	assert_int_equal(is_hdr, 1);
	assert_int_equal(probe_generated(dir, "pq.mp4", CLIP_64 " -c:v libx265 -x265-params log-level=none "
					 "-tag:v hev1 -color_primaries bt2020 -color_trc smpte2084 "
					 "-colorspace bt2020nc \"$F\"", codec, &is_hdr), 0);
	assert_string_equal(codec, "hevc");
	assert_int_equal(is_hdr, 1);
	assert_int_equal(probe_generated(dir, "audio.m4a", "ffmpeg -v error -y -f lavfi -i sine=duration=0.2 \"$F\"",
					 codec, &is_hdr), -ENOENT);
	assert_int_equal(probe_generated(dir, "still.jpg", STILL_64 " \"$F\"", codec, &is_hdr), -ENOENT);
}

/* Creates the directory and checks the tools exist: a missing tool fails
 * every test rather than skipping them. */
static int setup_test_dir(void **state)
{
	static const char *const tools[] = { "ffmpeg", "exiftool", "heif-enc", "heif-convert" };
	struct test_dir *dir = calloc(1, sizeof(*dir));
	const char *base = getenv("TEST_TMPDIR");

	if (!dir)
		return -1;
	snprintf(dir->path, sizeof(dir->path), "%s/locscan_test_XXXXXX", base && *base ? base : "/tmp");
	if (!mkdtemp(dir->path)) {
		fprintf(stderr, "mkdtemp %s: %s\n", dir->path, strerror(errno));
		free(dir);
		return -1;
	}
	for (size_t i = 0; i < sizeof(tools) / sizeof(tools[0]); i++) {
		char command[128];

		snprintf(command, sizeof(command), "command -v %s", tools[i]);
		if (run_in_dir(dir, command) != 0) {
			fprintf(stderr, "required tool missing: %s (apt-get install ffmpeg "
					"libimage-exiftool-perl libheif-examples)\n", tools[i]);
			free(dir);
			return -1;
		}
	}
	*state = dir;
	return 0;
}

/* Removes the generated media unless KEEP_MEDIA is set (for debugging). */
static int teardown_test_dir(void **state)
{
	struct test_dir *dir = *state;
	char command[PATH_MAX + 16];

	if (!getenv("KEEP_MEDIA")) {
		snprintf(command, sizeof(command), "rm -rf '%s'", dir->path);
		if (system(command) != 0)
			fprintf(stderr, "could not remove %s\n", dir->path);
	}
	free(dir);
	return 0;
}

/* Runs every test in one group sharing the generated media directory. */
int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_jpeg_exif_intel),
		cmocka_unit_test(test_jpeg_exif_motorola),
		cmocka_unit_test(test_jpeg_xmp_elements),
		cmocka_unit_test(test_jpeg_xmp_attributes),
		cmocka_unit_test(test_jpeg_exif_and_xmp),
		cmocka_unit_test(test_jpeg_without_location),
		cmocka_unit_test(test_png),
		cmocka_unit_test(test_png_without_location),
		cmocka_unit_test(test_webp),
		cmocka_unit_test(test_tiff),
		cmocka_unit_test(test_tiff_without_location),
		cmocka_unit_test(test_heic),
		cmocka_unit_test(test_heic_without_location),
		cmocka_unit_test(test_avif),
		cmocka_unit_test(test_mp4_loci),
		cmocka_unit_test(test_mp4_xmp),
		cmocka_unit_test(test_mp4_without_location),
		cmocka_unit_test(test_mov_userdata_xyz),
		cmocka_unit_test(test_mov_keys_iso6709),
		cmocka_unit_test(test_mov_itemlist_xyz),
		cmocka_unit_test(test_mov_userdata_and_xmp),
		cmocka_unit_test(test_m4a),
		cmocka_unit_test(test_3gp),
		cmocka_unit_test(test_xmp_unknown_gps_mention_redacts_packet),
		cmocka_unit_test(test_xmp_values_redacted_precisely),
		cmocka_unit_test(test_xmp_unclosed_gps_element_redacts_packet),
		cmocka_unit_test(test_extended_xmp_chunk),
		cmocka_unit_test(test_exif_inconsistent_offsets_redacts_segment),
		/* After the media tests: reuses the files they made. */
		cmocka_unit_test(test_truncations_and_unknown_formats),
		cmocka_unit_test(test_encode_decode),
		cmocka_unit_test(test_codec_probe),
	};

	return cmocka_run_group_tests(tests, setup_test_dir, teardown_test_dir);
}
