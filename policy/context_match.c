/* context_match.c - see context_match.h. */
#include "policy/context_match.h"

#include <string.h>

int policy_context_valid(const char *text)
{
	size_t len = strlen(text), colons = 0;

	if (len == 0 || len > POLICY_CONTEXT_MAX)
		return 0;
	for (const char *c = text; *c; c++) {
		if (*c <= ' ' || *c > '~')
			return 0;
		colons += *c == ':';
	}
	/* A bare type, or at least user:role:type; no empty fields among those. */
	if (colons == 0)
		return 1;
	if (colons < 2 || text[0] == ':' || strstr(text, "::") != NULL)
		return 0;
	return 1;
}

/* Copies the type field (third) of a full context into buf. Returns 0, or
 * -1 when the context has no type field or it does not fit. */
static int type_of(const char *context, char *buf, size_t size)
{
	const char *start = context;
	size_t len;

	for (int field = 0; field < 2; field++) {
		start = strchr(start, ':');
		if (!start)
			return -1;
		start++;
	}
	len = strcspn(start, ":");
	if (len == 0 || len >= size)
		return -1;
	memcpy(buf, start, len);
	buf[len] = '\0';
	return 0;
}

int policy_context_matches(const char *required, const char *caller)
{
	char type[POLICY_CONTEXT_MAX + 1];

	if (caller == NULL || !policy_context_valid(caller) || strchr(caller, ':') == NULL)
		return 0;
	if (strchr(required, ':') != NULL)
		return strcmp(required, caller) == 0;
	return type_of(caller, type, sizeof(type)) == 0 && strcmp(type, required) == 0;
}

unsigned policy_context_filter(unsigned permissions, const struct policy_context_rule *rules,
                               size_t count, const char *caller)
{
	unsigned restricted = 0, satisfied = 0;

	for (size_t i = 0; i < count; i++) {
		restricted |= rules[i].permission;
		if (policy_context_matches(rules[i].required, caller))
			satisfied |= rules[i].permission;
	}
	return permissions & (~restricted | satisfied);
}
