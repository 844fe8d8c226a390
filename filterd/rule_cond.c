/*
 * rule_cond.c -- what a condition can read, and evaluating one
 *
 * Three tables drive the checks the parser makes and the evaluation:
 * the fields (name, the first stage the MTA has told us the value, the
 * last stage it means something at, how it compares), the MTA macros
 * (Postfix and Sendmail names with the stage each is sent at) and the
 * stage names.
 *
 * Evaluation reads the txn directly and allocates nothing: a field value
 * is a (pointer, length) slice into the txn, the local part and domain of
 * an address are slices of the address, and regexes use re.c's
 * per-thread match data.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "filterd/plugin.h"
#include "re.h"
#include "rule_impl.h"
#include "table.h"
#include "txn.h"

#define ANY_LATER	FD_ST_EOM

static const struct fd_field_def fields[] = {
	{ "auth-user", RF_AUTH_USER, FD_ST_MAIL, ANY_LATER, 0 },
	{ "client-ip", RF_CLIENT_IP, FD_ST_CONNECT, ANY_LATER, FF_IP },
	{ "client-name", RF_CLIENT_NAME, FD_ST_CONNECT, ANY_LATER,
	    FF_ICASE | FF_DOMAIN },
	{ "header", RF_HEADER, FD_ST_HEADER, FD_ST_HEADER, 0 },
	{ "header-name", RF_HEADER_NAME, FD_ST_HEADER, FD_ST_HEADER, FF_ICASE },
	{ "header-value", RF_HEADER_VALUE, FD_ST_HEADER, FD_ST_HEADER, 0 },
	{ "helo", RF_HELO, FD_ST_HELO, ANY_LATER, FF_ICASE | FF_DOMAIN },
	{ "rcpt", RF_RCPT, FD_ST_RCPT, ANY_LATER, FF_ICASE | FF_MULTI },
	{ "rcpt-domain", RF_RCPT_DOMAIN, FD_ST_RCPT, ANY_LATER,
	    FF_ICASE | FF_DOMAIN | FF_MULTI },
	{ "rcpt-local", RF_RCPT_LOCAL, FD_ST_RCPT, ANY_LATER,
	    FF_ICASE | FF_MULTI },
	{ "sender", RF_SENDER, FD_ST_MAIL, ANY_LATER, FF_ICASE },
	{ "sender-domain", RF_SENDER_DOMAIN, FD_ST_MAIL, ANY_LATER,
	    FF_ICASE | FF_DOMAIN },
	{ "sender-local", RF_SENDER_LOCAL, FD_ST_MAIL, ANY_LATER, FF_ICASE },
	{ "size", RF_SIZE, FD_ST_MAIL, ANY_LATER, FF_NUM },
};

/* for "did you mean" hints; NULL-terminated */
const char *const rule_field_names[] = {
	"auth-user", "client-ip", "client-name", "header", "header-name",
	"header-value", "helo", "rcpt", "rcpt-domain", "rcpt-local", "sender",
	"sender-domain", "sender-local", "size", NULL
};

/*
 * The macros Postfix and Sendmail send, with the first stage each is
 * known at (Postfix's milter_*_macros defaults and Sendmail's
 * Milter.macros.* together). A rule may read a macro at that stage or
 * later; fd_rules_macros() asks the MTA for it at that stage.
 */
static const struct fd_macro_def macros[] = {
	{ "_", FD_ST_CONNECT },
	{ "i", FD_ST_MAIL },
	{ "j", FD_ST_CONNECT },
	{ "v", FD_ST_CONNECT },
	{ "{auth_authen}", FD_ST_MAIL },
	{ "{auth_author}", FD_ST_MAIL },
	{ "{auth_ssf}", FD_ST_MAIL },
	{ "{auth_type}", FD_ST_MAIL },
	{ "{cert_issuer}", FD_ST_HELO },
	{ "{cert_subject}", FD_ST_HELO },
	{ "{cipher}", FD_ST_HELO },
	{ "{cipher_bits}", FD_ST_HELO },
	{ "{client_addr}", FD_ST_CONNECT },
	{ "{client_connections}", FD_ST_CONNECT },
	{ "{client_name}", FD_ST_CONNECT },
	{ "{client_port}", FD_ST_CONNECT },
	{ "{client_ptr}", FD_ST_CONNECT },
	{ "{client_resolve}", FD_ST_CONNECT },
	{ "{daemon_addr}", FD_ST_CONNECT },
	{ "{daemon_name}", FD_ST_CONNECT },
	{ "{daemon_port}", FD_ST_CONNECT },
	{ "{if_addr}", FD_ST_CONNECT },
	{ "{if_name}", FD_ST_CONNECT },
	{ "{mail_addr}", FD_ST_MAIL },
	{ "{mail_host}", FD_ST_MAIL },
	{ "{mail_mailer}", FD_ST_MAIL },
	{ "{msg_size}", FD_ST_EOM },
	{ "{nrcpts}", FD_ST_DATA },
	{ "{rcpt_addr}", FD_ST_RCPT },
	{ "{rcpt_host}", FD_ST_RCPT },
	{ "{rcpt_mailer}", FD_ST_RCPT },
	{ "{server_addr}", FD_ST_HELO },
	{ "{server_name}", FD_ST_HELO },
	{ "{tls_version}", FD_ST_HELO },
	{ "{verify}", FD_ST_HELO },
};

/* the macros as written inside { }, for hints; NULL-terminated */
const char *const rule_macro_names[] = {
	"_", "i", "j", "v", "auth_authen", "auth_author", "auth_ssf",
	"auth_type", "cert_issuer", "cert_subject", "cipher", "cipher_bits",
	"client_addr", "client_connections", "client_name", "client_port",
	"client_ptr", "client_resolve", "daemon_addr", "daemon_name",
	"daemon_port", "if_addr", "if_name", "mail_addr", "mail_host",
	"mail_mailer", "msg_size", "nrcpts", "rcpt_addr", "rcpt_host",
	"rcpt_mailer", "server_addr", "server_name", "tls_version", "verify",
	NULL
};

/* indexed by the bit number of FD_ST_*; NULL: no rules at that stage */
const char *const rule_stage_names[] = {
	"connect", "helo", "mail", "rcpt", NULL, "header", "eoh", NULL, "eom",
	NULL
};

/* rule_field_lookup - a field by name, NULL if unknown */
const struct fd_field_def *
rule_field_lookup(const char *name)
{
	size_t	 i;

	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		if (strcmp(fields[i].name, name) == 0)
			return &fields[i];
	return NULL;
}

/* rule_macro_lookup - "j", "{j}" or "{daemon_name}"; NULL if unknown */
const struct fd_macro_def *
rule_macro_lookup(const char *name)
{
	char	 buf[64];
	size_t	 i, n = strlen(name);

	/* single-letter macros go without braces, the others with */
	if (n == 3 && name[0] == '{' && name[2] == '}') {
		buf[0] = name[1];
		buf[1] = '\0';
		name = buf;
	} else if (n > 1 && name[0] != '{' && n + 3 <= sizeof(buf)) {
		buf[0] = '{';
		memcpy(buf + 1, name, n);
		buf[n + 1] = '}';
		buf[n + 2] = '\0';
		name = buf;
	}
	for (i = 0; i < sizeof(macros) / sizeof(macros[0]); i++)
		if (strcmp(macros[i].name, name) == 0)
			return &macros[i];
	return NULL;
}

/* rule_stage_name - "rcpt" for FD_ST_RCPT */
const char *
rule_stage_name(uint32_t stage)
{
	int	 i;

	if (stage == 0 || (stage & (stage - 1)) != 0)
		return "?";
	i = __builtin_ctz(stage);
	if (i < FD_NSTAGES && rule_stage_names[i] != NULL)
		return rule_stage_names[i];
	return i == 4 ? "data" : i == 7 ? "body" : "?";
}

/* rule_stage_lookup - a rule stage by name, 0 if none */
uint32_t
rule_stage_lookup(const char *name)
{
	int	 i;

	for (i = 0; i < FD_NSTAGES; i++)
		if (rule_stage_names[i] != NULL &&
		    strcmp(rule_stage_names[i], name) == 0)
			return 1u << i;
	return 0;
}

/* rule_stage_smfim - libmilter's SMFIM_* macro stage of FD_ST_*, or -1 */
int
rule_stage_smfim(uint32_t stage)
{
	switch (stage) {
	case FD_ST_CONNECT:	return 0;
	case FD_ST_HELO:	return 1;
	case FD_ST_MAIL:	return 2;
	case FD_ST_RCPT:	return 3;
	case FD_ST_DATA:	return 4;
	case FD_ST_EOM:		return 5;
	case FD_ST_EOH:		return 6;
	}
	return -1;
}

/* ---- evaluation ---- */

/* split - the local part or the domain of an address, at the last @ */
static void
split(enum fd_rfield f, const char **s, size_t *n)
{
	const char	*at;

	if (f != RF_SENDER_LOCAL && f != RF_SENDER_DOMAIN &&
	    f != RF_RCPT_LOCAL && f != RF_RCPT_DOMAIN)
		return;
	at = *n ? memrchr(*s, '@', *n) : NULL;
	if (f == RF_SENDER_LOCAL || f == RF_RCPT_LOCAL) {
		if (at != NULL)
			*n = (size_t)(at - *s);
	} else if (at != NULL) {
		*n -= (size_t)(at + 1 - *s);
		*s = at + 1;
	} else
		*n = 0;
}

/* header_value - the value of header c->arg if that is the current one */
static const char *
header_value(const struct fd_cond *c, const struct fd_txn *t)
{
	if (t->msg.hdr_name == NULL ||
	    strcasecmp(t->msg.hdr_name, c->arg) != 0)
		return NULL;
	return t->msg.hdr_value;
}

/*
 * field_value - value i of the field: 1 and the slice, or 0 if there
 * is none. Only rcpt* fields after RCPT have more than one value (every
 * accepted recipient); the others answer for i == 0 only.
 */
static int
field_value(const struct fd_cond *c, uint32_t stage, const struct fd_txn *t,
    size_t i, const char **s, size_t *n)
{
	const char	*v = NULL;
	enum fd_rfield	 f = c->field->id;

	if (i > 0 && !((c->field->flags & FF_MULTI) && stage > FD_ST_RCPT))
		return 0;
	switch (f) {
	case RF_CLIENT_IP:
		v = t->addr[0] ? t->addr : NULL;
		break;
	case RF_CLIENT_NAME:
		v = t->client_name;
		break;
	case RF_HELO:
		v = t->helo;
		break;
	case RF_SENDER:
	case RF_SENDER_LOCAL:
	case RF_SENDER_DOMAIN:
		v = t->msg.active ? t->msg.sender : NULL;
		break;
	case RF_RCPT:
	case RF_RCPT_LOCAL:
	case RF_RCPT_DOMAIN:
		if (stage <= FD_ST_RCPT)
			v = t->msg.rcpt;
		else if (i < t->msg.nrcpts)
			v = t->msg.rcpts[i];
		break;
	case RF_AUTH_USER:
		v = t->msg.auth_user;
		break;
	case RF_HEADER_NAME:
		v = t->msg.hdr_name;
		break;
	case RF_HEADER_VALUE:
		v = t->msg.hdr_value;
		break;
	case RF_HEADER:
		v = header_value(c, t);
		break;
	case RF_MACRO:
		v = fd_txn_macro(t, c->arg);
		break;
	case RF_SIZE:
		break;
	}
	if (v == NULL)
		return 0;
	*s = v;
	*n = strlen(v);
	split(f, s, n);
	return 1;
}

/* str_eq - == on one value, domains without their trailing dot */
static int
str_eq(const struct fd_cond *c, const char *s, size_t n)
{
	if ((c->field->flags & FF_DOMAIN) && n > 1 && s[n - 1] == '.')
		n--;
	if (n != c->len)
		return 0;
	if (c->field->flags & FF_ICASE)
		return strncasecmp(s, c->str, n) == 0;
	return memcmp(s, c->str, n) == 0;
}

/* test_one - a positive operator on one present value */
static int
test_one(const struct fd_cond *c, const struct fd_txn *t, const char *s,
    size_t n)
{
	switch (c->op) {
	case OP_EQ:
	case OP_NE:
		return str_eq(c, s, n);
	case OP_RE:
	case OP_NRE:
		return fd_re_match(c->re, s, n) == 1;
	case OP_IN:
		return fd_table_match(c->table, s, n);
	case OP_SET:
	case OP_UNSET:
		return n > 0;
	case OP_NULL:
		return n == 0;
	default:
		return 0;
	}
}

/* msg_size - SIZE= from MAIL, or the body seen so far if larger */
static uint64_t
msg_size(const struct fd_txn *t)
{
	return t->msg.body_size > t->msg.size_param ? t->msg.body_size :
	    t->msg.size_param;
}

/* test_num - size against a number */
static int
test_num(const struct fd_cond *c, const struct fd_txn *t)
{
	uint64_t	 v = msg_size(t);

	switch (c->op) {
	case OP_EQ:	return v == c->num;
	case OP_NE:	return v != c->num;
	case OP_LT:	return v < c->num;
	case OP_LE:	return v <= c->num;
	case OP_GT:	return v > c->num;
	case OP_GE:	return v >= c->num;
	default:	return 0;
	}
}

/* test_ip - client-ip against a network or a cidr table */
static int
test_ip(const struct fd_cond *c, const struct fd_txn *t, int *done)
{
	*done = 1;
	if (c->op == OP_EQ || c->op == OP_NE)
		return fd_cidr_match(&c->cidr, t->ip, t->ip_len);
	if (c->op == OP_IN && fd_table_kind(c->table) == FD_TABLE_CIDR)
		return fd_table_match_ip(c->table, t->ip, t->ip_len);
	*done = 0;			/* regex, set: on the text */
	return 0;
}

/* test_eval - one test; negative operators negate the positive one */
static int
test_eval(const struct fd_cond *c, uint32_t stage, const struct fd_txn *t)
{
	const char	*s;
	size_t		 n, i;
	int		 neg, hit = 0, done;

	if (c->op == OP_VERIFIED)
		return t->resolve == FD_RESOLVE_OK;
	if (c->field->flags & FF_NUM)
		return test_num(c, t);
	neg = c->op == OP_NE || c->op == OP_NRE || c->op == OP_UNSET;
	if (c->field->flags & FF_IP) {
		hit = test_ip(c, t, &done);
		if (done)
			return neg ? !hit : hit;
	}
	for (i = 0; !hit && field_value(c, stage, t, i, &s, &n); i++)
		hit = test_one(c, t, s, n);
	return neg ? !hit : hit;
}

/* rule_cond_eval - the tree, short-circuit, operands in order */
int
rule_cond_eval(const struct fd_cond *c, uint32_t stage, const struct fd_txn *t)
{
	unsigned	 i;

	switch (c->kind) {
	case C_AND:
		for (i = 0; i < c->nkids; i++)
			if (!rule_cond_eval(c->kids[i], stage, t))
				return 0;
		return 1;
	case C_OR:
		for (i = 0; i < c->nkids; i++)
			if (rule_cond_eval(c->kids[i], stage, t))
				return 1;
		return 0;
	case C_NOT:
		return !rule_cond_eval(c->kids[0], stage, t);
	case C_TEST:
		return test_eval(c, stage, t);
	}
	return 0;
}

/* fd_cond_free - the tree; tables belong to the ruleset */
struct fd_cond *
fd_cond_free(struct fd_cond *c)
{
	unsigned	 i;

	if (c == NULL)
		return NULL;
	for (i = 0; i < c->nkids; i++)
		fd_cond_free(c->kids[i]);
	free(c->kids);
	fd_re_free(c->re);
	free(c->arg);
	free(c->str);
	free(c->tname);
	free(c);
	return NULL;
}
