/* XMP scanner: a small XML tokenizer (not a validating parser) that finds
 * properties whose local name starts with "GPS" (any namespace prefix, any
 * case: exif:GPSLatitude, drone-dji:GpsLatitude, Iptc4xmpExt:GPSLatitude) as
 * attributes or elements, and redacts their values. Any other mention of
 * "gps" that it cannot account for makes the packet unparseable, so the
 * caller redacts the whole packet rather than guess. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "media/scan.h"

/* Packets above this are refused (whole-block redaction) rather than read:
 * real XMP is kilobytes; the cap bounds memory on hostile input. */
#define XMP_TEXT_MAX (4u << 20)

/* A packet held in memory plus which bytes are accounted for: part of a GPS
 * property name or of a value we redact. */
struct xmp_text {
	const char *bytes;
	size_t length;
	uint8_t *covered; /* one flag per byte */
	uint64_t file_offset;
	int found_gps;
};

/* Tells whether c is XML whitespace. */
static int xmp_is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Tells whether the qualified name [name, name + len) is a GPS property:
 * its local part (after the last ':') starts with "gps", any case.
 * Namespace declarations (xmlns:gps=...) are not properties. */
static int xmp_is_gps_name(const char *name, size_t len)
{
	const char *local = name;

	if (len >= 5 && strncmp(name, "xmlns", 5) == 0)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (name[i] == ':')
			local = name + i + 1;
	return (size_t)(name + len - local) >= 3 && strncasecmp(local, "gps", 3) == 0;
}

/* Finds needle in text at or after from. Guarantees: its position, or
 * text->length when absent. */
static size_t xmp_find(const struct xmp_text *text, size_t from, const char *needle)
{
	size_t needle_len = strlen(needle);

	for (size_t i = from; i + needle_len <= text->length; i++)
		if (memcmp(text->bytes + i, needle, needle_len) == 0)
			return i;
	return text->length;
}

/* Tells whether the text at pos starts with prefix (bounded). */
static int xmp_starts_with(const struct xmp_text *text, size_t pos, const char *prefix)
{
	size_t prefix_len = strlen(prefix);

	return pos + prefix_len <= text->length && memcmp(text->bytes + pos, prefix, prefix_len) == 0;
}

/* Marks [start, end) as accounted for and, if redact, records it as a
 * range. Assumes start <= end <= length. Guarantees: 0 or -ENOMEM. */
static int xmp_cover(struct scan_ctx *ctx, struct xmp_text *text, size_t start, size_t end, int redact)
{
	memset(text->covered + start, 1, end - start);
	if (!redact)
		return 0;
	text->found_gps = 1;
	return scan_add_range(ctx, text->file_offset + start, end - start);
}

/* Reads an XML name starting at pos. Guarantees: its length (0 if none). */
static size_t xmp_name_length(const struct xmp_text *text, size_t pos)
{
	size_t end = pos;

	while (end < text->length && !xmp_is_space(text->bytes[end]) && text->bytes[end] != '>' &&
	       text->bytes[end] != '/' && text->bytes[end] != '=' && text->bytes[end] != '<')
		end++;
	return end - pos;
}

/* An element whose content is being redacted. */
struct xmp_open_gps {
	int active;
	long depth;          /* element depth of the GPS element */
	size_t name_offset;  /* its qualified name, to check the end tag */
	size_t name_length;
	size_t content_start;
};

/* Parses the start tag at text[pos] == '<' through its '>'.
 * Assumes: pos < length and it is a start tag (not </, <!, <?).
 * Guarantees: 0 with *next after the tag, *opens_element = 0 for "/>", GPS
 * attribute values (and all attribute values of GPS elements) redacted; a
 * parse failure for malformed tags; or -ENOMEM. */
static int xmp_start_tag(struct scan_ctx *ctx, struct xmp_text *text, size_t pos,
			 size_t *name_offset, size_t *name_length, int *opens_element, size_t *next)
{
	size_t cursor = pos + 1;
	size_t name_len = xmp_name_length(text, cursor);
	int element_is_gps = xmp_is_gps_name(text->bytes + cursor, name_len);
	int rc;

	if (name_len == 0)
		return -SCAN_EUNPARSEABLE;
	*name_offset = cursor;
	*name_length = name_len;
	if (element_is_gps && (rc = xmp_cover(ctx, text, cursor, cursor + name_len, 0)) < 0)
		return rc;
	cursor += name_len;
	for (;;) {
		size_t attr_offset, attr_len, value_start, value_end;
		char quote;

		while (cursor < text->length && xmp_is_space(text->bytes[cursor]))
			cursor++;
		if (cursor >= text->length)
			return -SCAN_EUNPARSEABLE;
		if (text->bytes[cursor] == '>') {
			*opens_element = 1;
			*next = cursor + 1;
			return 0;
		}
		if (xmp_starts_with(text, cursor, "/>")) {
			*opens_element = 0;
			*next = cursor + 2;
			return 0;
		}
		attr_offset = cursor;
		attr_len = xmp_name_length(text, cursor);
		if (attr_len == 0)
			return -SCAN_EUNPARSEABLE;
		cursor += attr_len;
		while (cursor < text->length && xmp_is_space(text->bytes[cursor]))
			cursor++;
		if (cursor >= text->length || text->bytes[cursor] != '=')
			return -SCAN_EUNPARSEABLE;
		cursor++;
		while (cursor < text->length && xmp_is_space(text->bytes[cursor]))
			cursor++;
		if (cursor >= text->length || (text->bytes[cursor] != '"' && text->bytes[cursor] != '\''))
			return -SCAN_EUNPARSEABLE;
		quote = text->bytes[cursor];
		value_start = cursor + 1;
		value_end = value_start;
		while (value_end < text->length && text->bytes[value_end] != quote)
			value_end++;
		if (value_end >= text->length)
			return -SCAN_EUNPARSEABLE;
		if (xmp_is_gps_name(text->bytes + attr_offset, attr_len)) {
			if ((rc = xmp_cover(ctx, text, attr_offset, attr_offset + attr_len, 0)) < 0)
				return rc;
			text->found_gps = 1;
			if ((rc = xmp_cover(ctx, text, value_start, value_end, 1)) < 0)
				return rc;
		} else if (element_is_gps) {
			if ((rc = xmp_cover(ctx, text, value_start, value_end, 1)) < 0)
				return rc;
		}
		cursor = value_end + 1;
	}
}

/* Skips a construct that runs from pos to terminator. Guarantees: 0 with
 * *next after the terminator, or a parse failure if it never ends. */
static int xmp_skip_to(const struct xmp_text *text, size_t pos, const char *terminator, size_t *next)
{
	size_t end = xmp_find(text, pos, terminator);

	if (end >= text->length)
		return -SCAN_EUNPARSEABLE;
	*next = end + strlen(terminator);
	return 0;
}

/* Walks the markup of the packet, redacting GPS values.
 * Assumes: text filled. Guarantees: 0, a parse failure, or -ENOMEM. */
static int xmp_walk_markup(struct scan_ctx *ctx, struct xmp_text *text)
{
	struct xmp_open_gps open_gps = {0};
	long depth = 0;
	size_t pos = 0;
	int rc;

	for (;;) {
		const char *lt = memchr(text->bytes + pos, '<', text->length - pos);
		size_t next;

		if (!lt)
			break;
		pos = (size_t)(lt - text->bytes);
		if ((rc = scan_spend_work(ctx, 1)) < 0)
			return rc;
		if (xmp_starts_with(text, pos, "<!--"))
			rc = xmp_skip_to(text, pos + 4, "-->", &next);
		else if (xmp_starts_with(text, pos, "<![CDATA["))
			rc = xmp_skip_to(text, pos + 9, "]]>", &next);
		else if (xmp_starts_with(text, pos, "<?"))
			rc = xmp_skip_to(text, pos + 2, "?>", &next);
		else if (xmp_starts_with(text, pos, "<!"))
			rc = xmp_skip_to(text, pos + 2, ">", &next);
		else if (xmp_starts_with(text, pos, "</")) {
			size_t name_len = xmp_name_length(text, pos + 2);

			rc = xmp_skip_to(text, pos + 2 + name_len, ">", &next);
			if (rc == 0 && --depth < 0)
				rc = -SCAN_EUNPARSEABLE;
			if (rc == 0 && open_gps.active && depth == open_gps.depth) {
				if (name_len != open_gps.name_length ||
				    memcmp(text->bytes + pos + 2, text->bytes + open_gps.name_offset, name_len) != 0)
					return -SCAN_EUNPARSEABLE;
				open_gps.active = 0;
				rc = xmp_cover(ctx, text, open_gps.content_start, pos, 1);
				if (rc == 0)
					rc = xmp_cover(ctx, text, pos + 2, pos + 2 + name_len, 0);
			}
		} else {
			size_t name_offset, name_len;
			int opens_element;

			rc = xmp_start_tag(ctx, text, pos, &name_offset, &name_len, &opens_element, &next);
			if (rc == 0 && opens_element) {
				if (!open_gps.active && xmp_is_gps_name(text->bytes + name_offset, name_len)) {
					open_gps = (struct xmp_open_gps){ .active = 1, .depth = depth,
						.name_offset = name_offset, .name_length = name_len,
						.content_start = next };
					text->found_gps = 1;
				}
				depth++;
			}
		}
		if (rc < 0)
			return rc;
		pos = next;
	}
	return open_gps.active ? -SCAN_EUNPARSEABLE : 0;
}

/* Tells whether the packet looks like UTF-16 or UTF-32, which this byte
 * tokenizer cannot read. Assumes nothing about length. */
static int xmp_is_wide_encoding(const struct xmp_text *text)
{
	if (text->length < 2)
		return 0;
	return (uint8_t)text->bytes[0] == 0xFE || (uint8_t)text->bytes[0] == 0xFF ||
	       text->bytes[0] == '\0' || text->bytes[1] == '\0';
}

/* Reads [offset, offset + length) into a fresh buffer.
 * Guarantees: 0 with *bytes malloc'd, a parse failure when over the cap,
 * -ENOMEM, or a read error. */
static int xmp_load(struct scan_ctx *ctx, uint64_t offset, uint64_t length, char **bytes)
{
	int rc;

	*bytes = NULL;
	if (length > XMP_TEXT_MAX)
		return -SCAN_EUNPARSEABLE;
	if ((rc = scan_spend_work(ctx, length / 64)) < 0)
		return rc;
	*bytes = malloc(length ? length : 1);
	if (!*bytes)
		return -ENOMEM;
	rc = media_read(ctx->reader, offset, *bytes, length);
	if (rc < 0) {
		free(*bytes);
		*bytes = NULL;
	}
	return rc;
}

/* Assumes/guarantees: see scan.h. */
int xmp_scan(struct scan_ctx *ctx, uint64_t offset, uint64_t length)
{
	struct xmp_text text = { .length = length, .file_offset = offset };
	char *bytes;
	int rc = xmp_load(ctx, offset, length, &bytes);

	if (rc < 0)
		return rc;
	text.bytes = bytes;
	text.covered = calloc(length ? length : 1, 1);
	if (!text.covered) {
		free(bytes);
		return -ENOMEM;
	}
	if (xmp_is_wide_encoding(&text))
		rc = -SCAN_EUNPARSEABLE;
	else
		rc = xmp_walk_markup(ctx, &text);
	/* Every mention of "gps" must be a name we handled or inside a value we
	 * redact; anything else is a layout we do not understand. */
	for (size_t i = 0; rc == 0 && i + 3 <= length; i++)
		if (strncasecmp(bytes + i, "gps", 3) == 0 && !text.covered[i])
			rc = -SCAN_EUNPARSEABLE;
	if (text.found_gps)
		ctx->out->has_location = 1;
	free(text.covered);
	free(bytes);
	return rc;
}

/* Assumes/guarantees: see scan.h. */
int xmp_scan_fragment(struct scan_ctx *ctx, uint64_t offset, uint64_t length)
{
	char *bytes;
	int may_mention_gps = 0;
	int rc = xmp_load(ctx, offset, length, &bytes);

	if (rc < 0)
		return rc;
	for (size_t i = 0; i + 3 <= length && !may_mention_gps; i++)
		may_mention_gps = strncasecmp(bytes + i, "gps", 3) == 0;
	/* "gps" may straddle the chunk boundaries. */
	if (length >= 1 && (bytes[0] == 's' || bytes[0] == 'S' || bytes[length - 1] == 'g' ||
			    bytes[length - 1] == 'G'))
		may_mention_gps = 1;
	if (length >= 2 && (strncasecmp(bytes, "ps", 2) == 0 || strncasecmp(bytes + length - 2, "gp", 2) == 0))
		may_mention_gps = 1;
	free(bytes);
	return may_mention_gps ? scan_redact_block(ctx, offset, length) : 0;
}
