/*
 * options.h - mediafsd's command line.
 */
#ifndef MEDIAFS_DAEMON_OPTIONS_H
#define MEDIAFS_DAEMON_OPTIONS_H

#include <stdint.h>
#include <stdio.h>

#define MEDIAFS_VERSION "0.2.0"

struct mfs_options {
	const char *source;          /* as given */
	const char *mountpoint;      /* as given */
	const char *db_path;         /* NULL: posix mode */
	const char *fsname;          /* shown in /proc/mounts; default "mediafs" */
	int foreground;
	int debug;
	int threads;                 /* max worker threads */
	int passthrough;             /* 0 with --no-passthrough */
	uint64_t redact_copy_max;    /* --redact-copy-max: largest file given an in-memory
	                                redacted copy (0: none) */
	uint64_t redact_copy_budget; /* --redact-copy-budget: memory for all such copies */
	uint64_t redact_disk_budget; /* --redact-disk-budget: disk for copies of larger
	                                files (0: none; they are served by the daemon) */
	const char *redact_copy_dir; /* --redact-copy-dir, absolute; NULL: SOURCE */
	int allow_other;             /* default 1 */
	unsigned long mount_flags;   /* MS_RDONLY, MS_NOSUID, ... */
	int bench_allow_all;         /* benchmark only: every policy check allows */
	const char *user;            /* --user: run as this user after mounting; NULL: stay root */
	const char *pid_file;        /* --pid-file, absolute; NULL: none */
	const char *log_file;        /* --log-file, absolute; NULL: stderr or syslog */
	int log_priority;            /* --log-level as a syslog priority (LOG_INFO default) */
	char pid_file_abs[4096];     /* storage for the absolute forms above */
	char redact_copy_dir_abs[4096];
	char log_file_abs[4096];
};

enum options_result {
	OPTIONS_RUN = 0,      /* start the daemon */
	OPTIONS_EXIT_OK,      /* --help or --version was printed */
	OPTIONS_EXIT_USAGE,   /* an error line was printed */
};

/* Parses argv into opt. Prints help/version to stdout and errors (one line)
 * to stderr. Never exits. */
enum options_result options_parse(int argc, char **argv, struct mfs_options *opt);

void options_print_help(FILE *out);

#endif
