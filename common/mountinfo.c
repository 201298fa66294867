/*
 * mountinfo.c - parsing /proc/self/mountinfo (see mountinfo.h).
 * A line: ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - TYPE SOURCE SUPER
 */
#include "common/mountinfo.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void mountinfo_unescape(char *field)
{
	char *out = field;

	for (char *in = field; *in; ) {
		if (in[0] == '\\' && in[1] >= '0' && in[1] <= '3' &&
		    in[2] >= '0' && in[2] <= '7' && in[3] >= '0' && in[3] <= '7') {
			*out++ = (char)(((in[1] - '0') << 6) | ((in[2] - '0') << 3) | (in[3] - '0'));
			in += 4;
		} else {
			*out++ = *in++;
		}
	}
	*out = '\0';
}

/* Splits the next space-separated field off *cursor; NULL at the end. */
static char *next_field(char **cursor)
{
	return strsep(cursor, " \n");
}

/*
 * Parses one line (modified in place). Returns 1 and fills the outputs when
 * its mount point is abs_path, 0 when it is another mount, -EINVAL when the
 * line is malformed.
 */
static int parse_line(char *line, const char *abs_path, unsigned *major,
                      unsigned *minor, int *is_fuse)
{
	char *cursor = line, *dev, *mount_point, *field, *type = NULL;

	next_field(&cursor);            /* mount ID */
	next_field(&cursor);            /* parent ID */
	dev = next_field(&cursor);
	next_field(&cursor);            /* root */
	mount_point = next_field(&cursor);
	if (dev == NULL || mount_point == NULL)
		return -EINVAL;
	mountinfo_unescape(mount_point);
	if (strcmp(mount_point, abs_path) != 0)
		return 0;
	if (sscanf(dev, "%u:%u", major, minor) != 2)
		return -EINVAL;
	/* Options, then optional fields up to the lone "-" separator. */
	while ((field = next_field(&cursor)) != NULL) {
		if (strcmp(field, "-") == 0) {
			type = next_field(&cursor);
			break;
		}
	}
	if (type == NULL)
		return -EINVAL;
	*is_fuse = strncmp(type, "fuse", 4) == 0;
	return 1;
}

int mountinfo_find_fuse(FILE *in, const char *abs_path, unsigned *major, unsigned *minor)
{
	char *line = NULL;
	size_t cap = 0;
	int found = 0, is_fuse = 0;

	while (getline(&line, &cap, in) > 0) {
		unsigned maj, min;
		int fuse = 0;

		/* Later lines are mounted on top of earlier ones: the last wins. */
		if (parse_line(line, abs_path, &maj, &min, &fuse) == 1) {
			found = 1;
			is_fuse = fuse;
			*major = maj;
			*minor = min;
		}
	}
	free(line);
	if (!found)
		return -ENOENT;
	return is_fuse ? 0 : -EINVAL;
}
