/*
 * store_backend.h -- what the store front (store.c) asks of a backend
 *
 * store.c owns everything the two backends have in common: checking the
 * requests, hashing keys, the circuit breaker, logging a failure once
 * per change of state, and parsing the options. A backend (store_lmdb.c,
 * store_redis.c) fills a struct fd_store_ops and only stores and reads:
 * it gets hashed keys, the current time, and limits already turned into
 * integer microsecond arithmetic, so both answer every request with the
 * same numbers.
 *
 * Nothing outside store*.c includes this file, except the store's own
 * unit test and bench, which reach the test hooks at the end.
 */
#ifndef FD_STORE_BACKEND_H
#define FD_STORE_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "store.h"

struct fd_clock;

/* Backend results. FD_SB_INVAL is a request the backend cannot serve
 * (incr of a value that is no integer): an error for the caller, not a
 * sign that the backend is unwell. */
enum fd_sb_rc {
	FD_SB_OK = FD_STORE_OK,
	FD_SB_NOTFOUND = FD_STORE_NOTFOUND,
	FD_SB_FAIL = FD_STORE_ERR,
	FD_SB_INVAL = -2
};

/* Type tags: the first byte of every stored key. */
#define FD_SK_META	'\0'	/* LMDB only: format version */
#define FD_SK_GREY	'g'	/* greylist triplet */
#define FD_SK_AWL	'a'	/* auto-whitelist counter */
#define FD_SK_RATE	'r'	/* rate-limit bucket */
#define FD_SK_KV	'k'	/* kv_* entries */

#define FD_SK_HASHLEN	16	/* XXH3 128-bit, canonical (big-endian) */
#define FD_SK_LEN	(1 + FD_SK_HASHLEN)

/* A hashed key: the tag, then the digest. */
struct fd_skey {
	unsigned char	 b[FD_SK_LEN];
};

/* A greylist request with its keys hashed. The triplet digest covers
 * the awl digest when the auto-whitelist is on, so a Redis backend can
 * put both keys under one hash tag and still agree with LMDB. */
struct fd_sgrey {
	const struct fd_grey_req *req;
	struct fd_skey		 key;
	struct fd_skey		 awl;
	int			 has_tag;	/* awl_key given: awl is set */
	int			 has_awl;	/* and awl_after > 0: counted */
};

/*
 * A whitelisted hit moves the auto-whitelist entry's expiry to now +
 * awl_ttl. Both backends skip the write when that would move it by no
 * more than FD_AWL_SLACK: a client that sends all day would otherwise cost
 * a write per message (an LMDB page copied, a Redis HSET and EXPIRE
 * replicated and appended to the AOF) to move a 35-day expiry by seconds.
 * The entry may then expire up to 1% of its lifetime early; for a TTL
 * under 100 s the slack is 0 and every hit writes.
 */
#define FD_AWL_SLACK(ttl)	((ttl) / 100)

/* The range of a kv counter: the integers a Lua number (a double) holds
 * exactly, so that both back ends count alike and refuse alike. */
#define FD_COUNTER_MAX	((int64_t)9007199254740991)	/* 2^53 - 1 */

/*
 * One rate limit turned into GCRA numbers (see fd_store_rate in store.c):
 * interval is the time one event costs, cap the most the theoretical
 * arrival time may run ahead of now, both in microseconds; cost is the
 * number of events charged (0: peek).
 */
struct fd_srate {
	struct fd_skey	 key;
	int64_t		 interval;
	int64_t		 cap;
	uint32_t	 cost;
};

/* One part of a multi call (fd_store_multi), checked and hashed: a
 * greylist check (g set), or a rate call over nr limits, all or nothing
 * among themselves. The backend fills the results and rc (FD_SB_OK, or
 * FD_SB_INVAL for a part it cannot serve; a failure fails the call). */
struct fd_sop {
	const struct fd_sgrey	*g;
	struct fd_grey_res	*gres;
	const struct fd_srate	*r;
	size_t			 nr;
	struct fd_rate_res	*rres;
	int			 rc;
};

/* A Redis URL taken apart; see fd_redis_url_parse. */
struct fd_redis_url {
	char		*host;		/* TCP; NULL for a unix socket */
	int		 port;
	char		*sock;		/* unix socket path, or NULL */
	char		*user;		/* ACL user, or NULL */
	char		*pass;		/* password, or NULL */
	int		 db;
};

/* The store's options, parsed and checked by store.c. */
struct fd_store_opts {
	enum fd_store_kind	 kind;
	char			*path;		/* LMDB directory */
	uint64_t		 map_size;	/* lmdb: bytes */
	int64_t			 sweep_ms;	/* lmdb: sweeper period */
	int			 sync;		/* lmdb: sync every commit */
	struct fd_redis_url	 url;		/* redis */
	char			*prefix;	/* redis: key prefix */
	int64_t			 connect_ms;	/* redis: connect timeout */
	int64_t			 timeout_ms;	/* redis: command timeout */
	unsigned		 breaker_failures; /* 0: no breaker */
	int64_t			 breaker_ms;	/* cooldown */
};

/*
 * The backend table. Every operation gets `now` (unix seconds from the
 * store's clock) and an error buffer it fills when it returns FD_SB_FAIL
 * or FD_SB_INVAL. Expired entries are absent to every operation.
 */
struct fd_store_ops {
	const char	*name;
	int		 breaker;	/* 1: failures are slow, guard with the breaker */
	void	*(*open)(const struct fd_store_opts *, const struct fd_clock *,
		    char *err, size_t errlen);
	void	 (*close)(void *);
	int	 (*grey)(void *, const struct fd_sgrey *, int64_t now,
		    struct fd_grey_res *, char *err, size_t errlen);
	int	 (*rate)(void *, const struct fd_srate *, size_t n, int64_t now,
		    struct fd_rate_res *, char *err, size_t errlen);
	/* multi: n parts in one round trip, in order, each seeing the ones
	 * before it, atomically as a whole; FD_SB_OK when the backend
	 * answered (each part's rc then says how it went) or FD_SB_FAIL */
	int	 (*multi)(void *, struct fd_sop *, size_t n, int64_t now,
		    char *err, size_t errlen);
	/* get: copies at most *vallen bytes, sets *vallen to the full size */
	int	 (*get)(void *, const struct fd_skey *, int64_t now, void *val,
		    size_t *vallen, char *err, size_t errlen);
	int	 (*set)(void *, const struct fd_skey *, int64_t now,
		    const void *val, size_t vallen, int64_t ttl,
		    char *err, size_t errlen);
	int	 (*incr)(void *, const struct fd_skey *, int64_t now, int64_t by,
		    int64_t ttl, int64_t *out, char *err, size_t errlen);
	int	 (*del)(void *, const struct fd_skey *, int64_t now,
		    char *err, size_t errlen);
	long	 (*sweep)(void *, int64_t now, char *err, size_t errlen);
	int	 (*stats)(void *, uint64_t *entries, uint64_t *bytes,
		    char *err, size_t errlen);
};

extern const struct fd_store_ops fd_store_lmdb_ops;
extern const struct fd_store_ops fd_store_redis_ops;

/* fd_gcra - the GCRA step of one limit, shared by the C backends and
 * mirrored by the Redis script: given the stored theoretical arrival
 * time tat (us; <= now_us when absent), say whether `cost` events fit
 * (a peek asks about one) and what the bucket looks like after the
 * charge, if `charge`. Returns 1 if the events fit. */
int	 fd_gcra(const struct fd_srate *, int64_t now_us, int64_t tat,
	    int charge, int64_t *newtat, struct fd_rate_res *);

/* fd_redis_url_parse - take url apart into u (strings owned by u);
 * 0, or -1 with a reason in *why */
int	 fd_redis_url_parse(const char *url, struct fd_redis_url *u,
	    const char **why);
/* fd_redis_url_shown - url as an error may show it: the password of its
 * user part or its query, if any, as *** (cut short to fit); returns buf */
char	*fd_redis_url_shown(const char *url, char *buf, size_t len);
/* fd_redis_url_clear - free what u owns */
void	 fd_redis_url_clear(struct fd_redis_url *u);

/* Test hooks. */

/* fd_store_set_mono - read the breaker's monotonic clock (milliseconds)
 * from fn(arg) instead of CLOCK_MONOTONIC */
void	 fd_store_set_mono(struct fd_store *, int64_t (*fn)(void *), void *arg);
/* fd_store_backend - the backend's handle, for backend-specific tests */
void	*fd_store_backend(struct fd_store *);
/* fd_lmdb_test_flush - LMDB, sync no: the background thread flushes no
 * more; each call runs its once-a-second flush step instead */
void	 fd_lmdb_test_flush(void *lmdb);
/* fd_lmdb_test_commit_hook - LMDB: call fn(arg) in each write just
 * before its commit, as the write leader (fn NULL: none) */
void	 fd_lmdb_test_commit_hook(void *lmdb, void (*fn)(void *), void *arg);

#endif
