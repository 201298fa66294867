/*
 * log.h - the daemon's log. Sinks: stderr in the foreground, syslog
 * (facility daemon, hence the journal under systemd) once daemonized, or a
 * file with --log-file. Every line carries its level: syslog priorities, or
 * "<level>: " in stderr and file lines. Lines above --log-level are dropped;
 * debug lines need -d (or --log-level debug).
 *
 * SIGHUP calls log_reopen(): a rotated log file is reopened under its
 * name, and the syslog connection is re-established (journald restarted).
 */
#ifndef MEDIAFS_DAEMON_LOG_H
#define MEDIAFS_DAEMON_LOG_H
#include <syslog.h>

/* Chooses the sink (stderr or syslog) and the most verbose priority kept
 * (LOG_ERR..LOG_DEBUG). Call before any thread exists. */
void log_init(int to_syslog, int max_priority);

/*
 * Sends every line to the file at `path` (absolute; opened O_APPEND,
 * created 0640) instead of stderr or syslog. Call before any thread exists.
 * Returns 0 or -errno (nothing changed).
 */
int log_use_file(const char *path);

/*
 * Reopens the sink: the file under its name (the old descriptor number is
 * reused with dup2, so threads logging meanwhile never write to a closed
 * descriptor), or syslog. Thread-safe. Returns 0 or -errno (the old file
 * stays in use).
 */
int log_reopen(void);

/* Parses "err", "warning", "info" or "debug". Returns the priority or -1. */
int log_priority_from_name(const char *name);

void log_msg(int priority, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_err(...) log_msg(LOG_ERR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARNING, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#endif
