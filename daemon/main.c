/*
 * main.c - mediafsd: start-up, the session loop, and an orderly exit.
 *
 * Order matters: everything that can fail for a user-visible reason
 * (options, SOURCE, MOUNTPOINT, the database) is checked before mounting,
 * so a failed start leaves no mount behind; the daemon detaches only once
 * the mount is up, so `mediafsd SOURCE MNT && ls MNT` works.
 *
 * Privileges: root is needed to mount, to fork the media scanner as
 * 'nobody' and to change user; then privilege_drop() leaves only what the
 * daemon uses (see privilege.h), before the first thread is created.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/context.h"
#include "daemon/control_server.h"
#include "daemon/log.h"
#include "daemon/mount.h"
#include "daemon/ops.h"
#include "daemon/privilege.h"
#include "daemon/redact.h"
#include "daemon/selinux_labels.h"
#include "daemon/service.h"
#include "index/scan_service.h"
#include "transcode/service.h"
#include "transcode/transcoder.h"

/*
 * Every inode the kernel holds costs one O_PATH descriptor and every open
 * file one more: a limit of 1024 (or a service manager's 20000) would turn
 * a library of 100,000 photos into EMFILE. Started as root, the daemon
 * raises both limits to the kernel's maximum (fs.nr_open) while it still
 * holds CAP_SYS_RESOURCE; otherwise the soft limit goes up to the hard one.
 * A failure only leaves the old limit.
 */
static void raise_fd_limit(void)
{
	struct rlimit limit;
	unsigned long nr_open = 0;
	FILE *f = fopen("/proc/sys/fs/nr_open", "re");

	if (f != NULL) {
		if (fscanf(f, "%lu", &nr_open) != 1)
			nr_open = 0;
		fclose(f);
	}
	if (getrlimit(RLIMIT_NOFILE, &limit) != 0)
		return;
	if (nr_open > limit.rlim_max) {
		struct rlimit wanted = { nr_open, nr_open };
		if (setrlimit(RLIMIT_NOFILE, &wanted) == 0)
			return;
	}
	if (limit.rlim_cur < limit.rlim_max) {
		limit.rlim_cur = limit.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &limit) != 0)
			log_warn("cannot raise the open-file limit: %s", strerror(errno));
	}
}

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

/*
 * The directory for disk copies of redacted views (redact_copy.h):
 * --redact-copy-dir, or SOURCE itself. It must take unnamed files
 * (O_TMPFILE), which is tried here. Without --redact-copy-dir a SOURCE
 * that cannot is not fatal: those views are served by the daemon.
 * Assumes the inode table is set up. Returns 0 (ctx->redact_copy_dir_fd
 * set, or -1 when disk copies are off), or -1 after one line on stderr.
 */
static int open_redact_copy_dir(struct mfs_ctx *ctx)
{
	const char *dir = ctx->opt.redact_copy_dir;
	int dir_fd, probe;

	if (ctx->opt.redact_disk_budget == 0)
		return 0;
	dir_fd = dir ? open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC)
	             : fcntl(ctx->inodes.root.fd, F_DUPFD_CLOEXEC, 3);
	probe = dir_fd < 0 ? -1 : openat(dir_fd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (probe >= 0) {
		close(probe);
		ctx->redact_copy_dir_fd = dir_fd;
		return 0;
	}
	if (dir)
		fprintf(stderr, "mediafsd: --redact-copy-dir '%s': cannot create unnamed files "
		        "there (O_TMPFILE): %s\n", dir, strerror(errno));
	else
		log_warn("no disk copies for redacted views (O_TMPFILE in SOURCE: %s): views of "
		         "files above --redact-copy-max are served by the daemon", strerror(errno));
	if (dir_fd >= 0)
		close(dir_fd);
	return dir ? -1 : 0;
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
	/* libfuse may have copied argv into args to add to it. */
	fuse_opt_free_args(&args);
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
	/* Workers never retire: each keeps its database connection and
	 * prepared statements (db/pool.c) for the daemon's whole life. */
	fuse_loop_cfg_set_idle_threads(config, (unsigned)ctx->opt.threads);
	res = fuse_session_loop_mt(ctx->se, config);
	fuse_loop_cfg_destroy(config);
	/* libfuse returns the (positive) signal number when SIGINT, SIGTERM or
	 * SIGHUP ended the loop, 0 after an unmount, -errno on failure. */
	return res > 0 ? 0 : res;
}

/*
 * Everything between a live session and the loop: detach, pid file, SELinux
 * labels, the media scanner (policy mode), the privilege drop. Assumes: no
 * thread exists yet. Returns 0, or -errno after one line on stderr (the
 * caller unmounts; a detached starter exits 1).
 */
static int become_service(struct mfs_ctx *ctx, const struct privilege_plan *plan,
                          const struct scan_service_config *scan_config, int *notify_fd)
{
	struct privilege_plan effective_plan = *plan;
	int err;

	if (!ctx->opt.foreground) {
		err = service_detach(notify_fd);
		if (err < 0) {
			fprintf(stderr, "mediafsd: cannot detach: %s\n", strerror(-err));
			return err;
		}
		log_init(1, ctx->opt.log_priority);
	}
	if (ctx->opt.pid_file) {
		err = service_write_pid_file(ctx->opt.pid_file);
		if (err < 0) {
			fprintf(stderr, "mediafsd: --pid-file '%s': %s\n", ctx->opt.pid_file,
			        strerror(-err));
			return err;
		}
	}
	err = selinux_labels_open(&ctx->labels);
	if (err < 0) {
		fprintf(stderr, "mediafsd: SELinux file contexts: %s\n", strerror(-err));
		return err;
	}
	if (ctx->access) {
		err = scan_service_start(scan_config, &ctx->scanner);
		if (err < 0) {
			fprintf(stderr, "mediafsd: cannot start the media scanner: %s\n",
			        strerror(-err));
			return err;
		}
		access_use_scanner(ctx->access, ctx->scanner);
		/* Started before the privilege drop: it needs CAP_SETUID to run each
		 * transcoder as the unprivileged user, with no capabilities. */
		err = transcode_service_start(scan_config->uid, scan_config->gid,
		                              &ctx->transcode_service);
		if (err < 0) {
			fprintf(stderr, "mediafsd: cannot start the transcoder service: %s\n",
			        strerror(-err));
			return err;
		}
		access_use_caller_contexts(ctx->access, ctx->labels != NULL);
	}
	effective_plan.posix_mode = ctx->access == NULL;
	return privilege_drop(&effective_plan, ctx->capabilities, sizeof(ctx->capabilities));
}

/* Resolves what must be looked up before threads exist (NSS is not safe
 * after the privilege drop or in forked children). Returns 0 or -errno. */
static int resolve_identities(const struct mfs_options *opt, struct privilege_plan *plan,
                              struct scan_service_config *scan_config)
{
	memset(plan, 0, sizeof(*plan));
	if (opt->user) {
		int err = privilege_resolve_user(opt->user, &plan->uid, &plan->gid);
		if (err < 0)
			return err;
		plan->switch_user = 1;
	}
	return scan_service_default_config(scan_config);
}

int main(int argc, char **argv)
{
	struct mfs_ctx ctx;
	struct mount_result mounted;
	struct privilege_plan plan;
	struct scan_service_config scan_config;
	struct hup_thread *hup = NULL;
	struct stat root_st;
	int exit_code = 1, notify_fd = -1, err;

	memset(&ctx, 0, sizeof(ctx));
	ctx.redact_copy_dir_fd = -1;
	switch (options_parse(argc, argv, &ctx.opt)) {
	case OPTIONS_EXIT_OK:
		return 0;
	case OPTIONS_EXIT_USAGE:
		return 2;
	case OPTIONS_RUN:
		break;
	}
	if (ctx.opt.log_file) {
		err = log_use_file(ctx.opt.log_file);
		if (err < 0) {
			fprintf(stderr, "mediafsd: --log-file '%s': %s\n", ctx.opt.log_file,
			        strerror(-err));
			return 1;
		}
	}
	log_init(0, ctx.opt.log_priority);
	raise_fd_limit();
	if (resolve_identities(&ctx.opt, &plan, &scan_config) < 0)
		return 1;
	if (mount_prepare(&ctx.opt, &mounted) < 0)
		return 1;
	ctx.source_path = mounted.source_path;
	ctx.source_path_len = strlen(mounted.source_path);
	if (open_policy(&ctx, mounted.source_fd) < 0)
		goto out_free;
	/* Policy mode: answers depend on the caller, so the kernel may cache no
	 * file name and no attribute (directory names: see entry_lookup).
	 * Posix mode: the kernel checks modes itself. */
	ctx.entry_timeout = ctx.access ? 0.0 : 1.0;
	ctx.dir_entry_timeout = 1.0;
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
	if (open_redact_copy_dir(&ctx) < 0)
		goto out_inodes;
	redact_copies_init(&ctx.redact_copies, -1, ctx.opt.redact_copy_max,
	                   ctx.opt.redact_copy_budget, ctx.zeroes, REDACT_ZERO_BUFFER_SIZE);
	redact_copies_init(&ctx.redact_disk_copies, ctx.redact_copy_dir_fd,
	                   ctx.redact_copy_dir_fd < 0 ? 0 : ctx.opt.redact_disk_budget,
	                   ctx.opt.redact_disk_budget, ctx.zeroes, REDACT_ZERO_BUFFER_SIZE);
	if (mount_fuse(&ctx.opt, ctx.access == NULL, &mounted) < 0)
		goto out_copies;
	ctx.dev_major = mounted.dev_major;
	ctx.dev_minor = mounted.dev_minor;
	err = start_session(&ctx, mounted.dev_fd);
	if (err < 0) {
		fprintf(stderr, "mediafsd: cannot start the FUSE session: %s\n", strerror(-err));
		goto out_unmount;
	}
	if (become_service(&ctx, &plan, &scan_config, &notify_fd) < 0)
		goto out_unmount;
	log_info("privileges dropped: uid %u, capabilities %s%s", (unsigned)getuid(),
	         ctx.capabilities, ctx.scanner ? "; media parsed by a sandboxed scanner" : "");
	err = service_start_hup_thread(&hup);
	if (err < 0)
		log_warn("SIGHUP will not reopen the log: %s", strerror(-err));
	if (notify_fd >= 0) {
		service_detach_done(notify_fd, 0);
		notify_fd = -1;
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
	service_stop_hup_thread(hup);
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
	if (ctx.opt.pid_file)
		service_remove_pid_file(ctx.opt.pid_file);
	if (notify_fd >= 0)
		service_detach_done(notify_fd, 1);
out_copies:
	redact_copies_destroy(&ctx.redact_copies);
	redact_copies_destroy(&ctx.redact_disk_copies);
out_inodes:
	if (ctx.redact_copy_dir_fd >= 0)
		close(ctx.redact_copy_dir_fd);
	inode_table_destroy(&ctx.inodes);
	redact_zero_buffer_destroy(ctx.zeroes);
out_policy:
	access_close(ctx.access);
	scan_service_stop(ctx.scanner);
	transcoder_destroy(ctx.transcoder);
	transcode_service_stop(ctx.transcode_service);
	selinux_labels_close(ctx.labels);
out_free:
	mount_result_free(&mounted);
	return exit_code;
}
