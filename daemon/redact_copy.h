/*
 * redact_copy.h - redacted copies: for a redacted view served by kernel
 * passthrough, a file holding the backing file's bytes with the location
 * ranges zeroed. The kernel then reads, maps and splices the copy itself,
 * and no original byte is ever reachable through the view.
 *
 * A store keeps its copies either in memory (sealed memfds: photo-size
 * files) or on disk (unnamed O_TMPFILE files in a directory, reopened
 * read-only: large videos; on SOURCE's own file system by default, where a
 * reflinking file system shares the unchanged blocks). A disk copy has no
 * name: nothing can reach it but the daemon's descriptor, and the kernel
 * frees it when the last descriptor closes, even after a crash.
 *
 * A copy is keyed by the source's identity AND version (dev, ino, size,
 * mtime_ns, ctime_ns) and the exact ranges it zeroes, so a changed source
 * never matches an old copy. Copies are reference-counted: a reference is
 * held by each view inode that registered the copy as its backing file.
 * Unreferenced copies stay cached for reuse until the budget or the
 * descriptor limit needs their room (least recently used first), or a newer
 * version of the same file is copied.
 *
 * No FUSE and no inode here: iomode.c decides when a copy is used.
 */
#ifndef MEDIAFS_DAEMON_REDACT_COPY_H
#define MEDIAFS_DAEMON_REDACT_COPY_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "daemon/access.h"

struct redact_copy;

/* Unreferenced copies kept for reuse at most (each holds a descriptor). */
#define REDACT_COPIES_MAX_CACHED 256

struct redact_copies {
	int dir_fd;               /* -1: memfd copies; else O_TMPFILE files in this
	                             directory (not owned). Immutable */
	uint64_t max_file;        /* largest source that gets a copy; 0: none. Immutable */
	uint64_t budget;          /* bytes all copies may take together. Immutable */
	const char *zeroes;       /* a shared zero buffer (redact.h). Immutable */
	size_t zeroes_size;       /* its size. Immutable */
	pthread_mutex_t lock;     /* protects head, bytes, count, tick and every listed
	                             copy's refs, last_used and next */
	struct redact_copy *head; /* every cached copy, referenced or not */
	uint64_t bytes;           /* page-rounded sizes of listed copies + fills under way */
	uint64_t count;           /* listed copies */
	uint64_t tick;            /* LRU clock */
};

/* Sets up an empty store of copies in memory (dir_fd -1) or in the
 * directory dir_fd (which must outlive the store). zeroes: zeroes_size
 * (> 0) bytes that stay zero. */
void redact_copies_init(struct redact_copies *rc, int dir_fd, uint64_t max_file,
                        uint64_t budget, const char *zeroes, size_t zeroes_size);
/* Frees every copy, referenced or not: only at exit, no request in flight.
 * Open passthrough files keep working (the kernel holds its own reference). */
void redact_copies_destroy(struct redact_copies *rc);

/*
 * Gets a reference to the copy of the file open (readable) as source_fd,
 * whose stat is *st and whose bytes inside ranges (sorted, non-overlapping)
 * must read as zero: an existing copy with exactly this key, or a new one.
 * A new copy is filled from source_fd, zeroed and made unwritable (a memfd
 * sealed against shrink, grow, write and further seals; a disk copy
 * reopened read-only and its writable descriptor closed), then source_fd
 * is stat'ed again: a source that
 * changed meanwhile fails the fill, so a copy only ever holds the one
 * version its ranges were computed for.
 * Returns 0 with *out (release with redact_copy_put()), or:
 *   -EFBIG   the source is above max_file (or copies are off);
 *   -ENOSPC  the budget is taken by copies in use;
 *   -ESTALE  the source changed during the fill;
 *   another negative errno (memfd, O_TMPFILE unsupported, disk full, I/O).
 */
int redact_copy_get(struct redact_copies *rc, int source_fd, const struct stat *st,
                    const struct access_range *ranges, size_t count, struct redact_copy **out);

/* Drops a reference from redact_copy_get() (whichever store it came
 * from). The copy stays cached. */
void redact_copy_put(struct redact_copy *copy);

/* True when `copy` was made for this version (*st) and exactly these ranges.
 * Reads only immutable fields: no lock needed while a reference is held. */
int redact_copy_matches(const struct redact_copy *copy, const struct stat *st,
                        const struct access_range *ranges, size_t count);

/* The copy's unwritable descriptor, valid while a reference is held. */
int redact_copy_fd(const struct redact_copy *copy);
/* Its size in bytes. */
uint64_t redact_copy_size(const struct redact_copy *copy);

/* Shows the copy's version in *st (size, blocks, mtime, ctime): what a
 * file open on it reads. Reads only immutable fields. */
void redact_copy_present(const struct redact_copy *copy, struct stat *st);

/* Number of cached copies and the bytes they take (for stats). */
void redact_copies_usage(struct redact_copies *rc, uint64_t *count, uint64_t *bytes);

#endif
