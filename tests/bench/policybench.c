/*
 * policybench.c - per-open cost of the policy, for tests/bench/policy_bench.sh.
 *
 *   policybench openclose DIR DIRS FILES SECONDS [FIRST_DIR]
 *   policybench stat      DIR DIRS FILES SECONDS [FIRST_DIR]
 *
 * Works on DIR/dNN/fNNNNN.jpg (DIRS directories of FILES files each,
 * numbered from FIRST_DIR, default 0),
 * picking files pseudo-randomly so that no one name stays hot. Prints one
 * number: operations per second. Exits non-zero at the first failing call.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	unsigned long ops = 0, state = 88172645463325252ul;
	long dirs, files, first_dir = 0;
	double seconds, start, elapsed;
	int do_open;

	if ((argc != 6 && argc != 7) || (strcmp(argv[1], "openclose") && strcmp(argv[1], "stat"))) {
		fprintf(stderr, "usage: policybench openclose|stat DIR DIRS FILES SECONDS [FIRST_DIR]\n");
		return 2;
	}
	do_open = strcmp(argv[1], "openclose") == 0;
	dirs = atol(argv[3]);
	files = atol(argv[4]);
	seconds = atof(argv[5]);
	if (argc == 7)
		first_dir = atol(argv[6]);
	start = now();
	do {
		for (int i = 0; i < 64; i++) {
			char path[4096];
			struct stat st;
			long n;

			/* xorshift64: cheap, deterministic, spreads over all files. */
			state ^= state << 13;
			state ^= state >> 7;
			state ^= state << 17;
			n = (long)(state % (unsigned long)(dirs * files));
			snprintf(path, sizeof(path), "%s/d%02ld/f%05ld.jpg", argv[2],
			         first_dir + n / files, n % files);
			if (do_open) {
				int fd = open(path, O_RDONLY);
				if (fd < 0 || close(fd) != 0) {
					fprintf(stderr, "policybench: open %s: %s\n", path, strerror(errno));
					return 1;
				}
			} else if (stat(path, &st) != 0) {
				fprintf(stderr, "policybench: stat %s: %s\n", path, strerror(errno));
				return 1;
			}
			ops++;
		}
		elapsed = now() - start;
	} while (elapsed < seconds);
	printf("%.0f\n", ops / elapsed);
	return 0;
}
