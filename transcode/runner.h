/*
 * runner.h - runs one transcode in a separate, unprivileged process.
 *
 * Parsing untrusted media must not happen in a process that holds
 * CAP_SYS_ADMIN, so the command runs as TRANSCODE_UID/GID with no
 * supplementary groups, an empty capability bounding set, no capabilities,
 * no_new_privs, its own process group, a clean environment, stdin and
 * stdout on /dev/null, resource limits, and exactly three descriptors
 * besides those: 2 (a pipe whose tail becomes the error message), 3 (the
 * source, read-only) and 4 (the output file). The command opens them as
 * /dev/fd/3 and /dev/fd/4, which reopens the files themselves, so both
 * must be accessible to TRANSCODE_UID (the caller arranges that). The
 * process and its group are killed with SIGKILL when the time runs out.
 */
#ifndef MEDIAFS_TRANSCODE_RUNNER_H
#define MEDIAFS_TRANSCODE_RUNNER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define TRANSCODE_INPUT_PATH "/dev/fd/3"
#define TRANSCODE_OUTPUT_PATH "/dev/fd/4"

struct transcode_run_spec {
	const char *command;          /* template with {input} and {output} */
	int input_fd;                 /* the source: readable, seekable */
	int output_fd;                /* an empty regular file */
	uid_t uid;
	gid_t gid;
	unsigned timeout_ms;
	uint64_t max_output_bytes;    /* RLIMIT_FSIZE: a larger copy kills the run */
};

/*
 * Becomes uid/gid with no supplementary groups, no capabilities (also
 * bounding and ambient) and no_new_privs. A process that already is
 * uid/gid keeps its groups (it could not change them). Only raw syscalls:
 * safe in a child forked from a multi-threaded process, where glibc's
 * set*id wrappers (which synchronize all threads) must not be used.
 * Returns 0 or a negative errno (the caller must then exit).
 */
int transcode_drop_privileges(uid_t uid, gid_t gid);

/* The time limit for a source of `bytes`: 30 s plus 20 s per MiB. */
unsigned transcode_timeout_ms(uint64_t bytes);

/*
 * Runs the command and waits for it. Assumes the caller is uid/gid already
 * (the transcode service's runner) or may become them (root). Returns 0
 * when it exited with status 0; -ETIMEDOUT when it was killed for running
 * out of time; -EINVAL for a bad command template;
 * -EIO when it failed otherwise. On failure writes one line saying why
 * (exit status or signal, and the last line the command printed on
 * stderr) into errbuf.
 */
int transcode_run(const struct transcode_run_spec *spec, char *errbuf, size_t errlen);

#endif
