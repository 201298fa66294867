/*
 * log.h - the daemon's log. Foreground: stderr, one line per message.
 * Daemonized: syslog (facility daemon). Debug lines only with -d.
 */
#ifndef MEDIAFS_DAEMON_LOG_H
#define MEDIAFS_DAEMON_LOG_H
#include <syslog.h>

/* Chooses the sink once at start-up, before any thread exists. */
void log_init(int to_syslog, int debug);
void log_msg(int priority, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_err(...) log_msg(LOG_ERR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARNING, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#endif
