/*
 * check_ratelimit.c -- unit tests of the ratelimit plugin's parts
 *
 * No daemon and no store: the plugin's sources are compiled into this
 * program and talk to a fake host that implements only what they call.
 * Config text is cut into directives by a tiny tokenizer here, so errors
 * can be checked as the "file:line:col: message" an operator would see.
 * The fake store records every rate_hit call and answers what the test
 * told it to, which shows what one stage sends and how the answer is
 * worded.
 */
#include "config.h"

#include <arpa/inet.h>

#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rl_key.h"
#include "rl_reply.h"
#include "rl_spec.h"
#include "rl_stage.h"

/*
 * The fake host's configuration side
 */

#define MAXARGS	24
#define MAXDIRS	64
#define MAXERRS	16

struct fd_directive {
	char	*name;
	int	 line, col;
	int	 argc;
	char	*argv[MAXARGS];
	int	 argline[MAXARGS], argcol[MAXARGS];
};

struct fd_block {
	struct fd_directive	 d[MAXDIRS];
	int			 n;
};

static char	*errs[MAXERRS];
static int	 nerrs;

/* tokenize - cut text into `name args... ;` directives with positions */
static struct fd_block *
tokenize(const char *text)
{
	struct fd_block		*b = calloc(1, sizeof(*b));
	struct fd_directive	*d = NULL;
	const char		*p = text;
	char			 tok[512];
	int			 line = 1, col = 1, tl, tc;
	size_t			 n;

	while (*p != '\0') {
		if (*p == '\n' || *p == ' ' || *p == '\t') {
			if (*p++ == '\n')
				line++, col = 1;
			else
				col++;
			continue;
		}
		if (*p == ';') {
			d = NULL;
			p++, col++;
			continue;
		}
		tl = line, tc = col, n = 0;
		if (*p == '"') {
			for (p++, col++; *p != '\0' && *p != '"'; p++, col++) {
				if (*p == '\\' && p[1] != '\0')
					p++, col++;
				tok[n++] = *p;
			}
			p++, col++;
		} else {
			for (; *p != '\0' && *p != ' ' && *p != '\t' &&
			    *p != '\n' && *p != ';'; p++, col++)
				tok[n++] = *p;
		}
		tok[n] = '\0';
		if (d == NULL) {
			d = &b->d[b->n++];
			d->name = strdup(tok);
			d->line = tl, d->col = tc;
		} else {
			d->argline[d->argc] = tl, d->argcol[d->argc] = tc;
			d->argv[d->argc++] = strdup(tok);
		}
	}
	return b;
}

static void
block_free(struct fd_block *b)
{
	int	 i, j;

	for (i = 0; i < b->n; i++) {
		free(b->d[i].name);
		for (j = 0; j < b->d[i].argc; j++)
			free(b->d[i].argv[j]);
	}
	free(b);
}

static const struct fd_directive *
f_dir_next(const struct fd_block *b, const struct fd_directive *prev)
{
	int	 i = prev == NULL ? 0 : (int)(prev - b->d) + 1;

	return i < b->n ? &b->d[i] : NULL;
}

static const char *
f_dir_name(const struct fd_directive *d)
{
	return d->name;
}

static int
f_dir_argc(const struct fd_directive *d)
{
	return d->argc;
}

static const char *
f_dir_arg(const struct fd_directive *d, int i)
{
	return i >= 0 && i < d->argc ? d->argv[i] : NULL;
}

static void	 f_conf_error(const struct fd_host *,
		    const struct fd_directive *, int, const char *, ...)
		    __attribute__((format(printf, 4, 5)));
static void	 f_log(const struct fd_host *, enum fd_level, const char *, ...)
		    __attribute__((format(printf, 3, 4)));
static void	 f_log_txn(const struct fd_host *, const struct fd_txn *,
		    enum fd_level, const char *, ...)
		    __attribute__((format(printf, 4, 5)));
static void	 f_reply(struct fd_txn *, const char *, const char *,
		    const char *, ...) __attribute__((format(printf, 4, 5)));
static void	 f_reason(struct fd_txn *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));

static void
f_conf_error(const struct fd_host *h, const struct fd_directive *d, int argi,
    const char *fmt, ...)
{
	char	 msg[1024], *line;
	va_list	 ap;
	int	 at;

	(void)h;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* (d is looked at only now: gcc 12 with UBSan warns of a null
	 * format otherwise) */
	at = argi >= 0 && argi < d->argc;
	ck_assert_int_ge(asprintf(&line, "t.conf:%d:%d: %s",
	    at ? d->argline[argi] : d->line, at ? d->argcol[argi] : d->col,
	    msg), 0);
	ck_assert_int_lt(nerrs, MAXERRS);
	errs[nerrs++] = line;
}

/* f_conf_unknown - the name and how many names the plugin offers for a
 * hint (check_core tests the hint itself, with the real host) */
static void
f_conf_unknown(const struct fd_host *h, const struct fd_directive *d,
    const char *const *known)
{
	int	 n = 0;

	while (known[n] != NULL)
		n++;
	f_conf_error(h, d, -1, "unknown directive \"%s\" (%d known)", d->name, n);
}

static char	 logged[1024];

static void
f_log(const struct fd_host *h, enum fd_level level, const char *fmt, ...)
{
	va_list	 ap;

	(void)h;
	(void)level;
	va_start(ap, fmt);
	vsnprintf(logged, sizeof(logged), fmt, ap);
	va_end(ap);
}

/* f_log_txn - as f_log; a line from a hook must name its transaction */
static void
f_log_txn(const struct fd_host *h, const struct fd_txn *t,
    enum fd_level level, const char *fmt, ...)
{
	va_list	 ap;

	(void)h;
	(void)level;
	ck_assert_ptr_nonnull(t);
	va_start(ap, fmt);
	vsnprintf(logged, sizeof(logged), fmt, ap);
	va_end(ap);
}

/*
 * The fake host's transaction and store side
 */

struct fd_txn {
	unsigned char	 ip[16];
	size_t		 iplen;
	const char	*sender, *auth_user, *rcpt, *helo;
	const char	*pname[4], *pval[4];	/* rules' set ratelimit.X */
	char		 rcode[4], xcode[8], text[512], reason[512];
};

static int			 calls;		/* rate_hit calls */
static struct fd_rate_req	 got[RL_STAGE_MAX];
static unsigned char		 gotkey[RL_STAGE_MAX][512];
static size_t			 ngot;
static struct fd_rate_res	 answer[RL_STAGE_MAX];	/* what to say */
static int			 store_rc;

static const char *
f_get(const struct fd_txn *t, enum fd_field f)
{
	switch (f) {
	case FD_F_SENDER:
		return t->sender;
	case FD_F_AUTH_USER:
		return t->auth_user;
	case FD_F_RCPT:
		return t->rcpt;
	case FD_F_HELO:
		return t->helo;
	default:
		return NULL;
	}
}

static size_t
f_client_ip(const struct fd_txn *t, unsigned char out[16])
{
	memcpy(out, t->ip, t->iplen);
	return t->iplen;
}

static const char *
f_param(const struct fd_txn *t, const char *plugin, const char *name)
{
	int	 i;

	ck_assert_str_eq(plugin, "ratelimit");
	for (i = 0; i < 4 && t->pname[i] != NULL; i++)
		if (strcmp(t->pname[i], name) == 0)
			return t->pval[i];
	return NULL;
}

static void
f_reply(struct fd_txn *t, const char *rcode, const char *xcode,
    const char *fmt, ...)
{
	va_list	 ap;

	snprintf(t->rcode, sizeof(t->rcode), "%s", rcode);
	snprintf(t->xcode, sizeof(t->xcode), "%s", xcode);
	va_start(ap, fmt);
	vsnprintf(t->text, sizeof(t->text), fmt, ap);
	va_end(ap);
}

static void
f_reason(struct fd_txn *t, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(t->reason, sizeof(t->reason), fmt, ap);
	va_end(ap);
}

static int
f_rate_hit(const struct fd_host *h, const struct fd_rate_req *rq, size_t n,
    struct fd_rate_res *rs)
{
	size_t	 i;

	(void)h;
	calls++;
	ngot = n;
	for (i = 0; i < n; i++) {
		got[i] = rq[i];
		ck_assert_uint_le(rq[i].keylen, sizeof(gotkey[i]));
		memcpy(gotkey[i], rq[i].key, rq[i].keylen);
		got[i].key = gotkey[i];
		rs[i] = answer[i];
	}
	return store_rc;
}

static struct fd_host host = {
	.abi_major = FD_PLUGIN_ABI_MAJOR,
	.abi_minor = FD_PLUGIN_ABI_MINOR,
	.size = sizeof(struct fd_host),
	.log = f_log,
	.dir_next = f_dir_next,
	.dir_name = f_dir_name,
	.dir_argc = f_dir_argc,
	.dir_arg = f_dir_arg,
	.conf_error = f_conf_error,
	.conf_unknown = f_conf_unknown,
	.get = f_get,
	.client_ip = f_client_ip,
	.param = f_param,
	.reply = f_reply,
	.reason = f_reason,
	.rate_hit = f_rate_hit,
	.log_txn = f_log_txn,
};

static void
reset(void)
{
	int	 i;

	for (i = 0; i < nerrs; i++)
		free(errs[i]);
	nerrs = 0;
	calls = 0;
	ngot = 0;
	store_rc = FD_STORE_OK;
	memset(answer, 0, sizeof(answer));
	for (i = 0; i < RL_STAGE_MAX; i++)
		answer[i].allowed = 1;
	logged[0] = '\0';
}

/* parse - text as a ratelimit block; returns rl_conf_parse's result */
static int
parse(const char *text, struct rl_conf *c)
{
	struct fd_block	*b = tokenize(text);
	int		 rc;

	reset();
	rc = rl_conf_parse(&host, b, c);
	block_free(b);
	return rc;
}

/* parse_err - text must fail with exactly this one message */
static void
parse_err(const char *text, const char *want)
{
	struct rl_conf	 c;

	ck_assert_int_eq(parse(text, &c), -1);
	rl_conf_clear(&c);
	ck_assert_msg(nerrs == 1, "%d errors for \"%s\" (first: %s)", nerrs,
	    text, nerrs ? errs[0] : "-");
	ck_assert_str_eq(errs[0], want);
}

/*
 * Rates and factors
 */

START_TEST(rate_good)
{
	static const struct { const char *s; uint32_t n; int64_t p; } t[] = {
		{ "60/1m", 60, 60 }, { "1000/1d", 1000, 86400 },
		{ "5/30s", 5, 30 }, { "10/h", 10, 3600 }, { "90/90", 90, 90 },
		{ "1/1w", 1, 604800 }, { "200/m", 200, 60 },
		{ "4294967295/1w", 4294967295u, 604800 },
	};
	struct rl_rate	 r;
	const char	*why;
	size_t		 i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		ck_assert_msg(rl_rate_parse(t[i].s, &r, &why) == 0, "%s: %s",
		    t[i].s, why);
		ck_assert_uint_eq(r.count, t[i].n);
		ck_assert_int_eq(r.period, t[i].p);
	}
}
END_TEST

START_TEST(rate_bad)
{
	static const struct { const char *s, *why; } t[] = {
		{ "60", "expected a rate COUNT/PERIOD, like 60/1m" },
		{ "0/1m", "rate: a count of 0 allows nothing (use a rule to "
		    "reject)" },
		{ "x/1m", "rate: the count before '/' must be a whole number "
		    "below 2^32" },
		{ "4294967296/1d", "rate: the count before '/' must be a "
		    "whole number below 2^32" },
		{ "60/", "period: expected a number with s, m, h, d or w (1m, "
		    "30s, 1d)" },
		{ "60/1y", "period: expected a number with s, m, h, d or w "
		    "(1m, 30s, 1d)" },
		{ "60/0s", "period must be at least one second" },
		{ "60/99999999999w", "period too long" },
	};
	struct rl_rate	 r;
	const char	*why;
	size_t		 i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		ck_assert_msg(rl_rate_parse(t[i].s, &r, &why) == -1, "%s",
		    t[i].s);
		ck_assert_str_eq(why, t[i].why);
	}
}
END_TEST

START_TEST(rate_check)
{
	struct rl_rate	 r = { 2000000, 1 };
	const char	*why;

	ck_assert_int_eq(rl_rate_check(&r, 0, &why), -1);
	ck_assert_str_eq(why, "rate: more than a million events per second");
	r.count = 1000000;
	ck_assert_int_eq(rl_rate_check(&r, 0, &why), 0);
	r.count = 1, r.period = 1000000000;	/* interval 10^15 us */
	ck_assert_int_eq(rl_rate_check(&r, 0, &why), 0);
	ck_assert_int_eq(rl_rate_check(&r, 1, &why), -1);
	ck_assert_str_eq(why, "rate and burst too large for the store");
}
END_TEST

START_TEST(factor)
{
	static const struct { const char *s; uint64_t m; } good[] = {
		{ "10", 10000 }, { "1", 1000 }, { "0.5", 500 },
		{ "2.25", 2250 }, { "0.001", 1 }, { "1000000", 1000000000 },
	};
	static const char *bad[] = { "0", "0.000", "-1", "1.", ".5",
	    "1.0005", "abc", "", "2x", "1000001" };
	const char	*why;
	uint64_t	 m;
	size_t		 i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		ck_assert_msg(rl_factor_parse(good[i].s, &m, &why) == 0, "%s",
		    good[i].s);
		ck_assert_uint_eq(m, good[i].m);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(rl_factor_parse(bad[i], &m, &why) == -1, "%s",
		    bad[i]);
	ck_assert(rl_off("off") && rl_off("none") && rl_off("unlimited"));
	ck_assert(!rl_off("10/1m") && !rl_off("Off"));
}
END_TEST

/*
 * Parsing a block
 */

START_TEST(conf_issue_example)
{
	struct rl_conf	 c;
	struct rl_limit	*l;

	ck_assert_int_eq(parse(
	    "limit client-ip 60/1m;\n"
	    "limit client-ip 1000/1d;\n"
	    "limit sender-domain 200/1h recipients burst 50;\n", &c), 0);
	ck_assert_int_eq(nerrs, 0);
	ck_assert_uint_eq(c.nlimits, 3);
	l = c.limits;
	ck_assert_int_eq(l[0].key, RL_K_CLIENT_IP);
	ck_assert_int_eq(l[0].count, RL_C_MESSAGES);
	ck_assert_uint_eq(l[0].rate.count, 60);
	ck_assert_int_eq(l[0].rate.period, 60);
	ck_assert_uint_eq(l[0].burst, 0);
	ck_assert_int_eq(l[0].act, RL_A_TEMPFAIL);
	ck_assert_int_eq(l[0].only, RL_O_ALL);
	ck_assert_int_eq(l[0].v4prefix, 32);
	ck_assert_int_eq(l[0].v6prefix, 64);
	ck_assert_str_eq(l[0].name, "client-ip-messages-1m");
	ck_assert_int_eq(l[0].named, 0);
	ck_assert_str_eq(l[1].name, "client-ip-messages-1d");
	ck_assert_uint_eq(l[1].rate.count, 1000);
	ck_assert_int_eq(l[1].rate.period, 86400);
	ck_assert_int_eq(l[2].key, RL_K_SENDER_DOMAIN);
	ck_assert_int_eq(l[2].count, RL_C_RECIPIENTS);
	ck_assert_uint_eq(l[2].burst, 50);
	ck_assert_str_eq(l[2].name, "sender-domain-recipients-1h");
	ck_assert_uint_eq(c.stages, FD_ST_MAIL | FD_ST_RCPT);
	ck_assert_str_eq(c.tempfail_code, "451");
	ck_assert_str_eq(c.tempfail_text,
	    "Rate limit exceeded, try again in {retry-after} seconds");
	ck_assert_str_eq(c.reject_text, "Rate limit exceeded");
	rl_conf_clear(&c);
}
END_TEST

START_TEST(conf_everything)
{
	struct rl_conf	 c;
	struct rl_limit	*l;

	ck_assert_int_eq(parse(
	    "limit client-ip 10/1m per connections ipv4-prefix 24;\n"
	    "limit auth-user 500/1h name users action reject "
	    "message \"Account {name} over {rate}\";\n"
	    "limit recipient 100/1d;\n"
	    "limit helo 30/1m only unauthenticated burst 5;\n"
	    "limit sender 50/1h per recipients only authenticated;\n"
	    "limit client-ip 600/1h ipv6-prefix 48 name net;\n"
	    "ipv4-prefix 28;\n"
	    "ipv6-prefix 56;\n"
	    "tempfail-code 450;\n"
	    "message \"Slow down ({key}), retry in {retry-after}s\";\n"
	    "reject-message \"Too much mail\";\n", &c), 0);
	ck_assert_int_eq(nerrs, 0);
	ck_assert_uint_eq(c.nlimits, 6);
	l = c.limits;
	ck_assert_int_eq(l[0].count, RL_C_CONNECTIONS);
	ck_assert_int_eq(l[0].v4prefix, 24);	/* its own */
	ck_assert_int_eq(l[0].v6prefix, 56);	/* the block's, set later */
	ck_assert_str_eq(l[0].name, "client-ip-connections-1m");
	ck_assert_int_eq(l[1].key, RL_K_AUTH_USER);
	ck_assert_str_eq(l[1].name, "users");
	ck_assert_int_eq(l[1].named, 1);
	ck_assert_int_eq(l[1].act, RL_A_REJECT);
	ck_assert_str_eq(l[1].text, "Account {name} over {rate}");
	ck_assert_int_eq(l[2].key, RL_K_RCPT);
	ck_assert_int_eq(l[2].count, RL_C_RECIPIENTS);
	ck_assert_int_eq(l[3].only, RL_O_UNAUTH);
	ck_assert_uint_eq(l[3].burst, 5);
	ck_assert_int_eq(l[4].count, RL_C_RECIPIENTS);
	ck_assert_int_eq(l[4].only, RL_O_AUTH);
	ck_assert_int_eq(l[5].v4prefix, 28);
	ck_assert_int_eq(l[5].v6prefix, 48);
	ck_assert_uint_eq(c.stages, FD_ST_CONNECT | FD_ST_MAIL | FD_ST_RCPT);
	ck_assert_str_eq(c.tempfail_code, "450");
	ck_assert_str_eq(c.tempfail_text,
	    "Slow down ({key}), retry in {retry-after}s");
	ck_assert_str_eq(c.reject_text, "Too much mail");
	rl_conf_clear(&c);
}
END_TEST

/* decide-messages-at eom: message limits move to EOM, recipients stay */
START_TEST(messages_at_eom_stages)
{
	struct rl_conf	 c;

	ck_assert_int_eq(parse("decide-messages-at eom;\n"
	    "limit client-ip 10/1m;\n"
	    "limit sender-domain 200/1h recipients;\n", &c), 0);
	ck_assert_int_eq(c.messages_at_eom, 1);
	ck_assert_uint_eq(c.stages, FD_ST_EOM | FD_ST_RCPT);
	rl_conf_clear(&c);
}
END_TEST

START_TEST(conf_errors)
{
	parse_err("limit client-ip 60/1m;\nlimit mailbox 5/1m;",
	    "t.conf:2:7: limit: unknown key \"mailbox\" (use client-ip, "
	    "sender, sender-domain, auth-user, recipient or helo)");
	parse_err("limit client-ip 60/1x;",
	    "t.conf:1:17: limit: \"60/1x\": period: expected a number with "
	    "s, m, h, d or w (1m, 30s, 1d)");
	parse_err("limit client-ip;",
	    "t.conf:1:1: limit: expected KEY RATE, like \"limit client-ip "
	    "60/1m\"");
	parse_err("  limit sender 60/1m per connections;",
	    "t.conf:1:26: limit: only client-ip limits can count "
	    "connections (they are decided at connect, before sender is "
	    "known)");
	parse_err("limit recipient 60/1m messages;",
	    "t.conf:1:23: limit: a recipient limit counts recipients (one "
	    "per RCPT)");
	parse_err("limit sender 60/1m per hours;",
	    "t.conf:1:24: limit: per: expected connections, messages or "
	    "recipients");
	parse_err("limit sender 60/1m per;",
	    "t.conf:1:1: limit: per: expected connections, messages or "
	    "recipients");
	parse_err("limit sender 60/1m messages per recipients;",
	    "t.conf:1:33: limit: counted twice");
	parse_err("limit sender 60/1m brust 5;",
	    "t.conf:1:20: limit: unknown option \"brust\"");
	parse_err("limit sender 60/1m burst;",
	    "t.conf:1:20: limit: burst: missing value");
	parse_err("limit sender 60/1m burst -1;",
	    "t.conf:1:26: limit: burst: \"-1\" is not a whole number below "
	    "2^32");
	parse_err("limit sender 60/1m burst 5 action reject burst 50;",
	    "t.conf:1:42: limit: burst given twice");
	parse_err("limit sender 60/1m name a name b;",
	    "t.conf:1:27: limit: name given twice");
	/* a block's setting given twice: the second would undo the first */
	parse_err("limit sender 60/1m;\ndecide-messages-at rcpt;\n"
	    "limit client-ip 10/1m;\ndecide-messages-at eom;",
	    "t.conf:4:1: \"decide-messages-at\" is given more than once");
	parse_err("limit client-ip 1/1w burst 2000;",
	    "t.conf:1:28: limit: burst: at most 1860 at a rate of 1/1w");
	parse_err("limit client-ip 1/1s burst 2000000000;",
	    "t.conf:1:28: limit: burst: at most 1125899905 at a rate of "
	    "1/1s");
	parse_err("limit sender 60/1m action defer;",
	    "t.conf:1:27: limit: action: expected tempfail or reject");
	parse_err("limit sender 60/1m name factor;",
	    "t.conf:1:25: limit: name: \"factor\": use letters, digits, "
	    "'-', '_' or '.' (not \"factor\")");
	parse_err("limit sender 60/1m name a/b;",
	    "t.conf:1:25: limit: name: \"a/b\": use letters, digits, '-', "
	    "'_' or '.' (not \"factor\")");
	parse_err("limit sender 60/1m only local;",
	    "t.conf:1:25: limit: only: expected authenticated or "
	    "unauthenticated");
	parse_err("limit auth-user 60/1m only unauthenticated;",
	    "t.conf:1:7: limit: an auth-user limit never applies to "
	    "unauthenticated sessions");
	parse_err("limit client-ip 20/1m connections only authenticated;",
	    "t.conf:1:23: limit: connections are decided at connect, before "
	    "any login: only authenticated would never apply");
	parse_err("limit client-ip 20/1m only authenticated per connections;",
	    "t.conf:1:46: limit: connections are decided at connect, before "
	    "any login: only authenticated would never apply");
	parse_err("limit sender 60/1m ipv4-prefix 24;",
	    "t.conf:1:7: limit: ipv4-prefix and ipv6-prefix apply to "
	    "client-ip limits only");
	parse_err("limit client-ip 60/1m ipv6-prefix 129;",
	    "t.conf:1:35: limit: ipv6-prefix: \"129\" is not a prefix length "
	    "0-128");
	parse_err("limit client-ip 2000000/1s;",
	    "t.conf:1:17: limit: rate: more than a million events per "
	    "second");
	parse_err("limit sender 60/1m message \"{retry}\";",
	    "t.conf:1:28: limit: message: unknown placeholder (use "
	    "{retry-after}, {name}, {rate} or {key})");
	parse_err("limit client-ip 60/1m;\n\nlimit client-ip 120/1m;",
	    "t.conf:3:1: limit: another limit is named "
	    "\"client-ip-messages-1m\"; give this one its own `name`");
	parse_err("limit client-ip 60/1m name a;\nlimit sender 1/1s name a;",
	    "t.conf:2:1: limit: another limit is named \"a\"; give this one "
	    "its own `name`");
	parse_err("ipv4-prefix 33;",
	    "t.conf:1:13: ipv4-prefix: \"33\" is not a prefix length 0-32");
	parse_err("ipv6-prefix;",
	    "t.conf:1:1: ipv6-prefix: expected 1 argument");
	parse_err("ipv6-prefix 64 48;",
	    "t.conf:1:16: ipv6-prefix: expected 1 argument");
	parse_err("tempfail-code 452;",
	    "t.conf:1:15: tempfail-code: expected 451 or 450");
	parse_err("message \"a\tb\";",
	    "t.conf:1:9: message: text must be printable ASCII on one line");
	parse_err("rate 5;",
	    "t.conf:1:1: unknown directive \"rate\" (7 known)");
	parse_err("decide-messages-at data;",
	    "t.conf:1:20: decide-messages-at: expected mail, rcpt or eom");
}
END_TEST

START_TEST(conf_all_errors_at_once)
{
	struct rl_conf	 c;

	ck_assert_int_eq(parse(
	    "limit client-ip 60/1m;\n"
	    "limit bogus 1/1m;\n"
	    "limit sender 0/1m;\n"
	    "tempfail-code 500;\n", &c), -1);
	ck_assert_int_eq(nerrs, 3);
	ck_assert_str_eq(errs[0], "t.conf:2:7: limit: unknown key \"bogus\" "
	    "(use client-ip, sender, sender-domain, auth-user, recipient or "
	    "helo)");
	ck_assert_str_eq(errs[1], "t.conf:3:14: limit: \"0/1m\": rate: a "
	    "count of 0 allows nothing (use a rule to reject)");
	ck_assert_str_eq(errs[2], "t.conf:4:15: tempfail-code: expected 451 "
	    "or 450");
	rl_conf_clear(&c);
}
END_TEST

START_TEST(conf_stage_max)
{
	struct rl_conf	 c;
	char		 text[4096];
	size_t		 o = 0;
	int		 i;

	for (i = 0; i <= RL_STAGE_MAX; i++)
		o += (size_t)snprintf(text + o, sizeof(text) - o,
		    "limit sender %d/1m name s%d;\n", i + 1, i);
	ck_assert_int_eq(parse(text, &c), -1);
	ck_assert_int_eq(nerrs, 1);
	ck_assert_str_eq(errs[0], "t.conf:33:1: limit: more than 32 limits "
	    "count messages");
	rl_conf_clear(&c);
	/* 32 is fine, and so are 32 more at another stage */
	text[0] = '\0';
	for (i = 0, o = 0; i < 2 * RL_STAGE_MAX; i++)
		o += (size_t)snprintf(text + o, sizeof(text) - o,
		    "limit sender %d/1m%s name s%d;\n", i + 1,
		    i % 2 ? " recipients" : "", i);
	ck_assert_int_eq(parse(text, &c), 0);
	rl_conf_clear(&c);
}
END_TEST

START_TEST(conf_empty)
{
	struct rl_conf	 c;

	ck_assert_int_eq(parse("", &c), 0);
	ck_assert_uint_eq(c.nlimits, 0);
	ck_assert_uint_eq(c.stages, 0);
	rl_conf_clear(&c);
}
END_TEST

/*
 * Keys
 */

/* one_limit - a parsed single-limit block, for key tests */
static struct rl_conf	 kc;

static const struct rl_limit *
one_limit(const char *text)
{
	rl_conf_clear(&kc);
	ck_assert_msg(parse(text, &kc) == 0, "%s: %s", text,
	    nerrs ? errs[0] : "");
	ck_assert_uint_ge(kc.nlimits, 1);
	return &kc.limits[0];
}

/* key - the key of l for s as a printable string (bytes escaped) */
static char *
key(const struct rl_limit *l, const struct rl_subject *s)
{
	static char	 out[8][1024];
	static int	 slot;
	unsigned char	 buf[512];
	char		*o = out[slot++ % 8];
	size_t		 n, i, p = 0;

	n = rl_key_build(l, s, buf, sizeof(buf));
	ck_assert_uint_le(n, sizeof(buf));
	if (n == 0)
		return strcpy(o, "(none)");
	for (i = 0; i < n; i++) {
		if (buf[i] >= 0x20 && buf[i] < 0x7f && buf[i] != '\\')
			p += (size_t)sprintf(o + p, "%c", buf[i]);
		else
			p += (size_t)sprintf(o + p, "\\%02x", buf[i]);
	}
	return o;
}

/* ip - a subject with just the client address */
static struct rl_subject
ip(const char *addr)
{
	struct rl_subject s;

	memset(&s, 0, sizeof(s));
	if (inet_pton(AF_INET, addr, s.ip) == 1)
		s.iplen = 4;
	else {
		ck_assert_int_eq(inet_pton(AF_INET6, addr, s.ip), 1);
		s.iplen = 16;
	}
	return s;
}

START_TEST(key_client_ip)
{
	const struct rl_limit	*l;
	struct rl_subject	 a, b, none;

	l = one_limit("limit client-ip 60/1m;");
	a = ip("192.0.2.1");
	ck_assert_str_eq(key(l, &a),
	    "ratelimit\\00client-ip-messages-1m\\00a4 \\c0\\00\\02\\01");
	/* IPv6: the /64 by default, the rest of the address ignored */
	a = ip("2001:db8:1:2:aaaa::1");
	ck_assert_str_eq(key(l, &a), "ratelimit\\00client-ip-messages-1m\\00"
	    "a6@ \\01\\0d\\b8\\00\\01\\00\\02");
	b = ip("2001:db8:1:2:ffff:ffff:ffff:ffff");
	ck_assert_str_eq(key(l, &a), key(l, &b));
	b = ip("2001:db8:1:3::1");
	ck_assert_str_ne(key(l, &a), key(l, &b));
	/* an IPv4-mapped IPv6 client is the IPv4 client */
	a = ip("::ffff:192.0.2.1");
	ck_assert_str_eq(key(l, &a),
	    "ratelimit\\00client-ip-messages-1m\\00a4 \\c0\\00\\02\\01");
	/* no IP (unix socket): the limit does not apply */
	memset(&none, 0, sizeof(none));
	ck_assert_str_eq(key(l, &none), "(none)");
	rl_conf_clear(&kc);
}
END_TEST

START_TEST(key_prefixes)
{
	static const struct {
		const char	*conf, *a, *b;
		int		 same;
	} t[] = {
		{ "ipv4-prefix 24;", "192.0.2.1", "192.0.2.254", 1 },
		{ "ipv4-prefix 24;", "192.0.2.1", "192.0.3.1", 0 },
		{ "ipv4-prefix 20;", "198.51.96.1", "198.51.111.200", 1 },
		{ "ipv4-prefix 20;", "198.51.96.1", "198.51.112.1", 0 },
		{ "ipv4-prefix 32;", "192.0.2.1", "192.0.2.2", 0 },
		{ "ipv4-prefix 0;", "192.0.2.1", "203.0.113.9", 1 },
		{ "ipv6-prefix 48;", "2001:db8:1:2::1", "2001:db8:1:ff::1", 1 },
		{ "ipv6-prefix 48;", "2001:db8:1::1", "2001:db8:2::1", 0 },
		{ "ipv6-prefix 61;", "2001:db8::1", "2001:db8:0:7::1", 1 },
		{ "ipv6-prefix 61;", "2001:db8::1", "2001:db8:0:8::1", 0 },
		{ "ipv6-prefix 128;", "2001:db8::1", "2001:db8::2", 0 },
		{ "ipv6-prefix 0;", "2001:db8::1", "fe80::1", 1 },
		/* v4 and v6 never share a counter, even at /0 */
		{ "ipv4-prefix 0; ipv6-prefix 0;", "0.0.0.0", "::", 0 },
	};
	const struct rl_limit	*l;
	struct rl_subject	 a, b;
	char			 text[256];
	size_t			 i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		snprintf(text, sizeof(text), "%s limit client-ip 1/1m;",
		    t[i].conf);
		l = one_limit(text);
		a = ip(t[i].a);
		b = ip(t[i].b);
		ck_assert_msg((strcmp(key(l, &a), key(l, &b)) == 0) ==
		    t[i].same, "%s %s vs %s", t[i].conf, t[i].a, t[i].b);
	}
	/* exact bytes of a /20 and a /61 */
	l = one_limit("limit client-ip 1/1m ipv4-prefix 20 ipv6-prefix 61 "
	    "name n;");
	a = ip("198.51.111.200");
	ck_assert_str_eq(key(l, &a), "ratelimit\\00n\\00a4\\14\\c63`");
	a = ip("2001:db8:ffff:ffff::1");
	ck_assert_str_eq(key(l, &a),
	    "ratelimit\\00n\\00a6= \\01\\0d\\b8\\ff\\ff\\ff\\f8");
	rl_conf_clear(&kc);
}
END_TEST

START_TEST(ip_mask)
{
	unsigned char	 a[16] = { 10, 255, 255, 255 };
	int		 p;

	ck_assert_uint_eq(rl_ip_mask(a, 4, 9, 64, &p), 4);
	ck_assert_int_eq(p, 9);
	ck_assert_int_eq(a[0], 10);
	ck_assert_int_eq(a[1], 128);
	ck_assert_int_eq(a[2], 0);
	ck_assert_int_eq(a[3], 0);
}
END_TEST

START_TEST(key_addresses)
{
	const struct rl_limit	*l;
	struct rl_subject	 s, t;

	memset(&s, 0, sizeof(s));
	memset(&t, 0, sizeof(t));
	/* sender: lower case, source route dropped; null sender: none */
	l = one_limit("limit sender 1/1m;");
	s.sender = "Alice@Example.COM";
	ck_assert_str_eq(key(l, &s),
	    "ratelimit\\00sender-messages-1m\\00balice@example.com");
	t.sender = "@relay.example,@b.example:alice@example.com";
	ck_assert_str_eq(key(l, &s), key(l, &t));
	/* the domain's trailing dot dropped, as for sender-domain: else a
	 * client alternating the two forms has two counters */
	t.sender = "alice@example.com.";
	ck_assert_str_eq(key(l, &s), key(l, &t));
	/* a dot in the local part is no domain's */
	t.sender = "postmaster.";
	ck_assert_str_eq(key(l, &t),
	    "ratelimit\\00sender-messages-1m\\00bpostmaster.");
	t.sender = "";
	ck_assert_str_eq(key(l, &t), "(none)");
	t.sender = NULL;
	ck_assert_str_eq(key(l, &t), "(none)");

	/* sender-domain: after the last '@', no trailing dot */
	l = one_limit("limit sender-domain 1/1m name d;");
	s.sender = "bob@Mail.Example.ORG.";
	ck_assert_str_eq(key(l, &s), "ratelimit\\00d\\00cmail.example.org");
	t.sender = "\"a@b\"@mail.example.org";
	ck_assert_str_eq(key(l, &s), key(l, &t));
	t.sender = "postmaster";
	ck_assert_str_eq(key(l, &t), "(none)");
	t.sender = "user@";
	ck_assert_str_eq(key(l, &t), "(none)");
	t.sender = "";
	ck_assert_str_eq(key(l, &t), "(none)");

	/* recipient */
	l = one_limit("limit recipient 1/1m name r;");
	s.rcpt = "Carol@Example.NET";
	ck_assert_str_eq(key(l, &s), "ratelimit\\00r\\00ecarol@example.net");
	t.rcpt = "carol@example.net.";
	ck_assert_str_eq(key(l, &s), key(l, &t));
	t.rcpt = NULL;
	ck_assert_str_eq(key(l, &t), "(none)");
	rl_conf_clear(&kc);
}
END_TEST

START_TEST(key_auth_helo)
{
	const struct rl_limit	*l;
	struct rl_subject	 s, t;

	memset(&s, 0, sizeof(s));
	memset(&t, 0, sizeof(t));
	l = one_limit("limit auth-user 1/1m name u;");
	s.auth_user = "Dave";
	ck_assert_str_eq(key(l, &s), "ratelimit\\00u\\00ddave");
	t.auth_user = "";
	ck_assert_str_eq(key(l, &t), "(none)");
	t.auth_user = NULL;
	ck_assert_str_eq(key(l, &t), "(none)");

	l = one_limit("limit helo 1/1m name h;");
	s.helo = "MX1.Example.COM.";
	ck_assert_str_eq(key(l, &s), "ratelimit\\00h\\00fmx1.example.com");
	t.helo = NULL;
	ck_assert_str_eq(key(l, &t), "(none)");
	t.helo = ".";
	ck_assert_str_eq(key(l, &t), "(none)");
	rl_conf_clear(&kc);
}
END_TEST

START_TEST(key_only_and_identity)
{
	const struct rl_limit	*l;
	struct rl_subject	 s;

	memset(&s, 0, sizeof(s));
	s.sender = "x@example.com";
	s.rcpt = "x@example.com";
	/* `only` looks at the session, whatever the key */
	l = one_limit("limit sender 1/1m only authenticated name a;");
	ck_assert_str_eq(key(l, &s), "(none)");
	s.auth_user = "x";
	ck_assert_str_eq(key(l, &s), "ratelimit\\00a\\00bx@example.com");
	l = one_limit("limit sender 1/1m only unauthenticated name a;");
	ck_assert_str_eq(key(l, &s), "(none)");
	s.auth_user = NULL;
	ck_assert_str_eq(key(l, &s), "ratelimit\\00a\\00bx@example.com");

	/* the same value under another key type or limit: another key */
	rl_conf_clear(&kc);
	ck_assert_int_eq(parse("limit sender 1/1m name a;"
	    "limit recipient 1/1m name a2;"
	    "limit sender 1/1h name b;", &kc), 0);
	ck_assert_str_ne(key(&kc.limits[0], &s), key(&kc.limits[1], &s));
	ck_assert_str_ne(key(&kc.limits[0], &s), key(&kc.limits[2], &s));
	rl_conf_clear(&kc);
}
END_TEST

START_TEST(key_long)
{
	const struct rl_limit	*l;
	struct rl_subject	 s;
	unsigned char		 small[16], *big;
	char			 addr[2000];
	size_t			 n;

	memset(addr, 'a', sizeof(addr) - 1);
	addr[sizeof(addr) - 1] = '\0';
	addr[10] = '@';
	memset(&s, 0, sizeof(s));
	s.sender = addr;
	l = one_limit("limit sender 1/1m name a;");
	n = rl_key_build(l, &s, small, sizeof(small));
	ck_assert_uint_eq(n, 10 + 2 + 1 + strlen(addr));
	ck_assert_int_eq(memcmp(small, "ratelimit\0a\0b", 13), 0);
	big = malloc(n);
	ck_assert_uint_eq(rl_key_build(l, &s, big, n), n);
	ck_assert_int_eq(memcmp(big + 13, addr, strlen(addr)), 0);
	free(big);
	rl_conf_clear(&kc);
}
END_TEST

/*
 * Effective limits, verdicts and whole stages
 */

START_TEST(effective)
{
	const struct rl_limit	*l;
	struct rl_checked	 c;

	l = one_limit("limit client-ip 60/1m burst 10;");
	ck_assert_int_eq(rl_effective(l, NULL, 1000, &c), 1);
	ck_assert_uint_eq(c.rate.count, 60);
	ck_assert_int_eq(c.rate.period, 60);
	ck_assert_uint_eq(c.burst, 10);
	ck_assert_ptr_eq(c.limit, l);
	ck_assert_int_eq(rl_effective(l, NULL, 10000, &c), 1);
	ck_assert_uint_eq(c.rate.count, 600);
	ck_assert_uint_eq(c.burst, 100);
	ck_assert_int_eq(rl_effective(l, NULL, 500, &c), 1);
	ck_assert_uint_eq(c.rate.count, 30);
	ck_assert_uint_eq(c.burst, 5);
	ck_assert_int_eq(rl_effective(l, NULL, 1, &c), 1);
	ck_assert_uint_eq(c.rate.count, 1);	/* never 0 */
	ck_assert_uint_eq(c.burst, 0);
	/* an override replaces the rate and is not scaled */
	ck_assert_int_eq(rl_effective(l, "500/1h", 10000, &c), 1);
	ck_assert_uint_eq(c.rate.count, 500);
	ck_assert_int_eq(c.rate.period, 3600);
	ck_assert_uint_eq(c.burst, 10);
	ck_assert_int_eq(rl_effective(l, "off", 1000, &c), 0);
	ck_assert_int_eq(rl_effective(l, "lots", 2000, &c), -1);
	ck_assert_uint_eq(c.rate.count, 120);
	/* a factor past what the store takes is clamped, not refused */
	ck_assert_int_eq(rl_effective(l, NULL, 1000000000, &c), 1);
	ck_assert_uint_eq(c.rate.count, 60000000);	/* 10^6 a second */
	ck_assert_uint_eq(c.burst, 10000000);
	l = one_limit("limit client-ip 4000000000/1w burst 4000000000;");
	ck_assert_int_eq(rl_effective(l, NULL, 2000, &c), 1);
	ck_assert_uint_eq(c.rate.count, UINT32_MAX);
	ck_assert_uint_eq(c.burst, UINT32_MAX);
	rl_conf_clear(&kc);
}
END_TEST

START_TEST(decide)
{
	struct rl_checked	 chk[3];
	struct fd_rate_res	 res[3];
	struct rl_verdict	 v;

	ck_assert_int_eq(parse("limit client-ip 60/1m;"
	    "limit client-ip 1000/1d name daily;"
	    "limit sender 10/1h action reject name s "
	    "message \"{name}: {rate} for {key}\";", &kc), 0);
	memset(res, 0, sizeof(res));
	rl_effective(&kc.limits[0], NULL, 1000, &chk[0]);
	rl_effective(&kc.limits[1], NULL, 1000, &chk[1]);
	rl_effective(&kc.limits[2], NULL, 1000, &chk[2]);
	/* two tempfail limits over: the longer wait is named and sent */
	res[0].retry_after = 7;
	res[1].retry_after = 3600;
	rl_decide(&kc, chk, res, 2, &v);
	ck_assert_int_eq(v.action, FD_TEMPFAIL);
	ck_assert_str_eq(v.rcode, "451");
	ck_assert_str_eq(v.xcode, "4.7.1");
	ck_assert_str_eq(v.text, "Rate limit exceeded, try again in 3600 "
	    "seconds");
	ck_assert_ptr_eq(v.over, &chk[1]);
	ck_assert_str_eq(v.reason, "limit daily (client-ip 1000/1d burst 0 "
	    "messages) exceeded with others, retry after 3600s");
	/* a reject limit over wins, with its own text */
	res[2].retry_after = 5;
	rl_decide(&kc, chk, res, 3, &v);
	ck_assert_int_eq(v.action, FD_REJECT);
	ck_assert_str_eq(v.rcode, "550");
	ck_assert_str_eq(v.xcode, "5.7.1");
	ck_assert_str_eq(v.text, "s: 10/1h for sender");
	/* only the first over: it is named alone */
	res[1].retry_after = 0;
	res[2].retry_after = 0;
	rl_decide(&kc, chk, res, 3, &v);
	ck_assert_str_eq(v.text, "Rate limit exceeded, try again in 7 "
	    "seconds");
	ck_assert_str_eq(v.reason, "limit client-ip-messages-1m (client-ip "
	    "60/1m burst 0 messages) exceeded, retry after 7s");
	rl_conf_clear(&kc);
}
END_TEST

START_TEST(expand)
{
	struct rl_limit		 l;
	struct rl_checked	 c;
	char			 out[16];

	memset(&l, 0, sizeof(l));
	strcpy(l.name, "n");
	c.limit = &l;
	c.rate.count = 5, c.rate.period = 90;
	rl_expand(out, sizeof(out), "{rate} {name} {", &c, 1);
	ck_assert_str_eq(out, "5/90s n {");
	rl_expand(out, sizeof(out), "wait {retry-after} seconds", &c, 12345);
	ck_assert_str_eq(out, "wait 12345 seco");	/* truncated */
	rl_expand(out, 6, "{retry-after}", &c, 123456789);
	ck_assert_str_eq(out, "12345");
}
END_TEST

/* stage_state - a state over the block text */
static struct rl_state *
stage_state(const char *text)
{
	struct rl_state	*st = calloc(1, sizeof(*st));

	st->host = &host;
	ck_assert_msg(parse(text, &st->conf) == 0, "%s",
	    nerrs ? errs[0] : "");
	return st;
}

static void
stage_free(struct rl_state *st)
{
	rl_conf_clear(&st->conf);
	free(st);
}

START_TEST(stage_one_call)
{
	struct rl_state	*st;
	struct fd_txn	 t;

	st = stage_state("limit client-ip 60/1m;"
	    "limit client-ip 1000/1d name daily;"
	    "limit sender-domain 200/1h recipients burst 50;"
	    "limit auth-user 100/1h name users;"
	    "limit client-ip 5/1s connections;"
	    "limit recipient 20/1h;");
	memset(&t, 0, sizeof(t));
	t.iplen = 4;
	memcpy(t.ip, "\xc0\x00\x02\x01", 4);
	t.sender = "a@example.com";
	t.rcpt = "b@example.net";

	/* connect: the connection limit alone */
	reset();
	ck_assert_int_eq(rl_stage_run(st, &t, RL_C_CONNECTIONS), FD_CONTINUE);
	ck_assert_int_eq(calls, 1);
	ck_assert_uint_eq(ngot, 1);
	ck_assert_uint_eq(got[0].limit, 5);
	ck_assert_int_eq(got[0].period, 1);

	/* MAIL: both client-ip message limits in one call; the auth-user
	 * limit does not apply to an unauthenticated session */
	reset();
	ck_assert_int_eq(rl_stage_run(st, &t, RL_C_MESSAGES), FD_CONTINUE);
	ck_assert_int_eq(calls, 1);
	ck_assert_uint_eq(ngot, 2);
	ck_assert_uint_eq(got[0].limit, 60);
	ck_assert_int_eq(got[0].period, 60);
	ck_assert_uint_eq(got[0].cost, 1);
	ck_assert_uint_eq(got[1].limit, 1000);
	ck_assert_int_eq(got[1].period, 86400);
	t.auth_user = "u";
	reset();
	ck_assert_int_eq(rl_stage_run(st, &t, RL_C_MESSAGES), FD_CONTINUE);
	ck_assert_uint_eq(ngot, 3);
	ck_assert_uint_eq(got[2].limit, 100);

	/* RCPT: sender-domain with its burst, and the recipient */
	reset();
	ck_assert_int_eq(rl_stage_run(st, &t, RL_C_RECIPIENTS), FD_CONTINUE);
	ck_assert_int_eq(calls, 1);
	ck_assert_uint_eq(ngot, 2);
	ck_assert_uint_eq(got[0].limit, 200);
	ck_assert_uint_eq(got[0].burst, 50);
	ck_assert_uint_eq(got[1].limit, 20);
	ck_assert_int_eq(memcmp(got[1].key, "ratelimit\0recipient-recipients"
	    "-1h\0eb@example.net", got[1].keylen), 0);

	/* nothing applies: no store call at all */
	t.sender = "";
	t.rcpt = NULL;
	reset();
	ck_assert_int_eq(rl_stage_run(st, &t, RL_C_RECIPIENTS), FD_CONTINUE);
	ck_assert_int_eq(calls, 0);
	stage_free(st);
}
END_TEST

START_TEST(stage_refused)
{
	struct rl_state	*st;
	struct fd_txn	 t;

	st = stage_state("tempfail-code 450;"
	    "limit client-ip 60/1m;"
	    "limit client-ip 1000/1d name daily;");
	memset(&t, 0, sizeof(t));
	t.iplen = 16;
	t.ip[0] = 0x20;
	reset();
	answer[0].allowed = answer[1].allowed = 0;
	answer[1].retry_after = 42;
	ck_assert_int_eq(rl_stage_run(st, &t, RL_C_MESSAGES), FD_TEMPFAIL);
	ck_assert_str_eq(t.rcode, "450");
	ck_assert_str_eq(t.xcode, "4.7.1");
	ck_assert_str_eq(t.text, "Rate limit exceeded, try again in 42 "
	    "seconds");
	ck_assert_str_eq(t.reason, "limit daily (client-ip 1000/1d burst 0 "
	    "messages) exceeded, retry after 42s");

	/* the store down: FD_ERROR, the host applies the policy */
	reset();
	store_rc = FD_STORE_ERR;
	ck_assert_int_eq(rl_stage_run(st, &t, RL_C_MESSAGES), FD_ERROR);
	ck_assert_str_eq(t.reason, "store error checking 2 rate limits");
	stage_free(st);
}
END_TEST

START_TEST(stage_params)
{
	struct rl_state	*st;
	struct fd_txn	 t;

	st = stage_state("limit client-ip 60/1m burst 6;"
	    "limit client-ip 1000/1d name daily;");
	memset(&t, 0, sizeof(t));
	t.iplen = 4;

	/* factor 10 for a trusted network, daily replaced outright */
	t.pname[0] = "factor", t.pval[0] = "10";
	t.pname[1] = "daily", t.pval[1] = "50000/1d";
	reset();
	ck_assert_int_eq(rl_stage_run(st, &t, RL_C_MESSAGES), FD_CONTINUE);
	ck_assert_uint_eq(ngot, 2);
	ck_assert_uint_eq(got[0].limit, 600);
	ck_assert_uint_eq(got[0].burst, 60);
	ck_assert_uint_eq(got[1].limit, 50000);

	/* a limit switched off by name, made-up names work too */
	t.pval[1] = "off";
	t.pname[2] = "client-ip-messages-1m", t.pval[2] = "1/1s";
	reset();
	ck_assert_int_eq(rl_stage_run(st, &t, RL_C_MESSAGES), FD_CONTINUE);
	ck_assert_uint_eq(ngot, 1);
	ck_assert_uint_eq(got[0].limit, 1);
	ck_assert_int_eq(got[0].period, 1);

	/* a bad value is ignored and logged once */
	t.pval[0] = "lots";
	t.pname[1] = t.pname[2] = NULL;
	reset();
	ck_assert_int_eq(rl_stage_run(st, &t, RL_C_MESSAGES), FD_CONTINUE);
	ck_assert_uint_eq(got[0].limit, 60);
	ck_assert_str_eq(logged, "rule parameter ratelimit.factor \"lots\" "
	    "ignored: factor: expected a positive number like 10 or 0.5 "
	    "(logged once per configuration)");
	reset();
	ck_assert_int_eq(rl_stage_run(st, &t, RL_C_MESSAGES), FD_CONTINUE);
	ck_assert_str_eq(logged, "");
	stage_free(st);
}
END_TEST

static Suite *
ratelimit_suite(void)
{
	Suite	*s = suite_create("ratelimit");
	TCase	*tc;

	tc = tcase_create("spec");
	tcase_add_test(tc, rate_good);
	tcase_add_test(tc, rate_bad);
	tcase_add_test(tc, rate_check);
	tcase_add_test(tc, factor);
	tcase_add_test(tc, conf_issue_example);
	tcase_add_test(tc, conf_everything);
	tcase_add_test(tc, conf_errors);
	tcase_add_test(tc, messages_at_eom_stages);
	tcase_add_test(tc, conf_all_errors_at_once);
	tcase_add_test(tc, conf_stage_max);
	tcase_add_test(tc, conf_empty);
	suite_add_tcase(s, tc);

	tc = tcase_create("key");
	tcase_add_test(tc, key_client_ip);
	tcase_add_test(tc, key_prefixes);
	tcase_add_test(tc, ip_mask);
	tcase_add_test(tc, key_addresses);
	tcase_add_test(tc, key_auth_helo);
	tcase_add_test(tc, key_only_and_identity);
	tcase_add_test(tc, key_long);
	suite_add_tcase(s, tc);

	tc = tcase_create("stage");
	tcase_add_test(tc, effective);
	tcase_add_test(tc, decide);
	tcase_add_test(tc, expand);
	tcase_add_test(tc, stage_one_call);
	tcase_add_test(tc, stage_refused);
	tcase_add_test(tc, stage_params);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(ratelimit_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
