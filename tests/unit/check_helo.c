/*
 * check_helo.c -- unit tests of the helo plugin
 *
 * tcase "names": one table of HELO names, valid and invalid, through
 *   helo_check_name() with every check set to reject, asserting the kind
 *   of name, every finding, and the one that decides.
 * tcase "syntax", "net", "reply", "seen", "cache": the pure pieces.
 * tcase "conf": the plugin block through a fake host, every error with
 *   its file:line:col.
 * tcase "hooks": the plugin's own hooks (filterd_plugin) driven through
 *   the fake host: defaults, exemptions, enforcement stage, hostile input.
 * tcase "module": the built helo.so exports filterd_plugin and nothing
 *   else.
 *
 * Forward confirmation against a real DNS server is check_helo_dns.c.
 */
#include <check.h>
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filterd/plugin.h>

#include "helo_cache.h"
#include "helo_check.h"
#include "helo_conf.h"
#include "helo_fakehost.h"
#include "helo_net.h"
#include "helo_reply.h"
#include "helo_syntax.h"

extern const struct fd_plugin filterd_plugin;

#define B(c)	(1u << HELO_C_##c)
#define C4	"203.0.113.5"
#define C6	"2001:db8::5"

/* srcdir - where tests/helo lives (the environment wins, for distcheck) */
static const char *
srcdir(void)
{
	const char *s = getenv("top_srcdir");

	return s != NULL && *s != '\0' ? s : HELO_TOP_SRCDIR;
}

/*
 * The names table. `found` is the exact set of findings with every check
 * at reject; the decisive one is then the first in enum order. Names
 * starting with '@' are built at run time (long ones).
 */
struct name_case {
	const char	*helo;
	const char	*client;
	uint32_t	 found;
	enum helo_kind	 kind;
};

#define OK	0
#define I	HELO_K_INVALID
#define D	HELO_K_DOMAIN
#define L4	HELO_K_LITERAL4
#define L6	HELO_K_LITERAL6
#define B4	HELO_K_BARE4
#define B6	HELO_K_BARE6

static const struct name_case names[] = {
	/* valid names, nothing to say */
	{ "mx.example.org",		C4, OK, D },
	{ "MX.Example.ORG",		C4, OK, D },
	{ "mx.example.org.",		C4, OK, D },	/* trailing dot */
	{ "xn--bcher-kva.example",	C4, OK, D },	/* IDNA A-label */
	{ "mail.xn--fiqs8s",		C4, OK, D },	/* A-label TLD */
	{ "xn--ls8h.la",		C4, OK, D },
	{ "a.b",			C4, OK, D },
	{ "123.example.com",		C4, OK, D },
	{ "3com.com",			C4, OK, D },
	{ "a-b.example",		C4, OK, D },
	{ "ab--cd.example",		C4, OK, D },
	{ "@label63",			C4, OK, D },
	{ "@name255",			C4, OK, D },
	{ "@name255dot",		C4, OK, D },
	{ "localhost.example.com",	C4, OK, D },
	{ "pooled.example.com",		C4, OK, D },
	{ "[203.0.113.5]",		C4, OK, L4 },
	{ "[203.000.113.005]",		C4, OK, L4 },	/* Snum: 1*3DIGIT */
	{ "[IPv6:2001:db8::5]",		C6, OK, L6 },
	{ "[ipv6:2001:DB8::5]",		C6, OK, L6 },
	{ "[IPv6:2001:0db8:0000:0000:0000:0000:0000:0005]", C6, OK, L6 },
	{ "[IPv6:::ffff:203.0.113.5]",	C4, OK, L6 },	/* mapped = client */
	{ "[203.0.113.5]",		"::ffff:203.0.113.5", OK, L4 },
	{ "[203.0.113.5]",		"", OK, L4 },	/* not an IP client */
	{ "[IPv6:::1]",			"::1", OK, L6 },
	{ "mail.example.net",		"192.0.2.1", OK, D }, /* from our address */
	{ "mail.example.net",		"127.0.0.1", OK, D },

	/* syntax */
	{ "",				C4, B(SYNTAX), I },
	{ ".",				C4, B(SYNTAX), I },
	{ "mx..example.org",		C4, B(SYNTAX), I },
	{ ".mx.example.org",		C4, B(SYNTAX), I },
	{ "mx.example.org..",		C4, B(SYNTAX), I },
	{ "-mx.example.org",		C4, B(SYNTAX), I },
	{ "mx-.example.org",		C4, B(SYNTAX), I },
	{ "mx.-example.org",		C4, B(SYNTAX), I },
	{ "mx.example-",		C4, B(SYNTAX), I },
	{ "@label64",			C4, B(SYNTAX), I },
	{ "@name256",			C4, B(SYNTAX), I },
	{ "@10k",			C4, B(SYNTAX), I },
	{ "mx example.org",		C4, B(SYNTAX), I },
	{ "mx.exam\x01ple.org",		C4, B(SYNTAX), I },
	{ "mx.ex\x7f" "ample.org",	C4, B(SYNTAX), I },
	{ "mx.example.org\r",		C4, B(SYNTAX), I },
	{ "b\xc3\xbc" "cher.example",	C4, B(SYNTAX), I },	/* U-label */
	{ "mx!example.org",		C4, B(SYNTAX), I },
	{ "mx.example.123",		C4, B(SYNTAX), I },
	{ "300.1.1.1",			C4, B(SYNTAX), I },
	{ "1.2.3",			C4, B(SYNTAX), I },
	{ "12345",			C4, B(SYNTAX), I },
	{ "1.2.3.4.",			C4, B(SYNTAX), I },
	{ "[203.0.113.5",		C4, B(SYNTAX), I },
	{ "[]",				C4, B(SYNTAX), I },
	{ "[300.0.113.5]",		C4, B(SYNTAX), I },
	{ "[203.0.113]",		C4, B(SYNTAX), I },
	{ "[203.0.113.5.6]",		C4, B(SYNTAX), I },
	{ "[ 203.0.113.5]",		C4, B(SYNTAX), I },
	{ "[1234.0.113.5]",		C4, B(SYNTAX), I },
	{ "[IPv6:2001:db8::1::2]",	C6, B(SYNTAX), I },
	{ "[IPv6:192.0.2.1]",		C6, B(SYNTAX), I },
	{ "[IPv6:]",			C6, B(SYNTAX), I },
	{ "[IPv6:1:2:3:4:5:6:7:8:9]",	C6, B(SYNTAX), I },
	{ "[IPv6:2001:db8::g]",		C6, B(SYNTAX), I },
	{ "[2001:db8::1]",		C6, B(SYNTAX), I },	/* tag missing */
	{ "[foo:bar]",			C4, B(SYNTAX), I },
	{ "[mx.example.org]",		C4, B(SYNTAX), I },
	{ "mx.example.org:25",		C4, B(SYNTAX), I },
	{ "user@mx.example.org",	C4, B(SYNTAX), I },
	{ "2001:db8::zz",		C4, B(SYNTAX), I },

	/* bare addresses */
	{ "203.0.113.5",		C4, B(BARE_IP), B4 },
	{ "192.0.2.200",		C4, B(BARE_IP), B4 },
	{ "2001:db8::5",		C6, B(BARE_IP), B6 },
	{ "::1",			C4, B(BARE_IP) | B(LOCALHOST), B6 },
	{ "127.0.0.1",			C4, B(BARE_IP) | B(LOCALHOST), B4 },
	{ "192.0.2.1",			C4, B(BARE_IP) | B(SELF), B4 },

	/* not fully qualified */
	{ "mailserver",			C4, B(FQDN), D },
	{ "MAILSERVER",			C4, B(FQDN), D },
	{ "xn--bcher-kva",		C4, B(FQDN), D },

	/* underscores */
	{ "my_host.example.com",	C4, B(UNDERSCORE), D },
	{ "_dmarc.example.com",		C4, B(UNDERSCORE), D },
	{ "my_pc",			C4, B(FQDN) | B(UNDERSCORE), D },

	/* localhost from a remote client */
	{ "localhost",			C4, B(LOCALHOST) | B(FQDN), D },
	{ "LOCALHOST",			C4, B(LOCALHOST) | B(FQDN), D },
	{ "localhost.",			C4, B(LOCALHOST) | B(FQDN), D },
	{ "localhost.localdomain",	C4, B(LOCALHOST), D },
	{ "ip6-localhost",		C4, B(LOCALHOST) | B(FQDN), D },
	{ "foo.localhost",		C4, B(LOCALHOST), D },
	{ "[127.0.0.1]",		C4, B(LOCALHOST) | B(LITERAL), L4 },
	{ "[127.1.2.3]",		C4, B(LOCALHOST) | B(LITERAL), L4 },
	{ "[IPv6:::1]",			C4, B(LOCALHOST) | B(LITERAL), L6 },
	{ "localhost",			"127.0.0.1", B(FQDN), D },

	/* our own name or address */
	{ "mail.example.net",		C4, B(SELF), D },	/* {j} */
	{ "MAIL.EXAMPLE.NET.",		C4, B(SELF), D },
	{ "mx.example.net",		C4, B(SELF), D },	/* local-names */
	{ "[192.0.2.1]",		C4, B(SELF) | B(LITERAL), L4 },
	{ "[198.51.100.25]",		C4, B(SELF) | B(LITERAL), L4 },

	/* literals that are not the client */
	{ "[198.51.100.9]",		C4, B(LITERAL), L4 },
	{ "[IPv6:2001:db8::6]",		C6, B(LITERAL), L6 },
	{ "[203.0.113.5]",		C6, B(LITERAL), L4 },

	/* generic names (tests/helo/generic-helo.pcre) */
	{ "dsl-203-0-113-5.dynamic.example.net", C4, B(GENERIC), D },
	{ "host.pool.example.com",	C4, B(GENERIC), D },
	{ "5.113.0.203.example.net",	C4, B(GENERIC), D },
	{ "PPP.Example.COM",		C4, B(GENERIC), D },
	{ "Cust42.example.net",		C4, B(GENERIC), D },	/* /re/i line */
	{ "customers.example.net",	C4, OK, D },
};

/* expand - the long names the table names with '@' */
static size_t
expand(const char *helo, char *buf, size_t buflen)
{
	if (helo[0] != '@') {
		snprintf(buf, buflen, "%s", helo);
		return strlen(helo);
	}
	if (strcmp(helo, "@10k") == 0) {
		memset(buf, 'a', 10240);
		buf[10240] = '\0';
	} else if (strcmp(helo, "@label63") == 0 || strcmp(helo, "@label64") == 0) {
		size_t n = helo[7] == '3' ? 63 : 64;

		memset(buf, 'a', n);
		strcpy(buf + n, ".example");
	} else {
		/* four labels: 63+1+63+1+63+1+63 = 255 */
		memset(buf, 'b', 255);
		buf[63] = buf[127] = buf[191] = '.';
		buf[255] = '\0';
		if (strcmp(helo, "@name255dot") == 0)
			strcpy(buf + 255, ".");
		else if (strcmp(helo, "@name256") == 0)
			strcpy(buf + 255, "b");
	}
	(void)buflen;
	return strlen(buf);
}

/* Everything at reject, for the table: via the real config parser. */
static const char table_conf[] =
	"require-helo reject; syntax reject; bare-ip reject;\n"
	"localhost reject; self reject; literal-mismatch reject;\n"
	"fqdn reject; generic reject; underscore reject;\n"
	"local-names mx.example.net;\n"
	"local-addresses 192.0.2.1;\n"
	"generic-patterns \"generic-helo.pcre\";\n";

static struct fake		 F;
static struct fd_block		 Blk;

/* conf_of - the policy a block of text gives, or NULL */
static struct helo_conf *
conf_of(const char *text)
{
	fake_init(&F);
	snprintf(F.conf_dir, sizeof(F.conf_dir), "%s/tests/helo", srcdir());
	fake_block(&Blk, text);
	return helo_conf_new(&F.host, &Blk);
}

START_TEST(t_names)
{
	const struct name_case *nc = &names[_i];
	struct helo_conf	*conf;
	struct helo_client	 cl;
	struct helo_result	 r;
	static char		 buf[16384];
	size_t			 len;
	enum helo_check		 want = HELO_C_MAX;
	int			 c;

	conf = conf_of(table_conf);
	ck_assert_msg(conf != NULL, "config: %s", F.errors);
	len = expand(nc->helo, buf, sizeof(buf));
	memset(&cl, 0, sizeof(cl));
	if (*nc->client != '\0')
		ck_assert_int_eq(helo_addr_parse(&cl.addr, nc->client), 0);
	cl.mta_name = "mail.example.net";
	helo_addr_parse(&cl.daemon_addr, "198.51.100.25");
	cl.local = helo_addr_loopback(&cl.addr);

	helo_check_name(&conf->pol, &cl, buf, len, &r);
	for (c = 0; c < HELO_C_MAX; c++)
		if (nc->found & (1u << c)) {
			want = (enum helo_check)c;
			break;
		}
	ck_assert_msg(r.name.kind == nc->kind, "row %d \"%s\": kind %d, want %d",
	    _i, nc->helo, r.name.kind, nc->kind);
	ck_assert_msg(r.found == nc->found, "row %d \"%s\": found 0x%x, want 0x%x"
	    " (syntax: %s)", _i, nc->helo, r.found, nc->found,
	    helo_syntax_str(r.name.err));
	ck_assert_msg(r.decisive == want, "row %d \"%s\": decided by %s, want %s",
	    _i, nc->helo, helo_check_str(r.decisive), helo_check_str(want));
	ck_assert_int_eq(r.act, want == HELO_C_MAX ? HELO_A_OFF : HELO_A_REJECT);
	helo_conf_free(conf);
	fake_block_free(&Blk);
}
END_TEST

/* The same table with the defaults: which names a public MX refuses. */
START_TEST(t_names_defaults)
{
	const struct name_case *nc = &names[_i];
	struct helo_policy	 pol;
	struct helo_client	 cl;
	struct helo_result	 r;
	static char		 buf[16384];
	size_t			 len = expand(nc->helo, buf, sizeof(buf));
	uint32_t		 rejecting = B(SYNTAX) | B(BARE_IP) |
				    B(LOCALHOST) | B(SELF) | B(FQDN);

	helo_policy_defaults(&pol);
	memset(&cl, 0, sizeof(cl));
	if (*nc->client != '\0')
		helo_addr_parse(&cl.addr, nc->client);
	cl.mta_name = "mail.example.net";
	cl.local = helo_addr_loopback(&cl.addr);
	helo_check_name(&pol, &cl, buf, len, &r);
	/* without local-names/-addresses, self fires only for {j} */
	ck_assert_msg((r.act == HELO_A_REJECT) ==
	    ((r.found & rejecting) != 0), "row %d \"%s\"", _i, nc->helo);
	/* a mismatched literal alone never rejects (RFC 5321 4.1.4) */
	if (nc->found == B(LITERAL))
		ck_assert_int_eq(r.act, HELO_A_LOG);
}
END_TEST

START_TEST(t_syntax_details)
{
	struct helo_name n;
	static const unsigned char v6[16] = { 0x20, 0x01, 0x0d, 0xb8,
	    [15] = 1 };

	ck_assert_int_eq(helo_syntax("Mx.Example.ORG.", 15, &n), HELO_S_OK);
	ck_assert_str_eq(n.norm, "mx.example.org");
	ck_assert_int_eq(n.trailing_dot, 1);
	ck_assert_int_eq(n.has_dot, 1);

	ck_assert_int_eq(helo_syntax("[IPv6:2001:db8::1]", 18, &n), HELO_S_OK);
	ck_assert_int_eq(n.addrlen, 16);
	ck_assert(memcmp(n.addr, v6, 16) == 0);
	ck_assert_str_eq(n.norm, "");

	ck_assert_int_eq(helo_syntax("[192.0.2.1]", 11, &n), HELO_S_OK);
	ck_assert_int_eq(n.addrlen, 4);
	ck_assert_int_eq(n.addr[0], 192);
	ck_assert_int_eq(n.addr[3], 1);

	ck_assert_int_eq(helo_syntax("mx.exa mple.org", 15, &n), HELO_S_BAD_CHAR);
	ck_assert_int_eq(n.errpos, 6);
	ck_assert_int_eq(helo_syntax("a\x01", 2, &n), HELO_S_CONTROL);
	ck_assert_int_eq(helo_syntax("\xc3\xa9.example", 10, &n), HELO_S_NON_ASCII);
	ck_assert_int_eq(helo_syntax("a..b", 4, &n), HELO_S_EMPTY_LABEL);
	ck_assert_int_eq(n.errpos, 2);
	ck_assert_int_eq(helo_syntax("-a.b", 4, &n), HELO_S_HYPHEN_START);
	ck_assert_int_eq(helo_syntax("a-.b", 4, &n), HELO_S_HYPHEN_END);
	ck_assert_int_eq(helo_syntax("[1.2.3.4", 8, &n), HELO_S_LITERAL_OPEN);
	ck_assert_int_eq(helo_syntax("[1.2.3.4]:25", 12, &n),
	    HELO_S_LITERAL_TRAIL);
	ck_assert_int_eq(n.errpos, 9);
	ck_assert_int_eq(n.addrlen, 0);
	ck_assert_int_eq(helo_syntax("[]", 2, &n), HELO_S_LITERAL_EMPTY);
	ck_assert_int_eq(n.errpos, 1);
	ck_assert_int_eq(helo_syntax("[x:y]", 5, &n), HELO_S_UNKNOWN_TAG);
	ck_assert_int_eq(helo_syntax("[IPv6:::g]", 10, &n), HELO_S_BAD_IPV6);
	ck_assert_int_eq(helo_syntax("[1.2.3.256]", 11, &n), HELO_S_BAD_IPV4);
	ck_assert_int_eq(helo_syntax("a.1", 3, &n), HELO_S_NUMERIC_TLD);
	ck_assert_int_eq(helo_syntax("", 0, &n), HELO_S_EMPTY);
	/* a NUL passed inside the length is a control character */
	ck_assert_int_eq(helo_syntax("a\0b.example", 11, &n), HELO_S_CONTROL);
	/* every error has a phrase */
	for (int e = HELO_S_OK; e <= HELO_S_LITERAL_TRAIL; e++)
		ck_assert(strlen(helo_syntax_str((enum helo_syn)e)) > 3);
}
END_TEST

START_TEST(t_ipv4_snum)
{
	unsigned char a[4];

	ck_assert_int_eq(helo_parse_ipv4("0.0.0.0", 7, a), 0);
	ck_assert_int_eq(helo_parse_ipv4("255.255.255.255", 15, a), 0);
	ck_assert_int_eq(a[0], 255);
	ck_assert_int_eq(helo_parse_ipv4("001.002.003.004", 15, a), 0);
	ck_assert_int_eq(a[3], 4);
	ck_assert_int_eq(helo_parse_ipv4("256.0.0.0", 9, a), -1);
	ck_assert_int_eq(helo_parse_ipv4("1.2.3", 5, a), -1);
	ck_assert_int_eq(helo_parse_ipv4("1.2.3.4.", 8, a), -1);
	ck_assert_int_eq(helo_parse_ipv4("1..3.4", 6, a), -1);
	ck_assert_int_eq(helo_parse_ipv4("0001.2.3.4", 10, a), -1);
	ck_assert_int_eq(helo_parse_ipv4("1.2.3.-4", 8, a), -1);
}
END_TEST

START_TEST(t_net)
{
	struct helo_net	 n;
	struct helo_addr a;
	char		 buf[HELO_ADDR_STRLEN];

	ck_assert_int_eq(helo_net_parse(&n, "10.0.0.0/8"), 0);
	ck_assert_int_eq(helo_addr_parse(&a, "10.200.3.4"), 0);
	ck_assert_int_eq(helo_net_match(&n, &a), 1);
	ck_assert_int_eq(helo_addr_parse(&a, "11.0.0.1"), 0);
	ck_assert_int_eq(helo_net_match(&n, &a), 0);
	/* an IPv4-mapped client is an IPv4 client */
	ck_assert_int_eq(helo_addr_parse(&a, "::ffff:10.1.1.1"), 0);
	ck_assert_int_eq(a.len, 4);
	ck_assert_int_eq(helo_net_match(&n, &a), 1);
	ck_assert_str_eq(helo_addr_str(&a, buf, sizeof(buf)), "10.1.1.1");
	/* host bits are cleared; odd prefixes */
	ck_assert_int_eq(helo_net_parse(&n, "192.0.2.77/25"), 0);
	ck_assert_int_eq(helo_addr_parse(&a, "192.0.2.1"), 0);
	ck_assert_int_eq(helo_net_match(&n, &a), 1);
	ck_assert_int_eq(helo_addr_parse(&a, "192.0.2.129"), 0);
	ck_assert_int_eq(helo_net_match(&n, &a), 0);
	ck_assert_int_eq(helo_net_parse(&n, "2001:db8::/32"), 0);
	ck_assert_int_eq(helo_addr_parse(&a, "2001:db8:ffff::1"), 0);
	ck_assert_int_eq(helo_net_match(&n, &a), 1);
	ck_assert_int_eq(helo_addr_parse(&a, "10.0.0.1"), 0);
	ck_assert_int_eq(helo_net_match(&n, &a), 0);
	ck_assert_int_eq(helo_net_parse(&n, "::ffff:10.0.0.0/104"), 0);
	ck_assert_int_eq(n.addr.len, 4);
	ck_assert_int_eq(n.bits, 8);
	ck_assert_int_eq(helo_net_parse(&n, "0.0.0.0/0"), 0);
	ck_assert_int_eq(helo_net_match(&n, &a), 1);
	ck_assert_int_eq(helo_net_parse(&n, "192.0.2.1"), 0);
	ck_assert_int_eq(n.bits, 32);
	ck_assert_int_eq(helo_net_parse(&n, "10.0.0.0/33"), -1);
	ck_assert_int_eq(helo_net_parse(&n, "10.0.0/8"), -1);
	ck_assert_int_eq(helo_net_parse(&n, "10.0.0.0/"), -1);
	ck_assert_int_eq(helo_net_parse(&n, "10.0.0.0/8x"), -1);
	ck_assert_int_eq(helo_net_parse(&n, "/8"), -1);
	ck_assert_int_eq(helo_net_parse(&n, "example.org"), -1);
	ck_assert_int_eq(helo_addr_parse(&a, "127.9.9.9"), 0);
	ck_assert_int_eq(helo_addr_loopback(&a), 1);
	ck_assert_int_eq(helo_addr_parse(&a, "::1"), 0);
	ck_assert_int_eq(helo_addr_loopback(&a), 1);
	ck_assert_int_eq(helo_addr_parse(&a, "::2"), 0);
	ck_assert_int_eq(helo_addr_loopback(&a), 0);
}
END_TEST

/* reply_for - the reply helo_reply_make gives for a name */
static void
reply_for(struct helo_reply *rp, const char *helo, size_t len,
    enum helo_check c, enum helo_act a, const char *client)
{
	struct helo_result r;

	helo_result_init(&r);
	helo_syntax(helo, len, &r.name);
	r.ndistinct = 4;
	helo_reply_make(rp, c, a, helo, len, &r, client);
}

START_TEST(t_reply)
{
	struct helo_reply rp;
	static char	 big[10241];
	int		 c;

	reply_for(&rp, "mx..example", 11, HELO_C_SYNTAX, HELO_A_REJECT, C4);
	ck_assert_str_eq(rp.rcode, "501");
	ck_assert_str_eq(rp.xcode, "5.5.2");
	ck_assert_str_eq(rp.text, "HELO/EHLO name \"mx..example\" is not a valid "
	    "host name or address literal (empty label (two dots in a row, or "
	    "a leading dot)); see RFC 5321 section 4.1.2");

	reply_for(&rp, "laptop", 6, HELO_C_FQDN, HELO_A_REJECT, C4);
	ck_assert_str_eq(rp.rcode, "550");
	ck_assert_str_eq(rp.xcode, "5.7.1");
	ck_assert(strstr(rp.text, "\"laptop\" is not fully qualified") != NULL);

	reply_for(&rp, "laptop", 6, HELO_C_FQDN, HELO_A_TEMPFAIL, C4);
	ck_assert_str_eq(rp.rcode, "450");
	ck_assert_str_eq(rp.xcode, "4.7.1");

	reply_for(&rp, NULL, 0, HELO_C_REQUIRE, HELO_A_REJECT, C4);
	ck_assert_str_eq(rp.rcode, "503");
	ck_assert_str_eq(rp.xcode, "5.5.1");
	ck_assert(strstr(rp.text, "Send HELO or EHLO first") != NULL);

	reply_for(&rp, "203.0.113.5", 11, HELO_C_BARE_IP, HELO_A_REJECT, C4);
	ck_assert(strstr(rp.text, "literal [203.0.113.5]") != NULL);
	reply_for(&rp, "2001:db8::5", 11, HELO_C_BARE_IP, HELO_A_REJECT, C6);
	ck_assert(strstr(rp.text, "literal [IPv6:2001:db8::5]") != NULL);

	reply_for(&rp, "[198.51.100.9]", 14, HELO_C_LITERAL, HELO_A_REJECT, C4);
	ck_assert(strstr(rp.text, "\"[198.51.100.9]\" is not the address the "
	    "client connects from (203.0.113.5)") != NULL);

	reply_for(&rp, "a.b", 3, HELO_C_CHANGES, HELO_A_REJECT, C4);
	ck_assert(strstr(rp.text, "on one connection (4)") != NULL);

	/* hostile bytes never reach the reply */
	reply_for(&rp, "a\x01" "b", 3, HELO_C_SYNTAX, HELO_A_REJECT, C4);
	ck_assert(strchr(rp.text, '\x01') == NULL);
	ck_assert(strstr(rp.text, "not repeated here") != NULL);
	ck_assert(strstr(rp.text, "control characters") != NULL);
	reply_for(&rp, "%s%n.example", 12, HELO_C_SYNTAX, HELO_A_REJECT, C4);
	ck_assert(strchr(rp.text, '%') == NULL);
	/* the reason names what kept it out: "spaces, control or non-ASCII
	 * characters" alone was wrong for this one */
	ck_assert(strstr(rp.text, "percent signs") != NULL);
	reply_for(&rp, "a\"b", 3, HELO_C_SYNTAX, HELO_A_REJECT, C4);
	ck_assert(strstr(rp.text, "a\"b") == NULL);
	reply_for(&rp, "b\xc3\xbc" "cher.de", 10, HELO_C_SYNTAX, HELO_A_REJECT, C4);
	ck_assert(strstr(rp.text, "non-ASCII") != NULL);
	ck_assert(strchr(rp.text, 0xc3) == NULL);
	/* a long printable name is truncated */
	memset(big, 'a', 10240);
	reply_for(&rp, big, 10240, HELO_C_SYNTAX, HELO_A_REJECT, C4);
	ck_assert(strstr(rp.text, "aaaa...\"") != NULL);
	ck_assert(strlen(rp.text) < 300);

	ck_assert_int_eq(helo_reply_quotable("mx.example.org", 14), 1);
	ck_assert_int_eq(helo_reply_quotable("mx example", 10), 0);
	ck_assert_int_eq(helo_reply_quotable("", 0), 0);
	ck_assert_int_eq(helo_reply_quotable("a\\b", 3), 0);

	/* every check has a reply and a log phrase */
	for (c = 0; c < HELO_C_MAX; c++) {
		struct helo_result r;

		helo_result_init(&r);
		helo_syntax("a..b", 4, &r.name);
		reply_for(&rp, "x.example", 9, (enum helo_check)c, HELO_A_REJECT, C4);
		ck_assert(strlen(rp.text) > 20);
		ck_assert(strlen(helo_why((enum helo_check)c, &r)) > 3);
	}
}
END_TEST

START_TEST(t_seen)
{
	struct helo_seen s;
	int		 i;
	char		 name[32];

	memset(&s, 0, sizeof(s));
	ck_assert_uint_eq(helo_seen_add(&s, "a.example", 9), 1);
	ck_assert_uint_eq(helo_seen_add(&s, "A.EXAMPLE.", 10), 1);
	ck_assert_uint_eq(helo_seen_add(&s, "b.example", 9), 2);
	ck_assert_uint_eq(helo_seen_add(&s, "a.example", 9), 2);
	for (i = 0; i < 100; i++) {
		snprintf(name, sizeof(name), "n%d.example", i);
		helo_seen_add(&s, name, strlen(name));
	}
	ck_assert_uint_eq(s.n, 102);
	ck_assert_uint_eq(helo_seen_add(&s, "a.example", 9), 102);
}
END_TEST

START_TEST(t_cache)
{
	struct helo_cache *c = helo_cache_new(3);
	struct helo_answer a, got;
	struct helo_cache_stats st;

	memset(&a, 0, sizeof(a));
	a.rc = HELO_DNS_FOUND;
	a.naddr = 1;
	helo_addr_parse(&a.addr[0], "192.0.2.10");
	ck_assert_int_eq(helo_cache_get(c, "a.example", 100, &got), 0);
	helo_cache_put(c, "a.example", &a, 100, 60);
	ck_assert_int_eq(helo_cache_get(c, "A.Example", 100, &got), 1);
	ck_assert_int_eq(got.from_cache, 1);
	ck_assert_int_eq(got.naddr, 1);
	ck_assert_int_eq(helo_cache_get(c, "a.example", 159, &got), 1);
	/* expired at its time */
	ck_assert_int_eq(helo_cache_get(c, "a.example", 160, &got), 0);

	/* bounded: the least recently used goes */
	helo_cache_put(c, "a.example", &a, 200, 800);
	helo_cache_put(c, "b.example", &a, 200, 800);
	helo_cache_put(c, "c.example", &a, 200, 800);
	ck_assert_int_eq(helo_cache_get(c, "a.example", 200, &got), 1);
	helo_cache_put(c, "d.example", &a, 200, 800);	/* b is the oldest */
	ck_assert_int_eq(helo_cache_get(c, "b.example", 200, &got), 0);
	ck_assert_int_eq(helo_cache_get(c, "a.example", 200, &got), 1);
	ck_assert_int_eq(helo_cache_get(c, "c.example", 200, &got), 1);
	ck_assert_int_eq(helo_cache_get(c, "d.example", 200, &got), 1);
	/* replacing keeps one entry */
	a.rc = HELO_DNS_NONAME;
	a.naddr = 0;
	helo_cache_put(c, "d.example", &a, 200, 800);
	ck_assert_int_eq(helo_cache_get(c, "d.example", 200, &got), 1);
	ck_assert_int_eq(got.rc, HELO_DNS_NONAME);
	helo_cache_stats(c, &st);
	ck_assert_uint_eq(st.count, 3);
	ck_assert_uint_eq(st.evictions, 1);
	ck_assert(st.hits >= 7);
	helo_cache_free(c);

	/* size 0 keeps nothing */
	c = helo_cache_new(0);
	helo_cache_put(c, "a.example", &a, 1, 999);
	ck_assert_int_eq(helo_cache_get(c, "a.example", 1, &got), 0);
	helo_cache_free(c);
}
END_TEST

/* the clock stepped back: an answer stored "later" than now is not used,
 * or it would live the step's length past its TTL */
START_TEST(t_cache_clock_back)
{
	struct helo_cache *c = helo_cache_new(4);
	struct helo_answer a, got;
	struct helo_cache_stats st;

	memset(&a, 0, sizeof(a));
	a.rc = HELO_DNS_NONAME;
	helo_cache_put(c, "a.example", &a, 5000, 300);
	ck_assert_int_eq(helo_cache_get(c, "a.example", 5100, &got), 1);
	/* an hour back: stored 100 s "ahead", so gone */
	ck_assert_int_eq(helo_cache_get(c, "a.example", 1500, &got), 0);
	helo_cache_stats(c, &st);
	ck_assert_uint_eq(st.count, 0);
	/* what is stored on the new clock lives its TTL on it */
	a.rc = HELO_DNS_FOUND;
	a.naddr = 1;
	helo_addr_parse(&a.addr[0], "192.0.2.10");
	helo_cache_put(c, "a.example", &a, 1500, 300);
	ck_assert_int_eq(helo_cache_get(c, "a.example", 1500, &got), 1);
	ck_assert_int_eq(got.rc, HELO_DNS_FOUND);
	ck_assert_int_eq(helo_cache_get(c, "a.example", 1799, &got), 1);
	ck_assert_int_eq(helo_cache_get(c, "a.example", 1800, &got), 0);
	helo_cache_free(c);
}
END_TEST

START_TEST(t_conf_defaults)
{
	struct helo_conf *c = conf_of("");

	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(c->pol.act[HELO_C_REQUIRE], HELO_A_REJECT);
	ck_assert_int_eq(c->pol.act[HELO_C_SYNTAX], HELO_A_REJECT);
	ck_assert_int_eq(c->pol.act[HELO_C_BARE_IP], HELO_A_REJECT);
	ck_assert_int_eq(c->pol.act[HELO_C_LOCALHOST], HELO_A_REJECT);
	ck_assert_int_eq(c->pol.act[HELO_C_SELF], HELO_A_REJECT);
	ck_assert_int_eq(c->pol.act[HELO_C_FQDN], HELO_A_REJECT);
	ck_assert_int_eq(c->pol.act[HELO_C_LITERAL], HELO_A_LOG);
	ck_assert_int_eq(c->pol.act[HELO_C_GENERIC], HELO_A_LOG);
	ck_assert_int_eq(c->pol.act[HELO_C_UNDERSCORE], HELO_A_LOG);
	ck_assert_int_eq(c->pol.act[HELO_C_CHANGES], HELO_A_LOG);
	ck_assert_int_eq(c->pol.act[HELO_C_FORWARD], HELO_A_OFF);
	ck_assert_int_eq(c->pol.act[HELO_C_UNRESOLVED], HELO_A_LOG);
	ck_assert_uint_eq(c->pol.changes_max, 3);
	ck_assert_int_eq(c->pol.exempt_auth, 1);
	ck_assert_int_eq(c->pol.exempt_local, 1);
	ck_assert_int_eq(c->pol.enforce_at_helo, 0);
	ck_assert_int_eq(c->pol.dns_timeout_ms, 2000);
	ck_assert_uint_eq(c->pol.dns_cache_size, 10000);
	ck_assert_int_eq(c->pol.dns_cache_ttl, 300);
	ck_assert_ptr_null(c->pol.resolver);
	ck_assert_int_eq(F.nerrors, 0);
	helo_conf_free(c);
	fake_block_free(&Blk);
}
END_TEST

START_TEST(t_conf_all)
{
	struct helo_conf *c = conf_of(
	    "require-helo off;\n"
	    "syntax tempfail;\n"
	    "changes 5 reject;\n"
	    "local-names a.example B.Example.;\n"
	    "local-names c.example;\n"
	    "local-addresses 192.0.2.1 2001:db8::1;\n"
	    "trusted-networks 10.0.0.0/8 2001:db8:1::/48;\n"
	    "generic-patterns \"generic-helo.pcre\";\n"
	    "generic reject;\n"
	    "exempt-authenticated no;\n"
	    "exempt-local off;\n"
	    "enforce-at helo;\n"
	    "forward-confirm log;\n"
	    "resolver 127.0.0.1:5353 [::1]:53 ::1 [2001:db8::53] 192.0.2.53;\n"
	    "dns-timeout 250ms;\n"
	    "dns-cache 500 1h;\n");

	ck_assert_msg(c != NULL, "%s", F.errors);
	ck_assert_int_eq(c->pol.act[HELO_C_REQUIRE], HELO_A_OFF);
	ck_assert_int_eq(c->pol.act[HELO_C_SYNTAX], HELO_A_TEMPFAIL);
	ck_assert_int_eq(c->pol.act[HELO_C_CHANGES], HELO_A_REJECT);
	ck_assert_uint_eq(c->pol.changes_max, 5);
	ck_assert_uint_eq(c->pol.nlocal_names, 3);
	ck_assert_str_eq(c->pol.local_names[1], "b.example");
	ck_assert_uint_eq(c->pol.nlocal_addrs, 2);
	ck_assert_uint_eq(c->pol.ntrusted, 2);
	ck_assert_uint_eq(c->ngeneric, 4);
	ck_assert_int_eq(c->pol.act[HELO_C_GENERIC], HELO_A_REJECT);
	ck_assert_int_eq(c->pol.exempt_auth, 0);
	ck_assert_int_eq(c->pol.exempt_local, 0);
	ck_assert_int_eq(c->pol.enforce_at_helo, 1);
	ck_assert_int_eq(c->pol.act[HELO_C_FORWARD], HELO_A_LOG);
	/* rewritten into the form c-ares takes */
	ck_assert_str_eq(c->pol.resolver,
	    "127.0.0.1:5353,[::1]:53,::1,2001:db8::53,192.0.2.53");
	ck_assert_int_eq(c->pol.dns_timeout_ms, 250);
	ck_assert_uint_eq(c->pol.dns_cache_size, 500);
	ck_assert_int_eq(c->pol.dns_cache_ttl, 3600);
	/* the patterns file, relative to the config's directory */
	ck_assert(strstr(c->generic_path, "/tests/helo/generic-helo.pcre") != NULL);
	ck_assert_int_eq(c->pol.generic_match(c->pol.generic_arg,
	    "dsl-1-2-3-4.example", 19), 1);
	ck_assert_int_eq(c->pol.generic_match(c->pol.generic_arg,
	    "mx.example", 10), 0);
	/* "/pattern/flags # comment", as a rule's regex table reads it */
	ck_assert_int_eq(c->pol.generic_match(c->pol.generic_arg,
	    "vps12.example", 13), 1);
	helo_conf_free(c);
	fake_block_free(&Blk);

	/* dns-timeout in seconds; the host may hand the config file itself */
	fake_init(&F);
	snprintf(F.conf_dir, sizeof(F.conf_dir), "%s/tests/helo/bad-generic.pcre",
	    srcdir());
	fake_block(&Blk, "dns-timeout 2s;\ngeneric-patterns generic-helo.pcre;\n");
	c = helo_conf_new(&F.host, &Blk);
	ck_assert_msg(c != NULL, "%s", F.errors);
	ck_assert_int_eq(c->pol.dns_timeout_ms, 2000);
	ck_assert_uint_eq(c->ngeneric, 4);
	helo_conf_free(c);
	fake_block_free(&Blk);

	/* the list shipped in rules/ loads and does its job */
	c = conf_of("generic-patterns ../../rules/generic-helo.pcre;\n");
	ck_assert_msg(c != NULL, "%s", F.errors);
	ck_assert(c->ngeneric > 0);
	ck_assert_int_eq(c->pol.generic_match(c->pol.generic_arg,
	    "dsl-203-0-113-5.dynamic.example.net", 35), 1);
	ck_assert_int_eq(c->pol.generic_match(c->pol.generic_arg,
	    "mx1.example.org", 15), 0);
	helo_conf_free(c);
	fake_block_free(&Blk);
}
END_TEST

/* Each bad block and the exact error it gives. */
static const struct {
	const char	*conf;
	const char	*error;
} bad_confs[] = {
	{ "syntax maybe;\n",
	  "test.conf:1:8: unknown action \"maybe\" (off, log, tempfail or reject)" },
	{ "frobnicate yes;\n",
	  "test.conf:1:1: unknown directive \"frobnicate\" (22 known)" },
	{ "fqdn log;\n  fqdn reject;\n",
	  "test.conf:2:3: \"fqdn\" is given more than once" },
	{ "syntax;\n",
	  "test.conf:1:1: \"syntax\" takes 1 argument, not 0" },
	{ "syntax reject log;\n",
	  "test.conf:1:1: \"syntax\" takes 1 argument, not 2" },
	{ "changes 1 2 log;\n",
	  "test.conf:1:1: \"changes\" takes 1 to 2 arguments, not 3" },
	{ "trusted-networks;\n",
	  "test.conf:1:1: \"trusted-networks\" needs at least one argument" },
	{ "trusted-networks 10.0.0.0/8 10.0.0.0/33;\n",
	  "test.conf:1:29: \"10.0.0.0/33\" is not an address or network (192.0.2.0/24, 2001:db8::/32)" },
	{ "local-names ok.example bad..name;\n",
	  "test.conf:1:24: \"bad..name\" is not a host name (empty label (two dots in a row, or a leading dot))" },
	{ "local-names [192.0.2.1];\n",
	  "test.conf:1:13: \"[192.0.2.1]\" is not a host name (an address)" },
	{ "local-addresses 1.2.3;\n",
	  "test.conf:1:17: \"1.2.3\" is not an IP address" },
	{ "changes 31 log;\n",
	  "test.conf:1:9: changes: limit must be 1 to 30" },
	{ "changes 0 log;\n",
	  "test.conf:1:9: changes: limit must be 1 to 30" },
	{ "changes many log;\n",
	  "test.conf:1:9: bad number \"many\"" },
	{ "changes 3 maybe;\n",
	  "test.conf:1:11: unknown action \"maybe\" (off, log, tempfail or reject)" },
	{ "dns-timeout 5ms;\n",
	  "test.conf:1:13: dns-timeout must be between 10ms and 60s" },
	{ "dns-timeout 2m;\n",
	  "test.conf:1:13: dns-timeout must be between 10ms and 60s" },
	{ "dns-timeout soon;\n",
	  "test.conf:1:13: bad duration \"soon\"" },
	{ "dns-cache 2000000;\n",
	  "test.conf:1:11: dns-cache: at most 1000000 names" },
	{ "dns-cache 100 forever;\n",
	  "test.conf:1:15: bad duration \"forever\"" },
	{ "generic reject;\n",
	  "test.conf:1:1: generic needs a pattern file: add generic-patterns \"FILE\"" },
	{ "unresolvable reject;\n",
	  "test.conf:1:1: unresolvable needs the name looked up: set forward-confirm to log, tempfail or reject" },
	{ "forward-confirm off;\nunresolvable log;\n",
	  "test.conf:2:1: unresolvable needs the name looked up: set forward-confirm to log, tempfail or reject" },
	{ "enforce-at rcpt;\n",
	  "test.conf:1:12: enforce-at: \"rcpt\" is neither helo nor mail" },
	{ "exempt-local maybe;\n",
	  "test.conf:1:14: bad boolean \"maybe\"" },
	{ "resolver 127.0.0.1:53 dns.example;\n",
	  "test.conf:1:23: resolver: \"dns.example\" is not ADDRESS[:PORT] (127.0.0.1:53, [::1]:53)" },
	{ "resolver 1.2.3.4.5:53;\n",
	  "test.conf:1:10: resolver: \"1.2.3.4.5:53\" is not ADDRESS[:PORT] (127.0.0.1:53, [::1]:53)" },
	{ "resolver 127.0.0.1:0;\n",
	  "test.conf:1:10: resolver: \"127.0.0.1:0\" is not" },
	{ "resolver 127.0.0.1:65536;\n",
	  "test.conf:1:10: resolver: \"127.0.0.1:65536\" is not" },
	{ "resolver [::1]x;\n",
	  "test.conf:1:10: resolver: \"[::1]x\" is not" },
	{ "resolver [::1:53;\n",
	  "test.conf:1:10: resolver: \"[::1:53\" is not" },
	{ "resolver [192.0.2.53]:53;\n",
	  "test.conf:1:10: resolver: \"[192.0.2.53]:53\" is not" },
	{ "resolver 127.0.0.1:x;\n",
	  "test.conf:1:10: resolver: \"127.0.0.1:x\" is not" },
	{ "generic-patterns \"nonexistent.pcre\";\n",
	  "test.conf:1:18: cannot open \"" },
	{ "generic-patterns bad-generic.pcre;\n",
	  "/tests/helo/bad-generic.pcre:3:1: " },
	/* shown without the "./" step, as the core shows its files */
	{ "generic-patterns ./bad-generic.pcre;\n",
	  "/tests/helo/bad-generic.pcre:3:1: " },
	{ "generic-patterns junk-generic.pcre;\n",
	  "/tests/helo/junk-generic.pcre:3:13: unexpected \"junk\" after the "
	  "pattern" },
};

START_TEST(t_conf_errors)
{
	struct helo_conf *c = conf_of(bad_confs[_i].conf);

	ck_assert_msg(c == NULL, "accepted: %s", bad_confs[_i].conf);
	ck_assert_msg(strstr(F.errors, bad_confs[_i].error) != NULL,
	    "row %d: got \"%s\", want \"%s\"", _i, F.errors, bad_confs[_i].error);
	ck_assert_int_eq(F.nerrors, 1);
	fake_block_free(&Blk);
}
END_TEST

/*
 * gen_file - a patterns file of len bytes in a fresh directory, and the
 * block naming it; the directory is removed by gen_file_free
 */
static char	 gen_dir[64], gen_path[96];

static struct helo_conf *
gen_file(const void *bytes, size_t len)
{
	char	 text[160];
	FILE	*fp;

	strcpy(gen_dir, "/tmp/check_helo.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(gen_dir));
	snprintf(gen_path, sizeof(gen_path), "%s/generic.pcre", gen_dir);
	ck_assert_ptr_nonnull(fp = fopen(gen_path, "w"));
	ck_assert_uint_eq(fwrite(bytes, 1, len, fp), len);
	ck_assert_int_eq(fclose(fp), 0);
	snprintf(text, sizeof(text), "generic-patterns \"%s\";\n", gen_path);
	return conf_of(text);
}

static void
gen_file_free(void)
{
	ck_assert_int_eq(unlink(gen_path), 0);
	ck_assert_int_eq(rmdir(gen_dir), 0);
	fake_block_free(&Blk);
}

/*
 * The patterns file is read as a rule's regex table reads the same file:
 * a byte order mark before the first line is no part of its pattern, nor
 * a comment after a bare pattern.
 */
START_TEST(t_conf_generic_bytes)
{
	static const char bom[] = "\xef\xbb\xbf/(^|[.-])vps[0-9]+([.-]|$)/i"
	    "\t# virtual servers\n\\bdsl\\b # home lines\n";
	struct helo_conf *c;

	c = gen_file(bom, sizeof(bom) - 1);
	ck_assert_msg(c != NULL, "%s", F.errors);
	ck_assert_uint_eq(c->ngeneric, 2);
	ck_assert_int_eq(c->pol.generic_match(c->pol.generic_arg,
	    "vps12.example", 13), 1);
	ck_assert_int_eq(c->pol.generic_match(c->pol.generic_arg,
	    "a.dsl.example", 13), 1);
	helo_conf_free(c);
	gen_file_free();
}
END_TEST

/*
 * A patterns file that is a FIFO is refused at once: opening it would
 * wait for a writer, for ever if none comes, in filterd -t or a reload.
 */
START_TEST(t_conf_generic_fifo)
{
	struct helo_conf *c;
	char		 text[160], want[160];

	strcpy(gen_dir, "/tmp/check_helo.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(gen_dir));
	snprintf(gen_path, sizeof(gen_path), "%s/generic.pcre", gen_dir);
	ck_assert_int_eq(mkfifo(gen_path, 0600), 0);
	snprintf(text, sizeof(text), "generic-patterns \"%s\";\n", gen_path);
	c = conf_of(text);
	ck_assert_msg(c == NULL, "a FIFO loaded");
	snprintf(want, sizeof(want), "test.conf:1:18: cannot open \"%s\": "
	    "a FIFO, not a regular file", gen_path);
	ck_assert_msg(strstr(F.errors, want) != NULL, "%s", F.errors);
	ck_assert_int_eq(F.nerrors, 1);
	gen_file_free();
}
END_TEST

/*
 * Every bad pattern is reported, up to 20 per file, as a rule's table
 * file reports them; past that the rest of the file is skipped, so that
 * a file that is not a pattern file does not bury the log in errors.
 */
START_TEST(t_conf_generic_too_many_errors)
{
	char		 text[512] = "", want[256];
	struct helo_conf *c;
	int		 i;

	strcat(text, "(a\n\\bdsl\\b\n");
	for (i = 0; i < 30; i++)
		strcat(text, "/x\n");
	c = gen_file(text, strlen(text));
	ck_assert_msg(c == NULL, "bad patterns loaded");
	ck_assert_msg(strstr(F.errors, ":1:1: ") != NULL, "%s", F.errors);
	snprintf(want, sizeof(want), "%s:21:1: no closing / after the "
	    "pattern", gen_path);
	ck_assert_msg(strstr(F.errors, want) != NULL, "%s", F.errors);
	snprintf(want, sizeof(want), "%s:21: too many errors, skipping the "
	    "rest of this file", gen_path);
	ck_assert_msg(strstr(F.errors, want) != NULL, "%s", F.errors);
	ck_assert_int_eq(F.nerrors, 21);
	gen_file_free();
}
END_TEST

/*
 * Nor does a NUL byte end a pattern where it stands, unseen ("\bdsl\b"
 * loaded from "\bdsl\b\0|x"); and a line is at most 64 KiB, so that a
 * file that is not text (/dev/zero) is not read into memory whole.
 */
START_TEST(t_conf_generic_nul_long)
{
	static const char nul[] = "\\bpool\\b\n\\bdsl\\b\0|x\n";
	struct helo_conf *c;
	char		 want[256], *big;
	size_t		 n;

	c = gen_file(nul, sizeof(nul) - 1);
	ck_assert_msg(c == NULL, "a NUL byte went unseen");
	snprintf(want, sizeof(want), "%s:2:8: NUL byte in the line", gen_path);
	ck_assert_msg(strstr(F.errors, want) != NULL, "%s", F.errors);
	ck_assert_int_eq(F.nerrors, 1);
	gen_file_free();

	/* a comment line of 65536 bytes is read past; one byte more stops
	 * the file */
	for (n = 65536; n <= 65537; n++) {
		ck_assert_ptr_nonnull(big = malloc(n + 9));
		big[0] = '#';
		memset(big + 1, 'a', n - 1);
		memcpy(big + n, "\n\\bdsl\\b\n", 9);
		c = gen_file(big, n + 9);
		free(big);
		if (n == 65536) {
			ck_assert_msg(c != NULL, "%s", F.errors);
			ck_assert_uint_eq(c->ngeneric, 1);
			helo_conf_free(c);
		} else {
			ck_assert_msg(c == NULL, "a 65537-byte line loaded");
			snprintf(want, sizeof(want), "%s:1: line longer than "
			    "65536 bytes; the rest of this file is not read",
			    gen_path);
			ck_assert_msg(strstr(F.errors, want) != NULL, "%s",
			    F.errors);
		}
		gen_file_free();
	}
}
END_TEST

START_TEST(t_conf_many_errors)
{
	void	*state = NULL;

	fake_init(&F);
	fake_block(&Blk, "syntax maybe;\nfqdn;\nlocal-addresses x y;\n"
	    "bogus 1;\n");
	ck_assert_int_eq(filterd_plugin.init(&F.host, &Blk, &state), -1);
	ck_assert_ptr_null(state);
	ck_assert_int_eq(F.nerrors, 5);	/* every problem, not the first */
	ck_assert(strstr(F.errors, "test.conf:3:17: \"x\"") != NULL);
	ck_assert(strstr(F.errors, "test.conf:3:19: \"y\"") != NULL);
	ck_assert(strstr(F.errors, "test.conf:4:1: unknown directive") != NULL);
	fake_block_free(&Blk);
}
END_TEST

/*
 * The hooks. plug_start() runs init() on a config; a connection is one
 * zeroed slot of conn_priv_size bytes, as the host would give.
 */
static void		*S;
static unsigned char	*Conn;
static struct fd_txn	 T;

static void
plug_start(const char *conf, const char *client)
{
	fake_init(&F);
	snprintf(F.conf_dir, sizeof(F.conf_dir), "%s/tests/helo", srcdir());
	fake_block(&Blk, conf);
	S = NULL;
	ck_assert_msg(filterd_plugin.init(&F.host, &Blk, &S) == 0, "init: %s",
	    F.errors);
	Conn = calloc(1, filterd_plugin.conn_priv_size);
	fake_txn(&T, client);
}

static void
plug_newconn(const char *client)
{
	if (filterd_plugin.conn_end != NULL)
		filterd_plugin.conn_end(S, Conn);
	memset(Conn, 0, filterd_plugin.conn_priv_size);
	fake_txn(&T, client);
	fake_clear(&F, &T);
}

static void
plug_stop(void)
{
	if (filterd_plugin.conn_end != NULL)
		filterd_plugin.conn_end(S, Conn);
	free(Conn);
	filterd_plugin.fini(S);
	fake_block_free(&Blk);
}

static enum fd_action
helo(const char *name)
{
	T.helo = name;
	return filterd_plugin.on_helo(&T, S, Conn);
}

static enum fd_action
mail(void)
{
	return filterd_plugin.on_mail(&T, S, Conn, NULL);
}

/* no_raw_bytes - nothing below 0x20 (but \n) or above 0x7e in s */
static int
no_raw_bytes(const char *s)
{
	for (; *s != '\0'; s++)
		if (((unsigned char)*s < 0x20 && *s != '\n') ||
		    (unsigned char)*s > 0x7e)
			return 0;
	return 1;
}

START_TEST(t_hook_export)
{
	ck_assert_uint_eq(filterd_plugin.magic, FD_PLUGIN_MAGIC);
	ck_assert_uint_eq(filterd_plugin.abi_major, FD_PLUGIN_ABI_MAJOR);
	ck_assert_uint_eq(filterd_plugin.size, sizeof(struct fd_plugin));
	ck_assert_str_eq(filterd_plugin.name, "helo");
	ck_assert_uint_eq(filterd_plugin.stages, FD_ST_HELO | FD_ST_MAIL);
	ck_assert(filterd_plugin.conn_priv_size > 0);
	ck_assert(filterd_plugin.conn_priv_size < 4096);
	ck_assert_ptr_nonnull(filterd_plugin.on_helo);
	ck_assert_ptr_nonnull(filterd_plugin.on_mail);
}
END_TEST

START_TEST(t_hook_fqdn_at_mail)
{
	plug_start("", C4);
	ck_assert_int_eq(helo("laptop"), FD_CONTINUE);
	ck_assert_int_eq(T.nreply, 0);
	ck_assert_int_eq(mail(), FD_REJECT);
	ck_assert_str_eq(T.rcode, "550");
	ck_assert_str_eq(T.xcode, "5.7.1");
	ck_assert_str_eq(T.text, "HELO/EHLO name \"laptop\" is not fully "
	    "qualified; announce the fully qualified host name or an address "
	    "literal (RFC 5321 section 4.1.1.1)");
	ck_assert_str_eq(T.reason, "fqdn (reject): not fully qualified; "
	    "helo=\"laptop\"");
	/* the next message on the connection meets the same answer */
	fake_clear(&F, &T);
	ck_assert_int_eq(mail(), FD_REJECT);
	ck_assert_int_eq(T.nreply, 1);
	/* a corrected EHLO clears it */
	ck_assert_int_eq(helo("mx.example.org"), FD_CONTINUE);
	ck_assert_int_eq(mail(), FD_CONTINUE);
	plug_stop();
}
END_TEST

START_TEST(t_hook_enforce_at_helo)
{
	plug_start("enforce-at helo;\n", C4);
	ck_assert_int_eq(helo("laptop"), FD_REJECT);
	ck_assert_str_eq(T.rcode, "550");
	ck_assert_int_eq(mail(), FD_CONTINUE);	/* decided already */
	ck_assert_int_eq(helo("mx.example.org"), FD_CONTINUE);
	plug_stop();
}
END_TEST

START_TEST(t_hook_exemptions)
{
	/* authenticated: known at MAIL only */
	plug_start("", C4);
	ck_assert_int_eq(helo("laptop"), FD_CONTINUE);
	T.auth_user = "alice";
	ck_assert_int_eq(mail(), FD_CONTINUE);
	ck_assert_int_eq(T.nreply, 0);

	/* local clients: loopback and unix socket */
	plug_newconn("127.0.0.1");
	ck_assert_int_eq(helo("localhost"), FD_CONTINUE);
	ck_assert_int_eq(mail(), FD_CONTINUE);
	plug_newconn("");
	T.local = 1;
	ck_assert_int_eq(helo("laptop"), FD_CONTINUE);
	ck_assert_int_eq(mail(), FD_CONTINUE);
	ck_assert_int_eq(T.nreply, 0);
	plug_stop();

	/* trusted networks, an IPv4-mapped client included */
	plug_start("trusted-networks 203.0.113.0/24 2001:db8::/32;\n", C4);
	ck_assert_int_eq(helo("laptop"), FD_CONTINUE);
	ck_assert_int_eq(mail(), FD_CONTINUE);
	plug_newconn("::ffff:203.0.113.77");
	ck_assert_int_eq(helo("[1.2.3.4]"), FD_CONTINUE);
	ck_assert_int_eq(mail(), FD_CONTINUE);
	plug_newconn(C6);
	ck_assert_int_eq(helo("localhost"), FD_CONTINUE);
	ck_assert_int_eq(mail(), FD_CONTINUE);
	plug_newconn("198.51.100.1");
	ck_assert_int_eq(helo("laptop"), FD_CONTINUE);
	ck_assert_int_eq(mail(), FD_REJECT);
	plug_stop();

	/* exemptions turned off */
	plug_start("exempt-authenticated no;\nexempt-local no;\n", C4);
	ck_assert_int_eq(helo("laptop"), FD_CONTINUE);
	T.auth_user = "alice";
	ck_assert_int_eq(mail(), FD_REJECT);
	plug_newconn("127.0.0.1");
	/* localhost from loopback is not the localhost check... */
	ck_assert_int_eq(helo("localhost"), FD_CONTINUE);
	ck_assert_int_eq(mail(), FD_REJECT);
	/* ...but it is still not an FQDN */
	ck_assert(strstr(T.reason, "fqdn (reject)") == T.reason);
	plug_stop();
}
END_TEST

START_TEST(t_hook_require_helo)
{
	plug_start("", C4);
	ck_assert_int_eq(mail(), FD_REJECT);
	ck_assert_str_eq(T.rcode, "503");
	ck_assert_str_eq(T.xcode, "5.5.1");
	ck_assert(strstr(T.reason, "require-helo (reject): MAIL without "
	    "HELO/EHLO; helo=none") == T.reason);
	/* after a HELO, fine */
	ck_assert_int_eq(helo("mx.example.org"), FD_CONTINUE);
	fake_clear(&F, &T);
	ck_assert_int_eq(mail(), FD_CONTINUE);
	ck_assert_int_eq(T.nreply, 0);
	/* local clients may skip it */
	plug_newconn("::1");
	ck_assert_int_eq(mail(), FD_CONTINUE);
	plug_stop();

	plug_start("require-helo tempfail;\n", C4);
	ck_assert_int_eq(mail(), FD_TEMPFAIL);
	ck_assert_str_eq(T.rcode, "450");
	ck_assert_str_eq(T.xcode, "4.7.1");
	plug_stop();

	plug_start("require-helo off;\n", C4);
	ck_assert_int_eq(mail(), FD_CONTINUE);
	plug_stop();
}
END_TEST

START_TEST(t_hook_literal_mismatch)
{
	/* RFC 5321 4.1.4: logged, not refused, by default */
	plug_start("", C4);
	ck_assert_int_eq(helo("[198.51.100.9]"), FD_CONTINUE);
	ck_assert_int_eq(mail(), FD_CONTINUE);
	ck_assert_int_eq(T.nreply, 0);
	ck_assert_int_eq(F.nlogs, 1);
	ck_assert(strstr(F.logs, "5: client=203.0.113.5 log only: "
	    "literal-mismatch (log): address literal is not the client's "
	    "address; helo=\"[198.51.100.9]\"\n") != NULL);
	/* once per HELO, not once per message */
	ck_assert_int_eq(mail(), FD_CONTINUE);
	ck_assert_int_eq(F.nlogs, 1);
	plug_stop();

	plug_start("literal-mismatch reject;\n", C4);
	ck_assert_int_eq(helo("[198.51.100.9]"), FD_CONTINUE);
	ck_assert_int_eq(mail(), FD_REJECT);
	ck_assert_str_eq(T.text, "HELO/EHLO address literal \"[198.51.100.9]\" "
	    "is not the address the client connects from (203.0.113.5)");
	plug_stop();
}
END_TEST

START_TEST(t_hook_self)
{
	plug_start("local-names mx.example.net;\n", C4);
	ck_assert_int_eq(helo("mail.example.net"), FD_CONTINUE);	/* {j} */
	ck_assert_int_eq(mail(), FD_REJECT);
	ck_assert(strstr(T.text, "is this server's own name or address") != NULL);
	plug_newconn(C4);
	ck_assert_int_eq(helo("MX.example.net."), FD_CONTINUE);
	ck_assert_int_eq(mail(), FD_REJECT);
	/* {daemon_addr} as a literal: self rejects, the mismatch is noted */
	plug_newconn(C4);
	T.daemon_addr = "198.51.100.25";
	ck_assert_int_eq(helo("[198.51.100.25]"), FD_CONTINUE);
	ck_assert_int_eq(mail(), FD_REJECT);
	ck_assert_str_eq(T.reason, "self (reject): our own name or address from "
	    "a remote client; helo=\"[198.51.100.25]\"; also literal-mismatch (log)");
	/* the same through {if_addr}, the macro the core asks for */
	plug_newconn(C4);
	T.if_addr = "2001:db8::25";
	ck_assert_int_eq(helo("[IPv6:2001:db8::25]"), FD_CONTINUE);
	ck_assert_int_eq(mail(), FD_REJECT);
	ck_assert(strncmp(T.reason, "self (reject)", 13) == 0);
	/* Sendmail tags an IPv6 {if_addr}: it was not read, and the name
	 * passed */
	plug_newconn(C4);
	T.if_addr = "IPv6:2001:db8::25";
	ck_assert_int_eq(helo("[IPv6:2001:db8::25]"), FD_CONTINUE);
	ck_assert_int_eq(mail(), FD_REJECT);
	ck_assert(strncmp(T.reason, "self (reject)", 13) == 0);
	/* one that does not parse leaves {daemon_addr} to tell */
	plug_newconn(C4);
	T.if_addr = "bogus";
	T.daemon_addr = "198.51.100.25";
	ck_assert_int_eq(helo("[198.51.100.25]"), FD_CONTINUE);
	ck_assert_int_eq(mail(), FD_REJECT);
	ck_assert(strncmp(T.reason, "self (reject)", 13) == 0);
	plug_stop();
}
END_TEST

START_TEST(t_hook_changes)
{
	plug_start("", C4);
	ck_assert_int_eq(helo("a.example"), FD_CONTINUE);
	ck_assert_int_eq(helo("A.EXAMPLE."), FD_CONTINUE);
	ck_assert_int_eq(helo("b.example"), FD_CONTINUE);
	ck_assert_int_eq(helo("c.example"), FD_CONTINUE);
	ck_assert_int_eq(mail(), FD_CONTINUE);
	ck_assert_int_eq(F.nlogs, 0);		/* three names: fine */
	ck_assert_int_eq(helo("d.example"), FD_CONTINUE);
	ck_assert_int_eq(mail(), FD_CONTINUE);
	ck_assert(strstr(F.logs, "log only: changes (log): too many different "
	    "names on one connection") != NULL);
	plug_stop();

	plug_start("changes 2 reject;\n", C4);
	helo("a.example");
	helo("b.example");
	ck_assert_int_eq(mail(), FD_CONTINUE);
	helo("c.example");
	ck_assert_int_eq(mail(), FD_REJECT);
	ck_assert_str_eq(T.text, "Too many different HELO/EHLO names on one "
	    "connection (3); a client should announce one host name");
	/* a new connection starts over */
	plug_newconn(C4);
	helo("c.example");
	ck_assert_int_eq(mail(), FD_CONTINUE);
	plug_stop();
}
END_TEST

START_TEST(t_hook_actions)
{
	plug_start("fqdn tempfail;\nbare-ip log;\ngeneric reject;\n"
	    "generic-patterns generic-helo.pcre;\n", C4);
	ck_assert_int_eq(helo("laptop"), FD_CONTINUE);
	ck_assert_int_eq(mail(), FD_TEMPFAIL);
	ck_assert_str_eq(T.rcode, "450");
	ck_assert_str_eq(T.xcode, "4.7.1");
	plug_newconn(C4);
	ck_assert_int_eq(helo("203.0.113.5"), FD_CONTINUE);
	ck_assert_int_eq(mail(), FD_CONTINUE);
	ck_assert(strstr(F.logs, "bare-ip (log)") != NULL);
	plug_newconn(C4);
	ck_assert_int_eq(helo("dsl-203-0-113-5.dyn.example.net"), FD_CONTINUE);
	ck_assert_int_eq(mail(), FD_REJECT);
	ck_assert_str_eq(T.xcode, "5.7.1");
	ck_assert(strstr(T.text, "looks like the generic name") != NULL);
	plug_stop();

	plug_start("fqdn off;\nunderscore reject;\n", C4);
	ck_assert_int_eq(helo("laptop"), FD_CONTINUE);
	ck_assert_int_eq(mail(), FD_CONTINUE);
	ck_assert_int_eq(F.nlogs, 0);
	ck_assert_int_eq(helo("my_pc.example.com"), FD_CONTINUE);
	ck_assert_int_eq(mail(), FD_REJECT);
	plug_stop();
}
END_TEST

START_TEST(t_hook_hostile)
{
	static char	 big[10241];
	static const char nul[] = "laptop\0.example.com";
	static const char *bad[] = {
		"mx.\x01\x1b[31mevil.example",
		"b\xc3\xbc" "cher.example",
		"%s%n%x.example.com",
		"mx.example.com\r\nRCPT TO:<x@example>",
		"\xff\xfe\xfd",
		"a\"b\\c",
	};
	char		 want[160];
	size_t		 i;

	plug_start("", C4);
	/* 10 kB: a syntax reply, the name truncated */
	memset(big, 'a', 10240);
	ck_assert_int_eq(helo(big), FD_CONTINUE);
	ck_assert_int_eq(mail(), FD_REJECT);
	ck_assert_str_eq(T.rcode, "501");
	ck_assert_str_eq(T.xcode, "5.5.2");
	ck_assert(strstr(T.text, "longer than 255 characters") != NULL);
	ck_assert(strlen(T.text) < 300);
	/* the reason quotes the first 124 bytes and says it cut there */
	snprintf(want, sizeof(want), "; helo=\"%.124s...\"", big);
	ck_assert_msg(strstr(T.reason, want) != NULL, "%s", T.reason);

	/* NUL: the milter string stops there; "laptop" is what is checked */
	plug_newconn(C4);
	ck_assert_int_eq(helo(nul), FD_CONTINUE);
	ck_assert_int_eq(mail(), FD_REJECT);
	ck_assert_str_eq(T.reason, "fqdn (reject): not fully qualified; "
	    "helo=\"laptop\"");

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		plug_newconn(C4);
		ck_assert_int_eq(helo(bad[i]), FD_CONTINUE);
		ck_assert_int_eq(mail(), FD_REJECT);
		ck_assert_str_eq(T.rcode, "501");
		ck_assert_str_eq(T.xcode, "5.5.2");
		ck_assert_msg(strstr(T.text, "not repeated here") != NULL,
		    "%s", T.text);
		ck_assert(no_raw_bytes(T.text));
		ck_assert(strchr(T.text, '%') == NULL);
		/* as sent: filterd escapes a reason where it logs it */
		ck_assert_msg(strstr(T.reason, bad[i]) != NULL, "%s", T.reason);
	}
	plug_stop();

	/* log-only findings on hostile names are escaped too */
	plug_start("syntax log;\n", C4);
	helo(bad[3]);
	ck_assert_int_eq(mail(), FD_CONTINUE);
	ck_assert_msg(strstr(F.logs, "\\r\\nRCPT") != NULL, "%s", F.logs);
	ck_assert(no_raw_bytes(F.logs));
	plug_stop();
}
END_TEST

/*
 * Near misses of an address literal are refused as malformed (501
 * 5.5.2), and the reply says which part is wrong: a port or other text
 * after the closing bracket is not a missing bracket, and "[]" holds no
 * address of any kind.
 */
static const struct literal_case {
	const char	*helo;
	const char	*why;
} literal_cases[] = {
	{ "[192.0.2.1]:25", "text after the closing bracket of the address "
	  "literal" },
	{ "[192.0.2.1]x", "text after the closing bracket of the address "
	  "literal" },
	{ "[IPv6:::1]:25", "text after the closing bracket of the address "
	  "literal" },
	{ "[192.0.2.1]]", "text after the closing bracket of the address "
	  "literal" },
	{ "[192.0.2.1", "address literal without its closing bracket" },
	{ "[IPv6:::1", "address literal without its closing bracket" },
	{ "[", "address literal without its closing bracket" },
	{ "[]", "empty address literal" },
	{ "[]:25", "empty address literal" },
	{ "[300.1.1.1]:25", "malformed IPv4 address literal" },
};

START_TEST(t_hook_literal_forms)
{
	const struct literal_case *lc = &literal_cases[_i];
	char		 want[400];

	plug_start("", C4);
	ck_assert_int_eq(helo(lc->helo), FD_CONTINUE);
	ck_assert_int_eq(mail(), FD_REJECT);
	ck_assert_str_eq(T.rcode, "501");
	ck_assert_str_eq(T.xcode, "5.5.2");
	snprintf(want, sizeof(want), "HELO/EHLO name \"%s\" is not a valid host "
	    "name or address literal (%s); see RFC 5321 section 4.1.2",
	    lc->helo, lc->why);
	ck_assert_str_eq(T.text, want);
	snprintf(want, sizeof(want), "syntax (reject): %s; helo=\"%s\"",
	    lc->why, lc->helo);
	ck_assert_str_eq(T.reason, want);
	plug_stop();
}
END_TEST

START_TEST(t_module)
{
	const char	*dir = getenv("FD_PLUGIN_DIR");
	char		 path[1024];
	void		*h;
	const struct fd_plugin *p;

	if (dir == NULL || *dir == '\0')
		dir = HELO_TOP_BUILDDIR "/plugins/.libs";
	snprintf(path, sizeof(path), "%s/helo.so", dir);
	if (access(path, R_OK) != 0) {
		const char *skip = getenv("FD_ALLOW_SKIP");

		if (skip != NULL && strcmp(skip, "1") == 0)
			return;
		ck_abort_msg("%s is missing: build the plugin first", path);
	}
	h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	ck_assert_msg(h != NULL, "dlopen: %s", dlerror());
	p = dlsym(h, FD_PLUGIN_SYMBOL);
	ck_assert_ptr_nonnull(p);
	ck_assert_str_eq(p->name, "helo");
	ck_assert_uint_eq(p->magic, FD_PLUGIN_MAGIC);
	/* only the entry symbol is exported */
	ck_assert_ptr_null(dlsym(h, "helo_syntax"));
	ck_assert_ptr_null(dlsym(h, "helo_conf_new"));
	dlclose(h);
}
END_TEST

static Suite *
helo_suite(void)
{
	Suite	*s = suite_create("helo");
	TCase	*tc;
	int	 nnames = (int)(sizeof(names) / sizeof(names[0]));
	int	 nbad = (int)(sizeof(bad_confs) / sizeof(bad_confs[0]));

	tc = tcase_create("names");
	tcase_add_loop_test(tc, t_names, 0, nnames);
	tcase_add_loop_test(tc, t_names_defaults, 0, nnames);
	suite_add_tcase(s, tc);

	tc = tcase_create("syntax");
	tcase_add_test(tc, t_syntax_details);
	tcase_add_test(tc, t_ipv4_snum);
	suite_add_tcase(s, tc);

	tc = tcase_create("net");
	tcase_add_test(tc, t_net);
	suite_add_tcase(s, tc);

	tc = tcase_create("reply");
	tcase_add_test(tc, t_reply);
	suite_add_tcase(s, tc);

	tc = tcase_create("seen");
	tcase_add_test(tc, t_seen);
	suite_add_tcase(s, tc);

	tc = tcase_create("cache");
	tcase_add_test(tc, t_cache);
	tcase_add_test(tc, t_cache_clock_back);
	suite_add_tcase(s, tc);

	tc = tcase_create("conf");
	tcase_add_test(tc, t_conf_defaults);
	tcase_add_test(tc, t_conf_all);
	tcase_add_loop_test(tc, t_conf_errors, 0, nbad);
	tcase_add_test(tc, t_conf_many_errors);
	tcase_add_test(tc, t_conf_generic_bytes);
	tcase_add_test(tc, t_conf_generic_nul_long);
	tcase_add_test(tc, t_conf_generic_too_many_errors);
	tcase_add_test(tc, t_conf_generic_fifo);
	suite_add_tcase(s, tc);

	tc = tcase_create("hooks");
	tcase_add_test(tc, t_hook_export);
	tcase_add_test(tc, t_hook_fqdn_at_mail);
	tcase_add_test(tc, t_hook_enforce_at_helo);
	tcase_add_test(tc, t_hook_exemptions);
	tcase_add_test(tc, t_hook_require_helo);
	tcase_add_test(tc, t_hook_literal_mismatch);
	tcase_add_test(tc, t_hook_self);
	tcase_add_test(tc, t_hook_changes);
	tcase_add_test(tc, t_hook_actions);
	tcase_add_test(tc, t_hook_hostile);
	tcase_add_loop_test(tc, t_hook_literal_forms, 0,
	    (int)(sizeof(literal_cases) / sizeof(literal_cases[0])));
	suite_add_tcase(s, tc);

	tc = tcase_create("module");
	tcase_add_test(tc, t_module);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(helo_suite());
	int	 nfail;

	srunner_run_all(sr, CK_NORMAL);
	nfail = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nfail == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
