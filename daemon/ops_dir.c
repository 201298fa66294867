/*
 * ops_dir.c - FUSE handlers for directories being listed: opendir,
 * readdir, readdirplus, releasedir, fsyncdir.
 *
 * A listing shows what the caller may see and nothing else: entries that
 * are not regular files or directories are left out, and in policy mode
 * each entry is checked like a lookup, so the listing depends on the caller
 * and is never cached by the kernel.
 */
#include "daemon/ops.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/context.h"
#include "daemon/gate.h"

/* One open directory: what fi->fh points to from opendir to releasedir. */
struct mfs_dir {
	DIR *stream;
	off_t offset;            /* where `stream` stands, as a d_off cookie */
	struct dirent *pending;  /* read but not yet returned (did not fit) */
};

static struct mfs_dir *dir_of(struct fuse_file_info *fi)
{
	return (struct mfs_dir *)(uintptr_t)fi->fh;
}

void op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct mfs_ctx *ctx = ctx_of(req);
	struct mfs_inode *inode = inode_from_fuse(&ctx->inodes, ino);
	struct gate_subject subject;
	struct access_result decision;
	struct mfs_dir *dir;
	struct stat st;
	int err = 0, fd;

	if (fstatat(inode->fd, "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) != 0)
		err = -errno;
	if (err == 0)
		err = gate_allow(req, inode, NULL, &st, ACCESS_OP_SEE, &subject, &decision);
	if (err < 0) {
		fuse_reply_err(req, -err);
		return;
	}
	dir = calloc(1, sizeof(*dir));
	fd = openat(inode->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (!dir || fd < 0 || !(dir->stream = fdopendir(fd))) {
		err = dir ? errno : ENOMEM;
		if (fd >= 0)
			close(fd);
		free(dir);
		fuse_reply_err(req, err);
		return;
	}
	fi->fh = (uintptr_t)dir;
	fi->cache_readdir = 0;
	fuse_reply_open(req, fi);
}

/*
 * May the caller see this entry? Non-presentable types never; in policy
 * mode the entry is checked like a lookup. Returns 1 to list it, 0 not to.
 */
static int entry_listable(fuse_req_t req, struct mfs_inode *dir_inode, DIR *stream,
                          const struct dirent *entry)
{
	struct mfs_ctx *ctx = ctx_of(req);
	struct gate_subject subject;
	struct access_result decision;
	struct stat st;

	switch (entry->d_type) {
	case DT_REG:
	case DT_DIR:
		break;
	case DT_UNKNOWN:
		if (fstatat(dirfd(stream), entry->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
		    !(S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)))
			return 0;
		break;
	default:
		return 0;
	}
	if (!ctx->access || ctx->opt.bench_allow_all)
		return 1;
	if (fstatat(dirfd(stream), entry->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
		return 0;
	return gate_allow(req, dir_inode, entry->d_name, &st, ACCESS_OP_SEE, &subject,
	                  &decision) == 0;
}

static int is_dot_or_dotdot(const char *name)
{
	return name[0] == '.' && (name[1] == '\0' || (name[1] == '.' && name[2] == '\0'));
}

/*
 * Adds one entry to buf at *used. For readdirplus the entry is looked up
 * (taking a lookup reference) unless it is "." or ".."; an entry that does
 * not fit is undone. Returns 1 when added, 0 when skipped (not visible),
 * -ENOSPC when it did not fit.
 */
static int add_entry(fuse_req_t req, struct mfs_inode *dir_inode, DIR *stream,
                     const struct dirent *entry, int plus, char *buf, size_t size,
                     size_t *used)
{
	struct mfs_ctx *ctx = ctx_of(req);
	size_t room = size - *used, need;

	if (!plus) {
		struct stat st = { .st_ino = entry->d_ino, .st_mode = (mode_t)DTTOIF(entry->d_type) };
		if (!is_dot_or_dotdot(entry->d_name) &&
		    !entry_listable(req, dir_inode, stream, entry))
			return 0;
		need = fuse_add_direntry(req, buf + *used, room, entry->d_name, &st, entry->d_off);
	} else {
		struct fuse_entry_param e;
		if (is_dot_or_dotdot(entry->d_name)) {
			/* ino 0: the kernel takes no attributes and no reference. */
			memset(&e, 0, sizeof(e));
			e.attr.st_ino = entry->d_ino;
			e.attr.st_mode = S_IFDIR;
		} else if (entry->d_type != DT_REG && entry->d_type != DT_DIR &&
		           entry->d_type != DT_UNKNOWN) {
			return 0;
		} else if (entry_lookup(req, dir_inode, entry->d_name, &e) != 0) {
			return 0; /* hidden from this caller, or gone meanwhile */
		}
		need = fuse_add_direntry_plus(req, buf + *used, room, entry->d_name, &e,
		                              entry->d_off);
		if (need > room && e.ino)
			inode_forget(&ctx->inodes, inode_from_fuse(&ctx->inodes, e.ino), 1);
	}
	if (need > room)
		return -ENOSPC;
	*used += need;
	return 1;
}

static void list_directory(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                           struct fuse_file_info *fi, int plus)
{
	struct mfs_ctx *ctx = ctx_of(req);
	struct mfs_inode *dir_inode = inode_from_fuse(&ctx->inodes, ino);
	struct mfs_dir *dir = dir_of(fi);
	char *buf = malloc(size);
	size_t used = 0;
	int err = 0;

	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	if (off != dir->offset) {
		seekdir(dir->stream, off);
		dir->pending = NULL;
		dir->offset = off;
	}
	for (;;) {
		int added;
		if (!dir->pending) {
			errno = 0;
			dir->pending = readdir(dir->stream);
			if (!dir->pending) {
				err = errno;
				break;
			}
		}
		added = add_entry(req, dir_inode, dir->stream, dir->pending, plus, buf, size, &used);
		if (added == -ENOSPC)
			break;
		dir->offset = dir->pending->d_off;
		dir->pending = NULL;
	}
	if (err && used == 0)
		fuse_reply_err(req, err);
	else
		fuse_reply_buf(req, buf, used);
	free(buf);
}

void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                struct fuse_file_info *fi)
{
	list_directory(req, ino, size, off, fi, 0);
}

void op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                    struct fuse_file_info *fi)
{
	list_directory(req, ino, size, off, fi, 1);
}

void op_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct mfs_dir *dir = dir_of(fi);

	(void)ino;
	closedir(dir->stream);
	free(dir);
	fuse_reply_err(req, 0);
}

void op_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	int fd = dirfd(dir_of(fi)->stream);

	(void)ino;
	fuse_reply_err(req, (datasync ? fdatasync(fd) : fsync(fd)) == 0 ? 0 : errno);
}
