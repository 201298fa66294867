/*
 * control.h - how mediactl reaches a running mediafsd.
 *
 * Every mount has one control socket in the abstract unix namespace, named
 * after the mount's device number: "\0mediafs/MAJOR:MINOR". A mount is found
 * from its mount point through /proc/self/mountinfo, so the caller never
 * touches the FUSE mount itself (it works even when the daemon is hung or the
 * mount says ENOTCONN: the connect just fails). The daemon answers only peers
 * whose SO_PEERCRED uid is 0.
 *
 * Protocol: the client connects, writes one request line ("stats\n"), and the
 * daemon writes one JSON object and closes the connection. A refused peer
 * reads the line "ERR EACCES".
 */
#ifndef MEDIAFS_COMMON_CONTROL_H
#define MEDIAFS_COMMON_CONTROL_H

#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>

/*
 * Finds the FUSE mount at `mountpoint` and fills `addr`/`addr_len` with the
 * control socket address of the daemon serving it.
 * Returns 0, -ENOENT if mountpoint does not exist, -ENOTDIR if it is not a
 * directory, -EINVAL if it is not a mediafs mount point.
 */
int control_address_for_mount(const char *mountpoint, struct sockaddr_un *addr,
                              socklen_t *addr_len);

/* Fills addr for the mount whose device is major:minor. Always succeeds. */
void control_address_for_dev(unsigned major, unsigned minor,
                             struct sockaddr_un *addr, socklen_t *addr_len);

/*
 * Sends `request` (e.g. "stats") to the daemon at `mountpoint` and returns its
 * whole answer as a NUL-terminated malloc'd string in *answer.
 * Returns 0, or a negative errno: -ECONNREFUSED when no daemon listens,
 * -EACCES when the daemon refused the caller (not root).
 */
int control_request(const char *mountpoint, const char *request, char **answer);

#endif
