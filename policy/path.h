/*
 * path.h - the pure path classifier: what a SOURCE-relative path *is* to the
 * policy (which user, which standard top-level directory, which app's
 * private area, which media type). No I/O, no allocation.
 *
 * Layout it knows: "" is SOURCE; "<user>" a user directory ("0", "10");
 * "<user>/<top>" a top-level directory; "<user>/Android/{data,obb,media}/<pkg>"
 * an app's own area. Directory names match case-sensitively (Linux); media
 * extensions case-insensitively.
 */
#ifndef MEDIAFS_POLICY_PATH_H
#define MEDIAFS_POLICY_PATH_H

#include <stddef.h>

enum media_type {
	MEDIA_OTHER = 0,
	MEDIA_IMAGE = 1,
	MEDIA_VIDEO = 2,
	MEDIA_AUDIO = 3,
};

/* The top-level directory a path is in (or is). */
enum top_dir {
	TOP_NONE = 0,        /* the path is SOURCE or a user directory */
	TOP_DCIM,
	TOP_PICTURES,
	TOP_MOVIES,
	TOP_MUSIC,
	TOP_PODCASTS,
	TOP_RINGTONES,
	TOP_ALARMS,
	TOP_NOTIFICATIONS,
	TOP_AUDIOBOOKS,
	TOP_RECORDINGS,
	TOP_DOWNLOAD,
	TOP_DOCUMENTS,
	TOP_ANDROID,
	TOP_UNKNOWN,         /* a non-standard top-level name (appeared behind our back) */
};

/* Where below "<user>/Android" a path is. */
enum android_area {
	ANDROID_NONE = 0,    /* not below <user>/Android/<x> */
	ANDROID_DATA,
	ANDROID_OBB,
	ANDROID_MEDIA,
	ANDROID_OTHER,       /* <user>/Android/<something else> */
};

#define POLICY_USER_NONE (-1L)

struct policy_path {
	int depth;                  /* number of components: 0 SOURCE, 1 user dir, ... */
	long user_id;               /* POLICY_USER_NONE when depth 0 or not a user number */
	enum top_dir top;
	enum android_area android;
	const char *pkg;            /* package component (depth >= 4 below data/obb/media),
	                               points into the classified relpath; NULL otherwise */
	size_t pkg_len;
	int is_fixed_dir;           /* SOURCE, a user dir, a standard top-level dir or
	                               Android/{data,obb,media}: never created/removed by apps */
	enum media_type media_type; /* of the last component's extension */
};

/*
 * Classifies `relpath` (relative to SOURCE, no leading or trailing slash,
 * no empty, "." or ".." components). The result points into relpath, which
 * must outlive it. Returns 0, or -EINVAL for a malformed path.
 */
int policy_path_classify(const char *relpath, struct policy_path *out);

/* Media type of a file name by its extension (case-insensitive). */
enum media_type policy_media_type(const char *name);

/* The same for the last component of a path. */
enum media_type policy_media_type_of_path(const char *path);

/* "image", "video", "audio" or "other". */
const char *policy_media_type_name(enum media_type type);

/*
 * The standard directories of a user directory, parents before children
 * ("DCIM", ..., "Android", "Android/data", ...). Sets *count.
 */
const char *const *policy_standard_dirs(size_t *count);

/* True when the package component of `path` equals `package` (NULL: never). */
int policy_path_pkg_is(const struct policy_path *path, const char *package);

#endif
