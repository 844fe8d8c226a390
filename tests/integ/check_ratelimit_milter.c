/*
 * check_ratelimit_milter.c -- the ratelimit plugin in a running filterd
 *
 * filterd is started with the plugin on a loopback port and a clock file
 * (`filterd -f -T FILE`), and driven by the project's milter client as
 * Postfix would drive it. Time only moves when a test writes the clock
 * file, so every wait in a reply is an exact number. Each behavioural
 * test runs twice, on the embedded store (LMDB in the test's directory)
 * and on a private redis-server; the last test runs two filterd
 * processes against one redis-server and shows they keep one count.
 */
#include "config.h"

#include <check.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>
#include <libmilter/mfapi.h>
#include <libmilter/mfdef.h>

#include "mclient.h"
#include "proc.h"
#include "redis.h"

#define T0		1700000000LL
#define NBACKENDS	2		/* 0: lmdb, 1: redis */

static const char *backend_names[NBACKENDS] = { "lmdb", "redis" };
static int	 nbackends = NBACKENDS;	/* 1 when Redis may be skipped */

struct daemon {
	char		*conf;
	char		 spec[64];
	struct th_proc	*p;
};

struct env {
	char			*dir;
	char			*clock;
	int64_t			 now;
	int			 backend;
	struct fd_test_redis	*redis;
	struct daemon		 d[2];
};

static struct env E;

/* What a conversation ended with: the first step not let through. */
struct res {
	enum mc_action	 a;		/* MC_CONTINUE if all passed */
	const char	*stage;		/* "connect", "mail", "rcpt", "" */
	char		 rcode[4];
	char		 xcode[16];
	char		 text[512];
};

static void
setup(void)
{
	memset(&E, 0, sizeof(E));
	E.dir = th_tmpdir_new();
	ck_assert_ptr_nonnull(E.dir);
	E.clock = th_path(E.dir, "clock");
	E.now = T0;
	ck_assert_int_eq(th_clock_write(E.clock, E.now), 0);
}

static void
teardown(void)
{
	int	 i;

	for (i = 0; i < 2; i++) {
		E.d[i].p = th_proc_free(E.d[i].p);
		free(E.d[i].conf);
	}
	E.redis = fd_test_redis_free(E.redis);
	free(E.clock);
	E.dir = th_tmpdir_free(E.dir);
}

/* use_backend - run on backend b (starting Redis if it is that one) */
static void
use_backend(int b)
{
	char	 err[512];

	E.backend = b;
	if (b == 1 && E.redis == NULL) {
		E.redis = fd_test_redis_start(err, sizeof(err));
		ck_assert_msg(E.redis != NULL, "redis: %s", err);
	}
}

/* clock_at - move filterd's clock to T0 + secs */
static void
clock_at(int64_t secs)
{
	E.now = T0 + secs;
	ck_assert_int_eq(th_clock_write(E.clock, E.now), 0);
}

/*
 * start_text - filterd number i with `text` (plugin blocks and rules)
 * after the socket, log, store and plugin-dir lines, on the test's
 * backend and clock
 */
static void
start_text(int i, const char *text)
{
	struct daemon	*d = &E.d[i];
	char		 store[512], name[32], err[4096];
	int		 port = th_free_port();

	ck_assert_int_gt(port, 0);
	snprintf(d->spec, sizeof(d->spec), "inet:%d@127.0.0.1", port);
	snprintf(name, sizeof(name), "filterd%d.conf", i);
	free(d->conf);
	d->conf = th_path(E.dir, name);
	if (E.backend == 0)
		snprintf(store, sizeof(store), "store lmdb \"%s/state\"",
		    E.dir);
	else
		snprintf(store, sizeof(store), "store redis \"%s\"",
		    fd_test_redis_url(E.redis));
	ck_assert_int_eq(th_write_file(d->conf,
	    "socket \"inet:%d@127.0.0.1\"\n"
	    "log stderr\n"
	    "log-level info\n"
	    "%s\n"
	    "plugin-dir \"%s\"\n"
	    "%s\n", port, store, th_plugin_dir(), text), 0);
	d->p = th_filterd_start(E.dir, d->conf, E.clock, d->spec, err,
	    sizeof(err));
	ck_assert_msg(d->p != NULL, "filterd (%s): %s",
	    backend_names[E.backend], err);
}

/*
 * start_n - filterd number i with the plugin block `block` and the
 * rules `rules`, on the test's backend and clock
 */
static void
start_n(int i, const char *block, const char *rules)
{
	char	 text[4096];

	snprintf(text, sizeof(text), "plugin ratelimit {\n%s\n}\n%s", block,
	    rules ? rules : "");
	start_text(i, text);
}

static void
start(const char *block, const char *rules)
{
	start_n(0, block, rules);
}

/* open_conn - a negotiated milter connection to filterd i */
static struct mc_conn *
open_conn(int i)
{
	struct mc_conn	*mc;
	char		 err[256];

	mc = mc_connect(E.d[i].spec, 10000, err, sizeof(err));
	ck_assert_msg(mc != NULL, "connect: %s", err);
	ck_assert_int_eq(mc_negotiate(mc, 0, 0), 0);
	return mc;
}

/* passed - the filter let the step through */
static int
passed(enum mc_action a)
{
	return a == MC_CONTINUE || a == MC_NOREPLY;
}

/* settle - a refusal at stage into r */
static int
settle(struct mc_conn *mc, enum mc_action a, const char *stage,
    struct res *r)
{
	const struct mc_reply *rp;

	if (passed(a))
		return 0;
	rp = mc_last(mc);
	r->a = a;
	r->stage = stage;
	snprintf(r->rcode, sizeof(r->rcode), "%s", rp->rcode);
	snprintf(r->xcode, sizeof(r->xcode), "%s", rp->xcode);
	snprintf(r->text, sizeof(r->text), "%s", rp->text);
	return 1;
}

/*
 * message - one message on an open connection: MAIL (with a SASL login
 * if auth is not NULL), then each recipient of the NULL-terminated list
 * until one is refused; the message is then aborted, as Postfix does
 * after a refused step or at RSET.
 */
static struct res
message(struct mc_conn *mc, const char *auth, const char *sender,
    const char *const *rcpts)
{
	struct res	 r;
	char		 from[512], to[512];

	memset(&r, 0, sizeof(r));
	r.a = MC_CONTINUE;
	r.stage = "";
	mc_macro(mc, "{auth_authen}", auth);
	mc_macro(mc, "{auth_type}", auth != NULL ? "PLAIN" : NULL);
	snprintf(from, sizeof(from), "<%s>", sender);
	if (settle(mc, mc_mail(mc, from, NULL), "mail", &r))
		goto out;
	for (; rcpts != NULL && *rcpts != NULL; rcpts++) {
		snprintf(to, sizeof(to), "<%s>", *rcpts);
		if (settle(mc, mc_rcpt(mc, to, NULL), "rcpt", &r))
			goto out;
	}
out:
	ck_assert_int_eq(mc_abort(mc), 0);
	return r;
}

/* session - a whole connection from ip with one message */
static struct res
session_n(int i, const char *ip, const char *helo, const char *auth,
    const char *sender, const char *const *rcpts)
{
	struct mc_conn	*mc = open_conn(i);
	struct res	 r;

	memset(&r, 0, sizeof(r));
	r.a = MC_CONTINUE;
	r.stage = "";
	if (!settle(mc, mc_connect_cmd(mc, "client.example", ip, 40000),
	    "connect", &r) &&
	    !settle(mc, mc_helo(mc, helo), "helo", &r))
		r = message(mc, auth, sender, rcpts);
	mc_quit(mc);
	mc_free(mc);
	return r;
}

static const char *const one_rcpt[] = { "rcpt@example.com", NULL };

/* msg - a session from ip with sender to one recipient, HELO mx.example */
static struct res
msg(const char *ip, const char *sender)
{
	return session_n(0, ip, "mx.example", NULL, sender, one_rcpt);
}

#define OK(r, what) do {						\
	struct res _r = (r);						\
	ck_assert_msg(_r.a == MC_CONTINUE, "%s (%s): refused at %s: "	\
	    "%s %s %s %s", what, backend_names[E.backend], _r.stage,	\
	    mc_action_name(_r.a), _r.rcode, _r.xcode, _r.text);	\
} while (0)

#define REFUSED(r, st, act, rc, xc, txt) do {				\
	struct res _r = (r);						\
	ck_assert_msg(_r.a == (act) && strcmp(_r.stage, (st)) == 0,	\
	    "%s: expected %s at %s, got %s at %s (%s %s %s)",		\
	    backend_names[E.backend], mc_action_name(act), st,		\
	    mc_action_name(_r.a), _r.stage, _r.rcode, _r.xcode, _r.text); \
	ck_assert_str_eq(_r.rcode, rc);					\
	ck_assert_str_eq(_r.xcode, xc);					\
	ck_assert_str_eq(_r.text, txt);					\
} while (0)

#define TEMPFAIL_AFTER(r, st, secs) do {				\
	char _t[128];							\
	snprintf(_t, sizeof(_t), "Rate limit exceeded, try again in "	\
	    "%d seconds", (int)(secs));					\
	REFUSED(r, st, MC_TEMPFAIL, "451", "4.7.1", _t);		\
} while (0)

/*
 * Key types
 */

/* client-ip: one counter per address; refill, roll-over, log line */
START_TEST(key_client_ip)
{
	int	 i;

	use_backend(_i);
	start("limit client-ip 3/1m", NULL);
	for (i = 0; i < 3; i++)
		OK(msg("192.0.2.1", "a@example.org"), "within the limit");
	/* 3 at once, then one each 20 s: the 4th must wait 20 s */
	TEMPFAIL_AFTER(msg("192.0.2.1", "a@example.org"), "mail", 20);
	/* refused attempts are not counted: the wait does not grow */
	TEMPFAIL_AFTER(msg("192.0.2.1", "b@example.org"), "mail", 20);
	OK(msg("192.0.2.2", "a@example.org"), "another address");
	OK(msg("2001:db8::1", "a@example.org"), "an IPv6 client");
	clock_at(19);
	TEMPFAIL_AFTER(msg("192.0.2.1", "a@example.org"), "mail", 1);
	clock_at(20);
	OK(msg("192.0.2.1", "a@example.org"), "one more after 20 s");
	TEMPFAIL_AFTER(msg("192.0.2.1", "a@example.org"), "mail", 20);
	/* a quiet full period: the whole limit again, and no more */
	clock_at(20 + 60);
	for (i = 0; i < 3; i++)
		OK(msg("192.0.2.1", "a@example.org"), "after the window");
	TEMPFAIL_AFTER(msg("192.0.2.1", "a@example.org"), "mail", 20);
	ck_assert_int_eq(th_log_wait(E.d[0].p, 0, "stage=mail "
	    "decider=ratelimit action=tempfail reply=\"451 4.7.1 Rate limit "
	    "exceeded, try again in 20 seconds\"", 5000), 0);
	ck_assert(th_log_has(E.d[0].p, "reason=\"limit client-ip-messages-1m "
	    "(client-ip 3/1m burst 0 messages) exceeded, retry after 20s\""));
}
END_TEST

/* client networks: a /24 and a /64 are one client each */
START_TEST(key_client_net)
{
	use_backend(_i);
	start("ipv4-prefix 24\nipv6-prefix 64\nlimit client-ip 2/1h", NULL);
	OK(msg("192.0.2.1", "a@example.org"), "first of the /24");
	OK(msg("192.0.2.200", "a@example.org"), "second of the /24");
	TEMPFAIL_AFTER(msg("192.0.2.77", "a@example.org"), "mail", 1800);
	OK(msg("192.0.3.1", "a@example.org"), "the next /24");
	OK(msg("2001:db8:0:1::1", "a@example.org"), "first of the /64");
	OK(msg("2001:db8:0:1:ffff::2", "a@example.org"), "second of the /64");
	TEMPFAIL_AFTER(msg("2001:db8:0:1:1:2:3:4", "a@example.org"), "mail",
	    1800);
	OK(msg("2001:db8:0:2::1", "a@example.org"), "the next /64");
}
END_TEST

/* connections, decided at connect; filterd gives a verdict reached at
 * connect at the client's next step (HELO here), with its text */
START_TEST(key_connections)
{
	use_backend(_i);
	start("limit client-ip 2/1m connections", NULL);
	OK(msg("198.51.100.7", "a@example.org"), "first connection");
	OK(msg("198.51.100.7", "a@example.org"), "second connection");
	TEMPFAIL_AFTER(msg("198.51.100.7", "a@example.org"), "helo", 30);
	OK(msg("198.51.100.8", "a@example.org"), "another client");
	clock_at(30);
	OK(msg("198.51.100.7", "a@example.org"), "after 30 s");
}
END_TEST

/* sender and sender-domain: case does not make another counter */
START_TEST(key_sender)
{
	use_backend(_i);
	start("limit sender 2/1h\n"
	    "limit sender-domain 3/1h name dom", NULL);
	OK(msg("192.0.2.1", "alice@one.example"), "alice 1");
	OK(msg("192.0.2.2", "Alice@ONE.example"), "alice 2");
	TEMPFAIL_AFTER(msg("192.0.2.3", "ALICE@one.example"), "mail", 1800);
	OK(msg("192.0.2.1", "bob@one.example"), "bob: third of the domain");
	/* the domain is full: 3600/3 s for one more */
	TEMPFAIL_AFTER(msg("192.0.2.1", "carol@One.Example"), "mail", 1200);
	OK(msg("192.0.2.1", "carol@two.example"), "another domain");
	/* the null sender has no sender key: never limited by these */
	OK(msg("192.0.2.1", ""), "bounce 1");
	OK(msg("192.0.2.1", ""), "bounce 2");
	OK(msg("192.0.2.1", ""), "bounce 3");
}
END_TEST

/* auth-user: only authenticated sessions, keyed by the login */
START_TEST(key_auth_user)
{
	int	 i;

	use_backend(_i);
	start("limit auth-user 2/1h action reject "
	    "message \"Account {name} over {rate}\" name users", NULL);
	OK(session_n(0, "192.0.2.1", "pc", "alice", "a@x.example", one_rcpt),
	    "alice 1");
	OK(session_n(0, "203.0.113.9", "phone", "Alice", "b@y.example",
	    one_rcpt), "alice 2, another client and sender");
	REFUSED(session_n(0, "192.0.2.1", "pc", "alice", "a@x.example",
	    one_rcpt), "mail", MC_REJECT, "550", "5.7.1",
	    "Account users over 2/1h");
	OK(session_n(0, "192.0.2.1", "pc", "bob", "a@x.example", one_rcpt),
	    "bob");
	for (i = 0; i < 5; i++)
		OK(session_n(0, "192.0.2.1", "pc", NULL, "a@x.example",
		    one_rcpt), "unauthenticated");
}
END_TEST

/* recipient: counted at RCPT; only the recipient over is refused */
START_TEST(key_recipient)
{
	static const char *const r1[] = { "a@example.com", "b@example.com",
	    NULL };
	static const char *const r2[] = { "B@Example.com", "c@example.com",
	    NULL };
	struct mc_conn	*mc;
	struct res	 r;

	use_backend(_i);
	start("tempfail-code 450\nlimit recipient 1/1d", NULL);
	OK(session_n(0, "192.0.2.1", "mx", NULL, "s@example.org", r1),
	    "a and b once");
	r = session_n(0, "192.0.2.2", "mx", NULL, "t@example.org", r2);
	REFUSED(r, "rcpt", MC_TEMPFAIL, "450", "4.7.1",
	    "Rate limit exceeded, try again in 86400 seconds");
	/* in one message: b refused, c still accepted after it */
	mc = open_conn(0);
	ck_assert(passed(mc_connect_cmd(mc, "c.example", "192.0.2.3", 1)));
	ck_assert(passed(mc_mail(mc, "<u@example.org>", NULL)));
	ck_assert_int_eq(mc_rcpt(mc, "<b@example.com>", NULL), MC_TEMPFAIL);
	ck_assert(passed(mc_rcpt(mc, "<c@example.com>", NULL)));
	ck_assert_int_eq(mc_rcpt(mc, "<c@example.com>", NULL), MC_TEMPFAIL);
	ck_assert_str_eq(mc_last(mc)->rcode, "450");
	mc_quit(mc);
	mc_free(mc);
}
END_TEST

/* helo: per name, case-insensitive, trailing dot ignored */
START_TEST(key_helo)
{
	use_backend(_i);
	start("limit helo 1/10m", NULL);
	OK(session_n(0, "192.0.2.1", "Bulk.Example.", NULL, "a@example.org",
	    one_rcpt), "first");
	TEMPFAIL_AFTER(session_n(0, "192.0.2.2", "bulk.example", NULL,
	    "b@example.org", one_rcpt), "mail", 600);
	OK(session_n(0, "192.0.2.2", "other.example", NULL, "b@example.org",
	    one_rcpt), "another name");
}
END_TEST

/*
 * Burst, several limits, rules
 */

START_TEST(burst)
{
	int	 i;

	use_backend(_i);
	start("limit sender 2/1m burst 3", NULL);
	for (i = 0; i < 5; i++)
		OK(msg("192.0.2.1", "a@example.org"), "within limit + burst");
	TEMPFAIL_AFTER(msg("192.0.2.1", "a@example.org"), "mail", 30);
	clock_at(30);
	OK(msg("192.0.2.1", "a@example.org"), "refilled one");
	TEMPFAIL_AFTER(msg("192.0.2.1", "a@example.org"), "mail", 30);
	/* a quiet (limit + burst) / rate: the whole burst is back */
	clock_at(30 + 150);
	for (i = 0; i < 5; i++)
		OK(msg("192.0.2.1", "a@example.org"), "burst again");
	TEMPFAIL_AFTER(msg("192.0.2.1", "a@example.org"), "mail", 30);
}
END_TEST

/* two limits on one key: the tighter decides, the wait is exact */
START_TEST(several_limits)
{
	int	 i;

	use_backend(_i);
	start("limit client-ip 5/1m\nlimit client-ip 8/1h name hourly", NULL);
	for (i = 0; i < 5; i++)
		OK(msg("192.0.2.1", "a@example.org"), "minute limit");
	TEMPFAIL_AFTER(msg("192.0.2.1", "a@example.org"), "mail", 12);
	clock_at(60);
	for (i = 0; i < 3; i++)
		OK(msg("192.0.2.1", "a@example.org"), "hourly limit");
	/* the minute has room for 2 more, the hour none: 8 took 3600 s of
	 * its budget at 450 s each, 60 s have passed */
	TEMPFAIL_AFTER(msg("192.0.2.1", "a@example.org"), "mail", 390);
	ck_assert(th_log_has(E.d[0].p, "reason=\"limit hourly (client-ip "
	    "8/1h burst 0 messages) exceeded, retry after 390s\""));
}
END_TEST

/* long_sender - a sender of about 480 bytes, its first letter c */
static const char *
long_sender(char *buf, size_t size, char c)
{
	memset(buf, c, size - 14);
	snprintf(buf + size - 14, 14, "@example.org");
	return buf;
}

/* keys that fill the room a stage keeps for them go to the heap, and a
 * short one after them still fits: each limit keeps its own counter */
START_TEST(keys_past_the_batch)
{
	char	 s[4][480];
	int	 i;

	use_backend(_i);
	/* five sender keys of some 490 bytes: four fill the batch's 2048,
	 * the fifth (e) is on the heap, client-ip f fits after them. Were
	 * a to d to share bytes, one message would hit a 2/1h key 4 times */
	start("limit sender 2/1h name a\nlimit sender 2/1h name b\n"
	    "limit sender 2/1h name c\nlimit sender 2/1h name d\n"
	    "limit sender 1/1h name e\nlimit client-ip 3/1h name f", NULL);
	for (i = 0; i < 4; i++)
		long_sender(s[i], sizeof(s[i]), (char)('p' + i));
	OK(msg("192.0.2.1", s[0]), "first message");
	TEMPFAIL_AFTER(msg("192.0.2.1", s[0]), "mail", 3600);
	ck_assert(th_log_has(E.d[0].p, "reason=\"limit e (sender 1/1h "
	    "burst 0 messages) exceeded, retry after 3600s\""));
	OK(msg("192.0.2.1", s[1]), "second sender, client at 2");
	OK(msg("192.0.2.1", s[2]), "third sender, client at 3");
	TEMPFAIL_AFTER(msg("192.0.2.1", s[3]), "mail", 1200);
	ck_assert(th_log_has(E.d[0].p, "reason=\"limit f (client-ip 3/1h "
	    "burst 0 messages) exceeded, retry after 1200s\""));
	OK(msg("192.0.2.2", s[3]), "fourth sender from elsewhere");
}
END_TEST

/* limits of one stage are charged all or nothing */
START_TEST(all_or_nothing)
{
	int	 i;

	use_backend(_i);
	start("limit client-ip 4/1h\nlimit sender 2/1h", NULL);
	OK(msg("192.0.2.1", "s@example.org"), "s 1");
	OK(msg("192.0.2.1", "s@example.org"), "s 2");
	/* refused by the sender limit: the client-ip limit not charged */
	for (i = 0; i < 5; i++)
		TEMPFAIL_AFTER(msg("192.0.2.1", "s@example.org"), "mail",
		    1800);
	OK(msg("192.0.2.1", "t@example.org"), "t 1, client at 3");
	OK(msg("192.0.2.1", "t@example.org"), "t 2, client at 4");
	TEMPFAIL_AFTER(msg("192.0.2.1", "u@example.org"), "mail", 900);
	/* and the refused u was not charged to u's own counter */
	OK(msg("192.0.2.9", "u@example.org"), "u from elsewhere");
	OK(msg("192.0.2.9", "u@example.org"), "u twice");
}
END_TEST

/* both limits over at one RCPT: the reject wins over the tempfail */
START_TEST(reject_wins)
{
	static const char *const three[] = { "a@example.com",
	    "b@example.com", "c@example.com", NULL };

	use_backend(_i);
	start("reject-message \"Too many recipients ({rate})\"\n"
	    "limit sender 2/1h recipients action reject\n"
	    "limit client-ip 2/1h recipients", NULL);
	REFUSED(session_n(0, "192.0.2.1", "mx", NULL, "s@example.org", three),
	    "rcpt", MC_REJECT, "550", "5.7.1", "Too many recipients (2/1h)");
}
END_TEST

/* rules: skip, factor, named override, off */
START_TEST(rules)
{
	int	 i;

	use_backend(_i);
	start("limit client-ip 1/1h\nlimit sender-domain 2/1h name dom",
	    "rule trusted on mail if client-ip in { 192.0.2.0/24 } "
	    "set ratelimit.factor 3\n"
	    "rule big on mail if sender-domain == big.example "
	    "set ratelimit.dom 4/1h\n"
	    "rule free on mail if sender-domain == free.example "
	    "set ratelimit.dom off\n"
	    "rule mon on connect if client-ip == 203.0.113.5 skip ratelimit\n");
	/* factor 3: 3 messages for the trusted client, and the domain
	 * limit is tripled too */
	for (i = 0; i < 3; i++)
		OK(msg("192.0.2.1", "a@d.example"), "trusted");
	TEMPFAIL_AFTER(msg("192.0.2.1", "a@d.example"), "mail", 1200);
	OK(msg("198.51.100.1", "a@e.example"), "untrusted 1");
	TEMPFAIL_AFTER(msg("198.51.100.1", "a@e.example"), "mail", 3600);
	/* the override replaces the configured rate for that domain */
	for (i = 0; i < 4; i++) {
		char ip[32];

		snprintf(ip, sizeof(ip), "198.51.100.%d", 10 + i);
		OK(msg(ip, "x@big.example"), "big");
	}
	TEMPFAIL_AFTER(msg("198.51.100.20", "x@big.example"), "mail", 900);
	for (i = 0; i < 6; i++) {
		char ip[32];

		snprintf(ip, sizeof(ip), "198.51.100.%d", 30 + i);
		OK(msg(ip, "x@free.example"), "free");
	}
	for (i = 0; i < 5; i++)
		OK(msg("203.0.113.5", "m@e.example"), "skipped");
}
END_TEST

/* connection limits: a rule at connect can exempt a client (`set` is
 * for messages, so it cannot scale them) */
START_TEST(rules_connect)
{
	int	 i;

	use_backend(_i);
	start("limit client-ip 1/1h connections",
	    "rule mon on connect if client-ip == 192.0.2.50 skip ratelimit\n");
	for (i = 0; i < 3; i++)
		OK(msg("192.0.2.50", "a@example.org"), "exempt");
	OK(msg("192.0.2.51", "a@example.org"), "first of another");
	TEMPFAIL_AFTER(msg("192.0.2.51", "a@example.org"), "helo", 3600);
}
END_TEST

/* the store down: the plugin's on-store-error policy applies */
START_TEST(store_failure)
{
	use_backend(1);
	start("on-store-error tempfail\nlimit sender 5/1h", NULL);
	OK(msg("192.0.2.1", "a@example.org"), "store up");
	ck_assert_int_eq(fd_test_redis_stop(E.redis), 0);
	REFUSED(msg("192.0.2.1", "a@example.org"), "mail", MC_TEMPFAIL,
	    "451", "4.3.0", "Temporary local problem, try again later");
	ck_assert_int_eq(th_log_wait(E.d[0].p, 0, "store error checking 1 "
	    "rate limit", 5000), 0);
}
END_TEST

/* Redis: every counter carries a TTL no longer than its bucket lasts */
START_TEST(redis_ttl)
{
	redisContext	*rc;
	redisReply	*keys, *ttl;
	size_t		 i, n = 0;
	int		 j;

	use_backend(1);
	start("limit client-ip 10/1m\nlimit sender 100/1d burst 100", NULL);
	for (j = 0; j < 10; j++) {
		char ip[32], from[64];

		snprintf(ip, sizeof(ip), "192.0.2.%d", j + 1);
		snprintf(from, sizeof(from), "s%d@example.org", j);
		OK(msg(ip, from), "fill");
	}
	rc = redisConnect("127.0.0.1", fd_test_redis_port(E.redis));
	ck_assert(rc != NULL && rc->err == 0);
	keys = redisCommand(rc, "KEYS *");
	ck_assert(keys != NULL && keys->type == REDIS_REPLY_ARRAY);
	for (i = 0; i < keys->elements; i++) {
		if (strstr(keys->element[i]->str, "{rate}") == NULL)
			continue;
		n++;
		ttl = redisCommand(rc, "PTTL %b", keys->element[i]->str,
		    keys->element[i]->len);
		ck_assert(ttl != NULL && ttl->type == REDIS_REPLY_INTEGER);
		/* 6 s for one client-ip event, 864 s for a sender event,
		 * each a second more for the rest of filterd's current
		 * second (less the real milliseconds since they were set) */
		ck_assert_msg((ttl->integer > 1000 && ttl->integer <= 7000) ||
		    (ttl->integer > 800000 && ttl->integer <= 865000),
		    "PTTL %lld", ttl->integer);
		freeReplyObject(ttl);
	}
	ck_assert_uint_eq(n, 20);
	freeReplyObject(keys);
	redisFree(rc);
}
END_TEST

/*
 * Concurrency
 */

#define NTHREADS	8
#define PER_THREAD	40

struct worker {
	int		 daemon;	/* which filterd */
	int		 ok, refused, other;
};

/* work - one connection, PER_THREAD messages from one sender domain,
 * each from another address so only the domain limit counts */
static void *
work(void *arg)
{
	struct worker	*w = arg;
	struct mc_conn	*mc;
	char		 err[256], from[64];
	enum mc_action	 a;
	int		 i;

	mc = mc_connect(E.d[w->daemon].spec, 20000, err, sizeof(err));
	if (mc == NULL || mc_negotiate(mc, 0, 0) < 0 ||
	    !passed(mc_connect_cmd(mc, "c.example", "192.0.2.1", 1))) {
		w->other = PER_THREAD;
		mc_free(mc);
		return NULL;
	}
	for (i = 0; i < PER_THREAD; i++) {
		snprintf(from, sizeof(from), "<u%d@flood.example>", i);
		a = mc_mail(mc, from, NULL);
		if (passed(a))
			w->ok++;
		else if (a == MC_TEMPFAIL &&
		    strcmp(mc_last(mc)->xcode, "4.7.1") == 0)
			w->refused++;
		else
			w->other++;
		mc_abort(mc);
	}
	mc_quit(mc);
	mc_free(mc);
	return NULL;
}

/* run_workers - NTHREADS at once, spread over ndaemons filterds;
 * returns the messages let through */
static int
run_workers(int ndaemons)
{
	pthread_t	 th[NTHREADS];
	struct worker	 w[NTHREADS];
	int		 i, ok = 0, refused = 0;

	memset(w, 0, sizeof(w));
	for (i = 0; i < NTHREADS; i++) {
		w[i].daemon = i % ndaemons;
		ck_assert_int_eq(pthread_create(&th[i], NULL, work, &w[i]), 0);
	}
	for (i = 0; i < NTHREADS; i++) {
		pthread_join(th[i], NULL);
		ck_assert_msg(w[i].other == 0, "thread %d: %d unexpected "
		    "answers", i, w[i].other);
		ok += w[i].ok;
		refused += w[i].refused;
	}
	ck_assert_int_eq(ok + refused, NTHREADS * PER_THREAD);
	return ok;
}

/* exact counts: 8 connections at once, one domain, 100 allowed */
START_TEST(concurrency)
{
	use_backend(_i);
	start("limit sender-domain 100/1h burst 7", NULL);
	ck_assert_int_eq(run_workers(1), 107);
	/* a quarter of the hour later, exactly 25 more */
	clock_at(900);
	ck_assert_int_eq(run_workers(1), 25);
}
END_TEST

/* two filterds sharing one redis-server enforce one global limit */
START_TEST(shared_redis)
{
	use_backend(1);
	start_n(0, "limit sender-domain 50/1h", NULL);
	start_n(1, "limit sender-domain 50/1h", NULL);
	/* one after the other: the second sees what the first counted */
	OK(session_n(0, "192.0.2.1", "mx", NULL, "a@flood.example", one_rcpt),
	    "first on filterd 0");
	OK(session_n(1, "192.0.2.2", "mx", NULL, "b@flood.example", one_rcpt),
	    "first on filterd 1");
	/* then both at once: 48 left in total, not 48 each */
	ck_assert_int_eq(run_workers(2), 48);
	REFUSED(session_n(0, "192.0.2.1", "mx", NULL, "c@flood.example",
	    one_rcpt), "mail", MC_TEMPFAIL, "451", "4.7.1",
	    "Rate limit exceeded, try again in 72 seconds");
	REFUSED(session_n(1, "192.0.2.1", "mx", NULL, "c@flood.example",
	    one_rcpt), "mail", MC_TEMPFAIL, "451", "4.7.1",
	    "Rate limit exceeded, try again in 72 seconds");
	/* both read the same clock: 72 s later each may send one, and
	 * only one of them gets it */
	clock_at(72);
	OK(session_n(1, "192.0.2.3", "mx", NULL, "d@flood.example", one_rcpt),
	    "after 72 s on filterd 1");
	TEMPFAIL_AFTER(session_n(0, "192.0.2.3", "mx", NULL, "e@flood.example",
	    one_rcpt), "mail", 72);
}
END_TEST

/*
 * With greylisting: one store round trip per recipient
 */

/* GREY_RL - greylist and ratelimit, message limits decided at RCPT */
#define GREY_RL(limits)							\
	"plugin greylist {\n\tdelay 5m\n}\n"					\
	"plugin ratelimit {\n\tdecide-messages-at rcpt\n" limits "}\n"

/* each_rcpt - a session from ip: MAIL from sender, then every recipient
 * of rcpts whatever the answers (as a client retrying the rest would);
 * how many were let through */
static int
each_rcpt(const char *ip, const char *sender, const char *const *rcpts,
    struct res *last)
{
	struct mc_conn	*mc = open_conn(0);
	char		 from[256], to[256];
	int		 ok = 0;

	memset(last, 0, sizeof(*last));
	last->a = MC_CONTINUE;
	last->stage = "";
	ck_assert(passed(mc_connect_cmd(mc, "client.example", ip, 40000)));
	ck_assert(passed(mc_helo(mc, "mx.example")));
	snprintf(from, sizeof(from), "<%s>", sender);
	ck_assert(passed(mc_mail(mc, from, NULL)));
	for (; *rcpts != NULL; rcpts++) {
		snprintf(to, sizeof(to), "<%s>", *rcpts);
		if (!settle(mc, mc_rcpt(mc, to, NULL), "rcpt", last))
			ok++;
	}
	ck_assert_int_eq(mc_abort(mc), 0);
	mc_quit(mc);
	mc_free(mc);
	return ok;
}

/* the message limits count a message once, with its first recipient,
 * also when greylisting deferred that recipient */
START_TEST(messages_at_rcpt)
{
	static const char *const two[] = { "a@example.com", "b@example.com",
	    NULL };
	struct res	 r;

	use_backend(_i);
	start_text(0, GREY_RL("\tlimit client-ip 2/1h\n"));
	/* new triplets: both deferred by greylisting; the message counted
	 * once (with a, though b's store call came after) */
	ck_assert_int_eq(each_rcpt("192.0.2.1", "s@example.org", two, &r), 0);
	ck_assert_str_eq(r.rcode, "451");
	ck_assert_str_eq(r.xcode, "4.7.1");
	ck_assert_ptr_null(strstr(r.text, "Rate limit"));
	/* the retry passes: the second message of the two allowed */
	clock_at(600);
	ck_assert_int_eq(each_rcpt("192.0.2.1", "s@example.org", two, &r), 2);
	/* a third is refused at its recipients, with the exact wait */
	ck_assert_int_eq(each_rcpt("192.0.2.1", "s@example.org", two, &r), 0);
	TEMPFAIL_AFTER(r, "rcpt", 1200);
	ck_assert_int_eq(th_log_wait(E.d[0].p, 0, "stage=rcpt "
	    "decider=ratelimit action=tempfail", 5000), 0);
}
END_TEST

/* to - a session from ip with one message from s@example.org to rcpts */
static struct res
to(const char *ip, const char *const *rcpts)
{
	return session_n(0, ip, "mx.example", NULL, "s@example.org", rcpts);
}

/* default.rules' role-accounts rule, and recipients for it */
static const char *const roles_rule =
    "rule roles on rcpt if rcpt-local in { postmaster, abuse } "
    "skip ratelimit\n";
static const char *const rcpts_pm[] = { "postmaster@example.com", NULL };
static const char *const rcpts_bob[] = { "bob@example.com", NULL };
static const char *const rcpts_pm_carol[] = { "postmaster@example.com",
    "carol@example.com", NULL };

/* a rule on rcpt exempts a recipient from the message limits when they
 * are decided at RCPT (here) or at end of message (role_accounts_eom),
 * not at MAIL FROM, where no recipient is known yet. contrib/filterd.conf
 * decides them at RCPT so that default.rules' role-accounts rule
 * (postmaster@, abuse@) holds for them too. */
START_TEST(role_accounts)
{
	use_backend(_i);
	start("decide-messages-at rcpt\nlimit client-ip 1/1h", roles_rule);
	/* a message to postmaster alone is not counted */
	OK(to("192.0.2.1", rcpts_pm), "postmaster, under the limit");
	OK(to("192.0.2.1", rcpts_bob), "bob, the one message of the hour");
	OK(to("192.0.2.1", rcpts_pm), "postmaster, over the limit");
	/* postmaster listed first does not exempt the next recipient */
	TEMPFAIL_AFTER(to("192.0.2.1", rcpts_pm_carol), "rcpt", 3600);

	/* decided at MAIL FROM, the message was counted and is refused
	 * before the rule could see its recipient */
	E.d[0].p = th_proc_free(E.d[0].p);
	start("limit client-ip 1/1h", roles_rule);
	OK(to("192.0.2.2", rcpts_pm), "postmaster, counted at MAIL FROM");
	TEMPFAIL_AFTER(to("192.0.2.2", rcpts_pm), "mail", 3600);
}
END_TEST

/* whole_message_to - a session from ip with one message to rcpts, sent
 * to end of message (DATA and body as negotiated); its outcome */
static struct res
whole_message_to(const char *ip, const char *sender,
    const char *const *rcpts, uint32_t *proto)
{
	struct mc_conn	*mc = open_conn(0);
	struct res	 r;
	char		 from[256], to[256];

	memset(&r, 0, sizeof(r));
	r.a = MC_CONTINUE;
	r.stage = "";
	*proto = mc_proto(mc);
	ck_assert(passed(mc_connect_cmd(mc, "client.example", ip, 40000)));
	ck_assert(passed(mc_helo(mc, "mx.example")));
	snprintf(from, sizeof(from), "<%s>", sender);
	ck_assert(passed(mc_mail(mc, from, NULL)));
	for (; *rcpts != NULL; rcpts++) {
		snprintf(to, sizeof(to), "<%s>", *rcpts);
		ck_assert(passed(mc_rcpt(mc, to, NULL)));
	}
	(void)mc_data(mc);
	(void)mc_body(mc, "hi\r\n", 4);
	(void)settle(mc, mc_eom(mc), "eom", &r);
	mc_quit(mc);
	mc_free(mc);
	return r;
}

/* whole_message - the same to one recipient */
static struct res
whole_message(const char *ip, const char *sender, uint32_t *proto)
{
	return whole_message_to(ip, sender, one_rcpt, proto);
}

/* decide-messages-at eom: counted and refused at end of message, and
 * the MTA need not wait for filterd at MAIL or RCPT */
START_TEST(messages_at_eom)
{
	struct res	 r;
	uint32_t	 proto;

	use_backend(_i);
	start("decide-messages-at eom\nlimit client-ip 2/1h", NULL);
	OK(whole_message("192.0.2.1", "s@example.org", &proto), "first");
	ck_assert(proto & SMFIP_NR_MAIL);
	ck_assert(proto & SMFIP_NR_RCPT);
	OK(whole_message("192.0.2.1", "s@example.org", &proto), "second");
	r = whole_message("192.0.2.1", "s@example.org", &proto);
	TEMPFAIL_AFTER(r, "eom", 1800);
	ck_assert_int_eq(th_log_wait(E.d[0].p, 0, "stage=eom "
	    "decider=ratelimit action=tempfail", 5000), 0);
	/* another client has its own count */
	OK(whole_message("192.0.2.2", "s@example.org", &proto), "other");
}
END_TEST

/* decide-messages-at eom: the RCPT hook runs without a reply awaited,
 * so a rule on rcpt exempts a recipient from the message limits there
 * too: a message to postmaster@ alone is neither counted nor refused */
START_TEST(role_accounts_eom)
{
	uint32_t	 proto;

	use_backend(_i);
	start("decide-messages-at eom\nlimit client-ip 1/1h", roles_rule);
	OK(whole_message_to("192.0.2.1", "s@example.org", rcpts_pm, &proto),
	    "postmaster, under the limit");
	ck_assert(proto & SMFIP_NR_RCPT);
	OK(whole_message_to("192.0.2.1", "s@example.org", rcpts_bob, &proto),
	    "bob, the one message of the hour");
	OK(whole_message_to("192.0.2.1", "s@example.org", rcpts_pm, &proto),
	    "postmaster, over the limit");
	/* one recipient not exempted: the message is counted and refused */
	TEMPFAIL_AFTER(whole_message_to("192.0.2.1", "s@example.org",
	    rcpts_pm_carol, &proto), "eom", 3600);
}
END_TEST

/* INFO commandstats: EVALSHA calls so far */
static long
evalsha_calls(void)
{
	redisContext	*rc;
	redisReply	*r;
	const char	*p;
	long		 n = -1;

	rc = redisConnect("127.0.0.1", fd_test_redis_port(E.redis));
	ck_assert(rc != NULL && rc->err == 0);
	r = redisCommand(rc, "INFO commandstats");
	ck_assert(r != NULL && r->type == REDIS_REPLY_STRING);
	n = (p = strstr(r->str, "cmdstat_evalsha:calls=")) != NULL ?
	    strtol(p + 22, NULL, 10) : 0;
	freeReplyObject(r);
	redisFree(rc);
	return n;
}

/* issue 9: exactly one Redis round trip per recipient decision for
 * greylist and ratelimit together, on the new and on the pass path */
START_TEST(one_round_trip_per_rcpt)
{
	static const char *const three[] = { "a@example.com", "b@example.com",
	    "c@example.com", NULL };
	struct res	 r;
	char		 ip[32];
	long		 before;
	int		 i;

	use_backend(1);
	start_text(0, GREY_RL("\tlimit client-ip 1000/1m\n"
	    "\tlimit recipient 1000/1h\n"));
	/* load the scripts (SCRIPT LOAD, then EVALSHA) */
	each_rcpt("198.51.100.1", "x@example.org", three, &r);
	before = evalsha_calls();
	for (i = 0; i < 5; i++) {
		snprintf(ip, sizeof(ip), "192.0.2.%d", i + 1);
		ck_assert_int_eq(each_rcpt(ip, "s@example.org", three, &r), 0);
	}
	ck_assert_int_eq(evalsha_calls() - before, 5 * 3);
	clock_at(600);
	before = evalsha_calls();
	for (i = 0; i < 5; i++) {
		snprintf(ip, sizeof(ip), "192.0.2.%d", i + 1);
		ck_assert_int_eq(each_rcpt(ip, "s@example.org", three, &r), 3);
	}
	ck_assert_int_eq(evalsha_calls() - before, 5 * 3);
}
END_TEST

/* deciding at end of message: the greylist checks of every recipient and
 * the message limits in one round trip per message */
START_TEST(one_round_trip_at_eom)
{
	static const char *const three[] = { "a@example.com", "b@example.com",
	    "c@example.com", NULL };
	struct res	 r;
	uint32_t	 proto;
	char		 ip[32];
	long		 before;
	int		 i;

	use_backend(1);
	start_text(0, "delay-reject eom\n"
	    "plugin greylist {\n\tdelay 5m\n\tdecide-at eom\n}\n"
	    "plugin ratelimit {\n\tdecide-messages-at eom\n"
	    "\tlimit client-ip 1000/1m\n}\n");
	/* load the scripts (SCRIPT LOAD, then EVALSHA) */
	(void)whole_message_to("198.51.100.1", "x@example.org", three, &proto);
	ck_assert(proto & SMFIP_NR_RCPT);
	before = evalsha_calls();
	for (i = 0; i < 5; i++) {
		snprintf(ip, sizeof(ip), "192.0.2.%d", i + 1);
		r = whole_message_to(ip, "s@example.org", three, &proto);
		ck_assert_int_eq(r.a, MC_TEMPFAIL);
		ck_assert_ptr_nonnull(strstr(r.text, "reylist"));
	}
	ck_assert_int_eq(evalsha_calls() - before, 5);
	clock_at(600);
	before = evalsha_calls();
	for (i = 0; i < 5; i++) {
		snprintf(ip, sizeof(ip), "192.0.2.%d", i + 1);
		OK(whole_message_to(ip, "s@example.org", three, &proto),
		    "retry");
	}
	ck_assert_int_eq(evalsha_calls() - before, 5);
}
END_TEST

static Suite *
ratelimit_suite(void)
{
	Suite	*s = suite_create("ratelimit-milter");
	TCase	*tc;

	tc = tcase_create("backends");
	tcase_set_timeout(tc, 120);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, key_client_ip, 0, nbackends);
	tcase_add_loop_test(tc, key_client_net, 0, nbackends);
	tcase_add_loop_test(tc, key_connections, 0, nbackends);
	tcase_add_loop_test(tc, key_sender, 0, nbackends);
	tcase_add_loop_test(tc, key_auth_user, 0, nbackends);
	tcase_add_loop_test(tc, key_recipient, 0, nbackends);
	tcase_add_loop_test(tc, key_helo, 0, nbackends);
	tcase_add_loop_test(tc, burst, 0, nbackends);
	tcase_add_loop_test(tc, several_limits, 0, nbackends);
	tcase_add_loop_test(tc, keys_past_the_batch, 0, nbackends);
	tcase_add_loop_test(tc, all_or_nothing, 0, nbackends);
	tcase_add_loop_test(tc, reject_wins, 0, nbackends);
	tcase_add_loop_test(tc, rules, 0, nbackends);
	tcase_add_loop_test(tc, rules_connect, 0, nbackends);
	tcase_add_loop_test(tc, concurrency, 0, nbackends);
	tcase_add_loop_test(tc, messages_at_rcpt, 0, nbackends);
	tcase_add_loop_test(tc, role_accounts, 0, nbackends);
	tcase_add_loop_test(tc, messages_at_eom, 0, nbackends);
	tcase_add_loop_test(tc, role_accounts_eom, 0, nbackends);
	suite_add_tcase(s, tc);

	if (nbackends == NBACKENDS) {
		tc = tcase_create("redis");
		tcase_set_timeout(tc, 120);
		tcase_add_checked_fixture(tc, setup, teardown);
		tcase_add_test(tc, store_failure);
		tcase_add_test(tc, redis_ttl);
		tcase_add_test(tc, shared_redis);
		tcase_add_test(tc, one_round_trip_per_rcpt);
		tcase_add_test(tc, one_round_trip_at_eom);
		suite_add_tcase(s, tc);
	}
	return s;
}

int
main(void)
{
	SRunner		*sr;
	int		 failed;

	th_require("FILTERD", NULL);
	nbackends = fd_test_redis_backends(NBACKENDS);
	sr = srunner_create(ratelimit_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
