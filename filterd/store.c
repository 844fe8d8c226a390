/*
 * store.c -- the state store front: one API over LMDB and Redis
 *
 * What both backends share lives here, so that they differ only in how
 * they keep bytes:
 *
 *   - the store options (`store lmdb "/dir" { map-size 1G; }`), parsed
 *     from conf->store_opts with file:line:col errors;
 *   - request checks, and turning a rate limit into integer GCRA numbers
 *     (fd_gcra below is the reference the Redis script mirrors);
 *   - key hashing: XXH3 128-bit of the caller's bytes, behind a one-byte
 *     type tag, so a stored key is 17 bytes whatever a client sent and
 *     holds no address in clear;
 *   - health: a failure is logged once when the backend goes bad and once
 *     when it answers again, never once per message (and a store that
 *     flaps says so at most once a minute, and once more if it is still
 *     down when that minute is over); after
 *     breaker-failures consecutive failures a circuit breaker makes calls
 *     fail at once for breaker-cooldown, then lets one trial call through
 *     (the cooldown doubles while trials fail, up to 30s or the cooldown
 *     itself if longer), so a dead Redis does not cost every message a
 *     timeout. The breaker reads a
 *     monotonic clock, which tests may replace (fd_store_set_mono).
 *
 * Decision time (entry ages, TTLs, rate windows) comes only from the
 * fd_clock given to fd_store_new.
 */
#include "config.h"

#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <xxhash.h>

#include "clock.h"
#include "conf.h"
#include "log.h"
#include "path.h"
#include "store.h"
#include "store_backend.h"
#include "units.h"
#include "xalloc.h"

#define US		1000000LL
#define GCRA_MAX	(1LL << 50)	/* keeps Lua's doubles exact */
#define BACKOFF_MAX_MS	30000
#define LOG_FLAP_MS	60000	/* at most one "unavailable" a minute */

struct fd_store {
	const struct fd_store_ops *ops;
	void			*be;
	const struct fd_clock	*clock;
	struct fd_store_opts	 opts;
	char			*label;		/* "redis 127.0.0.1:6379/0" */

	/* health, under mu; `down` is also read without it */
	pthread_mutex_t		 mu;
	int			 down;		/* last call failed */
	unsigned		 failures;	/* consecutive */
	int			 open;		/* breaker open */
	int			 trial;		/* a trial call is out */
	int64_t			 open_until;	/* mono ms */
	int64_t			 backoff;	/* ms */
	uint64_t		 failed_calls;	/* since it went down */
	int			 said_down;	/* "unavailable" was logged */
	int64_t			 down_logged;	/* mono ms of that line */
	/* outages begun and over within the minute after that line: told
	 * in one line once the minute is over (`quiet` also read without
	 * mu) */
	int			 quiet;
	unsigned		 quiet_outages;
	uint64_t		 quiet_calls;
	int64_t			 inval_logged;	/* mono ms of that line */

	int64_t			(*mono)(void *);
	void			*mono_arg;
};

/*
 * Options
 */

enum opt_type { OT_SIZE, OT_MS, OT_BOOL, OT_UINT, OT_STR };

#define K_LMDB	(1u << FD_STORE_LMDB)
#define K_REDIS	(1u << FD_STORE_REDIS)

static const struct store_opt {
	const char	*name;
	unsigned	 kinds;
	enum opt_type	 type;
	size_t		 off;
	int64_t		 min;
	int64_t		 max;
	const char	*range;		/* min and max as a reader writes them */
} store_opts[] = {
	{ "map-size", K_LMDB, OT_SIZE, offsetof(struct fd_store_opts, map_size),
	    32 << 10, INT64_MAX, "at least 32k" },
	{ "sweep-interval", K_LMDB, OT_MS,
	    offsetof(struct fd_store_opts, sweep_ms), 10, 86400000,
	    "10ms to 1d" },
	{ "sync", K_LMDB, OT_BOOL, offsetof(struct fd_store_opts, sync), 0, 1,
	    NULL },
	{ "prefix", K_REDIS, OT_STR, offsetof(struct fd_store_opts, prefix),
	    0, 64, "at most 64 characters" },
	{ "connect-timeout", K_REDIS, OT_MS,
	    offsetof(struct fd_store_opts, connect_ms), 1, 60000, "1ms to 1m" },
	{ "timeout", K_REDIS, OT_MS, offsetof(struct fd_store_opts, timeout_ms),
	    1, 60000, "1ms to 1m" },
	{ "breaker-failures", K_REDIS, OT_UINT,
	    offsetof(struct fd_store_opts, breaker_failures), 0, 1000,
	    "0 to 1000" },
	{ "breaker-cooldown", K_REDIS, OT_MS,
	    offsetof(struct fd_store_opts, breaker_ms), 10, 3600000,
	    "10ms to 1h" },
};
#define NOPTS	(sizeof(store_opts) / sizeof(store_opts[0]))

/* kind_name - the store kind as the config spells it */
static const char *
kind_name(enum fd_store_kind k)
{
	return k == FD_STORE_REDIS ? "redis" : "lmdb";
}

/* opts_defaults - the documented defaults */
static void
opts_defaults(struct fd_store_opts *o, enum fd_store_kind kind)
{
	memset(o, 0, sizeof(*o));
	o->kind = kind;
	o->map_size = 256ULL << 20;
	o->sweep_ms = 60000;
	o->sync = 0;		/* flushed once a second; see store_lmdb.c */
	o->connect_ms = 200;
	o->timeout_ms = 250;
	o->breaker_failures = 3;
	o->breaker_ms = 5000;
}

/* opts_clear - free what o owns */
static void
opts_clear(struct fd_store_opts *o)
{
	free(o->path);
	free(o->prefix);
	fd_redis_url_clear(&o->url);
	memset(o, 0, sizeof(*o));
}

/* opt_value - parse one directive's argument into o; 0 or -1 */
static int
opt_value(const struct store_opt *so, const struct fd_directive *d,
    struct fd_store_opts *o, struct fd_errs *errs)
{
	const char	*arg = d->argv[0], *why = NULL, *what = NULL;
	const struct fd_loc *loc = d->argloc ? &d->argloc[0] : &d->loc;
	char		*p = (char *)o + so->off;
	uint64_t	 u;
	int64_t		 v;
	int		 b;

	switch (so->type) {
	case OT_SIZE:
		if (fd_units_size(arg, &u, &why) < 0)
			break;
		if (u > (uint64_t)so->max || u > SIZE_MAX) {
			why = "size larger than any address space";
			break;
		}
		if (u < (uint64_t)so->min) {
			what = "size";
			break;
		}
		memcpy(p, &u, sizeof(u));
		return 0;
	case OT_MS:
		if (fd_units_duration_ms(arg, &v, &why) < 0)
			break;
		if (v < so->min || v > so->max) {
			what = "duration";
			break;
		}
		memcpy(p, &v, sizeof(v));
		return 0;
	case OT_BOOL:
		if (fd_units_bool(arg, &b, &why) < 0)
			break;
		memcpy(p, &b, sizeof(b));
		return 0;
	case OT_UINT: {
		unsigned n;

		if (fd_units_size(arg, &u, &why) < 0)
			break;
		if (u > (uint64_t)so->max) {
			what = "number";
			break;
		}
		n = (unsigned)u;
		memcpy(p, &n, sizeof(n));
		return 0;
	}
	case OT_STR: {
		char *s;

		if (strlen(arg) > (size_t)so->max) {
			what = "length";
			break;
		}
		if (strpbrk(arg, "{}") != NULL) {
			why = "must not contain { or } (they mark Redis hash tags)";
			break;
		}
		memcpy(&s, p, sizeof(s));
		free(s);
		s = fd_strdup(arg);
		memcpy(p, &s, sizeof(s));
		return 0;
	}
	}
	if (what != NULL)
		fd_errs_add(errs, loc, "store %s: %s \"%s\": %s out of range "
		    "(%s)", kind_name(o->kind), so->name, arg, what, so->range);
	else
		fd_errs_add(errs, loc, "store %s: %s \"%s\": %s",
		    kind_name(o->kind), so->name, arg, why);
	return -1;
}

char *
fd_store_dir(const struct fd_conf *conf)
{
	if (conf->store_kind != FD_STORE_LMDB || conf->store_path == NULL ||
	    conf->store_path[0] == '\0')
		return NULL;
	if (conf->store_path[0] != '/' && conf->dir != NULL)
		return fd_path_join(conf->dir, strlen(conf->dir),
		    conf->store_path);
	return fd_strdup(conf->store_path);
}

/* opts_parse - defaults, then conf's store line and options; 0 or -1 */
static int
opts_parse(const struct fd_conf *conf, struct fd_store_opts *o,
    struct fd_errs *errs)
{
	const struct fd_directive *d, *e;
	const char	*why;
	char		 shown[512];
	size_t		 i;
	int		 rc = 0;

	opts_defaults(o, conf->store_kind);
	o->prefix = fd_strdup("filterd:");
	if (conf->store_path == NULL || conf->store_path[0] == '\0') {
		fd_errs_add(errs, &conf->store_loc, "store %s: no %s given",
		    kind_name(o->kind), o->kind == FD_STORE_REDIS ? "URL" :
		    "directory");
		rc = -1;
	} else if (o->kind == FD_STORE_REDIS) {
		if (fd_redis_url_parse(conf->store_path, &o->url, &why) < 0) {
			fd_errs_add(errs, &conf->store_loc,
			    "store redis: bad URL \"%s\": %s",
			    fd_redis_url_shown(conf->store_path, shown,
			    sizeof(shown)), why);
			rc = -1;
		}
	} else
		o->path = fd_store_dir(conf);

	for (d = conf->store_opts ? conf->store_opts->head : NULL; d != NULL;
	    d = d->next) {
		for (i = 0; i < NOPTS; i++)
			if (strcmp(d->name, store_opts[i].name) == 0)
				break;
		if (i == NOPTS || !(store_opts[i].kinds & (1u << o->kind))) {
			fd_errs_add(errs, &d->loc, "store %s: unknown option "
			    "\"%s\" (%s)", kind_name(o->kind), d->name,
			    o->kind == FD_STORE_REDIS ? "prefix, connect-timeout, "
			    "timeout, breaker-failures, breaker-cooldown" :
			    "map-size, sweep-interval, sync");
			rc = -1;
			continue;
		}
		for (e = conf->store_opts->head; e != d; e = e->next)
			if (strcmp(e->name, d->name) == 0)
				break;
		if (e != d) {
			fd_errs_add(errs, &d->loc, "store %s: %s given twice",
			    kind_name(o->kind), d->name);
			rc = -1;
			continue;
		}
		if (d->argc != 1 || d->child != NULL) {
			fd_errs_add(errs, &d->loc, "store %s: %s takes one value",
			    kind_name(o->kind), d->name);
			rc = -1;
			continue;
		}
		if (opt_value(&store_opts[i], d, o, errs) < 0)
			rc = -1;
	}
	return rc;
}

/* opts_label - how logs name the store; never shows a password */
static char *
opts_label(const struct fd_store_opts *o)
{
	if (o->kind == FD_STORE_LMDB)
		return fd_asprintf("lmdb %s", o->path);
	if (o->url.sock != NULL)
		return fd_asprintf("redis unix:%s/%d", o->url.sock, o->url.db);
	return fd_asprintf("redis %s:%d/%d", o->url.host, o->url.port,
	    o->url.db);
}

/* fd_store_check - parse the options, open nothing */
int
fd_store_check(const struct fd_conf *conf, struct fd_errs *errs)
{
	struct fd_store_opts o;
	int	 rc;

	rc = opts_parse(conf, &o, errs);
	opts_clear(&o);
	return rc;
}

/*
 * Life cycle
 */

/* mono_real - CLOCK_MONOTONIC in milliseconds */
static int64_t
mono_real(void *arg)
{
	struct timespec ts;

	(void)arg;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* fd_store_new - parse, then open the backend */
struct fd_store *
fd_store_new(const struct fd_conf *conf, const struct fd_clock *clock,
    struct fd_errs *errs)
{
	struct fd_store	*s;
	char		 err[512];

	s = fd_calloc(1, sizeof(*s));
	if (opts_parse(conf, &s->opts, errs) < 0) {
		opts_clear(&s->opts);
		free(s);
		return NULL;
	}
	s->ops = s->opts.kind == FD_STORE_REDIS ? &fd_store_redis_ops :
	    &fd_store_lmdb_ops;
	s->clock = clock;
	s->label = opts_label(&s->opts);
	s->mono = mono_real;
	pthread_mutex_init(&s->mu, NULL);
	err[0] = '\0';
	if ((s->be = s->ops->open(&s->opts, clock, err, sizeof(err))) == NULL) {
		fd_errs_add(errs, &conf->store_loc, "store %s: %s", s->label,
		    err);
		return fd_store_free(s);
	}
	return s;
}

static void	tell_at_stop(struct fd_store *);

/* fd_store_free - close the backend; returns NULL */
struct fd_store *
fd_store_free(struct fd_store *s)
{
	if (s == NULL)
		return NULL;
	tell_at_stop(s);
	if (s->be != NULL)
		s->ops->close(s->be);
	pthread_mutex_destroy(&s->mu);
	opts_clear(&s->opts);
	free(s->label);
	free(s);
	return NULL;
}

/* fd_store_set_mono - replace the breaker's clock (tests) */
void
fd_store_set_mono(struct fd_store *s, int64_t (*fn)(void *), void *arg)
{
	s->mono = fn ? fn : mono_real;
	s->mono_arg = arg;
}

/* fd_store_backend - the backend's handle (tests) */
void *
fd_store_backend(struct fd_store *s)
{
	return s->be;
}

/*
 * Health: the breaker and the once-per-change log lines
 */

/* admit - may a call go to the backend now? 0 no, 1 yes, 2 as the trial */
static int
admit(struct fd_store *s)
{
	int	 rc = 0;

	if (!__atomic_load_n(&s->open, __ATOMIC_ACQUIRE))
		return 1;
	pthread_mutex_lock(&s->mu);
	if (!s->open)
		rc = 1;
	else if (!s->trial && s->mono(s->mono_arg) >= s->open_until) {
		s->trial = 1;
		rc = 2;
	} else
		s->failed_calls++;
	pthread_mutex_unlock(&s->mu);
	return rc;
}

/* tell_quiet - the outages no line told of yet; under mu, at a moment
 * the once-a-minute limit allows a line */
static void
tell_quiet(struct fd_store *s)
{
	if (!s->quiet)
		return;
	fd_log(FD_LOG_ERR, "store %s: %u short outage%s (%llu failed call%s) "
	    "in the minute after its last line, each over before it could be "
	    "logged; on-store-error applied to them", s->label,
	    s->quiet_outages, s->quiet_outages == 1 ? "" : "s",
	    (unsigned long long)s->quiet_calls, s->quiet_calls == 1 ? "" : "s");
	__atomic_store_n(&s->quiet, 0, __ATOMIC_RELEASE);
	s->quiet_outages = 0;
	s->quiet_calls = 0;
}

/* tell_at_stop - the last chance to tell what the once-a-minute limit
 * kept back: short outages that are over, and one still going on that
 * began too soon after the last line to be logged */
static void
tell_at_stop(struct fd_store *s)
{
	pthread_mutex_lock(&s->mu);
	tell_quiet(s);
	if (s->down && !s->said_down)
		fd_log(FD_LOG_ERR, "store %s: unavailable at stop, since %llu "
		    "failed call%s that no line told of; on-store-error "
		    "applied to them", s->label,
		    (unsigned long long)s->failed_calls,
		    s->failed_calls == 1 ? "" : "s");
	pthread_mutex_unlock(&s->mu);
}

/* failed - count a backend failure, log it if the store just went bad,
 * open the breaker when due */
static void
failed(struct fd_store *s, int trial, const char *why)
{
	unsigned n = s->opts.breaker_failures;

	pthread_mutex_lock(&s->mu);
	s->failures++;
	s->failed_calls++;
	if (!s->down)
		__atomic_store_n(&s->down, 1, __ATOMIC_RELEASE);
	/* a store that flaps (a full map still serves reads) says so at
	 * most once a minute; one that went down within that minute and
	 * stays down says so once it is over, or the last line would
	 * still say "available again" */
	if (!s->said_down && fd_log_ratelimited(&s->down_logged,
	    s->mono(s->mono_arg), LOG_FLAP_MS)) {
		s->said_down = 1;
		tell_quiet(s);
		fd_log(FD_LOG_ERR, "store %s: unavailable: %s; store calls "
		    "fail (on-store-error applies) until it recovers",
		    s->label, why[0] ? why : "unknown error");
	}
	if (s->ops->breaker && n > 0) {
		if (trial && s->open) {
			s->trial = 0;
			s->backoff *= 2;
			if (s->backoff > BACKOFF_MAX_MS)
				s->backoff = s->opts.breaker_ms > BACKOFF_MAX_MS ?
				    s->opts.breaker_ms : BACKOFF_MAX_MS;
			s->open_until = s->mono(s->mono_arg) + s->backoff;
		} else if (!s->open && s->failures >= n) {
			s->backoff = s->opts.breaker_ms;
			s->open_until = s->mono(s->mono_arg) + s->backoff;
			__atomic_store_n(&s->open, 1, __ATOMIC_RELEASE);
			fd_log_debug("store %s: breaker open for %lldms after %u "
			    "failures", s->label, (long long)s->backoff,
			    s->failures);
		}
	}
	pthread_mutex_unlock(&s->mu);
}

/*
 * recovered - a call succeeded: close the breaker, say so once. An
 * outage that began too soon after the last line to be logged then is
 * counted, and told once the minute is over, by the first call that
 * succeeds after it or the next "unavailable": else a short outage
 * soon after another would never be logged. Until the minute is over a
 * call that succeeds reads the clock, not the lock.
 */
static void
recovered(struct fd_store *s)
{
	if (!__atomic_load_n(&s->down, __ATOMIC_ACQUIRE) &&
	    !__atomic_load_n(&s->open, __ATOMIC_ACQUIRE) &&
	    (!__atomic_load_n(&s->quiet, __ATOMIC_ACQUIRE) ||
	    s->mono(s->mono_arg) - __atomic_load_n(&s->down_logged,
	    __ATOMIC_RELAXED) < LOG_FLAP_MS))
		return;
	pthread_mutex_lock(&s->mu);
	if (s->down && s->said_down)
		fd_log(FD_LOG_NOTICE, "store %s: available again after %llu "
		    "failed call%s", s->label,
		    (unsigned long long)s->failed_calls,
		    s->failed_calls == 1 ? "" : "s");
	else if (s->down) {
		s->quiet_outages++;
		s->quiet_calls += s->failed_calls;
		__atomic_store_n(&s->quiet, 1, __ATOMIC_RELEASE);
	}
	if (s->quiet && fd_log_ratelimited(&s->down_logged,
	    s->mono(s->mono_arg), LOG_FLAP_MS))
		tell_quiet(s);
	s->said_down = 0;
	__atomic_store_n(&s->down, 0, __ATOMIC_RELEASE);
	__atomic_store_n(&s->open, 0, __ATOMIC_RELEASE);
	s->failures = 0;
	s->trial = 0;
	s->failed_calls = 0;
	pthread_mutex_unlock(&s->mu);
}

/* invalid - a request no backend can serve (a caller's bug, a full LMDB
 * map), logged at most once a minute of the monotonic clock: by the wall
 * clock, a step back would silence it for as long as the step */
static int
invalid(struct fd_store *s, const char *what)
{
	if (fd_log_ratelimited(&s->inval_logged, s->mono(s->mono_arg),
	    LOG_FLAP_MS))
		fd_log_warnx("store %s: invalid request: %s", s->label, what);
	return FD_STORE_ERR;
}

/* settle - turn a backend result into the caller's, keeping health */
static int
settle(struct fd_store *s, int rc, int trial, const char *err)
{
	switch (rc) {
	case FD_SB_FAIL:
		failed(s, trial, err);
		return FD_STORE_ERR;
	case FD_SB_INVAL:
		if (trial) {
			pthread_mutex_lock(&s->mu);
			s->trial = 0;
			pthread_mutex_unlock(&s->mu);
		}
		return invalid(s, err);
	default:
		recovered(s);
		return rc;
	}
}

/* ttl_ok - every entry carries a TTL, and a sane one */
static int
ttl_ok(int64_t ttl)
{
	return ttl > 0 && ttl <= FD_STORE_TTL_MAX;
}

/*
 * Keys
 */

/* skey - tag + XXH3-128 of the caller's bytes, seeded so that equal bytes
 * under different tags or awl keys hash apart */
static void
skey(struct fd_skey *k, int tag, uint64_t seed, const void *key, size_t len)
{
	XXH128_canonical_t c;

	if (key == NULL)
		key = "";
	XXH128_canonicalFromHash(&c, XXH3_128bits_withSeed(key, len, seed));
	k->b[0] = (unsigned char)tag;
	memcpy(k->b + 1, c.digest, FD_SK_HASHLEN);
}

/*
 * Operations
 */

/*
 * fd_store_grey - greylist check-and-update of one triplet, atomically.
 *
 * With an auto-whitelist (awl_key given, awl_after > 0) whose count has
 * reached awl_after: refresh its TTL to awl_ttl (unless that moves it by
 * no more than FD_AWL_SLACK) and answer WHITELISTED at once, the triplet
 * untouched. Otherwise, for the triplet:
 *   absent or expired   NEW: first_seen = now, TTL retry_window,
 *                       retry_after = delay;
 *   never passed and    EARLY: nothing changes (the timer is not reset),
 *   now < first+delay   retry_after = first + delay - now;
 *   else                PASSED: passes + 1, TTL pass_ttl; the awl count
 *                       (if any) + 1 with TTL awl_ttl.
 * If the clock went back: a first_seen after now becomes now (the delay
 * starts again, instead of lasting as long as the step), and a triplet
 * that passed stays passed.
 * A triplet is its key alone: turning the auto-whitelist on or off
 * keeps what it went through. On Redis its key name also carries the
 * awl key, when one is given (counted or not), as the hash tag it shares
 * with the awl counter.
 */
/* grey_prep - check a greylist request and hash its keys into g; 0, or
 * FD_STORE_ERR (logged) for a request no backend can serve */
static int
grey_prep(struct fd_store *s, const struct fd_grey_req *req,
    struct fd_sgrey *g)
{
	if (req->delay < 0 || req->delay > FD_STORE_TTL_MAX ||
	    !ttl_ok(req->retry_window) || !ttl_ok(req->pass_ttl))
		return invalid(s, "greylist: delay or TTL out of range");
	g->req = req;
	g->has_tag = req->awl_key != NULL;
	g->has_awl = g->has_tag && req->awl_after > 0;
	if (g->has_awl && !ttl_ok(req->awl_ttl))
		return invalid(s, "greylist: awl TTL out of range");
	if (g->has_tag)
		skey(&g->awl, FD_SK_AWL, FD_SK_AWL, req->awl_key,
		    req->awl_keylen);
	skey(&g->key, FD_SK_GREY, FD_SK_GREY, req->key, req->keylen);
	return 0;
}

int
fd_store_grey(struct fd_store *s, const struct fd_grey_req *req,
    struct fd_grey_res *res)
{
	struct fd_sgrey	 g;
	char		 err[256] = "";
	int		 trial, rc;

	memset(res, 0, sizeof(*res));
	if (grey_prep(s, req, &g) < 0)
		return FD_STORE_ERR;
	if ((trial = admit(s)) == 0)
		return FD_STORE_ERR;
	rc = s->ops->grey(s->be, &g, fd_clock_now(s->clock), res, err,
	    sizeof(err));
	return settle(s, rc, trial == 2, err);
}

/*
 * fd_store_rate - charge n rate limits at once, all or nothing.
 *
 * Each limit allows `limit` events per `period` seconds with `burst`
 * extra at once: a full bucket takes limit + burst events in one go and
 * refills at limit per period, so after a quiet period the whole
 * limit + burst is available again. It is GCRA (the generic cell rate
 * algorithm): one stored number per key, the theoretical arrival time
 * TAT. An event costs interval = period/limit (in microseconds); events
 * fit while TAT + cost * interval - now <= (limit + burst) * interval.
 *
 * All or nothing: if any limit cannot take its cost, nothing is charged
 * and every res[i].allowed is 0; otherwise every limit is charged and
 * every res[i].allowed is 1. A cost of 0 peeks: it charges nothing and
 * asks whether one event would fit (and so can make the call fail).
 * Per limit, res[i].remaining is how many more events fit now (after the
 * charge, if any; at most UINT32_MAX) and res[i].retry_after how many
 * seconds until max(cost, 1) events fit: 0 for a limit with room, so on
 * a refusal the limits with retry_after > 0 are the ones exceeded and the
 * call may be repeated after the largest.
 *
 * Returns FD_STORE_OK (even when refused) or FD_STORE_ERR.
 */
/* rate_prep - check n limits and turn them into GCRA numbers in r; 0,
 * or FD_STORE_ERR (logged) for a request no backend can serve */
static int
rate_prep(struct fd_store *s, const struct fd_rate_req *req, size_t n,
    struct fd_srate *r)
{
	size_t	 i;

	if (n == 0 || n > FD_STORE_RATE_MAX)
		return invalid(s, "rate: no limit, or too many at once");
	for (i = 0; i < n; i++) {
		if (req[i].limit == 0 || req[i].period <= 0 ||
		    req[i].period > GCRA_MAX / US)
			return invalid(s, "rate: limit 0 or period out of range");
		r[i].interval = req[i].period * US / req[i].limit;
		if (r[i].interval == 0)
			return invalid(s, "rate: more than a million events "
			    "per second");
		if ((int64_t)req[i].limit + req[i].burst >
		    GCRA_MAX / r[i].interval ||
		    (int64_t)req[i].cost > GCRA_MAX / r[i].interval)
			return invalid(s, "rate: burst or cost too large");
		r[i].cap = ((int64_t)req[i].limit + req[i].burst) *
		    r[i].interval;
		r[i].cost = req[i].cost;
		skey(&r[i].key, FD_SK_RATE, FD_SK_RATE, req[i].key,
		    req[i].keylen);
	}
	return 0;
}

int
fd_store_rate(struct fd_store *s, const struct fd_rate_req *req, size_t n,
    struct fd_rate_res *res)
{
	struct fd_srate	 r[FD_STORE_RATE_MAX];
	char		 err[256] = "";
	int		 trial, rc;

	if (n > 0 && n <= FD_STORE_RATE_MAX)
		memset(res, 0, n * sizeof(*res));
	if (rate_prep(s, req, n, r) < 0)
		return FD_STORE_ERR;
	if ((trial = admit(s)) == 0)
		return FD_STORE_ERR;
	rc = s->ops->rate(s->be, r, n, fd_clock_now(s->clock), res, err,
	    sizeof(err));
	return settle(s, rc, trial == 2, err);
}

/* multi_fail - every part failed with the call */
static int
multi_fail(struct fd_store_op *ops, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		ops[i].rc = FD_STORE_ERR;
	return FD_STORE_ERR;
}

/*
 * fd_store_multi - the parts are checked and hashed here as their own
 * calls would be; an invalid part answers FD_STORE_ERR alone and is not
 * sent. One part left goes through the backend's single operation (the
 * same round trip, a shorter script); more through its multi operation.
 */
int
fd_store_multi(struct fd_store *s, struct fd_store_op *ops, size_t n)
{
	struct fd_sgrey	 g[FD_STORE_MULTI_MAX];
	struct fd_srate	 r[FD_STORE_MULTI_RATES];
	struct fd_sop	 sop[FD_STORE_MULTI_MAX];
	size_t		 i, nr = 0, ns = 0, at[FD_STORE_MULTI_MAX];
	char		 err[256] = "";
	int		 trial, rc;

	if (n > FD_STORE_MULTI_MAX) {
		invalid(s, "multi: too many parts");
		return multi_fail(ops, n);
	}
	for (i = 0; i < n; i++) {
		struct fd_store_op *o = &ops[i];

		o->rc = FD_STORE_ERR;
		memset(&sop[ns], 0, sizeof(sop[ns]));
		if (o->grey != NULL) {
			memset(o->gres, 0, sizeof(*o->gres));
			if (grey_prep(s, o->grey, &g[ns]) < 0)
				continue;
			sop[ns].g = &g[ns];
			sop[ns].gres = o->gres;
		} else {
			if (o->nrate > 0 && o->nrate <= FD_STORE_RATE_MAX)
				memset(o->rres, 0, o->nrate * sizeof(*o->rres));
			if (o->nrate > FD_STORE_MULTI_RATES - nr) {
				invalid(s, "multi: too many limits");
				continue;
			}
			if (rate_prep(s, o->rate, o->nrate, r + nr) < 0)
				continue;
			sop[ns].r = r + nr;
			sop[ns].nr = o->nrate;
			sop[ns].rres = o->rres;
			nr += o->nrate;
		}
		at[ns++] = i;
	}
	if (ns == 0)
		return FD_STORE_OK;	/* every part refused alone */
	if ((trial = admit(s)) == 0)
		return multi_fail(ops, n);
	if (ns == 1 && sop[0].g != NULL)
		rc = sop[0].rc = s->ops->grey(s->be, sop[0].g,
		    fd_clock_now(s->clock), sop[0].gres, err, sizeof(err));
	else if (ns == 1)
		rc = sop[0].rc = s->ops->rate(s->be, sop[0].r, sop[0].nr,
		    fd_clock_now(s->clock), sop[0].rres, err, sizeof(err));
	else
		rc = s->ops->multi(s->be, sop, ns, fd_clock_now(s->clock), err,
		    sizeof(err));
	if (settle(s, rc, trial == 2, err) == FD_STORE_ERR &&
	    rc != FD_SB_INVAL)
		return multi_fail(ops, n);
	for (i = 0; i < ns; i++) {
		rc = sop[i].rc;
		ops[at[i]].rc = rc == FD_SB_OK ? FD_STORE_OK : FD_STORE_ERR;
	}
	return FD_STORE_OK;
}

/*
 * fd_gcra - one limit's GCRA step; see fd_store_rate and store_backend.h.
 * The Redis script (store_redis.c) does the same arithmetic; with every
 * number below 2^50 its doubles are exact, so the backends agree.
 */
int
fd_gcra(const struct fd_srate *r, int64_t now, int64_t tat, int charge,
    int64_t *newtat, struct fd_rate_res *res)
{
	int64_t	 c = r->cost ? r->cost : 1, after, wait, room;
	int	 fits;

	/* a TAT beyond a full bucket's use cannot come from this limit at
	 * this time: the clock went back, or the limit was lowered. It
	 * counts as a bucket used up but for this event, which is charged
	 * and so brings the TAT back in range: the client then waits an
	 * event's interval, not the clock's step. */
	if (tat < now)
		tat = now;
	else if (tat > now + r->cap) {
		tat = now + r->cap - c * r->interval;
		if (tat < now)
			tat = now;
	}
	fits = tat + c * r->interval - now <= r->cap;
	after = fits && charge && r->cost > 0 ?
	    tat + (int64_t)r->cost * r->interval : tat;
	*newtat = after;
	room = r->cap - (after - now);
	room = room > 0 ? room / r->interval : 0;
	/* limit + burst may pass what a uint32_t holds */
	res->remaining = room > UINT32_MAX ? UINT32_MAX : (uint32_t)room;
	wait = after + c * r->interval - r->cap - now;
	res->retry_after = wait > 0 ? (wait + US - 1) / US : 0;
	return fits;
}

/* fd_store_get - *vallen in: room in val; out: the value's size. A value
 * larger than the room is an error (nothing is truncated silently);
 * *vallen then says how much room it needs. */
int
fd_store_get(struct fd_store *s, const void *key, size_t keylen, void *val,
    size_t *vallen)
{
	struct fd_skey	 k;
	char		 err[256] = "";
	size_t		 cap = *vallen;
	int		 trial, rc;

	skey(&k, FD_SK_KV, FD_SK_KV, key, keylen);
	if ((trial = admit(s)) == 0)
		return FD_STORE_ERR;
	rc = s->ops->get(s->be, &k, fd_clock_now(s->clock), val, vallen, err,
	    sizeof(err));
	rc = settle(s, rc, trial == 2, err);
	if (rc == FD_STORE_OK && *vallen > cap)
		return FD_STORE_ERR;
	return rc;
}

/* fd_store_set - store val for ttl seconds (ttl > 0) */
int
fd_store_set(struct fd_store *s, const void *key, size_t keylen,
    const void *val, size_t vallen, int64_t ttl)
{
	struct fd_skey	 k;
	char		 err[256] = "";
	int		 trial, rc;

	if (!ttl_ok(ttl))
		return invalid(s, "kv: TTL out of range");
	skey(&k, FD_SK_KV, FD_SK_KV, key, keylen);
	if ((trial = admit(s)) == 0)
		return FD_STORE_ERR;
	rc = s->ops->set(s->be, &k, fd_clock_now(s->clock), val, vallen, ttl,
	    err, sizeof(err));
	return settle(s, rc, trial == 2, err);
}

/* fd_store_incr - add `by` to the decimal integer under key; an absent or
 * expired key starts at 0 and gets ttl (> 0); an existing one keeps its
 * expiry, so a counter counts over a fixed window. *out: the new value.
 * A counter stays within +-FD_COUNTER_MAX (2^53 - 1) on every back end. */
int
fd_store_incr(struct fd_store *s, const void *key, size_t keylen,
    int64_t by, int64_t ttl, int64_t *out)
{
	struct fd_skey	 k;
	char		 err[256] = "";
	int64_t		 v = 0;
	int		 trial, rc;

	if (!ttl_ok(ttl))
		return invalid(s, "kv: TTL out of range");
	if (by > FD_COUNTER_MAX || by < -FD_COUNTER_MAX)
		return invalid(s, "incr: step out of range");
	skey(&k, FD_SK_KV, FD_SK_KV, key, keylen);
	if ((trial = admit(s)) == 0)
		return FD_STORE_ERR;
	rc = s->ops->incr(s->be, &k, fd_clock_now(s->clock), by, ttl, &v,
	    err, sizeof(err));
	if (out != NULL)
		*out = v;
	return settle(s, rc, trial == 2, err);
}

/* fd_store_del - FD_STORE_OK, or FD_STORE_NOTFOUND if nothing (live) was
 * there */
int
fd_store_del(struct fd_store *s, const void *key, size_t keylen)
{
	struct fd_skey	 k;
	char		 err[256] = "";
	int		 trial, rc;

	skey(&k, FD_SK_KV, FD_SK_KV, key, keylen);
	if ((trial = admit(s)) == 0)
		return FD_STORE_ERR;
	rc = s->ops->del(s->be, &k, fd_clock_now(s->clock), err, sizeof(err));
	return settle(s, rc, trial == 2, err);
}

/* fd_store_sweep - delete expired entries now */
long
fd_store_sweep(struct fd_store *s)
{
	char	 err[256] = "";
	long	 n;

	n = s->ops->sweep(s->be, fd_clock_now(s->clock), err, sizeof(err));
	if (n < 0)
		fd_log_warnx("store %s: sweep: %s", s->label, err);
	return n;
}

/* fd_store_stats - entries and bytes in use */
int
fd_store_stats(struct fd_store *s, uint64_t *entries, uint64_t *bytes)
{
	char	 err[256] = "";

	*entries = *bytes = 0;
	if (s->ops->stats(s->be, entries, bytes, err, sizeof(err)) < 0) {
		fd_log_debug("store %s: stats: %s", s->label, err);
		return -1;
	}
	return 0;
}
