/*
 * helo_conf.c -- parse the helo plugin's configuration block
 *
 * Directives, each on its own line in `plugin helo { ... }`:
 *
 *   <check> ACTION             one per check (helo_check_str names them);
 *                              ACTION is off, log, tempfail or reject
 *   changes [N] ACTION         more than N different names per connection
 *   local-names NAME ...       our own names, besides the MTA's {j}
 *   local-addresses ADDR ...   our own addresses, besides {daemon_addr}
 *   trusted-networks CIDR ...  clients exempt from every check
 *   generic-patterns FILE      one PCRE2 (or /PCRE2/flags) per line,
 *                              # comments
 *   exempt-authenticated BOOL  default yes
 *   exempt-local BOOL          default yes
 *   enforce-at helo|mail       default mail
 *   resolver ADDR[:PORT] ...   default: the system's resolv.conf
 *   dns-timeout DURATION       default 2s; "500ms" works
 *   dns-cache SIZE [MAX-TTL]   default 10000 5m; SIZE 0 turns it off
 *
 * docs/PLUGIN-HELO.md is the user's description of the same list.
 * List directives add up; the others may appear once.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "helo_conf.h"
#include "textfile.h"

#define DNS_TIMEOUT_MIN_MS	10
#define DNS_TIMEOUT_MAX_MS	60000
#define DNS_CACHE_MAX		1000000

struct parse {
	const struct fd_host	*host;
	struct helo_conf	*conf;
	uint64_t		 seen;	/* bit per directive row */
	int			 bad;
	const struct fd_directive *generic_dir;	/* `generic ACTION` */
	const struct fd_directive *unresolved_dir; /* `unresolvable ACTION` */
};

struct dirspec {
	const char	*name;
	int		(*parse)(struct parse *,
			    const struct fd_directive *);
	int		 min, max;	/* arguments; max -1: any */
	int		 list;		/* may repeat */
};

/* generic_match - the policy's hook into the compiled patterns */
static int
generic_match(const void *arg, const char *s, size_t len)
{
	const struct helo_conf *c = arg;
	size_t	 i;

	for (i = 0; i < c->ngeneric; i++)
		if (c->host->re_match(c->generic[i], s, len) == 1)
			return 1;
	return 0;
}

/* err - report and remember that the block is bad */
#define ERR(p, d, i, ...) do { \
	(p)->host->conf_error((p)->host, (d), (i), __VA_ARGS__); \
	(p)->bad = 1; \
} while (0)

/* arg_action - one action word */
static int
arg_action(struct parse *p, const struct fd_directive *d, int i,
    enum helo_act *out)
{
	const char *w = p->host->dir_arg(d, i);

	if (helo_act_lookup(w, out) == 0)
		return 0;
	ERR(p, d, i, "unknown action \"%s\" (off, log, tempfail or reject)", w);
	return -1;
}

/* parse_check - `<check> ACTION` */
static int
parse_check(struct parse *p, const struct fd_directive *d)
{
	enum helo_check c = helo_check_lookup(p->host->dir_name(d));

	if (c == HELO_C_GENERIC)
		p->generic_dir = d;
	if (c == HELO_C_UNRESOLVED)
		p->unresolved_dir = d;
	return arg_action(p, d, 0, &p->conf->pol.act[c]);
}

/* parse_changes - `changes [N] ACTION` */
static int
parse_changes(struct parse *p, const struct fd_directive *d)
{
	struct helo_policy *pol = &p->conf->pol;
	uint64_t n;

	if (p->host->dir_argc(d) == 2) {
		if (p->host->arg_uint(p->host, d, 0, &n) != 0) {
			p->bad = 1;
			return -1;
		}
		if (n < 1 || n > HELO_CHANGES_MAX) {
			ERR(p, d, 0, "changes: limit must be 1 to %d",
			    HELO_CHANGES_MAX);
			return -1;
		}
		pol->changes_max = (unsigned)n;
	}
	return arg_action(p, d, p->host->dir_argc(d) - 1,
	    &pol->act[HELO_C_CHANGES]);
}

/* grow - make room for one more element of size sz */
static void *
grow(void *arr, size_t n, size_t sz)
{
	return realloc(arr, (n + 1) * sz);
}

/* parse_local_names - names that only we may announce */
static int
parse_local_names(struct parse *p, const struct fd_directive *d)
{
	struct helo_policy *pol = &p->conf->pol;
	struct helo_name nm;
	char	**v;
	int	 i;

	for (i = 0; i < p->host->dir_argc(d); i++) {
		const char *a = p->host->dir_arg(d, i);

		if (helo_syntax(a, strlen(a), &nm) != HELO_S_OK ||
		    nm.kind != HELO_K_DOMAIN) {
			ERR(p, d, i, "\"%s\" is not a host name (%s)", a,
			    nm.kind == HELO_K_INVALID ?
			    helo_syntax_str(nm.err) : "an address");
			continue;
		}
		if ((v = grow(pol->local_names, pol->nlocal_names,
		    sizeof(*v))) == NULL)
			goto nomem;
		pol->local_names = v;
		if ((v[pol->nlocal_names] = strdup(nm.norm)) == NULL)
			goto nomem;
		pol->nlocal_names++;
	}
	return 0;
nomem:
	ERR(p, d, -1, "out of memory");
	return -1;
}

/* parse_local_addrs - addresses that only we may announce */
static int
parse_local_addrs(struct parse *p, const struct fd_directive *d)
{
	struct helo_policy *pol = &p->conf->pol;
	struct helo_addr *v, ad;
	int	 i;

	for (i = 0; i < p->host->dir_argc(d); i++) {
		const char *a = p->host->dir_arg(d, i);

		if (helo_addr_parse(&ad, a) != 0) {
			ERR(p, d, i, "\"%s\" is not an IP address", a);
			continue;
		}
		if ((v = grow(pol->local_addrs, pol->nlocal_addrs,
		    sizeof(*v))) == NULL) {
			ERR(p, d, -1, "out of memory");
			return -1;
		}
		pol->local_addrs = v;
		v[pol->nlocal_addrs++] = ad;
	}
	return 0;
}

/* parse_trusted - networks whose clients are not checked */
static int
parse_trusted(struct parse *p, const struct fd_directive *d)
{
	struct helo_policy *pol = &p->conf->pol;
	struct helo_net *v, net;
	int	 i;

	for (i = 0; i < p->host->dir_argc(d); i++) {
		const char *a = p->host->dir_arg(d, i);

		if (helo_net_parse(&net, a) != 0) {
			ERR(p, d, i, "\"%s\" is not an address or network "
			    "(192.0.2.0/24, 2001:db8::/32)", a);
			continue;
		}
		v = grow(pol->trusted, pol->ntrusted, sizeof(*v));
		if (v == NULL) {
			ERR(p, d, -1, "out of memory");
			return -1;
		}
		pol->trusted = v;
		v[pol->ntrusted++] = net;
	}
	return 0;
}

/*
 * resolve_path - a relative file is relative to the config's directory;
 * its leading "./" steps dropped, as the core shows its own paths
 */
static char *
resolve_path(const struct fd_host *host, const char *file)
{
	const char	*base;
	struct stat	 sb;
	size_t		 blen;
	char		*path;

	base = host->conf_dir != NULL ? host->conf_dir(host) : NULL;
	if (file[0] == '/' || base == NULL || *base == '\0')
		return strdup(file);
	while (file[0] == '.' && file[1] == '/')
		file += 2 + strspn(file + 2, "/");
	blen = strlen(base);
	/* the host may hand us the config file itself: use its directory */
	if (stat(base, &sb) == 0 && !S_ISDIR(sb.st_mode)) {
		const char *slash = strrchr(base, '/');

		if (slash == NULL)
			return strdup(file);
		blen = (size_t)(slash - base);
	}
	if ((path = malloc(blen + strlen(file) + 2)) == NULL)
		return NULL;
	snprintf(path, blen + strlen(file) + 2, "%.*s/%s", (int)blen, base,
	    file);
	return path;
}

/* trim - strip the line end and surrounding blanks in place */
static char *
trim(char *s)
{
	size_t	 n;

	while (*s == ' ' || *s == '\t')
		s++;
	n = strlen(s);
	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r' ||
	    s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = '\0';
	return s;
}

/* cut_comment - end a bare pattern at a '#' after a blank, as a rule's
 * regex table ends it, and cut the blanks before */
static void
cut_comment(char *s)
{
	char	*e;

	for (e = s; *e != '\0' && (*e != '#' || (e[-1] != ' ' &&
	    e[-1] != '\t')); e++)
		;
	for (; e > s && (e[-1] == ' ' || e[-1] == '\t'); e--)
		;
	*e = '\0';
}

/* what slashed() found */
enum { SL_OK = 0, SL_OPEN, SL_JUNK, SL_LONG };

/*
 * slashed - "/pattern/flags [# comment]" into buf as a rule's regex table
 * reads it (so the list shipped in rules/ serves both): the pattern ends
 * at the first unescaped slash, the flags are the letters after it, and
 * only blanks and a comment may follow. SL_OK, or why not: no closing
 * slash, something else after the flags (*rest), or too long for buf.
 */
static int
slashed(const char *line, char *buf, size_t buflen, const char **flags,
    const char **rest)
{
	const char	*p, *end;
	size_t		 n, nf;

	for (p = line + 1; *p != '\0' && *p != '/'; p++)
		if (p[0] == '\\' && p[1] != '\0')
			p++;
	if (*p != '/')
		return SL_OPEN;
	for (end = p + 1; (*end >= 'a' && *end <= 'z') ||
	    (*end >= 'A' && *end <= 'Z'); end++)
		;
	*rest = end + strspn(end, " \t");
	n = (size_t)(p - line - 1);
	nf = (size_t)(end - p - 1);
	if (**rest != '\0' && **rest != '#')
		return SL_JUNK;
	if (n + nf + 2 > buflen)
		return SL_LONG;
	memcpy(buf, line + 1, n);
	buf[n] = '\0';
	memcpy(buf + n + 1, p + 1, nf);
	buf[n + 1 + nf] = '\0';
	*flags = buf + n + 1;
	return SL_OK;
}

/* add_pattern - compile one line of the patterns file; re stands at
 * line lineno, byte column col */
static int
add_pattern(struct parse *p, const struct fd_directive *d, const char *re,
    size_t lineno, size_t col)
{
	struct helo_conf *c = p->conf;
	struct fd_regex	**v, *rx;
	char		 err[256], buf[1024];
	const char	*flags = "i", *rest;

	/* "/pattern/flags", else the whole line, case-insensitive */
	if (re[0] == '/') {
		switch (slashed(re, buf, sizeof(buf), &flags, &rest)) {
		case SL_OK:
			break;
		case SL_OPEN:
			ERR(p, d, 0, "%s:%zu:%zu: no closing / after the "
			    "pattern", c->generic_path, lineno, col);
			return -1;
		case SL_JUNK:
			ERR(p, d, 0, "%s:%zu:%zu: unexpected \"%.40s\" after "
			    "the pattern", c->generic_path, lineno,
			    col + (size_t)(rest - re), rest);
			return -1;
		default:
			ERR(p, d, 0, "%s:%zu:%zu: pattern too long",
			    c->generic_path, lineno, col);
			return -1;
		}
		re = buf;
	}
	err[0] = '\0';
	rx = p->host->re_new(p->host, re, flags, err, sizeof(err));
	if (rx == NULL) {
		ERR(p, d, 0, "%s:%zu:%zu: %s", c->generic_path, lineno, col,
		    err[0] != '\0' ? err : "bad pattern");
		return -1;
	}
	if ((v = grow(c->generic, c->ngeneric, sizeof(*v))) == NULL) {
		p->host->re_free(rx);
		ERR(p, d, 0, "out of memory");
		return -1;
	}
	c->generic = v;
	v[c->ngeneric++] = rx;
	return 0;
}

#define GENERIC_LINE_MAX	65536	/* bytes of a line, as in a table file */
#define GENERIC_ERRORS_MAX	20	/* reported per file, as in a table file */

/*
 * read_line - the next line of fp into buf (GENERIC_LINE_MAX + 1 bytes),
 * its newline dropped; its length, -1 at the end of the file, or
 * GENERIC_LINE_MAX + 1 for a line that does not fit, left unread from
 * there: a file that is not text must not be read into memory whole.
 */
static long
read_line(FILE *fp, char *buf)
{
	size_t	 n = 0;
	int	 ch;

	while ((ch = getc(fp)) != EOF && ch != '\n') {
		if (n == GENERIC_LINE_MAX)
			return GENERIC_LINE_MAX + 1;
		buf[n++] = (char)ch;
	}
	if (ch == EOF && n == 0)
		return -1;
	buf[n] = '\0';
	return (long)n;
}

/* parse_generic - `generic-patterns FILE`: read and compile it, its
 * lines as a rule's regex table reads them */
static int
parse_generic(struct parse *p, const struct fd_directive *d)
{
	struct helo_conf *c = p->conf;
	FILE		*fp;
	struct stat	 sb;
	char		*line, *s, *start;
	const char	*why, *nul;
	size_t		 lineno = 0;
	long		 len;
	int		 nbad = 0;

	c->generic_path = resolve_path(p->host, p->host->dir_arg(d, 0));
	if (c->generic_path == NULL || (line = malloc(GENERIC_LINE_MAX +
	    1)) == NULL) {
		ERR(p, d, 0, "out of memory");
		return -1;
	}
	/* a FIFO nobody writes to would stall filterd -t or a reload */
	if ((fp = fd_textfile_open(c->generic_path, 0, &sb, &why)) == NULL) {
		ERR(p, d, 0, "cannot open \"%s\": %s", c->generic_path, why);
		free(line);
		return -1;
	}
	while ((len = read_line(fp, line)) != -1) {
		lineno++;
		if (len > GENERIC_LINE_MAX) {
			ERR(p, d, 0, "%s:%zu: line longer than %d bytes; the "
			    "rest of this file is not read", c->generic_path,
			    lineno, GENERIC_LINE_MAX);
			break;
		}
		/* a byte order mark some editors write is no part of the
		 * first pattern, as in a rule's table of the same file, and
		 * no column either */
		start = line;
		if (lineno == 1 && strncmp(start, "\xef\xbb\xbf", 3) == 0)
			start += 3;
		/* it would end the pattern there, unseen */
		if ((nul = memchr(start, '\0', (size_t)(line + len - start))) !=
		    NULL) {
			ERR(p, d, 0, "%s:%zu:%zu: NUL byte in the line",
			    c->generic_path, lineno, (size_t)(nul - start) + 1);
			nbad++;
		} else {
			s = trim(start);
			if (*s == '\0' || *s == '#')
				continue;
			if (*s != '/')
				cut_comment(s);
			if (add_pattern(p, d, s, lineno,
			    (size_t)(s - start) + 1) < 0)
				nbad++;
		}
		/* a file that is no pattern file says so in a few lines */
		if (nbad == GENERIC_ERRORS_MAX) {
			ERR(p, d, 0, "%s:%zu: too many errors, skipping the "
			    "rest of this file", c->generic_path, lineno);
			break;
		}
	}
	if (ferror(fp))
		ERR(p, d, 0, "reading \"%s\": %s", c->generic_path,
		    strerror(errno));
	free(line);
	fclose(fp);
	return 0;
}

/* parse_bool - exempt-authenticated, exempt-local */
static int
parse_bool(struct parse *p, const struct fd_directive *d)
{
	struct helo_policy *pol = &p->conf->pol;
	int	*out = strcmp(p->host->dir_name(d), "exempt-local") == 0 ?
		    &pol->exempt_local : &pol->exempt_auth;

	if (p->host->arg_bool(p->host, d, 0, out) != 0) {
		p->bad = 1;
		return -1;
	}
	return 0;
}

/* parse_enforce - `enforce-at helo|mail` */
static int
parse_enforce(struct parse *p, const struct fd_directive *d)
{
	const char *w = p->host->dir_arg(d, 0);

	if (strcmp(w, "helo") == 0)
		p->conf->pol.enforce_at_helo = 1;
	else if (strcmp(w, "mail") == 0)
		p->conf->pol.enforce_at_helo = 0;
	else {
		ERR(p, d, 0, "enforce-at: \"%s\" is neither helo nor mail", w);
		return -1;
	}
	return 0;
}

/*
 * server_norm - ADDRESS, ADDRESS:PORT, [IPV6]:PORT, [IPV6] or IPV6 into
 * the form c-ares 1.18 reads (it refuses "[::1]" without a port and
 * lets "1.2.3.4.5" through, so we check and rewrite here); 0 or -1.
 */
static int
server_norm(const char *a, char *out, size_t outlen)
{
	struct helo_addr ad;
	char		 buf[64];
	const char	*end, *port = NULL;
	size_t		 n;
	char		*pend;
	unsigned long	 p = 0;
	int		 bracketed = a[0] == '[';

	if (bracketed) {
		if ((end = strchr(a, ']')) == NULL)
			return -1;
		n = (size_t)(end - a - 1);
		if (end[1] == ':')
			port = end + 2;
		else if (end[1] != '\0')
			return -1;
		a++;
	} else if ((end = strchr(a, ':')) != NULL &&
	    strchr(end + 1, ':') == NULL) {
		n = (size_t)(end - a);		/* one colon: IPv4:PORT */
		port = end + 1;
	} else
		n = strlen(a);
	if (n == 0 || n >= sizeof(buf))
		return -1;
	memcpy(buf, a, n);
	buf[n] = '\0';
	/* brackets are for IPv6 only */
	if (helo_addr_parse(&ad, buf) != 0 ||
	    (bracketed && strchr(buf, ':') == NULL))
		return -1;
	if (port != NULL) {
		errno = 0;
		p = strtoul(port, &pend, 10);
		if (*port < '0' || *port > '9' || *pend != '\0' || errno != 0 ||
		    p < 1 || p > 65535)
			return -1;
	}
	if (port == NULL)
		snprintf(out, outlen, "%s", buf);
	else if (strchr(buf, ':') != NULL)
		snprintf(out, outlen, "[%s]:%lu", buf, p);
	else
		snprintf(out, outlen, "%s:%lu", buf, p);
	return 0;
}

/* parse_resolver - servers, joined the way c-ares reads them */
static int
parse_resolver(struct parse *p, const struct fd_directive *d)
{
	struct helo_policy *pol = &p->conf->pol;
	char	 one[80];
	size_t	 len, off = 0;
	int	 i, n = p->host->dir_argc(d);

	len = (size_t)n * sizeof(one);
	if ((pol->resolver = malloc(len)) == NULL) {
		ERR(p, d, -1, "out of memory");
		return -1;
	}
	for (i = 0; i < n; i++) {
		const char *a = p->host->dir_arg(d, i);

		if (server_norm(a, one, sizeof(one)) != 0) {
			ERR(p, d, i, "resolver: \"%s\" is not ADDRESS[:PORT] "
			    "(127.0.0.1:53, [::1]:53)", a);
			free(pol->resolver);
			pol->resolver = NULL;
			return -1;
		}
		off += (size_t)snprintf(pol->resolver + off, len - off, "%s%s",
		    i > 0 ? "," : "", one);
	}
	p->conf->resolver_dir = d;
	return 0;
}

/* arg_ms - "250ms", or any duration the host knows, in milliseconds */
static int
arg_ms(struct parse *p, const struct fd_directive *d, int i, int64_t *ms)
{
	const char	*a = p->host->dir_arg(d, i);
	char		*end;
	long long	 v;
	int64_t		 secs;

	errno = 0;
	v = strtoll(a, &end, 10);
	if (end != a && strcmp(end, "ms") == 0 && errno == 0 && v >= 0) {
		*ms = v;
		return 0;
	}
	if (p->host->arg_duration(p->host, d, i, &secs) != 0) {
		p->bad = 1;
		return -1;
	}
	*ms = secs * 1000;
	return 0;
}

/* parse_dns_timeout - `dns-timeout DURATION` */
static int
parse_dns_timeout(struct parse *p, const struct fd_directive *d)
{
	int64_t	 ms;

	if (arg_ms(p, d, 0, &ms) != 0)
		return -1;
	if (ms < DNS_TIMEOUT_MIN_MS || ms > DNS_TIMEOUT_MAX_MS) {
		ERR(p, d, 0, "dns-timeout must be between %dms and %ds",
		    DNS_TIMEOUT_MIN_MS, DNS_TIMEOUT_MAX_MS / 1000);
		return -1;
	}
	p->conf->pol.dns_timeout_ms = ms;
	return 0;
}

/* parse_dns_cache - `dns-cache SIZE [MAX-TTL]` */
static int
parse_dns_cache(struct parse *p, const struct fd_directive *d)
{
	struct helo_policy *pol = &p->conf->pol;
	uint64_t size;
	int64_t	 ttl;

	if (p->host->arg_uint(p->host, d, 0, &size) != 0) {
		p->bad = 1;
		return -1;
	}
	if (size > DNS_CACHE_MAX) {
		ERR(p, d, 0, "dns-cache: at most %d names", DNS_CACHE_MAX);
		return -1;
	}
	pol->dns_cache_size = size;
	if (p->host->dir_argc(d) < 2)
		return 0;
	if (p->host->arg_duration(p->host, d, 1, &ttl) != 0) {
		p->bad = 1;
		return -1;
	}
	pol->dns_cache_ttl = ttl;
	return 0;
}

static const struct dirspec dirs[] = {
	{ "require-helo",	parse_check, 1, 1, 0 },
	{ "syntax",		parse_check, 1, 1, 0 },
	{ "bare-ip",		parse_check, 1, 1, 0 },
	{ "localhost",		parse_check, 1, 1, 0 },
	{ "self",		parse_check, 1, 1, 0 },
	{ "literal-mismatch",	parse_check, 1, 1, 0 },
	{ "fqdn",		parse_check, 1, 1, 0 },
	{ "generic",		parse_check, 1, 1, 0 },
	{ "underscore",		parse_check, 1, 1, 0 },
	{ "changes",		parse_changes, 1, 2, 0 },
	{ "forward-confirm",	parse_check, 1, 1, 0 },
	{ "unresolvable",	parse_check, 1, 1, 0 },
	{ "local-names",	parse_local_names, 1, -1, 1 },
	{ "local-addresses",	parse_local_addrs, 1, -1, 1 },
	{ "trusted-networks",	parse_trusted, 1, -1, 1 },
	{ "generic-patterns",	parse_generic, 1, 1, 0 },
	{ "exempt-authenticated", parse_bool, 1, 1, 0 },
	{ "exempt-local",	parse_bool, 1, 1, 0 },
	{ "enforce-at",		parse_enforce, 1, 1, 0 },
	{ "resolver",		parse_resolver, 1, -1, 0 },
	{ "dns-timeout",	parse_dns_timeout, 1, 1, 0 },
	{ "dns-cache",		parse_dns_cache, 1, 2, 0 },
};
#define NDIRS	(sizeof(dirs) / sizeof(dirs[0]))

/* unknown - d is in no row: say which it may have meant */
static void
unknown(struct parse *p, const struct fd_directive *d)
{
	const char	*known[NDIRS + 1];
	size_t		 i;

	for (i = 0; i < NDIRS; i++)
		known[i] = dirs[i].name;
	known[i] = NULL;
	p->host->conf_unknown(p->host, d, known);
	p->bad = 1;
}

/* one - dispatch one directive to its row */
static void
one(struct parse *p, const struct fd_directive *d)
{
	const char	*name = p->host->dir_name(d);
	int		 argc = p->host->dir_argc(d);
	size_t		 i;

	for (i = 0; i < NDIRS; i++)
		if (strcmp(name, dirs[i].name) == 0)
			break;
	if (i == NDIRS) {
		unknown(p, d);
		return;
	}
	if (!dirs[i].list && (p->seen & (1ull << i))) {
		ERR(p, d, -1, "\"%s\" is given more than once", name);
		return;
	}
	p->seen |= 1ull << i;
	if (argc < dirs[i].min || (dirs[i].max >= 0 && argc > dirs[i].max)) {
		if (dirs[i].max < 0)
			ERR(p, d, -1, "\"%s\" needs at least one argument",
			    name);
		else if (dirs[i].min == dirs[i].max)
			ERR(p, d, -1, "\"%s\" takes %d argument%s, not %d",
			    name, dirs[i].min, dirs[i].min == 1 ? "" : "s",
			    argc);
		else
			ERR(p, d, -1, "\"%s\" takes %d to %d arguments, not %d",
			    name, dirs[i].min, dirs[i].max, argc);
		return;
	}
	dirs[i].parse(p, d);
}

/* helo_conf_new - defaults, then the block */
struct helo_conf *
helo_conf_new(const struct fd_host *host, const struct fd_block *block)
{
	const struct fd_directive *d;
	struct parse	 p;

	memset(&p, 0, sizeof(p));
	p.host = host;
	if ((p.conf = calloc(1, sizeof(*p.conf))) == NULL) {
		host->log(host, FD_LOG_ERR, "out of memory");
		return NULL;
	}
	p.conf->host = host;
	helo_policy_defaults(&p.conf->pol);
	for (d = host->dir_next(block, NULL); d != NULL;
	    d = host->dir_next(block, d))
		one(&p, d);
	if (p.generic_dir != NULL && p.conf->generic_path == NULL &&
	    p.conf->pol.act[HELO_C_GENERIC] != HELO_A_OFF)
		ERR(&p, p.generic_dir, -1, "generic needs a pattern file: "
		    "add generic-patterns \"FILE\"");
	/* the name is looked up for forward-confirm alone: without it, an
	 * unresolvable action written out would never be taken */
	if (p.unresolved_dir != NULL &&
	    p.conf->pol.act[HELO_C_UNRESOLVED] != HELO_A_OFF &&
	    p.conf->pol.act[HELO_C_FORWARD] == HELO_A_OFF)
		ERR(&p, p.unresolved_dir, -1, "unresolvable needs the name "
		    "looked up: set forward-confirm to log, tempfail or reject");
	if (p.bad)
		return helo_conf_free(p.conf);
	p.conf->pol.generic_match = generic_match;
	p.conf->pol.generic_arg = p.conf;
	p.conf->pol.ngeneric = p.conf->ngeneric;
	return p.conf;
}

/* helo_conf_free - the lists, the patterns, the conf */
struct helo_conf *
helo_conf_free(struct helo_conf *c)
{
	size_t	 i;

	if (c == NULL)
		return NULL;
	for (i = 0; i < c->pol.nlocal_names; i++)
		free(c->pol.local_names[i]);
	free(c->pol.local_names);
	free(c->pol.local_addrs);
	free(c->pol.trusted);
	free(c->pol.resolver);
	for (i = 0; i < c->ngeneric; i++)
		c->host->re_free(c->generic[i]);
	free(c->generic);
	free(c->generic_path);
	free(c);
	return NULL;
}
