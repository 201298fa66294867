/*
 * change_stamp.h - "has anything been committed to the policy database
 * since?", answered without a lock or a system call.
 *
 * In WAL mode every commit, by any process, rewrites the wal-index header
 * at the start of the database's shared-memory file (-shm): two 48-byte
 * copies, the second written first, a memory barrier, then the first
 * (https://www.sqlite.org/walformat.html, "The WAL-Index Header"). The
 * header holds a change counter, the last frame and running checksums, so
 * any commit changes its bytes. A copy of those bytes is a *stamp*: caches
 * of database records tagged with a stamp are valid exactly while the live
 * header still equals it. Reading it costs a 96-byte memory read, where a
 * read transaction costs file-lock system calls.
 */
#ifndef MEDIAFS_DB_CHANGE_STAMP_H
#define MEDIAFS_DB_CHANGE_STAMP_H

#include <stdint.h>

#define DB_STAMP_SIZE 48

struct db_stamp {
	uint8_t bytes[DB_STAMP_SIZE];
};

struct db_stamp_probe;

/*
 * Opens a connection of its own to the database at path (which must exist
 * and be in WAL mode) and finds SQLite's mapping of the wal-index header
 * through it. The connection stays open for the probe's life: while any
 * connection is open, SQLite never deletes or re-creates the -shm file,
 * so the mapping stays the one every process uses.
 * Returns 0 and sets *out, or a negative errno (-ENOTSUP: not in WAL mode
 * or no shared memory; then there is no stamp and callers must not cache).
 */
int db_stamp_probe_open(const char *path, struct db_stamp_probe **out);
void db_stamp_probe_close(struct db_stamp_probe *probe);

/*
 * Copies the live stamp into *out. Returns 0, or -EAGAIN while a commit
 * is rewriting the header (the two copies differ) or the header is not
 * initialised: there is no stable stamp to tag anything with then.
 * Thread-safe; no lock, no system call.
 */
int db_stamp_read(const struct db_stamp_probe *probe, struct db_stamp *out);

/* 1 when a and b are the same stamp (nothing committed between them). */
int db_stamp_equal(const struct db_stamp *a, const struct db_stamp *b);

#endif
