/* transcoder.c - see transcoder.h. */
#include "transcode/transcoder.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "transcode/cache.h"
#include "transcode/command.h"
#include "transcode/runner.h"
#include "transcode/service.h"

#define FAILURES_MAX 256
#define WHY_MAX 256

/* One run in progress or just finished, shared by everyone who asked. */
struct transcode_job {
	struct transcode_key key;
	unsigned users;              /* the runner and its waiters; the last one frees */
	int done;
	int result;                  /* once done: 0 or a negative errno */
	int copy_fd;                 /* once done with 0 and with waiters: for them to dup */
	char why[WHY_MAX];           /* once done with an error */
	pthread_cond_t finished;     /* broadcast when done is set */
	struct transcode_job *next;
};

/* A run that failed: for this source version with this command. A new
 * command (the administrator's fix) deserves a new attempt. */
struct failed_version {
	struct transcode_key key;
	uint64_t command_hash;
	char why[WHY_MAX];
};

struct transcoder {
	/* Protects jobs, every job's fields but key, and the failure ring. */
	pthread_mutex_t lock;
	struct transcode_job *jobs;  /* runs not yet done; a done job is off this list */
	struct failed_version failures[FAILURES_MAX];   /* ring, newest at failure_next - 1 */
	size_t failure_count, failure_next;
	struct transcode_service *service;  /* not owned; immutable */
	/* Serializes link + eviction in the cache directory, so two commits
	 * never evict by listings that miss each other's entry. */
	pthread_mutex_t commit_lock;
};

int transcoder_create(struct transcode_service *service, struct transcoder **out)
{
	struct transcoder *tc = calloc(1, sizeof(*tc));

	if (!tc)
		return -ENOMEM;
	tc->service = service;
	pthread_mutex_init(&tc->lock, NULL);
	pthread_mutex_init(&tc->commit_lock, NULL);
	*out = tc;
	return 0;
}

void transcoder_destroy(struct transcoder *tc)
{
	if (!tc)
		return;
	pthread_mutex_destroy(&tc->lock);
	pthread_mutex_destroy(&tc->commit_lock);
	free(tc);
}

/* Assumes tc->lock. The failure remembered for exactly this version and
 * command, or NULL. */
static const struct failed_version *failure_of(struct transcoder *tc,
                                               const struct transcode_key *key,
                                               uint64_t command_hash)
{
	for (size_t i = 0; i < tc->failure_count; i++)
		if (transcode_key_equal(&tc->failures[i].key, key) &&
		    tc->failures[i].command_hash == command_hash)
			return &tc->failures[i];
	return NULL;
}

/* Assumes tc->lock. Remembers a failed version, replacing what was
 * remembered about older versions of the same file (they cannot come back). */
static void remember_failure(struct transcoder *tc, const struct transcode_key *key,
                             uint64_t command_hash, const char *why)
{
	struct failed_version *slot = NULL;

	for (size_t i = 0; i < tc->failure_count && !slot; i++)
		if (transcode_key_same_file(&tc->failures[i].key, key))
			slot = &tc->failures[i];
	if (!slot) {
		slot = &tc->failures[tc->failure_next];
		tc->failure_next = (tc->failure_next + 1) % FAILURES_MAX;
		if (tc->failure_count < FAILURES_MAX)
			tc->failure_count++;
	}
	slot->key = *key;
	slot->command_hash = command_hash;
	snprintf(slot->why, sizeof(slot->why), "%s", why);
}

/* Assumes tc->lock. Drops one user of a done job; the last one frees it. */
static void job_put(struct transcode_job *job)
{
	if (--job->users > 0)
		return;
	if (job->copy_fd >= 0)
		close(job->copy_fd);
	pthread_cond_destroy(&job->finished);
	free(job);
}

/* A read-only descriptor of the same file as fd. */
static int reopen_read_only(int fd)
{
	char proc_path[64];
	int ro;

	snprintf(proc_path, sizeof(proc_path), "/proc/self/fd/%d", fd);
	ro = open(proc_path, O_RDONLY | O_CLOEXEC);
	return ro < 0 ? -errno : ro;
}

/*
 * The descriptor the transcoder reads: the source itself when anyone may
 * read it (the transcoder reopens it through /dev/fd, as it must to seek:
 * a pipe cannot carry an MP4 whose index is at its end), else an unnamed
 * copy it may read. Returns the descriptor (*is_copy says whether
 * to close it) or a negative errno.
 */
static int input_for_transcoder(int dirfd, int source_fd, const struct stat *st, int *is_copy)
{
	int copy, rc;
	off_t left = st->st_size;

	*is_copy = 0;
	if (st->st_mode & S_IROTH)
		return source_fd;
	rc = tcache_tmpfile(dirfd, &copy);
	if (rc < 0)
		return rc;
	while (left > 0) {
		ssize_t n = copy_file_range(source_fd, NULL, copy, NULL, (size_t)left, 0);
		if (n <= 0) {
			rc = n < 0 ? -errno : -EIO;
			close(copy);
			return rc;
		}
		left -= n;
	}
	/* Readable by anyone, yet reachable only through a descriptor: it has
	 * no name. (The daemon may not chown: it holds no CAP_CHOWN.) */
	if (fchmod(copy, 0644) != 0 || lseek(source_fd, 0, SEEK_SET) < 0) {
		rc = -errno;
		close(copy);
		return rc;
	}
	*is_copy = 1;
	return copy;
}

/* Runs the transcode of source_fd into a new unnamed file of the cache;
 * returns 0 with *out_fd, or a negative errno with `why` filled. Sets
 * *ran once the transcoder process is about to start. */
static int run_transcode(struct transcoder *tc, const struct transcode_config *cfg, int dirfd,
                         int source_fd, const struct stat *st, int *out_fd, int *ran,
                         char *why, size_t why_len)
{
	struct transcode_run_spec spec = {
		.command = cfg->command, .uid = TRANSCODE_UID, .gid = TRANSCODE_GID,
		.timeout_ms = transcode_timeout_ms((uint64_t)st->st_size),
		.max_output_bytes = cfg->cache_max_bytes,
	};
	struct stat out_st;
	const char *bad = NULL;
	int out, input, input_is_copy, rc;

	if (transcode_command_validate(cfg->command, &bad) < 0) {
		snprintf(why, why_len, "bad transcoder command: %s", bad);
		return -EINVAL;
	}
	rc = tcache_tmpfile(dirfd, &out);
	if (rc < 0) {
		snprintf(why, why_len, "cannot create a file in %.160s: %s", cfg->cache_dir,
		         strerror(-rc));
		return rc;
	}
	input = input_for_transcoder(dirfd, source_fd, st, &input_is_copy);
	/* Writable through /dev/fd by the transcoder while it has no name. */
	if (input < 0 || fchmod(out, 0666) != 0) {
		rc = input < 0 ? input : -errno;
		snprintf(why, why_len, "cannot prepare the transcoder's files: %s", strerror(-rc));
		if (input_is_copy)
			close(input);
		close(out);
		return rc;
	}
	spec.input_fd = input;
	spec.output_fd = out;
	*ran = 1;
	rc = transcode_service_run(tc->service, &spec, why, why_len);
	if (input_is_copy)
		close(input);
	/* Private before it gets a name in the cache. */
	if (rc == 0 && (fchmod(out, 0600) != 0 || fstat(out, &out_st) != 0))
		rc = -errno;
	if (rc == 0 && out_st.st_size == 0) {
		snprintf(why, why_len, "the transcoder exited 0 but wrote nothing");
		rc = -EIO;
	}
	if (rc < 0) {
		close(out);
		return rc;
	}
	*out_fd = out;
	return 0;
}

/*
 * Finds or makes the copy of the source version `key`. Returns 0 with
 * *copy_fd (read-only) and *hit, or a negative errno with `why` filled;
 * *ran says whether the transcoder process was started.
 */
static int produce(struct transcoder *tc, const struct transcode_config *cfg, int source_fd,
                   const struct stat *st, const struct transcode_key *key, int *copy_fd,
                   int *hit, int *ran, char *why, size_t why_len)
{
	struct transcode_key now = { 0 };
	struct stat after;
	int dirfd, out = -1, rc = tcache_open_dir(cfg->cache_dir, 1, &dirfd);

	*hit = *ran = 0;
	if (rc < 0) {
		snprintf(why, why_len, "cache directory %.160s: %s", cfg->cache_dir, strerror(-rc));
		return rc;
	}
	rc = tcache_lookup(dirfd, key, copy_fd);
	if (rc == 0) {
		*hit = 1;
		close(dirfd);
		return 0;
	}
	rc = run_transcode(tc, cfg, dirfd, source_fd, st, &out, ran, why, why_len);
	if (rc == 0) {
		/* A source rewritten during the run is served but not cached:
		 * the copy may mix both versions, and its key names the old one. */
		if (fstat(source_fd, &after) == 0)
			transcode_key_of(&after, &now);
		if (transcode_key_equal(&now, key)) {
			pthread_mutex_lock(&tc->commit_lock);
			tcache_commit(dirfd, out, key, cfg->cache_max_bytes);
			pthread_mutex_unlock(&tc->commit_lock);
		}
		rc = reopen_read_only(out);
		close(out);
		if (rc >= 0) {
			*copy_fd = rc;
			rc = 0;
		} else {
			snprintf(why, why_len, "reopening the copy: %s", strerror(-rc));
		}
	}
	close(dirfd);
	return rc;
}

/* Assumes tc->lock, and that job is done. What a waiter takes away. */
static int take_result(struct transcode_job *job, int *copy_fd, char *errbuf, size_t errlen)
{
	if (job->result < 0) {
		snprintf(errbuf, errlen, "%s", job->why);
		return job->result;
	}
	*copy_fd = fcntl(job->copy_fd, F_DUPFD_CLOEXEC, 0);
	return *copy_fd < 0 ? -errno : 0;
}

int transcoder_get_copy(struct transcoder *tc, const struct transcode_config *cfg,
                        int source_fd, int *copy_fd, enum transcode_outcome *outcome,
                        char *errbuf, size_t errlen)
{
	const struct failed_version *failed;
	struct transcode_job *job;
	struct transcode_key key;
	uint64_t command_hash = transcode_hash_text(cfg->command);
	struct stat st;
	int rc, hit, ran;

	*outcome = TRANSCODE_NOT_RUN;
	if (fstat(source_fd, &st) != 0) {
		snprintf(errbuf, errlen, "fstat: %s", strerror(errno));
		return -errno;
	}
	transcode_key_of(&st, &key);
	pthread_mutex_lock(&tc->lock);
	if ((failed = failure_of(tc, &key, command_hash)) != NULL) {
		snprintf(errbuf, errlen, "%s", failed->why);
		pthread_mutex_unlock(&tc->lock);
		*outcome = TRANSCODE_FAILED_BEFORE;
		return -EIO;
	}
	for (job = tc->jobs; job && !transcode_key_equal(&job->key, &key); job = job->next)
		;
	if (job) {
		job->users++;
		while (!job->done)
			pthread_cond_wait(&job->finished, &tc->lock);
		rc = take_result(job, copy_fd, errbuf, errlen);
		*outcome = job->result < 0 ? TRANSCODE_FAILED_BEFORE : TRANSCODE_JOINED;
		job_put(job);
		pthread_mutex_unlock(&tc->lock);
		return rc;
	}
	job = calloc(1, sizeof(*job));
	if (!job) {
		pthread_mutex_unlock(&tc->lock);
		snprintf(errbuf, errlen, "out of memory");
		return -ENOMEM;
	}
	job->key = key;
	job->users = 1;
	job->copy_fd = -1;
	pthread_cond_init(&job->finished, NULL);
	job->next = tc->jobs;
	tc->jobs = job;
	pthread_mutex_unlock(&tc->lock);

	rc = produce(tc, cfg, source_fd, &st, &key, copy_fd, &hit, &ran, job->why, sizeof(job->why));

	pthread_mutex_lock(&tc->lock);
	for (struct transcode_job **link = &tc->jobs; *link; link = &(*link)->next) {
		if (*link == job) {
			*link = job->next;
			break;
		}
	}
	/* Only the command's own failures are remembered: a full disk or a
	 * missing cache directory may be fixed without the source changing. */
	if (rc < 0 && ran && (rc == -EIO || rc == -ETIMEDOUT))
		remember_failure(tc, &key, command_hash, job->why);
	if (rc < 0 && ran)
		rc = -EIO;
	job->result = rc;
	if (rc == 0 && job->users > 1)
		job->copy_fd = fcntl(*copy_fd, F_DUPFD_CLOEXEC, 0);
	if (rc == 0 && job->users > 1 && job->copy_fd < 0) {
		job->result = -EIO;
		snprintf(job->why, sizeof(job->why), "dup: %s", strerror(errno));
	}
	job->done = 1;
	pthread_cond_broadcast(&job->finished);
	if (rc < 0)
		snprintf(errbuf, errlen, "%s", job->why);
	*outcome = rc < 0 ? (ran ? TRANSCODE_FAILED : TRANSCODE_NOT_RUN)
	                  : (hit ? TRANSCODE_HIT : TRANSCODE_MADE);
	job_put(job);
	pthread_mutex_unlock(&tc->lock);
	return rc;
}
