/*
 * store.h -- the state store: one API, two backends
 *
 * Plugins keep state only through these calls (reached through the host
 * table). Each is atomic and costs one round trip to the backend:
 *
 *   lmdb   embedded, persistent, the default for a single host
 *          (store_lmdb.c);
 *   redis  hiredis, for several MX hosts sharing state (store_redis.c).
 *
 * Keys given by callers are opaque bytes. The store hashes them to a
 * fixed-length digest with a type tag (greylist, awl, rate, kv), so stored
 * keys are bounded in size whatever a client sends and hold no address in
 * clear. Every entry carries a TTL.
 *
 * Thread-safety: every call may come from any libmilter thread at once.
 * Failure: a backend that is down, slow or full makes the call return
 * FD_STORE_ERR within its timeout; the store logs the failure once per
 * state change (not once per message) and, after repeated failures, a
 * circuit breaker answers FD_STORE_ERR at once for a short while.
 *
 * Time: every call reads the clock given at fd_store_new, never time().
 * Both backends answer alike at every time it may read, with two limits:
 * an expired entry is forgotten some time later (LMDB's sweeper, Redis's
 * own TTL), so a clock that goes back may find it again or not; and the
 * Redis script does rate limits in doubles, exact while the clock reads
 * before about 2184 (microseconds plus two of the largest buckets under
 * 2^53); after that its answers may round apart from LMDB's (a
 * retry_after a second off).
 */
#ifndef FD_STORE_H
#define FD_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "filterd/plugin.h"
#include "errs.h"

struct fd_conf;
struct fd_clock;
struct fd_store;

/* fd_store_new - open the backend the conf names (store_kind, store_path,
 * store_opts); NULL with located messages in errs on failure. An
 * unreachable Redis is not a failure here: it is retried per call. */
struct fd_store	*fd_store_new(const struct fd_conf *, const struct fd_clock *,
		    struct fd_errs *errs);
/* fd_store_check - validate the store part of a conf without opening it
 * (filterd -t); 0 or -1 with messages in errs */
int		 fd_store_check(const struct fd_conf *, struct fd_errs *errs);
/* fd_store_dir - the LMDB directory the conf names, relative to the
 * configuration file's directory when not absolute; owned. NULL when the
 * store is not LMDB or names no directory. */
char		*fd_store_dir(const struct fd_conf *);
/* fd_store_free - close, stop the sweeper; returns NULL */
struct fd_store	*fd_store_free(struct fd_store *);

/* Most limits one fd_store_rate call may carry. */
#define FD_STORE_RATE_MAX	32

int	 fd_store_grey(struct fd_store *, const struct fd_grey_req *,
	    struct fd_grey_res *);
int	 fd_store_rate(struct fd_store *, const struct fd_rate_req *, size_t n,
	    struct fd_rate_res *);
/*
 * Several operations in one round trip: one part is a greylist check
 * (grey set) or a rate call over nrate limits (all or nothing among
 * themselves, as fd_store_rate). fd_store_multi runs the parts in order,
 * each seeing the ones before it, atomically as a whole: one LMDB write
 * transaction, one Redis script. It is how the host sends the store calls
 * several plugins planned for one stage (plan.c) to the store at once.
 */
#define FD_STORE_MULTI_MAX	8	/* parts in one call */
#define FD_STORE_MULTI_RATES	64	/* limits over all rate parts */

struct fd_store_op {
	const struct fd_grey_req *grey;		/* a greylist check, or NULL */
	struct fd_grey_res	*gres;
	const struct fd_rate_req *rate;		/* else nrate limits */
	size_t			 nrate;
	struct fd_rate_res	*rres;
	int			 rc;		/* out: as its own call's */
};

/* fd_store_multi - run n parts in one round trip; each part's rc is what
 * its own call would have returned (an invalid part is refused alone and
 * the others still run). Returns FD_STORE_OK when the backend answered,
 * FD_STORE_ERR when it did not (every rc is then FD_STORE_ERR too) or
 * when there are too many parts or limits. */
int	 fd_store_multi(struct fd_store *, struct fd_store_op *ops, size_t n);

int	 fd_store_get(struct fd_store *, const void *key, size_t keylen,
	    void *val, size_t *vallen);
int	 fd_store_set(struct fd_store *, const void *key, size_t keylen,
	    const void *val, size_t vallen, int64_t ttl);
int	 fd_store_incr(struct fd_store *, const void *key, size_t keylen,
	    int64_t by, int64_t ttl, int64_t *out);
int	 fd_store_del(struct fd_store *, const void *key, size_t keylen);

/* fd_store_sweep - remove expired entries now (LMDB; Redis expires
 * itself); returns the number removed or -1. The background sweeper
 * calls this; tests call it directly. */
long	 fd_store_sweep(struct fd_store *);

/* fd_store_stats - entries and bytes in use, for the bench; -1 unknown */
int	 fd_store_stats(struct fd_store *, uint64_t *entries, uint64_t *bytes);

#endif
