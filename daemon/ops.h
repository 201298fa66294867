/*
 * ops.h - the FUSE low-level handlers, one per op, grouped by what they act
 * on: names and attributes (ops_entry.c), open files (ops_file.c),
 * directories being listed (ops_dir.c).
 */
#ifndef MEDIAFS_DAEMON_OPS_H
#define MEDIAFS_DAEMON_OPS_H

#include "daemon/fuse_version.h"
#include "daemon/inode.h"
#include "daemon/access.h"
#include "daemon/iomode.h"

/* One open regular file: what fi->fh points to from open to release. */
struct mfs_file {
	int fd;                  /* the daemon's own descriptor of the backing file */
	enum io_mode mode;       /* as admitted by iomode_open() */
	int opened_for_write;    /* release re-indexes the file (it may have changed) */
	/* Redacted views only, protected by ranges_lock: the ranges to zero and
	 * the file size and mtime they were computed for. */
	int redacted;
	pthread_mutex_t ranges_lock;
	struct access_range *ranges;
	size_t range_count;
	off_t ranges_size;
	struct timespec ranges_mtime;
};

static inline struct mfs_file *file_of(struct fuse_file_info *fi)
{
	return (struct mfs_file *)(uintptr_t)fi->fh;
}

/* Fills the handler table. */
void ops_fill(struct fuse_lowlevel_ops *ops);

/*
 * Shared by lookup, create, mkdir and readdirplus: looks `name` up in
 * `parent`, refuses what mediafs never presents (symlinks, devices, fifos,
 * sockets: -ENOENT), asks the policy whether the caller may see it, and on
 * success takes one lookup reference and fills *e (attributes presented for
 * the caller, cache timeouts set). Returns 0 or a negative errno.
 */
int entry_lookup(fuse_req_t req, struct mfs_inode *parent, const char *name,
                 struct fuse_entry_param *e);

/* Opens the backing file of inode with open(2) flags, as the daemon. Strips
 * flags that only make sense on the caller's side. Returns fd or -errno. */
int backing_reopen(struct mfs_inode *inode, int flags);

/* Handlers, registered by ops_fill(). */
void op_init(void *userdata, struct fuse_conn_info *conn);
void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name);
void op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup);
void op_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets);
void op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
                struct fuse_file_info *fi);
void op_readlink(fuse_req_t req, fuse_ino_t ino);
void op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev);
void op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode);
void op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name);
void op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name);
void op_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name);
void op_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
               const char *newname, unsigned int flags);
void op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *newname);
void op_statfs(fuse_req_t req, fuse_ino_t ino);
void op_access(fuse_req_t req, fuse_ino_t ino, int mask);

void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void op_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
               struct fuse_file_info *fi);
void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi);
void op_write_buf(fuse_req_t req, fuse_ino_t ino, struct fuse_bufvec *in_buf, off_t off,
                  struct fuse_file_info *fi);
void op_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi);
void op_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset, off_t length,
                  struct fuse_file_info *fi);
void op_lseek(fuse_req_t req, fuse_ino_t ino, off_t off, int whence, struct fuse_file_info *fi);
void op_copy_file_range(fuse_req_t req, fuse_ino_t ino_in, off_t off_in,
                        struct fuse_file_info *fi_in, fuse_ino_t ino_out, off_t off_out,
                        struct fuse_file_info *fi_out, size_t len, int flags);
void op_flock(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi, int op);

void op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                struct fuse_file_info *fi);
void op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                    struct fuse_file_info *fi);
void op_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void op_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi);

#endif
