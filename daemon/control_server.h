/*
 * control_server.h - the daemon's side of common/control.h: a thread that
 * answers `mediactl stats` on the mount's abstract unix socket, for root
 * callers only (checked with SO_PEERCRED).
 */
#ifndef MEDIAFS_DAEMON_CONTROL_SERVER_H
#define MEDIAFS_DAEMON_CONTROL_SERVER_H

struct mfs_ctx;
struct control_server;

/* Binds the socket for the mount ctx->dev_major:dev_minor and starts the
 * thread. Returns 0 and sets *out, or a negative errno. */
int control_server_start(struct mfs_ctx *ctx, struct control_server **out);
/* Stops the thread and closes the socket. */
void control_server_stop(struct control_server *server);

#endif
