/*
 * health.c - is a connection still talking to the policy database file the
 * daemon was started with? A database deleted, renamed or replaced behind
 * the daemon's back must make decisions fail closed (-EIO), not go on
 * answering from the unlinked old file nor from a new empty one.
 */
#include <errno.h>
#include <time.h>

#include "db/internal.h"

/* How stale "the file is still there" may be: a deleted database is
 * noticed within this time, and a decision costs no stat() meanwhile. */
#define CHECK_INTERVAL_NS 100000000ll

int db_conn_check_file(struct db_conn *conn)
{
	struct timespec now;
	int64_t now_ns;
	int moved = 0;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
	now_ns = (int64_t)now.tv_sec * 1000000000ll + now.tv_nsec;
	if (conn->file_checked_ns != 0 && now_ns - conn->file_checked_ns < CHECK_INTERVAL_NS)
		return 0;

	/* SQLite's unix VFS compares the open file's inode with the path's. */
	if (sqlite3_file_control(conn->sqlite, "main", SQLITE_FCNTL_HAS_MOVED, &moved) !=
	    SQLITE_OK)
		return -EIO;
	if (moved)
		return -EIO;
	conn->file_checked_ns = now_ns; /* only a good answer is remembered */
	return 0;
}
