/*
 * db.h - the policy database: schema, migrations and every query, as
 * functions. Nothing outside db/ builds SQL.
 *
 * Tables: meta (key/value: policy_version, scan_generation, source_path),
 * apps (uid, package, no_hevc), app_permissions (uid, permission name),
 * files (the media index: path relative to SOURCE, owner uid, media type,
 * pending flag, size, mtime, has_location, codec, redaction ranges, scan
 * generation), file_grants (uid, path, writable) and transcoder (one row:
 * command, cache_dir, cache_max_bytes; NULL = built-in default). Schema version in
 * PRAGMA user_version; WAL mode, busy_timeout, foreign_keys on every
 * connection.
 *
 * Concurrency: one db_conn belongs to one thread at a time. Readers never
 * wait for writers (WAL); every step retries SQLITE_BUSY beyond busy_timeout,
 * so a concurrent writer (mediactl) never makes a query fail with "locked".
 *
 * Returns: 0 (or a documented positive value) on success, a negative errno on
 * failure: -ENOENT no such row, -EEXIST constraint violated, -EBUSY still
 * locked after every retry, -EIO corrupt or I/O error, -ENOMEM.
 */
#ifndef MEDIAFS_DB_DB_H
#define MEDIAFS_DB_DB_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define DB_SCHEMA_VERSION 3
#define DB_PACKAGE_MAX 256
#define DB_CODEC_MAX 32
#define DB_ERRMSG_MAX 512

struct db_conn;

/* ---- connections (db/conn.c) ---- */

/*
 * Opens (creating when missing) the database at `path` and migrates it to
 * DB_SCHEMA_VERSION. On failure returns a negative errno and writes one
 * line, naming the path and the cause, into errbuf (DB_ERRMSG_MAX bytes).
 */
int db_open(const char *path, struct db_conn **out, char *errbuf, size_t errlen);
void db_close(struct db_conn *conn);

/* Transactions: BEGIN IMMEDIATE (retried while busy), COMMIT, ROLLBACK. */
int db_begin_write(struct db_conn *conn);
int db_commit(struct db_conn *conn);
/*
 * A read transaction around several queries: the database is locked and
 * unlocked once instead of once per statement (measured: 11 us per lone
 * SELECT, 0.6 us inside a transaction). db_begin_read is a no-op inside a
 * transaction; db_end_read ends it (also safe when none is open). A write
 * must not be made inside: end the read first (WAL snapshots cannot always
 * be upgraded).
 */
int db_begin_read(struct db_conn *conn);
void db_end_read(struct db_conn *conn);
void db_rollback(struct db_conn *conn);

/* ---- per-thread connections (db/pool.c) ---- */

struct db_pool;

/* Opens the database once (creating/migrating it, errors as db_open) and
 * prepares to hand each calling thread a connection of its own. */
int db_pool_open(const char *path, struct db_pool **out, char *errbuf, size_t errlen);
/* The calling thread's connection, opened on first use; valid until the
 * thread exits or the pool is closed. */
int db_pool_conn(struct db_pool *pool, struct db_conn **out);
/* Closes every connection. No thread may use the pool any more. */
void db_pool_close(struct db_pool *pool);

/* ---- meta (db/meta.c) ---- */

/* Copies the value of `key` into buf; -ENOENT when unset, -ENAMETOOLONG
 * when buf is too small. */
int db_meta_get(struct db_conn *conn, const char *key, char *buf, size_t len);
int db_meta_set(struct db_conn *conn, const char *key, const char *value);
/*
 * The policy version (bumped by triggers on every change to apps or
 * app_permissions) as this connection must see it now. Cheap when nothing
 * was committed since the last call (PRAGMA data_version only).
 */
int db_policy_version(struct db_conn *conn, int64_t *out);
/* Increments and returns the scan generation. */
int db_scan_generation_next(struct db_conn *conn, int64_t *out);

/* ---- apps and permissions (db/apps.c) ---- */

struct db_app {
	uid_t uid;
	char package[DB_PACKAGE_MAX];
	int no_hevc;
};

int db_app_get(struct db_conn *conn, uid_t uid, struct db_app *out);           /* -ENOENT */
int db_app_get_by_package(struct db_conn *conn, const char *package, struct db_app *out);
int db_app_add(struct db_conn *conn, uid_t uid, const char *package, int no_hevc); /* -EEXIST */
int db_app_remove(struct db_conn *conn, uid_t uid);                            /* -ENOENT */
int db_app_set_no_hevc(struct db_conn *conn, uid_t uid, int no_hevc);          /* -ENOENT */
/* Calls each(app) in uid order; stops at and returns a nonzero result. */
int db_app_foreach(struct db_conn *conn,
                   int (*each)(const struct db_app *app, void *ctx), void *ctx);

/* Permission names are stored verbatim; the caller validates them. */
int db_permission_add(struct db_conn *conn, uid_t uid, const char *permission); /* -ENOENT: no app */
int db_permission_remove(struct db_conn *conn, uid_t uid, const char *permission); /* -ENOENT */
int db_permission_foreach(struct db_conn *conn, uid_t uid,
                          int (*each)(const char *permission, void *ctx), void *ctx);

/*
 * Reads an app and its permissions in one snapshot together with the policy
 * version they belong to. Calls each() per permission. -ENOENT when the uid
 * is not registered (*policy_version still set).
 */
int db_app_snapshot(struct db_conn *conn, uid_t uid, struct db_app *out,
                    int (*each)(const char *permission, void *ctx), void *ctx,
                    int64_t *policy_version);

/* ---- media index (db/files.c) ---- */

#define DB_NO_OWNER (-1)

struct db_file {
	int64_t owner_uid;          /* DB_NO_OWNER when it appeared behind our back */
	int media_type;             /* enum media_type of policy/path.h */
	int pending;
	int64_t size;
	int64_t mtime_ns;
	int has_location;
	char codec[DB_CODEC_MAX];   /* "" when unknown */
	int64_t scan_generation;
	int64_t media_size;         /* size the media scanners last saw; -1: never */
	int64_t media_mtime_ns;     /* mtime the media scanners last saw */
};

struct db_range {
	uint64_t offset;
	uint64_t length;
};

int db_file_get(struct db_conn *conn, const char *path, struct db_file *out); /* -ENOENT */
/* Inserts or overwrites every column of `path` but the redaction ranges;
 * the file's grants survive. */
int db_file_put(struct db_conn *conn, const char *path, const struct db_file *file);
/* Inserts `path` unless a record exists. Returns 1 when inserted, 0 when not. */
int db_file_add_if_absent(struct db_conn *conn, const char *path, const struct db_file *file);
int db_file_set_stat(struct db_conn *conn, const char *path, int64_t size,
                     int64_t mtime_ns, int pending);                          /* -ENOENT */
int db_file_set_generation(struct db_conn *conn, const char *path, int64_t generation);
/* What the media scanners found; ranges are stored as a BLOB of
 * little-endian (offset, length) pairs. */
int db_file_set_media_info(struct db_conn *conn, const char *path, int has_location,
                           const char *codec, const struct db_range *ranges, size_t count,
                           int64_t scanned_size, int64_t scanned_mtime_ns);
/* *out is malloc'd (NULL when count is 0). */
int db_file_get_redaction(struct db_conn *conn, const char *path,
                          struct db_range **out, size_t *count);
/* Moves the records of `from` and everything below it to `to`, replacing any
 * records at `to`; grants follow. Sets the media type of the moved file. */
int db_file_rename(struct db_conn *conn, const char *from, const char *to,
                   int media_type);
/* Removes the records of `path` and everything below it (and their grants). */
int db_file_remove(struct db_conn *conn, const char *path);
/* Calls each(path) for records at or below `prefix` ("" = all) whose scan
 * generation is older than `generation`. */
int db_file_foreach_stale(struct db_conn *conn, const char *prefix, int64_t generation,
                          int (*each)(const char *path, void *ctx), void *ctx);

/*
 * Calls each(path, rec) for the records of the files directly in `dir`
 * (not below its subdirectories), stopping at a nonzero return. Looks at
 * no more than max_rows records of the subtree: returns 1 when it stopped
 * there (some were not listed), 0 when it listed all, or a negative errno.
 */
int db_file_list_dir(struct db_conn *conn, const char *dir, size_t max_rows,
                     int (*each)(const char *path, const struct db_file *rec, void *ctx),
                     void *ctx);

/* ---- per-file grants (db/files.c) ---- */

/* 1 when uid holds any per-file grant, 0 when none, or a negative errno. */
int db_grant_any(struct db_conn *conn, uid_t uid);

/* Sets *writable; -ENOENT when uid holds no grant on path. */
int db_grant_get(struct db_conn *conn, uid_t uid, const char *path, int *writable);
/* -ENOENT when the app or the file record does not exist. */
int db_grant_set(struct db_conn *conn, uid_t uid, const char *path, int writable);
int db_grant_remove(struct db_conn *conn, uid_t uid, const char *path);    /* -ENOENT */

/* ---- transcoder settings (db/transcoder.c) ---- */

#define DB_TRANSCODER_TEXT_MAX 4096

struct db_transcoder {
	char command[DB_TRANSCODER_TEXT_MAX];    /* "" = unset: the built-in default */
	char cache_dir[DB_TRANSCODER_TEXT_MAX];  /* "" = unset */
	int64_t cache_max_bytes;                 /* 0 = unset */
};

int db_transcoder_get(struct db_conn *conn, struct db_transcoder *out);
/*
 * Changes the given settings in one statement: NULL (command, cache_dir)
 * or a negative cache_max_bytes leaves a setting as it is; "" or 0 unsets
 * it. The caller validates values.
 */
int db_transcoder_set(struct db_conn *conn, const char *command, const char *cache_dir,
                      int64_t cache_max_bytes);

/* ---- SELinux context conditions on permissions (db/permission_contexts.c) ---- */

/* Adds `context` as one accepted caller context for the app's permission
 * (several are alternatives). Creates the table on first use. 0 or -errno. */
int db_permission_context_add(struct db_conn *conn, uid_t uid, const char *permission,
                              const char *context);
/* Removes every condition of the app's permission (none is not an error). */
int db_permission_context_clear(struct db_conn *conn, uid_t uid, const char *permission);
/* Calls each(permission, context) for the app's conditions; stops at and
 * returns a nonzero result. A database without conditions yields none. */
int db_permission_context_foreach(struct db_conn *conn, uid_t uid,
                                  int (*each)(const char *permission, const char *context,
                                              void *ctx),
                                  void *ctx);

#endif
