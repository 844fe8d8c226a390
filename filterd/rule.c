/*
 * rule.c -- a ruleset and the evaluation of one stage (see rule.h)
 *
 * The parser (conf_parse.y through rule_build.c) appends rules in file
 * order; fd_ruleset_index() then files them by stage and works out which
 * MTA macros the rules read. After that the ruleset is read-only and
 * shared by every milter thread.
 *
 * fd_rules_eval() walks the stage's rules in order. The first rule
 * whose condition holds decides: skip, set and add-header are applied to
 * the txn here, the other actions are returned in the hit for the
 * dispatcher to turn into a reply. Two kinds of match do not decide:
 *   log      logs the match and goes on;
 *   dry-run  (the rule's or the global switch) logs "would ACTION" and
 *            goes on as if the rule had not matched. fd_rules_eval()
 *            then returns 0; the hit describes the last dry-run match
 *            with hit->dry_run set, for callers that want to show it.
 * Evaluation allocates nothing itself; the txn calls it makes for skip,
 * set and add-header copy what they keep.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dispatch.h"
#include "filterd/plugin.h"
#include "log.h"
#include "rule_impl.h"
#include "txn.h"
#include "xalloc.h"

/* fd_ruleset_new - an empty ruleset */
struct fd_ruleset *
fd_ruleset_new(void)
{
	return fd_calloc(1, sizeof(struct fd_ruleset));
}

/* fd_ruleset_add - append a rule, taking it */
void
fd_ruleset_add(struct fd_ruleset *rs, struct fd_rule *r)
{
	if (rs->tail != NULL)
		rs->tail->next = r;
	else
		rs->head = r;
	rs->tail = r;
	rs->nrules++;
}

/* fd_ruleset_table_add - take a table (named or inline) */
void
fd_ruleset_table_add(struct fd_ruleset *rs, struct fd_table *t,
    const struct fd_loc *loc)
{
	if (rs->ntables == rs->captables) {
		rs->captables = rs->captables ? rs->captables * 2 : 16;
		rs->tables = fd_reallocarray(rs->tables, rs->captables,
		    sizeof(*rs->tables));
		rs->tlocs = fd_reallocarray(rs->tlocs, rs->captables,
		    sizeof(*rs->tlocs));
	}
	rs->tables[rs->ntables] = t;
	rs->tlocs[rs->ntables] = *loc;
	rs->ntables++;
}

/* fd_ruleset_table - the named table, and where it was declared */
struct fd_table *
fd_ruleset_table(const struct fd_ruleset *rs, const char *name,
    const struct fd_loc **where)
{
	const char	*n;
	unsigned	 i;

	for (i = 0; i < rs->ntables; i++) {
		n = fd_table_name(rs->tables[i]);
		if (n != NULL && strcmp(n, name) == 0) {
			if (where != NULL)
				*where = &rs->tlocs[i];
			return rs->tables[i];
		}
	}
	return NULL;
}

/* macro_want - add name to the list of one SMFIM stage, once */
static void
macro_want(struct fd_ruleset *rs, int smfim, const char *name)
{
	unsigned	 i, n;

	if (smfim < 0 || smfim >= FD_NSMFIM)
		return;
	n = rs->nmacros[smfim];
	for (i = 0; i < n; i++)
		if (strcmp(rs->macros[smfim][i], name) == 0)
			return;
	rs->macros[smfim] = fd_reallocarray(rs->macros[smfim], n + 2,
	    sizeof(char *));
	rs->macros[smfim][n] = fd_strdup(name);
	rs->macros[smfim][n + 1] = NULL;
	rs->nmacros[smfim] = n + 1;
}

/* cond_macros - the macros a condition reads, at the stage they come */
static void
cond_macros(struct fd_ruleset *rs, const struct fd_cond *c)
{
	const struct fd_macro_def	*m;
	unsigned			 i;

	if (c == NULL)
		return;
	for (i = 0; i < c->nkids; i++)
		cond_macros(rs, c->kids[i]);
	if (c->kind != C_TEST)
		return;
	if (c->field->id == RF_MACRO && (m = rule_macro_lookup(c->arg)) != NULL) {
		macro_want(rs, rule_stage_smfim(m->first), m->name);
		/*
		 * The MTA sends a stage's macros even when that step is
		 * turned off, but libmilter then calls nobody to read them:
		 * DATA, the one such step whose macros a rule may read, must
		 * stay on (no reply is awaited there unless a rule answers).
		 */
		if (m->first == FD_ST_DATA)
			rs->stages |= FD_ST_DATA;
	}
	if (c->op == OP_VERIFIED)
		macro_want(rs, 0, "{client_resolve}");
	if (c->field->id == RF_AUTH_USER)
		macro_want(rs, 2, "{auth_authen}");
}

/* cond_size - the condition reads size */
static int
cond_size(const struct fd_cond *c)
{
	unsigned	 i;

	if (c == NULL)
		return 0;
	for (i = 0; i < c->nkids; i++)
		if (cond_size(c->kids[i]))
			return 1;
	return c->kind == C_TEST && c->field->id == RF_SIZE;
}

/* rule_answers - the rule's action is an answer to the MTA */
static int
rule_answers(const struct fd_rule *r)
{
	if (r->dry_run)
		return 0;
	switch (r->action) {
	case FD_RA_ACCEPT:
	case FD_RA_ACCEPT_CONN:
	case FD_RA_REJECT:
	case FD_RA_TEMPFAIL:
	case FD_RA_DISCARD:
		return 1;
	default:
		return 0;
	}
}

/* fd_ruleset_index - per-stage arrays and macro lists, after parsing */
void
fd_ruleset_index(struct fd_ruleset *rs)
{
	struct fd_rule	*r;
	int		 i;

	for (r = rs->head; r != NULL; r = r->next) {
		i = __builtin_ctz(r->stage);
		rs->by_stage[i] = fd_reallocarray(rs->by_stage[i],
		    rs->nby_stage[i] + 1, sizeof(*rs->by_stage[i]));
		rs->by_stage[i][rs->nby_stage[i]++] = r;
		rs->stages |= r->stage;
		if (rule_answers(r))
			rs->decides |= r->stage;
		cond_macros(rs, r->cond);
		/*
		 * At end of message size counts the body, which libmilter
		 * hands over only while the body step is on; without it a
		 * client that declares no SIZE= would measure 0.
		 */
		if (r->stage == FD_ST_EOM && cond_size(r->cond))
			rs->stages |= FD_ST_BODY;
	}
}

/* fd_rules_stages - FD_ST_* bits that have rules */
uint32_t
fd_rules_stages(const struct fd_ruleset *rs)
{
	return rs ? rs->stages : 0;
}

/* fd_rules_decides - stages with a rule that answers; none in dry-run */
uint32_t
fd_rules_decides(const struct fd_ruleset *rs)
{
	return rs && !rs->dry_run ? rs->decides : 0;
}

void
fd_rules_sets(const struct fd_ruleset *rs,
    void (*fn)(const struct fd_rule_set *, void *), void *arg)
{
	const struct fd_rule	*r;
	struct fd_rule_set	 s;

	for (r = rs != NULL ? rs->head : NULL; r != NULL; r = r->next) {
		if (r->action != FD_RA_SET || r->set_plugin < 0)
			continue;
		s.plugin = r->set_plugin;
		s.param = r->set_param;
		s.value = r->set_value;
		s.ploc = &r->plocs[0];
		s.vloc = &r->set_vloc;
		fn(&s, arg);
	}
}

/* fd_rules_macros - the macros to ask for at one SMFIM stage */
const char *const *
fd_rules_macros(const struct fd_ruleset *rs, int smfim)
{
	static const char *const none[] = { NULL };

	if (rs == NULL || smfim < 0 || smfim >= FD_NSMFIM ||
	    rs->macros[smfim] == NULL)
		return none;
	return (const char *const *)rs->macros[smfim];
}

/* log_match - one line for a log rule or a dry-run match */
static void
log_match(const struct fd_rule *r, uint32_t stage, const struct fd_txn *t,
    const char *what)
{
	char		 helo[128], from[160], rcpt[160], text[1024];
	const char	*q;

	if (fd_log_level() < FD_LOG_INFO)
		return;
	fd_escape_str(helo, sizeof(helo), t->helo);
	fd_escape_addr(from, sizeof(from), t->msg.active ? t->msg.sender :
	    NULL);
	fd_escape_addr(rcpt, sizeof(rcpt), t->msg.rcpt);
	/* quoted: Postfix passes a HELO with spaces on whole */
	q = t->helo != NULL ? "\"" : "";
	snprintf(text, sizeof(text), "helo=%s%s%s from=%s rcpt=%s stage=%s "
	    "rule=%s %s %s", q, helo, q, from, rcpt, rule_stage_name(stage), r->name, what,
	    r->desc);
	fd_conn_log(t, FD_LOG_INFO, text);
}

/* apply - what a deciding rule does to the txn itself */
static void
apply(const struct fd_rule *r, struct fd_txn *t)
{
	unsigned	 i;

	switch (r->action) {
	case FD_RA_SKIP:
		for (i = 0; i < 64; i++)
			if (r->skip & (UINT64_C(1) << i))
				fd_txn_skip(t, i);
		break;
	case FD_RA_SET:
		fd_txn_param_set(t, r->set_plugin, r->set_param, r->set_value);
		break;
	case FD_RA_ADD_HEADER:
		fd_txn_header_add(t, r->hdr_name, r->hdr_value);
		break;
	default:
		break;
	}
}

/* hit_fill - describe rule r in hit */
static void
hit_fill(struct fd_rule_hit *hit, const struct fd_rule *r, int dry)
{
	hit->action = r->action;
	hit->rule = r->name;
	hit->loc = &r->loc;
	hit->rcode = r->rcode;
	hit->xcode = r->xcode;
	hit->text = r->text;
	hit->dry_run = dry;
}

/* fd_rules_eval - the first matching rule of the stage decides */
int
fd_rules_eval(const struct fd_ruleset *rs, uint32_t stage, struct fd_txn *t,
    struct fd_rule_hit *hit)
{
	const struct fd_rule	*r;
	unsigned		 i, n;
	int			 s;

	memset(hit, 0, sizeof(*hit));
	if (rs == NULL || stage == 0 || (stage & (stage - 1)) != 0)
		return 0;
	if ((s = __builtin_ctz(stage)) >= FD_NSTAGES)
		return 0;
	n = rs->nby_stage[s];
	for (i = 0; i < n; i++) {
		r = rs->by_stage[s][i];
		if (r->cond != NULL && !rule_cond_eval(r->cond, stage, t))
			continue;
		if (r->action == FD_RA_LOG) {
			log_match(r, stage, t, "matched:");
			continue;
		}
		if (r->dry_run || rs->dry_run) {
			log_match(r, stage, t, "dry-run: would");
			hit_fill(hit, r, 1);
			continue;
		}
		apply(r, t);
		hit_fill(hit, r, 0);
		if (r->action == FD_RA_SKIP || r->action == FD_RA_SET ||
		    r->action == FD_RA_ADD_HEADER)
			log_match(r, stage, t, "applied:");
		return 1;
	}
	if (!hit->dry_run)
		hit->action = FD_RA_NONE;
	return 0;
}

/* fd_rule_free - one rule; returns NULL */
struct fd_rule *
fd_rule_free(struct fd_rule *r)
{
	int	 i;

	if (r == NULL)
		return NULL;
	free(r->name);
	fd_cond_free(r->cond);
	free(r->rcode);
	free(r->xcode);
	free(r->text);
	for (i = 0; i < r->npnames; i++)
		free(r->pnames[i]);
	free(r->pnames);
	free(r->plocs);
	free(r->set_param);
	free(r->set_value);
	free(r->hdr_name);
	free(r->hdr_value);
	free(r->desc);
	free(r);
	return NULL;
}

/* fd_ruleset_free - rules, tables, indexes; returns NULL */
struct fd_ruleset *
fd_ruleset_free(struct fd_ruleset *rs)
{
	struct fd_rule	*r, *next;
	unsigned	 i, j;

	if (rs == NULL)
		return NULL;
	for (r = rs->head; r != NULL; r = next) {
		next = r->next;
		fd_rule_free(r);
	}
	for (i = 0; i < FD_NSTAGES; i++)
		free(rs->by_stage[i]);
	for (i = 0; i < FD_NSMFIM; i++) {
		for (j = 0; j < rs->nmacros[i]; j++)
			free(rs->macros[i][j]);
		free(rs->macros[i]);
	}
	for (i = 0; i < rs->ntables; i++)
		fd_table_free(rs->tables[i]);
	free(rs->tables);
	free(rs->tlocs);
	free(rs);
	return NULL;
}
