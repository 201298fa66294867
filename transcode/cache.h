/*
 * cache.h - the transcode cache: one directory of finished copies, each a
 * regular file named after the identity and version of its source,
 *
 *     <dev>-<ino>-<size>-<mtime_ns>.mp4       (hex numbers)
 *
 * so a source that changes (new size or mtime) simply no longer finds its
 * old copy, and nothing outside the directory must be kept in step with it.
 * The directory is the whole truth: entries are counted and evicted by
 * listing it, and the last use of an entry is its atime, set explicitly on
 * every hit. That keeps `mediactl cache stats|clear` correct while the
 * daemon runs and across restarts. Copies are written to unnamed
 * (O_TMPFILE) files and linked in only when complete, so a listing never
 * sees a partial copy, and removing a name never disturbs a reader that
 * already holds the file open.
 *
 * Only names of that exact form are ever counted or removed: a cache
 * directory pointed at the wrong place loses nothing else.
 *
 * No locking here: callers that link and evict concurrently serialize
 * themselves (the daemon's transcoder does); a concurrent clear only makes
 * some unlinks find nothing, which is harmless.
 */
#ifndef MEDIAFS_TRANSCODE_CACHE_H
#define MEDIAFS_TRANSCODE_CACHE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>

/* What a copy was made from: the source's identity and version. */
struct transcode_key {
	uint64_t dev;
	uint64_t ino;
	int64_t size;
	int64_t mtime_ns;
};

#define TCACHE_NAME_MAX 96

/* The key of the file whose fstat is st. */
void transcode_key_of(const struct stat *st, struct transcode_key *out);
int transcode_key_equal(const struct transcode_key *a, const struct transcode_key *b);
/* Same source file (dev, ino), whatever its version. */
int transcode_key_same_file(const struct transcode_key *a, const struct transcode_key *b);

/* Writes the entry name of key into buf (TCACHE_NAME_MAX bytes suffice).
 * Returns 0 or -ENAMETOOLONG. */
int tcache_name(const struct transcode_key *key, char *buf, size_t len);
/* Parses an entry name back into its key. Returns 0, or -EINVAL when
 * `name` is not exactly what tcache_name() writes. */
int tcache_parse_name(const char *name, struct transcode_key *out);

/* One listed entry, for eviction planning. */
struct tcache_entry {
	char name[TCACHE_NAME_MAX];
	struct transcode_key key;
	uint64_t bytes;              /* st_size: what readers of the copy see */
	struct timespec last_use;    /* atime */
	int evict;                   /* set by tcache_plan_eviction() */
};

/*
 * The LRU rule, pure: marks (entry->evict = 1) every other version of
 * `fresh`'s source (stale copies), then the least recently used entries,
 * until the unmarked ones total at most max_bytes. The entry of `fresh`
 * itself (if listed) goes last, only when it alone exceeds max_bytes.
 * Reorders `entries` (by last use, oldest first). fresh may be NULL.
 * Returns the bytes the unmarked entries total.
 */
uint64_t tcache_plan_eviction(struct tcache_entry *entries, size_t count, uint64_t max_bytes,
                              const struct transcode_key *fresh);

/*
 * Opens the cache directory `path` (absolute) as an O_DIRECTORY descriptor.
 * With create != 0, creates it and its missing parents, mode 0700 (copies
 * are of other apps' files: only root may list them). Returns 0 and sets
 * *dirfd, -ENOENT (create == 0, missing), -EINVAL (relative path), or
 * another negative errno.
 */
int tcache_open_dir(const char *path, int create, int *dirfd);

/*
 * Opens the copy of `key` read-only and records this use (atime = now).
 * Returns 0 and sets *fd, -ENOENT when there is no such copy, or another
 * negative errno.
 */
int tcache_lookup(int dirfd, const struct transcode_key *key, int *fd);

/* Size of the copy of `key` in the directory `dir`, without recording a
 * use (for stat). Returns 0, -ENOENT, or another negative errno. */
int tcache_entry_size(const char *dir, const struct transcode_key *key, off_t *size);

/* Creates an unnamed regular file in the cache directory, read-write, mode
 * 0600. Returns 0 and sets *fd, or a negative errno (-EOPNOTSUPP when the
 * file system has no O_TMPFILE). */
int tcache_tmpfile(int dirfd, int *fd);

/*
 * Gives the finished unnamed file tmp_fd the name of `key` (an equivalent
 * copy already there is kept), then evicts by tcache_plan_eviction() so
 * the directory holds at most max_bytes. Returns 0 or a negative errno
 * (the copy is then not cached; tmp_fd is still valid either way).
 */
int tcache_commit(int dirfd, int tmp_fd, const struct transcode_key *key, uint64_t max_bytes);

struct tcache_usage {
	uint64_t entries;
	uint64_t bytes;
};

/* Counts the entries and their bytes. Returns 0 or a negative errno. */
int tcache_usage(int dirfd, struct tcache_usage *out);

/* Removes every entry; *removed says what went. Open copies stay readable.
 * Returns 0 or a negative errno. */
int tcache_clear(int dirfd, struct tcache_usage *removed);

#endif
