/*
 * apps.c - registered apps and their permissions.
 */
#include <errno.h>

#include "db/internal.h"

/* Fills *out from a row of (uid, package, no_hevc). */
static int read_app_row(sqlite3_stmt *stmt, struct db_app *out)
{
	out->uid = (uid_t)sqlite3_column_int64(stmt, 0);
	out->no_hevc = sqlite3_column_int(stmt, 2);
	return db_column_text(stmt, 1, out->package, sizeof(out->package));
}

/* Runs a prepared single-app query and reads its row. */
static int get_one_app(struct db_conn *conn, sqlite3_stmt *stmt, struct db_app *out)
{
	int rc = db_step(conn, stmt);

	if (rc == SQLITE_ROW) {
		rc = read_app_row(stmt, out);
		sqlite3_reset(stmt);
		return rc;
	}
	return rc == SQLITE_DONE ? -ENOENT : rc;
}

int db_app_get(struct db_conn *conn, uid_t uid, struct db_app *out)
{
	sqlite3_stmt *stmt;
	int rc = db_stmt(conn, STMT_APP_GET, &stmt);

	if (rc < 0)
		return rc;
	sqlite3_bind_int64(stmt, 1, uid);
	return get_one_app(conn, stmt, out);
}

int db_app_get_by_package(struct db_conn *conn, const char *package, struct db_app *out)
{
	sqlite3_stmt *stmt;
	int rc = db_stmt(conn, STMT_APP_GET_BY_PACKAGE, &stmt);

	if (rc < 0)
		return rc;
	db_bind_text(stmt, 1, package);
	return get_one_app(conn, stmt, out);
}

int db_app_add(struct db_conn *conn, uid_t uid, const char *package, int no_hevc)
{
	sqlite3_stmt *stmt;
	int rc = db_stmt(conn, STMT_APP_INSERT, &stmt);

	if (rc < 0)
		return rc;
	sqlite3_bind_int64(stmt, 1, uid);
	db_bind_text(stmt, 2, package);
	sqlite3_bind_int(stmt, 3, no_hevc != 0);
	return db_run(conn, stmt);
}

/* Runs a write keyed by uid and reports -ENOENT when it touched no row. */
static int run_expecting_change(struct db_conn *conn, sqlite3_stmt *stmt)
{
	int rc = db_run(conn, stmt);

	if (rc < 0)
		return rc;
	return sqlite3_changes(conn->sqlite) > 0 ? 0 : -ENOENT;
}

int db_app_remove(struct db_conn *conn, uid_t uid)
{
	sqlite3_stmt *stmt;
	int rc = db_stmt(conn, STMT_APP_DELETE, &stmt);

	if (rc < 0)
		return rc;
	sqlite3_bind_int64(stmt, 1, uid);
	return run_expecting_change(conn, stmt);
}

int db_app_set_no_hevc(struct db_conn *conn, uid_t uid, int no_hevc)
{
	sqlite3_stmt *stmt;
	int rc = db_stmt(conn, STMT_APP_SET_NO_HEVC, &stmt);

	if (rc < 0)
		return rc;
	sqlite3_bind_int64(stmt, 1, uid);
	sqlite3_bind_int(stmt, 2, no_hevc != 0);
	return run_expecting_change(conn, stmt);
}

int db_app_foreach(struct db_conn *conn,
                   int (*each)(const struct db_app *app, void *ctx), void *ctx)
{
	sqlite3_stmt *stmt;
	struct db_app app;
	int rc = db_stmt(conn, STMT_APP_LIST, &stmt);

	if (rc < 0)
		return rc;
	while ((rc = db_step(conn, stmt)) == SQLITE_ROW) {
		rc = read_app_row(stmt, &app);
		if (rc == 0)
			rc = each(&app, ctx);
		if (rc != 0) {
			sqlite3_reset(stmt);
			return rc;
		}
	}
	return rc == SQLITE_DONE ? 0 : rc;
}

int db_permission_add(struct db_conn *conn, uid_t uid, const char *permission)
{
	sqlite3_stmt *stmt;
	int rc = db_stmt(conn, STMT_PERM_INSERT, &stmt);

	if (rc < 0)
		return rc;
	sqlite3_bind_int64(stmt, 1, uid);
	db_bind_text(stmt, 2, permission);
	return db_run(conn, stmt);  /* foreign key: -ENOENT for an unknown uid */
}

int db_permission_remove(struct db_conn *conn, uid_t uid, const char *permission)
{
	sqlite3_stmt *stmt;
	int rc = db_stmt(conn, STMT_PERM_DELETE, &stmt);

	if (rc < 0)
		return rc;
	sqlite3_bind_int64(stmt, 1, uid);
	db_bind_text(stmt, 2, permission);
	return run_expecting_change(conn, stmt);
}

int db_permission_foreach(struct db_conn *conn, uid_t uid,
                          int (*each)(const char *permission, void *ctx), void *ctx)
{
	sqlite3_stmt *stmt;
	int rc = db_stmt(conn, STMT_PERM_LIST, &stmt);

	if (rc < 0)
		return rc;
	sqlite3_bind_int64(stmt, 1, uid);
	while ((rc = db_step(conn, stmt)) == SQLITE_ROW) {
		rc = each((const char *)sqlite3_column_text(stmt, 0), ctx);
		if (rc != 0) {
			sqlite3_reset(stmt);
			return rc;
		}
	}
	return rc == SQLITE_DONE ? 0 : rc;
}

/* The body of db_app_snapshot, inside its read transaction. */
static int snapshot_in_transaction(struct db_conn *conn, uid_t uid, struct db_app *out,
                                   int (*each)(const char *permission, void *ctx),
                                   void *ctx, int64_t *policy_version)
{
	sqlite3_stmt *stmt;
	int rc = db_stmt(conn, STMT_META_GET, &stmt);

	if (rc < 0)
		return rc;
	db_bind_text(stmt, 1, "policy_version");
	rc = db_step(conn, stmt);
	if (rc != SQLITE_ROW)
		return rc < 0 ? rc : -EIO;
	*policy_version = sqlite3_column_int64(stmt, 0);
	sqlite3_reset(stmt);
	rc = db_app_get(conn, uid, out);
	if (rc < 0)
		return rc;
	return db_permission_foreach(conn, uid, each, ctx);
}

int db_app_snapshot(struct db_conn *conn, uid_t uid, struct db_app *out,
                    int (*each)(const char *permission, void *ctx), void *ctx,
                    int64_t *policy_version)
{
	sqlite3_stmt *stmt;
	int rc;

	/* Inside the caller's read transaction (db_begin_read) it already is
	 * one snapshot. */
	if (!sqlite3_get_autocommit(conn->sqlite))
		return snapshot_in_transaction(conn, uid, out, each, ctx, policy_version);
	/* A stale WAL snapshot makes a statement inside a transaction busy; the
	 * whole transaction is retried then. */
	for (int attempt = 0;; attempt++) {
		rc = db_stmt(conn, STMT_BEGIN_READ, &stmt);
		if (rc == 0)
			rc = db_run(conn, stmt);
		if (rc < 0)
			return rc;
		rc = snapshot_in_transaction(conn, uid, out, each, ctx, policy_version);
		if (rc == -EBUSY && attempt < 10) {
			db_rollback(conn);
			db_busy_backoff(attempt);
			continue;
		}
		if (rc < 0 && rc != -ENOENT) {
			db_rollback(conn);
			return rc;
		}
		break;
	}
	if (db_stmt(conn, STMT_COMMIT, &stmt) == 0)
		db_run(conn, stmt);
	return rc;
}
