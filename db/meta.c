/*
 * meta.c - the key/value table, the policy version that invalidates the
 * daemon's app cache, and the scan generation.
 */
#include <errno.h>
#include <stdio.h>

#include "db/internal.h"

int db_meta_get(struct db_conn *conn, const char *key, char *buf, size_t len)
{
	sqlite3_stmt *stmt;
	int rc = db_stmt(conn, STMT_META_GET, &stmt);

	if (rc < 0)
		return rc;
	db_bind_text(stmt, 1, key);
	rc = db_step(conn, stmt);
	if (rc == SQLITE_ROW) {
		rc = db_column_text(stmt, 0, buf, len);
		sqlite3_reset(stmt);
		return rc;
	}
	return rc == SQLITE_DONE ? -ENOENT : rc;
}

int db_meta_set(struct db_conn *conn, const char *key, const char *value)
{
	sqlite3_stmt *stmt;
	int rc = db_stmt(conn, STMT_META_SET, &stmt);

	if (rc < 0)
		return rc;
	db_bind_text(stmt, 1, key);
	db_bind_text(stmt, 2, value);
	return db_run(conn, stmt);
}

/* Reads an integer meta value. */
static int meta_get_int(struct db_conn *conn, const char *key, int64_t *out)
{
	sqlite3_stmt *stmt;
	int rc = db_stmt(conn, STMT_META_GET, &stmt);

	if (rc < 0)
		return rc;
	db_bind_text(stmt, 1, key);
	rc = db_step(conn, stmt);
	if (rc == SQLITE_ROW) {
		*out = sqlite3_column_int64(stmt, 0);
		sqlite3_reset(stmt);
		return 0;
	}
	return rc == SQLITE_DONE ? -ENOENT : rc;
}

static int data_version(struct db_conn *conn, int64_t *out)
{
	sqlite3_stmt *stmt;
	int rc = db_stmt(conn, STMT_DATA_VERSION, &stmt);

	if (rc < 0)
		return rc;
	rc = db_step(conn, stmt);
	if (rc != SQLITE_ROW)
		return rc < 0 ? rc : -EIO;
	*out = sqlite3_column_int64(stmt, 0);
	sqlite3_reset(stmt);
	return 0;
}

int db_policy_version(struct db_conn *conn, int64_t *out)
{
	int64_t version, own_changes = sqlite3_total_changes64(conn->sqlite);
	int rc = data_version(conn, &version);

	if (rc < 0)
		return rc;
	/* data_version changes when another connection committed anything;
	 * only then (or after our own changes) can the policy version have moved. */
	if (!conn->seen_valid || version != conn->seen_data_version ||
	    own_changes != conn->seen_total_changes) {
		rc = meta_get_int(conn, "policy_version", &conn->seen_policy_version);
		if (rc < 0)
			return rc;
		conn->seen_data_version = version;
		conn->seen_total_changes = own_changes;
		conn->seen_valid = 1;
	}
	*out = conn->seen_policy_version;
	return 0;
}

int db_scan_generation_next(struct db_conn *conn, int64_t *out)
{
	char value[32];
	int64_t generation;
	int rc = db_begin_write(conn);

	if (rc < 0)
		return rc;
	rc = meta_get_int(conn, "scan_generation", &generation);
	if (rc == 0) {
		snprintf(value, sizeof(value), "%lld", (long long)generation + 1);
		rc = db_meta_set(conn, "scan_generation", value);
	}
	if (rc == 0)
		rc = db_commit(conn);
	if (rc < 0) {
		db_rollback(conn);
		return rc;
	}
	*out = generation + 1;
	return 0;
}
