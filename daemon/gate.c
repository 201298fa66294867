/* gate.c - see gate.h. */
#include "daemon/gate.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "daemon/log.h"
#include "daemon/stats.h"

/*
 * Writes the SOURCE-relative path of inode into buf. The kernel's own record
 * of the descriptor's path (/proc/self/fd) is used rather than a name cache,
 * so renames done behind the daemon's back are seen, and a path outside
 * SOURCE can never be produced.
 */
static int inode_relpath(struct mfs_ctx *ctx, struct mfs_inode *inode, char *buf, size_t size)
{
	char link[64], abs[PATH_MAX];
	ssize_t len;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", inode->fd);
	len = readlink(link, abs, sizeof(abs) - 1);
	if (len < 0)
		return -errno;
	abs[len] = '\0';
	if (len >= 10 && strcmp(abs + len - 10, " (deleted)") == 0)
		return -ENOENT;
	if (strncmp(abs, ctx->source_path, ctx->source_path_len) != 0)
		return -ENOENT;
	if (abs[ctx->source_path_len] == '\0') {
		buf[0] = '\0';
		return 0;
	}
	if (abs[ctx->source_path_len] != '/')
		return -ENOENT;
	if ((size_t)len - ctx->source_path_len > size)
		return -ENAMETOOLONG;
	strcpy(buf, abs + ctx->source_path_len + 1);
	return 0;
}

int gate_subject(fuse_req_t req, struct mfs_inode *inode, const char *name,
                 struct gate_subject *subject)
{
	struct mfs_ctx *ctx = ctx_of(req);
	const struct fuse_ctx *fc = fuse_req_ctx(req);
	size_t len;
	int res;

	subject->caller.uid = fc->uid;
	subject->caller.gid = fc->gid;
	subject->caller.pid = fc->pid;
	subject->policy_on = ctx->access != NULL && !ctx->opt.bench_allow_all;
	subject->relpath[0] = '\0';
	if (!subject->policy_on)
		return 0;
	res = inode_relpath(ctx, inode, subject->relpath, sizeof(subject->relpath));
	if (res < 0 || !name)
		return res;
	len = strlen(subject->relpath);
	if (len + 1 + strlen(name) + 1 > sizeof(subject->relpath))
		return -ENAMETOOLONG;
	if (len > 0)
		subject->relpath[len++] = '/';
	strcpy(subject->relpath + len, name);
	return 0;
}

int gate_check(struct mfs_ctx *ctx, const struct gate_subject *subject,
               const struct stat *st, enum access_op op, struct access_result *res)
{
	int err;

	if (!subject->policy_on) {
		res->verdict = ACCESS_PLAIN;
		res->err = 0;
		res->rule = ctx->access ? "bench-allow-all" : "posix mode";
		return 0;
	}
	err = access_check(ctx->access, &subject->caller, subject->relpath, st, op, res);
	if (err < 0) {
		stat_add(&ctx->stats.policy_errors, 1);
		log_err("policy unavailable for uid %u on '%s': %s; refusing", subject->caller.uid,
		        subject->relpath, strerror(-err));
	}
	return err;
}

int gate_allow(fuse_req_t req, struct mfs_inode *inode, const char *name,
               const struct stat *st, enum access_op op,
               struct gate_subject *subject, struct access_result *res)
{
	struct mfs_ctx *ctx = ctx_of(req);
	int err = gate_subject(req, inode, name, subject);

	if (err == 0)
		err = gate_check(ctx, subject, st, op, res);
	if (err == 0 && res->verdict == ACCESS_DENY)
		err = -(res->err ? res->err : EACCES);
	return err;
}

int gate_see(fuse_req_t req, struct mfs_inode *inode, const char *name, struct stat *st,
             struct gate_subject *subject, struct access_result *res)
{
	struct mfs_ctx *ctx = ctx_of(req);
	int err = gate_subject(req, inode, name, subject);

	if (err < 0)
		return err;
	if (!subject->policy_on)
		return gate_check(ctx, subject, st, ACCESS_OP_SEE, res);
	err = access_check_see_present(ctx->access, &subject->caller, subject->relpath, st, res);
	if (err < 0) {
		stat_add(&ctx->stats.policy_errors, 1);
		log_err("policy unavailable for uid %u on '%s': %s; refusing", subject->caller.uid,
		        subject->relpath, strerror(-err));
		return err;
	}
	return res->verdict == ACCESS_DENY ? -(res->err ? res->err : EACCES) : 0;
}

void gate_present(struct mfs_ctx *ctx, const struct gate_subject *subject, struct stat *st)
{
	if (subject->policy_on)
		access_present_attr(ctx->access, &subject->caller, subject->relpath, st);
}
