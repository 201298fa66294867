/* gate.c - see gate.h. */
#include "daemon/gate.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
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

/*
 * Remembered paths. Asking the kernel for a descriptor's path (readlink)
 * is a large share of a decision's cost, and nearly every request names an
 * inode whose path the daemon learned a moment before: a path walk looks
 * up every component (file names have entry timeout 0) just before it
 * stats or opens the file. So each lookup remembers the path it resolved
 * on the inode it returns, and that path is trusted instead of readlink
 * while ALL of these hold:
 *  - no rename, unlink or rmdir went through the mount since it was
 *    learned (ctx->names_generation has not moved);
 *  - it was learned less than KNOWN_PATH_TTL_NS ago: the kernel trusts a
 *    directory name that long anyway (dir_entry_timeout), so a rename done
 *    behind the daemon's back is seen as soon as the kernel would see it;
 *  - for a regular file, its current stat shows exactly one name: a
 *    deleted file (no name) or a hard-linked one (several, made behind our
 *    back) is always asked about afresh.
 * The root is always "".
 */
#define KNOWN_PATH_TTL_NS 1000000000

static int64_t coarse_now_ns(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
	return (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
}

/*
 * Copies inode's remembered path into buf when the rules above trust it
 * (inode_st: the inode's current stat, NULL when not at hand: then only a
 * directory's path is trusted). Returns 1 when copied, else 0.
 */
static int known_path_get(struct mfs_ctx *ctx, struct mfs_inode *inode,
                          const struct stat *inode_st, uint64_t names_gen,
                          char *buf, size_t size)
{
	int trusted = 0;

	if (inode == &ctx->inodes.root) {
		buf[0] = '\0';
		return 1;
	}
	if (inode->type != S_IFDIR && (inode_st == NULL || inode_st->st_nlink != 1))
		return 0;
	pthread_mutex_lock(&inode->path_lock);
	if (inode->known_path && inode->known_path_names_gen == names_gen &&
	    inode->known_path_expires_ns > coarse_now_ns() && strlen(inode->known_path) < size) {
		strcpy(buf, inode->known_path);
		trusted = 1;
	}
	pthread_mutex_unlock(&inode->path_lock);
	return trusted;
}

void gate_remember_path(struct mfs_ctx *ctx, struct mfs_inode *inode,
                        const struct gate_subject *subject)
{
	char *copy;

	if (!subject->policy_on || inode == &ctx->inodes.root || (copy = strdup(subject->relpath)) == NULL)
		return;  /* remembering is an optimisation: without it, readlink */
	pthread_mutex_lock(&inode->path_lock);
	free(inode->known_path);
	inode->known_path = copy;
	inode->known_path_names_gen = subject->names_gen;
	inode->known_path_expires_ns = coarse_now_ns() + KNOWN_PATH_TTL_NS;
	pthread_mutex_unlock(&inode->path_lock);
}

void gate_names_changed(struct mfs_ctx *ctx)
{
	atomic_fetch_add(&ctx->names_generation, 1);
}

/* gate_subject() with the inode's current stat at hand (or NULL). */
static int subject_of(fuse_req_t req, struct mfs_inode *inode, const struct stat *inode_st,
                      const char *name, struct gate_subject *subject)
{
	struct mfs_ctx *ctx = ctx_of(req);
	const struct fuse_ctx *fc = fuse_req_ctx(req);
	size_t len;
	int res = 0;

	subject->caller.uid = fc->uid;
	subject->caller.gid = fc->gid;
	subject->caller.pid = fc->pid;
	subject->policy_on = ctx->access != NULL && !ctx->opt.bench_allow_all;
	subject->relpath[0] = '\0';
	if (!subject->policy_on)
		return 0;
	/* Read before the path: a rename after this point makes what is
	 * learned now untrusted (see gate_remember_path). */
	subject->names_gen = atomic_load(&ctx->names_generation);
	if (!known_path_get(ctx, inode, inode_st, subject->names_gen, subject->relpath,
	                    sizeof(subject->relpath))) {
		res = inode_relpath(ctx, inode, subject->relpath, sizeof(subject->relpath));
		if (res == 0)
			gate_remember_path(ctx, inode, subject);
	}
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

int gate_subject(fuse_req_t req, struct mfs_inode *inode, const char *name,
                 struct gate_subject *subject)
{
	return subject_of(req, inode, NULL, name, subject);
}

/*
 * A failed decision. -ENOENT is not the policy's failure: the file was
 * unlinked or renamed away while it was being decided on (the caller is
 * told it is gone). Anything else means the policy was unreadable.
 */
static void count_policy_error(struct mfs_ctx *ctx, const struct gate_subject *subject, int err)
{
	if (err == -ENOENT)
		return;
	stat_add(&ctx->stats.policy_errors, 1);
	log_err("policy unavailable for uid %u on '%s': %s; refusing", subject->caller.uid,
	        subject->relpath, strerror(-err));
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
	if (err < 0)
		count_policy_error(ctx, subject, err);
	return err;
}

int gate_allow(fuse_req_t req, struct mfs_inode *inode, const char *name,
               const struct stat *st, enum access_op op,
               struct gate_subject *subject, struct access_result *res)
{
	struct mfs_ctx *ctx = ctx_of(req);
	int err = subject_of(req, inode, name ? NULL : st, name, subject);

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
	int err = subject_of(req, inode, name ? NULL : st, name, subject);

	if (err < 0)
		return err;
	if (!subject->policy_on)
		return gate_check(ctx, subject, st, ACCESS_OP_SEE, res);
	err = access_check_see_present(ctx->access, &subject->caller, subject->relpath, st, res);
	if (err < 0) {
		count_policy_error(ctx, subject, err);
		return err;
	}
	return res->verdict == ACCESS_DENY ? -(res->err ? res->err : EACCES) : 0;
}

void gate_present(struct mfs_ctx *ctx, const struct gate_subject *subject, struct stat *st)
{
	if (subject->policy_on)
		access_present_attr(ctx->access, &subject->caller, subject->relpath, st);
}
