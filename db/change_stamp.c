/* change_stamp.c - see change_stamp.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "db/change_stamp.h"
#include "db/internal.h"

/* SQLite's wal-index pages are 32 KiB; the header starts page 0. */
#define WAL_INDEX_PAGE_SIZE 32768
/* Offset of isInit inside a header copy (after iVersion, unused, iChange). */
#define HEADER_IS_INIT 12

struct db_stamp_probe {
	struct db_conn *conn;                 /* keeps the -shm mapping alive */
	const volatile uint8_t *header;       /* SQLite's own mapping of page 0 */
};

/* 0 when conn's database is in WAL mode, else -ENOTSUP or -errno. */
static int require_wal(struct db_conn *conn)
{
	sqlite3_stmt *stmt;
	int rc = sqlite3_prepare_v2(conn->sqlite, "PRAGMA journal_mode", -1, &stmt, NULL);
	const unsigned char *mode;

	if (rc != SQLITE_OK)
		return db_errno(rc);
	rc = sqlite3_step(stmt);
	mode = rc == SQLITE_ROW ? sqlite3_column_text(stmt, 0) : NULL;
	rc = mode && strcmp((const char *)mode, "wal") == 0 ? 0 : -ENOTSUP;
	sqlite3_finalize(stmt);
	return rc;
}

int db_stamp_probe_open(const char *path, struct db_stamp_probe **out)
{
	struct db_stamp_probe *probe = calloc(1, sizeof(*probe));
	char errbuf[DB_ERRMSG_MAX];
	sqlite3_file *file = NULL;
	void volatile *page = NULL;
	int rc;

	if (probe == NULL)
		return -ENOMEM;
	rc = db_connect(path, &probe->conn, errbuf, sizeof(errbuf));
	/* A read makes SQLite open the WAL and map the wal-index. */
	if (rc == 0)
		rc = db_errno(sqlite3_exec(probe->conn->sqlite, "SELECT count(*) FROM meta",
		                           NULL, NULL, NULL));
	if (rc == 0)
		rc = require_wal(probe->conn);
	if (rc == 0 && (sqlite3_file_control(probe->conn->sqlite, "main",
	                                     SQLITE_FCNTL_FILE_POINTER, &file) != SQLITE_OK ||
	                file == NULL || file->pMethods == NULL ||
	                file->pMethods->iVersion < 2 || file->pMethods->xShmMap == NULL))
		rc = -ENOTSUP;
	/* bExtend 0: the page exists already (the read above made it); this
	 * returns SQLite's mapping without creating anything. */
	if (rc == 0 && (file->pMethods->xShmMap(file, 0, WAL_INDEX_PAGE_SIZE, 0, &page) !=
	                SQLITE_OK || page == NULL))
		rc = -ENOTSUP;
	if (rc < 0) {
		db_close(probe->conn);
		free(probe);
		return rc;
	}
	probe->header = page;
	*out = probe;
	return 0;
}

void db_stamp_probe_close(struct db_stamp_probe *probe)
{
	if (probe == NULL)
		return;
	db_close(probe->conn);
	free(probe);
}

int db_stamp_read(const struct db_stamp_probe *probe, struct db_stamp *out)
{
	uint8_t second[DB_STAMP_SIZE];

	/* The order SQLite's own readers use: first copy, barrier, second
	 * copy; a writer writes them the other way round. */
	for (int i = 0; i < DB_STAMP_SIZE; i++)
		out->bytes[i] = probe->header[i];
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	for (int i = 0; i < DB_STAMP_SIZE; i++)
		second[i] = probe->header[DB_STAMP_SIZE + i];
	if (memcmp(out->bytes, second, DB_STAMP_SIZE) != 0 || out->bytes[HEADER_IS_INIT] == 0)
		return -EAGAIN;
	return 0;
}

int db_stamp_equal(const struct db_stamp *a, const struct db_stamp *b)
{
	return memcmp(a->bytes, b->bytes, DB_STAMP_SIZE) == 0;
}
