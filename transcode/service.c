/* service.c - see service.h. */
#include "transcode/service.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "transcode/config.h"

#define SERVICE_SOCK_FD 3
#define WHY_MAX 256
/* Beyond the run's own time limit, which the runner enforces. */
#define ANSWER_MARGIN_MS 10000

struct transcode_service {
	pthread_mutex_t send_lock;  /* serializes sends on sock: one request at a time */
	int sock;                   /* the daemon's end of the service socket */
	pid_t pid;
};

/* What travels from the daemon to a runner, with two descriptors. */
struct run_request {
	unsigned timeout_ms;
	uint64_t max_output_bytes;
	char command[TRANSCODE_COMMAND_MAX];
};

struct run_answer {
	int rc;
	char why[WHY_MAX];
};

/* Sends `len` bytes with up to `count` descriptors. Returns 0 or -errno. */
static int send_with_fds(int sock, const void *data, size_t len, const int *fds, int count)
{
	union { char buf[CMSG_SPACE(2 * sizeof(int))]; struct cmsghdr align; } control;
	struct iovec iov = { (void *)data, len };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (count > 0) {
		struct cmsghdr *cmsg;
		memset(&control, 0, sizeof(control));
		msg.msg_control = control.buf;
		msg.msg_controllen = CMSG_SPACE((size_t)count * sizeof(int));
		cmsg = CMSG_FIRSTHDR(&msg);
		cmsg->cmsg_level = SOL_SOCKET;
		cmsg->cmsg_type = SCM_RIGHTS;
		cmsg->cmsg_len = CMSG_LEN((size_t)count * sizeof(int));
		memcpy(CMSG_DATA(cmsg), fds, (size_t)count * sizeof(int));
	}
	return sendmsg(sock, &msg, MSG_NOSIGNAL) == (ssize_t)len ? 0 : (errno ? -errno : -EIO);
}

/* Receives exactly `len` bytes and exactly `want` descriptors (closed and
 * refused otherwise). Returns 0 or a negative errno. */
static int recv_with_fds(int sock, void *data, size_t len, int *fds, int want)
{
	union { char buf[CMSG_SPACE(4 * sizeof(int))]; struct cmsghdr align; } control;
	struct iovec iov = { data, len };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
	                      .msg_controllen = sizeof(control.buf) };
	ssize_t n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
	int got = 0;

	if (n < 0)
		return -errno;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		for (size_t i = 0; i < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++) {
			int fd;
			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (got < want)
				fds[got++] = fd;
			else
				close(fd);
		}
	}
	if ((size_t)n != len || got != want || (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC))) {
		for (int i = 0; i < got; i++)
			close(fds[i]);
		return -EPROTO;
	}
	return 0;
}

/* A runner (child of the service): one request on `sock`, then exit. */
static void runner_main(int sock)
{
	struct run_request req;
	struct run_answer answer = { 0 };
	struct transcode_run_spec spec;
	int fds[2];

	signal(SIGCHLD, SIG_DFL);  /* the service ignores it; the runner waits */
	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	if (recv_with_fds(sock, &req, sizeof(req), fds, 2) < 0)
		_exit(1);
	req.command[sizeof(req.command) - 1] = '\0';
	spec = (struct transcode_run_spec){
		.command = req.command, .input_fd = fds[0], .output_fd = fds[1],
		.uid = (uid_t)getuid(), .gid = (gid_t)getgid(), .timeout_ms = req.timeout_ms,
		.max_output_bytes = req.max_output_bytes,
	};
	answer.rc = transcode_run(&spec, answer.why, sizeof(answer.why));
	send_with_fds(sock, &answer, sizeof(answer), NULL, 0);
	_exit(0);
}

/* The service process: drops everything, then forks a runner per request
 * socket it receives, until the daemon closes the service socket. */
static void service_main(int sock, uid_t uid, gid_t gid)
{
	int null_fd;

	if (sock != SERVICE_SOCK_FD && (dup2(sock, SERVICE_SOCK_FD) < 0 || close(sock) != 0))
		_exit(1);
	null_fd = open("/dev/null", O_RDWR);
	if (null_fd < 0 || dup2(null_fd, 0) < 0 || dup2(null_fd, 1) < 0 || dup2(null_fd, 2) < 0 ||
	    close_range(SERVICE_SOCK_FD + 1, ~0U, 0) != 0)
		_exit(1);
	if (transcode_drop_privileges(uid, gid) != 0 || prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0))
		_exit(1);
	signal(SIGCHLD, SIG_IGN);  /* runners are reaped by the kernel */
	for (;;) {
		char byte;
		int request_sock;
		int rc = recv_with_fds(SERVICE_SOCK_FD, &byte, 1, &request_sock, 1);
		if (rc == -EINTR)
			continue;
		if (rc < 0)
			_exit(0);  /* the daemon is gone (or spoke nonsense) */
		if (fork() == 0) {
			close(SERVICE_SOCK_FD);
			runner_main(request_sock);
		}
		close(request_sock);
	}
}

int transcode_service_start(uid_t uid, gid_t gid, struct transcode_service **out)
{
	struct transcode_service *svc = calloc(1, sizeof(*svc));
	int pair[2];

	if (!svc)
		return -ENOMEM;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0) {
		free(svc);
		return -errno;
	}
	svc->pid = fork();
	if (svc->pid < 0) {
		int err = -errno;
		close(pair[0]);
		close(pair[1]);
		free(svc);
		return err;
	}
	if (svc->pid == 0) {
		close(pair[0]);
		service_main(pair[1], geteuid() == 0 ? uid : getuid(), geteuid() == 0 ? gid : getgid());
	}
	close(pair[1]);
	svc->sock = pair[0];
	pthread_mutex_init(&svc->send_lock, NULL);
	*out = svc;
	return 0;
}

void transcode_service_stop(struct transcode_service *svc)
{
	if (!svc)
		return;
	close(svc->sock);
	waitpid(svc->pid, NULL, 0);
	pthread_mutex_destroy(&svc->send_lock);
	free(svc);
}

/* Waits for the runner's answer on `sock`. Returns 0 or a negative errno. */
static int await_answer(int sock, unsigned timeout_ms, struct run_answer *answer)
{
	struct pollfd pfd = { .fd = sock, .events = POLLIN };
	int ready;

	do
		ready = poll(&pfd, 1, (int)(timeout_ms + ANSWER_MARGIN_MS));
	while (ready < 0 && errno == EINTR);
	if (ready <= 0)
		return ready == 0 ? -ETIMEDOUT : -errno;
	return recv_with_fds(sock, answer, sizeof(*answer), NULL, 0);
}

int transcode_service_run(struct transcode_service *svc, const struct transcode_run_spec *spec,
                          char *errbuf, size_t errlen)
{
	struct run_request *req = calloc(1, sizeof(*req));
	struct run_answer answer;
	int pair[2], fds[2] = { spec->input_fd, spec->output_fd }, rc;

	if (!req)
		return -ENOMEM;
	req->timeout_ms = spec->timeout_ms;
	req->max_output_bytes = spec->max_output_bytes;
	snprintf(req->command, sizeof(req->command), "%s", spec->command);
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0) {
		rc = -errno;
		free(req);
		snprintf(errbuf, errlen, "socketpair: %s", strerror(-rc));
		return rc;
	}
	pthread_mutex_lock(&svc->send_lock);
	rc = send_with_fds(svc->sock, "r", 1, &pair[1], 1);
	pthread_mutex_unlock(&svc->send_lock);
	close(pair[1]);
	if (rc == 0)
		rc = send_with_fds(pair[0], req, sizeof(*req), fds, 2);
	free(req);
	if (rc == 0)
		rc = await_answer(pair[0], spec->timeout_ms, &answer);
	close(pair[0]);
	if (rc < 0) {
		snprintf(errbuf, errlen, "the transcoder service %s (%s)",
		         rc == -ETIMEDOUT ? "did not answer" : "is gone", strerror(-rc));
		return -ECONNRESET;
	}
	answer.why[sizeof(answer.why) - 1] = '\0';
	if (answer.rc < 0)
		snprintf(errbuf, errlen, "%s", answer.why);
	return answer.rc == 0 || answer.rc == -ETIMEDOUT || answer.rc == -EINVAL ? answer.rc : -EIO;
}
