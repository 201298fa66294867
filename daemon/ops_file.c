/*
 * ops_file.c - FUSE handlers for open regular files: open, create, read,
 * write_buf, flush, fsync, release, fallocate, lseek, copy_file_range, flock.
 *
 * Every open gets the daemon's own descriptor of the backing file (for
 * fsync, fallocate, lseek, flock and server-mode data), and an io mode
 * from iomode.c: passthrough opens are answered with the inode's backing id
 * and their reads and writes never come here.
 */
#include "daemon/ops.h"

#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/context.h"
#include "daemon/gate.h"
#include "daemon/log.h"
#include "daemon/redact.h"
#include "daemon/selinux_labels.h"
#include "daemon/transcoded.h"

int backing_reopen(struct mfs_inode *inode, int flags)
{
	char proc_path[64];
	int fd;

	/*
	 * O_CREAT/O_EXCL: the file exists. O_NOFOLLOW: the magic link must be
	 * followed (the inode is never a symlink). O_DIRECT: the kernel opens its
	 * own backing file with the caller's flags for passthrough, and server
	 * reads splice, which O_DIRECT would refuse. O_APPEND: the kernel already
	 * turns appends into writes at EOF, and splice refuses O_APPEND targets.
	 */
	flags &= ~(O_CREAT | O_EXCL | O_NOFOLLOW | O_DIRECT | O_APPEND | O_NOCTTY);
	snprintf(proc_path, sizeof(proc_path), "/proc/self/fd/%d", inode->fd);
	fd = open(proc_path, flags | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

static int wants_write(int flags)
{
	return (flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC);
}

/*
 * Does the inode the caller reached match what the policy says it may read?
 * The view was chosen at lookup, but the caller's rights may have changed
 * since (a grant revoked, location added), so open decides again:
 *   plain inode:    only a PLAIN verdict; REDACT/TRANSCODE must go through
 *                   their view (a fresh lookup), never the original bytes;
 *   redacted or transcoded view: read-only; any non-DENY verdict may read
 *                   it (the copy is never more than the original: a
 *                   transcoded copy carries no location).
 * Returns 0 or a negative errno.
 */
static int view_admits(struct mfs_inode *inode, const struct access_result *decision,
                       int flags, const struct gate_subject *subject)
{
	if (inode->view != VIEW_PLAIN)
		return wants_write(flags) ? -EACCES : 0;
	if (decision->verdict == ACCESS_PLAIN)
		return 0;
	log_debug("uid %u: '%s' needs a %s view; refusing the original", subject->caller.uid,
	          subject->relpath, decision->verdict == ACCESS_REDACT ? "redacted" : "transcoded");
	return -EACCES;
}

/*
 * Loads the ranges a redacted open must zero for the file as fstat(fd)
 * shows it now, and sets *st to that stat. Assumes file->ranges_lock is
 * held (or the file is not yet shared). Returns 0 or a negative errno
 * (serve nothing).
 */
static int load_redaction(struct mfs_ctx *ctx, struct mfs_file *file, const char *relpath,
                          struct stat *st)
{
	int err;

	if (fstat(file->fd, st) != 0)
		return -errno;
	free(file->ranges);
	file->ranges = NULL;
	file->range_count = 0;
	err = access_redaction_ranges(ctx->access, relpath, st, &file->ranges, &file->range_count);
	if (err < 0)
		return err;
	file->ranges_size = st->st_size;
	file->ranges_mtime = st->st_mtim;
	return 0;
}

/* Closes and frees one open file. */
static void file_free(struct mfs_file *file)
{
	close(file->fd);
	if (file->redacted)
		pthread_mutex_destroy(&file->ranges_lock);
	free(file->ranges);
	free(file);
}

/*
 * Admits one open of `inode` on descriptor fd (consumed) and replies: picks
 * the io mode, pins the inode, and answers open (e == NULL) or create.
 * On a reply the kernel could not take, undoes all of it.
 */
static void admit_and_reply(fuse_req_t req, struct mfs_inode *inode, int fd,
                            struct fuse_file_info *fi, const struct fuse_entry_param *e,
                            const struct gate_subject *redacted_for)
{
	struct mfs_ctx *ctx = ctx_of(req);
	struct mfs_file *file = calloc(1, sizeof(*file));
	struct stat st;
	int backing_id, res;

	if (file && redacted_for) {
		file->fd = fd;
		res = load_redaction(ctx, file, redacted_for->relpath, &st);
		if (res == 0)
			res = iomode_open_redacted(ctx, inode, fd, &st, file->ranges, file->range_count,
			                           redacted_for->relpath, &file->mode, &backing_id);
		if (res < 0) {
			close(fd);
			free(file->ranges);
			free(file);
			fuse_reply_err(req, -res);
			return;
		}
		file->redacted = 1;
		pthread_mutex_init(&file->ranges_lock, NULL);
		stat_add(&ctx->stats.opens_redacted, 1);
	}
	if (!file) {
		close(fd);
		if (e)
			inode_forget(&ctx->inodes, inode, 1);
		fuse_reply_err(req, ENOMEM);
		return;
	}
	file->fd = fd;
	file->opened_for_write = wants_write(fi->flags) || e != NULL;
	if (!redacted_for)
		iomode_open(ctx, inode, fd, &file->mode, &backing_id);
	inode_pin_open(&ctx->inodes, inode);
	fi->fh = (uintptr_t)file;
	fi->keep_cache = 0;
	/*
	 * A daemon-served redacted view keeps a page cache of its own (its own
	 * inode): only redacted bytes ever enter it, mmap works on it, and warm
	 * reads never reach the daemon. No keep_cache: each open drops pages
	 * filled before the file last changed. Transcoded views are served
	 * direct. A redacted view in passthrough reads its in-memory copy.
	 */
	fi->direct_io = inode->view == VIEW_TRANSCODED;
	if (file->mode == IO_PASSTHROUGH) {
		/* A reader's close has nothing to flush: no FLUSH round trip. A
		 * writer's close must be seen synchronously (op_flush). */
		fi->noflush = !file->opened_for_write;
		/* opens_passthrough counts passthrough to the original only. */
		stat_add(file->redacted ? &ctx->stats.opens_redacted_copy
		                        : &ctx->stats.opens_passthrough, 1);
		res = passthrough_reply_open(req, e, fi, backing_id);
	} else {
		stat_add(&ctx->stats.opens_server, 1);
		res = e ? fuse_reply_create(req, e, fi) : fuse_reply_open(req, fi);
	}
	if (res != 0) {
		/* The opener is gone (interrupted): no RELEASE will come. */
		iomode_release(ctx, inode, file->mode);
		inode_unpin_open(&ctx->inodes, inode);
		file_free(file);
		if (e)
			inode_forget(&ctx->inodes, inode, 1);
	}
}

void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct mfs_ctx *ctx = ctx_of(req);
	struct mfs_inode *inode = inode_from_fuse(&ctx->inodes, ino);
	struct gate_subject subject;
	struct access_result decision;
	struct stat st;
	int err = 0, fd;

	if (fstatat(inode->fd, "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) != 0)
		err = -errno;
	if (err == 0)
		err = gate_allow(req, inode, NULL, &st,
		                 wants_write(fi->flags) ? ACCESS_OP_WRITE : ACCESS_OP_READ,
		                 &subject, &decision);
	if (err == 0)
		err = view_admits(inode, &decision, fi->flags, &subject);
	if (err < 0) {
		if (err == -EACCES || err == -ENOENT || err == -EPERM)
			stat_add(&ctx->stats.opens_denied, 1);
		fuse_reply_err(req, -err);
		return;
	}
	fd = backing_reopen(inode, fi->flags);
	if (fd >= 0 && inode->view == VIEW_TRANSCODED) {
		/* The open file serves the copy; the source was only its input. */
		int source_fd = fd;
		err = transcoded_open(ctx, subject.relpath, source_fd, &fd);
		close(source_fd);
		fd = err < 0 ? err : fd;
		if (fd >= 0)
			stat_add(&ctx->stats.opens_transcoded, 1);
	}
	if (fd < 0) {
		fuse_reply_err(req, -fd);
		return;
	}
	admit_and_reply(req, inode, fd, fi, NULL, inode->view == VIEW_REDACTED ? &subject : NULL);
}

/*
 * Creates `name` exclusively: the kernel asks only after a lookup said
 * ENOENT, but in policy mode a name can exist and be hidden from this
 * caller, and opening it here would bypass every check.
 */
void op_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
               struct fuse_file_info *fi)
{
	struct mfs_ctx *ctx = ctx_of(req);
	struct mfs_inode *dir = inode_from_fuse(&ctx->inodes, parent);
	struct gate_subject subject;
	struct access_result decision;
	struct fuse_entry_param e;
	struct mfs_inode *inode;
	int err, fd, create_flags;

	err = gate_allow(req, dir, name, NULL, ACCESS_OP_CREATE, &subject, &decision);
	if (err < 0) {
		stat_add(&ctx->stats.opens_denied, 1);
		fuse_reply_err(req, -err);
		return;
	}
	create_flags = (fi->flags & ~(O_DIRECT | O_APPEND | O_NOCTTY)) | O_CREAT | O_EXCL |
	               O_NOFOLLOW | O_CLOEXEC;
	fd = selinux_labels_create(ctx->labels, dir->fd, name, create_flags, mode);
	if (fd < 0) {
		fuse_reply_err(req, fd == -ELOOP ? EEXIST : -fd);
		return;
	}
	if (!ctx->access && fchown(fd, subject.caller.uid, subject.caller.gid) != 0)
		log_warn("chown of new '%s' to %u: %s", name, subject.caller.uid, strerror(errno));
	/* Index first: the creator's lookup below must already see it as owner. */
	e.ino = 0;
	if (subject.policy_on) {
		struct stat st;
		err = fstat(fd, &st) == 0 ? 0 : -errno;
		if (err == 0)
			err = access_note_created(ctx->access, &subject.caller, subject.relpath, &st);
	}
	if (err == 0)
		err = entry_lookup(req, dir, name, &e);
	if (err < 0) {
		log_err("created '%s' but cannot index it: %s", name, strerror(-err));
		close(fd);
		if (e.ino)
			inode_forget(&ctx->inodes, inode_from_fuse(&ctx->inodes, e.ino), 1);
		unlinkat(dir->fd, name, 0);
		fuse_reply_err(req, -err);
		return;
	}
	inode = inode_from_fuse(&ctx->inodes, e.ino);
	admit_and_reply(req, inode, fd, fi, &e, NULL);
}

/*
 * A redacted read: the ranges are re-derived when the file changed since
 * they were computed (its owner may have just added location), so no byte
 * of new location metadata is ever served from stale ranges.
 */
static void read_redacted(fuse_req_t req, struct mfs_inode *inode, struct mfs_file *file,
                          size_t size, off_t off)
{
	struct mfs_ctx *ctx = ctx_of(req);
	struct gate_subject subject;
	struct fuse_bufvec *vec = NULL;
	struct stat st;
	size_t total = 0;
	int err = fstat(file->fd, &st) == 0 ? 0 : -errno;

	pthread_mutex_lock(&file->ranges_lock);
	if (err == 0 && (st.st_size != file->ranges_size ||
	                 st.st_mtim.tv_sec != file->ranges_mtime.tv_sec ||
	                 st.st_mtim.tv_nsec != file->ranges_mtime.tv_nsec)) {
		err = gate_subject(req, inode, NULL, &subject);
		if (err == 0)
			err = load_redaction(ctx, file, subject.relpath, &st);
	}
	if (err == 0)
		err = redact_plan_read(file->fd, st.st_size, size, off, file->ranges,
		                       file->range_count, ctx->zeroes, &vec, &total);
	/*
	 * Unlock BEFORE replying: the reply lets the reader return and close,
	 * and its RELEASE may free `file` (and this lock) at once. Nothing of
	 * `file` is touched after the reply; the plan refers to the fd only,
	 * which RELEASE closes after this reply has been written.
	 */
	pthread_mutex_unlock(&file->ranges_lock);
	if (err < 0) {
		fuse_reply_err(req, -err);
		return;
	}
	stat_add(&ctx->stats.server_read_bytes, (uint64_t)total);
	redact_reply_planned(req, vec);
}

void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi)
{
	struct mfs_ctx *ctx = ctx_of(req);
	struct mfs_file *file = file_of(fi);
	struct fuse_bufvec buf = FUSE_BUFVEC_INIT(size);
	struct stat st;

	if (file->redacted) {
		read_redacted(req, inode_from_fuse(&ctx->inodes, ino), file, size, off);
		return;
	}
	/* Count what the reply will carry: the request size clipped at EOF. */
	if (fstat(file->fd, &st) == 0 && off < st.st_size)
		stat_add(&ctx->stats.server_read_bytes,
		         (uint64_t)(st.st_size - off) < size ? (uint64_t)(st.st_size - off) : size);
	buf.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
	buf.buf[0].fd = file->fd;
	buf.buf[0].pos = off;
	fuse_reply_data(req, &buf, FUSE_BUF_SPLICE_MOVE);
}

void op_write_buf(fuse_req_t req, fuse_ino_t ino, struct fuse_bufvec *in_buf, off_t off,
                  struct fuse_file_info *fi)
{
	struct mfs_ctx *ctx = ctx_of(req);
	struct mfs_file *file = file_of(fi);
	struct fuse_bufvec out_buf = FUSE_BUFVEC_INIT(fuse_buf_size(in_buf));
	ssize_t written;

	(void)ino;
	out_buf.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
	out_buf.buf[0].fd = file->fd;
	out_buf.buf[0].pos = off;
	written = fuse_buf_copy(&out_buf, in_buf, 0);
	if (written < 0) {
		fuse_reply_err(req, (int)-written);
		return;
	}
	stat_add(&ctx->stats.server_write_bytes, (uint64_t)written);
	fuse_reply_write(req, (size_t)written);
}

/*
 * Re-indexes a file opened for writing: "pending" ends, location is looked
 * for again. Called from FLUSH, which close(2) waits for, so the file is
 * visible to others when its writer's close returns; and from RELEASE,
 * for writes made through a mapping after that close.
 */
static void note_written(fuse_req_t req, struct mfs_inode *inode, struct mfs_file *file)
{
	struct mfs_ctx *ctx = ctx_of(req);
	struct gate_subject subject;
	struct stat st;

	if (!file->opened_for_write || !ctx->access)
		return;
	if (gate_subject(req, inode, NULL, &subject) == 0 && subject.policy_on &&
	    fstat(file->fd, &st) == 0)
		access_note_closed_after_write(ctx->access, subject.relpath, &st);
}

void op_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct mfs_ctx *ctx = ctx_of(req);
	int dup_fd = dup(file_of(fi)->fd);

	/* Closing a duplicate reports delayed write errors, like close(2). */
	if (dup_fd < 0 || close(dup_fd) != 0) {
		fuse_reply_err(req, errno);
		return;
	}
	note_written(req, inode_from_fuse(&ctx->inodes, ino), file_of(fi));
	fuse_reply_err(req, 0);
}

void op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct mfs_ctx *ctx = ctx_of(req);
	struct mfs_inode *inode = inode_from_fuse(&ctx->inodes, ino);
	struct mfs_file *file = file_of(fi);

	note_written(req, inode, file);
	iomode_release(ctx, inode, file->mode);
	file_free(file);
	inode_unpin_open(&ctx->inodes, inode);
	fuse_reply_err(req, 0);
}

void op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	int fd = file_of(fi)->fd;

	(void)ino;
	fuse_reply_err(req, (datasync ? fdatasync(fd) : fsync(fd)) == 0 ? 0 : errno);
}

void op_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset, off_t length,
                  struct fuse_file_info *fi)
{
	(void)ino;
	fuse_reply_err(req, fallocate(file_of(fi)->fd, mode, offset, length) == 0 ? 0 : errno);
}

void op_lseek(fuse_req_t req, fuse_ino_t ino, off_t off, int whence, struct fuse_file_info *fi)
{
	off_t res = lseek(file_of(fi)->fd, off, whence);

	(void)ino;
	if (res < 0)
		fuse_reply_err(req, errno);
	else
		fuse_reply_lseek(req, res);
}

void op_copy_file_range(fuse_req_t req, fuse_ino_t ino_in, off_t off_in,
                        struct fuse_file_info *fi_in, fuse_ino_t ino_out, off_t off_out,
                        struct fuse_file_info *fi_out, size_t len, int flags)
{
	ssize_t copied;

	(void)ino_out;
	/* A redacted or transcoded source must be read through its view:
	 * EOPNOTSUPP makes the kernel fall back to reading via FUSE_READ. */
	if (file_of(fi_in)->redacted ||
	    inode_from_fuse(&ctx_of(req)->inodes, ino_in)->view == VIEW_TRANSCODED) {
		fuse_reply_err(req, EOPNOTSUPP);
		return;
	}
	/* The copy stays inside the kernel: no bytes cross the daemon. */
	copied = copy_file_range(file_of(fi_in)->fd, &off_in, file_of(fi_out)->fd, &off_out,
	                         len, (unsigned int)flags);
	if (copied < 0)
		fuse_reply_err(req, errno);
	else
		fuse_reply_write(req, (size_t)copied);
}

/* A flock() that has to wait, and the request to answer when it may go on. */
struct flock_waiter {
	fuse_req_t req;
	int fd;                  /* a dup: the open may be released meanwhile */
	int op;
};

static void *flock_wait_thread(void *arg)
{
	struct flock_waiter *waiter = arg;
	int res = flock(waiter->fd, waiter->op) == 0 ? 0 : errno;

	close(waiter->fd);
	fuse_reply_err(waiter->req, res);
	free(waiter);
	return NULL;
}

/*
 * flock(2) on the open's own descriptor, so per-open-file semantics carry
 * over. A lock that is not free at once is waited for in a thread of its
 * own: a worker blocked in flock() would be lost to every other request,
 * and enough waiters would freeze the mount.
 */
void op_flock(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi, int op)
{
	int fd = file_of(fi)->fd;
	struct flock_waiter *waiter;
	pthread_attr_t attr;
	pthread_t thread;

	(void)ino;
	if (flock(fd, op | LOCK_NB) == 0) {
		fuse_reply_err(req, 0);
		return;
	}
	if ((op & LOCK_NB) || errno != EWOULDBLOCK) {
		fuse_reply_err(req, errno);
		return;
	}
	waiter = malloc(sizeof(*waiter));
	if (!waiter || (waiter->fd = dup(fd)) < 0) {
		free(waiter);
		fuse_reply_err(req, ENOMEM);
		return;
	}
	waiter->req = req;
	waiter->op = op;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 64 * 1024);
	if (pthread_create(&thread, &attr, flock_wait_thread, waiter) != 0) {
		close(waiter->fd);
		free(waiter);
		fuse_reply_err(req, EAGAIN);
	}
	pthread_attr_destroy(&attr);
}
