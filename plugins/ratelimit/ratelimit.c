/*
 * ratelimit.c -- the ratelimit plugin's glue: the ABI struct and hooks
 *
 * Limits on connections (decided at connect), messages (at MAIL, or RCPT
 * or end of message: decide-messages-at) and recipients (at RCPT), keyed
 * by client address or network, sender, sender domain, SASL user,
 * recipient or HELO name; see
 * docs/PLUGIN-RATELIMIT.md. The work is elsewhere: rl_spec.c parses the
 * block, rl_key.c builds keys, rl_stage.c checks a stage's limits in one
 * store call, rl_reply.c words the answer. The counters live in the
 * store; per message the plugin only notes whether the message limits
 * were counted (decide-messages-at rcpt).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <filterd/plugin.h>

#include "rl_spec.h"
#include "rl_stage.h"

/* rl_free - the generation's state; safe on a half-built one */
static void
rl_free(struct rl_state *st)
{
	if (st == NULL)
		return;
	rl_conf_clear(&st->conf);
	free(st);
}

static int
rl_init(const struct fd_host *h, const struct fd_block *b, void **state)
{
	struct rl_state	*st;
	uint32_t	 uses;

	if ((st = calloc(1, sizeof(*st))) == NULL) {
		h->log(h, FD_LOG_ERR, "out of memory");
		return -1;
	}
	st->host = h;
	if (rl_conf_parse(h, b, &st->conf) < 0) {
		rl_free(st);
		return -1;
	}
	if (st->conf.nlimits == 0)
		h->log(h, FD_LOG_WARN, "no limit configured: nothing is "
		    "limited");
	/*
	 * Negotiate only the stages some limit is decided at. Message
	 * limits decided at end of message also look at RCPT, where the MTA
	 * awaits no reply for them: a rule on rcpt that skips ratelimit for
	 * a recipient keeps our hook from running there, so a message to
	 * exempted recipients only (postmaster@) is not counted, as with
	 * decide-messages-at rcpt. A host that cannot be told where we
	 * answer would make the MTA wait at RCPT: count every message then.
	 */
	uses = st->conf.stages;
	if ((uses & FD_ST_EOM) && FD_HOST_HAS(h, decide_stages)) {
		h->decide_stages(h, st->conf.stages);
		uses |= FD_ST_RCPT;
		st->conf.eom_sees_rcpts = 1;
	}
	if (h->use_stages != NULL)
		h->use_stages(h, uses);
	*state = st;
	return 0;
}

static void
rl_fini(void *state)
{
	rl_free(state);
}

static enum fd_action
rl_connect(struct fd_txn *t, void *state, void *conn)
{
	(void)conn;
	return rl_stage_decide(state, t, FD_ST_CONNECT, NULL);
}

static enum fd_action
rl_mail(struct fd_txn *t, void *state, void *conn, void *msg)
{
	(void)conn;
	return rl_stage_decide(state, t, FD_ST_MAIL, msg);
}

static enum fd_action
rl_rcpt(struct fd_txn *t, void *state, void *conn, void *msg)
{
	struct rl_msg	*m = msg;

	(void)conn;
	if (m != NULL)
		m->rcpt_seen = 1;
	return rl_stage_decide(state, t, FD_ST_RCPT, m);
}

static enum fd_action
rl_eom(struct fd_txn *t, void *state, void *conn, void *msg)
{
	(void)conn;
	return rl_stage_decide(state, t, FD_ST_EOM, msg);
}

static void
rl_plan(struct fd_txn *t, uint32_t stage, void *state, void *conn, void *msg)
{
	(void)conn;
	rl_stage_plan(state, t, stage, msg);
}

/*
 * rl_check_set - `set ratelimit.factor F`, or `set ratelimit.NAME RATE`
 * for a limit of this block (named, or by the name made up for it); the
 * list of names says what a typo should have been
 */
static int
rl_check_set(void *state, const char *param, const char *value, char *why,
    size_t whylen)
{
	const struct rl_state	*st = state;
	const struct rl_conf	*c = &st->conf;
	const char		*err;
	struct rl_rate		 r;
	uint64_t		 f;
	size_t			 i, o;

	if (strcmp(param, "factor") == 0) {
		if (rl_factor_parse(value, &f, &err) == 0)
			return FD_SET_OK;
		snprintf(why, whylen, "expected a positive number like 10 or "
		    "0.5");
		return FD_SET_BAD_VALUE;
	}
	for (i = 0; i < c->nlimits; i++)
		if (strcmp(param, c->limits[i].name) == 0)
			break;
	if (i == c->nlimits) {
		o = (size_t)snprintf(why, whylen, "no limit of that name "
		    "(factor");
		for (i = 0; i < c->nlimits && o < whylen; i++)
			o += (size_t)snprintf(why + o, whylen - o, ", %s",
			    c->limits[i].name);
		if (o < whylen)
			snprintf(why + o, whylen - o, ")");
		return FD_SET_BAD_PARAM;
	}
	/* counted at connect, before any rule can set anything */
	if (c->limits[i].count == RL_C_CONNECTIONS) {
		snprintf(why, whylen, "a connections limit is decided at "
		    "connect, before any set; skip it with a rule on connect");
		return FD_SET_BAD_PARAM;
	}
	if (rl_off(value) || rl_rate_parse(value, &r, &err) == 0)
		return FD_SET_OK;
	snprintf(why, whylen, "expected a rate like 500/1h, or off");
	return FD_SET_BAD_VALUE;
}

FD_PLUGIN_EXPORT = {
	FD_PLUGIN_HEADER,
	.name = RL_PLUGIN_NAME,
	.version = "1.0",
	.stages = FD_ST_CONNECT | FD_ST_MAIL | FD_ST_RCPT | FD_ST_EOM,
	.msg_priv_size = sizeof(struct rl_msg),
	.init = rl_init,
	.fini = rl_fini,
	.on_connect = rl_connect,
	.on_mail = rl_mail,
	.on_rcpt = rl_rcpt,
	.on_eom = rl_eom,
	.plan = rl_plan,
	.check_set = rl_check_set,
};
