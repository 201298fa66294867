/*
 * redact_copy_test.c - redacted copies: bytes, seals, keys (version and
 * ranges), the per-file limit and the budget; disk copies (unnamed,
 * read-only). Sources
 * are real files in $TEST_TMPDIR.
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
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "daemon/redact_copy.h"

static char zeroes[4096];

/* Writes `size` bytes of pattern to a new file; returns a read-only fd. */
static int make_source(const char *name, size_t size, unsigned char seed)
{
	const char *dir = getenv("TEST_TMPDIR") ? getenv("TEST_TMPDIR") : "/tmp";
	char path[512];
	unsigned char *data = malloc(size ? size : 1);
	int fd;

	assert_non_null(data);
	for (size_t i = 0; i < size; i++)
		data[i] = (unsigned char)(seed + i * 7 + 1) | 1; /* never zero */
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, data, size, 0), (ssize_t)size);
	free(data);
	return fd;
}

static void test_copy_is_the_source_with_ranges_zeroed_and_sealed(void **state)
{
	/* Two ranges, one crossing the zero buffer's size, one clipped at EOF. */
	struct access_range ranges[] = { { 10, 5000 }, { 9990, 100 } };
	struct redact_copies rc;
	struct redact_copy *copy;
	unsigned char src[10000], got[10001];
	struct stat st;
	int fd = make_source("bytes", sizeof(src), 3), memfd;

	(void)state;
	redact_copies_init(&rc, -1, 1 << 20, 1 << 20, zeroes, sizeof(zeroes));
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(pread(fd, src, sizeof(src), 0), (ssize_t)sizeof(src));
	assert_int_equal(redact_copy_get(&rc, fd, &st, ranges, 2, &copy), 0);
	memfd = redact_copy_fd(copy);
	assert_int_equal(pread(memfd, got, sizeof(got), 0), (ssize_t)sizeof(src));
	for (size_t i = 0; i < sizeof(src); i++) {
		int inside = (i >= 10 && i < 5010) || i >= 9990;
		assert_int_equal(got[i], inside ? 0 : src[i]);
	}
	/* Sealed: no write, no resize, no more seals. */
	assert_int_equal(fcntl(memfd, F_GET_SEALS),
	                 F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL);
	assert_int_equal(pwrite(memfd, "x", 1, 0), -1);
	assert_int_equal(errno, EPERM);
	assert_int_equal(ftruncate(memfd, 1), -1);
	assert_int_equal(redact_copy_size(copy), sizeof(src));
	redact_copy_put(copy);
	redact_copies_destroy(&rc);
	close(fd);
}

static void test_keys_are_version_and_ranges(void **state)
{
	struct access_range r1[] = { { 0, 10 } }, r2[] = { { 0, 11 } };
	struct redact_copies rc;
	struct redact_copy *a, *b, *c, *d;
	struct timespec times[2];
	struct stat st, changed;
	uint64_t count, bytes;
	int fd = make_source("keys", 8192, 5);

	(void)state;
	redact_copies_init(&rc, -1, 1 << 20, 1 << 20, zeroes, sizeof(zeroes));
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(redact_copy_get(&rc, fd, &st, r1, 1, &a), 0);
	assert_int_equal(redact_copy_get(&rc, fd, &st, r1, 1, &b), 0);
	assert_ptr_equal(a, b);                       /* same key: shared */
	assert_int_equal(redact_copy_get(&rc, fd, &st, r2, 1, &c), 0);
	assert_ptr_not_equal(a, c);                   /* other ranges: another copy */
	assert_true(redact_copy_matches(a, &st, r1, 1));
	assert_false(redact_copy_matches(a, &st, r2, 1));
	/* Same size, new mtime: another version. */
	clock_gettime(CLOCK_REALTIME, &times[0]);
	times[1] = times[0];
	times[1].tv_nsec = (times[1].tv_nsec + 1) % 1000000000;
	assert_int_equal(futimens(fd, times), 0);
	assert_int_equal(fstat(fd, &changed), 0);
	assert_false(redact_copy_matches(a, &changed, r1, 1));
	assert_int_equal(redact_copy_get(&rc, fd, &changed, r1, 1, &d), 0);
	assert_ptr_not_equal(a, d);
	/* A stat that is not the file's now: the fill sees the change. */
	assert_int_equal(redact_copy_get(&rc, fd, &st, r2, 0, &b), -ESTALE);
	redact_copies_usage(&rc, &count, &bytes);
	assert_int_equal(count, 3);
	assert_int_equal(bytes, 3 * 8192);
	redact_copy_put(a);
	redact_copy_put(a);
	redact_copy_put(c);
	redact_copy_put(d);
	redact_copies_destroy(&rc);
	close(fd);
}

static void test_size_limit(void **state)
{
	struct redact_copies rc;
	struct redact_copy *copy;
	struct stat st;
	int fd = make_source("limit", 5000, 7);

	(void)state;
	assert_int_equal(fstat(fd, &st), 0);
	redact_copies_init(&rc, -1, 4999, 1 << 20, zeroes, sizeof(zeroes));
	assert_int_equal(redact_copy_get(&rc, fd, &st, NULL, 0, &copy), -EFBIG);
	redact_copies_destroy(&rc);
	redact_copies_init(&rc, -1, 0, 1 << 20, zeroes, sizeof(zeroes));
	assert_int_equal(redact_copy_get(&rc, fd, &st, NULL, 0, &copy), -EFBIG);
	redact_copies_destroy(&rc);
	redact_copies_init(&rc, -1, 5000, 1 << 20, zeroes, sizeof(zeroes));
	assert_int_equal(redact_copy_get(&rc, fd, &st, NULL, 0, &copy), 0);
	redact_copy_put(copy);
	redact_copies_destroy(&rc);
	close(fd);
}

static void test_budget_keeps_copies_in_use_and_evicts_lru(void **state)
{
	struct redact_copies rc;
	struct redact_copy *a, *b, *c, *again;
	struct stat sa, sb, sc;
	uint64_t count, bytes;
	int fa = make_source("ba", 8192, 1), fb = make_source("bb", 8192, 2),
	    fc = make_source("bc", 8192, 3);

	(void)state;
	assert_int_equal(fstat(fa, &sa), 0);
	assert_int_equal(fstat(fb, &sb), 0);
	assert_int_equal(fstat(fc, &sc), 0);
	redact_copies_init(&rc, -1, 1 << 20, 2 * 8192, zeroes, sizeof(zeroes));
	assert_int_equal(redact_copy_get(&rc, fa, &sa, NULL, 0, &a), 0);
	assert_int_equal(redact_copy_get(&rc, fb, &sb, NULL, 0, &b), 0);
	/* Both in use: no room, nothing dropped. */
	assert_int_equal(redact_copy_get(&rc, fc, &sc, NULL, 0, &c), -ENOSPC);
	redact_copies_usage(&rc, &count, &bytes);
	assert_int_equal(count, 2);
	assert_int_equal(bytes, 2 * 8192);
	/* b then a released: b is the least recently used, and goes. */
	redact_copy_put(b);
	redact_copy_put(a);
	assert_int_equal(redact_copy_get(&rc, fc, &sc, NULL, 0, &c), 0);
	redact_copies_usage(&rc, &count, &bytes);
	assert_int_equal(count, 2);
	assert_int_equal(bytes, 2 * 8192);
	assert_int_equal(redact_copy_get(&rc, fa, &sa, NULL, 0, &again), 0);
	assert_ptr_equal(again, a);                   /* a was kept */
	redact_copy_put(again);
	redact_copy_put(c);
	redact_copies_destroy(&rc);
	/* A file larger than the whole budget evicts nothing. */
	redact_copies_init(&rc, -1, 1 << 20, 8192, zeroes, sizeof(zeroes));
	assert_int_equal(redact_copy_get(&rc, fa, &sa, NULL, 0, &a), 0);
	redact_copy_put(a);
	assert_int_equal(ftruncate(fb, 8193), 0);
	assert_int_equal(fstat(fb, &sb), 0);
	assert_int_equal(redact_copy_get(&rc, fb, &sb, NULL, 0, &b), -ENOSPC);
	redact_copies_usage(&rc, &count, &bytes);
	assert_int_equal(count, 1);
	redact_copies_destroy(&rc);
	close(fa);
	close(fb);
	close(fc);
}

static void test_a_new_version_drops_unused_old_ones(void **state)
{
	struct redact_copies rc;
	struct redact_copy *old, *held, *fresh;
	struct stat st;
	uint64_t count, bytes;
	int fd = make_source("versions", 4096, 11), other = make_source("other", 4096, 12);

	(void)state;
	redact_copies_init(&rc, -1, 1 << 20, 1 << 20, zeroes, sizeof(zeroes));
	assert_int_equal(fstat(other, &st), 0);
	assert_int_equal(redact_copy_get(&rc, other, &st, NULL, 0, &held), 0);
	redact_copy_put(held);                   /* another file's: unreferenced */
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(redact_copy_get(&rc, fd, &st, NULL, 0, &old), 0);
	redact_copy_put(old);
	assert_int_equal(pwrite(fd, "new", 3, 0), 3);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(redact_copy_get(&rc, fd, &st, NULL, 0, &fresh), 0);
	redact_copies_usage(&rc, &count, &bytes);
	assert_int_equal(count, 2);                   /* the other file's, and fresh */
	assert_int_equal(bytes, 2 * 4096);
	redact_copy_put(fresh);
	redact_copies_destroy(&rc);
	close(fd);
	close(other);
}

static void test_present_shows_the_copy_version(void **state)
{
	struct redact_copies rc;
	struct redact_copy *copy;
	struct stat st, shown;
	int fd = make_source("present", 3000, 9);

	(void)state;
	redact_copies_init(&rc, -1, 1 << 20, 1 << 20, zeroes, sizeof(zeroes));
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(redact_copy_get(&rc, fd, &st, NULL, 0, &copy), 0);
	assert_int_equal(ftruncate(fd, 10), 0);
	assert_int_equal(fstat(fd, &shown), 0);
	redact_copy_present(copy, &shown);
	assert_int_equal(shown.st_size, 3000);
	assert_int_equal(shown.st_mtim.tv_nsec, st.st_mtim.tv_nsec);
	assert_int_equal(shown.st_ctim.tv_sec, st.st_ctim.tv_sec);
	redact_copy_put(copy);
	redact_copies_destroy(&rc);
	close(fd);
}

static void test_disk_copy_is_unnamed_read_only_and_redacted(void **state)
{
	const char *dir = getenv("TEST_TMPDIR") ? getenv("TEST_TMPDIR") : "/tmp";
	struct access_range ranges[] = { { 100, 300 } };
	struct redact_copies rc;
	struct redact_copy *copy, *again;
	unsigned char src[20000], got[20000];
	struct stat st, copy_st;
	int fd = make_source("disk", sizeof(src), 9), dir_fd, copy_fd, flags;

	(void)state;
	dir_fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	assert_true(dir_fd >= 0);
	redact_copies_init(&rc, dir_fd, 1 << 20, 1 << 20, zeroes, sizeof(zeroes));
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(pread(fd, src, sizeof(src), 0), (ssize_t)sizeof(src));
	assert_int_equal(redact_copy_get(&rc, fd, &st, ranges, 1, &copy), 0);
	copy_fd = redact_copy_fd(copy);
	assert_int_equal(pread(copy_fd, got, sizeof(got), 0), (ssize_t)sizeof(got));
	for (size_t i = 0; i < sizeof(src); i++)
		assert_int_equal(got[i], i >= 100 && i < 400 ? 0 : src[i]);
	/* On the directory's file system, with no name, open read-only. */
	assert_int_equal(fstat(copy_fd, &copy_st), 0);
	assert_int_equal(copy_st.st_nlink, 0);
	assert_true(S_ISREG(copy_st.st_mode));
	flags = fcntl(copy_fd, F_GETFL);
	assert_int_equal(flags & O_ACCMODE, O_RDONLY);
	assert_int_equal(pwrite(copy_fd, "x", 1, 0), -1);
	assert_int_equal(errno, EBADF);
	/* Shared while cached, like a memory copy. */
	assert_int_equal(redact_copy_get(&rc, fd, &st, ranges, 1, &again), 0);
	assert_ptr_equal(again, copy);
	redact_copy_put(again);
	redact_copy_put(copy);
	redact_copies_destroy(&rc);
	close(dir_fd);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_copy_is_the_source_with_ranges_zeroed_and_sealed),
		cmocka_unit_test(test_keys_are_version_and_ranges),
		cmocka_unit_test(test_size_limit),
		cmocka_unit_test(test_budget_keeps_copies_in_use_and_evicts_lru),
		cmocka_unit_test(test_a_new_version_drops_unused_old_ones),
		cmocka_unit_test(test_present_shows_the_copy_version),
		cmocka_unit_test(test_disk_copy_is_unnamed_read_only_and_redacted),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
