/*
 * record_cache.h - the daemon's in-memory copy of what a decision reads
 * from the policy database: app records with whether the app holds any
 * per-file grant (by uid), and index records (by path, loaded a directory
 * at a time). It exists because reading the database costs file-lock
 * system calls on every decision, while the database changes rarely
 * compared with how often apps open and stat files.
 *
 * Validity: every entry belongs to the database stamp (db/change_stamp.h)
 * it was read at, and is served only to a lookup made at that same stamp.
 * A commit by any process changes the stamp, and from the next lookup on
 * the cache is empty (a generation counter moves; stale entries are
 * overwritten or dropped in bulk, never served). An entry is stored only
 * when the live stamp still equals the one read before the read
 * transaction it came from, i.e. nothing was committed in between.
 *
 * Size: at most max_files index records and RECORD_CACHE_DIRS directories;
 * past that the cache empties itself and starts over.
 *
 * Thread safety: every function may be called from any thread; one mutex
 * inside protects everything.
 */
#ifndef MEDIAFS_DB_RECORD_CACHE_H
#define MEDIAFS_DB_RECORD_CACHE_H

#include <stddef.h>
#include <sys/types.h>

#include "db/app_cache.h"
#include "db/change_stamp.h"
#include "db/db.h"

struct record_cache;

/* probe: not owned, outlives the cache. Returns 0 or -ENOMEM. */
int record_cache_create(const struct db_stamp_probe *probe, size_t max_files,
                        struct record_cache **out);
void record_cache_destroy(struct record_cache *cache);

/* An app record and whether the app holds any per-file grant. */
struct cached_app {
	struct app_record record;
	int has_file_grants;
};

/* Lookups at `now`, a stamp just read: 1 and *out filled on a hit, else 0. */
int record_cache_get_app(struct record_cache *cache, const struct db_stamp *now, uid_t uid,
                         struct cached_app *out);
int record_cache_get_file(struct record_cache *cache, const struct db_stamp *now,
                          const char *path, struct db_file *out);

/*
 * Whether the index records of directory `dir` should be read whole and
 * stored with record_cache_put_file: not yet done at `now`, and `now` has
 * held for a while (while the database keeps changing, loading whole
 * directories would be wasted work). Returns 1 or 0.
 */
int record_cache_dir_wanted(struct record_cache *cache, const struct db_stamp *now,
                            const char *dir);
/* Notes that dir's records were read at read_at (see the put rule). */
void record_cache_dir_loaded(struct record_cache *cache, const struct db_stamp *read_at,
                             const char *dir);

/* Stores a record read in a transaction begun after read_at was read;
 * dropped when anything was committed since read_at. */
void record_cache_put_app(struct record_cache *cache, const struct db_stamp *read_at,
                          const struct cached_app *app);
void record_cache_put_file(struct record_cache *cache, const struct db_stamp *read_at,
                           const char *path, const struct db_file *rec);

#endif
