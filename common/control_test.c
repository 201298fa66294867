/*
 * control_test.c - mountinfo parsing, socket addressing, path errors, and a
 * request/answer exchange with a stand-in daemon on a real abstract socket.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/control.h"
#include "common/control_internal.h"
#include "common/mountinfo.h"

static const char sample[] =
	"22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"
	"40 22 0:40 / /mnt/media rw,nosuid shared:7 master:2 - fuse.mediafs mediafs rw\n"
	"41 22 0:41 / /mnt/my\\040photos rw - fuse /src rw\n"
	"42 22 0:42 / /mnt/plain rw - tmpfs tmpfs rw\n"
	"43 22 0:43 / /mnt/over rw - fuse.mediafs a rw\n"
	"44 43 0:44 / /mnt/over rw - tmpfs tmpfs rw\n"
	"45 22 0:45 / /mnt/under rw - tmpfs tmpfs rw\n"
	"46 45 0:46 / /mnt/under rw - fuseblk b rw\n";

static int find(const char *path, unsigned *major, unsigned *minor)
{
	FILE *in = fmemopen((void *)sample, sizeof(sample) - 1, "r");
	int rc;

	assert_non_null(in);
	rc = mountinfo_find_fuse(in, path, major, minor);
	fclose(in);
	return rc;
}

static void test_mountinfo(void **state)
{
	unsigned major = 0, minor = 0;
	char escaped[] = "a\\040b\\011c\\134d\\9";

	(void)state;
	assert_int_equal(find("/mnt/media", &major, &minor), 0);
	assert_int_equal(major, 0);
	assert_int_equal(minor, 40);
	assert_int_equal(find("/mnt/my photos", &major, &minor), 0);
	assert_int_equal(minor, 41);
	assert_int_equal(find("/mnt/plain", &major, &minor), -EINVAL);
	assert_int_equal(find("/mnt/over", &major, &minor), -EINVAL);
	assert_int_equal(find("/mnt/under", &major, &minor), 0);
	assert_int_equal(minor, 46);
	assert_int_equal(find("/mnt", &major, &minor), -ENOENT);
	assert_int_equal(find("/mnt/media/0", &major, &minor), -ENOENT);
	mountinfo_unescape(escaped);
	assert_string_equal(escaped, "a b\tc\\d\\9");
}

static void test_address_for_dev(void **state)
{
	struct sockaddr_un addr;
	socklen_t len;

	(void)state;
	control_address_for_dev(0, 40, &addr, &len);
	assert_int_equal(addr.sun_family, AF_UNIX);
	assert_int_equal(addr.sun_path[0], '\0');
	assert_int_equal(len, offsetof(struct sockaddr_un, sun_path) + 1 + strlen("mediafs/0:40"));
	assert_memory_equal(addr.sun_path + 1, "mediafs/0:40", strlen("mediafs/0:40"));
}

static void test_address_for_mount_errors(void **state)
{
	struct sockaddr_un addr;
	socklen_t len;
	char file[512];
	const char *dir = getenv("TEST_TMPDIR");
	FILE *f;

	(void)state;
	assert_int_equal(control_address_for_mount("/nonexistent/mnt", &addr, &len), -ENOENT);
	assert_int_equal(control_address_for_mount("/nonexistent-mnt", &addr, &len), -ENOENT);
	snprintf(file, sizeof(file), "%s/regular", dir ? dir : "/tmp");
	f = fopen(file, "w");
	assert_non_null(f);
	fclose(f);
	assert_int_equal(control_address_for_mount(file, &addr, &len), -ENOTDIR);
	assert_int_equal(control_address_for_mount(dir ? dir : "/tmp", &addr, &len), -EINVAL);
	assert_int_equal(control_address_for_mount(".", &addr, &len), -EINVAL);
	assert_int_equal(control_address_for_mount("/proc/", &addr, &len), -EINVAL);
}

struct fake_daemon {
	int listen_fd;
	const char *reply;
	char got[64];
};

static void *serve_once(void *arg)
{
	struct fake_daemon *daemon = arg;
	int client = accept(daemon->listen_fd, NULL, NULL);
	ssize_t n;

	if (client < 0)
		return NULL;
	n = read(client, daemon->got, sizeof(daemon->got) - 1);
	daemon->got[n > 0 ? n : 0] = '\0';
	if (write(client, daemon->reply, strlen(daemon->reply)) < 0)
		daemon->got[0] = '!';
	close(client);
	return NULL;
}

/* Runs one request against a stand-in daemon at a made-up device number. */
static int exchange(const char *reply, char **answer, char *got)
{
	struct fake_daemon daemon = { .reply = reply };
	struct sockaddr_un addr;
	socklen_t len;
	pthread_t thread;
	int rc;

	control_address_for_dev(4000 + (unsigned)getpid() % 1000, 77, &addr, &len);
	daemon.listen_fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(daemon.listen_fd, (struct sockaddr *)&addr, len), 0);
	assert_int_equal(listen(daemon.listen_fd, 1), 0);
	pthread_create(&thread, NULL, serve_once, &daemon);
	rc = control_request_addr(&addr, len, "stats", answer);
	pthread_join(thread, NULL);
	close(daemon.listen_fd);
	strcpy(got, daemon.got);
	return rc;
}

static void test_request(void **state)
{
	struct sockaddr_un addr;
	socklen_t len;
	char *answer = NULL, got[64];

	(void)state;
	assert_int_equal(exchange("{\"opens\": 3}\n", &answer, got), 0);
	assert_string_equal(got, "stats\n");
	assert_string_equal(answer, "{\"opens\": 3}\n");
	free(answer);
	assert_int_equal(exchange("ERR EACCES\n", &answer, got), -EACCES);
	assert_int_equal(exchange("", &answer, got), -EPROTO);
	/* Nobody listens there. */
	control_address_for_dev(4999, 99999, &addr, &len);
	assert_int_equal(control_request_addr(&addr, len, "stats", &answer), -ECONNREFUSED);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mountinfo),
		cmocka_unit_test(test_address_for_dev),
		cmocka_unit_test(test_address_for_mount_errors),
		cmocka_unit_test(test_request),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
