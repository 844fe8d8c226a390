/*
 * fd-mtest.c -- drive a milter from a script, one SMTP event per line
 *
 * usage: fd-mtest [-q] [-t MS] [-a ACTIONS] [-p PROTO] SPEC [SCRIPT]
 *        fd-mtest -n [-t MS] [-a ACTIONS] [-p PROTO] SPEC
 *        fd-mtest -F
 *
 * SPEC is unix:/path, inet:PORT@HOST or inet6:PORT@HOST; the script comes
 * from SCRIPT or stdin. Each event prints one line with the filter's
 * answer, e.g.
 *
 *	rcpt <c@d> -> tempfail 451 4.7.1 "Greylisted, try again later"
 *
 * Script lines (blank lines and # comments are ignored):
 *	connect NAME ADDR [PORT]   ADDR 1.2.3.4, 2001:db8::1, /path, or -
 *	macro NAME [VALUE...]      set (no value: unset) a macro, e.g. j,
 *	                           {daemon_name}, {auth_authen}, i
 *	helo NAME                  mail <a@b> [ARGS]      rcpt <c@d> [ARGS]
 *	data                       header Name: value     eoh
 *	body [TEXT]                one body line (CRLF added)
 *	eom  abort  quit  quit_nc  unknown TEXT
 *	negotiate [ACTIONS PROTO]  open a connection explicitly (hex masks)
 *	timeout MS
 *	expect ACTION [RCODE [XCODE [TEXT...]]]   check the last answer;
 *	                           TEXT may be in double quotes
 *	expect-header NAME VALUE   the last eom added or inserted this header
 *
 * A new milter connection is opened (and negotiated) by the first event
 * after start or after quit. -n only negotiates and prints the answer:
 * the protocol mask goes on a line "protocol 0x..." that bench.sh reads.
 * -F prints a TCP port that is free on 127.0.0.1, for shell scripts that
 * start a daemon.
 *
 * Exit status: 0 if every expect held, 1 if one failed, 2 on a usage,
 * connection or protocol error (the script stops there).
 */
#include "config.h"

#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libmilter/mfdef.h>

#include "mclient.h"

struct mt_macro {
	char		*name;
	char		*value;		/* NULL: unset */
};

struct mt {
	const char	*spec;
	int		 timeout_ms;
	uint32_t	 actions;
	uint32_t	 proto;
	int		 quiet;
	struct mc_conn	*mc;
	struct mt_macro	*macros;	/* replayed on each new connection */
	size_t		 nmacros;
	int		 failed;	/* an expect did not hold */
	unsigned	 lineno;
};

static const struct { uint32_t bit; const char *name; } mt_bits[] = {
	{ SMFIP_NOCONNECT, "NOCONNECT" }, { SMFIP_NOHELO, "NOHELO" },
	{ SMFIP_NOMAIL, "NOMAIL" }, { SMFIP_NORCPT, "NORCPT" },
	{ SMFIP_NOBODY, "NOBODY" }, { SMFIP_NOHDRS, "NOHDRS" },
	{ SMFIP_NOEOH, "NOEOH" }, { SMFIP_NR_HDR, "NR_HDR" },
	{ SMFIP_NOUNKNOWN, "NOUNKNOWN" }, { SMFIP_NODATA, "NODATA" },
	{ SMFIP_SKIP, "SKIP" }, { SMFIP_RCPT_REJ, "RCPT_REJ" },
	{ SMFIP_NR_CONN, "NR_CONN" }, { SMFIP_NR_HELO, "NR_HELO" },
	{ SMFIP_NR_MAIL, "NR_MAIL" }, { SMFIP_NR_RCPT, "NR_RCPT" },
	{ SMFIP_NR_DATA, "NR_DATA" }, { SMFIP_NR_UNKN, "NR_UNKN" },
	{ SMFIP_NR_EOH, "NR_EOH" }, { SMFIP_NR_BODY, "NR_BODY" },
	{ SMFIP_HDR_LEADSPC, "HDR_LEADSPC" }
};

static const char *const mt_stage_names[] = {
	"connect", "helo", "mail", "rcpt", "data", "eom", "eoh", "unknown"
};

/* mt_usage - print usage and exit 2 */
static void
mt_usage(void)
{
	fprintf(stderr, "usage: fd-mtest [-q] [-t MS] [-a ACTIONS] [-p PROTO] "
	    "SPEC [SCRIPT]\n       fd-mtest -n [-t MS] SPEC\n"
	    "       fd-mtest -F\n");
	exit(2);
}

/* mt_free_port - print a port free on 127.0.0.1 now; exit status */
static int
mt_free_port(void)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int	 fd;

	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) < 0)
		return 2;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) < 0) {
		close(fd);
		return 2;
	}
	printf("%d\n", ntohs(sin.sin_port));
	close(fd);
	return 0;
}

/* mt_quote - print s in double quotes, escaping what is not printable */
static void
mt_quote(FILE *fp, const char *s, size_t len)
{
	size_t	 i;
	unsigned char c;

	fputc('"', fp);
	for (i = 0; i < len; i++) {
		c = (unsigned char)s[i];
		if (c == '"' || c == '\\')
			fprintf(fp, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", fp);
		else if (c == '\r')
			fputs("\\r", fp);
		else if (c == '\t')
			fputs("\\t", fp);
		else if (c < 0x20 || c == 0x7f)
			fprintf(fp, "\\x%02x", c);
		else
			fputc(c, fp);
	}
	fputc('"', fp);
}

/* mt_print_proto - the protocol mask with the names of its bits */
static void
mt_print_proto(FILE *fp, uint32_t proto)
{
	size_t	 i;

	fprintf(fp, "0x%lx", (unsigned long)proto);
	for (i = 0; i < sizeof(mt_bits) / sizeof(mt_bits[0]); i++)
		if (proto & mt_bits[i].bit)
			fprintf(fp, " %s", mt_bits[i].name);
}

/* mt_print_negotiation - what the filter answered to OPTNEG */
static void
mt_print_negotiation(struct mt *t)
{
	const char *l;
	int	 st;

	if (t->quiet)
		return;
	printf("negotiate -> version %lu actions 0x%lx\n",
	    (unsigned long)mc_version(t->mc), (unsigned long)mc_actions(t->mc));
	printf("protocol ");
	mt_print_proto(stdout, mc_proto(t->mc));
	printf("\n");
	for (st = 0; st < MC_ST_UNKNOWN; st++)
		if ((l = mc_symlist(t->mc, (enum mc_stage)st)) != NULL) {
			printf("symlist %s ", mt_stage_names[st]);
			mt_quote(stdout, l, strlen(l));
			printf("\n");
		}
}

/* mt_open - a new, negotiated connection with the script's macros */
static int
mt_open(struct mt *t)
{
	char	 err[256];
	size_t	 i;

	if (t->mc != NULL)
		return 0;
	if ((t->mc = mc_connect(t->spec, t->timeout_ms, err, sizeof(err))) ==
	    NULL) {
		fprintf(stderr, "fd-mtest: %s: %s\n", t->spec, err);
		return -1;
	}
	if (mc_negotiate(t->mc, t->actions, t->proto) < 0) {
		fprintf(stderr, "fd-mtest: %s: negotiation: %s\n", t->spec,
		    mc_error(t->mc));
		t->mc = mc_free(t->mc);
		return -1;
	}
	for (i = 0; i < t->nmacros; i++)
		mc_macro(t->mc, t->macros[i].name, t->macros[i].value);
	mt_print_negotiation(t);
	return 0;
}

/* mt_set_macro - remember a macro for this and later connections */
static void
mt_set_macro(struct mt *t, const char *name, const char *value)
{
	struct mt_macro *m;

	m = realloc(t->macros, (t->nmacros + 1) * sizeof(*m));
	if (m == NULL || (name = strdup(name)) == NULL ||
	    (value != NULL && (value = strdup(value)) == NULL)) {
		fputs("fd-mtest: out of memory\n", stderr);
		exit(2);
	}
	t->macros = m;
	t->macros[t->nmacros].name = (char *)name;
	t->macros[t->nmacros].value = (char *)value;
	t->nmacros++;
	if (t->mc != NULL)
		mc_macro(t->mc, name, value);
}

/* mt_mod_name - name of a modification request */
static const char *
mt_mod_name(int type)
{
	switch (type) {
	case SMFIR_ADDHEADER:	return "addheader";
	case SMFIR_INSHEADER:	return "insheader";
	case SMFIR_CHGHEADER:	return "chgheader";
	case SMFIR_ADDRCPT:	return "addrcpt";
	case SMFIR_DELRCPT:	return "delrcpt";
	case SMFIR_ADDRCPT_PAR:	return "addrcpt_par";
	case SMFIR_CHGFROM:	return "chgfrom";
	case SMFIR_REPLBODY:	return "replbody";
	case SMFIR_QUARANTINE:	return "quarantine";
	}
	return "?";
}

/* mt_print_reply - "LINE -> action [rcode xcode "text"]" and any edits */
static void
mt_print_reply(struct mt *t, const char *line, enum mc_action a)
{
	const struct mc_reply *r = mc_last(t->mc);
	size_t	 i;

	if (t->quiet)
		return;
	printf("%s -> %s", line, mc_action_name(a));
	if (r->replycode) {
		printf(" %s", r->rcode);
		if (r->xcode[0] != '\0')
			printf(" %s", r->xcode);
		printf(" ");
		mt_quote(stdout, r->text, strlen(r->text));
	}
	if (r->progress)
		printf(" (progress %u)", r->progress);
	printf("\n");
	for (i = 0; i < r->nmods; i++) {
		printf("  mod %s", mt_mod_name(r->mods[i].type));
		if (r->mods[i].type == SMFIR_INSHEADER ||
		    r->mods[i].type == SMFIR_CHGHEADER)
			printf(" %lu", (unsigned long)r->mods[i].index);
		if (r->mods[i].name[0] != '\0') {
			printf(" ");
			mt_quote(stdout, r->mods[i].name, strlen(r->mods[i].name));
		}
		if (r->mods[i].len > 0) {
			printf(" ");
			mt_quote(stdout, r->mods[i].value, r->mods[i].len);
		}
		printf("\n");
	}
	fflush(stdout);
}

/* mt_unquote - strip one pair of surrounding double quotes in place */
static char *
mt_unquote(char *s)
{
	size_t	 n = strlen(s);

	if (n >= 2 && s[0] == '"' && s[n - 1] == '"') {
		s[n - 1] = '\0';
		s++;
	}
	return s;
}

/* mt_word - split off the next space-separated word of *sp */
static char *
mt_word(char **sp)
{
	char	*s = *sp, *w;

	s += strspn(s, " \t");
	if (*s == '\0')
		return NULL;
	w = s;
	s += strcspn(s, " \t");
	if (*s != '\0')
		*s++ = '\0';
	*sp = s + strspn(s, " \t");
	return w;
}

/* mt_fail - an expect did not hold */
static void __attribute__((format(printf, 2, 3)))
mt_fail(struct mt *t, const char *fmt, ...)
{
	va_list	 ap;

	t->failed = 1;
	fprintf(stderr, "fd-mtest: line %u: expect failed: ", t->lineno);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* mt_expect - compare the last reply with ACTION [RCODE [XCODE [TEXT]]] */
static void
mt_expect(struct mt *t, char *args)
{
	const struct mc_reply *r;
	enum mc_action want;
	char	*w, *rcode, *xcode, *text;

	if (t->mc == NULL) {
		mt_fail(t, "no reply yet");
		return;
	}
	r = mc_last(t->mc);
	if ((w = mt_word(&args)) == NULL || mc_action_parse(w, &want) < 0) {
		mt_fail(t, "unknown action \"%s\"", w ? w : "");
		return;
	}
	if (r->action != want)
		mt_fail(t, "action %s, got %s", w, mc_action_name(r->action));
	if ((rcode = mt_word(&args)) != NULL && strcmp(rcode, r->rcode) != 0)
		mt_fail(t, "reply code %s, got \"%s\"", rcode, r->rcode);
	if ((xcode = mt_word(&args)) != NULL && strcmp(xcode, r->xcode) != 0)
		mt_fail(t, "enhanced code %s, got \"%s\"", xcode, r->xcode);
	if (*args != '\0') {
		text = mt_unquote(args);
		if (strcmp(text, r->text) != 0)
			mt_fail(t, "text \"%s\", got \"%s\"", text, r->text);
	}
}

/* mt_expect_header - the last eom added or inserted header NAME: VALUE */
static void
mt_expect_header(struct mt *t, char *args)
{
	const struct mc_reply *r;
	char	*name, *value;
	size_t	 i;

	if ((name = mt_word(&args)) == NULL || t->mc == NULL) {
		mt_fail(t, "expect-header NAME VALUE");
		return;
	}
	value = mt_unquote(args);
	r = mc_last(t->mc);
	for (i = 0; i < r->nmods; i++)
		if ((r->mods[i].type == SMFIR_ADDHEADER ||
		    r->mods[i].type == SMFIR_INSHEADER) &&
		    strcmp(r->mods[i].name, name) == 0 &&
		    strcmp(r->mods[i].value, value) == 0)
			return;
	mt_fail(t, "no header %s: \"%s\" added", name, value);
}

/* mt_event - run one event line; -1 on error (stop the script) */
static int
mt_event(struct mt *t, const char *cmd, char *args, const char *line)
{
	enum mc_action a;
	char	*w1, *w2, *w3, *colon, *body;
	size_t	 n;

	if (mt_open(t) < 0)
		return -1;
	if (strcmp(cmd, "connect") == 0) {
		if ((w1 = mt_word(&args)) == NULL ||
		    (w2 = mt_word(&args)) == NULL)
			goto usage;
		w3 = mt_word(&args);
		a = mc_connect_cmd(t->mc, w1, strcmp(w2, "-") == 0 ? NULL : w2,
		    w3 ? (unsigned)strtoul(w3, NULL, 10) : 0);
	} else if (strcmp(cmd, "helo") == 0 || strcmp(cmd, "ehlo") == 0) {
		if ((w1 = mt_word(&args)) == NULL)
			goto usage;
		a = mc_helo(t->mc, w1);
	} else if (strcmp(cmd, "mail") == 0) {
		if ((w1 = mt_word(&args)) == NULL)
			goto usage;
		a = mc_mail(t->mc, w1, *args ? args : NULL);
	} else if (strcmp(cmd, "rcpt") == 0) {
		if ((w1 = mt_word(&args)) == NULL)
			goto usage;
		a = mc_rcpt(t->mc, w1, *args ? args : NULL);
	} else if (strcmp(cmd, "data") == 0)
		a = mc_data(t->mc);
	else if (strcmp(cmd, "header") == 0) {
		if ((colon = strchr(args, ':')) == NULL || colon == args)
			goto usage;
		*colon = '\0';
		a = mc_header(t->mc, args, colon + 1);
	} else if (strcmp(cmd, "eoh") == 0)
		a = mc_eoh(t->mc);
	else if (strcmp(cmd, "body") == 0) {
		n = strlen(args);
		if ((body = malloc(n + 2)) == NULL)
			return -1;
		memcpy(body, args, n);
		memcpy(body + n, "\r\n", 2);
		a = mc_body(t->mc, body, n + 2);
		free(body);
	} else if (strcmp(cmd, "eom") == 0)
		a = mc_eom(t->mc);
	else if (strcmp(cmd, "unknown") == 0)
		a = mc_unknown(t->mc, args);
	else if (strcmp(cmd, "abort") == 0)
		a = mc_abort(t->mc) < 0 ? MC_ERROR : mc_last(t->mc)->action;
	else if (strcmp(cmd, "quit_nc") == 0)
		a = mc_quit_nc(t->mc) < 0 ? MC_ERROR : MC_NOREPLY;
	else if (strcmp(cmd, "quit") == 0) {
		a = mc_quit(t->mc) < 0 ? MC_ERROR : MC_NOREPLY;
		if (a != MC_ERROR) {
			if (!t->quiet)
				printf("%s -> %s\n", line, mc_action_name(a));
			t->mc = mc_free(t->mc);
			return 0;
		}
	} else {
		fprintf(stderr, "fd-mtest: line %u: unknown command \"%s\"\n",
		    t->lineno, cmd);
		return -1;
	}
	if (a == MC_ERROR) {
		fprintf(stderr, "fd-mtest: line %u: %s: %s\n", t->lineno, line,
		    mc_error(t->mc));
		return -1;
	}
	mt_print_reply(t, line, a);
	return 0;
usage:
	fprintf(stderr, "fd-mtest: line %u: bad arguments: %s\n", t->lineno,
	    line);
	return -1;
}

/* mt_line - one script line; -1 stops the script */
static int
mt_line(struct mt *t, char *line)
{
	char	*copy, *args, *cmd, *w;
	int	 rc = 0;

	line[strcspn(line, "\r\n")] = '\0';
	args = line + strspn(line, " \t");
	if (*args == '\0' || *args == '#')
		return 0;
	if ((copy = strdup(args)) == NULL)
		return -1;
	cmd = mt_word(&args);
	if (strcmp(cmd, "expect") == 0)
		mt_expect(t, args);
	else if (strcmp(cmd, "expect-header") == 0)
		mt_expect_header(t, args);
	else if (strcmp(cmd, "macro") == 0) {
		if ((w = mt_word(&args)) == NULL) {
			fprintf(stderr, "fd-mtest: line %u: macro NAME [VALUE]\n",
			    t->lineno);
			rc = -1;
		} else
			mt_set_macro(t, w, *args ? args : NULL);
	} else if (strcmp(cmd, "timeout") == 0) {
		t->timeout_ms = atoi(args);
		if (t->mc != NULL)
			mc_set_timeout(t->mc, t->timeout_ms);
	} else if (strcmp(cmd, "negotiate") == 0) {
		if ((w = mt_word(&args)) != NULL) {
			t->actions = (uint32_t)strtoul(w, NULL, 16);
			if ((w = mt_word(&args)) != NULL)
				t->proto = (uint32_t)strtoul(w, NULL, 16);
		}
		if (t->mc != NULL)
			t->mc = mc_free(t->mc);
		rc = mt_open(t);
	} else
		rc = mt_event(t, cmd, args, copy);
	free(copy);
	return rc;
}

int
main(int argc, char **argv)
{
	struct mt t;
	FILE	*in = stdin;
	char	*line = NULL;
	size_t	 cap = 0, i;
	int	 ch, rc = 0, negotiate_only = 0;

	memset(&t, 0, sizeof(t));
	t.timeout_ms = 10000;
	while ((ch = getopt(argc, argv, "a:Fnp:qt:")) != -1) {
		switch (ch) {
		case 'a':
			t.actions = (uint32_t)strtoul(optarg, NULL, 16);
			break;
		case 'F':
			return mt_free_port();
		case 'n':
			negotiate_only = 1;
			break;
		case 'p':
			t.proto = (uint32_t)strtoul(optarg, NULL, 16);
			break;
		case 'q':
			t.quiet = 1;
			break;
		case 't':
			t.timeout_ms = atoi(optarg);
			break;
		default:
			mt_usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1 || argc > 2 || (negotiate_only && argc != 1))
		mt_usage();
	t.spec = argv[0];
	if (negotiate_only) {
		t.quiet = 0;
		rc = mt_open(&t) < 0 ? 2 : 0;
		if (t.mc != NULL)
			(void)mc_quit(t.mc);
		mc_free(t.mc);
		return rc;
	}
	if (argc == 2 && (in = fopen(argv[1], "r")) == NULL) {
		fprintf(stderr, "fd-mtest: %s: %s\n", argv[1], strerror(errno));
		return 2;
	}
	while (getline(&line, &cap, in) > 0) {
		t.lineno++;
		if (mt_line(&t, line) < 0) {
			rc = 2;
			break;
		}
	}
	free(line);
	if (in != stdin)
		fclose(in);
	if (t.mc != NULL) {
		(void)mc_flush(t.mc);
		mc_free(t.mc);
	}
	for (i = 0; i < t.nmacros; i++) {
		free(t.macros[i].name);
		free(t.macros[i].value);
	}
	free(t.macros);
	if (rc == 0 && t.failed)
		rc = 1;
	return rc;
}
