/*
 * pool.c - one connection per thread, so FUSE workers never share a
 * connection (SQLite connections are opened NOMUTEX) and each keeps its
 * prepared statements warm.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db/internal.h"

struct db_pool {
	char *path;
	pthread_key_t key;          /* the calling thread's struct db_conn */
	pthread_mutex_t lock;       /* protects conns and every conn's pool_next */
	struct db_conn *conns;      /* every open connection, for db_pool_close */
};

/* Removes conn from the pool's list and closes it. */
static void forget_conn(struct db_pool *pool, struct db_conn *conn)
{
	pthread_mutex_lock(&pool->lock);
	for (struct db_conn **link = &pool->conns; *link; link = &(*link)->pool_next) {
		if (*link == conn) {
			*link = conn->pool_next;
			break;
		}
	}
	pthread_mutex_unlock(&pool->lock);
	db_close(conn);
}

/* Thread exit: the thread's connection goes with it. */
static void conn_destructor(void *value)
{
	struct db_conn *conn = value;

	forget_conn(conn->pool, conn);
}

int db_pool_open(const char *path, struct db_pool **out, char *errbuf, size_t errlen)
{
	struct db_pool *pool = calloc(1, sizeof(*pool));
	struct db_conn *first;
	int rc;

	if (pool == NULL || (pool->path = strdup(path)) == NULL) {
		free(pool);
		strncpy(errbuf, "policy database: out of memory", errlen - 1);
		errbuf[errlen - 1] = '\0';
		return -ENOMEM;
	}
	/* Open once now: creation, migration and errors happen at start-up. */
	rc = db_open(path, &first, errbuf, errlen);
	if (rc < 0)
		goto out_free;
	db_close(first);
	rc = -pthread_key_create(&pool->key, conn_destructor);
	if (rc < 0)
		goto out_free;
	pthread_mutex_init(&pool->lock, NULL);
	*out = pool;
	return 0;

out_free:
	free(pool->path);
	free(pool);
	return rc;
}

int db_pool_conn(struct db_pool *pool, struct db_conn **out)
{
	struct db_conn *conn = pthread_getspecific(pool->key);
	char errbuf[DB_ERRMSG_MAX];
	int rc;

	if (conn != NULL) {
		/* Deleted or replaced under us: fail closed, never answer from it. */
		if (db_conn_check_file(conn) < 0)
			return -EIO;
		/* SQLite opens a file it cannot write read-only, for good: one
		 * opened while the database was read-only (an administrator's
		 * chattr +i) would refuse every write after that was undone. */
		if (sqlite3_db_readonly(conn->sqlite, "main") != 1) {
			*out = conn;
			return 0;
		}
		pthread_setspecific(pool->key, NULL);
		forget_conn(pool, conn);
	}
	/* db_connect() would create a missing file: a fresh empty policy. */
	if (access(pool->path, F_OK) != 0)
		return -EIO;
	rc = db_connect(pool->path, &conn, errbuf, sizeof(errbuf));
	if (rc < 0)
		return rc;
	conn->pool = pool;
	rc = -pthread_setspecific(pool->key, conn);
	if (rc < 0) {
		db_close(conn);
		return rc;
	}
	pthread_mutex_lock(&pool->lock);
	conn->pool_next = pool->conns;
	pool->conns = conn;
	pthread_mutex_unlock(&pool->lock);
	*out = conn;
	return 0;
}

void db_pool_close(struct db_pool *pool)
{
	if (pool == NULL)
		return;
	/* After this no thread exit runs conn_destructor for this pool. */
	pthread_key_delete(pool->key);
	while (pool->conns) {
		struct db_conn *conn = pool->conns;

		pool->conns = conn->pool_next;
		db_close(conn);
	}
	pthread_mutex_destroy(&pool->lock);
	free(pool->path);
	free(pool);
}
