/*
 * config.h - what the transcoder is told to do: the command to run, where
 * its cache lives and how large it may grow, with the built-in defaults
 * used for every setting the policy database leaves unset.
 *
 * Shared by mediafsd (which runs transcodes) and mediactl (which shows the
 * settings and inspects or clears the cache), so both agree on the
 * defaults, in particular on the default cache directory.
 */
#ifndef MEDIAFS_TRANSCODE_CONFIG_H
#define MEDIAFS_TRANSCODE_CONFIG_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

/*
 * {input} and {output} become /dev/fd paths of descriptors the daemon
 * opened. Location tags are cleared (the copy may be served to apps that
 * would get a redacted original); other container metadata is kept. The
 * mp4 muxer seeks back to write its index: the output is a regular file.
 */
#define TRANSCODE_DEFAULT_COMMAND                                                   \
	"ffmpeg -hide_banner -loglevel error -nostdin -i {input}"                   \
	" -map 0:v:0 -map 0:a? -c:v libx264 -preset veryfast -crf 23"              \
	" -pix_fmt yuv420p -c:a aac -map_metadata 0 -metadata location="           \
	" -metadata location-eng= -metadata com.apple.quicktime.location.ISO6709=" \
	" -movflags +faststart -f mp4 -y {output}"

/* Default cache directories live here, one per SOURCE. */
#define TRANSCODE_DEFAULT_CACHE_ROOT "/var/cache/mediafs"
#define TRANSCODE_DEFAULT_CACHE_MAX_BYTES (2ULL << 30)

#define TRANSCODE_COMMAND_MAX 4096

/* The unprivileged identity transcodes run as ("nobody"). */
#define TRANSCODE_UID 65534
#define TRANSCODE_GID 65534

struct transcode_config {
	char command[TRANSCODE_COMMAND_MAX];
	char cache_dir[PATH_MAX];
	uint64_t cache_max_bytes;       /* > 0 */
};

/*
 * Writes the default cache directory of SOURCE, TRANSCODE_DEFAULT_CACHE_ROOT
 * "/" followed by a 64-bit FNV-1a hash of source_path in hex, into buf.
 * Assumes source_path is SOURCE's canonical path (the daemon's realpath).
 * Returns 0 or -ENAMETOOLONG.
 */
int transcode_default_cache_dir(const char *source_path, char *buf, size_t len);

/* A 64-bit FNV-1a hash of text: stable, cheap, not cryptographic. */
uint64_t transcode_hash_text(const char *text);

/*
 * Fills *out from the stored settings, each of which may be unset ("" or 0):
 * unset ones get their default. source_path names SOURCE for the default
 * cache directory. Returns 0 or -ENAMETOOLONG.
 */
int transcode_config_resolve(const char *command, const char *cache_dir,
                             uint64_t cache_max_bytes, const char *source_path,
                             struct transcode_config *out);

#endif
