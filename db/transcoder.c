/*
 * transcoder.c - the transcoder's settings: one row, each column NULL
 * while the built-in default applies (the defaults live in transcode/).
 */
#include <errno.h>
#include <string.h>

#include "db/internal.h"

int db_transcoder_get(struct db_conn *conn, struct db_transcoder *out)
{
	sqlite3_stmt *stmt;
	int rc = db_stmt(conn, STMT_TRANSCODER_GET, &stmt);

	if (rc < 0)
		return rc;
	rc = db_step(conn, stmt);
	if (rc != SQLITE_ROW)
		return rc == SQLITE_DONE ? -ENOENT : rc;
	rc = db_column_text(stmt, 0, out->command, sizeof(out->command));
	if (rc == 0)
		rc = db_column_text(stmt, 1, out->cache_dir, sizeof(out->cache_dir));
	out->cache_max_bytes = sqlite3_column_int64(stmt, 2);  /* NULL reads as 0 */
	sqlite3_reset(stmt);
	return rc;
}

int db_transcoder_set(struct db_conn *conn, const char *command, const char *cache_dir,
                      int64_t cache_max_bytes)
{
	sqlite3_stmt *stmt;
	int rc = db_stmt(conn, STMT_TRANSCODER_SET, &stmt);

	if (rc < 0)
		return rc;
	if (command)
		db_bind_text(stmt, 1, command);
	if (cache_dir)
		db_bind_text(stmt, 2, cache_dir);
	if (cache_max_bytes >= 0)
		sqlite3_bind_int64(stmt, 3, cache_max_bytes);
	return db_run(conn, stmt);
}
