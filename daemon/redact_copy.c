/* redact_copy.c - see redact_copy.h. */
#include "daemon/redact_copy.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <unistd.h>


struct redact_copy {
	/* Immutable from creation to free: the key and the memfd. */
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime, ctime;
	struct access_range *ranges;   /* malloc'd, NULL when range_count is 0 */
	size_t range_count;
	int fd;                        /* sealed memfd, or read-only disk copy */
	uint64_t charge;               /* bytes counted against the budget */
	struct redact_copies *owner;   /* the store it is listed in */
	/* Protected by redact_copies.lock. */
	uint32_t refs;
	uint64_t last_used;
	struct redact_copy *next;
};

static uint64_t page_rounded(off_t size)
{
	return ((uint64_t)size + 4095) & ~(uint64_t)4095;
}

static int same_time(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec == b->tv_sec && a->tv_nsec == b->tv_nsec;
}

/* Same identity and version: what a stat must show for a copy to be current. */
static int same_version(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
	       same_time(&a->st_mtim, &b->st_mtim) && same_time(&a->st_ctim, &b->st_ctim);
}

int redact_copy_matches(const struct redact_copy *copy, const struct stat *st,
                        const struct access_range *ranges, size_t count)
{
	return copy->dev == st->st_dev && copy->ino == st->st_ino && copy->size == st->st_size &&
	       same_time(&copy->mtime, &st->st_mtim) && same_time(&copy->ctime, &st->st_ctim) &&
	       copy->range_count == count &&
	       (count == 0 || memcmp(copy->ranges, ranges, count * sizeof(*ranges)) == 0);
}

int redact_copy_fd(const struct redact_copy *copy)
{
	return copy->fd;
}

uint64_t redact_copy_size(const struct redact_copy *copy)
{
	return (uint64_t)copy->size;
}

void redact_copy_present(const struct redact_copy *copy, struct stat *st)
{
	st->st_size = copy->size;
	st->st_blocks = (copy->size + 511) / 512;
	st->st_mtim = copy->mtime;
	st->st_ctim = copy->ctime;
}

void redact_copies_init(struct redact_copies *rc, int dir_fd, uint64_t max_file,
                        uint64_t budget, const char *zeroes, size_t zeroes_size)
{
	memset(rc, 0, sizeof(*rc));
	rc->dir_fd = dir_fd;
	rc->max_file = max_file;
	rc->budget = budget;
	rc->zeroes = zeroes;
	rc->zeroes_size = zeroes_size;
	pthread_mutex_init(&rc->lock, NULL);
}

static void copy_free(struct redact_copy *copy)
{
	if (copy->fd >= 0)
		close(copy->fd);
	free(copy->ranges);
	free(copy);
}

void redact_copies_destroy(struct redact_copies *rc)
{
	struct redact_copy *copy = rc->head;

	while (copy) {
		struct redact_copy *next = copy->next;
		copy_free(copy);
		copy = next;
	}
	rc->head = NULL;
	pthread_mutex_destroy(&rc->lock);
}

/* Finds a listed copy with this key and takes a reference. Assumes rc->lock. */
static struct redact_copy *find_locked(struct redact_copies *rc, const struct stat *st,
                                       const struct access_range *ranges, size_t count)
{
	for (struct redact_copy *copy = rc->head; copy; copy = copy->next) {
		if (redact_copy_matches(copy, st, ranges, count)) {
			copy->refs++;
			copy->last_used = ++rc->tick;
			return copy;
		}
	}
	return NULL;
}

/* Unlinks *link (an unreferenced copy) onto *freed. Assumes rc->lock. */
static void unlink_locked(struct redact_copies *rc, struct redact_copy **link,
                          struct redact_copy **freed)
{
	struct redact_copy *gone = *link;

	*link = gone->next;
	rc->bytes -= gone->charge;
	rc->count--;
	gone->next = *freed;
	*freed = gone;
}

/* The link to the least recently used unreferenced copy, or NULL. Assumes rc->lock. */
static struct redact_copy **lru_unused_locked(struct redact_copies *rc)
{
	struct redact_copy **victim = NULL;

	for (struct redact_copy **link = &rc->head; *link; link = &(*link)->next) {
		if ((*link)->refs == 0 && (!victim || (*link)->last_used < (*victim)->last_used))
			victim = link;
	}
	return victim;
}

/*
 * Makes room for a copy of `need` bytes of the file *st shows, then
 * reserves the bytes. Assumes rc->lock. Unlinked copies go on *freed, to be
 * closed after the lock is dropped:
 *   - unreferenced copies of older versions of the same file: a version
 *     never comes back (ctime only moves forward), so they are dead weight;
 *   - then unreferenced copies, least recently used first, until `need`
 *     fits the budget and fewer than REDACT_COPIES_MAX_CACHED are listed
 *     (each holds a descriptor). Copies in use are never dropped: they do
 *     not count against that number's limit, only against the budget.
 * Returns 0, or -ENOSPC (nothing reserved) when copies in use fill the budget.
 */
static int reserve_locked(struct redact_copies *rc, const struct stat *st, uint64_t need,
                          struct redact_copy **freed)
{
	struct redact_copy **link = &rc->head, **victim;

	while (*link) {
		if ((*link)->refs == 0 && (*link)->dev == st->st_dev && (*link)->ino == st->st_ino)
			unlink_locked(rc, link, freed);
		else
			link = &(*link)->next;
	}
	while (rc->bytes + need > rc->budget) {
		victim = lru_unused_locked(rc);
		if (!victim)
			return -ENOSPC;
		unlink_locked(rc, victim, freed);
	}
	while (rc->count >= REDACT_COPIES_MAX_CACHED && (victim = lru_unused_locked(rc)))
		unlink_locked(rc, victim, freed);
	rc->bytes += need;
	return 0;
}

static void free_list(struct redact_copy *list)
{
	while (list) {
		struct redact_copy *next = list->next;
		copy_free(list);
		list = next;
	}
}

/* copy_file_range shares extents on a reflinking file system (a disk copy
 * on SOURCE's own): only the zeroed blocks then take space. */
static ssize_t copy_by_range(int copy_fd, int source_fd, off_t *off, size_t len)
{
	off_t out_off = *off;

	return copy_file_range(source_fd, off, copy_fd, &out_off, len, 0);
}

/* sendfile stays in the kernel (page cache to page cache). */
static ssize_t copy_by_sendfile(int copy_fd, int source_fd, off_t *off, size_t len)
{
	return sendfile(copy_fd, source_fd, off, len);
}

/*
 * Copies from *off up to size with one in-kernel copier, advancing *off.
 * Returns 0 when done or when the copier cannot copy between these two
 * files (*off says how far it got; the caller goes on another way), or a
 * negative errno (-ESTALE when the source ended early: it shrank).
 */
static int copy_in_kernel(ssize_t (*copier)(int, int, off_t *, size_t), int copy_fd,
                          int source_fd, off_t *off, off_t size)
{
	while (*off < size) {
		ssize_t n = copier(copy_fd, source_fd, off, (size_t)(size - *off));
		if (n > 0)
			continue;
		if (n == 0)
			return -ESTALE;
		if (errno == EINTR)
			continue;
		if (errno != EXDEV && errno != EINVAL && errno != EOPNOTSUPP && errno != ENOSYS)
			return -errno;
		break;
	}
	return 0;
}

/* Copies `size` bytes of source_fd from offset 0 into copy_fd. Returns 0 or
 * a negative errno (-ESTALE when the source ended early: it shrank). */
static int fill_bytes(int copy_fd, int source_fd, off_t size)
{
	off_t off = 0;
	int err = copy_in_kernel(copy_by_range, copy_fd, source_fd, &off, size);

	if (err == 0)
		err = copy_in_kernel(copy_by_sendfile, copy_fd, source_fd, &off, size);
	if (err < 0)
		return err;
	/* A source sendfile cannot read: plain reads and writes. */
	while (off < size) {
		char buf[65536];
		size_t want = (size_t)(size - off) < sizeof(buf) ? (size_t)(size - off) : sizeof(buf);
		ssize_t n = pread(source_fd, buf, want, off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -ESTALE;
		if (pwrite(copy_fd, buf, (size_t)n, off) != n)
			return errno ? -errno : -EIO;
		off += n;
	}
	return 0;
}

/* Writes zeros over every range (clipped at size). Returns 0 or a negative errno. */
static int zero_ranges(int copy_fd, off_t size, const struct access_range *ranges, size_t count,
                       const char *zeroes, size_t zeroes_size)
{
	for (size_t i = 0; i < count; i++) {
		uint64_t pos = ranges[i].offset;
		uint64_t end = ranges[i].offset + ranges[i].length;
		if (end > (uint64_t)size)
			end = (uint64_t)size;
		while (pos < end) {
			size_t len = end - pos < zeroes_size ? (size_t)(end - pos) : zeroes_size;
			ssize_t n = pwrite(copy_fd, zeroes, len, (off_t)pos);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				return n < 0 ? -errno : -EIO;
			pos += (uint64_t)n;
		}
	}
	return 0;
}

/* A new, empty, writable copy file: a sealable memfd, or an unnamed file in
 * rc->dir_fd. Returns the descriptor or a negative errno. */
static int create_copy_file(struct redact_copies *rc)
{
	int fd = rc->dir_fd < 0
	         ? memfd_create("mediafs-redacted", MFD_CLOEXEC | MFD_ALLOW_SEALING)
	         : openat(rc->dir_fd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);

	return fd < 0 ? -errno : fd;
}

/*
 * Makes the filled copy *fd unwritable for good. A memfd is sealed. A disk
 * copy cannot be sealed: it is reopened read-only through /proc and the
 * writable descriptor closed, so no writable descriptor of it exists (it
 * has no name to open one by). Returns 0 or a negative errno.
 */
static int make_unwritable(struct redact_copies *rc, int *fd)
{
	char proc_path[64];
	int read_only;

	if (rc->dir_fd < 0)
		return fcntl(*fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE |
		                               F_SEAL_SEAL) == 0 ? 0 : -errno;
	snprintf(proc_path, sizeof(proc_path), "/proc/self/fd/%d", *fd);
	read_only = open(proc_path, O_RDONLY | O_CLOEXEC);
	if (read_only < 0)
		return -errno;
	close(*fd);
	*fd = read_only;
	return 0;
}

/*
 * Makes a new copy (refs 1, not listed): file, bytes, zeros, unwritable, and
 * the check that the source did not change meanwhile. Returns 0 or a
 * negative errno; on failure nothing is left behind.
 */
static int make_copy(struct redact_copies *rc, int source_fd, const struct stat *st,
                     const struct access_range *ranges, size_t count, struct redact_copy **out)
{
	struct redact_copy *copy = calloc(1, sizeof(*copy));
	struct stat after;
	int err = 0;

	if (!copy)
		return -ENOMEM;
	copy->fd = -1;
	copy->owner = rc;
	if (count > 0) {
		copy->ranges = malloc(count * sizeof(*ranges));
		if (!copy->ranges) {
			free(copy);
			return -ENOMEM;
		}
		memcpy(copy->ranges, ranges, count * sizeof(*ranges));
	}
	copy->range_count = count;
	copy->dev = st->st_dev;
	copy->ino = st->st_ino;
	copy->size = st->st_size;
	copy->mtime = st->st_mtim;
	copy->ctime = st->st_ctim;
	copy->charge = page_rounded(st->st_size);
	copy->refs = 1;
	copy->fd = create_copy_file(rc);
	if (copy->fd < 0)
		err = copy->fd;
	/* Size first: the pages are allocated as they are written. */
	if (err == 0 && ftruncate(copy->fd, st->st_size) != 0)
		err = -errno;
	if (err == 0)
		err = fill_bytes(copy->fd, source_fd, st->st_size);
	if (err == 0)
		err = zero_ranges(copy->fd, st->st_size, ranges, count, rc->zeroes,
		                  rc->zeroes_size);
	if (err == 0)
		err = make_unwritable(rc, &copy->fd);
	/* The ranges were computed for *st: bytes of any other version may hold
	 * location they do not cover. */
	if (err == 0 && fstat(source_fd, &after) != 0)
		err = -errno;
	if (err == 0 && !same_version(st, &after))
		err = -ESTALE;
	if (err < 0) {
		copy_free(copy);
		return err;
	}
	*out = copy;
	return 0;
}

int redact_copy_get(struct redact_copies *rc, int source_fd, const struct stat *st,
                    const struct access_range *ranges, size_t count, struct redact_copy **out)
{
	struct redact_copy *copy, *existing, *freed = NULL;
	uint64_t charge = page_rounded(st->st_size);
	int err;

	if (st->st_size < 0 || (uint64_t)st->st_size > rc->max_file || rc->max_file == 0)
		return -EFBIG;
	if (charge > rc->budget)
		return -ENOSPC;   /* never fits: keep the cached copies */
	pthread_mutex_lock(&rc->lock);
	copy = find_locked(rc, st, ranges, count);
	err = copy ? 0 : reserve_locked(rc, st, charge, &freed);
	pthread_mutex_unlock(&rc->lock);
	free_list(freed);
	if (copy) {
		*out = copy;
		return 0;
	}
	if (err < 0)
		return err;
	/* Filled without the lock: other copies stay usable meanwhile. */
	err = make_copy(rc, source_fd, st, ranges, count, &copy);
	pthread_mutex_lock(&rc->lock);
	/* Someone may have made the same copy meanwhile: share theirs. */
	existing = err == 0 ? find_locked(rc, st, ranges, count) : NULL;
	if (err < 0 || existing) {
		rc->bytes -= charge;
	} else {
		copy->last_used = ++rc->tick;
		copy->next = rc->head;
		rc->head = copy;
		rc->count++;
	}
	pthread_mutex_unlock(&rc->lock);
	if (err < 0)
		return err;
	if (existing) {
		copy_free(copy);
		copy = existing;
	}
	*out = copy;
	return 0;
}

void redact_copy_put(struct redact_copy *copy)
{
	struct redact_copies *rc = copy->owner;

	pthread_mutex_lock(&rc->lock);
	copy->refs--;
	copy->last_used = ++rc->tick;
	pthread_mutex_unlock(&rc->lock);
}

void redact_copies_usage(struct redact_copies *rc, uint64_t *count, uint64_t *bytes)
{
	pthread_mutex_lock(&rc->lock);
	*count = rc->count;
	*bytes = rc->bytes;
	pthread_mutex_unlock(&rc->lock);
}
