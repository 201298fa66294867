/*
 * engine_test.c - the decision engine, table by table, one table per row of
 * the policy (see the brief in policy/engine.h and mediactl --help).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "policy/engine.h"
#include "policy/path.h"

#define IMG POLICY_PERM_READ_MEDIA_IMAGES
#define VID POLICY_PERM_READ_MEDIA_VIDEO
#define AUD POLICY_PERM_READ_MEDIA_AUDIO
#define LOC POLICY_PERM_ACCESS_MEDIA_LOCATION
#define MGR POLICY_PERM_MANAGE_EXTERNAL_STORAGE

static const struct policy_app app_root = { 0, NULL, 0, 0 };
static const struct policy_app app_system = { 1000, NULL, 0, 0 };
static const struct policy_app app_cam = { 10010, "com.cam", 0, 0 };
static const struct policy_app app_gallery = { 10020, "com.gallery", IMG | VID, 0 };
static const struct policy_app app_gallery_loc = { 10021, "com.loc", IMG | VID | LOC, 0 };
static const struct policy_app app_music = { 10030, "com.music", AUD, 0 };
static const struct policy_app app_manager = { 10040, "com.files", MGR, 0 };
static const struct policy_app app_old = { 10050, "com.old", VID | LOC, 1 };
static const struct policy_app app_old_noloc = { 10060, "com.oldnoloc", VID, 1 };
static const struct policy_app app_anon = { 10060, NULL, 0, 0 };
static const struct policy_app app_cam_u10 = { 1010010, "com.cam", IMG | VID | AUD | MGR, 0 };

/* Index records. */
enum file_kind { F_NONE, F_CAM, F_UNOWNED, F_PENDING, F_LOCATION, F_HEVC, F_HEVC_LOC };

static const struct policy_file files[] = {
	[F_NONE] = { 0, -1, 0, 0, 0 },
	[F_CAM] = { 1, 10010, 0, 0, 0 },
	[F_UNOWNED] = { 1, -1, 0, 0, 0 },
	[F_PENDING] = { 1, 10010, 1, 0, 0 },
	[F_LOCATION] = { 1, 10010, 0, 1, 0 },
	[F_HEVC] = { 1, 10010, 0, 0, 1 },
	[F_HEVC_LOC] = { 1, 10010, 0, 1, 1 },
};

enum grant_kind { G_NONE, G_READ, G_WRITE };

static const struct policy_grant grants[] = {
	[G_NONE] = { 0, 0 }, [G_READ] = { 1, 0 }, [G_WRITE] = { 1, 1 },
};

#define DIR 1
#define REG 0
#define PLAIN POLICY_PLAIN
#define DENY POLICY_DENY
#define REDACT POLICY_REDACT
#define TRANSCODE POLICY_TRANSCODE
#define SEE POLICY_OP_SEE
#define READ POLICY_OP_READ
#define WRITE POLICY_OP_WRITE
#define CREATE POLICY_OP_CREATE
#define DELETE POLICY_OP_DELETE
#define MKDIR POLICY_OP_MKDIR
#define RMDIR POLICY_OP_RMDIR

struct case_row {
	const struct policy_app *app;
	const char *relpath;
	int is_dir;
	enum file_kind file;
	enum grant_kind grant;
	enum policy_op op;
	enum policy_verdict verdict;
	int err;
	const char *rule;
};

static void run_table(const struct case_row *rows, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		const struct case_row *row = &rows[i];
		struct policy_path path;
		struct policy_decision got;
		struct policy_request req = {
			.app = row->app, .path = &path, .is_dir = row->is_dir,
			.file = row->file == F_NONE ? NULL : &files[row->file],
			.grant = &grants[row->grant], .op = row->op,
		};

		assert_int_equal(policy_path_classify(row->relpath, &path), 0);
		policy_decide(&req, &got);
		if (got.verdict != row->verdict || got.err != row->err ||
		    strcmp(got.rule, row->rule) != 0)
			fail_msg("row %zu (uid %u, %s, op %d): got %s/%d/%s, want %s/%d/%s",
			         i, (unsigned)row->app->uid, row->relpath, (int)row->op,
			         policy_verdict_name(got.verdict), got.err, got.rule,
			         policy_verdict_name(row->verdict), row->err, row->rule);
	}
}

#define RUN(rows) run_table(rows, sizeof(rows) / sizeof(rows[0]))

static void test_system_may_do_everything(void **state)
{
	static const struct case_row rows[] = {
		{ &app_root, "10/DCIM/a.jpg", REG, F_CAM, G_NONE, READ, PLAIN, 0, "system" },
		{ &app_root, "0/Android/data/com.cam/x", REG, F_CAM, G_NONE, WRITE, PLAIN, 0, "system" },
		{ &app_system, "0/DCIM/a.jpg", REG, F_LOCATION, G_NONE, READ, PLAIN, 0, "system" },
		{ &app_system, "0/DCIM/v.mp4", REG, F_HEVC, G_NONE, READ, PLAIN, 0, "system" },
		{ &app_system, "0/DCIM/p.jpg", REG, F_PENDING, G_NONE, SEE, PLAIN, 0, "system" },
		{ &app_system, "0/NewTop", DIR, F_NONE, G_NONE, MKDIR, PLAIN, 0, "system" },
		{ &app_system, "0/DCIM", DIR, F_NONE, G_NONE, RMDIR, PLAIN, 0, "system" },
		{ &app_system, "0/DCIM/a.txt", REG, F_NONE, G_NONE, CREATE, PLAIN, 0, "system" },
	};
	(void)state;
	RUN(rows);
}

static void test_other_users_tree_is_refused(void **state)
{
	static const struct case_row rows[] = {
		{ &app_cam, "10", DIR, F_NONE, G_NONE, SEE, DENY, EACCES, "other-user" },
		{ &app_cam, "10/DCIM/a.jpg", REG, F_CAM, G_NONE, READ, DENY, EACCES, "other-user" },
		{ &app_manager, "10/Download/a.txt", REG, F_UNOWNED, G_NONE, SEE, DENY, EACCES, "other-user" },
		{ &app_cam_u10, "0/DCIM/a.jpg", REG, F_UNOWNED, G_NONE, READ, DENY, EACCES, "other-user" },
		{ &app_cam_u10, "0/Download/x.txt", REG, F_NONE, G_NONE, CREATE, DENY, EACCES, "other-user" },
		{ &app_cam_u10, "10/DCIM/a.jpg", REG, F_UNOWNED, G_NONE, READ, PLAIN, 0, "manage-external-storage" },
		{ &app_cam, "", DIR, F_NONE, G_NONE, SEE, PLAIN, 0, "standard-dir" },
		{ &app_cam, "lost+found", DIR, F_NONE, G_NONE, SEE, DENY, ENOENT, "not-a-user-dir" },
	};
	(void)state;
	RUN(rows);
}

static void test_android_data_and_obb_are_private(void **state)
{
	static const struct case_row rows[] = {
		{ &app_cam, "0/Android/data/com.cam", DIR, F_NONE, G_NONE, MKDIR, PLAIN, 0, "own-app-dir" },
		{ &app_cam, "0/Android/obb/com.cam", DIR, F_NONE, G_NONE, MKDIR, PLAIN, 0, "own-app-dir" },
		{ &app_cam, "0/Android/data/com.cam/f.bin", REG, F_NONE, G_NONE, CREATE, PLAIN, 0, "own-app-dir" },
		{ &app_cam, "0/Android/data/com.cam/f.bin", REG, F_UNOWNED, G_NONE, WRITE, PLAIN, 0, "own-app-dir" },
		{ &app_cam, "0/Android/data/com.cam/sub", DIR, F_NONE, G_NONE, RMDIR, PLAIN, 0, "own-app-dir" },
		{ &app_gallery, "0/Android/data/com.cam", DIR, F_NONE, G_NONE, SEE, DENY, ENOENT, "other-app-private-dir" },
		{ &app_gallery, "0/Android/data/com.cam", DIR, F_NONE, G_NONE, MKDIR, DENY, EPERM, "other-app-private-dir" },
		{ &app_gallery, "0/Android/obb/com.cam/x.obb", REG, F_CAM, G_NONE, READ, DENY, ENOENT, "other-app-private-dir" },
		{ &app_manager, "0/Android/data/com.cam/a.jpg", REG, F_CAM, G_NONE, SEE, DENY, ENOENT, "other-app-private-dir" },
		{ &app_manager, "0/Android/data/com.cam/a.jpg", REG, F_CAM, G_WRITE, READ, DENY, ENOENT, "other-app-private-dir" },
		{ &app_anon, "0/Android/data/com.cam", DIR, F_NONE, G_NONE, SEE, DENY, ENOENT, "other-app-private-dir" },
		{ &app_anon, "0/Android/data", DIR, F_NONE, G_NONE, READ, PLAIN, 0, "standard-dir" },
		{ &app_cam, "0/Android/data/com.camera", DIR, F_NONE, G_NONE, SEE, DENY, ENOENT, "other-app-private-dir" },
		{ &app_cam, "0/Android/media/com.cam", DIR, F_NONE, G_NONE, MKDIR, PLAIN, 0, "own-app-dir" },
		{ &app_cam, "0/Android/media/com.cam/n.bin", REG, F_NONE, G_NONE, CREATE, PLAIN, 0, "own-app-dir" },
		{ &app_gallery, "0/Android/media/com.cam", DIR, F_NONE, G_NONE, MKDIR, DENY, EPERM, "other-app-media-dir" },
		{ &app_gallery, "0/Android/media/com.cam", DIR, F_NONE, G_NONE, SEE, PLAIN, 0, "dir-visible" },
		{ &app_gallery, "0/Android/media/com.cam/a.jpg", REG, F_CAM, G_NONE, READ, PLAIN, 0, "read-media-images" },
		{ &app_gallery, "0/Android/media/com.cam/b.jpg", REG, F_NONE, G_NONE, CREATE, DENY, EPERM, "other-app-media-dir" },
	};
	(void)state;
	RUN(rows);
}

static void test_owner_may_do_everything_unredacted(void **state)
{
	static const struct case_row rows[] = {
		{ &app_cam, "0/DCIM/a.jpg", REG, F_CAM, G_NONE, SEE, PLAIN, 0, "owner" },
		{ &app_cam, "0/DCIM/a.jpg", REG, F_LOCATION, G_NONE, READ, PLAIN, 0, "owner" },
		{ &app_cam, "0/DCIM/v.mp4", REG, F_HEVC, G_NONE, READ, PLAIN, 0, "owner" },
		{ &app_cam, "0/DCIM/a.jpg", REG, F_CAM, G_NONE, WRITE, PLAIN, 0, "owner" },
		{ &app_cam, "0/DCIM/a.jpg", REG, F_CAM, G_NONE, DELETE, PLAIN, 0, "owner" },
		{ &app_cam, "0/Download/notes.txt", REG, F_CAM, G_NONE, READ, PLAIN, 0, "owner" },
		{ &app_cam, "0/DCIM/p.jpg", REG, F_PENDING, G_NONE, SEE, PLAIN, 0, "owner" },
	};
	(void)state;
	RUN(rows);
}

static void test_read_media_permissions(void **state)
{
	static const struct case_row rows[] = {
		{ &app_gallery, "0/DCIM/a.jpg", REG, F_CAM, G_NONE, SEE, PLAIN, 0, "read-media-images" },
		{ &app_gallery, "0/DCIM/a.JPG", REG, F_CAM, G_NONE, READ, PLAIN, 0, "read-media-images" },
		{ &app_gallery, "0/Movies/v.mp4", REG, F_UNOWNED, G_NONE, READ, PLAIN, 0, "read-media-video" },
		{ &app_gallery, "0/Download/a.png", REG, F_NONE, G_NONE, READ, PLAIN, 0, "read-media-images" },
		{ &app_gallery, "0/Music/s.mp3", REG, F_CAM, G_NONE, SEE, DENY, ENOENT, "no-permission" },
		{ &app_gallery, "0/DCIM/a.jpg", REG, F_CAM, G_NONE, WRITE, DENY, EACCES, "read-only-access" },
		{ &app_gallery, "0/DCIM/a.jpg", REG, F_CAM, G_NONE, DELETE, DENY, EACCES, "read-only-access" },
		{ &app_music, "0/Music/s.FLAC", REG, F_CAM, G_NONE, READ, PLAIN, 0, "read-media-audio" },
		{ &app_music, "0/DCIM/a.jpg", REG, F_CAM, G_NONE, READ, DENY, ENOENT, "no-permission" },
		{ &app_cam, "0/DCIM/b.jpg", REG, F_UNOWNED, G_NONE, SEE, DENY, ENOENT, "no-permission" },
		{ &app_anon, "0/DCIM/b.jpg", REG, F_CAM, G_NONE, READ, DENY, ENOENT, "no-permission" },
	};
	(void)state;
	RUN(rows);
}

static void test_per_file_grants(void **state)
{
	static const struct case_row rows[] = {
		{ &app_music, "0/DCIM/a.jpg", REG, F_CAM, G_READ, READ, PLAIN, 0, "file-grant-read" },
		{ &app_music, "0/DCIM/a.jpg", REG, F_CAM, G_READ, WRITE, DENY, EACCES, "read-only-access" },
		{ &app_music, "0/DCIM/a.jpg", REG, F_CAM, G_WRITE, WRITE, PLAIN, 0, "file-grant-write" },
		{ &app_music, "0/DCIM/a.jpg", REG, F_CAM, G_WRITE, DELETE, PLAIN, 0, "file-grant-write" },
		{ &app_anon, "0/DCIM/a.jpg", REG, F_CAM, G_READ, SEE, PLAIN, 0, "file-grant-read" },
		/* Redaction applies to read grants, never to write grants. */
		{ &app_music, "0/DCIM/a.jpg", REG, F_LOCATION, G_READ, READ, REDACT, 0, "redact-location" },
		{ &app_music, "0/DCIM/a.jpg", REG, F_LOCATION, G_WRITE, READ, PLAIN, 0, "file-grant-write" },
	};
	(void)state;
	RUN(rows);
}

static void test_manage_external_storage(void **state)
{
	static const struct case_row rows[] = {
		{ &app_manager, "0/Download/a.txt", REG, F_CAM, G_NONE, READ, PLAIN, 0, "manage-external-storage" },
		{ &app_manager, "0/Download/a.txt", REG, F_UNOWNED, G_NONE, WRITE, PLAIN, 0, "manage-external-storage" },
		{ &app_manager, "0/DCIM/a.jpg", REG, F_CAM, G_NONE, DELETE, PLAIN, 0, "manage-external-storage" },
		{ &app_manager, "0/DCIM/a.jpg", REG, F_LOCATION, G_NONE, READ, PLAIN, 0, "manage-external-storage" },
		{ &app_manager, "0/DCIM/notes.txt", REG, F_NONE, G_NONE, CREATE, PLAIN, 0, "manage-external-storage" },
		{ &app_manager, "0/Android/media/com.cam/x.txt", REG, F_NONE, G_NONE, CREATE, PLAIN, 0, "manage-external-storage" },
		{ &app_manager, "0/Android/obb/com.cam", DIR, F_NONE, G_NONE, SEE, DENY, ENOENT, "other-app-private-dir" },
		{ &app_manager, "0/NewTop", DIR, F_NONE, G_NONE, MKDIR, DENY, EPERM, "no-new-top-level" },
		{ &app_manager, "0/x.txt", REG, F_NONE, G_NONE, CREATE, DENY, EPERM, "create-outside-standard" },
		{ &app_manager, "0/DCIM/p.jpg", REG, F_PENDING, G_NONE, SEE, DENY, ENOENT, "pending-hidden" },
	};
	(void)state;
	RUN(rows);
}

static void test_non_media_files_are_private(void **state)
{
	static const struct case_row rows[] = {
		{ &app_gallery, "0/Download/notes.txt", REG, F_CAM, G_NONE, SEE, DENY, ENOENT, "non-media-private" },
		{ &app_gallery, "0/Download/notes.txt", REG, F_CAM, G_READ, READ, DENY, ENOENT, "non-media-private" },
		{ &app_anon, "0/Documents/r.pdf", REG, F_UNOWNED, G_NONE, SEE, DENY, ENOENT, "non-media-private" },
		{ &app_cam, "0/Download/notes.txt", REG, F_CAM, G_NONE, READ, PLAIN, 0, "owner" },
		{ &app_manager, "0/Download/notes.txt", REG, F_CAM, G_NONE, READ, PLAIN, 0, "manage-external-storage" },
	};
	(void)state;
	RUN(rows);
}

static void test_pending_files_only_for_owner(void **state)
{
	static const struct case_row rows[] = {
		{ &app_cam, "0/DCIM/p.jpg", REG, F_PENDING, G_NONE, WRITE, PLAIN, 0, "owner" },
		{ &app_gallery, "0/DCIM/p.jpg", REG, F_PENDING, G_NONE, SEE, DENY, ENOENT, "pending-hidden" },
		{ &app_gallery, "0/DCIM/p.jpg", REG, F_PENDING, G_WRITE, READ, DENY, ENOENT, "pending-hidden" },
	};
	(void)state;
	RUN(rows);
}

static void test_create_by_media_type(void **state)
{
	static const struct case_row rows[] = {
		{ &app_cam, "0/DCIM/a.jpg", REG, F_NONE, G_NONE, CREATE, PLAIN, 0, "create-type-fits" },
		{ &app_cam, "0/DCIM/Camera/v.mp4", REG, F_NONE, G_NONE, CREATE, PLAIN, 0, "create-type-fits" },
		{ &app_cam, "0/Pictures/v.MOV", REG, F_NONE, G_NONE, CREATE, PLAIN, 0, "create-type-fits" },
		{ &app_cam, "0/Movies/v.mkv", REG, F_NONE, G_NONE, CREATE, PLAIN, 0, "create-type-fits" },
		{ &app_cam, "0/Movies/a.jpg", REG, F_NONE, G_NONE, CREATE, DENY, EPERM, "create-type-mismatch" },
		{ &app_cam, "0/DCIM/s.mp3", REG, F_NONE, G_NONE, CREATE, DENY, EPERM, "create-type-mismatch" },
		{ &app_cam, "0/DCIM/notes.txt", REG, F_NONE, G_NONE, CREATE, DENY, EPERM, "create-type-mismatch" },
		{ &app_cam, "0/Music/s.mp3", REG, F_NONE, G_NONE, CREATE, PLAIN, 0, "create-type-fits" },
		{ &app_cam, "0/Podcasts/s.ogg", REG, F_NONE, G_NONE, CREATE, PLAIN, 0, "create-type-fits" },
		{ &app_cam, "0/Ringtones/s.wav", REG, F_NONE, G_NONE, CREATE, PLAIN, 0, "create-type-fits" },
		{ &app_cam, "0/Alarms/s.m4a", REG, F_NONE, G_NONE, CREATE, PLAIN, 0, "create-type-fits" },
		{ &app_cam, "0/Notifications/s.aac", REG, F_NONE, G_NONE, CREATE, PLAIN, 0, "create-type-fits" },
		{ &app_cam, "0/Audiobooks/s.opus", REG, F_NONE, G_NONE, CREATE, PLAIN, 0, "create-type-fits" },
		{ &app_cam, "0/Recordings/s.flac", REG, F_NONE, G_NONE, CREATE, PLAIN, 0, "create-type-fits" },
		{ &app_cam, "0/Music/v.mp4", REG, F_NONE, G_NONE, CREATE, DENY, EPERM, "create-type-mismatch" },
		{ &app_cam, "0/Download/x.bin", REG, F_NONE, G_NONE, CREATE, PLAIN, 0, "create-type-fits" },
		{ &app_cam, "0/Documents/sub/x.pdf", REG, F_NONE, G_NONE, CREATE, PLAIN, 0, "create-type-fits" },
		{ &app_anon, "0/Download/a.jpg", REG, F_NONE, G_NONE, CREATE, PLAIN, 0, "create-type-fits" },
		{ &app_cam, "0/x.jpg", REG, F_NONE, G_NONE, CREATE, DENY, EPERM, "create-outside-standard" },
		{ &app_cam, "0/Music", REG, F_NONE, G_NONE, CREATE, DENY, EPERM, "standard-dir-fixed" },
		{ &app_cam, "0/Android/x.txt", REG, F_NONE, G_NONE, CREATE, DENY, EPERM, "android-fixed" },
		{ &app_cam, "0/Android/media/x.txt", REG, F_NONE, G_NONE, CREATE, DENY, EPERM, "android-fixed" },
		{ &app_cam, "0/Stuff/a.jpg", REG, F_NONE, G_NONE, CREATE, DENY, EPERM, "create-outside-standard" },
	};
	(void)state;
	RUN(rows);
}

static void test_mkdir_and_rmdir(void **state)
{
	static const struct case_row rows[] = {
		{ &app_cam, "0/DCIM/Camera", DIR, F_NONE, G_NONE, MKDIR, PLAIN, 0, "mkdir-below-standard" },
		{ &app_anon, "0/Download/a/b", DIR, F_NONE, G_NONE, MKDIR, PLAIN, 0, "mkdir-below-standard" },
		{ &app_cam, "0/DCIM/Camera", DIR, F_NONE, G_NONE, RMDIR, PLAIN, 0, "mkdir-below-standard" },
		{ &app_cam, "0/NewTop", DIR, F_NONE, G_NONE, MKDIR, DENY, EPERM, "no-new-top-level" },
		{ &app_cam, "0/DCIM", DIR, F_NONE, G_NONE, RMDIR, DENY, EPERM, "standard-dir-fixed" },
		{ &app_cam, "0/DCIM", DIR, F_NONE, G_NONE, MKDIR, DENY, EPERM, "standard-dir-fixed" },
		{ &app_cam, "0/Android/data", DIR, F_NONE, G_NONE, RMDIR, DENY, EPERM, "standard-dir-fixed" },
		{ &app_cam, "0/Android/foo", DIR, F_NONE, G_NONE, MKDIR, DENY, EPERM, "android-fixed" },
		{ &app_cam, "0", DIR, F_NONE, G_NONE, RMDIR, DENY, EPERM, "standard-dir-fixed" },
		{ &app_cam, "1", DIR, F_NONE, G_NONE, MKDIR, DENY, EACCES, "other-user" },
		{ &app_cam, "0/Stuff", DIR, F_NONE, G_NONE, RMDIR, DENY, EPERM, "no-new-top-level" },
		{ &app_cam, "0/Stuff/sub", DIR, F_NONE, G_NONE, MKDIR, DENY, EPERM, "no-new-top-level" },
	};
	(void)state;
	RUN(rows);
}

static void test_directories_visible_within_user(void **state)
{
	static const struct case_row rows[] = {
		{ &app_anon, "0", DIR, F_NONE, G_NONE, SEE, PLAIN, 0, "standard-dir" },
		{ &app_anon, "0/DCIM", DIR, F_NONE, G_NONE, READ, PLAIN, 0, "standard-dir" },
		{ &app_anon, "0/Android", DIR, F_NONE, G_NONE, SEE, PLAIN, 0, "standard-dir" },
		{ &app_anon, "0/DCIM/Camera", DIR, F_NONE, G_NONE, SEE, PLAIN, 0, "dir-visible" },
		{ &app_anon, "0/Stuff", DIR, F_NONE, G_NONE, SEE, PLAIN, 0, "dir-visible" },
	};
	(void)state;
	RUN(rows);
}

static void test_redaction_and_transcoding(void **state)
{
	static const struct case_row rows[] = {
		{ &app_gallery, "0/DCIM/a.jpg", REG, F_LOCATION, G_NONE, READ, REDACT, 0, "redact-location" },
		/* SEE names the view a lookup returns: the redacted one. */
		{ &app_gallery, "0/DCIM/a.jpg", REG, F_LOCATION, G_NONE, SEE, REDACT, 0, "redact-location" },
		{ &app_gallery, "0/DCIM/v.mp4", REG, F_LOCATION, G_NONE, READ, REDACT, 0, "redact-location" },
		{ &app_gallery_loc, "0/DCIM/a.jpg", REG, F_LOCATION, G_NONE, READ, PLAIN, 0, "read-media-images" },
		{ &app_gallery, "0/DCIM/v.mp4", REG, F_HEVC, G_NONE, READ, PLAIN, 0, "read-media-video" },
		{ &app_old, "0/DCIM/v.mp4", REG, F_HEVC, G_NONE, READ, TRANSCODE, 0, "transcode-hevc" },
		{ &app_old, "0/DCIM/v.mp4", REG, F_HEVC_LOC, G_NONE, READ, TRANSCODE, 0, "transcode-hevc" },
		/* The AVC copy never carries location: it serves both needs. */
		{ &app_old_noloc, "0/DCIM/v.mp4", REG, F_HEVC_LOC, G_NONE, READ, TRANSCODE, 0, "transcode-hevc" },
		{ &app_old, "0/DCIM/v.mp4", REG, F_CAM, G_NONE, READ, PLAIN, 0, "read-media-video" },
		{ &app_old, "0/DCIM/v.mp4", REG, F_HEVC, G_WRITE, WRITE, PLAIN, 0, "file-grant-write" },
		{ &app_gallery, "0/DCIM/v.mp4", REG, F_HEVC_LOC, G_NONE, READ, REDACT, 0, "redact-location" },
	};
	(void)state;
	RUN(rows);
}

/* Renames: the source must be movable, the target creatable. */
static void test_rename(void **state)
{
	static const struct {
		const struct policy_app *app;
		const char *from, *to;
		int is_dir;
		enum file_kind file;
		enum grant_kind grant;
		enum policy_verdict verdict;
		int err;
		const char *rule;
	} rows[] = {
		{ &app_cam, "0/DCIM/a.jpg", "0/Pictures/a.jpg", REG, F_CAM, G_NONE, PLAIN, 0, "rename" },
		{ &app_cam, "0/DCIM/a.jpg", "0/Music/a.jpg", REG, F_CAM, G_NONE, DENY, EPERM, "create-type-mismatch" },
		{ &app_cam, "0/DCIM/a.jpg", "0/DCIM/a.txt", REG, F_CAM, G_NONE, DENY, EPERM, "create-type-mismatch" },
		{ &app_gallery, "0/DCIM/a.jpg", "0/DCIM/b.jpg", REG, F_CAM, G_NONE, DENY, EACCES, "read-only-access" },
		{ &app_music, "0/DCIM/a.jpg", "0/DCIM/b.jpg", REG, F_CAM, G_NONE, DENY, ENOENT, "no-permission" },
		{ &app_music, "0/DCIM/a.jpg", "0/DCIM/b.jpg", REG, F_CAM, G_WRITE, PLAIN, 0, "rename" },
		{ &app_cam, "0/DCIM/Camera", "0/Pictures/Camera", DIR, F_NONE, G_NONE, PLAIN, 0, "rename" },
		{ &app_cam, "0/DCIM", "0/Pictures2", DIR, F_NONE, G_NONE, DENY, EPERM, "standard-dir-fixed" },
		{ &app_cam, "0/DCIM/Camera", "0/Camera", DIR, F_NONE, G_NONE, DENY, EPERM, "no-new-top-level" },
		{ &app_cam, "0/Android/data/com.cam/a.jpg", "0/DCIM/a.jpg", REG, F_NONE, G_NONE, PLAIN, 0, "rename" },
		{ &app_cam, "0/DCIM/a.jpg", "0/Android/data/com.gallery/a.jpg", REG, F_CAM, G_NONE, DENY, ENOENT, "other-app-private-dir" },
		{ &app_cam, "0/DCIM/a.jpg", "10/DCIM/a.jpg", REG, F_CAM, G_NONE, DENY, EACCES, "other-user" },
		{ &app_root, "0/DCIM/a.jpg", "0/a.txt", REG, F_CAM, G_NONE, PLAIN, 0, "system" },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct policy_path from, to;
		struct policy_decision got;
		struct policy_request req = {
			.app = rows[i].app, .path = &from, .is_dir = rows[i].is_dir,
			.file = rows[i].file == F_NONE ? NULL : &files[rows[i].file],
			.grant = &grants[rows[i].grant],
		};

		assert_int_equal(policy_path_classify(rows[i].from, &from), 0);
		assert_int_equal(policy_path_classify(rows[i].to, &to), 0);
		policy_decide_rename(&req, &to, &got);
		if (got.verdict != rows[i].verdict || got.err != rows[i].err ||
		    strcmp(got.rule, rows[i].rule) != 0)
			fail_msg("rename row %zu: got %s/%d/%s", i,
			         policy_verdict_name(got.verdict), got.err, got.rule);
	}
}

static void test_present_mode(void **state)
{
	static const struct {
		const struct policy_app *app;
		const char *relpath;
		int is_dir;
		enum file_kind file;
		enum grant_kind grant;
		int mode;
	} rows[] = {
		{ &app_root, "0/DCIM/a.jpg", REG, F_CAM, G_NONE, -1 },
		{ &app_cam, "0/DCIM/a.jpg", REG, F_CAM, G_NONE, 0600 },
		{ &app_gallery, "0/DCIM/a.jpg", REG, F_CAM, G_NONE, 0400 },
		{ &app_music, "0/DCIM/a.jpg", REG, F_CAM, G_NONE, 0 },
		{ &app_music, "0/DCIM/a.jpg", REG, F_CAM, G_WRITE, 0600 },
		{ &app_cam, "0", DIR, F_NONE, G_NONE, 0500 },
		{ &app_cam, "0/DCIM", DIR, F_NONE, G_NONE, 0700 },
		{ &app_cam, "0/Android", DIR, F_NONE, G_NONE, 0500 },
		{ &app_cam, "0/Android/data", DIR, F_NONE, G_NONE, 0700 },
		{ &app_cam, "0/Android/data/com.cam", DIR, F_NONE, G_NONE, 0700 },
		{ &app_gallery, "0/Android/media/com.cam", DIR, F_NONE, G_NONE, 0500 },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct policy_path path;
		struct policy_request req = {
			.app = rows[i].app, .path = &path, .is_dir = rows[i].is_dir,
			.file = rows[i].file == F_NONE ? NULL : &files[rows[i].file],
			.grant = &grants[rows[i].grant],
		};

		assert_int_equal(policy_path_classify(rows[i].relpath, &path), 0);
		if (policy_present_mode(&req, 0644) != rows[i].mode)
			fail_msg("mode row %zu: got %o", i, policy_present_mode(&req, 0644));
	}
}

static void test_permission_names(void **state)
{
	unsigned bit = 0;

	(void)state;
	assert_int_equal(policy_permission_from_name("READ_MEDIA_IMAGES", &bit), 0);
	assert_int_equal(bit, POLICY_PERM_READ_MEDIA_IMAGES);
	assert_int_equal(policy_permission_from_name("MANAGE_EXTERNAL_STORAGE", &bit), 0);
	assert_string_equal(policy_permission_name(bit), "MANAGE_EXTERNAL_STORAGE");
	assert_int_equal(policy_permission_from_name("CAMERA", &bit), -EINVAL);
	assert_int_equal(policy_permission_from_name("read_media_images", &bit), -EINVAL);
	assert_null(policy_permission_name(1u << 20));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_system_may_do_everything),
		cmocka_unit_test(test_other_users_tree_is_refused),
		cmocka_unit_test(test_android_data_and_obb_are_private),
		cmocka_unit_test(test_owner_may_do_everything_unredacted),
		cmocka_unit_test(test_read_media_permissions),
		cmocka_unit_test(test_per_file_grants),
		cmocka_unit_test(test_manage_external_storage),
		cmocka_unit_test(test_non_media_files_are_private),
		cmocka_unit_test(test_pending_files_only_for_owner),
		cmocka_unit_test(test_create_by_media_type),
		cmocka_unit_test(test_mkdir_and_rmdir),
		cmocka_unit_test(test_directories_visible_within_user),
		cmocka_unit_test(test_redaction_and_transcoding),
		cmocka_unit_test(test_rename),
		cmocka_unit_test(test_present_mode),
		cmocka_unit_test(test_permission_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
