/*
 * internal.h - what the files of db/ share: the connection struct, the
 * prepared statement table and the step/retry helpers. Not for outside db/.
 */
#ifndef MEDIAFS_DB_INTERNAL_H
#define MEDIAFS_DB_INTERNAL_H

#include <sqlite3.h>
#include <stdint.h>

#include "db/db.h"

enum db_stmt_id {
	STMT_BEGIN_READ,
	STMT_BEGIN_WRITE,
	STMT_COMMIT,
	STMT_ROLLBACK,
	STMT_DATA_VERSION,
	STMT_META_GET,
	STMT_META_SET,
	STMT_APP_GET,
	STMT_APP_GET_BY_PACKAGE,
	STMT_APP_INSERT,
	STMT_APP_DELETE,
	STMT_APP_SET_NO_HEVC,
	STMT_APP_LIST,
	STMT_PERM_LIST,
	STMT_PERM_INSERT,
	STMT_PERM_DELETE,
	STMT_FILE_GET,
	STMT_FILE_PUT,
	STMT_FILE_ADD_IF_ABSENT,
	STMT_FILE_SET_STAT,
	STMT_FILE_SET_GENERATION,
	STMT_FILE_SET_MEDIA,
	STMT_FILE_GET_REDACTION,
	STMT_FILE_DELETE_TREE,
	STMT_FILE_RENAME_TREE,
	STMT_FILE_SET_TYPE,
	STMT_FILE_LIST_STALE,
	STMT_FILE_LIST_DIR,
	STMT_GRANT_GET,
	STMT_GRANT_ANY,
	STMT_GRANT_SET,
	STMT_GRANT_DELETE,
	STMT_TRANSCODER_GET,
	STMT_TRANSCODER_SET,
	STMT_COUNT,
};

/* The SQL of each statement (db/statements.c). */
extern const char *const db_stmt_sql[STMT_COUNT];

/* The schema migrations: db_migrations[i] takes user_version i to i + 1. */
extern const char *const db_migrations[DB_SCHEMA_VERSION];

struct db_pool;

struct db_conn {
	sqlite3 *sqlite;
	sqlite3_stmt *stmts[STMT_COUNT];   /* prepared on first use, kept */
	int64_t seen_data_version;         /* PRAGMA data_version at the last check */
	int64_t seen_policy_version;       /* meta.policy_version read at that check */
	int64_t seen_total_changes;        /* this connection's own changes at that check */
	int seen_valid;                    /* the two above were read at least once */
	struct db_pool *pool;              /* owning pool, NULL for db_open */
	struct db_conn *pool_next;         /* in pool->conns, under pool->lock */
};

/* Maps an SQLite result code to a negative errno. */
int db_errno(int sqlite_rc);

/* Returns statement `id` of conn, prepared, reset and unbound, in *out. */
int db_stmt(struct db_conn *conn, enum db_stmt_id id, sqlite3_stmt **out);

/*
 * Steps `stmt`, retrying while the database is busy or locked. Returns
 * SQLITE_ROW, SQLITE_DONE or a negative errno. The statement is reset
 * when it is done or failed, but not after SQLITE_ROW.
 */
int db_step(struct db_conn *conn, sqlite3_stmt *stmt);

/* Runs a statement expected to return no row; resets it. 0 or -errno. */
int db_run(struct db_conn *conn, sqlite3_stmt *stmt);

/* Binds TEXT (static lifetime for the duration of the step). */
int db_bind_text(sqlite3_stmt *stmt, int index, const char *text);

/* Copies a TEXT column into buf (NUL-terminated, "" for NULL). */
int db_column_text(sqlite3_stmt *stmt, int col, char *buf, size_t len);

/* Sleeps before the attempt'th retry of a busy statement. */
void db_busy_backoff(int attempt);

/* -EIO when conn's database file was deleted, renamed or replaced since it
 * was opened (db/health.c), else 0. */
int db_conn_check_file(struct db_conn *conn);

/* Opens a connection with the pragmas set, without migrating. */
int db_connect(const char *path, struct db_conn **out, char *errbuf, size_t errlen);
/* Migrates an open connection's database to DB_SCHEMA_VERSION. */
int db_migrate(struct db_conn *conn, const char *path, char *errbuf, size_t errlen);

#endif
