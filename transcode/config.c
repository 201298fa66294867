/* config.c - see config.h. */
#include "transcode/config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* FNV-1a: tiny, stable across builds and machines; its users only need to
 * tell values apart, not to resist anyone. */
uint64_t transcode_hash_text(const char *text)
{
	uint64_t hash = 0xcbf29ce484222325ULL;

	for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
		hash ^= *p;
		hash *= 0x100000001b3ULL;
	}
	return hash;
}

int transcode_default_cache_dir(const char *source_path, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s/%016llx", TRANSCODE_DEFAULT_CACHE_ROOT,
	                 (unsigned long long)transcode_hash_text(source_path));

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int transcode_config_resolve(const char *command, const char *cache_dir,
                             uint64_t cache_max_bytes, const char *source_path,
                             struct transcode_config *out)
{
	const char *chosen = command && *command ? command : TRANSCODE_DEFAULT_COMMAND;

	if (strlen(chosen) >= sizeof(out->command))
		return -ENAMETOOLONG;
	strcpy(out->command, chosen);
	out->cache_max_bytes = cache_max_bytes ? cache_max_bytes : TRANSCODE_DEFAULT_CACHE_MAX_BYTES;
	if (cache_dir && *cache_dir) {
		if (strlen(cache_dir) >= sizeof(out->cache_dir))
			return -ENAMETOOLONG;
		strcpy(out->cache_dir, cache_dir);
		return 0;
	}
	return transcode_default_cache_dir(source_path, out->cache_dir, sizeof(out->cache_dir));
}
