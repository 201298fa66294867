/* cache.c - see cache.h. */
#include "transcode/cache.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void transcode_key_of(const struct stat *st, struct transcode_key *out)
{
	out->dev = (uint64_t)st->st_dev;
	out->ino = (uint64_t)st->st_ino;
	out->size = (int64_t)st->st_size;
	out->mtime_ns = (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
}

int transcode_key_equal(const struct transcode_key *a, const struct transcode_key *b)
{
	return transcode_key_same_file(a, b) && a->size == b->size && a->mtime_ns == b->mtime_ns;
}

int transcode_key_same_file(const struct transcode_key *a, const struct transcode_key *b)
{
	return a->dev == b->dev && a->ino == b->ino;
}

int tcache_name(const struct transcode_key *key, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%llx-%llx-%llx-%llx.mp4", (unsigned long long)key->dev,
	                 (unsigned long long)key->ino, (unsigned long long)key->size,
	                 (unsigned long long)key->mtime_ns);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int tcache_parse_name(const char *name, struct transcode_key *out)
{
	unsigned long long dev, ino, size, mtime;
	char again[TCACHE_NAME_MAX];
	int used = -1;

	if (name[0] == '.' ||
	    sscanf(name, "%llx-%llx-%llx-%llx.mp4%n", &dev, &ino, &size, &mtime, &used) != 4 ||
	    used < 0 || name[used] != '\0')
		return -EINVAL;
	out->dev = dev;
	out->ino = ino;
	out->size = (int64_t)size;
	out->mtime_ns = (int64_t)mtime;
	/* Only the canonical spelling: "0x1-..." or "+1-..." are someone else's. */
	if (tcache_name(out, again, sizeof(again)) < 0 || strcmp(again, name) != 0)
		return -EINVAL;
	return 0;
}

static int older_first(const void *a, const void *b)
{
	const struct tcache_entry *x = a, *y = b;

	if (x->last_use.tv_sec != y->last_use.tv_sec)
		return x->last_use.tv_sec < y->last_use.tv_sec ? -1 : 1;
	if (x->last_use.tv_nsec != y->last_use.tv_nsec)
		return x->last_use.tv_nsec < y->last_use.tv_nsec ? -1 : 1;
	return strcmp(x->name, y->name);
}

uint64_t tcache_plan_eviction(struct tcache_entry *entries, size_t count, uint64_t max_bytes,
                              const struct transcode_key *fresh)
{
	uint64_t kept = 0;
	ssize_t fresh_at = -1;

	qsort(entries, count, sizeof(*entries), older_first);
	for (size_t i = 0; i < count; i++) {
		int is_fresh = fresh && transcode_key_equal(&entries[i].key, fresh);
		entries[i].evict = fresh && !is_fresh && transcode_key_same_file(&entries[i].key, fresh);
		if (is_fresh)
			fresh_at = (ssize_t)i;
		if (!entries[i].evict)
			kept += entries[i].bytes;
	}
	for (size_t i = 0; i < count && kept > max_bytes; i++) {
		if (entries[i].evict || (ssize_t)i == fresh_at)
			continue;
		entries[i].evict = 1;
		kept -= entries[i].bytes;
	}
	if (kept > max_bytes && fresh_at >= 0) {
		entries[fresh_at].evict = 1;
		kept -= entries[fresh_at].bytes;
	}
	return kept;
}

int tcache_open_dir(const char *path, int create, int *dirfd)
{
	char partial[PATH_MAX];
	size_t len = strlen(path);
	int fd;

	if (path[0] != '/')
		return -EINVAL;
	if (len >= sizeof(partial))
		return -ENAMETOOLONG;
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT && create) {
		/* mkdir -p: each missing component, private. */
		memcpy(partial, path, len + 1);
		for (char *slash = partial + 1;; slash++) {
			if (*slash != '/' && *slash != '\0')
				continue;
			char saved = *slash;
			*slash = '\0';
			if (mkdir(partial, 0700) != 0 && errno != EEXIST)
				return -errno;
			*slash = saved;
			if (saved == '\0')
				break;
		}
		fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	}
	if (fd < 0)
		return -errno;
	*dirfd = fd;
	return 0;
}

int tcache_lookup(int dirfd, const struct transcode_key *key, int *fd)
{
	const struct timespec used_now[2] = { { .tv_nsec = UTIME_NOW }, { .tv_nsec = UTIME_OMIT } };
	char name[TCACHE_NAME_MAX];
	int rc = tcache_name(key, name, sizeof(name));

	if (rc < 0)
		return rc;
	*fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (*fd < 0)
		return -errno;
	/* Explicit, so noatime/relatime mounts keep the LRU order right. */
	futimens(*fd, used_now);
	return 0;
}

int tcache_entry_size(const char *dir, const struct transcode_key *key, off_t *size)
{
	char path[PATH_MAX + TCACHE_NAME_MAX + 1], name[TCACHE_NAME_MAX];
	struct stat st;
	int rc = tcache_name(key, name, sizeof(name));

	if (rc < 0)
		return rc;
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path))
		return -ENAMETOOLONG;
	if (lstat(path, &st) != 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -ENOENT;
	*size = st.st_size;
	return 0;
}

int tcache_tmpfile(int dirfd, int *fd)
{
	*fd = openat(dirfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	return *fd < 0 ? -errno : 0;
}

/* Lists the entries of the cache directory. *out is malloc'd (free it). */
static int list_entries(int dirfd, struct tcache_entry **out, size_t *count)
{
	struct tcache_entry *entries = NULL;
	size_t used = 0, room = 0;
	struct dirent *de;
	int fd = dup(dirfd), rc = 0;
	DIR *dir;

	if (fd < 0)
		return -errno;
	dir = fdopendir(fd);
	if (!dir) {
		close(fd);
		return -errno;
	}
	rewinddir(dir);  /* the dup shares the offset of earlier listings */
	while ((de = readdir(dir)) != NULL) {
		struct tcache_entry entry = { 0 };
		struct stat st;

		if (strlen(de->d_name) >= sizeof(entry.name) ||
		    tcache_parse_name(de->d_name, &entry.key) < 0 ||
		    fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode))
			continue;  /* not ours, or removed meanwhile */
		memcpy(entry.name, de->d_name, strlen(de->d_name) + 1);
		entry.bytes = (uint64_t)st.st_size;
		entry.last_use = st.st_atim;
		if (used == room) {
			size_t bigger = room ? 2 * room : 16;
			struct tcache_entry *grown = realloc(entries, bigger * sizeof(*grown));
			if (!grown) {
				rc = -ENOMEM;
				break;
			}
			entries = grown;
			room = bigger;
		}
		entries[used++] = entry;
	}
	closedir(dir);
	if (rc < 0) {
		free(entries);
		return rc;
	}
	*out = entries;
	*count = used;
	return 0;
}

int tcache_commit(int dirfd, int tmp_fd, const struct transcode_key *key, uint64_t max_bytes)
{
	char name[TCACHE_NAME_MAX], proc_path[64];
	struct tcache_entry *entries;
	size_t count;
	int rc = tcache_name(key, name, sizeof(name));

	if (rc < 0)
		return rc;
	snprintf(proc_path, sizeof(proc_path), "/proc/self/fd/%d", tmp_fd);
	if (linkat(AT_FDCWD, proc_path, dirfd, name, AT_SYMLINK_FOLLOW) != 0 && errno != EEXIST)
		return -errno;
	rc = list_entries(dirfd, &entries, &count);
	if (rc < 0)
		return rc;
	tcache_plan_eviction(entries, count, max_bytes, key);
	for (size_t i = 0; i < count; i++)
		if (entries[i].evict && unlinkat(dirfd, entries[i].name, 0) != 0 && errno != ENOENT)
			rc = -errno;
	free(entries);
	return rc;
}

int tcache_usage(int dirfd, struct tcache_usage *out)
{
	struct tcache_entry *entries;
	size_t count;
	int rc = list_entries(dirfd, &entries, &count);

	if (rc < 0)
		return rc;
	out->entries = count;
	out->bytes = 0;
	for (size_t i = 0; i < count; i++)
		out->bytes += entries[i].bytes;
	free(entries);
	return 0;
}

int tcache_clear(int dirfd, struct tcache_usage *removed)
{
	struct tcache_entry *entries;
	size_t count;
	int rc = list_entries(dirfd, &entries, &count);

	removed->entries = removed->bytes = 0;
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < count; i++) {
		if (unlinkat(dirfd, entries[i].name, 0) == 0) {
			removed->entries++;
			removed->bytes += entries[i].bytes;
		} else if (errno != ENOENT) {
			rc = -errno;
		}
	}
	free(entries);
	return rc;
}
