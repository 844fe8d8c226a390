/*
 * check_store.c -- the store's behaviour, the same cases on LMDB and Redis
 *
 * One set of test functions; main() runs it twice, as suite "lmdb" (a
 * fresh directory under mktemp per test) and as suite "redis" (a private
 * redis-server started here, a fresh key prefix per test), then the
 * cases only one backend has: LMDB persistence across a restart and a
 * kill -9, a full map, the sweeper; Redis outage and recovery, a slow
 * server, NOSCRIPT, a malformed reply (from a fake server), URL forms,
 * TTLs on every key, round trips.
 *
 * FD_TEST_STORE=lmdb or =redis runs one backend only. Time comes from a
 * fixed fd_clock moved by the tests; the breaker's monotonic clock is a
 * test variable too. Nothing here sleeps to wait for a delay.
 */
#include "config.h"

#include <netinet/in.h>
#include <sys/socket.h>

#include <errno.h>
#include <ftw.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <check.h>
#include <hiredis/hiredis.h>

#include "clock.h"
#include "conf.h"
#include "log.h"
#include "store.h"
#include "store_backend.h"
#include "store_plan.h"
#include "redis.h"
#include "relay.h"
#include "lookups.h"

#define T0	1700000000
#define DAY	86400

/* the backend the running suite tests, and the shared Redis */
static enum fd_store_kind backend;
static struct fd_test_redis *redis;

/* per test: a clock, a conf, a store */
static struct fd_clock	 clk;
static struct fd_conf	 conf;
static struct fd_block	 opts;
static char		 dir[256];
static char		 path[300];
static char		 url[400];
static char		 prefix[64];
static struct fd_store	*st;
static int64_t		 mono_now;

/*
 * Captured log lines
 */

static pthread_mutex_t	 logmu = PTHREAD_MUTEX_INITIALIZER;
static char		*loglines[256];
static int		 nlog;

static void
capture(int level, const char *line, void *arg)
{
	(void)level;
	(void)arg;
	pthread_mutex_lock(&logmu);
	if (nlog < 256)
		loglines[nlog++] = strdup(line);
	pthread_mutex_unlock(&logmu);
}

/* logged - how many captured lines hold s */
static int
logged(const char *s)
{
	int	 i, n = 0;

	pthread_mutex_lock(&logmu);
	for (i = 0; i < nlog; i++)
		if (strstr(loglines[i], s) != NULL)
			n++;
	pthread_mutex_unlock(&logmu);
	return n;
}

/* log_reset - forget what was captured (tests may run in one process) */
static void
log_reset(void)
{
	int	 i;

	pthread_mutex_lock(&logmu);
	for (i = 0; i < nlog; i++)
		free(loglines[i]);
	nlog = 0;
	pthread_mutex_unlock(&logmu);
}

/*
 * Fixtures
 */

static int64_t
mono(void *arg)
{
	(void)arg;
	return mono_now;
}

/* opt - append `name value` to the store options */
static void
opt(const char *name, const char *value)
{
	struct fd_directive *d = calloc(1, sizeof(*d));

	d->name = strdup(name);
	d->loc.file = "test.conf";
	d->loc.line = 3;
	d->loc.col = 5;
	d->argc = 1;
	d->argv = calloc(2, sizeof(char *));
	d->argv[0] = strdup(value);
	d->argloc = calloc(1, sizeof(struct fd_loc));
	d->argloc[0] = d->loc;
	d->argloc[0].col = 6 + (int)strlen(name);
	if (opts.tail != NULL)
		opts.tail->next = d;
	else
		opts.head = d;
	opts.tail = d;
}

static void
opts_free(void)
{
	struct fd_directive *d, *next;

	for (d = opts.head; d != NULL; d = next) {
		next = d->next;
		free(d->name);
		free(d->argv[0]);
		free(d->argv);
		free(d->argloc);
		free(d);
	}
	memset(&opts, 0, sizeof(opts));
}

/* conf_for - a conf naming the backend under test at a fresh place */
static void
conf_for(enum fd_store_kind kind)
{
	static int n;

	memset(&conf, 0, sizeof(conf));
	conf.store_kind = kind;
	conf.store_opts = &opts;
	conf.store_loc.file = "test.conf";
	conf.store_loc.line = 2;
	conf.store_loc.col = 1;
	if (kind == FD_STORE_LMDB) {
		if (dir[0] == '\0') {
			snprintf(dir, sizeof(dir), "%s/fd-store.XXXXXX",
			    getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
			ck_assert_ptr_nonnull(mkdtemp(dir));
		}
		snprintf(path, sizeof(path), "%s/db", dir);
		conf.store_path = path;
	} else {
		snprintf(url, sizeof(url), "%s", fd_test_redis_url(redis));
		conf.store_path = url;
		snprintf(prefix, sizeof(prefix), "t%ld.%d:", (long)getpid(),
		    ++n);
		opt("prefix", prefix);
	}
}

/* open_store - open what conf says, with the test clocks */
static struct fd_store *
open_store(void)
{
	struct fd_errs	 errs = { 0 };
	struct fd_store	*s;

	s = fd_store_new(&conf, &clk, &errs);
	ck_assert_msg(s != NULL, "fd_store_new: %s",
	    errs.n ? errs.msg[0] : "?");
	fd_errs_clear(&errs);
	fd_store_set_mono(s, mono, NULL);
	return s;
}

static void
setup(void)
{
	signal(SIGPIPE, SIG_IGN);
	fd_clock_set(&clk, T0);
	mono_now = 1000;
	dir[0] = '\0';
	log_reset();
	fd_log_capture(capture, NULL);
	conf_for(backend);
	st = open_store();
}

static int
rm_entry(const char *p, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)sb;
	(void)type;
	(void)ftw;
	remove(p);
	return 0;
}

static void
teardown(void)
{
	st = fd_store_free(st);
	opts_free();
	if (dir[0] != '\0')
		nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	fd_log_capture(NULL, NULL);
	log_reset();
}

/*
 * Helpers
 */

static struct fd_grey_req
greq(const char *key, const char *awl)
{
	struct fd_grey_req q;

	memset(&q, 0, sizeof(q));
	q.key = key;
	q.keylen = strlen(key);
	if (awl != NULL) {
		q.awl_key = awl;
		q.awl_keylen = strlen(awl);
		q.awl_after = 2;
		q.awl_ttl = 10 * DAY;
	}
	q.delay = 300;
	q.retry_window = 2 * DAY;
	q.pass_ttl = 35 * DAY;
	return q;
}

static struct fd_grey_res
grey(const struct fd_grey_req *q)
{
	struct fd_grey_res r;

	ck_assert_int_eq(fd_store_grey(st, q, &r), FD_STORE_OK);
	return r;
}

static struct fd_rate_req
rreq(const char *key, uint32_t limit, int64_t period, uint32_t burst,
    uint32_t cost)
{
	struct fd_rate_req q;

	q.key = key;
	q.keylen = strlen(key);
	q.limit = limit;
	q.period = period;
	q.burst = burst;
	q.cost = cost;
	return q;
}

static struct fd_rate_res
rate1(const struct fd_rate_req *q)
{
	struct fd_rate_res r;

	ck_assert_int_eq(fd_store_rate(st, q, 1, &r), FD_STORE_OK);
	return r;
}

/*
 * Greylisting
 */

START_TEST(grey_new_early_passed)
{
	struct fd_grey_req q = greq("192.0.2.0/24|a@example.org|b@example.net",
	    NULL);
	struct fd_grey_res r;

	r = grey(&q);
	ck_assert_int_eq(r.state, FD_GREY_NEW);
	ck_assert_int_eq(r.first_seen, T0);
	ck_assert_int_eq(r.retry_after, 300);
	ck_assert_int_eq(r.passes, 0);

	fd_clock_advance(&clk, 60);
	r = grey(&q);
	ck_assert_int_eq(r.state, FD_GREY_EARLY);
	ck_assert_int_eq(r.first_seen, T0);	/* the timer is not reset */
	ck_assert_int_eq(r.retry_after, 240);

	fd_clock_advance(&clk, 239);
	r = grey(&q);
	ck_assert_int_eq(r.state, FD_GREY_EARLY);
	ck_assert_int_eq(r.retry_after, 1);

	fd_clock_advance(&clk, 1);
	r = grey(&q);
	ck_assert_int_eq(r.state, FD_GREY_PASSED);
	ck_assert_int_eq(r.first_seen, T0);
	ck_assert_int_eq(r.passes, 1);
	ck_assert_int_eq(r.retry_after, 0);

	fd_clock_advance(&clk, DAY);
	r = grey(&q);
	ck_assert_int_eq(r.state, FD_GREY_PASSED);
	ck_assert_int_eq(r.passes, 2);
}
END_TEST

/*
 * The clock stepped back an hour (a virtual machine resumed, a clock
 * corrected): a triplet first seen "in the future" waits the delay from
 * now, not the hour, and one that passed stays passed.
 */
START_TEST(grey_clock_back)
{
	struct fd_grey_req q = greq("new", NULL), p = greq("passed", NULL);
	struct fd_grey_res r;

	ck_assert_int_eq(grey(&p).state, FD_GREY_NEW);
	fd_clock_advance(&clk, 300);
	ck_assert_int_eq(grey(&p).state, FD_GREY_PASSED);
	ck_assert_int_eq(grey(&q).state, FD_GREY_NEW);
	fd_clock_set(&clk, T0 + 300 - 3600);
	r = grey(&q);
	ck_assert_int_eq(r.state, FD_GREY_EARLY);
	ck_assert_int_eq(r.first_seen, T0 + 300 - 3600);
	ck_assert_int_eq(r.retry_after, 300);
	r = grey(&p);
	ck_assert_int_eq(r.state, FD_GREY_PASSED);
	ck_assert_int_eq(r.passes, 2);
	fd_clock_advance(&clk, 299);
	ck_assert_int_eq(grey(&q).state, FD_GREY_EARLY);
	fd_clock_advance(&clk, 1);
	r = grey(&q);
	ck_assert_int_eq(r.state, FD_GREY_PASSED);
	ck_assert_int_eq(r.first_seen, T0 + 300 - 3600);
}
END_TEST

START_TEST(grey_retry_window)
{
	struct fd_grey_req q = greq("late", NULL), q2 = greq("in time", NULL);
	struct fd_grey_res r;

	ck_assert_int_eq(grey(&q).state, FD_GREY_NEW);
	ck_assert_int_eq(grey(&q2).state, FD_GREY_NEW);
	fd_clock_advance(&clk, 2 * DAY - 1);
	ck_assert_int_eq(grey(&q2).state, FD_GREY_PASSED);
	fd_clock_advance(&clk, 2);
	/* unconfirmed for longer than retry_window: gone, new again */
	r = grey(&q);
	ck_assert_int_eq(r.state, FD_GREY_NEW);
	ck_assert_int_eq(r.first_seen, T0 + 2 * DAY + 1);
	ck_assert_int_eq(r.retry_after, 300);
	/* the passed one lives for pass_ttl */
	ck_assert_int_eq(grey(&q2).state, FD_GREY_PASSED);
}
END_TEST

START_TEST(grey_pass_ttl)
{
	struct fd_grey_req q = greq("triplet", NULL);

	ck_assert_int_eq(grey(&q).state, FD_GREY_NEW);
	fd_clock_advance(&clk, 300);
	ck_assert_int_eq(grey(&q).state, FD_GREY_PASSED);
	fd_clock_advance(&clk, 35 * DAY - 1);
	ck_assert_int_eq(grey(&q).state, FD_GREY_PASSED);	/* refreshed */
	fd_clock_advance(&clk, 35 * DAY + 1);
	ck_assert_int_eq(grey(&q).state, FD_GREY_NEW);
}
END_TEST

/* pass - take triplet q through NEW and PASSED; the PASSED result */
static struct fd_grey_res
pass(const struct fd_grey_req *q)
{
	struct fd_grey_res r;

	r = grey(q);
	ck_assert_int_eq(r.state, FD_GREY_NEW);
	fd_clock_advance(&clk, 300);
	r = grey(q);
	ck_assert_int_eq(r.state, FD_GREY_PASSED);
	return r;
}

START_TEST(grey_awl)
{
	struct fd_grey_req a = greq("net|s@x|r1", "net|x");
	struct fd_grey_req b = greq("net|s@x|r2", "net|x");
	struct fd_grey_req c = greq("net|s@x|r3", "net|x");
	struct fd_grey_req other = greq("net|s@y|r1", "net|y");
	struct fd_grey_res r;

	ck_assert_int_eq(pass(&a).awl_count, 1);
	r = grey(&b);
	ck_assert_int_eq(r.state, FD_GREY_NEW);
	ck_assert_int_eq(r.awl_count, 1);
	fd_clock_advance(&clk, 300);
	r = grey(&b);
	ck_assert_int_eq(r.state, FD_GREY_PASSED);
	ck_assert_int_eq(r.awl_count, 2);
	/* awl_after (2) passes: any triplet with this awl key goes through */
	r = grey(&c);
	ck_assert_int_eq(r.state, FD_GREY_WHITELISTED);
	ck_assert_int_eq(r.awl_count, 2);
	ck_assert_int_eq(grey(&a).state, FD_GREY_WHITELISTED);
	/* another awl key is not whitelisted */
	ck_assert_int_eq(grey(&other).state, FD_GREY_NEW);
}
END_TEST

/* the awl counts passed triplets, not passes: one correspondent writing
 * three times does not whitelist its client, three correspondents do */
START_TEST(grey_awl_counts_triplets)
{
	struct fd_grey_req a = greq("net|s@x|r1", "net|x");
	struct fd_grey_req b = greq("net|s@x|r2", "net|x");
	struct fd_grey_req c = greq("net|s@x|r3", "net|x");
	struct fd_grey_req d = greq("net|s@x|r4", "net|x");
	struct fd_grey_res r;

	a.awl_after = b.awl_after = c.awl_after = d.awl_after = 3;
	ck_assert_int_eq(pass(&a).awl_count, 1);
	fd_clock_advance(&clk, 60);
	r = grey(&a);
	ck_assert_int_eq(r.state, FD_GREY_PASSED);
	ck_assert_int_eq(r.passes, 2);
	ck_assert_int_eq(r.awl_count, 1);
	r = grey(&a);
	ck_assert_int_eq(r.state, FD_GREY_PASSED);
	ck_assert_int_eq(r.passes, 3);
	ck_assert_int_eq(r.awl_count, 1);
	r = grey(&d);
	ck_assert_int_eq(r.state, FD_GREY_NEW);
	ck_assert_int_eq(r.awl_count, 1);

	ck_assert_int_eq(pass(&b).awl_count, 2);
	ck_assert_int_eq(pass(&c).awl_count, 3);
	r = grey(&d);
	ck_assert_int_eq(r.state, FD_GREY_WHITELISTED);
	ck_assert_int_eq(r.awl_count, 3);
}
END_TEST

/* a client still counting keeps its count while its known triplets
 * keep passing: a later pass refreshes the counter it does not raise */
START_TEST(grey_awl_count_kept_alive)
{
	struct fd_grey_req a = greq("net|s@x|r1", "net|x");
	struct fd_grey_req b = greq("net|s@x|r2", "net|x");
	struct fd_grey_res r;

	a.awl_after = b.awl_after = 3;
	ck_assert_int_eq(pass(&a).awl_count, 1);
	fd_clock_advance(&clk, 9 * DAY);
	r = grey(&a);
	ck_assert_int_eq(r.state, FD_GREY_PASSED);
	ck_assert_int_eq(r.awl_count, 1);
	/* past the counter's first ten days */
	fd_clock_advance(&clk, 2 * DAY);
	ck_assert_int_eq(pass(&b).awl_count, 2);
}
END_TEST

START_TEST(grey_awl_expiry)
{
	struct fd_grey_req a = greq("net|s@x|r1", "net|x");
	struct fd_grey_req b = greq("net|s@x|r2", "net|x");
	struct fd_grey_req c = greq("net|s@x|r3", "net|x");
	struct fd_grey_res r;

	pass(&a);
	pass(&b);
	ck_assert_int_eq(grey(&c).state, FD_GREY_WHITELISTED);
	/* each whitelisted hit refreshes the awl entry's TTL */
	fd_clock_advance(&clk, 10 * DAY - 1);
	ck_assert_int_eq(grey(&c).state, FD_GREY_WHITELISTED);
	fd_clock_advance(&clk, 10 * DAY - 1);
	ck_assert_int_eq(grey(&c).state, FD_GREY_WHITELISTED);
	/* unused for longer than awl_ttl: forgotten */
	fd_clock_advance(&clk, 10 * DAY);
	r = grey(&c);
	ck_assert_int_eq(r.state, FD_GREY_NEW);
	ck_assert_int_eq(r.awl_count, 0);
}
END_TEST

/* a whitelisted hit that would move the awl expiry by no more than
 * FD_AWL_SLACK leaves the entry as it is; one past it rewrites it */
START_TEST(grey_awl_refresh_slack)
{
	struct fd_grey_req a = greq("net|s@x|r1", "net|x");
	struct fd_grey_req b = greq("net|s@x|r2", "net|x");
	struct fd_grey_req c = greq("net|s@x|r3", "net|x");
	struct fd_grey_req d = greq("net|s@y|r1", "net|y");
	struct fd_grey_req e = greq("net|s@y|r2", "net|y");
	struct fd_grey_req f = greq("net|s@y|r3", "net|y");
	const int64_t slack = FD_AWL_SLACK(10 * DAY);
	struct fd_grey_res r;

	ck_assert_int_eq(slack, 8640);
	pass(&a);
	pass(&b);		/* "net|x" expires at T + 10 days */
	fd_clock_advance(&clk, slack);
	ck_assert_int_eq(grey(&c).state, FD_GREY_WHITELISTED);	/* kept */
	fd_clock_advance(&clk, 10 * DAY - slack);
	r = grey(&c);		/* T + 10 days: gone, not refreshed */
	ck_assert_int_eq(r.state, FD_GREY_NEW);
	ck_assert_int_eq(r.awl_count, 0);

	pass(&d);
	pass(&e);		/* "net|y" expires at U + 10 days */
	fd_clock_advance(&clk, slack + 1);
	ck_assert_int_eq(grey(&f).state, FD_GREY_WHITELISTED);	/* moved */
	fd_clock_advance(&clk, 10 * DAY - slack);
	r = grey(&f);		/* U + 10 days + 1 s: still there */
	ck_assert_int_eq(r.state, FD_GREY_WHITELISTED);
	ck_assert_int_eq(r.awl_count, 2);
}
END_TEST

START_TEST(grey_awl_off)
{
	struct fd_grey_req a = greq("t1", "awl"), b = greq("t2", "awl");
	struct fd_grey_req c = greq("t3", "awl");

	a.awl_after = b.awl_after = c.awl_after = 0;	/* off: no awl */
	ck_assert_int_eq(pass(&a).awl_count, 0);
	ck_assert_int_eq(pass(&b).awl_count, 0);
	ck_assert_int_eq(grey(&c).state, FD_GREY_NEW);
}
END_TEST

/* turning the auto-whitelist off and on again keeps the triplets: they
 * used to be keyed with it, and each was new again after the change */
START_TEST(grey_awl_toggled)
{
	struct fd_grey_req on = greq("net|s@x|r1", "net|x");
	struct fd_grey_req off = greq("net|s@x|r1", "net|x");
	struct fd_grey_req off2 = greq("net|s@x|r2", "net|x");
	struct fd_grey_res r;

	off.awl_after = off2.awl_after = 0;
	ck_assert_int_eq(pass(&on).passes, 1);
	r = grey(&off);
	ck_assert_int_eq(r.state, FD_GREY_PASSED);
	ck_assert_int_eq(r.passes, 2);
	ck_assert_int_eq(r.awl_count, 0);
	ck_assert_int_eq(grey(&off2).state, FD_GREY_NEW);
	fd_clock_advance(&clk, 300);
	r = grey(&on);
	ck_assert_int_eq(r.state, FD_GREY_PASSED);
	ck_assert_int_eq(r.passes, 3);
	ck_assert_int_eq(r.awl_count, 1);
	/* r2, first seen with the awl off, passes with it on: counted */
	off2.awl_after = 2;
	r = grey(&off2);
	ck_assert_int_eq(r.state, FD_GREY_PASSED);
	ck_assert_int_eq(r.awl_count, 2);
}
END_TEST

START_TEST(grey_invalid)
{
	struct fd_grey_req q = greq("k", NULL);
	struct fd_grey_res r;

	q.retry_window = 0;
	ck_assert_int_eq(fd_store_grey(st, &q, &r), FD_STORE_ERR);
	q = greq("k", "a");
	q.awl_ttl = 0;
	ck_assert_int_eq(fd_store_grey(st, &q, &r), FD_STORE_ERR);
	ck_assert_int_eq(logged("unavailable"), 0);	/* not a backend failure */
}
END_TEST

/* A refused request is logged at most once a minute of the monotonic
 * clock: a wall clock stepped back a day must not silence it (a full
 * LMDB map is reported this way) for that day */
START_TEST(invalid_log_clock_back)
{
	struct fd_grey_req q = greq("k", NULL);
	struct fd_grey_res r;

	q.retry_window = 0;
	ck_assert_int_eq(fd_store_grey(st, &q, &r), FD_STORE_ERR);
	ck_assert_int_eq(fd_store_grey(st, &q, &r), FD_STORE_ERR);
	ck_assert_int_eq(logged("invalid request"), 1);
	fd_clock_set(&clk, T0 - DAY);
	mono_now += 60000;
	ck_assert_int_eq(fd_store_grey(st, &q, &r), FD_STORE_ERR);
	ck_assert_int_eq(logged("invalid request"), 2);
}
END_TEST

/*
 * Rate limits
 */

START_TEST(rate_window)
{
	struct fd_rate_req q = rreq("192.0.2.1", 10, 60, 0, 1);
	struct fd_rate_res r;
	int	 i;

	for (i = 0; i < 10; i++) {
		r = rate1(&q);
		ck_assert_int_eq(r.allowed, 1);
		ck_assert_int_eq(r.remaining, 9 - i);
	}
	ck_assert_int_eq(r.retry_after, 6);
	r = rate1(&q);
	ck_assert_int_eq(r.allowed, 0);
	ck_assert_int_eq(r.remaining, 0);
	ck_assert_int_eq(r.retry_after, 6);	/* one event per 60/10 s */
	fd_clock_advance(&clk, 5);
	r = rate1(&q);
	ck_assert_int_eq(r.allowed, 0);
	ck_assert_int_eq(r.retry_after, 1);
	fd_clock_advance(&clk, 1);
	r = rate1(&q);
	ck_assert_int_eq(r.allowed, 1);
	ck_assert_int_eq(r.remaining, 0);
	/* a whole quiet period later the bucket is full again */
	fd_clock_advance(&clk, 60);
	for (i = 0; i < 10; i++)
		ck_assert_int_eq(rate1(&q).allowed, 1);
	ck_assert_int_eq(rate1(&q).allowed, 0);
}
END_TEST

START_TEST(rate_burst)
{
	struct fd_rate_req q = rreq("sender@example.org", 10, 60, 5, 1);
	struct fd_rate_res r;
	int	 i;

	r = rate1(&q);
	ck_assert_int_eq(r.remaining, 14);
	for (i = 1; i < 15; i++)
		ck_assert_int_eq(rate1(&q).allowed, 1);
	r = rate1(&q);
	ck_assert_int_eq(r.allowed, 0);
	ck_assert_int_eq(r.retry_after, 6);
	/* the sustained rate stays limit per period */
	fd_clock_advance(&clk, 30);
	for (i = 0; i < 5; i++)
		ck_assert_int_eq(rate1(&q).allowed, 1);
	ck_assert_int_eq(rate1(&q).allowed, 0);
}
END_TEST

/*
 * The clock stepped back an hour: a bucket charged "in the future" counts
 * as used up but for the next event, so the client then waits one
 * event's interval, not the hour; the same for a limit lowered under a
 * bucket charged at a higher one.
 */
START_TEST(rate_clock_back)
{
	struct fd_rate_req q = rreq("k", 10, 60, 0, 1);
	struct fd_rate_res r;

	ck_assert_int_eq(rate1(&q).allowed, 1);
	fd_clock_set(&clk, T0 - 3600);
	r = rate1(&q);
	ck_assert_int_eq(r.allowed, 1);
	ck_assert_int_eq(r.remaining, 0);
	r = rate1(&q);
	ck_assert_int_eq(r.allowed, 0);
	ck_assert_int_eq(r.retry_after, 6);
	fd_clock_advance(&clk, 6);
	ck_assert_int_eq(rate1(&q).allowed, 1);
	ck_assert_int_eq(rate1(&q).allowed, 0);

	/* 1000 an hour used up, then the limit lowered to 10 a minute */
	q = rreq("lowered", 1000, 3600, 0, 1000);
	ck_assert_int_eq(rate1(&q).allowed, 1);
	q = rreq("lowered", 10, 60, 0, 1);
	ck_assert_int_eq(rate1(&q).allowed, 1);
	r = rate1(&q);
	ck_assert_int_eq(r.allowed, 0);
	ck_assert_int_eq(r.retry_after, 6);
}
END_TEST

START_TEST(rate_rollover)
{
	struct fd_rate_req q = rreq("k", 3, 1, 0, 1);
	int	 i, s;

	/* 3 per second, second after second */
	for (s = 0; s < 5; s++) {
		for (i = 0; i < 3; i++)
			ck_assert_int_eq(rate1(&q).allowed, 1);
		ck_assert_int_eq(rate1(&q).allowed, 0);
		fd_clock_advance(&clk, 1);
	}
}
END_TEST

/* rate_pttl_min - on Redis, the shortest PTTL of the rate buckets (ms) */
static long long rate_pttl_min(void);

/*
 * 100 a second, no burst: 60 events, then 100 more while filterd's clock
 * still reads the same second, let 40 of the 100 through, on either
 * backend. On Redis a bucket's key also has a real TTL, which runs on
 * Redis's clock, and real time may be anywhere in filterd's second: the
 * key must outlive the rest of that second, or charges made early in it
 * are forgotten before it ends and the 100 all pass. No test can move
 * Redis's clock, so the PTTL says it: at least a whole second.
 */
START_TEST(rate_within_a_second)
{
	struct fd_rate_req q = rreq("client", 100, 1, 0, 1);
	int	 i, n = 0;

	for (i = 0; i < 60; i++)
		ck_assert_int_eq(rate1(&q).allowed, 1);
	if (backend == FD_STORE_REDIS)
		ck_assert_int_ge(rate_pttl_min(), 1000);
	for (i = 0; i < 100; i++)
		n += rate1(&q).allowed;
	ck_assert_int_eq(n, 40);
	fd_clock_advance(&clk, 1);
	for (n = i = 0; i < 200; i++)
		n += rate1(&q).allowed;
	ck_assert_int_eq(n, 100);
}
END_TEST

/* limit + burst may pass what remaining holds: it then says as many as
 * it can hold, rather than what is left over past 2^32 */
START_TEST(rate_remaining_saturates)
{
	struct fd_rate_req q = rreq("k", 1000000, 1, 4294967295U, 0);
	struct fd_rate_res r;

	r = rate1(&q);
	ck_assert_int_eq(r.allowed, 1);
	ck_assert_uint_eq(r.remaining, 4294967295U);
	q.cost = 1000001;
	r = rate1(&q);
	ck_assert_int_eq(r.allowed, 1);
	ck_assert_uint_eq(r.remaining, 4294967294U);
}
END_TEST

START_TEST(rate_all_or_nothing)
{
	struct fd_rate_req q[2] = { rreq("ip", 5, 60, 0, 1),
	    rreq("sender", 3, 60, 0, 1) };
	struct fd_rate_req peek = rreq("ip", 5, 60, 0, 0);
	struct fd_rate_res r[2];
	int	 i;

	for (i = 0; i < 3; i++) {
		ck_assert_int_eq(fd_store_rate(st, q, 2, r), FD_STORE_OK);
		ck_assert_int_eq(r[0].allowed, 1);
		ck_assert_int_eq(r[1].allowed, 1);
	}
	ck_assert_int_eq(r[0].remaining, 2);
	ck_assert_int_eq(r[1].remaining, 0);
	ck_assert_int_eq(fd_store_rate(st, q, 2, r), FD_STORE_OK);
	ck_assert_int_eq(r[0].allowed, 0);
	ck_assert_int_eq(r[1].allowed, 0);
	ck_assert_int_eq(r[0].retry_after, 0);	/* had room */
	ck_assert_int_eq(r[1].retry_after, 20);	/* the one exceeded */
	/* the refused call charged nothing */
	ck_assert_int_eq(rate1(&peek).remaining, 2);
	ck_assert_int_eq(rate1(&q[0]).allowed, 1);
	ck_assert_int_eq(rate1(&peek).remaining, 1);
}
END_TEST

/* the most limits one call takes: on Redis a command of some 4 kB (32
 * hashed keys, 97 numbers), its arguments and the command formatted on
 * the heap rather than the stack */
START_TEST(rate_many_limits)
{
	struct fd_rate_req q[FD_STORE_RATE_MAX];
	struct fd_rate_res r[FD_STORE_RATE_MAX];
	char	 keys[FD_STORE_RATE_MAX][8];
	size_t	 i;

	for (i = 0; i < FD_STORE_RATE_MAX; i++) {
		snprintf(keys[i], sizeof(keys[i]), "k%zu", i);
		/* limit i + 1 per minute: the first limit runs out first */
		q[i] = rreq(keys[i], (uint32_t)i + 1, 60, 0, 1);
	}
	ck_assert_int_eq(fd_store_rate(st, q, FD_STORE_RATE_MAX, r),
	    FD_STORE_OK);
	for (i = 0; i < FD_STORE_RATE_MAX; i++) {
		ck_assert_int_eq(r[i].allowed, 1);
		ck_assert_int_eq(r[i].remaining, i);
	}
	ck_assert_int_eq(fd_store_rate(st, q, FD_STORE_RATE_MAX, r),
	    FD_STORE_OK);
	ck_assert_int_eq(r[0].allowed, 0);
	ck_assert_int_eq(r[0].retry_after, 60);
	/* all or nothing: no limit was charged a second time, each under
	 * its own key, as a single call with that key sees it */
	for (i = 0; i < FD_STORE_RATE_MAX; i++) {
		struct fd_rate_req peek = rreq(keys[i], (uint32_t)i + 1, 60,
		    0, 0);

		ck_assert_int_eq(rate1(&peek).remaining, i);
	}
}
END_TEST

START_TEST(rate_peek_and_cost)
{
	struct fd_rate_req peek = rreq("k", 10, 60, 0, 0);
	struct fd_rate_req four = rreq("k", 10, 60, 0, 4);
	struct fd_rate_req seven = rreq("k", 10, 60, 0, 7);
	struct fd_rate_res r;

	r = rate1(&peek);
	ck_assert_int_eq(r.allowed, 1);
	ck_assert_int_eq(r.remaining, 10);
	ck_assert_int_eq(rate1(&peek).remaining, 10);
	r = rate1(&four);
	ck_assert_int_eq(r.allowed, 1);
	ck_assert_int_eq(r.remaining, 6);
	r = rate1(&seven);
	ck_assert_int_eq(r.allowed, 0);
	ck_assert_int_eq(r.remaining, 6);
	ck_assert_int_eq(r.retry_after, 6);
	ck_assert_int_eq(rate1(&four).allowed, 1);
	r = rate1(&peek);
	ck_assert_int_eq(r.remaining, 2);
}
END_TEST

START_TEST(rate_invalid)
{
	struct fd_rate_req q = rreq("k", 0, 60, 0, 1);
	struct fd_rate_res r;

	ck_assert_int_eq(fd_store_rate(st, &q, 1, &r), FD_STORE_ERR);
	q = rreq("k", 10, 0, 0, 1);
	ck_assert_int_eq(fd_store_rate(st, &q, 1, &r), FD_STORE_ERR);
	q = rreq("k", 10, 60, 0, 1);
	ck_assert_int_eq(fd_store_rate(st, &q, 0, &r), FD_STORE_ERR);
}
END_TEST

/*
 * Several parts in one call
 */

/* gop, rop - a part of a multi call */
static struct fd_store_op
gop(const struct fd_grey_req *q, struct fd_grey_res *r)
{
	struct fd_store_op o;

	memset(&o, 0, sizeof(o));
	o.grey = q;
	o.gres = r;
	return o;
}

static struct fd_store_op
rop(const struct fd_rate_req *q, size_t n, struct fd_rate_res *r)
{
	struct fd_store_op o;

	memset(&o, 0, sizeof(o));
	o.rate = q;
	o.nrate = n;
	o.rres = r;
	return o;
}

START_TEST(multi_grey_and_rate)
{
	struct fd_grey_req g = greq("192.0.2.1|a@x|b@y", "192.0.2.1");
	struct fd_rate_req rq[2] = { rreq("ip", 3, 60, 0, 1),
	    rreq("rcpt", 2, 60, 0, 1) };
	struct fd_rate_req peek = rreq("ip", 3, 60, 0, 0);
	struct fd_grey_res gr;
	struct fd_rate_res rr[2];
	struct fd_store_op ops[2];

	ops[0] = gop(&g, &gr);
	ops[1] = rop(rq, 2, rr);
	ck_assert_int_eq(fd_store_multi(st, ops, 2), FD_STORE_OK);
	ck_assert_int_eq(ops[0].rc, FD_STORE_OK);
	ck_assert_int_eq(ops[1].rc, FD_STORE_OK);
	ck_assert_int_eq(gr.state, FD_GREY_NEW);
	ck_assert_int_eq(gr.first_seen, T0);
	ck_assert_int_eq(gr.retry_after, 300);
	ck_assert_int_eq(rr[0].allowed, 1);
	ck_assert_int_eq(rr[0].remaining, 2);
	ck_assert_int_eq(rr[1].allowed, 1);
	ck_assert_int_eq(rr[1].remaining, 1);

	/* what the call wrote, the single calls see */
	fd_clock_advance(&clk, 10);
	gr = grey(&g);
	ck_assert_int_eq(gr.state, FD_GREY_EARLY);
	ck_assert_int_eq(gr.first_seen, T0);
	ck_assert_int_eq(rate1(&peek).remaining, 2);

	/* and the other way round; a refused rate part charges nothing
	 * and leaves the greylist part alone */
	fd_clock_advance(&clk, 300);
	ck_assert_int_eq(rate1(&rq[1]).allowed, 1);
	ck_assert_int_eq(rate1(&rq[1]).allowed, 1);
	ops[0] = gop(&g, &gr);
	ops[1] = rop(rq, 2, rr);
	ck_assert_int_eq(fd_store_multi(st, ops, 2), FD_STORE_OK);
	ck_assert_int_eq(gr.state, FD_GREY_PASSED);
	ck_assert_int_eq(gr.passes, 1);
	ck_assert_int_eq(gr.awl_count, 1);
	ck_assert_int_eq(rr[0].allowed, 0);
	ck_assert_int_eq(rr[1].allowed, 0);
	ck_assert_int_eq(rr[0].retry_after, 0);
	ck_assert_int_eq(rr[1].retry_after, 30);
	ck_assert_int_eq(rate1(&peek).remaining, 3);
}
END_TEST

START_TEST(multi_in_order)
{
	struct fd_grey_req g = greq("triplet", NULL);
	struct fd_rate_req one = rreq("k", 2, 60, 0, 1);
	struct fd_grey_res gr[2];
	struct fd_rate_res rr[3];
	struct fd_store_op ops[5];

	/* each part sees the ones before it */
	ops[0] = gop(&g, &gr[0]);
	ops[1] = rop(&one, 1, &rr[0]);
	ops[2] = gop(&g, &gr[1]);
	ops[3] = rop(&one, 1, &rr[1]);
	ops[4] = rop(&one, 1, &rr[2]);
	ck_assert_int_eq(fd_store_multi(st, ops, 5), FD_STORE_OK);
	ck_assert_int_eq(gr[0].state, FD_GREY_NEW);
	ck_assert_int_eq(gr[1].state, FD_GREY_EARLY);
	ck_assert_int_eq(gr[1].retry_after, 300);
	ck_assert_int_eq(rr[0].allowed, 1);
	ck_assert_int_eq(rr[0].remaining, 1);
	ck_assert_int_eq(rr[1].allowed, 1);
	ck_assert_int_eq(rr[1].remaining, 0);
	ck_assert_int_eq(rr[2].allowed, 0);
	ck_assert_int_eq(rr[2].retry_after, 30);
}
END_TEST

/* the largest parts a call takes: on Redis a greylist check with its awl
 * and 32 limits are more keys and arguments than rd_multi keeps on its
 * stack */
START_TEST(multi_many_limits)
{
	struct fd_grey_req g = greq("triplet", "192.0.2.1");
	struct fd_rate_req q[FD_STORE_RATE_MAX];
	struct fd_rate_res r[FD_STORE_RATE_MAX];
	struct fd_grey_res gr;
	struct fd_store_op ops[2];
	char	 keys[FD_STORE_RATE_MAX][8];
	size_t	 i;

	for (i = 0; i < FD_STORE_RATE_MAX; i++) {
		snprintf(keys[i], sizeof(keys[i]), "k%zu", i);
		q[i] = rreq(keys[i], (uint32_t)i + 1, 60, 0, 1);
	}
	ops[0] = gop(&g, &gr);
	ops[1] = rop(q, FD_STORE_RATE_MAX, r);
	ck_assert_int_eq(fd_store_multi(st, ops, 2), FD_STORE_OK);
	ck_assert_int_eq(ops[0].rc, FD_STORE_OK);
	ck_assert_int_eq(ops[1].rc, FD_STORE_OK);
	ck_assert_int_eq(gr.state, FD_GREY_NEW);
	for (i = 0; i < FD_STORE_RATE_MAX; i++) {
		ck_assert_int_eq(r[i].allowed, 1);
		ck_assert_int_eq(r[i].remaining, i);
	}
	fd_clock_advance(&clk, 300);
	ck_assert_int_eq(fd_store_multi(st, ops, 2), FD_STORE_OK);
	ck_assert_int_eq(gr.state, FD_GREY_PASSED);
	ck_assert_int_eq(gr.awl_count, 1);
	/* every limit refilled after 300 s and charged once again, each
	 * under its own key, as a single call with that key sees it */
	for (i = 0; i < FD_STORE_RATE_MAX; i++) {
		struct fd_rate_req peek = rreq(keys[i], (uint32_t)i + 1, 60,
		    0, 0);

		ck_assert_int_eq(r[i].allowed, 1);
		ck_assert_int_eq(rate1(&peek).remaining, i);
	}
}
END_TEST

START_TEST(multi_invalid_part)
{
	struct fd_grey_req g = greq("triplet", NULL);
	struct fd_rate_req bad = rreq("k", 0, 60, 0, 1);
	struct fd_rate_req good = rreq("k", 5, 60, 0, 1);
	struct fd_grey_res gr;
	struct fd_rate_res rr[2];
	struct fd_store_op ops[FD_STORE_MULTI_MAX + 1];
	size_t	 i;

	/* an invalid part is refused alone */
	ops[0] = rop(&bad, 1, &rr[0]);
	ops[1] = gop(&g, &gr);
	ops[2] = rop(&good, 1, &rr[1]);
	ck_assert_int_eq(fd_store_multi(st, ops, 3), FD_STORE_OK);
	ck_assert_int_eq(ops[0].rc, FD_STORE_ERR);
	ck_assert_int_eq(ops[1].rc, FD_STORE_OK);
	ck_assert_int_eq(ops[2].rc, FD_STORE_OK);
	ck_assert_int_eq(gr.state, FD_GREY_NEW);
	ck_assert_int_eq(rr[1].remaining, 4);
	ck_assert_int_ge(logged("invalid request"), 1);

	/* too many parts: nothing runs */
	for (i = 0; i <= FD_STORE_MULTI_MAX; i++)
		ops[i] = rop(&good, 1, &rr[1]);
	ck_assert_int_eq(fd_store_multi(st, ops, FD_STORE_MULTI_MAX + 1),
	    FD_STORE_ERR);
	ck_assert_int_eq(ops[0].rc, FD_STORE_ERR);
	ck_assert_int_eq(rate1(&good).remaining, 3);

	/* no part, or one */
	ck_assert_int_eq(fd_store_multi(st, ops, 0), FD_STORE_OK);
	ops[0] = gop(&g, &gr);
	ck_assert_int_eq(fd_store_multi(st, ops, 1), FD_STORE_OK);
	ck_assert_int_eq(ops[0].rc, FD_STORE_OK);
	ck_assert_int_eq(gr.state, FD_GREY_EARLY);
}
END_TEST

/*
 * Planned calls (store_plan.c)
 */

/* calls_now - round trips so far: EVALSHA on Redis; -1 on LMDB */
static long evalsha_calls(void);

static long
calls_now(void)
{
	return backend == FD_STORE_REDIS ? evalsha_calls() : -1;
}

START_TEST(plan_one_trip)
{
	struct fd_plan	*p = NULL;
	struct fd_grey_req g = greq("192.0.2.1|a@x|b@y", "192.0.2.1");
	struct fd_rate_req rq[2] = { rreq("ip", 3, 60, 0, 1),
	    rreq("rcpt", 2, 60, 0, 1) };
	struct fd_grey_res gr, gout;
	struct fd_rate_res rr[2], rout[2];
	char	 key[64];
	int	 grc = 7, rrc = 7;
	long	 before;

	/* the planner's copies of the keys are the plan's own */
	snprintf(key, sizeof(key), "%s", "ip");
	rq[0].key = key;
	fd_plan_open(&p);
	ck_assert_int_eq(fd_plan_grey(p, &g, &gout, &grc), 0);
	ck_assert_int_eq(fd_plan_rate(p, rq, 2, rout, &rrc), 0);
	fd_plan_close(p);
	snprintf(key, sizeof(key), "%s", "xx");
	ck_assert_int_eq(grc, 7);		/* not sent yet */
	before = calls_now();
	rq[0].key = "ip";
	ck_assert_int_eq(fd_plan_rate_call(p, st, rq, 2, rr), FD_STORE_OK);
	ck_assert_int_eq(fd_plan_grey_call(p, st, &g, &gr), FD_STORE_OK);
	if (backend == FD_STORE_REDIS)
		ck_assert_int_eq(calls_now() - before, 1);
	ck_assert_int_eq(gr.state, FD_GREY_NEW);
	ck_assert_int_eq(rr[0].allowed, 1);
	ck_assert_int_eq(rr[0].remaining, 2);
	ck_assert_int_eq(rr[1].remaining, 1);
	/* the planner's copies got the same answers */
	ck_assert_int_eq(grc, FD_STORE_OK);
	ck_assert_int_eq(rrc, FD_STORE_OK);
	ck_assert_int_eq(gout.state, FD_GREY_NEW);
	ck_assert_int_eq(rout[1].remaining, 1);
	/* each planned request answers one call: the same again is a call
	 * of its own, which sees the first */
	ck_assert_int_eq(fd_plan_grey_call(p, st, &g, &gr), FD_STORE_OK);
	ck_assert_int_eq(gr.state, FD_GREY_EARLY);
	if (backend == FD_STORE_REDIS)
		ck_assert_int_eq(calls_now() - before, 2);
	p = fd_plan_free(p);
}
END_TEST

START_TEST(plan_mismatch)
{
	struct fd_plan	*p = NULL;
	struct fd_grey_req g = greq("triplet", NULL), other = g;
	struct fd_rate_req r = rreq("k", 5, 60, 0, 1), r2 = r;
	struct fd_grey_res gr;
	struct fd_rate_res rr;
	int	 rrc = 7;

	/* a request that differs from the plan goes on its own; the plan
	 * is sent only when a planned request is made */
	fd_plan_open(&p);
	ck_assert_int_eq(fd_plan_grey(p, &g, NULL, NULL), 0);
	ck_assert_int_eq(fd_plan_rate(p, &r, 1, &rr, &rrc), 0);
	fd_plan_close(p);
	other.delay = 301;
	ck_assert_int_eq(fd_plan_grey_call(p, st, &other, &gr), FD_STORE_OK);
	ck_assert_int_eq(gr.state, FD_GREY_NEW);
	ck_assert_int_eq(rrc, 7);
	r2.limit = 6;
	ck_assert_int_eq(fd_plan_rate_call(p, st, &r2, 1, &rr), FD_STORE_OK);
	ck_assert_int_eq(rr.remaining, 5);
	ck_assert_int_eq(rrc, 7);
	/* the plan, never sent, is forgotten at the next stage */
	fd_plan_reset(p);
	ck_assert_int_eq(fd_plan_grey_call(p, st, &g, &gr), FD_STORE_OK);
	ck_assert_int_eq(gr.state, FD_GREY_EARLY);	/* `other` made it */
	ck_assert_int_eq(fd_plan_rate_call(p, st, &r, 1, &rr), FD_STORE_OK);
	ck_assert_int_eq(rr.remaining, 3);

	/* nothing is queued outside an open plan, or past its room */
	ck_assert_int_eq(fd_plan_grey(p, &g, NULL, NULL), -1);
	fd_plan_open(&p);
	ck_assert_int_eq(fd_plan_rate(p, &r, 0, NULL, NULL), -1);
	ck_assert_int_eq(fd_plan_rate(p, &r, FD_STORE_RATE_MAX + 1, NULL,
	    NULL), -1);
	while (fd_plan_grey(p, &g, NULL, NULL) == 0)
		;
	fd_plan_close(p);
	ck_assert_int_eq(fd_plan_grey(p, &g, NULL, NULL), -1);

	/* no plan, no store */
	ck_assert_int_eq(fd_plan_grey_call(NULL, st, &g, &gr), FD_STORE_OK);
	ck_assert_int_eq(fd_plan_grey_call(NULL, NULL, &g, &gr), FD_STORE_ERR);
	ck_assert_int_eq(fd_plan_rate_call(NULL, NULL, &r, 1, &rr),
	    FD_STORE_ERR);
	p = fd_plan_free(p);
}
END_TEST

/*
 * kv
 */

START_TEST(kv_basic)
{
	char	 buf[64];
	size_t	 len;
	int64_t	 v;

	len = sizeof(buf);
	ck_assert_int_eq(fd_store_get(st, "k", 1, buf, &len), FD_STORE_NOTFOUND);
	ck_assert_int_eq(fd_store_set(st, "k", 1, "hello", 5, 60), FD_STORE_OK);
	len = sizeof(buf);
	ck_assert_int_eq(fd_store_get(st, "k", 1, buf, &len), FD_STORE_OK);
	ck_assert_uint_eq(len, 5);
	ck_assert_mem_eq(buf, "hello", 5);
	/* too little room: an error, and the size it needs */
	len = 3;
	ck_assert_int_eq(fd_store_get(st, "k", 1, buf, &len), FD_STORE_ERR);
	ck_assert_uint_eq(len, 5);
	/* empty values exist */
	ck_assert_int_eq(fd_store_set(st, "e", 1, "", 0, 60), FD_STORE_OK);
	len = sizeof(buf);
	ck_assert_int_eq(fd_store_get(st, "e", 1, buf, &len), FD_STORE_OK);
	ck_assert_uint_eq(len, 0);
	/* set replaces */
	ck_assert_int_eq(fd_store_set(st, "k", 1, "bye", 3, 60), FD_STORE_OK);
	len = sizeof(buf);
	ck_assert_int_eq(fd_store_get(st, "k", 1, buf, &len), FD_STORE_OK);
	ck_assert_uint_eq(len, 3);
	ck_assert_int_eq(fd_store_del(st, "k", 1), FD_STORE_OK);
	ck_assert_int_eq(fd_store_del(st, "k", 1), FD_STORE_NOTFOUND);
	len = sizeof(buf);
	ck_assert_int_eq(fd_store_get(st, "k", 1, buf, &len), FD_STORE_NOTFOUND);
	/* every entry has a TTL */
	ck_assert_int_eq(fd_store_set(st, "k", 1, "x", 1, 0), FD_STORE_ERR);
	ck_assert_int_eq(fd_store_incr(st, "k", 1, 1, -1, &v), FD_STORE_ERR);
}
END_TEST

/* a value larger than one read of the Redis reply (rd_reply's 4 KiB)
 * comes back whole */
START_TEST(kv_large_value)
{
	static char	 in[20000], out[20000];
	size_t		 i, len;

	for (i = 0; i < sizeof(in); i++)
		in[i] = (char)(i * 7 % 251);
	ck_assert_int_eq(fd_store_set(st, "big", 3, in, sizeof(in), 60),
	    FD_STORE_OK);
	len = sizeof(out);
	ck_assert_int_eq(fd_store_get(st, "big", 3, out, &len), FD_STORE_OK);
	ck_assert_uint_eq(len, sizeof(in));
	ck_assert_int_eq(memcmp(in, out, sizeof(in)), 0);
}
END_TEST

START_TEST(kv_ttl)
{
	char	 buf[16];
	size_t	 len;

	ck_assert_int_eq(fd_store_set(st, "k", 1, "v", 1, 10), FD_STORE_OK);
	fd_clock_advance(&clk, 9);
	len = sizeof(buf);
	ck_assert_int_eq(fd_store_get(st, "k", 1, buf, &len), FD_STORE_OK);
	fd_clock_advance(&clk, 1);
	len = sizeof(buf);
	ck_assert_int_eq(fd_store_get(st, "k", 1, buf, &len), FD_STORE_NOTFOUND);
	ck_assert_int_eq(fd_store_del(st, "k", 1), FD_STORE_NOTFOUND);
	/* set again after expiry: a new entry */
	ck_assert_int_eq(fd_store_set(st, "k", 1, "w", 1, 10), FD_STORE_OK);
	len = sizeof(buf);
	ck_assert_int_eq(fd_store_get(st, "k", 1, buf, &len), FD_STORE_OK);
	ck_assert_mem_eq(buf, "w", 1);
}
END_TEST

START_TEST(kv_incr)
{
	char	 buf[32];
	size_t	 len;
	int64_t	 v;

	ck_assert_int_eq(fd_store_incr(st, "c", 1, 5, 100, &v), FD_STORE_OK);
	ck_assert_int_eq(v, 5);
	fd_clock_advance(&clk, 50);
	/* an existing counter keeps its expiry: a fixed window */
	ck_assert_int_eq(fd_store_incr(st, "c", 1, 2, 100, &v), FD_STORE_OK);
	ck_assert_int_eq(v, 7);
	ck_assert_int_eq(fd_store_incr(st, "c", 1, -10, 100, &v), FD_STORE_OK);
	ck_assert_int_eq(v, -3);
	len = sizeof(buf);
	ck_assert_int_eq(fd_store_get(st, "c", 1, buf, &len), FD_STORE_OK);
	ck_assert_uint_eq(len, 2);
	ck_assert_mem_eq(buf, "-3", 2);
	fd_clock_advance(&clk, 50);
	len = sizeof(buf);
	ck_assert_int_eq(fd_store_get(st, "c", 1, buf, &len), FD_STORE_NOTFOUND);
	ck_assert_int_eq(fd_store_incr(st, "c", 1, 1, 100, &v), FD_STORE_OK);
	ck_assert_int_eq(v, 1);
	/* a value that is no integer cannot be incremented */
	ck_assert_int_eq(fd_store_set(st, "s", 1, "12a", 3, 60), FD_STORE_OK);
	ck_assert_int_eq(fd_store_incr(st, "s", 1, 1, 60, &v), FD_STORE_ERR);
	ck_assert_int_eq(fd_store_set(st, "s", 1, "41", 2, 60), FD_STORE_OK);
	ck_assert_int_eq(fd_store_incr(st, "s", 1, 1, 60, &v), FD_STORE_OK);
	ck_assert_int_eq(v, 42);
	ck_assert_int_eq(logged("unavailable"), 0);
}
END_TEST

/* a counter is read as the decimal integer it holds, however many
 * zeros it starts with: both back ends count on from it */
START_TEST(kv_incr_zeros)
{
	const char	*zeros = "000000000000000000000000042";
	int64_t		 v;

	ck_assert_int_eq(fd_store_set(st, "z", 1, zeros, strlen(zeros), 60),
	    FD_STORE_OK);
	ck_assert_int_eq(fd_store_incr(st, "z", 1, 1, 60, &v), FD_STORE_OK);
	ck_assert_int_eq(v, 43);
	ck_assert_int_eq(fd_store_set(st, "z", 1, "-0000000000000000000000007",
	    26, 60), FD_STORE_OK);
	ck_assert_int_eq(fd_store_incr(st, "z", 1, 1, 60, &v), FD_STORE_OK);
	ck_assert_int_eq(v, -6);
}
END_TEST

/* a value with a NUL after its digits is no integer, on either back end */
START_TEST(kv_incr_nul)
{
	int64_t	 v = 0;

	ck_assert_int_eq(fd_store_set(st, "n", 1, "7\0x", 3, 60), FD_STORE_OK);
	ck_assert_int_eq(fd_store_incr(st, "n", 1, 1, 60, &v), FD_STORE_ERR);
	ck_assert_int_eq(fd_store_set(st, "n", 1, "7\0", 2, 60), FD_STORE_OK);
	ck_assert_int_eq(fd_store_incr(st, "n", 1, 1, 60, &v), FD_STORE_ERR);
	ck_assert_int_eq(logged("unavailable"), 0);
}
END_TEST

/* both back ends count to 2^53 - 1 and refuse past it alike */
START_TEST(kv_incr_range)
{
	const int64_t	 max = 9007199254740991;	/* 2^53 - 1 */
	int64_t		 v;

	ck_assert_int_eq(fd_store_incr(st, "m", 1, max - 1, 60, &v),
	    FD_STORE_OK);
	ck_assert_int_eq(fd_store_incr(st, "m", 1, 1, 60, &v), FD_STORE_OK);
	ck_assert(v == max);
	ck_assert_int_eq(fd_store_incr(st, "m", 1, 1, 60, &v), FD_STORE_ERR);
	ck_assert_int_eq(fd_store_incr(st, "n", 1, max + 1, 60, &v),
	    FD_STORE_ERR);
	ck_assert_int_eq(fd_store_incr(st, "n", 1, -max, 60, &v), FD_STORE_OK);
	ck_assert(v == -max);
	ck_assert_int_eq(fd_store_incr(st, "n", 1, -1, 60, &v), FD_STORE_ERR);
	/* the counter is as it was */
	ck_assert_int_eq(fd_store_incr(st, "m", 1, 0, 60, &v), FD_STORE_OK);
	ck_assert(v == max);
	/* a value set out of range is not counted on, whichever way */
	ck_assert_int_eq(fd_store_set(st, "b", 1, "9007199254740993", 16, 60),
	    FD_STORE_OK);
	ck_assert_int_eq(fd_store_incr(st, "b", 1, -2, 60, &v), FD_STORE_ERR);
	ck_assert_int_eq(logged("unavailable"), 0);
}
END_TEST

START_TEST(binary_keys)
{
	static char big[10240], big2[10240];
	unsigned char val[300], out[300];
	struct fd_grey_req q;
	struct fd_rate_req rq;
	size_t	 len, i;

	/* keys that differ after a NUL are different keys */
	ck_assert_int_eq(fd_store_set(st, "a\0b", 3, "1", 1, 60), FD_STORE_OK);
	ck_assert_int_eq(fd_store_set(st, "a\0c", 3, "2", 1, 60), FD_STORE_OK);
	len = sizeof(out);
	ck_assert_int_eq(fd_store_get(st, "a\0b", 3, out, &len), FD_STORE_OK);
	ck_assert_mem_eq(out, "1", 1);
	len = sizeof(out);
	ck_assert_int_eq(fd_store_get(st, "a", 1, out, &len), FD_STORE_NOTFOUND);
	/* values keep their NULs */
	for (i = 0; i < sizeof(val); i++)
		val[i] = (unsigned char)(i * 7);
	ck_assert_int_eq(fd_store_set(st, "", 0, val, sizeof(val), 60),
	    FD_STORE_OK);
	len = sizeof(out);
	ck_assert_int_eq(fd_store_get(st, "", 0, out, &len), FD_STORE_OK);
	ck_assert_uint_eq(len, sizeof(val));
	ck_assert_mem_eq(out, val, sizeof(val));
	/* 10 kB keys, differing in the last byte only */
	memset(big, 'x', sizeof(big));
	memset(big2, 'x', sizeof(big2));
	big[100] = '\0';
	big2[100] = '\0';
	big2[sizeof(big2) - 1] = 'y';
	ck_assert_int_eq(fd_store_set(st, big, sizeof(big), "b", 1, 60),
	    FD_STORE_OK);
	len = sizeof(out);
	ck_assert_int_eq(fd_store_get(st, big2, sizeof(big2), out, &len),
	    FD_STORE_NOTFOUND);
	q = greq("", NULL);
	q.key = big;
	q.keylen = sizeof(big);
	q.awl_key = big2;
	q.awl_keylen = sizeof(big2);
	q.awl_after = 1;
	q.awl_ttl = DAY;
	ck_assert_int_eq(grey(&q).state, FD_GREY_NEW);
	fd_clock_advance(&clk, 300);
	ck_assert_int_eq(grey(&q).state, FD_GREY_PASSED);
	ck_assert_int_eq(grey(&q).state, FD_GREY_WHITELISTED);
	rq = rreq("", 1, 60, 0, 1);
	rq.key = big;
	rq.keylen = sizeof(big);
	ck_assert_int_eq(rate1(&rq).allowed, 1);
	ck_assert_int_eq(rate1(&rq).allowed, 0);
	rq.key = big2;
	ck_assert_int_eq(rate1(&rq).allowed, 1);
}
END_TEST

/*
 * Concurrency
 */

#define THREADS	8
#define HITS	10000

static void *
incr_thread(void *arg)
{
	int64_t	 v;
	int	 i;

	(void)arg;
	for (i = 0; i < HITS; i++)
		if (fd_store_incr(st, "counter", 7, 1, DAY, &v) != FD_STORE_OK)
			return (void *)1;
	return NULL;
}

static void *
rate_thread(void *arg)
{
	struct fd_rate_req q = rreq("bucket", 1000000, DAY, 0, 1);
	struct fd_rate_res r;
	int	 i;

	(void)arg;
	for (i = 0; i < HITS; i++)
		if (fd_store_rate(st, &q, 1, &r) != FD_STORE_OK || !r.allowed)
			return (void *)1;
	return NULL;
}

static void
run_threads(void *(*fn)(void *))
{
	pthread_t t[THREADS];
	void	*rv;
	int	 i;

	for (i = 0; i < THREADS; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, fn, NULL), 0);
	for (i = 0; i < THREADS; i++) {
		pthread_join(t[i], &rv);
		ck_assert_ptr_null(rv);
	}
}

START_TEST(concurrent_incr)
{
	char	 buf[32];
	size_t	 len = sizeof(buf);

	run_threads(incr_thread);
	ck_assert_int_eq(fd_store_get(st, "counter", 7, buf, &len), FD_STORE_OK);
	buf[len] = '\0';
	ck_assert_str_eq(buf, "80000");
}
END_TEST

START_TEST(concurrent_rate)
{
	struct fd_rate_req peek = rreq("bucket", 1000000, DAY, 0, 0);

	run_threads(rate_thread);
	ck_assert_int_eq(rate1(&peek).remaining, 1000000 - THREADS * HITS);
}
END_TEST

/*
 * Configuration
 */

/* one option out of range: the message says what the range is */
static const struct range_case {
	enum fd_store_kind kind;
	const char	*name, *value, *want;
} range_cases[] = {
	{ FD_STORE_LMDB, "map-size", "16k", "test.conf:3:14: store lmdb: "
	    "map-size \"16k\": size out of range (at least 32k)" },
	{ FD_STORE_LMDB, "map-size", "9000000T", "test.conf:3:14: store lmdb: "
	    "map-size \"9000000T\": size larger than any address space" },
	{ FD_STORE_LMDB, "sweep-interval", "0", "test.conf:3:20: store lmdb: "
	    "sweep-interval \"0\": duration out of range (10ms to 1d)" },
	{ FD_STORE_LMDB, "sweep-interval", "2d", "test.conf:3:20: store lmdb: "
	    "sweep-interval \"2d\": duration out of range (10ms to 1d)" },
	{ FD_STORE_REDIS, "connect-timeout", "0", "test.conf:3:21: store "
	    "redis: connect-timeout \"0\": duration out of range (1ms to 1m)" },
	{ FD_STORE_REDIS, "timeout", "2m", "test.conf:3:13: store redis: "
	    "timeout \"2m\": duration out of range (1ms to 1m)" },
	{ FD_STORE_REDIS, "breaker-failures", "1001", "test.conf:3:22: store "
	    "redis: breaker-failures \"1001\": number out of range (0 to "
	    "1000)" },
	{ FD_STORE_REDIS, "breaker-cooldown", "5ms", "test.conf:3:22: store "
	    "redis: breaker-cooldown \"5ms\": duration out of range (10ms to "
	    "1h)" },
	{ FD_STORE_REDIS, "prefix", "p0123456789012345678901234567890123456789"
	    "0123456789012345678901234", "test.conf:3:12: store redis: prefix "
	    "\"p01234567890123456789012345678901234567890123456789012345678901"
	    "234\": length out of range (at most 64 characters)" },
};

START_TEST(option_range)
{
	const struct range_case	*c = &range_cases[_i];
	struct fd_errs		 errs = { 0 };

	st = fd_store_free(st);
	opts_free();
	conf_for(FD_STORE_LMDB);
	if (c->kind == FD_STORE_REDIS) {
		conf.store_kind = FD_STORE_REDIS;
		conf.store_path = "redis://127.0.0.1";
	}
	opt(c->name, c->value);
	ck_assert_int_eq(fd_store_check(&conf, &errs), -1);
	ck_assert_uint_eq(errs.n, 1);
	ck_assert_str_eq(errs.msg[0], c->want);
	fd_errs_clear(&errs);
}
END_TEST

START_TEST(check_options)
{
	struct fd_errs	 errs = { 0 };

	st = fd_store_free(st);
	opts_free();
	conf_for(FD_STORE_LMDB);
	opt("map-size", "1G");
	opt("sweep-interval", "30s");
	opt("sync", "no");
	ck_assert_int_eq(fd_store_check(&conf, &errs), 0);
	ck_assert_uint_eq(errs.n, 0);

	opts_free();
	opt("map-size", "12q");
	opt("prefix", "x:");
	opt("frobnicate", "1");
	opt("sync", "no");
	opt("sync", "yes");
	ck_assert_int_eq(fd_store_check(&conf, &errs), -1);
	ck_assert_uint_eq(errs.n, 4);
	ck_assert_str_eq(errs.msg[0], "test.conf:3:14: store lmdb: map-size "
	    "\"12q\": unknown size unit (use k, M, G or T)");
	ck_assert_str_eq(errs.msg[1], "test.conf:3:5: store lmdb: unknown "
	    "option \"prefix\" (map-size, sweep-interval, sync)");
	ck_assert_ptr_nonnull(strstr(errs.msg[2], "\"frobnicate\""));
	ck_assert_str_eq(errs.msg[3], "test.conf:3:5: store lmdb: sync given "
	    "twice");
	fd_errs_clear(&errs);
	/* fd_store_new refuses the same */
	ck_assert_ptr_null(fd_store_new(&conf, &clk, &errs));
	ck_assert_uint_eq(errs.n, 4);
	fd_errs_clear(&errs);

	opts_free();
	conf.store_kind = FD_STORE_REDIS;
	conf.store_path = "redis://127.0.0.1:99999";
	opt("timeout", "0");
	opt("prefix", "a{b}");
	ck_assert_int_eq(fd_store_check(&conf, &errs), -1);
	ck_assert_uint_eq(errs.n, 3);
	ck_assert_str_eq(errs.msg[0], "test.conf:2:1: store redis: bad URL "
	    "\"redis://127.0.0.1:99999\": bad port");
	ck_assert_ptr_nonnull(strstr(errs.msg[1], "timeout \"0\": duration "
	    "out of range"));
	ck_assert_ptr_nonnull(strstr(errs.msg[2], "hash tags"));
	fd_errs_clear(&errs);

	opts_free();
	conf.store_path = "redis://:pw@[::1]:7000/3";
	opt("timeout", "100ms");
	opt("connect-timeout", "1s");
	opt("breaker-failures", "5");
	opt("breaker-cooldown", "2s");
	ck_assert_int_eq(fd_store_check(&conf, &errs), 0);
}
END_TEST

static const struct url_case {
	const char	*url;
	const char	*host;
	int		 port;
	const char	*sock;
	const char	*user;
	const char	*pass;
	int		 db;
	const char	*why;	/* NULL: parses */
} url_cases[] = {
	{ "redis://127.0.0.1:6380/2", "127.0.0.1", 6380, NULL, NULL, NULL, 2,
	    NULL },
	{ "redis://cache.example", "cache.example", 6379, NULL, NULL, NULL, 0,
	    NULL },
	{ "redis://u:p%40ss@h:1/0", "h", 1, NULL, "u", "p@ss", 0, NULL },
	{ "redis://:secret@h", "h", 6379, NULL, NULL, "secret", 0, NULL },
	{ "redis://a:b@c@h/1", "h", 6379, NULL, "a", "b@c", 1, NULL },
	{ "redis://[::1]:7000/15", "::1", 7000, NULL, NULL, NULL, 15, NULL },
	{ "10.0.0.1:6390", "10.0.0.1", 6390, NULL, NULL, NULL, 0, NULL },
	{ "localhost", "localhost", 6379, NULL, NULL, NULL, 0, NULL },
	{ "unix:///run/redis/redis.sock", NULL, 0, "/run/redis/redis.sock",
	    NULL, NULL, 0, NULL },
	{ "unix:///s.sock?db=4&password=x", NULL, 0, "/s.sock", NULL, "x", 4,
	    NULL },
	{ "redis://h:0", NULL, 0, NULL, NULL, NULL, 0, "bad port" },
	{ "redis://h:65536", NULL, 0, NULL, NULL, NULL, 0, "bad port" },
	{ "redis://h/x", NULL, 0, NULL, NULL, NULL, 0, "bad db number" },
	{ "redis://", NULL, 0, NULL, NULL, NULL, 0, "no host" },
	{ "redis://[::1", NULL, 0, NULL, NULL, NULL, 0, "unclosed [ in the host" },
	{ "rediss://h", NULL, 0, NULL, NULL, NULL, 0,
	    "TLS (rediss://) is not supported" },
	{ "http://h", NULL, 0, NULL, NULL, NULL, 0,
	    "unknown scheme (redis:// or unix://)" },
	{ "unix://s.sock", NULL, 0, NULL, NULL, NULL, 0,
	    "unix:// needs an absolute path (unix:///path)" },
	{ "unix:///s?db=a", NULL, 0, NULL, NULL, NULL, 0, "bad db number" },
	{ "unix:///s?x=1", NULL, 0, NULL, NULL, NULL, 0,
	    "unknown query parameter (db, user, password)" },
	{ "redis://:p%zz@h", NULL, 0, NULL, NULL, NULL, 0,
	    "bad %-escape in the password" },
	{ "redis://:p%00@h", NULL, 0, NULL, NULL, NULL, 0,
	    "bad %-escape in the password" },
};

#define ck_assert_str_or_null(a, b) do { \
	if ((b) == NULL) \
		ck_assert_ptr_null(a); \
	else { \
		ck_assert_ptr_nonnull(a); \
		ck_assert_str_eq(a, b); \
	} \
} while (0)

START_TEST(redis_urls)
{
	const struct url_case *c = &url_cases[_i];
	struct fd_redis_url u;
	const char	*why = NULL;
	int		 rc;

	rc = fd_redis_url_parse(c->url, &u, &why);
	if (c->why != NULL) {
		ck_assert_msg(rc == -1, "%s parsed", c->url);
		ck_assert_str_eq(why, c->why);
		return;
	}
	ck_assert_msg(rc == 0, "%s: %s", c->url, why);
	ck_assert_str_or_null(u.host, c->host);
	ck_assert_int_eq(u.port, c->port);
	ck_assert_str_or_null(u.sock, c->sock);
	ck_assert_str_or_null(u.user, c->user);
	ck_assert_str_or_null(u.pass, c->pass);
	ck_assert_int_eq(u.db, c->db);
	fd_redis_url_clear(&u);
}
END_TEST

/*
 * LMDB only
 */

START_TEST(lmdb_dir_mode)
{
	struct stat sb;

	ck_assert_int_eq(stat(path, &sb), 0);
	ck_assert(S_ISDIR(sb.st_mode));
	ck_assert_int_eq(sb.st_mode & 0777, 0700);
}
END_TEST

/* write_some - the entries the persistence tests look for */
static void
write_some(void)
{
	struct fd_grey_req q = greq("persistent", NULL);
	struct fd_rate_req r = rreq("persistent", 2, 60, 0, 2);

	ck_assert_int_eq(grey(&q).state, FD_GREY_NEW);
	ck_assert_int_eq(fd_store_set(st, "kv", 2, "value", 5, DAY),
	    FD_STORE_OK);
	ck_assert_int_eq(rate1(&r).allowed, 1);
}

/* find_some - and find them */
static void
find_some(void)
{
	struct fd_grey_req q = greq("persistent", NULL);
	struct fd_rate_req r = rreq("persistent", 2, 60, 0, 0);
	struct fd_grey_res g;
	char	 buf[16];
	size_t	 len = sizeof(buf);

	fd_clock_advance(&clk, 10);
	g = grey(&q);
	ck_assert_int_eq(g.state, FD_GREY_EARLY);
	ck_assert_int_eq(g.first_seen, T0);
	ck_assert_int_eq(fd_store_get(st, "kv", 2, buf, &len), FD_STORE_OK);
	ck_assert_mem_eq(buf, "value", 5);
	ck_assert_int_eq(rate1(&r).allowed, 0);
}

START_TEST(lmdb_restart)
{
	write_some();
	st = fd_store_free(st);
	st = open_store();
	find_some();
}
END_TEST

/* child_writes - in a child: open, write, die without closing */
static void
child_writes(int how)
{
	pid_t	 pid;
	int	 status;

	st = fd_store_free(st);
	if ((pid = fork()) == 0) {
		st = open_store();
		write_some();
		if (how == SIGKILL)
			kill(getpid(), SIGKILL);
		_exit(0);
	}
	ck_assert_int_gt(pid, 0);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	if (how == SIGKILL)
		ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	else
		ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	st = open_store();
	find_some();
}

START_TEST(lmdb_exit_unclosed)
{
	child_writes(0);
}
END_TEST

START_TEST(lmdb_kill9)
{
	child_writes(SIGKILL);
}
END_TEST

START_TEST(lmdb_kill9_sync)
{
	/* the same with a flush at every commit */
	st = fd_store_free(st);
	opt("sync", "yes");
	st = open_store();
	child_writes(SIGKILL);
}
END_TEST

/* put_file - write text to dir/db/name */
static void
put_file(const char *name, const char *text)
{
	char	 p[400];
	FILE	*fp;

	snprintf(p, sizeof(p), "%s/%s", path, name);
	ck_assert_ptr_nonnull(fp = fopen(p, "w"));
	fputs(text, fp);
	ck_assert_int_eq(fclose(fp), 0);
}

/* exists - dir/db/name exists */
static int
exists(const char *name)
{
	char		 p[400];
	struct stat	 sb;

	snprintf(p, sizeof(p), "%s/%s", path, name);
	return stat(p, &sb) == 0;
}

START_TEST(lmdb_crash_marker)
{
	struct fd_grey_req q = greq("persistent", NULL);
	char	 boot[64] = "";
	FILE	*fp;

	/* a clean close flushes and leaves no marker */
	write_some();
	st = fd_store_free(st);
	ck_assert(!exists("unflushed"));

	/* a marker of this boot is what a kill -9 leaves: data kept */
	if ((fp = fopen("/proc/sys/kernel/random/boot_id", "r")) != NULL) {
		ck_assert_ptr_nonnull(fgets(boot, sizeof(boot), fp));
		boot[strcspn(boot, "\n")] = '\0';
		fclose(fp);
		put_file("unflushed", boot);
		st = open_store();
		ck_assert(!exists("unflushed"));	/* flushed at open */
		find_some();
		ck_assert_int_eq(logged("set aside"), 0);
		st = fd_store_free(st);
	}

	/* one of another boot: the machine went down with writes in
	 * flight; the file may be damaged, so it is set aside */
	put_file("unflushed", "another-boot");
	st = open_store();
	ck_assert_int_eq(logged("set aside as"), 1);
	ck_assert(exists("data.mdb.crashed"));
	ck_assert(!exists("unflushed"));
	ck_assert_int_eq(grey(&q).state, FD_GREY_NEW);
}
END_TEST

static int	 flushes_in_commit;

/* flush_in_commit - the flusher's tick, just before a commit */
static void
flush_in_commit(void *h)
{
	fd_lmdb_test_flush(h);
	flushes_in_commit++;
}

/*
 * sync no: the flusher's tick may fall between a writer's marking the
 * crash marker and its commit. The commit is then not flushed by that
 * tick, so the next one must flush it and leave the marker up; only a
 * tick after it, with nothing new committed, takes the marker down.
 */
START_TEST(lmdb_marker_flush_race)
{
	void	*h = fd_store_backend(st);

	fd_lmdb_test_flush(h);
	ck_assert(!exists("unflushed"));
	fd_lmdb_test_commit_hook(h, flush_in_commit, h);
	flushes_in_commit = 0;
	ck_assert_int_eq(fd_store_set(st, "k", 1, "v", 1, 60), FD_STORE_OK);
	fd_lmdb_test_commit_hook(h, NULL, NULL);
	ck_assert_int_eq(flushes_in_commit, 1);
	fd_lmdb_test_flush(h);
	ck_assert(exists("unflushed"));
	fd_lmdb_test_flush(h);
	ck_assert(!exists("unflushed"));
}
END_TEST

/*
 * A data file LMDB finds damaged at open (pages overwritten, or not an
 * LMDB file at all) is set aside as data.mdb.damaged and the store
 * starts empty, with a warning: the state is soft, and refusing to start
 * would take the mail down with it.
 */
START_TEST(lmdb_damaged)
{
	unsigned char	 junk[4096];
	char		 p[400], buf[8];
	size_t		 len = sizeof(buf);
	FILE		*fp;
	int		 i;

	ck_assert_int_eq(fd_store_set(st, "k", 1, "v", 1, 60), FD_STORE_OK);
	st = fd_store_free(st);
	/* every page after LMDB's two meta pages overwritten */
	memset(junk, 0xff, sizeof(junk));
	snprintf(p, sizeof(p), "%s/data.mdb", path);
	ck_assert_ptr_nonnull(fp = fopen(p, "r+b"));
	ck_assert_int_eq(fseek(fp, 2 * 4096, SEEK_SET), 0);
	for (i = 0; i < 64; i++)
		ck_assert_uint_eq(fwrite(junk, 1, sizeof(junk), fp),
		    sizeof(junk));
	ck_assert_int_eq(fclose(fp), 0);
	st = open_store();
	ck_assert_int_eq(logged("the data file is damaged"), 1);
	ck_assert(exists("data.mdb.damaged"));
	ck_assert_int_eq(fd_store_get(st, "k", 1, buf, &len),
	    FD_STORE_NOTFOUND);
	ck_assert_int_eq(fd_store_set(st, "k", 1, "w", 1, 60), FD_STORE_OK);

	/* not an LMDB file at all */
	st = fd_store_free(st);
	put_file("data.mdb", "not a database\n");
	st = open_store();
	ck_assert_int_eq(logged("the data file is damaged"), 2);
	len = sizeof(buf);
	ck_assert_int_eq(fd_store_get(st, "k", 1, buf, &len),
	    FD_STORE_NOTFOUND);
}
END_TEST

START_TEST(lmdb_fork)
{
	pid_t	 pid;
	int	 status;

	/* a store must be opened by the process that uses it */
	if ((pid = fork()) == 0) {
		int ok = fd_store_set(st, "k", 1, "v", 1, 60) == FD_STORE_ERR &&
		    logged("used after a fork") == 1;

		st = fd_store_free(st);
		_exit(ok ? 0 : 1);
	}
	ck_assert_int_gt(pid, 0);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ck_assert_int_eq(fd_store_set(st, "k", 1, "v", 1, 60), FD_STORE_OK);
}
END_TEST

/*
 * sync no writes through the map (MDB_WRITEMAP) into a sparse file, where
 * a block the disk has no room for would end the process with SIGBUS:
 * the data file's blocks are kept allocated ahead of the pages in use,
 * and the lock file's whole, so that a full disk fails a write with an
 * error instead. (By hand, on a 3 MB tmpfs: "no room for the store on
 * the disk", on-store-error applied, and back once the disk grew.)
 */
START_TEST(lmdb_disk_reserved)
{
	char		 p[400];
	struct stat	 sb;

	ck_assert_int_eq(fd_store_set(st, "k", 1, "v", 1, 60), FD_STORE_OK);
	snprintf(p, sizeof(p), "%s/data.mdb", path);
	ck_assert_int_eq(stat(p, &sb), 0);
	ck_assert_int_ge((long long)sb.st_blocks * 512, 16LL << 20);
	snprintf(p, sizeof(p), "%s/lock.mdb", path);
	ck_assert_int_eq(stat(p, &sb), 0);
	ck_assert_int_ge((long long)sb.st_blocks * 512, (long long)sb.st_size);

	/* sync yes writes the data with write(2), but maps the lock file */
	st = fd_store_free(st);
	snprintf(path, sizeof(path), "%s/synced", dir);
	opt("sync", "yes");
	st = open_store();
	snprintf(p, sizeof(p), "%s/lock.mdb", path);
	ck_assert_int_eq(stat(p, &sb), 0);
	ck_assert_int_ge((long long)sb.st_blocks * 512, (long long)sb.st_size);
}
END_TEST

START_TEST(lmdb_full)
{
	char	 key[16], val[1024];
	int	 i, rc = FD_STORE_OK;

	st = fd_store_free(st);
	snprintf(path, sizeof(path), "%s/full", dir);
	opt("map-size", "64k");
	st = open_store();
	memset(val, 'v', sizeof(val));
	for (i = 0; i < 1000 && rc == FD_STORE_OK; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		rc = fd_store_set(st, key, strlen(key), val, sizeof(val), 60);
	}
	ck_assert_int_eq(rc, FD_STORE_ERR);
	ck_assert_int_lt(i, 1000);
	/* further writes fail too, and the failure was logged once */
	ck_assert_int_eq(fd_store_set(st, "more", 4, val, sizeof(val), 60),
	    FD_STORE_ERR);
	ck_assert_int_eq(logged("the map is full (map-size 65536 bytes)"), 1);
	ck_assert_int_eq(logged("unavailable"), 1);
	/* once the entries expire the sweeper makes room again */
	fd_clock_advance(&clk, 61);
	ck_assert_int_gt(fd_store_sweep(st), 0);
	ck_assert_int_eq(fd_store_set(st, "more", 4, val, sizeof(val), 60),
	    FD_STORE_OK);
	ck_assert_int_eq(logged("available again"), 1);
}
END_TEST

/*
 * A map filled with greylist entries recovers by itself: deletes need
 * free pages too (copy-on-write), so new entries are refused while room
 * is left for updates and the sweeper; once the entries expire, a sweep
 * removes every one and new entries go in again.
 */
START_TEST(lmdb_full_recovers)
{
	struct fd_grey_req q = greq("", NULL), first = greq("t0", NULL);
	struct fd_grey_req counted = greq("w0", "client-w");
	struct fd_rate_req r = rreq("new-bucket", 10, 60, 0, 1);
	uint64_t entries, bytes;
	char	 key[32];
	int	 i, n, rc = FD_STORE_OK;

	st = fd_store_free(st);
	snprintf(path, sizeof(path), "%s/full", dir);
	opt("map-size", "1M");
	st = open_store();
	/* greylisted before the map fills: its pass creates its client's
	 * counter, a new key, which must not refuse the update with it */
	ck_assert_int_eq(grey(&counted).state, FD_GREY_NEW);
	q.key = key;
	for (n = 0; rc == FD_STORE_OK && n < 100000; n++) {
		q.keylen = (size_t)snprintf(key, sizeof(key), "t%d", n);
		rc = fd_store_grey(st, &q, &(struct fd_grey_res){ 0 });
	}
	ck_assert_int_eq(rc, FD_STORE_ERR);
	n--;		/* the last one failed */
	ck_assert_int_gt(n, 1000);
	ck_assert_int_eq(logged("the map is full (map-size 1048576 bytes"), 1);
	/* entries already there still take updates */
	fd_clock_advance(&clk, 300);
	ck_assert_int_eq(grey(&first).state, FD_GREY_PASSED);
	ck_assert_int_eq(grey(&counted).state, FD_GREY_PASSED);
	ck_assert_int_eq(rate1(&r).allowed, 1);
	/* every other entry expires, and the sweep removes them all */
	fd_clock_advance(&clk, 2 * DAY);
	/* the other triplets and the rate bucket */
	ck_assert_int_eq(fd_store_sweep(st), n);
	ck_assert_int_eq(fd_store_stats(st, &entries, &bytes), 0);
	ck_assert_uint_eq(entries, 3);
	for (i = 0; i < n / 2; i++) {
		q.keylen = (size_t)snprintf(key, sizeof(key), "u%d", i);
		ck_assert_int_eq(grey(&q).state, FD_GREY_NEW);
	}
	/* a full map refuses new entries, it is not an outage: the breaker
	 * never opened, so nothing else was refused meanwhile */
	ck_assert_int_eq(logged("unavailable"), 0);
}
END_TEST

/* a write refused for room leaves nothing of itself behind: a first
 * pass whose client counter does not fit is not half recorded, and of
 * two limits the one that fits is not charged alone */
START_TEST(lmdb_full_all_or_nothing)
{
	struct fd_grey_req counted = greq("w0", "client-w");
	struct fd_rate_req old = rreq("old", 10, 60, 0, 1), two[2], q;
	struct fd_rate_res r[2];
	struct fd_grey_res g;
	char	 key[32];
	int	 n, rc = FD_STORE_OK;

	st = fd_store_free(st);
	snprintf(path, sizeof(path), "%s/full2", dir);
	opt("map-size", "1M");
	st = open_store();
	ck_assert_int_eq(grey(&counted).state, FD_GREY_NEW);
	ck_assert_int_eq(rate1(&old).remaining, 9);
	/* rate buckets of new clients, up to where they stop too */
	q = rreq("", 10, 60, 0, 1);
	q.key = key;
	for (n = 0; rc == FD_STORE_OK && n < 100000; n++) {
		q.keylen = (size_t)snprintf(key, sizeof(key), "f%d", n);
		rc = fd_store_rate(st, &q, 1, r);
	}
	ck_assert_int_eq(rc, FD_STORE_ERR);
	two[0] = old;
	two[1] = rreq("brand-new", 10, 60, 0, 1);
	ck_assert_int_eq(fd_store_rate(st, two, 2, r), FD_STORE_ERR);
	ck_assert_int_eq(rate1(&old).remaining, 8);
	fd_clock_advance(&clk, 300);
	ck_assert_int_eq(fd_store_grey(st, &counted, &g), FD_STORE_ERR);
	/* the buckets expire, the sweep makes room: the pass is a first */
	ck_assert_int_gt(fd_store_sweep(st), 1000);
	g = grey(&counted);
	ck_assert_int_eq(g.state, FD_GREY_PASSED);
	ck_assert_int_eq(g.passes, 1);
	ck_assert_int_eq(g.awl_count, 1);
	ck_assert_int_eq(logged("unavailable"), 0);
}
END_TEST

START_TEST(lmdb_sweep)
{
	uint64_t entries, bytes;
	char	 key[16];
	int	 i;

	for (i = 0; i < 1000; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		ck_assert_int_eq(fd_store_set(st, key, strlen(key), "v", 1,
		    i < 600 ? 10 : 1000), FD_STORE_OK);
	}
	ck_assert_int_eq(fd_store_stats(st, &entries, &bytes), 0);
	ck_assert_uint_eq(entries, 1000);
	ck_assert_uint_gt(bytes, 0);
	ck_assert_int_eq(fd_store_sweep(st), 0);
	fd_clock_advance(&clk, 10);
	ck_assert_int_eq(fd_store_sweep(st), 600);
	ck_assert_int_eq(fd_store_stats(st, &entries, &bytes), 0);
	ck_assert_uint_eq(entries, 400);
	ck_assert_int_eq(fd_store_sweep(st), 0);
}
END_TEST

/*
 * Redis only
 */

/* rcmd - run a command on the test server t (NULL: the shared one) */
static redisReply *
rcmd(struct fd_test_redis *t, const char *fmt, ...)
{
	struct timeval	 tv = { 2, 0 };
	redisContext	*c;
	redisReply	*r;
	va_list		 ap;

	c = redisConnectWithTimeout("127.0.0.1",
	    fd_test_redis_port(t ? t : redis), tv);
	ck_assert_msg(c != NULL && c->err == 0, "connect to test redis");
	va_start(ap, fmt);
	r = redisvCommand(c, fmt, ap);
	va_end(ap);
	ck_assert_ptr_nonnull(r);
	redisFree(c);
	return r;
}

START_TEST(redis_outage)
{
	struct fd_test_redis *t;
	char	 err[256];
	int64_t	 v;

	st = fd_store_free(st);
	opts_free();
	ck_assert_ptr_nonnull(t = fd_test_redis_start(err, sizeof(err)));
	snprintf(url, sizeof(url), "%s/1", fd_test_redis_url(t));
	conf.store_path = url;
	opt("breaker-failures", "2");
	opt("breaker-cooldown", "5s");
	opt("timeout", "200ms");
	st = open_store();
	ck_assert_int_eq(fd_store_incr(st, "n", 1, 1, DAY, &v), FD_STORE_OK);

	ck_assert_int_eq(fd_test_redis_stop(t), 0);
	ck_assert_int_eq(fd_store_incr(st, "n", 1, 1, DAY, &v), FD_STORE_ERR);
	ck_assert_int_eq(fd_store_incr(st, "n", 1, 1, DAY, &v), FD_STORE_ERR);
	/* the breaker is open now: calls fail without trying */
	ck_assert_int_eq(fd_store_incr(st, "n", 1, 1, DAY, &v), FD_STORE_ERR);
	ck_assert_int_eq(logged("unavailable"), 1);

	ck_assert_msg(fd_test_redis_restart(t, err, sizeof(err)) == 0, "%s",
	    err);
	/* still within the cooldown: no call goes out */
	mono_now += 4999;
	ck_assert_int_eq(fd_store_incr(st, "n", 1, 1, DAY, &v), FD_STORE_ERR);
	/* after it: one trial call, which succeeds and closes the breaker */
	mono_now += 1;
	ck_assert_int_eq(fd_store_incr(st, "n", 1, 1, DAY, &v), FD_STORE_OK);
	ck_assert_int_eq(v, 1);	/* no persistence: a fresh server */
	ck_assert_int_eq(fd_store_incr(st, "n", 1, 1, DAY, &v), FD_STORE_OK);
	ck_assert_int_eq(v, 2);
	ck_assert_int_eq(logged("unavailable"), 1);
	ck_assert_int_eq(logged("available again"), 1);

	/* going down again within a minute is not logged again */
	ck_assert_int_eq(fd_test_redis_stop(t), 0);
	ck_assert_int_eq(fd_store_incr(st, "n", 1, 1, DAY, &v), FD_STORE_ERR);
	ck_assert_int_eq(logged("unavailable"), 1);
	ck_assert_msg(fd_test_redis_restart(t, err, sizeof(err)) == 0, "%s",
	    err);
	ck_assert_int_eq(fd_store_incr(st, "n", 1, 1, DAY, &v), FD_STORE_OK);
	ck_assert_int_eq(logged("available again"), 1);

	/* a trial that fails keeps the breaker open, for longer */
	mono_now += 60000;
	ck_assert_int_eq(fd_test_redis_stop(t), 0);
	ck_assert_int_eq(fd_store_incr(st, "n", 1, 1, DAY, &v), FD_STORE_ERR);
	ck_assert_int_eq(fd_store_incr(st, "n", 1, 1, DAY, &v), FD_STORE_ERR);
	mono_now += 5000;
	ck_assert_int_eq(fd_store_incr(st, "n", 1, 1, DAY, &v), FD_STORE_ERR);
	ck_assert_msg(fd_test_redis_restart(t, err, sizeof(err)) == 0, "%s",
	    err);
	mono_now += 5000;
	ck_assert_int_eq(fd_store_incr(st, "n", 1, 1, DAY, &v), FD_STORE_ERR);
	mono_now += 5000;
	ck_assert_int_eq(fd_store_incr(st, "n", 1, 1, DAY, &v), FD_STORE_OK);
	ck_assert_int_eq(logged("unavailable"), 2);
	ck_assert_int_eq(logged("available again"), 2);
	st = fd_store_free(st);
	fd_test_redis_free(t);
}
END_TEST

/*
 * own_redis_new - a redis-server of the test's own, which it may stop and
 * restart, as the store's path in place of the shared one; options are
 * set anew before open_store()
 */
static struct fd_test_redis *
own_redis_new(void)
{
	struct fd_test_redis *t;
	char	 err[256];

	st = fd_store_free(st);
	opts_free();
	t = fd_test_redis_start(err, sizeof(err));
	ck_assert_msg(t != NULL, "%s", err);
	conf.store_path = (char *)fd_test_redis_url(t);
	return t;
}

/* first_outage - t down for one call and back: both logged */
static void
first_outage(struct fd_test_redis *t)
{
	char	 err[256];
	int64_t	 v;

	ck_assert_int_eq(fd_test_redis_stop(t), 0);
	ck_assert_int_eq(fd_store_incr(st, "n", 1, 1, DAY, &v), FD_STORE_ERR);
	ck_assert_msg(fd_test_redis_restart(t, err, sizeof(err)) == 0, "%s",
	    err);
	ck_assert_int_eq(fd_store_incr(st, "n", 1, 1, DAY, &v), FD_STORE_OK);
	ck_assert_int_eq(logged("unavailable"), 1);
	ck_assert_int_eq(logged("available again"), 1);
}

/* A store that went down within a minute of its last line stays quiet
 * then, but not for good: if it is still down a minute on, that is
 * logged, else the last line would say it is available while every
 * call fails */
START_TEST(redis_flap_then_down)
{
	struct fd_test_redis *t;
	char	 err[256];
	int64_t	 v;

	t = own_redis_new();
	opt("breaker-failures", "0");
	st = open_store();
	ck_assert_int_eq(fd_store_incr(st, "n", 1, 1, DAY, &v), FD_STORE_OK);
	first_outage(t);

	/* down again at once: not said yet */
	ck_assert_int_eq(fd_test_redis_stop(t), 0);
	mono_now += 10000;
	ck_assert_int_eq(fd_store_incr(st, "n", 1, 1, DAY, &v), FD_STORE_ERR);
	ck_assert_int_eq(logged("unavailable"), 1);
	/* still down a minute after the first line: said, once */
	mono_now += 50000;
	ck_assert_int_eq(fd_store_incr(st, "n", 1, 1, DAY, &v), FD_STORE_ERR);
	ck_assert_int_eq(fd_store_incr(st, "n", 1, 1, DAY, &v), FD_STORE_ERR);
	ck_assert_int_eq(logged("unavailable"), 2);
	ck_assert_msg(fd_test_redis_restart(t, err, sizeof(err)) == 0, "%s",
	    err);
	ck_assert_int_eq(fd_store_incr(st, "n", 1, 1, DAY, &v), FD_STORE_OK);
	ck_assert_int_eq(logged("available again after 3 failed calls"), 1);
	st = fd_store_free(st);
	fd_test_redis_free(t);
}
END_TEST

/* An outage that began within a minute of the last line and was over
 * before it could be logged is told once the minute is over, by the
 * first call that succeeds then: it used to go unlogged for good */
START_TEST(redis_short_outage_told)
{
	struct fd_test_redis *t;
	char	 err[256];
	int64_t	 v;

	t = own_redis_new();
	opt("breaker-failures", "0");
	st = open_store();
	first_outage(t);

	/* a second outage, over within the minute: not said yet */
	mono_now += 10000;
	ck_assert_int_eq(fd_test_redis_stop(t), 0);
	ck_assert_int_eq(fd_store_incr(st, "n", 1, 1, DAY, &v), FD_STORE_ERR);
	ck_assert_int_eq(fd_store_incr(st, "n", 1, 1, DAY, &v), FD_STORE_ERR);
	ck_assert_msg(fd_test_redis_restart(t, err, sizeof(err)) == 0, "%s",
	    err);
	ck_assert_int_eq(fd_store_incr(st, "n", 1, 1, DAY, &v), FD_STORE_OK);
	ck_assert_int_eq(logged("short outage"), 0);
	/* the minute over: the first call that succeeds tells it, once */
	mono_now += 50000;
	ck_assert_int_eq(fd_store_incr(st, "n", 1, 1, DAY, &v), FD_STORE_OK);
	ck_assert_int_eq(fd_store_incr(st, "n", 1, 1, DAY, &v), FD_STORE_OK);
	ck_assert_int_eq(logged("1 short outage (2 failed calls) in the "
	    "minute after its last line"), 1);
	ck_assert_int_eq(logged("short outage"), 1);
	ck_assert_int_eq(logged("unavailable"), 1);
	st = fd_store_free(st);
	fd_test_redis_free(t);
}
END_TEST

/* At stop, the outages no line told of yet are told: a short one that
 * is over, and one still going on that began within the minute after
 * the last line; they used to go unlogged for good */
START_TEST(redis_untold_at_stop)
{
	struct fd_test_redis *t;
	char	 err[256];
	int64_t	 v;

	t = own_redis_new();
	opt("breaker-failures", "0");
	st = open_store();
	first_outage(t);

	mono_now += 10000;
	ck_assert_int_eq(fd_test_redis_stop(t), 0);
	ck_assert_int_eq(fd_store_incr(st, "n", 1, 1, DAY, &v), FD_STORE_ERR);
	ck_assert_msg(fd_test_redis_restart(t, err, sizeof(err)) == 0, "%s",
	    err);
	ck_assert_int_eq(fd_store_incr(st, "n", 1, 1, DAY, &v), FD_STORE_OK);
	mono_now += 10000;
	ck_assert_int_eq(fd_test_redis_stop(t), 0);
	ck_assert_int_eq(fd_store_incr(st, "n", 1, 1, DAY, &v), FD_STORE_ERR);
	ck_assert_int_eq(fd_store_incr(st, "n", 1, 1, DAY, &v), FD_STORE_ERR);
	ck_assert_int_eq(logged("short outage"), 0);
	ck_assert_int_eq(logged("unavailable"), 1);

	st = fd_store_free(st);
	ck_assert_int_eq(logged("1 short outage (1 failed call) in the "
	    "minute after its last line"), 1);
	ck_assert_int_eq(logged("unavailable at stop, since 2 failed calls "
	    "that no line told of"), 1);
	fd_test_redis_free(t);
}
END_TEST

/* A Redis at its maxmemory under noeviction (docs/CONFIG.md): the store
 * call fails, said once, and works again once Redis has room */
START_TEST(redis_maxmemory)
{
	struct fd_test_redis *t;
	struct fd_grey_req q = greq("k", "a"), q2 = greq("k2", "a2");
	struct fd_grey_res res;
	redisReply *r;
	long long keys;

	t = own_redis_new();
	opt("breaker-cooldown", "5s");
	st = open_store();
	ck_assert_int_eq(grey(&q).state, FD_GREY_NEW);
	r = rcmd(t, "DBSIZE");
	keys = r->integer;
	freeReplyObject(r);
	r = rcmd(t, "CONFIG SET maxmemory-policy noeviction");
	freeReplyObject(r);
	r = rcmd(t, "CONFIG SET maxmemory 1");
	ck_assert_str_eq(r->str, "OK");
	freeReplyObject(r);
	ck_assert_int_eq(fd_store_grey(st, &q2, &res), FD_STORE_ERR);
	ck_assert_int_eq(fd_store_grey(st, &q2, &res), FD_STORE_ERR);
	ck_assert_int_eq(logged("unavailable: OOM command not allowed"), 1);
	r = rcmd(t, "DBSIZE");
	ck_assert_int_eq(r->integer, keys);
	freeReplyObject(r);

	r = rcmd(t, "CONFIG SET maxmemory 0");
	freeReplyObject(r);
	mono_now += 5000;
	ck_assert_int_eq(grey(&q2).state, FD_GREY_NEW);
	ck_assert_int_eq(logged("available again"), 1);
	r = rcmd(t, "DBSIZE");
	ck_assert_int_gt(r->integer, keys);
	freeReplyObject(r);
	st = fd_store_free(st);
	fd_test_redis_free(t);
}
END_TEST

START_TEST(redis_restart_between_calls)
{
	struct fd_test_redis *t;
	struct fd_grey_req q = greq("k", "a");
	char	 err[256];

	t = own_redis_new();
	st = open_store();
	ck_assert_int_eq(grey(&q).state, FD_GREY_NEW);
	/* the pooled connection is dead and the script cache empty: the
	 * next call reconnects, reloads, and does not fail */
	ck_assert_msg(fd_test_redis_restart(t, err, sizeof(err)) == 0, "%s",
	    err);
	ck_assert_int_eq(grey(&q).state, FD_GREY_NEW);
	ck_assert_int_eq(logged("unavailable"), 0);
	st = fd_store_free(st);
	fd_test_redis_free(t);
}
END_TEST

START_TEST(redis_slow)
{
	struct fd_test_redis *t;
	int64_t	 v;

	t = own_redis_new();
	opt("timeout", "100ms");
	opt("breaker-failures", "0");
	st = open_store();
	ck_assert_int_eq(fd_store_incr(st, "n", 1, 1, DAY, &v), FD_STORE_OK);
	kill(fd_test_redis_pid(t), SIGSTOP);
	ck_assert_int_eq(fd_store_incr(st, "n", 1, 1, DAY, &v), FD_STORE_ERR);
	kill(fd_test_redis_pid(t), SIGCONT);
	ck_assert_int_eq(fd_store_incr(st, "n", 1, 1, DAY, &v), FD_STORE_OK);
	ck_assert_int_ge(v, 2);
	ck_assert_int_eq(logged("no answer within 100ms"), 1);
	st = fd_store_free(st);
	fd_test_redis_free(t);
}
END_TEST

START_TEST(redis_noscript)
{
	struct fd_grey_req q = greq("k", "a");
	redisReply *r;

	ck_assert_int_eq(grey(&q).state, FD_GREY_NEW);
	r = rcmd(NULL, "SCRIPT FLUSH");
	freeReplyObject(r);
	fd_clock_advance(&clk, 300);
	ck_assert_int_eq(grey(&q).state, FD_GREY_PASSED);
}
END_TEST

START_TEST(redis_url_forms)
{
	redisReply *r;
	char	 buf[8];
	size_t	 len;

	st = fd_store_free(st);
	/* a unix socket and a db */
	snprintf(url, sizeof(url), "unix://%s?db=3",
	    fd_test_redis_socket(redis));
	conf.store_path = url;
	st = open_store();
	ck_assert_int_eq(fd_store_set(st, "k", 1, "u", 1, 60), FD_STORE_OK);
	st = fd_store_free(st);

	/* an ACL user with a password that needs escaping, and a db */
	r = rcmd(NULL, "ACL SETUSER fdtest on >p@ss:w ~* +@all");
	ck_assert_int_eq(r->type, REDIS_REPLY_STATUS);
	freeReplyObject(r);
	snprintf(url, sizeof(url), "redis://fdtest:p%%40ss:w@127.0.0.1:%d/3",
	    fd_test_redis_port(redis));
	st = open_store();
	len = sizeof(buf);
	ck_assert_int_eq(fd_store_get(st, "k", 1, buf, &len), FD_STORE_OK);
	ck_assert_mem_eq(buf, "u", 1);
	st = fd_store_free(st);

	/* a wrong password is a failure of the call, not of fd_store_new */
	snprintf(url, sizeof(url), "redis://fdtest:wrong@127.0.0.1:%d/3",
	    fd_test_redis_port(redis));
	st = open_store();
	len = sizeof(buf);
	ck_assert_int_eq(fd_store_get(st, "k", 1, buf, &len), FD_STORE_ERR);
	ck_assert_int_eq(logged("AUTH"), 1);
	/* and the data did go to db 3, not to db 0 */
	r = rcmd(NULL, "KEYS %sk:*", prefix);
	ck_assert_int_eq(r->elements, 0);
	freeReplyObject(r);
}
END_TEST

START_TEST(redis_keys_have_ttls)
{
	struct fd_grey_req g = greq("triplet", "awl");
	struct fd_rate_req rq[3] = { rreq("a", 5, 60, 0, 1),
	    rreq("b", 5, 60, 0, 1), rreq("c", 5, 60, 0, 1) };
	struct fd_rate_res rr[3];
	redisReply *r, *t;
	char	 tag[40];
	size_t	 i;
	int64_t	 v;

	pass(&g);
	ck_assert_int_eq(fd_store_rate(st, rq, 3, rr), FD_STORE_OK);
	ck_assert_int_eq(fd_store_set(st, "k", 1, "v", 1, 60), FD_STORE_OK);
	ck_assert_int_eq(fd_store_incr(st, "n", 1, 1, 60, &v), FD_STORE_OK);
	r = rcmd(NULL, "KEYS %s*", prefix);
	ck_assert_int_eq(r->type, REDIS_REPLY_ARRAY);
	ck_assert_uint_eq(r->elements, 2 + 3 + 2);
	for (i = 0; i < r->elements; i++) {
		t = rcmd(NULL, "PTTL %s", r->element[i]->str);
		ck_assert_msg(t->integer > 0, "%s has no TTL",
		    r->element[i]->str);
		freeReplyObject(t);
	}
	freeReplyObject(r);
	/* the greylist keys of one call share a hash tag */
	r = rcmd(NULL, "KEYS %sa:*", prefix);
	ck_assert_uint_eq(r->elements, 1);
	snprintf(tag, sizeof(tag), "%.34s", strchr(r->element[0]->str, '{'));
	freeReplyObject(r);
	r = rcmd(NULL, "KEYS %sg:%s:*", prefix, tag);
	ck_assert_uint_eq(r->elements, 1);
	freeReplyObject(r);
	r = rcmd(NULL, "KEYS %sr:{rate}:*", prefix);
	ck_assert_uint_eq(r->elements, 3);
	freeReplyObject(r);
}
END_TEST

static long long
rate_pttl_min(void)
{
	redisReply *r, *t;
	long long min = -1;
	size_t	 i;

	r = rcmd(NULL, "KEYS %sr:*", prefix);
	ck_assert_uint_gt(r->elements, 0);
	for (i = 0; i < r->elements; i++) {
		t = rcmd(NULL, "PTTL %s", r->element[i]->str);
		ck_assert_int_eq(t->type, REDIS_REPLY_INTEGER);
		if (min < 0 || t->integer < min)
			min = t->integer;
		freeReplyObject(t);
	}
	freeReplyObject(r);
	return min;
}

/*
 * A fake Redis, for replies a real one never gives: it serves one
 * connection after the other until fake_stop, answers SCRIPT LOAD with a
 * SHA and every other command with the bytes in fake_reply; with
 * fake_reply NULL it reads the command and closes the connection, as a
 * server or a proxy that dies after the command reached it; with
 * fake_trickle_ms it sends the reply a byte at a time, that far apart.
 * fake_calls counts the commands other than SCRIPT it received.
 */
struct fake {
	int		 lfd;
	int		 port;
	int		 stop;
	pthread_t	 t;
};

static const char *fake_reply;
static int fake_calls;
static int fake_trickle_ms;

/* fake_write - reply on c, all at once or trickled; -1 on an error */
static int
fake_write(int c, const char *reply, int trickle)
{
	size_t	 i, n = strlen(reply);

	if (!trickle)
		return write(c, reply, n) < 0 ? -1 : 0;
	for (i = 0; i < n; i++) {
		if (write(c, reply + i, 1) < 0)
			return -1;
		usleep((useconds_t)fake_trickle_ms * 1000);
	}
	return 0;
}

/* resp_command - the length of the whole command at the start of b (its
 * name into name), 0 if it is not all there yet */
static size_t
resp_command(const char *b, size_t len, char *name, size_t namelen)
{
	const char	*p = b, *end = b + len, *nl;
	long		 n, l, i;

	if (len == 0 || *p != '*' || (nl = memchr(p, '\n', len)) == NULL)
		return 0;
	n = strtol(p + 1, NULL, 10);
	p = nl + 1;
	for (i = 0; i < n; i++) {
		if (p >= end || *p != '$' ||
		    (nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			return 0;
		l = strtol(p + 1, NULL, 10);
		p = nl + 1;
		if (end - p < l + 2)
			return 0;
		if (i == 0)
			snprintf(name, namelen, "%.*s", (int)l, p);
		p += l + 2;
	}
	return (size_t)(p - b);
}

/* fake_conn - serve connection c until either side closes it */
static void
fake_conn(int c)
{
	static char	 buf[65536];
	static const char sha[] = "$40\r\n"
	    "0123456789abcdef0123456789abcdef01234567\r\n";
	const char	*reply;
	char		 name[16];
	size_t		 len = 0, used;
	ssize_t		 n;
	int		 trickle;

	while ((n = read(c, buf + len, sizeof(buf) - len)) > 0) {
		len += (size_t)n;
		while ((used = resp_command(buf, len, name, sizeof(name))) > 0) {
			reply = sha;
			trickle = 0;
			if (strcmp(name, "SCRIPT") != 0) {
				__atomic_add_fetch(&fake_calls, 1,
				    __ATOMIC_ACQ_REL);
				reply = __atomic_load_n(&fake_reply,
				    __ATOMIC_ACQUIRE);
				trickle = __atomic_load_n(&fake_trickle_ms,
				    __ATOMIC_ACQUIRE) > 0;
			}
			if (reply == NULL || fake_write(c, reply, trickle) < 0)
				return;
			memmove(buf, buf + used, len - used);
			len -= used;
		}
	}
}

/* fake_serve - the fake's thread: one connection at a time, until
 * fake_stop */
static void *
fake_serve(void *arg)
{
	struct fake	*f = arg;
	struct pollfd	 pfd = { f->lfd, POLLIN, 0 };
	int		 c;

	while (!__atomic_load_n(&f->stop, __ATOMIC_ACQUIRE)) {
		if (poll(&pfd, 1, 50) != 1 ||
		    (c = accept(f->lfd, NULL, NULL)) < 0)
			continue;
		fake_conn(c);
		close(c);
	}
	return NULL;
}

/* fake_start - listen on a free loopback port, serve in a thread */
static void
fake_start(struct fake *f)
{
	struct sockaddr_in sin;
	socklen_t	 slen = sizeof(sin);

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_ge(f->lfd = socket(AF_INET, SOCK_STREAM, 0), 0);
	ck_assert_int_eq(bind(f->lfd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(listen(f->lfd, 1), 0);
	ck_assert_int_eq(getsockname(f->lfd, (struct sockaddr *)&sin, &slen),
	    0);
	f->port = ntohs(sin.sin_port);
	f->stop = 0;
	__atomic_store_n(&fake_calls, 0, __ATOMIC_RELEASE);
	__atomic_store_n(&fake_trickle_ms, 0, __ATOMIC_RELEASE);
	ck_assert_int_eq(pthread_create(&f->t, NULL, fake_serve, f), 0);
}

/* fake_stop - after the store let go of its connection */
static void
fake_stop(struct fake *f)
{
	__atomic_store_n(&f->stop, 1, __ATOMIC_RELEASE);
	pthread_join(f->t, NULL);
	close(f->lfd);
}

/* fake_store - a store on fake f, no breaker */
static void
fake_store(struct fake *f)
{
	st = fd_store_free(st);
	opts_free();
	fake_start(f);
	snprintf(url, sizeof(url), "redis://127.0.0.1:%d", f->port);
	conf.store_path = url;
	opt("breaker-failures", "0");
	st = open_store();
}

/* del_with - fd_store_del on a fake Redis that answers with reply */
static int
del_with(const char *reply)
{
	__atomic_store_n(&fake_reply, reply, __ATOMIC_RELEASE);
	return fd_store_del(st, "k", 1);
}

/* kv_del answers 1 (a live entry went) or 0 (none): any other reply is
 * a store error, as a malformed reply is to every other call, not a
 * "not found" the caller would take for an answer */
START_TEST(redis_del_bad_reply)
{
	struct fake	 f;

	fake_store(&f);
	ck_assert_int_eq(del_with(":1\r\n"), FD_STORE_OK);
	ck_assert_int_eq(del_with(":0\r\n"), FD_STORE_NOTFOUND);
	ck_assert_int_eq(del_with("*2\r\n:1\r\n:1\r\n"), FD_STORE_ERR);
	ck_assert_int_eq(del_with(":7\r\n"), FD_STORE_ERR);
	ck_assert_int_eq(del_with("$1\r\n1\r\n"), FD_STORE_ERR);
	ck_assert_int_eq(del_with("$-1\r\n"), FD_STORE_ERR);
	ck_assert_int_eq(logged("unavailable: unexpected reply from the "
	    "script"), 1);
	ck_assert_int_eq(del_with(":0\r\n"), FD_STORE_NOTFOUND);
	ck_assert_int_eq(logged("available again after 4 failed calls"), 1);
	st = fd_store_free(st);
	fake_stop(&f);
}
END_TEST

/* A server (or a proxy in front of it) that takes the EVALSHA and closes
 * the connection may have run it: the call fails, and the command is not
 * sent again on a new connection, where it would charge its counts a
 * second time. The pooled connection it came on was a live one. */
START_TEST(redis_closed_after_command)
{
	struct fake	 f;
	int64_t		 v;

	fake_store(&f);
	__atomic_store_n(&fake_reply, ":1\r\n", __ATOMIC_RELEASE);
	ck_assert_int_eq(fd_store_incr(st, "n", 1, 1, DAY, &v), FD_STORE_OK);
	__atomic_store_n(&fake_calls, 0, __ATOMIC_RELEASE);
	__atomic_store_n(&fake_reply, NULL, __ATOMIC_RELEASE);
	ck_assert_int_eq(fd_store_incr(st, "n", 1, 1, DAY, &v), FD_STORE_ERR);
	ck_assert_int_eq(__atomic_load_n(&fake_calls, __ATOMIC_ACQUIRE), 1);
	/* and the next call opens a new connection that works */
	__atomic_store_n(&fake_reply, ":2\r\n", __ATOMIC_RELEASE);
	ck_assert_int_eq(fd_store_incr(st, "n", 1, 1, DAY, &v), FD_STORE_OK);
	ck_assert_int_eq(v, 2);
	ck_assert_int_eq(__atomic_load_n(&fake_calls, __ATOMIC_ACQUIRE), 2);
	st = fd_store_free(st);
	fake_stop(&f);
}
END_TEST

/* Redis closing a pooled connection while it sits idle (its `timeout`,
 * CLIENT KILL) costs no call: the next one takes a new connection, and
 * the command runs once. */
START_TEST(redis_idle_close)
{
	redisReply *r;
	long	 before;
	int64_t	 v;

	ck_assert_int_eq(fd_store_incr(st, "n", 1, 1, DAY, &v), FD_STORE_OK);
	r = rcmd(NULL, "CLIENT KILL TYPE normal");
	ck_assert_int_eq(r->type, REDIS_REPLY_INTEGER);
	ck_assert_int_ge(r->integer, 1);
	freeReplyObject(r);
	before = evalsha_calls();
	ck_assert_int_eq(fd_store_incr(st, "n", 1, 1, DAY, &v), FD_STORE_OK);
	ck_assert_int_eq(v, 2);
	ck_assert_int_eq(evalsha_calls() - before, 1);
	ck_assert_int_eq(logged("unavailable"), 0);
}
END_TEST

/*
 * A pool behind a relay (tests/lib/relay.h), whose connections can end
 * the way a network ends them: without a word until they are used.
 */

struct incr_call {
	int		 rc;
	int64_t		 v;
};

static void *
incr_once(void *arg)
{
	struct incr_call *c = arg;

	c->rc = fd_store_incr(st, "n", 1, 1, DAY, &c->v);
	return NULL;
}

/* relay_store - a store reaching the shared Redis through a new relay,
 * with `timeout` t and n idle connections in its pool: n calls at once,
 * held by the relay until each has opened its own */
static struct fd_test_relay *
relay_store(const char *t, int n)
{
	struct fd_test_relay *r;
	struct incr_call c[8];
	pthread_t	 th[8];
	int		 i;

	ck_assert_int_le(n, 8);
	st = fd_store_free(st);
	r = fd_test_relay_new(fd_test_redis_port(redis));
	ck_assert_ptr_nonnull(r);
	snprintf(url, sizeof(url), "redis://127.0.0.1:%d",
	    fd_test_relay_port(r));
	conf.store_path = url;
	opt("timeout", t);
	st = open_store();
	fd_test_relay_gather(r, n);
	for (i = 0; i < n; i++)
		ck_assert_int_eq(pthread_create(&th[i], NULL, incr_once,
		    &c[i]), 0);
	for (i = 0; i < n; i++) {
		pthread_join(th[i], NULL);
		ck_assert_int_eq(c[i].rc, FD_STORE_OK);
	}
	ck_assert_int_eq(fd_test_relay_accepted(r), n);
	return r;
}

/* A Redis host that went down and came back (a reboot) leaves the pool's
 * idle connections looking alive: nothing arrives on them until one
 * carries a command, which meets a reset. The call that meets it fails
 * (its command was written, and might have run), and the other idle
 * connections go with it: the next call opens a new one and works,
 * where it would have taken the next dead one. */
START_TEST(redis_pool_after_reboot)
{
	struct fd_test_relay *r;
	int64_t	 v = 0;

	r = relay_store("10s", 4);
	fd_test_relay_cut(r, FD_RELAY_RESET);
	ck_assert_int_eq(fd_store_incr(st, "n", 1, 1, DAY, &v), FD_STORE_ERR);
	ck_assert_int_eq(fd_store_incr(st, "n", 1, 1, DAY, &v), FD_STORE_OK);
	/* the four calls before, and this one: the reset one never ran */
	ck_assert_int_eq(v, 5);
	ck_assert_int_eq(fd_test_relay_accepted(r), 5);
	st = fd_store_free(st);
	fd_test_relay_free(r);
}
END_TEST

/* A NAT or firewall that forgot the pool's connections drops what they
 * send, and nothing answers: the call that finds out waits its `timeout`
 * and fails, and the next one works on a new connection instead of
 * waiting as long on the next forgotten one. */
START_TEST(redis_pool_after_silent_drop)
{
	struct fd_test_relay *r;
	int64_t	 v = 0;

	r = relay_store("500ms", 3);
	fd_test_relay_cut(r, FD_RELAY_DROP);
	ck_assert_int_eq(fd_store_incr(st, "n", 1, 1, DAY, &v), FD_STORE_ERR);
	ck_assert_int_eq(logged("no answer within 500ms"), 1);
	ck_assert_int_eq(fd_store_incr(st, "n", 1, 1, DAY, &v), FD_STORE_OK);
	ck_assert_int_eq(v, 4);
	ck_assert_int_eq(fd_test_relay_accepted(r), 4);
	st = fd_store_free(st);
	fd_test_relay_free(r);
}
END_TEST

/* Connections over TCP send keepalives: an idle one stays known to a NAT
 * on the way, and one whose host vanished ends while it sits in the pool.
 * The relay's port tells the store's connection from the test's own. */
START_TEST(redis_keepalive)
{
	struct fd_test_relay *r;
	struct sockaddr_in sin;
	socklen_t	 len;
	int		 fd, on, found = 0;

	r = relay_store("10s", 1);
	for (fd = 3; fd < 1024; fd++) {
		len = sizeof(sin);
		if (getpeername(fd, (struct sockaddr *)&sin, &len) < 0 ||
		    sin.sin_family != AF_INET ||
		    ntohs(sin.sin_port) != fd_test_relay_port(r))
			continue;
		len = sizeof(on);
		ck_assert_int_eq(getsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on,
		    &len), 0);
		ck_assert_int_eq(on, 1);
		found++;
	}
	ck_assert_int_eq(found, 1);
	st = fd_store_free(st);
	fd_test_relay_free(r);
}
END_TEST

/* `timeout` bounds the whole call, not each read: a reply that comes a
 * byte every 100ms never makes one read wait 250ms, and still fails the
 * call, which must not take it for an answer */
START_TEST(redis_trickled_reply)
{
	struct fake	 f;
	int64_t		 v = 0;

	fake_store(&f);
	__atomic_store_n(&fake_reply, ":12345\r\n", __ATOMIC_RELEASE);
	ck_assert_int_eq(fd_store_incr(st, "n", 1, 1, DAY, &v), FD_STORE_OK);
	ck_assert_int_eq(v, 12345);
	st = fd_store_free(st);
	opts_free();
	conf.store_path = url;
	opt("breaker-failures", "0");
	opt("timeout", "250ms");
	st = open_store();
	__atomic_store_n(&fake_trickle_ms, 100, __ATOMIC_RELEASE);
	v = 0;
	ck_assert_int_eq(fd_store_incr(st, "n", 1, 1, DAY, &v), FD_STORE_ERR);
	ck_assert_int_eq(v, 0);
	ck_assert_int_eq(logged("no answer within 250ms"), 1);
	st = fd_store_free(st);
	fake_stop(&f);
}
END_TEST

/* ucmd - run a command on test server t through its unix socket */
static void
ucmd(struct fd_test_redis *t, const char *fmt, ...)
{
	redisContext	*c;
	redisReply	*r;
	va_list		 ap;

	c = redisConnectUnix(fd_test_redis_socket(t));
	ck_assert_msg(c != NULL && c->err == 0, "connect to test redis");
	va_start(ap, fmt);
	r = redisvCommand(c, fmt, ap);
	va_end(ap);
	ck_assert_ptr_nonnull(r);
	ck_assert_msg(r->type == REDIS_REPLY_STATUS, "%s: %s", fmt,
	    r->type == REDIS_REPLY_ERROR ? r->str : "not +OK");
	freeReplyObject(r);
	redisFree(c);
}

/* redis_named - a store on the shared Redis by host name */
static void
redis_named(const char *host)
{
	st = fd_store_free(st);
	opts_free();
	lookups_reset();
	snprintf(url, sizeof(url), "redis://%s:%d", host,
	    fd_test_redis_port(redis));
	conf.store_path = url;
	opt("prefix", prefix);
	opt("breaker-failures", "0");
	opt("breaker-cooldown", "1h");
	st = open_store();
}

/* The host name is looked up when the store opens, not on each connect
 * (a resolver has no time limit); one that does not resolve makes calls
 * fail, and is not looked up on every call either */
START_TEST(redis_lookup_once)
{
	redisReply *r;
	int64_t	 v;
	int	 i;

	redis_named("redis.fd-test");
	for (i = 1; i <= 3; i++) {
		ck_assert_int_eq(fd_store_incr(st, "n", 1, 1, DAY, &v),
		    FD_STORE_OK);
		ck_assert_int_eq(v, i);
		/* the next call needs a new connection */
		r = rcmd(NULL, "CLIENT KILL TYPE normal");
		freeReplyObject(r);
	}
	ck_assert_int_eq(lookups_count(), 1);

	redis_named("nowhere.fd-test");
	ck_assert_int_eq(fd_store_incr(st, "n", 1, 1, DAY, &v), FD_STORE_ERR);
	ck_assert_int_eq(fd_store_incr(st, "n", 1, 1, DAY, &v), FD_STORE_ERR);
	ck_assert_int_eq(logged("resolve nowhere.fd-test"), 1);
	/* at open: IPv4, then IPv6 */
	ck_assert_int_eq(lookups_count(), 2);
}
END_TEST

/* A name whose every address refuses is looked up again once the
 * breaker's cooldown has passed: a managed Redis moves its name to
 * another address on failover */
START_TEST(redis_lookup_after_failover)
{
	int64_t	 v;

	lookups_point("192.0.2.1");	/* TEST-NET-1: nothing answers */
	redis_named("redis.fd-test");
	ck_assert_int_eq(lookups_count(), 1);
	ck_assert_int_eq(fd_store_incr(st, "n", 1, 1, DAY, &v), FD_STORE_ERR);
	lookups_point("127.0.0.1");
	/* not before the cooldown (1h here) */
	ck_assert_int_eq(fd_store_incr(st, "n", 1, 1, DAY, &v), FD_STORE_ERR);
	ck_assert_int_eq(lookups_count(), 1);
	fd_clock_advance(&clk, 3600);
	ck_assert_int_eq(fd_store_incr(st, "n", 1, 1, DAY, &v), FD_STORE_OK);
	ck_assert_int_eq(v, 1);
	ck_assert_int_eq(lookups_count(), 2);
	/* and not again while the new address answers */
	fd_clock_advance(&clk, 3600);
	ck_assert_int_eq(fd_store_incr(st, "n", 1, 1, DAY, &v), FD_STORE_OK);
	ck_assert_int_eq(lookups_count(), 2);
}
END_TEST

/* After a failover the old master, demoted to a replica, stays up and
 * answers every write with READONLY. Its connections are let go and
 * the name is looked up again once the cooldown has passed, so the
 * calls reach the new master instead of failing until a restart. */
START_TEST(redis_readonly_failover)
{
	struct fd_test_redis *t;
	char	 err[256];
	int64_t	 v;

	/* the old master: the shared server's port, on 127.0.0.2 */
	ck_assert_ptr_nonnull(t = fd_test_redis_start(err, sizeof(err)));
	ucmd(t, "CONFIG SET bind 127.0.0.2 port %d",
	    fd_test_redis_port(redis));
	lookups_point("127.0.0.2");
	redis_named("redis.fd-test");
	ck_assert_int_eq(fd_store_incr(st, "n", 1, 5, DAY, &v), FD_STORE_OK);
	ck_assert_int_eq(v, 5);

	/* demoted; the name moves to the new master (the shared server) */
	ucmd(t, "REPLICAOF 127.0.0.1 1");
	lookups_point("127.0.0.1");
	ck_assert_int_eq(fd_store_incr(st, "n", 1, 1, DAY, &v), FD_STORE_ERR);
	ck_assert_int_eq(logged("unavailable: READONLY"), 1);
	fd_clock_advance(&clk, 3600);
	ck_assert_int_eq(fd_store_incr(st, "n", 1, 1, DAY, &v), FD_STORE_OK);
	ck_assert_int_eq(v, 1);
	ck_assert_int_eq(lookups_count(), 2);
	ck_assert_int_eq(logged("available again"), 1);
	st = fd_store_free(st);
	fd_test_redis_free(t);
}
END_TEST

/* rkey_get - the string at the one key matching PREFIX pat */
static void
rkey_get(const char *pat, const char *field, char *out, size_t outlen)
{
	redisReply *r, *t;

	r = rcmd(NULL, "KEYS %s%s", prefix, pat);
	ck_assert_uint_eq(r->elements, 1);
	if (field != NULL)
		t = rcmd(NULL, "HGET %s %s", r->element[0]->str, field);
	else
		t = rcmd(NULL, "GET %s", r->element[0]->str);
	ck_assert_int_eq(t->type, REDIS_REPLY_STRING);
	snprintf(out, outlen, "%s", t->str);
	freeReplyObject(t);
	freeReplyObject(r);
}

/* The scripts hand Redis numbers, not strings: each must be written as
 * the whole integer, all 16 digits of a TAT in microseconds (Lua's own
 * conversion keeps 14). */
START_TEST(redis_numbers_in_full)
{
	struct fd_grey_req g = greq("t", "a"), g2 = greq("t2", NULL);
	struct fd_rate_req rq = rreq("b", 7, 60, 0, 1);
	struct fd_grey_res gr;
	struct fd_rate_res rr;
	struct fd_store_op ops[2];
	int64_t	 now = T0 + 300, tat = now * 1000000 + 60000000 / 7;
	char	 got[64], want[64];

	pass(&g);
	rkey_get("g:*", "x", got, sizeof(got));
	snprintf(want, sizeof(want), "%lld", (long long)(now + 35 * DAY));
	ck_assert_str_eq(got, want);
	rkey_get("a:*", "x", got, sizeof(got));
	snprintf(want, sizeof(want), "%lld", (long long)(now + 10 * DAY));
	ck_assert_str_eq(got, want);
	rkey_get("a:*", "c", got, sizeof(got));
	ck_assert_str_eq(got, "1");

	ck_assert_int_eq(fd_store_rate(st, &rq, 1, &rr), FD_STORE_OK);
	rkey_get("r:*", NULL, got, sizeof(got));
	snprintf(want, sizeof(want), "%lld", (long long)tat);
	ck_assert_str_eq(got, want);

	/* the multi call, as a recipient decision makes it */
	ops[0] = gop(&g2, &gr);
	ops[1] = rop(&rq, 1, &rr);
	ck_assert_int_eq(fd_store_multi(st, ops, 2), FD_STORE_OK);
	ck_assert_int_eq(gr.state, FD_GREY_NEW);
	ck_assert_int_eq(rr.allowed, 1);
	ck_assert_uint_eq(rr.remaining, 5);
	rkey_get("r:*", NULL, got, sizeof(got));
	snprintf(want, sizeof(want), "%lld",
	    (long long)(tat + 60000000 / 7));
	ck_assert_str_eq(got, want);
	rkey_get("g:{*}", "f", got, sizeof(got));
	snprintf(want, sizeof(want), "%lld", (long long)now);
	ck_assert_str_eq(got, want);
}
END_TEST

/* evalsha_calls - cmdstat_evalsha calls= from INFO commandstats */
static long
evalsha_calls(void)
{
	redisReply *r = rcmd(NULL, "INFO commandstats");
	const char *p;
	long	 n = 0;

	if ((p = strstr(r->str, "cmdstat_evalsha:calls=")) != NULL)
		n = strtol(p + 22, NULL, 10);
	freeReplyObject(r);
	return n;
}

START_TEST(redis_one_round_trip)
{
	struct fd_grey_req g = greq("t", "a");
	struct fd_rate_req rq[3] = { rreq("a", 5, 60, 0, 1),
	    rreq("b", 5, 60, 0, 1), rreq("c", 5, 60, 0, 1) };
	struct fd_rate_res rr[3];
	long	 before;
	int64_t	 v;
	int	 i;

	/* load the scripts first */
	grey(&g);
	fd_store_rate(st, rq, 3, rr);
	fd_store_incr(st, "n", 1, 1, 60, &v);
	before = evalsha_calls();
	for (i = 0; i < 10; i++) {
		grey(&g);
		ck_assert_int_eq(fd_store_rate(st, rq, 3, rr), FD_STORE_OK);
		ck_assert_int_eq(fd_store_incr(st, "n", 1, 1, 60, &v),
		    FD_STORE_OK);
	}
	ck_assert_int_eq(evalsha_calls() - before, 30);
}
END_TEST

START_TEST(redis_multi_one_round_trip)
{
	struct fd_grey_req g = greq("t", "a"), g2 = greq("t2", NULL);
	struct fd_rate_req rq[3] = { rreq("a", 5, 60, 0, 1),
	    rreq("b", 5, 60, 0, 1), rreq("c", 5, 60, 0, 1) };
	struct fd_grey_res gr[2];
	struct fd_rate_res rr[3];
	struct fd_store_op ops[3];
	redisReply *r, *t;
	long	 before;
	size_t	 i;

	ops[0] = gop(&g, &gr[0]);
	ops[1] = rop(rq, 3, rr);
	ops[2] = gop(&g2, &gr[1]);
	ck_assert_int_eq(fd_store_multi(st, ops, 3), FD_STORE_OK);	/* loads */
	before = evalsha_calls();
	for (i = 0; i < 4; i++) {
		ck_assert_int_eq(fd_store_multi(st, ops, 3), FD_STORE_OK);
		ck_assert_int_eq(ops[1].rc, FD_STORE_OK);
		ck_assert_int_eq(rr[2].allowed, 1);
	}
	ck_assert_int_eq(evalsha_calls() - before, 4);
	ck_assert_int_eq(gr[0].state, FD_GREY_EARLY);
	ck_assert_int_eq(rr[0].remaining, 0);

	/* the same keys as the single calls write, each with a TTL */
	r = rcmd(NULL, "KEYS %s*", prefix);
	ck_assert_uint_eq(r->elements, 1 + 3 + 1);	/* no awl key yet */
	for (i = 0; i < r->elements; i++) {
		t = rcmd(NULL, "PTTL %s", r->element[i]->str);
		ck_assert_msg(t->integer > 0, "%s has no TTL",
		    r->element[i]->str);
		freeReplyObject(t);
	}
	freeReplyObject(r);
	ck_assert_int_eq(grey(&g2).state, FD_GREY_EARLY);
	ck_assert_int_eq(fd_store_rate(st, rq, 3, rr), FD_STORE_OK);
	ck_assert_int_eq(rr[0].allowed, 0);
}
END_TEST

/*
 * The backends side by side
 *
 * One seeded random sequence of store calls goes to an LMDB store and to
 * a Redis store that read the same clock: greylist checks with varied
 * keys and options, with and without an auto-whitelist; rate hits over
 * several limits, bursts, costs and peeks; multi and planned calls; kv
 * get, set, incr and del with TTLs; and between them the clock moves, by
 * a second, by the delays, TTLs and periods in use give or take one (so
 * that boundaries are crossed exactly), by days or years, and now and
 * then back. Every answer must be the same, byte for byte: status, every
 * field of the results, the bytes of a value. The first difference fails
 * the test with the seed, the step, the call and both answers.
 *
 * Redis also drops a key by its real TTL, on its own clock, which a test
 * cannot move; here real time hardly passes while filterd's clock runs
 * years, so that would only ever drop a key the logical expiry (what
 * the scripts compare) had given up already, except on a machine that
 * stalls for longer than a short TTL. To compare what the scripts decide
 * and nothing else, each step ends with every key of the seed made
 * persistent, once the real TTL the step gave it has been checked
 * against the entry's life (diff_persist). LMDB's sweeper is set to run
 * once a day, so that neither backend forgets an expired entry on its
 * own and a clock stepped back finds the same entries in both.
 *
 * Seeds 1 to DIFF_SEEDS run in a second or two. For a longer search:
 *   FD_TEST_DIFF_SEEDS=N   N seeds from 1 instead (some 20 a second)
 *   FD_TEST_DIFF_SEED=S    from seed S (alone, without the above)
 *   FD_TEST_DIFF_STEPS=M   calls per seed (default 400)
 *   FD_TEST_DIFF_TRACE=1   every call and answer on stderr
 * e.g. FD_TEST_STORE=redis FD_TEST_DIFF_SEEDS=5000 tests/unit/check_store
 */

#define DIFF_SEEDS	32	/* the fixed ones: 1 to 32 */
#define DIFF_STEPS	400
#define DIFF_TTL_MAX	(100LL * 366 * DAY)	/* the longest TTL */

struct diff {
	uint64_t	 rng;
	unsigned long	 seed;
	int		 step;
	int		 trace;
	struct fd_store	*s[2];		/* lmdb, redis */
	redisContext	*rc;		/* to the store's Redis */
	char		 what[1024];	/* the call */
	char		 got[2][2048];	/* each backend's answer */
};

/* rnd - splitmix64: the same numbers for a seed on every machine */
static uint64_t
rnd(struct diff *d)
{
	uint64_t z = (d->rng += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* one - 1 in n */
static int
one(struct diff *d, unsigned n)
{
	return rnd(d) % n == 0;
}

#define PICK(d, a)	((a)[rnd(d) % (sizeof(a) / sizeof((a)[0]))])
/* mostly a usual value, 1 in 8 an edge of the range */
#define PICK2(d, a)	(one(d, 8) ? PICK(d, a##_edge) : PICK(d, a))

/* what the requests pick from: usual values, each limit's edges, and
 * a few values the store must refuse (alike) */
static const char *const diff_triplets[] = { "t0", "t1", "t2", "t3", "t4" };
/* each triplet's awl key, as the greylist plugin gives one triplet the
 * same key whether the awl is on (awl_after > 0) or off; on Redis it is
 * part of the triplet's key name */
static const char *const diff_awls[] = { "a0", "a0", "a1", "a1", NULL };
static const char *const diff_buckets[] = { "r0", "r1", "r2", "r3" };
static const char *const diff_kvkeys[] = { "k0", "k1", "k2", "k3" };
static const int64_t diff_delays[] = { 0, 1, 2, 59, 60, 300 };
static const int64_t diff_delays_edge[] = { 3600, DAY, DIFF_TTL_MAX };
static const int64_t diff_ttls[] = { 1, 2, 60, 99, 100, 101, 300, 3600,
    2 * DAY, 10 * DAY, 35 * DAY };
static const int64_t diff_ttls_edge[] = { 365 * DAY, DIFF_TTL_MAX - 1,
    DIFF_TTL_MAX };
static const uint32_t diff_after[] = { 0, 1, 1, 2, 3 };
static const uint32_t diff_limits[] = { 1, 1, 2, 3, 7, 10, 100 };
static const uint32_t diff_limits_edge[] = { 1000, 1000000, 4294967295U };
static const int64_t diff_periods[] = { 1, 1, 2, 60, 60, 3600, DAY };
static const int64_t diff_periods_edge[] = { 7 * DAY, 365 * DAY,
    1125899906 };
static const uint32_t diff_bursts[] = { 0, 0, 0, 1, 5 };
static const uint32_t diff_bursts_edge[] = { 100, 1000000, 4294967295U };
static const uint32_t diff_costs[] = { 0, 1, 1, 1, 1, 2, 5 };
static const uint32_t diff_costs_edge[] = { 1000, 1000000, 4294967295U };
static const int64_t diff_steps_by[] = { 0, 1, 1, -1, 5, 1000 };
static const int64_t diff_steps_by_edge[] = { 1000000007, 9007199254740991,
    -9007199254740991, 9007199254740992, INT64_MAX, INT64_MIN };
static const char *const diff_values[] = { "0", "1", "-1", "12", "007",
    "-0", "+3", " 4", "5 ", "12a", "-", "" };
static const char *const diff_values_edge[] = { "9007199254740991",
    "-9007199254740991", "9007199254740992", "99999999999999999999",
    "00000000000000000000042", "000000000000000000000000042",
    "-000000000000000000000000042" };
static const size_t diff_caps[] = { 0, 1, 2, 8, 64, 8192 };

/* diff_ttl - a TTL, now and then one the store refuses */
static int64_t
diff_ttl(struct diff *d)
{
	static const int64_t bad[] = { 0, -1, DIFF_TTL_MAX + 1 };

	return one(d, 40) ? PICK(d, bad) : PICK2(d, diff_ttls);
}

/* diff_greq - a greylist request; keys point to static strings */
static void
diff_greq(struct diff *d, struct fd_grey_req *q)
{
	size_t	 t = rnd(d) % (sizeof(diff_triplets) / sizeof(diff_triplets[0]));

	memset(q, 0, sizeof(*q));
	q->key = diff_triplets[t];
	q->keylen = 2;
	q->awl_key = diff_awls[t];
	q->awl_keylen = q->awl_key != NULL ? 2 : 0;
	q->delay = one(d, 60) ? -1 : PICK2(d, diff_delays);
	q->retry_window = diff_ttl(d);
	q->pass_ttl = diff_ttl(d);
	q->awl_after = PICK(d, diff_after);
	q->awl_ttl = diff_ttl(d);
}

/* diff_rreq - n rate limits over a few buckets (one may come twice) */
static void
diff_rreq(struct diff *d, struct fd_rate_req *q, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++) {
		q[i].key = PICK(d, diff_buckets);
		q[i].keylen = 2;
		q[i].limit = one(d, 60) ? 0 : PICK2(d, diff_limits);
		q[i].period = PICK2(d, diff_periods);
		q[i].burst = PICK2(d, diff_bursts);
		q[i].cost = PICK2(d, diff_costs);
	}
}

/* The answers, as text: what is compared and what a mismatch shows. */

static void
say(char *buf, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* say - append to buf */
static void
say(char *buf, size_t len, const char *fmt, ...)
{
	size_t	 o = strlen(buf);
	va_list	 ap;

	if (o >= len - 1)
		return;
	va_start(ap, fmt);
	vsnprintf(buf + o, len - o, fmt, ap);
	va_end(ap);
}

static void
say_grey(char *buf, size_t len, const struct fd_grey_res *r)
{
	say(buf, len, " grey{%d first %lld passes %u awl %u retry %lld}",
	    (int)r->state, (long long)r->first_seen, r->passes, r->awl_count,
	    (long long)r->retry_after);
}

static void
say_rate(char *buf, size_t len, const struct fd_rate_res *r, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		say(buf, len, " rate{%d rem %u retry %lld}", r[i].allowed,
		    r[i].remaining, (long long)r[i].retry_after);
}

static void
say_greq(char *buf, size_t len, const struct fd_grey_req *q)
{
	say(buf, len, " grey(%s awl %s delay %lld window %lld pass %lld "
	    "after %u awl_ttl %lld)", (const char *)q->key,
	    q->awl_key ? (const char *)q->awl_key : "-", (long long)q->delay,
	    (long long)q->retry_window, (long long)q->pass_ttl, q->awl_after,
	    (long long)q->awl_ttl);
}

static void
say_rreq(char *buf, size_t len, const struct fd_rate_req *q, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		say(buf, len, " rate(%s %u/%llds burst %u cost %u)",
		    (const char *)q[i].key, q[i].limit,
		    (long long)q[i].period, q[i].burst, q[i].cost);
}

/* diff_check - the two answers of this step must be the same */
static void
diff_check(struct diff *d)
{
	if (d->trace)
		fprintf(stderr, "seed %lu step %d t=%lld:%s\n  =%s\n",
		    d->seed, d->step, (long long)fd_clock_now(&clk), d->what,
		    d->got[0]);
	ck_assert_msg(strcmp(d->got[0], d->got[1]) == 0,
	    "seed %lu step %d, clock %lld:%s\n  lmdb: %s\n  redis:%s",
	    d->seed, d->step, (long long)fd_clock_now(&clk), d->what,
	    d->got[0], d->got[1]);
}

/* The calls. Each builds one request and makes it on both stores. */

static void
diff_grey(struct diff *d)
{
	struct fd_grey_req q;
	struct fd_grey_res r;
	int	 i, rc;

	diff_greq(d, &q);
	say_greq(d->what, sizeof(d->what), &q);
	for (i = 0; i < 2; i++) {
		rc = fd_store_grey(d->s[i], &q, &r);
		say(d->got[i], sizeof(d->got[i]), "rc %d", rc);
		say_grey(d->got[i], sizeof(d->got[i]), &r);
	}
}

static void
diff_rate(struct diff *d)
{
	struct fd_rate_req q[FD_STORE_RATE_MAX];
	struct fd_rate_res r[FD_STORE_RATE_MAX];
	size_t	 n = one(d, 20) ? FD_STORE_RATE_MAX : 1 + rnd(d) % 3;
	int	 i, rc;

	diff_rreq(d, q, n);
	say_rreq(d->what, sizeof(d->what), q, n);
	for (i = 0; i < 2; i++) {
		rc = fd_store_rate(d->s[i], q, n, r);
		say(d->got[i], sizeof(d->got[i]), "rc %d", rc);
		say_rate(d->got[i], sizeof(d->got[i]), r, n);
	}
}

/* the parts of a multi or planned call: greylist checks and rate calls
 * of one to three limits */
struct diff_parts {
	size_t			 n;
	struct fd_grey_req	 g[FD_STORE_MULTI_MAX];
	struct fd_rate_req	 r[FD_STORE_MULTI_MAX][3];
	size_t			 nr[FD_STORE_MULTI_MAX]; /* 0: grey */
};

static void
diff_parts(struct diff *d, struct diff_parts *p, size_t max)
{
	size_t	 i;

	p->n = 1 + rnd(d) % max;
	for (i = 0; i < p->n; i++) {
		p->nr[i] = one(d, 2) ? 0 : 1 + rnd(d) % 3;
		say(d->what, sizeof(d->what), " |");
		if (p->nr[i] == 0) {
			diff_greq(d, &p->g[i]);
			say_greq(d->what, sizeof(d->what), &p->g[i]);
		} else {
			diff_rreq(d, p->r[i], p->nr[i]);
			say_rreq(d->what, sizeof(d->what), p->r[i], p->nr[i]);
		}
	}
}

static void
diff_multi(struct diff *d)
{
	struct diff_parts p;
	struct fd_store_op ops[FD_STORE_MULTI_MAX];
	struct fd_grey_res gr[FD_STORE_MULTI_MAX];
	struct fd_rate_res rr[FD_STORE_MULTI_MAX][3];
	size_t	 j;
	int	 i, rc;

	say(d->what, sizeof(d->what), " multi");
	diff_parts(d, &p, FD_STORE_MULTI_MAX);
	for (i = 0; i < 2; i++) {
		for (j = 0; j < p.n; j++)
			ops[j] = p.nr[j] == 0 ? gop(&p.g[j], &gr[j]) :
			    rop(p.r[j], p.nr[j], rr[j]);
		rc = fd_store_multi(d->s[i], ops, p.n);
		say(d->got[i], sizeof(d->got[i]), "rc %d", rc);
		for (j = 0; j < p.n; j++) {
			say(d->got[i], sizeof(d->got[i]), " | rc %d",
			    ops[j].rc);
			if (p.nr[j] == 0)
				say_grey(d->got[i], sizeof(d->got[i]), &gr[j]);
			else
				say_rate(d->got[i], sizeof(d->got[i]), rr[j],
				    p.nr[j]);
		}
	}
}

/* diff_plan - plan the parts, then make them in another order, one of
 * them changed now and then (it goes on its own) */
static void
diff_plan(struct diff *d)
{
	struct diff_parts p;
	struct fd_plan	*plan = NULL;
	struct fd_grey_res gr;
	struct fd_rate_res rr[3];
	size_t	 j, k, order[FD_STORE_MULTI_MAX], start;
	int	 i, rc, changed;

	say(d->what, sizeof(d->what), " plan");
	diff_parts(d, &p, 4);
	start = rnd(d) % p.n;
	changed = one(d, 4) ? (int)(rnd(d) % p.n) : -1;
	for (j = 0; j < p.n; j++)
		order[j] = (start + j) % p.n;
	say(d->what, sizeof(d->what), " | made from %zu, changed %d", start,
	    changed);
	for (i = 0; i < 2; i++) {
		fd_plan_open(&plan);
		for (j = 0; j < p.n; j++)
			ck_assert_int_eq(p.nr[j] == 0 ?
			    fd_plan_grey(plan, &p.g[j], NULL, NULL) :
			    fd_plan_rate(plan, p.r[j], p.nr[j], NULL, NULL), 0);
		fd_plan_close(plan);
		for (j = 0; j < p.n; j++) {
			k = order[j];
			if (p.nr[k] == 0) {
				struct fd_grey_req q = p.g[k];

				if ((int)k == changed)
					q.delay++;
				rc = fd_plan_grey_call(plan, d->s[i], &q, &gr);
				say(d->got[i], sizeof(d->got[i]), " | rc %d",
				    rc);
				say_grey(d->got[i], sizeof(d->got[i]), &gr);
			} else {
				struct fd_rate_req q[3];

				memcpy(q, p.r[k], sizeof(q));
				if ((int)k == changed)
					q[0].burst++;
				rc = fd_plan_rate_call(plan, d->s[i], q,
				    p.nr[k], rr);
				say(d->got[i], sizeof(d->got[i]), " | rc %d",
				    rc);
				say_rate(d->got[i], sizeof(d->got[i]), rr,
				    p.nr[k]);
			}
		}
		plan = fd_plan_free(plan);
	}
}

/* diff_value - a value to set: a number or not quite, or random bytes */
static size_t
diff_value(struct diff *d, char *buf, size_t len)
{
	size_t	 n, i;

	if (!one(d, 4)) {
		snprintf(buf, len, "%s", PICK2(d, diff_values));
		return strlen(buf);
	}
	n = one(d, 10) ? len : rnd(d) % 40;
	for (i = 0; i < n; i++)
		buf[i] = (char)rnd(d);
	return n;
}

static void
diff_kv(struct diff *d)
{
	static char	 val[6000], out[2][8192];
	const char	*key = PICK(d, diff_kvkeys);
	size_t		 vallen = 0, len[2], cap = 0;
	int64_t		 by = 0, ttl = 0, v[2];
	int		 i, rc[2], op = (int)(rnd(d) % 7);

	switch (op) {
	case 0:
	case 1:
		cap = PICK(d, diff_caps);
		say(d->what, sizeof(d->what), " get(%s, room %zu)", key, cap);
		break;
	case 2:
	case 3:
		vallen = diff_value(d, val, sizeof(val));
		ttl = diff_ttl(d);
		say(d->what, sizeof(d->what), " set(%s, \"%.40s\" (%zu), "
		    "ttl %lld)", key, val, vallen, (long long)ttl);
		break;
	case 4:
	case 5:
		by = PICK2(d, diff_steps_by);
		ttl = diff_ttl(d);
		say(d->what, sizeof(d->what), " incr(%s, %lld, ttl %lld)",
		    key, (long long)by, (long long)ttl);
		break;
	default:
		say(d->what, sizeof(d->what), " del(%s)", key);
	}
	for (i = 0; i < 2; i++) {
		len[i] = cap;
		v[i] = 7;
		memset(out[i], 0, sizeof(out[i]));
		switch (op) {
		case 0:
		case 1:
			rc[i] = fd_store_get(d->s[i], key, 2, out[i], &len[i]);
			break;
		case 2:
		case 3:
			rc[i] = fd_store_set(d->s[i], key, 2, val, vallen, ttl);
			break;
		case 4:
		case 5:
			rc[i] = fd_store_incr(d->s[i], key, 2, by, ttl, &v[i]);
			break;
		default:
			rc[i] = fd_store_del(d->s[i], key, 2);
		}
		say(d->got[i], sizeof(d->got[i]), "rc %d len %zu v %lld", rc[i],
		    len[i], (long long)v[i]);
	}
	/* the bytes of a value read, as far as both had room */
	if (op <= 1 && rc[0] == FD_STORE_OK && rc[1] == FD_STORE_OK &&
	    len[0] == len[1])
		ck_assert_msg(memcmp(out[0], out[1], len[0] < cap ? len[0] :
		    cap) == 0, "seed %lu step %d:%s\n  the bytes differ",
		    d->seed, d->step, d->what);
}

/* diff_clock - move the clock: a little, across a boundary in use, by a
 * lot, or back */
static void
diff_clock(struct diff *d)
{
	int64_t	 by;

	switch (rnd(d) % 16) {
	case 0:
	case 1:
	case 2:
	case 3:
		by = (int64_t)(rnd(d) % 4);
		break;
	case 4:
	case 5:
		by = PICK2(d, diff_delays) + (int64_t)(rnd(d) % 3) - 1;
		break;
	case 6:
	case 7:
	case 8:
		by = PICK2(d, diff_ttls) + (int64_t)(rnd(d) % 3) - 1;
		break;
	case 9:
	case 10:
	case 11:
		by = PICK(d, diff_periods) / (int64_t)PICK(d, diff_limits) +
		    (int64_t)(rnd(d) % 3) - 1;
		break;
	case 12:
		by = (int64_t)(rnd(d) % (400 * DAY));
		break;
	case 13:
	case 14:
		by = -(int64_t)(rnd(d) % 120) - 1;
		break;
	default:
		by = -(int64_t)(rnd(d) % (2 * DAY)) - 1;
	}
	/* a century on at most: past the 2180s a TAT in microseconds plus
	 * the largest bucket no longer fits the script's doubles exactly */
	if (fd_clock_now(&clk) + by > T0 + DIFF_TTL_MAX)
		by = -(int64_t)(rnd(d) % (365 * DAY));
	fd_clock_advance(&clk, by);
	if (d->trace)
		fprintf(stderr, "seed %lu step %d: clock %+lld -> %lld\n",
		    d->seed, d->step, (long long)by,
		    (long long)fd_clock_now(&clk));
}

/*
 * diff_persist - before Redis forgets no key of this seed on its own (see
 * above), each key this step gave a real TTL must keep it at least as
 * long as filterd's clock keeps the entry alive (a rate bucket a second
 * more, see LUA_RATE), or in production Redis would drop a live entry.
 * The TTL was set at some moment after `before` (Redis's clock, ms):
 * counting from `before` gives it no time it did not have.
 */
static void
diff_persist(struct diff *d, long long before)
{
	static const char lua[] =
	    "local now, before, bad = ARGV[2] + 0, ARGV[3] + 0, {} "
	    "for _, k in ipairs(redis.call('KEYS', ARGV[1])) do "
	    "  local at = redis.call('PEXPIRETIME', k) "
	    "  if at >= 0 then "
	    "    local live "
	    "    if redis.call('TYPE', k).ok == 'hash' then "
	    "      live = (redis.call('HGET', k, 'x') - now) * 1000 "
	    "    else "
	    "      live = math.ceil((redis.call('GET', k) - now * 1000000) "
	    "        / 1000) + 1000 "
	    "    end "
	    "    if at - before < live then "
	    "      bad[#bad + 1] = k .. ': ' .. (at - before) .. 'ms < ' .. "
	    "        live .. 'ms' "
	    "    end "
	    "    redis.call('PERSIST', k) "
	    "  end "
	    "end "
	    "return bad";
	redisReply *r;

	r = redisCommand(d->rc, "EVAL %s 0 %s* %lld %lld", lua, prefix,
	    (long long)fd_clock_now(&clk), before);
	ck_assert_msg(r != NULL && r->type == REDIS_REPLY_ARRAY,
	    "PERSIST: %s", r != NULL && r->str ? r->str : d->rc->errstr);
	ck_assert_msg(r->elements == 0, "seed %lu step %d:%s\n  a real TTL "
	    "shorter than the entry's life: %s", d->seed, d->step, d->what,
	    r->element[0]->str);
	freeReplyObject(r);
}

/* diff_time - Redis's clock, ms */
static long long
diff_time(struct diff *d)
{
	redisReply *r;
	long long ms;

	r = redisCommand(d->rc, "TIME");
	ck_assert_msg(r != NULL && r->type == REDIS_REPLY_ARRAY &&
	    r->elements == 2, "TIME");
	ms = strtoll(r->element[0]->str, NULL, 10) * 1000 +
	    strtoll(r->element[1]->str, NULL, 10) / 1000;
	freeReplyObject(r);
	return ms;
}

/* diff_open - a fresh pair of stores for one seed, the clock at T0 */
static void
diff_open(struct diff *d)
{
	st = fd_store_free(st);
	opts_free();
	if (dir[0] != '\0')
		nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	dir[0] = '\0';
	conf_for(FD_STORE_LMDB);
	opt("sweep-interval", "1d");
	d->s[0] = open_store();
	opts_free();
	conf_for(FD_STORE_REDIS);
	d->s[1] = open_store();
	fd_clock_set(&clk, T0);
}

/* diff_close - close both; the seed's keys, persistent, go from Redis */
static void
diff_close(struct diff *d)
{
	redisReply *r;

	d->s[0] = fd_store_free(d->s[0]);
	d->s[1] = fd_store_free(d->s[1]);
	r = redisCommand(d->rc, "EVAL %s 0 %s*", "for _, k in ipairs("
	    "redis.call('KEYS', ARGV[1])) do redis.call('DEL', k) end "
	    "return 0", prefix);
	ck_assert_msg(r != NULL && r->type == REDIS_REPLY_INTEGER,
	    "DEL: %s", r != NULL && r->str ? r->str : d->rc->errstr);
	freeReplyObject(r);
}

/* diff_seed - one seed's sequence */
static void
diff_seed(struct diff *d, unsigned long seed, int steps)
{
	long long	 before;
	unsigned	 k;

	d->seed = seed;
	d->rng = seed;
	diff_open(d);
	for (d->step = 0; d->step < steps; d->step++) {
		d->what[0] = d->got[0][0] = d->got[1][0] = '\0';
		k = (unsigned)(rnd(d) % 100);
		before = k >= 20 ? diff_time(d) : 0;
		if (k < 20)
			diff_clock(d);
		else if (k < 40)
			diff_grey(d);
		else if (k < 58)
			diff_rate(d);
		else if (k < 66)
			diff_multi(d);
		else if (k < 72)
			diff_plan(d);
		else
			diff_kv(d);
		if (k >= 20) {
			diff_check(d);
			diff_persist(d, before);
		}
	}
	diff_close(d);
}

/* env_ulong - a number from the environment, or def */
static unsigned long
env_ulong(const char *name, unsigned long def)
{
	const char *s = getenv(name);

	return s != NULL && *s != '\0' ? strtoul(s, NULL, 10) : def;
}

START_TEST(differential)
{
	struct diff	 d;
	struct timeval	 tv = { 5, 0 };
	unsigned long	 n = env_ulong("FD_TEST_DIFF_SEEDS", 0), first, i;
	int		 steps = (int)env_ulong("FD_TEST_DIFF_STEPS",
			    DIFF_STEPS);

	memset(&d, 0, sizeof(d));
	d.trace = env_ulong("FD_TEST_DIFF_TRACE", 0) != 0;
	d.rc = redisConnectWithTimeout("127.0.0.1", fd_test_redis_port(redis),
	    tv);
	ck_assert_msg(d.rc != NULL && d.rc->err == 0, "connect to test redis");
	first = env_ulong("FD_TEST_DIFF_SEED", 0);
	if (first != 0 || n != 0)
		for (i = 0; i < (n ? n : 1); i++)
			diff_seed(&d, (first ? first : 1) + i, steps);
	else
		for (i = 1; i <= DIFF_SEEDS; i++)
			diff_seed(&d, i, steps);
	redisFree(d.rc);
}
END_TEST

/*
 * Suites
 */

static TCase *
tcase(Suite *s, const char *name)
{
	TCase	*tc = tcase_create(name);

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	suite_add_tcase(s, tc);
	return tc;
}

static Suite *
store_suite(enum fd_store_kind kind)
{
	Suite	*s = suite_create(kind == FD_STORE_LMDB ? "lmdb" : "redis");
	TCase	*tc;

	tc = tcase(s, "greylist");
	tcase_add_test(tc, grey_new_early_passed);
	tcase_add_test(tc, grey_clock_back);
	tcase_add_test(tc, grey_retry_window);
	tcase_add_test(tc, grey_pass_ttl);
	tcase_add_test(tc, grey_awl);
	tcase_add_test(tc, grey_awl_counts_triplets);
	tcase_add_test(tc, grey_awl_count_kept_alive);
	tcase_add_test(tc, grey_awl_expiry);
	tcase_add_test(tc, grey_awl_refresh_slack);
	tcase_add_test(tc, grey_awl_off);
	tcase_add_test(tc, grey_awl_toggled);
	tcase_add_test(tc, grey_invalid);
	tcase_add_test(tc, invalid_log_clock_back);

	tc = tcase(s, "rate");
	tcase_add_test(tc, rate_window);
	tcase_add_test(tc, rate_burst);
	tcase_add_test(tc, rate_clock_back);
	tcase_add_test(tc, rate_rollover);
	tcase_add_test(tc, rate_within_a_second);
	tcase_add_test(tc, rate_remaining_saturates);
	tcase_add_test(tc, rate_all_or_nothing);
	tcase_add_test(tc, rate_many_limits);
	tcase_add_test(tc, rate_peek_and_cost);
	tcase_add_test(tc, rate_invalid);

	tc = tcase(s, "multi");
	tcase_add_test(tc, multi_grey_and_rate);
	tcase_add_test(tc, multi_in_order);
	tcase_add_test(tc, multi_many_limits);
	tcase_add_test(tc, multi_invalid_part);
	tcase_add_test(tc, plan_one_trip);
	tcase_add_test(tc, plan_mismatch);

	tc = tcase(s, "kv");
	tcase_add_test(tc, kv_basic);
	tcase_add_test(tc, kv_large_value);
	tcase_add_test(tc, kv_ttl);
	tcase_add_test(tc, kv_incr);
	tcase_add_test(tc, kv_incr_zeros);
	tcase_add_test(tc, kv_incr_nul);
	tcase_add_test(tc, kv_incr_range);
	tcase_add_test(tc, binary_keys);

	tc = tcase(s, "threads");
	tcase_add_test(tc, concurrent_incr);
	tcase_add_test(tc, concurrent_rate);

	if (kind == FD_STORE_LMDB) {
		tc = tcase(s, "lmdb");
		tcase_add_test(tc, lmdb_dir_mode);
		tcase_add_test(tc, lmdb_restart);
		tcase_add_test(tc, lmdb_exit_unclosed);
		tcase_add_test(tc, lmdb_kill9);
		tcase_add_test(tc, lmdb_kill9_sync);
		tcase_add_test(tc, lmdb_crash_marker);
		tcase_add_test(tc, lmdb_marker_flush_race);
		tcase_add_test(tc, lmdb_fork);
		tcase_add_test(tc, lmdb_disk_reserved);
		tcase_add_test(tc, lmdb_damaged);
		tcase_add_test(tc, lmdb_full);
		tcase_add_test(tc, lmdb_full_recovers);
		tcase_add_test(tc, lmdb_full_all_or_nothing);
		tcase_add_test(tc, lmdb_sweep);
		tc = tcase(s, "conf");
		tcase_add_test(tc, check_options);
		tcase_add_loop_test(tc, option_range, 0,
		    (int)(sizeof(range_cases) / sizeof(range_cases[0])));
		tcase_add_loop_test(tc, redis_urls, 0,
		    sizeof(url_cases) / sizeof(url_cases[0]));
	} else {
		tc = tcase(s, "redis");
		tcase_add_test(tc, redis_outage);
		tcase_add_test(tc, redis_flap_then_down);
		tcase_add_test(tc, redis_short_outage_told);
		tcase_add_test(tc, redis_untold_at_stop);
		tcase_add_test(tc, redis_maxmemory);
		tcase_add_test(tc, redis_restart_between_calls);
		tcase_add_test(tc, redis_slow);
		tcase_add_test(tc, redis_noscript);
		tcase_add_test(tc, redis_del_bad_reply);
		tcase_add_test(tc, redis_closed_after_command);
		tcase_add_test(tc, redis_idle_close);
		tcase_add_test(tc, redis_pool_after_reboot);
		tcase_add_test(tc, redis_pool_after_silent_drop);
		tcase_add_test(tc, redis_keepalive);
		tcase_add_test(tc, redis_trickled_reply);
		tcase_add_test(tc, redis_lookup_once);
		tcase_add_test(tc, redis_lookup_after_failover);
		tcase_add_test(tc, redis_readonly_failover);
		tcase_add_test(tc, redis_url_forms);
		tcase_add_test(tc, redis_keys_have_ttls);
		tcase_add_test(tc, redis_numbers_in_full);
		tcase_add_test(tc, redis_one_round_trip);
		tcase_add_test(tc, redis_multi_one_round_trip);
		/* both stores at once: it runs where Redis does */
		tc = tcase(s, "differential");
		tcase_add_test(tc, differential);
		if (getenv("FD_TEST_DIFF_SEEDS") != NULL)
			tcase_set_timeout(tc, 120 + (double)env_ulong(
			    "FD_TEST_DIFF_SEEDS", 0) * env_ulong(
			    "FD_TEST_DIFF_STEPS", DIFF_STEPS) / 1000);
	}
	return s;
}

/* run - one backend's suite; the number of failures */
static int
run(enum fd_store_kind kind)
{
	SRunner	*sr;
	int	 failed;

	backend = kind;
	sr = srunner_create(store_suite(kind));
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed;
}

int
main(void)
{
	const char *only = getenv("FD_TEST_STORE");
	const char *skip = getenv("FD_ALLOW_SKIP");
	char	 err[512];
	int	 failed = 0, no_redis = 0;

	signal(SIGPIPE, SIG_IGN);
	if (only == NULL || strcmp(only, "redis") == 0) {
		if ((redis = fd_test_redis_start(err, sizeof(err))) == NULL) {
			fprintf(stderr, "check_store: redis: %s\n", err);
			no_redis = 1;
		}
	}
	if (only == NULL || strcmp(only, "lmdb") == 0)
		failed += run(FD_STORE_LMDB);
	if (redis != NULL) {
		failed += run(FD_STORE_REDIS);
		redis = fd_test_redis_free(redis);
	}
	if (failed)
		return 1;
	if (no_redis) {
		/* a missing redis-server fails the test unless allowed */
		if (!fd_test_redis_available() && skip != NULL &&
		    strcmp(skip, "1") == 0) {
			fprintf(stderr, "check_store: redis suite skipped "
			    "(FD_ALLOW_SKIP=1)\n");
			return 77;
		}
		return 99;
	}
	return 0;
}
