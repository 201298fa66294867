/*
 * gate.h - what FUSE op handlers call to ask the policy about a request.
 * It identifies the caller, derives the SOURCE-relative path of the inode
 * (or of a name in a directory inode) and forwards to access.h. In posix
 * mode (no --db) and with --bench-allow-all it answers "plain" without
 * deriving any path, so those modes pay nothing for it.
 */
#ifndef MEDIAFS_DAEMON_GATE_H
#define MEDIAFS_DAEMON_GATE_H

#include <limits.h>
#include <stdint.h>
#include <sys/stat.h>

#include "daemon/access.h"
#include "daemon/context.h"

/* A request's subject: the caller and, when the policy is on, the path. */
struct gate_subject {
	struct access_caller caller;
	int policy_on;               /* 0: posix or allow-all mode; relpath unused */
	uint64_t names_gen;          /* ctx->names_generation when relpath was found */
	char relpath[PATH_MAX];
};

/*
 * Fills `subject` for `inode` (name == NULL) or for `name` inside directory
 * `inode`. Returns 0, or -ENOENT when the inode is no longer inside SOURCE
 * (deleted, or moved out by someone else), -ENAMETOOLONG.
 */
int gate_subject(fuse_req_t req, struct mfs_inode *inode, const char *name,
                 struct gate_subject *subject);

/*
 * Asks the policy about `op` on the subject (st: the file's lstat, NULL when
 * it does not exist yet). Returns 0 with *res filled (DENY included), or a
 * negative errno when the policy could not be evaluated: fail closed.
 */
int gate_check(struct mfs_ctx *ctx, const struct gate_subject *subject,
               const struct stat *st, enum access_op op, struct access_result *res);

/*
 * The usual one-step form: subject + check, mapped to one errno.
 * Returns 0 when allowed (any non-DENY verdict, in *res), or a negative errno
 * to reply with (the policy's err for DENY). `subject` is filled either way.
 */
int gate_allow(fuse_req_t req, struct mfs_inode *inode, const char *name,
               const struct stat *st, enum access_op op,
               struct gate_subject *subject, struct access_result *res);

/*
 * gate_allow(ACCESS_OP_SEE) that, when allowed, also presents *st for the
 * caller (as gate_present) from the same database reading: lookup and
 * getattr need both, and the reading is most of a decision's cost.
 */
int gate_see(fuse_req_t req, struct mfs_inode *inode, const char *name, struct stat *st,
             struct gate_subject *subject, struct access_result *res);

/*
 * Remembers subject->relpath as where `inode` is (the inode a lookup,
 * create or mkdir of that subject returned), so that the next requests on
 * it need not ask the kernel; gate.c says when a remembered path is trusted.
 */
void gate_remember_path(struct mfs_ctx *ctx, struct mfs_inode *inode,
                        const struct gate_subject *subject);

/* Called after every rename, unlink and rmdir through the mount: no path
 * remembered before it is trusted again. */
void gate_names_changed(struct mfs_ctx *ctx);

/* Adjusts owner/mode bits of st for presentation to the subject's caller. */
void gate_present(struct mfs_ctx *ctx, const struct gate_subject *subject, struct stat *st);

#endif
