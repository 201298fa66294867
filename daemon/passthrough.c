/* passthrough.c - see passthrough.h. */
#include "daemon/passthrough.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <string.h>
#include <sys/ioctl.h>
#include <stdio.h>
#include <sys/uio.h>
#include <unistd.h>

#include "daemon/context.h"
#include "daemon/log.h"

/*
 * Protocol constants and layouts from the kernel's include/uapi/linux/fuse.h
 * (7.40+). Debian 12's linux-libc-dev is 6.1 and lacks them, so they are
 * spelled out here and checked against the layout by static asserts.
 */
#define MFS_FUSE_INIT 26
#define MFS_FUSE_INIT_EXT (1u << 30)
#define MFS_FUSE_WRITEBACK_CACHE (1u << 16)
#define MFS_FUSE_PASSTHROUGH_FLAGS2 (1u << (37 - 32))
#define MFS_FUSE_DIRECT_IO_ALLOW_MMAP_FLAGS2 (1u << (36 - 32))
#define MFS_FOPEN_PASSTHROUGH (1u << 7)

struct mfs_backing_map {
	int32_t fd;
	uint32_t flags;
	uint64_t padding;
};
#define MFS_DEV_IOC_BACKING_OPEN _IOW(229, 1, struct mfs_backing_map)
#define MFS_DEV_IOC_BACKING_CLOSE _IOW(229, 2, uint32_t)

struct mfs_in_header {
	uint32_t len, opcode;
	uint64_t unique, nodeid;
	uint32_t uid, gid, pid;
	uint16_t total_extlen, padding;
};
struct mfs_out_header {
	uint32_t len;
	int32_t error;
	uint64_t unique;
};
struct mfs_init_in {
	uint32_t major, minor, max_readahead, flags, flags2, unused[11];
};
struct mfs_init_out {
	uint32_t major, minor, max_readahead, flags;
	uint16_t max_background, congestion_threshold;
	uint32_t max_write, time_gran;
	uint16_t max_pages, map_alignment;
	uint32_t flags2, max_stack_depth;
	uint16_t request_timeout, unused[11];
};
struct mfs_open_out {
	uint64_t fh;
	uint32_t open_flags;
	int32_t backing_id;
};
_Static_assert(sizeof(struct mfs_in_header) == 40, "fuse_in_header layout");
_Static_assert(offsetof(struct mfs_init_in, flags2) == 16, "fuse_init_in layout");
_Static_assert(offsetof(struct mfs_init_out, flags2) == 32, "fuse_init_out layout");
_Static_assert(offsetof(struct mfs_init_out, max_stack_depth) == 36, "fuse_init_out layout");
_Static_assert(sizeof(struct mfs_open_out) == 16, "fuse_open_out layout");
_Static_assert(sizeof(struct mfs_init_out) == 64, "fuse_init_out size");

void passthrough_init(struct passthrough *pt, int dev_fd, int wanted)
{
	memset(pt, 0, sizeof(*pt));
	pt->dev_fd = dev_fd;
	pt->wanted = wanted;
	atomic_store(&pt->active, wanted);
}

/* Logs once why the daemon serves data itself, and stops trying. */
static void passthrough_give_up(struct passthrough *pt, const char *why)
{
	atomic_store(&pt->active, 0);
	if (atomic_exchange(&pt->unavailable_logged, 1) == 0)
		log_warn("kernel passthrough unavailable (%s): the daemon serves reads and writes itself",
		         why);
}

int passthrough_usable(struct passthrough *pt)
{
	return atomic_load(&pt->active);
}

int passthrough_backing_open(struct passthrough *pt, int fd)
{
	struct mfs_backing_map map = { .fd = fd, .flags = 0, .padding = 0 };
	int id = ioctl(pt->dev_fd, MFS_DEV_IOC_BACKING_OPEN, &map);

	if (id > 0)
		return id;
	if (id == 0)
		return -EIO;
	switch (errno) {
	case EPERM:
		passthrough_give_up(pt, "no CAP_SYS_ADMIN, or not negotiated at INIT");
		return -EPERM;
	case ENOTTY:
	case EINVAL:
	case EOPNOTSUPP:
		passthrough_give_up(pt, "the kernel does not support it");
		return -errno;
	default:
		/* ELOOP (stacking too deep), EBADF, ...: this file only. */
		return -errno;
	}
}

void passthrough_backing_close(struct passthrough *pt, int backing_id)
{
	uint32_t id = (uint32_t)backing_id;

	if (ioctl(pt->dev_fd, MFS_DEV_IOC_BACKING_CLOSE, &id) != 0)
		log_warn("closing passthrough backing id %d: %s", backing_id, strerror(errno));
}

#if MEDIAFS_LIBFUSE_HAS_PASSTHROUGH

int passthrough_attach_session(struct passthrough *pt, struct fuse_session *se)
{
	char dev_path[32];

	/* libfuse takes an already-mounted /dev/fuse descriptor this way. */
	snprintf(dev_path, sizeof(dev_path), "/dev/fd/%d", pt->dev_fd);
	return fuse_session_mount(se, dev_path) == 0 ? 0 : -EIO;
}

void passthrough_negotiate(struct passthrough *pt, struct fuse_conn_info *conn)
{
	conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
	fuse_set_feature_flag(conn, FUSE_CAP_DIRECT_IO_ALLOW_MMAP);
	if (pt->wanted && fuse_set_feature_flag(conn, FUSE_CAP_PASSTHROUGH)) {
		pt->kernel_offers = 1;
		conn->max_backing_stack_depth = 1;
	} else if (pt->wanted) {
		passthrough_give_up(pt, "the kernel did not offer it at INIT");
	}
}

int passthrough_reply_open(fuse_req_t req, const struct fuse_entry_param *e,
                           struct fuse_file_info *fi, int backing_id)
{
	fi->backing_id = backing_id;
	return e ? fuse_reply_create(req, e, fi) : fuse_reply_open(req, fi);
}

#else /* libfuse < 3.17: the custom-io shim */

/*
 * The backing id for the next open/create reply written by this thread.
 * libfuse writes a reply synchronously in the thread that calls
 * fuse_reply_*, so a thread-local handoff from passthrough_reply_open() to
 * the writev hook is exact; it is cleared by the very next reply.
 */
static _Thread_local int reply_backing_id;

/* read hook: plain read, plus a look at INIT to learn what the kernel offers. */
static ssize_t shim_read(int fd, void *buf, size_t buf_len, void *userdata)
{
	struct passthrough *pt = &((struct mfs_ctx *)userdata)->passthrough;
	ssize_t n = read(fd, buf, buf_len);
	const struct mfs_in_header *in = buf;

	if (n >= (ssize_t)(sizeof(*in) + offsetof(struct mfs_init_in, unused)) &&
	    in->opcode == MFS_FUSE_INIT) {
		const struct mfs_init_in *init = (const void *)(in + 1);
		pt->init_unique = in->unique;
		pt->kernel_offers = (init->flags & MFS_FUSE_INIT_EXT) &&
		                    (init->flags2 & MFS_FUSE_PASSTHROUGH_FLAGS2);
		pt->kernel_allows_mmap = (init->flags & MFS_FUSE_INIT_EXT) &&
		                         (init->flags2 & MFS_FUSE_DIRECT_IO_ALLOW_MMAP_FLAGS2);
	}
	return n;
}

/*
 * Adds to the INIT reply what libfuse 3.14 cannot ask for:
 * FUSE_DIRECT_IO_ALLOW_MMAP, so that MAP_SHARED works on direct_io views
 * (their page cache is their own, so it holds only view bytes), and
 * FUSE_PASSTHROUGH when we may use it.
 */
static void patch_init_reply(struct passthrough *pt, struct iovec *iov, int count)
{
	struct mfs_init_out *out;

	if (count < 2 || iov[1].iov_len < offsetof(struct mfs_init_out, request_timeout))
		return;
	out = iov[1].iov_base;
	if (pt->kernel_allows_mmap) {
		out->flags |= MFS_FUSE_INIT_EXT;
		out->flags2 |= MFS_FUSE_DIRECT_IO_ALLOW_MMAP_FLAGS2;
	}
	if (!pt->wanted)
		return;
	if (!pt->kernel_offers) {
		passthrough_give_up(pt, "the kernel did not offer it at INIT");
		return;
	}
	if (out->flags & MFS_FUSE_WRITEBACK_CACHE) {
		passthrough_give_up(pt, "writeback cache was negotiated");
		return;
	}
	out->flags |= MFS_FUSE_INIT_EXT;
	out->flags2 |= MFS_FUSE_PASSTHROUGH_FLAGS2;
	/* Depth 1: SOURCE must be a plain file system, not itself stacked. */
	out->max_stack_depth = 1;
}

/* writev hook: patches INIT and the marked open reply, then writes. */
static ssize_t shim_writev(int fd, struct iovec *iov, int count, void *userdata)
{
	struct passthrough *pt = &((struct mfs_ctx *)userdata)->passthrough;
	const struct mfs_out_header *out = iov[0].iov_base;
	int backing_id = reply_backing_id;

	reply_backing_id = 0;
	if (out->error == 0 && out->unique == pt->init_unique && pt->init_unique != 0) {
		patch_init_reply(pt, iov, count);
		pt->init_unique = 0;
	} else if (backing_id > 0 && out->error == 0 && count >= 2 &&
	           iov[count - 1].iov_len >= sizeof(struct mfs_open_out)) {
		/* open: the payload is fuse_open_out; create: entry_out then open_out. */
		struct iovec *last = &iov[count - 1];
		struct mfs_open_out *open_out =
			(void *)((char *)last->iov_base + last->iov_len - sizeof(*open_out));
		open_out->open_flags |= MFS_FOPEN_PASSTHROUGH;
		open_out->backing_id = backing_id;
	}
	return writev(fd, iov, count);
}

static ssize_t shim_splice_receive(int fdin, off_t *offin, int fdout, off_t *offout,
                                   size_t len, unsigned int flags, void *userdata)
{
	(void)userdata;
	return splice(fdin, offin, fdout, offout, len, flags);
}

static ssize_t shim_splice_send(int fdin, off_t *offin, int fdout, off_t *offout,
                                size_t len, unsigned int flags, void *userdata)
{
	(void)userdata;
	return splice(fdin, offin, fdout, offout, len, flags);
}

int passthrough_attach_session(struct passthrough *pt, struct fuse_session *se)
{
	static const struct fuse_custom_io io = {
		.writev = shim_writev,
		.read = shim_read,
		/* Without these two libfuse would stop splicing in server mode. */
		.splice_receive = shim_splice_receive,
		.splice_send = shim_splice_send,
	};
	return fuse_session_custom_io(se, &io, pt->dev_fd);
}

void passthrough_negotiate(struct passthrough *pt, struct fuse_conn_info *conn)
{
	(void)pt;
	conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
}

int passthrough_reply_open(fuse_req_t req, const struct fuse_entry_param *e,
                           struct fuse_file_info *fi, int backing_id)
{
	int res;

	/* KEEP_CACHE, NONSEEKABLE and STREAM make a passthrough open fail. */
	fi->keep_cache = 0;
	fi->nonseekable = 0;
	reply_backing_id = backing_id;
	res = e ? fuse_reply_create(req, e, fi) : fuse_reply_open(req, fi);
	reply_backing_id = 0;
	return res;
}

#endif
