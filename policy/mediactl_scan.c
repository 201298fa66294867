/*
 * mediactl_scan.c - `scan [PATH]`: index a tree of SOURCE up front, and drop
 * the records of files that are gone.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "index/media_index.h"
#include "policy/mediactl.h"
#include "policy/path.h"

/* Files per write transaction: short enough that the daemon's own index
 * writes wait only milliseconds behind us. */
#define BATCH 256

struct scan {
	struct cli *cli;
	int source_fd;
	struct scan_service *scanner;   /* the sandboxed media parsers */
	int64_t generation;
	int in_batch;
	long files, added, changed, removed, scanned;
};

static int flush_batch(struct scan *scan)
{
	int rc = 0;

	if (scan->in_batch > 0)
		rc = db_commit(scan->cli->conn);
	scan->in_batch = 0;
	return rc;
}

/* Records one regular file at `relpath`. */
static int index_file(struct scan *scan, const char *relpath, const struct stat *st)
{
	int64_t mtime_ns = (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
	struct db_file rec;
	int rc;

	if (scan->in_batch == 0 && (rc = db_begin_write(scan->cli->conn)) < 0)
		return rc;
	scan->in_batch++;
	scan->files++;
	rc = db_file_get(scan->cli->conn, relpath, &rec);
	if (rc == -ENOENT) {
		memset(&rec, 0, sizeof(rec));
		rec.owner_uid = DB_NO_OWNER;
		rec.media_type = policy_media_type_of_path(relpath);
		rec.size = st->st_size;
		rec.mtime_ns = mtime_ns;
		rec.scan_generation = scan->generation;
		rec.media_size = -1;
		rec.media_mtime_ns = -1;
		scan->added++;
		rc = db_file_put(scan->cli->conn, relpath, &rec);
	} else if (rc == 0) {
		/* A pending file is being written through the daemon: leave it. */
		if (!rec.pending && (rec.size != st->st_size || rec.mtime_ns != mtime_ns)) {
			scan->changed++;
			rc = db_file_set_stat(scan->cli->conn, relpath, st->st_size, mtime_ns, 0);
		}
		if (rc == 0)
			rc = db_file_set_generation(scan->cli->conn, relpath, scan->generation);
	}
	/* Location and codec facts, so that the daemon's first open of this
	 * file parses nothing. */
	if (rc == 0 && !rec.pending && rec.media_type != MEDIA_OTHER &&
	    media_index_is_stale(&rec, st)) {
		rc = media_index_scan(scan->scanner, scan->cli->conn, scan->source_fd, relpath,
		                      NULL);
		if (rc == -ENOENT)
			rc = 0; /* gone meanwhile: the next scan drops it */
		else if (rc == 0)
			scan->scanned++;
	}
	if (rc == 0 && scan->in_batch >= BATCH)
		rc = flush_batch(scan);
	return rc;
}

/* Walks the directory `relpath` (open as dir_fd, consumed), depth first,
 * never following symbolic links. */
static int walk(struct scan *scan, int dir_fd, char *relpath, size_t len)
{
	DIR *dir = fdopendir(dir_fd);
	struct dirent *entry;
	size_t base = strlen(relpath);
	int rc = 0;

	if (dir == NULL) {
		close(dir_fd);
		return -errno;
	}
	while (rc == 0 && (entry = readdir(dir)) != NULL) {
		struct stat st;

		if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0)
			continue;
		if (base + 1 + strlen(entry->d_name) + 1 > len)
			continue;  /* deeper than PATH_MAX: the daemon cannot serve it either */
		snprintf(relpath + base, len - base, "%s%s", base ? "/" : "", entry->d_name);
		if (fstatat(dirfd(dir), entry->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;  /* vanished meanwhile */
		if (S_ISREG(st.st_mode)) {
			rc = index_file(scan, relpath, &st);
		} else if (S_ISDIR(st.st_mode)) {
			int child = openat(dirfd(dir), entry->d_name,
			                   O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

			if (child >= 0)
				rc = walk(scan, child, relpath, len);
		}
		relpath[base] = '\0';
	}
	closedir(dir);
	return rc;
}

/* A record not seen by this scan: drop it if its file is really gone. */
static int drop_if_gone(const char *relpath, void *ctx)
{
	struct scan *scan = ctx;
	struct stat st;

	if (fstatat(scan->source_fd, relpath, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISREG(st.st_mode))
		return 0;  /* created behind the scan (by the daemon): keep */
	scan->removed++;
	return 0;
}

struct gone_list {
	struct scan *scan;
	char paths[64][PATH_MAX];
	int count;
};

/* Collects up to 64 gone paths (deleting while iterating is not allowed). */
static int collect_gone(const char *relpath, void *ctx)
{
	struct gone_list *gone = ctx;
	long before = gone->scan->removed;

	drop_if_gone(relpath, gone->scan);
	if (gone->scan->removed == before)
		return 0;
	snprintf(gone->paths[gone->count++], PATH_MAX, "%s", relpath);
	return gone->count == 64 ? 1 : 0;
}

static int sweep(struct scan *scan, const char *prefix)
{
	struct gone_list *gone = malloc(sizeof(*gone));  /* 256 KiB: not on the stack */
	int rc, more;

	if (gone == NULL)
		return -ENOMEM;
	gone->scan = scan;
	do {
		gone->count = 0;
		rc = more = db_file_foreach_stale(scan->cli->conn, prefix, scan->generation,
		                                  collect_gone, gone);
		for (int i = 0; rc >= 0 && i < gone->count; i++)
			rc = db_file_remove(scan->cli->conn, gone->paths[i]);
	} while (rc >= 0 && more == 1);
	free(gone);
	return rc < 0 ? rc : 0;
}

/* The tree to scan: PATH, or all of SOURCE. */
static int scan_root(struct cli *cli, char *relpath, size_t len)
{
	if (cli->word_count == 2)
		return cli_relpath(cli, cli->words[1], relpath, len);
	relpath[0] = '\0';
	return cli_load_source(cli);
}

int cmd_scan(struct cli *cli)
{
	char relpath[PATH_MAX] = "";
	struct scan scan = { .cli = cli };
	int rc = cli_open_db(cli), dir_fd;

	if (rc == EXIT_OK)
		rc = scan_root(cli, relpath, sizeof(relpath));
	if (rc != EXIT_OK)
		return rc;
	scan.source_fd = open(cli->source, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (scan.source_fd < 0)
		return cli_fail(EXIT_FAILED, "SOURCE %s: %s", cli->source, strerror(errno));
	dir_fd = relpath[0] ? openat(scan.source_fd, relpath,
	                             O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
	                    : dup(scan.source_fd);
	if (dir_fd < 0) {
		rc = cli_fail(EXIT_FAILED, "%s: %s", cli->words[1], strerror(errno));
		goto out;
	}
	{
		struct scan_service_config config;
		rc = scan_service_default_config(&config);
		if (rc == 0)
			rc = scan_service_start(&config, &scan.scanner);
	}
	if (rc == 0)
		rc = db_scan_generation_next(cli->conn, &scan.generation);
	if (rc == 0)
		rc = walk(&scan, dir_fd, relpath, sizeof(relpath));
	if (rc == 0)
		rc = flush_batch(&scan);
	else if (scan.in_batch)
		db_rollback(cli->conn);
	/* walk() left relpath as it found it. */
	if (rc == 0)
		rc = sweep(&scan, relpath);
	if (rc != 0) {
		rc = cli_fail(EXIT_FAILED, "scan failed: %s", strerror(rc < 0 ? -rc : EIO));
		goto out;
	}
	if (cli->json)
		printf("{\"files\": %ld, \"added\": %ld, \"changed\": %ld, \"removed\": %ld, "
		       "\"media_scanned\": %ld}\n",
		       scan.files, scan.added, scan.changed, scan.removed, scan.scanned);
	else
		printf("scanned %ld files: %ld added, %ld changed, %ld stale records removed, "
		       "%ld parsed for location and codec\n",
		       scan.files, scan.added, scan.changed, scan.removed, scan.scanned);
out:
	scan_service_stop(scan.scanner);
	close(scan.source_fd);
	return rc;
}
