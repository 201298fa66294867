/*
 * context_match_test.c - SELinux context conditions on permissions, with no
 * SELinux anywhere: the matching is a pure function of strings.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "policy/context_match.h"
#include "policy/engine.h"

static void test_valid_requirements(void **state)
{
	(void)state;
	assert_true(policy_context_valid("untrusted_app"));
	assert_true(policy_context_valid("u:r:untrusted_app:s0"));
	assert_true(policy_context_valid("u:r:untrusted_app:s0:c512,c768"));
	assert_true(policy_context_valid("system_u:system_r:init_t"));
	assert_false(policy_context_valid(""));
	assert_false(policy_context_valid("untrusted app"));
	assert_false(policy_context_valid("u:r"));
	assert_false(policy_context_valid(":r:t:s0"));
	assert_false(policy_context_valid("u::t:s0"));
	assert_false(policy_context_valid("u:r:t\n"));
	assert_false(policy_context_valid("\xc3\xa9t\xc3\xa9"));
	{
		char long_one[300];
		for (int i = 0; i < 299; i++)
			long_one[i] = 'a';
		long_one[299] = '\0';
		assert_false(policy_context_valid(long_one));
		long_one[255] = '\0';
		assert_true(policy_context_valid(long_one));
	}
}

static void test_bare_type_matches_type_field_only(void **state)
{
	(void)state;
	assert_true(policy_context_matches("untrusted_app", "u:r:untrusted_app:s0:c1,c2"));
	assert_true(policy_context_matches("untrusted_app", "u:r:untrusted_app"));
	assert_false(policy_context_matches("untrusted_app", "u:r:untrusted_app_27:s0"));
	assert_false(policy_context_matches("untrusted_app", "untrusted_app:r:platform_app:s0"));
	assert_false(policy_context_matches("untrusted_app", "u:untrusted_app:platform_app:s0"));
	assert_false(policy_context_matches("s0", "u:r:untrusted_app:s0"));
	assert_false(policy_context_matches("untrusted_app", "untrusted_app"));
}

static void test_full_context_matches_exactly(void **state)
{
	(void)state;
	assert_true(policy_context_matches("u:r:untrusted_app:s0:c1", "u:r:untrusted_app:s0:c1"));
	assert_false(policy_context_matches("u:r:untrusted_app:s0:c1", "u:r:untrusted_app:s0:c2"));
	assert_false(policy_context_matches("u:r:untrusted_app:s0", "u:r:untrusted_app:s0:c1"));
}

static void test_unknown_or_garbage_caller_never_matches(void **state)
{
	(void)state;
	assert_false(policy_context_matches("untrusted_app", NULL));
	assert_false(policy_context_matches("untrusted_app", ""));
	assert_false(policy_context_matches("untrusted_app", "u:r:untrusted_app:s0 extra"));
	assert_false(policy_context_matches("u:r:t:s0", NULL));
}

static void test_filter_clears_only_unsatisfied_restricted_bits(void **state)
{
	const unsigned images = POLICY_PERM_READ_MEDIA_IMAGES, video = POLICY_PERM_READ_MEDIA_VIDEO,
	               location = POLICY_PERM_ACCESS_MEDIA_LOCATION;
	const struct policy_context_rule rules[] = {
		{ images, "untrusted_app" },
		{ location, "platform_app" },
		{ location, "u:r:priv_app:s0" },
	};
	unsigned all = images | video | location;

	(void)state;
	/* No rules: nothing changes, whatever the caller. */
	assert_int_equal(policy_context_filter(all, NULL, 0, NULL), all);
	/* untrusted_app keeps images and the unrestricted video, loses location. */
	assert_int_equal(policy_context_filter(all, rules, 3, "u:r:untrusted_app:s0"),
	                 images | video);
	/* Alternatives: either rule for location suffices. */
	assert_int_equal(policy_context_filter(all, rules, 3, "u:r:platform_app:s0"),
	                 video | location);
	assert_int_equal(policy_context_filter(all, rules, 3, "u:r:priv_app:s0"), video | location);
	assert_int_equal(policy_context_filter(all, rules, 3, "u:r:priv_app:s0:c1"), video);
	/* Unknown caller: fail closed on every restricted bit. */
	assert_int_equal(policy_context_filter(all, rules, 3, NULL), video);
	/* A rule never adds a permission the app does not hold. */
	assert_int_equal(policy_context_filter(video, rules, 3, "u:r:untrusted_app:s0"), video);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_requirements),
		cmocka_unit_test(test_bare_type_matches_type_field_only),
		cmocka_unit_test(test_full_context_matches_exactly),
		cmocka_unit_test(test_unknown_or_garbage_caller_never_matches),
		cmocka_unit_test(test_filter_clears_only_unsatisfied_restricted_bits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
