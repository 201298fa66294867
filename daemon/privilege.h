/*
 * privilege.h - least privilege for mediafsd. It starts as root, opens
 * /dev/fuse and mounts, then calls privilege_drop() once, before any thread
 * exists (capabilities are per thread), and from then on holds only the
 * capabilities listed with a reason in privilege.c:
 *
 *   CAP_SYS_ADMIN     passthrough backing files, and the final unmount;
 *   CAP_DAC_OVERRIDE  the backing tree: reopen files whatever owner and mode;
 *   CAP_FOWNER        set times on files the daemon does not own;
 *   CAP_CHOWN         posix mode only: new names belong to their creator.
 *
 * Everything else leaves the permitted, effective, inheritable, ambient and
 * bounding sets; no_new_privs and SECBIT_NOROOT (locked) are set, so no
 * program the daemon might exec gets a capability; with --user it becomes
 * that user (keeping exactly the set above across the switch).
 * Media parsing holds none of these: it runs in index/scan_service.
 */
#ifndef MEDIAFS_DAEMON_PRIVILEGE_H
#define MEDIAFS_DAEMON_PRIVILEGE_H

#include <stddef.h>
#include <sys/types.h>

struct privilege_plan {
	int posix_mode;        /* new files are chowned to their creator */
	int switch_user;       /* --user was given */
	uid_t uid;             /* its ids, resolved by privilege_resolve_user() */
	gid_t gid;
};

/*
 * Looks up `name` (a user name or a decimal uid) in the password database.
 * Call before threads exist (getpwnam). Returns 0, or -ENOENT after
 * printing one line to stderr.
 */
int privilege_resolve_user(const char *name, uid_t *uid, gid_t *gid);

/*
 * Drops to the plan. Assumes: the process is single-threaded (checked:
 * -EBUSY otherwise) and still holds every capability the plan keeps, plus
 * CAP_SETPCAP, and CAP_SETUID/CAP_SETGID when switching user.
 * Guarantees on 0: the sets are exactly as described above, verified by
 * reading them back, and caps_text holds the effective set in cap_to_text()
 * form ("cap_chown,...=ep"). On a negative errno one line was printed to
 * stderr and the caller must exit: a half-dropped daemon must not serve.
 */
int privilege_drop(const struct privilege_plan *plan, char *caps_text, size_t text_size);

#endif
