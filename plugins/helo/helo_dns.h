/*
 * helo_dns.h -- forward confirmation of an HELO name, bounded in time
 *
 * helo_dns_lookup() resolves a name's A and AAAA records with c-ares
 * against the configured servers (or the system's resolv.conf), waits
 * at most the configured timeout in the calling milter thread, and keeps
 * answers in a helo_cache for their TTL. Every failure to get an answer
 * is HELO_DNS_ERROR, which the checks treat as "not checked": forward
 * confirmation fails open. So is an answer that cannot tell: one whose
 * lookup for the client's family failed, or that had more addresses of
 * that family than it keeps (HELO_ANSWER_MAX).
 *
 * A struct helo_dns belongs to one configuration generation and is used
 * by all its threads at once: each lookup runs on its own c-ares channel
 * (a channel is not thread-safe in the c-ares versions Debian ships), and
 * the cache locks itself.
 */
#ifndef HELO_DNS_H
#define HELO_DNS_H

#include <stddef.h>
#include <stdint.h>

#include "helo_cache.h"
#include "helo_net.h"

#define HELO_DNS_NEGATIVE_TTL	60	/* s a "no such name" is kept */

struct helo_dns_opts {
	const char	*servers;	/* "127.0.0.1:5353,..."; NULL */
	int64_t		 timeout_ms;	/* whole lookup, all tries */
	size_t		 cache_size;	/* names; 0: no cache */
	int64_t		 cache_ttl;	/* cap on any TTL, seconds */
};

struct helo_dns_stats {
	uint64_t	 lookups;	/* names asked of the network */
	struct helo_cache_stats cache;
};

struct helo_dns;

/* helo_dns_new - check the options and build the resolver; NULL and a
 * reason in err if the servers are unusable */
struct helo_dns	*helo_dns_new(const struct helo_dns_opts *, char *err,
		    size_t errlen);
/* helo_dns_free - returns NULL */
struct helo_dns	*helo_dns_free(struct helo_dns *);
/* helo_dns_lookup - A/AAAA of name at time now (unix seconds); on
 * HELO_DNS_ERROR, or when one family's lookup failed (ans->failed), err
 * says why ("timed out", c-ares's text, "the AAAA lookup failed: ...") */
enum helo_dns_rc helo_dns_lookup(struct helo_dns *, const char *name,
		    int64_t now, struct helo_answer *, char *err,
		    size_t errlen);
/* helo_dns_lookup_conn - the same for one of a connection's lookups,
 * which share one timeout: *spent (0 at the connection's start) is what
 * its lookups waited on the network so far, and grows by this one's wait.
 * With nothing left, a name not in the cache is HELO_DNS_ERROR. */
enum helo_dns_rc helo_dns_lookup_conn(struct helo_dns *, const char *name,
		    int64_t now, int64_t *spent, struct helo_answer *,
		    char *err, size_t errlen);
/* helo_dns_confirms - 1 if addr is among the answer's addresses, 0 if
 * not and its family's answer is whole, -1 if the answer cannot tell */
int		 helo_dns_confirms(const struct helo_answer *,
		    const struct helo_addr *addr);
/* helo_dns_family - HELO_FAM_A or HELO_FAM_AAAA, for addr */
unsigned	 helo_dns_family(const struct helo_addr *addr);
/* helo_dns_stats - counters */
void		 helo_dns_stats(struct helo_dns *, struct helo_dns_stats *);

#endif
