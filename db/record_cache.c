/*
 * record_cache.c - see record_cache.h. Three tables under one mutex: a
 * direct-mapped one of app records, and hash tables of index records and
 * of directories read whole, every entry tagged with the generation (the
 * stamp) it was read at.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db/record_cache.h"

#define APP_SLOTS 256                 /* direct-mapped by uid: few apps are active at once */
#define RECORD_CACHE_DIRS 4096
#define DIR_BUCKETS 4096
/* A stamp must have held this long before whole directories are read. */
#define DIR_LOAD_AFTER_NS (50 * 1000000LL)

struct app_slot {
	uint64_t generation;              /* 0: never filled */
	struct cached_app app;
};

struct file_entry {
	struct file_entry *next;
	uint64_t generation;
	struct db_file rec;
	char path[];
};

struct dir_entry {
	struct dir_entry *next;
	uint64_t generation;
	char path[];
};

struct record_cache {
	const struct db_stamp_probe *probe;
	size_t max_files;
	pthread_mutex_t lock;             /* protects every field below */
	struct db_stamp stamp;            /* the stamp of `generation` */
	uint64_t generation;              /* moves with every new stamp; 0: none yet */
	int64_t stamp_since_ns;           /* when `stamp` was first seen */
	struct app_slot apps[APP_SLOTS];
	struct file_entry **files;
	size_t file_buckets;              /* a power of two */
	size_t file_count;
	struct dir_entry *dirs[DIR_BUCKETS];
	size_t dir_count;
};

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static uint64_t hash_path(const char *path)
{
	uint64_t h = 1469598103934665603ull;   /* FNV-1a */

	for (; *path; path++)
		h = (h ^ (uint8_t)*path) * 1099511628211ull;
	return h;
}

int record_cache_create(const struct db_stamp_probe *probe, size_t max_files,
                        struct record_cache **out)
{
	struct record_cache *cache = calloc(1, sizeof(*cache));
	size_t buckets = 1024;

	if (cache == NULL)
		return -ENOMEM;
	while (buckets < max_files)
		buckets *= 2;
	cache->files = calloc(buckets, sizeof(*cache->files));
	if (cache->files == NULL) {
		free(cache);
		return -ENOMEM;
	}
	cache->probe = probe;
	cache->max_files = max_files;
	cache->file_buckets = buckets;
	pthread_mutex_init(&cache->lock, NULL);
	*out = cache;
	return 0;
}

/* Frees every file and directory entry. Caller holds the lock (or is the
 * only user). */
static void drop_all_locked(struct record_cache *cache)
{
	for (size_t b = 0; b < cache->file_buckets; b++) {
		while (cache->files[b]) {
			struct file_entry *next = cache->files[b]->next;
			free(cache->files[b]);
			cache->files[b] = next;
		}
	}
	for (size_t b = 0; b < DIR_BUCKETS; b++) {
		while (cache->dirs[b]) {
			struct dir_entry *next = cache->dirs[b]->next;
			free(cache->dirs[b]);
			cache->dirs[b] = next;
		}
	}
	cache->file_count = 0;
	cache->dir_count = 0;
}

void record_cache_destroy(struct record_cache *cache)
{
	if (cache == NULL)
		return;
	drop_all_locked(cache);
	free(cache->files);
	pthread_mutex_destroy(&cache->lock);
	free(cache);
}

/* Makes `stamp` the cache's current one; a new stamp starts a new
 * generation, which retires every entry at once. Caller holds the lock. */
static void adopt_locked(struct record_cache *cache, const struct db_stamp *stamp)
{
	if (cache->generation != 0 && db_stamp_equal(stamp, &cache->stamp))
		return;
	cache->stamp = *stamp;
	cache->generation++;
	cache->stamp_since_ns = now_ns();
}

/* The put rule of record_cache.h: 1 when a record read after read_at may
 * be stored (and read_at is then the current stamp). Caller holds the lock. */
static int may_store_locked(struct record_cache *cache, const struct db_stamp *read_at)
{
	struct db_stamp live;

	if (db_stamp_read(cache->probe, &live) < 0 || !db_stamp_equal(&live, read_at))
		return 0;
	adopt_locked(cache, read_at);
	return 1;
}

int record_cache_get_app(struct record_cache *cache, const struct db_stamp *now, uid_t uid,
                         struct cached_app *out)
{
	struct app_slot *slot = &cache->apps[uid % APP_SLOTS];
	int hit;

	pthread_mutex_lock(&cache->lock);
	adopt_locked(cache, now);
	hit = slot->generation == cache->generation && slot->app.record.uid == uid;
	if (hit)
		*out = slot->app;
	pthread_mutex_unlock(&cache->lock);
	return hit;
}

void record_cache_put_app(struct record_cache *cache, const struct db_stamp *read_at,
                          const struct cached_app *app)
{
	struct app_slot *slot = &cache->apps[app->record.uid % APP_SLOTS];

	pthread_mutex_lock(&cache->lock);
	if (may_store_locked(cache, read_at)) {
		slot->generation = cache->generation;
		slot->app = *app;
	}
	pthread_mutex_unlock(&cache->lock);
}

static struct file_entry **file_bucket(struct record_cache *cache, const char *path)
{
	return &cache->files[hash_path(path) & (cache->file_buckets - 1)];
}

int record_cache_get_file(struct record_cache *cache, const struct db_stamp *now,
                          const char *path, struct db_file *out)
{
	struct file_entry *entry;
	int hit = 0;

	pthread_mutex_lock(&cache->lock);
	adopt_locked(cache, now);
	for (entry = *file_bucket(cache, path); entry; entry = entry->next) {
		if (strcmp(entry->path, path) == 0) {
			hit = entry->generation == cache->generation;
			if (hit)
				*out = entry->rec;
			break;
		}
	}
	pthread_mutex_unlock(&cache->lock);
	return hit;
}

void record_cache_put_file(struct record_cache *cache, const struct db_stamp *read_at,
                           const char *path, const struct db_file *rec)
{
	size_t path_size = strlen(path) + 1;
	struct file_entry *entry;

	pthread_mutex_lock(&cache->lock);
	if (!may_store_locked(cache, read_at))
		goto out;
	for (entry = *file_bucket(cache, path); entry; entry = entry->next) {
		if (strcmp(entry->path, path) == 0)
			break;
	}
	if (entry == NULL) {
		if (cache->file_count >= cache->max_files)
			drop_all_locked(cache);  /* full: start over rather than track age */
		entry = malloc(sizeof(*entry) + path_size);
		if (entry == NULL)
			goto out;  /* a cache: without the entry, the database is read */
		memcpy(entry->path, path, path_size);
		entry->next = *file_bucket(cache, path);
		*file_bucket(cache, path) = entry;
		cache->file_count++;
	}
	entry->generation = cache->generation;
	entry->rec = *rec;
out:
	pthread_mutex_unlock(&cache->lock);
}

static struct dir_entry **dir_bucket(struct record_cache *cache, const char *dir)
{
	return &cache->dirs[hash_path(dir) & (DIR_BUCKETS - 1)];
}

static struct dir_entry *find_dir_locked(struct record_cache *cache, const char *dir)
{
	struct dir_entry *entry;

	for (entry = *dir_bucket(cache, dir); entry; entry = entry->next) {
		if (strcmp(entry->path, dir) == 0)
			break;
	}
	return entry;
}

int record_cache_dir_wanted(struct record_cache *cache, const struct db_stamp *now,
                            const char *dir)
{
	struct dir_entry *entry;
	int wanted;

	pthread_mutex_lock(&cache->lock);
	adopt_locked(cache, now);
	entry = find_dir_locked(cache, dir);
	wanted = now_ns() - cache->stamp_since_ns >= DIR_LOAD_AFTER_NS &&
	         (entry == NULL || entry->generation != cache->generation);
	pthread_mutex_unlock(&cache->lock);
	return wanted;
}

void record_cache_dir_loaded(struct record_cache *cache, const struct db_stamp *read_at,
                             const char *dir)
{
	size_t path_size = strlen(dir) + 1;
	struct dir_entry *entry;

	pthread_mutex_lock(&cache->lock);
	if (!may_store_locked(cache, read_at))
		goto out;
	entry = find_dir_locked(cache, dir);
	if (entry == NULL) {
		if (cache->dir_count >= RECORD_CACHE_DIRS)
			drop_all_locked(cache);
		entry = malloc(sizeof(*entry) + path_size);
		if (entry == NULL)
			goto out;
		memcpy(entry->path, dir, path_size);
		entry->next = *dir_bucket(cache, dir);
		*dir_bucket(cache, dir) = entry;
		cache->dir_count++;
	}
	entry->generation = cache->generation;
out:
	pthread_mutex_unlock(&cache->lock);
}
