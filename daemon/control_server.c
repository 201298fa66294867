/* control_server.c - see control_server.h. */
#include "daemon/control_server.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/control.h"
#include "daemon/context.h"
#include "daemon/log.h"

struct control_server {
	struct mfs_ctx *ctx;
	int listen_fd;
	int stop_pipe[2];        /* written once by control_server_stop() */
	pthread_t thread;
};

/* Answers one connection; the peer is trusted only if it is root. */
static void serve_client(struct control_server *server, int client)
{
	struct ucred cred;
	socklen_t cred_len = sizeof(cred);
	char request[64] = "", answer[2048];
	struct timeval timeout = { .tv_sec = 2 };
	ssize_t n;
	int len;

	/* A client that never writes must not stall the control thread. */
	setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
	if (getsockopt(client, SOL_SOCKET, SO_PEERCRED, &cred, &cred_len) != 0 ||
	    cred.uid != 0) {
		dprintf(client, "ERR EACCES\n");
		return;
	}
	n = read(client, request, sizeof(request) - 1);
	if (n > 0)
		request[n] = '\0';
	if (strncmp(request, "stats", 5) != 0) {
		dprintf(client, "ERR EINVAL unknown request\n");
		return;
	}
	len = stats_format_json(server->ctx, answer, sizeof(answer));
	if (len > 0 && write(client, answer, (size_t)len) != len)
		log_debug("control client went away: %s", strerror(errno));
}

static void *control_thread(void *arg)
{
	struct control_server *server = arg;
	struct pollfd fds[2] = {
		{ .fd = server->listen_fd, .events = POLLIN },
		{ .fd = server->stop_pipe[0], .events = POLLIN },
	};

	for (;;) {
		int client;
		if (poll(fds, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (fds[1].revents)
			break;
		client = accept4(server->listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (client < 0)
			continue;
		serve_client(server, client);
		close(client);
	}
	return NULL;
}

int control_server_start(struct mfs_ctx *ctx, struct control_server **out)
{
	struct control_server *server = calloc(1, sizeof(*server));
	struct sockaddr_un addr;
	socklen_t addr_len;
	int err;

	if (!server)
		return -ENOMEM;
	server->ctx = ctx;
	control_address_for_dev(ctx->dev_major, ctx->dev_minor, &addr, &addr_len);
	server->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (server->listen_fd < 0 ||
	    bind(server->listen_fd, (struct sockaddr *)&addr, addr_len) != 0 ||
	    listen(server->listen_fd, 16) != 0 || pipe2(server->stop_pipe, O_CLOEXEC) != 0) {
		err = -errno;
		if (server->listen_fd >= 0)
			close(server->listen_fd);
		free(server);
		return err;
	}
	err = -pthread_create(&server->thread, NULL, control_thread, server);
	if (err < 0) {
		close(server->listen_fd);
		close(server->stop_pipe[0]);
		close(server->stop_pipe[1]);
		free(server);
		return err;
	}
	*out = server;
	return 0;
}

void control_server_stop(struct control_server *server)
{
	if (!server)
		return;
	if (write(server->stop_pipe[1], "x", 1) != 1)
		log_warn("stopping the control thread: %s", strerror(errno));
	pthread_join(server->thread, NULL);
	close(server->listen_fd);
	close(server->stop_pipe[0]);
	close(server->stop_pipe[1]);
	free(server);
}
