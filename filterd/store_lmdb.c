/*
 * store_lmdb.c -- the embedded store backend: one LMDB environment
 *
 * The default store for a single host: a memory-mapped B+tree in the
 * configured directory (created 0700 if missing), durable across a
 * restart and a kill -9, no server to run.
 *
 * Layout. One unnamed database. A key is the 17-byte hashed key of
 * store_backend.h; a value starts with the entry's expiry (int64 unix
 * seconds) and continues by type:
 *   greylist  first_seen (int64), passes (uint32)
 *   awl       count (uint32)
 *   rate      TAT, the GCRA theoretical arrival time (int64 microseconds)
 *   kv        the caller's bytes (an incr counter is a decimal string, so
 *             kv_get reads the same bytes as from Redis)
 * in host byte order: the file is local to the host that writes it. A
 * meta entry (tag 0) holds the format version.
 *
 * Expired entries are absent to every operation; a background thread
 * deletes them every sweep-interval, scanning in chunks and deleting in
 * small write transactions so writers never wait long.
 *
 * Writes. LMDB allows one write transaction at a time; a mutex (the
 * write leader) makes that explicit, so that the sweeper and the crash
 * marker can take part. With `sync no` a commit costs microseconds and
 * each writer runs its own transaction under the mutex: handing work
 * between threads would cost more (a condition broadcast and a wake-up
 * per waiter; at 64 connections it cost a tenth of the throughput).
 * With `sync yes` a commit costs a disk flush (some 100-200us), so many
 * milter threads would queue behind each other's flushes: group commit.
 * A writer appends its operation to a queue; the first thread to find
 * no batch in progress runs every queued operation in one transaction
 * (in queue order, each seeing the ones before it, so each stays
 * atomic) and commits once. The others wait for their result, and one
 * of those left over leads the next batch. A failure that spoils the
 * transaction (a full map) fails the whole batch; the caller sees
 * FD_STORE_ERR.
 *
 * Durability. A kill -9 (or any crash) of filterd loses nothing either
 * way: a committed transaction is in the kernel's page cache the moment
 * mdb_txn_commit returns. What `sync` chooses is what a crash of the
 * machine (power, kernel) may cost:
 *
 *   sync no (default)  commits are not flushed (MDB_NOSYNC, and
 *                      MDB_WRITEMAP: a commit writes into the map, no
 *                      write(2) per page); the sweeper thread flushes the
 *                      map once a second. A machine crash loses at most
 *                      the last second of greylist and rate updates, and
 *                      may leave the file damaged (LMDB does not order
 *                      unflushed writes). So a damaged file is never
 *                      used: while unflushed commits exist, a marker
 *                      file `unflushed` in the directory holds the
 *                      kernel's boot id; at open, a marker with another
 *                      boot id (or none readable) means the machine went
 *                      down with writes in flight, and the data file is
 *                      set aside as data.mdb.crashed and a new, empty
 *                      store started, with a warning. A marker with this
 *                      boot's id is what a kill -9 leaves: the page cache
 *                      has every commit, the file is used as is.
 *   sync yes           every commit is flushed (MDB_NOMETASYNC: data
 *                      pages at each commit, the meta page lazily), so a
 *                      machine crash loses at most the commit in flight
 *                      and never damages the file; each batch of writes
 *                      then waits for the disk.
 *
 * The default favours throughput: the state is soft (a lost greylist
 * entry costs one more delay, a lost rate event one message more), a
 * flush per commit cost filterd half its throughput on the bench
 * (docs/PERFORMANCE.md), and the marker keeps the worst case at "start
 * empty after a power cut", never "run on a damaged file".
 *
 * MDB_NOTLS, because libmilter threads come and go: read transactions
 * are not tied to the thread that began them.
 *
 * An environment must not cross a fork (LMDB keys its reader slots by
 * pid, and the sweeper thread stays behind in the parent): a process that
 * did not open the store gets FD_STORE_ERR, saying so, from every call.
 * Open the store after daemonizing.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <lmdb.h>

#include "clock.h"
#include "log.h"
#include "store_backend.h"
#include "xalloc.h"

#define LM_FORMAT	"1"
#define LM_CHUNK	512	/* entries a sweep step looks at */
#define LM_HDR		8	/* the expiry in front of each value */
#define LM_RESERVE	(16 << 20) /* disk kept allocated past the last page */
#define LM_RESERVE_OPEN	(1 << 20)  /* the same at open, for its one write */
#define LM_FILL_MAX	90	/* percent of the map new entries may fill */
#define LM_FILL_AUX	95	/* the same for a client's counters */
#define LM_FULL		(-3)	/* lm_room's refusal, within the backend */

/* the meta key: tag 0, then a name */
static const unsigned char lm_meta[FD_SK_LEN] = "\0filterd-format";

struct lm;

/* One queued write: fn runs inside the batch's transaction. */
struct lm_op {
	int		(*fn)(struct lm *, MDB_txn *, void *arg, char *err,
			    size_t errlen);
	void		*arg;
	int		 rc;
	char		*err;
	size_t		 errlen;
	int		 done;
	int		 full;		/* refused for room: not run again */
	struct lm_op	*next;
};

struct lm {
	MDB_env		*env;
	MDB_dbi		 dbi;
	char		*path;
	uint64_t	 map_size;
	int		 sync;
	int64_t		 sweep_ms;
	const struct fd_clock *clock;
	pid_t		 pid;		/* the process that opened it */
	unsigned	 forks;		/* lm_forks when it opened it */

	/* the write leader: one writer at a time (see lm_write) */
	pthread_mutex_t	 wmu;

	/* group commit, sync yes */
	pthread_mutex_t	 qmu;
	pthread_cond_t	 qcv;
	struct lm_op	*qhead;
	struct lm_op	**qtail;
	int		 leader;	/* a batch is being run */

	/* sync no: the crash marker (see Durability above); marked and
	 * the marker file belong to the write leader, and the flusher
	 * peeks at marked without being it */
	int		 marked;	/* atomic: the marker file exists */
	int		 written;	/* atomic: commits since the last flush */
	char		 boot[64];	/* this boot's id, "" if unknown */

	/* sync no: see lm_reserve; the write leader's */
	int		 fd;		/* the data file */
	size_t		 psize;		/* LMDB's page size */
	off_t		 reserved;	/* bytes allocated from the start */

	/* sweeper thread */
	pthread_t	 sweeper;
	pthread_mutex_t	 smu;
	pthread_cond_t	 scv;
	int		 stop;
	int64_t		 sweep_logged;	/* monotonic ms: a clock step back */
	int64_t		 flush_logged;	/* must not silence these lines */

	/* test hooks: see fd_lmdb_test_flush, fd_lmdb_test_commit_hook */
	int		 test_flush;	/* atomic: the sweeper does not flush */
	void		(*commit_hook)(void *);
	void		*hook_arg;
};

/*
 * Errors
 */

/* lm_fail - say what failed, naming a full map plainly; FD_SB_FAIL */
static int
lm_fail(struct lm *lm, int rc, const char *what, char *err, size_t errlen)
{
	if (rc == MDB_MAP_FULL)
		snprintf(err, errlen, "%s: the map is full (map-size %" PRIu64
		    " bytes): raise map-size or shorten the TTLs", what,
		    lm->map_size);
	else
		snprintf(err, errlen, "%s: %s", what, mdb_strerror(rc));
	return FD_SB_FAIL;
}

/*
 * Values
 */

/* rd64 - an int64 from unaligned bytes */
static int64_t
rd64(const unsigned char *p)
{
	int64_t	 v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* rd32 - a uint32 from unaligned bytes */
static uint32_t
rd32(const unsigned char *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* lm_get - the live value of k: 0, MDB_NOTFOUND (absent or expired), or
 * an LMDB error. The value stays valid until the next write in txn. */
static int
lm_get(struct lm *lm, MDB_txn *txn, const struct fd_skey *k, int64_t now,
    size_t minlen, MDB_val *v)
{
	MDB_val	 key = { FD_SK_LEN, (void *)k->b };
	int	 rc;

	if ((rc = mdb_get(txn, lm->dbi, &key, v)) != 0)
		return rc;
	/* a short value is not ours: treat it as absent, it gets rewritten */
	if (v->mv_size < LM_HDR + minlen || rd64(v->mv_data) <= now)
		return MDB_NOTFOUND;
	return 0;
}

/*
 * lm_room - may a value go under key? An entry already there may always
 * be rewritten; a new one only while the database fills no more than
 * LM_FILL_MAX percent of the map. Every write transaction copies the
 * pages it changes into free ones, deletes included, so a map filled to
 * the last page could not even be swept, and would stay full for good:
 * the rest is kept for updates and for the sweeper. A client's
 * auto-whitelist counter and rate buckets may go on to LM_FILL_AUX: they
 * are written in the same transaction as a triplet's update (its first
 * pass, a message's greylist and rate checks at once), and refusing them
 * would refuse the update with them, so that no sender greylisted before
 * the map filled could pass. New triplets and kv entries, what a flood
 * of new senders adds, stop first. 0, or LM_FULL with err: lm_batch
 * then drops the transaction, so that nothing the refused request wrote
 * before stays, and runs the batch's other writes again; the request
 * fails as invalid (FD_SB_INVAL), and the store stays healthy (no
 * breaker trip).
 */
static int
lm_room(struct lm *lm, MDB_txn *txn, MDB_val *key, char *err, size_t errlen)
{
	MDB_stat	 st;
	MDB_val		 v;
	uint64_t	 used;
	unsigned char	 tag = ((const unsigned char *)key->mv_data)[0];
	int		 max = tag == FD_SK_AWL || tag == FD_SK_RATE ? LM_FILL_AUX :
			    LM_FILL_MAX;

	if (mdb_stat(txn, lm->dbi, &st) != 0)
		return 0;	/* the write itself will say what is wrong */
	used = (uint64_t)(st.ms_branch_pages + st.ms_leaf_pages +
	    st.ms_overflow_pages) * st.ms_psize;
	if (used * 100 <= lm->map_size * (uint64_t)max ||
	    mdb_get(txn, lm->dbi, key, &v) == 0)
		return 0;
	snprintf(err, errlen, "write: the map is full (map-size %" PRIu64
	    " bytes; new entries stop at %d%% of it, the rest is kept for "
	    "updates and the sweeper): raise map-size or shorten the TTLs",
	    lm->map_size, max);
	return LM_FULL;
}

/* lm_put - store expiry + body under k */
static int
lm_put(struct lm *lm, MDB_txn *txn, const struct fd_skey *k, int64_t expires,
    const void *body, size_t len, char *err, size_t errlen)
{
	MDB_val	 key = { FD_SK_LEN, (void *)k->b }, v;
	int	 rc;

	if ((rc = lm_room(lm, txn, &key, err, errlen)) != 0)
		return rc;
	v.mv_size = LM_HDR + len;
	v.mv_data = NULL;
	/* MDB_RESERVE: write the value in place, no staging copy */
	if ((rc = mdb_put(txn, lm->dbi, &key, &v, MDB_RESERVE)) != 0)
		return lm_fail(lm, rc, "write", err, errlen);
	memcpy(v.mv_data, &expires, LM_HDR);
	if (len > 0)
		memcpy((unsigned char *)v.mv_data + LM_HDR, body, len);
	return 0;
}

/*
 * Forks are counted by a pthread_atfork handler rather than by calling
 * getpid() on every operation (a system call per store call, on the
 * hot path); lm_forked falls back to getpid() only once a fork happened.
 */
static unsigned	 lm_forks;	/* forks of this process's image so far */
static pthread_once_t lm_atfork_once = PTHREAD_ONCE_INIT;

/* lm_child - in a child after fork */
static void
lm_child(void)
{
	__atomic_add_fetch(&lm_forks, 1, __ATOMIC_RELAXED);
}

/* lm_atfork - install the handler (once per process) */
static void
lm_atfork(void)
{
	(void)pthread_atfork(NULL, NULL, lm_child);
}

/* lm_forked - refuse to touch an environment another process opened */
static int
lm_forked(struct lm *lm, char *err, size_t errlen)
{
	if (__atomic_load_n(&lm_forks, __ATOMIC_RELAXED) == lm->forks ||
	    getpid() == lm->pid)
		return 0;
	snprintf(err, errlen, "opened by process %ld, used after a fork: open "
	    "the store after daemonizing", (long)lm->pid);
	return 1;
}

/*
 * The crash marker (sync no)
 */

#define LM_MARKER	"unflushed"
#define LM_BOOT_ID	"/proc/sys/kernel/random/boot_id"

/* lm_boot_id - this boot's id into buf ("" if the system has none) */
static void
lm_boot_id(char *buf, size_t len)
{
	FILE	*fp;

	buf[0] = '\0';
	if ((fp = fopen(LM_BOOT_ID, "r")) == NULL)
		return;
	if (fgets(buf, (int)len, fp) == NULL)
		buf[0] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	fclose(fp);
}

/* lm_dir_sync - make a name created or removed in dir durable */
static void
lm_dir_sync(const char *dir)
{
	int	 fd;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		(void)fsync(fd);
		close(fd);
	}
}

/* lm_mark - say, durably, that unflushed commits are about to exist;
 * 0 or -1 with err */
static int
lm_mark(struct lm *lm, char *err, size_t errlen)
{
	char	 path[PATH_MAX];
	int	 fd, ok;

	snprintf(path, sizeof(path), "%s/" LM_MARKER, lm->path);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600)) < 0) {
		snprintf(err, errlen, "marker %s: %s", path, strerror(errno));
		return -1;
	}
	ok = write(fd, lm->boot, strlen(lm->boot)) ==
	    (ssize_t)strlen(lm->boot) && fdatasync(fd) == 0;
	if (close(fd) < 0 || !ok) {
		snprintf(err, errlen, "marker %s: %s", path, strerror(errno));
		return -1;
	}
	lm_dir_sync(lm->path);
	__atomic_store_n(&lm->marked, 1, __ATOMIC_RELAXED);
	return 0;
}

/* lm_unmark - every commit is on disk: remove the marker */
static void
lm_unmark(struct lm *lm)
{
	char	 path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/" LM_MARKER, lm->path);
	if (unlink(path) == 0 || errno == ENOENT) {
		lm_dir_sync(lm->path);
		__atomic_store_n(&lm->marked, 0, __ATOMIC_RELAXED);
	}
}

/* lm_set_aside - rename dir/data.mdb to dir/data.mdb.WHY (its name in
 * aside) and make that durable; 0, or -1 with errno */
static int
lm_set_aside(const char *dir, const char *why, char *aside, size_t len)
{
	char	 data[PATH_MAX];

	snprintf(data, sizeof(data), "%s/data.mdb", dir);
	snprintf(aside, len, "%s/data.mdb.%s", dir, why);
	if (rename(data, aside) < 0)
		return -1;
	lm_dir_sync(dir);
	return 0;
}

/*
 * lm_recover - before opening dir: if a marker says the machine went
 * down (another boot, or a boot id we cannot read) while commits were
 * unflushed, the data file may be damaged: set it aside and start empty
 */
static void
lm_recover(const char *dir, const char *boot)
{
	char	 path[PATH_MAX], aside[PATH_MAX], id[64];
	FILE	*fp;

	snprintf(path, sizeof(path), "%s/" LM_MARKER, dir);
	if ((fp = fopen(path, "r")) == NULL)
		return;
	if (fgets(id, sizeof(id), fp) == NULL)
		id[0] = '\0';
	fclose(fp);
	if (boot[0] != '\0' && strcmp(id, boot) == 0)
		return;		/* filterd died, the machine did not */
	if (lm_set_aside(dir, "crashed", aside, sizeof(aside)) < 0 &&
	    errno != ENOENT) {
		fd_log_warn("store lmdb %s: after a crash of the system: "
		    "cannot set data.mdb aside", dir);
		return;
	}
	(void)unlink(path);
	lm_dir_sync(dir);
	fd_log_warnx("store lmdb %s: the system went down with unflushed "
	    "writes (sync no): the data may be damaged, so it was set aside "
	    "as %s and the store starts empty", dir, aside);
}

/*
 * Group commit
 */

/* lm_lead - become the write leader (wait for the current one) */
static void
lm_lead(struct lm *lm)
{
	pthread_mutex_lock(&lm->wmu);
}

/* lm_unlead - let the next leader in */
static void
lm_unlead(struct lm *lm)
{
	pthread_mutex_unlock(&lm->wmu);
}

/*
 * lm_reserve - with sync no, MDB_WRITEMAP: a transaction writes its pages
 * into the map of a sparse file, and a page whose block the disk has no
 * room for ends the process with SIGBUS. Keep the file's blocks allocated
 * `ahead` past the last page in use (LM_RESERVE before a transaction,
 * more than one of ours adds), so that a full disk fails the write here,
 * as an error the caller's on-store-error policy handles. 0, or -1 with
 * err.
 */
static int
lm_reserve(struct lm *lm, off_t ahead, char *err, size_t errlen)
{
	MDB_envinfo	 info;
	off_t		 need;
	int		 rc;

	if ((rc = mdb_env_info(lm->env, &info)) != 0) {
		lm_fail(lm, rc, "info", err, errlen);
		return -1;
	}
	need = (off_t)(info.me_last_pgno + 1) * (off_t)lm->psize + ahead;
	if (need > (off_t)info.me_mapsize)
		need = (off_t)info.me_mapsize;
	if (need <= lm->reserved)
		return 0;
	if ((rc = posix_fallocate(lm->fd, lm->reserved,
	    need - lm->reserved)) != 0) {
		snprintf(err, errlen, "no room for the store on the disk: %s",
		    strerror(rc));
		return -1;
	}
	lm->reserved = need;
	return 0;
}

/* lm_reserve_lock - the lock file is a sparse map too (the readers'
 * table), whatever `sync` says: allocate it whole at open */
static int
lm_reserve_lock(struct lm *lm, char *err, size_t errlen)
{
	char		 path[PATH_MAX];
	struct stat	 st;
	int		 fd, rc = 0;

	snprintf(path, sizeof(path), "%s/lock.mdb", lm->path);
	if ((fd = open(path, O_RDWR | O_CLOEXEC)) < 0 || fstat(fd, &st) < 0)
		rc = errno;
	else if (st.st_size > 0)
		rc = posix_fallocate(fd, 0, st.st_size);
	if (fd >= 0)
		close(fd);
	if (rc != 0) {
		snprintf(err, errlen, "no room for the store's lock file on the "
		    "disk: %s", strerror(rc));
		return -1;
	}
	return 0;
}

/* lm_will_write - the leader is about to write: with sync no, make sure
 * the disk has room and the marker is down first; 0 or -1 with err */
static int
lm_will_write(struct lm *lm, char *err, size_t errlen)
{
	if (lm->sync)
		return 0;
	if (lm_reserve(lm, LM_RESERVE, err, errlen) < 0)
		return -1;
	if (!lm->marked && lm_mark(lm, err, errlen) < 0)
		return -1;
	return 0;
}

/*
 * lm_wrote - the leader's commit returned (failed or not, it may have
 * written into the map): with sync no, the next flush must cover it.
 * Said after the commit, never before: a flush that took the flag
 * between the two would not cover the commit, and the tick after it,
 * finding the flag clear, would take the marker down over an unflushed
 * commit (see lm_flush).
 */
static void
lm_wrote(struct lm *lm)
{
	if (!lm->sync)
		__atomic_store_n(&lm->written, 1, __ATOMIC_RELEASE);
}

/* lm_batch_fail - every op of a failed batch gets the reason */
static void
lm_batch_fail(struct lm_op *batch, const char *why)
{
	struct lm_op *o;

	for (o = batch; o != NULL; o = o->next) {
		if (o->rc == FD_SB_INVAL)
			continue;	/* wrote nothing; its answer stands */
		o->rc = FD_SB_FAIL;
		if (o->err != why)
			snprintf(o->err, o->errlen, "%s", why);
	}
}

/* lm_batch_left - some op of the batch is still to run */
static int
lm_batch_left(const struct lm_op *batch)
{
	for (; batch != NULL; batch = batch->next)
		if (!batch->full)
			return 1;
	return 0;
}

/* lm_batch - run a batch in one write transaction, commit once */
static void
lm_batch(struct lm *lm, struct lm_op *batch)
{
	MDB_txn		*txn;
	struct lm_op	*o;
	char		 why[256];
	int		 rc;

	if (lm_will_write(lm, why, sizeof(why)) < 0) {
		lm_batch_fail(batch, why);
		return;
	}
again:
	if ((rc = mdb_txn_begin(lm->env, NULL, 0, &txn)) != 0) {
		lm_fail(lm, rc, "begin", why, sizeof(why));
		lm_batch_fail(batch, why);
		return;
	}
	for (o = batch; o != NULL; o = o->next) {
		if (o->full)
			continue;
		o->rc = o->fn(lm, txn, o->arg, o->err, o->errlen);
		if (o->rc == LM_FULL) {
			/* what it wrote before the refusal must not stay: drop
			 * the transaction, refuse it alone, run the rest again */
			mdb_txn_abort(txn);
			o->rc = FD_SB_INVAL;
			o->full = 1;
			if (lm_batch_left(batch))
				goto again;
			return;
		}
		if (o->rc == FD_SB_FAIL) {
			mdb_txn_abort(txn);
			lm_batch_fail(batch, o->err);
			return;
		}
	}
	if (lm->commit_hook != NULL)
		lm->commit_hook(lm->hook_arg);
	rc = mdb_txn_commit(txn);
	lm_wrote(lm);
	if (rc != 0) {
		lm_fail(lm, rc, "commit", why, sizeof(why));
		lm_batch_fail(batch, why);
	}
}

/* lm_write - run fn(arg) in a write transaction, batched with the
 * writes of other threads; its result */
static int
lm_write(struct lm *lm, int (*fn)(struct lm *, MDB_txn *, void *, char *,
    size_t), void *arg, char *err, size_t errlen)
{
	struct lm_op	 op, *batch, *o, *next;

	if (lm_forked(lm, err, errlen))
		return FD_SB_FAIL;
	op.fn = fn;
	op.arg = arg;
	op.rc = FD_SB_FAIL;
	op.err = err;
	op.errlen = errlen;
	op.done = 0;
	op.full = 0;
	op.next = NULL;

	/*
	 * sync no: a commit costs a few microseconds, less than handing a
	 * batch over would (a broadcast, a wake-up per waiter), so each
	 * writer runs its own transaction under the leader mutex.
	 */
	if (!lm->sync) {
		lm_lead(lm);
		lm_batch(lm, &op);
		lm_unlead(lm);
		return op.rc;
	}

	/*
	 * op lives on this stack and is queued by address: this function
	 * does not return before op.done, and the leader has unlinked the
	 * whole batch (reading next first) by the time it sets done.
	 */
	pthread_mutex_lock(&lm->qmu);
	*lm->qtail = &op;
	// cppcheck-suppress autoVariables
	lm->qtail = &op.next;
	while (!op.done) {
		if (lm->leader) {
			pthread_cond_wait(&lm->qcv, &lm->qmu);
			continue;
		}
		lm->leader = 1;
		batch = lm->qhead;
		lm->qhead = NULL;
		lm->qtail = &lm->qhead;
		pthread_mutex_unlock(&lm->qmu);

		lm_lead(lm);
		lm_batch(lm, batch);
		lm_unlead(lm);

		pthread_mutex_lock(&lm->qmu);
		/* once done, an op's owner may return: read next first */
		for (o = batch; o != NULL; o = next) {
			next = o->next;
			o->done = 1;
		}
		lm->leader = 0;
		pthread_cond_broadcast(&lm->qcv);
	}
	pthread_mutex_unlock(&lm->qmu);
	return op.rc;
}

/*
 * Operations
 */

struct grey_arg {
	const struct fd_sgrey	*g;
	int64_t			 now;
	struct fd_grey_res	*res;
};

/* grey_fn - the greylist state machine of fd_store_grey, in a txn */
static int
grey_fn(struct lm *lm, MDB_txn *txn, void *arg, char *err, size_t errlen)
{
	struct grey_arg	*a = arg;
	const struct fd_grey_req *q = a->g->req;
	struct fd_grey_res *res = a->res;
	unsigned char	 body[12];
	MDB_val		 v;
	uint32_t	 awl = 0, passes;
	int64_t		 first, now = a->now, awl_exp = 0;
	int		 rc, prc;

	if (a->g->has_awl) {
		rc = lm_get(lm, txn, &a->g->awl, now, 4, &v);
		if (rc == 0) {
			awl = rd32((unsigned char *)v.mv_data + LM_HDR);
			awl_exp = rd64(v.mv_data);
		} else if (rc != MDB_NOTFOUND)
			return lm_fail(lm, rc, "read", err, errlen);
		/* awl >= awl_after > 0: v holds the entry */
		if (awl >= q->awl_after) {
			if (rd64(v.mv_data) < now + q->awl_ttl -
			    FD_AWL_SLACK(q->awl_ttl) &&
			    (prc = lm_put(lm, txn, &a->g->awl, now + q->awl_ttl,
			    &awl, 4, err, errlen)) < 0)
				return prc;
			res->state = FD_GREY_WHITELISTED;
			res->awl_count = awl;
			return FD_SB_OK;
		}
	}
	res->awl_count = awl;
	rc = lm_get(lm, txn, &a->g->key, now, 12, &v);
	if (rc == MDB_NOTFOUND) {
		memcpy(body, &now, 8);
		memset(body + 8, 0, 4);
		if ((prc = lm_put(lm, txn, &a->g->key, now + q->retry_window,
		    body, 12, err, errlen)) < 0)
			return prc;
		res->state = FD_GREY_NEW;
		res->first_seen = now;
		res->retry_after = q->delay;
		return FD_SB_OK;
	}
	if (rc != 0)
		return lm_fail(lm, rc, "read", err, errlen);
	first = rd64((unsigned char *)v.mv_data + LM_HDR);
	passes = rd32((unsigned char *)v.mv_data + LM_HDR + 8);
	if (passes == 0 && first > now) {
		/* the clock went back: the delay starts again now */
		first = now;
		memcpy(body, &first, 8);
		memcpy(body + 8, &passes, 4);
		if ((prc = lm_put(lm, txn, &a->g->key, rd64(v.mv_data), body,
		    12, err, errlen)) < 0)
			return prc;
	}
	res->first_seen = first;
	res->passes = passes;
	if (passes == 0 && now < first + q->delay) {
		res->state = FD_GREY_EARLY;
		res->retry_after = first + q->delay - now;
		return FD_SB_OK;
	}
	passes++;
	memcpy(body, &first, 8);
	memcpy(body + 8, &passes, 4);
	if ((prc = lm_put(lm, txn, &a->g->key, now + q->pass_ttl, body, 12, err,
	    errlen)) < 0)
		return prc;
	/*
	 * The awl counts passed triplets: one correspondent writing again
	 * and again must not whitelist its client. Its later passes keep a
	 * live count alive, as a whitelisted hit does (past the slack only:
	 * no write per message).
	 */
	if (a->g->has_awl && (passes == 1 || (awl > 0 && awl_exp < now +
	    q->awl_ttl - FD_AWL_SLACK(q->awl_ttl)))) {
		if (passes == 1)
			awl++;
		if ((prc = lm_put(lm, txn, &a->g->awl, now + q->awl_ttl, &awl,
		    4, err, errlen)) < 0)
			return prc;
	}
	res->state = FD_GREY_PASSED;
	res->passes = passes;
	res->awl_count = awl;
	return FD_SB_OK;
}

/* lm_grey - greylist check-and-update, batched with other writes */
static int
lm_grey(void *h, const struct fd_sgrey *g, int64_t now,
    struct fd_grey_res *res, char *err, size_t errlen)
{
	struct grey_arg	 a = { g, now, res };

	return lm_write(h, grey_fn, &a, err, errlen);
}

struct rate_arg {
	const struct fd_srate	*r;
	size_t			 n;
	int64_t			 now;
	struct fd_rate_res	*res;
};

/* rate_fn - all-or-nothing GCRA over n limits (see fd_store_rate); also
 * runs in a read-only txn for a call that only peeks */
static int
rate_fn(struct lm *lm, MDB_txn *txn, void *arg, char *err, size_t errlen)
{
	struct rate_arg	*a = arg;
	int64_t		 tat[FD_STORE_RATE_MAX], now = a->now * 1000000, nt;
	MDB_val		 v;
	size_t		 i;
	int		 ok = 1, rc, prc;

	for (i = 0; i < a->n; i++) {
		rc = lm_get(lm, txn, &a->r[i].key, a->now, 8, &v);
		if (rc == 0)
			tat[i] = rd64((unsigned char *)v.mv_data + LM_HDR);
		else if (rc == MDB_NOTFOUND)
			tat[i] = 0;
		else
			return lm_fail(lm, rc, "read", err, errlen);
		if (!fd_gcra(&a->r[i], now, tat[i], 0, &nt, &a->res[i]))
			ok = 0;
	}
	for (i = 0; i < a->n; i++) {
		fd_gcra(&a->r[i], now, tat[i], ok, &nt, &a->res[i]);
		a->res[i].allowed = ok;
		if (!ok || a->r[i].cost == 0)
			continue;
		/* the bucket is full again once TAT has passed */
		if ((prc = lm_put(lm, txn, &a->r[i].key, (nt + 999999) /
		    1000000, &nt, 8, err, errlen)) < 0)
			return prc;
	}
	return FD_SB_OK;
}

/* lm_read - run fn in a read-only transaction */
static int
lm_read(struct lm *lm, int (*fn)(struct lm *, MDB_txn *, void *, char *,
    size_t), void *arg, char *err, size_t errlen)
{
	MDB_txn	*txn;
	int	 rc;

	if (lm_forked(lm, err, errlen))
		return FD_SB_FAIL;
	if ((rc = mdb_txn_begin(lm->env, NULL, MDB_RDONLY, &txn)) != 0)
		return lm_fail(lm, rc, "begin", err, errlen);
	rc = fn(lm, txn, arg, err, errlen);
	mdb_txn_abort(txn);
	return rc;
}

/* lm_rate - rate hit: a write, or a read when every limit only peeks */
static int
lm_rate(void *h, const struct fd_srate *r, size_t n, int64_t now,
    struct fd_rate_res *res, char *err, size_t errlen)
{
	struct rate_arg	 a = { r, n, now, res };
	size_t		 i;

	for (i = 0; i < n; i++)
		if (r[i].cost > 0)
			return lm_write(h, rate_fn, &a, err, errlen);
	return lm_read(h, rate_fn, &a, err, errlen);
}

struct multi_arg {
	struct fd_sop		*ops;
	size_t			 n;
	int64_t			 now;
};

/* multi_fn - every part in one transaction, in order; a failure of one
 * spoils the transaction and so fails them all */
static int
multi_fn(struct lm *lm, MDB_txn *txn, void *arg, char *err, size_t errlen)
{
	struct multi_arg *a = arg;
	size_t		 i;

	for (i = 0; i < a->n; i++) {
		struct fd_sop	*o = &a->ops[i];

		if (o->g != NULL) {
			struct grey_arg ga = { o->g, a->now, o->gres };

			o->rc = grey_fn(lm, txn, &ga, err, errlen);
		} else {
			struct rate_arg ra = { o->r, o->nr, a->now, o->rres };

			o->rc = rate_fn(lm, txn, &ra, err, errlen);
		}
		if (o->rc == FD_SB_FAIL || o->rc == LM_FULL)
			return o->rc;
	}
	return FD_SB_OK;
}

/* lm_multi - several parts, one write transaction (batched as any write) */
static int
lm_multi(void *h, struct fd_sop *ops, size_t n, int64_t now, char *err,
    size_t errlen)
{
	struct multi_arg a = { ops, n, now };
	size_t		 i;
	int		 rc;

	/* refused for room as a whole: what its parts said went with it */
	if ((rc = lm_write(h, multi_fn, &a, err, errlen)) == FD_SB_INVAL)
		for (i = 0; i < n; i++)
			ops[i].rc = FD_SB_INVAL;
	return rc;
}

struct kv_arg {
	const struct fd_skey	*k;
	int64_t			 now;
	const void		*val;
	size_t			 vallen;
	int64_t			 ttl;
	int64_t			 by;
	int64_t			*out;
	void			*buf;
	size_t			*buflen;
};

/* get_fn - copy the live value out */
static int
get_fn(struct lm *lm, MDB_txn *txn, void *arg, char *err, size_t errlen)
{
	struct kv_arg	*a = arg;
	MDB_val		 v;
	size_t		 len;
	int		 rc;

	rc = lm_get(lm, txn, a->k, a->now, 0, &v);
	if (rc == MDB_NOTFOUND)
		return FD_SB_NOTFOUND;
	if (rc != 0)
		return lm_fail(lm, rc, "read", err, errlen);
	len = v.mv_size - LM_HDR;
	if (len > 0)
		memcpy(a->buf, (unsigned char *)v.mv_data + LM_HDR,
		    len < *a->buflen ? len : *a->buflen);
	*a->buflen = len;
	return FD_SB_OK;
}

/* lm_kget - kv get, in a read transaction */
static int
lm_kget(void *h, const struct fd_skey *k, int64_t now, void *val,
    size_t *vallen, char *err, size_t errlen)
{
	struct kv_arg	 a = { .k = k, .now = now, .buf = val, .buflen = vallen };

	return lm_read(h, get_fn, &a, err, errlen);
}

/* set_fn - store a kv value with its expiry */
static int
set_fn(struct lm *lm, MDB_txn *txn, void *arg, char *err, size_t errlen)
{
	struct kv_arg	*a = arg;
	int		 prc;

	if ((prc = lm_put(lm, txn, a->k, a->now + a->ttl, a->val, a->vallen, err,
	    errlen)) < 0)
		return prc;
	return FD_SB_OK;
}

/* lm_kset - kv set, batched */
static int
lm_kset(void *h, const struct fd_skey *k, int64_t now, const void *val,
    size_t vallen, int64_t ttl, char *err, size_t errlen)
{
	struct kv_arg	 a = { .k = k, .now = now, .val = val, .vallen = vallen,
	    .ttl = ttl };

	return lm_write(h, set_fn, &a, err, errlen);
}

/* decimal - the value as a whole decimal int64: an optional '-', then
 * digits, as the Redis incr script reads it */
static int
decimal(const unsigned char *p, size_t len, int64_t *out)
{
	char	 buf[24], *end;
	size_t	 sign = len > 0 && p[0] == '-', z = sign;

	/* leading zeros add nothing, however many: skip them so that only
	 * the digits that count must fit */
	while (z + 1 < len && p[z] == '0')
		z++;
	if (len - z + sign == 0 || len - z + sign >= sizeof(buf))
		return -1;
	if (sign)
		buf[0] = '-';
	memcpy(buf + sign, p + z, len - z);
	len = len - z + sign;
	buf[len] = '\0';
	if (!(buf[0] == '-' || (buf[0] >= '0' && buf[0] <= '9')))
		return -1;
	errno = 0;
	*out = strtoll(buf, &end, 10);
	/* all of it: a NUL inside the value ends strtoll's reading too */
	return errno != 0 || end != buf + len ? -1 : 0;
}

/* counter_ok - v within what a kv counter may hold on every back end */
static int
counter_ok(int64_t v)
{
	return v <= FD_COUNTER_MAX && v >= -FD_COUNTER_MAX;
}

/* incr_fn - add to a counter; a new one gets the TTL, an old one keeps
 * its expiry */
static int
incr_fn(struct lm *lm, MDB_txn *txn, void *arg, char *err, size_t errlen)
{
	struct kv_arg	*a = arg;
	MDB_val		 v;
	int64_t		 cur = 0, expires = a->now + a->ttl;
	char		 num[24];
	int		 rc, len, prc;

	rc = lm_get(lm, txn, a->k, a->now, 0, &v);
	if (rc == 0) {
		if (decimal((unsigned char *)v.mv_data + LM_HDR,
		    v.mv_size - LM_HDR, &cur) < 0) {
			snprintf(err, errlen, "incr: value is not an integer");
			return FD_SB_INVAL;
		}
		expires = rd64(v.mv_data);
	} else if (rc != MDB_NOTFOUND)
		return lm_fail(lm, rc, "read", err, errlen);
	/* the step is in range (fd_store_incr): the sum cannot overflow */
	if (!counter_ok(cur) || !counter_ok(cur += a->by)) {
		snprintf(err, errlen, "incr: overflow");
		return FD_SB_INVAL;
	}
	len = snprintf(num, sizeof(num), "%" PRId64, cur);
	if ((prc = lm_put(lm, txn, a->k, expires, num, (size_t)len, err,
	    errlen)) < 0)
		return prc;
	*a->out = cur;
	return FD_SB_OK;
}

/* lm_kincr - kv incr, batched */
static int
lm_kincr(void *h, const struct fd_skey *k, int64_t now, int64_t by,
    int64_t ttl, int64_t *out, char *err, size_t errlen)
{
	struct kv_arg	 a = { .k = k, .now = now, .by = by, .ttl = ttl,
	    .out = out };

	return lm_write(h, incr_fn, &a, err, errlen);
}

/* del_fn - delete; an expired entry goes too but counts as absent */
static int
del_fn(struct lm *lm, MDB_txn *txn, void *arg, char *err, size_t errlen)
{
	struct kv_arg	*a = arg;
	MDB_val		 key = { FD_SK_LEN, (void *)a->k->b }, v;
	int		 rc, live;

	rc = lm_get(lm, txn, a->k, a->now, 0, &v);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return lm_fail(lm, rc, "read", err, errlen);
	live = rc == 0;
	rc = mdb_del(txn, lm->dbi, &key, NULL);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return lm_fail(lm, rc, "delete", err, errlen);
	return live ? FD_SB_OK : FD_SB_NOTFOUND;
}

/* lm_kdel - kv delete, batched */
static int
lm_kdel(void *h, const struct fd_skey *k, int64_t now, char *err,
    size_t errlen)
{
	struct kv_arg	 a = { .k = k, .now = now };

	return lm_write(h, del_fn, &a, err, errlen);
}

/*
 * Sweeping
 */

/*
 * lm_sweep_del - delete those of the n keys at dead that are still
 * expired, in one write transaction; add the number deleted to *total.
 * 0, or -1 with err. A transaction that finds no free page for its
 * copies (a map full to the last page) is tried again as two halves,
 * down to one key, which needs only the pages on its path.
 */
static int
lm_sweep_del(struct lm *lm, unsigned char (*dead)[FD_SK_LEN], size_t n,
    int64_t now, long *total, char *err, size_t errlen)
{
	MDB_txn		*txn;
	MDB_val		 k, v;
	size_t		 i;
	long		 gone = 0;
	int		 rc = 0, a, b;

	/* the sweeper writes as a leader too: one writer at a time, and
	 * the crash marker up first */
	lm_lead(lm);
	if (lm_will_write(lm, err, errlen) < 0) {
		lm_unlead(lm);
		return -1;
	}
	if ((rc = mdb_txn_begin(lm->env, NULL, 0, &txn)) != 0) {
		lm_unlead(lm);
		lm_fail(lm, rc, "sweep", err, errlen);
		return -1;
	}
	for (i = 0; i < n && rc == 0; i++) {
		k.mv_size = FD_SK_LEN;
		k.mv_data = dead[i];
		/* it may have been written again since the scan */
		if (mdb_get(txn, lm->dbi, &k, &v) != 0 || v.mv_size < LM_HDR ||
		    rd64(v.mv_data) > now)
			continue;
		if ((rc = mdb_del(txn, lm->dbi, &k, NULL)) == 0)
			gone++;
	}
	if (rc == 0) {
		rc = mdb_txn_commit(txn);
		lm_wrote(lm);
	} else
		mdb_txn_abort(txn);
	lm_unlead(lm);
	if (rc == MDB_MAP_FULL && n > 1) {
		a = lm_sweep_del(lm, dead, n / 2, now, total, err, errlen);
		b = lm_sweep_del(lm, dead + n / 2, n - n / 2, now, total, err,
		    errlen);
		return a < 0 || b < 0 ? -1 : 0;
	}
	if (rc != 0) {
		lm_fail(lm, rc, "sweep", err, errlen);
		return -1;
	}
	*total += gone;
	return 0;
}

/* lm_sweep_step - from key `from` (NULL: the start), look at up to
 * LM_CHUNK entries and delete the expired ones in one small write txn.
 * Adds the number deleted to *total; 0, or -1 with err. *more is 0 at
 * the end, and otherwise `from` holds the key to go on from, also when
 * the deletes failed. */
static int
lm_sweep_step(struct lm *lm, unsigned char *from, int *first, int64_t now,
    int *more, long *total, char *err, size_t errlen)
{
	unsigned char	 dead[LM_CHUNK][FD_SK_LEN];
	MDB_txn		*txn;
	MDB_cursor	*cur;
	MDB_val		 k, v;
	size_t		 ndead = 0, seen;
	int		 rc;

	*more = 0;
	if ((rc = mdb_txn_begin(lm->env, NULL, MDB_RDONLY, &txn)) != 0)
		return lm_fail(lm, rc, "sweep", err, errlen);
	if ((rc = mdb_cursor_open(txn, lm->dbi, &cur)) != 0) {
		mdb_txn_abort(txn);
		return lm_fail(lm, rc, "sweep", err, errlen);
	}
	k.mv_size = FD_SK_LEN;
	k.mv_data = from;
	rc = *first ? mdb_cursor_get(cur, &k, &v, MDB_FIRST) :
	    mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	/* the chunk before ended on `from`, already looked at */
	if (rc == 0 && !*first && k.mv_size == FD_SK_LEN &&
	    memcmp(k.mv_data, from, FD_SK_LEN) == 0)
		rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	for (seen = 0; rc == 0 && seen < LM_CHUNK; seen++) {
		if (k.mv_size == FD_SK_LEN && ((unsigned char *)k.mv_data)[0] !=
		    FD_SK_META && v.mv_size >= LM_HDR && rd64(v.mv_data) <= now)
			memcpy(dead[ndead++], k.mv_data, FD_SK_LEN);
		if (k.mv_size == FD_SK_LEN)
			memcpy(from, k.mv_data, FD_SK_LEN);
		rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	}
	*first = 0;
	*more = rc == 0;
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	if (rc != 0 && rc != MDB_NOTFOUND) {
		lm_fail(lm, rc, "sweep", err, errlen);
		return -1;
	}
	if (ndead == 0)
		return 0;
	return lm_sweep_del(lm, dead, ndead, now, total, err, errlen);
}

/* lm_sweep - one pass over the whole database, chunk by chunk. A chunk
 * whose deletes fail does not end the pass: the next pass would start
 * from the first key again, and never reach what lies past it. The
 * number deleted, or -1 with the first failure in err. */
static long
lm_sweep(void *h, int64_t now, char *err, size_t errlen)
{
	struct lm	*lm = h;
	unsigned char	 from[FD_SK_LEN];
	char		 later[256] = "";
	long		 total = 0;
	int		 first = 1, more, failed = 0;

	if (lm_forked(lm, err, errlen))
		return -1;
	do {
		if (lm_sweep_step(lm, from, &first, now, &more, &total,
		    failed ? later : err, failed ? sizeof(later) : errlen) < 0)
			failed = 1;
	} while (more);
	return failed ? -1 : total;
}

/* mono_ms - CLOCK_MONOTONIC, ms */
static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * lm_flush - sync no, once a second: flush what was committed since the
 * last flush; after a second without commits, take the marker down.
 *
 * Why no commit is left unflushed under a removed marker: a writer sets
 * `written` after its commit (lm_wrote), so the flush that takes the
 * flag starts after every commit that set it, and covers them. The
 * marker comes down only as the write leader, with the flag clear: no
 * write is in progress then, and every commit before has been covered by
 * a flush. A writer holding the leader mutex will set the flag when it
 * is done, so the marker could not come down anyway: this tick leaves it
 * up rather than wait.
 */
static void
lm_flush(struct lm *lm)
{
	int	 rc;

	if (__atomic_exchange_n(&lm->written, 0, __ATOMIC_ACQ_REL)) {
		/* a flush that failed (EIO, a full disk) leaves the writes
		 * unflushed: keep saying so, so the marker stays up */
		if ((rc = mdb_env_sync(lm->env, 1)) != 0) {
			__atomic_store_n(&lm->written, 1, __ATOMIC_RELEASE);
			if (fd_log_ratelimited(&lm->flush_logged, mono_ms(),
			    600000))
				fd_log_warnx("store lmdb %s: flush: %s",
				    lm->path, mdb_strerror(rc));
		}
		return;
	}
	if (!__atomic_load_n(&lm->marked, __ATOMIC_RELAXED) ||
	    pthread_mutex_trylock(&lm->wmu) != 0)
		return;
	if (!__atomic_load_n(&lm->written, __ATOMIC_ACQUIRE))
		lm_unmark(lm);
	lm_unlead(lm);
}

/* sweeper - the background thread: sweep every sweep-interval, and with
 * `sync no` flush the map once a second */
static void *
sweeper(void *arg)
{
	struct lm	*lm = arg;
	struct timespec	 ts;
	int64_t		 next = mono_ms() + lm->sweep_ms, until;
	char		 err[256];

	pthread_mutex_lock(&lm->smu);
	while (!lm->stop) {
		until = next;
		if (!lm->sync && until > mono_ms() + 1000)
			until = mono_ms() + 1000;
		ts.tv_sec = until / 1000;
		ts.tv_nsec = (until % 1000) * 1000000;
		pthread_cond_timedwait(&lm->scv, &lm->smu, &ts);
		if (lm->stop)
			break;
		pthread_mutex_unlock(&lm->smu);
		if (!lm->sync && !__atomic_load_n(&lm->test_flush,
		    __ATOMIC_RELAXED))
			lm_flush(lm);
		if (mono_ms() >= next) {
			if (lm_sweep(lm, fd_clock_now(lm->clock), err,
			    sizeof(err)) < 0 && fd_log_ratelimited(
			    &lm->sweep_logged, mono_ms(), 600000))
				fd_log_warnx("store lmdb %s: sweep: %s",
				    lm->path, err);
			next = mono_ms() + lm->sweep_ms;
		}
		pthread_mutex_lock(&lm->smu);
	}
	pthread_mutex_unlock(&lm->smu);
	return NULL;
}

/*
 * Open and close
 */

/* lm_init_db - open the database and check or write the format; 0, or
 * the LMDB error (-1 for a format not ours) with err */
static int
lm_init_db(struct lm *lm, char *err, size_t errlen)
{
	MDB_txn	*txn;
	MDB_val	 k = { FD_SK_LEN, (void *)lm_meta }, v;
	int	 rc;

	if ((rc = mdb_txn_begin(lm->env, NULL, 0, &txn)) != 0) {
		lm_fail(lm, rc, "begin", err, errlen);
		return rc;
	}
	if ((rc = mdb_dbi_open(txn, NULL, 0, &lm->dbi)) != 0) {
		mdb_txn_abort(txn);
		lm_fail(lm, rc, "open", err, errlen);
		return rc;
	}
	rc = mdb_get(txn, lm->dbi, &k, &v);
	if (rc == 0 && (v.mv_size != strlen(LM_FORMAT) ||
	    memcmp(v.mv_data, LM_FORMAT, v.mv_size) != 0)) {
		mdb_txn_abort(txn);
		snprintf(err, errlen, "unknown data format (not written by this "
		    "filterd)");
		return -1;
	}
	if (rc == MDB_NOTFOUND) {
		v.mv_size = strlen(LM_FORMAT);
		v.mv_data = (void *)LM_FORMAT;
		rc = mdb_put(txn, lm->dbi, &k, &v, 0);
	}
	if (rc != 0) {
		mdb_txn_abort(txn);
		lm_fail(lm, rc, "format", err, errlen);
		return rc;
	}
	if ((rc = mdb_txn_commit(txn)) != 0)
		lm_fail(lm, rc, "commit", err, errlen);
	return rc;
}

static void lm_close(void *);

/* lm_open_reserve - sync no: the data file's fd and page size, and its
 * blocks allocated before anything is written; only a little ahead, so
 * that a nearly full disk still lets filterd start (its writes then
 * fail, each saying why) */
static int
lm_open_reserve(struct lm *lm, char *err, size_t errlen)
{
	MDB_stat	 st;
	int		 rc;

	if ((rc = mdb_env_get_fd(lm->env, &lm->fd)) != 0 ||
	    (rc = mdb_env_stat(lm->env, &st)) != 0) {
		lm_fail(lm, rc, "open", err, errlen);
		return -1;
	}
	lm->psize = st.ms_psize;
	lm->reserved = 0;
	return lm_reserve(lm, LM_RESERVE_OPEN, err, errlen);
}

/* lm_damage - an error of lm_env_open's that says the file is damaged
 * (or not LMDB's), rather than that the disk, the map or a setting is */
static int
lm_damage(int rc)
{
	return rc == MDB_CORRUPTED || rc == MDB_PAGE_NOTFOUND ||
	    rc == MDB_INVALID;
}

/*
 * lm_env_open - open the environment and the database, check the format;
 * 0, or an LMDB error code (or -1) with err
 */
static int
lm_env_open(struct lm *lm, char *err, size_t errlen)
{
	int	 rc, dead;

	if ((rc = mdb_env_create(&lm->env)) != 0 ||
	    (rc = mdb_env_set_mapsize(lm->env, (size_t)lm->map_size)) != 0 ||
	    (rc = mdb_env_set_maxreaders(lm->env, 1024)) != 0 ||
	    (rc = mdb_env_open(lm->env, lm->path, MDB_NOTLS |
	    (lm->sync ? MDB_NOMETASYNC : MDB_NOSYNC | MDB_WRITEMAP),
	    0600)) != 0) {
		lm_fail(lm, rc, "open", err, errlen);
		return rc;
	}
	/* readers a kill -9 left behind would pin old pages forever */
	mdb_reader_check(lm->env, &dead);
	if (lm_reserve_lock(lm, err, errlen) < 0 ||
	    (!lm->sync && lm_open_reserve(lm, err, errlen) < 0))
		return -1;
	return lm_init_db(lm, err, errlen);
}

/* lm_open - create the directory, open the environment, start the sweeper */
static void *
lm_open(const struct fd_store_opts *o, const struct fd_clock *clock,
    char *err, size_t errlen)
{
	struct lm		*lm;
	struct stat		 st;
	pthread_condattr_t	 ca;
	char			 aside[PATH_MAX];
	int			 rc;

	/* opened as the run user, a directory root made may be out of
	 * that user's reach: EACCES then names no missing permission on
	 * the store's own directory */
	if (mkdir(o->path, 0700) < 0 && errno != EEXIST) {
		if (errno == EACCES && geteuid() != 0)
			snprintf(err, errlen, "mkdir: %s (the store is opened "
			    "as uid %u: a directory above it may be closed to "
			    "that user)", strerror(errno), (unsigned)geteuid());
		else
			snprintf(err, errlen, "mkdir: %s", strerror(errno));
		return NULL;
	}
	if (stat(o->path, &st) < 0 || !S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "not a directory");
		return NULL;
	}
	lm = fd_calloc(1, sizeof(*lm));
	lm_boot_id(lm->boot, sizeof(lm->boot));
	lm_recover(o->path, lm->boot);	/* also when sync yes now */
	lm->path = fd_strdup(o->path);
	lm->map_size = o->map_size;
	lm->sync = o->sync;
	lm->sweep_ms = o->sweep_ms;
	lm->clock = clock;
	pthread_once(&lm_atfork_once, lm_atfork);
	lm->pid = getpid();
	lm->forks = __atomic_load_n(&lm_forks, __ATOMIC_RELAXED);
	lm->qtail = &lm->qhead;
	pthread_mutex_init(&lm->wmu, NULL);
	pthread_mutex_init(&lm->qmu, NULL);
	pthread_cond_init(&lm->qcv, NULL);
	pthread_mutex_init(&lm->smu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&lm->scv, &ca);
	pthread_condattr_destroy(&ca);

	if ((rc = lm_env_open(lm, err, errlen)) != 0 && lm_damage(rc)) {
		/* the state is soft: a damaged file is set aside, not fatal */
		mdb_env_close(lm->env);
		lm->env = NULL;
		if (lm_set_aside(lm->path, "damaged", aside,
		    sizeof(aside)) < 0) {
			snprintf(err, errlen, "damaged, and cannot be set "
			    "aside: %s", strerror(errno));
			goto fail;
		}
		fd_log_warnx("store lmdb %s: the data file is damaged: it was "
		    "set aside as %s and the store starts empty", lm->path,
		    aside);
		rc = lm_env_open(lm, err, errlen);
	}
	if (rc != 0)
		goto fail;
	/* what open wrote, and any marker a kill -9 left, settled now */
	if (!lm->sync) {
		mdb_env_sync(lm->env, 1);
		lm->marked = 1;
		lm_unmark(lm);
	}
	if ((rc = pthread_create(&lm->sweeper, NULL, sweeper, lm)) != 0) {
		snprintf(err, errlen, "sweeper thread: %s", strerror(rc));
		goto fail;
	}
	return lm;
fail:
	lm->stop = 1;	/* no sweeper to join */
	lm_close(lm);
	return NULL;
}

/* lm_close - stop the sweeper, close the environment */
static void
lm_close(void *h)
{
	struct lm	*lm = h;

	/* after a fork the sweeper is not ours and the env is the parent's */
	if (lm->pid != 0 && getpid() != lm->pid) {
		free(lm->path);
		free(lm);
		return;
	}
	pthread_mutex_lock(&lm->smu);
	if (!lm->stop) {
		lm->stop = 1;
		pthread_cond_signal(&lm->scv);
		pthread_mutex_unlock(&lm->smu);
		pthread_join(lm->sweeper, NULL);
	} else
		pthread_mutex_unlock(&lm->smu);
	if (lm->env != NULL) {
		if (!lm->sync && mdb_env_sync(lm->env, 1) == 0 && lm->marked)
			lm_unmark(lm);
		mdb_env_close(lm->env);
	}
	pthread_mutex_destroy(&lm->wmu);
	pthread_mutex_destroy(&lm->qmu);
	pthread_cond_destroy(&lm->qcv);
	pthread_mutex_destroy(&lm->smu);
	pthread_cond_destroy(&lm->scv);
	free(lm->path);
	free(lm);
}

/* lm_stats - entries (without the meta entry) and bytes in pages */
static int
lm_stats(void *h, uint64_t *entries, uint64_t *bytes, char *err,
    size_t errlen)
{
	struct lm	*lm = h;
	MDB_stat	 st;
	int		 rc;

	if ((rc = mdb_env_stat(lm->env, &st)) != 0)
		return lm_fail(lm, rc, "stat", err, errlen);
	*entries = st.ms_entries > 0 ? st.ms_entries - 1 : 0;	/* meta */
	*bytes = (uint64_t)(st.ms_branch_pages + st.ms_leaf_pages +
	    st.ms_overflow_pages) * st.ms_psize;
	return 0;
}

/*
 * Test hooks
 */

/* fd_lmdb_test_flush - sync no: the sweeper thread stops flushing, and
 * each call runs one of its once-a-second flushes here instead */
void
fd_lmdb_test_flush(void *h)
{
	struct lm	*lm = h;

	__atomic_store_n(&lm->test_flush, 1, __ATOMIC_RELAXED);
	lm_flush(lm);
}

/* fd_lmdb_test_commit_hook - call fn(arg) in every write transaction,
 * as the write leader, just before its commit; fn NULL: no more */
void
fd_lmdb_test_commit_hook(void *h, void (*fn)(void *), void *arg)
{
	struct lm	*lm = h;

	lm_lead(lm);
	lm->commit_hook = fn;
	lm->hook_arg = arg;
	lm_unlead(lm);
}

const struct fd_store_ops fd_store_lmdb_ops = {
	.name = "lmdb",
	.breaker = 0,	/* failures are quick: nothing to wait for */
	.open = lm_open,
	.close = lm_close,
	.grey = lm_grey,
	.rate = lm_rate,
	.multi = lm_multi,
	.get = lm_kget,
	.set = lm_kset,
	.incr = lm_kincr,
	.del = lm_kdel,
	.sweep = lm_sweep,
	.stats = lm_stats,
};
