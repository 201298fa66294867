/*
 * ops_entry.c - FUSE handlers for names and attributes: lookup, forget,
 * getattr, setattr, mkdir, rmdir, unlink, rename, statfs, access, and the
 * refused ones (symlink, link, mknod, readlink).
 *
 * Every name is resolved relative to its parent's O_PATH descriptor with
 * O_NOFOLLOW, and the kernel never sends "/" in a name, so no name can
 * reach outside SOURCE; symlinks found in SOURCE are never presented.
 */
#include "daemon/ops.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "daemon/context.h"
#include "daemon/gate.h"
#include "daemon/log.h"
#include "daemon/selinux_labels.h"
#include "daemon/transcoded.h"

/* mediafs presents regular files and directories only. */
static int presentable(mode_t mode)
{
	return S_ISREG(mode) || S_ISDIR(mode);
}

/* Names the kernel should never send; refuse them anyway, cheaply. */
static int name_is_dot_or_dotdot(const char *name)
{
	return name[0] == '.' && (name[1] == '\0' || (name[1] == '.' && name[2] == '\0'));
}

static int stat_inode(struct mfs_inode *inode, struct stat *st)
{
	if (fstatat(inode->fd, "", st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) != 0)
		return -errno;
	return 0;
}

/*
 * A caller that may only read a redacted (or transcoded) copy is given the
 * file's redacted (or transcoded) view: a FUSE inode of its own, so that it
 * shares neither page cache nor io mode (passthrough, mmap) with plain
 * readers. Names are never cached in policy mode, so each caller's lookup
 * comes here.
 */
static enum inode_view view_for(enum access_verdict verdict)
{
	return verdict == ACCESS_REDACT ? VIEW_REDACTED
	     : verdict == ACCESS_TRANSCODE ? VIEW_TRANSCODED : VIEW_PLAIN;
}

/*
 * The answer for a name that does not exist: ENOENT, unless the caller may
 * not look into `parent` at all (another user's tree, reached through a
 * directory name the kernel cached for someone else): then the parent's
 * refusal, so that absent and present names look alike to it.
 */
static int absent_name_errno(fuse_req_t req, struct mfs_inode *parent, int err)
{
	struct gate_subject subject;
	struct access_result decision;
	struct stat st;
	int parent_err;

	if (err != -ENOENT || stat_inode(parent, &st) != 0)
		return err;
	parent_err = gate_allow(req, parent, NULL, &st, ACCESS_OP_SEE, &subject, &decision);
	return parent_err < 0 ? parent_err : err;
}

int entry_lookup(fuse_req_t req, struct mfs_inode *parent, const char *name,
                 struct fuse_entry_param *e)
{
	struct mfs_ctx *ctx = ctx_of(req);
	struct gate_subject subject;
	struct access_result decision;
	struct mfs_inode *inode;
	int err, attempts = 0;

	memset(e, 0, sizeof(*e));
	if (name_is_dot_or_dotdot(name) || strchr(name, '/'))
		return -ENOENT;
	do {
		if (fstatat(parent->fd, name, &e->attr, AT_SYMLINK_NOFOLLOW) != 0)
			return absent_name_errno(req, parent, -errno);
		if (!presentable(e->attr.st_mode))
			return -ENOENT;
		err = gate_see(req, parent, name, &e->attr, &subject, &decision);
		if (err < 0)
			return err;
		/* -EAGAIN: replaced between the stat and the open; decide again. */
		err = inode_lookup_ref_at(&ctx->inodes, parent->fd, name, &e->attr,
		                          view_for(decision.verdict), &inode);
	} while (err == -EAGAIN && ++attempts < 3);
	if (err < 0)
		return err == -EAGAIN ? -ENOENT : err;
	if (inode->view == VIEW_TRANSCODED)
		transcoded_present_size(ctx, &e->attr);
	gate_remember_path(ctx, inode, &subject);
	e->ino = inode_to_fuse(&ctx->inodes, inode);
	e->attr_timeout = ctx->attr_timeout;
	/*
	 * The kernel's dentry cache is shared by every uid. File names are
	 * never cached in policy mode (their visibility follows grants);
	 * directory names are, unless they are an app's private area: every
	 * request below them is still checked for its caller.
	 */
	e->entry_timeout = ctx->entry_timeout;
	if (S_ISDIR(e->attr.st_mode) &&
	    !(subject.policy_on && access_names_depend_on_caller(ctx->access, subject.relpath)))
		e->entry_timeout = ctx->dir_entry_timeout;
	return 0;
}

void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct mfs_ctx *ctx = ctx_of(req);
	struct fuse_entry_param e;
	int err = entry_lookup(req, inode_from_fuse(&ctx->inodes, parent), name, &e);

	if (err < 0)
		fuse_reply_err(req, -err);
	else
		fuse_reply_entry(req, &e);
}

void op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	struct mfs_ctx *ctx = ctx_of(req);

	inode_forget(&ctx->inodes, inode_from_fuse(&ctx->inodes, ino), nlookup);
	fuse_reply_none(req);
}

void op_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets)
{
	struct mfs_ctx *ctx = ctx_of(req);

	for (size_t i = 0; i < count; i++)
		inode_forget(&ctx->inodes, inode_from_fuse(&ctx->inodes, forgets[i].ino),
		             forgets[i].nlookup);
	fuse_reply_none(req);
}

/*
 * Re-checks visibility on every getattr: in policy mode the attribute
 * timeout is 0, so a stat through a dentry another app looked up still
 * reaches this check. An unlinked file that the caller has open stays
 * stat-able through its handle.
 */
static int attr_for_caller(fuse_req_t req, struct mfs_inode *inode,
                           struct fuse_file_info *fi, struct stat *st)
{
	struct mfs_ctx *ctx = ctx_of(req);
	struct gate_subject subject;
	struct access_result decision;
	int err = stat_inode(inode, st);

	if (err < 0)
		return err;
	err = gate_see(req, inode, NULL, st, &subject, &decision);
	if (err == -ENOENT && fi && subject.policy_on)
		return 0;
	if (err < 0)
		return err;
	if (inode->view == VIEW_TRANSCODED)
		transcoded_present_size(ctx, st);  /* the copy's size once it exists */
	if (inode->view == VIEW_REDACTED)
		iomode_present_redacted(inode, st); /* the open copy's version, if any */
	return 0;
}

void op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct mfs_ctx *ctx = ctx_of(req);
	struct stat st;
	int err = attr_for_caller(req, inode_from_fuse(&ctx->inodes, ino), fi, &st);

	if (err < 0)
		fuse_reply_err(req, -err);
	else
		fuse_reply_attr(req, &st, ctx->attr_timeout);
}

/* Applies size and time changes. Assumes the policy already allowed them. */
static int apply_setattr(struct mfs_inode *inode, const struct stat *attr, int to_set,
                         struct fuse_file_info *fi)
{
	if (to_set & FUSE_SET_ATTR_SIZE) {
		int fd = fi ? file_of(fi)->fd : backing_reopen(inode, O_WRONLY);
		int res;
		if (fd < 0)
			return fd;
		res = ftruncate(fd, attr->st_size) == 0 ? 0 : -errno;
		if (!fi)
			close(fd);
		if (res < 0)
			return res;
	}
	if (to_set & (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME)) {
		struct timespec times[2] = { { .tv_nsec = UTIME_OMIT }, { .tv_nsec = UTIME_OMIT } };
		char proc_path[64];
		if (to_set & FUSE_SET_ATTR_ATIME_NOW)
			times[0].tv_nsec = UTIME_NOW;
		else if (to_set & FUSE_SET_ATTR_ATIME)
			times[0] = attr->st_atim;
		if (to_set & FUSE_SET_ATTR_MTIME_NOW)
			times[1].tv_nsec = UTIME_NOW;
		else if (to_set & FUSE_SET_ATTR_MTIME)
			times[1] = attr->st_mtim;
		/* O_PATH descriptors cannot futimens(); their /proc path can. */
		snprintf(proc_path, sizeof(proc_path), "/proc/self/fd/%d", inode->fd);
		if (utimensat(AT_FDCWD, proc_path, times, 0) != 0)
			return -errno;
	}
	return 0;
}

void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
                struct fuse_file_info *fi)
{
	struct mfs_ctx *ctx = ctx_of(req);
	struct mfs_inode *inode = inode_from_fuse(&ctx->inodes, ino);
	struct gate_subject subject;
	struct access_result decision;
	struct stat st;
	int err;

	/*
	 * Like Android's shared storage, owners and modes are not the app's to
	 * set. Posix mode refuses them (EPERM). Policy mode presents both per
	 * caller, so a mode change by a caller who may write is accepted and
	 * ignored (as Android's FUSE daemon does), which keeps `cp -p` and
	 * editors working; an owner change never is.
	 */
	if ((to_set & (FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID)) ||
	    ((to_set & FUSE_SET_ATTR_MODE) && !ctx->access)) {
		fuse_reply_err(req, EPERM);
		return;
	}
	to_set &= ~FUSE_SET_ATTR_MODE;
	err = stat_inode(inode, &st);
	if (err == 0)
		err = gate_allow(req, inode, NULL, &st, ACCESS_OP_WRITE, &subject, &decision);
	if (err == 0 && decision.verdict != ACCESS_PLAIN)
		err = -EACCES; /* a redacted or transcoded view is read-only */
	if (err == 0)
		err = apply_setattr(inode, attr, to_set, fi);
	if (err == 0)
		err = stat_inode(inode, &st);
	if (err < 0) {
		fuse_reply_err(req, -err);
		return;
	}
	gate_present(ctx, &subject, &st);
	fuse_reply_attr(req, &st, ctx->attr_timeout);
}

void op_readlink(fuse_req_t req, fuse_ino_t ino)
{
	(void)ino;
	fuse_reply_err(req, EINVAL); /* nothing mediafs presents is a symlink */
}

void op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev)
{
	(void)parent, (void)name, (void)mode, (void)rdev;
	fuse_reply_err(req, EPERM);
}

void op_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name)
{
	(void)link, (void)parent, (void)name;
	fuse_reply_err(req, EPERM);
}

void op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *newname)
{
	(void)ino, (void)newparent, (void)newname;
	fuse_reply_err(req, EPERM);
}

/* In posix mode new names belong to their creator, as on a local disk. */
static void give_to_caller(struct mfs_ctx *ctx, const struct gate_subject *subject,
                           int dirfd, const char *name)
{
	if (ctx->access)
		return; /* policy mode: backing files belong to the daemon */
	if (fchownat(dirfd, name, subject->caller.uid, subject->caller.gid,
	             AT_SYMLINK_NOFOLLOW) != 0)
		log_warn("chown of new '%s' to %u: %s", name, subject->caller.uid, strerror(errno));
}

void op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	struct mfs_ctx *ctx = ctx_of(req);
	struct mfs_inode *dir = inode_from_fuse(&ctx->inodes, parent);
	struct gate_subject subject;
	struct access_result decision;
	struct fuse_entry_param e;
	int err = gate_allow(req, dir, name, NULL, ACCESS_OP_MKDIR, &subject, &decision);

	if (err == 0)
		err = selinux_labels_mkdir(ctx->labels, dir->fd, name, mode);
	if (err == 0) {
		give_to_caller(ctx, &subject, dir->fd, name);
		if (subject.policy_on)
			access_note_mkdir(ctx->access, &subject.caller, subject.relpath);
		err = entry_lookup(req, dir, name, &e);
	}
	if (err < 0)
		fuse_reply_err(req, -err);
	else
		fuse_reply_entry(req, &e);
}

/* Removes a file (flags 0) or directory (AT_REMOVEDIR) after the policy says so. */
static void remove_entry(fuse_req_t req, fuse_ino_t parent, const char *name, int flags)
{
	struct mfs_ctx *ctx = ctx_of(req);
	struct mfs_inode *dir = inode_from_fuse(&ctx->inodes, parent);
	struct gate_subject subject;
	struct access_result decision;
	struct stat st;
	int err = 0;

	if (fstatat(dir->fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
		err = -errno;
	else if (!presentable(st.st_mode))
		err = -ENOENT;
	if (err == 0)
		err = gate_allow(req, dir, name, &st,
		                 flags ? ACCESS_OP_RMDIR : ACCESS_OP_DELETE, &subject, &decision);
	if (err == 0 && unlinkat(dir->fd, name, flags) != 0)
		err = -errno;
	if (err == 0)
		gate_names_changed(ctx);
	if (err == 0 && subject.policy_on)
		access_note_removed(ctx->access, subject.relpath);
	fuse_reply_err(req, -err);
}

void op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	remove_entry(req, parent, name, 0);
}

void op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	remove_entry(req, parent, name, AT_REMOVEDIR);
}

/*
 * Policy for a rename: the caller may move the source and could create the
 * target; a target that exists is replaced, so the caller must also be
 * allowed to delete it. Returns 0 or a negative errno.
 */
static int rename_allowed(fuse_req_t req, struct mfs_inode *dir, const char *name,
                          const struct stat *from_st, struct mfs_inode *newdir,
                          const char *newname, struct gate_subject *from,
                          struct gate_subject *to)
{
	struct mfs_ctx *ctx = ctx_of(req);
	struct access_result decision;
	struct stat to_st;
	int err = gate_subject(req, dir, name, from);

	if (err == 0)
		err = gate_subject(req, newdir, newname, to);
	if (err < 0 || !from->policy_on)
		return err;
	err = access_check_rename(ctx->access, &from->caller, from->relpath, from_st,
	                          to->relpath, &decision);
	if (err == 0 && decision.verdict == ACCESS_DENY)
		err = -(decision.err ? decision.err : EACCES);
	if (err == 0 && fstatat(newdir->fd, newname, &to_st, AT_SYMLINK_NOFOLLOW) == 0) {
		enum access_op op = S_ISDIR(to_st.st_mode) ? ACCESS_OP_RMDIR : ACCESS_OP_DELETE;
		err = gate_check(ctx, to, &to_st, op, &decision);
		if (err == 0 && decision.verdict == ACCESS_DENY)
			err = -(decision.err ? decision.err : EACCES);
	}
	return err;
}

void op_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
               const char *newname, unsigned int flags)
{
	struct mfs_ctx *ctx = ctx_of(req);
	struct mfs_inode *dir = inode_from_fuse(&ctx->inodes, parent);
	struct mfs_inode *newdir = inode_from_fuse(&ctx->inodes, newparent);
	struct gate_subject from, to;
	struct stat st;
	int err = 0;

	/* RENAME_EXCHANGE and RENAME_WHITEOUT would need their own policy rules. */
	if (flags & ~RENAME_NOREPLACE) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	if (fstatat(dir->fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
		err = -errno;
	else if (!presentable(st.st_mode))
		err = -ENOENT;
	if (err == 0)
		err = rename_allowed(req, dir, name, &st, newdir, newname, &from, &to);
	if (err == 0 && renameat2(dir->fd, name, newdir->fd, newname, flags) != 0)
		err = -errno;
	if (err == 0)
		gate_names_changed(ctx);
	if (err == 0 && from.policy_on)
		access_note_renamed(ctx->access, from.relpath, to.relpath);
	fuse_reply_err(req, -err);
}

void op_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct mfs_ctx *ctx = ctx_of(req);
	struct statvfs sv;

	if (fstatvfs(inode_from_fuse(&ctx->inodes, ino)->fd, &sv) != 0)
		fuse_reply_err(req, errno);
	else
		fuse_reply_statfs(req, &sv);
}

/*
 * access(2). In posix mode the kernel answers it itself (default_permissions)
 * and never asks. In policy mode: F_OK = may see, R_OK = may read,
 * W_OK = may write; X_OK is granted on directories only.
 */
void op_access(fuse_req_t req, fuse_ino_t ino, int mask)
{
	struct mfs_ctx *ctx = ctx_of(req);
	struct mfs_inode *inode = inode_from_fuse(&ctx->inodes, ino);
	struct gate_subject subject;
	struct access_result decision;
	struct stat st;
	int err = stat_inode(inode, &st);

	if (err == 0)
		err = gate_see(req, inode, NULL, &st, &subject, &decision);
	/* A directory is writable where the caller may create: the presented
	 * owner-write bit says exactly that. */
	if (err == 0 && (mask & W_OK) && S_ISDIR(st.st_mode) && subject.policy_on &&
	    !(st.st_mode & S_IWUSR))
		err = -EACCES;
	if (err == 0 && (mask & R_OK) && S_ISREG(st.st_mode))
		err = gate_allow(req, inode, NULL, &st, ACCESS_OP_READ, &subject, &decision);
	if (err == 0 && (mask & W_OK) && S_ISREG(st.st_mode)) {
		err = gate_allow(req, inode, NULL, &st, ACCESS_OP_WRITE, &subject, &decision);
		if (err == 0 && decision.verdict != ACCESS_PLAIN)
			err = -EACCES;
	}
	if (err == 0 && (mask & X_OK) && !S_ISDIR(st.st_mode))
		err = -EACCES;
	fuse_reply_err(req, -err);
}
