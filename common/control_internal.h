/*
 * control_internal.h - the parts of control.c below control_request(), for
 * its tests: one request to a daemon at a known socket address.
 */
#ifndef MEDIAFS_COMMON_CONTROL_INTERNAL_H
#define MEDIAFS_COMMON_CONTROL_INTERNAL_H

#include <sys/socket.h>
#include <sys/un.h>

/* As control_request(), with the address already known. */
int control_request_addr(const struct sockaddr_un *addr, socklen_t addr_len,
                         const char *request, char **answer);

#endif
