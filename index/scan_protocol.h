/*
 * scan_protocol.h - the wire format between scan_service.c (the caller) and
 * scan_sandbox.c (the spawner and its workers). Both ends are this build of
 * the same binary, so native byte order and layout are fine; the caller
 * still validates every field, because the worker parses hostile files.
 * Internal to index/.
 */
#ifndef MEDIAFS_INDEX_SCAN_PROTOCOL_H
#define MEDIAFS_INDEX_SCAN_PROTOCOL_H

#include <stddef.h>
#include <stdint.h>

#include "index/scan_service.h"

/* caller -> spawner: one byte; spawner -> caller: spawn_reply, and the
 * caller's end of the new worker's socketpair as SCM_RIGHTS when status 0. */
#define SCAN_OP_SPAWN 'S'
struct scan_spawn_reply {
	int32_t status;     /* 0 or -errno */
	int32_t pid;        /* the worker's pid */
};

/* caller -> worker: one byte with the file's descriptor as SCM_RIGHTS;
 * worker -> caller: scan_reply, then count (offset, length) u64 pairs. */
#define SCAN_OP_SCAN 'F'
struct scan_reply {
	int32_t status;     /* 0, or the parser's -errno (I/O error, -ENOMEM) */
	int32_t has_location;
	char codec[8];      /* NUL-terminated */
	uint32_t count;
	uint32_t reserved;
};

/* The parsers never report more (media/ranges.c collapses beyond 4096). */
#define SCAN_MAX_RANGES 4096

/*
 * Runs the spawner in a freshly forked child: enters the sandbox, then
 * forks a worker per SCAN_OP_SPAWN until the caller closes `sock`. Never
 * returns. Assumes: called right after fork() in a single-threaded parent.
 */
void scan_spawner_main(int sock, const struct scan_service_config *config)
	__attribute__((noreturn));

/* Sends len bytes of buf and, when fd >= 0, the descriptor with the first
 * byte. Returns 0 or -errno (-EPIPE when the peer is gone; never raises
 * SIGPIPE). */
int scan_send_msg(int sock, const void *buf, size_t len, int fd);

/*
 * Receives exactly len bytes into buf and at most one descriptor (*fd = -1
 * when none came; fd may be NULL to refuse any). timeout_ms < 0 waits
 * forever. Returns 0, -EPIPE at end of stream, -ETIMEDOUT, -EPROTO when
 * more than one descriptor came (all closed), or another -errno.
 */
int scan_recv_msg(int sock, void *buf, size_t len, int *fd, int timeout_ms);

#endif
