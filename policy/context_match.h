/*
 * context_match.h - SELinux process-context conditions on app permissions,
 * as pure functions (no libselinux, no I/O): the policy database may say
 * that a permission of an app holds only while the calling process runs in
 * a given domain (`mediactl grant UID PERM --context untrusted_app`). The
 * daemon reads the caller's context with getpidcon() and asks here.
 *
 * A requirement is either a bare type ("untrusted_app": the caller's type
 * field must equal it) or a full context ("u:r:untrusted_app:s0:c1,c2":
 * the caller's context must equal it exactly).
 */
#ifndef MEDIAFS_POLICY_CONTEXT_MATCH_H
#define MEDIAFS_POLICY_CONTEXT_MATCH_H

#include <stddef.h>

#define POLICY_CONTEXT_MAX 255

/* One condition: permission bit `permission` needs context `required`. */
struct policy_context_rule {
	unsigned permission;        /* one POLICY_PERM_* bit */
	const char *required;
};

/* True when `text` may be stored as a requirement: 1..255 bytes of
 * printable ASCII without spaces, a bare type or user:role:type[:level]. */
int policy_context_valid(const char *text);

/*
 * True when the process context `caller` satisfies `required`. Assumes:
 * required is valid. caller NULL (unknown, e.g. the process is gone) or
 * malformed never matches.
 */
int policy_context_matches(const char *required, const char *caller);

/*
 * The permission bits that remain for a caller in context `caller`: every
 * bit that has rules keeps only if one of its rules matches (several rules
 * for one bit are alternatives); bits without rules are untouched.
 * Assumes rules[0..count) valid. Pure.
 */
unsigned policy_context_filter(unsigned permissions, const struct policy_context_rule *rules,
                               size_t count, const char *caller);

#endif
