/*
 * service.h - where transcodes are started from: a small process forked
 * at start-up, while mediafsd may still change uids, that drops to the
 * transcoder's uid (nobody) with no capabilities and then only starts
 * transcodes on request. mediafsd drops CAP_SETUID for good after
 * start-up, so it could not start an unprivileged transcoder itself; and
 * the service holds nothing (no /dev/fuse, no database, no SOURCE).
 *
 * A request: the daemon makes a socketpair, hands one end to the service
 * (SCM_RIGHTS over the service socket); the service forks a runner for it,
 * which receives the command, the limits and the input and output
 * descriptors over that socket, runs transcode_run() (runner.h), answers
 * the result and exits. Runs are independent processes, so transcodes of
 * different sources proceed in parallel.
 *
 * Thread safety: transcode_service_run() may be called from any thread.
 */
#ifndef MEDIAFS_TRANSCODE_SERVICE_H
#define MEDIAFS_TRANSCODE_SERVICE_H

#include <stddef.h>
#include <sys/types.h>

#include "transcode/runner.h"

struct transcode_service;

/*
 * Forks the service, which becomes uid/gid (when started by root; else it
 * keeps the caller's ids) with nothing else. Assumes: the caller may still
 * change uids, and is single-threaded or accepts that the child calls only
 * async-signal-safe functions before it has dropped everything (it does).
 * Returns 0 and sets *out, or a negative errno.
 */
int transcode_service_start(uid_t uid, gid_t gid, struct transcode_service **out);

/* Ends the service (its socket closes; it exits). Accepts NULL. Assumes no
 * call of transcode_service_run() is in progress. */
void transcode_service_stop(struct transcode_service *svc);

/*
 * Runs spec (its uid/gid are ignored: the service's own apply) through the
 * service and waits for the result, as transcode_run() does. Returns 0,
 * -ETIMEDOUT, -EINVAL (bad command), -EIO (the command failed), or
 * -ECONNRESET (the service is gone or does not answer: nothing to do with
 * the source), with errbuf saying why.
 */
int transcode_service_run(struct transcode_service *svc, const struct transcode_run_spec *spec,
                          char *errbuf, size_t errlen);

#endif
