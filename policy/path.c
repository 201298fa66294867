/*
 * path.c - the pure path classifier (see path.h).
 */
#include "policy/path.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

struct top_name {
	const char *name;
	enum top_dir top;
};

static const struct top_name top_names[] = {
	{ "DCIM", TOP_DCIM },
	{ "Pictures", TOP_PICTURES },
	{ "Movies", TOP_MOVIES },
	{ "Music", TOP_MUSIC },
	{ "Podcasts", TOP_PODCASTS },
	{ "Ringtones", TOP_RINGTONES },
	{ "Alarms", TOP_ALARMS },
	{ "Notifications", TOP_NOTIFICATIONS },
	{ "Audiobooks", TOP_AUDIOBOOKS },
	{ "Recordings", TOP_RECORDINGS },
	{ "Download", TOP_DOWNLOAD },
	{ "Documents", TOP_DOCUMENTS },
	{ "Android", TOP_ANDROID },
};

static const char *const standard_dirs[] = {
	"DCIM", "Pictures", "Movies", "Music", "Podcasts", "Ringtones", "Alarms",
	"Notifications", "Audiobooks", "Recordings", "Download", "Documents",
	"Android", "Android/data", "Android/media", "Android/obb",
};

struct ext_type {
	const char *ext;
	enum media_type type;
};

static const struct ext_type ext_types[] = {
	{ "jpg", MEDIA_IMAGE }, { "jpeg", MEDIA_IMAGE }, { "png", MEDIA_IMAGE },
	{ "gif", MEDIA_IMAGE }, { "webp", MEDIA_IMAGE }, { "heic", MEDIA_IMAGE },
	{ "heif", MEDIA_IMAGE }, { "avif", MEDIA_IMAGE }, { "tif", MEDIA_IMAGE },
	{ "tiff", MEDIA_IMAGE }, { "dng", MEDIA_IMAGE }, { "bmp", MEDIA_IMAGE },
	{ "mp4", MEDIA_VIDEO }, { "m4v", MEDIA_VIDEO }, { "mov", MEDIA_VIDEO },
	{ "3gp", MEDIA_VIDEO }, { "mkv", MEDIA_VIDEO }, { "webm", MEDIA_VIDEO },
	{ "mp3", MEDIA_AUDIO }, { "m4a", MEDIA_AUDIO }, { "aac", MEDIA_AUDIO },
	{ "flac", MEDIA_AUDIO }, { "ogg", MEDIA_AUDIO }, { "opus", MEDIA_AUDIO },
	{ "wav", MEDIA_AUDIO },
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* True when the component [s, s+len) equals the NUL-terminated `word`. */
static int component_is(const char *s, size_t len, const char *word)
{
	return strlen(word) == len && memcmp(s, word, len) == 0;
}

/* Parses a user number: digits only, no leading zero unless "0", < 100000
 * (uid / 100000 of a 32-bit uid is below 42950). */
static long parse_user_id(const char *s, size_t len)
{
	long value = 0;

	if (len == 0 || len > 5 || (len > 1 && s[0] == '0'))
		return POLICY_USER_NONE;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return POLICY_USER_NONE;
		value = value * 10 + (s[i] - '0');
	}
	return value;
}

static enum top_dir top_from_name(const char *s, size_t len)
{
	for (size_t i = 0; i < COUNT(top_names); i++)
		if (component_is(s, len, top_names[i].name))
			return top_names[i].top;
	return TOP_UNKNOWN;
}

static enum android_area android_from_name(const char *s, size_t len)
{
	if (component_is(s, len, "data"))
		return ANDROID_DATA;
	if (component_is(s, len, "obb"))
		return ANDROID_OBB;
	if (component_is(s, len, "media"))
		return ANDROID_MEDIA;
	return ANDROID_OTHER;
}

enum media_type policy_media_type_of_path(const char *path)
{
	const char *slash = strrchr(path, '/');

	return policy_media_type(slash ? slash + 1 : path);
}

enum media_type policy_media_type(const char *name)
{
	const char *dot = strrchr(name, '.');

	/* "jpg" alone or ".jpg" (a hidden file) has no extension. */
	if (dot == NULL || dot == name || dot[1] == '\0')
		return MEDIA_OTHER;
	for (size_t i = 0; i < COUNT(ext_types); i++)
		if (strcasecmp(dot + 1, ext_types[i].ext) == 0)
			return ext_types[i].type;
	return MEDIA_OTHER;
}

const char *policy_media_type_name(enum media_type type)
{
	switch (type) {
	case MEDIA_IMAGE: return "image";
	case MEDIA_VIDEO: return "video";
	case MEDIA_AUDIO: return "audio";
	default: return "other";
	}
}

const char *const *policy_standard_dirs(size_t *count)
{
	*count = COUNT(standard_dirs);
	return standard_dirs;
}

int policy_path_pkg_is(const struct policy_path *path, const char *package)
{
	return package != NULL && path->pkg != NULL &&
	       component_is(path->pkg, path->pkg_len, package);
}

/* Records what component number `index` (0-based) tells about the path. */
static void classify_component(struct policy_path *out, int index,
                               const char *s, size_t len)
{
	switch (index) {
	case 0:
		out->user_id = parse_user_id(s, len);
		out->is_fixed_dir = out->user_id != POLICY_USER_NONE;
		break;
	case 1:
		out->top = top_from_name(s, len);
		out->is_fixed_dir = out->user_id != POLICY_USER_NONE &&
		                    out->top != TOP_UNKNOWN;
		break;
	case 2:
		out->is_fixed_dir = 0;
		if (out->top == TOP_ANDROID) {
			out->android = android_from_name(s, len);
			out->is_fixed_dir = out->user_id != POLICY_USER_NONE &&
			                    out->android != ANDROID_OTHER;
		}
		break;
	case 3:
		out->is_fixed_dir = 0;
		if (out->android != ANDROID_NONE && out->android != ANDROID_OTHER) {
			out->pkg = s;
			out->pkg_len = len;
		}
		break;
	default:
		break;
	}
}

int policy_path_classify(const char *relpath, struct policy_path *out)
{
	const char *s = relpath;

	memset(out, 0, sizeof(*out));
	out->user_id = POLICY_USER_NONE;
	out->is_fixed_dir = 1;
	if (*s == '\0')
		return 0;
	for (;;) {
		const char *slash = strchr(s, '/');
		size_t len = slash ? (size_t)(slash - s) : strlen(s);

		if (len == 0 || component_is(s, len, ".") || component_is(s, len, ".."))
			return -EINVAL;
		classify_component(out, out->depth, s, len);
		out->depth++;
		if (slash == NULL) {
			out->media_type = policy_media_type(s);
			return 0;
		}
		s = slash + 1;
	}
}
