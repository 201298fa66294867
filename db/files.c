/*
 * files.c - the media index (one record per regular file, keyed by its path
 * relative to SOURCE) and the per-file grants that hang off it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/internal.h"

/* Reads the ten record columns that start at `col` (STMT_FILE_GET's order). */
static void read_file_columns(sqlite3_stmt *stmt, int col, struct db_file *out)
{
	out->owner_uid = sqlite3_column_type(stmt, col) == SQLITE_NULL ?
	                 DB_NO_OWNER : sqlite3_column_int64(stmt, col);
	out->media_type = sqlite3_column_int(stmt, col + 1);
	out->pending = sqlite3_column_int(stmt, col + 2);
	out->size = sqlite3_column_int64(stmt, col + 3);
	out->mtime_ns = sqlite3_column_int64(stmt, col + 4);
	out->has_location = sqlite3_column_int(stmt, col + 5);
	if (db_column_text(stmt, col + 6, out->codec, sizeof(out->codec)) < 0)
		out->codec[0] = '\0';  /* an absurd codec name is no known codec */
	out->scan_generation = sqlite3_column_int64(stmt, col + 7);
	out->media_size = sqlite3_column_int64(stmt, col + 8);
	out->media_mtime_ns = sqlite3_column_int64(stmt, col + 9);
}

int db_file_get(struct db_conn *conn, const char *path, struct db_file *out)
{
	sqlite3_stmt *stmt;
	int rc = db_stmt(conn, STMT_FILE_GET, &stmt);

	if (rc < 0)
		return rc;
	db_bind_text(stmt, 1, path);
	rc = db_step(conn, stmt);
	if (rc != SQLITE_ROW)
		return rc == SQLITE_DONE ? -ENOENT : rc;
	read_file_columns(stmt, 0, out);
	sqlite3_reset(stmt);
	return 0;
}

int db_file_list_dir(struct db_conn *conn, const char *dir, size_t max_rows,
                     int (*each)(const char *path, const struct db_file *rec, void *ctx),
                     void *ctx)
{
	size_t dir_len = strlen(dir), rows = 0;
	sqlite3_stmt *stmt;
	char *low, *high;
	int rc;

	if ((low = malloc(dir_len + 2)) == NULL || (high = malloc(dir_len + 2)) == NULL) {
		free(low);
		return -ENOMEM;
	}
	snprintf(low, dir_len + 2, "%s/", dir);
	snprintf(high, dir_len + 2, "%s0", dir);
	rc = db_stmt(conn, STMT_FILE_LIST_DIR, &stmt);
	if (rc == 0) {
		db_bind_text(stmt, 1, low);
		db_bind_text(stmt, 2, high);
	}
	while (rc == 0 && (rc = db_step(conn, stmt)) == SQLITE_ROW) {
		const char *path = (const char *)sqlite3_column_text(stmt, 0);
		struct db_file rec;

		rc = 0;
		if (++rows > max_rows) {
			rc = 1;
		} else if (path != NULL && strchr(path + dir_len + 1, '/') == NULL) {
			read_file_columns(stmt, 1, &rec);
			rc = each(path, &rec, ctx);
		}   /* else below a subdirectory: not this directory's */
		if (rc != 0)
			sqlite3_reset(stmt);  /* stopped mid-way: db_step resets only at the end */
	}
	if (rc == SQLITE_DONE)
		rc = 0;
	free(low);
	free(high);
	return rc;
}

/* Binds the nine columns of STMT_FILE_PUT / STMT_FILE_ADD_IF_ABSENT. */
static void bind_file(sqlite3_stmt *stmt, const char *path, const struct db_file *file)
{
	db_bind_text(stmt, 1, path);
	if (file->owner_uid == DB_NO_OWNER)
		sqlite3_bind_null(stmt, 2);
	else
		sqlite3_bind_int64(stmt, 2, file->owner_uid);
	sqlite3_bind_int(stmt, 3, file->media_type);
	sqlite3_bind_int(stmt, 4, file->pending != 0);
	sqlite3_bind_int64(stmt, 5, file->size);
	sqlite3_bind_int64(stmt, 6, file->mtime_ns);
	sqlite3_bind_int(stmt, 7, file->has_location != 0);
	if (file->codec[0])
		db_bind_text(stmt, 8, file->codec);
	sqlite3_bind_int64(stmt, 9, file->scan_generation);
}

int db_file_put(struct db_conn *conn, const char *path, const struct db_file *file)
{
	sqlite3_stmt *stmt;
	int rc = db_stmt(conn, STMT_FILE_PUT, &stmt);

	if (rc < 0)
		return rc;
	bind_file(stmt, path, file);
	return db_run(conn, stmt);
}

int db_file_add_if_absent(struct db_conn *conn, const char *path, const struct db_file *file)
{
	sqlite3_stmt *stmt;
	int rc = db_stmt(conn, STMT_FILE_ADD_IF_ABSENT, &stmt);

	if (rc < 0)
		return rc;
	bind_file(stmt, path, file);
	rc = db_run(conn, stmt);
	return rc < 0 ? rc : sqlite3_changes(conn->sqlite) > 0;
}

/* Runs a write keyed by path and reports -ENOENT when it touched no row. */
static int run_expecting_change(struct db_conn *conn, sqlite3_stmt *stmt)
{
	int rc = db_run(conn, stmt);

	if (rc < 0)
		return rc;
	return sqlite3_changes(conn->sqlite) > 0 ? 0 : -ENOENT;
}

int db_file_set_stat(struct db_conn *conn, const char *path, int64_t size,
                     int64_t mtime_ns, int pending)
{
	sqlite3_stmt *stmt;
	int rc = db_stmt(conn, STMT_FILE_SET_STAT, &stmt);

	if (rc < 0)
		return rc;
	db_bind_text(stmt, 1, path);
	sqlite3_bind_int64(stmt, 2, size);
	sqlite3_bind_int64(stmt, 3, mtime_ns);
	sqlite3_bind_int(stmt, 4, pending != 0);
	return run_expecting_change(conn, stmt);
}

int db_file_set_generation(struct db_conn *conn, const char *path, int64_t generation)
{
	sqlite3_stmt *stmt;
	int rc = db_stmt(conn, STMT_FILE_SET_GENERATION, &stmt);

	if (rc < 0)
		return rc;
	db_bind_text(stmt, 1, path);
	sqlite3_bind_int64(stmt, 2, generation);
	return run_expecting_change(conn, stmt);
}

/* Little-endian, so the BLOB means the same on every machine. */
static void put_le64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get_le64(const unsigned char *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

int db_file_set_media_info(struct db_conn *conn, const char *path, int has_location,
                           const char *codec, const struct db_range *ranges, size_t count,
                           int64_t scanned_size, int64_t scanned_mtime_ns)
{
	sqlite3_stmt *stmt;
	unsigned char *blob = NULL;
	int rc;

	if (count > 0 && (blob = malloc(count * 16)) == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < count; i++) {
		put_le64(blob + 16 * i, ranges[i].offset);
		put_le64(blob + 16 * i + 8, ranges[i].length);
	}
	rc = db_stmt(conn, STMT_FILE_SET_MEDIA, &stmt);
	if (rc == 0) {
		db_bind_text(stmt, 1, path);
		sqlite3_bind_int(stmt, 2, has_location != 0);
		if (codec != NULL && codec[0])
			db_bind_text(stmt, 3, codec);
		if (count > 0)
			sqlite3_bind_blob(stmt, 4, blob, (int)(count * 16), SQLITE_STATIC);
		sqlite3_bind_int64(stmt, 5, scanned_size);
		sqlite3_bind_int64(stmt, 6, scanned_mtime_ns);
		rc = run_expecting_change(conn, stmt);
	}
	free(blob);
	return rc;
}

int db_file_get_redaction(struct db_conn *conn, const char *path,
                          struct db_range **out, size_t *count)
{
	sqlite3_stmt *stmt;
	const unsigned char *blob;
	size_t n;
	int rc = db_stmt(conn, STMT_FILE_GET_REDACTION, &stmt);

	if (rc < 0)
		return rc;
	db_bind_text(stmt, 1, path);
	rc = db_step(conn, stmt);
	if (rc != SQLITE_ROW)
		return rc == SQLITE_DONE ? -ENOENT : rc;
	blob = sqlite3_column_blob(stmt, 0);
	n = (size_t)sqlite3_column_bytes(stmt, 0) / 16;
	*out = NULL;
	*count = 0;
	if (blob != NULL && n > 0) {
		*out = malloc(n * sizeof(**out));
		if (*out == NULL) {
			sqlite3_reset(stmt);
			return -ENOMEM;
		}
		for (size_t i = 0; i < n; i++) {
			(*out)[i].offset = get_le64(blob + 16 * i);
			(*out)[i].length = get_le64(blob + 16 * i + 8);
		}
		*count = n;
	}
	sqlite3_reset(stmt);
	return 0;
}

/* Runs `id` with path parameters ?1 = a and (when b != NULL) ?2 = b. */
static int run_paths(struct db_conn *conn, enum db_stmt_id id, const char *a, const char *b)
{
	sqlite3_stmt *stmt;
	int rc = db_stmt(conn, id, &stmt);

	if (rc < 0)
		return rc;
	db_bind_text(stmt, 1, a);
	if (b != NULL)
		db_bind_text(stmt, 2, b);
	return db_run(conn, stmt);
}

int db_file_rename(struct db_conn *conn, const char *from, const char *to, int media_type)
{
	sqlite3_stmt *stmt;
	int rc;

	if (strcmp(from, to) == 0)
		return 0;  /* rename(2) onto itself changes nothing */
	rc = db_begin_write(conn);
	if (rc < 0)
		return rc;
	/* rename(2) replaced whatever was at `to`. */
	rc = run_paths(conn, STMT_FILE_DELETE_TREE, to, NULL);
	if (rc == 0)
		rc = run_paths(conn, STMT_FILE_RENAME_TREE, from, to);
	if (rc == 0)
		rc = db_stmt(conn, STMT_FILE_SET_TYPE, &stmt);
	if (rc == 0) {
		db_bind_text(stmt, 1, to);
		sqlite3_bind_int(stmt, 2, media_type);
		rc = db_run(conn, stmt);
	}
	if (rc == 0)
		rc = db_commit(conn);
	if (rc < 0)
		db_rollback(conn);
	return rc;
}

int db_file_remove(struct db_conn *conn, const char *path)
{
	return run_paths(conn, STMT_FILE_DELETE_TREE, path, NULL);
}

int db_file_foreach_stale(struct db_conn *conn, const char *prefix, int64_t generation,
                          int (*each)(const char *path, void *ctx), void *ctx)
{
	sqlite3_stmt *stmt;
	int rc = db_stmt(conn, STMT_FILE_LIST_STALE, &stmt);

	if (rc < 0)
		return rc;
	db_bind_text(stmt, 1, prefix);
	sqlite3_bind_int64(stmt, 2, generation);
	while ((rc = db_step(conn, stmt)) == SQLITE_ROW) {
		rc = each((const char *)sqlite3_column_text(stmt, 0), ctx);
		if (rc != 0) {
			sqlite3_reset(stmt);
			return rc;
		}
	}
	return rc == SQLITE_DONE ? 0 : rc;
}

int db_grant_get(struct db_conn *conn, uid_t uid, const char *path, int *writable)
{
	sqlite3_stmt *stmt;
	int rc = db_stmt(conn, STMT_GRANT_GET, &stmt);

	if (rc < 0)
		return rc;
	sqlite3_bind_int64(stmt, 1, uid);
	db_bind_text(stmt, 2, path);
	rc = db_step(conn, stmt);
	if (rc != SQLITE_ROW)
		return rc == SQLITE_DONE ? -ENOENT : rc;
	*writable = sqlite3_column_int(stmt, 0);
	sqlite3_reset(stmt);
	return 0;
}

int db_grant_any(struct db_conn *conn, uid_t uid)
{
	sqlite3_stmt *stmt;
	int rc = db_stmt(conn, STMT_GRANT_ANY, &stmt);

	if (rc < 0)
		return rc;
	sqlite3_bind_int64(stmt, 1, uid);
	rc = db_step(conn, stmt);
	if (rc == SQLITE_ROW) {
		sqlite3_reset(stmt);
		return 1;
	}
	return rc == SQLITE_DONE ? 0 : rc;
}

int db_grant_set(struct db_conn *conn, uid_t uid, const char *path, int writable)
{
	sqlite3_stmt *stmt;
	int rc = db_stmt(conn, STMT_GRANT_SET, &stmt);

	if (rc < 0)
		return rc;
	sqlite3_bind_int64(stmt, 1, uid);
	db_bind_text(stmt, 2, path);
	sqlite3_bind_int(stmt, 3, writable != 0);
	return db_run(conn, stmt);  /* foreign keys: -ENOENT for no app / no record */
}

int db_grant_remove(struct db_conn *conn, uid_t uid, const char *path)
{
	sqlite3_stmt *stmt;
	int rc = db_stmt(conn, STMT_GRANT_DELETE, &stmt);

	if (rc < 0)
		return rc;
	sqlite3_bind_int64(stmt, 1, uid);
	db_bind_text(stmt, 2, path);
	return run_expecting_change(conn, stmt);
}
