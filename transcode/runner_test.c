/*
 * runner_test.c - real processes through the transcode sandbox and the
 * transcode service (needs root): the command runs as TRANSCODE_UID with
 * no capabilities and no_new_privs, sees exactly its descriptors, writes
 * its output, and is killed on time; failures carry its last stderr line.
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
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "transcode/config.h"
#include "transcode/runner.h"
#include "transcode/service.h"

/* An unnamed output file the transcoder uid may write, like the daemon's. */
static int output_file(void)
{
	const char *tmp = getenv("TEST_TMPDIR");
	int fd = open(tmp ? tmp : "/tmp", O_TMPFILE | O_RDWR, 0600);

	assert_true(fd >= 0);
	assert_int_equal(fchown(fd, TRANSCODE_UID, TRANSCODE_GID), 0);
	return fd;
}

static int input_file(void)
{
	int fd = open("/etc/hostname", O_RDONLY);  /* world-readable */

	assert_true(fd >= 0);
	return fd;
}

/* Runs `command` with fresh files; returns rc and the output's text. */
static int run(const char *command, unsigned timeout_ms, char *output, size_t len, char *why)
{
	struct transcode_run_spec spec = {
		.command = command, .input_fd = input_file(), .output_fd = output_file(),
		.uid = TRANSCODE_UID, .gid = TRANSCODE_GID, .timeout_ms = timeout_ms,
		.max_output_bytes = 1 << 20,
	};
	int rc = transcode_run(&spec, why, 256);
	ssize_t n = pread(spec.output_fd, output, len - 1, 0);

	output[n > 0 ? n : 0] = '\0';
	close(spec.input_fd);
	close(spec.output_fd);
	return rc;
}

static void test_must_run_as_root(void **state)
{
	(void)state;
	if (geteuid() != 0)
		fail_msg("runner_test needs root: it checks the switch to uid %d", TRANSCODE_UID);
}

static void test_sandbox_identity(void **state)
{
	char out[4096], why[256] = "";

	(void)state;
	assert_int_equal(run("sh -c 'grep -E \"^(Uid|Gid|Groups|CapInh|CapPrm|CapEff|CapBnd|CapAmb|"
	                     "NoNewPrivs):\" /proc/self/status > \"$2\"; ls /proc/self/fd >> \"$2\"'"
	                     " sh {input} {output}", 5000, out, sizeof(out), why), 0);
	assert_non_null(strstr(out, "Uid:\t65534\t65534\t65534\t65534"));
	assert_non_null(strstr(out, "Gid:\t65534\t65534\t65534\t65534"));
	assert_non_null(strstr(out, "Groups:\t \n"));
	assert_non_null(strstr(out, "CapPrm:\t0000000000000000"));
	assert_non_null(strstr(out, "CapEff:\t0000000000000000"));
	assert_non_null(strstr(out, "CapBnd:\t0000000000000000"));
	assert_non_null(strstr(out, "CapAmb:\t0000000000000000"));
	assert_non_null(strstr(out, "NoNewPrivs:\t1"));
	/* ls's own descriptors: 0-4 inherited, 5 its directory; nothing else. */
	assert_non_null(strstr(out, "0\n1\n2\n3\n4\n"));
	assert_null(strstr(out, "\n6\n"));
	assert_null(strstr(out, "\n7\n"));
}

static void test_reads_input_writes_output(void **state)
{
	char out[4096], why[256] = "", want[4096];
	FILE *f = fopen("/etc/hostname", "r");
	size_t n = fread(want, 1, sizeof(want) - 1, f);

	(void)state;
	fclose(f);
	want[n] = '\0';
	assert_int_equal(run("cp {input} {output}", 5000, out, sizeof(out), why), 0);
	assert_string_equal(out, want);
}

static void test_failure_reports_last_stderr_line(void **state)
{
	char out[64], why[256] = "";

	(void)state;
	assert_int_equal(run("sh -c 'echo first >&2; echo \"Invalid data\" >&2; exit 3' sh {input}"
	                     " {output}", 5000, out, sizeof(out), why), -EIO);
	assert_string_equal(why, "exit status 3: Invalid data");
}

static void test_timeout_kills(void **state)
{
	struct timespec start, end;
	char out[64], why[256] = "";
	long elapsed_ms;

	(void)state;
	clock_gettime(CLOCK_MONOTONIC, &start);
	assert_int_equal(run("sh -c 'sleep 30 & sleep 30' sh {input} {output}", 300, out,
	                     sizeof(out), why), -ETIMEDOUT);
	clock_gettime(CLOCK_MONOTONIC, &end);
	elapsed_ms = (end.tv_sec - start.tv_sec) * 1000 + (end.tv_nsec - start.tv_nsec) / 1000000;
	assert_true(elapsed_ms < 5000);
	assert_non_null(strstr(why, "killed"));
}

static void test_missing_program_and_bad_template(void **state)
{
	char out[64], why[256] = "";

	(void)state;
	assert_int_equal(run("no-such-transcoder {input} {output}", 5000, out, sizeof(out), why), -EIO);
	assert_non_null(strstr(why, "not found"));
	assert_int_equal(run("cp {input} 'x", 5000, out, sizeof(out), why), -EINVAL);
}

/* Through the service, as mediafsd runs it: forked while root, then the
 * runs are nobody's with nothing, and several may run at once. */
static void test_service_runs_unprivileged(void **state)
{
	struct transcode_service *svc;
	char out[4096], why[256] = "";
	struct transcode_run_spec spec = {
		.command = "sh -c 'grep -E \"^(Uid|CapEff|CapBnd|NoNewPrivs):\" /proc/self/status"
		           " > \"$2\"' sh {input} {output}",
		.input_fd = input_file(), .output_fd = output_file(), .timeout_ms = 5000,
		.max_output_bytes = 1 << 20,
	};
	ssize_t n;

	(void)state;
	assert_int_equal(transcode_service_start(TRANSCODE_UID, TRANSCODE_GID, &svc), 0);
	assert_int_equal(transcode_service_run(svc, &spec, why, sizeof(why)), 0);
	n = pread(spec.output_fd, out, sizeof(out) - 1, 0);
	out[n > 0 ? n : 0] = '\0';
	assert_non_null(strstr(out, "Uid:\t65534\t65534\t65534\t65534"));
	assert_non_null(strstr(out, "CapEff:\t0000000000000000"));
	assert_non_null(strstr(out, "CapBnd:\t0000000000000000"));
	assert_non_null(strstr(out, "NoNewPrivs:\t1"));
	spec.command = "sh -c 'echo nope >&2; exit 4' sh {input} {output}";
	assert_int_equal(transcode_service_run(svc, &spec, why, sizeof(why)), -EIO);
	assert_string_equal(why, "exit status 4: nope");
	transcode_service_stop(svc);
	close(spec.input_fd);
	close(spec.output_fd);
}

static void test_timeout_grows_with_size(void **state)
{
	(void)state;
	assert_int_equal(transcode_timeout_ms(0), 30000);
	assert_int_equal(transcode_timeout_ms(1 << 20), 50000);
	assert_int_equal(transcode_timeout_ms(10 << 20), 230000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_must_run_as_root),
		cmocka_unit_test(test_sandbox_identity),
		cmocka_unit_test(test_reads_input_writes_output),
		cmocka_unit_test(test_failure_reports_last_stderr_line),
		cmocka_unit_test(test_timeout_kills),
		cmocka_unit_test(test_missing_program_and_bad_template),
		cmocka_unit_test(test_service_runs_unprivileged),
		cmocka_unit_test(test_timeout_grows_with_size),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
