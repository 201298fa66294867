/*
 * app_cache.h - the daemon's in-memory cache of app records (package,
 * no_hevc, permission bits), shared by all threads, so an open costs no app
 * query. Invalidated as a whole when the database's policy version moves
 * (any change to apps or app_permissions, by any process): the check is one
 * PRAGMA data_version on the calling thread's connection, so a change made
 * by mediactl is seen by the very next lookup.
 */
#ifndef MEDIAFS_DB_APP_CACHE_H
#define MEDIAFS_DB_APP_CACHE_H

#include <stdint.h>
#include <sys/types.h>

#include "db/db.h"

struct app_record {
	uid_t uid;
	int registered;                 /* 0: unknown uid (no package, no permissions) */
	char package[DB_PACKAGE_MAX];   /* "" when not registered */
	int no_hevc;
	unsigned permissions;           /* bits, as mapped by permission_bit */
};

struct app_cache;

/*
 * permission_bit maps a stored permission name to its bit (0 for names it
 * does not know, which then grant nothing). Returns 0 or -ENOMEM.
 */
int app_cache_create(unsigned (*permission_bit)(const char *name), struct app_cache **out);
void app_cache_destroy(struct app_cache *cache);

/*
 * Fills *out with the current record of `uid`, from the cache or through
 * `conn` (the calling thread's connection). Returns 0 or a negative errno
 * (database unreadable); an unregistered uid is a 0 return with
 * out->registered == 0.
 */
int app_cache_get(struct app_cache *cache, struct db_conn *conn, uid_t uid,
                  struct app_record *out);

#endif
