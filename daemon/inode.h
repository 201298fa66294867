/*
 * inode.h - the table of FUSE inodes.
 *
 * A FUSE inode stands for one backing file (device + inode number) seen
 * through one *view*: the plain view shows the original bytes; a redacted or
 * transcoded view is a separate FUSE inode of the same backing file, because
 * the kernel keeps one page cache and one io mode per FUSE inode and a
 * redacted reader must never share either with a plain reader.
 *
 * Ownership: an inode lives while the kernel holds lookups on it (nlookup,
 * raised by every successful lookup/create/mkdir/readdirplus entry, lowered
 * by forget) or while any of its files is open (open_files, because the
 * kernel may deliver FORGET before an asynchronous RELEASE of the same
 * inode). When both reach zero it is removed and freed.
 *
 * The FUSE inode number is the struct's address; the root is FUSE_ROOT_ID.
 */
#ifndef MEDIAFS_DAEMON_INODE_H
#define MEDIAFS_DAEMON_INODE_H

#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "daemon/fuse_version.h"

struct redact_copy;

enum inode_view {
	VIEW_PLAIN = 0,
	VIEW_REDACTED,
	VIEW_TRANSCODED,
};

struct mfs_inode {
	/* Immutable from creation to free. */
	int fd;                  /* O_PATH|O_NOFOLLOW descriptor of the backing file */
	dev_t dev;
	ino_t ino;
	mode_t type;             /* S_IFREG or S_IFDIR */
	enum inode_view view;
	/* VIEW_REDACTED only (zero otherwise): the source version this view was
	 * looked up at, part of the inode's identity, so that a changed source
	 * gets a new view inode (see iomode_open_redacted). */
	struct timespec view_mtime, view_ctime;
	off_t view_size;

	/* Protected by inode_table.lock. */
	uint64_t nlookup;
	uint32_t open_files;
	struct mfs_inode *hash_next;

	/* Protected by path_lock: the SOURCE-relative path the inode was last
	 * seen at, a hint daemon/gate.c uses instead of asking the kernel for
	 * the descriptor's path, under the rules written there. */
	pthread_mutex_t path_lock;
	char *known_path;              /* malloc'd; NULL when not known */
	uint64_t known_path_names_gen; /* mfs_ctx.names_generation it belongs to */
	int64_t known_path_expires_ns; /* CLOCK_MONOTONIC_COARSE */

	/* Protected by io_lock: the io-mode state machine of daemon/iomode.c. */
	pthread_mutex_t io_lock;
	int backing_id;          /* kernel passthrough id, 0 when none */
	uint32_t passthrough_opens;
	uint32_t server_opens;
	struct redact_copy *redact_copy; /* redacted view: the copy backing_id refers to */
};

struct inode_table {
	pthread_mutex_t lock;    /* protects buckets, bucket_count, count and every
	                            inode's nlookup, open_files and hash_next */
	struct mfs_inode **buckets;
	size_t bucket_count;     /* a power of two */
	size_t count;
	struct mfs_inode root;   /* never in the hash, never freed */
};

/* Takes ownership of root_fd (an O_PATH directory). Returns 0 or -ENOMEM. */
int inode_table_init(struct inode_table *table, int root_fd, dev_t dev, ino_t ino);
/* Frees every inode; no FUSE request may be in flight. */
void inode_table_destroy(struct inode_table *table);

/* Maps a FUSE inode number to its inode. The kernel only sends numbers we
 * gave it and have not forgotten, so this cannot fail. */
struct mfs_inode *inode_from_fuse(struct inode_table *table, fuse_ino_t fuse_ino);
fuse_ino_t inode_to_fuse(struct inode_table *table, struct mfs_inode *inode);

/*
 * Finds the inode for (st->st_dev, st->st_ino, view) -- and, for
 * VIEW_REDACTED, st's size, mtime and ctime -- and adds one lookup, or
 * creates it with one lookup. Always consumes `fd` (an O_PATH descriptor of
 * that file): stored in a new inode, closed when an inode already existed.
 * Returns 0 and sets *out, or -ENOMEM (fd closed).
 */
int inode_lookup_ref(struct inode_table *table, int fd, const struct stat *st,
                     enum inode_view view, struct mfs_inode **out);

/*
 * inode_lookup_ref() for the entry `name` of directory dir_fd, whose lstat
 * st the caller has just taken: opens a descriptor only when the table does
 * not know that file yet. Returns 0 and sets *out, -EAGAIN when the name
 * now refers to another file (stat it again), or another negative errno.
 */
int inode_lookup_ref_at(struct inode_table *table, int dir_fd, const char *name,
                        const struct stat *st, enum inode_view view, struct mfs_inode **out);

/* Drops `count` lookups (FORGET); frees the inode when nothing holds it. */
void inode_forget(struct inode_table *table, struct mfs_inode *inode, uint64_t count);

/* An open file pins its inode from open to release. */
void inode_pin_open(struct inode_table *table, struct mfs_inode *inode);
void inode_unpin_open(struct inode_table *table, struct mfs_inode *inode);

/* Number of inodes in the table (for stats and leak checks). */
size_t inode_table_count(struct inode_table *table);

#endif
