/*
 * grey_decide.c -- the greylist decision, see grey_decide.h
 *
 * Everything the decision needs from the outside comes through the host
 * table kept in the configuration: the transaction view, the rules'
 * overrides, the clock and one atomic store call per triplet
 * (host->grey_check creates, checks and updates a triplet and its
 * auto-whitelist counter in one round trip, so two MX hosts sharing a
 * Redis cannot both count one retry as the first).
 *
 * A store failure is not decided here: the hook returns FD_ERROR with a
 * reason and the host applies the plugin's on-store-error policy.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grey_addr.h"
#include "grey_client.h"
#include "grey_conf.h"
#include "grey_decide.h"
#include "grey_key.h"
#include "grey_text.h"

#define PLUGIN		"greylist"
#define CLIENT_MAX	GREY_CLIENT_MAX
#define NORM_STACK	256	/* on the stack up to this size */

/* param - a rule's `set greylist.NAME VALUE` for this message, or NULL */
static const char *
param(const struct grey_conf *c, struct fd_txn *t, const char *name)
{
	return c->host->param != NULL ? c->host->param(t, PLUGIN, name) : NULL;
}

/* bad_param - a rule set a value we cannot use: say so, keep the default */
static void
bad_param(const struct grey_conf *c, const struct fd_txn *t,
    const char *name, const char *v)
{
	char	 esc[128];

	c->host->log_txn(c->host, t, FD_LOG_WARN, "set greylist.%s \"%s\": "
	    "bad value, ignored", name, c->host->escape(esc, sizeof(esc), v,
	    strlen(v)));
}

/* param_duration - override *out with a duration param at least min */
static void
param_duration(const struct grey_conf *c, struct fd_txn *t, const char *name,
    int64_t *out, int64_t min)
{
	const char	*v = param(c, t, name);
	int64_t		 secs;

	if (v == NULL)
		return;
	if (grey_duration_parse(v, &secs) < 0 || secs < min)
		bad_param(c, t, name, v);
	else
		*out = secs;
}

/* param_bool - override *out with an on/off param */
static void
param_bool(const struct grey_conf *c, struct fd_txn *t, const char *name,
    int *out)
{
	const char	*v = param(c, t, name);
	int		 b;

	if (v == NULL)
		return;
	if (grey_bool_parse(v, &b) < 0)
		bad_param(c, t, name, v);
	else
		*out = b;
}

/* awl_value - `auto-whitelist`'s count, 0 for off; 0 or -1 */
static int
awl_value(const char *v, uint32_t *n)
{
	unsigned long	 u;
	char		*end;

	if (strcmp(v, "off") == 0) {
		*n = 0;
		return 0;
	}
	u = strtoul(v, &end, 10);
	if (*v < '0' || *v > '9' || *end != '\0' || u > 1000000)
		return -1;
	*n = (uint32_t)u;
	return 0;
}

/* message_ok - a reply text the MTA can send: known placeholders, one
 * line, no longer than the message directive allows */
static int
message_ok(const char *v)
{
	size_t	 pos;

	return grey_text_check(v, &pos) == 0 && strpbrk(v, "\r\n") == NULL &&
	    strlen(v) <= GREY_MESSAGE_MAX;
}

/* The parameters a rule may set, as docs/PLUGIN-GREYLIST.md lists them. */
enum set_kind { SK_DELAY, SK_DURATION, SK_AWL, SK_DECIDE, SK_BOOL, SK_TEXT };
static const struct {
	const char	*name;
	enum set_kind	 kind;
} set_params[] = {
	{ "delay",		SK_DELAY },
	{ "retry-window",	SK_DURATION },
	{ "whitelist-for",	SK_DURATION },
	{ "auto-whitelist",	SK_AWL },
	{ "auto-whitelist-for",	SK_DURATION },
	{ "decide-at",		SK_DECIDE },
	{ "header",		SK_BOOL },
	{ "message",		SK_TEXT },
};
#define NSET_PARAMS	(sizeof(set_params) / sizeof(set_params[0]))

int
grey_set_check(const char *param, const char *v, char *why, size_t len)
{
	int64_t		 secs;
	uint32_t	 n;
	size_t		 i;
	int		 b;

	for (i = 0; i < NSET_PARAMS; i++)
		if (strcmp(param, set_params[i].name) == 0)
			break;
	if (i == NSET_PARAMS) {
		snprintf(why, len, "no such parameter (delay, retry-window, "
		    "whitelist-for, auto-whitelist, auto-whitelist-for, "
		    "decide-at, header or message)");
		return FD_SET_BAD_PARAM;
	}
	switch (set_params[i].kind) {
	case SK_DELAY:
	case SK_DURATION:
		if (grey_duration_parse(v, &secs) < 0 ||
		    secs < (set_params[i].kind == SK_DELAY ? 0 : 1)) {
			snprintf(why, len, "expected a duration such as 90s, "
			    "5m or 2h%s", set_params[i].kind == SK_DELAY ? "" :
			    ", at least 1s");
			break;
		}
		/* the store keeps nothing past FD_STORE_TTL_MAX, and the
		 * retry-window stretched to a delay + 1s must fit too */
		if (secs <= FD_STORE_TTL_MAX -
		    (set_params[i].kind == SK_DELAY ? 1 : 0))
			return FD_SET_OK;
		snprintf(why, len, "%s %lldd (100 years), the longest the "
		    "store keeps an entry", set_params[i].kind == SK_DELAY ?
		    "below" : "at most", (long long)(FD_STORE_TTL_MAX / 86400));
		break;
	case SK_AWL:
		if (awl_value(v, &n) == 0)
			return FD_SET_OK;
		snprintf(why, len, "expected a count up to 1000000, or off");
		break;
	case SK_DECIDE:
		if (strcmp(v, "rcpt") == 0 || strcmp(v, "eom") == 0)
			return FD_SET_OK;
		snprintf(why, len, "expected rcpt or eom");
		break;
	case SK_BOOL:
		if (grey_bool_parse(v, &b) == 0)
			return FD_SET_OK;
		snprintf(why, len, "expected on or off");
		break;
	case SK_TEXT:
		if (message_ok(v))
			return FD_SET_OK;
		snprintf(why, len, "expected one line of at most %d "
		    "characters with the placeholders of message",
		    GREY_MESSAGE_MAX);
		break;
	}
	return FD_SET_BAD_VALUE;
}

void
grey_eff_get(const struct grey_conf *c, struct fd_txn *t,
    struct grey_eff *e)
{
	const char	*v;
	uint32_t	 n;

	e->delay = c->delay;
	e->retry_window = c->retry_window;
	e->pass_ttl = c->pass_ttl;
	e->awl_after = c->awl_after;
	e->awl_ttl = c->awl_ttl;
	e->decide_eom = c->decide_eom;
	e->header = c->header;
	e->message = c->message;
	param_duration(c, t, "delay", &e->delay, 0);
	param_duration(c, t, "retry-window", &e->retry_window, 1);
	param_duration(c, t, "whitelist-for", &e->pass_ttl, 1);
	param_duration(c, t, "auto-whitelist-for", &e->awl_ttl, 1);
	param_bool(c, t, "header", &e->header);
	if ((v = param(c, t, "auto-whitelist")) != NULL) {
		if (awl_value(v, &n) < 0)
			bad_param(c, t, "auto-whitelist", v);
		else
			e->awl_after = n;
	}
	if ((v = param(c, t, "decide-at")) != NULL) {
		if (strcmp(v, "rcpt") == 0 || strcmp(v, "eom") == 0)
			e->decide_eom = strcmp(v, "eom") == 0;
		else
			bad_param(c, t, "decide-at", v);
	}
	if ((v = param(c, t, "message")) != NULL) {
		if (message_ok(v))
			e->message = v;
		else
			bad_param(c, t, "message", v);
	}
	/* the store wants an unconfirmed entry to outlive the delay */
	if (e->retry_window <= e->delay)
		e->retry_window = e->delay + 1;
}

/* exempt_client - why this client is never greylisted, or NULL */
static const char *
exempt_client(const struct grey_conf *c, struct fd_txn *t)
{
	const struct fd_host	*h = c->host;
	unsigned char		 ip[16];
	const char		*user, *name;
	size_t			 n;

	if (c->skip_local && h->num(t, FD_N_CLIENT_LOCAL))
		return "local client";
	if (c->skip_auth && (user = h->get(t, FD_F_AUTH_USER)) != NULL &&
	    user[0] != '\0')
		return "authenticated client";
	if (c->wl_nets.n > 0 && (n = h->client_ip(t, ip)) > 0 &&
	    grey_nets_match(&c->wl_nets, ip, n) >= 0)
		return "whitelisted network";
	if (c->wl_domains.n > 0 && h->num(t, FD_N_CLIENT_VERIFIED) &&
	    (name = h->get(t, FD_F_CLIENT_NAME)) != NULL && name[0] != '[' &&
	    grey_names_domain(&c->wl_domains, name) >= 0)
		return "whitelisted client name";
	return NULL;
}

/* exempt_sender - the sender (as sent, or normalized) is whitelisted */
static int
exempt_sender(const struct grey_conf *c, const char *sender, const char *rcpt)
{
	char	 buf[NORM_STACK], *norm;
	size_t	 need, len;
	int	 hit;

	if (c->wl_senders.n == 0 || sender == NULL || sender[0] == '\0')
		return 0;
	if (grey_names_addr(&c->wl_senders, sender) >= 0)
		return 1;
	need = GREY_NORM_SIZE(strlen(sender));
	if ((norm = grey_work_get(buf, sizeof(buf), need)) == NULL)
		return 0;
	hit = grey_norm_sender_to(norm, need, sender, rcpt, c->norm, c->delims,
	    &len) == 0 && grey_names_addr(&c->wl_senders, norm) >= 0;
	grey_work_put(norm, buf);
	return hit;
}

/* exempt_rcpt - the recipient opted out of greylisting */
static int
exempt_rcpt(const struct grey_conf *c, const char *rcpt)
{
	return c->wl_rcpts.n > 0 && grey_names_addr(&c->wl_rcpts, rcpt) >= 0;
}

/* client_key - the client part of this connection's triplets */
static void
client_key(const struct grey_conf *c, struct fd_txn *t, char *out,
    size_t outlen)
{
	const struct fd_host	*h = c->host;
	unsigned char		 ip[16];
	struct grey_client	 cl;

	cl.iplen = h->client_ip(t, ip);
	cl.ip = ip;
	cl.name = h->get(t, FD_F_CLIENT_NAME);
	cl.verified = h->num(t, FD_N_CLIENT_VERIFIED) != 0;
	(void)grey_client_key(&c->client, &cl, out, outlen);
}

/* msg_client - the client key, worked out at the message's first need */
static const char *
msg_client(const struct grey_conf *c, struct fd_txn *t, struct grey_msg *m)
{
	if (!m->client_set) {
		client_key(c, t, m->client, sizeof(m->client));
		m->client_set = 1;
	}
	return m->client;
}

/* sender_of - the envelope sender, "" for the null sender */
static const char *
sender_of(const struct grey_conf *c, struct fd_txn *t)
{
	const char	*s = c->host->get(t, FD_F_SENDER);

	return s != NULL ? s : "";
}

/* keys_clear - release what k holds */
static void
keys_clear(struct grey_keys *k)
{
	free(k->heap);
	k->heap = NULL;
}

/*
 * keys_make - the triplet key and the auto-whitelist key (domain NULL:
 * per client) into k and req. Both go into k->buf when they fit, else
 * into one allocation made to measure. The awl key goes with the
 * auto-whitelist off too (awl_after 0: nothing counted), so that a
 * triplet keeps its Redis key, whose hash tag it is, when the
 * auto-whitelist is turned on or off. 0, or -1 out of memory.
 */
static int
keys_make(struct grey_keys *k, struct fd_grey_req *req, const char *client,
    const char *snorm, const char *rnorm, const char *domain)
{
	char	*p = k->buf;
	size_t	 cap = sizeof(k->buf), kl, al;

	keys_clear(k);
	for (;;) {
		size_t need;

		kl = grey_key_triplet_to(p, cap, client, snorm, rnorm);
		al = kl + 1 < cap ? grey_key_awl_to(p + kl + 1, cap - kl - 1,
		    client, domain) : grey_key_awl_to(NULL, 0, client, domain);
		need = kl + 1 + al + 1;
		if (need <= cap)
			break;
		if (p != k->buf || (p = k->heap = malloc(need)) == NULL)
			return -1;
		cap = need;
	}
	req->key = p;
	req->keylen = kl;
	req->awl_key = p + kl + 1;
	req->awl_keylen = al;
	return 0;
}

/*
 * triplet_req - the store request for (client, sender, rcpt) with its
 * auto-whitelist key, into req; its keys are in k, which the caller
 * clears (keys_clear). 0, or -1 out of memory.
 */
static int
triplet_req(const struct grey_conf *c, const struct grey_eff *e,
    const char *client, const char *sender, const char *rcpt,
    struct fd_grey_req *req, struct grey_keys *k)
{
	char	 sbuf[NORM_STACK], rbuf[NORM_STACK], *snorm, *rnorm;
	size_t	 sneed = GREY_NORM_SIZE(strlen(sender));
	size_t	 rneed = GREY_NORM_SIZE(strlen(rcpt)), len;
	int	 rc = -1;

	memset(req, 0, sizeof(*req));
	snorm = grey_work_get(sbuf, sizeof(sbuf), sneed);
	rnorm = grey_work_get(rbuf, sizeof(rbuf), rneed);
	if (snorm == NULL || rnorm == NULL ||
	    grey_norm_sender_to(snorm, sneed, sender, rcpt, c->norm, c->delims,
	    &len) < 0 || grey_norm_rcpt_to(rnorm, rneed, rcpt, &len) < 0)
		goto out;
	if (keys_make(k, req, client, snorm, rnorm, c->awl_per_domain ?
	    grey_addr_domain(snorm) : NULL) < 0)
		goto out;
	req->delay = e->delay;
	req->retry_window = e->retry_window;
	req->pass_ttl = e->pass_ttl;
	req->awl_after = e->awl_after;
	req->awl_ttl = e->awl_ttl;
	rc = 0;
out:
	grey_work_put(snorm, sbuf);
	grey_work_put(rnorm, rbuf);
	return rc;
}

/* grey_call - one greylist store call: through the stage's plan when the
 * host has one (the answer may come from a round trip shared with other
 * plugins), else on its own */
static int
grey_call(const struct grey_conf *c, struct fd_txn *t,
    const struct fd_grey_req *req, struct fd_grey_res *res)
{
	const struct fd_host	*h = c->host;

	if (FD_HOST_HAS(h, grey_txn))
		return h->grey_txn(t, req, res);
	return h->grey_check(h, req, res);
}

/*
 * check_triplet - one store call for (client, sender, rcpt) with its
 * auto-whitelist key. Returns the host's store result (FD_STORE_OK, or
 * FD_STORE_ERR: a failure, also when out of memory here).
 */
static int
check_triplet(const struct grey_conf *c, struct fd_txn *t,
    const struct grey_eff *e, const char *client, const char *sender,
    const char *rcpt, struct fd_grey_res *res)
{
	struct fd_grey_req	 req;
	struct grey_keys	 k;
	int			 rc = FD_STORE_ERR;

	k.heap = NULL;
	if (triplet_req(c, e, client, sender, rcpt, &req, &k) == 0)
		rc = grey_call(c, t, &req, res);
	keys_clear(&k);
	return rc;
}

/*
 * addr_esc - an address for the log as the core's decision line writes
 * it: escape()d, and a space or '>' as \x20 or \x3e (escape() leaves
 * both), so that <...> ends at its own '>' and a quoted local part
 * cannot pass for another field
 */
static char *
addr_esc(const struct fd_host *h, char *dst, size_t len, const char *a)
{
	char		 tmp[256];
	const char	*p;
	size_t		 o = 0;

	h->escape(tmp, sizeof(tmp), a, strlen(a));
	for (p = tmp; *p != '\0' && o + 5 < len; p++)
		if (*p == ' ' || *p == '>') {
			snprintf(dst + o, len - o, "\\x%02x", (unsigned)*p);
			o += 4;
		} else
			dst[o++] = *p;
	dst[o] = '\0';
	return dst;
}

/* first_pass - a triplet passed for the first time (rcpt NULL: the
 * body key, for every recipient): remember the delay for the header and
 * log it (operators ask for this line) */
static void
first_pass(const struct grey_conf *c, const struct fd_txn *t,
    struct grey_msg *m, const char *client, const char *sender,
    const char *rcpt, int64_t delayed, const char *how)
{
	const struct fd_host	*h = c->host;
	char			 ec[CLIENT_MAX], es[1024], er[1024];

	if (delayed < 0)
		delayed = 0;
	if (!m->delayed_set || delayed > m->delayed)
		m->delayed = delayed;
	m->delayed_set = 1;
	h->log_txn(h, t, FD_LOG_INFO, "%s passed after %llds: client %s from "
	    "<%s> to %s%s%s", how, (long long)delayed,
	    h->escape(ec, sizeof(ec), client, strlen(client)),
	    addr_esc(h, es, sizeof(es), sender), rcpt != NULL ? "<" : "",
	    rcpt != NULL ? addr_esc(h, er, sizeof(er), rcpt) :
	    "all recipients", rcpt != NULL ? ">" : "");
}

/* defer - 451 4.7.1 with the configured text; secs until a retry passes */
static enum fd_action
defer(const struct grey_conf *c, struct fd_txn *t, const struct grey_eff *e,
    int64_t secs, const char *why, const char *client)
{
	const struct fd_host	*h = c->host;
	char			 text[512];

	if (secs < 1)
		secs = 1;
	grey_text_expand(text, sizeof(text), e->message, secs);
	h->reply(t, "451", "4.7.1", "%s", text);
	h->reason(t, "greylisted (%s), client %s, retry in %llds", why,
	    client, (long long)secs);
	return FD_TEMPFAIL;
}

/* store_error - let the host apply on-store-error */
static enum fd_action
store_error(const struct grey_conf *c, struct fd_txn *t)
{
	c->host->reason(t, "greylist store unavailable");
	return FD_ERROR;
}

/* eom_wanted - the message is decided at its end: asked for, or a bounce */
static int
eom_wanted(const struct grey_conf *c, const struct grey_eff *e,
    const char *sender)
{
	return e->decide_eom || (sender[0] == '\0' && c->null_eom);
}

/*
 * rcpt_subject - what the decision at RCPT looks at: 1 with the settings,
 * the client key (kept in m), sender and recipient filled in when a
 * triplet is to be checked now; 0 when the recipient is exempt or the
 * decision waits for the end of the message (then noted in m)
 */
static int
rcpt_subject(const struct grey_conf *c, struct fd_txn *t, struct grey_msg *m,
    struct grey_eff *e, const char **client, const char **sender,
    const char **rcpt)
{
	const struct fd_host	*h = c->host;

	if (exempt_client(c, t) != NULL)
		return 0;
	*sender = sender_of(c, t);
	*rcpt = h->get(t, FD_F_RCPT);
	if (*rcpt == NULL || exempt_sender(c, *sender, *rcpt) ||
	    exempt_rcpt(c, *rcpt))
		return 0;
	grey_eff_get(c, t, e);
	m->mode_known = 1;
	if (eom_wanted(c, e, *sender)) {
		m->at_eom = 1;
		return 0;
	}
	*client = msg_client(c, t, m);
	return 1;
}

/*
 * msg_at_eom - the message is decided at its end. The RCPT hook notes
 * it, but a rule's skip at RCPT keeps the hook from running for that
 * recipient: if every recipient was skipped, nothing was noted, so work
 * it out here, once the recipients are known (eom_decide then leaves
 * the skipped ones out).
 */
static int
msg_at_eom(const struct grey_conf *c, struct fd_txn *t, struct grey_msg *m)
{
	struct grey_eff	 e;

	if (m->at_eom || m->mode_known)
		return m->at_eom;
	m->mode_known = 1;
	if (exempt_client(c, t) != NULL)
		return 0;
	grey_eff_get(c, t, &e);
	m->at_eom = eom_wanted(c, &e, sender_of(c, t));
	return m->at_eom;
}

/* eom_exempt - recipient i, rcpt, left out of the EOM decision: the
 * whitelists exempt it (checked here: its RCPT hook may not have run), or
 * a rule skipped greylisting at its RCPT */
static int
eom_exempt(const struct grey_conf *c, const struct fd_txn *t, size_t i,
    const char *sender, const char *rcpt)
{
	const struct fd_host	*h = c->host;

	return exempt_rcpt(c, rcpt) || exempt_sender(c, sender, rcpt) ||
	    (FD_HOST_HAS(h, rcpt_skipped) && h->rcpt_skipped(h, t, i));
}

/* plan_clear - forget what the plan hook prepared for the hook */
static void
plan_clear(struct grey_msg *m)
{
	keys_clear(&m->plan_keys);
	m->plan = GREY_PLAN_NONE;
}

/*
 * grey_plan_rcpt - everything grey_on_rcpt needs is worked out here, the
 * request queued, and the work kept in the message slot for the hook,
 * which dispatch calls next for this recipient (or, if an earlier plugin
 * decides, not at all: the next recipient's plan starts afresh)
 */
void
grey_plan_rcpt(const struct grey_conf *c, struct fd_txn *t,
    struct grey_msg *m)
{
	const struct fd_host	*h = c->host;
	const char		*client, *sender, *rcpt;

	plan_clear(m);
	if (!FD_HOST_HAS(h, plan_grey))
		return;
	if (!rcpt_subject(c, t, m, &m->plan_eff, &client, &sender, &rcpt)) {
		m->plan = GREY_PLAN_SKIP;
		return;
	}
	if (triplet_req(c, &m->plan_eff, client, sender, rcpt, &m->plan_req,
	    &m->plan_keys) < 0) {
		plan_clear(m);	/* the hook tries again */
		return;
	}
	m->plan = GREY_PLAN_CHECK;
	(void)h->plan_grey(t, &m->plan_req, NULL, NULL);
}

/*
 * grey_plan_eom - in end-of-message mode, queue the triplet checks
 * eom_decide is about to make, so that they and the other plugins' calls
 * at EOM (ratelimit's message limits) cost one round trip. The plan
 * copies the keys. The first request is kept in the message slot for
 * eom_decide (most messages have one recipient); it builds the others
 * again and the host matches them by content. A message with more
 * recipients than the plan holds has the rest sent on their own, as
 * without a plan.
 */
void
grey_plan_eom(const struct grey_conf *c, struct fd_txn *t,
    struct grey_msg *m)
{
	const struct fd_host	*h = c->host;
	struct grey_eff		 e;
	struct fd_grey_req	 req;
	struct grey_keys	 k;
	const char		*client, *sender, *rcpt;
	size_t			 i;
	int			 rc = 0;

	plan_clear(m);
	if (!FD_HOST_HAS(h, plan_grey) || !msg_at_eom(c, t, m))
		return;
	grey_eff_get(c, t, &e);
	client = msg_client(c, t, m);
	sender = sender_of(c, t);
	k.heap = NULL;
	for (i = 0; rc == 0 && (rcpt = h->rcpt(t, i)) != NULL; i++) {
		if (eom_exempt(c, t, i, sender, rcpt))
			continue;
		if (m->plan == GREY_PLAN_NONE) {
			if (triplet_req(c, &e, client, sender, rcpt,
			    &m->plan_req, &m->plan_keys) < 0) {
				plan_clear(m);
				continue;
			}
			m->plan = GREY_PLAN_CHECK;
			m->plan_rcpt = i;
			m->plan_eff = e;
			rc = h->plan_grey(t, &m->plan_req, NULL, NULL);
			continue;
		}
		if (triplet_req(c, &e, client, sender, rcpt, &req, &k) == 0)
			rc = h->plan_grey(t, &req, NULL, NULL);
		keys_clear(&k);
	}
}

/* rcpt_result - the store's answer for the recipient: a decision */
static enum fd_action
rcpt_result(const struct grey_conf *c, struct fd_txn *t, struct grey_msg *m,
    const struct grey_eff *e, const char *client, const char *sender,
    const char *rcpt, int rc, const struct fd_grey_res *res)
{
	const struct fd_host	*h = c->host;

	if (rc != FD_STORE_OK)
		return store_error(c, t);
	switch (res->state) {
	case FD_GREY_NEW:
		return defer(c, t, e, res->retry_after, "new", client);
	case FD_GREY_EARLY:
		return defer(c, t, e, res->retry_after, "early retry", client);
	case FD_GREY_PASSED:
		if (res->passes == 1)
			first_pass(c, t, m, client, sender, rcpt,
			    h->now(h) - res->first_seen, "triplet");
		return FD_CONTINUE;
	case FD_GREY_WHITELISTED:
		return FD_CONTINUE;
	}
	return store_error(c, t);
}

enum fd_action
grey_on_rcpt(const struct grey_conf *c, struct fd_txn *t, struct grey_msg *m)
{
	const struct fd_host	*h = c->host;
	struct grey_eff		 e;
	struct fd_grey_res	 res;
	const char		*client, *sender, *rcpt;
	enum fd_action		 a;
	int			 rc;

	switch (m->plan) {
	case GREY_PLAN_SKIP:
		plan_clear(m);
		return FD_CONTINUE;
	case GREY_PLAN_CHECK:
		rc = grey_call(c, t, &m->plan_req, &res);
		a = rcpt_result(c, t, m, &m->plan_eff, m->client,
		    sender_of(c, t), h->get(t, FD_F_RCPT), rc, &res);
		plan_clear(m);
		return a;
	default:
		break;
	}
	if (!rcpt_subject(c, t, m, &e, &client, &sender, &rcpt))
		return FD_CONTINUE;
	rc = check_triplet(c, t, &e, client, sender, rcpt, &res);
	return rcpt_result(c, t, m, &e, client, sender, rcpt, rc, &res);
}

enum fd_action
grey_on_body(const struct grey_conf *c, struct fd_txn *t, struct grey_msg *m,
    const unsigned char *chunk, size_t len)
{
	size_t	 i;

	if (!c->body_hash || m->bodylen >= c->body_max || !msg_at_eom(c, t, m))
		return FD_CONTINUE;
	if (m->body == NULL && (m->body = malloc(c->body_max)) == NULL)
		return FD_CONTINUE;	/* no body key then; triplets still work */
	/* CRs dropped: a relay that rewrote line ends sent the same text */
	for (i = 0; i < len && m->bodylen < c->body_max; i++)
		if (chunk[i] != '\r')
			m->body[m->bodylen++] = chunk[i];
	return FD_CONTINUE;
}

/* add_header - X-Greylist on a message one of whose triplets was delayed */
static void
add_header(const struct grey_conf *c, struct fd_txn *t,
    const struct grey_msg *m, const struct grey_eff *e)
{
	const struct fd_host	*h = c->host;
	char			 value[512];

	if (!m->delayed_set || !e->header)
		return;
	grey_header_value(value, sizeof(value), m->delayed,
	    h->get(t, FD_F_MTA_NAME), h->now(h));
	(void)h->add_header(t, "X-Greylist", value);
}

/* the state of an end-of-message decision over all recipients */
struct eom_state {
	int		 waiting;	/* triplets new or early */
	int		 checked;	/* triplets checked */
	int64_t		 retry;		/* the longest wait among them */
	const char	**rcpts;	/* normalized recipients, for body */
	size_t		 nrcpts;
};

/* eom_rcpt - check recipient i's triplet into st (with the request the
 * plan kept, if it is this one's); -1 on store error */
static int
eom_rcpt(const struct grey_conf *c, struct fd_txn *t, struct grey_msg *m,
    const struct grey_eff *e, const char *client, size_t i,
    struct eom_state *st)
{
	const struct fd_host	*h = c->host;
	const char		*sender = sender_of(c, t), *rcpt = h->rcpt(t, i);
	struct fd_grey_res	 res;
	int			 rc;

	if (m->plan == GREY_PLAN_CHECK && m->plan_rcpt == i)
		rc = grey_call(c, t, &m->plan_req, &res);
	else
		rc = check_triplet(c, t, e, client, sender, rcpt, &res);
	if (rc != FD_STORE_OK)
		return -1;
	st->checked++;
	switch (res.state) {
	case FD_GREY_NEW:
	case FD_GREY_EARLY:
		st->waiting++;
		if (res.retry_after > st->retry)
			st->retry = res.retry_after;
		break;
	case FD_GREY_PASSED:
		if (res.passes == 1)
			first_pass(c, t, m, client, sender, rcpt,
			    h->now(h) - res.first_seen, "triplet");
		break;
	case FD_GREY_WHITELISTED:
		break;
	}
	return 0;
}

/* eom_body - the body key; 1 if it passes, 0 if not, -1 on error */
static int
eom_body(const struct grey_conf *c, struct fd_txn *t, struct grey_msg *m,
    const struct grey_eff *e, const char *client, struct eom_state *st)
{
	const struct fd_host	*h = c->host;
	const char		*sender = sender_of(c, t);
	struct fd_grey_req	 req;
	struct fd_grey_res	 res;
	char			*snorm, *key;
	size_t			 kl;
	int			 rc;

	if ((snorm = grey_norm_sender(sender, NULL, c->norm, c->delims)) ==
	    NULL)
		return -1;
	key = grey_key_body(snorm, st->rcpts, st->nrcpts, m->body, m->bodylen,
	    &kl);
	free(snorm);
	if (key == NULL)
		return -1;
	memset(&req, 0, sizeof(req));
	req.key = key;
	req.keylen = kl;
	req.delay = e->delay;
	req.retry_window = e->retry_window;
	req.pass_ttl = e->pass_ttl;
	rc = grey_call(c, t, &req, &res);
	free(key);
	if (rc != FD_STORE_OK)
		return -1;
	if (res.state == FD_GREY_PASSED) {
		if (res.passes == 1)
			first_pass(c, t, m, client, sender, NULL,
			    h->now(h) - res.first_seen, "body");
		return 1;
	}
	/* the body key may allow a retry sooner than the new triplets */
	if (res.retry_after < st->retry)
		st->retry = res.retry_after;
	return 0;
}

/* eom_free - release the normalized recipient list */
static void
eom_free(struct eom_state *st)
{
	size_t	 i;

	for (i = 0; i < st->nrcpts; i++)
		free((char *)(uintptr_t)st->rcpts[i]);
	free(st->rcpts);
}

/* eom_decide - every accepted recipient at once */
static enum fd_action
eom_decide(const struct grey_conf *c, struct fd_txn *t, struct grey_msg *m,
    const struct grey_eff *e)
{
	const struct fd_host	*h = c->host;
	struct eom_state	 st;
	const char		*client, *sender = sender_of(c, t), *rcpt;
	size_t			 i, n;
	enum fd_action		 a = FD_CONTINUE;
	int			 body;

	memset(&st, 0, sizeof(st));
	for (n = 0; h->rcpt(t, n) != NULL; n++)
		;
	if (n == 0)
		return FD_CONTINUE;
	/* the body key is made of the normalized recipients */
	if (c->body_hash && (st.rcpts = calloc(n, sizeof(*st.rcpts))) == NULL)
		return store_error(c, t);
	client = msg_client(c, t, m);
	for (i = 0; i < n; i++) {
		rcpt = h->rcpt(t, i);
		if (eom_exempt(c, t, i, sender, rcpt))
			continue;
		if (eom_rcpt(c, t, m, e, client, i, &st) < 0) {
			a = store_error(c, t);
			goto out;
		}
		if (st.rcpts != NULL &&
		    (st.rcpts[st.nrcpts] = grey_norm_rcpt(rcpt)) != NULL)
			st.nrcpts++;
	}
	if (st.waiting == 0)
		goto out;
	if (c->body_hash) {
		if ((body = eom_body(c, t, m, e, client, &st)) < 0) {
			a = store_error(c, t);
			goto out;
		}
		if (body == 1)
			goto out;
	}
	a = defer(c, t, e, st.retry, st.waiting == st.checked ?
	    "new message" : "new recipients of the message", client);
out:
	eom_free(&st);
	plan_clear(m);
	return a;
}

enum fd_action
grey_on_eom(const struct grey_conf *c, struct fd_txn *t, struct grey_msg *m)
{
	struct grey_eff	 e;
	enum fd_action	 a = FD_CONTINUE;

	grey_eff_get(c, t, &e);
	if (msg_at_eom(c, t, m) && (a = eom_decide(c, t, m, &e)) !=
	    FD_CONTINUE)
		return a;
	add_header(c, t, m, &e);
	return FD_CONTINUE;
}

void
grey_msg_clear(struct grey_msg *m)
{
	free(m->body);
	plan_clear(m);
	memset(m, 0, sizeof(*m));
}
