/* log.c - see log.h. */
#include "daemon/log.h"

#include <stdarg.h>
#include <stdio.h>

/*
 * Written once by log_init() before threads start, read-only afterwards:
 * the only file-scope state in the daemon, because logging must work before
 * the daemon context exists and from signal-free code everywhere.
 */
static int log_to_syslog;
static int log_debug_enabled;

void log_init(int to_syslog, int debug)
{
	log_to_syslog = to_syslog;
	log_debug_enabled = debug;
	if (to_syslog)
		openlog("mediafsd", LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void log_msg(int priority, const char *fmt, ...)
{
	va_list ap;

	if (priority == LOG_DEBUG && !log_debug_enabled)
		return;
	va_start(ap, fmt);
	if (log_to_syslog) {
		vsyslog(priority, fmt, ap);
	} else {
		/* One fprintf per line so lines from threads do not interleave. */
		char line[1024];
		vsnprintf(line, sizeof(line), fmt, ap);
		fprintf(stderr, "mediafsd: %s\n", line);
	}
	va_end(ap);
}
