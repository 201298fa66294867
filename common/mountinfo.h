/*
 * mountinfo.h - finding a mount's device number in /proc/self/mountinfo
 * (the format of proc(5)), without touching the mount itself.
 */
#ifndef MEDIAFS_COMMON_MOUNTINFO_H
#define MEDIAFS_COMMON_MOUNTINFO_H

#include <stdio.h>

/*
 * Reads mountinfo lines from `in` and finds the last one whose mount point
 * (field 5, octal escapes such as \040 decoded) equals `abs_path` exactly:
 * that is the mount visible there. Sets *major / *minor from field 3.
 * Returns 0 when that mount's type (first field after " - ") starts with
 * "fuse", -EINVAL when it is another type, -ENOENT when no line matches.
 */
int mountinfo_find_fuse(FILE *in, const char *abs_path, unsigned *major, unsigned *minor);

/*
 * Decodes the octal escapes (\ooo) of a mountinfo field in place.
 */
void mountinfo_unescape(char *field);

#endif
