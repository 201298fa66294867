/* scan_service.c - the caller side of the scan service (see scan_service.h). */
#include "index/scan_service.h"

#include <errno.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "index/scan_protocol.h"

struct scan_worker {
	pthread_mutex_t lock;   /* protects fd and pid: one exchange at a time */
	int fd;                 /* socket to the worker; -1: none (spawn on use) */
	pid_t pid;
};

struct scan_service {
	struct scan_service_config config;   /* immutable */
	pthread_mutex_t spawner_lock;        /* protects spawner_fd: one spawn at a time */
	int spawner_fd;                      /* -1 once the spawner is known dead */
	atomic_int spawner_pid;              /* -1 once reaped */
	atomic_ulong restarts;               /* workers replaced */
	atomic_uint next_worker;             /* round robin when all are busy */
	struct scan_worker workers[SCAN_SERVICE_MAX_WORKERS];
};

int scan_service_default_config(struct scan_service_config *config)
{
	struct passwd *nobody = getpwnam("nobody");

	config->workers = 4;
	config->timeout_ms = 10000;
	config->uid = nobody ? nobody->pw_uid : 65534;
	config->gid = nobody ? nobody->pw_gid : 65534;
	return 0;
}

int scan_service_start(const struct scan_service_config *config, struct scan_service **out)
{
	struct scan_service *service;
	int pair[2];
	pid_t pid;

	if (config->workers < 1 || config->workers > SCAN_SERVICE_MAX_WORKERS ||
	    config->timeout_ms < 1)
		return -EINVAL;
	service = calloc(1, sizeof(*service));
	if (!service)
		return -ENOMEM;
	service->config = *config;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) {
		int err = -errno;
		free(service);
		return err;
	}
	pid = fork();
	if (pid < 0) {
		int err = -errno;
		close(pair[0]);
		close(pair[1]);
		free(service);
		return err;
	}
	if (pid == 0) {
		close(pair[0]);
		scan_spawner_main(pair[1], config);
	}
	close(pair[1]);
	pthread_mutex_init(&service->spawner_lock, NULL);
	service->spawner_fd = pair[0];
	atomic_store(&service->spawner_pid, pid);
	for (int i = 0; i < SCAN_SERVICE_MAX_WORKERS; i++) {
		pthread_mutex_init(&service->workers[i].lock, NULL);
		service->workers[i].fd = -1;
		service->workers[i].pid = -1;
	}
	*out = service;
	return 0;
}

/* Asks the spawner for a new worker. Assumes worker->lock is held and
 * worker->fd is -1. Returns 0 or -EIO (no spawner: fail closed). */
static int spawn(struct scan_service *service, struct scan_worker *worker)
{
	struct scan_spawn_reply reply;
	char op = SCAN_OP_SPAWN;
	int rc = -EIO, fd = -1;

	pthread_mutex_lock(&service->spawner_lock);
	if (service->spawner_fd >= 0) {
		rc = scan_send_msg(service->spawner_fd, &op, 1, -1);
		if (rc == 0)
			rc = scan_recv_msg(service->spawner_fd, &reply, sizeof(reply), &fd,
			                   service->config.timeout_ms);
		if (rc == 0 && reply.status == 0 && fd < 0)
			rc = -EPROTO;
		if (rc < 0) {
			/* Spawner gone or confused: nothing can replace workers now. */
			close(service->spawner_fd);
			service->spawner_fd = -1;
		} else if (reply.status < 0) {
			rc = reply.status;
		}
	}
	pthread_mutex_unlock(&service->spawner_lock);
	if (rc < 0) {
		if (fd >= 0)
			close(fd);
		return -EIO;
	}
	worker->fd = fd;
	worker->pid = reply.pid;
	return 0;
}

/* Forgets a worker that failed: its socket closes, so it exits (or its
 * own alarm kills it when it hangs in a parser). Assumes worker->lock held. */
static void discard(struct scan_service *service, struct scan_worker *worker)
{
	if (worker->fd < 0)
		return;
	close(worker->fd);
	worker->fd = -1;
	worker->pid = -1;
	atomic_fetch_add(&service->restarts, 1);
}

/* Checks a reply's ranges against the file: sorted, disjoint, non-empty,
 * inside the file. Returns 0 or -EIO (the worker lied or broke). */
static int validate(const struct scan_result *out, uint64_t file_size)
{
	uint64_t previous_end = 0;

	if (out->has_location != (out->ranges.count > 0))
		return -EIO;
	if (memchr(out->codec, '\0', sizeof(out->codec)) == NULL)
		return -EIO;
	for (const char *c = out->codec; *c; c++)
		if (*c < 0x20 || *c > 0x7e)
			return -EIO;
	for (size_t i = 0; i < out->ranges.count; i++) {
		const struct redaction_range *r = &out->ranges.ranges[i];

		if (r->length == 0 || r->offset > file_size || r->length > file_size - r->offset)
			return -EIO;
		if (i > 0 && r->offset <= previous_end)
			return -EIO;
		previous_end = r->offset + r->length;
	}
	return 0;
}

/* Reads the reply to one request about the file open as fd. Assumes
 * worker->lock held and the request sent. Returns 0, the parser's -errno, or -EIO (worker broken:
 * the caller discards it). *broken tells which. */
static int read_reply(struct scan_service *service, struct scan_worker *worker,
                      int fd, uint64_t file_size, struct scan_result *out, int *broken)
{
	struct scan_reply reply;
	int rc = scan_recv_msg(worker->fd, &reply, sizeof(reply), NULL, service->config.timeout_ms);

	*broken = 1;
	if (rc < 0)
		return -EIO;
	if (reply.status > 0 || reply.status < -4095 || reply.count > SCAN_MAX_RANGES ||
	    (reply.status < 0 && reply.count != 0))
		return -EIO;
	if (reply.count > 0) {
		out->ranges.ranges = calloc(reply.count, sizeof(out->ranges.ranges[0]));
		if (!out->ranges.ranges)
			return -ENOMEM;  /* the worker's unread ranges: discard it */
		out->ranges.capacity = reply.count;
	}
	for (uint32_t i = 0; i < reply.count; i++) {
		uint64_t pair[2];

		if (scan_recv_msg(worker->fd, pair, sizeof(pair), NULL,
		                  service->config.timeout_ms) < 0)
			return -EIO;
		out->ranges.ranges[i].offset = pair[0];
		out->ranges.ranges[i].length = pair[1];
		out->ranges.count = i + 1;
	}
	*broken = 0;
	if (reply.status < 0)
		return reply.status;
	out->has_location = reply.has_location != 0;
	out->ranges.has_location = out->has_location;
	memcpy(out->codec, reply.codec, sizeof(out->codec));
	{
		/* A writer may have grown the file while it was parsed. */
		struct stat now;
		if (fstat(fd, &now) == 0 && (uint64_t)now.st_size > file_size)
			file_size = (uint64_t)now.st_size;
	}
	if (validate(out, file_size) < 0) {
		*broken = 1;
		return -EIO;
	}
	return 0;
}

/* Takes a free worker, or waits for one in round robin. Returns it locked. */
static struct scan_worker *take_worker(struct scan_service *service)
{
	int n = service->config.workers;

	for (int i = 0; i < n; i++)
		if (pthread_mutex_trylock(&service->workers[i].lock) == 0)
			return &service->workers[i];
	{
		struct scan_worker *w = &service->workers[atomic_fetch_add(&service->next_worker, 1) % (unsigned)n];
		pthread_mutex_lock(&w->lock);
		return w;
	}
}

int scan_service_scan(struct scan_service *service, int fd, struct scan_result *out)
{
	struct scan_worker *worker;
	struct stat st;
	char op = SCAN_OP_SCAN;
	int rc = -EIO, broken = 0;

	memset(out, 0, sizeof(*out));
	if (!service)
		return -EIO;
	if (fstat(fd, &st) != 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	worker = take_worker(service);
	/* Two tries: a worker that died while idle never saw this file. */
	for (int attempt = 0; attempt < 2; attempt++) {
		if (worker->fd < 0 && spawn(service, worker) < 0) {
			rc = -EIO;
			break;
		}
		rc = scan_send_msg(worker->fd, &op, 1, fd);
		if (rc < 0) {
			discard(service, worker);
			rc = -EIO;
			continue;
		}
		rc = read_reply(service, worker, fd, (uint64_t)st.st_size, out, &broken);
		if (broken)
			discard(service, worker);
		break;
	}
	pthread_mutex_unlock(&worker->lock);
	if (rc < 0)
		scan_result_free(out);
	return rc;
}

void scan_result_free(struct scan_result *out)
{
	redaction_ranges_free(&out->ranges);
	memset(out, 0, sizeof(*out));
}

pid_t scan_service_spawner_pid(struct scan_service *service)
{
	return service ? atomic_load(&service->spawner_pid) : -1;
}

unsigned long scan_service_restarts(struct scan_service *service)
{
	return service ? atomic_load(&service->restarts) : 0;
}

void scan_service_stop(struct scan_service *service)
{
	pid_t pid;

	if (!service)
		return;
	for (int i = 0; i < SCAN_SERVICE_MAX_WORKERS; i++) {
		if (service->workers[i].fd >= 0)
			close(service->workers[i].fd);
		pthread_mutex_destroy(&service->workers[i].lock);
	}
	if (service->spawner_fd >= 0)
		close(service->spawner_fd);
	/* End of stream makes the spawner exit; its workers die with it
	 * (parent-death signal). Reap it unless someone else is its parent. */
	pid = atomic_load(&service->spawner_pid);
	if (pid > 0 && waitpid(pid, NULL, 0) < 0 && errno != ECHILD)
		kill(pid, SIGKILL);
	pthread_mutex_destroy(&service->spawner_lock);
	free(service);
}
