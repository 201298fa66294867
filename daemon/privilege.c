/* privilege.c - see privilege.h. */
#include "daemon/privilege.h"

#include <dirent.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <linux/securebits.h>
#include <sys/prctl.h>
#include <unistd.h>

/*
 * The whole list of what mediafsd keeps after start-up. Adding a line here
 * is a security decision: say what breaks without it.
 */
static const struct kept_capability {
	cap_value_t cap;
	int posix_mode_only;
	const char *why;
} kept_capabilities[] = {
	{ CAP_SYS_ADMIN, 0,
	  "FUSE_DEV_IOC_BACKING_OPEN (kernel passthrough) checks it on every registration, "
	  "and umount2() at exit needs it" },
	{ CAP_DAC_OVERRIDE, 0,
	  "backing files and directories belong to apps (posix mode) or to whoever put them "
	  "in SOURCE; the daemon reopens, reads, writes and lists them whatever their modes. "
	  "It also covers what CAP_DAC_READ_SEARCH would, so that one is dropped" },
	{ CAP_FOWNER, 0,
	  "utimensat() with explicit times (touch -d, cp -p, rsync) on files the daemon does "
	  "not own, and unlink/rename in sticky directories" },
	{ CAP_CHOWN, 1,
	  "posix mode only: a new file or directory is fchown()ed to the app that created it; "
	  "in policy mode backing files stay the daemon's" },
};

#define KEPT_COUNT (sizeof(kept_capabilities) / sizeof(kept_capabilities[0]))

int privilege_resolve_user(const char *name, uid_t *uid, gid_t *gid)
{
	struct passwd *pw = getpwnam(name);
	char *end;

	if (!pw) {
		unsigned long n = strtoul(name, &end, 10);
		if (*name && !*end && n < (unsigned long)(uid_t)-1)
			pw = getpwuid((uid_t)n);
	}
	if (!pw) {
		fprintf(stderr, "mediafsd: --user '%s': no such user\n", name);
		return -ENOENT;
	}
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	return 0;
}

/* Capabilities must be dropped before any thread exists: they are per
 * thread, and a thread created earlier would keep them. */
static int count_threads(void)
{
	DIR *tasks = opendir("/proc/self/task");
	struct dirent *entry;
	int count = 0;

	if (!tasks)
		return -errno;
	while ((entry = readdir(tasks)) != NULL)
		count += entry->d_name[0] != '.';
	closedir(tasks);
	return count;
}

/* True when the plan keeps `cap` (posix-only capabilities in posix mode only). */
static int is_kept(const struct privilege_plan *plan, cap_value_t cap)
{
	for (size_t i = 0; i < KEPT_COUNT; i++)
		if (kept_capabilities[i].cap == cap)
			return plan->posix_mode || !kept_capabilities[i].posix_mode_only;
	return 0;
}

/* The exact set the daemon runs with: kept caps permitted and effective. */
static cap_t wanted_set(const struct privilege_plan *plan)
{
	cap_value_t list[KEPT_COUNT];
	int n = 0;
	cap_t caps = cap_init();

	if (!caps)
		return NULL;
	for (size_t i = 0; i < KEPT_COUNT; i++)
		if (is_kept(plan, kept_capabilities[i].cap))
			list[n++] = kept_capabilities[i].cap;
	if (cap_set_flag(caps, CAP_PERMITTED, n, list, CAP_SET) != 0 ||
	    cap_set_flag(caps, CAP_EFFECTIVE, n, list, CAP_SET) != 0) {
		cap_free(caps);
		return NULL;
	}
	return caps;
}

/* Removes every capability the daemon does not keep from the bounding set,
 * so that not even an exec could bring one back. */
static int shrink_bounding_set(const struct privilege_plan *plan)
{
	for (cap_value_t cap = 0; cap <= CAP_LAST_CAP; cap++) {
		if (is_kept(plan, cap) || prctl(PR_CAPBSET_READ, cap, 0, 0, 0) != 1)
			continue;
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0) {
			fprintf(stderr, "mediafsd: cannot drop %s from the bounding set: %s\n",
			        cap_to_name(cap), strerror(errno));
			return -errno;
		}
	}
	return 0;
}

/*
 * Locks "root is not special": with SECBIT_NOROOT a uid-0 daemon that
 * execs anything (a transcoder, a helper) gives the new program no
 * capabilities; locked, so it cannot be undone. Needs CAP_SETPCAP, hence
 * before the final set. Returns 0 or -errno.
 */
static int lock_noroot(void)
{
	int bits = prctl(PR_GET_SECUREBITS, 0, 0, 0, 0);

	if (bits < 0 ||
	    prctl(PR_SET_SECUREBITS, bits | SECBIT_NOROOT | SECBIT_NOROOT_LOCKED, 0, 0, 0) != 0) {
		fprintf(stderr, "mediafsd: cannot set SECBIT_NOROOT: %s\n", strerror(errno));
		return -errno;
	}
	return 0;
}

/* Becomes plan->uid/gid keeping the permitted set (PR_SET_KEEPCAPS). */
static int switch_user(const struct privilege_plan *plan)
{
	int err = 0;

	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0)
		return -errno;
	if (setgroups(0, NULL) != 0 || setresgid(plan->gid, plan->gid, plan->gid) != 0 ||
	    setresuid(plan->uid, plan->uid, plan->uid) != 0)
		err = -errno;
	prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
	if (err < 0)
		fprintf(stderr, "mediafsd: cannot switch to uid %u gid %u: %s\n",
		        (unsigned)plan->uid, (unsigned)plan->gid, strerror(-err));
	return err;
}

/* Reads everything back: the running state must be the plan, exactly. */
static int verify(const struct privilege_plan *plan, cap_t wanted)
{
	cap_t now = cap_get_proc();
	int same = now && cap_compare(now, wanted) == 0;

	cap_free(now);
	if (!same) {
		fprintf(stderr, "mediafsd: capability sets differ from the plan after dropping\n");
		return -EPERM;
	}
	for (cap_value_t cap = 0; cap <= CAP_LAST_CAP; cap++) {
		if (!is_kept(plan, cap) && prctl(PR_CAPBSET_READ, cap, 0, 0, 0) == 1) {
			fprintf(stderr, "mediafsd: %s is still in the bounding set\n", cap_to_name(cap));
			return -EPERM;
		}
	}
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1 ||
	    !(prctl(PR_GET_SECUREBITS, 0, 0, 0, 0) & SECBIT_NOROOT) ||
	    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, CAP_SYS_ADMIN, 0, 0) == 1) {
		fprintf(stderr, "mediafsd: no_new_privs or ambient set not as planned\n");
		return -EPERM;
	}
	if (plan->switch_user && plan->uid != 0 && (setuid(0) == 0 || geteuid() == 0)) {
		fprintf(stderr, "mediafsd: could become root again after --user\n");
		return -EPERM;
	}
	return 0;
}

int privilege_drop(const struct privilege_plan *plan, char *caps_text, size_t text_size)
{
	cap_t wanted, now;
	char *text;
	int threads = count_threads(), err;

	if (threads != 1) {
		fprintf(stderr, "mediafsd: refusing to drop privileges with %d threads running\n",
		        threads);
		return -EBUSY;
	}
	wanted = wanted_set(plan);
	if (!wanted)
		return -ENOMEM;
	err = prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 ? 0 : -errno;
	if (err == 0 && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 &&
	    errno != EINVAL)
		err = -errno;
	if (err == 0)
		err = shrink_bounding_set(plan);
	if (err == 0)
		err = lock_noroot();
	if (err == 0 && plan->switch_user)
		err = switch_user(plan);
	if (err == 0 && cap_set_proc(wanted) != 0) {
		err = -errno;
		fprintf(stderr, "mediafsd: cannot set capabilities (was a kept one missing at "
		        "start?): %s\n", strerror(-err));
	}
	if (err == 0)
		err = verify(plan, wanted);
	cap_free(wanted);
	if (err < 0)
		return err;
	now = cap_get_proc();
	text = now ? cap_to_text(now, NULL) : NULL;
	snprintf(caps_text, text_size, "%s", text ? text : "?");
	cap_free(text);
	cap_free(now);
	return 0;
}
