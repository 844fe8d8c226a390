/*
 * dispatch.c -- decide one stage: rules, plugins, verdict, log line
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "conf.h"
#include "daemon.h"
#include "dispatch.h"
#include "gen.h"
#include "log.h"
#include "rule.h"
#include "smtp_code.h"
#include "store_plan.h"
#include "units.h"
#include "txn.h"

/* stages before MAIL belong to the connection, the rest to a message */
#define MSG_STAGES	(FD_ST_MAIL | FD_ST_RCPT | FD_ST_DATA | FD_ST_HEADER | \
			 FD_ST_EOH | FD_ST_BODY | FD_ST_EOM)

const char *
fd_stage_name(uint32_t stage)
{
	switch (stage) {
	case FD_ST_CONNECT:	return "connect";
	case FD_ST_HELO:	return "helo";
	case FD_ST_MAIL:	return "mail";
	case FD_ST_RCPT:	return "rcpt";
	case FD_ST_DATA:	return "data";
	case FD_ST_HEADER:	return "header";
	case FD_ST_EOH:		return "eoh";
	case FD_ST_BODY:	return "body";
	case FD_ST_EOM:		return "eom";
	}
	return "?";
}

const char *
fd_action_name(enum fd_action a)
{
	static const char *names[] = { "continue", "accept", "reject",
	    "tempfail", "discard", "error" };

	return (unsigned)a < sizeof(names) / sizeof(names[0]) ? names[a] : "?";
}

/*
 * set_default_reply - make the reply fit the action: a reject always
 * carries a 5xx with a 5.x.x code, a tempfail a 4xx with 4.x.x, whatever
 * a plugin set (Postfix also refuses a milter reply without an enhanced
 * code as malformed). A mismatch would make the MTA do the opposite of what
 * was decided (one peer sent a "soft reject" out as 554).
 */
static void
set_default_reply(struct fd_txn *t, enum fd_action a)
{
	char	 want = a == FD_REJECT ? '5' : '4';

	if (a != FD_REJECT && a != FD_TEMPFAIL)
		return;
	if (fd_reply_code_ok(t->rcode, want) &&
	    fd_status_code_ok(t->xcode, want))
		return;
	if (a == FD_REJECT)
		fd_txn_reply(t, "550", "5.7.1", t->text != NULL ? t->text :
		    "Message rejected by policy");
	else
		fd_txn_reply(t, "451", "4.7.1", t->text != NULL ? t->text :
		    "Try again later");
}

/* A log line being built: appends cut at size - 1, always terminated. */
struct line {
	char	*b;
	size_t	 n, size;
};

static void
put(struct line *l, const char *s)
{
	size_t	 k = strlen(s);

	if (k > l->size - 1 - l->n)
		k = l->size - 1 - l->n;
	memcpy(l->b + l->n, s, k);
	l->n += k;
	l->b[l->n] = '\0';
}

/* put_esc - untrusted s escaped (fd_escape_str), in at most cap bytes */
static void
put_esc(struct line *l, const char *s, size_t cap)
{
	if (cap > l->size - l->n)
		cap = l->size - l->n;
	fd_escape_str(l->b + l->n, cap, s);
	l->n += strlen(l->b + l->n);
}

static void
put_u64(struct line *l, uint64_t v)
{
	char	 d[24];

	d[sizeof(d) - 1] = '\0';
	put(l, fd_units_dec(d + sizeof(d) - 1, v));
}

/* put_conn - the fields every line about a connection starts with */
static void
put_conn(struct line *l, const struct fd_txn *t)
{
	put(l, "conn=");
	put_u64(l, t->id);
	put(l, " qid=");
	put_esc(l, t->msg.queue_id != NULL ? t->msg.queue_id : "-", 64);
	put(l, " client=");
	/* Postfix names an unresolved client "[addr]": say so once */
	put_esc(l, t->client_name == NULL || t->client_name[0] == '[' ?
	    "unknown" : t->client_name, 256);
	put(l, "[");
	put(l, t->addr[0] != '\0' ? t->addr : "local");
	put(l, "]");
}

void
fd_conn_log(const struct fd_txn *t, int level, const char *text)
{
	char		 b[2048];
	struct line	 l = { b, 0, sizeof(b) };

	if (level > fd_log_level())
		return;
	b[0] = '\0';
	put_conn(&l, t);
	put(&l, " ");
	put(&l, text);
	fd_log_str(level, b);
}

/*
 * log_decision - the one line per decision. Built by appending rather
 * than by one printf with a dozen conversions: a greylisted message logs
 * one, and formatting it was a tenth of what such a message cost.
 */
static void
log_decision(const struct fd_txn *t, uint32_t stage, enum fd_action a,
    int dry)
{
	char		 b[2048], addr[258];
	struct line	 l = { b, 0, sizeof(b) };

	/* at log-level notice and above, no escaping for nothing */
	if (fd_log_level() < FD_LOG_INFO)
		return;
	b[0] = '\0';
	put_conn(&l, t);
	put(&l, " stage=");
	put(&l, fd_stage_name(stage));
	put(&l, " decider=");
	put(&l, t->decider != NULL ? t->decider : "-");
	put(&l, dry ? " action=would-" : " action=");
	put(&l, fd_action_name(a));
	put(&l, " reply=\"");
	/* an accept or a discard sends the MTA no reply */
	if (t->rcode[0] != '\0') {
		put(&l, t->rcode);
		put(&l, " ");
		put(&l, t->xcode);
		put(&l, " ");
		put_esc(&l, t->text, 512);
	} else
		put(&l, "-");
	put(&l, "\" from=");
	put(&l, fd_escape_addr(addr, sizeof(addr), t->msg.sender));
	put(&l, " rcpt=");
	put(&l, fd_escape_addr(addr, sizeof(addr), t->msg.rcpt));
	put(&l, " reason=\"");
	put_esc(&l, t->reason, 512);
	put(&l, "\"");
	fd_log_str(FD_LOG_INFO, b);
}

/* rule_action - what a rule's hit means for the MTA; -1 to go on */
static int
rule_action(struct fd_txn *t, const struct fd_rule_hit *hit)
{
	switch (hit->action) {
	case FD_RA_ACCEPT_CONN:
		t->accepted = 1;
		return FD_ACCEPT;
	case FD_RA_ACCEPT:
		/* before MAIL it is the connection's, as for a plugin: the
		 * message slot is cleared at MAIL, and with delay-reject the
		 * MTA is not told at the stage that decided */
		if (t->stage & MSG_STAGES)
			t->msg.accepted = 1;
		else
			t->accepted = 1;
		return FD_ACCEPT;
	case FD_RA_REJECT:
	case FD_RA_TEMPFAIL:
		fd_txn_reply(t, hit->rcode, hit->xcode, hit->text);
		return hit->action == FD_RA_REJECT ? FD_REJECT : FD_TEMPFAIL;
	case FD_RA_DISCARD:
		return FD_DISCARD;
	default:
		return -1;
	}
}

/* call_hook - one plugin's hook for stage, FD_CONTINUE if it has none */
static enum fd_action
call_hook(const struct fd_loaded *l, struct fd_txn *t, uint32_t stage,
    const unsigned char *chunk, size_t len)
{
	const struct fd_plugin	*p = l->p;
	void			*c = t->priv[l->index];
	void			*m = t->msg.priv != NULL ? t->msg.priv[l->index] : NULL;

	switch (stage) {
	case FD_ST_CONNECT:
		return p->on_connect ? p->on_connect(t, l->state, c) : FD_CONTINUE;
	case FD_ST_HELO:
		return p->on_helo ? p->on_helo(t, l->state, c) : FD_CONTINUE;
	case FD_ST_MAIL:
		return p->on_mail ? p->on_mail(t, l->state, c, m) : FD_CONTINUE;
	case FD_ST_RCPT:
		return p->on_rcpt ? p->on_rcpt(t, l->state, c, m) : FD_CONTINUE;
	case FD_ST_DATA:
		return p->on_data ? p->on_data(t, l->state, c, m) : FD_CONTINUE;
	case FD_ST_HEADER:
		return p->on_header ? p->on_header(t, l->state, c, m) : FD_CONTINUE;
	case FD_ST_EOH:
		return p->on_eoh ? p->on_eoh(t, l->state, c, m) : FD_CONTINUE;
	case FD_ST_BODY:
		return p->on_body ? p->on_body(t, l->state, c, m, chunk, len) :
		    FD_CONTINUE;
	case FD_ST_EOM:
		return p->on_eom ? p->on_eom(t, l->state, c, m) : FD_CONTINUE;
	}
	return FD_CONTINUE;
}

/*
 * plugin_error - a plugin could not decide (its store is down): apply
 * its policy, and log that at most once a minute per plugin so a dead
 * Redis does not write a line per message.
 */
static enum fd_action
plugin_error(struct fd_loaded *l, struct fd_txn *t)
{
	int64_t	 now = fd_clock_now(t->gen->daemon != NULL ?
		    &t->gen->daemon->clock : NULL);
	int	 tempfail = l->on_store_error == FD_FAIL_TEMPFAIL;

	if (fd_log_ratelimited(&l->fail_logged, now, 60)) {
		char	 why[512], text[1024];

		/* the reason may quote the client, as in the decision line;
		 * the fields name the first message that met the trouble */
		snprintf(text, sizeof(text), "plugin %s: could not decide "
		    "(%s); on-store-error %s applies (logged once a minute)",
		    l->conf->name, fd_escape_ctl(why, sizeof(why),
		    t->reason != NULL ? t->reason : "store error"),
		    tempfail ? "tempfail" : "continue");
		fd_conn_log(t, FD_LOG_WARN, text);
	}
	if (!tempfail)
		return FD_CONTINUE;
	fd_txn_reply(t, "451", "4.3.0", "Temporary local problem, try again later");
	return FD_TEMPFAIL;
}

/* asked - plugin i has a say at stage */
static int
asked(const struct fd_loaded *l, unsigned i, uint32_t stage, uint64_t skip)
{
	return (l->stages & stage) && !(i < 64 && (skip >> i) & 1);
}

/*
 * plan_stage - let every plugin that will be asked queue its store
 * requests first (see store_plan.h), so that the stage costs one round
 * trip to the store whatever the number of plugins using it
 */
static void
plan_stage(struct fd_txn *t, uint32_t stage, uint64_t skip)
{
	struct fd_gen	*gen = t->gen;
	int		 open = 0;
	unsigned	 i;

	for (i = 0; i < gen->nplugins; i++) {
		struct fd_loaded *l = &gen->plugins[i];

		if (l->p->plan == NULL || !asked(l, i, stage, skip))
			continue;
		if (!open)
			fd_plan_open(&t->plan);
		open = 1;
		l->p->plan(t, stage, l->state, t->priv[l->index],
		    t->msg.priv != NULL ? t->msg.priv[l->index] : NULL);
	}
	if (open)
		fd_plan_close(t->plan);
	else
		fd_plan_reset(t->plan);
}

/* run_plugins - the plugins of one stage; the first opinion decides */
static enum fd_action
run_plugins(struct fd_txn *t, uint32_t stage, const unsigned char *chunk,
    size_t len)
{
	struct fd_gen	*gen = t->gen;
	uint64_t	 skip = t->skip | ((stage & MSG_STAGES) ? t->msg.skip : 0) |
			    (stage == FD_ST_RCPT ? t->msg.rcpt_skip : 0);
	enum fd_action	 a;
	unsigned	 i;

	plan_stage(t, stage, skip);
	for (i = 0; i < gen->nplugins; i++) {
		struct fd_loaded *l = &gen->plugins[i];

		if (!asked(l, i, stage, skip))
			continue;
		/* a reason left by a plugin that went on is not this one's */
		if (t->reason != NULL)
			fd_txn_reason(t, NULL);
		a = call_hook(l, t, stage, chunk, len);
		if (a == FD_CONTINUE)
			continue;
		t->decider = l->conf->name;
		if (a == FD_ERROR)
			a = plugin_error(l, t);
		/* before MAIL an accept is the connection's, as the MTA
		 * takes it when it is answered there, and as it must stay
		 * when delay-reject leaves that stage unanswered */
		if (a == FD_ACCEPT && (stage & MSG_STAGES))
			t->msg.accepted = 1;
		else if (a == FD_ACCEPT)
			t->accepted = 1;
		return a;
	}
	return FD_CONTINUE;
}

enum fd_action
fd_dispatch(struct fd_txn *t, uint32_t stage, const unsigned char *chunk,
    size_t len)
{
	struct fd_rule_hit	 hit;
	struct fd_gen		*gen = t->gen;
	int			 ra = -1;
	enum fd_action		 a;

	if ((stage & MSG_STAGES) && !t->msg.active)
		return FD_CONTINUE;
	if (t->accepted || ((stage & MSG_STAGES) && t->msg.accepted))
		return FD_ACCEPT;
	fd_txn_reply_clear(t);
	t->stage = stage;
	if ((fd_rules_stages(gen->conf->rules) & stage) &&
	    fd_rules_eval(gen->conf->rules, stage, t, &hit) && !hit.dry_run) {
		t->decider = hit.rule;
		ra = rule_action(t, &hit);
	}
	a = ra >= 0 ? (enum fd_action)ra : run_plugins(t, stage, chunk, len);
	if (a == FD_CONTINUE)
		return a;
	set_default_reply(t, a);
	log_decision(t, stage, a, gen->conf->dry_run);
	if (gen->conf->dry_run) {
		t->accepted = 0;
		t->msg.accepted = 0;
		return FD_CONTINUE;
	}
	return a;
}
