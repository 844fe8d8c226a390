/*
 * rl_spec.c -- parse the ratelimit block: limits, prefixes, reply texts
 *
 *	plugin ratelimit {
 *		ipv4-prefix 32;			# client-ip limits: bits kept
 *		ipv6-prefix 64;
 *		tempfail-code 451;		# or 450
 *		message "Too many messages, try again in {retry-after} seconds";
 *		reject-message "Sending rate exceeded";
 *		limit client-ip 60/1m;
 *		limit client-ip 1000/1d name ip-daily;
 *		limit sender-domain 200/1h recipients burst 50 action reject;
 *	}
 *
 * A limit is `limit KEY RATE [OPTION ...]`, options in any order:
 * [per] connections|messages|recipients, burst N, action tempfail|reject,
 * name NAME, ipv4-prefix N, ipv6-prefix N, only authenticated|
 * unauthenticated, message "text". Block-wide settings apply to every
 * limit that does not set its own, wherever they are written in the
 * block, so the order of directives never matters.
 *
 * The limits of one stage go to the store in one call that the store
 * serves with GCRA in integer microseconds; rl_rate_check refuses at load
 * time what it would refuse at run time, so a valid config never fails
 * in the store for being out of range.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rl_spec.h"

#define US		RL_US
#define GCRA_MAX	RL_GCRA_MAX

static const char *key_names[RL_K_MAX] = {
	"client-ip", "sender", "sender-domain", "auth-user", "recipient", "helo"
};
static const char *count_names[RL_C_MAX] = {
	"connections", "messages", "recipients"
};

/* placeholders a reply text may hold; see rl_reply.c */
static const char *placeholders[] = {
	"{retry-after}", "{name}", "{rate}", "{key}"
};

const char *
rl_key_name(enum rl_key k)
{
	return (unsigned)k < RL_K_MAX ? key_names[k] : "?";
}

const char *
rl_count_name(enum rl_count c)
{
	return (unsigned)c < RL_C_MAX ? count_names[c] : "?";
}

/* lookup - index of s in names[n], or -1 */
static int
lookup(const char *s, const char *const *names, int n)
{
	int	 i;

	for (i = 0; i < n; i++)
		if (strcmp(s, names[i]) == 0)
			return i;
	return -1;
}

/* parse_u64 - plain decimal digits, at most max; 0 or -1 */
static int
parse_u64(const char *s, uint64_t max, uint64_t *out, const char **end)
{
	uint64_t	 v = 0;
	const char	*p = s;

	if (*p < '0' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > (max - (uint64_t)(*p - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	if (end != NULL)
		*end = p;
	else if (*p != '\0')
		return -1;
	*out = v;
	return 0;
}

/* unit_mul - seconds in the unit "s", "m", "h", "d" or "w"; 0 if none */
static int64_t
unit_mul(const char *u)
{
	static const struct { char unit; int64_t mul; } units[] = {
		{ 's', 1 }, { 'm', 60 }, { 'h', 3600 }, { 'd', 86400 },
		{ 'w', 604800 },
	};
	size_t	 i;

	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (u[0] == units[i].unit && u[1] == '\0')
			return units[i].mul;
	return 0;
}

/* parse_period - "1m", "m", "30s", "90", "2h", "1d", "1w" into seconds */
static int
parse_period(const char *s, int64_t *secs, const char **why)
{
	const char	*end = s;
	uint64_t	 n = 1;
	int64_t		 mul;

	if (*s >= '0' && *s <= '9' &&
	    parse_u64(s, GCRA_MAX / US, &n, &end) < 0) {
		*why = "period too long";
		return -1;
	}
	if (*end == '\0' && end != s)
		mul = 1;
	else if ((mul = unit_mul(end)) == 0) {
		*why = "period: expected a number with s, m, h, d or w (1m, "
		    "30s, 1d)";
		return -1;
	}
	if (n > (uint64_t)(GCRA_MAX / US / mul)) {
		*why = "period too long";
		return -1;
	}
	if (n == 0) {
		*why = "period must be at least one second";
		return -1;
	}
	*secs = (int64_t)n * mul;
	return 0;
}

int
rl_rate_parse(const char *s, struct rl_rate *r, const char **why)
{
	const char	*slash;
	uint64_t	 n;

	if ((slash = strchr(s, '/')) == NULL) {
		*why = "expected a rate COUNT/PERIOD, like 60/1m";
		return -1;
	}
	if (parse_u64(s, UINT32_MAX, &n, &s) < 0 || s != slash) {
		*why = "rate: the count before '/' must be a whole number "
		    "below 2^32";
		return -1;
	}
	if (n == 0) {
		*why = "rate: a count of 0 allows nothing (use a rule to "
		    "reject)";
		return -1;
	}
	if (parse_period(slash + 1, &r->period, why) < 0)
		return -1;
	r->count = (uint32_t)n;
	return 0;
}

int
rl_rate_check(const struct rl_rate *r, uint32_t burst, const char **why)
{
	int64_t	 interval;

	if (r->count == 0 || r->period <= 0 || r->period > GCRA_MAX / US) {
		*why = "rate out of range";
		return -1;
	}
	interval = r->period * US / r->count;
	if (interval == 0) {
		*why = "rate: more than a million events per second";
		return -1;
	}
	if ((int64_t)r->count + burst > GCRA_MAX / interval) {
		*why = "rate and burst too large for the store";
		return -1;
	}
	return 0;
}

int
rl_factor_parse(const char *s, uint64_t *milli, const char **why)
{
	const char	*p;
	uint64_t	 whole, frac = 0;
	int		 digits = 0;

	*why = "factor: expected a positive number like 10 or 0.5";
	if (parse_u64(s, 1000000, &whole, &p) < 0)
		return -1;
	if (*p == '.') {
		for (p++; *p >= '0' && *p <= '9'; p++) {
			if (++digits > 3)
				return -1;
			frac = frac * 10 + (uint64_t)(*p - '0');
		}
		if (digits == 0)
			return -1;
		for (; digits < 3; digits++)
			frac *= 10;
	}
	if (*p != '\0' || whole * 1000 + frac == 0)
		return -1;
	*milli = whole * 1000 + frac;
	return 0;
}

int
rl_off(const char *s)
{
	return strcmp(s, "off") == 0 || strcmp(s, "none") == 0 ||
	    strcmp(s, "unlimited") == 0;
}

uint32_t
rl_count_stage(enum rl_count c)
{
	switch (c) {
	case RL_C_CONNECTIONS:
		return FD_ST_CONNECT;
	case RL_C_MESSAGES:
		return FD_ST_MAIL;
	default:
		return FD_ST_RCPT;
	}
}

/* name_ok - letters, digits, '-', '_', '.'; not a reserved word */
static int
name_ok(const char *s)
{
	const char	*p;

	if (*s == '\0' || strlen(s) >= RL_NAME_MAX || strcmp(s, "factor") == 0)
		return 0;
	for (p = s; *p != '\0'; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' ||
		    *p == '.'))
			return 0;
	return 1;
}

/* text_why - NULL if s may be a reply text, else what is wrong */
static const char *
text_why(const char *s)
{
	const char	*p;
	size_t		 i, n;

	if (strlen(s) > RL_TEXT_MAX)
		return "text too long";
	for (p = s; *p != '\0'; p++) {
		if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
			return "text must be printable ASCII on one line";
		if (*p != '{')
			continue;
		for (i = 0; i < sizeof(placeholders) / sizeof(placeholders[0]);
		    i++) {
			n = strlen(placeholders[i]);
			if (strncmp(p, placeholders[i], n) == 0)
				break;
		}
		if (i == sizeof(placeholders) / sizeof(placeholders[0]))
			return "unknown placeholder (use {retry-after}, "
			    "{name}, {rate} or {key})";
	}
	return NULL;
}

/* set_text - replace *dst with argument i of d; 0 or -1 */
static int
set_text(const struct fd_host *h, const struct fd_directive *d, int i,
    const char *what, char **dst)
{
	const char	*s = h->dir_arg(d, i), *why;

	if (s == NULL) {
		h->conf_error(h, d, -1, "%s: expected a \"text\"", what);
		return -1;
	}
	if ((why = text_why(s)) != NULL) {
		h->conf_error(h, d, i, "%s: %s", what, why);
		return -1;
	}
	free(*dst);
	if ((*dst = strdup(s)) == NULL) {
		h->conf_error(h, d, i, "%s: out of memory", what);
		return -1;
	}
	return 0;
}

/* arg_prefix - argument i of d as a prefix length up to max */
static int
arg_prefix(const struct fd_host *h, const struct fd_directive *d, int i,
    int max, const char *what, int *out)
{
	const char	*s = h->dir_arg(d, i);
	uint64_t	 v;

	if (s == NULL) {
		h->conf_error(h, d, -1, "%s: expected a prefix length 0-%d",
		    what, max);
		return -1;
	}
	if (parse_u64(s, (uint64_t)max, &v, NULL) < 0) {
		h->conf_error(h, d, i, "%s: \"%s\" is not a prefix length "
		    "0-%d", what, s, max);
		return -1;
	}
	*out = (int)v;
	return 0;
}

/* nargs - a block-wide directive takes exactly n arguments */
static int
nargs(const struct fd_host *h, const struct fd_directive *d, int n)
{
	if (h->dir_argc(d) == n)
		return 0;
	h->conf_error(h, d, h->dir_argc(d) > n ? n : -1,
	    "%s: expected %d argument%s", h->dir_name(d), n, n == 1 ? "" : "s");
	return -1;
}

/*
 * Options of a limit taking a value: each gets the value's argument
 * index i and returns 0, or -1 after reporting.
 */
typedef int (*opt_fn)(const struct fd_host *, const struct fd_directive *,
    int i, struct rl_limit *);

/* burst_max - the largest burst the store's bucket holds at rate r (the
 * rate is parsed before any option, and rl_rate_check passed it) */
static uint64_t
burst_max(const struct rl_rate *r)
{
	int64_t	 interval = r->period * US / r->count;

	return (uint64_t)(GCRA_MAX / interval) - r->count;
}

static int
opt_burst(const struct fd_host *h, const struct fd_directive *d, int i,
    struct rl_limit *l)
{
	uint64_t	 b;
	char		 per[32];

	if (parse_u64(h->dir_arg(d, i), UINT32_MAX, &b, NULL) < 0) {
		h->conf_error(h, d, i, "limit: burst: \"%s\" is not a whole "
		    "number below 2^32", h->dir_arg(d, i));
		return -1;
	}
	if (b > burst_max(&l->rate)) {
		rl_period_text(per, sizeof(per), l->rate.period);
		h->conf_error(h, d, i, "limit: burst: at most %llu at a rate "
		    "of %lu/%s", (unsigned long long)burst_max(&l->rate),
		    (unsigned long)l->rate.count, per);
		return -1;
	}
	l->burst = (uint32_t)b;
	return 0;
}

static int
opt_action(const struct fd_host *h, const struct fd_directive *d, int i,
    struct rl_limit *l)
{
	static const char *const acts[] = { "tempfail", "reject" };
	int	 a = lookup(h->dir_arg(d, i), acts, 2);

	if (a < 0) {
		h->conf_error(h, d, i, "limit: action: expected tempfail or "
		    "reject");
		return -1;
	}
	l->act = (enum rl_act)a;
	return 0;
}

static int
opt_name(const struct fd_host *h, const struct fd_directive *d, int i,
    struct rl_limit *l)
{
	const char	*val = h->dir_arg(d, i);

	if (!name_ok(val)) {
		h->conf_error(h, d, i, "limit: name: \"%s\": use letters, "
		    "digits, '-', '_' or '.' (not \"factor\")", val);
		return -1;
	}
	snprintf(l->name, sizeof(l->name), "%s", val);
	l->named = 1;
	return 0;
}

static int
opt_only(const struct fd_host *h, const struct fd_directive *d, int i,
    struct rl_limit *l)
{
	static const char *const who[] = { "authenticated",
	    "unauthenticated" };
	int	 w = lookup(h->dir_arg(d, i), who, 2);

	if (w < 0) {
		h->conf_error(h, d, i, "limit: only: expected authenticated "
		    "or unauthenticated");
		return -1;
	}
	l->only = w == 0 ? RL_O_AUTH : RL_O_UNAUTH;
	return 0;
}

static int
opt_message(const struct fd_host *h, const struct fd_directive *d, int i,
    struct rl_limit *l)
{
	return set_text(h, d, i, "limit: message", &l->text);
}

static int
opt_v4prefix(const struct fd_host *h, const struct fd_directive *d, int i,
    struct rl_limit *l)
{
	return arg_prefix(h, d, i, 32, "limit: ipv4-prefix", &l->v4prefix);
}

static int
opt_v6prefix(const struct fd_host *h, const struct fd_directive *d, int i,
    struct rl_limit *l)
{
	return arg_prefix(h, d, i, 128, "limit: ipv6-prefix", &l->v6prefix);
}

static const struct {
	const char	*name;
	opt_fn		 fn;
} limit_opts[] = {
	{ "burst", opt_burst }, { "action", opt_action }, { "name", opt_name },
	{ "only", opt_only }, { "message", opt_message },
	{ "ipv4-prefix", opt_v4prefix }, { "ipv6-prefix", opt_v6prefix },
};

/*
 * limit_counter - `[per] connections|messages|recipients` at argument
 * *i, if that is what it is: 1 and *i advanced past it, 0 if it is
 * another option, -1 after reporting. *counted keeps where the counter
 * was given, for later messages.
 */
static int
limit_counter(const struct fd_host *h, const struct fd_directive *d, int *i,
    struct rl_limit *l, int *counted)
{
	const char	*w = h->dir_arg(d, *i);
	int		 c, at = *i;

	if ((c = lookup(w, count_names, RL_C_MAX)) < 0) {
		if (strcmp(w, "per") != 0)
			return 0;
		w = h->dir_arg(d, ++at);
		if (w == NULL || (c = lookup(w, count_names, RL_C_MAX)) < 0) {
			h->conf_error(h, d, w != NULL ? at : -1, "limit: per: "
			    "expected connections, messages or recipients");
			return -1;
		}
	}
	if (*counted) {
		h->conf_error(h, d, at, "limit: counted twice");
		return -1;
	}
	*counted = at;
	l->count = (enum rl_count)c;
	*i = at + 1;
	return 1;
}

/*
 * limit_option - the option at argument *i; *i advanced past it. *seen
 * has a bit per option of limit_opts given: a second one is an error, as
 * a second counter is, rather than a silent change of the first.
 */
static int
limit_option(const struct fd_host *h, const struct fd_directive *d, int *i,
    struct rl_limit *l, int *counted, unsigned *seen)
{
	const char	*opt = h->dir_arg(d, *i);
	size_t		 k;
	int		 rc, at = *i;

	if ((rc = limit_counter(h, d, i, l, counted)) != 0)
		return rc < 0 ? -1 : 0;
	for (k = 0; k < sizeof(limit_opts) / sizeof(limit_opts[0]); k++)
		if (strcmp(opt, limit_opts[k].name) == 0)
			break;
	if (k == sizeof(limit_opts) / sizeof(limit_opts[0])) {
		h->conf_error(h, d, at, "limit: unknown option \"%s\"", opt);
		return -1;
	}
	if (*seen & (1u << k)) {
		h->conf_error(h, d, at, "limit: %s given twice", opt);
		return -1;
	}
	*seen |= 1u << k;
	if (h->dir_arg(d, at + 1) == NULL) {
		h->conf_error(h, d, at, "limit: %s: missing value", opt);
		return -1;
	}
	*i = at + 2;
	return limit_opts[k].fn(h, d, at + 1, l);
}

/* limit_fits - the limit's combination of key and counter makes sense */
static int
limit_fits(const struct fd_host *h, const struct fd_directive *d,
    const struct rl_limit *l, int counted)
{
	if (l->count == RL_C_CONNECTIONS && l->key != RL_K_CLIENT_IP) {
		h->conf_error(h, d, counted, "limit: only client-ip limits can "
		    "count connections (they are decided at connect, before "
		    "%s is known)", rl_key_name(l->key));
		return -1;
	}
	if (l->key == RL_K_RCPT && l->count != RL_C_RECIPIENTS) {
		h->conf_error(h, d, counted, "limit: a recipient limit counts "
		    "recipients (one per RCPT)");
		return -1;
	}
	if (l->count == RL_C_CONNECTIONS && l->only == RL_O_AUTH) {
		h->conf_error(h, d, counted, "limit: connections are decided "
		    "at connect, before any login: only authenticated would "
		    "never apply");
		return -1;
	}
	if (l->key == RL_K_AUTH_USER && l->only == RL_O_UNAUTH) {
		h->conf_error(h, d, 0, "limit: an auth-user limit never "
		    "applies to unauthenticated sessions");
		return -1;
	}
	return 0;
}

/* parse_limit - `limit KEY RATE [OPTION ...]` into l */
static int
parse_limit(const struct fd_host *h, const struct fd_directive *d,
    struct rl_limit *l)
{
	const char	*s, *why;
	int		 i, k, counted = 0;
	unsigned	 seen = 0;

	memset(l, 0, sizeof(*l));
	l->v4prefix = l->v6prefix = -1;
	if (h->dir_argc(d) < 2) {
		h->conf_error(h, d, -1, "limit: expected KEY RATE, like "
		    "\"limit client-ip 60/1m\"");
		return -1;
	}
	s = h->dir_arg(d, 0);
	if ((k = lookup(s, key_names, RL_K_MAX)) < 0) {
		h->conf_error(h, d, 0, "limit: unknown key \"%s\" (use "
		    "client-ip, sender, sender-domain, auth-user, recipient or "
		    "helo)", s);
		return -1;
	}
	l->key = (enum rl_key)k;
	l->count = l->key == RL_K_RCPT ? RL_C_RECIPIENTS : RL_C_MESSAGES;
	if (rl_rate_parse(h->dir_arg(d, 1), &l->rate, &why) < 0) {
		h->conf_error(h, d, 1, "limit: \"%s\": %s", h->dir_arg(d, 1),
		    why);
		return -1;
	}
	/* before the options: burst is checked against this rate */
	if (rl_rate_check(&l->rate, 0, &why) < 0) {
		h->conf_error(h, d, 1, "limit: %s", why);
		return -1;
	}
	for (i = 2; i < h->dir_argc(d); )
		if (limit_option(h, d, &i, l, &counted, &seen) < 0)
			return -1;
	if ((l->v4prefix >= 0 || l->v6prefix >= 0) &&
	    l->key != RL_K_CLIENT_IP) {
		h->conf_error(h, d, 0, "limit: ipv4-prefix and ipv6-prefix "
		    "apply to client-ip limits only");
		return -1;
	}
	return limit_fits(h, d, l, counted);
}

void
rl_period_text(char *buf, size_t len, int64_t secs)
{
	static const struct { char unit; int64_t mul; } units[] = {
		{ 'w', 604800 }, { 'd', 86400 }, { 'h', 3600 }, { 'm', 60 },
	};
	size_t	 i;

	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (secs % units[i].mul == 0) {
			snprintf(buf, len, "%lld%c",
			    (long long)(secs / units[i].mul), units[i].unit);
			return;
		}
	}
	snprintf(buf, len, "%llds", (long long)secs);
}

/*
 * finish - give unnamed limits their name (KEY-COUNTED-PERIOD, e.g.
 * client-ip-messages-1m), fill in block-wide defaults, and check that
 * names are unique and no stage has more limits than one store call
 * takes. The name is the limit's identity in the store: it does not
 * hold the count, so changing 60/1m to 100/1m keeps the counter.
 */
static int
finish(const struct fd_host *h, struct rl_conf *c,
    const struct fd_directive **dirs)
{
	char		 per[32];
	size_t		 i, j, nstage[3] = { 0, 0, 0 };
	int		 rc = 0;
	uint32_t	 st;

	for (i = 0; i < c->nlimits; i++) {
		struct rl_limit *l = &c->limits[i];

		if (!l->named) {
			rl_period_text(per, sizeof(per), l->rate.period);
			snprintf(l->name, sizeof(l->name), "%s-%s-%s",
			    rl_key_name(l->key), rl_count_name(l->count), per);
		}
		if (l->v4prefix < 0)
			l->v4prefix = c->v4prefix;
		if (l->v6prefix < 0)
			l->v6prefix = c->v6prefix;
		st = rl_count_stage(l->count);
		if (l->count == RL_C_MESSAGES && c->messages_at_rcpt)
			st = FD_ST_RCPT;
		else if (l->count == RL_C_MESSAGES && c->messages_at_eom)
			st = FD_ST_EOM;
		c->stages |= st;
		if (++nstage[l->count] == RL_STAGE_MAX + 1) {
			h->conf_error(h, dirs[i], -1, "limit: more than %d "
			    "limits count %s", RL_STAGE_MAX,
			    rl_count_name(l->count));
			rc = -1;
		} else if (c->messages_at_rcpt && l->count != RL_C_CONNECTIONS &&
		    nstage[RL_C_MESSAGES] + nstage[RL_C_RECIPIENTS] ==
		    RL_STAGE_MAX + 1) {
			h->conf_error(h, dirs[i], -1, "limit: more than %d "
			    "limits count messages and recipients, which "
			    "decide-messages-at rcpt checks together",
			    RL_STAGE_MAX);
			rc = -1;
		}
		for (j = 0; j < i; j++) {
			if (strcmp(c->limits[j].name, l->name) != 0)
				continue;
			h->conf_error(h, dirs[i], -1, "limit: another limit is "
			    "named \"%s\"; give this one its own `name`",
			    l->name);
			rc = -1;
			break;
		}
	}
	return rc;
}

/* add_limit - append a parsed limit to c */
static int
add_limit(struct rl_conf *c, const struct rl_limit *l,
    const struct fd_directive ***dirs, const struct fd_directive *d)
{
	struct rl_limit			 *nl;
	const struct fd_directive	**nd;

	nl = realloc(c->limits, (c->nlimits + 1) * sizeof(*nl));
	if (nl == NULL)
		return -1;
	c->limits = nl;
	nd = realloc(*dirs, (c->nlimits + 1) * sizeof(*nd));
	if (nd == NULL)
		return -1;
	*dirs = nd;
	nd[c->nlimits] = d;
	nl[c->nlimits++] = *l;
	return 0;
}

/*
 * One function per directive of the block, each with the same arguments;
 * the table below names them once, for parsing and for a mistyped one's
 * hint.
 */
typedef int dir_fn(const struct fd_host *, const struct fd_directive *,
    struct rl_conf *, const struct fd_directive ***);

static int
dir_limit(const struct fd_host *h, const struct fd_directive *d,
    struct rl_conf *c, const struct fd_directive ***dirs)
{
	struct rl_limit	 l;

	if (parse_limit(h, d, &l) < 0) {
		free(l.text);
		return -1;
	}
	if (add_limit(c, &l, dirs, d) < 0) {
		free(l.text);
		h->conf_error(h, d, -1, "limit: out of memory");
		return -1;
	}
	return 0;
}

static int
dir_ipv4_prefix(const struct fd_host *h, const struct fd_directive *d,
    struct rl_conf *c, const struct fd_directive ***dirs)
{
	(void)dirs;
	return nargs(h, d, 1) < 0 ? -1 :
	    arg_prefix(h, d, 0, 32, "ipv4-prefix", &c->v4prefix);
}

static int
dir_ipv6_prefix(const struct fd_host *h, const struct fd_directive *d,
    struct rl_conf *c, const struct fd_directive ***dirs)
{
	(void)dirs;
	return nargs(h, d, 1) < 0 ? -1 :
	    arg_prefix(h, d, 0, 128, "ipv6-prefix", &c->v6prefix);
}

static int
dir_tempfail_code(const struct fd_host *h, const struct fd_directive *d,
    struct rl_conf *c, const struct fd_directive ***dirs)
{
	(void)dirs;
	if (nargs(h, d, 1) < 0)
		return -1;
	if (strcmp(h->dir_arg(d, 0), "451") != 0 &&
	    strcmp(h->dir_arg(d, 0), "450") != 0) {
		h->conf_error(h, d, 0, "tempfail-code: expected 451 or 450");
		return -1;
	}
	memcpy(c->tempfail_code, h->dir_arg(d, 0), 4);
	return 0;
}

static int
dir_decide_messages_at(const struct fd_host *h, const struct fd_directive *d,
    struct rl_conf *c, const struct fd_directive ***dirs)
{
	const char	*at;

	(void)dirs;
	if (nargs(h, d, 1) < 0)
		return -1;
	at = h->dir_arg(d, 0);
	if (strcmp(at, "mail") != 0 && strcmp(at, "rcpt") != 0 &&
	    strcmp(at, "eom") != 0) {
		h->conf_error(h, d, 0, "decide-messages-at: expected mail, "
		    "rcpt or eom");
		return -1;
	}
	c->messages_at_rcpt = strcmp(at, "rcpt") == 0;
	c->messages_at_eom = strcmp(at, "eom") == 0;
	return 0;
}

static int
dir_message(const struct fd_host *h, const struct fd_directive *d,
    struct rl_conf *c, const struct fd_directive ***dirs)
{
	(void)dirs;
	return nargs(h, d, 1) < 0 ? -1 :
	    set_text(h, d, 0, "message", &c->tempfail_text);
}

static int
dir_reject_message(const struct fd_host *h, const struct fd_directive *d,
    struct rl_conf *c, const struct fd_directive ***dirs)
{
	(void)dirs;
	return nargs(h, d, 1) < 0 ? -1 :
	    set_text(h, d, 0, "reject-message", &c->reject_text);
}

static const struct {
	const char	*name;
	dir_fn		*fn;
} directives[] = {
	{ "limit", dir_limit },
	{ "ipv4-prefix", dir_ipv4_prefix },
	{ "ipv6-prefix", dir_ipv6_prefix },
	{ "tempfail-code", dir_tempfail_code },
	{ "decide-messages-at", dir_decide_messages_at },
	{ "message", dir_message },
	{ "reject-message", dir_reject_message },
};
#define NDIRECTIVES	(sizeof(directives) / sizeof(directives[0]))

/* directive - one directive of the block; 0 or -1 after reporting */
static int
directive(const struct fd_host *h, const struct fd_directive *d,
    struct rl_conf *c, const struct fd_directive ***dirs)
{
	const char	*name = h->dir_name(d), *known[NDIRECTIVES + 1];
	size_t		 i;

	for (i = 0; i < NDIRECTIVES; i++) {
		if (strcmp(name, directives[i].name) == 0)
			return directives[i].fn(h, d, c, dirs);
		known[i] = directives[i].name;
	}
	known[NDIRECTIVES] = NULL;
	h->conf_unknown(h, d, known);
	return -1;
}

/*
 * given_before - a directive other than `limit` that an earlier line of
 * the block gave already: each sets one value, and a second one would
 * silently undo the first
 */
static int
given_before(const struct fd_host *h, const struct fd_block *b,
    const struct fd_directive *d)
{
	const struct fd_directive	*e;
	const char			*name = h->dir_name(d);

	if (strcmp(name, "limit") == 0)
		return 0;
	for (e = h->dir_next(b, NULL); e != d; e = h->dir_next(b, e))
		if (strcmp(h->dir_name(e), name) == 0) {
			h->conf_error(h, d, -1, "\"%s\" is given more than "
			    "once", name);
			return 1;
		}
	return 0;
}

int
rl_conf_parse(const struct fd_host *h, const struct fd_block *b,
    struct rl_conf *c)
{
	const struct fd_directive	 *d, **dirs = NULL;
	int				  rc = 0;

	memset(c, 0, sizeof(*c));
	c->v4prefix = 32;
	c->v6prefix = 64;
	memcpy(c->tempfail_code, "451", 4);
	for (d = h->dir_next(b, NULL); d != NULL; d = h->dir_next(b, d))
		if (given_before(h, b, d) || directive(h, d, c, &dirs) < 0)
			rc = -1;
	if (finish(h, c, dirs) < 0)
		rc = -1;
	if (c->tempfail_text == NULL)
		c->tempfail_text = strdup("Rate limit exceeded, try again in "
		    "{retry-after} seconds");
	if (c->reject_text == NULL)
		c->reject_text = strdup("Rate limit exceeded");
	if (c->tempfail_text == NULL || c->reject_text == NULL)
		rc = -1;
	free(dirs);
	return rc;
}

void
rl_conf_clear(struct rl_conf *c)
{
	size_t	 i;

	for (i = 0; i < c->nlimits; i++)
		free(c->limits[i].text);
	free(c->limits);
	free(c->tempfail_text);
	free(c->reject_text);
	memset(c, 0, sizeof(*c));
}
