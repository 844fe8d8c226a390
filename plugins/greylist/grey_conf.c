/*
 * grey_conf.c -- parse the `plugin greylist { ... }` block, see grey_conf.h
 *
 * One small function per directive, found through a table, so adding a
 * directive is one row and one function. Arguments that start with "/",
 * "./" or "../" in the table directives (whitelist-*, pools) name files,
 * read here, at load: a reload re-reads them. Relative file names are
 * taken from the directory of the configuration file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "grey_addr.h"
#include "grey_conf.h"
#include "grey_suffix.h"
#include "grey_text.h"

#define BODY_MAX_LIMIT	65536

typedef int (*dir_fn)(struct grey_conf *, const struct fd_directive *);

/* nargs - the directive has between lo and hi arguments, else an error */
static int
nargs(struct grey_conf *c, const struct fd_directive *d, int lo, int hi,
    const char *usage)
{
	const struct fd_host	*h = c->host;
	int			 n = h->dir_argc(d);

	if (n >= lo && n <= hi)
		return 0;
	h->conf_error(h, d, -1, "usage: %s %s", h->dir_name(d), usage);
	return -1;
}

/* ttl_fits - a lifetime the store keeps; else an error at argument i */
static int
ttl_fits(struct grey_conf *c, const struct fd_directive *d, int i,
    int64_t secs)
{
	const struct fd_host	*h = c->host;

	if (secs <= FD_STORE_TTL_MAX)
		return 0;
	h->conf_error(h, d, i, "%s: at most %lldd (100 years), the longest "
	    "the store keeps an entry", h->dir_name(d),
	    (long long)(FD_STORE_TTL_MAX / 86400));
	return -1;
}

/* one_duration - "NAME DURATION" into *out; min is the least allowed */
static int
one_duration(struct grey_conf *c, const struct fd_directive *d,
    int64_t *out, int64_t min)
{
	const struct fd_host	*h = c->host;

	if (nargs(c, d, 1, 1, "DURATION") < 0 ||
	    h->arg_duration(h, d, 0, out) < 0)
		return -1;
	if (*out < min) {
		h->conf_error(h, d, 0, "%s: must be at least %llds",
		    h->dir_name(d), (long long)min);
		return -1;
	}
	return ttl_fits(c, d, 0, *out);
}

/* one_bool - "NAME on|off" into *out */
static int
one_bool(struct grey_conf *c, const struct fd_directive *d, int *out)
{
	return nargs(c, d, 1, 1, "on|off") < 0 ? -1 :
	    c->host->arg_bool(c->host, d, 0, out);
}

/* one_choice - "NAME a|b": *out = 0 for a, 1 for b */
static int
one_choice(struct grey_conf *c, const struct fd_directive *d,
    const char *a, const char *b, int *out)
{
	const struct fd_host	*h = c->host;
	const char		*v;

	if (h->dir_argc(d) != 1) {
		h->conf_error(h, d, -1, "usage: %s %s|%s", h->dir_name(d), a, b);
		return -1;
	}
	v = h->dir_arg(d, 0);
	if (strcasecmp(v, a) == 0 || strcasecmp(v, b) == 0) {
		*out = strcasecmp(v, b) == 0;
		return 0;
	}
	h->conf_error(h, d, 0, "%s: \"%s\": expected %s or %s",
	    h->dir_name(d), v, a, b);
	return -1;
}

static int
d_delay(struct grey_conf *c, const struct fd_directive *d)
{
	return one_duration(c, d, &c->delay, 0);
}

static int
d_retry_window(struct grey_conf *c, const struct fd_directive *d)
{
	return one_duration(c, d, &c->retry_window, 1);
}

static int
d_whitelist_for(struct grey_conf *c, const struct fd_directive *d)
{
	return one_duration(c, d, &c->pass_ttl, 1);
}

/* awl_count - argument i as a pass count ("off" is 0) */
static int
awl_count(struct grey_conf *c, const struct fd_directive *d, int i)
{
	const struct fd_host	*h = c->host;
	uint64_t		 n;

	if (strcasecmp(h->dir_arg(d, i), "off") == 0) {
		c->awl_after = 0;
		return 0;
	}
	if (h->arg_uint(h, d, i, &n) < 0)
		return -1;
	if (n > 1000000) {
		h->conf_error(h, d, i, "%s: too many passes", h->dir_name(d));
		return -1;
	}
	c->awl_after = (uint32_t)n;
	return 0;
}

/* `auto-whitelist N [DURATION] [per-domain]`, `auto-whitelist off` */
static int
d_auto_whitelist(struct grey_conf *c, const struct fd_directive *d)
{
	const struct fd_host	*h = c->host;
	int			 i, n = h->dir_argc(d);

	if (nargs(c, d, 1, 3, "N [DURATION] [per-domain] | off") < 0 ||
	    awl_count(c, d, 0) < 0)
		return -1;
	c->awl_per_domain = 0;
	for (i = 1; i < n; i++) {
		if (strcasecmp(h->dir_arg(d, i), "per-domain") == 0)
			c->awl_per_domain = 1;
		else if (i == 1) {
			if (h->arg_duration(h, d, i, &c->awl_ttl) < 0)
				return -1;
			if (c->awl_ttl <= 0) {
				h->conf_error(h, d, i, "%s: the period must "
				    "be positive", h->dir_name(d));
				return -1;
			}
			if (ttl_fits(c, d, i, c->awl_ttl) < 0)
				return -1;
		} else {
			h->conf_error(h, d, i, "%s: \"%s\": expected "
			    "per-domain", h->dir_name(d), h->dir_arg(d, i));
			return -1;
		}
	}
	return 0;
}

/* `whitelist-after N`: another name for the auto-whitelist count */
static int
d_whitelist_after(struct grey_conf *c, const struct fd_directive *d)
{
	return nargs(c, d, 1, 1, "N") < 0 ? -1 : awl_count(c, d, 0);
}

/* prefix - "NAME BITS" within 1..max */
static int
prefix(struct grey_conf *c, const struct fd_directive *d, int *out, int max)
{
	const struct fd_host	*h = c->host;
	uint64_t		 n;

	if (nargs(c, d, 1, 1, "BITS") < 0 || h->arg_uint(h, d, 0, &n) < 0)
		return -1;
	if (n < 1 || n > (uint64_t)max) {
		h->conf_error(h, d, 0, "%s: %llu is not between 1 and %d",
		    h->dir_name(d), (unsigned long long)n, max);
		return -1;
	}
	*out = (int)n;
	return 0;
}

static int
d_ipv4_prefix(struct grey_conf *c, const struct fd_directive *d)
{
	return prefix(c, d, &c->client.v4_prefix, 32);
}

static int
d_ipv6_prefix(struct grey_conf *c, const struct fd_directive *d)
{
	return prefix(c, d, &c->client.v6_prefix, 128);
}

static int
d_decide_at(struct grey_conf *c, const struct fd_directive *d)
{
	return one_choice(c, d, "rcpt", "eom", &c->decide_eom);
}

static int
d_null_sender(struct grey_conf *c, const struct fd_directive *d)
{
	return one_choice(c, d, "rcpt", "eom", &c->null_eom);
}

/* `body-hash on|off [SIZE]` */
static int
d_body_hash(struct grey_conf *c, const struct fd_directive *d)
{
	const struct fd_host	*h = c->host;
	uint64_t		 n;

	if (nargs(c, d, 1, 2, "on|off [SIZE]") < 0 ||
	    h->arg_bool(h, d, 0, &c->body_hash) < 0)
		return -1;
	if (h->dir_argc(d) < 2)
		return 0;
	if (h->arg_uint(h, d, 1, &n) < 0)
		return -1;
	if (n < 1 || n > BODY_MAX_LIMIT) {
		h->conf_error(h, d, 1, "%s: size must be between 1 and %d "
		    "bytes", h->dir_name(d), BODY_MAX_LIMIT);
		return -1;
	}
	c->body_max = (size_t)n;
	return 0;
}

static int
d_pool_by_rdns(struct grey_conf *c, const struct fd_directive *d)
{
	return one_bool(c, d, &c->client.pool_rdns);
}

static int
d_header(struct grey_conf *c, const struct fd_directive *d)
{
	return one_bool(c, d, &c->header);
}

static int
d_skip_auth(struct grey_conf *c, const struct fd_directive *d)
{
	return one_bool(c, d, &c->skip_auth);
}

static int
d_skip_local(struct grey_conf *c, const struct fd_directive *d)
{
	return one_bool(c, d, &c->skip_local);
}

/* `message "text"`: only %d %s %m %% placeholders */
static int
d_message(struct grey_conf *c, const struct fd_directive *d)
{
	const struct fd_host	*h = c->host;
	const char		*text;
	size_t			 pos;
	char			*dup;

	if (nargs(c, d, 1, 1, "\"TEXT\"") < 0)
		return -1;
	text = h->dir_arg(d, 0);
	if (grey_text_check(text, &pos) < 0) {
		h->conf_error(h, d, 0, "message: unknown placeholder at "
		    "offset %zu (use %%d, %%s, %%m or %%%%)", pos);
		return -1;
	}
	if (strpbrk(text, "\r\n") != NULL ||
	    strlen(text) > GREY_MESSAGE_MAX) {
		h->conf_error(h, d, 0, "message: one line of at most %d "
		    "characters", GREY_MESSAGE_MAX);
		return -1;
	}
	if ((dup = strdup(text)) == NULL)
		return -1;
	free(c->message);
	c->message = dup;
	return 0;
}

/* `normalize all | none | srs batv subaddress verp digits` */
static int
d_normalize(struct grey_conf *c, const struct fd_directive *d)
{
	const struct fd_host	*h = c->host;
	int			 i, n = h->dir_argc(d);
	unsigned		 f;

	if (nargs(c, d, 1, 5, "all | none | srs batv subaddress verp digits")
	    < 0)
		return -1;
	c->norm = 0;
	for (i = 0; i < n; i++) {
		const char *v = h->dir_arg(d, i);

		if (strcasecmp(v, "all") == 0)
			f = GREY_N_ALL;
		else if (strcasecmp(v, "none") == 0)
			f = 0;
		else if ((f = grey_norm_flag(v)) == 0) {
			h->conf_error(h, d, i, "normalize: unknown step "
			    "\"%s\"", v);
			return -1;
		}
		c->norm |= f;
	}
	return 0;
}

static int
d_delims(struct grey_conf *c, const struct fd_directive *d)
{
	const struct fd_host	*h = c->host;
	const char		*v;

	if (nargs(c, d, 1, 1, "\"CHARS\"") < 0)
		return -1;
	v = h->dir_arg(d, 0);
	if (v[0] == '\0' || strlen(v) >= sizeof(c->delims) ||
	    strpbrk(v, "@<> \t\"") != NULL) {
		h->conf_error(h, d, 0, "subaddress-delimiters: 1 to %zu "
		    "characters, none of @ < > \" or blanks",
		    sizeof(c->delims) - 1);
		return -1;
	}
	strcpy(c->delims, v);
	return 0;
}

/* `on-store-error continue|tempfail`: the host applies it; accepted here
 * in case the core leaves it in the block */
static int
d_on_store_error(struct grey_conf *c, const struct fd_directive *d)
{
	int	 dummy;

	return one_choice(c, d, "continue", "tempfail", &dummy);
}

/* is_file - a table argument naming a file */
static int
is_file(const char *s)
{
	return s[0] == '/' || strncmp(s, "./", 2) == 0 ||
	    strncmp(s, "../", 3) == 0;
}

/*
 * file_path - s relative to the configuration's directory, new string;
 * its leading "./" steps dropped, as the core shows its own paths
 */
static char *
file_path(struct grey_conf *c, const char *s)
{
	const char	*dir = c->host->conf_dir != NULL ?
			    c->host->conf_dir(c->host) : NULL;
	char		*p;
	size_t		 n;

	if (s[0] == '/' || dir == NULL || dir[0] == '\0')
		return strdup(s);
	while (s[0] == '.' && s[1] == '/')
		s += 2 + strspn(s + 2, "/");
	n = strlen(dir) + strlen(s) + 2;
	if ((p = malloc(n)) != NULL)
		snprintf(p, n, "%s/%s", dir, s);
	return p;
}

/* what a table file's lines go into */
enum tkind { T_NETS, T_DOMAINS, T_ADDRS, T_POOLS, T_SUFFIX };

struct tload {
	struct grey_conf	*c;
	enum tkind		 kind;
	void			*table;
	const char		*path;
	const struct fd_directive *d;	/* and its argument argi name it */
	int			 argi;
};

/* table_add - one entry into a table of kind; NULL, or why not */
static const char *
table_add(struct grey_conf *c, enum tkind kind, void *table, const char *s)
{
	const char	*why = NULL;

	switch (kind) {
	case T_NETS:
		if (grey_nets_add(table, s, 0, &why) < 0)
			return why;
		break;
	case T_DOMAINS:
		if (strchr(s, '@') != NULL)
			return "a domain, not an address";
		if (grey_names_add(table, s, 0, &why) < 0)
			return why;
		break;
	case T_ADDRS:
		if (grey_names_add(table, s, 0, &why) < 0)
			return why;
		break;
	case T_SUFFIX:
		if (grey_suffix_add(c->psl, s) < 0)
			return "not a public suffix rule";
		break;
	case T_POOLS:
		return "internal: pools go through pool_line";
	}
	return NULL;
}

/* bad_word - report word w of a list file, at line and col, as bad for
 * why; 1, for the caller's count */
static int
bad_word(struct tload *tl, void (*bad)(void *, const char *),
    int line, int col, const char *w, const char *why)
{
	char	 err[512];

	snprintf(err, sizeof(err), "%s:%d:%d: \"%s\": %s", tl->path, line,
	    col, w, why);
	bad(tl, err);
	return 1;
}

/* file_line - grey_file_lines callback for one-entry-per-word tables:
 * each bad entry reported, their count */
static int
file_line(char **w, const int *col, int n, int line, void *arg,
    void (*bad)(void *, const char *))
{
	struct tload	*tl = arg;
	const char	*why;
	int		 i, nbad = 0;

	/* PSL files: the rule is the first word, the rest is commentary */
	if (tl->kind == T_SUFFIX)
		n = 1;
	for (i = 0; i < n; i++)
		if ((why = table_add(tl->c, tl->kind, tl->table, w[i])) != NULL)
			nbad += bad_word(tl, bad, line, col[i], w[i], why);
	return nbad;
}

/* pool_line - "NAME member member ..." */
static int
pool_line(char **w, const int *col, int n, int line, void *arg,
    void (*bad)(void *, const char *))
{
	struct tload	*tl = arg;
	const char	*why;
	char		 err[512];
	int		 i, nbad = 0;

	if (n < 2) {
		snprintf(err, sizeof(err), "%s:%d:%d: expected NAME MEMBER...",
		    tl->path, line, col[0]);
		bad(arg, err);
		return 1;
	}
	for (i = 1; i < n; i++)
		if (grey_pools_add(&tl->c->pools, w[0], w[i], &why) < 0)
			nbad += bad_word(tl, bad, line, col[i], w[i], why);
	return nbad;
}

/* file_bad - a problem in the file that argument tl->argi of tl->d
 * names, reported at that argument */
static void
file_bad(void *arg, const char *msg)
{
	struct tload		*tl = arg;
	const struct fd_host	*h = tl->c->host;

	h->conf_error(h, tl->d, tl->argi, "%s: %s", h->dir_name(tl->d), msg);
}

/* load_file - argument i of d names a file of kind */
static int
load_file(struct grey_conf *c, const struct fd_directive *d, int i,
    enum tkind kind, void *table)
{
	struct tload		 tl;
	char			*path;
	int			 rc;

	if ((path = file_path(c, c->host->dir_arg(d, i))) == NULL)
		return -1;
	tl.c = c;
	tl.kind = kind;
	tl.table = table;
	tl.path = path;
	tl.d = d;
	tl.argi = i;
	rc = grey_file_lines(path, kind == T_POOLS ? pool_line : file_line,
	    file_bad, &tl);
	free(path);
	return rc;
}

/* table_dir - every argument an entry, or a file of entries */
static int
table_dir(struct grey_conf *c, const struct fd_directive *d, enum tkind kind,
    void *table)
{
	const struct fd_host	*h = c->host;
	const char		*why;
	int			 i, n = h->dir_argc(d), rc = 0;

	if (nargs(c, d, 1, 100000, "ENTRY|FILE...") < 0)
		return -1;
	for (i = 0; i < n; i++) {
		const char *v = h->dir_arg(d, i);

		if (is_file(v)) {
			if (load_file(c, d, i, kind, table) < 0)
				rc = -1;
		} else if ((why = table_add(c, kind, table, v)) != NULL) {
			h->conf_error(h, d, i, "%s: \"%s\": %s",
			    h->dir_name(d), v, why);
			rc = -1;
		}
	}
	return rc;
}

static int
d_wl_networks(struct grey_conf *c, const struct fd_directive *d)
{
	return table_dir(c, d, T_NETS, &c->wl_nets);
}

static int
d_wl_domains(struct grey_conf *c, const struct fd_directive *d)
{
	return table_dir(c, d, T_DOMAINS, &c->wl_domains);
}

static int
d_wl_senders(struct grey_conf *c, const struct fd_directive *d)
{
	return table_dir(c, d, T_ADDRS, &c->wl_senders);
}

static int
d_wl_rcpts(struct grey_conf *c, const struct fd_directive *d)
{
	return table_dir(c, d, T_ADDRS, &c->wl_rcpts);
}

/* `pools FILE...` */
static int
d_pools(struct grey_conf *c, const struct fd_directive *d)
{
	const struct fd_host	*h = c->host;
	int			 i, n = h->dir_argc(d), rc = 0;

	if (nargs(c, d, 1, 100, "FILE...") < 0)
		return -1;
	for (i = 0; i < n; i++)
		if (load_file(c, d, i, T_POOLS, NULL) < 0)
			rc = -1;
	return rc;
}

/* `pool NAME MEMBER...` */
static int
d_pool(struct grey_conf *c, const struct fd_directive *d)
{
	const struct fd_host	*h = c->host;
	const char		*why;
	int			 i, n = h->dir_argc(d), rc = 0;

	if (nargs(c, d, 2, 100000, "NAME MEMBER...") < 0)
		return -1;
	for (i = 1; i < n; i++) {
		if (grey_pools_add(&c->pools, h->dir_arg(d, 0),
		    h->dir_arg(d, i), &why) < 0) {
			h->conf_error(h, d, i, "pool: \"%s\": %s",
			    h->dir_arg(d, i), why);
			rc = -1;
		}
	}
	return rc;
}

/* `public-suffixes FILE` */
static int
d_public_suffixes(struct grey_conf *c, const struct fd_directive *d)
{
	if (nargs(c, d, 1, 1, "FILE") < 0)
		return -1;
	c->psl = grey_suffix_free(c->psl);
	if ((c->psl = grey_suffix_new()) == NULL)
		return -1;
	if (load_file(c, d, 0, T_SUFFIX, NULL) < 0)
		return -1;
	if (grey_suffix_count(c->psl) == 0) {
		c->host->conf_error(c->host, d, 0, "public-suffixes: no rules "
		    "in the file");
		return -1;
	}
	grey_suffix_seal(c->psl);
	return 0;
}

/* a list directive adds to what it names and may be repeated; any other
 * sets one value, and a second one would silently undo the first */
static const struct {
	const char	*name;
	dir_fn		 fn;
	int		 list;
} directives[] = {
	{ "auto-whitelist", d_auto_whitelist, 0 },
	{ "body-hash", d_body_hash, 0 },
	{ "decide-at", d_decide_at, 0 },
	{ "delay", d_delay, 0 },
	{ "header", d_header, 0 },
	{ "ipv4-prefix", d_ipv4_prefix, 0 },
	{ "ipv6-prefix", d_ipv6_prefix, 0 },
	{ "message", d_message, 0 },
	{ "normalize", d_normalize, 0 },
	{ "null-sender", d_null_sender, 0 },
	{ "on-store-error", d_on_store_error, 0 },
	{ "pool", d_pool, 1 },
	{ "pool-by-rdns", d_pool_by_rdns, 0 },
	{ "pools", d_pools, 1 },
	{ "public-suffixes", d_public_suffixes, 0 },
	{ "retry-window", d_retry_window, 0 },
	{ "skip-authenticated", d_skip_auth, 0 },
	{ "skip-local", d_skip_local, 0 },
	{ "subaddress-delimiters", d_delims, 0 },
	{ "whitelist-after", d_whitelist_after, 0 },
	{ "whitelist-domains", d_wl_domains, 1 },
	{ "whitelist-for", d_whitelist_for, 0 },
	{ "whitelist-networks", d_wl_networks, 1 },
	{ "whitelist-recipients", d_wl_rcpts, 1 },
	{ "whitelist-senders", d_wl_senders, 1 },
};

/* defaults - the values of an empty block */
static int
defaults(struct grey_conf *c, const struct fd_host *h)
{
	memset(c, 0, sizeof(*c));
	c->host = h;
	c->delay = 5 * 60;
	c->retry_window = 2 * 86400;
	c->pass_ttl = 35 * 86400;
	c->awl_after = 3;
	c->awl_ttl = 35 * 86400;
	c->null_eom = 1;
	c->body_max = 4096;
	c->header = 1;
	c->norm = GREY_N_ALL;
	strcpy(c->delims, GREY_DELIMS_DEFAULT);
	c->skip_auth = 1;
	c->skip_local = 1;
	c->client.v4_prefix = 24;
	c->client.v6_prefix = 64;
	return (c->message = strdup(GREY_MESSAGE_DEFAULT)) != NULL ? 0 : -1;
}

/* check - what no single directive can see */
static int
check(struct grey_conf *c, const struct fd_directive *delay_d,
    const struct fd_directive *window_d)
{
	const struct fd_host	*h = c->host;

	if (c->retry_window <= c->delay) {
		h->conf_error(h, window_d != NULL ? window_d : delay_d,
		    window_d != NULL || delay_d != NULL ? 0 : -1,
		    "retry-window (%llds) must be longer than delay (%llds)",
		    (long long)c->retry_window, (long long)c->delay);
		return -1;
	}
	return 0;
}

/* unknown - d is none of the directives: say which it may have meant */
static void
unknown(const struct fd_host *h, const struct fd_directive *d)
{
	const char	*known[sizeof(directives) / sizeof(directives[0]) + 1];
	size_t		 i;

	for (i = 0; i < sizeof(directives) / sizeof(directives[0]); i++)
		known[i] = directives[i].name;
	known[i] = NULL;
	h->conf_unknown(h, d, known);
}

int
grey_conf_load(struct grey_conf *c, const struct fd_host *h,
    const struct fd_block *b)
{
	const struct fd_directive	*d, *delay_d = NULL, *window_d = NULL;
	uint32_t			 seen = 0;
	size_t				 i;
	int				 rc = 0;

	if (defaults(c, h) < 0)
		return -1;
	for (d = h->dir_next(b, NULL); d != NULL; d = h->dir_next(b, d)) {
		const char *name = h->dir_name(d);

		for (i = 0; i < sizeof(directives) / sizeof(directives[0]); i++)
			if (strcmp(name, directives[i].name) == 0)
				break;
		if (i == sizeof(directives) / sizeof(directives[0])) {
			unknown(h, d);
			rc = -1;
			continue;
		}
		if (!directives[i].list && (seen & (1u << i))) {
			h->conf_error(h, d, -1, "\"%s\" is given more than "
			    "once", name);
			rc = -1;
			continue;
		}
		seen |= 1u << i;
		if (directives[i].fn(c, d) < 0)
			rc = -1;
		if (directives[i].fn == d_delay)
			delay_d = d;
		else if (directives[i].fn == d_retry_window)
			window_d = d;
	}
	if (check(c, delay_d, window_d) < 0)
		rc = -1;
	grey_names_seal(&c->wl_domains);
	grey_names_seal(&c->wl_senders);
	grey_names_seal(&c->wl_rcpts);
	grey_pools_seal(&c->pools);
	c->client.pools = c->pools.n > 0 ? &c->pools : NULL;
	c->client.psl = c->psl;
	return rc;
}

void
grey_conf_clear(struct grey_conf *c)
{
	free(c->message);
	grey_pools_clear(&c->pools);
	c->psl = grey_suffix_free(c->psl);
	grey_nets_clear(&c->wl_nets);
	grey_names_clear(&c->wl_domains);
	grey_names_clear(&c->wl_senders);
	grey_names_clear(&c->wl_rcpts);
	memset(c, 0, sizeof(*c));
}
