/*
 * db_test.c - db/ against real SQLite files in $TEST_TMPDIR: creation,
 * migration, corrupt files, every query, the app cache's invalidation,
 * change stamps, the record cache and concurrent writers.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#include <sqlite3.h>

#include "db/app_cache.h"
#include "db/change_stamp.h"
#include "db/db.h"
#include "db/record_cache.h"

/* A fresh database path per test. */
static void fresh_path(char *buf, size_t len, const char *name)
{
	const char *dir = getenv("TEST_TMPDIR");

	snprintf(buf, len, "%s/%s.db", dir ? dir : "/tmp", name);
	unlink(buf);
	snprintf(buf + strlen(buf), 8, "-wal");
	unlink(buf);
	buf[strlen(buf) - 4] = '\0';
}

static struct db_conn *open_ok(const char *path)
{
	char err[DB_ERRMSG_MAX];
	struct db_conn *conn = NULL;
	int rc = db_open(path, &conn, err, sizeof(err));

	if (rc != 0)
		fail_msg("db_open: %d %s", rc, err);
	return conn;
}

/* Reads one integer with the sqlite3 API directly. */
static long long query_int(const char *path, const char *sql)
{
	sqlite3 *db;
	sqlite3_stmt *stmt;
	long long value = -1;

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &stmt, NULL), SQLITE_OK);
	if (sqlite3_step(stmt) == SQLITE_ROW)
		value = sqlite3_column_int64(stmt, 0);
	sqlite3_finalize(stmt);
	sqlite3_close(db);
	return value;
}

static void test_create_and_migrate(void **state)
{
	char path[512];
	sqlite3 *db;
	sqlite3_stmt *stmt;
	struct db_conn *conn;

	(void)state;
	fresh_path(path, sizeof(path), "create");
	conn = open_ok(path);
	db_close(conn);
	assert_int_equal(query_int(path, "PRAGMA user_version"), DB_SCHEMA_VERSION);
	assert_int_equal(query_int(path, "SELECT count(*) FROM sqlite_schema WHERE name = 'files'"), 1);
	/* WAL is persistent: a plain connection sees it. */
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &stmt, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(stmt, 0), "wal");
	sqlite3_finalize(stmt);
	sqlite3_close(db);
	/* Reopening an up-to-date database migrates nothing. */
	conn = open_ok(path);
	db_close(conn);
	assert_int_equal(query_int(path, "SELECT value FROM meta WHERE key = 'policy_version'"), 0);
}

static void test_corrupt_and_newer_databases(void **state)
{
	char path[512], err[DB_ERRMSG_MAX];
	struct db_conn *conn;
	sqlite3 *db;
	int fd;

	(void)state;
	fresh_path(path, sizeof(path), "corrupt");
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	for (int i = 0; i < 64; i++)
		assert_int_equal(write(fd, "this is not a database. ", 24), 24);
	close(fd);
	assert_int_equal(db_open(path, &conn, err, sizeof(err)), -EIO);
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, "not a valid SQLite database"));
	assert_null(strchr(err, '\n'));

	fresh_path(path, sizeof(path), "newer");
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(db_open(path, &conn, err, sizeof(err)), -EPROTO);
	assert_non_null(strstr(err, "newer"));

	assert_true(db_open("/nonexistent-dir/x.db", &conn, err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "/nonexistent-dir/x.db"));
}

static int count_app(const struct db_app *app, void *ctx)
{
	(void)app;
	++*(int *)ctx;
	return 0;
}

static int collect_perm(const char *name, void *ctx)
{
	strcat(ctx, name);
	strcat(ctx, ",");
	return 0;
}

static void test_apps_and_permissions(void **state)
{
	char path[512], perms[256] = "";
	struct db_conn *conn;
	struct db_app app;
	int64_t version;
	int count = 0;

	(void)state;
	fresh_path(path, sizeof(path), "apps");
	conn = open_ok(path);
	assert_int_equal(db_app_add(conn, 10010, "com.cam", 0), 0);
	assert_int_equal(db_app_add(conn, 10020, "com.gallery", 1), 0);
	assert_int_equal(db_app_add(conn, 10010, "com.other", 0), -EEXIST);
	assert_int_equal(db_app_add(conn, 10030, "com.cam", 0), -EEXIST);
	assert_int_equal(db_app_get(conn, 10020, &app), 0);
	assert_string_equal(app.package, "com.gallery");
	assert_int_equal(app.no_hevc, 1);
	assert_int_equal(db_app_get_by_package(conn, "com.cam", &app), 0);
	assert_int_equal(app.uid, 10010);
	assert_int_equal(db_app_get(conn, 10099, &app), -ENOENT);
	assert_int_equal(db_app_set_no_hevc(conn, 10010, 1), 0);
	assert_int_equal(db_app_set_no_hevc(conn, 10099, 1), -ENOENT);
	assert_int_equal(db_app_foreach(conn, count_app, &count), 0);
	assert_int_equal(count, 2);

	assert_int_equal(db_permission_add(conn, 10010, "READ_MEDIA_IMAGES"), 0);
	assert_int_equal(db_permission_add(conn, 10010, "READ_MEDIA_IMAGES"), 0);
	assert_int_equal(db_permission_add(conn, 10010, "ACCESS_MEDIA_LOCATION"), 0);
	assert_int_equal(db_permission_add(conn, 10099, "READ_MEDIA_IMAGES"), -ENOENT);
	assert_int_equal(db_app_snapshot(conn, 10010, &app, collect_perm, perms, &version), 0);
	assert_string_equal(perms, "ACCESS_MEDIA_LOCATION,READ_MEDIA_IMAGES,");
	assert_true(version >= 5);
	assert_int_equal(db_permission_remove(conn, 10010, "ACCESS_MEDIA_LOCATION"), 0);
	assert_int_equal(db_permission_remove(conn, 10010, "ACCESS_MEDIA_LOCATION"), -ENOENT);
	assert_int_equal(db_app_remove(conn, 10010), 0);
	assert_int_equal(db_app_remove(conn, 10010), -ENOENT);
	db_close(conn);
	/* Permissions went with the app. */
	assert_int_equal(query_int(path, "SELECT count(*) FROM app_permissions"), 0);
}

static struct db_file file_of(int64_t owner, int pending)
{
	struct db_file file = { .owner_uid = owner, .media_type = 1, .pending = pending,
	                        .size = 10, .mtime_ns = 20 };
	return file;
}

static int collect_path(const char *path, void *ctx)
{
	strcat(ctx, path);
	strcat(ctx, ",");
	return 0;
}

static void test_files_and_grants(void **state)
{
	char path[512], stale[512] = "";
	struct db_conn *conn;
	struct db_file file = file_of(10010, 1), got;
	struct db_range ranges[2] = { { 100, 16 }, { 1ull << 40, 8 } }, *ranges_got;
	size_t count;
	int writable;

	(void)state;
	fresh_path(path, sizeof(path), "files");
	conn = open_ok(path);
	assert_int_equal(db_app_add(conn, 10020, "com.gallery", 0), 0);
	assert_int_equal(db_file_put(conn, "0/DCIM/a.jpg", &file), 0);
	assert_int_equal(db_file_get(conn, "0/DCIM/a.jpg", &got), 0);
	assert_int_equal(got.owner_uid, 10010);
	assert_int_equal(got.pending, 1);
	assert_string_equal(got.codec, "");
	assert_int_equal(db_file_get(conn, "0/DCIM/b.jpg", &got), -ENOENT);
	file = file_of(DB_NO_OWNER, 0);
	assert_int_equal(db_file_add_if_absent(conn, "0/DCIM/a.jpg", &file), 0);
	assert_int_equal(db_file_add_if_absent(conn, "0/DCIM/Camera/b.jpg", &file), 1);
	assert_int_equal(db_file_get(conn, "0/DCIM/Camera/b.jpg", &got), 0);
	assert_int_equal(got.owner_uid, DB_NO_OWNER);
	assert_int_equal(db_file_set_stat(conn, "0/DCIM/a.jpg", 99, 98, 0), 0);
	assert_int_equal(db_file_set_stat(conn, "0/none", 1, 1, 0), -ENOENT);
	assert_int_equal(db_file_set_media_info(conn, "0/DCIM/a.jpg", 1, "hevc", ranges, 2, 10, 20), 0);
	assert_int_equal(db_file_get(conn, "0/DCIM/a.jpg", &got), 0);
	assert_int_equal(got.size, 99);
	assert_int_equal(got.pending, 0);
	assert_int_equal(got.has_location, 1);
	assert_string_equal(got.codec, "hevc");
	assert_int_equal(db_file_get_redaction(conn, "0/DCIM/a.jpg", &ranges_got, &count), 0);
	assert_int_equal(count, 2);
	assert_true(ranges_got[1].offset == 1ull << 40 && ranges_got[1].length == 8);
	free(ranges_got);

	/* Grants need both the app and the record, and follow renames. */
	assert_int_equal(db_grant_set(conn, 10020, "0/DCIM/a.jpg", 0), 0);
	assert_int_equal(db_grant_set(conn, 10020, "0/DCIM/a.jpg", 1), 0);
	assert_int_equal(db_grant_set(conn, 10099, "0/DCIM/a.jpg", 0), -ENOENT);
	assert_int_equal(db_grant_set(conn, 10020, "0/DCIM/zzz.jpg", 0), -ENOENT);
	assert_int_equal(db_grant_get(conn, 10020, "0/DCIM/a.jpg", &writable), 0);
	assert_int_equal(writable, 1);
	assert_int_equal(db_file_rename(conn, "0/DCIM", "0/Pictures/Old", 0), 0);
	assert_int_equal(db_file_get(conn, "0/DCIM/a.jpg", &got), -ENOENT);
	assert_int_equal(db_file_get(conn, "0/Pictures/Old/Camera/b.jpg", &got), 0);
	assert_int_equal(db_grant_get(conn, 10020, "0/Pictures/Old/a.jpg", &writable), 0);
	assert_int_equal(db_file_rename(conn, "0/Pictures/Old/a.jpg", "0/Pictures/Old/c.png", 1), 0);
	assert_int_equal(db_grant_get(conn, 10020, "0/Pictures/Old/c.png", &writable), 0);
	/* A sibling whose name shares the prefix is not below the directory. */
	assert_int_equal(db_file_put(conn, "0/Pictures/Older.jpg", &file), 0);
	assert_int_equal(db_file_foreach_stale(conn, "0/Pictures/Old", 1, collect_path, stale), 0);
	assert_string_equal(stale, "0/Pictures/Old/Camera/b.jpg,0/Pictures/Old/c.png,");
	assert_int_equal(db_file_set_generation(conn, "0/Pictures/Old/c.png", 5), 0);
	stale[0] = '\0';
	assert_int_equal(db_file_foreach_stale(conn, "", 1, collect_path, stale), 0);
	assert_string_equal(stale, "0/Pictures/Old/Camera/b.jpg,0/Pictures/Older.jpg,");
	assert_int_equal(db_file_remove(conn, "0/Pictures/Old"), 0);
	assert_int_equal(db_file_get(conn, "0/Pictures/Old/c.png", &got), -ENOENT);
	assert_int_equal(db_file_get(conn, "0/Pictures/Older.jpg", &got), 0);
	assert_int_equal(db_grant_get(conn, 10020, "0/Pictures/Old/c.png", &writable), -ENOENT);
	assert_int_equal(db_grant_remove(conn, 10020, "0/Pictures/Older.jpg"), -ENOENT);
	db_close(conn);
	assert_int_equal(query_int(path, "SELECT count(*) FROM file_grants"), 0);
}

static int collect_listed(const char *path, const struct db_file *rec, void *ctx)
{
	char *out = ctx;

	snprintf(out + strlen(out), 512 - strlen(out), "%s:%lld,", path, (long long)rec->size);
	return 0;
}

static void test_list_dir_and_grant_any(void **state)
{
	char path[512], listed[512] = "";
	struct db_conn *conn;
	struct db_file file = file_of(DB_NO_OWNER, 0);

	(void)state;
	fresh_path(path, sizeof(path), "listdir");
	conn = open_ok(path);
	file.size = 7;
	assert_int_equal(db_file_put(conn, "0/DCIM/a.jpg", &file), 0);
	assert_int_equal(db_file_put(conn, "0/DCIM/b.jpg", &file), 0);
	assert_int_equal(db_file_put(conn, "0/DCIM/Camera/c.jpg", &file), 0);  /* below: not listed */
	assert_int_equal(db_file_put(conn, "0/DCIMx.jpg", &file), 0);          /* a sibling */
	assert_int_equal(db_file_put(conn, "0/DCIM0/d.jpg", &file), 0);        /* '0' follows '/' */
	assert_int_equal(db_file_list_dir(conn, "0/DCIM", 100, collect_listed, listed), 0);
	assert_string_equal(listed, "0/DCIM/a.jpg:7,0/DCIM/b.jpg:7,");
	/* Stops after max_rows records of the subtree (Camera/c.jpg sorts
	 * first and counts) and says so. */
	listed[0] = '\0';
	assert_int_equal(db_file_list_dir(conn, "0/DCIM", 2, collect_listed, listed), 1);
	assert_string_equal(listed, "0/DCIM/a.jpg:7,");
	/* The statement is usable again after an early stop. */
	listed[0] = '\0';
	assert_int_equal(db_file_list_dir(conn, "0/DCIM/Camera", 100, collect_listed, listed), 0);
	assert_string_equal(listed, "0/DCIM/Camera/c.jpg:7,");

	assert_int_equal(db_app_add(conn, 10020, "com.gallery", 0), 0);
	assert_int_equal(db_grant_any(conn, 10020), 0);
	assert_int_equal(db_grant_set(conn, 10020, "0/DCIM/a.jpg", 0), 0);
	assert_int_equal(db_grant_any(conn, 10020), 1);
	assert_int_equal(db_grant_any(conn, 10021), 0);
	db_close(conn);
}

/* A stable stamp, read while nothing is being committed. */
static struct db_stamp stamp_now(struct db_stamp_probe *probe)
{
	struct db_stamp stamp;

	assert_int_equal(db_stamp_read(probe, &stamp), 0);
	return stamp;
}

static void test_change_stamp_moves_with_every_commit(void **state)
{
	char path[512];
	struct db_conn *conn, *other;
	struct db_stamp_probe *probe;
	struct db_stamp before, after;
	struct db_file file = file_of(DB_NO_OWNER, 0), got;

	(void)state;
	fresh_path(path, sizeof(path), "stamp");
	conn = open_ok(path);
	other = open_ok(path);
	assert_int_equal(db_stamp_probe_open(path, &probe), 0);
	before = stamp_now(probe);
	assert_int_equal(db_file_get(conn, "0/DCIM/none.jpg", &got), -ENOENT);  /* reads: no change */
	after = stamp_now(probe);
	assert_true(db_stamp_equal(&before, &after));
	/* Commits by any connection, the probe's process or not, move it. */
	assert_int_equal(db_file_put(other, "0/DCIM/a.jpg", &file), 0);
	after = stamp_now(probe);
	assert_false(db_stamp_equal(&before, &after));
	before = after;
	{
		/* Another process commits. */
		pid_t child = fork();
		int status;

		assert_true(child >= 0);
		if (child == 0) {
			struct db_conn *own = NULL;
			char err[DB_ERRMSG_MAX];
			_exit(db_open(path, &own, err, sizeof(err)) == 0 &&
			      db_file_put(own, "0/DCIM/child.jpg", &file) == 0 ? 0 : 1);
		}
		assert_int_equal(waitpid(child, &status, 0), child);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
		after = stamp_now(probe);
		assert_false(db_stamp_equal(&before, &after));
		before = after;
	}
	/* A checkpoint moves no data and need not move it, but a restarted WAL does. */
	{
		sqlite3 *db;
		assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
		assert_int_equal(sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_TRUNCATE,
		                                           NULL, NULL), SQLITE_OK);
		sqlite3_close(db);
	}
	assert_int_equal(db_file_put(conn, "0/DCIM/b.jpg", &file), 0);
	after = stamp_now(probe);
	assert_false(db_stamp_equal(&before, &after));
	db_stamp_probe_close(probe);
	db_close(other);
	db_close(conn);
}

static void test_record_cache_serves_one_stamp_only(void **state)
{
	char path[512];
	struct db_conn *conn;
	struct db_stamp_probe *probe;
	struct record_cache *cache;
	struct db_stamp read_at, now;
	struct db_file file = file_of(10010, 0), got;
	struct cached_app app = { .record = { .uid = 10020, .registered = 1 },
	                          .has_file_grants = 1 }, got_app;

	(void)state;
	fresh_path(path, sizeof(path), "records");
	conn = open_ok(path);
	assert_int_equal(db_stamp_probe_open(path, &probe), 0);
	assert_int_equal(record_cache_create(probe, 4, &cache), 0);
	read_at = stamp_now(probe);
	assert_int_equal(record_cache_get_file(cache, &read_at, "0/DCIM/a.jpg", &got), 0);
	record_cache_put_file(cache, &read_at, "0/DCIM/a.jpg", &file);
	record_cache_put_app(cache, &read_at, &app);
	assert_int_equal(record_cache_get_file(cache, &read_at, "0/DCIM/a.jpg", &got), 1);
	assert_int_equal(got.owner_uid, 10010);
	assert_int_equal(record_cache_get_app(cache, &read_at, 10020, &got_app), 1);
	assert_int_equal(got_app.has_file_grants, 1);
	assert_int_equal(record_cache_get_app(cache, &read_at, 10020 + 256, &got_app), 0);
	/* A whole directory is wanted only once the stamp has held a while. */
	assert_int_equal(record_cache_dir_wanted(cache, &read_at, "0/DCIM"), 0);
	usleep(120 * 1000);
	assert_int_equal(record_cache_dir_wanted(cache, &read_at, "0/DCIM"), 1);
	record_cache_dir_loaded(cache, &read_at, "0/DCIM");
	assert_int_equal(record_cache_dir_wanted(cache, &read_at, "0/DCIM"), 0);

	/* Anything committed: nothing of the old stamp is served ... */
	assert_int_equal(db_file_put(conn, "0/DCIM/z.jpg", &file), 0);
	now = stamp_now(probe);
	assert_int_equal(record_cache_get_file(cache, &now, "0/DCIM/a.jpg", &got), 0);
	assert_int_equal(record_cache_get_app(cache, &now, 10020, &got_app), 0);
	/* ... and what was read before the commit is not stored after it. */
	record_cache_put_file(cache, &read_at, "0/DCIM/a.jpg", &file);
	assert_int_equal(record_cache_get_file(cache, &now, "0/DCIM/a.jpg", &got), 0);
	record_cache_put_file(cache, &now, "0/DCIM/a.jpg", &file);
	assert_int_equal(record_cache_get_file(cache, &now, "0/DCIM/a.jpg", &got), 1);
	/* Full (max 4 files): it starts over rather than grow. */
	for (int i = 0; i < 6; i++) {
		char name[32];
		snprintf(name, sizeof(name), "0/DCIM/f%d.jpg", i);
		record_cache_put_file(cache, &now, name, &file);
		assert_int_equal(record_cache_get_file(cache, &now, name, &got), 1);
	}
	assert_int_equal(record_cache_get_file(cache, &now, "0/DCIM/a.jpg", &got), 0);
	record_cache_destroy(cache);
	db_stamp_probe_close(probe);
	db_close(conn);
}

static unsigned perm_bit(const char *name)
{
	if (strcmp(name, "READ_MEDIA_IMAGES") == 0)
		return 1;
	if (strcmp(name, "MANAGE_EXTERNAL_STORAGE") == 0)
		return 16;
	return 0;
}

static void test_app_cache_sees_other_connections(void **state)
{
	char path[512], err[DB_ERRMSG_MAX];
	struct db_pool *pool;
	struct db_conn *daemon_conn, *cli;
	struct app_cache *cache;
	struct app_record rec;

	(void)state;
	fresh_path(path, sizeof(path), "cache");
	assert_int_equal(db_pool_open(path, &pool, err, sizeof(err)), 0);
	assert_int_equal(db_pool_conn(pool, &daemon_conn), 0);
	assert_int_equal(app_cache_create(perm_bit, &cache), 0);
	cli = open_ok(path);

	assert_int_equal(app_cache_get(cache, daemon_conn, 10010, &rec), 0);
	assert_int_equal(rec.registered, 0);
	assert_int_equal(db_app_add(cli, 10010, "com.cam", 0), 0);
	assert_int_equal(app_cache_get(cache, daemon_conn, 10010, &rec), 0);
	assert_int_equal(rec.registered, 1);
	assert_int_equal(rec.permissions, 0);
	assert_int_equal(db_permission_add(cli, 10010, "READ_MEDIA_IMAGES"), 0);
	assert_int_equal(app_cache_get(cache, daemon_conn, 10010, &rec), 0);
	assert_int_equal(rec.permissions, 1);
	assert_int_equal(db_permission_add(cli, 10010, "MANAGE_EXTERNAL_STORAGE"), 0);
	assert_int_equal(app_cache_get(cache, daemon_conn, 10010, &rec), 0);
	assert_int_equal(rec.permissions, 17);
	/* An unrelated write (the index) keeps the cache. */
	struct db_file file = file_of(10010, 0);
	assert_int_equal(db_file_put(cli, "0/DCIM/x.jpg", &file), 0);
	assert_int_equal(app_cache_get(cache, daemon_conn, 10010, &rec), 0);
	assert_int_equal(rec.permissions, 17);
	assert_int_equal(db_app_set_no_hevc(cli, 10010, 1), 0);
	assert_int_equal(app_cache_get(cache, daemon_conn, 10010, &rec), 0);
	assert_int_equal(rec.no_hevc, 1);
	assert_int_equal(db_app_remove(cli, 10010), 0);
	assert_int_equal(app_cache_get(cache, daemon_conn, 10010, &rec), 0);
	assert_int_equal(rec.registered, 0);
	assert_int_equal(rec.permissions, 0);

	db_close(cli);
	app_cache_destroy(cache);
	db_pool_close(pool);
}

struct writer_args {
	const char *path;
	int rounds;
	int failures;
};

/* mediactl-like: long write transactions on its own connection. */
static void *cli_writer(void *arg)
{
	struct writer_args *args = arg;
	struct db_conn *conn = open_ok(args->path);
	char pkg[32];

	for (int i = 0; i < args->rounds; i++) {
		if (db_begin_write(conn) < 0) {
			args->failures++;
			continue;
		}
		snprintf(pkg, sizeof(pkg), "com.app%d", i);
		if (db_app_add(conn, 20000 + i, pkg, 0) < 0 ||
		    db_permission_add(conn, 20000 + i, "READ_MEDIA_IMAGES") < 0)
			args->failures++;
		usleep(2000);  /* hold the write lock a while */
		if (db_commit(conn) < 0)
			args->failures++;
	}
	db_close(conn);
	return NULL;
}

struct daemon_args {
	struct db_pool *pool;
	struct app_cache *cache;
	int id;
	int rounds;
	int failures;
};

/* Daemon-like worker: cached app reads plus index writes. */
static void *daemon_worker(void *arg)
{
	struct daemon_args *args = arg;
	struct db_conn *conn;
	struct app_record rec;
	struct db_file file = file_of(10010, 1), got;
	char path[64];

	if (db_pool_conn(args->pool, &conn) < 0) {
		args->failures = args->rounds;
		return NULL;
	}
	for (int i = 0; i < args->rounds; i++) {
		snprintf(path, sizeof(path), "0/DCIM/t%d-%d.jpg", args->id, i);
		if (app_cache_get(args->cache, conn, 20000 + i % 50, &rec) < 0 ||
		    db_file_add_if_absent(conn, path, &file) < 0 ||
		    db_file_set_stat(conn, path, i, i, 0) < 0 ||
		    db_file_get(conn, path, &got) < 0)
			args->failures++;
	}
	return NULL;
}

static void test_concurrent_writers_never_fail(void **state)
{
	char path[512], err[DB_ERRMSG_MAX];
	struct db_pool *pool;
	struct app_cache *cache;
	struct writer_args writer = { path, 200, 0 };
	struct daemon_args workers[4];
	pthread_t writer_thread, worker_threads[4];

	(void)state;
	fresh_path(path, sizeof(path), "concurrent");
	assert_int_equal(db_pool_open(path, &pool, err, sizeof(err)), 0);
	assert_int_equal(app_cache_create(perm_bit, &cache), 0);
	pthread_create(&writer_thread, NULL, cli_writer, &writer);
	for (int i = 0; i < 4; i++) {
		workers[i] = (struct daemon_args){ pool, cache, i, 300, 0 };
		pthread_create(&worker_threads[i], NULL, daemon_worker, &workers[i]);
	}
	pthread_join(writer_thread, NULL);
	for (int i = 0; i < 4; i++) {
		pthread_join(worker_threads[i], NULL);
		assert_int_equal(workers[i].failures, 0);
	}
	assert_int_equal(writer.failures, 0);
	app_cache_destroy(cache);
	db_pool_close(pool);
	assert_int_equal(query_int(path, "SELECT count(*) FROM files"), 1200);
	assert_int_equal(query_int(path, "SELECT count(*) FROM apps"), 200);
}

/* Migration 2 -> 3 on a version-2 database keeps its data and adds the
 * transcoder row; settings set, leave, and unset as documented. */
static void test_transcoder_settings(void **state)
{
	char path[512];
	struct db_transcoder got;
	struct db_conn *conn;
	sqlite3 *db;

	(void)state;
	fresh_path(path, sizeof(path), "transcoder");
	conn = open_ok(path);
	db_close(conn);
	/* Back to what version 2 was, with data, then migrate again. */
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "DROP TABLE transcoder; PRAGMA user_version = 2;"
	                              "INSERT INTO apps(uid, package) VALUES(10001, 'a.b')",
	                              NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	conn = open_ok(path);
	assert_int_equal(query_int(path, "PRAGMA user_version"), 3);
	assert_int_equal(query_int(path, "SELECT count(*) FROM apps"), 1);
	assert_int_equal(db_transcoder_get(conn, &got), 0);
	assert_string_equal(got.command, "");
	assert_string_equal(got.cache_dir, "");
	assert_int_equal(got.cache_max_bytes, 0);

	assert_int_equal(db_transcoder_set(conn, "ff {input} {output}", "/c", 1000), 0);
	assert_int_equal(db_transcoder_set(conn, NULL, NULL, 2000), 0);  /* only the limit */
	assert_int_equal(db_transcoder_get(conn, &got), 0);
	assert_string_equal(got.command, "ff {input} {output}");
	assert_string_equal(got.cache_dir, "/c");
	assert_int_equal(got.cache_max_bytes, 2000);
	assert_int_equal(db_transcoder_set(conn, "", "", 0), 0);  /* back to defaults */
	assert_int_equal(db_transcoder_get(conn, &got), 0);
	assert_string_equal(got.command, "");
	assert_string_equal(got.cache_dir, "");
	assert_int_equal(got.cache_max_bytes, 0);
	assert_int_equal(db_transcoder_set(conn, NULL, NULL, -5), 0);  /* negative: leave */
	assert_int_equal(db_transcoder_get(conn, &got), 0);
	assert_int_equal(got.cache_max_bytes, 0);
	db_close(conn);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_and_migrate),
		cmocka_unit_test(test_corrupt_and_newer_databases),
		cmocka_unit_test(test_apps_and_permissions),
		cmocka_unit_test(test_files_and_grants),
		cmocka_unit_test(test_list_dir_and_grant_any),
		cmocka_unit_test(test_change_stamp_moves_with_every_commit),
		cmocka_unit_test(test_record_cache_serves_one_stamp_only),
		cmocka_unit_test(test_app_cache_sees_other_connections),
		cmocka_unit_test(test_concurrent_writers_never_fail),
		cmocka_unit_test(test_transcoder_settings),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
