/*
 * permission_contexts.c - SELinux context conditions on app permissions
 * (`mediactl grant UID PERM --context CTX`), in their own table.
 *
 * Why not a numbered migration: the table is optional (only read when
 * SELinux is enabled) and is created on first write with CREATE TABLE IF
 * NOT EXISTS, so databases of any schema version work and the schema
 * numbering stays with the core tables. A database without the table has
 * no conditions. Statements are prepared per call: this is never on a
 * path that runs when SELinux is disabled.
 */
#include <errno.h>
#include <string.h>

#include "db/internal.h"

#define CREATE_SQL \
	"CREATE TABLE IF NOT EXISTS permission_contexts(" \
	"  uid INTEGER NOT NULL," \
	"  permission TEXT NOT NULL," \
	"  context TEXT NOT NULL," \
	"  PRIMARY KEY(uid, permission, context)) WITHOUT ROWID"

/* Prepares sql on conn. Returns 0, -ENOENT when the table does not exist
 * (never created), or another negative errno. */
static int prepare(struct db_conn *conn, const char *sql, sqlite3_stmt **out)
{
	int rc = sqlite3_prepare_v2(conn->sqlite, sql, -1, out, NULL);

	if (rc == SQLITE_OK)
		return 0;
	if (rc == SQLITE_ERROR && strstr(sqlite3_errmsg(conn->sqlite), "no such table"))
		return -ENOENT;
	return db_errno(rc);
}

/* Runs one statement with (uid, permission[, context]) bound. */
static int run_bound(struct db_conn *conn, const char *sql, uid_t uid, const char *permission,
                     const char *context)
{
	sqlite3_stmt *stmt;
	int rc = prepare(conn, sql, &stmt);

	if (rc < 0)
		return rc;
	sqlite3_bind_int64(stmt, 1, (sqlite3_int64)uid);
	db_bind_text(stmt, 2, permission);
	if (context)
		db_bind_text(stmt, 3, context);
	rc = db_run(conn, stmt);
	sqlite3_finalize(stmt);
	return rc;
}

/* Creates the table when missing. 0 or -errno. */
static int ensure_table(struct db_conn *conn)
{
	sqlite3_stmt *stmt;
	int rc = prepare(conn, CREATE_SQL, &stmt);

	if (rc < 0)
		return rc;
	rc = db_run(conn, stmt);
	sqlite3_finalize(stmt);
	return rc;
}

int db_permission_context_add(struct db_conn *conn, uid_t uid, const char *permission,
                              const char *context)
{
	int rc = ensure_table(conn);

	if (rc == 0)
		rc = run_bound(conn, "INSERT OR IGNORE INTO permission_contexts(uid, permission,"
		               " context) VALUES(?1, ?2, ?3)", uid, permission, context);
	return rc;
}

int db_permission_context_clear(struct db_conn *conn, uid_t uid, const char *permission)
{
	int rc = run_bound(conn, "DELETE FROM permission_contexts WHERE uid = ?1 AND"
	                   " permission = ?2", uid, permission, NULL);

	return rc == -ENOENT ? 0 : rc;
}

int db_permission_context_foreach(struct db_conn *conn, uid_t uid,
                                  int (*each)(const char *permission, const char *context,
                                              void *ctx),
                                  void *ctx)
{
	sqlite3_stmt *stmt;
	int rc = prepare(conn, "SELECT permission, context FROM permission_contexts"
	                 " WHERE uid = ?1 ORDER BY permission, context", &stmt);

	if (rc == -ENOENT)
		return 0;
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(stmt, 1, (sqlite3_int64)uid);
	while ((rc = db_step(conn, stmt)) == SQLITE_ROW) {
		rc = each((const char *)sqlite3_column_text(stmt, 0),
		          (const char *)sqlite3_column_text(stmt, 1), ctx);
		if (rc != 0)
			break;
	}
	sqlite3_finalize(stmt);
	return rc == SQLITE_DONE ? 0 : rc;
}
