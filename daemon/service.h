/*
 * service.h - what makes mediafsd a system service: detaching (so that
 * `mediafsd SRC MNT && ls MNT` and systemd's Type=forking see the mount up
 * and the pid file written before the command returns), the pid file, and
 * a thread that turns SIGHUP into a log reopen.
 */
#ifndef MEDIAFS_DAEMON_SERVICE_H
#define MEDIAFS_DAEMON_SERVICE_H

/*
 * Forks. The original process waits for service_detach_done() in the child
 * and exits with the status given there (1 if the child dies first). The
 * child starts a new session; stdio is kept until service_detach_done(), so
 * start-up errors still reach the terminal. Returns 0 in the child with
 * *notify_fd set, or -errno (no fork happened).
 */
int service_detach(int *notify_fd);

/* Tells the waiting parent the start-up outcome (0: success, it exits 0),
 * then points stdin, stdout and stderr at /dev/null and chdir("/"). */
void service_detach_done(int notify_fd, int exit_code);

/* Writes "PID\n" to path (absolute; replaced if present, never through a
 * symlink). Returns 0 or -errno. */
int service_write_pid_file(const char *path);
/* Removes the pid file if it still names this process. */
void service_remove_pid_file(const char *path);

struct hup_thread;

/*
 * Blocks SIGHUP in the calling thread (threads created afterwards inherit
 * that) and starts a thread that reopens the log on each SIGHUP. SIGHUP's
 * disposition, which libfuse set to "end the session", becomes a no-op, so
 * a SIGHUP that reaches some thread anyway changes nothing.
 * Assumes: called after fuse_set_signal_handlers(), before the worker
 * threads start. Returns 0 or -errno.
 */
int service_start_hup_thread(struct hup_thread **out);
void service_stop_hup_thread(struct hup_thread *thread);

#endif
