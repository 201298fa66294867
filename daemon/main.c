/*
 * main.c - mediafsd: start-up, the session loop, and an orderly exit.
 *
 * Order matters: everything that can fail for a user-visible reason
 * (options, SOURCE, MOUNTPOINT, the database) is checked before mounting,
 * so a failed start leaves no mount behind; the daemon detaches only once
 * the mount is up, so `mediafsd SOURCE MNT && ls MNT` works.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/context.h"
#include "daemon/control_server.h"
#include "daemon/log.h"
#include "daemon/mount.h"
#include "daemon/ops.h"
#include "daemon/redact.h"

/* Opens the policy database when --db was given. Returns 0 or -errno
 * after printing one line. */
static int open_policy(struct mfs_ctx *ctx, int source_fd)
{
	const char *errmsg = NULL;
	int err;

	if (!ctx->opt.db_path)
		return 0;
	err = access_open(ctx->opt.db_path, source_fd, ctx->source_path, &ctx->access, &errmsg);
	if (err < 0)
		fprintf(stderr, "mediafsd: policy database '%s': %s\n", ctx->opt.db_path,
		        errmsg ? errmsg : strerror(-err));
	return err;
}

/* Creates the session on the mounted fd. Returns 0 or -errno (logged). */
static int start_session(struct mfs_ctx *ctx, int dev_fd)
{
	char *argv_debug[] = { "mediafsd", "-d", NULL };
	char *argv_plain[] = { "mediafsd", NULL };
	struct fuse_args args = FUSE_ARGS_INIT(ctx->opt.debug ? 2 : 1,
	                                       ctx->opt.debug ? argv_debug : argv_plain);
	struct fuse_lowlevel_ops ops;
	int err;

	ops_fill(&ops);
	ctx->se = fuse_session_new(&args, &ops, sizeof(ops), ctx);
	if (!ctx->se)
		return -ENOMEM;
	passthrough_init(&ctx->passthrough, dev_fd, ctx->opt.passthrough);
	err = passthrough_attach_session(&ctx->passthrough, ctx->se);
	if (err < 0)
		return err;
	if (fuse_set_signal_handlers(ctx->se) != 0)
		return -EIO;
	if (!ctx->opt.passthrough)
		log_info("kernel passthrough disabled by --no-passthrough: "
		         "the daemon serves reads and writes itself");
	return 0;
}

/* Runs the multi-threaded loop until unmount or SIGINT/SIGTERM. */
static int run_loop(struct mfs_ctx *ctx)
{
	struct fuse_loop_config *config = fuse_loop_cfg_create();
	int res;

	if (!config)
		return -ENOMEM;
	/* One /dev/fuse clone per worker: no contention on one queue. */
	fuse_loop_cfg_set_clone_fd(config, 1);
	fuse_loop_cfg_set_max_threads(config, (unsigned)ctx->opt.threads);
	fuse_loop_cfg_set_idle_threads(config, (unsigned)(ctx->opt.threads < 4 ? ctx->opt.threads : 4));
	res = fuse_session_loop_mt(ctx->se, config);
	fuse_loop_cfg_destroy(config);
	/* libfuse returns the (positive) signal number when SIGINT, SIGTERM or
	 * SIGHUP ended the loop, 0 after an unmount, -errno on failure. */
	return res > 0 ? 0 : res;
}

int main(int argc, char **argv)
{
	struct mfs_ctx ctx;
	struct mount_result mounted;
	struct stat root_st;
	int exit_code = 1, err;

	memset(&ctx, 0, sizeof(ctx));
	switch (options_parse(argc, argv, &ctx.opt)) {
	case OPTIONS_EXIT_OK:
		return 0;
	case OPTIONS_EXIT_USAGE:
		return 2;
	case OPTIONS_RUN:
		break;
	}
	log_init(0, ctx.opt.debug);
	if (mount_prepare(&ctx.opt, &mounted) < 0)
		return 1;
	ctx.source_path = mounted.source_path;
	ctx.source_path_len = strlen(mounted.source_path);
	if (open_policy(&ctx, mounted.source_fd) < 0)
		goto out_free;
	/* Policy mode: answers depend on the caller, so the kernel may cache no
	 * name and no attribute. Posix mode: the kernel checks modes itself. */
	ctx.entry_timeout = ctx.access ? 0.0 : 1.0;
	ctx.attr_timeout = ctx.access ? 0.0 : 1.0;
	if (fstat(mounted.source_fd, &root_st) != 0 ||
	    inode_table_init(&ctx.inodes, mounted.source_fd, root_st.st_dev, root_st.st_ino) != 0) {
		fprintf(stderr, "mediafsd: cannot set up the inode table\n");
		goto out_policy;
	}
	mounted.source_fd = -1; /* owned by the inode table now */
	ctx.zeroes = redact_zero_buffer_create();
	if (!ctx.zeroes) {
		fprintf(stderr, "mediafsd: cannot map the zero buffer: %s\n", strerror(errno));
		goto out_inodes;
	}
	if (mount_fuse(&ctx.opt, ctx.access == NULL, &mounted) < 0)
		goto out_inodes;
	ctx.dev_major = mounted.dev_major;
	ctx.dev_minor = mounted.dev_minor;
	err = start_session(&ctx, mounted.dev_fd);
	if (err < 0) {
		fprintf(stderr, "mediafsd: cannot start the FUSE session: %s\n", strerror(-err));
		goto out_unmount;
	}
	if (!ctx.opt.foreground) {
		if (fuse_daemonize(0) != 0)
			goto out_unmount;
		log_init(1, ctx.opt.debug);
	}
	err = control_server_start(&ctx, &ctx.control);
	if (err < 0)
		log_warn("control socket unavailable (%s): `mediactl stats` will not work",
		         strerror(-err));
	err = run_loop(&ctx);
	exit_code = err == 0 ? 0 : 1;
	if (err != 0)
		log_err("session loop failed: %s", strerror(-err));
	control_server_stop(ctx.control);
out_unmount:
	if (ctx.se)
		fuse_remove_signal_handlers(ctx.se);
	err = unmount_fuse(mounted.mount_path);
	if (err < 0)
		log_err("unmounting %s: %s", mounted.mount_path, strerror(-err));
	if (ctx.se)
		fuse_session_destroy(ctx.se); /* closes the /dev/fuse descriptor */
	else
		close(mounted.dev_fd);
out_inodes:
	redact_zero_buffer_destroy(ctx.zeroes);
	inode_table_destroy(&ctx.inodes);
out_policy:
	access_close(ctx.access);
out_free:
	mount_result_free(&mounted);
	return exit_code;
}
