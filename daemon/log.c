/* log.c - see log.h. */
#include "daemon/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

/*
 * Written by log_init()/log_use_file() before threads start, read-only
 * afterwards: the only file-scope state in the daemon, because logging must
 * work before the daemon context exists. log_reopen() changes what
 * log_file_fd refers to, never its value.
 */
static int log_to_syslog;
static int log_max_priority = LOG_INFO;
static int log_file_fd = -1;
static char log_file_path[4096];

static const char *const level_names[] = {
	[LOG_EMERG] = "emerg", [LOG_ALERT] = "alert", [LOG_CRIT] = "crit", [LOG_ERR] = "err",
	[LOG_WARNING] = "warning", [LOG_NOTICE] = "notice", [LOG_INFO] = "info",
	[LOG_DEBUG] = "debug",
};

void log_init(int to_syslog, int max_priority)
{
	log_to_syslog = to_syslog && log_file_fd < 0;
	log_max_priority = max_priority;
	if (log_to_syslog)
		openlog("mediafsd", LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

/* Opens path for appending, never through a symlink. Returns fd or -errno. */
static int open_log_file(const char *path)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY,
	              0640);

	return fd < 0 ? -errno : fd;
}

int log_use_file(const char *path)
{
	int fd;

	if (path[0] != '/' || strlen(path) >= sizeof(log_file_path))
		return -EINVAL;
	fd = open_log_file(path);
	if (fd < 0)
		return fd;
	strcpy(log_file_path, path);
	log_file_fd = fd;
	log_to_syslog = 0;
	return 0;
}

int log_reopen(void)
{
	int fd, rc;

	if (log_to_syslog) {
		closelog();
		openlog("mediafsd", LOG_PID | LOG_NDELAY, LOG_DAEMON);
		return 0;
	}
	if (log_file_fd < 0)
		return 0; /* stderr: nothing to reopen */
	fd = open_log_file(log_file_path);
	if (fd < 0)
		return fd;
	rc = dup2(fd, log_file_fd) < 0 ? -errno : 0;
	close(fd);
	return rc;
}

int log_priority_from_name(const char *name)
{
	for (int p = LOG_ERR; p <= LOG_DEBUG; p++)
		if (p != LOG_NOTICE && strcmp(name, level_names[p]) == 0)
			return p;
	return -1;
}

void log_msg(int priority, const char *fmt, ...)
{
	va_list ap;

	if (priority > log_max_priority)
		return;
	va_start(ap, fmt);
	if (log_to_syslog) {
		vsyslog(priority, fmt, ap);
	} else {
		/* One write per line so lines from threads do not interleave. */
		char line[1100], text[1024], stamp[48] = "";
		int len;

		vsnprintf(text, sizeof(text), fmt, ap);
		if (log_file_fd >= 0) {
			struct timeval now;
			struct tm tm;
			gettimeofday(&now, NULL);
			localtime_r(&now.tv_sec, &tm);
			len = (int)strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
			snprintf(stamp + len, sizeof(stamp) - (size_t)len, ".%03ld [%d] ",
			         (long)now.tv_usec / 1000, (int)getpid());
		}
		len = snprintf(line, sizeof(line), "%smediafsd: %s: %s\n", stamp,
		               level_names[priority & 7], text);
		if (len > (int)sizeof(line) - 1)
			len = (int)sizeof(line) - 1;
		if (write(log_file_fd >= 0 ? log_file_fd : STDERR_FILENO, line, (size_t)len) < 0) {
			/* Nowhere left to report it. */
		}
	}
	va_end(ap);
}
