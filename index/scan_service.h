/*
 * scan_service.h - media parsing out of process. The parsers of media/ read
 * files anyone can write, so they never run in a process that holds a
 * capability, the policy database or /dev/fuse.
 *
 * Shape: scan_service_start() forks one "spawner" process that closes every
 * descriptor but its socket, drops to an unprivileged uid (nobody) with no
 * capabilities (bounding, ambient, inheritable sets cleared) and
 * no_new_privs, and then only forks scanner workers on request. Forking the
 * workers there, not in the caller, means the caller needs no CAP_SETUID to
 * replace a worker that died: the daemon drops it for good after start-up.
 *
 * A request: the caller opens the file O_RDONLY itself and passes the
 * descriptor with SCM_RIGHTS over the worker's socketpair; the worker runs
 * locscan_fd() and media_probe_video_codec() on it and answers has_location,
 * codec and the redaction ranges. Every answer is validated by the caller.
 *
 * Failure: a worker that dies, hangs past the timeout or answers garbage
 * fails that one scan with -EIO (the caller fails closed) and is replaced on
 * the next request. A worker that died while idle is replaced and the
 * request retried once, since that file never reached it.
 *
 * Thread safety: scan_service_scan() may be called from any thread; a small
 * pool of workers, each behind its own mutex, serves concurrent callers.
 */
#ifndef MEDIAFS_INDEX_SCAN_SERVICE_H
#define MEDIAFS_INDEX_SCAN_SERVICE_H

#include <sys/types.h>

#include "media/locscan.h"

struct scan_service;

struct scan_service_config {
	int workers;             /* pool size, 1..SCAN_SERVICE_MAX_WORKERS */
	int timeout_ms;          /* per scan, as seen by the caller */
	/* Who the spawner and workers run as when started by root; ignored
	 * (the caller's own ids are kept) when not started by root. */
	uid_t uid;
	gid_t gid;
};

#define SCAN_SERVICE_MAX_WORKERS 8

/* What one file holds, as far as the parsers could tell. */
struct scan_result {
	int has_location;
	char codec[8];                  /* "" when no video track */
	struct redaction_ranges ranges; /* owned: redaction_ranges_free() */
};

/*
 * Fills *config with the defaults: 4 workers, 10 s, uid/gid of "nobody"
 * (65534 when the name is unknown). Call before any thread exists: it uses
 * getpwnam(). Returns 0 or a negative errno.
 */
int scan_service_default_config(struct scan_service_config *config);

/*
 * Forks the spawner. Assumes: the caller is single-threaded or accepts that
 * the child only calls async-signal-safe functions until it has dropped
 * privileges (it does); *config is valid. Guarantees: on 0, *out is ready and
 * the spawner has dropped privileges or exited (requests then fail -EIO).
 * Returns 0 or a negative errno.
 */
int scan_service_start(const struct scan_service_config *config, struct scan_service **out);

/*
 * Scans the regular file open as fd (read-only is enough; the offset is not
 * used). Assumes: service from scan_service_start; out is not NULL.
 * Guarantees: on 0, *out holds validated, sorted, merged ranges inside the
 * file and has_location == (count > 0); on a negative errno (-EIO: the
 * worker died, hung or lied; -ENOMEM), *out is zeroed and owns nothing.
 */
int scan_service_scan(struct scan_service *service, int fd, struct scan_result *out);

/* Releases a result. Assumes: out was filled by scan_service_scan or zeroed. */
void scan_result_free(struct scan_result *out);

/* pid of the spawner, for tests and logs (-1 when gone). Thread-safe. */
pid_t scan_service_spawner_pid(struct scan_service *service);

/* Number of workers replaced since start. Thread-safe. */
unsigned long scan_service_restarts(struct scan_service *service);

/*
 * Stops the spawner and every worker and frees the service. Assumes: no
 * thread is inside scan_service_scan(). NULL is accepted.
 */
void scan_service_stop(struct scan_service *service);

#endif
