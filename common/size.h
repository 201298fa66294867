/*
 * size.h - byte counts given on command lines (mediafsd's --redact-copy-*,
 * mediactl's --cache-max-bytes): digits with an optional K, M or G suffix
 * (powers of 1024), case-insensitive.
 */
#ifndef MEDIAFS_COMMON_SIZE_H
#define MEDIAFS_COMMON_SIZE_H

#include <stdint.h>

/* Parses text into *out. Returns 0, or -EINVAL for anything else: an empty
 * string, a sign, another suffix, trailing characters, or more than
 * UINT64_MAX bytes. 0 is a valid size. */
int parse_size(const char *text, uint64_t *out);

#endif
