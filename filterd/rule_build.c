/*
 * rule_build.c -- turning what the parser read into checked rules
 *
 * The grammar hands over each test of a condition, each action and then
 * the whole rule; this file checks them against the field, macro and
 * stage tables (rule_cond.c) and compiles what can be compiled at load:
 * regexes, networks, sizes, inline lists. Every problem is reported at
 * the place it was written and the rule is dropped; parsing goes on.
 *
 * Checks that need the whole configuration -- plugin names in skip and
 * set, table names in `in <name>` -- wait for rb_finish(), so a plugin or
 * table may be declared after the rules that use it.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf_int.h"
#include "filterd/plugin.h"
#include "log.h"
#include "re.h"
#include "smtp_code.h"
#include "table.h"
#include "txn.h"
#include "units.h"
#include "xalloc.h"

#define MAX_TEXT	400	/* reply text, leaves room in a 512-byte line */
/* and/or/not levels of a condition: a session's thread evaluates them
 * one stack frame a level, on a stack as small as 128k */
#define MAX_COND_DEPTH	100

static const struct fd_field_def macro_field = {
	"{macro}", RF_MACRO, FD_ST_CONNECT, FD_ST_EOM, 0
};

static const char *const stage_hints[] = {
	"connect", "helo", "mail", "rcpt", "header", "eoh", "eom", NULL
};

/* fref_free - a field reference; returns NULL */
struct fref *
fref_free(struct fref *f)
{
	if (f == NULL)
		return NULL;
	free(f->name);
	free(f->arg);
	free(f);
	return NULL;
}

/* raction_free - an unchecked action; returns NULL */
struct raction *
raction_free(struct raction *a)
{
	if (a == NULL)
		return NULL;
	fd_dir_free(a->args);
	free(a);
	return NULL;
}

/* hinted - " (did you mean \"x\"?)" or "" into buf */
static const char *
hinted(const char *word, const char *const *cands, char *buf, size_t len)
{
	const char	*h = fd_hint(word, cands);

	if (h == NULL)
		return "";
	snprintf(buf, len, " (did you mean \"%s\"?)", h);
	return buf;
}

/* test_new - a test node for field f, or NULL after reporting; takes f */
static struct fd_cond *
test_new(struct cparse *cp, struct fref *f, enum fd_rop op)
{
	const struct fd_field_def	*def;
	const struct fd_macro_def	*m;
	struct fd_cond			*c = NULL;
	char				 h[64];

	if (f->macro) {
		if ((m = rule_macro_lookup(f->name)) == NULL) {
			fd_errs_add(cp->errs, &f->loc, "unknown macro {%s}%s",
			    f->name, hinted(f->name, rule_macro_names, h,
			    sizeof(h)));
			goto out;
		}
		def = &macro_field;
		free(f->name);
		f->name = fd_strdup(m->name);
	} else if ((def = rule_field_lookup(f->name)) == NULL) {
		if (!f->said)
			fd_errs_add(cp->errs, &f->loc, "unknown field \"%s\"%s",
			    f->name, hinted(f->name, rule_field_names, h,
			    sizeof(h)));
		goto out;
	} else if (def->id == RF_HEADER && f->arg == NULL) {
		fd_errs_add(cp->errs, &f->loc, "header needs a header name, "
		    "as in header \"Subject\"");
		goto out;
	} else if (def->id == RF_HEADER && !fd_header_name_ok(f->arg)) {
		/* the MTA names a header without its colon: such a test
		 * would never hold, and say nothing of it */
		fd_errs_add(cp->errs, &f->loc, "bad header name \"%s\" (1 to "
		    "128 printable ASCII characters, no blank or ':')", f->arg);
		goto out;
	} else if (def->id != RF_HEADER && f->arg != NULL) {
		fd_errs_add(cp->errs, &f->loc, "%s takes no name; is an "
		    "operator missing?", f->name);
		goto out;
	}
	c = fd_calloc(1, sizeof(*c));
	c->kind = C_TEST;
	c->field = def;
	c->op = op;
	c->loc = f->loc;
	if (def->id == RF_MACRO) {
		c->arg = f->name;
		f->name = NULL;
	} else if (def->id == RF_HEADER) {
		c->arg = f->arg;
		f->arg = NULL;
	}
out:
	fref_free(f);
	return c;
}

/* test_bad - report an operator that does not fit the field */
static struct fd_cond *
test_bad(struct cparse *cp, struct fd_cond *c, const struct fd_loc *loc,
    const char *msg)
{
	fd_errs_add(cp->errs, loc, "%s %s", c->field->id == RF_MACRO ?
	    "a macro" : c->field->name, msg);
	return fd_cond_free(c);
}

/* bracketed - an address written with the angle brackets that the
 * MTA's value is compared without, so that == could never hold */
static int
bracketed(const struct fd_cond *c, const char *v, size_t n)
{
	return (c->field->id == RF_SENDER || c->field->id == RF_RCPT) &&
	    n >= 2 && v[0] == '<' && v[n - 1] == '>';
}

/*
 * rb_field - a field as written. No field's name holds an operator's
 * characters: `helo=="x"` is one word and a string to the lexer, and
 * the parser would only stop at the action, far from the mistake.
 */
struct fref *
rb_field(struct cparse *cp, char *name, char *arg, int macro,
    const struct fd_loc *loc)
{
	struct fref	*f = fd_calloc(1, sizeof(*f));
	char		 fix[160];

	f->name = name;
	f->arg = arg;
	f->macro = macro;
	f->loc = *loc;
	if (!macro && rb_op_split(fix, sizeof(fix), name, arg)) {
		fd_errs_add(cp->errs, loc, "\"%s\" holds an operator: write "
		    "it as a word of its own, %s", name, fix);
		f->said = 1;
	}
	return f;
}

/* op_meant - the operator a run of operator characters was meant to be:
 * the language has no `=` nor `=~` */
static const char *
op_meant(const char *op, size_t n)
{
	static const char *const ops[] = { "==", "!=", "<=", ">=", "!~",
	    "<", ">", "~" };
	size_t	 i;

	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (strlen(ops[i]) == n && strncmp(op, ops[i], n) == 0)
			return ops[i];
	if (memchr(op, '~', n) != NULL)
		return memchr(op, '!', n) != NULL ? "!~" : "~";
	if (memchr(op, '!', n) != NULL)
		return "!=";
	if (memchr(op, '<', n) != NULL)
		return "<=";
	if (memchr(op, '>', n) != NULL)
		return ">=";
	return "==";
}

int
rb_op_split(char *buf, size_t len, const char *word, const char *arg)
{
	size_t	 n = strcspn(word, "=!<>~"), op;
	char	 field[32];

	/* a field's name, then an operator: not key=value as a value */
	if (n == 0 || word[n] == '\0' || n >= sizeof(field))
		return 0;
	memcpy(field, word, n);
	field[n] = '\0';
	if (rule_field_lookup(field) == NULL)
		return 0;
	op = strspn(word + n, "=!<>~");
	if (arg != NULL)
		snprintf(buf, len, "%.*s %s %s\"%s\"", (int)n, word,
		    op_meant(word + n, op), word + n + op, arg);
	else if (word[n + op] != '\0')
		snprintf(buf, len, "%.*s %s %s", (int)n, word,
		    op_meant(word + n, op), word + n + op);
	/* `helo=~/x/`: what follows is a token of its own, any operator */
	else
		snprintf(buf, len, "%.*s == VALUE or %.*s ~ /REGEX/", (int)n,
		    word, (int)n, word);
	return 1;
}

/* rb_test - == != < <= > >= against a word or string; takes f and v */
struct fd_cond *
rb_test(struct cparse *cp, struct fref *f, enum fd_rop op, char *v,
    const struct fd_loc *vloc)
{
	struct fd_cond	*c = test_new(cp, f, op);
	const char	*why;
	char		 err[256];
	size_t		 n;

	if (c == NULL)
		goto out;
	if (c->field->flags & FF_NUM) {
		if (fd_units_size(v, &c->num, &why) < 0) {
			fd_errs_add(cp->errs, vloc, "bad size \"%s\": %s", v,
			    why);
			c = fd_cond_free(c);
		}
	} else if (op != OP_EQ && op != OP_NE)
		c = test_bad(cp, c, vloc, "cannot be compared with < <= > >= "
		    "(only size can)");
	else if (c->field->flags & FF_IP) {
		if (fd_cidr_parse(v, &c->cidr, err, sizeof(err)) < 0) {
			fd_errs_add(cp->errs, vloc, "client-ip == needs an "
			    "address or CIDR: %s", err);
			c = fd_cond_free(c);
		}
	} else if (bracketed(c, v, (n = strlen(v)))) {
		v[n - 1] = '\0';
		fd_errs_add(cp->errs, vloc, "%s is compared without its angle "
		    "brackets: write %s%s", c->field->name, n > 2 ? v + 1 :
		    "\"\"", n == 2 && c->field->id == RF_SENDER ?
		    " (or sender null)" : "");
		c = fd_cond_free(c);
	} else {
		if ((c->field->flags & FF_DOMAIN) && n > 1 && v[n - 1] == '.')
			v[--n] = '\0';
		c->str = v;
		c->len = n;
		v = NULL;
	}
out:
	free(v);
	return c;
}

/* rb_test_re - ~ and !~; re is "pattern\0flags"; takes f and re */
struct fd_cond *
rb_test_re(struct cparse *cp, struct fref *f, enum fd_rop op, char *re,
    const struct fd_loc *loc)
{
	struct fd_cond	*c = test_new(cp, f, op);
	char		 err[512];

	if (c != NULL && (c->field->flags & FF_NUM))
		c = test_bad(cp, c, loc, "cannot be matched with a regex");
	else if (c != NULL && (c->re = fd_re_new(re, re + strlen(re) + 1, err,
	    sizeof(err))) == NULL) {
		fd_errs_add(cp->errs, loc, "%s", err);
		c = fd_cond_free(c);
	}
	free(re);
	return c;
}

/* rb_test_table - in <name>, resolved by rb_finish; takes f and name */
struct fd_cond *
rb_test_table(struct cparse *cp, struct fref *f, char *name,
    const struct fd_loc *loc)
{
	struct fd_cond	*c = test_new(cp, f, OP_IN);

	if (c != NULL && (c->field->flags & FF_NUM))
		c = test_bad(cp, c, loc, "cannot be looked up in a table");
	if (c != NULL) {
		c->tname = name;
		c->tloc = *loc;
		name = NULL;
	}
	free(name);
	return c;
}

/* rb_test_list - in { ... }: an anonymous table; takes f and d */
struct fd_cond *
rb_test_list(struct cparse *cp, struct fref *f, struct fd_directive *d,
    const struct fd_loc *loc)
{
	struct fd_cond	*c = test_new(cp, f, OP_IN);

	if (c != NULL && (c->field->flags & FF_NUM))
		c = test_bad(cp, c, loc, "cannot be looked up in a table");
	if (c != NULL) {
		c->table = conf_list_table(cp, NULL, d,
		    (c->field->flags & FF_IP) != 0);
		fd_ruleset_table_add(cp->rs, c->table, loc);
	}
	fd_dir_free(d);
	return c;
}

/* rb_test_unary - verified, set, unset, null; takes f */
struct fd_cond *
rb_test_unary(struct cparse *cp, struct fref *f, enum fd_rop op,
    const struct fd_loc *loc)
{
	struct fd_cond	*c = test_new(cp, f, op);

	if (c == NULL)
		return NULL;
	if (op == OP_VERIFIED && c->field->id != RF_CLIENT_NAME)
		return test_bad(cp, c, loc, "cannot be verified (only "
		    "client-name can)");
	if (op == OP_NULL && c->field->id != RF_SENDER)
		return test_bad(cp, c, loc, "cannot be null (only sender can)");
	if ((op == OP_SET || op == OP_UNSET) && (c->field->flags & FF_NUM))
		return test_bad(cp, c, loc, "is always set");
	return c;
}

/* cond_kid - append k to c's operands, taking it */
static void
cond_kid(struct fd_cond *c, struct fd_cond *k)
{
	if (c->nkids == c->capkids) {
		c->capkids = c->capkids ? c->capkids * 2 : 2;
		c->kids = fd_reallocarray(c->kids, c->capkids,
		    sizeof(*c->kids));
	}
	c->kids[c->nkids++] = k;
	if (k->depth + 1 > c->depth)
		c->depth = k->depth + 1;
}

/* cond_operand - k as an operand of c; an and (or) joined by and (or)
 * gives c its operands instead, as `a or b or c` is one chain */
static void
cond_operand(struct fd_cond *c, struct fd_cond *k)
{
	unsigned	 i;

	if (c->kind == C_NOT || k->kind != c->kind) {
		cond_kid(c, k);
		return;
	}
	for (i = 0; i < k->nkids; i++)
		cond_kid(c, k->kids[i]);
	k->nkids = 0;
	fd_cond_free(k);
}

/* rb_join - and, or, not at loc; NULL if a part is (it was reported) or
 * the result nests too deep */
struct fd_cond *
rb_join(struct cparse *cp, enum fd_ckind kind, struct fd_cond *l,
    struct fd_cond *r, const struct fd_loc *loc)
{
	struct fd_cond	*c;

	if (l == NULL || (kind != C_NOT && r == NULL)) {
		fd_cond_free(l);
		fd_cond_free(r);
		return NULL;
	}
	if (kind != C_NOT && l->kind == kind)
		c = l;
	else {
		c = fd_calloc(1, sizeof(*c));
		c->kind = kind;
		cond_operand(c, l);
	}
	if (r != NULL)
		cond_operand(c, r);
	if (c->depth > MAX_COND_DEPTH) {
		fd_errs_add(cp->errs, loc, "condition nested more than %d "
		    "levels deep", MAX_COND_DEPTH);
		return fd_cond_free(c);
	}
	return c;
}

/* rb_action - an action as written, checked in rb_rule */
struct raction *
rb_action(enum fd_rule_action kind, struct fd_directive *args,
    const struct fd_loc *loc)
{
	struct raction	*a = fd_calloc(1, sizeof(*a));

	a->kind = kind;
	a->args = args;
	a->loc = *loc;
	return a;
}

/* field_label - a field as messages name it */
static const char *
field_label(const struct fd_cond *c, char *buf, size_t len)
{
	if (c->field->id == RF_MACRO)
		snprintf(buf, len, "macro %s", c->arg);
	else if (c->field->id == RF_HEADER)
		snprintf(buf, len, "header \"%s\"", c->arg);
	else
		snprintf(buf, len, "%s", c->field->name);
	return buf;
}

/* cond_stage - every field of c must be known at the rule's stage */
static void
cond_stage(struct cparse *cp, const struct fd_cond *c, uint32_t stage)
{
	const struct fd_macro_def	*m;
	uint32_t			 first, last;
	char				 name[96];
	unsigned			 i;

	if (c == NULL)
		return;
	for (i = 0; i < c->nkids; i++)
		cond_stage(cp, c->kids[i], stage);
	if (c->kind != C_TEST)
		return;
	first = c->field->first;
	last = c->field->last;
	if (c->field->id == RF_MACRO && (m = rule_macro_lookup(c->arg)) != NULL)
		first = m->first;
	if (stage < first)
		fd_errs_add(cp->errs, &c->loc, "%s is not known yet at %s "
		    "(the MTA sends it at %s)", field_label(c, name,
		    sizeof(name)), rule_stage_name(stage), rule_stage_name(first));
	else if (stage > last)
		fd_errs_add(cp->errs, &c->loc, "%s is only known at the %s "
		    "stage, not at %s", field_label(c, name, sizeof(name)),
		    rule_stage_name(last), rule_stage_name(stage));
}

/* text_ok - printable, no line breaks, not too long */
static const char *
text_ok(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < ' ' || *s == 0x7f)
			return "control characters and line breaks are not "
			    "allowed in a reply text";
	return NULL;
}

/* act_reply - reject/tempfail [RCODE XCODE] ["TEXT"] */
static void
act_reply(struct cparse *cp, struct fd_rule *r, const struct raction *a)
{
	const struct fd_directive *d = a->args;
	const char	*verb = r->action == FD_RA_REJECT ? "reject" : "tempfail";
	const char	*why;
	char		 cls = r->action == FD_RA_REJECT ? '5' : '4';
	int		 i = 0;

	if (d->argc > 0 && strspn(d->argv[0], "0123456789") == 3 &&
	    d->argv[0][3] == '\0') {
		if (!fd_reply_code_ok(d->argv[0], cls))
			fd_errs_add(cp->errs, &d->argloc[0], "%s needs a "
			    "%cxx reply code, not %s", verb, cls, d->argv[0]);
		r->rcode = fd_strdup(d->argv[0]);
		if (d->argc < 2 || !fd_status_code_ok(d->argv[1], 0)) {
			fd_errs_add(cp->errs, d->argc < 2 ? &d->argloc[0] :
			    &d->argloc[1], "%s %s needs an enhanced status "
			    "code after it (class.subject.detail, as %c.7.1)",
			    verb, d->argv[0], cls);
			return;
		}
		if (d->argv[1][0] != d->argv[0][0])
			fd_errs_add(cp->errs, &d->argloc[1], "enhanced status "
			    "code %s does not match reply code %s", d->argv[1],
			    d->argv[0]);
		r->xcode = fd_strdup(d->argv[1]);
		i = 2;
	} else if (d->argc > 0 && fd_status_code_ok(d->argv[0], 0)) {
		fd_errs_add(cp->errs, &d->argloc[0], "%s: the reply code "
		    "goes before %s (as %c%s %s)", verb, d->argv[0], cls,
		    cls == '5' ? "50" : "51", d->argv[0]);
		return;
	}
	if (i < d->argc) {
		if ((why = text_ok(d->argv[i])) != NULL)
			fd_errs_add(cp->errs, &d->argloc[i], "%s", why);
		else if (strlen(d->argv[i]) > MAX_TEXT)
			fd_errs_add(cp->errs, &d->argloc[i], "reply text longer "
			    "than %d characters", MAX_TEXT);
		r->text = fd_strdup(d->argv[i++]);
	}
	if (i < d->argc)
		fd_errs_add(cp->errs, &d->argloc[i], "unexpected \"%s\" after "
		    "the %s text (quote the whole text)", d->argv[i], verb);
	if (r->rcode == NULL) {
		r->rcode = fd_strdup(cls == '5' ? "550" : "451");
		r->xcode = fd_strdup(cls == '5' ? "5.7.1" : "4.7.1");
	}
	if (r->text == NULL)
		r->text = fd_strdup(cls == '5' ? "Message rejected by policy" :
		    "Try again later");
}

/* act_args - the argument count an action takes */
static int
act_args(struct cparse *cp, const struct raction *a, int min, int max,
    const char *usage)
{
	const struct fd_directive *d = a->args;

	if (d->argc >= min && d->argc <= max)
		return 0;
	fd_errs_add(cp->errs, d->argc > max ? &d->argloc[max] : &a->loc,
	    "usage: %s", usage);
	return -1;
}

/* act_plugins - remember plugin names (and where) for rb_finish */
static void
act_plugins(struct fd_rule *r, const struct fd_directive *d, int n)
{
	int	 i;

	r->pnames = fd_calloc((size_t)n, sizeof(*r->pnames));
	r->plocs = fd_calloc((size_t)n, sizeof(*r->plocs));
	for (i = 0; i < n; i++) {
		r->pnames[i] = fd_strdup(d->argv[i]);
		r->plocs[i] = d->argloc[i];
	}
	r->npnames = n;
}

/* act_set - set PLUGIN.PARAM VALUE */
static void
act_set(struct cparse *cp, struct fd_rule *r, const struct raction *a)
{
	const struct fd_directive *d = a->args;
	const char	*dot;

	if (act_args(cp, a, 2, 2, "set PLUGIN.PARAM VALUE") < 0)
		return;
	dot = strchr(d->argv[0], '.');
	if (dot == NULL || dot == d->argv[0] || dot[1] == '\0') {
		fd_errs_add(cp->errs, &d->argloc[0], "set needs PLUGIN.PARAM, "
		    "not \"%s\"", d->argv[0]);
		return;
	}
	r->pnames = fd_calloc(1, sizeof(*r->pnames));
	r->plocs = fd_calloc(1, sizeof(*r->plocs));
	r->pnames[0] = fd_strndup(d->argv[0], (size_t)(dot - d->argv[0]));
	r->plocs[0] = d->argloc[0];
	r->npnames = 1;
	r->set_param = fd_strdup(dot + 1);
	r->set_value = fd_strdup(d->argv[1]);
	r->set_vloc = d->argloc[1];
}

/* act_header - add-header NAME VALUE */
static void
act_header(struct cparse *cp, struct fd_rule *r, const struct raction *a)
{
	const struct fd_directive *d = a->args;

	if (act_args(cp, a, 2, 2, "add-header \"Name\" \"value\"") < 0)
		return;
	if (!fd_header_name_ok(d->argv[0]))
		fd_errs_add(cp->errs, &d->argloc[0], "bad header name \"%s\"",
		    d->argv[0]);
	if (!fd_header_value_ok(d->argv[1]))
		fd_errs_add(cp->errs, &d->argloc[1], "line breaks are "
		    "not allowed in a header value");
	else if (!fd_header_fits(d->argv[0], d->argv[1]))
		fd_errs_add(cp->errs, &d->argloc[1], "header too long: "
		    "\"%s: \" and the value make %zu octets, more than one "
		    "line may hold (%d, RFC 5322)", d->argv[0],
		    strlen(d->argv[0]) + 2 + strlen(d->argv[1]),
		    FD_HEADER_LINE_MAX);
	r->hdr_name = fd_strdup(d->argv[0]);
	r->hdr_value = fd_strdup(d->argv[1]);
}

/* act_message - set, add-header and discard need a message */
static void
act_message(struct cparse *cp, const struct fd_rule *r, const struct raction *a,
    const char *verb)
{
	if (r->stage < FD_ST_MAIL)
		fd_errs_add(cp->errs, &a->loc, "%s works on a message: use it "
		    "at mail or later, not at %s", verb, rule_stage_name(r->stage));
}

/* rule_action - check the action against the rule's stage, fill r */
static void
rule_action(struct cparse *cp, struct fd_rule *r, const struct raction *a)
{
	const struct fd_directive *d = a->args;

	r->action = a->kind;
	switch (a->kind) {
	case FD_RA_ACCEPT:
		if (d->argc == 1 && strcmp(d->argv[0], "connection") == 0)
			r->action = FD_RA_ACCEPT_CONN;
		else
			act_args(cp, a, 0, 0, "accept | accept connection");
		break;
	case FD_RA_REJECT:
	case FD_RA_TEMPFAIL:
		act_reply(cp, r, a);
		break;
	case FD_RA_DISCARD:
		act_message(cp, r, a, "discard");
		act_args(cp, a, 0, 0, "discard");
		break;
	case FD_RA_SKIP:
		/* before MAIL it holds for every message of the connection */
		act_plugins(r, d, d->argc);
		break;
	case FD_RA_SET:
		act_message(cp, r, a, "set");
		act_set(cp, r, a);
		break;
	case FD_RA_ADD_HEADER:
		act_message(cp, r, a, "add-header");
		act_header(cp, r, a);
		break;
	case FD_RA_LOG:
		if (act_args(cp, a, 0, 1, "log [\"TEXT\"]") == 0 && d->argc)
			r->text = fd_strdup(d->argv[0]);
		break;
	default:
		break;
	}
}

/* rule_desc - the action as a log line shows it */
static char *
rule_desc(const struct fd_rule *r)
{
	char	 a[512], b[512], list[256];
	size_t	 o = 0;
	int	 i;

	switch (r->action) {
	case FD_RA_ACCEPT:
		return fd_strdup("accept");
	case FD_RA_ACCEPT_CONN:
		return fd_strdup("accept connection");
	case FD_RA_DISCARD:
		return fd_strdup("discard");
	case FD_RA_REJECT:
	case FD_RA_TEMPFAIL:
		return fd_asprintf("%s %s %s \"%s\"", r->action ==
		    FD_RA_REJECT ? "reject" : "tempfail", r->rcode, r->xcode,
		    fd_escape_str(a, sizeof(a), r->text));
	case FD_RA_SKIP:
		list[0] = '\0';
		for (i = 0; i < r->npnames && o < sizeof(list); i++)
			o += (size_t)snprintf(list + o, sizeof(list) - o,
			    "%s%s", i ? ", " : "", r->pnames[i]);
		return fd_asprintf("skip %s", list);
	case FD_RA_SET:
		return fd_asprintf("set %s.%s \"%s\"", r->pnames[0],
		    r->set_param, fd_escape_str(a, sizeof(a), r->set_value));
	case FD_RA_ADD_HEADER:
		return fd_asprintf("add-header %s \"%s\"",
		    fd_escape_str(a, sizeof(a), r->hdr_name),
		    fd_escape_str(b, sizeof(b), r->hdr_value));
	case FD_RA_LOG:
		if (r->text == NULL)
			return fd_strdup("log");
		return fd_asprintf("log \"%s\"", fd_escape_str(a, sizeof(a),
		    r->text));
	default:
		return fd_strdup("?");
	}
}

/* rb_rule - a whole rule; kept only if nothing since errmark failed */
void
rb_rule(struct cparse *cp, size_t errmark, char *name,
    const struct fd_loc *nloc, char *stage, const struct fd_loc *sloc,
    int dry_run, struct fd_cond *cond, struct raction *act)
{
	struct fd_rule	*r = fd_calloc(1, sizeof(*r)), *o;
	char		 h[64];

	r->name = name;
	r->loc = *nloc;
	r->dry_run = dry_run;
	r->cond = cond;
	r->set_plugin = -1;
	for (o = cp->rs->head; o != NULL; o = o->next) {
		if (strcmp(o->name, name) == 0) {
			fd_errs_add(cp->errs, nloc, "rule %s is already defined "
			    "at %s:%d:%d", name, o->loc.file, o->loc.line,
			    o->loc.col);
			break;
		}
	}
	if ((r->stage = rule_stage_lookup(stage)) == 0)
		fd_errs_add(cp->errs, sloc, "unknown stage \"%s\"%s; rules run "
		    "at connect, helo, mail, rcpt, header, eoh or eom", stage,
		    hinted(stage, stage_hints, h, sizeof(h)));
	else {
		cond_stage(cp, cond, r->stage);
		rule_action(cp, r, act);
	}
	free(stage);
	raction_free(act);
	if (cp->errs->n > errmark) {
		fd_rule_free(r);
		return;
	}
	r->desc = rule_desc(r);
	fd_ruleset_add(cp->rs, r);
}

/* cond_tables - resolve <name> references and check their kinds */
static void
cond_tables(struct cparse *cp, struct fd_cond *c, const char *const *names)
{
	char		 h[64];
	unsigned	 i;

	if (c == NULL)
		return;
	for (i = 0; i < c->nkids; i++)
		cond_tables(cp, c->kids[i], names);
	if (c->tname == NULL)
		return;
	if ((c->table = fd_ruleset_table(cp->rs, c->tname, NULL)) == NULL)
		fd_errs_add(cp->errs, &c->tloc, "unknown table <%s>%s",
		    c->tname, hinted(c->tname, names, h, sizeof(h)));
	else if ((c->field->flags & FF_IP) &&
	    (fd_table_kind(c->table) == FD_TABLE_DOMAIN ||
	    fd_table_kind(c->table) == FD_TABLE_LIST))
		fd_errs_add(cp->errs, &c->tloc, "client-ip needs a cidr or "
		    "regex table; <%s> is a %s table", c->tname,
		    fd_table_kind_name(fd_table_kind(c->table)));
}

/* rule_plugins - plugin names of skip and set to indexes */
static void
rule_plugins(struct cparse *cp, struct fd_rule *r, const char *const *names)
{
	char	 h[64];
	int	 i, idx;

	for (i = 0; i < r->npnames; i++) {
		idx = fd_conf_plugin_index(cp->conf, r->pnames[i]);
		if (idx < 0)
			fd_errs_add(cp->errs, &r->plocs[i], "unknown plugin "
			    "\"%s\"%s; declare it with plugin %s { ... }",
			    r->pnames[i], hinted(r->pnames[i], names, h,
			    sizeof(h)), r->pnames[i]);
		else if (r->action == FD_RA_SET)
			r->set_plugin = idx;
		else if (idx >= 64)
			fd_errs_add(cp->errs, &r->plocs[i], "skip works on the "
			    "first 64 plugins only");
		else
			r->skip |= UINT64_C(1) << idx;
	}
}

/* cond_marks - mark in used the named tables c refers to */
static void
cond_marks(const struct fd_ruleset *rs, const struct fd_cond *c,
    unsigned char *used)
{
	unsigned	 i;

	if (c == NULL)
		return;
	for (i = 0; i < c->nkids; i++)
		cond_marks(rs, c->kids[i], used);
	for (i = 0; c->table != NULL && i < rs->ntables; i++)
		if (rs->tables[i] == c->table)
			used[i] = 1;
}

/*
 * unused_tables - a named table no rule refers to loads, but is most
 * likely a mistake: an address added to it changes nothing. A warning,
 * not an error: a table may wait for the rule that will use it.
 */
static void
unused_tables(struct cparse *cp)
{
	const struct fd_ruleset	*rs = cp->rs;
	const struct fd_rule	*r;
	unsigned char		*used;
	const char		*name;
	unsigned		 i;

	used = fd_calloc(rs->ntables + 1, 1);
	for (r = rs->head; r != NULL; r = r->next)
		cond_marks(rs, r->cond, used);
	for (i = 0; i < rs->ntables; i++)
		if (!used[i] && (name = fd_table_name(rs->tables[i])) != NULL)
			fd_errs_add(&cp->conf->warns, &rs->tlocs[i], "warning: "
			    "table %s is not used by any rule", name);
	free(used);
}

/* rb_finish - what needs the whole configuration, then the indexes */
void
rb_finish(struct cparse *cp)
{
	const struct fd_plugin_conf	*p;
	const char			**pn, **tn;
	struct fd_rule			*r;
	unsigned			 i, n = 0;

	pn = fd_calloc(cp->conf->nplugins + 1, sizeof(*pn));
	for (p = cp->conf->plugins; p != NULL; p = p->next)
		pn[n++] = p->name;
	tn = fd_calloc(cp->rs->ntables + 1, sizeof(*tn));
	for (i = 0, n = 0; i < cp->rs->ntables; i++)
		if (fd_table_name(cp->rs->tables[i]) != NULL)
			tn[n++] = fd_table_name(cp->rs->tables[i]);
	for (r = cp->rs->head; r != NULL; r = r->next) {
		rule_plugins(cp, r, pn);
		cond_tables(cp, r->cond, tn);
	}
	free(pn);
	free(tn);
	unused_tables(cp);
	cp->rs->dry_run = cp->conf->dry_run;
	fd_ruleset_index(cp->rs);
}
