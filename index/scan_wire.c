/* scan_wire.c - descriptor passing over the scan sockets (see scan_protocol.h). */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "index/scan_protocol.h"

int scan_send_msg(int sock, const void *buf, size_t len, int fd)
{
	const char *pos = buf;
	union {
		char space[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} control;

	while (len > 0) {
		struct iovec iov = { .iov_base = (void *)pos, .iov_len = len };
		struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
		ssize_t sent;

		if (fd >= 0) {
			struct cmsghdr *cmsg;

			memset(&control, 0, sizeof(control));
			msg.msg_control = control.space;
			msg.msg_controllen = sizeof(control.space);
			cmsg = CMSG_FIRSTHDR(&msg);
			cmsg->cmsg_level = SOL_SOCKET;
			cmsg->cmsg_type = SCM_RIGHTS;
			cmsg->cmsg_len = CMSG_LEN(sizeof(int));
			memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
		}
		sent = sendmsg(sock, &msg, MSG_NOSIGNAL);
		if (sent < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		fd = -1; /* the descriptor went with the first byte */
		pos += sent;
		len -= (size_t)sent;
	}
	return 0;
}

/* Milliseconds left until deadline (CLOCK_MONOTONIC), at least 0. */
static int ms_left(const struct timespec *deadline)
{
	struct timespec now;
	long long ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (long long)(deadline->tv_sec - now.tv_sec) * 1000 +
	     (deadline->tv_nsec - now.tv_nsec) / 1000000;
	return ms < 0 ? 0 : (int)ms;
}

/* Takes every descriptor out of msg's control data: keeps the first in
 * *fd (when fd != NULL and *fd is still -1), closes the rest. Returns 1 when
 * any descriptor was closed here, else 0. */
static int take_fds(struct msghdr *msg, int *fd)
{
	int extra = 0;

	for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR(msg, c)) {
		size_t n;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < n; i++) {
			int got;

			memcpy(&got, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (fd && *fd < 0) {
				*fd = got;
			} else {
				close(got);
				extra = 1;
			}
		}
	}
	return extra;
}

int scan_recv_msg(int sock, void *buf, size_t len, int *fd, int timeout_ms)
{
	char *pos = buf;
	struct timespec deadline;
	int extra = 0;

	if (fd)
		*fd = -1;
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += timeout_ms / 1000;
	deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
	if (deadline.tv_nsec >= 1000000000) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000;
	}
	while (len > 0) {
		union {
			char space[CMSG_SPACE(sizeof(int) * 4)];
			struct cmsghdr align;
		} control;
		struct iovec iov = { .iov_base = pos, .iov_len = len };
		struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
		                      .msg_control = control.space,
		                      .msg_controllen = sizeof(control.space) };
		ssize_t got;

		if (timeout_ms >= 0) {
			struct pollfd pfd = { .fd = sock, .events = POLLIN };
			int ready = poll(&pfd, 1, ms_left(&deadline));

			if (ready < 0 && errno == EINTR)
				continue;
			if (ready < 0)
				goto fail_errno;
			if (ready == 0) {
				errno = ETIMEDOUT;
				goto fail_errno;
			}
		}
		got = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			goto fail_errno;
		extra |= take_fds(&msg, fd);
		if (msg.msg_flags & MSG_CTRUNC)
			extra = 1;
		if (got == 0) {
			errno = EPIPE;
			goto fail_errno;
		}
		pos += got;
		len -= (size_t)got;
	}
	if (extra) {
		errno = EPROTO;
		goto fail_errno;
	}
	return 0;
fail_errno: {
	int err = errno;

	if (fd && *fd >= 0) {
		close(*fd);
		*fd = -1;
	}
	return -err;
}
}
