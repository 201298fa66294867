/*
 * engine.h - the access decision, as a pure function of its inputs: who asks
 * (an app record), what the path is (policy/path.h), what the index knows
 * about the file, which per-file grant the caller holds, and what it wants.
 * No I/O, no allocation, no state: the caller gathers every input first.
 *
 * Every decision names the rule that made it (a static string, for logs and
 * `mediactl check`).
 */
#ifndef MEDIAFS_POLICY_ENGINE_H
#define MEDIAFS_POLICY_ENGINE_H

#include <stdint.h>
#include <sys/types.h>

#include "policy/path.h"

/* App permissions, as bits of policy_app.permissions. */
#define POLICY_PERM_READ_MEDIA_IMAGES        (1u << 0)
#define POLICY_PERM_READ_MEDIA_VIDEO         (1u << 1)
#define POLICY_PERM_READ_MEDIA_AUDIO         (1u << 2)
#define POLICY_PERM_ACCESS_MEDIA_LOCATION    (1u << 3)
#define POLICY_PERM_MANAGE_EXTERNAL_STORAGE  (1u << 4)
#define POLICY_PERM_COUNT 5

/* uids below this are the system: everything, unredacted. */
#define POLICY_FIRST_APP_UID 10000
/* An app's user is uid / POLICY_PER_USER_RANGE. */
#define POLICY_PER_USER_RANGE 100000

/* The caller. An unregistered uid is an app with no package and no permissions. */
struct policy_app {
	uid_t uid;
	const char *package;        /* NULL when not registered */
	unsigned permissions;       /* POLICY_PERM_* bits */
	int no_hevc;                /* registered with --no-hevc */
};

/* What the index knows about an existing regular file. */
struct policy_file {
	int indexed;                /* 0: no record (treated as: no owner, not pending) */
	int64_t owner_uid;          /* -1: no owner (appeared behind the daemon's back) */
	int pending;                /* created, not yet closed: only the owner sees it */
	int has_location;
	int is_hevc;
};

/* The caller's per-file grant (both 0 when none). */
struct policy_grant {
	int read;
	int write;                  /* implies read */
};

enum policy_op {
	POLICY_OP_SEE,              /* may the caller know it exists, and which view (plain, redacted, transcoded) does its lookup get? */
	POLICY_OP_READ,             /* open for reading (or list a directory) */
	POLICY_OP_WRITE,            /* open for writing, truncate, setattr */
	POLICY_OP_CREATE,           /* create a regular file here */
	POLICY_OP_DELETE,           /* unlink */
	POLICY_OP_MKDIR,
	POLICY_OP_RMDIR,
	POLICY_OP_RENAME_FROM,      /* move this file or directory away */
};

enum policy_verdict {
	POLICY_DENY = 0,
	POLICY_PLAIN,
	POLICY_REDACT,
	POLICY_TRANSCODE,
};

struct policy_request {
	const struct policy_app *app;
	const struct policy_path *path;
	int is_dir;                 /* the existing object is a directory */
	const struct policy_file *file;   /* NULL: not indexed */
	const struct policy_grant *grant; /* NULL: none */
	enum policy_op op;
};

struct policy_decision {
	enum policy_verdict verdict;
	int err;                    /* positive errno when DENY, else 0 */
	const char *rule;           /* static */
};

/* Decides one request. Assumes every pointer in req except file/grant is
 * valid. Always fills *out. */
void policy_decide(const struct policy_request *req, struct policy_decision *out);

/*
 * Decides a rename: `from` must be movable by the caller (RENAME_FROM) and
 * the target creatable (CREATE for a file, MKDIR for a directory).
 */
void policy_decide_rename(const struct policy_request *from,
                          const struct policy_path *to_path,
                          struct policy_decision *out);

/*
 * The permission bits of st_mode to present to the caller for an existing
 * object (0700/0500 for directories, 0600/0400/0 for files, plus the owner
 * execute bit of `real_mode` for files the caller may read). Returns -1 when
 * the attributes must be shown unchanged (system callers).
 */
int policy_present_mode(const struct policy_request *req, mode_t real_mode);

int policy_is_system_uid(uid_t uid);

/* Permission name <-> bit. from_name returns 0 or -EINVAL (unknown name). */
int policy_permission_from_name(const char *name, unsigned *bit);
const char *policy_permission_name(unsigned bit);

const char *policy_verdict_name(enum policy_verdict verdict);

#endif
