/*
 * access.c - the daemon's door to the policy (see access.h): gathers the
 * caller's app record (cached), the file's index record and grant from db/,
 * asks the pure engine of policy/, and keeps the index up to date.
 */
#include "daemon/access.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "db/app_cache.h"
#include "db/change_stamp.h"
#include "db/db.h"
#include "db/record_cache.h"
#include "index/media_index.h"
#include "policy/context_match.h"
#include "policy/engine.h"
#include "policy/path.h"
#include <selinux/selinux.h>

struct access_state {
	struct db_pool *pool;       /* per-thread connections */
	struct app_cache *apps;     /* thread-safe: has its own lock */
	/* Decisions from memory (see gather_in_one_read); both NULL when the
	 * database gives no change stamps, and then every decision reads it. */
	struct db_stamp_probe *stamp_probe;
	struct record_cache *records;   /* thread-safe: has its own lock */
	_Atomic int64_t db_file_checked_until_ns;  /* see db_file_recently_checked */
	atomic_uint_fast64_t decisions_from_memory;  /* counters for stats */
	atomic_uint_fast64_t decisions_from_db;
	int source_fd;              /* not owned */
	struct scan_service *scanner;  /* not owned; set before threads start */
	int caller_contexts;        /* SELinux on: honour context conditions; set before threads */
};

/* How many index records the record cache holds at most (~130 bytes each). */
#define CACHED_FILES_MAX 131072
/* How many records of a directory's subtree are read to cache it whole. */
#define DIR_LOAD_ROWS 8192
/* How long a decision from memory trusts that the database file is still
 * the one the daemon opened (deleted, renamed or replaced: fail closed). */
#define DB_FILE_CHECK_NS (100 * 1000000LL)

/* Everything the engine needs about one existing or future path. */
struct gathered {
	struct policy_path path;
	struct cached_app app_rec;
	struct policy_app app;
	struct policy_file file;
	struct policy_grant grant;
	struct policy_request req;
};

static unsigned permission_bit(const char *name)
{
	unsigned bit = 0;

	return policy_permission_from_name(name, &bit) == 0 ? bit : 0;
}

static int64_t mtime_ns_of(const struct stat *st)
{
	return (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
}

/* mkdir that accepts an existing directory. */
static int ensure_dir(int source_fd, const char *relpath)
{
	struct stat st;

	if (mkdirat(source_fd, relpath, 0755) == 0)
		return 0;
	if (errno != EEXIST)
		return -errno;
	if (fstatat(source_fd, relpath, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

/* Creates SOURCE/<user> and its standard directories where missing. */
static int ensure_user_dirs(int source_fd, long user, char *errbuf, size_t errlen)
{
	size_t count;
	const char *const *dirs = policy_standard_dirs(&count);
	char relpath[64];
	int rc;

	snprintf(relpath, sizeof(relpath), "%ld", user);
	rc = ensure_dir(source_fd, relpath);
	for (size_t i = 0; rc == 0 && i < count; i++) {
		snprintf(relpath, sizeof(relpath), "%ld/%s", user, dirs[i]);
		rc = ensure_dir(source_fd, relpath);
	}
	if (rc < 0)
		snprintf(errbuf, errlen, "cannot create SOURCE/%s: %s", relpath, strerror(-rc));
	return rc;
}

struct users_ctx {
	int source_fd;
	char *errbuf;
	size_t errlen;
};

static int ensure_app_user_dirs(const struct db_app *app, void *ctx)
{
	struct users_ctx *users = ctx;

	return ensure_user_dirs(users->source_fd, (long)(app->uid / POLICY_PER_USER_RANGE),
	                        users->errbuf, users->errlen);
}

/* Records SOURCE in the database (for mediactl) and creates user directories. */
static int prepare_source(struct access_state *st, const char *source_path,
                          char *errbuf, size_t errlen)
{
	struct users_ctx users = { st->source_fd, errbuf, errlen };
	struct db_conn *conn;
	int rc = db_pool_conn(st->pool, &conn);

	if (rc == 0)
		rc = db_meta_set(conn, "source_path", source_path);
	if (rc < 0) {
		snprintf(errbuf, errlen, "policy database: cannot record the source: %s",
		         strerror(-rc));
		return rc;
	}
	rc = ensure_user_dirs(st->source_fd, 0, errbuf, errlen);
	if (rc == 0)
		rc = db_app_foreach(conn, ensure_app_user_dirs, &users);
	return rc;
}

int access_open(const char *db_path, int source_fd, const char *source_path,
                struct access_state **out, const char **errmsg)
{
	char *errbuf = malloc(DB_ERRMSG_MAX);
	struct access_state *st = calloc(1, sizeof(*st));
	int rc;

	if (errbuf == NULL || st == NULL) {
		free(errbuf);
		free(st);
		*errmsg = "policy database: out of memory";
		return -ENOMEM;
	}
	st->source_fd = source_fd;
	rc = db_pool_open(db_path, &st->pool, errbuf, DB_ERRMSG_MAX);
	if (rc == 0) {
		rc = app_cache_create(permission_bit, &st->apps);
		if (rc < 0)
			snprintf(errbuf, DB_ERRMSG_MAX, "policy database: out of memory");
	}
	if (rc == 0)
		rc = prepare_source(st, source_path, errbuf, DB_ERRMSG_MAX);
	/* Without stamps the daemon still works, reading the database for
	 * every decision: a cache is never a reason to refuse to start. */
	if (rc == 0 && db_stamp_probe_open(db_path, &st->stamp_probe) == 0 &&
	    record_cache_create(st->stamp_probe, CACHED_FILES_MAX, &st->records) < 0) {
		db_stamp_probe_close(st->stamp_probe);
		st->stamp_probe = NULL;
	}
	if (rc < 0) {
		access_close(st);
		*errmsg = errbuf;  /* the module's, never freed: start-up fails anyway */
		return rc;
	}
	free(errbuf);
	*out = st;
	return 0;
}

void access_use_scanner(struct access_state *st, struct scan_service *scanner)
{
	if (st != NULL)
		st->scanner = scanner;
}

void access_use_caller_contexts(struct access_state *st, int enabled)
{
	if (st != NULL)
		st->caller_contexts = enabled;
}

void access_close(struct access_state *st)
{
	if (st == NULL)
		return;
	record_cache_destroy(st->records);
	db_stamp_probe_close(st->stamp_probe);
	app_cache_destroy(st->apps);
	db_pool_close(st->pool);
	free(st);
}

/*
 * Whether a cached index record may stand for the regular file as it is
 * now (file_st): exactly when gather_file would neither update nor rescan
 * it.
 */
static int record_is_current(const struct db_file *rec, const struct stat *file_st)
{
	if (rec->pending)
		return 1;
	if (rec->size != file_st->st_size || rec->mtime_ns != mtime_ns_of(file_st))
		return 0;
	return rec->media_type == MEDIA_OTHER || !media_index_is_stale(rec, file_st);
}

/* Fills the engine's view of a file from its index record. */
static void file_from_record(const struct db_file *rec, struct gathered *g)
{
	g->file.indexed = 1;
	g->file.owner_uid = rec->owner_uid;
	g->file.pending = rec->pending;
	g->file.has_location = rec->has_location;
	g->file.is_hevc = strcmp(rec->codec, "hevc") == 0;
}

static int cache_listed_record(const char *path, const struct db_file *rec, void *ctx)
{
	struct access_state *st = ((void **)ctx)[0];
	const struct db_stamp *read_at = ((void **)ctx)[1];

	record_cache_put_file(st->records, read_at, path, rec);
	return 0;
}

/*
 * Reads the index records of relpath's directory into the record cache
 * when it wants them (inside the caller's read transaction, begun after
 * read_at was read): a gallery that opens one file of an album opens the
 * next one soon. A failure only costs the cache. Returns nothing.
 */
static void cache_directory_of(struct access_state *st, struct db_conn *conn,
                               const struct db_stamp *read_at, const char *relpath)
{
	const char *slash = strrchr(relpath, '/');
	void *ctx[2] = { st, (void *)read_at };
	char dir[PATH_MAX];

	if (slash == NULL || (size_t)(slash - relpath) >= sizeof(dir))
		return;
	memcpy(dir, relpath, (size_t)(slash - relpath));
	dir[slash - relpath] = '\0';
	if (!record_cache_dir_wanted(st->records, read_at, dir))
		return;
	if (db_file_list_dir(conn, dir, DIR_LOAD_ROWS, cache_listed_record, ctx) >= 0)
		record_cache_dir_loaded(st->records, read_at, dir);
}

/*
 * Reads (or, on first sight, creates) the index record of the regular file
 * `relpath` into g->file. A size or mtime that moved behind the daemon's
 * back is recorded, and a media file whose content is not the one its
 * location/codec facts were found in is scanned again here, before any
 * decision uses them: an unscanned file may hold location. A pending file
 * (being written) is scanned when its writer closes it; only its owner
 * sees it meanwhile.
 * conn NULL: from the record cache only (at stamp), and only a record
 * that needs no update. Returns 1 when g->file is filled, 0 on a cache
 * miss (conn NULL only), or a negative errno.
 */
static int gather_file(struct access_state *st, struct db_conn *conn,
                       const struct db_stamp *stamp, const char *relpath,
                       const struct stat *file_st, struct gathered *g)
{
	struct db_file rec;
	int rc;

	if (stamp && conn)
		cache_directory_of(st, conn, stamp, relpath);
	if (stamp && record_cache_get_file(st->records, stamp, relpath, &rec) &&
	    record_is_current(&rec, file_st)) {
		file_from_record(&rec, g);
		return 1;
	}
	if (conn == NULL)
		return 0;
	rc = db_file_get(conn, relpath, &rec);
	if (rc == -ENOENT) {
		memset(&rec, 0, sizeof(rec));
		rec.owner_uid = DB_NO_OWNER;
		rec.media_type = g->path.media_type;
		rec.size = file_st->st_size;
		rec.mtime_ns = mtime_ns_of(file_st);
		rec.media_size = -1;
		rec.media_mtime_ns = -1;
		db_end_read(conn); /* writes run outside the read transaction */
		rc = db_file_add_if_absent(conn, relpath, &rec);
		if (rc == 0)  /* another thread indexed it first: read theirs */
			rc = db_file_get(conn, relpath, &rec);
		if (rc < 0)
			return rc;
	} else if (rc < 0) {
		return rc;
	} else if (!rec.pending && (rec.size != file_st->st_size ||
	                            rec.mtime_ns != mtime_ns_of(file_st))) {
		db_end_read(conn);
		rc = db_file_set_stat(conn, relpath, file_st->st_size, mtime_ns_of(file_st), 0);
		if (rc < 0 && rc != -ENOENT)
			return rc;
	}
	if (!rec.pending && rec.media_type != MEDIA_OTHER &&
	    media_index_is_stale(&rec, file_st)) {
		struct media_index_result found;
		db_end_read(conn);
		rc = media_index_scan(st->scanner, conn, st->source_fd, relpath, &found);
		if (rc < 0)
			return rc;
		rec.has_location = found.has_location;
		snprintf(rec.codec, sizeof(rec.codec), "%s", found.codec);
	} else if (stamp && record_is_current(&rec, file_st)) {
		/* Read, not written (a write would move the stamp and be refused). */
		record_cache_put_file(st->records, stamp, relpath, &rec);
	}
	file_from_record(&rec, g);
	return 1;
}

/* Collects an app's context conditions (strings copied into `text`). */
struct context_rules {
	struct policy_context_rule rules[32];
	char text[32][POLICY_CONTEXT_MAX + 1];
	size_t count;
};

static int collect_context_rule(const char *permission, const char *context, void *ctx)
{
	struct context_rules *found = ctx;
	unsigned bit = permission_bit(permission);

	/* More than fit: refuse the decision rather than ignore a condition. */
	if (found->count == sizeof(found->rules) / sizeof(found->rules[0]))
		return -E2BIG;
	if (bit == 0)
		return 0;
	snprintf(found->text[found->count], sizeof(found->text[0]), "%s", context);
	found->rules[found->count] = (struct policy_context_rule){ bit, found->text[found->count] };
	found->count++;
	return 0;
}

/*
 * Clears the permission bits whose SELinux context conditions the calling
 * process does not meet. Only called when SELinux is enabled. An unknown
 * caller context (process gone, pid 0) meets no condition: fail closed.
 * Returns 0 or a negative errno (database unreadable).
 */
static int apply_context_conditions(struct db_conn *conn, const struct access_caller *caller,
                                    unsigned *permissions)
{
	struct context_rules found = { .count = 0 };
	char *context = NULL;
	int rc = db_permission_context_foreach(conn, caller->uid, collect_context_rule, &found);

	if (rc < 0 || found.count == 0)
		return rc;
	if (caller->pid <= 0 || getpidcon(caller->pid, &context) != 0)
		context = NULL;
	*permissions = policy_context_filter(*permissions, found.rules, found.count, context);
	freecon(context);
	return 0;
}

/*
 * The caller's app record and whether it holds per-file grants: from the
 * record cache at stamp, else (conn not NULL) from the database. Returns 1
 * when *app is filled, 0 on a cache miss (conn NULL only), or -errno.
 */
static int gather_app(struct access_state *st, struct db_conn *conn,
                      const struct db_stamp *stamp, uid_t uid, struct cached_app *app)
{
	int rc;

	if (stamp && record_cache_get_app(st->records, stamp, uid, app))
		return 1;
	if (conn == NULL)
		return 0;
	rc = app_cache_get(st->apps, conn, uid, &app->record);
	if (rc == 0)
		rc = db_grant_any(conn, uid);
	if (rc < 0)
		return rc;
	app->has_file_grants = rc;
	if (stamp)
		record_cache_put_app(st->records, stamp, app);
	return 1;
}

/*
 * Fills g with every input of a decision about (caller, relpath).
 * conn: the thread's connection inside a read transaction begun after
 * `stamp` was read (stamp NULL: cache nothing), or NULL to take every
 * input from the record cache at `stamp`. Returns 1 when g is complete,
 * 0 when an input is not cached (conn NULL only), or a negative errno.
 */
static int gather(struct access_state *st, struct db_conn *conn, const struct db_stamp *stamp,
                  const struct access_caller *caller, const char *relpath,
                  const struct stat *file_st, int is_dir, struct gathered *g)
{
	int writable, rc;

	memset(g, 0, sizeof(*g));
	rc = policy_path_classify(relpath, &g->path);
	if (rc < 0)
		return rc;
	g->app.uid = caller->uid;
	g->req = (struct policy_request){ .app = &g->app, .path = &g->path, .is_dir = is_dir,
	                                  .grant = &g->grant };
	if (!policy_is_system_uid(caller->uid)) {
		rc = gather_app(st, conn, stamp, caller->uid, &g->app_rec);
		if (rc <= 0)
			return rc;
		g->app.package = g->app_rec.record.registered ? g->app_rec.record.package : NULL;
		g->app.permissions = g->app_rec.record.permissions;
		if (st->caller_contexts && g->app.permissions != 0) {
			rc = apply_context_conditions(conn, caller, &g->app.permissions);
			if (rc < 0)
				return rc;
		}
		g->app.no_hevc = g->app_rec.record.no_hevc;
	}
	if (file_st == NULL || !S_ISREG(file_st->st_mode))
		return 1;
	rc = gather_file(st, conn, stamp, relpath, file_st, g);
	if (rc <= 0)
		return rc;
	g->req.file = &g->file;
	if (policy_is_system_uid(caller->uid) || g->file.owner_uid == (int64_t)caller->uid ||
	    !g->app_rec.has_file_grants)
		return 1;  /* grants cannot change the answer, or there are none */
	if (conn == NULL)
		return 0;
	rc = db_grant_get(conn, caller->uid, relpath, &writable);
	if (rc == 0) {
		g->grant.read = 1;
		g->grant.write = writable;
	}
	return rc == -ENOENT || rc == 0 ? 1 : rc;
}

/*
 * Whether the database file is still the one the daemon opened, as last
 * checked at most DB_FILE_CHECK_NS ago (a decision from memory touches no
 * file, so it would not notice a deleted or replaced database otherwise).
 * Returns 0, or -EIO: fail closed.
 */
static int db_file_recently_checked(struct access_state *st)
{
	struct timespec ts;
	struct db_conn *conn;
	int64_t now;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	now = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
	if (now < atomic_load(&st->db_file_checked_until_ns))
		return 0;
	if (db_pool_conn(st->pool, &conn) < 0)  /* checks the file */
		return -EIO;
	atomic_store(&st->db_file_checked_until_ns, now + DB_FILE_CHECK_NS);
	return 0;
}

#define GATHER_RETRIES 20

/*
 * Whether relpath still names the file whose lstat is file_st. A file an
 * app unlinks or renames away while another app's decision about it reads
 * the index makes that reading fail with -ENOENT (its record is gone, or
 * the scanner cannot open it): that is the file's fate, not a policy
 * failure, and the caller's answer is ENOENT. Anything else that reports
 * -ENOENT is the database's doing.
 */
static int same_file_still_there(struct access_state *st, const char *relpath,
                                 const struct stat *file_st)
{
	struct stat now;

	return file_st != NULL &&
	       fstatat(st->source_fd, relpath, &now, AT_SYMLINK_NOFOLLOW) == 0 &&
	       now.st_dev == file_st->st_dev && now.st_ino == file_st->st_ino;
}

/*
 * gather() for a decision. First from memory: when the record cache holds
 * every input for the database as it is now (its change stamp), no lock is
 * taken and no file is read. Otherwise inside one read transaction, so
 * that its queries lock the database once (the cost that dominated a
 * decision), filling the cache on the way; gather_file() ends the
 * transaction early when it must write to the index. SELinux context
 * conditions depend on the calling process, not only the uid: with them,
 * nothing is cached.
 */
static int gather_in_one_read(struct access_state *st, const struct access_caller *caller,
                              const char *relpath, const struct stat *file_st, int is_dir,
                              struct gathered *g)
{
	struct db_stamp stamp_storage, *stamp = NULL;
	struct db_conn *conn;
	int rc;

	if (st->records && !st->caller_contexts &&
	    db_stamp_read(st->stamp_probe, &stamp_storage) == 0)
		stamp = &stamp_storage;
	if (stamp) {
		rc = db_file_recently_checked(st);
		if (rc == 0)
			rc = gather(st, NULL, stamp, caller, relpath, file_st, is_dir, g);
		if (rc < 0)
			return rc;
		if (rc > 0) {
			atomic_fetch_add_explicit(&st->decisions_from_memory, 1, memory_order_relaxed);
			return 0;
		}
	}
	atomic_fetch_add_explicit(&st->decisions_from_db, 1, memory_order_relaxed);
	rc = db_pool_conn(st->pool, &conn);
	if (rc < 0)  /* the next decision from memory checks the file first */
		atomic_store(&st->db_file_checked_until_ns, 0);
	/* A busy answer inside a transaction is not cured by retrying one
	 * statement (the snapshot stays stale): retry the whole reading. So is
	 * a record that vanished while the file is still there (moved by a
	 * concurrent rename of something else, or re-created): read again. */
	for (int attempt = 0; rc == 0; attempt++) {
		rc = db_begin_read(conn);
		if (rc == 0)
			rc = gather(st, conn, stamp, caller, relpath, file_st, is_dir, g);
		db_end_read(conn);
		if (rc == -ENOENT && !same_file_still_there(st, relpath, file_st))
			return file_st ? -ENOENT : -EIO;  /* no file: the database's ENOENT */
		if ((rc != -EBUSY && rc != -ENOENT) || attempt >= GATHER_RETRIES)
			break;
		usleep(1000u * (unsigned)(attempt + 1));
		/* Re-read the stamp: the retried reading begins after it. */
		if (stamp && db_stamp_read(st->stamp_probe, stamp) < 0)
			stamp = NULL;
		rc = 0;
	}
	if (rc == -ENOENT)  /* the file is there but its record keeps vanishing */
		rc = -EIO;
	return rc < 0 ? rc : 0;
}

static const enum policy_op op_to_policy[] = {
	[ACCESS_OP_SEE] = POLICY_OP_SEE,
	[ACCESS_OP_READ] = POLICY_OP_READ,
	[ACCESS_OP_WRITE] = POLICY_OP_WRITE,
	[ACCESS_OP_CREATE] = POLICY_OP_CREATE,
	[ACCESS_OP_DELETE] = POLICY_OP_DELETE,
	[ACCESS_OP_MKDIR] = POLICY_OP_MKDIR,
	[ACCESS_OP_RMDIR] = POLICY_OP_RMDIR,
};

static void fill_result(const struct policy_decision *decision, struct access_result *res)
{
	static const enum access_verdict verdicts[] = {
		[POLICY_DENY] = ACCESS_DENY, [POLICY_PLAIN] = ACCESS_PLAIN,
		[POLICY_REDACT] = ACCESS_REDACT, [POLICY_TRANSCODE] = ACCESS_TRANSCODE,
	};

	res->verdict = verdicts[decision->verdict];
	res->err = decision->err;
	res->rule = decision->rule;
}

static void plain_posix(struct access_result *res)
{
	res->verdict = ACCESS_PLAIN;
	res->err = 0;
	res->rule = "posix";
}

int access_check(struct access_state *st, const struct access_caller *caller,
                 const char *relpath, const struct stat *file_st,
                 enum access_op op, struct access_result *res)
{
	struct policy_decision decision;
	struct gathered g;
	int is_dir, rc;

	if (st == NULL) {
		plain_posix(res);
		return 0;
	}
	if ((unsigned)op >= sizeof(op_to_policy) / sizeof(op_to_policy[0]))
		return -EINVAL;
	is_dir = file_st ? S_ISDIR(file_st->st_mode) : (op == ACCESS_OP_MKDIR || op == ACCESS_OP_RMDIR);
	rc = gather_in_one_read(st, caller, relpath, file_st, is_dir, &g);
	if (rc < 0)
		return rc;
	g.req.op = op_to_policy[op];
	policy_decide(&g.req, &decision);
	fill_result(&decision, res);
	return 0;
}

/* How deep and how wide a directory rename may look before it gives up. */
#define RENAME_SCAN_DEPTH 16
#define RENAME_SCAN_ENTRIES 20000

/*
 * Does the directory dir_fd (consumed), at relpath, hold anything `uid`
 * does not own: a file of another app, a file with no owner (copied in
 * behind the daemon's back), or more than the scan may look at? Returns 1,
 * 0, or a negative errno. *budget counts the entries left to look at.
 */
static int holds_foreign_files(struct db_conn *conn, int dir_fd, char *relpath, size_t len,
                               uid_t uid, int depth, long *budget)
{
	DIR *dir = fdopendir(dir_fd);
	struct dirent *entry;
	int found = 0;

	if (!dir) {
		close(dir_fd);
		return -errno;
	}
	while (!found && (entry = readdir(dir)) != NULL) {
		struct db_file rec;
		struct stat entry_st;
		size_t name_len = strlen(entry->d_name);

		if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0)
			continue;
		if (--*budget < 0 || depth >= RENAME_SCAN_DEPTH || len + 1 + name_len >= PATH_MAX ||
		    fstatat(dirfd(dir), entry->d_name, &entry_st, AT_SYMLINK_NOFOLLOW) != 0) {
			found = 1;
			break;
		}
		snprintf(relpath + len, PATH_MAX - len, "/%s", entry->d_name);
		if (S_ISDIR(entry_st.st_mode)) {
			int child = openat(dirfd(dir), entry->d_name,
			                   O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			found = child < 0 ? 1 : holds_foreign_files(conn, child, relpath,
			                                               len + 1 + name_len, uid,
			                                               depth + 1, budget);
		} else if (S_ISREG(entry_st.st_mode)) {
			found = db_file_get(conn, relpath, &rec) != 0 ||
			        rec.owner_uid != (int64_t)uid;
		}
		relpath[len] = '\0';
	}
	closedir(dir);
	return found;
}

/*
 * A directory renamed by an app moves everything in it: allowed only when
 * all of it is the app's own, or the app may write everything anyway:
 * the caller must be able to write what it moves. Otherwise EACCES.
 * Returns 0 (res untouched, or filled with a DENY), or a negative errno.
 */
static int check_dir_rename_contents(struct access_state *st, const struct access_caller *caller,
                                     const struct gathered *g, const char *from_relpath,
                                     struct access_result *res)
{
	char relpath[PATH_MAX];
	struct db_conn *conn;
	long budget = RENAME_SCAN_ENTRIES;
	int dir_fd, rc;

	if (policy_is_system_uid(caller->uid) ||
	    (g->app.permissions & POLICY_PERM_MANAGE_EXTERNAL_STORAGE))
		return 0;
	rc = db_pool_conn(st->pool, &conn);
	if (rc < 0)
		return rc;
	dir_fd = openat(st->source_fd, from_relpath, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dir_fd < 0)
		return -errno;
	snprintf(relpath, sizeof(relpath), "%s", from_relpath);
	rc = holds_foreign_files(conn, dir_fd, relpath, strlen(relpath), caller->uid, 0, &budget);
	if (rc < 0)
		return rc;
	if (rc > 0) {
		res->verdict = ACCESS_DENY;
		res->err = EACCES;
		res->rule = "dir-rename-holds-others-files";
	}
	return 0;
}

int access_check_rename(struct access_state *st, const struct access_caller *caller,
                        const char *from_relpath, const struct stat *from_st,
                        const char *to_relpath, struct access_result *res)
{
	struct policy_decision decision;
	struct policy_path to_path;
	struct db_conn *conn;
	struct gathered g;
	int rc;

	if (st == NULL) {
		plain_posix(res);
		return 0;
	}
	rc = policy_path_classify(to_relpath, &to_path);
	if (rc < 0)
		return rc;
	rc = db_pool_conn(st->pool, &conn);
	if (rc == 0)
		rc = gather(st, conn, NULL, caller, from_relpath, from_st,
		            from_st != NULL && S_ISDIR(from_st->st_mode), &g);
	if (rc < 0)
		return rc;
	policy_decide_rename(&g.req, &to_path, &decision);
	fill_result(&decision, res);
	if (res->verdict != ACCESS_DENY && g.req.is_dir)
		return check_dir_rename_contents(st, caller, &g, from_relpath, res);
	return 0;
}

/* Rewrites owner and mode of file_st for caller from inputs already gathered. */
static void present_from(const struct access_caller *caller, const struct gathered *g,
                         struct stat *file_st)
{
	int mode = policy_present_mode(&g->req, file_st->st_mode);

	if (mode < 0)
		return;
	file_st->st_uid = caller->uid;
	file_st->st_gid = caller->gid;
	file_st->st_mode = (file_st->st_mode & ~(mode_t)07777) | (mode_t)mode;
}

void access_present_attr(struct access_state *st, const struct access_caller *caller,
                         const char *relpath, struct stat *file_st)
{
	struct gathered g;

	if (st == NULL || policy_is_system_uid(caller->uid))
		return;
	/* On a database error the real (root-owned) attributes are shown. */
	if (gather_in_one_read(st, caller, relpath, file_st, S_ISDIR(file_st->st_mode), &g) < 0)
		return;
	present_from(caller, &g, file_st);
}

int access_check_see_present(struct access_state *st, const struct access_caller *caller,
                             const char *relpath, struct stat *file_st,
                             struct access_result *res)
{
	struct policy_decision decision;
	struct gathered g;
	int rc;

	if (st == NULL) {
		plain_posix(res);
		return 0;
	}
	rc = gather_in_one_read(st, caller, relpath, file_st, S_ISDIR(file_st->st_mode), &g);
	if (rc < 0)
		return rc;
	g.req.op = POLICY_OP_SEE;
	policy_decide(&g.req, &decision);
	fill_result(&decision, res);
	if (decision.verdict != POLICY_DENY && !policy_is_system_uid(caller->uid))
		present_from(caller, &g, file_st);
	return 0;
}

int access_note_created(struct access_state *st, const struct access_caller *caller,
                        const char *relpath, const struct stat *file_st)
{
	struct db_file rec = { .owner_uid = caller->uid, .pending = 1 };
	struct db_conn *conn;
	int rc;

	if (st == NULL)
		return 0;
	rc = db_pool_conn(st->pool, &conn);
	if (rc < 0)
		return rc;
	rec.media_type = policy_media_type_of_path(relpath);
	if (file_st != NULL) {
		rec.size = file_st->st_size;
		rec.mtime_ns = mtime_ns_of(file_st);
	}
	return db_file_put(conn, relpath, &rec);
}

int access_note_mkdir(struct access_state *st, const struct access_caller *caller,
                      const char *relpath)
{
	/* Directories carry no policy state: visibility follows from the path. */
	(void)st;
	(void)caller;
	(void)relpath;
	return 0;
}

int access_note_closed_after_write(struct access_state *st, const char *relpath,
                                   const struct stat *file_st)
{
	int media_type = policy_media_type_of_path(relpath);
	struct db_conn *conn;
	int rc;

	if (st == NULL)
		return 0;
	rc = db_pool_conn(st->pool, &conn);
	if (rc < 0)
		return rc;
	{
		/* Called at flush and again at release: the second finds nothing to do. */
		struct db_file rec;
		if (db_file_get(conn, relpath, &rec) == 0 && !rec.pending &&
		    rec.size == file_st->st_size && rec.mtime_ns == mtime_ns_of(file_st) &&
		    (media_type == MEDIA_OTHER || !media_index_is_stale(&rec, file_st)))
			return 0;
	}
	rc = db_file_set_stat(conn, relpath, file_st->st_size, mtime_ns_of(file_st), 0);
	if (rc == -ENOENT) {
		struct db_file rec = { .owner_uid = DB_NO_OWNER, .size = file_st->st_size,
		                       .mtime_ns = mtime_ns_of(file_st), .media_size = -1,
		                       .media_mtime_ns = -1, .media_type = media_type };

		rc = db_file_add_if_absent(conn, relpath, &rec);
		rc = rc < 0 ? rc : 0;
	}
	/* The writer may have added location: scan now rather than at the next
	 * open, so that open stays cheap. A failure here is caught there. */
	if (rc == 0 && media_type != MEDIA_OTHER)
		media_index_scan(st->scanner, conn, st->source_fd, relpath, NULL);
	return rc;
}

int access_note_renamed(struct access_state *st, const char *from_relpath,
                        const char *to_relpath)
{
	struct db_conn *conn;
	int rc;

	if (st == NULL)
		return 0;
	rc = db_pool_conn(st->pool, &conn);
	if (rc < 0)
		return rc;
	return db_file_rename(conn, from_relpath, to_relpath,
	                      policy_media_type_of_path(to_relpath));
}

int access_note_removed(struct access_state *st, const char *relpath)
{
	struct db_conn *conn;
	int rc;

	if (st == NULL)
		return 0;
	rc = db_pool_conn(st->pool, &conn);
	return rc < 0 ? rc : db_file_remove(conn, relpath);
}

int access_names_depend_on_caller(struct access_state *st, const char *relpath)
{
	struct policy_path path;

	if (st == NULL)
		return 0;
	/* An app's private area is hidden (ENOENT) from everyone else; any
	 * other directory is visible to every app of its user, and a caller of
	 * another user is stopped by the check on the next name or getattr. */
	if (policy_path_classify(relpath, &path) < 0)
		return 1;
	return path.pkg != NULL && (path.android == ANDROID_DATA || path.android == ANDROID_OBB ||
	                            path.android == ANDROID_MEDIA);
}

int access_note_media_info(struct access_state *st, const char *relpath,
                           int has_location, const char *codec,
                           const struct access_range *ranges, size_t count)
{
	struct db_range *db_ranges = NULL;
	struct db_conn *conn;
	int rc;

	if (st == NULL)
		return 0;
	rc = db_pool_conn(st->pool, &conn);
	if (rc < 0)
		return rc;
	if (count > 0 && (db_ranges = calloc(count, sizeof(*db_ranges))) == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < count; i++) {
		db_ranges[i].offset = ranges[i].offset;
		db_ranges[i].length = ranges[i].length;
	}
	{
		/* Recorded as describing the file as indexed now. */
		struct db_file rec;
		rc = db_file_get(conn, relpath, &rec);
		if (rc == 0)
			rc = db_file_set_media_info(conn, relpath, has_location, codec, db_ranges,
			                            count, rec.size, rec.mtime_ns);
	}
	free(db_ranges);
	return rc;
}

int access_redaction_ranges(struct access_state *st, const char *relpath,
                            const struct stat *file_st,
                            struct access_range **out, size_t *count)
{
	struct db_range *db_ranges;
	struct db_file rec;
	struct db_conn *conn;
	size_t n;
	int rc;

	*out = NULL;
	*count = 0;
	if (st == NULL)
		return 0;
	rc = db_pool_conn(st->pool, &conn);
	if (rc == 0)
		rc = db_file_get(conn, relpath, &rec);
	if (rc == 0 && media_index_is_stale(&rec, file_st))
		rc = media_index_scan(st->scanner, conn, st->source_fd, relpath, NULL);
	if (rc == 0)
		rc = db_file_get_redaction(conn, relpath, &db_ranges, &n);
	if (rc < 0)
		return rc;
	if (n > 0 && (*out = calloc(n, sizeof(**out))) == NULL) {
		free(db_ranges);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		(*out)[i].offset = db_ranges[i].offset;
		(*out)[i].length = db_ranges[i].length;
	}
	*count = n;
	free(db_ranges);
	return 0;
}

int access_transcode_settings(struct access_state *st, struct access_transcode_settings *out)
{
	struct db_transcoder rec;
	struct db_conn *conn;
	int rc;

	memset(out, 0, sizeof(*out));
	if (st == NULL)
		return 0;
	rc = db_pool_conn(st->pool, &conn);
	if (rc == 0)
		rc = db_transcoder_get(conn, &rec);
	if (rc < 0)
		return rc;
	_Static_assert(sizeof(out->command) == sizeof(rec.command), "command sizes differ");
	_Static_assert(sizeof(out->cache_dir) == sizeof(rec.cache_dir), "cache_dir sizes differ");
	memcpy(out->command, rec.command, sizeof(out->command));
	memcpy(out->cache_dir, rec.cache_dir, sizeof(out->cache_dir));
	out->cache_max_bytes = rec.cache_max_bytes > 0 ? (uint64_t)rec.cache_max_bytes : 0;
	return 0;
}

void access_counters(struct access_state *st, uint64_t *from_memory, uint64_t *from_db)
{
	*from_memory = st ? atomic_load(&st->decisions_from_memory) : 0;
	*from_db = st ? atomic_load(&st->decisions_from_db) : 0;
}
