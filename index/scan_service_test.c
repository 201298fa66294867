/*
 * scan_service_test.c - the out-of-process media scanner, for real: media
 * made with ffmpeg and exiftool, a real fork and uid switch (the suite runs
 * as root), a worker really killed and really stopped. The service's answer
 * must equal what the parsers say in this process.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "index/scan_service.h"
#include "media/codec_probe.h"
#include "media/locscan.h"

struct fixture {
	char dir[256];
	char gps_jpg[300], plain_txt[300], hevc_mp4[300];
	struct scan_service *service;
};

/* Runs a shell command; fails the test when it does not exit 0. */
static void run(const char *fmt, ...)
{
	char command[2048];
	va_list ap;
	int status;

	va_start(ap, fmt);
	vsnprintf(command, sizeof(command), fmt, ap);
	va_end(ap);
	status = system(command);
	if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("command failed (%d): %s", status, command);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct scan_service_config config;

	snprintf(f->dir, sizeof(f->dir), "%s/scan_service_test.XXXXXX",
	         getenv("TEST_TMPDIR") ? getenv("TEST_TMPDIR") : "/tmp");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->gps_jpg, sizeof(f->gps_jpg), "%s/gps.jpg", f->dir);
	snprintf(f->plain_txt, sizeof(f->plain_txt), "%s/plain.txt", f->dir);
	snprintf(f->hevc_mp4, sizeof(f->hevc_mp4), "%s/clip.mp4", f->dir);
	run("ffmpeg -v error -y -f lavfi -i testsrc=size=64x64 -frames:v 1 '%s' && "
	    "exiftool -q -q -m -overwrite_original -GPSLatitude=48.8566 -GPSLatitudeRef=N "
	    "-GPSLongitude=2.3522 -GPSLongitudeRef=E '%s'", f->gps_jpg, f->gps_jpg);
	run("ffmpeg -v error -y -f lavfi -i testsrc=size=64x64 -t 0.2 -pix_fmt yuv420p "
	    "-c:v libx265 -x265-params log-level=error -tag:v hvc1 '%s'", f->hevc_mp4);
	run("echo 'not media at all' > '%s'", f->plain_txt);
	assert_int_equal(scan_service_default_config(&config), 0);
	config.timeout_ms = 2000;
	assert_int_equal(scan_service_start(&config, &f->service), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	scan_service_stop(f->service);
	run("rm -rf '%s'", f->dir);
	free(f);
	return 0;
}

/* Scans path through the service. Returns the service's return value. */
static int service_scan(struct fixture *f, const char *path, struct scan_result *out)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc;

	assert_true(fd >= 0);
	rc = scan_service_scan(f->service, fd, out);
	close(fd);
	return rc;
}

/* The service must say exactly what the parsers say in-process. */
static void assert_same_as_in_process(struct fixture *f, const char *path)
{
	struct redaction_ranges expected = { 0 };
	struct scan_result got;
	char codec[8] = "";
	int is_hdr, fd = open(path, O_RDONLY | O_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(locscan_fd(fd, &expected), 0);
	if (media_probe_video_codec(fd, codec, &is_hdr) < 0)
		codec[0] = '\0';
	close(fd);
	assert_int_equal(service_scan(f, path, &got), 0);
	assert_int_equal(got.has_location, expected.has_location);
	assert_string_equal(got.codec, codec);
	assert_int_equal(got.ranges.count, expected.count);
	for (size_t i = 0; i < expected.count; i++) {
		assert_int_equal(got.ranges.ranges[i].offset, expected.ranges[i].offset);
		assert_int_equal(got.ranges.ranges[i].length, expected.ranges[i].length);
	}
	scan_result_free(&got);
	redaction_ranges_free(&expected);
}

static void test_answers_equal_in_process_parsers(void **state)
{
	struct fixture *f = *state;
	struct scan_result got;

	assert_same_as_in_process(f, f->gps_jpg);
	assert_same_as_in_process(f, f->hevc_mp4);
	assert_same_as_in_process(f, f->plain_txt);
	assert_int_equal(service_scan(f, f->gps_jpg, &got), 0);
	assert_true(got.has_location);
	scan_result_free(&got);
	assert_int_equal(service_scan(f, f->hevc_mp4, &got), 0);
	assert_string_equal(got.codec, "hevc");
	scan_result_free(&got);
}

/* Reads "Name:\tvalue" from /proc/pid/status. */
static void proc_status_field(pid_t pid, const char *name, char *value, size_t len)
{
	char path[64], line[256];
	size_t name_len = strlen(name);
	FILE *status;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	status = fopen(path, "re");
	assert_non_null(status);
	value[0] = '\0';
	while (fgets(line, sizeof(line), status)) {
		if (strncmp(line, name, name_len) == 0 && line[name_len] == ':') {
			char *v = line + name_len + 1;
			while (*v == ' ' || *v == '\t')
				v++;
			v[strcspn(v, "\n")] = '\0';
			snprintf(value, len, "%s", v);
		}
	}
	fclose(status);
}

/* The spawner's children (the workers). Returns how many were found. */
static int workers_of(pid_t spawner, pid_t *pids, int max)
{
	char path[96], buf[512];
	int n = 0, fd;
	ssize_t len;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)spawner, (int)spawner);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	len = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	assert_true(len >= 0);
	buf[len] = '\0';
	for (char *tok = strtok(buf, " \n"); tok && n < max; tok = strtok(NULL, " \n"))
		pids[n++] = (pid_t)atoi(tok);
	return n;
}

/* Waits up to 10 s for pid to disappear (a crash handler, e.g. a
 * sanitizer's, may take a while to finish). */
static void wait_gone(pid_t pid)
{
	for (int attempt = 0; attempt < 1000; attempt++) {
		if (kill(pid, 0) != 0 && errno == ESRCH)
			return;
		usleep(10 * 1000);
	}
	fail_msg("process %d did not die", (int)pid);
}

static void assert_unprivileged(pid_t pid)
{
	char value[128];

	proc_status_field(pid, "Uid", value, sizeof(value));
	assert_string_equal(value, "65534\t65534\t65534\t65534");
	proc_status_field(pid, "Gid", value, sizeof(value));
	assert_string_equal(value, "65534\t65534\t65534\t65534");
	proc_status_field(pid, "Groups", value, sizeof(value));
	assert_string_equal(value, "");
	proc_status_field(pid, "CapEff", value, sizeof(value));
	assert_string_equal(value, "0000000000000000");
	proc_status_field(pid, "CapPrm", value, sizeof(value));
	assert_string_equal(value, "0000000000000000");
	proc_status_field(pid, "CapInh", value, sizeof(value));
	assert_string_equal(value, "0000000000000000");
	proc_status_field(pid, "CapBnd", value, sizeof(value));
	assert_string_equal(value, "0000000000000000");
	proc_status_field(pid, "CapAmb", value, sizeof(value));
	assert_string_equal(value, "0000000000000000");
	proc_status_field(pid, "NoNewPrivs", value, sizeof(value));
	assert_string_equal(value, "1");
}

static void test_spawner_and_workers_hold_nothing(void **state)
{
	struct fixture *f = *state;
	struct scan_result got;
	pid_t workers[16];
	int n;

	assert_int_equal(geteuid(), 0); /* the test is about dropping root */
	assert_int_equal(service_scan(f, f->gps_jpg, &got), 0);
	scan_result_free(&got);
	assert_unprivileged(scan_service_spawner_pid(f->service));
	n = workers_of(scan_service_spawner_pid(f->service), workers, 16);
	assert_true(n >= 1);
	for (int i = 0; i < n; i++)
		assert_unprivileged(workers[i]);
}

/* A worker that dies between requests is replaced; the request succeeds. */
static void test_dead_worker_is_replaced(void **state)
{
	struct fixture *f = *state;
	struct scan_result got;
	pid_t workers[16];
	int n;

	assert_int_equal(service_scan(f, f->gps_jpg, &got), 0);
	scan_result_free(&got);
	n = workers_of(scan_service_spawner_pid(f->service), workers, 16);
	assert_true(n >= 1);
	for (int i = 0; i < n; i++)
		assert_int_equal(kill(workers[i], SIGSEGV), 0);
	/* Dead between requests: gone (reaped by the spawner) before the next. */
	for (int i = 0; i < n; i++)
		wait_gone(workers[i]);
	assert_int_equal(service_scan(f, f->gps_jpg, &got), 0);
	assert_true(got.has_location);
	scan_result_free(&got);
	assert_true(scan_service_restarts(f->service) >= 1);
}

/* A worker that hangs fails that scan with EIO; the next one works. */
static void test_hung_worker_fails_closed_then_recovers(void **state)
{
	struct fixture *f = *state;
	struct scan_result got;
	pid_t workers[16];
	int n;

	assert_int_equal(service_scan(f, f->gps_jpg, &got), 0);
	scan_result_free(&got);
	n = workers_of(scan_service_spawner_pid(f->service), workers, 16);
	assert_true(n >= 1);
	for (int i = 0; i < n; i++)
		assert_int_equal(kill(workers[i], SIGSTOP), 0);
	assert_int_equal(service_scan(f, f->gps_jpg, &got), -EIO);
	assert_int_equal(got.ranges.count, 0);
	assert_null(got.ranges.ranges);
	assert_int_equal(service_scan(f, f->gps_jpg, &got), 0);
	assert_true(got.has_location);
	scan_result_free(&got);
	for (int i = 0; i < n; i++)
		kill(workers[i], SIGKILL);
}

static void test_refuses_non_regular_files(void **state)
{
	struct fixture *f = *state;
	struct scan_result got;
	int fd = open(f->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(scan_service_scan(f->service, fd, &got), -EINVAL);
	close(fd);
	assert_int_equal(scan_service_scan(NULL, 0, &got), -EIO);
}

struct hammer {
	struct fixture *f;
	int failures;
};

static void *hammer_thread(void *arg)
{
	struct hammer *h = arg;

	for (int i = 0; i < 40; i++) {
		struct scan_result got;
		const char *path = i % 2 ? h->f->gps_jpg : h->f->hevc_mp4;
		int fd = open(path, O_RDONLY | O_CLOEXEC);

		if (fd < 0 || scan_service_scan(h->f->service, fd, &got) != 0 ||
		    got.has_location != (i % 2 == 1)) {
			h->failures++;
		} else {
			scan_result_free(&got);
		}
		if (fd >= 0)
			close(fd);
	}
	return NULL;
}

static void test_concurrent_callers(void **state)
{
	struct hammer hammers[12];
	pthread_t threads[12];

	for (int i = 0; i < 12; i++) {
		hammers[i] = (struct hammer){ *state, 0 };
		assert_int_equal(pthread_create(&threads[i], NULL, hammer_thread, &hammers[i]), 0);
	}
	for (int i = 0; i < 12; i++) {
		pthread_join(threads[i], NULL);
		assert_int_equal(hammers[i].failures, 0);
	}
}

/* Stopping the service leaves no process behind. */
static void test_stop_reaps_everything(void **state)
{
	struct fixture *f = *state;
	struct scan_result got;
	pid_t spawner, workers[16];
	int n;

	assert_int_equal(service_scan(f, f->plain_txt, &got), 0);
	scan_result_free(&got);
	spawner = scan_service_spawner_pid(f->service);
	n = workers_of(spawner, workers, 16);
	scan_service_stop(f->service);
	f->service = NULL;
	assert_int_equal(kill(spawner, 0), -1);
	for (int attempt = 0; attempt < 100; attempt++) {
		int alive = 0;
		for (int i = 0; i < n; i++)
			alive += kill(workers[i], 0) == 0;
		if (!alive)
			return;
		usleep(20 * 1000);
	}
	fail_msg("workers still alive after scan_service_stop");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_answers_equal_in_process_parsers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_spawner_and_workers_hold_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dead_worker_is_replaced, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hung_worker_fails_closed_then_recovers, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_refuses_non_regular_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_concurrent_callers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stop_reaps_everything, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
