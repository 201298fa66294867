/* command_test.c - the command template: splitting, quoting, placeholders,
 * errors, and finding the program. */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "transcode/command.h"

/* Builds `template` and compares the result with the NULL-ended `want`. */
static void expect_argv(const char *template, const char *const *want)
{
	struct transcode_argv cmd;
	const char *why = NULL;
	size_t n = 0;

	assert_int_equal(transcode_command_build(template, "/dev/fd/3", "/dev/fd/4", &cmd, &why), 0);
	for (; want[n]; n++)
		assert_string_equal(cmd.argv[n], want[n]);
	assert_int_equal(cmd.argc, n);
	assert_null(cmd.argv[n]);
	transcode_argv_free(&cmd);
}

static void test_simple_split_and_substitution(void **state)
{
	const char *const want[] = { "ffmpeg", "-i", "/dev/fd/3", "-f", "mp4", "/dev/fd/4", NULL };

	(void)state;
	expect_argv("  ffmpeg -i {input}\t-f mp4\n {output} ", want);
}

static void test_placeholders_inside_words_and_repeated(void **state)
{
	const char *const want[] = { "tool", "file:/dev/fd/3", "--out=/dev/fd/4", "/dev/fd/3",
	                             NULL };

	(void)state;
	expect_argv("tool file:{input} --out={output} {input}", want);
}

static void test_quoting(void **state)
{
	const char *const want[] = { "sh", "-c", "echo \"$1\" > $2; x='{y}'", "", "a b",
	                             "/dev/fd/3", "/dev/fd/4", NULL };

	(void)state;
	expect_argv("sh -c 'echo \"$1\" > $2; x='\\''{y}'\\' '' \"a b\" {input} {output}", want);
}

static void test_unknown_braces_stay(void **state)
{
	const char *const want[] = { "x", "{inputs}", "{", "/dev/fd/3", "/dev/fd/4", NULL };

	(void)state;
	expect_argv("x {inputs} { {input} {output}", want);
}

static void test_errors(void **state)
{
	const char *why = NULL;

	(void)state;
	assert_int_equal(transcode_command_validate("", &why), -EINVAL);
	assert_string_equal(why, "empty command");
	assert_int_equal(transcode_command_validate("   ", &why), -EINVAL);
	assert_int_equal(transcode_command_validate("ffmpeg -i {input} 'x {output}", &why), -EINVAL);
	assert_string_equal(why, "unterminated quote");
	assert_int_equal(transcode_command_validate("ffmpeg {input} {output} \\", &why), -EINVAL);
	assert_string_equal(why, "trailing backslash");
	assert_int_equal(transcode_command_validate("ffmpeg -i x {output}", &why), -EINVAL);
	assert_string_equal(why, "no {input} placeholder");
	assert_int_equal(transcode_command_validate("ffmpeg -i {input} out.mp4", &why), -EINVAL);
	assert_string_equal(why, "no {output} placeholder");
	assert_int_equal(transcode_command_validate("ffmpeg -i {input} {output}", &why), 0);
}

static void test_resolve(void **state)
{
	char path[PATH_MAX];

	(void)state;
	assert_int_equal(transcode_command_resolve("sh", path, sizeof(path)), 0);
	assert_true(strcmp(path, "/usr/bin/sh") == 0 || strcmp(path, "/bin/sh") == 0);
	assert_int_equal(transcode_command_resolve("/bin/sh", path, sizeof(path)), 0);
	assert_string_equal(path, "/bin/sh");
	assert_int_equal(transcode_command_resolve("no-such-program-mediafs", path, sizeof(path)),
	                 -ENOENT);
	assert_int_equal(transcode_command_resolve("/nonexistent/x", path, sizeof(path)), -ENOENT);
	assert_int_equal(transcode_command_resolve("sh", path, 4), -ENAMETOOLONG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_simple_split_and_substitution),
		cmocka_unit_test(test_placeholders_inside_words_and_repeated),
		cmocka_unit_test(test_quoting),
		cmocka_unit_test(test_unknown_braces_stay),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_resolve),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
