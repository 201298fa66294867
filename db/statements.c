/*
 * statements.c - every SQL statement of db/, in one place, and the schema
 * migrations. Paths below a directory D are the range [D "/", D "0"):
 * '0' is the character after '/', so the primary key index serves it.
 */
#include "db/internal.h"

const char *const db_migrations[DB_SCHEMA_VERSION] = {
	/* 0 -> 1: the first schema. */
	"CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;"
	"INSERT INTO meta VALUES('policy_version', '0'), ('scan_generation', '0');"
	"CREATE TABLE apps("
	"  uid INTEGER PRIMARY KEY CHECK(uid >= 0),"
	"  package TEXT NOT NULL UNIQUE,"
	"  no_hevc INTEGER NOT NULL DEFAULT 0 CHECK(no_hevc IN (0, 1)));"
	"CREATE TABLE app_permissions("
	"  uid INTEGER NOT NULL REFERENCES apps(uid) ON DELETE CASCADE,"
	"  permission TEXT NOT NULL,"
	"  PRIMARY KEY(uid, permission)) WITHOUT ROWID;"
	"CREATE TABLE files("
	"  path TEXT PRIMARY KEY,"
	"  owner_uid INTEGER,"
	"  media_type INTEGER NOT NULL,"
	"  pending INTEGER NOT NULL DEFAULT 0,"
	"  size INTEGER NOT NULL DEFAULT 0,"
	"  mtime_ns INTEGER NOT NULL DEFAULT 0,"
	"  has_location INTEGER NOT NULL DEFAULT 0,"
	"  codec TEXT,"
	"  redaction BLOB,"
	"  scan_generation INTEGER NOT NULL DEFAULT 0);"
	"CREATE TABLE file_grants("
	"  uid INTEGER NOT NULL REFERENCES apps(uid) ON DELETE CASCADE,"
	"  path TEXT NOT NULL REFERENCES files(path) ON DELETE CASCADE ON UPDATE CASCADE,"
	"  writable INTEGER NOT NULL CHECK(writable IN (0, 1)),"
	"  PRIMARY KEY(uid, path)) WITHOUT ROWID;"
	"CREATE INDEX file_grants_by_path ON file_grants(path);"
	/* The daemon caches apps and permissions; any change bumps the version. */
	"CREATE TRIGGER apps_ins AFTER INSERT ON apps BEGIN"
	"  UPDATE meta SET value = value + 1 WHERE key = 'policy_version'; END;"
	"CREATE TRIGGER apps_upd AFTER UPDATE ON apps BEGIN"
	"  UPDATE meta SET value = value + 1 WHERE key = 'policy_version'; END;"
	"CREATE TRIGGER apps_del AFTER DELETE ON apps BEGIN"
	"  UPDATE meta SET value = value + 1 WHERE key = 'policy_version'; END;"
	"CREATE TRIGGER perms_ins AFTER INSERT ON app_permissions BEGIN"
	"  UPDATE meta SET value = value + 1 WHERE key = 'policy_version'; END;"
	"CREATE TRIGGER perms_del AFTER DELETE ON app_permissions BEGIN"
	"  UPDATE meta SET value = value + 1 WHERE key = 'policy_version'; END;",
	/* 1 -> 2: the size and mtime the media scanners last saw, so that an
	 * open never re-parses an unchanged file; -1 = never scanned. */
	"ALTER TABLE files ADD COLUMN media_size INTEGER NOT NULL DEFAULT -1;"
	"ALTER TABLE files ADD COLUMN media_mtime_ns INTEGER NOT NULL DEFAULT -1;",
	/* 2 -> 3: the transcoder's settings, one row; NULL = the built-in default. */
	"CREATE TABLE transcoder("
	"  id INTEGER PRIMARY KEY CHECK(id = 1),"
	"  command TEXT,"
	"  cache_dir TEXT,"
	"  cache_max_bytes INTEGER CHECK(cache_max_bytes IS NULL OR cache_max_bytes > 0));"
	"INSERT INTO transcoder(id) VALUES(1);",
};

#define UNDER(p) "(path >= " p " || '/' AND path < " p " || '0')"

const char *const db_stmt_sql[STMT_COUNT] = {
	[STMT_BEGIN_READ] = "BEGIN DEFERRED",
	[STMT_BEGIN_WRITE] = "BEGIN IMMEDIATE",
	[STMT_COMMIT] = "COMMIT",
	[STMT_ROLLBACK] = "ROLLBACK",
	[STMT_DATA_VERSION] = "PRAGMA data_version",
	[STMT_META_GET] = "SELECT value FROM meta WHERE key = ?1",
	[STMT_META_SET] = "INSERT INTO meta(key, value) VALUES(?1, ?2)"
	                  " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
	[STMT_APP_GET] = "SELECT uid, package, no_hevc FROM apps WHERE uid = ?1",
	[STMT_APP_GET_BY_PACKAGE] = "SELECT uid, package, no_hevc FROM apps WHERE package = ?1",
	[STMT_APP_INSERT] = "INSERT INTO apps(uid, package, no_hevc) VALUES(?1, ?2, ?3)",
	[STMT_APP_DELETE] = "DELETE FROM apps WHERE uid = ?1",
	[STMT_APP_SET_NO_HEVC] = "UPDATE apps SET no_hevc = ?2 WHERE uid = ?1",
	[STMT_APP_LIST] = "SELECT uid, package, no_hevc FROM apps ORDER BY uid",
	[STMT_PERM_LIST] = "SELECT permission FROM app_permissions WHERE uid = ?1"
	                   " ORDER BY permission",
	[STMT_PERM_INSERT] = "INSERT OR IGNORE INTO app_permissions(uid, permission)"
	                     " VALUES(?1, ?2)",
	[STMT_PERM_DELETE] = "DELETE FROM app_permissions WHERE uid = ?1 AND permission = ?2",
	[STMT_FILE_GET] = "SELECT owner_uid, media_type, pending, size, mtime_ns,"
	                  " has_location, codec, scan_generation, media_size, media_mtime_ns"
	                  " FROM files WHERE path = ?1",
	[STMT_FILE_PUT] = "INSERT INTO files(path, owner_uid, media_type, pending, size,"
	                  " mtime_ns, has_location, codec, scan_generation)"
	                  " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
	                  " ON CONFLICT(path) DO UPDATE SET owner_uid = excluded.owner_uid,"
	                  " media_type = excluded.media_type, pending = excluded.pending,"
	                  " size = excluded.size, mtime_ns = excluded.mtime_ns,"
	                  " has_location = excluded.has_location, codec = excluded.codec,"
	                  " scan_generation = excluded.scan_generation",
	[STMT_FILE_ADD_IF_ABSENT] = "INSERT INTO files(path, owner_uid, media_type, pending,"
	                  " size, mtime_ns, has_location, codec, scan_generation)"
	                  " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
	                  " ON CONFLICT(path) DO NOTHING",
	[STMT_FILE_SET_STAT] = "UPDATE files SET size = ?2, mtime_ns = ?3, pending = ?4"
	                       " WHERE path = ?1",
	[STMT_FILE_SET_GENERATION] = "UPDATE files SET scan_generation = ?2 WHERE path = ?1",
	[STMT_FILE_SET_MEDIA] = "UPDATE files SET has_location = ?2, codec = ?3,"
	                        " redaction = ?4, media_size = ?5, media_mtime_ns = ?6"
	                        " WHERE path = ?1",
	[STMT_FILE_GET_REDACTION] = "SELECT redaction FROM files WHERE path = ?1",
	[STMT_FILE_DELETE_TREE] = "DELETE FROM files WHERE path = ?1 OR " UNDER("?1"),
	[STMT_FILE_RENAME_TREE] = "UPDATE files SET path = ?2 || substr(path, length(?1) + 1)"
	                          " WHERE path = ?1 OR " UNDER("?1"),
	[STMT_FILE_SET_TYPE] = "UPDATE files SET media_type = ?2 WHERE path = ?1",
	[STMT_FILE_LIST_STALE] = "SELECT path FROM files WHERE scan_generation < ?2"
	                         " AND (?1 = '' OR path = ?1 OR " UNDER("?1") ") ORDER BY path",
	/* Every path that starts with "dir/" (?1 = "dir/", ?2 = "dir0": '0' sorts
	 * right after '/'), through the primary key's index. */
	[STMT_FILE_LIST_DIR] = "SELECT path, owner_uid, media_type, pending, size, mtime_ns,"
	                       " has_location, codec, scan_generation, media_size, media_mtime_ns"
	                       " FROM files WHERE path > ?1 AND path < ?2",
	[STMT_GRANT_GET] = "SELECT writable FROM file_grants WHERE uid = ?1 AND path = ?2",
	[STMT_GRANT_ANY] = "SELECT 1 FROM file_grants WHERE uid = ?1 LIMIT 1",
	[STMT_GRANT_SET] = "INSERT INTO file_grants(uid, path, writable) VALUES(?1, ?2, ?3)"
	                   " ON CONFLICT(uid, path) DO UPDATE SET writable = excluded.writable",
	[STMT_GRANT_DELETE] = "DELETE FROM file_grants WHERE uid = ?1 AND path = ?2",
	[STMT_TRANSCODER_GET] = "SELECT command, cache_dir, cache_max_bytes FROM transcoder"
	                        " WHERE id = 1",
	/* NULL parameter: leave the setting; '' or 0: back to the default. */
	[STMT_TRANSCODER_SET] = "UPDATE transcoder SET"
	                        " command = CASE WHEN ?1 IS NULL THEN command ELSE NULLIF(?1, '') END,"
	                        " cache_dir = CASE WHEN ?2 IS NULL THEN cache_dir"
	                        "   ELSE NULLIF(?2, '') END,"
	                        " cache_max_bytes = CASE WHEN ?3 IS NULL THEN cache_max_bytes"
	                        "   ELSE NULLIF(?3, 0) END"
	                        " WHERE id = 1",
};
