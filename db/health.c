/*
 * health.c - is a connection still talking to the policy database file the
 * daemon was started with? A database deleted, renamed or replaced behind
 * the daemon's back must make decisions fail closed (-EIO), not go on
 * answering from the unlinked old file nor from a new empty one.
 */
#include <errno.h>

#include "db/internal.h"

int db_conn_check_file(struct db_conn *conn)
{
	int moved = 0;

	/* SQLite's unix VFS compares the open file's inode with the path's. */
	if (sqlite3_file_control(conn->sqlite, "main", SQLITE_FCNTL_HAS_MOVED, &moved) !=
	    SQLITE_OK)
		return -EIO;
	return moved ? -EIO : 0;
}
