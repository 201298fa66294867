/*
 * ops_table.c - the handler table and the INIT negotiation.
 */
#include "daemon/ops.h"

#include <string.h>

#include "daemon/context.h"
#include "daemon/log.h"

/*
 * INIT: what mediafsd asks of the kernel.
 * - never writeback cache: it turns passthrough off, and in policy mode it
 *   would let one app's cached writes outlive a revoke;
 * - splice both ways, for server-mode data;
 * - flock locks forwarded (each open has its own descriptor);
 * - no export support: file handles would bypass the policy's lookups;
 * - no auto_inval_data (see below).
 */
void op_init(void *userdata, struct fuse_conn_info *conn)
{
	struct mfs_ctx *ctx = userdata;
	unsigned int wanted = FUSE_CAP_SPLICE_READ | FUSE_CAP_SPLICE_WRITE |
	                      FUSE_CAP_SPLICE_MOVE | FUSE_CAP_FLOCK_LOCKS |
	                      FUSE_CAP_ATOMIC_O_TRUNC;

	conn->want |= conn->capable & wanted;
	conn->want &= ~FUSE_CAP_EXPORT_SUPPORT;
	/* auto_inval_data would send a GETATTR (a policy check, with attribute
	 * timeouts of 0) before every cached read; pages are dropped at each
	 * open instead (no keep_cache), and server-mode writes go through the
	 * same page cache, so they stay coherent. */
	conn->want &= ~FUSE_CAP_AUTO_INVAL_DATA;
	passthrough_negotiate(&ctx->passthrough, conn);
	conn->time_gran = 1;
	log_info("serving %s (%s mode, protocol %u.%u)", ctx->source_path,
	         ctx->access ? "policy" : "posix", conn->proto_major, conn->proto_minor);
}

void ops_fill(struct fuse_lowlevel_ops *ops)
{
	memset(ops, 0, sizeof(*ops));
	ops->init = op_init;
	ops->lookup = op_lookup;
	ops->forget = op_forget;
	ops->forget_multi = op_forget_multi;
	ops->getattr = op_getattr;
	ops->setattr = op_setattr;
	ops->readlink = op_readlink;
	ops->mknod = op_mknod;
	ops->mkdir = op_mkdir;
	ops->unlink = op_unlink;
	ops->rmdir = op_rmdir;
	ops->symlink = op_symlink;
	ops->rename = op_rename;
	ops->link = op_link;
	ops->open = op_open;
	ops->read = op_read;
	ops->write_buf = op_write_buf;
	ops->flush = op_flush;
	ops->release = op_release;
	ops->fsync = op_fsync;
	ops->opendir = op_opendir;
	ops->readdir = op_readdir;
	ops->readdirplus = op_readdirplus;
	ops->releasedir = op_releasedir;
	ops->fsyncdir = op_fsyncdir;
	ops->statfs = op_statfs;
	ops->access = op_access;
	ops->create = op_create;
	ops->flock = op_flock;
	ops->fallocate = op_fallocate;
	ops->copy_file_range = op_copy_file_range;
	ops->lseek = op_lseek;
}
