/* runner.c - see runner.h. */
#include "transcode/runner.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "transcode/command.h"

#define STDERR_TAIL 512

unsigned transcode_timeout_ms(uint64_t bytes)
{
	uint64_t ms = 30000 + (bytes * 20000) / (1024 * 1024);

	return ms > UINT_MAX ? UINT_MAX : (unsigned)ms;
}

/* In the child: reports `what` with errno on fd 2 and exits. Only
 * async-signal-safe calls: the daemon that forked is multi-threaded. */
static void child_fail(const char *what)
{
	const char *reason = strerrorname_np(errno);
	ssize_t ignored;

	ignored = write(2, what, strlen(what));
	ignored = write(2, ": ", 2);
	ignored = write(2, reason ? reason : "?", reason ? strlen(reason) : 1);
	ignored = write(2, "\n", 1);
	(void)ignored;
	_exit(126);
}

/* In the child: descriptors 0-4 as runner.h says, nothing else open. */
static void child_descriptors(int input_fd, int output_fd, int err_fd)
{
	/* Above 4 first, so no dup2 below overwrites a descriptor still needed. */
	int in = fcntl(input_fd, F_DUPFD, 10), out = fcntl(output_fd, F_DUPFD, 10);
	int err = fcntl(err_fd, F_DUPFD, 10), null = open("/dev/null", O_RDWR);

	if (in < 0 || out < 0 || err < 0 || null < 0)
		child_fail("mediafs transcoder: descriptors");
	if (dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(err, 2) < 0 || dup2(in, 3) < 0 ||
	    dup2(out, 4) < 0)
		child_fail("mediafs transcoder: dup2");
	if (syscall(SYS_close_range, 5U, ~0U, 0U) != 0)
		child_fail("mediafs transcoder: close_range");
}

/* In the child: limits that contain a hostile input. */
static void child_limits(uint64_t max_output_bytes)
{
	const struct { int resource; rlim_t value; } limits[] = {
		{ RLIMIT_FSIZE, (rlim_t)max_output_bytes },
		{ RLIMIT_AS, (rlim_t)4 << 30 },
		{ RLIMIT_NOFILE, 64 },
		{ RLIMIT_NPROC, 512 },      /* decoder and encoder threads count */
		{ RLIMIT_CORE, 0 },
	};

	for (size_t i = 0; i < sizeof(limits) / sizeof(limits[0]); i++) {
		struct rlimit lim = { limits[i].value, limits[i].value };
		if (setrlimit(limits[i].resource, &lim) != 0)
			child_fail("mediafs transcoder: setrlimit");
	}
}

int transcode_drop_privileges(uid_t uid, gid_t gid)
{
	struct __user_cap_header_struct header = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct none[2];
	int switching = syscall(SYS_getuid) != (long)uid || syscall(SYS_getgid) != (long)gid;

	/* The bounding set first: dropping it needs CAP_SETPCAP. Already
	 * absent capabilities (an earlier drop) need nothing. */
	for (int cap = 0; prctl(PR_CAPBSET_READ, cap, 0, 0, 0) >= 0; cap++)
		if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) == 1 && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0)
			return -errno;
	if (switching && (syscall(SYS_setgroups, 0, NULL) != 0 ||
	                  syscall(SYS_setresgid, gid, gid, gid) != 0 ||
	                  syscall(SYS_setresuid, uid, uid, uid) != 0))
		return -errno;
	memset(none, 0, sizeof(none));
	if (syscall(SYS_capset, &header, none) != 0 ||
	    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 ||
	    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		return -errno;
	return 0;
}

/* The forked child: never returns. */
static void child_run(const struct transcode_run_spec *spec, char *const argv[],
                      const char *program, int err_fd, pid_t parent)
{
	static char *const clean_env[] = { "PATH=/usr/bin:/bin", "LC_ALL=C", NULL };
	sigset_t none;

	setpgid(0, 0);  /* so a timeout kills helpers the command started too */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	child_descriptors(spec->input_fd, spec->output_fd, err_fd);
	child_limits(spec->max_output_bytes);
	if (transcode_drop_privileges(spec->uid, spec->gid) != 0)
		child_fail("mediafs transcoder: dropping privileges");
	/* Set after any uid change, which clears it; dies with its parent. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0 || getppid() != parent)
		_exit(126);
	if (chdir("/") != 0)
		child_fail("mediafs transcoder: chdir");
	execve(program, argv, clean_env);
	child_fail("mediafs transcoder: exec");
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Keeps the last STDERR_TAIL bytes the command wrote on stderr. */
struct stderr_tail {
	char text[STDERR_TAIL + 1];
	size_t len;
};

static void drain(int fd, struct stderr_tail *tail)
{
	char chunk[4096];
	ssize_t n;

	while ((n = read(fd, chunk, sizeof(chunk))) > 0) {
		size_t take = (size_t)n > STDERR_TAIL ? STDERR_TAIL : (size_t)n;
		const char *from = chunk + (size_t)n - take;
		if (tail->len + take > STDERR_TAIL) {
			size_t drop = tail->len + take - STDERR_TAIL;
			memmove(tail->text, tail->text + drop, tail->len - drop);
			tail->len -= drop;
		}
		memcpy(tail->text + tail->len, from, take);
		tail->len += take;
	}
}

/* The last non-empty line of the tail, for a one-line log message. */
static const char *last_line(struct stderr_tail *tail)
{
	char *end;

	tail->text[tail->len] = '\0';
	while (tail->len > 0 && (tail->text[tail->len - 1] == '\n' || tail->text[tail->len - 1] == '\r'))
		tail->text[--tail->len] = '\0';
	end = strrchr(tail->text, '\n');
	return end ? end + 1 : tail->text;
}

/*
 * Waits for the child (pidfd) while collecting its stderr, up to the
 * deadline; then kills its process group. Returns the wait status, or
 * -ETIMEDOUT (killed and reaped).
 */
static int wait_child(pid_t pid, int pidfd, int err_fd, unsigned timeout_ms,
                      struct stderr_tail *tail)
{
	int64_t deadline = now_ms() + timeout_ms;
	int status, timed_out = 0;

	for (;;) {
		struct pollfd fds[2] = { { .fd = pidfd, .events = POLLIN },
		                         { .fd = err_fd, .events = POLLIN } };
		int64_t left = deadline - now_ms();

		if (left <= 0) {
			timed_out = 1;
			break;
		}
		if (poll(fds, err_fd >= 0 ? 2 : 1, (int)(left > INT_MAX ? INT_MAX : left)) < 0 &&
		    errno != EINTR)
			break;
		if (err_fd >= 0 && (fds[1].revents & (POLLIN | POLLHUP | POLLERR)))
			drain(err_fd, tail);
		if (fds[1].revents & (POLLHUP | POLLERR))
			err_fd = -1;  /* stop polling a closed pipe */
		if (fds[0].revents & POLLIN)
			break;
	}
	if (timed_out) {
		kill(-pid, SIGKILL);
		kill(pid, SIGKILL);
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return timed_out ? -ETIMEDOUT : status;
}

/* Spawns the child; returns its pid and pidfd, or a negative errno. */
static int spawn(const struct transcode_run_spec *spec, char *const argv[], const char *program,
                 int err_pipe[2], pid_t *pid, int *pidfd)
{
	pid_t parent = getpid();

	*pid = fork();
	if (*pid < 0)
		return -errno;
	if (*pid == 0) {
		close(err_pipe[0]);
		child_run(spec, argv, program, err_pipe[1], parent);
	}
	*pidfd = pidfd_open(*pid, 0);
	if (*pidfd < 0) {
		int err = -errno;
		kill(-*pid, SIGKILL);
		kill(*pid, SIGKILL);
		waitpid(*pid, NULL, 0);
		return err;
	}
	return 0;
}

int transcode_run(const struct transcode_run_spec *spec, char *errbuf, size_t errlen)
{
	struct stderr_tail tail = { .len = 0 };
	struct transcode_argv cmd;
	char program[PATH_MAX];
	const char *why = NULL;
	int err_pipe[2], pidfd = -1, status, rc;
	pid_t pid;

	rc = transcode_command_build(spec->command, TRANSCODE_INPUT_PATH, TRANSCODE_OUTPUT_PATH,
	                             &cmd, &why);
	if (rc < 0) {
		snprintf(errbuf, errlen, "bad transcoder command: %s", why ? why : strerror(-rc));
		return rc;
	}
	rc = transcode_command_resolve(cmd.argv[0], program, sizeof(program));
	if (rc < 0) {
		snprintf(errbuf, errlen, "transcoder program '%s' not found", cmd.argv[0]);
		transcode_argv_free(&cmd);
		return -EIO;
	}
	if (pipe2(err_pipe, O_CLOEXEC) != 0) {
		rc = -errno;
		transcode_argv_free(&cmd);
		snprintf(errbuf, errlen, "pipe: %s", strerror(-rc));
		return rc;
	}
	rc = spawn(spec, cmd.argv, program, err_pipe, &pid, &pidfd);
	close(err_pipe[1]);
	transcode_argv_free(&cmd);
	if (rc < 0) {
		close(err_pipe[0]);
		snprintf(errbuf, errlen, "cannot start the transcoder: %s", strerror(-rc));
		return rc;
	}
	fcntl(err_pipe[0], F_SETFL, O_NONBLOCK);
	status = wait_child(pid, pidfd, err_pipe[0], spec->timeout_ms, &tail);
	drain(err_pipe[0], &tail);
	close(err_pipe[0]);
	close(pidfd);
	if (status == -ETIMEDOUT) {
		snprintf(errbuf, errlen, "no result within %u s: killed", spec->timeout_ms / 1000);
		return -ETIMEDOUT;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (WIFEXITED(status))
		snprintf(errbuf, errlen, "exit status %d: %s", WEXITSTATUS(status), last_line(&tail));
	else
		snprintf(errbuf, errlen, "killed by signal %s%s", sigabbrev_np(WTERMSIG(status)) ?
		         sigabbrev_np(WTERMSIG(status)) : "?",
		         WTERMSIG(status) == SIGXFSZ ? " (copy larger than the cache limit)" : "");
	return -EIO;
}
