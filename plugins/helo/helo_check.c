/*
 * helo_check.c -- the HELO name checks and how their findings combine
 *
 * Every check answers one question about the name; the policy gives each
 * its own action. The verdict is the strongest action among the findings
 * (reject over tempfail over log), and between equals the check listed
 * first in enum helo_check, so the client reads the most specific reason
 * ("localhost" rather than "not fully qualified" for HELO localhost).
 *
 * The defaults follow RFC 5321 and what breaks real mail (strict HELO
 * checks are a common cause of lost legitimate mail): only clear violations of the protocol reject (no HELO, bad
 * syntax, a bare IP, our own name, localhost from afar); a literal that is
 * not the client's address only logs (RFC 5321 4.1.4 forbids refusing mail
 * for it), and names that do not resolve never reject by default.
 */
#include <string.h>
#include <strings.h>

#include "helo_check.h"

static const char *const check_names[HELO_C_MAX] = {
	[HELO_C_REQUIRE]	= "require-helo",
	[HELO_C_SYNTAX]		= "syntax",
	[HELO_C_BARE_IP]	= "bare-ip",
	[HELO_C_LOCALHOST]	= "localhost",
	[HELO_C_SELF]		= "self",
	[HELO_C_LITERAL]	= "literal-mismatch",
	[HELO_C_FQDN]		= "fqdn",
	[HELO_C_GENERIC]	= "generic",
	[HELO_C_UNDERSCORE]	= "underscore",
	[HELO_C_CHANGES]	= "changes",
	[HELO_C_FORWARD]	= "forward-confirm",
	[HELO_C_UNRESOLVED]	= "unresolvable",
};

static const char *const act_names[] = {
	[HELO_A_OFF]		= "off",
	[HELO_A_LOG]		= "log",
	[HELO_A_TEMPFAIL]	= "tempfail",
	[HELO_A_REJECT]		= "reject",
};

/* Names that mean "this machine" wherever they are said (RFC 6761 6.3). */
static const char *const loopback_names[] = {
	"localhost", "localhost.localdomain", "localhost6",
	"localhost6.localdomain6", "ip6-localhost", "ip6-loopback",
};

/* helo_policy_defaults - see the file comment for why these */
void
helo_policy_defaults(struct helo_policy *p)
{
	memset(p, 0, sizeof(*p));
	p->act[HELO_C_REQUIRE] = HELO_A_REJECT;
	p->act[HELO_C_SYNTAX] = HELO_A_REJECT;
	p->act[HELO_C_BARE_IP] = HELO_A_REJECT;
	p->act[HELO_C_LOCALHOST] = HELO_A_REJECT;
	p->act[HELO_C_SELF] = HELO_A_REJECT;
	p->act[HELO_C_LITERAL] = HELO_A_LOG;
	p->act[HELO_C_FQDN] = HELO_A_REJECT;
	p->act[HELO_C_GENERIC] = HELO_A_LOG;
	p->act[HELO_C_UNDERSCORE] = HELO_A_LOG;
	p->act[HELO_C_CHANGES] = HELO_A_LOG;
	p->act[HELO_C_FORWARD] = HELO_A_OFF;
	p->act[HELO_C_UNRESOLVED] = HELO_A_LOG;
	p->changes_max = 3;
	p->exempt_auth = 1;
	p->exempt_local = 1;
	p->dns_timeout_ms = 2000;
	p->dns_cache_size = 10000;
	p->dns_cache_ttl = 300;
}

/* helo_result_init - empty verdict */
void
helo_result_init(struct helo_result *r)
{
	memset(r, 0, sizeof(*r));
	r->decisive = HELO_C_MAX;
	r->act = HELO_A_OFF;
}

/* helo_result_add - record a finding; keep the strongest as decisive */
void
helo_result_add(struct helo_result *r, const struct helo_policy *p,
    enum helo_check c)
{
	enum helo_act a = p->act[c];

	if (a == HELO_A_OFF)
		return;
	r->found |= 1u << c;
	if (a > r->act || (a == r->act && c < r->decisive)) {
		r->act = a;
		r->decisive = c;
	}
}

/* helo_found - is c among the findings */
int
helo_found(const struct helo_result *r, enum helo_check c)
{
	return (r->found & (1u << c)) != 0;
}

/* name_eq - norm (lower case) against a configured or MTA name */
static int
name_eq(const char *norm, const char *other)
{
	size_t	 n = strlen(other);

	if (n > 0 && other[n - 1] == '.')
		n--;
	return n > 0 && strlen(norm) == n && strncasecmp(norm, other, n) == 0;
}

/* is_loopback_name - localhost and friends, and anything.localhost */
static int
is_loopback_name(const char *norm)
{
	size_t	 i, n = strlen(norm);

	for (i = 0; i < sizeof(loopback_names) / sizeof(loopback_names[0]); i++)
		if (strcmp(norm, loopback_names[i]) == 0)
			return 1;
	return n > 10 && strcmp(norm + n - 10, ".localhost") == 0;
}

/* is_local_addr - one of our addresses: configured, or the one the client
 * connected to ({if_addr}, {daemon_addr}) */
static int
is_local_addr(const struct helo_policy *p, const struct helo_client *cl,
    const struct helo_addr *ad)
{
	size_t	 i;

	if (helo_addr_eq(ad, &cl->daemon_addr))
		return 1;
	for (i = 0; i < p->nlocal_addrs; i++)
		if (helo_addr_eq(ad, &p->local_addrs[i]))
			return 1;
	return 0;
}

/* is_self_name - the MTA's {j} or a configured local name */
static int
is_self_name(const struct helo_policy *p, const struct helo_client *cl,
    const char *norm)
{
	size_t	 i;

	if (cl->mta_name != NULL && name_eq(norm, cl->mta_name))
		return 1;
	for (i = 0; i < p->nlocal_names; i++)
		if (name_eq(norm, p->local_names[i]))
			return 1;
	return 0;
}

/*
 * client_is_us - a client that may use our name: loopback, unix socket,
 * or connecting from one of our own addresses.
 */
static int
client_is_us(const struct helo_policy *p, const struct helo_client *cl)
{
	return cl->local || helo_addr_loopback(&cl->addr) ||
	    (cl->addr.len != 0 && is_local_addr(p, cl, &cl->addr));
}

/* check_addr - an address literal or a bare IP */
static void
check_addr(const struct helo_policy *p, const struct helo_client *cl,
    struct helo_result *r)
{
	struct helo_addr ad;

	helo_addr_set(&ad, r->name.addr, r->name.addrlen);
	if (r->name.kind == HELO_K_BARE4 || r->name.kind == HELO_K_BARE6)
		helo_result_add(r, p, HELO_C_BARE_IP);
	if (helo_addr_loopback(&ad) && !cl->local &&
	    !helo_addr_loopback(&cl->addr))
		helo_result_add(r, p, HELO_C_LOCALHOST);
	if (is_local_addr(p, cl, &ad) && !client_is_us(p, cl))
		helo_result_add(r, p, HELO_C_SELF);
	if ((r->name.kind == HELO_K_LITERAL4 ||
	    r->name.kind == HELO_K_LITERAL6) &&
	    cl->addr.len != 0 && !helo_addr_eq(&ad, &cl->addr))
		helo_result_add(r, p, HELO_C_LITERAL);
}

/* check_domain - a syntactically valid name */
static void
check_domain(const struct helo_policy *p, const struct helo_client *cl,
    struct helo_result *r)
{
	const char	*norm = r->name.norm;

	if (is_loopback_name(norm) && !cl->local &&
	    !helo_addr_loopback(&cl->addr))
		helo_result_add(r, p, HELO_C_LOCALHOST);
	if (is_self_name(p, cl, norm) && !client_is_us(p, cl))
		helo_result_add(r, p, HELO_C_SELF);
	if (!r->name.has_dot)
		helo_result_add(r, p, HELO_C_FQDN);
	if (r->name.underscore)
		helo_result_add(r, p, HELO_C_UNDERSCORE);
	if (p->generic_match != NULL && p->act[HELO_C_GENERIC] != HELO_A_OFF &&
	    p->generic_match(p->generic_arg, norm, strlen(norm)) == 1)
		helo_result_add(r, p, HELO_C_GENERIC);
}

/* helo_check_name - the checks that need only the name and the client */
void
helo_check_name(const struct helo_policy *p, const struct helo_client *cl,
    const char *s, size_t len, struct helo_result *r)
{
	helo_result_init(r);
	if (helo_syntax(s, len, &r->name) != HELO_S_OK) {
		helo_result_add(r, p, HELO_C_SYNTAX);
		return;
	}
	if (r->name.kind == HELO_K_DOMAIN)
		check_domain(p, cl, r);
	else
		check_addr(p, cl, r);
}

/* helo_trusted - in a trusted network */
int
helo_trusted(const struct helo_policy *p, const struct helo_addr *ad)
{
	size_t	 i;

	for (i = 0; i < p->ntrusted; i++)
		if (helo_net_match(&p->trusted[i], ad))
			return 1;
	return 0;
}

/* seen_hash - FNV-1a over the lower-cased name without a trailing dot */
static uint64_t
seen_hash(const char *s, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ull;
	size_t	 i;

	if (len > 1 && s[len - 1] == '.')
		len--;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 'A' && c <= 'Z')
			c = (unsigned char)(c - 'A' + 'a');
		h ^= c;
		h *= 0x100000001b3ull;
	}
	return h;
}

/*
 * helo_seen_add - count distinct names. The set holds HELO_SEEN_MAX
 * hashes, more than the largest limit, so the count is exact up to the
 * point where the check fires; past that it only grows.
 */
unsigned
helo_seen_add(struct helo_seen *seen, const char *s, size_t len)
{
	uint64_t h = seen_hash(s, len);
	unsigned i, stored = seen->n < HELO_SEEN_MAX ? seen->n : HELO_SEEN_MAX;

	for (i = 0; i < stored; i++)
		if (seen->h[i] == h)
			return seen->n;
	if (seen->n < HELO_SEEN_MAX)
		seen->h[seen->n] = h;
	if (seen->n < 0xffffffffu)
		seen->n++;
	return seen->n;
}

/* helo_check_str - directive name */
const char *
helo_check_str(enum helo_check c)
{
	return c < HELO_C_MAX ? check_names[c] : "none";
}

/* helo_check_lookup - directive name to check */
enum helo_check
helo_check_lookup(const char *name)
{
	unsigned c;

	for (c = 0; c < HELO_C_MAX; c++)
		if (strcmp(name, check_names[c]) == 0)
			return (enum helo_check)c;
	return HELO_C_MAX;
}

/* helo_act_str - action word */
const char *
helo_act_str(enum helo_act a)
{
	return a <= HELO_A_REJECT ? act_names[a] : "?";
}

/* helo_act_lookup - action word to action */
int
helo_act_lookup(const char *word, enum helo_act *out)
{
	unsigned a;

	for (a = 0; a <= HELO_A_REJECT; a++)
		if (strcmp(word, act_names[a]) == 0) {
			*out = (enum helo_act)a;
			return 0;
		}
	return -1;
}
