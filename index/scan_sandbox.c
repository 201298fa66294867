/*
 * scan_sandbox.c - the child side of the scan service (see scan_service.h):
 * the sandbox both the spawner and its workers live in, the spawner loop,
 * and the worker loop that runs the media parsers.
 *
 * Everything here runs in a forked child and reports failure only by
 * exiting: the caller sees a closed socket and fails the scan with -EIO.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "index/scan_protocol.h"
#include "media/codec_probe.h"
#include "media/locscan.h"

/* The descriptor number the sandbox keeps its one socket at. */
#define SANDBOX_SOCK_FD 3

#if defined(__SANITIZE_ADDRESS__)
#define SANDBOX_UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANDBOX_UNDER_ASAN 1
#endif
#endif

/*
 * Keeps only `sock` (moved to SANDBOX_SOCK_FD); stdin, stdout and stderr
 * become /dev/null. Why: the parent's descriptors (/dev/fuse, the database,
 * SOURCE) must not be reachable from a parser, and a terminal or pipe the
 * daemon was started with must not be held open after it detached.
 * Returns 0 or -errno.
 */
static int keep_only_socket(int sock)
{
	int null_fd;

	if (sock != SANDBOX_SOCK_FD) {
		if (dup2(sock, SANDBOX_SOCK_FD) < 0)
			return -errno;
		close(sock);
	}
	if (close_range(SANDBOX_SOCK_FD + 1, ~0u, 0) != 0)
		return -errno;
	null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null_fd < 0)
		return -errno;
	if (dup2(null_fd, STDIN_FILENO) < 0 || dup2(null_fd, STDOUT_FILENO) < 0 ||
	    dup2(null_fd, STDERR_FILENO) < 0)
		return -errno;
	close(null_fd);
	return 0;
}

/*
 * Drops uid, gid, groups and every capability for good. Assumes: the caller
 * is single-threaded. Guarantees on 0: started as root, the process is now
 * config->uid/gid with no supplementary groups; in every case permitted,
 * effective, inheritable and ambient sets are empty, the bounding set is
 * empty when it could be cleared (root), and no_new_privs is set.
 */
static int drop_everything(const struct scan_service_config *config)
{
	int was_root = geteuid() == 0;
	cap_t none;

	if (was_root) {
		/* The bounding set needs CAP_SETPCAP, so it goes first. */
		for (int cap = 0; cap <= CAP_LAST_CAP; cap++)
			if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL)
				return -errno;
		if (setgroups(0, NULL) != 0 ||
		    setresgid(config->gid, config->gid, config->gid) != 0 ||
		    setresuid(config->uid, config->uid, config->uid) != 0)
			return -errno;
	}
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL)
		return -errno;
	none = cap_init();
	if (!none)
		return -ENOMEM;
	if (cap_set_proc(none) != 0) {
		int err = errno;
		cap_free(none);
		return -err;
	}
	cap_free(none);
	/* After the id change, which would clear it: die with the caller. */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || prctl(PR_SET_PDEATHSIG, SIGKILL) != 0)
		return -errno;
	/* Proof, not hope: root must be unreachable now. */
	if (was_root && (setuid(0) == 0 || geteuid() == 0))
		return -EPERM;
	return 0;
}

/* Resource limits: no core dumps of hostile data, no files written, few
 * descriptors, bounded memory (not under ASan, which reserves terabytes). */
static int limit_resources(void)
{
	struct rlimit zero = { 0, 0 }, fds = { 16, 16 };

	if (setrlimit(RLIMIT_CORE, &zero) != 0 || setrlimit(RLIMIT_FSIZE, &zero) != 0 ||
	    setrlimit(RLIMIT_NOFILE, &fds) != 0)
		return -errno;
#ifndef SANDBOX_UNDER_ASAN
	{
		struct rlimit memory = { 1ul << 30, 1ul << 30 };
		if (setrlimit(RLIMIT_AS, &memory) != 0)
			return -errno;
	}
#endif
	return 0;
}

/* Parses the file open as fd into *reply and *ranges. Assumes both zeroed. */
static void scan_one(int fd, struct scan_reply *reply, struct redaction_ranges *ranges)
{
	struct stat st;
	int is_hdr;

	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		reply->status = -EINVAL;
		return;
	}
	reply->status = locscan_fd(fd, ranges);
	if (reply->status != 0)
		return;
	if (media_probe_video_codec(fd, reply->codec, &is_hdr) < 0)
		memset(reply->codec, 0, sizeof(reply->codec));
	reply->codec[sizeof(reply->codec) - 1] = '\0';
	reply->has_location = ranges->has_location;
	reply->count = (uint32_t)ranges->count;
}

/* Serves scan requests on sock until it closes. Never returns. */
static void __attribute__((noreturn)) worker_main(int sock, unsigned alarm_seconds)
{
	for (;;) {
		struct redaction_ranges ranges = { 0 };
		struct scan_reply reply;
		char op;
		int fd, rc = scan_recv_msg(sock, &op, 1, &fd, -1);

		if (rc < 0)
			_exit(rc == -EPIPE ? 0 : 1);
		memset(&reply, 0, sizeof(reply));
		if (op != SCAN_OP_SCAN || fd < 0) {
			reply.status = -EINVAL;
		} else {
			/* A parser that loops forever dies here, not in the caller. */
			alarm(alarm_seconds);
			scan_one(fd, &reply, &ranges);
			alarm(0);
		}
		if (fd >= 0)
			close(fd);
		if (reply.status == 0 && ranges.count > SCAN_MAX_RANGES)
			reply.status = -E2BIG;
		if (reply.status != 0)
			reply.count = 0;
		rc = scan_send_msg(sock, &reply, sizeof(reply), -1);
		for (uint32_t i = 0; rc == 0 && i < reply.count; i++) {
			uint64_t pair[2] = { ranges.ranges[i].offset, ranges.ranges[i].length };
			rc = scan_send_msg(sock, pair, sizeof(pair), -1);
		}
		redaction_ranges_free(&ranges);
		if (rc < 0)
			_exit(1);
	}
}

/* Forks one worker and hands the caller its socket. Returns 0 or -errno
 * (sent to the caller as the reply status). */
static int spawn_worker(int sock, unsigned alarm_seconds)
{
	struct scan_spawn_reply reply = { 0, 0 };
	int pair[2], rc;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		rc = -errno;
		close(pair[0]);
		close(pair[1]);
		return rc;
	}
	if (pid == 0) {
		close(sock);
		close(pair[0]);
		/* The worker dies with the spawner, never outlives the service. */
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0)
			_exit(1);
		prctl(PR_SET_NAME, "mfs-scan-worker", 0, 0, 0); /* for ps and tests */
		worker_main(pair[1], alarm_seconds);
	}
	close(pair[1]);
	reply.pid = pid;
	rc = scan_send_msg(sock, &reply, sizeof(reply), pair[0]);
	close(pair[0]);
	return rc;
}

void scan_spawner_main(int sock, const struct scan_service_config *config)
{
	unsigned alarm_seconds = (unsigned)(config->timeout_ms + 999) / 1000;
	struct sigaction reap = { .sa_handler = SIG_IGN, .sa_flags = SA_NOCLDWAIT };
	sigset_t none;

	/* Signals the parent blocked or caught mean nothing here. */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_DFL);
	signal(SIGINT, SIG_IGN);   /* a terminal ^C stops the daemon, which stops us */
	signal(SIGTERM, SIG_DFL);
	prctl(PR_SET_NAME, "mfs-scanner", 0, 0, 0); /* for ps and tests */
	if (keep_only_socket(sock) < 0 || drop_everything(config) < 0 || limit_resources() < 0)
		_exit(1);
	/* Workers are reaped by the kernel: nobody waits for them. */
	if (sigaction(SIGCHLD, &reap, NULL) != 0)
		_exit(1);
	for (;;) {
		struct scan_spawn_reply failed = { 0, 0 };
		char op;
		int rc = scan_recv_msg(SANDBOX_SOCK_FD, &op, 1, NULL, -1);

		if (rc < 0)
			_exit(rc == -EPIPE ? 0 : 1);
		rc = op == SCAN_OP_SPAWN ? spawn_worker(SANDBOX_SOCK_FD, alarm_seconds) : -EINVAL;
		if (rc < 0) {
			failed.status = rc;
			if (scan_send_msg(SANDBOX_SOCK_FD, &failed, sizeof(failed), -1) < 0)
				_exit(1);
		}
	}
}
