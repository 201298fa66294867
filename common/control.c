/*
 * control.c - the client side of common/control.h: mount point -> device
 * number (via mountinfo, without stat'ing the mount itself when possible, so
 * a hung daemon cannot hang us) -> abstract socket -> one request.
 */
#include "common/control.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "common/control_internal.h"
#include "common/mountinfo.h"

/* How long to wait for the daemon's answer. */
#define ANSWER_TIMEOUT_SEC 10
#define ANSWER_MAX (1 << 20)

void control_address_for_dev(unsigned major, unsigned minor,
                             struct sockaddr_un *addr, socklen_t *addr_len)
{
	int len;

	memset(addr, 0, sizeof(*addr));
	addr->sun_family = AF_UNIX;
	/* Abstract namespace: a leading NUL, and the name is not NUL-terminated. */
	len = snprintf(addr->sun_path + 1, sizeof(addr->sun_path) - 1,
	               "mediafs/%u:%u", major, minor);
	*addr_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)len);
}

/* Looks abs_path up in /proc/self/mountinfo. */
static int find_in_mountinfo(const char *abs_path, unsigned *major, unsigned *minor)
{
	FILE *in = fopen("/proc/self/mountinfo", "re");
	int rc;

	if (in == NULL)
		return -errno;
	rc = mountinfo_find_fuse(in, abs_path, major, minor);
	fclose(in);
	return rc;
}

/*
 * Makes `path` absolute and canonical without resolving its last component
 * (which may be a hung FUSE mount): realpath of the parent plus the name.
 * Returns 0, or -ENOENT/-ENOTDIR/... from resolving the parent, or
 * -EAGAIN when the last component itself must be resolved ("/", ".", "..").
 */
static int canonical_parent_join(const char *path, char *out)
{
	char copy[PATH_MAX], parent_real[PATH_MAX];
	const char *parent;
	char *slash, *name;
	size_t len = strlen(path);

	if (len == 0 || len >= sizeof(copy))
		return len ? -ENAMETOOLONG : -ENOENT;
	memcpy(copy, path, len + 1);
	while (len > 1 && copy[len - 1] == '/')
		copy[--len] = '\0';
	slash = strrchr(copy, '/');
	name = slash ? slash + 1 : copy;
	if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0 || *name == '\0')
		return -EAGAIN;
	if (slash == NULL) {
		parent = ".";
	} else if (slash == copy) {
		parent = "/";
	} else {
		*slash = '\0';
		parent = copy;
	}
	if (realpath(parent, parent_real) == NULL)
		return -errno;
	if (snprintf(out, PATH_MAX, "%s/%s", strcmp(parent_real, "/") ? parent_real : "",
	             name) >= PATH_MAX)
		return -ENAMETOOLONG;
	return 0;
}

int control_address_for_mount(const char *mountpoint, struct sockaddr_un *addr,
                              socklen_t *addr_len)
{
	char abs_path[PATH_MAX];
	unsigned major, minor;
	struct stat st;
	int rc = canonical_parent_join(mountpoint, abs_path);

	if (rc == 0) {
		rc = find_in_mountinfo(abs_path, &major, &minor);
		if (rc == 0)
			goto found;
		if (rc == -EINVAL)
			return rc;
	} else if (rc != -EAGAIN) {
		return rc;
	}
	/* Not a mount point by name: resolve it fully (a symlink, ".", "/"). */
	if (stat(mountpoint, &st) < 0)
		return errno == ENOTCONN || errno == ECONNABORTED ? -EINVAL : -errno;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	if (realpath(mountpoint, abs_path) == NULL)
		return -errno;
	rc = find_in_mountinfo(abs_path, &major, &minor);
	if (rc < 0)
		return -EINVAL;
found:
	control_address_for_dev(major, minor, addr, addr_len);
	return 0;
}

/* Maps the daemon's "ERR ENAME ..." refusal to a negative errno. */
static int refusal_errno(const char *answer)
{
	if (strncmp(answer, "ERR EACCES", 10) == 0 || strncmp(answer, "ERR EPERM", 9) == 0)
		return -EACCES;
	if (strncmp(answer, "ERR EINVAL", 10) == 0)
		return -EINVAL;
	return -EPROTO;
}

/* Reads until EOF into a malloc'd NUL-terminated string. */
static int read_all(int fd, char **out)
{
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap);

	if (buf == NULL)
		return -ENOMEM;
	for (;;) {
		ssize_t n;

		if (len + 1 == cap) {
			char *bigger = cap < ANSWER_MAX ? realloc(buf, cap * 2) : NULL;

			if (bigger == NULL) {
				free(buf);
				return cap < ANSWER_MAX ? -ENOMEM : -E2BIG;
			}
			buf = bigger;
			cap *= 2;
		}
		n = read(fd, buf + len, cap - 1 - len);
		if (n == 0)
			break;
		if (n < 0) {
			int err = errno;

			if (err == EINTR)
				continue;
			free(buf);
			return err == EAGAIN || err == EWOULDBLOCK ? -ETIMEDOUT : -err;
		}
		len += (size_t)n;
	}
	buf[len] = '\0';
	*out = buf;
	return 0;
}

/* Sends "request\n" without risking SIGPIPE. */
static int send_request(int fd, const char *request)
{
	char line[256];
	int len = snprintf(line, sizeof(line), "%s\n", request);

	if (len < 0 || (size_t)len >= sizeof(line))
		return -EINVAL;
	if (send(fd, line, (size_t)len, MSG_NOSIGNAL) < 0 && errno != EPIPE &&
	    errno != ECONNRESET)
		return -errno;
	return 0;
}

int control_request_addr(const struct sockaddr_un *addr, socklen_t addr_len,
                         const char *request, char **answer)
{
	struct timeval timeout = { .tv_sec = ANSWER_TIMEOUT_SEC };
	char *reply = NULL;
	int fd, rc;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
	if (connect(fd, (const struct sockaddr *)addr, addr_len) < 0) {
		rc = -errno;
		goto out;
	}
	/* A refusing daemon may answer and close before reading: a failed send
	 * is not the end, its answer is still readable. */
	rc = send_request(fd, request);
	if (rc < 0)
		goto out;
	rc = read_all(fd, &reply);
	if (rc < 0)
		goto out;
	if (strncmp(reply, "ERR ", 4) == 0 || reply[0] == '\0') {
		rc = reply[0] ? refusal_errno(reply) : -EPROTO;
		free(reply);
		goto out;
	}
	*answer = reply;
out:
	close(fd);
	return rc;
}

int control_request(const char *mountpoint, const char *request, char **answer)
{
	struct sockaddr_un addr;
	socklen_t addr_len;
	int rc = control_address_for_mount(mountpoint, &addr, &addr_len);

	return rc < 0 ? rc : control_request_addr(&addr, addr_len, request, answer);
}
