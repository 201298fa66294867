/* options.c - see options.h. */
#include "daemon/options.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include "common/size.h"
#include "daemon/fuse_version.h"
#include "daemon/log.h"

void options_print_help(FILE *out)
{
	fprintf(out,
"Usage: mediafsd [OPTION]... SOURCE MOUNTPOINT\n"
"\n"
"Present the media directory SOURCE at MOUNTPOINT through FUSE, deciding on\n"
"every open what the calling app (uid) may see. Plain opens are handed to the\n"
"kernel (FUSE passthrough), so their data never crosses the daemon.\n"
"Must run as root: it mounts, and registers passthrough backing files.\n"
"\n"
"Options:\n"
"  -f, --foreground     stay in the foreground; log to stderr. Without -f the\n"
"                       daemon detaches once the mount is up and logs to syslog.\n"
"  -d, --debug          log every FUSE request (implies -f).\n"
"      --db PATH        the policy database (SQLite; created when missing).\n"
"                       Every lookup, open, create, unlink, rename, mkdir,\n"
"                       rmdir, setattr and readdir is checked against it.\n"
"                       Without --db the daemon runs in posix mode: the kernel\n"
"                       checks the backing files' own owners and modes\n"
"                       (default_permissions) and new files belong to their\n"
"                       creator.\n"
"      --threads N      at most N worker threads (1-256, default 16).\n"
"      --no-passthrough serve every read and write from the daemon (splice)\n"
"                       instead of kernel passthrough.\n"
"      --redact-copy-max SIZE  a redacted view of a file up to SIZE bytes\n"
"                       (suffix K, M or G; default 64M; 0: never) is served by\n"
"                       kernel passthrough to an in-memory copy with the\n"
"                       location zeroed; larger files get such a copy on disk.\n"
"      --redact-copy-budget SIZE  memory all such copies may take together\n"
"                       (default 512M); least recently used copies no file has\n"
"                       open are dropped first, and when copies in use fill it\n"
"                       the daemon serves the view.\n"
"      --redact-disk-budget SIZE  disk space the copies of files above\n"
"                       --redact-copy-max may take together (default 2G; 0:\n"
"                       no disk copies, the daemon serves those views). A\n"
"                       file larger than SIZE is served by the daemon. The\n"
"                       first open of a version pays for its copy.\n"
"      --redact-copy-dir DIR  where disk copies live (default: SOURCE, so that\n"
"                       a reflinking file system shares unchanged blocks).\n"
"                       They have no name (O_TMPFILE): nothing can open them,\n"
"                       and they vanish when dropped or when the daemon exits.\n"
"  -o OPT[,OPT...]      mount options: allow_other (default) or noallow_other,\n"
"                       ro, rw, nosuid, suid, nodev, dev, noexec, exec,\n"
"                       fsname=NAME.\n"
"      --bench-allow-all  benchmark only: every policy check allows, to measure\n"
"                       what the checks cost. Never use it in production.\n"
"\n"
"Service options:\n"
"      --user NAME      after mounting, run as user NAME (name or uid), keeping\n"
"                       only the capabilities the daemon needs (see below).\n"
"      --pid-file PATH  write the daemon's pid to PATH once the mount is up\n"
"                       (for systemd Type=forking); removed at exit.\n"
"      --log-file PATH  append log lines to PATH instead of stderr/syslog;\n"
"                       SIGHUP reopens it (log rotation).\n"
"      --log-level LVL  err, warning, info (default) or debug (the daemon's\n"
"                       own debug lines; -d also traces every FUSE request).\n"
"  -h, --help           print this help and exit.\n"
"  -V, --version        print the version and exit.\n"
"\n"
"Privileges: once mounted, the daemon keeps only CAP_SYS_ADMIN (passthrough,\n"
"unmount), CAP_DAC_OVERRIDE and CAP_FOWNER (the backing tree) and, in posix\n"
"mode, CAP_CHOWN (new files belong to their creator); it clears the rest from\n"
"every set including the bounding set, and sets no_new_privs. Media files are\n"
"parsed in a separate sandboxed process running as 'nobody' with no\n"
"capabilities. `mediactl stats` shows the kept set.\n"
"SELinux: when enabled, files created in SOURCE get the label file_contexts\n"
"gives their path, and permissions may require a caller context\n"
"(mediactl grant --context).\n"
"\n"
"Signals: SIGINT and SIGTERM unmount and exit 0. SIGHUP reopens the log.\n"
"Counters: `mediactl stats MOUNTPOINT` (root only).\n"
"After a crash the mount reports ENOTCONN: `umount -l MOUNTPOINT`, then start\n"
"mediafsd again on the same mount point.\n"
"\n"
"Exit status: 0 after a clean unmount, 1 on a start-up error, 2 on bad usage.\n");
}

/* Makes `path` absolute (the daemon changes to "/" when it detaches).
 * Returns 0, or -EINVAL when empty or too long. */
static int absolute_path(const char *path, char *out, size_t size)
{
	char cwd[4096];
	int len;

	if (!path[0])
		return -EINVAL;
	if (path[0] == '/')
		len = snprintf(out, size, "%s", path);
	else if (getcwd(cwd, sizeof(cwd)))
		len = snprintf(out, size, "%s/%s", cwd, path);
	else
		return -EINVAL;
	return len > 0 && (size_t)len < size ? 0 : -EINVAL;
}

/* Applies one -o option. Returns 0, or -EINVAL for an unknown option. */
static int apply_mount_option(struct mfs_options *opt, const char *name)
{
	static const struct { const char *name; unsigned long set, clear; } flags[] = {
		{ "ro", MS_RDONLY, 0 },     { "rw", 0, MS_RDONLY },
		{ "nosuid", MS_NOSUID, 0 }, { "suid", 0, MS_NOSUID },
		{ "nodev", MS_NODEV, 0 },   { "dev", 0, MS_NODEV },
		{ "noexec", MS_NOEXEC, 0 }, { "exec", 0, MS_NOEXEC },
	};

	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
		if (strcmp(name, flags[i].name) == 0) {
			opt->mount_flags = (opt->mount_flags | flags[i].set) & ~flags[i].clear;
			return 0;
		}
	}
	if (strcmp(name, "allow_other") == 0) {
		opt->allow_other = 1;
		return 0;
	}
	if (strcmp(name, "noallow_other") == 0) {
		opt->allow_other = 0;
		return 0;
	}
	if (strncmp(name, "fsname=", 7) == 0 && name[7] && !strpbrk(name + 7, ", \t\n")) {
		opt->fsname = name + 7;
		return 0;
	}
	return -EINVAL;
}

/* Splits a -o argument in place. Returns 0 or prints an error, -EINVAL. */
static int apply_mount_options(struct mfs_options *opt, char *list)
{
	char *save = NULL;

	for (char *name = strtok_r(list, ",", &save); name; name = strtok_r(NULL, ",", &save)) {
		if (apply_mount_option(opt, name) != 0) {
			fprintf(stderr, "mediafsd: unknown mount option '%s' (see --help)\n", name);
			return -EINVAL;
		}
	}
	return 0;
}

enum options_result options_parse(int argc, char **argv, struct mfs_options *opt)
{
	enum { OPT_DB = 256, OPT_THREADS, OPT_NO_PASSTHROUGH, OPT_BENCH_ALLOW_ALL, OPT_USER,
	       OPT_PID_FILE, OPT_LOG_FILE, OPT_LOG_LEVEL, OPT_REDACT_COPY_MAX,
	       OPT_REDACT_COPY_BUDGET, OPT_REDACT_DISK_BUDGET, OPT_REDACT_COPY_DIR };
	static const struct option longopts[] = {
		{ "foreground", no_argument, NULL, 'f' },
		{ "debug", no_argument, NULL, 'd' },
		{ "db", required_argument, NULL, OPT_DB },
		{ "threads", required_argument, NULL, OPT_THREADS },
		{ "no-passthrough", no_argument, NULL, OPT_NO_PASSTHROUGH },
		{ "redact-copy-max", required_argument, NULL, OPT_REDACT_COPY_MAX },
		{ "redact-copy-budget", required_argument, NULL, OPT_REDACT_COPY_BUDGET },
		{ "redact-disk-budget", required_argument, NULL, OPT_REDACT_DISK_BUDGET },
		{ "redact-copy-dir", required_argument, NULL, OPT_REDACT_COPY_DIR },
		{ "bench-allow-all", no_argument, NULL, OPT_BENCH_ALLOW_ALL },
		{ "user", required_argument, NULL, OPT_USER },
		{ "pid-file", required_argument, NULL, OPT_PID_FILE },
		{ "log-file", required_argument, NULL, OPT_LOG_FILE },
		{ "log-level", required_argument, NULL, OPT_LOG_LEVEL },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(opt, 0, sizeof(*opt));
	opt->threads = 16;
	opt->passthrough = 1;
	opt->redact_copy_max = 64ull << 20;
	opt->redact_copy_budget = 512ull << 20;
	opt->redact_disk_budget = 2ull << 30;
	opt->allow_other = 1;
	opt->fsname = "mediafs";
	opt->mount_flags = MS_NOSUID | MS_NODEV;
	opt->log_priority = LOG_INFO;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+fdo:hV", longopts, NULL)) != -1) {
		switch (c) {
		case 'f':
			opt->foreground = 1;
			break;
		case 'd':
			opt->debug = 1;
			opt->foreground = 1;
			opt->log_priority = LOG_DEBUG;
			break;
		case 'o':
			if (apply_mount_options(opt, optarg) != 0)
				return OPTIONS_EXIT_USAGE;
			break;
		case OPT_DB:
			opt->db_path = optarg;
			break;
		case OPT_THREADS: {
			char *end;
			long n;
			errno = 0;
			n = strtol(optarg, &end, 10);
			if (errno || *end || end == optarg || n < 1 || n > 256) {
				fprintf(stderr, "mediafsd: --threads wants a number from 1 to 256, not '%s'\n",
				        optarg);
				return OPTIONS_EXIT_USAGE;
			}
			opt->threads = (int)n;
			break;
		}
		case OPT_NO_PASSTHROUGH:
			opt->passthrough = 0;
			break;
		case OPT_REDACT_COPY_MAX:
		case OPT_REDACT_COPY_BUDGET:
		case OPT_REDACT_DISK_BUDGET: {
			uint64_t *size = c == OPT_REDACT_COPY_MAX    ? &opt->redact_copy_max
			               : c == OPT_REDACT_COPY_BUDGET ? &opt->redact_copy_budget
			                                             : &opt->redact_disk_budget;
			if (parse_size(optarg, size) != 0) {
				fprintf(stderr, "mediafsd: --%s wants a size (bytes, or with K, M or G), "
				        "not '%s'\n", c == OPT_REDACT_COPY_MAX ? "redact-copy-max"
				        : c == OPT_REDACT_COPY_BUDGET ? "redact-copy-budget"
				        : "redact-disk-budget", optarg);
				return OPTIONS_EXIT_USAGE;
			}
			break;
		}
		case OPT_REDACT_COPY_DIR:
			if (absolute_path(optarg, opt->redact_copy_dir_abs,
			                  sizeof(opt->redact_copy_dir_abs)) != 0) {
				fprintf(stderr, "mediafsd: --redact-copy-dir wants a directory, not '%s'\n",
				        optarg);
				return OPTIONS_EXIT_USAGE;
			}
			opt->redact_copy_dir = opt->redact_copy_dir_abs;
			break;
		case OPT_BENCH_ALLOW_ALL:
			opt->bench_allow_all = 1;
			break;
		case OPT_USER:
			if (!optarg[0]) {
				fprintf(stderr, "mediafsd: --user wants a user name\n");
				return OPTIONS_EXIT_USAGE;
			}
			opt->user = optarg;
			break;
		case OPT_PID_FILE:
		case OPT_LOG_FILE: {
			int is_pid = c == OPT_PID_FILE;
			char *abs = is_pid ? opt->pid_file_abs : opt->log_file_abs;
			if (absolute_path(optarg, abs, sizeof(opt->pid_file_abs)) != 0) {
				fprintf(stderr, "mediafsd: --%s '%s': invalid path\n",
				        is_pid ? "pid-file" : "log-file", optarg);
				return OPTIONS_EXIT_USAGE;
			}
			*(is_pid ? &opt->pid_file : &opt->log_file) = abs;
			break;
		}
		case OPT_LOG_LEVEL:
			opt->log_priority = log_priority_from_name(optarg);
			if (opt->log_priority < 0) {
				fprintf(stderr, "mediafsd: --log-level wants err, warning, info or debug, "
				        "not '%s'\n", optarg);
				return OPTIONS_EXIT_USAGE;
			}
			break;
		case 'h':
			options_print_help(stdout);
			return OPTIONS_EXIT_OK;
		case 'V':
			printf("mediafsd %s (libfuse %s, passthrough via %s)\n", MEDIAFS_VERSION,
			       fuse_pkgversion(),
			       MEDIAFS_LIBFUSE_HAS_PASSTHROUGH ? "libfuse" : "mediafs shim");
			return OPTIONS_EXIT_OK;
		default:
			if (optopt && optopt < 256)
				fprintf(stderr, "mediafsd: unknown or incomplete option '-%c' (see --help)\n",
				        optopt);
			else
				fprintf(stderr, "mediafsd: unknown or incomplete option '%s' (see --help)\n",
				        argv[optind - 1]);
			return OPTIONS_EXIT_USAGE;
		}
	}
	if (argc - optind != 2) {
		fprintf(stderr, "mediafsd: expected SOURCE and MOUNTPOINT (see --help)\n");
		return OPTIONS_EXIT_USAGE;
	}
	opt->source = argv[optind];
	opt->mountpoint = argv[optind + 1];
	return OPTIONS_RUN;
}
