/*
 * helo_dns.c -- A/AAAA lookups with c-ares, a hard deadline, and a cache
 *
 * Why c-ares and not getaddrinfo(3): the lookup must stop at our timeout
 * whatever resolv.conf says, it must be able to ask a server given in
 * our config (a local unbound, a test server on a high port), and it must
 * report the TTL so the cache can respect it. c-ares does all three.
 *
 * A and AAAA are two queries on one channel, each with its own status:
 * asked together (AF_UNSPEC), c-ares reports success as soon as one
 * family has addresses, and a failed AAAA lookup would pass for "no IPv6
 * address", which would refuse an IPv6 client on a DNS error. An answer
 * with a failed family is used for the family that did answer and is
 * never cached.
 *
 * The wait is a poll(2) loop over the channel's sockets (poll, not
 * select: a busy milter has descriptors above FD_SETSIZE) against a
 * monotonic deadline; when it passes, a query still out is cancelled and
 * its family counts as failed, so the caller fails open for it.
 */
#include <ares.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "helo_dns.h"

struct helo_dns {
	char		*servers;	/* NULL: the system's */
	int64_t		 timeout_ms;
	int64_t		 cache_ttl;
	struct helo_cache *cache;	/* NULL: no cache */
	uint64_t	 lookups;	/* atomic */
};

/* One family's query in flight: filled by the callback. */
struct query {
	unsigned	 fam;		/* HELO_FAM_A or HELO_FAM_AAAA */
	int		 done;
	int		 status;
	int		 minttl;
	struct helo_answer *ans;	/* shared by both queries */
};

/* mono_ms - monotonic clock in milliseconds: real waiting, not the
 * host's movable clock */
static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* channel_new - one channel with our timeouts and servers */
static int
channel_new(const struct helo_dns *d, ares_channel *ch, char *err,
    size_t errlen)
{
	struct ares_options o;
	int		 rc, per_try;

	/* two tries, the second twice as long (c-ares backs off), in budget */
	per_try = (int)(d->timeout_ms / 3);
	if (per_try < 50)
		per_try = 50;
	memset(&o, 0, sizeof(o));
	o.flags = ARES_FLAG_NOSEARCH | ARES_FLAG_NOALIASES;
	o.timeout = per_try;
	o.tries = 2;
	o.lookups = (char *)"b";	/* DNS only, no /etc/hosts */
	rc = ares_init_options(ch, &o, ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS |
	    ARES_OPT_TRIES | ARES_OPT_LOOKUPS);
	if (rc != ARES_SUCCESS) {
		snprintf(err, errlen, "resolver: %s", ares_strerror(rc));
		return -1;
	}
	if (d->servers != NULL)
		rc = ares_set_servers_ports_csv(*ch, d->servers);
	if (rc != ARES_SUCCESS) {
		snprintf(err, errlen, "resolver \"%s\": %s", d->servers,
		    ares_strerror(rc));
		ares_destroy(*ch);
		return -1;
	}
	return 0;
}

/* helo_dns_new - build, and try the servers once so config errors show */
struct helo_dns *
helo_dns_new(const struct helo_dns_opts *o, char *err, size_t errlen)
{
	struct helo_dns	*d;
	ares_channel	 ch;
	int		 rc;

	if ((rc = ares_library_init(ARES_LIB_INIT_ALL)) != ARES_SUCCESS) {
		snprintf(err, errlen, "c-ares: %s", ares_strerror(rc));
		return NULL;
	}
	if ((d = calloc(1, sizeof(*d))) == NULL)
		goto nomem;
	d->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : 2000;
	d->cache_ttl = o->cache_ttl;
	if (o->servers != NULL && (d->servers = strdup(o->servers)) == NULL)
		goto nomem;
	if (o->cache_size > 0 &&
	    (d->cache = helo_cache_new(o->cache_size)) == NULL)
		goto nomem;
	if (channel_new(d, &ch, err, errlen) != 0) {
		helo_dns_free(d);
		return NULL;
	}
	ares_destroy(ch);
	return d;
nomem:
	snprintf(err, errlen, "out of memory");
	if (d == NULL)
		ares_library_cleanup();
	helo_dns_free(d);
	return NULL;
}

/* helo_dns_free - the cache, then the c-ares reference new() took */
struct helo_dns *
helo_dns_free(struct helo_dns *d)
{
	if (d == NULL)
		return NULL;
	helo_cache_free(d->cache);
	free(d->servers);
	free(d);
	ares_library_cleanup();
	return NULL;
}

/* node_addr - the address bytes of an addrinfo node of family af */
static size_t
node_addr(const struct ares_addrinfo_node *n, int af, const unsigned char **a)
{
	const struct sockaddr_in *sin;
	const struct sockaddr_in6 *sin6;

	if (n->ai_family != af)
		return 0;
	if (af == AF_INET) {
		sin = (const struct sockaddr_in *)(const void *)n->ai_addr;
		*a = (const unsigned char *)&sin->sin_addr;
		return 4;
	}
	sin6 = (const struct sockaddr_in6 *)(const void *)n->ai_addr;
	*a = (const unsigned char *)&sin6->sin6_addr;
	return 16;
}

/* on_answer - c-ares callback: copy the addresses and the least TTL */
static void
on_answer(void *arg, int status, int timeouts, struct ares_addrinfo *res)
{
	struct query	*q = arg;
	struct ares_addrinfo_node *n;
	struct helo_answer *ans = q->ans;
	const unsigned char *a;
	size_t		 len;
	int		 af = q->fam == HELO_FAM_A ? AF_INET : AF_INET6;

	(void)timeouts;
	q->done = 1;
	q->status = status;
	q->minttl = -1;
	if (status == ARES_SUCCESS && res != NULL) {
		for (n = res->nodes; n != NULL; n = n->ai_next) {
			if ((len = node_addr(n, af, &a)) == 0)
				continue;
			if (q->minttl < 0 || n->ai_ttl < q->minttl)
				q->minttl = n->ai_ttl;
			/* the cap bounds the cache; say what it cost */
			if (ans->naddr == HELO_ANSWER_MAX)
				ans->more |= (unsigned char)q->fam;
			else if (helo_addr_set(&ans->addr[ans->naddr], a,
			    len) == 0)
				ans->naddr++;
		}
	}
	if (res != NULL)
		ares_freeaddrinfo(res);
}

/* wait_once - one poll over the channel's sockets, at most left ms */
static void
wait_once(ares_channel ch, int64_t left)
{
	ares_socket_t	 socks[ARES_GETSOCK_MAXNUM];
	struct pollfd	 pfd[ARES_GETSOCK_MAXNUM];
	struct timeval	 maxtv, tv, *tvp;
	int		 bits, i, n = 0, rc, ms;

	bits = ares_getsock(ch, socks, ARES_GETSOCK_MAXNUM);
	for (i = 0; i < ARES_GETSOCK_MAXNUM; i++) {
		short ev = 0;

		/* c-ares's own macros shift a signed 1 into the sign bit */
		if ((unsigned)bits & (1u << i))
			ev |= POLLIN;
		if ((unsigned)bits & (1u << (i + ARES_GETSOCK_MAXNUM)))
			ev |= POLLOUT;
		if (ev == 0)
			continue;
		pfd[n].fd = socks[i];
		pfd[n].events = ev;
		pfd[n].revents = 0;
		n++;
	}
	maxtv.tv_sec = (time_t)(left / 1000);
	maxtv.tv_usec = (suseconds_t)((left % 1000) * 1000);
	tvp = ares_timeout(ch, &maxtv, &tv);
	ms = (int)(tvp->tv_sec * 1000 + (tvp->tv_usec + 999) / 1000);
	rc = poll(pfd, (nfds_t)n, ms);
	if (rc < 0 && errno == EINTR)
		return;
	if (rc <= 0) {
		ares_process_fd(ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
		return;
	}
	for (i = 0; i < n; i++) {
		short re = pfd[i].revents;
		ares_socket_t r = ARES_SOCKET_BAD, w = ARES_SOCKET_BAD;

		if (re & (POLLIN | POLLERR | POLLHUP))
			r = pfd[i].fd;
		if (re & POLLOUT)
			w = pfd[i].fd;
		if (r != ARES_SOCKET_BAD || w != ARES_SOCKET_BAD)
			ares_process_fd(ch, r, w);
	}
}

/* resolve - the A and the AAAA query, both bounded by one deadline,
 * wait_ms from now; -1 if there is no channel (err says why) */
static int
resolve(struct helo_dns *d, const char *name, int64_t wait_ms,
    struct query q[2], char *err, size_t errlen)
{
	struct ares_addrinfo_hints hints;
	ares_channel	 ch;
	int64_t		 deadline, left;
	int		 i;

	if (channel_new(d, &ch, err, errlen) != 0)
		return -1;
	__atomic_add_fetch(&d->lookups, 1, __ATOMIC_RELAXED);
	for (i = 0; i < 2; i++) {
		memset(&hints, 0, sizeof(hints));
		hints.ai_family = q[i].fam == HELO_FAM_A ? AF_INET : AF_INET6;
		hints.ai_flags = ARES_AI_NOSORT;
		ares_getaddrinfo(ch, name, NULL, &hints, on_answer, &q[i]);
	}
	deadline = mono_ms() + wait_ms;
	while ((!q[0].done || !q[1].done) &&
	    (left = deadline - mono_ms()) > 0)
		wait_once(ch, left);
	if (!q[0].done || !q[1].done)
		ares_cancel(ch);	/* calls on_answer with ECANCELLED */
	ares_destroy(ch);
	return 0;
}

/* failed - a status that is neither an answer nor "there is none" */
static int
failed(int status)
{
	return status != ARES_SUCCESS && status != ARES_ENOTFOUND &&
	    status != ARES_ENODATA;
}

/* failure - a failed query's status in words; wait_ms was its deadline */
static void
failure(int64_t wait_ms, int status, char *buf, size_t buflen)
{
	/* our deadline or c-ares's last try: the same thing to the reader */
	if (status == ARES_ECANCELLED || status == ARES_ETIMEOUT)
		snprintf(buf, buflen, "timed out after %lld ms",
		    (long long)wait_ms);
	/* c-ares (1.18) also ends so when every server answered SERVFAIL
	 * or REFUSED: "Could not contact DNS servers" sent admins to look
	 * at a network that worked */
	else if (status == ARES_ECONNREFUSED)
		snprintf(buf, buflen, "no DNS server gave an answer "
		    "(unreachable, or each said SERVFAIL or REFUSED)");
	else
		snprintf(buf, buflen, "%s", ares_strerror(status));
}

/* failures - set ans->failed, and say in err which lookup failed and why;
 * when both did, the first reason is enough */
static void
failures(int64_t wait_ms, const struct query q[2], struct helo_answer *ans,
    char *err, size_t errlen)
{
	char	 why[96];
	int	 i;

	for (i = 0; i < 2; i++)
		if (failed(q[i].status))
			ans->failed |= (unsigned char)q[i].fam;
	if (ans->failed == (HELO_FAM_A | HELO_FAM_AAAA))
		failure(wait_ms, q[0].status, err, errlen);
	else if (ans->failed != 0) {
		i = ans->failed == HELO_FAM_A ? 0 : 1;
		failure(wait_ms, q[i].status, why, sizeof(why));
		snprintf(err, errlen, "the %s lookup failed: %s",
		    i == 0 ? "A" : "AAAA", why);
	}
}

/* least_ttl - the smaller TTL of the two queries' addresses */
static int
least_ttl(const struct query q[2])
{
	if (q[0].minttl < 0)
		return q[1].minttl;
	if (q[1].minttl < 0 || q[0].minttl < q[1].minttl)
		return q[0].minttl;
	return q[1].minttl;
}

/* helo_dns_lookup - from the cache, else from the network */
enum helo_dns_rc
helo_dns_lookup(struct helo_dns *d, const char *name, int64_t now,
    struct helo_answer *ans, char *err, size_t errlen)
{
	int64_t	 spent = 0;

	return helo_dns_lookup_conn(d, name, now, &spent, ans, err, errlen);
}

/* helo_dns_lookup_conn - the same, the network's wait counted in *spent */
enum helo_dns_rc
helo_dns_lookup_conn(struct helo_dns *d, const char *name, int64_t now,
    int64_t *spent, struct helo_answer *ans, char *err, size_t errlen)
{
	struct query	 q[2];
	int64_t		 ttl, wait_ms = d->timeout_ms - *spent, start;
	int		 rc;

	if (errlen > 0)
		err[0] = '\0';
	memset(ans, 0, sizeof(*ans));
	if (d->cache != NULL && helo_cache_get(d->cache, name, now, ans))
		return ans->rc;
	ans->rc = HELO_DNS_ERROR;
	ans->failed = HELO_FAM_A | HELO_FAM_AAAA;
	if (wait_ms <= 0) {
		snprintf(err, errlen, "this connection's lookups took "
		    "dns-timeout (%lld ms) already", (long long)d->timeout_ms);
		return ans->rc;
	}
	memset(q, 0, sizeof(q));
	q[0].fam = HELO_FAM_A;
	q[1].fam = HELO_FAM_AAAA;
	q[0].ans = q[1].ans = ans;
	start = mono_ms();
	rc = resolve(d, name, wait_ms, q, err, errlen);
	*spent += mono_ms() - start;
	if (rc != 0)
		return ans->rc;
	ans->failed = 0;
	failures(wait_ms, q, ans, err, errlen);
	if (ans->naddr > 0) {
		ans->rc = HELO_DNS_FOUND;
		ttl = least_ttl(q);
	} else if (q[0].status == ARES_ENOTFOUND ||
	    q[1].status == ARES_ENOTFOUND || ans->failed == 0) {
		/* NXDOMAIN is about the name, whatever the other type did */
		ans->rc = HELO_DNS_NONAME;
		ttl = HELO_DNS_NEGATIVE_TTL;
	} else {
		/* no address, and a lookup that could have brought one */
		ans->rc = HELO_DNS_ERROR;
		return ans->rc;
	}
	/* errors are never cached, nor what is known despite them */
	if (ans->failed != 0)
		return ans->rc;
	if (ttl > d->cache_ttl)
		ttl = d->cache_ttl;
	if (d->cache != NULL && ttl > 0)
		helo_cache_put(d->cache, name, ans, now, ttl);
	return ans->rc;
}

/* helo_dns_family - the HELO_FAM_* bit of addr's family */
unsigned
helo_dns_family(const struct helo_addr *addr)
{
	return addr->len == 4 ? HELO_FAM_A : HELO_FAM_AAAA;
}

/* helo_dns_confirms - is the client among the name's addresses; not
 * among them means "not the client's" only if its family's addresses
 * are all there */
int
helo_dns_confirms(const struct helo_answer *ans, const struct helo_addr *addr)
{
	unsigned i;

	for (i = 0; i < ans->naddr; i++)
		if (helo_addr_eq(&ans->addr[i], addr))
			return 1;
	if ((ans->failed | ans->more) & helo_dns_family(addr))
		return -1;
	return 0;
}

/* helo_dns_stats - network lookups and the cache's counters */
void
helo_dns_stats(struct helo_dns *d, struct helo_dns_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->lookups = __atomic_load_n(&d->lookups, __ATOMIC_RELAXED);
	if (d->cache != NULL)
		helo_cache_stats(d->cache, &st->cache);
}
