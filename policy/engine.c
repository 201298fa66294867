/*
 * engine.c - the pure access decision (see engine.h). Rules are checked from
 * the most general (system caller, other user's tree, app-private areas) to
 * the most specific (one file's owner, grants, media permissions).
 */
#include "policy/engine.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>

static const char *const permission_names[POLICY_PERM_COUNT] = {
	"READ_MEDIA_IMAGES",
	"READ_MEDIA_VIDEO",
	"READ_MEDIA_AUDIO",
	"ACCESS_MEDIA_LOCATION",
	"MANAGE_EXTERNAL_STORAGE",
};

int policy_is_system_uid(uid_t uid)
{
	return uid < POLICY_FIRST_APP_UID;
}

int policy_permission_from_name(const char *name, unsigned *bit)
{
	for (unsigned i = 0; i < POLICY_PERM_COUNT; i++) {
		if (strcmp(name, permission_names[i]) == 0) {
			*bit = 1u << i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *policy_permission_name(unsigned bit)
{
	for (unsigned i = 0; i < POLICY_PERM_COUNT; i++)
		if (bit == 1u << i)
			return permission_names[i];
	return NULL;
}

const char *policy_verdict_name(enum policy_verdict verdict)
{
	switch (verdict) {
	case POLICY_PLAIN: return "plain";
	case POLICY_REDACT: return "redact";
	case POLICY_TRANSCODE: return "transcode";
	default: return "deny";
	}
}

static void allow(struct policy_decision *out, enum policy_verdict verdict,
                  const char *rule)
{
	out->verdict = verdict;
	out->err = 0;
	out->rule = rule;
}

static void deny(struct policy_decision *out, int err, const char *rule)
{
	out->verdict = POLICY_DENY;
	out->err = err;
	out->rule = rule;
}

static int has_perm(const struct policy_app *app, unsigned bit)
{
	return (app->permissions & bit) != 0;
}

static int is_manager(const struct policy_app *app)
{
	return has_perm(app, POLICY_PERM_MANAGE_EXTERNAL_STORAGE);
}

/* Android/data/<pkg>... or Android/obb/<pkg>...: private to <pkg>. */
static int in_private_app_area(const struct policy_path *path)
{
	return path->depth >= 4 &&
	       (path->android == ANDROID_DATA || path->android == ANDROID_OBB);
}

/* Android/media/<pkg>...: shared for reading, writable by <pkg>. */
static int in_app_media_area(const struct policy_path *path)
{
	return path->depth >= 4 && path->android == ANDROID_MEDIA;
}

/* Does a file of `type` belong directly or deeper in `top`? */
static int type_fits_top(enum media_type type, enum top_dir top)
{
	switch (top) {
	case TOP_DCIM:
		return type == MEDIA_IMAGE || type == MEDIA_VIDEO;
	case TOP_PICTURES:
		return type == MEDIA_IMAGE || type == MEDIA_VIDEO;
	case TOP_MOVIES:
		return type == MEDIA_VIDEO;
	case TOP_MUSIC: case TOP_PODCASTS: case TOP_RINGTONES: case TOP_ALARMS:
	case TOP_NOTIFICATIONS: case TOP_AUDIOBOOKS: case TOP_RECORDINGS:
		return type == MEDIA_AUDIO;
	case TOP_DOWNLOAD: case TOP_DOCUMENTS:
		return 1;
	default:
		return 0;
	}
}

/*
 * May apps create or remove directories at `path` (not a fixed dir)?
 * Below a standard top-level dir other than Android; below Android only
 * inside Android/media/<pkg> (the package itself, or a manager).
 */
static int dir_change_allowed(const struct policy_request *req, const char **rule)
{
	const struct policy_path *path = req->path;

	*rule = "mkdir-below-standard";
	if (path->depth < 3 || path->top == TOP_UNKNOWN || path->top == TOP_NONE) {
		*rule = "no-new-top-level";
		return 0;
	}
	if (path->top != TOP_ANDROID)
		return 1;
	if (!in_app_media_area(path)) {
		*rule = "android-fixed";
		return 0;
	}
	if (policy_path_pkg_is(path, req->app->package)) {
		*rule = "own-app-dir";
		return 1;
	}
	if (path->depth > 4 && is_manager(req->app)) {
		*rule = "manage-external-storage";
		return 1;
	}
	*rule = "other-app-media-dir";
	return 0;
}

static void decide_create(const struct policy_request *req, struct policy_decision *out)
{
	const struct policy_path *path = req->path;

	if (path->depth < 3 || path->top == TOP_UNKNOWN || path->top == TOP_NONE)
		return deny(out, EPERM, "create-outside-standard");
	if (path->top == TOP_ANDROID) {
		if (!in_app_media_area(path) || path->depth < 5)
			return deny(out, EPERM, "android-fixed");
		if (policy_path_pkg_is(path, req->app->package))
			return allow(out, POLICY_PLAIN, "own-app-dir");
		if (is_manager(req->app))
			return allow(out, POLICY_PLAIN, "manage-external-storage");
		return deny(out, EPERM, "other-app-media-dir");
	}
	/* Like Android's all-files access: a manager may put any type anywhere. */
	if (is_manager(req->app))
		return allow(out, POLICY_PLAIN, "manage-external-storage");
	if (type_fits_top(path->media_type, path->top))
		return allow(out, POLICY_PLAIN, "create-type-fits");
	return deny(out, EPERM, "create-type-mismatch");
}

static void decide_existing_dir(const struct policy_request *req,
                                struct policy_decision *out)
{
	const char *rule;

	switch (req->op) {
	case POLICY_OP_SEE:
	case POLICY_OP_READ:
		return allow(out, POLICY_PLAIN, "dir-visible");
	case POLICY_OP_RMDIR:
	case POLICY_OP_RENAME_FROM:
	case POLICY_OP_WRITE:
		if (dir_change_allowed(req, &rule))
			return allow(out, POLICY_PLAIN, rule);
		return deny(out, EPERM, rule);
	default:
		return deny(out, EISDIR, "is-a-directory");
	}
}

/* The READ_MEDIA_* permission that covers `type`, 0 for non-media. */
static unsigned read_perm_for(enum media_type type)
{
	switch (type) {
	case MEDIA_IMAGE: return POLICY_PERM_READ_MEDIA_IMAGES;
	case MEDIA_VIDEO: return POLICY_PERM_READ_MEDIA_VIDEO;
	case MEDIA_AUDIO: return POLICY_PERM_READ_MEDIA_AUDIO;
	default: return 0;
	}
}

static const char *read_rule_for(enum media_type type)
{
	switch (type) {
	case MEDIA_IMAGE: return "read-media-images";
	case MEDIA_VIDEO: return "read-media-video";
	default: return "read-media-audio";
	}
}

/* What a non-owner may do with someone else's file, and why. */
struct file_access {
	int may_read;
	int may_write;
	const char *rule;
};

static void non_owner_access(const struct policy_request *req, struct file_access *acc)
{
	enum media_type type = req->path->media_type;
	unsigned read_perm = read_perm_for(type);

	acc->may_read = acc->may_write = 0;
	if (is_manager(req->app)) {
		acc->may_read = acc->may_write = 1;
		acc->rule = "manage-external-storage";
	} else if (type == MEDIA_OTHER) {
		acc->rule = "non-media-private";
	} else if (req->grant != NULL && req->grant->write) {
		acc->may_read = acc->may_write = 1;
		acc->rule = "file-grant-write";
	} else if (req->grant != NULL && req->grant->read) {
		acc->may_read = 1;
		acc->rule = "file-grant-read";
	} else if (has_perm(req->app, read_perm)) {
		acc->may_read = 1;
		acc->rule = read_rule_for(type);
	} else {
		acc->rule = "no-permission";
	}
}

/* A read-only open of someone else's media: redact location, transcode HEVC. */
static void decide_read_view(const struct policy_request *req,
                             const struct file_access *acc,
                             struct policy_decision *out)
{
	const struct policy_file *file = req->file;
	enum media_type type = req->path->media_type;

	/* An app that cannot decode HEVC gets the AVC copy, which never carries
	 * location either: transcoding covers redaction. */
	if (file != NULL && type == MEDIA_VIDEO && file->is_hevc && req->app->no_hevc)
		return allow(out, POLICY_TRANSCODE, "transcode-hevc");
	/* Whoever may write can read the original bytes through O_RDWR anyway. */
	if (file != NULL && !acc->may_write && file->has_location &&
	    (type == MEDIA_IMAGE || type == MEDIA_VIDEO) &&
	    !has_perm(req->app, POLICY_PERM_ACCESS_MEDIA_LOCATION))
		return allow(out, POLICY_REDACT, "redact-location");
	allow(out, POLICY_PLAIN, acc->rule);
}

static void decide_existing_file(const struct policy_request *req,
                                 struct policy_decision *out)
{
	const struct policy_file *file = req->file;
	struct file_access acc;

	if (file != NULL && file->indexed && file->owner_uid == (int64_t)req->app->uid)
		return allow(out, POLICY_PLAIN, "owner");
	if (in_app_media_area(req->path) && policy_path_pkg_is(req->path, req->app->package))
		return allow(out, POLICY_PLAIN, "own-app-dir");
	if (file != NULL && file->pending)
		return deny(out, ENOENT, "pending-hidden");
	non_owner_access(req, &acc);
	if (!acc.may_read)
		return deny(out, ENOENT, acc.rule);
	switch (req->op) {
	case POLICY_OP_SEE:
		/* Seeing names the view a lookup must return: the same as reading. */
	case POLICY_OP_READ:
		return decide_read_view(req, &acc, out);
	case POLICY_OP_WRITE:
	case POLICY_OP_DELETE:
	case POLICY_OP_RENAME_FROM:
		if (acc.may_write)
			return allow(out, POLICY_PLAIN, acc.rule);
		return deny(out, EACCES, "read-only-access");
	default:
		return deny(out, ENOTDIR, "not-a-directory");
	}
}

/* SOURCE, a user directory, a standard top-level dir, Android/{data,obb,media}. */
static void decide_fixed_dir(const struct policy_request *req, struct policy_decision *out)
{
	if (req->op == POLICY_OP_SEE || req->op == POLICY_OP_READ)
		return allow(out, POLICY_PLAIN, "standard-dir");
	return deny(out, EPERM, "standard-dir-fixed");
}

/* Android/data/<pkg>... and Android/obb/<pkg>...: the package's alone. */
static void decide_private_area(const struct policy_request *req,
                                struct policy_decision *out)
{
	if (policy_path_pkg_is(req->path, req->app->package))
		return allow(out, POLICY_PLAIN, "own-app-dir");
	/* Creating someone else's package dir is refused without saying whether it exists. */
	if (req->path->depth == 4 && req->op == POLICY_OP_MKDIR)
		return deny(out, EPERM, "other-app-private-dir");
	deny(out, ENOENT, "other-app-private-dir");
}

void policy_decide(const struct policy_request *req, struct policy_decision *out)
{
	const struct policy_path *path = req->path;
	const struct policy_app *app = req->app;

	if (policy_is_system_uid(app->uid))
		return allow(out, POLICY_PLAIN, "system");
	if (path->depth == 0)
		return decide_fixed_dir(req, out);
	if (path->user_id == POLICY_USER_NONE) {
		/* Nothing is created beside the user directories. */
		if (req->op == POLICY_OP_CREATE || req->op == POLICY_OP_MKDIR)
			return deny(out, EPERM, "no-new-top-level");
		return deny(out, path->depth == 1 ? ENOENT : EACCES, "not-a-user-dir");
	}
	if (path->user_id != (long)(app->uid / POLICY_PER_USER_RANGE))
		return deny(out, EACCES, "other-user");
	if (in_private_app_area(path))
		return decide_private_area(req, out);
	if (path->is_fixed_dir)
		return decide_fixed_dir(req, out);
	if (req->op == POLICY_OP_CREATE)
		return decide_create(req, out);
	if (req->op == POLICY_OP_MKDIR) {
		const char *rule;

		if (dir_change_allowed(req, &rule))
			return allow(out, POLICY_PLAIN, rule);
		return deny(out, EPERM, rule);
	}
	if (req->is_dir)
		return decide_existing_dir(req, out);
	decide_existing_file(req, out);
}

void policy_decide_rename(const struct policy_request *from,
                          const struct policy_path *to_path,
                          struct policy_decision *out)
{
	struct policy_request to = {
		.app = from->app,
		.path = to_path,
		.op = from->is_dir ? POLICY_OP_MKDIR : POLICY_OP_CREATE,
	};
	struct policy_request src = *from;

	src.op = POLICY_OP_RENAME_FROM;
	policy_decide(&src, out);
	if (out->verdict == POLICY_DENY)
		return;
	policy_decide(&to, out);
	if (out->verdict == POLICY_DENY)
		return;
	if (!policy_is_system_uid(from->app->uid))
		out->rule = "rename";
}

int policy_present_mode(const struct policy_request *req, mode_t real_mode)
{
	struct policy_request probe = *req;
	struct policy_decision decision;

	if (policy_is_system_uid(req->app->uid))
		return -1;
	if (req->is_dir) {
		const char *rule;

		/* Writable where the caller could make a subdirectory or a file. */
		struct policy_path child = *req->path;

		child.depth++;
		child.is_fixed_dir = 0;
		if (req->path->depth == 3 && req->path->android != ANDROID_NONE &&
		    req->path->android != ANDROID_OTHER)
			return 0700; /* Android/{data,obb,media}: room for the caller's package dir */
		probe.path = &child;
		if (in_private_app_area(&child) || (child.depth >= 3 && dir_change_allowed(&probe, &rule)))
			return 0700;
		return 0500;
	}
	probe.op = POLICY_OP_WRITE;
	policy_decide(&probe, &decision);
	if (decision.verdict != POLICY_DENY)
		return 0600 | (real_mode & 0100);
	probe.op = POLICY_OP_READ;
	policy_decide(&probe, &decision);
	if (decision.verdict != POLICY_DENY)
		return 0400 | (real_mode & 0100);
	return 0;
}
