/*
 * app_cache.c - a direct-mapped cache of app records keyed by uid, tagged
 * with the policy version it was filled at (see app_cache.h).
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "db/app_cache.h"

#define CACHE_SLOTS 256   /* direct-mapped by uid: few apps are active at once */

struct cache_slot {
	int valid;
	struct app_record record;
};

struct app_cache {
	unsigned (*permission_bit)(const char *name);
	pthread_mutex_t lock;           /* protects policy_version and slots */
	int64_t policy_version;         /* the version every valid slot belongs to */
	struct cache_slot slots[CACHE_SLOTS];
};

int app_cache_create(unsigned (*permission_bit)(const char *name), struct app_cache **out)
{
	struct app_cache *cache = calloc(1, sizeof(*cache));

	if (cache == NULL)
		return -ENOMEM;
	cache->permission_bit = permission_bit;
	cache->policy_version = -1;
	pthread_mutex_init(&cache->lock, NULL);
	*out = cache;
	return 0;
}

void app_cache_destroy(struct app_cache *cache)
{
	if (cache == NULL)
		return;
	pthread_mutex_destroy(&cache->lock);
	free(cache);
}

/* Looks uid up at `version`, emptying the cache first when it is older
 * (versions only grow; a caller that checked just before a change passes
 * an older one and simply misses). Caller holds cache->lock. */
static int lookup_locked(struct app_cache *cache, int64_t version, uid_t uid,
                         struct app_record *out)
{
	struct cache_slot *slot = &cache->slots[uid % CACHE_SLOTS];

	if (version < cache->policy_version)
		return 0;
	if (version > cache->policy_version) {
		for (int i = 0; i < CACHE_SLOTS; i++)
			cache->slots[i].valid = 0;
		cache->policy_version = version;
		return 0;
	}
	if (!slot->valid || slot->record.uid != uid)
		return 0;
	*out = slot->record;
	return 1;
}

struct permission_ctx {
	struct app_cache *cache;
	unsigned bits;
};

static int add_permission(const char *name, void *ctx)
{
	struct permission_ctx *perms = ctx;

	perms->bits |= perms->cache->permission_bit(name);
	return 0;
}

int app_cache_get(struct app_cache *cache, struct db_conn *conn, uid_t uid,
                  struct app_record *out)
{
	struct permission_ctx perms = { cache, 0 };
	struct db_app app;
	int64_t version, read_version;
	int rc = db_policy_version(conn, &version);
	int hit;

	if (rc < 0)
		return rc;
	pthread_mutex_lock(&cache->lock);
	hit = lookup_locked(cache, version, uid, out);
	pthread_mutex_unlock(&cache->lock);
	if (hit)
		return 0;

	rc = db_app_snapshot(conn, uid, &app, add_permission, &perms, &read_version);
	if (rc < 0 && rc != -ENOENT)
		return rc;
	memset(out, 0, sizeof(*out));
	out->uid = uid;
	out->registered = rc == 0;
	if (rc == 0) {
		memcpy(out->package, app.package, sizeof(out->package));
		out->no_hevc = app.no_hevc;
		out->permissions = perms.bits;
	}
	/* Keep it only if no policy change slipped in since the cache's version
	 * was set; otherwise the next caller reads it afresh. */
	pthread_mutex_lock(&cache->lock);
	if (read_version == cache->policy_version) {
		cache->slots[uid % CACHE_SLOTS].valid = 1;
		cache->slots[uid % CACHE_SLOTS].record = *out;
	}
	pthread_mutex_unlock(&cache->lock);
	return 0;
}
