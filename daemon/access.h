/*
 * access.h - the daemon's one door to the policy: every FUSE op that needs a
 * decision calls exactly one of these functions. This module gathers the
 * inputs (the caller's app record and permissions, the file's index record,
 * per-file grants) from the database through db/, hands them to the pure
 * decision engine in policy/, and turns the answer into a verdict.
 *
 * FUSE op files never build SQL and never interpret policy themselves.
 *
 * Paths: `relpath` is always relative to SOURCE, without a leading slash:
 * "" is SOURCE itself, "10/DCIM/a.jpg" a file of user 10. The daemon derives
 * it from the backing file descriptor, so it is the file's real current path.
 *
 * Without --db (access_state == NULL) the daemon runs in "posix" mode: every
 * check answers ACCESS_PLAIN and the kernel's default_permissions applies the
 * backing files' own modes. The functions below accept a NULL state and do
 * exactly that, so op files need no special case.
 *
 * Thread safety: every function may be called from any FUSE worker thread at
 * once; the module keeps its own per-thread database connections.
 */
#ifndef MEDIAFS_DAEMON_ACCESS_H
#define MEDIAFS_DAEMON_ACCESS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

struct access_state;

/* Who is asking: from fuse_req_ctx(). */
struct access_caller {
	uid_t uid;
	gid_t gid;
	pid_t pid;
};

/* What is being asked. */
enum access_op {
	ACCESS_OP_SEE,      /* lookup/getattr/readdir entry: may the caller know it exists? */
	ACCESS_OP_READ,     /* open for reading */
	ACCESS_OP_WRITE,    /* open for writing, truncate, setattr(times), fallocate */
	ACCESS_OP_CREATE,   /* create a regular file at relpath (which does not exist yet) */
	ACCESS_OP_DELETE,   /* unlink */
	ACCESS_OP_MKDIR,    /* mkdir at relpath */
	ACCESS_OP_RMDIR,    /* rmdir of relpath */
};

/* The decision for one (caller, path, op). */
enum access_verdict {
	ACCESS_DENY = 0,    /* refused: errno in access_result.err (ENOENT hides existence) */
	ACCESS_PLAIN,       /* allowed on the original bytes (passthrough when possible) */
	ACCESS_REDACT,      /* allowed only on a copy with location metadata zeroed */
	ACCESS_TRANSCODE,   /* allowed only on an AVC copy of an HEVC video */
};

struct access_result {
	enum access_verdict verdict;
	int err;            /* positive errno when verdict == ACCESS_DENY, else 0 */
	const char *rule;   /* static string naming the rule that decided, for logs */
};

/*
 * Opens the policy database at db_path (created when missing, migrated to the
 * current schema), for the tree whose root directory is open as source_fd
 * and whose absolute path is source_path. Creates the per-user standard
 * directories it finds missing for users that have registered apps.
 * Returns 0 and sets *out, or a negative errno with one clear line in
 * *errmsg (static or malloc'd-by-module; print it, do not free it).
 */
int access_open(const char *db_path, int source_fd, const char *source_path,
                struct access_state **out, const char **errmsg);
void access_close(struct access_state *st);

/*
 * Hands the state the scan service that parses media for it (not owned:
 * stop it after access_close). Without one every scan fails with -EIO and
 * media files fail closed. Assumes: called before any other thread uses st.
 */
struct scan_service;
void access_use_scanner(struct access_state *st, struct scan_service *scanner);

/*
 * With SELinux enabled: honour the database's context conditions on app
 * permissions (`mediactl grant UID PERM --context CTX`), reading each
 * caller's context with getpidcon(). Off by default, and then no condition
 * is ever read. Assumes: called before any other thread uses st.
 */
void access_use_caller_contexts(struct access_state *st, int enabled);

/*
 * The one decision function. For ACCESS_OP_SEE, a DENY means "hide it"
 * (err ENOENT) or "not yours" (err EACCES, another user's directory).
 * `st` is the backing file's lstat (NULL for CREATE/MKDIR, where the path
 * does not exist yet). Files never seen before are indexed here.
 * Returns 0 with *res filled (a DENY is still a 0 return), -ENOENT when
 * the file was unlinked or renamed away while the decision was being made
 * (the caller's answer: it is gone), or another negative errno when the
 * policy could not be evaluated (database unreadable): the caller must
 * then fail closed with that errno.
 */
int access_check(struct access_state *st, const struct access_caller *caller,
                 const char *relpath, const struct stat *file_st,
                 enum access_op op, struct access_result *res);

/*
 * rename needs both ends: the caller must be allowed to write (move) the
 * source and could create the target. Same return convention.
 */
int access_check_rename(struct access_state *st, const struct access_caller *caller,
                        const char *from_relpath, const struct stat *from_st,
                        const char *to_relpath, struct access_result *res);

/*
 * Rewrites attributes for presentation to `caller` so that ordinary tools
 * (cp, rm, editors, `test -w`) do not refuse what the policy allows: owner
 * and mode bits reflect what *this caller* may do. Only touches st_uid,
 * st_gid and st_mode's permission bits. No-op when st == NULL state.
 */
void access_present_attr(struct access_state *st, const struct access_caller *caller,
                         const char *relpath, struct stat *file_st);

/*
 * access_check(ACCESS_OP_SEE) and, when the answer is not DENY,
 * access_present_attr() on file_st, from one reading of the database.
 * Same return convention as access_check().
 */
int access_check_see_present(struct access_state *st, const struct access_caller *caller,
                             const char *relpath, struct stat *file_st,
                             struct access_result *res);

/* Index bookkeeping; each returns 0 or a negative errno (logged, not fatal). */
int access_note_created(struct access_state *st, const struct access_caller *caller,
                        const char *relpath, const struct stat *file_st); /* owner = caller, pending */
int access_note_mkdir(struct access_state *st, const struct access_caller *caller,
                      const char *relpath);
int access_note_closed_after_write(struct access_state *st, const char *relpath,
                                   const struct stat *file_st); /* pending cleared; rescan */
int access_note_renamed(struct access_state *st, const char *from_relpath,
                        const char *to_relpath);
int access_note_removed(struct access_state *st, const char *relpath);

/*
 * For the DIRECTORY at relpath: true when the kernel must not cache its name
 * (entry timeout 0) because whether it exists depends on the caller (an
 * app's private Android/data|obb|media/<pkg> area). Regular files always
 * depend on the caller and are never asked about. False without a database.
 */
int access_names_depend_on_caller(struct access_state *st, const char *relpath);

/* ---- Added by the policy module (media metadata for redaction) ---- */

/* A byte range of a file: [offset, offset + length). */
struct access_range {
	uint64_t offset;
	uint64_t length;
};

/*
 * Records what a media scanner found in the regular file at relpath: whether
 * it carries location metadata, its video codec ("hevc", "avc", or NULL when
 * unknown) and the byte ranges a redacted view must zero. Returns 0,
 * -ENOENT when the file is not indexed, or another negative errno.
 */
int access_note_media_info(struct access_state *st, const char *relpath,
                           int has_location, const char *codec,
                           const struct access_range *ranges, size_t count);

/*
 * The ranges a redacted view of relpath must zero for the file as it is now
 * (file_st: its current stat): from the index when the index's media facts
 * describe this size and mtime, else after scanning it again. *out is
 * malloc'd (free it; NULL when *count is 0). Returns 0, or a negative errno:
 * the caller must then serve nothing (fail closed).
 */
int access_redaction_ranges(struct access_state *st, const char *relpath,
                            const struct stat *file_st,
                            struct access_range **out, size_t *count);

/* ---- Added for transcoding ---- */

/* The transcoder's settings as stored; each may be unset ("" or 0), and
 * then transcode/config.h's default applies. */
struct access_transcode_settings {
	char command[4096];
	char cache_dir[4096];
	uint64_t cache_max_bytes;
};

/*
 * Reads the transcoder's settings from the database, as they are now
 * (mediactl may change them while the daemon runs). Without a database,
 * all unset. Returns 0 or a negative errno.
 */
int access_transcode_settings(struct access_state *st, struct access_transcode_settings *out);

/* How many decisions took their inputs from memory (the record cache) and
 * how many read the database. Both 0 without a database. */
void access_counters(struct access_state *st, uint64_t *from_memory, uint64_t *from_db);

#endif
