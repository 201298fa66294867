/* service.c - see service.h. */
#include "daemon/service.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon/log.h"

int service_detach(int *notify_fd)
{
	int pipe_fds[2];
	pid_t pid;

	if (pipe2(pipe_fds, O_CLOEXEC) != 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		int err = -errno;
		close(pipe_fds[0]);
		close(pipe_fds[1]);
		return err;
	}
	if (pid > 0) {
		unsigned char status = 1;
		close(pipe_fds[1]);
		/* EOF without a byte: the child died during start-up. */
		while (read(pipe_fds[0], &status, 1) < 0 && errno == EINTR)
			;
		_exit(status);
	}
	close(pipe_fds[0]);
	setsid();
	*notify_fd = pipe_fds[1];
	return 0;
}

void service_detach_done(int notify_fd, int exit_code)
{
	unsigned char status = (unsigned char)exit_code;
	int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);

	if (chdir("/") != 0)
		log_warn("chdir /: %s", strerror(errno));
	if (null_fd >= 0) {
		dup2(null_fd, STDIN_FILENO);
		dup2(null_fd, STDOUT_FILENO);
		dup2(null_fd, STDERR_FILENO);
		close(null_fd);
	}
	if (write(notify_fd, &status, 1) != 1)
		log_warn("telling the starting process: %s", strerror(errno));
	close(notify_fd);
}

int service_write_pid_file(const char *path)
{
	char tmp[4200], text[32];
	int fd, len = snprintf(text, sizeof(text), "%d\n", (int)getpid()), err = 0;

	/* Written under a temporary name and renamed: a reader never sees half. */
	snprintf(tmp, sizeof(tmp), "%s.%d.tmp", path, (int)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	if (write(fd, text, (size_t)len) != len || fsync(fd) != 0)
		err = errno ? -errno : -EIO;
	close(fd);
	if (err == 0 && rename(tmp, path) != 0)
		err = -errno;
	if (err < 0)
		unlink(tmp);
	return err;
}

void service_remove_pid_file(const char *path)
{
	char text[32] = "";
	FILE *f = fopen(path, "re");

	if (!f)
		return;
	if (fgets(text, sizeof(text), f) && atoi(text) == (int)getpid())
		unlink(path);
	fclose(f);
}

struct hup_thread {
	int signal_fd;        /* signalfd for SIGHUP; read only by the thread */
	int stop_pipe[2];     /* written once by service_stop_hup_thread() */
	pthread_t thread;
};

/* Why a handler at all: SIG_IGN would discard SIGHUP before the signalfd
 * sees it, and libfuse's handler would end the session. */
static void sighup_noop(int sig)
{
	(void)sig;
}

/* The SIGHUP thread: assumes SIGHUP is blocked in every thread, so only
 * its signalfd sees it; guarantees one log_reopen() per SIGHUP until the
 * stop pipe is written. */
static void *hup_main(void *arg)
{
	struct hup_thread *hup = arg;
	struct pollfd fds[2] = {
		{ .fd = hup->signal_fd, .events = POLLIN },
		{ .fd = hup->stop_pipe[0], .events = POLLIN },
	};

	for (;;) {
		struct signalfd_siginfo info;
		int rc;

		if (poll(fds, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (fds[1].revents)
			break;
		if (read(hup->signal_fd, &info, sizeof(info)) != sizeof(info))
			continue;
		rc = log_reopen();
		if (rc < 0)
			log_err("SIGHUP: cannot reopen the log: %s", strerror(-rc));
		else
			log_info("SIGHUP from pid %u: log reopened", info.ssi_pid);
	}
	return NULL;
}

int service_start_hup_thread(struct hup_thread **out)
{
	struct sigaction noop = { .sa_handler = sighup_noop };
	struct hup_thread *hup = calloc(1, sizeof(*hup));
	sigset_t set;
	int err;

	if (!hup)
		return -ENOMEM;
	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigemptyset(&noop.sa_mask);
	if (sigaction(SIGHUP, &noop, NULL) != 0 || pthread_sigmask(SIG_BLOCK, &set, NULL) != 0)
		goto fail_errno;
	hup->signal_fd = signalfd(-1, &set, SFD_CLOEXEC);
	if (hup->signal_fd < 0)
		goto fail_errno;
	if (pipe2(hup->stop_pipe, O_CLOEXEC) != 0) {
		err = -errno;
		close(hup->signal_fd);
		free(hup);
		return err;
	}
	err = -pthread_create(&hup->thread, NULL, hup_main, hup);
	if (err < 0) {
		close(hup->signal_fd);
		close(hup->stop_pipe[0]);
		close(hup->stop_pipe[1]);
		free(hup);
		return err;
	}
	*out = hup;
	return 0;
fail_errno:
	err = -errno;
	free(hup);
	return err;
}

void service_stop_hup_thread(struct hup_thread *hup)
{
	if (!hup)
		return;
	if (write(hup->stop_pipe[1], "x", 1) != 1)
		log_warn("stopping the SIGHUP thread: %s", strerror(errno));
	pthread_join(hup->thread, NULL);
	close(hup->signal_fd);
	close(hup->stop_pipe[0]);
	close(hup->stop_pipe[1]);
	free(hup);
}
