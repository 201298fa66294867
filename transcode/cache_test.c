/*
 * cache_test.c - the transcode cache: entry names, the LRU eviction rule
 * (pure), and a real cache directory in $TEST_TMPDIR (commit, lookup,
 * usage, clear, foreign files left alone).
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "transcode/cache.h"
#include "transcode/config.h"

static void test_name_round_trip(void **state)
{
	struct transcode_key key = { 0xfd01, 123456789, 20246, 1733131200123456789LL }, back;
	char name[TCACHE_NAME_MAX];

	(void)state;
	assert_int_equal(tcache_name(&key, name, sizeof(name)), 0);
	assert_string_equal(name, "fd01-75bcd15-4f16-180d51a4dc814d15.mp4");
	assert_int_equal(tcache_parse_name(name, &back), 0);
	assert_true(transcode_key_equal(&key, &back));
}

static void test_parse_rejects_foreign_names(void **state)
{
	static const char *const foreign[] = {
		"notes.txt", "1-2-3.mp4", "1-2-3-4.mp4.tmp", "0x1-2-3-4.mp4", "01-2-3-4.mp4",
		" 1-2-3-4.mp4", "1-2-3-4.MP4", ".1-2-3-4.mp4", "1-2-3-4.mp4x", "",
	};
	struct transcode_key key;

	(void)state;
	for (size_t i = 0; i < sizeof(foreign) / sizeof(foreign[0]); i++)
		assert_int_equal(tcache_parse_name(foreign[i], &key), -EINVAL);
	assert_int_equal(tcache_parse_name("1-2-3-4.mp4", &key), 0);
}

static void test_key_identity(void **state)
{
	struct transcode_key a = { 1, 2, 3, 4 }, newer = { 1, 2, 3, 5 }, other = { 1, 9, 3, 4 };

	(void)state;
	assert_true(transcode_key_same_file(&a, &newer));
	assert_false(transcode_key_equal(&a, &newer));
	assert_false(transcode_key_same_file(&a, &other));
}

/* An entry of `bytes` last used at second `used`. */
static struct tcache_entry entry(uint64_t ino, int64_t mtime, uint64_t bytes, long used)
{
	struct tcache_entry e = { .key = { 1, ino, 100, mtime }, .bytes = bytes };

	e.last_use.tv_sec = used;
	tcache_name(&e.key, e.name, sizeof(e.name));
	return e;
}

static int evicted(const struct tcache_entry *entries, size_t count, uint64_t ino, int64_t mtime)
{
	for (size_t i = 0; i < count; i++)
		if (entries[i].key.ino == ino && entries[i].key.mtime_ns == mtime)
			return entries[i].evict;
	fail_msg("no entry %llu", (unsigned long long)ino);
	return -1;
}

static void test_lru_evicts_least_recently_used(void **state)
{
	struct tcache_entry e[] = { entry(1, 0, 40, 30), entry(2, 0, 40, 10), entry(3, 0, 40, 20),
	                            entry(4, 0, 40, 40) };
	struct transcode_key fresh = e[3].key;

	(void)state;
	assert_int_equal(tcache_plan_eviction(e, 4, 100, &fresh), 80);
	assert_true(evicted(e, 4, 2, 0));   /* used at 10: oldest */
	assert_true(evicted(e, 4, 3, 0));   /* used at 20 */
	assert_false(evicted(e, 4, 1, 0));
	assert_false(evicted(e, 4, 4, 0));
}

static void test_lru_keeps_everything_within_limit(void **state)
{
	struct tcache_entry e[] = { entry(1, 0, 10, 1), entry(2, 0, 10, 2) };

	(void)state;
	assert_int_equal(tcache_plan_eviction(e, 2, 20, NULL), 20);
	assert_false(e[0].evict);
	assert_false(e[1].evict);
}

static void test_lru_drops_stale_versions_first(void **state)
{
	/* ino 1 at mtime 5 replaces its copy at mtime 4, even though that one
	 * was used more recently than ino 2. */
	struct tcache_entry e[] = { entry(1, 4, 10, 50), entry(2, 0, 10, 10), entry(1, 5, 10, 60) };
	struct transcode_key fresh = e[2].key;

	(void)state;
	assert_int_equal(tcache_plan_eviction(e, 3, 100, &fresh), 20);
	assert_true(evicted(e, 3, 1, 4));
	assert_false(evicted(e, 3, 2, 0));
	assert_false(evicted(e, 3, 1, 5));
}

static void test_lru_fresh_goes_only_when_alone_too_big(void **state)
{
	struct tcache_entry e[] = { entry(1, 0, 10, 1), entry(2, 0, 500, 2) };
	struct transcode_key fresh = e[1].key;

	(void)state;
	assert_int_equal(tcache_plan_eviction(e, 2, 100, &fresh), 0);
	assert_true(e[0].evict && e[1].evict);
}

static void test_default_cache_dir_depends_on_source(void **state)
{
	char a[PATH_MAX], b[PATH_MAX];
	struct transcode_config cfg;

	(void)state;
	assert_int_equal(transcode_default_cache_dir("/srv/media", a, sizeof(a)), 0);
	assert_int_equal(transcode_default_cache_dir("/srv/media2", b, sizeof(b)), 0);
	assert_int_equal(strncmp(a, TRANSCODE_DEFAULT_CACHE_ROOT "/",
	                         strlen(TRANSCODE_DEFAULT_CACHE_ROOT) + 1), 0);
	assert_int_equal(strlen(a), strlen(TRANSCODE_DEFAULT_CACHE_ROOT) + 17);
	assert_string_not_equal(a, b);
	assert_int_equal(transcode_config_resolve("", "", 0, "/srv/media", &cfg), 0);
	assert_string_equal(cfg.cache_dir, a);
	assert_string_equal(cfg.command, TRANSCODE_DEFAULT_COMMAND);
	assert_int_equal(cfg.cache_max_bytes, TRANSCODE_DEFAULT_CACHE_MAX_BYTES);
	assert_int_equal(transcode_config_resolve("x {input} {output}", "/c", 7, "/srv/media", &cfg), 0);
	assert_string_equal(cfg.cache_dir, "/c");
	assert_int_equal(cfg.cache_max_bytes, 7);
}

/* Makes a finished copy of `bytes` bytes for key and commits it. */
static void commit_copy(int dirfd, const struct transcode_key *key, size_t bytes, uint64_t max)
{
	char data[4096];
	int fd;

	memset(data, 'x', sizeof(data));
	assert_true(bytes <= sizeof(data));
	assert_int_equal(tcache_tmpfile(dirfd, &fd), 0);
	assert_int_equal(write(fd, data, bytes), (ssize_t)bytes);
	assert_int_equal(tcache_commit(dirfd, fd, key, max), 0);
	close(fd);
}

static void test_directory_lifecycle(void **state)
{
	const char *tmp = getenv("TEST_TMPDIR");
	struct transcode_key k1 = { 7, 1, 10, 1 }, k2 = { 7, 2, 10, 1 }, k3 = { 7, 3, 10, 1 };
	struct tcache_usage usage;
	char dir[PATH_MAX], foreign[PATH_MAX + 16];
	int dirfd, fd;
	off_t size;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/cache_test/a/b", tmp ? tmp : "/tmp");
	snprintf(foreign, sizeof(foreign), "%s/keep.txt", dir);
	assert_int_equal(tcache_open_dir("relative/dir", 1, &dirfd), -EINVAL);
	assert_int_equal(tcache_open_dir(dir, 1, &dirfd), 0);
	assert_int_equal(tcache_clear(dirfd, &usage), 0);  /* a rerun starts empty */
	close(open(foreign, O_WRONLY | O_CREAT | O_TRUNC, 0600));

	commit_copy(dirfd, &k1, 1000, 2500);
	commit_copy(dirfd, &k2, 1000, 2500);
	assert_int_equal(tcache_lookup(dirfd, &k1, &fd), 0);  /* k1 now newer than k2 */
	close(fd);
	commit_copy(dirfd, &k3, 1000, 2500);                   /* evicts k2 */
	assert_int_equal(tcache_lookup(dirfd, &k2, &fd), -ENOENT);
	assert_int_equal(tcache_entry_size(dir, &k1, &size), 0);
	assert_int_equal(size, 1000);
	assert_int_equal(tcache_usage(dirfd, &usage), 0);
	assert_int_equal(usage.entries, 2);
	assert_int_equal(usage.bytes, 2000);

	assert_int_equal(tcache_lookup(dirfd, &k3, &fd), 0);  /* a reader with it open */
	assert_int_equal(tcache_clear(dirfd, &usage), 0);
	assert_int_equal(usage.entries, 2);
	assert_int_equal(usage.bytes, 2000);
	{
		char byte;
		assert_int_equal(pread(fd, &byte, 1, 999), 1);  /* still readable */
		close(fd);
	}
	assert_int_equal(tcache_usage(dirfd, &usage), 0);
	assert_int_equal(usage.entries, 0);
	assert_int_equal(access(foreign, F_OK), 0);  /* not ours: untouched */
	close(dirfd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_name_round_trip),
		cmocka_unit_test(test_parse_rejects_foreign_names),
		cmocka_unit_test(test_key_identity),
		cmocka_unit_test(test_lru_evicts_least_recently_used),
		cmocka_unit_test(test_lru_keeps_everything_within_limit),
		cmocka_unit_test(test_lru_drops_stale_versions_first),
		cmocka_unit_test(test_lru_fresh_goes_only_when_alone_too_big),
		cmocka_unit_test(test_default_cache_dir_depends_on_source),
		cmocka_unit_test(test_directory_lifecycle),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
