/*
 * metabench.c - metadata micro-benchmarks for tests/bench/bench.sh.
 *
 *   metabench openclose DIR SECONDS   open(O_RDONLY)+close of DIR/f0..f999, round robin
 *   metabench stat DIR SECONDS        stat() of DIR/f0..f999, round robin
 *   metabench readdirstat DIR SECONDS readdir of DIR plus fstatat() of every entry,
 *                                     repeated; reports entries per second
 *
 * Prints one number: operations (or entries) per second. Exits non-zero,
 * with a message, at the first failing call: a benchmark of errors is no
 * benchmark.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SMALL_FILES 1000

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what, const char *path)
{
	fprintf(stderr, "metabench: %s %s: %s\n", what, path, strerror(errno));
	exit(1);
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: metabench openclose|stat|readdirstat DIR SECONDS\n");
		return 2;
	}
	const char *mode = argv[1], *dir = argv[2];
	double seconds = atof(argv[3]);
	char path[4096];
	unsigned long long ops = 0;
	double start = now(), end = start + seconds, t = start;

	if (strcmp(mode, "openclose") == 0 || strcmp(mode, "stat") == 0) {
		int do_open = mode[0] == 'o';

		while (t < end) {
			for (int i = 0; i < 256; i++, ops++) {
				snprintf(path, sizeof(path), "%s/f%llu", dir, ops % SMALL_FILES);
				if (do_open) {
					int fd = open(path, O_RDONLY);

					if (fd < 0)
						die("open", path);
					close(fd);
				} else {
					struct stat st;

					if (stat(path, &st) != 0)
						die("stat", path);
				}
			}
			t = now();
		}
	} else if (strcmp(mode, "readdirstat") == 0) {
		while (t < end) {
			DIR *d = opendir(dir);
			struct dirent *e;

			if (!d)
				die("opendir", dir);
			while ((e = readdir(d)) != NULL) {
				struct stat st;

				if (e->d_name[0] == '.' &&
				    (e->d_name[1] == 0 || (e->d_name[1] == '.' && e->d_name[2] == 0)))
					continue;
				if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
					die("fstatat", e->d_name);
				ops++;
			}
			closedir(d);
			t = now();
		}
	} else {
		fprintf(stderr, "metabench: unknown mode %s\n", mode);
		return 2;
	}
	printf("%.0f\n", ops / (t - start));
	return 0;
}
