/*
 * rl_stage.c -- the stage logic: gather, adjust, key, one store call
 *
 * A stage costs one round trip to the store whatever the number of
 * limits, and none when no limit applies (no limit counts at this stage,
 * or none has a key: the null sender, an unauthenticated session for an
 * auth-user limit). A store failure is not decided here: the hook says
 * FD_ERROR and the host applies the plugin's on-store-error policy.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rl_key.h"
#include "rl_stage.h"

/* clamp - count and burst within what the store takes for period */
static void
clamp(uint64_t count, uint64_t burst, int64_t period,
    struct rl_checked *chk)
{
	int64_t	 interval;
	uint64_t room;

	if (count == 0)
		count = 1;
	if (count > UINT32_MAX)
		count = UINT32_MAX;
	if (count > (uint64_t)(period * RL_US))
		count = (uint64_t)(period * RL_US);
	interval = period * RL_US / (int64_t)count;
	room = (uint64_t)(RL_GCRA_MAX / interval) - count;
	if (burst > room)
		burst = room;
	if (burst > UINT32_MAX)
		burst = UINT32_MAX;
	chk->rate.count = (uint32_t)count;
	chk->rate.period = period;
	chk->burst = (uint32_t)burst;
}

int
rl_effective(const struct rl_limit *l, const char *override,
    uint64_t factor, struct rl_checked *chk)
{
	struct rl_rate	 r;
	const char	*why;

	chk->limit = l;
	if (override != NULL && rl_off(override))
		return 0;
	if (override != NULL && rl_rate_parse(override, &r, &why) == 0) {
		clamp(r.count, l->burst, r.period, chk);
		return 1;
	}
	clamp((uint64_t)l->rate.count * factor / 1000,
	    (uint64_t)l->burst * factor / 1000, l->rate.period, chk);
	return override != NULL ? -1 : 1;
}

/* warn_once - a rule handed us a value we cannot use: say so once per
 * configuration generation, not once per message */
static void
warn_once(struct rl_state *st, const struct fd_txn *t, const char *name,
    const char *val, const char *why)
{
	if (__atomic_exchange_n(&st->warned, 1, __ATOMIC_RELAXED))
		return;
	st->host->log_txn(st->host, t, FD_LOG_WARN, "rule parameter %s.%s "
	    "\"%s\" ignored: %s (logged once per configuration)",
	    RL_PLUGIN_NAME, name, val, why);
}

#define BIT(c)	(1u << (c))

/* subject - what keys are made of, as far as the stage knows it; counts
 * has a bit per enum rl_count decided */
static void
subject(const struct fd_host *h, struct fd_txn *t, unsigned counts,
    struct rl_subject *s)
{
	memset(s, 0, sizeof(*s));
	s->iplen = h->client_ip(t, s->ip);
	if (counts == BIT(RL_C_CONNECTIONS))
		return;
	s->sender = h->get(t, FD_F_SENDER);
	s->auth_user = h->get(t, FD_F_AUTH_USER);
	s->helo = h->get(t, FD_F_HELO);
	if (counts & BIT(RL_C_RECIPIENTS))
		s->rcpt = h->get(t, FD_F_RCPT);
}

/* factor - `set ratelimit.factor F` in thousandths, 1000 if unset */
static uint64_t
factor(struct rl_state *st, struct fd_txn *t)
{
	const char	*v, *why;
	uint64_t	 f;

	if ((v = st->host->param(t, RL_PLUGIN_NAME, "factor")) == NULL)
		return 1000;
	if (rl_factor_parse(v, &f, &why) < 0) {
		warn_once(st, t, "factor", v, why);
		return 1000;
	}
	return f;
}

/*
 * stage - the batch of one stage: requests with their keys. The keys are
 * packed one after the other, and one that no longer fits goes to the
 * heap: the batch lives on a libmilter thread's stack, and a frame room
 * for 32 keys of the longest kind would push every call below it into
 * pages a new thread has to fault in again (docs/PERFORMANCE.md,
 * Round 7).
 */
#define STAGE_KEYS	2048	/* key bytes kept in the batch */

struct stage {
	size_t			 n;
	size_t			 klen;		/* bytes of keys used */
	unsigned char		*heap[RL_STAGE_MAX];
	struct fd_rate_req	 req[RL_STAGE_MAX];
	struct fd_rate_res	 res[RL_STAGE_MAX];
	struct rl_checked	 chk[RL_STAGE_MAX];
	unsigned char		 keys[STAGE_KEYS];
};

/* add - limit l to the batch if it applies; 0, or -1 out of memory */
static int
add(struct rl_state *st, struct fd_txn *t, const struct rl_limit *l,
    const struct rl_subject *s, uint64_t f, struct stage *b)
{
	const char	*ov;
	struct fd_rate_req *rq = &b->req[b->n];
	unsigned char	*buf = b->keys + b->klen;
	size_t		 room = sizeof(b->keys) - b->klen, len;
	int		 e;

	if ((len = rl_key_build(l, s, buf, room)) == 0)
		return 0;
	ov = st->host->param(t, RL_PLUGIN_NAME, l->name);
	if ((e = rl_effective(l, ov, f, &b->chk[b->n])) == 0)
		return 0;
	if (e < 0)
		warn_once(st, t, l->name, ov, "expected a rate like 500/1h, or "
		    "off");
	b->heap[b->n] = NULL;
	if (len > room) {
		if ((buf = malloc(len)) == NULL)
			return -1;
		b->heap[b->n] = buf;
		rl_key_build(l, s, buf, len);
	} else
		b->klen += len;
	rq->key = buf;
	rq->keylen = len;
	rq->limit = b->chk[b->n].rate.count;
	rq->period = b->chk[b->n].rate.period;
	rq->burst = b->chk[b->n].burst;
	rq->cost = 1;
	b->n++;
	return 0;
}

/* decide - the store's answer for the batch */
static enum fd_action
decide(struct rl_state *st, struct fd_txn *t, struct stage *b, int rc)
{
	const struct fd_host	*h = st->host;
	struct rl_verdict	 v;
	size_t			 i;

	if (rc != FD_STORE_OK) {
		h->reason(t, "store error checking %zu rate limit%s",
		    b->n, b->n == 1 ? "" : "s");
		return FD_ERROR;
	}
	for (i = 0; i < b->n; i++)
		if (!b->res[i].allowed)
			break;
	if (i == b->n)
		return FD_CONTINUE;
	rl_decide(&st->conf, b->chk, b->res, b->n, &v);
	h->reply(t, v.rcode, v.xcode, "%s", v.text);
	h->reason(t, "%s", v.reason);
	return v.action;
}

/* gather - the batch of the limits counting what counts has a bit for;
 * 0, or -1 out of memory (b->heap then still to free) */
static int
gather(struct rl_state *st, struct fd_txn *t, unsigned counts,
    struct stage *b)
{
	struct rl_subject	 s;
	uint64_t		 f;
	size_t			 i;
	int			 rc = 0;

	b->n = 0;
	b->klen = 0;
	subject(st->host, t, counts, &s);
	f = factor(st, t);
	for (i = 0; i < st->conf.nlimits && rc == 0; i++)
		if (counts & BIT(st->conf.limits[i].count))
			rc = add(st, t, &st->conf.limits[i], &s, f, b);
	return rc;
}

/* batch_free - the keys that went to the heap */
static void
batch_free(struct stage *b)
{
	size_t	 i;

	for (i = 0; i < b->n; i++)
		free(b->heap[i]);
}

/* rate_call - the store call of a batch: through the stage's plan when the
 * host has one (shared with other plugins' calls), else on its own */
static int
rate_call(struct rl_state *st, struct fd_txn *t, struct stage *b)
{
	const struct fd_host	*h = st->host;

	if (FD_HOST_HAS(h, rate_txn))
		return h->rate_txn(t, b->req, b->n, b->res);
	return h->rate_hit(h, b->req, b->n, b->res);
}

/* run - check the limits counting what counts has a bit for */
static enum fd_action
run(struct rl_state *st, struct fd_txn *t, unsigned counts)
{
	struct stage	 b;
	enum fd_action	 a;

	if (gather(st, t, counts, &b) < 0) {
		st->host->reason(t, "out of memory building rate-limit keys");
		a = FD_ERROR;
	} else if (b.n == 0)
		a = FD_CONTINUE;
	else
		a = decide(st, t, &b, rate_call(st, t, &b));
	batch_free(&b);
	return a;
}

enum fd_action
rl_stage_run(struct rl_state *st, struct fd_txn *t, enum rl_count which)
{
	if (!(st->conf.stages & rl_count_stage(which)))
		return FD_CONTINUE;
	return run(st, t, BIT(which));
}

/* counts_at - the counters decided at stage, a bit per enum rl_count */
static unsigned
counts_at(const struct rl_conf *c, uint32_t stage, const struct rl_msg *m)
{
	switch (stage) {
	case FD_ST_CONNECT:
		return BIT(RL_C_CONNECTIONS);
	case FD_ST_MAIL:
		return c->messages_at_rcpt || c->messages_at_eom ? 0 :
		    BIT(RL_C_MESSAGES);
	case FD_ST_RCPT:
		return BIT(RL_C_RECIPIENTS) | (c->messages_at_rcpt &&
		    (m == NULL || !m->charged) ? BIT(RL_C_MESSAGES) : 0);
	case FD_ST_EOM:
		/* a message whose every recipient a rule exempted is not
		 * counted, as at RCPT (rl_init: eom_sees_rcpts) */
		return c->messages_at_eom && (!c->eom_sees_rcpts ||
		    m == NULL || m->rcpt_seen) ? BIT(RL_C_MESSAGES) : 0;
	}
	return 0;
}

/*
 * plan_settle - what became of the message limits planned at the last
 * recipient whose hook was not called (another plugin decided first,
 * after the plan had gone to the store, or before): if the store
 * counted them, the message is counted
 */
static void
plan_settle(struct rl_msg *m)
{
	if (m == NULL || !m->planned)
		return;
	if (m->plan_rc == FD_STORE_OK && m->plan_res[0].allowed)
		m->charged = 1;
	m->planned = 0;
}

enum fd_action
rl_stage_decide(struct rl_state *st, struct fd_txn *t, uint32_t stage,
    struct rl_msg *m)
{
	unsigned	 counts;
	enum fd_action	 a;

	if (!(st->conf.stages & stage) ||
	    (counts = counts_at(&st->conf, stage, m)) == 0)
		return FD_CONTINUE;
	a = run(st, t, counts);
	if (m != NULL && stage == FD_ST_RCPT) {
		/* the message counted once: with the first recipient the
		 * limits let through (whatever later plugins decide) */
		if (a == FD_CONTINUE && (counts & BIT(RL_C_MESSAGES)))
			m->charged = 1;
		m->planned = 0;
	}
	return a;
}

void
rl_stage_plan(struct rl_state *st, struct fd_txn *t, uint32_t stage,
    struct rl_msg *m)
{
	const struct fd_host	*h = st->host;
	struct stage		 b;
	unsigned		 counts;

	if (!FD_HOST_HAS(h, plan_rate) || !(st->conf.stages & stage))
		return;
	if (stage == FD_ST_RCPT)
		plan_settle(m);
	if ((counts = counts_at(&st->conf, stage, m)) == 0)
		return;
	if (gather(st, t, counts, &b) == 0 && b.n > 0) {
		/* message limits: learn their fate even if our hook is not
		 * called at this recipient */
		if (m != NULL && stage == FD_ST_RCPT &&
		    (counts & BIT(RL_C_MESSAGES))) {
			m->planned = 1;
			m->plan_rc = 1;
			(void)h->plan_rate(t, b.req, b.n, m->plan_res,
			    &m->plan_rc);
		} else
			(void)h->plan_rate(t, b.req, b.n, NULL, NULL);
	}
	batch_free(&b);
}
