/*
 * check_greylist_milter.c -- the greylist plugin in a running filterd
 *
 * filterd runs with the plugin on a loopback port and a clock file
 * (`filterd -f -T FILE`); the project's milter client plays Postfix:
 * CONNECT (with {client_resolve} when a test wants a verified name),
 * HELO, MAIL, RCPT..., and, when a recipient was accepted, DATA, a
 * header, the body and end of message. Time moves only when a test
 * writes the clock file, so every "retry in N seconds" is exact and no
 * test sleeps.
 *
 * Every behavioural test runs twice: on the embedded store (LMDB in the
 * test's directory) and on a private redis-server. The Redis-only tests
 * cover the store going away (on-store-error) and two filterd processes
 * sharing one redis-server: a triplet greylisted through the first
 * passes through the second after the delay.
 */
#include "config.h"

#include <sys/wait.h>

#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libmilter/mfdef.h>

#include "mclient.h"
#include "proc.h"
#include "redis.h"

#define T0		1700000000LL	/* Tue, 14 Nov 2023 22:13:20 +0000 */
#define NBACKENDS	2		/* 0: lmdb, 1: redis */
#define MAXRCPT		8

static const char *backend_names[NBACKENDS] = { "lmdb", "redis" };
static int	 nbackends = NBACKENDS;	/* 1 when Redis may be skipped */

struct daemon {
	char		*conf;
	char		 spec[64];
	struct th_proc	*p;
};

static struct {
	char			*dir;
	char			*clock;
	int			 backend;
	const char		*store_opts;	/* after the Redis URL */
	struct fd_test_redis	*redis;
	struct daemon		 d[2];
} E;

/* the client side of one connection */
struct client {
	const char	*ip;
	const char	*name;		/* {client_name}; NULL: "[ip]" */
	int		 verified;	/* {client_resolve} OK, else FAIL */
	const char	*auth;		/* {auth_authen}, or NULL */
};

/* what one message met */
struct outcome {
	size_t		 nrcpt;
	enum mc_action	 rcpt[MAXRCPT];
	char		 rcode[MAXRCPT][4];
	char		 xcode[MAXRCPT][16];
	char		 text[MAXRCPT][256];
	int		 data;		/* 1 if DATA..EOM was sent */
	enum mc_action	 eom;
	char		 eom_rcode[4];
	char		 eom_xcode[16];
	char		 eom_text[256];
	int		 nhdr;		/* X-Greylist headers added */
	char		 hdr[512];
};

static void
setup(void)
{
	memset(&E, 0, sizeof(E));
	E.dir = th_tmpdir_new();
	ck_assert_ptr_nonnull(E.dir);
	E.clock = th_path(E.dir, "clock");
	ck_assert_int_eq(th_clock_write(E.clock, T0), 0);
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

/* log_line - the first line of filterd i's log holding needle; owned,
 * NULL if there is none */
static char *
log_line(int i, const char *needle)
{
	char	*log = th_log_read(E.d[i].p), *hit, *start, *line = NULL;

	if (log != NULL && (hit = strstr(log, needle)) != NULL) {
		for (start = hit; start > log && start[-1] != '\n'; start--)
			;
		line = strndup(start, strcspn(start, "\n"));
	}
	free(log);
	return line;
}

/* use_backend - run on backend b, starting Redis for b == 1 */
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

/* at - filterd's clock to T0 + secs */
static void
at(int64_t secs)
{
	ck_assert_int_eq(th_clock_write(E.clock, T0 + secs), 0);
}

/* start_n - filterd i with the greylist block and optional rules */
static void
start_n(int i, const char *block, const char *rules)
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
		snprintf(store, sizeof(store), "store lmdb \"%s/state\"", E.dir);
	else
		snprintf(store, sizeof(store), "store redis \"%s\" %s",
		    fd_test_redis_url(E.redis),
		    E.store_opts != NULL ? E.store_opts : "");
	ck_assert_int_eq(th_write_file(d->conf,
	    "socket \"inet:%d@127.0.0.1\"\n"
	    "log stderr\n"
	    "log-level info\n"
	    "%s\n"
	    "plugin-dir \"%s\"\n"
	    "plugin greylist {\n%s\n}\n"
	    "%s\n", port, store, th_plugin_dir(), block, rules ? rules : ""),
	    0);
	d->p = th_filterd_start(E.dir, d->conf, E.clock, d->spec, err,
	    sizeof(err));
	ck_assert_msg(d->p != NULL, "filterd (%s): %s",
	    backend_names[E.backend], err);
}

static void
start(const char *block, const char *rules)
{
	start_n(0, block, rules);
}

/* passed - the filter let the step through */
static int
passed(enum mc_action a)
{
	return a == MC_CONTINUE || a == MC_NOREPLY || a == MC_SKIPPED;
}

/* copy_reply - the last reply's codes and text */
static void
copy_reply(struct mc_conn *mc, char *rc, char *xc, char *text)
{
	const struct mc_reply	*r = mc_last(mc);

	snprintf(rc, 4, "%s", r->rcode);
	snprintf(xc, 16, "%s", r->xcode);
	snprintf(text, 256, "%s", r->text);
}

/* content - DATA, a header, the body, EOM; X-Greylist into o */
static void
content(struct mc_conn *mc, const char *body, struct outcome *o)
{
	const struct mc_reply	*r;
	size_t			 i;

	o->data = 1;
	ck_assert(passed(mc_data(mc)));
	ck_assert(passed(mc_header(mc, "Subject", "greylist test")));
	ck_assert(passed(mc_eoh(mc)));
	ck_assert(passed(mc_body(mc, body, strlen(body))));
	o->eom = mc_eom(mc);
	copy_reply(mc, o->eom_rcode, o->eom_xcode, o->eom_text);
	r = mc_last(mc);
	for (i = 0; i < r->nmods; i++) {
		if (r->mods[i].type != SMFIR_ADDHEADER ||
		    strcmp(r->mods[i].name, "X-Greylist") != 0)
			continue;
		o->nhdr++;
		snprintf(o->hdr, sizeof(o->hdr), "%s", r->mods[i].value);
	}
}

/*
 * deliver_n - one connection to filterd i with one message: every
 * recipient is tried (a refused one does not stop the others, as with
 * Postfix), and the content is sent if one was accepted
 */
static struct outcome
deliver_n(int i, const struct client *cl, const char *sender,
    const char *const *rcpts, const char *body)
{
	struct outcome	 o;
	struct mc_conn	*mc;
	char		 err[256], addr[600], host[128];
	int		 any = 0;

	memset(&o, 0, sizeof(o));
	o.eom = MC_SKIPPED;
	mc = mc_connect(E.d[i].spec, 10000, err, sizeof(err));
	ck_assert_msg(mc != NULL, "connect: %s", err);
	ck_assert_int_eq(mc_negotiate(mc, 0, 0), 0);
	mc_macro(mc, "{client_resolve}", cl->verified ? "OK" : "FAIL");
	snprintf(host, sizeof(host), "[%s]", cl->ip);
	ck_assert(passed(mc_connect_cmd(mc, cl->name != NULL ? cl->name : host,
	    cl->ip, 25000)));
	ck_assert(passed(mc_helo(mc, "helo.example")));
	mc_macro(mc, "{auth_authen}", cl->auth);
	mc_macro(mc, "{auth_type}", cl->auth != NULL ? "PLAIN" : NULL);
	snprintf(addr, sizeof(addr), "<%s>", sender);
	ck_assert(passed(mc_mail(mc, addr, NULL)));
	for (; *rcpts != NULL && o.nrcpt < MAXRCPT; rcpts++, o.nrcpt++) {
		snprintf(addr, sizeof(addr), "<%s>", *rcpts);
		o.rcpt[o.nrcpt] = mc_rcpt(mc, addr, NULL);
		copy_reply(mc, o.rcode[o.nrcpt], o.xcode[o.nrcpt],
		    o.text[o.nrcpt]);
		any |= passed(o.rcpt[o.nrcpt]);
	}
	if (any)
		content(mc, body != NULL ? body : "Hello.\r\n", &o);
	else
		ck_assert_int_eq(mc_abort(mc), 0);
	mc_quit(mc);
	mc_free(mc);
	return o;
}

/* the client most tests use: an unverified name */
static struct outcome
deliver(const char *ip, const char *sender, const char *const *rcpts)
{
	struct client	 cl = { ip, NULL, 0, NULL };

	return deliver_n(0, &cl, sender, rcpts, NULL);
}

/* one_to - deliver to a single recipient */
static struct outcome
one_to(const char *ip, const char *sender, const char *rcpt)
{
	const char	*rcpts[2] = { rcpt, NULL };

	return deliver(ip, sender, rcpts);
}

#define BK	backend_names[E.backend]

/* GREYLISTED - recipient k deferred with exactly this wait */
#define GREYLISTED(o, k, secs) do {					\
	char _t[128];							\
	snprintf(_t, sizeof(_t), "Greylisted, retry in %d seconds",	\
	    (int)(secs));						\
	ck_assert_msg((o).rcpt[k] == MC_TEMPFAIL, "%s: rcpt %d: %s, "	\
	    "want tempfail", BK, (int)(k), mc_action_name((o).rcpt[k]));\
	ck_assert_str_eq((o).rcode[k], "451");				\
	ck_assert_str_eq((o).xcode[k], "4.7.1");			\
	ck_assert_str_eq((o).text[k], _t);				\
} while (0)

/* ACCEPTED - recipient k passed, and the whole message too */
#define ACCEPTED(o, k) do {						\
	ck_assert_msg(passed((o).rcpt[k]), "%s: rcpt %d: %s %s %s %s",	\
	    BK, (int)(k), mc_action_name((o).rcpt[k]), (o).rcode[k],	\
	    (o).xcode[k], (o).text[k]);					\
	ck_assert_msg((o).data && passed((o).eom), "%s: eom %s %s %s %s",\
	    BK, mc_action_name((o).eom), (o).eom_rcode, (o).eom_xcode,	\
	    (o).eom_text);						\
} while (0)

/* EOM_GREYLISTED - the whole message deferred at end of message */
#define EOM_GREYLISTED(o, secs) do {					\
	char _t[128];							\
	snprintf(_t, sizeof(_t), "Greylisted, retry in %d seconds",	\
	    (int)(secs));						\
	ck_assert_msg((o).eom == MC_TEMPFAIL, "%s: eom %s, want "	\
	    "tempfail", BK, mc_action_name((o).eom));			\
	ck_assert_str_eq((o).eom_rcode, "451");				\
	ck_assert_str_eq((o).eom_xcode, "4.7.1");			\
	ck_assert_str_eq((o).eom_text, _t);				\
	ck_assert_int_eq((o).nhdr, 0);					\
} while (0)

/* HEADER - one X-Greylist header naming the delay, at time T0 + t */
#define HEADER(o, delayed, date) do {					\
	char _h[256];							\
	snprintf(_h, sizeof(_h), "delayed %d seconds by filterd-greylist "\
	    "at mx.mclient.test; %s", (int)(delayed), date);		\
	ck_assert_msg((o).nhdr == 1, "%s: %d X-Greylist headers", BK,	\
	    (o).nhdr);							\
	ck_assert_str_eq((o).hdr, _h);					\
} while (0)

#define MSG	"message \"Greylisted, retry in %d seconds\"\n"
#define ONLY	MSG "auto-whitelist off\n"

/*
 * Transitions
 */

/* first sight, early retries, pass with header, kept, forgotten */
START_TEST(transitions)
{
	struct outcome	 o;
	char		*line;

	use_backend(_i);
	start(ONLY "delay 5m\nretry-window 1h\nwhitelist-for 1d", NULL);
	o = one_to("192.0.2.10", "alice@src.example", "bob@dest.example");
	GREYLISTED(o, 0, 300);
	ck_assert_int_eq(o.data, 0);
	ck_assert_int_eq(th_log_wait(E.d[0].p, 0, "stage=rcpt "
	    "decider=greylist action=tempfail reply=\"451 4.7.1 Greylisted, "
	    "retry in 300 seconds\" from=<alice@src.example> "
	    "rcpt=<bob@dest.example> reason=\"greylisted (new), client "
	    "net:192.0.2.0/24, retry in 300s\"", 5000), 0);
	/* early: deferred again, the wait counted from the first sight */
	at(120);
	o = one_to("192.0.2.10", "alice@src.example", "bob@dest.example");
	GREYLISTED(o, 0, 180);
	at(299);
	o = one_to("192.0.2.10", "alice@src.example", "bob@dest.example");
	GREYLISTED(o, 0, 1);
	/* after the delay, from another address of the /24: passes */
	at(300);
	o = one_to("192.0.2.77", "alice@src.example", "bob@dest.example");
	ACCEPTED(o, 0);
	HEADER(o, 300, "Tue, 14 Nov 2023 22:18:20 +0000");
	ck_assert_int_eq(th_log_wait(E.d[0].p, 0, "plugin greylist: triplet "
	    "passed after 300s: client net:192.0.2.0/24 from "
	    "<alice@src.example> to <bob@dest.example>", 5000), 0);
	/* led by its connection's fields, the fourth connection's */
	line = log_line(0, "triplet passed after");
	ck_assert_msg(strstr(line, "info: conn=4 qid=") != NULL &&
	    strstr(line, " client=unknown[192.0.2.77] plugin greylist: "
	    "triplet passed") != NULL, "%s", line);
	free(line);
	/* passed: later messages go through without a header */
	at(400);
	o = one_to("192.0.2.10", "alice@src.example", "bob@dest.example");
	ACCEPTED(o, 0);
	ck_assert_int_eq(o.nhdr, 0);
	/* kept whitelist-for (1d) after the last pass, refreshed by it */
	at(400 + 86399);
	o = one_to("192.0.2.10", "alice@src.example", "bob@dest.example");
	ACCEPTED(o, 0);
	at(400 + 86399 + 86400);
	o = one_to("192.0.2.10", "alice@src.example", "bob@dest.example");
	GREYLISTED(o, 0, 300);
}
END_TEST

/* an unconfirmed entry lives retry-window, then counts as new */
START_TEST(retry_window)
{
	struct outcome	 o;

	use_backend(_i);
	start(ONLY "delay 5m\nretry-window 1h", NULL);
	o = one_to("192.0.2.10", "alice@src.example", "carol@dest.example");
	GREYLISTED(o, 0, 300);
	at(3599);
	o = one_to("192.0.2.10", "alice@src.example", "dave@dest.example");
	GREYLISTED(o, 0, 300);
	/* expired at 3600: new again, the delay from now */
	at(3600);
	o = one_to("192.0.2.10", "alice@src.example", "carol@dest.example");
	GREYLISTED(o, 0, 300);
	at(3600 + 299);
	o = one_to("192.0.2.10", "alice@src.example", "carol@dest.example");
	GREYLISTED(o, 0, 1);
	at(3900);
	o = one_to("192.0.2.10", "alice@src.example", "carol@dest.example");
	ACCEPTED(o, 0);
	HEADER(o, 300, "Tue, 14 Nov 2023 23:18:20 +0000");
	/* dave's entry, made at 3599, still waits for its retry */
	o = one_to("192.0.2.10", "alice@src.example", "dave@dest.example");
	ACCEPTED(o, 0);
	HEADER(o, 301, "Tue, 14 Nov 2023 23:18:20 +0000");
}
END_TEST

/* at RCPT, several recipients: only the new ones are deferred */
START_TEST(rcpt_partial)
{
	static const char *const ab[] = { "a@dest.example", "b@dest.example",
	    NULL };
	struct outcome	 o;

	use_backend(_i);
	start(ONLY, NULL);
	o = one_to("192.0.2.10", "s@src.example", "a@dest.example");
	GREYLISTED(o, 0, 300);
	at(300);
	o = deliver("192.0.2.10", "s@src.example", ab);
	ACCEPTED(o, 0);
	GREYLISTED(o, 1, 300);
	HEADER(o, 300, "Tue, 14 Nov 2023 22:18:20 +0000");
}
END_TEST

/* decide-at eom: all recipients at once, never partial acceptance */
START_TEST(eom_mode)
{
	static const char *const ab[] = { "a@dest.example", "b@dest.example",
	    NULL };
	static const char *const abc[] = { "a@dest.example", "b@dest.example",
	    "c@dest.example", NULL };
	struct outcome	 o;

	use_backend(_i);
	start(ONLY "decide-at eom", NULL);
	o = deliver("192.0.2.10", "s@src.example", ab);
	/* nothing answers at RCPT: the MTA does not wait there */
	ck_assert_int_eq(o.rcpt[0], MC_NOREPLY);
	ck_assert_int_eq(o.rcpt[1], MC_NOREPLY);
	EOM_GREYLISTED(o, 300);
	ck_assert_int_eq(th_log_wait(E.d[0].p, 0, "stage=eom decider=greylist "
	    "action=tempfail reply=\"451 4.7.1 Greylisted, retry in 300 "
	    "seconds\"", 5000), 0);
	ck_assert(th_log_has(E.d[0].p, "reason=\"greylisted (new message), "
	    "client net:192.0.2.0/24, retry in 300s\""));
	/* the retry adds c: a and b pass, c is new, so all wait */
	at(300);
	o = deliver("192.0.2.10", "s@src.example", abc);
	EOM_GREYLISTED(o, 300);
	ck_assert(th_log_has(E.d[0].p, "reason=\"greylisted (new recipients "
	    "of the message), client net:192.0.2.0/24, retry in 300s\""));
	at(600);
	o = deliver("192.0.2.10", "s@src.example", abc);
	ACCEPTED(o, 2);
	HEADER(o, 300, "Tue, 14 Nov 2023 22:23:20 +0000");
}
END_TEST

/* decide-at eom with an exempt first recipient: the others' triplets
 * decide, the kept plan request being the second recipient's */
START_TEST(eom_mode_exempt_first)
{
	static const char *const pb[] = { "postmaster@dest.example",
	    "b@dest.example", NULL };
	static const char *const p[] = { "postmaster@dest.example", NULL };
	struct outcome	 o;

	use_backend(_i);
	start(ONLY "decide-at eom\n"
	    "whitelist-recipients postmaster@dest.example", NULL);
	o = deliver("192.0.2.10", "s@src.example", p);
	ACCEPTED(o, 0);
	o = deliver("192.0.2.10", "s@src.example", pb);
	EOM_GREYLISTED(o, 300);
	at(299);
	o = deliver("192.0.2.10", "s@src.example", pb);
	EOM_GREYLISTED(o, 1);
	at(300);
	o = deliver("192.0.2.10", "s@src.example", pb);
	ACCEPTED(o, 1);
}
END_TEST

/* logged - some line of daemon 0's log holds needle */
static int
logged(const char *needle)
{
	char	*line = log_line(0, needle);
	int	 found = line != NULL;

	free(line);
	return found;
}

/*
 * decide-at eom, and bounces under null-sender eom (the default): a
 * rule's skip at RCPT leaves that recipient out of the decision, as
 * whitelist-recipients does, and no triplet is recorded for it. It used
 * to count, so default.rules' role-accounts rule had every bounce to
 * postmaster@ greylisted, after a line saying the skip applied.
 */
START_TEST(eom_mode_rcpt_skip)
{
	static const char *const p[] = { "postmaster@dest.example", NULL };
	static const char *const pb[] = { "postmaster@dest.example",
	    "b@dest.example", NULL };
	static const char *const rule =
	    "rule pm on rcpt if rcpt-local in { postmaster, abuse } "
	    "skip greylist\n";
	struct outcome	 o;

	use_backend(_i);
	start(ONLY "decide-at eom", rule);
	o = deliver("192.0.2.10", "s@src.example", p);
	ACCEPTED(o, 0);
	ck_assert_int_eq(o.nhdr, 0);
	/* beside another recipient: b@ is new, the message waits */
	o = deliver("192.0.2.10", "s@src.example", pb);
	EOM_GREYLISTED(o, 300);
	at(300);
	o = deliver("192.0.2.10", "s@src.example", pb);
	ACCEPTED(o, 1);
	HEADER(o, 300, "Tue, 14 Nov 2023 22:18:20 +0000");
	/* only b@'s triplet was recorded, and passed */
	ck_assert(logged("passed after 300s: client net:192.0.2.0/24 from "
	    "<s@src.example> to <b@dest.example>"));
	ck_assert(!logged("to <postmaster@dest.example>"));

	/* deciding at RCPT, a bounce is decided at end of message */
	E.d[0].p = th_proc_free(E.d[0].p);
	start(ONLY, rule);
	o = deliver("192.0.2.20", "", p);
	ACCEPTED(o, 0);
	ck_assert_int_eq(o.nhdr, 0);
	o = deliver("192.0.2.20", "", pb);
	ck_assert(passed(o.rcpt[0]) && passed(o.rcpt[1]));
	EOM_GREYLISTED(o, 300);
	at(600);
	o = deliver("192.0.2.20", "", pb);
	ACCEPTED(o, 1);
	ck_assert(logged("from <> to <b@dest.example>"));
	ck_assert(!logged("to <postmaster@dest.example>"));
}
END_TEST

/* dry-run yes: what greylisting would defer goes through, and the
 * retry gets no X-Greylist header, since nothing was delayed; the line
 * says what would have been added. The header used to be added. */
START_TEST(dry_run_no_header)
{
	struct outcome	 o;

	use_backend(_i);
	start(ONLY, "dry-run yes\n");
	o = one_to("192.0.2.10", "s@src.example", "a@dest.example");
	ACCEPTED(o, 0);
	ck_assert(logged("decider=greylist action=would-tempfail"));
	at(300);
	o = one_to("192.0.2.10", "s@src.example", "a@dest.example");
	ACCEPTED(o, 0);
	ck_assert_int_eq(o.nhdr, 0);
	ck_assert(logged("dry-run: would add header X-Greylist: delayed 300 "
	    "seconds by filterd-greylist at mx.mclient.test; Tue, 14 Nov "
	    "2023 22:18:20 +0000"));
}
END_TEST

/* decide-at eom, and a rule asks for rcpt for one sender: the MTA does
 * not wait at RCPT, so the deferral is held and given at end of message */
START_TEST(eom_mode_rcpt_override)
{
	static const char *const ab[] = { "a@dest.example", "b@dest.example",
	    NULL };
	struct outcome	 o;

	use_backend(_i);
	start(ONLY "decide-at eom",
	    "rule eager on mail if sender-domain == eager.example "
	    "set greylist.decide-at rcpt\n");
	o = deliver("192.0.2.10", "s@eager.example", ab);
	ck_assert_int_eq(o.rcpt[0], MC_NOREPLY);
	ck_assert_int_eq(o.rcpt[1], MC_NOREPLY);
	EOM_GREYLISTED(o, 300);
	ck_assert_int_eq(th_log_wait(E.d[0].p, 0, "stage=rcpt "
	    "decider=greylist action=tempfail", 5000), 0);
	at(300);
	o = one_to("192.0.2.10", "s@eager.example", "a@dest.example");
	ACCEPTED(o, 0);
}
END_TEST

/* open_session - a connection up to HELO from ip */
static struct mc_conn *
open_session(const char *ip)
{
	struct mc_conn	*mc;
	char		 err[256], host[64];

	mc = mc_connect(E.d[0].spec, 10000, err, sizeof(err));
	ck_assert_msg(mc != NULL, "connect: %s", err);
	ck_assert_int_eq(mc_negotiate(mc, 0, 0), 0);
	snprintf(host, sizeof(host), "[%s]", ip);
	ck_assert(passed(mc_connect_cmd(mc, host, ip, 25000)));
	ck_assert(passed(mc_helo(mc, "helo.example")));
	return mc;
}

/* outside_reply - the reply to a message command with no message open */
static void
outside_reply(enum mc_action a, struct mc_conn *mc)
{
	const struct mc_reply	*r = mc_last(mc);

	ck_assert_msg(a == MC_TEMPFAIL, "%s: %s", mc_action_name(a),
	    mc_error(mc));
	ck_assert_str_eq(r->rcode, "451");
	ck_assert_str_eq(r->xcode, "4.5.0");
	ck_assert_str_eq(r->text, "Command out of sequence, try again later");
}

/* count_lines - the lines of filterd 0's log holding needle */
static int
count_lines(const char *needle)
{
	char	*log = th_log_read(E.d[0].p), *p;
	int	 n = 0;

	for (p = log; p != NULL && (p = strstr(p, needle)) != NULL; p++)
		n++;
	free(log);
	return n;
}

/*
 * A message command with no message open, which libmilter passes on
 * after an UNKNOWN command and after a discard at RCPT (no MTA sends
 * one), is answered 451 4.5.0 and logged once per connection; nothing
 * decides on it (the greylist plugin's message slot does not exist),
 * and filterd goes on serving.
 */
START_TEST(outside_message)
{
	static const char rcpt[] = "<b@dest.example>";
	struct outcome	 o;
	struct mc_conn	*mc;

	use_backend(_i);
	start(ONLY "delay 5m",
	    "rule drop on rcpt if rcpt == discard@dest.example discard\n");
	mc = open_session("192.0.2.10");
	ck_assert_int_eq(mc_raw(mc, SMFIC_UNKNOWN, "XFOO bar", 9,
	    SMFIP_NR_UNKN), MC_NOREPLY);
	outside_reply(mc_raw(mc, SMFIC_RCPT, rcpt, sizeof(rcpt),
	    SMFIP_NR_RCPT), mc);
	outside_reply(mc_raw(mc, SMFIC_BODYEOB, "", 0, 0), mc);
	mc_quit(mc);
	mc_free(mc);

	mc = open_session("192.0.2.11");
	ck_assert(passed(mc_mail(mc, "<s@src.example>", NULL)));
	ck_assert_int_eq(mc_rcpt(mc, "<discard@dest.example>", NULL),
	    MC_DISCARD);
	outside_reply(mc_raw(mc, SMFIC_RCPT, rcpt, sizeof(rcpt),
	    SMFIP_NR_RCPT), mc);
	outside_reply(mc_raw(mc, SMFIC_BODYEOB, "", 0, 0), mc);
	mc_quit(mc);
	mc_free(mc);

	ck_assert_int_eq(count_lines("stage=rcpt: the MTA sent a message "
	    "command with no message open; answered tempfail"), 2);
	o = one_to("192.0.2.12", "s@src.example", "a@dest.example");
	GREYLISTED(o, 0, 300);
}
END_TEST

/* a deferral held from a RCPT the MTA did not wait for belongs to its
 * message: the next message on the connection is decided afresh, whether
 * the first ended at end of message (delay-reject eom: the hold is never
 * given up by the stage that answers) or was aborted (without
 * delay-reject) */
START_TEST(held_deferral_ends_with_message)
{
	static const char *const rules =
	    "rule eager on mail if sender-domain == eager.example "
	    "set greylist.decide-at rcpt\n"
	    "rule vip on mail if sender-domain == ok.example accept\n";
	struct outcome	 o;
	struct mc_conn	*mc;
	char		 conf[512];

	use_backend(_i);
	snprintf(conf, sizeof(conf), "delay-reject eom\n%s", rules);
	start(ONLY "decide-at eom", conf);
	mc = open_session("192.0.2.10");
	ck_assert(passed(mc_mail(mc, "<s@eager.example>", NULL)));
	ck_assert_int_eq(mc_rcpt(mc, "<a@dest.example>", NULL), MC_NOREPLY);
	memset(&o, 0, sizeof(o));
	content(mc, "Hello.\r\n", &o);
	ck_assert_int_eq(o.eom, MC_TEMPFAIL);
	ck_assert(passed(mc_mail(mc, "<v@ok.example>", NULL)));
	ck_assert(passed(mc_rcpt(mc, "<a@dest.example>", NULL)));
	memset(&o, 0, sizeof(o));
	content(mc, "Hello.\r\n", &o);
	ck_assert_int_eq(o.eom, MC_ACCEPT);
	mc_quit(mc);
	mc_free(mc);

	E.d[0].p = th_proc_free(E.d[0].p);
	start(ONLY "decide-at eom", rules);
	mc = open_session("192.0.2.11");
	ck_assert(passed(mc_mail(mc, "<s@eager.example>", NULL)));
	ck_assert_int_eq(mc_rcpt(mc, "<a@dest.example>", NULL), MC_NOREPLY);
	ck_assert_int_eq(mc_abort(mc), 0);
	ck_assert_int_eq(mc_mail(mc, "<v@ok.example>", NULL), MC_ACCEPT);
	mc_quit(mc);
	mc_free(mc);
}
END_TEST

/* body-hash: the same message retried from another network passes */
START_TEST(body_hash)
{
	static const char *const a[] = { "a@dest.example", NULL };
	static const char *body = "Your code is 4711.\r\nRegards\r\n";
	struct client	 c1 = { "192.0.2.10", NULL, 0, NULL };
	struct client	 c2 = { "203.0.113.7", NULL, 0, NULL };
	struct client	 c3 = { "198.51.100.7", NULL, 0, NULL };
	struct outcome	 o;

	use_backend(_i);
	start(ONLY "decide-at eom\nbody-hash on 4k", NULL);
	o = deliver_n(0, &c1, "s@src.example", a, body);
	EOM_GREYLISTED(o, 300);
	/* from another network, early: the body key's wait counts */
	at(100);
	o = deliver_n(0, &c2, "s@src.example", a, body);
	EOM_GREYLISTED(o, 200);
	at(300);
	o = deliver_n(0, &c3, "s@src.example", a, body);
	ACCEPTED(o, 0);
	HEADER(o, 300, "Tue, 14 Nov 2023 22:18:20 +0000");
	ck_assert(th_log_has(E.d[0].p, "plugin greylist: body passed after "
	    "300s: client net:198.51.100.0/24 from <s@src.example> to all "
	    "recipients"));
	/* another body from a new network waits */
	c3.ip = "100.64.1.1";
	o = deliver_n(0, &c3, "s@src.example", a, "Other text.\r\n");
	EOM_GREYLISTED(o, 300);
}
END_TEST

/* a rule's overrides: delay, decide-at, header, message */
START_TEST(rule_overrides)
{
	static const char *const ab[] = { "a@dest.example", "b@dest.example",
	    NULL };
	struct outcome	 o;

	use_backend(_i);
	start(ONLY,
	    "rule quick on mail if sender-domain == quick.example "
	    "set greylist.delay 1m\n"
	    "rule bulk on mail if sender-domain == bulk.example "
	    "set greylist.decide-at eom\n"
	    "rule quiet on mail if sender-domain == quiet.example "
	    "set greylist.header off\n"
	    "rule polite on mail if sender-domain == polite.example "
	    "set greylist.message \"Please come back in %m minutes\"\n"
	    "rule never on rcpt if rcpt == vip@dest.example skip greylist\n");
	o = one_to("192.0.2.10", "s@quick.example", "a@dest.example");
	GREYLISTED(o, 0, 60);
	at(60);
	o = one_to("192.0.2.10", "s@quick.example", "a@dest.example");
	ACCEPTED(o, 0);
	HEADER(o, 60, "Tue, 14 Nov 2023 22:14:20 +0000");
	o = deliver("192.0.2.10", "s@bulk.example", ab);
	ck_assert(passed(o.rcpt[0]) && passed(o.rcpt[1]));
	EOM_GREYLISTED(o, 300);
	o = one_to("192.0.2.10", "s@quiet.example", "a@dest.example");
	GREYLISTED(o, 0, 300);
	o = one_to("192.0.2.10", "s@polite.example", "a@dest.example");
	ck_assert_int_eq(o.rcpt[0], MC_TEMPFAIL);
	ck_assert_str_eq(o.text[0], "Please come back in 5 minutes");
	at(360);
	o = one_to("192.0.2.10", "s@quiet.example", "a@dest.example");
	ACCEPTED(o, 0);
	ck_assert_int_eq(o.nhdr, 0);
	o = one_to("192.0.2.10", "s@any.example", "vip@dest.example");
	ACCEPTED(o, 0);
	ck_assert_int_eq(o.nhdr, 0);
}
END_TEST

/* header off; and the null sender is decided at EOM by default */
START_TEST(null_sender)
{
	static const char *const ab[] = { "a@dest.example", "b@dest.example",
	    NULL };
	struct outcome	 o;

	use_backend(_i);
	start(ONLY "header off", NULL);
	o = deliver("192.0.2.10", "", ab);
	ck_assert(passed(o.rcpt[0]) && passed(o.rcpt[1]));
	EOM_GREYLISTED(o, 300);
	at(300);
	o = deliver("192.0.2.10", "", ab);
	ACCEPTED(o, 0);
	ck_assert_int_eq(o.nhdr, 0);
}
END_TEST

/*
 * Normalization: the first attempt uses one form of the sender, the
 * retry another; the retry passes because both normalize to one key
 */

struct norm_case {
	const char	*first;
	const char	*retry;
	const char	*rcpt;
};

static const struct norm_case norm_cases[] = {
	{ "Alice@SRC.Example", "Alice@src.example", "r1@dest.example" },
	{ "alice@src.example.", "alice@src.example", "r2@dest.example" },
	{ "prvs=1234abcdef=alice@src.example",
	    "prvs=5678fedcba=alice@src.example", "r3@dest.example" },
	{ "prvs=alice=1234abcdef@src.example",
	    "alice@src.example", "r4@dest.example" },
	{ "msprvs1=abcDEF=alice@src.example",
	    "msprvs1=XYZ123=alice@src.example", "r5@dest.example" },
	{ "btv1==abc==alice@src.example",
	    "btv1==def==alice@src.example", "r6@dest.example" },
	{ "SRS0=HHHH=TT=src.example=alice@fwd.example",
	    "alice@src.example", "r7@dest.example" },
	{ "SRS0=HHHH=TT=src.example=alice@fwd.example",
	    "SRS1=GGGG=fwd.example==JJJJ=UU=src.example=alice@fwd2.example",
	    "r8@dest.example" },
	{ "alice+news@src.example", "alice+promo@src.example",
	    "r9@dest.example" },
	{ "list-return-123-r10=dest.example@lists.example",
	    "list-return-456-r10=dest.example@lists.example",
	    "r10@dest.example" },
	{ "owner-list+r11=dest.example@lists.example",
	    "owner-list@lists.example", "r11@dest.example" },
	{ "bounce-8812-3341@mailer.example", "bounce-9999-1@mailer.example",
	    "r12@dest.example" },
	{ "0100018bcdef1234-aa11bb22-000000@amazonses.example",
	    "0100018bfedc4321-cc33dd44-000000@amazonses.example",
	    "r13@dest.example" },
};

START_TEST(normalization)
{
	struct outcome	 o;
	size_t		 i, n = sizeof(norm_cases) / sizeof(norm_cases[0]);

	use_backend(_i);
	start(ONLY, NULL);
	for (i = 0; i < n; i++) {
		o = one_to("192.0.2.10", norm_cases[i].first, norm_cases[i].rcpt);
		GREYLISTED(o, 0, 300);
	}
	at(300);
	for (i = 0; i < n; i++) {
		o = one_to("192.0.2.10", norm_cases[i].retry, norm_cases[i].rcpt);
		ck_assert_msg(passed(o.rcpt[0]), "%s: %s then %s: %s %s", BK,
		    norm_cases[i].first, norm_cases[i].retry,
		    mc_action_name(o.rcpt[0]), o.text[0]);
		HEADER(o, 300, "Tue, 14 Nov 2023 22:18:20 +0000");
	}
	/* and a different sender is a different triplet */
	o = one_to("192.0.2.10", "mallory@src.example", "r1@dest.example");
	GREYLISTED(o, 0, 300);
	/* with normalize none, a fresh BATV tag is a new triplet */
	E.d[0].p = th_proc_free(E.d[0].p);
	start(ONLY "normalize none", NULL);
	o = one_to("192.0.2.10", "prvs=1111aaaaaa=zed@src.example",
	    "r1@dest.example");
	GREYLISTED(o, 0, 300);
	at(600);
	o = one_to("192.0.2.10", "prvs=2222bbbbbb=zed@src.example",
	    "r1@dest.example");
	GREYLISTED(o, 0, 300);
}
END_TEST

/*
 * Client keys
 */

/* IPv6: one /64 by default; ipv6-prefix changes it; IPv4 /24 too */
START_TEST(ipv6_prefixes)
{
	struct outcome	 o;

	use_backend(_i);
	start(ONLY, NULL);
	o = one_to("2001:db8:1:2::10", "s@src.example", "a@dest.example");
	GREYLISTED(o, 0, 300);
	ck_assert_int_eq(th_log_wait(E.d[0].p, 0, "client "
	    "net:2001:db8:1:2::/64, retry in 300s", 5000), 0);
	at(300);
	o = one_to("2001:db8:1:2:ffff:ffff:ffff:1", "s@src.example",
	    "a@dest.example");
	ACCEPTED(o, 0);
	o = one_to("2001:db8:1:3::10", "s@src.example", "a@dest.example");
	GREYLISTED(o, 0, 300);
	/* an IPv4 client is its own key: no mixing with IPv6 */
	o = one_to("192.0.2.10", "s@src.example", "a@dest.example");
	GREYLISTED(o, 0, 300);
	E.d[0].p = th_proc_free(E.d[0].p);
	start(ONLY "ipv6-prefix 48\nipv4-prefix 32", NULL);
	o = one_to("2001:db8:7:1::1", "t@src.example", "a@dest.example");
	GREYLISTED(o, 0, 300);
	at(600);
	o = one_to("2001:db8:7:ff::2", "t@src.example", "a@dest.example");
	ACCEPTED(o, 0);
	o = one_to("192.0.2.11", "t@src.example", "b@dest.example");
	GREYLISTED(o, 0, 300);
	at(900);
	o = one_to("192.0.2.12", "t@src.example", "b@dest.example");
	GREYLISTED(o, 0, 300);
	o = one_to("192.0.2.11", "t@src.example", "b@dest.example");
	ACCEPTED(o, 0);
}
END_TEST

/* pools: by verified rDNS domain, by a table of networks and domains */
START_TEST(pool_keys)
{
	struct client	 g1 = { "209.85.221.54", "mail-wr1-f54.google.com", 1,
	    NULL };
	struct client	 g2 = { "172.217.0.5", "mail-yw1-f177.google.com", 1,
	    NULL };
	struct client	 forged = { "100.64.9.9", "mail-evil.google.com", 0,
	    NULL };
	struct client	 dyn = { "100.64.7.8", "dsl-100-64-7-8.isp.example", 1,
	    NULL };
	struct client	 dyn2 = { "100.65.7.9", "dsl-100-65-7-9.isp.example", 1,
	    NULL };
	struct client	 p1 = { "203.0.113.5", NULL, 0, NULL };
	struct client	 p2 = { "198.51.100.77", NULL, 0, NULL };
	struct client	 p3 = { "100.66.0.1", "out3.relay.bigmail.example", 1,
	    NULL };
	static const char *const a[] = { "a@dest.example", NULL };
	char		*pools;
	char		 block[1024];
	struct outcome	 o;

	use_backend(_i);
	pools = th_path(E.dir, "pools.txt");
	ck_assert_int_eq(th_write_file(pools, "# name members...\n"
	    "bigmail 203.0.113.0/24 198.51.100.0/24\n"
	    "bigmail bigmail.example\n"), 0);
	snprintf(block, sizeof(block), "%spool-by-rdns on\npools \"%s\"",
	    ONLY, pools);
	free(pools);
	start(block, NULL);
	o = deliver_n(0, &g1, "s@gmail.example", a, NULL);
	GREYLISTED(o, 0, 300);
	ck_assert_int_eq(th_log_wait(E.d[0].p, 0, "client rdns:google.com, "
	    "retry in 300s", 5000), 0);
	/* an unverified name is not trusted: the client's /24 */
	o = deliver_n(0, &forged, "s@gmail.example", a, NULL);
	GREYLISTED(o, 0, 300);
	ck_assert(th_log_has(E.d[0].p, "client net:100.64.9.0/24"));
	/* a dynamic-looking name is no pool either */
	o = deliver_n(0, &dyn, "s@gmail.example", a, NULL);
	GREYLISTED(o, 0, 300);
	at(300);
	o = deliver_n(0, &g2, "s@gmail.example", a, NULL);
	ACCEPTED(o, 0);
	HEADER(o, 300, "Tue, 14 Nov 2023 22:18:20 +0000");
	o = deliver_n(0, &dyn2, "s@gmail.example", a, NULL);
	GREYLISTED(o, 0, 300);
	/* the pools table: networks and a verified domain */
	o = deliver_n(0, &p1, "n@bigmail.example", a, NULL);
	GREYLISTED(o, 0, 300);
	ck_assert_int_eq(th_log_wait(E.d[0].p, 0, "client pool:bigmail, "
	    "retry in 300s", 5000), 0);
	at(600);
	o = deliver_n(0, &p2, "n@bigmail.example", a, NULL);
	ACCEPTED(o, 0);
	o = deliver_n(0, &p3, "n@bigmail.example", a, NULL);
	ACCEPTED(o, 0);
	ck_assert_int_eq(o.nhdr, 0);
}
END_TEST

/*
 * Auto-whitelist
 */

/* pass_once - greylist then pass one triplet, leaving the clock at +300 */
static void
pass_once(int64_t *t, const char *ip, const char *sender, const char *rcpt)
{
	struct outcome	 o;

	at(*t);
	o = one_to(ip, sender, rcpt);
	GREYLISTED(o, 0, 300);
	*t += 300;
	at(*t);
	o = one_to(ip, sender, rcpt);
	ACCEPTED(o, 0);
}

START_TEST(auto_whitelist)
{
	struct outcome	 o;
	int64_t		 t = 0;

	use_backend(_i);
	start(MSG "auto-whitelist 2 1d", NULL);
	pass_once(&t, "192.0.2.10", "s@src.example", "a@dest.example");
	o = one_to("192.0.2.10", "s@src.example", "b@dest.example");
	GREYLISTED(o, 0, 300);		/* one pass is not enough */
	pass_once(&t, "192.0.2.20", "s@src.example", "c@dest.example");
	/* two passes from 192.0.2.0/24: any triplet from it passes now */
	o = one_to("192.0.2.30", "x@other.example", "new@dest.example");
	ACCEPTED(o, 0);
	ck_assert_int_eq(o.nhdr, 0);
	o = one_to("192.0.3.30", "x@other.example", "new@dest.example");
	GREYLISTED(o, 0, 300);		/* not another network */
	/* refreshed on use: used at +23h, still there at +46h */
	at(t + 23 * 3600);
	o = one_to("192.0.2.30", "y@other.example", "new2@dest.example");
	ACCEPTED(o, 0);
	at(t + 46 * 3600);
	o = one_to("192.0.2.30", "y@other.example", "new3@dest.example");
	ACCEPTED(o, 0);
	/* unused for a day: expired, greylisted again */
	at(t + 70 * 3600);
	o = one_to("192.0.2.30", "z@other.example", "new4@dest.example");
	GREYLISTED(o, 0, 300);
}
END_TEST

START_TEST(auto_whitelist_per_domain)
{
	struct outcome	 o;
	int64_t		 t = 0;

	use_backend(_i);
	start(MSG "auto-whitelist 1 1d per-domain", NULL);
	pass_once(&t, "192.0.2.10", "s@src.example", "a@dest.example");
	o = one_to("192.0.2.10", "t@src.example", "b@dest.example");
	ACCEPTED(o, 0);
	o = one_to("192.0.2.10", "s@other.example", "b@dest.example");
	GREYLISTED(o, 0, 300);
	at(t + 86400);
	o = one_to("192.0.2.10", "u@src.example", "c@dest.example");
	GREYLISTED(o, 0, 300);
}
END_TEST

/*
 * Who is never greylisted
 */

START_TEST(exemptions)
{
	struct client	 authd = { "192.0.2.10", NULL, 0, "alice" };
	struct client	 local = { "127.0.0.1", "localhost", 1, NULL };
	struct client	 trusted = { "100.64.0.1", "mx2.partner.example", 1,
	    NULL };
	struct client	 untrusted = { "100.64.0.1", "mx2.partner.example", 0,
	    NULL };
	static const char *const a[] = { "a@dest.example", NULL };
	static const char *const pm[] = { "postmaster@dest.example", NULL };
	static const char *const pm_new[] = { "postmaster@dest.example",
	    "new@dest.example", NULL };
	struct outcome	 o;

	use_backend(_i);
	start(ONLY "whitelist-networks 198.51.100.0/24 2001:db8:99::/48\n"
	    "whitelist-domains partner.example\n"
	    "whitelist-senders friend@src.example\n"
	    "whitelist-recipients postmaster@", NULL);
	o = deliver_n(0, &authd, "s@src.example", a, NULL);
	ACCEPTED(o, 0);
	o = deliver_n(0, &local, "s@src.example", a, NULL);
	ACCEPTED(o, 0);
	o = one_to("198.51.100.9", "s@src.example", "a@dest.example");
	ACCEPTED(o, 0);
	o = one_to("2001:db8:99:1::5", "s@src.example", "a@dest.example");
	ACCEPTED(o, 0);
	o = deliver_n(0, &trusted, "s@src.example", a, NULL);
	ACCEPTED(o, 0);
	o = deliver_n(0, &untrusted, "s@src.example", a, NULL);
	GREYLISTED(o, 0, 300);
	o = one_to("192.0.2.10", "prvs=1234abcdef=friend@src.example",
	    "a@dest.example");
	ACCEPTED(o, 0);
	o = deliver("192.0.2.10", "s@src.example", pm);
	ACCEPTED(o, 0);
	ck_assert_int_eq(o.nhdr, 0);
	/* whitelist-recipients is per recipient: a new one beside it waits */
	o = deliver("192.0.2.10", "s@src.example", pm_new);
	ACCEPTED(o, 0);
	GREYLISTED(o, 1, 300);
}
END_TEST

/*
 * Redis only
 */

/* the store down: the plugin's on-store-error policy */
START_TEST(store_failure)
{
	struct outcome	 o;
	char		 err[512];

	use_backend(1);
	start(ONLY "on-store-error tempfail", NULL);
	o = one_to("192.0.2.10", "s@src.example", "a@dest.example");
	GREYLISTED(o, 0, 300);
	ck_assert_int_eq(fd_test_redis_stop(E.redis), 0);
	o = one_to("192.0.2.10", "s@src.example", "a@dest.example");
	ck_assert_int_eq(o.rcpt[0], MC_TEMPFAIL);
	ck_assert_str_eq(o.rcode[0], "451");
	ck_assert_str_eq(o.xcode[0], "4.3.0");
	ck_assert_str_eq(o.text[0], "Temporary local problem, try again later");
	ck_assert_int_eq(th_log_wait(E.d[0].p, 0, "plugin greylist: could not "
	    "decide (greylist store unavailable); on-store-error tempfail "
	    "applies", 5000), 0);
	/* said once a minute, not once a message: the line comes before
	 * the reply, so a second one would be there by now */
	at(59);
	o = one_to("192.0.2.10", "s@src.example", "a@dest.example");
	ck_assert_str_eq(o.xcode[0], "4.3.0");
	ck_assert_uint_eq(th_log_count(E.d[0].p, "could not decide"), 1);
	at(60);
	o = one_to("192.0.2.10", "s@src.example", "a@dest.example");
	ck_assert_str_eq(o.xcode[0], "4.3.0");
	ck_assert_uint_eq(th_log_count(E.d[0].p, "could not decide"), 2);
	E.d[0].p = th_proc_free(E.d[0].p);
	start(ONLY "on-store-error continue", NULL);
	o = one_to("192.0.2.10", "s@src.example", "b@dest.example");
	ACCEPTED(o, 0);
	ck_assert_int_eq(o.nhdr, 0);
	/* back up (a new, empty server): greylisting again */
	ck_assert_int_eq(fd_test_redis_restart(E.redis, err, sizeof(err)), 0);
	at(300);
	o = one_to("192.0.2.10", "s@src.example", "b@dest.example");
	GREYLISTED(o, 0, 300);
}
END_TEST

/*
 * Stopped while a session waits in a store call (Redis stopped, a long
 * timeout): filterd waits ten seconds for it, says so, and exits cleanly
 * without pulling the store from under the waiting thread.
 */
START_TEST(stop_during_store_call)
{
	struct mc_conn	*mc;
	char		 err[256];
	int		 status;

	use_backend(1);
	E.store_opts = "{ timeout 60s; breaker-failures 0 }";
	start(ONLY, "rule mark on rcpt log \"store call next\"");
	ck_assert_int_eq(kill(fd_test_redis_pid(E.redis), SIGSTOP), 0);
	mc = mc_connect(E.d[0].spec, 10000, err, sizeof(err));
	ck_assert_msg(mc != NULL, "connect: %s", err);
	ck_assert_int_eq(mc_negotiate(mc, 0, 0), 0);
	ck_assert(passed(mc_connect_cmd(mc, "[192.0.2.10]", "192.0.2.10",
	    25000)));
	ck_assert(passed(mc_mail(mc, "<s@src.example>", NULL)));
	/* the RCPT goes out; its reply cannot come while Redis is stopped */
	mc_set_timeout(mc, 100);
	(void)mc_rcpt(mc, "<a@dest.example>", NULL);
	ck_assert_int_eq(th_log_wait(E.d[0].p, 0, "rule=mark matched", 5000),
	    0);
	status = th_proc_stop(E.d[0].p, 30000);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "status %#x", status);
	ck_assert(th_log_has(E.d[0].p, "1 connection still open after 10s; "
	    "not waiting longer"));
	ck_assert_int_eq(kill(fd_test_redis_pid(E.redis), SIGCONT), 0);
	mc_free(mc);
}
END_TEST

/* two filterds, one redis-server: greylisted by one, passed by the other */
START_TEST(shared_redis)
{
	struct client	 c = { "192.0.2.10", NULL, 0, NULL };
	static const char *const a[] = { "a@dest.example", NULL };
	struct outcome	 o;

	use_backend(1);
	start_n(0, ONLY, NULL);
	start_n(1, ONLY, NULL);
	o = deliver_n(0, &c, "s@src.example", a, NULL);
	GREYLISTED(o, 0, 300);
	at(200);
	o = deliver_n(1, &c, "s@src.example", a, NULL);
	GREYLISTED(o, 0, 100);
	at(300);
	o = deliver_n(1, &c, "s@src.example", a, NULL);
	ACCEPTED(o, 0);
	HEADER(o, 300, "Tue, 14 Nov 2023 22:18:20 +0000");
	ck_assert_int_eq(th_log_wait(E.d[1].p, 0, "triplet passed after 300s",
	    5000), 0);
	o = deliver_n(0, &c, "s@src.example", a, NULL);
	ACCEPTED(o, 0);
	ck_assert_int_eq(o.nhdr, 0);
}
END_TEST

/* filterd -t reports the plugin's configuration errors at file:line:col */
START_TEST(config_errors)
{
	char	*conf = th_path(E.dir, "bad.conf");
	char	*out = th_path(E.dir, "t.out");
	char	 cmd[2048];
	char	*text;
	int	 rc;

	ck_assert_int_eq(th_write_file(conf,
	    "store lmdb \"%s/state\"\n"
	    "plugin-dir \"%s\"\n"
	    "plugin greylist {\n"
	    "\tdelay 10m\n"
	    "\tretry-window 5m\n"
	    "\tipv6-prefix 200\n"
	    "\twhitelist-for 99999d\n"
	    "}\n", E.dir, th_plugin_dir()), 0);
	snprintf(cmd, sizeof(cmd), "'%s' -t -c '%s' >'%s' 2>&1",
	    th_program("FILTERD", NULL), conf, out);
	rc = system(cmd);
	ck_assert(WIFEXITED(rc) && WEXITSTATUS(rc) == 78);
	text = th_read_file(out, NULL);
	ck_assert_ptr_nonnull(text);
	ck_assert_msg(strstr(text, "bad.conf:6:14: plugin greylist: "
	    "ipv6-prefix: 200 is not between 1 and 128") != NULL, "%s", text);
	ck_assert_msg(strstr(text, "bad.conf:5:15: plugin greylist: "
	    "retry-window (300s) must be longer than delay (600s)") != NULL,
	    "%s", text);
	/* longer than the store keeps anything: every call would fail */
	ck_assert_msg(strstr(text, "bad.conf:7:16: plugin greylist: "
	    "whitelist-for: at most 36600d (100 years), the longest the store "
	    "keeps an entry") != NULL, "%s", text);
	free(text);
	free(conf);
	free(out);
}
END_TEST

static Suite *
greylist_suite(void)
{
	Suite	*s = suite_create("greylist-milter");
	TCase	*tc;

	tc = tcase_create("backends");
	tcase_set_timeout(tc, 120);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, transitions, 0, nbackends);
	tcase_add_loop_test(tc, retry_window, 0, nbackends);
	tcase_add_loop_test(tc, rcpt_partial, 0, nbackends);
	tcase_add_loop_test(tc, eom_mode, 0, nbackends);
	tcase_add_loop_test(tc, eom_mode_exempt_first, 0, nbackends);
	tcase_add_loop_test(tc, eom_mode_rcpt_skip, 0, nbackends);
	tcase_add_loop_test(tc, dry_run_no_header, 0, nbackends);
	tcase_add_loop_test(tc, eom_mode_rcpt_override, 0, nbackends);
	tcase_add_loop_test(tc, held_deferral_ends_with_message, 0,
	    nbackends);
	tcase_add_loop_test(tc, outside_message, 0, nbackends);
	tcase_add_loop_test(tc, body_hash, 0, nbackends);
	tcase_add_loop_test(tc, rule_overrides, 0, nbackends);
	tcase_add_loop_test(tc, null_sender, 0, nbackends);
	tcase_add_loop_test(tc, normalization, 0, nbackends);
	tcase_add_loop_test(tc, ipv6_prefixes, 0, nbackends);
	tcase_add_loop_test(tc, pool_keys, 0, nbackends);
	tcase_add_loop_test(tc, auto_whitelist, 0, nbackends);
	tcase_add_loop_test(tc, auto_whitelist_per_domain, 0, nbackends);
	tcase_add_loop_test(tc, exemptions, 0, nbackends);
	tcase_add_test(tc, config_errors);
	suite_add_tcase(s, tc);

	if (nbackends == NBACKENDS) {
		tc = tcase_create("redis");
		tcase_set_timeout(tc, 120);
		tcase_add_checked_fixture(tc, setup, teardown);
		tcase_add_test(tc, store_failure);
		tcase_add_test(tc, shared_redis);
		tcase_add_test(tc, stop_during_store_call);
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
	sr = srunner_create(greylist_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
