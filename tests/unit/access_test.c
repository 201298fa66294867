/*
 * access_test.c - daemon/access.c end to end below FUSE: a real SOURCE tree
 * in $TEST_TMPDIR, a real SQLite file, and policy changes made through a
 * second connection (as mediactl would) seen by the very next check.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "daemon/access.h"
#include "db/db.h"
#include "index/scan_service.h"
#include <selinux/selinux.h>

struct fixture {
	char source[512];
	char db_path[512];
	int source_fd;
	struct access_state *st;
	struct scan_service *scanner;   /* the sandboxed media parsers */
	struct db_conn *cli;   /* the "mediactl" connection */
};

static const struct access_caller cam = { 10010, 10010, 1 };
static const struct access_caller gallery = { 10020, 10020, 2 };
static const struct access_caller root = { 0, 0, 3 };

static int setup(void **state)
{
	static int counter;
	struct fixture *f = calloc(1, sizeof(*f));
	const char *tmp = getenv("TEST_TMPDIR");
	char err[DB_ERRMSG_MAX], cmd[1200];
	const char *errmsg = NULL;

	snprintf(f->source, sizeof(f->source), "%s/src%d", tmp ? tmp : "/tmp", counter);
	snprintf(f->db_path, sizeof(f->db_path), "%s/policy%d.db", tmp ? tmp : "/tmp", counter++);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s'*", f->source, f->db_path);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(mkdir(f->source, 0755), 0);
	f->source_fd = open(f->source, O_RDONLY | O_DIRECTORY);
	assert_true(f->source_fd >= 0);
	assert_int_equal(db_open(f->db_path, &f->cli, err, sizeof(err)), 0);
	assert_int_equal(db_app_add(f->cli, 10010, "com.cam", 0), 0);
	assert_int_equal(db_app_add(f->cli, 1010020, "com.user10", 0), 0);
	assert_int_equal(db_app_add(f->cli, 10020, "com.gallery", 0), 0);
	if (access_open(f->db_path, f->source_fd, f->source, &f->st, &errmsg) != 0)
		fail_msg("access_open: %s", errmsg);
	{
		struct scan_service_config config;
		assert_int_equal(scan_service_default_config(&config), 0);
		assert_int_equal(scan_service_start(&config, &f->scanner), 0);
		access_use_scanner(f->st, f->scanner);
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	access_close(f->st);
	scan_service_stop(f->scanner);
	db_close(f->cli);
	close(f->source_fd);
	free(f);
	return 0;
}

/* Creates SOURCE/relpath with some bytes, returns its lstat. */
static struct stat make_file(struct fixture *f, const char *relpath)
{
	struct stat st;
	int fd = openat(f->source_fd, relpath, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, "data", 4), 4);
	close(fd);
	assert_int_equal(fstatat(f->source_fd, relpath, &st, AT_SYMLINK_NOFOLLOW), 0);
	return st;
}

static struct access_result check(struct fixture *f, const struct access_caller *caller,
                                  const char *relpath, const struct stat *st,
                                  enum access_op op)
{
	struct access_result res;

	assert_int_equal(access_check(f->st, caller, relpath, st, op, &res), 0);
	return res;
}

static void test_null_state_is_posix(void **state)
{
	struct access_result res;
	struct stat st = { .st_mode = S_IFREG | 0640, .st_uid = 5 };

	(void)state;
	assert_int_equal(access_check(NULL, &cam, "10/x", NULL, ACCESS_OP_CREATE, &res), 0);
	assert_int_equal(res.verdict, ACCESS_PLAIN);
	assert_int_equal(access_check_rename(NULL, &cam, "a", NULL, "b", &res), 0);
	assert_int_equal(res.verdict, ACCESS_PLAIN);
	access_present_attr(NULL, &cam, "0/x", &st);
	assert_int_equal(st.st_uid, 5);
	assert_int_equal(st.st_mode, S_IFREG | 0640);
	assert_int_equal(access_note_created(NULL, &cam, "0/x", &st), 0);
	assert_int_equal(access_note_removed(NULL, "0/x"), 0);
	assert_int_equal(access_names_depend_on_caller(NULL, ""), 0);
}

static void test_open_creates_user_dirs_and_records_source(void **state)
{
	struct fixture *f = *state;
	struct stat st;
	char value[512];

	assert_int_equal(fstatat(f->source_fd, "0/DCIM", &st, 0), 0);
	assert_int_equal(fstatat(f->source_fd, "0/Android/obb", &st, 0), 0);
	assert_int_equal(fstatat(f->source_fd, "10/Recordings", &st, 0), 0);
	assert_int_equal(db_meta_get(f->cli, "source_path", value, sizeof(value)), 0);
	assert_string_equal(value, f->source);
}

static void test_open_reports_corrupt_database(void **state)
{
	struct fixture *f = *state;
	struct access_state *st = NULL;
	const char *errmsg = NULL;
	char path[600];
	FILE *out;

	snprintf(path, sizeof(path), "%s.garbage", f->db_path);
	out = fopen(path, "w");
	assert_non_null(out);
	for (int i = 0; i < 100; i++)
		fputs("garbage garbage garbage ", out);
	fclose(out);
	assert_true(access_open(path, f->source_fd, f->source, &st, &errmsg) < 0);
	assert_non_null(errmsg);
	assert_non_null(strstr(errmsg, path));
	assert_null(strchr(errmsg, '\n'));
}

static void test_create_pending_close_and_permissions(void **state)
{
	struct fixture *f = *state;
	struct stat st;
	struct access_result res;

	res = check(f, &cam, "0/DCIM/a.jpg", NULL, ACCESS_OP_CREATE);
	assert_int_equal(res.verdict, ACCESS_PLAIN);
	st = make_file(f, "0/DCIM/a.jpg");
	assert_int_equal(access_note_created(f->st, &cam, "0/DCIM/a.jpg", &st), 0);
	/* Pending: only the owner sees it, even with READ_MEDIA_IMAGES. */
	assert_int_equal(db_permission_add(f->cli, 10020, "READ_MEDIA_IMAGES"), 0);
	res = check(f, &gallery, "0/DCIM/a.jpg", &st, ACCESS_OP_SEE);
	assert_int_equal(res.err, ENOENT);
	assert_string_equal(res.rule, "pending-hidden");
	res = check(f, &cam, "0/DCIM/a.jpg", &st, ACCESS_OP_WRITE);
	assert_string_equal(res.rule, "owner");
	assert_int_equal(access_note_closed_after_write(f->st, "0/DCIM/a.jpg", &st), 0);
	res = check(f, &gallery, "0/DCIM/a.jpg", &st, ACCESS_OP_READ);
	assert_int_equal(res.verdict, ACCESS_PLAIN);
	assert_string_equal(res.rule, "read-media-images");
	/* A revoke through another connection counts on the very next check. */
	assert_int_equal(db_permission_remove(f->cli, 10020, "READ_MEDIA_IMAGES"), 0);
	res = check(f, &gallery, "0/DCIM/a.jpg", &st, ACCESS_OP_READ);
	assert_int_equal(res.verdict, ACCESS_DENY);
	assert_int_equal(res.err, ENOENT);
	/* So does a per-file grant. */
	assert_int_equal(db_grant_set(f->cli, 10020, "0/DCIM/a.jpg", 1), 0);
	res = check(f, &gallery, "0/DCIM/a.jpg", &st, ACCESS_OP_WRITE);
	assert_string_equal(res.rule, "file-grant-write");
}

/*
 * Context conditions, through the glue, on a machine where SELinux may be
 * off: the caller's context cannot be read then, so a restricted permission
 * must not hold (fail closed) while unrestricted ones and owners are intact.
 */
static void test_context_conditions_fail_closed_without_a_context(void **state)
{
	struct fixture *f = *state;
	const struct access_caller gallery_now = { 10020, 10020, getpid() };
	struct access_result res;
	struct stat st = make_file(f, "0/DCIM/c.jpg"), vst = make_file(f, "0/Movies/v.mp4");

	assert_int_equal(access_note_created(f->st, &cam, "0/DCIM/c.jpg", &st), 0);
	assert_int_equal(access_note_closed_after_write(f->st, "0/DCIM/c.jpg", &st), 0);
	assert_int_equal(db_permission_add(f->cli, 10020, "READ_MEDIA_IMAGES"), 0);
	assert_int_equal(db_permission_add(f->cli, 10020, "READ_MEDIA_VIDEO"), 0);
	assert_int_equal(db_permission_context_add(f->cli, 10020, "READ_MEDIA_IMAGES",
	                                           "untrusted_app"), 0);
	/* Off by default: the condition is not even read. */
	res = check(f, &gallery_now, "0/DCIM/c.jpg", &st, ACCESS_OP_READ);
	assert_int_equal(res.verdict, ACCESS_PLAIN);
	access_use_caller_contexts(f->st, 1);
	if (is_selinux_enabled() <= 0) {
		res = check(f, &gallery_now, "0/DCIM/c.jpg", &st, ACCESS_OP_READ);
		assert_int_equal(res.verdict, ACCESS_DENY);
		res = check(f, &gallery_now, "0/Movies/v.mp4", &vst, ACCESS_OP_READ);
		assert_int_equal(res.verdict, ACCESS_PLAIN);  /* no condition on video */
		res = check(f, &cam, "0/DCIM/c.jpg", &st, ACCESS_OP_READ);
		assert_string_equal(res.rule, "owner");
	}
	/* Lifting the condition restores the permission on the next check. */
	assert_int_equal(db_permission_context_clear(f->cli, 10020, "READ_MEDIA_IMAGES"), 0);
	res = check(f, &gallery_now, "0/DCIM/c.jpg", &st, ACCESS_OP_READ);
	assert_int_equal(res.verdict, ACCESS_PLAIN);
}

/* A database deleted under the daemon fails every check closed (-EIO), and
 * no thread recreates an empty one at its path. */
static void test_deleted_database_fails_closed(void **state)
{
	struct fixture *f = *state;
	struct access_result res;
	struct stat st = make_file(f, "0/DCIM/d.jpg"), gone;
	char path[600];

	check(f, &cam, "0/DCIM/d.jpg", &st, ACCESS_OP_SEE);
	assert_int_equal(unlink(f->db_path), 0);
	snprintf(path, sizeof(path), "%s-wal", f->db_path);
	unlink(path);
	snprintf(path, sizeof(path), "%s-shm", f->db_path);
	unlink(path);
	assert_int_equal(access_check(f->st, &cam, "0/DCIM/d.jpg", &st, ACCESS_OP_SEE, &res), -EIO);
	assert_int_equal(stat(f->db_path, &gone), -1);
}

static void test_redaction_from_index(void **state)
{
	struct fixture *f = *state;
	struct access_range ranges[1] = { { 10, 20 } }, *got;
	struct access_result res;
	struct stat st = make_file(f, "0/DCIM/geo.jpg");
	size_t count;

	assert_int_equal(access_note_created(f->st, &cam, "0/DCIM/geo.jpg", &st), 0);
	assert_int_equal(access_note_closed_after_write(f->st, "0/DCIM/geo.jpg", &st), 0);
	assert_int_equal(access_note_media_info(f->st, "0/DCIM/geo.jpg", 1, NULL, ranges, 1), 0);
	assert_int_equal(db_permission_add(f->cli, 10020, "READ_MEDIA_IMAGES"), 0);
	res = check(f, &gallery, "0/DCIM/geo.jpg", &st, ACCESS_OP_READ);
	assert_int_equal(res.verdict, ACCESS_REDACT);
	res = check(f, &cam, "0/DCIM/geo.jpg", &st, ACCESS_OP_READ);
	assert_int_equal(res.verdict, ACCESS_PLAIN);
	assert_int_equal(db_permission_add(f->cli, 10020, "ACCESS_MEDIA_LOCATION"), 0);
	res = check(f, &gallery, "0/DCIM/geo.jpg", &st, ACCESS_OP_READ);
	assert_int_equal(res.verdict, ACCESS_PLAIN);
	assert_int_equal(access_redaction_ranges(f->st, "0/DCIM/geo.jpg", &st, &got, &count), 0);
	assert_int_equal(count, 1);
	assert_true(got[0].offset == 10 && got[0].length == 20);
	free(got);
}

static void test_unknown_files_indexed_without_owner(void **state)
{
	struct fixture *f = *state;
	struct access_result res;
	struct stat st = make_file(f, "0/Download/behind.txt");
	struct db_file rec;

	res = check(f, &cam, "0/Download/behind.txt", &st, ACCESS_OP_SEE);
	assert_int_equal(res.err, ENOENT);
	assert_string_equal(res.rule, "non-media-private");
	assert_int_equal(db_file_get(f->cli, "0/Download/behind.txt", &rec), 0);
	assert_int_equal(rec.owner_uid, DB_NO_OWNER);
	res = check(f, &root, "0/Download/behind.txt", &st, ACCESS_OP_WRITE);
	assert_string_equal(res.rule, "system");
	assert_int_equal(db_permission_add(f->cli, 10010, "MANAGE_EXTERNAL_STORAGE"), 0);
	res = check(f, &cam, "0/Download/behind.txt", &st, ACCESS_OP_WRITE);
	assert_string_equal(res.rule, "manage-external-storage");
}

static void test_rename_and_remove_keep_the_index(void **state)
{
	struct fixture *f = *state;
	struct access_result res;
	struct stat st = make_file(f, "0/DCIM/r.jpg");
	struct db_file rec;

	assert_int_equal(access_note_created(f->st, &cam, "0/DCIM/r.jpg", &st), 0);
	assert_int_equal(access_check_rename(f->st, &cam, "0/DCIM/r.jpg", &st,
	                                     "0/Music/r.jpg", &res), 0);
	assert_int_equal(res.err, EPERM);
	assert_int_equal(access_check_rename(f->st, &cam, "0/DCIM/r.jpg", &st,
	                                     "0/Pictures/r.jpg", &res), 0);
	assert_int_equal(res.verdict, ACCESS_PLAIN);
	assert_int_equal(access_check_rename(f->st, &gallery, "0/DCIM/r.jpg", &st,
	                                     "0/Pictures/r.jpg", &res), 0);
	assert_int_equal(res.verdict, ACCESS_DENY);
	assert_int_equal(access_note_renamed(f->st, "0/DCIM/r.jpg", "0/Pictures/r.jpg"), 0);
	assert_int_equal(db_file_get(f->cli, "0/Pictures/r.jpg", &rec), 0);
	assert_int_equal(rec.owner_uid, 10010);
	assert_int_equal(access_note_removed(f->st, "0/Pictures/r.jpg"), 0);
	assert_int_equal(db_file_get(f->cli, "0/Pictures/r.jpg", &rec), -ENOENT);
}

static void test_present_attr(void **state)
{
	struct fixture *f = *state;
	struct stat st = make_file(f, "0/DCIM/p.jpg"), shown;

	assert_int_equal(access_note_created(f->st, &cam, "0/DCIM/p.jpg", &st), 0);
	shown = st;
	access_present_attr(f->st, &cam, "0/DCIM/p.jpg", &shown);
	assert_int_equal(shown.st_uid, 10010);
	assert_int_equal(shown.st_mode & 07777, 0600);
	shown = st;
	access_present_attr(f->st, &root, "0/DCIM/p.jpg", &shown);
	assert_int_equal(shown.st_uid, st.st_uid);
	assert_int_equal(shown.st_mode, st.st_mode);
	/* Only an app's private area hides directory names from other apps. */
	assert_int_equal(access_names_depend_on_caller(f->st, "0/DCIM"), 0);
	assert_int_equal(access_names_depend_on_caller(f->st, "0/Android/data/com.cam"), 1);
	assert_int_equal(access_names_depend_on_caller(f->st, "0/Android/obb/com.cam/x"), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_null_state_is_posix),
		cmocka_unit_test_setup_teardown(test_open_creates_user_dirs_and_records_source, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_reports_corrupt_database, setup, teardown),
		cmocka_unit_test_setup_teardown(test_create_pending_close_and_permissions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_redaction_from_index, setup, teardown),
		cmocka_unit_test_setup_teardown(test_context_conditions_fail_closed_without_a_context,
		                                setup, teardown),
		cmocka_unit_test_setup_teardown(test_deleted_database_fails_closed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_files_indexed_without_owner, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rename_and_remove_keep_the_index, setup, teardown),
		cmocka_unit_test_setup_teardown(test_present_attr, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
