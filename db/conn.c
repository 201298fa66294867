/*
 * conn.c - opening a connection (pragmas, migrations, clear errors), the
 * prepared statement cache, and stepping with retries while busy.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db/internal.h"

/* How long SQLite itself waits for a lock before reporting busy. */
#define BUSY_TIMEOUT_MS 5000
/* Our own retries on top, for the busy cases SQLite does not wait on
 * (a stale WAL snapshot, WAL recovery by another connection). */
#define BUSY_RETRIES 50

int db_errno(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK: case SQLITE_ROW: case SQLITE_DONE:
		return 0;
	case SQLITE_BUSY: case SQLITE_LOCKED:
		return -EBUSY;
	case SQLITE_NOMEM:
		return -ENOMEM;
	case SQLITE_CONSTRAINT:
		if (rc == SQLITE_CONSTRAINT_FOREIGNKEY)
			return -ENOENT;
		if (rc == SQLITE_CONSTRAINT_CHECK || rc == SQLITE_CONSTRAINT_NOTNULL)
			return -EINVAL;
		return -EEXIST;
	case SQLITE_PERM: case SQLITE_AUTH: case SQLITE_READONLY:
		return -EACCES;
	case SQLITE_CANTOPEN:
		return -ENOENT;
	case SQLITE_FULL:
		return -ENOSPC;
	case SQLITE_TOOBIG:
		return -E2BIG;
	case SQLITE_MISUSE: case SQLITE_RANGE: case SQLITE_MISMATCH:
		return -EINVAL;
	default: /* CORRUPT, NOTADB, IOERR, PROTOCOL, SCHEMA... */
		return -EIO;
	}
}

void db_busy_backoff(int attempt)
{
	struct timespec delay = { 0, (long)(attempt < 10 ? attempt + 1 : 10) * 1000000L };

	nanosleep(&delay, NULL);
}

int db_stmt(struct db_conn *conn, enum db_stmt_id id, sqlite3_stmt **out)
{
	sqlite3_stmt *stmt = conn->stmts[id];

	if (stmt == NULL) {
		int rc = sqlite3_prepare_v3(conn->sqlite, db_stmt_sql[id], -1,
		                            SQLITE_PREPARE_PERSISTENT, &stmt, NULL);
		if (rc != SQLITE_OK)
			return db_errno(rc);
		conn->stmts[id] = stmt;
	} else {
		sqlite3_reset(stmt);
		sqlite3_clear_bindings(stmt);
	}
	*out = stmt;
	return 0;
}

int db_step(struct db_conn *conn, sqlite3_stmt *stmt)
{
	(void)conn;
	for (int attempt = 0;; attempt++) {
		int rc = sqlite3_step(stmt);

		if (rc == SQLITE_ROW)
			return rc;
		if (rc == SQLITE_DONE) {
			sqlite3_reset(stmt);
			return rc;
		}
		sqlite3_reset(stmt);
		/* Inside an explicit transaction a retry of one statement cannot
		 * cure a stale snapshot; the caller's transaction fails instead. */
		if ((rc & 0xff) != SQLITE_BUSY && (rc & 0xff) != SQLITE_LOCKED)
			return db_errno(rc);
		if (attempt >= BUSY_RETRIES)
			return -EBUSY;
		db_busy_backoff(attempt);
	}
}

int db_run(struct db_conn *conn, sqlite3_stmt *stmt)
{
	int rc = db_step(conn, stmt);

	if (rc == SQLITE_ROW) {
		sqlite3_reset(stmt);
		return 0;
	}
	return rc == SQLITE_DONE ? 0 : rc;
}

int db_bind_text(sqlite3_stmt *stmt, int index, const char *text)
{
	return db_errno(sqlite3_bind_text(stmt, index, text, -1, SQLITE_STATIC));
}

int db_column_text(sqlite3_stmt *stmt, int col, char *buf, size_t len)
{
	const unsigned char *text = sqlite3_column_text(stmt, col);
	size_t n = text ? (size_t)sqlite3_column_bytes(stmt, col) : 0;

	if (n >= len)
		return -ENAMETOOLONG;
	if (n)
		memcpy(buf, text, n);
	buf[n] = '\0';
	return 0;
}

static int exec_retrying(sqlite3 *sqlite, const char *sql)
{
	for (int attempt = 0;; attempt++) {
		int rc = sqlite3_exec(sqlite, sql, NULL, NULL, NULL);

		if ((rc & 0xff) != SQLITE_BUSY || attempt >= BUSY_RETRIES)
			return rc;
		db_busy_backoff(attempt);
	}
}

/* Writes "policy database PATH: WHAT" into errbuf. */
static int fail(int err, char *errbuf, size_t errlen, const char *path, const char *what)
{
	snprintf(errbuf, errlen, "policy database %s: %s", path, what);
	return err;
}

static int fail_sqlite(sqlite3 *sqlite, int rc, char *errbuf, size_t errlen,
                       const char *path, const char *doing)
{
	char what[DB_ERRMSG_MAX];

	if ((rc & 0xff) == SQLITE_NOTADB || (rc & 0xff) == SQLITE_CORRUPT)
		snprintf(what, sizeof(what), "%s: not a valid SQLite database (corrupt?)", doing);
	else
		snprintf(what, sizeof(what), "%s: %s", doing,
		         sqlite ? sqlite3_errmsg(sqlite) : sqlite3_errstr(rc));
	return fail(db_errno(rc) ? db_errno(rc) : -EIO, errbuf, errlen, path, what);
}

int db_connect(const char *path, struct db_conn **out, char *errbuf, size_t errlen)
{
	struct db_conn *conn = calloc(1, sizeof(*conn));
	int rc;

	if (conn == NULL)
		return fail(-ENOMEM, errbuf, errlen, path, "out of memory");
	/* NOMUTEX: a connection is used by one thread at a time (db.h). */
	rc = sqlite3_open_v2(path, &conn->sqlite, SQLITE_OPEN_READWRITE |
	                     SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		rc = fail_sqlite(conn->sqlite, rc, errbuf, errlen, path, "cannot open");
		goto out_close;
	}
	sqlite3_extended_result_codes(conn->sqlite, 1);
	sqlite3_busy_timeout(conn->sqlite, BUSY_TIMEOUT_MS);
	/* Reading the schema first turns "not a database" into a clear error. */
	rc = exec_retrying(conn->sqlite, "SELECT count(*) FROM sqlite_schema");
	if (rc != SQLITE_OK) {
		rc = fail_sqlite(conn->sqlite, rc, errbuf, errlen, path, "cannot read");
		goto out_close;
	}
	rc = exec_retrying(conn->sqlite, "PRAGMA journal_mode = WAL;"
	                   "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON");
	if (rc != SQLITE_OK) {
		rc = fail_sqlite(conn->sqlite, rc, errbuf, errlen, path, "cannot set up");
		goto out_close;
	}
	*out = conn;
	return 0;

out_close:
	sqlite3_close_v2(conn->sqlite);
	free(conn);
	return rc;
}

static int read_user_version(sqlite3 *sqlite, int *version)
{
	sqlite3_stmt *stmt;
	int rc = sqlite3_prepare_v2(sqlite, "PRAGMA user_version", -1, &stmt, NULL);

	if (rc != SQLITE_OK)
		return rc;
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		*version = sqlite3_column_int(stmt, 0);
		rc = SQLITE_OK;
	}
	sqlite3_finalize(stmt);
	return rc;
}

int db_migrate(struct db_conn *conn, const char *path, char *errbuf, size_t errlen)
{
	char sql[64];
	int version = 0;
	/* IMMEDIATE: two processes opening a new database migrate one after the other. */
	int rc = exec_retrying(conn->sqlite, "BEGIN IMMEDIATE");

	if (rc != SQLITE_OK)
		return fail_sqlite(conn->sqlite, rc, errbuf, errlen, path, "cannot lock for migration");
	rc = read_user_version(conn->sqlite, &version);
	if (rc != SQLITE_OK)
		goto out_rollback;
	if (version > DB_SCHEMA_VERSION) {
		snprintf(sql, sizeof(sql), "schema version %d is newer than supported (%d)",
		         version, DB_SCHEMA_VERSION);
		sqlite3_exec(conn->sqlite, "ROLLBACK", NULL, NULL, NULL);
		return fail(-EPROTO, errbuf, errlen, path, sql);
	}
	for (; version < DB_SCHEMA_VERSION; version++) {
		rc = sqlite3_exec(conn->sqlite, db_migrations[version], NULL, NULL, NULL);
		if (rc != SQLITE_OK)
			goto out_rollback;
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", version + 1);
		rc = sqlite3_exec(conn->sqlite, sql, NULL, NULL, NULL);
		if (rc != SQLITE_OK)
			goto out_rollback;
	}
	rc = sqlite3_exec(conn->sqlite, "COMMIT", NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		goto out_rollback;
	return 0;

out_rollback:
	rc = fail_sqlite(conn->sqlite, rc, errbuf, errlen, path, "cannot migrate schema");
	sqlite3_exec(conn->sqlite, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

int db_open(const char *path, struct db_conn **out, char *errbuf, size_t errlen)
{
	struct db_conn *conn;
	int rc = db_connect(path, &conn, errbuf, errlen);

	if (rc < 0)
		return rc;
	rc = db_migrate(conn, path, errbuf, errlen);
	if (rc < 0) {
		db_close(conn);
		return rc;
	}
	*out = conn;
	return 0;
}

void db_close(struct db_conn *conn)
{
	if (conn == NULL)
		return;
	for (int i = 0; i < STMT_COUNT; i++)
		sqlite3_finalize(conn->stmts[i]);
	sqlite3_close_v2(conn->sqlite);
	free(conn);
}

int db_begin_write(struct db_conn *conn)
{
	sqlite3_stmt *stmt;
	int rc = db_stmt(conn, STMT_BEGIN_WRITE, &stmt);

	return rc < 0 ? rc : db_run(conn, stmt);
}

int db_begin_read(struct db_conn *conn)
{
	sqlite3_stmt *stmt;
	int rc;

	if (!sqlite3_get_autocommit(conn->sqlite))
		return 0; /* already inside a transaction */
	rc = db_stmt(conn, STMT_BEGIN_READ, &stmt);
	return rc < 0 ? rc : db_run(conn, stmt);
}

void db_end_read(struct db_conn *conn)
{
	sqlite3_stmt *stmt;

	if (sqlite3_get_autocommit(conn->sqlite))
		return;
	/* A read-only transaction has nothing to lose: commit just unlocks. */
	if (db_stmt(conn, STMT_COMMIT, &stmt) == 0 && db_run(conn, stmt) < 0)
		db_rollback(conn);
}

int db_commit(struct db_conn *conn)
{
	sqlite3_stmt *stmt;
	int rc = db_stmt(conn, STMT_COMMIT, &stmt);

	return rc < 0 ? rc : db_run(conn, stmt);
}

void db_rollback(struct db_conn *conn)
{
	sqlite3_stmt *stmt;

	if (sqlite3_get_autocommit(conn->sqlite))
		return; /* SQLite already rolled back (e.g. after an I/O error) */
	if (db_stmt(conn, STMT_ROLLBACK, &stmt) == 0)
		db_run(conn, stmt);
}
