/*
 * helo_cache.h -- a small bounded cache of DNS answers with their TTLs
 *
 * Forward confirmation asks the same names again and again (a sender's
 * few outbound hosts), so answers are kept until their TTL, capped by
 * the configured maximum, runs out. The cache holds at most `cap` names;
 * when full, the least recently used one goes. It is shared by every
 * milter thread of one configuration generation and locks internally;
 * time is the caller's (the host clock), so tests can move it.
 */
#ifndef HELO_CACHE_H
#define HELO_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "helo_net.h"

#define HELO_ANSWER_MAX	16	/* addresses kept per name */

/* address families, as bits of struct helo_answer's masks */
#define HELO_FAM_A	0x01	/* IPv4, the A lookup */
#define HELO_FAM_AAAA	0x02	/* IPv6, the AAAA lookup */

enum helo_dns_rc {
	HELO_DNS_FOUND = 0,	/* the name has A/AAAA records */
	HELO_DNS_NONAME,	/* NXDOMAIN, or no A/AAAA records */
	HELO_DNS_ERROR		/* timeout, SERVFAIL...: fail open */
};

/* An answer with a bit in either mask is not the whole truth about that
 * family: the client may be among the addresses it lacks. */
struct helo_answer {
	enum helo_dns_rc rc;
	unsigned	 naddr;
	struct helo_addr addr[HELO_ANSWER_MAX];
	unsigned char	 failed;	/* HELO_FAM_*: lookup failed */
	unsigned char	 more;		/* HELO_FAM_*: addresses dropped */
	int		 from_cache;	/* set by helo_cache_get */
};

struct helo_cache_stats {
	uint64_t	 hits, misses, inserts, evictions;
	size_t		 count;
};

struct helo_cache;

/* helo_cache_new - room for cap names; NULL if out of memory */
struct helo_cache *helo_cache_new(size_t cap);
/* helo_cache_free - returns NULL */
struct helo_cache *helo_cache_free(struct helo_cache *);
/* helo_cache_get - 1 and *ans if name has an entry stored at or before
 * now and good after it, else 0 */
int	 helo_cache_get(struct helo_cache *, const char *name, int64_t now,
	    struct helo_answer *ans);
/* helo_cache_put - keep ans for name from now (unix seconds) for ttl */
void	 helo_cache_put(struct helo_cache *, const char *name,
	    const struct helo_answer *ans, int64_t now, int64_t ttl);
/* helo_cache_stats - counters, for tests and logs */
void	 helo_cache_stats(struct helo_cache *, struct helo_cache_stats *);

#endif
