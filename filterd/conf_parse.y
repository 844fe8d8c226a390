/*
 * conf_parse.y -- the one config language of filterd: settings and rules
 *
 * A file is a list of statements. A statement ends at a newline or ';';
 * a backslash at the end of a line continues it, and a newline is also
 * allowed after '{', ',' and, inside a rule, after '(', and, or, not, if.
 * '#' starts a comment. Strings are "double quoted" with \" \\ \n \t;
 * most values (CIDRs, durations, sizes, modes, names) can be bare words.
 * Errors are reported as file:line:col: message, every one of them: the
 * parser skips to the end of a bad statement and goes on.
 *
 * Global directives (defaults in brackets; a relative path is relative
 * to the directory of the file that names it):
 *
 *   socket SPEC              libmilter socket: "inet:PORT@HOST",
 *                            "inet6:PORT@HOST", "unix:/path"
 *                            ["inet:8890@127.0.0.1"]
 *   user NAME                user to run as after the socket is bound
 *   group NAME               group to run as
 *   socket-mode MODE         octal mode of a unix socket (0660) [libmilter's]
 *   pidfile PATH             write the process id there [none]
 *   log stderr | log syslog [FACILITY]
 *                            FACILITY: mail, daemon, user, local0..local7
 *                            [syslog mail]
 *   log-level LEVEL          error, warning, notice, info, debug [info]
 *   dry-run yes|no           log what rules and plugins would do, do
 *                            nothing [no]
 *   delay-reject no|rcpt|eom refusals reached before RCPT are given at
 *                            each RCPT (rcpt, or yes), or at the first
 *                            later stage where something decides, end
 *                            of message at the latest (eom); the MTA
 *                            then awaits no reply before that stage [no]
 *   milter-timeout DURATION  libmilter's MTA I/O timeout, 1s..365d [7210s]
 *   thread-stack-size SIZE   stack of libmilter's threads, 128k..256M
 *                            [256k]
 *   plugin-dir DIR           where plugin NAME is NAME.so [$pkglibdir]
 *   on-store-error continue|tempfail
 *                            what a plugin's store failure means [continue]
 *   store lmdb DIR [{ OPTIONS }]
 *   store redis URL [{ OPTIONS }]
 *                            the state store; OPTIONS are the store's own
 *                            [lmdb "/var/lib/filterd"]
 *   include FILE             read FILE here (loops are an error)
 *   plugin NAME [path FILE.so] [{ DIRECTIVES }]
 *                            load a plugin; plugins run in this order.
 *                            DIRECTIVES are `name arg ... ;` lines, nested
 *                            { } allowed, read by the plugin itself, except
 *                            `on-store-error continue|tempfail`, which
 *                            overrides the global policy for this plugin.
 *
 * Tables:
 *
 *   table NAME { ITEM, ITEM ... }      inline; a cidr table if every item
 *                                      is an address or CIDR, else domain
 *   table NAME [TYPE] file PATH        one entry per line, # comments;
 *                                      TYPE: cidr, domain, regex, list
 *                                      (without TYPE: from the extension,
 *                                      .cidr .pcre .regex .list, else domain)
 *
 * Rules (first match per stage decides; see rule.h):
 *
 *   rule NAME on STAGE [dry-run] [if CONDITION] ACTION
 *
 *   STAGE      connect, helo, mail, rcpt, header, eoh, eom
 *   CONDITION  TEST, not CONDITION, CONDITION and CONDITION,
 *              CONDITION or CONDITION, ( CONDITION ); `and` binds
 *              tighter than `or`
 *   TEST       FIELD == VALUE | FIELD != VALUE
 *              FIELD ~ /REGEX/FLAGS | FIELD !~ /REGEX/FLAGS
 *                                      (flags i x s m u; \/ for a slash)
 *              FIELD in <TABLE> | FIELD in { ITEM, ... }
 *              FIELD set | FIELD unset (present and not empty, or not)
 *              client-name verified    ({client_resolve} is OK)
 *              sender null             (the null sender <>)
 *              size < <= > >= == != SIZE   (10k, 5M, ...)
 *   FIELD      client-ip (== takes a CIDR), client-name, helo, sender,
 *              sender-local, sender-domain, rcpt, rcpt-local,
 *              rcpt-domain, auth-user, header-name, header-value,
 *              header "Name", {macro}, size
 *   ACTION     accept                   the message (before MAIL: the
 *                                       connection)
 *              accept connection        every message of the connection
 *              reject [RCODE XCODE] ["TEXT"]    [550 5.7.1 "Message
 *                                       rejected by policy"]
 *              tempfail [RCODE XCODE] ["TEXT"]  [451 4.7.1 "Try again
 *                                       later"]; codes are checked: 5xx
 *                                       and 5.x.y for reject, 4xx and
 *                                       4.x.y for tempfail (RFC 3463)
 *              discard                  (mail or later)
 *              skip PLUGIN[, PLUGIN ...]   not for this message; before
 *                                       MAIL, for the connection
 *              set PLUGIN.PARAM VALUE   a per-message plugin setting
 *              add-header "Name" "value"   added at end of message
 *              log ["TEXT"]             log the match and go on
 *   dry-run    log "would ACTION" and go on as if the rule had not
 *              matched (also for every rule with the global dry-run)
 *
 * A field used before its stage (rcpt at helo), an unknown macro, plugin
 * (skip, set) or table, a bad CIDR, regex or reply code is an error at
 * the place it is written. docs/CONFIG.md is the user's reference.
 *
 * Keywords of the rule language (and, or, not, in, if, on, set, ...)
 * are still plain words wherever a name or value is expected.
 */

%code top {
#include "config.h"
}

%code requires {
#include "conf_int.h"
}

%code provides {
int	 fd_yylex(FD_YYSTYPE *, FD_YYLTYPE *, void *);
}

%code {
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "xalloc.h"

#define LOC(l)	cp_loc(cp, (l).first_line, (l).first_column)
/* a pointer to a location living until the end of the action */
#define LOCP(l)	((struct fd_loc[1]){ LOC(l) })

static void	 yyerror(FD_YYLTYPE *, void *, struct cparse *, const char *);
}

%define api.pure full
%define api.prefix {fd_yy}
%define parse.error custom
%define parse.lac full
%locations
%param {void *scanner}
%parse-param {struct cparse *cp}

%union {
	char			*str;
	const char		*kw;
	int			 num;
	size_t			 mark;
	struct fd_directive	*dir;
	struct fd_block		*block;
	struct fd_cond		*cond;
	struct fref		*field;
	struct raction		*act;
}

%token <str>	WORD STRING MACRO TABLEREF REGEX
%token		EOS "end of line"
%token		EQ "==" NE "!=" LT "<" LE "<=" GT ">" GE ">="
%token		MATCH "~" NMATCH "!~"
%token		LEXERR
%token <kw>	K_ACCEPT "accept" K_ADD_HEADER "add-header" K_AND "and"
%token <kw>	K_DISCARD "discard" K_DRY_RUN "dry-run" K_IF "if" K_IN "in"
%token <kw>	K_LOG "log" K_NOT "not" K_NULL "null" K_ON "on" K_OR "or"
%token <kw>	K_REJECT "reject" K_RULE "rule" K_SET "set" K_SKIP "skip"
%token <kw>	K_TABLE "table" K_TEMPFAIL "tempfail" K_UNSET "unset"
%token <kw>	K_VERIFIED "verified"

%type <str>	word gname value item
%type <dir>	args directive list items namelist tlist
%type <block>	block optblock dirlist
%type <cond>	cond optcond test
%type <field>	field
%type <act>	action
%type <num>	optdry

%destructor { free($$); } <str>
%destructor { fd_dir_free($$); } <dir>
%destructor { fd_block_free($$); } <block>
%destructor { fd_cond_free($$); } <cond>
%destructor { fref_free($$); } <field>
%destructor { raction_free($$); } <act>

%left K_OR
%left K_AND
%precedence K_NOT

%%

file	: %empty
	| file stmt EOS
	| file error EOS		{ yyerrok; }
	;

stmt	: gname args optblock		{
			$2->name = $1;
			$2->loc = LOC(@1);
			$2->child = $3;
			conf_directive(cp, $2);
		}
	| K_TABLE word tlist		{
			conf_table(cp, $2, LOCP(@2), $3, 1);
		}
	| K_TABLE word args		{
			conf_table(cp, $2, LOCP(@2), $3, 0);
		}
	| rule
	;

/* ---- generic directives: plugin blocks, store options ---- */

args	: %empty			{ $$ = fd_dir_new(); }
	| args word			{
			fd_dir_arg($1, $2, LOCP(@2));
			$$ = $1;
		}
	| args STRING			{
			fd_dir_arg($1, $2, LOCP(@2));
			$$ = $1;
		}
	;

optblock: %empty			{ $$ = NULL; }
	| block
	;

block	: '{' dirlist '}'		{ $$ = $2; $$->loc = LOC(@1); }
	| '{' dirlist directive '}'	{
			fd_block_append($2, $3);
			$$ = $2;
			$$->loc = LOC(@1);
		}
	| MACRO				{
			struct fd_directive *d = fd_dir_new();

			/* `{name}` lexes as a macro: a block of one directive */
			d->name = $1;
			d->loc = LOC(@1);
			d->loc.col++;
			$$ = fd_block_new(LOCP(@1));
			fd_block_append($$, d);
		}
	;

dirlist	: %empty			{
			$$ = fd_block_new(LOCP(@$));
		}
	| dirlist directive EOS		{ fd_block_append($1, $2); $$ = $1; }
	| dirlist error EOS		{ $$ = $1; yyerrok; }
	;

directive: word args optblock		{
			$2->name = $1;
			$2->loc = LOC(@1);
			$2->child = $3;
			$$ = $2;
		}
	;

/* ---- words ---- */

gname	: WORD
	| K_ACCEPT	{ $$ = fd_strdup($1); }
	| K_ADD_HEADER	{ $$ = fd_strdup($1); }
	| K_AND		{ $$ = fd_strdup($1); }
	| K_DISCARD	{ $$ = fd_strdup($1); }
	| K_DRY_RUN	{ $$ = fd_strdup($1); }
	| K_IF		{ $$ = fd_strdup($1); }
	| K_IN		{ $$ = fd_strdup($1); }
	| K_LOG		{ $$ = fd_strdup($1); }
	| K_NOT		{ $$ = fd_strdup($1); }
	| K_NULL	{ $$ = fd_strdup($1); }
	| K_ON		{ $$ = fd_strdup($1); }
	| K_OR		{ $$ = fd_strdup($1); }
	| K_REJECT	{ $$ = fd_strdup($1); }
	| K_SET		{ $$ = fd_strdup($1); }
	| K_SKIP	{ $$ = fd_strdup($1); }
	| K_TEMPFAIL	{ $$ = fd_strdup($1); }
	| K_UNSET	{ $$ = fd_strdup($1); }
	| K_VERIFIED	{ $$ = fd_strdup($1); }
	;

word	: gname
	| K_TABLE	{ $$ = fd_strdup($1); }
	| K_RULE	{ $$ = fd_strdup($1); }
	;

/* ---- tables and inline lists ---- */

tlist	: '{' list '}'			{ $$ = $2; }
	| MACRO				{
			struct fd_loc l = LOC(@1);

			l.col++;
			$$ = fd_dir_new();
			fd_dir_arg($$, $1, &l);
		}
	;

list	: %empty			{ $$ = fd_dir_new(); }
	| items
	| items ','
	| items EOS
	;

items	: item				{
			$$ = fd_dir_new();
			fd_dir_arg($$, $1, LOCP(@1));
		}
	| items ',' item		{
			fd_dir_arg($1, $3, LOCP(@3));
			$$ = $1;
		}
	| items EOS item		{
			fd_dir_arg($1, $3, LOCP(@3));
			$$ = $1;
		}
	;

item	: word
	| STRING
	;

/* ---- rules ---- */

rule	: K_RULE
		{ $<mark>$ = cp->errs->n; }
	  word K_ON word optdry optcond action {
			struct fd_loc nl = LOC(@3), sl = LOC(@5);

			rb_rule(cp, $<mark>2, $3, &nl, $5, &sl, $6, $7, $8);
		}
	;

optdry	: %empty			{ $$ = 0; }
	| K_DRY_RUN			{ $$ = 1; }
	;

optcond	: %empty			{ $$ = NULL; }
	| K_IF cond			{ $$ = $2; }
	;

cond	: cond K_OR cond	{ $$ = rb_join(cp, C_OR, $1, $3, LOCP(@2)); }
	| cond K_AND cond	{ $$ = rb_join(cp, C_AND, $1, $3, LOCP(@2)); }
	| K_NOT cond		{ $$ = rb_join(cp, C_NOT, $2, NULL, LOCP(@1)); }
	| '(' cond ')'			{ $$ = $2; }
	| test
	;

field	: WORD			{ $$ = rb_field(cp, $1, NULL, 0, LOCP(@1)); }
	| WORD STRING		{ $$ = rb_field(cp, $1, $2, 0, LOCP(@1)); }
	| MACRO			{ $$ = rb_field(cp, $1, NULL, 1, LOCP(@1)); }
	;

value	: word
	| STRING
	;

test	: field EQ value	{ $$ = rb_test(cp, $1, OP_EQ, $3, LOCP(@3)); }
	| field NE value	{ $$ = rb_test(cp, $1, OP_NE, $3, LOCP(@3)); }
	| field LT value	{ $$ = rb_test(cp, $1, OP_LT, $3, LOCP(@3)); }
	| field LE value	{ $$ = rb_test(cp, $1, OP_LE, $3, LOCP(@3)); }
	| field GT value	{ $$ = rb_test(cp, $1, OP_GT, $3, LOCP(@3)); }
	| field GE value	{ $$ = rb_test(cp, $1, OP_GE, $3, LOCP(@3)); }
	| field MATCH REGEX	{ $$ = rb_test_re(cp, $1, OP_RE, $3, LOCP(@3)); }
	| field NMATCH REGEX	{ $$ = rb_test_re(cp, $1, OP_NRE, $3, LOCP(@3)); }
	| field K_IN TABLEREF	{ $$ = rb_test_table(cp, $1, $3, LOCP(@3)); }
	| field K_IN tlist	{ $$ = rb_test_list(cp, $1, $3, LOCP(@3)); }
	| field K_VERIFIED	{ $$ = rb_test_unary(cp, $1, OP_VERIFIED, LOCP(@2)); }
	| field K_SET		{ $$ = rb_test_unary(cp, $1, OP_SET, LOCP(@2)); }
	| field K_UNSET		{ $$ = rb_test_unary(cp, $1, OP_UNSET, LOCP(@2)); }
	| field K_NULL		{ $$ = rb_test_unary(cp, $1, OP_NULL, LOCP(@2)); }
	;

action	: K_ACCEPT args		{ $$ = rb_action(FD_RA_ACCEPT, $2, LOCP(@1)); }
	| K_REJECT args		{ $$ = rb_action(FD_RA_REJECT, $2, LOCP(@1)); }
	| K_TEMPFAIL args	{ $$ = rb_action(FD_RA_TEMPFAIL, $2, LOCP(@1)); }
	| K_DISCARD args	{ $$ = rb_action(FD_RA_DISCARD, $2, LOCP(@1)); }
	| K_SKIP namelist	{ $$ = rb_action(FD_RA_SKIP, $2, LOCP(@1)); }
	| K_SET args		{ $$ = rb_action(FD_RA_SET, $2, LOCP(@1)); }
	| K_ADD_HEADER args	{ $$ = rb_action(FD_RA_ADD_HEADER, $2, LOCP(@1)); }
	| K_LOG args		{ $$ = rb_action(FD_RA_LOG, $2, LOCP(@1)); }
	;

namelist: word				{
			$$ = fd_dir_new();
			fd_dir_arg($$, $1, LOCP(@1));
		}
	| namelist ',' word		{
			fd_dir_arg($1, $3, LOCP(@3));
			$$ = $1;
		}
	;

%%

/* tok_name - a token as a message names it */
static const char *
tok_name(yysymbol_kind_t k, char *buf, size_t len)
{
	const char	*n;

	switch (k) {
	case YYSYMBOL_YYEOF:	return "end of file";
	case YYSYMBOL_WORD:	return "a word";
	case YYSYMBOL_STRING:	return "a \"string\"";
	case YYSYMBOL_MACRO:	return "a {macro}";
	case YYSYMBOL_TABLEREF:	return "a <table>";
	case YYSYMBOL_REGEX:	return "a /regex/";
	default:
		break;
	}
	n = yysymbol_name(k);
	/* "\"and\"" -> and, "'{'" -> '{' */
	if (n[0] == '"')
		snprintf(buf, len, "%.*s", (int)strlen(n) - 2, n + 1);
	else
		snprintf(buf, len, "%s", n);
	return buf;
}

/* unexpected - the offending token, with its text where that helps */
static void
unexpected(yysymbol_kind_t k, const struct fd_lex *ls, char *buf, size_t len)
{
	char		 esc[64], tmp[32];
	const char	*t = ls->text, *cut = "";
	size_t		 n = strlen(t);

	/* a string's own quotes are the ones the message puts around it;
	 * a long one was kept cut, without its closing quote */
	if (k == YYSYMBOL_STRING && n >= 1 && t[0] == '"') {
		t++;
		n--;
		if (n > 0 && t[n - 1] == '"')
			n--;
		else
			cut = "...";
	}
	if (k == YYSYMBOL_EOS && ls->text[0] == ';')
		snprintf(buf, len, "';'");
	else if (k == YYSYMBOL_WORD || k == YYSYMBOL_STRING ||
	    k == YYSYMBOL_MACRO || k == YYSYMBOL_TABLEREF ||
	    k == YYSYMBOL_REGEX || (k >= YYSYMBOL_K_ACCEPT &&
	    k <= YYSYMBOL_K_VERIFIED))
		snprintf(buf, len, "%s\"%s%s\"", k == YYSYMBOL_STRING ?
		    "string " : "", fd_escape(esc, sizeof(esc), t, n), cut);
	else if (k >= YYSYMBOL_EQ && k <= YYSYMBOL_NMATCH)
		/* quoted, as the list of what was expected quotes them */
		snprintf(buf, len, "\"%s\"", tok_name(k, tmp, sizeof(tmp)));
	else
		snprintf(buf, len, "%s", tok_name(k, tmp, sizeof(tmp)));
}

/* is_keyword - the rule language's keyword tokens */
static int
is_keyword(yysymbol_kind_t k)
{
	return k >= YYSYMBOL_K_ACCEPT && k <= YYSYMBOL_K_VERIFIED;
}

/*
 * yyreport_syntax_error - "syntax error: unexpected X, expected Y or Z
 * (did you mean W?)". Where any word is expected every keyword is
 * too; the list then says "a word" instead of naming them all.
 */
static int
yyreport_syntax_error(const yypcontext_t *ctx, void *scanner,
    struct cparse *cp)
{
	yysymbol_kind_t	 exp[YYNTOKENS], tok = yypcontext_token(ctx);
	const struct fd_lex *ls = fd_yyget_extra(scanner);
	const char	*cands[YYNTOKENS + 1], *hint, *name;
	char		 msg[512], what[96], names[YYNTOKENS][24], fix[160];
	char		 kw[YYNTOKENS][24];
	int		 n, i, m = 0, nc = 0, word = 0;
	size_t		 o;
	struct fd_loc	 loc;

	if (tok == YYSYMBOL_LEXERR)
		return 0;		/* the scanner said why */
	loc = LOC(*yypcontext_location(ctx));
	unexpected(tok, ls, what, sizeof(what));
	o = (size_t)snprintf(msg, sizeof(msg), "syntax error: unexpected %s",
	    what);
	n = yypcontext_expected_tokens(ctx, exp, YYNTOKENS);
	for (i = 0; i < n; i++)
		if (is_keyword(exp[i]))
			word++;
	/* "a word" stands for every keyword only where any word goes */
	word = word == YYSYMBOL_K_VERIFIED - YYSYMBOL_K_ACCEPT + 1;
	for (i = 0; i < n; i++) {
		if (exp[i] == YYSYMBOL_LEXERR || (word && is_keyword(exp[i])))
			continue;
		name = tok_name(exp[i], what, sizeof(what));
		if (is_keyword(exp[i])) {
			snprintf(kw[nc], sizeof(kw[nc]), "%s", name);
			cands[nc] = kw[nc];
			nc++;
		}
		/* keywords and operators quoted, as the unexpected token is */
		snprintf(names[m], sizeof(names[m]), is_keyword(exp[i]) ||
		    (exp[i] >= YYSYMBOL_EQ && exp[i] <= YYSYMBOL_NMATCH) ?
		    "\"%s\"" : "%s", name);
		m++;
	}
	cands[nc] = NULL;
	for (i = 0; i < m && m <= 10 && o < sizeof(msg); i++)
		o += (size_t)snprintf(msg + o, sizeof(msg) - o, "%s%s",
		    i == 0 ? ", expected " : i == m - 1 ? " or " : ", ",
		    names[i]);
	if ((tok == YYSYMBOL_WORD || is_keyword(tok)) && o < sizeof(msg) &&
	    (hint = fd_hint(ls->text, cands)) != NULL)
		snprintf(msg + o, sizeof(msg) - o, " (did you mean \"%s\"?)",
		    hint);
	/* `helo==x` is one word where a field goes: the parser stops only
	 * after it */
	if (ls->in_rule && ls->prev == WORD && (ls->prev2 == K_IF ||
	    ls->prev2 == K_AND || ls->prev2 == K_OR || ls->prev2 == K_NOT ||
	    ls->prev2 == '(') && o < sizeof(msg) &&
	    rb_op_split(fix, sizeof(fix), ls->prev_text, NULL))
		o += (size_t)snprintf(msg + o, sizeof(msg) - o, " (\"%s\" "
		    "holds an operator: write it as a word of its own, %s)",
		    ls->prev_text, fix);
	/* the end of the file inside a block: the mistake is where it
	 * began, perhaps far above */
	if (tok == YYSYMBOL_YYEOF && ls->braces > 0 && o < sizeof(msg))
		snprintf(msg + o, sizeof(msg) - o, " (the { at %d:%d is not "
		    "closed)", ls->brace_line, ls->brace_col);
	fd_errs_add(cp->errs, &loc, "%s", msg);
	return 0;
}

/*
 * yyerror - bison's only message of its own, "memory exhausted": its
 * stacks stop at YYMAXDEPTH states, which a statement nested thousands
 * deep fills, and the parse ends there. Say that, not a shortage of
 * memory the machine does not have.
 */
static void
yyerror(FD_YYLTYPE *l, void *scanner, struct cparse *cp, const char *msg)
{
	struct fd_loc	 loc = LOC(*l);

	(void)scanner;
	(void)msg;
	fd_errs_add(cp->errs, &loc, "nested too deep; the rest of this file "
	    "is not read");
}
