/*
 * path_test.c - the path classifier and the media type table.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "policy/path.h"

static void test_classify(void **state)
{
	static const struct {
		const char *relpath;
		int depth;
		long user;
		enum top_dir top;
		enum android_area android;
		const char *pkg;
		int fixed;
		enum media_type type;
	} rows[] = {
		{ "", 0, POLICY_USER_NONE, TOP_NONE, ANDROID_NONE, NULL, 1, MEDIA_OTHER },
		{ "0", 1, 0, TOP_NONE, ANDROID_NONE, NULL, 1, MEDIA_OTHER },
		{ "10", 1, 10, TOP_NONE, ANDROID_NONE, NULL, 1, MEDIA_OTHER },
		{ "010", 1, POLICY_USER_NONE, TOP_NONE, ANDROID_NONE, NULL, 0, MEDIA_OTHER },
		{ "lost+found", 1, POLICY_USER_NONE, TOP_NONE, ANDROID_NONE, NULL, 0, MEDIA_OTHER },
		{ "0/DCIM", 2, 0, TOP_DCIM, ANDROID_NONE, NULL, 1, MEDIA_OTHER },
		{ "0/dcim", 2, 0, TOP_UNKNOWN, ANDROID_NONE, NULL, 0, MEDIA_OTHER },
		{ "0/DCIM/a.JPG", 3, 0, TOP_DCIM, ANDROID_NONE, NULL, 0, MEDIA_IMAGE },
		{ "0/Movies/sub/v.mkv", 4, 0, TOP_MOVIES, ANDROID_NONE, NULL, 0, MEDIA_VIDEO },
		{ "0/Recordings/r.opus", 3, 0, TOP_RECORDINGS, ANDROID_NONE, NULL, 0, MEDIA_AUDIO },
		{ "0/Android", 2, 0, TOP_ANDROID, ANDROID_NONE, NULL, 1, MEDIA_OTHER },
		{ "0/Android/data", 3, 0, TOP_ANDROID, ANDROID_DATA, NULL, 1, MEDIA_OTHER },
		{ "0/Android/obb", 3, 0, TOP_ANDROID, ANDROID_OBB, NULL, 1, MEDIA_OTHER },
		{ "0/Android/media", 3, 0, TOP_ANDROID, ANDROID_MEDIA, NULL, 1, MEDIA_OTHER },
		{ "0/Android/junk", 3, 0, TOP_ANDROID, ANDROID_OTHER, NULL, 0, MEDIA_OTHER },
		{ "0/Android/data/com.a", 4, 0, TOP_ANDROID, ANDROID_DATA, "com.a", 0, MEDIA_OTHER },
		{ "7/Android/media/com.a/x/y.png", 6, 7, TOP_ANDROID, ANDROID_MEDIA, "com.a", 0, MEDIA_IMAGE },
		{ "0/Download/.jpg", 3, 0, TOP_DOWNLOAD, ANDROID_NONE, NULL, 0, MEDIA_OTHER },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct policy_path p;

		assert_int_equal(policy_path_classify(rows[i].relpath, &p), 0);
		if (p.depth != rows[i].depth || p.user_id != rows[i].user ||
		    p.top != rows[i].top || p.android != rows[i].android ||
		    p.is_fixed_dir != rows[i].fixed || p.media_type != rows[i].type)
			fail_msg("row %zu (%s): depth %d user %ld top %d android %d fixed %d type %d",
			         i, rows[i].relpath, p.depth, p.user_id, p.top, p.android,
			         p.is_fixed_dir, p.media_type);
		if (rows[i].pkg == NULL)
			assert_null(p.pkg);
		else
			assert_true(policy_path_pkg_is(&p, rows[i].pkg));
	}
}

static void test_malformed_paths(void **state)
{
	static const char *const bad[] = {
		"/0", "0/", "0//DCIM", "0/./DCIM", "0/../1", "..", ".",
	};
	struct policy_path p;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(policy_path_classify(bad[i], &p), -EINVAL);
}

static void test_media_types(void **state)
{
	static const char *const images[] = { "a.jpg", "a.JPEG", "a.png", "a.gif", "a.webp",
		"a.heic", "a.heif", "a.avif", "a.tif", "a.TIFF", "a.dng", "a.bmp" };
	static const char *const videos[] = { "a.mp4", "a.m4v", "a.MOV", "a.3gp", "a.mkv", "a.webm" };
	static const char *const audios[] = { "a.mp3", "a.m4a", "a.aac", "a.flac", "a.ogg",
		"a.opus", "a.WAV" };
	static const char *const others[] = { "a", "a.txt", "jpg", "a.jpg.txt", "a.", "a.mp44" };

	(void)state;
	for (size_t i = 0; i < sizeof(images) / sizeof(images[0]); i++)
		assert_int_equal(policy_media_type(images[i]), MEDIA_IMAGE);
	for (size_t i = 0; i < sizeof(videos) / sizeof(videos[0]); i++)
		assert_int_equal(policy_media_type(videos[i]), MEDIA_VIDEO);
	for (size_t i = 0; i < sizeof(audios) / sizeof(audios[0]); i++)
		assert_int_equal(policy_media_type(audios[i]), MEDIA_AUDIO);
	for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++)
		assert_int_equal(policy_media_type(others[i]), MEDIA_OTHER);
	assert_string_equal(policy_media_type_name(MEDIA_VIDEO), "video");
}

static void test_standard_dirs(void **state)
{
	size_t count;
	const char *const *dirs = policy_standard_dirs(&count);

	(void)state;
	assert_int_equal(count, 16);
	assert_string_equal(dirs[0], "DCIM");
	assert_string_equal(dirs[count - 1], "Android/obb");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_classify),
		cmocka_unit_test(test_malformed_paths),
		cmocka_unit_test(test_media_types),
		cmocka_unit_test(test_standard_dirs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
