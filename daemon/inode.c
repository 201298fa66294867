/* inode.c - see inode.h. A chained hash table keyed by (dev, ino, view), plus
 * the source version for redacted views (same bucket for every version). */
#include "daemon/inode.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define INITIAL_BUCKETS 1024

static size_t bucket_of(const struct inode_table *table, dev_t dev, ino_t ino,
                        enum inode_view view)
{
	uint64_t h = (uint64_t)ino * 0x9E3779B97F4A7C15ull;
	h ^= (uint64_t)dev * 0xC2B2AE3D27D4EB4Full + (uint64_t)view;
	h ^= h >> 29;
	return (size_t)h & (table->bucket_count - 1);
}

static void inode_init_common(struct mfs_inode *inode, int fd, dev_t dev, ino_t ino,
                              mode_t type, enum inode_view view)
{
	memset(inode, 0, sizeof(*inode));
	inode->fd = fd;
	inode->dev = dev;
	inode->ino = ino;
	inode->type = type;
	inode->view = view;
	inode->nlookup = 0;
	inode->open_files = 0;
	inode->hash_next = NULL;
	pthread_mutex_init(&inode->path_lock, NULL);
	inode->known_path = NULL;
	inode->known_path_names_gen = 0;
	inode->known_path_expires_ns = 0;
	pthread_mutex_init(&inode->io_lock, NULL);
	inode->backing_id = 0;
	inode->passthrough_opens = 0;
	inode->server_opens = 0;
	inode->redact_copy = NULL;
}

/* Records the version a redacted view shows (part of its identity). */
static void set_view_version(struct mfs_inode *inode, const struct stat *st)
{
	if (inode->view != VIEW_REDACTED)
		return;
	inode->view_size = st->st_size;
	inode->view_mtime = st->st_mtim;
	inode->view_ctime = st->st_ctim;
}

/* Is `inode` the one for (st, view)? Reads immutable fields only. */
static int inode_is(const struct mfs_inode *inode, const struct stat *st, enum inode_view view)
{
	if (inode->dev != st->st_dev || inode->ino != st->st_ino || inode->view != view)
		return 0;
	return view != VIEW_REDACTED ||
	       (inode->view_size == st->st_size &&
	        inode->view_mtime.tv_sec == st->st_mtim.tv_sec &&
	        inode->view_mtime.tv_nsec == st->st_mtim.tv_nsec &&
	        inode->view_ctime.tv_sec == st->st_ctim.tv_sec &&
	        inode->view_ctime.tv_nsec == st->st_ctim.tv_nsec);
}

int inode_table_init(struct inode_table *table, int root_fd, dev_t dev, ino_t ino)
{
	pthread_mutex_init(&table->lock, NULL);
	table->bucket_count = INITIAL_BUCKETS;
	table->count = 0;
	table->buckets = calloc(table->bucket_count, sizeof(*table->buckets));
	if (!table->buckets)
		return -ENOMEM;
	inode_init_common(&table->root, root_fd, dev, ino, S_IFDIR, VIEW_PLAIN);
	/* The root is never forgotten; 2 keeps it above zero through any FORGET. */
	table->root.nlookup = 2;
	return 0;
}

static void inode_free(struct mfs_inode *inode)
{
	close(inode->fd);
	pthread_mutex_destroy(&inode->io_lock);
	pthread_mutex_destroy(&inode->path_lock);
	free(inode->known_path);
	free(inode);
}

void inode_table_destroy(struct inode_table *table)
{
	for (size_t i = 0; i < table->bucket_count; i++) {
		struct mfs_inode *inode = table->buckets[i];
		while (inode) {
			struct mfs_inode *next = inode->hash_next;
			inode_free(inode);
			inode = next;
		}
	}
	free(table->buckets);
	table->buckets = NULL;
	close(table->root.fd);
	pthread_mutex_destroy(&table->root.io_lock);
	pthread_mutex_destroy(&table->root.path_lock);
	free(table->root.known_path);
	pthread_mutex_destroy(&table->lock);
}

struct mfs_inode *inode_from_fuse(struct inode_table *table, fuse_ino_t fuse_ino)
{
	if (fuse_ino == FUSE_ROOT_ID)
		return &table->root;
	return (struct mfs_inode *)(uintptr_t)fuse_ino;
}

fuse_ino_t inode_to_fuse(struct inode_table *table, struct mfs_inode *inode)
{
	if (inode == &table->root)
		return FUSE_ROOT_ID;
	return (fuse_ino_t)(uintptr_t)inode;
}

/* Doubles the bucket array. Assumes table->lock is held. Failure is harmless:
 * the table just stays denser. */
static void table_grow_locked(struct inode_table *table)
{
	size_t new_count = table->bucket_count * 2;
	struct mfs_inode **new_buckets = calloc(new_count, sizeof(*new_buckets));
	struct mfs_inode **old_buckets = table->buckets;
	size_t old_count = table->bucket_count;

	if (!new_buckets)
		return;
	table->buckets = new_buckets;
	table->bucket_count = new_count;
	for (size_t i = 0; i < old_count; i++) {
		struct mfs_inode *inode = old_buckets[i];
		while (inode) {
			struct mfs_inode *next = inode->hash_next;
			size_t b = bucket_of(table, inode->dev, inode->ino, inode->view);
			inode->hash_next = new_buckets[b];
			new_buckets[b] = inode;
			inode = next;
		}
	}
	free(old_buckets);
}

int inode_lookup_ref(struct inode_table *table, int fd, const struct stat *st,
                     enum inode_view view, struct mfs_inode **out)
{
	struct mfs_inode *inode, *fresh;
	size_t b;

	if (st->st_dev == table->root.dev && st->st_ino == table->root.ino &&
	    view == VIEW_PLAIN) {
		close(fd);
		pthread_mutex_lock(&table->lock);
		table->root.nlookup++;
		pthread_mutex_unlock(&table->lock);
		*out = &table->root;
		return 0;
	}
	/* Allocate before locking so the table lock is never held across malloc. */
	fresh = malloc(sizeof(*fresh));
	pthread_mutex_lock(&table->lock);
	b = bucket_of(table, st->st_dev, st->st_ino, view);
	for (inode = table->buckets[b]; inode; inode = inode->hash_next) {
		if (inode_is(inode, st, view))
			break;
	}
	if (inode) {
		inode->nlookup++;
		pthread_mutex_unlock(&table->lock);
		free(fresh);
		close(fd);
		*out = inode;
		return 0;
	}
	if (!fresh) {
		pthread_mutex_unlock(&table->lock);
		close(fd);
		return -ENOMEM;
	}
	inode_init_common(fresh, fd, st->st_dev, st->st_ino, st->st_mode & S_IFMT, view);
	set_view_version(fresh, st);
	fresh->nlookup = 1;
	fresh->hash_next = table->buckets[b];
	table->buckets[b] = fresh;
	table->count++;
	if (table->count > table->bucket_count)
		table_grow_locked(table);
	pthread_mutex_unlock(&table->lock);
	*out = fresh;
	return 0;
}

/* Adds one lookup to the inode of (st, view) and returns it, if the table
 * has it; else NULL. */
static struct mfs_inode *ref_existing(struct inode_table *table, const struct stat *st,
                                      enum inode_view view)
{
	struct mfs_inode *inode = NULL;

	pthread_mutex_lock(&table->lock);
	if (st->st_dev == table->root.dev && st->st_ino == table->root.ino && view == VIEW_PLAIN)
		inode = &table->root;
	else
		inode = table->buckets[bucket_of(table, st->st_dev, st->st_ino, view)];
	while (inode && inode != &table->root && !inode_is(inode, st, view))
		inode = inode->hash_next;
	if (inode)
		inode->nlookup++;
	pthread_mutex_unlock(&table->lock);
	return inode;
}

int inode_lookup_ref_at(struct inode_table *table, int dir_fd, const char *name,
                        const struct stat *st, enum inode_view view, struct mfs_inode **out)
{
	struct stat opened;
	int fd;

	/* A known file needs no new descriptor: the table's own keeps that
	 * inode alive, so its number cannot have been reused by another file. */
	*out = ref_existing(table, st, view);
	if (*out)
		return 0;
	fd = openat(dir_fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &opened) != 0 || opened.st_dev != st->st_dev || opened.st_ino != st->st_ino) {
		close(fd);  /* replaced since st was taken: the caller looks again */
		return -EAGAIN;
	}
	return inode_lookup_ref(table, fd, st, view, out);
}

/* Unlinks inode from its bucket if nothing holds it any more; returns it for
 * freeing outside the lock, or NULL. Assumes table->lock is held. */
static struct mfs_inode *release_if_unused_locked(struct inode_table *table,
                                                  struct mfs_inode *inode)
{
	struct mfs_inode **link;

	if (inode == &table->root || inode->nlookup > 0 || inode->open_files > 0)
		return NULL;
	link = &table->buckets[bucket_of(table, inode->dev, inode->ino, inode->view)];
	while (*link && *link != inode)
		link = &(*link)->hash_next;
	if (*link)
		*link = inode->hash_next;
	table->count--;
	return inode;
}

void inode_forget(struct inode_table *table, struct mfs_inode *inode, uint64_t count)
{
	struct mfs_inode *unused;

	pthread_mutex_lock(&table->lock);
	if (inode == &table->root) {
		/* Keep the root's count positive whatever the kernel sends. */
		pthread_mutex_unlock(&table->lock);
		return;
	}
	inode->nlookup = count >= inode->nlookup ? 0 : inode->nlookup - count;
	unused = release_if_unused_locked(table, inode);
	pthread_mutex_unlock(&table->lock);
	if (unused)
		inode_free(unused);
}

void inode_pin_open(struct inode_table *table, struct mfs_inode *inode)
{
	pthread_mutex_lock(&table->lock);
	inode->open_files++;
	pthread_mutex_unlock(&table->lock);
}

void inode_unpin_open(struct inode_table *table, struct mfs_inode *inode)
{
	struct mfs_inode *unused;

	pthread_mutex_lock(&table->lock);
	inode->open_files--;
	unused = release_if_unused_locked(table, inode);
	pthread_mutex_unlock(&table->lock);
	if (unused)
		inode_free(unused);
}

size_t inode_table_count(struct inode_table *table)
{
	size_t count;

	pthread_mutex_lock(&table->lock);
	count = table->count;
	pthread_mutex_unlock(&table->lock);
	return count;
}
