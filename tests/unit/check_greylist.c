/*
 * check_greylist.c -- unit tests of the greylist plugin
 *
 * Part one tests the pure functions table by table: sender and recipient
 * normalization (every case the plugin claims to handle), registrable
 * domains, client keys (IPv4 and IPv6 prefixes, pools, rDNS), store keys,
 * texts, tables and files.
 *
 * Part two drives the plugin through its exported table with a fake
 * host: the transaction, the configuration block and the store are this
 * file's own (the plugin sees them only as opaque pointers), the store
 * following the contract of fd_store_grey in filterd/store.c, and the
 * clock is a number the tests move. The integration test
 * (tests/integ/check_greylist_milter.c) runs the same behaviour through
 * a real filterd with both real stores.
 */
#include <sys/types.h>

#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <sys/stat.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <check.h>

#include <filterd/plugin.h>

#include "grey_addr.h"
#include "grey_client.h"
#include "grey_conf.h"
#include "grey_decide.h"
#include "grey_key.h"
#include "grey_suffix.h"
#include "grey_table.h"
#include "grey_text.h"

extern const struct fd_plugin filterd_plugin;

/*
 * Part one: pure functions
 */

struct norm_case {
	const char	*in;
	const char	*rcpt;
	unsigned	 flags;
	const char	*delims;
	const char	*want;
};

static const struct norm_case norm_cases[] = {
	/* null sender */
	{ "", NULL, GREY_N_ALL, NULL, "<>" },
	{ "<>", NULL, GREY_N_ALL, NULL, "<>" },
	{ NULL, NULL, GREY_N_ALL, NULL, "<>" },
	/* brackets, source route, domain case, trailing dot */
	{ "<user@example.com>", NULL, GREY_N_ALL, NULL, "user@example.com" },
	{ "User@Example.COM", NULL, GREY_N_ALL, NULL, "User@example.com" },
	{ "user@example.com.", NULL, GREY_N_ALL, NULL, "user@example.com" },
	{ "<@relay.example,@b.example:user@Example.com>", NULL, GREY_N_ALL,
	    NULL, "user@example.com" },
	{ "postmaster", NULL, GREY_N_ALL, NULL, "postmaster" },
	{ "a@b@Example.com", NULL, GREY_N_ALL, NULL, "a@b@example.com" },
	/* sub-address */
	{ "user+tag@example.com", NULL, GREY_N_ALL, NULL, "user@example.com" },
	{ "user+a+b@example.com", NULL, GREY_N_ALL, NULL, "user@example.com" },
	{ "+tag@example.com", NULL, GREY_N_ALL, NULL, "+tag@example.com" },
	{ "user-tag@example.com", NULL, GREY_N_ALL, "-", "user@example.com" },
	{ "user+tag@example.com", NULL, GREY_N_ALL & ~GREY_N_SUBADDR, NULL,
	    "user+tag@example.com" },
	/* BATV */
	{ "prvs=1234abcdef=user@example.com", NULL, GREY_N_ALL, NULL,
	    "user@example.com" },
	{ "PRVS=0123ABCDEF=bounce@example.com", NULL, GREY_N_ALL, NULL,
	    "bounce@example.com" },
	{ "prvs=user=1234abcdef@example.com", NULL, GREY_N_ALL, NULL,
	    "user@example.com" },
	{ "prvs=xyz=user@example.com", NULL, GREY_N_ALL, NULL,
	    "user@example.com" },
	{ "msprvs1=19763hLsd-eMW=bounces@example.com", NULL, GREY_N_ALL, NULL,
	    "bounces@example.com" },
	{ "btv1==abc12de45f==user@example.com", NULL, GREY_N_ALL, NULL,
	    "user@example.com" },
	{ "prvs=1234abcdef=@example.com", NULL, GREY_N_ALL, NULL,
	    "prvs=#=@example.com" },
	{ "prvs=1234abcdef=user@example.com", NULL, GREY_N_SUBADDR, NULL,
	    "prvs=1234abcdef=user@example.com" },
	/* SRS0 and SRS1, with each separator */
	{ "SRS0=HHH=TT=orig.example=user@fwd.example", NULL, GREY_N_ALL, NULL,
	    "user@orig.example" },
	{ "srs0+x1Yz=AB=Orig.Example=User@fwd.example", NULL, GREY_N_ALL,
	    NULL, "User@orig.example" },
	{ "SRS0-hash=tt=orig.example=user@fwd.example", NULL, GREY_N_ALL,
	    NULL, "user@orig.example" },
	{ "SRS1=HHH=first.example==HHH=TT=orig.example=user@second.example",
	    NULL, GREY_N_ALL, NULL, "user@orig.example" },
	{ "SRS1+HHH=first.example=+HHH=TT=orig.example=user@second.example",
	    NULL, GREY_N_ALL, NULL, "user@orig.example" },
	{ "SRS0=HHH=TT=orig.example=a=b@fwd.example", NULL, GREY_N_ALL, NULL,
	    "a=b@orig.example" },
	{ "SRS0=HHH=TT=orig.example=prvs=1234abcdef=user@fwd.example", NULL,
	    GREY_N_ALL, NULL, "user@orig.example" },
	{ "SRS0=broken@fwd.example", NULL, GREY_N_ALL & ~GREY_N_DIGITS, NULL,
	    "SRS0=broken@fwd.example" },
	/* SRS with a part missing is no SRS: kept whole, so that two
	 * senders differing in what follows never share a triplet */
	{ "SRS0=HHH=TT==alice@fwd.example", NULL, GREY_N_ALL & ~GREY_N_DIGITS,
	    NULL, "SRS0=HHH=TT==alice@fwd.example" },
	{ "SRS0=HHH=TT=orig.example=@fwd.example", NULL,
	    GREY_N_ALL & ~GREY_N_DIGITS, NULL,
	    "SRS0=HHH=TT=orig.example=@fwd.example" },
	{ "SRS1=HHH=first.example==HHH=TT==bob@fwd.example", NULL,
	    GREY_N_ALL & ~GREY_N_DIGITS, NULL,
	    "SRS1=HHH=first.example==HHH=TT==bob@fwd.example" },
	{ "SRS0=HHH=TT=orig.example=user@fwd.example", NULL,
	    GREY_N_ALL & ~GREY_N_SRS, NULL,
	    "SRS#=HHH=TT=orig.example=user@fwd.example" },
	/* VERP: exact with the recipient, and by shape */
	{ "list-bounces+rcpt=dest.example@lists.example", "rcpt@dest.example",
	    GREY_N_ALL, NULL, "list-bounces@lists.example" },
	{ "list-return-rcpt=dest.example@lists.example", "rcpt@Dest.Example",
	    GREY_N_ALL, NULL, "list-return@lists.example" },
	{ "list-return-123-john-doe=dest.example@lists.example",
	    "john-doe@dest.example", GREY_N_ALL, NULL,
	    "list-return-#@lists.example" },
	{ "list-return-123-john=dest.example@lists.example", NULL,
	    GREY_N_ALL, NULL, "list-return-#@lists.example" },
	{ "owner-list-john=dest.example@lists.example", NULL,
	    GREY_N_ALL & ~GREY_N_DIGITS, NULL, "owner-list@lists.example" },
	{ "a=b@example.com", NULL, GREY_N_ALL, NULL, "a=b@example.com" },
	{ "list-x=nodot@example.com", NULL, GREY_N_ALL, NULL,
	    "list-x=nodot@example.com" },
	/* per-message numbers */
	{ "bounce-12345-678@example.com", NULL, GREY_N_ALL, NULL,
	    "bounce-#-#@example.com" },
	{ "0100018c1a2b3c4d-5e6f7a8b-000000@amazonses.com", NULL, GREY_N_ALL,
	    NULL, "#-#-#@amazonses.com" },
	{ "bounce-mc.us5_1234567.89012@mail12.mcsv.net", NULL, GREY_N_ALL,
	    NULL, "bounce-mc.us#_#.#@mail12.mcsv.net" },
	{ "deadbeef@example.com", NULL, GREY_N_ALL, NULL,
	    "deadbeef@example.com" },
	{ "user42@example.com", NULL, GREY_N_ALL, NULL, "user#@example.com" },
	{ "bounce-123@example.com", NULL, GREY_N_ALL & ~GREY_N_DIGITS, NULL,
	    "bounce-123@example.com" },
	/* everything off: only case and brackets */
	{ "<prvs=1234abcdef=u+t@EX.com>", NULL, 0, NULL,
	    "prvs=1234abcdef=u+t@ex.com" },
};

START_TEST(test_norm_sender)
{
	const struct norm_case	*c = &norm_cases[_i];
	char			*got;

	got = grey_norm_sender(c->in, c->rcpt, c->flags, c->delims);
	ck_assert_ptr_nonnull(got);
	ck_assert_msg(strcmp(got, c->want) == 0, "case %d: \"%s\" -> \"%s\", "
	    "want \"%s\"", _i, c->in != NULL ? c->in : "(null)", got, c->want);
	free(got);
}
END_TEST

START_TEST(test_norm_rcpt)
{
	char	*s;

	s = grey_norm_rcpt("<User+Tag@Example.COM.>");
	ck_assert_str_eq(s, "User+Tag@example.com");
	free(s);
	s = grey_norm_rcpt("postmaster");
	ck_assert_str_eq(s, "postmaster");
	free(s);
	ck_assert_str_eq(grey_addr_domain("a@b.example"), "b.example");
	ck_assert_str_eq(grey_addr_domain("<>"), "");
	ck_assert_uint_eq(grey_norm_flag("VERP"), GREY_N_VERP);
	ck_assert_uint_eq(grey_norm_flag("subaddress"), GREY_N_SUBADDR);
	ck_assert_uint_eq(grey_norm_flag("nope"), 0);
}
END_TEST

/* a 10 kB address: bounded work, no overrun, same rules */
START_TEST(test_norm_long)
{
	char	*in = malloc(10241), *got;

	memset(in, 'a', 10240);
	in[10240] = '\0';
	in[5000] = '+';
	in[9000] = '@';
	got = grey_norm_sender(in, NULL, GREY_N_ALL, NULL);
	ck_assert_uint_eq(strlen(got), 5000 + 1 + 1239);
	free(got);
	free(in);
}
END_TEST

/* the _to forms: the same text in a buffer of exactly GREY_NORM_SIZE,
 * -1 and nothing written in a smaller one, the work copy on the heap for
 * a long address (a VERP sender with a long recipient) */
START_TEST(test_norm_to)
{
	static const char *const rcpts[][2] = {
		{ "<User+Tag@Example.COM.>", "User+Tag@example.com" },
		{ "<@a.example,@b.example:u@D.Example>", "u@d.example" },
		{ "postmaster", "postmaster" },
		{ "", "" },
		{ "<>", "" },
		{ "a@b@C.example", "a@b@c.example" },
	};
	const struct norm_case	*c;
	char			 out[512], *in, *rcpt, *want;
	size_t			 i, n, len;

	for (i = 0; i < sizeof(norm_cases) / sizeof(norm_cases[0]); i++) {
		c = &norm_cases[i];
		n = GREY_NORM_SIZE(c->in != NULL ? strlen(c->in) : 0);
		memset(out, 'x', sizeof(out));
		ck_assert_int_eq(grey_norm_sender_to(out, n, c->in, c->rcpt,
		    c->flags, c->delims, &len), 0);
		ck_assert_str_eq(out, c->want);
		ck_assert_uint_eq(len, strlen(c->want));
		memset(out, 'x', sizeof(out));
		ck_assert_int_eq(grey_norm_sender_to(out, n - 1, c->in,
		    c->rcpt, c->flags, c->delims, &len), -1);
		ck_assert_int_eq(out[0], 'x');
	}
	for (i = 0; i < sizeof(rcpts) / sizeof(rcpts[0]); i++) {
		n = GREY_NORM_SIZE(strlen(rcpts[i][0]));
		ck_assert_int_eq(grey_norm_rcpt_to(out, n, rcpts[i][0], &len),
		    0);
		ck_assert_str_eq(out, rcpts[i][1]);
		ck_assert_uint_eq(len, strlen(rcpts[i][1]));
		ck_assert_int_eq(grey_norm_rcpt_to(out, n - 1, rcpts[i][0],
		    &len), -1);
	}
	/* 600-character recipient and sender: past the stack copies */
	rcpt = malloc(700);
	in = malloc(1400);
	want = malloc(1400);
	memset(rcpt, 'r', 600);
	strcpy(rcpt + 600, "@Dest.example");
	snprintf(in, 1400, "list-bounces+%.600s=dest.example@Lists.example",
	    rcpt);
	ck_assert_int_eq(grey_norm_sender_to(want, 1400, in, rcpt, GREY_N_VERP,
	    NULL, &len), 0);
	ck_assert_str_eq(want, "list-bounces@lists.example");
	/* the same without the recipient: by shape */
	ck_assert_int_eq(grey_norm_sender_to(want, 1400, in, NULL, GREY_N_VERP,
	    NULL, &len), 0);
	ck_assert_str_eq(want, "list-bounces@lists.example");
	ck_assert_int_eq(grey_norm_rcpt_to(want, 1400, rcpt, &len), 0);
	ck_assert_uint_eq(len, 613);
	ck_assert_str_eq(want + 600, "@dest.example");
	free(rcpt);
	free(in);
	free(want);
}
END_TEST

START_TEST(test_registrable_builtin)
{
	static const char *const cases[][2] = {
		{ "mail-wr1-f54.google.com", "google.com" },
		{ "google.com", "google.com" },
		{ "com", NULL },
		{ "smtp3.mail.example.co.uk", "example.co.uk" },
		{ "example.co.uk", "example.co.uk" },
		{ "co.uk", NULL },
		{ "mx.example.com.au", "example.com.au" },
		{ "mx.example.de", "example.de" },
		{ "a.b.example.io", "example.io" },
		{ "mx.example.ne.jp", "example.ne.jp" },
		{ "localhost", NULL },
		{ "..com", NULL },
	};
	size_t		 i;
	const char	*r;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		r = grey_registrable(NULL, cases[i][0]);
		if (cases[i][1] == NULL)
			ck_assert_msg(r == NULL, "%s -> %s", cases[i][0], r);
		else
			ck_assert_msg(r != NULL && strcmp(r, cases[i][1]) == 0,
			    "%s -> %s", cases[i][0], r ? r : "(null)");
	}
}
END_TEST

START_TEST(test_registrable_table)
{
	static const char *const cases[][2] = {
		{ "mx.example.com", "example.com" },
		{ "a.b.example.co.uk", "example.co.uk" },
		{ "foo.bar.ck", "foo.bar.ck" },		/* *.ck */
		{ "bar.ck", NULL },
		{ "x.www.ck", "www.ck" },		/* !www.ck */
		{ "www.ck", "www.ck" },
		{ "host.example.test", "example.test" },	/* implicit * */
		{ "mail.blogspot.com", "mail.blogspot.com" },
		{ "blogspot.com", NULL },
	};
	struct grey_suffix	*t = grey_suffix_new();
	size_t			 i;
	const char		*r;

	ck_assert_int_eq(grey_suffix_add(t, "com"), 0);
	ck_assert_int_eq(grey_suffix_add(t, "uk"), 0);
	ck_assert_int_eq(grey_suffix_add(t, "CO.UK"), 0);
	ck_assert_int_eq(grey_suffix_add(t, "*.ck"), 0);
	ck_assert_int_eq(grey_suffix_add(t, "!www.ck"), 0);
	ck_assert_int_eq(grey_suffix_add(t, "blogspot.com"), 0);
	ck_assert_int_eq(grey_suffix_add(t, "a..b"), -1);
	ck_assert_int_eq(grey_suffix_add(t, ""), -1);
	ck_assert_int_eq(grey_suffix_add(t, "*"), -1);
	grey_suffix_seal(t);
	ck_assert_uint_eq(grey_suffix_count(t), 6);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		r = grey_registrable(t, cases[i][0]);
		if (cases[i][1] == NULL)
			ck_assert_msg(r == NULL, "%s -> %s", cases[i][0], r);
		else
			ck_assert_msg(r != NULL && strcmp(r, cases[i][1]) == 0,
			    "%s -> %s", cases[i][0], r ? r : "(null)");
	}
	ck_assert_ptr_null(grey_suffix_free(t));
}
END_TEST

/* client_of - a client from text */
static struct grey_client
client_of(const char *addr, unsigned char ip[16], const char *name,
    int verified)
{
	struct grey_client	 cl;

	cl.iplen = addr != NULL ? grey_ip_parse(addr, ip) : 0;
	cl.ip = ip;
	cl.name = name;
	cl.verified = verified;
	return cl;
}

struct ck_case {
	const char	*addr;
	int		 v4, v6;
	const char	*want;
};

static const struct ck_case prefix_cases[] = {
	{ "192.0.2.77", 24, 64, "net:192.0.2.0/24" },
	{ "192.0.2.77", 32, 64, "net:192.0.2.77/32" },
	{ "192.0.2.77", 28, 64, "net:192.0.2.64/28" },
	{ "192.0.2.77", 16, 64, "net:192.0.0.0/16" },
	{ "198.51.100.255", 19, 64, "net:198.51.96.0/19" },
	{ "::ffff:192.0.2.77", 24, 64, "net:192.0.2.0/24" },
	{ "2001:db8:1:2:3:4:5:6", 24, 64, "net:2001:db8:1:2::/64" },
	{ "2001:db8:1:2:ffff::1", 24, 64, "net:2001:db8:1:2::/64" },
	{ "2001:db8:1:2:3:4:5:6", 24, 48, "net:2001:db8:1::/48" },
	{ "2001:db8:1:2:3:4:5:6", 24, 56, "net:2001:db8:1::/56" },
	{ "2001:db8:1:2ff:3:4:5:6", 24, 56, "net:2001:db8:1:200::/56" },
	{ "2001:db8:1:2:3:4:5:6", 24, 128, "net:2001:db8:1:2:3:4:5:6/128" },
	{ "2001:db8:1:2:3:4:5:6", 24, 60, "net:2001:db8:1::/60" },
	{ "2001:db8:1:1f:3:4:5:6", 24, 60, "net:2001:db8:1:10::/60" },
	{ NULL, 24, 64, "none" },
};

START_TEST(test_client_prefix)
{
	const struct ck_case	*c = &prefix_cases[_i];
	struct grey_client_conf	 cc;
	struct grey_client	 cl;
	unsigned char		 ip[16];
	char			 out[128];
	enum grey_ck		 k;

	memset(&cc, 0, sizeof(cc));
	cc.v4_prefix = c->v4;
	cc.v6_prefix = c->v6;
	cl = client_of(c->addr, ip, "mx.example.com", 1);
	k = grey_client_key(&cc, &cl, out, sizeof(out));
	ck_assert_str_eq(out, c->want);
	ck_assert_int_eq(k, c->addr != NULL ? GREY_CK_NET : GREY_CK_NONE);
}
END_TEST

/* two addresses of one /64 give one key, of two /64s two keys */
START_TEST(test_client_ipv6_same)
{
	struct grey_client_conf	 cc = { 24, 64, 0, NULL, NULL };
	struct grey_client	 a, b;
	unsigned char		 ipa[16], ipb[16];
	char			 ka[128], kb[128];

	a = client_of("2001:db8:a:b::1", ipa, NULL, 0);
	b = client_of("2001:db8:a:b:ffff:ffff:ffff:fffe", ipb, NULL, 0);
	grey_client_key(&cc, &a, ka, sizeof(ka));
	grey_client_key(&cc, &b, kb, sizeof(kb));
	ck_assert_str_eq(ka, kb);
	b = client_of("2001:db8:a:c::1", ipb, NULL, 0);
	grey_client_key(&cc, &b, kb, sizeof(kb));
	ck_assert_str_ne(ka, kb);
}
END_TEST

START_TEST(test_client_rdns)
{
	struct grey_client_conf	 cc = { 24, 64, 1, NULL, NULL };
	struct grey_client	 cl;
	unsigned char		 ip[16];
	char			 out[128];

	cl = client_of("209.85.221.54", ip, "Mail-WR1-F54.Google.COM.", 1);
	ck_assert_int_eq(grey_client_key(&cc, &cl, out, sizeof(out)),
	    GREY_CK_RDNS);
	ck_assert_str_eq(out, "rdns:google.com");
	/* not verified: the network */
	cl.verified = 0;
	ck_assert_int_eq(grey_client_key(&cc, &cl, out, sizeof(out)),
	    GREY_CK_NET);
	ck_assert_str_eq(out, "net:209.85.221.0/24");
	/* a name made of the address: a dynamic pool, the network */
	cl = client_of("198.51.100.7", ip, "dsl-198-51-100-7.isp.example", 1);
	ck_assert_int_eq(grey_client_key(&cc, &cl, out, sizeof(out)),
	    GREY_CK_NET);
	cl = client_of("198.51.100.7", ip, "7.100.51.198.dyn.isp.example", 1);
	ck_assert_int_eq(grey_client_key(&cc, &cl, out, sizeof(out)),
	    GREY_CK_NET);
	/* an outlook-like name with the address as one long number is a pool */
	cl = client_of("40.92.3.51", ip,
	    "mail-oln040092003051.outbound.protection.outlook.com", 1);
	ck_assert_int_eq(grey_client_key(&cc, &cl, out, sizeof(out)),
	    GREY_CK_RDNS);
	ck_assert_str_eq(out, "rdns:outlook.com");
	/* no name, an [address] name, a public suffix: the network */
	cl = client_of("192.0.2.1", ip, "[192.0.2.1]", 1);
	ck_assert_int_eq(grey_client_key(&cc, &cl, out, sizeof(out)),
	    GREY_CK_NET);
	cl = client_of("192.0.2.1", ip, "co.uk", 1);
	ck_assert_int_eq(grey_client_key(&cc, &cl, out, sizeof(out)),
	    GREY_CK_NET);
	cl = client_of("192.0.2.1", ip, NULL, 1);
	ck_assert_int_eq(grey_client_key(&cc, &cl, out, sizeof(out)),
	    GREY_CK_NET);
	/* off: the network even with a good name */
	cc.pool_rdns = 0;
	cl = client_of("209.85.221.54", ip, "mail-wr1-f54.google.com", 1);
	ck_assert_int_eq(grey_client_key(&cc, &cl, out, sizeof(out)),
	    GREY_CK_NET);
	ck_assert_int_eq(grey_name_dynamic("mx1.example.com", ip, 4), 0);
	ck_assert_int_eq(grey_name_dynamic("x-221-54.example", ip, 4), 1);
	ck_assert_int_eq(grey_name_dynamic("x-221-54.example", ip, 16), 0);
}
END_TEST

/* IPv6 names made of the address, as ISPs write them */
START_TEST(test_client_dynamic_forms)
{
	unsigned char	 v4[4] = { 192, 0, 2, 1 };
	unsigned char	 v6[16];

	ck_assert_int_eq(inet_pton(AF_INET6, "2001:db8:1:2::a1b2:c3d4", v6), 1);
	ck_assert_int_eq(grey_name_dynamic("dsl-2-1.isp.example", v4, 4), 1);
	ck_assert_int_eq(grey_name_dynamic("mail.c0ffee.example", v4, 4), 0);
	ck_assert_int_eq(grey_name_dynamic("2001-db8-1-2--a1b2-c3d4.dyn.example",
	    v6, 16), 1);
	ck_assert_int_eq(grey_name_dynamic("cust-a1b2-c3d4.isp.example", v6,
	    16), 1);
	ck_assert_int_eq(grey_name_dynamic("dynamic-2001-db8.isp.example", v6,
	    16), 1);
	/* one group, or hex inside words, is not enough */
	ck_assert_int_eq(grey_name_dynamic("mx-a1b2.example", v6, 16), 0);
	ck_assert_int_eq(grey_name_dynamic("mail.example.com", v6, 16), 0);
	ck_assert_int_eq(grey_name_dynamic("xa1b2.c3d4x.example", v6, 16), 0);
	ck_assert_int_eq(grey_name_dynamic("mx1.db8s.example", v6, 16), 0);
}
END_TEST

/* equal third and fourth octets: one number in the name is not two */
START_TEST(test_client_dynamic_equal_octets)
{
	unsigned char	 v4[4] = { 198, 51, 7, 7 };

	ck_assert_int_eq(grey_name_dynamic("mta7.bigmail.example", v4, 4), 0);
	ck_assert_int_eq(grey_name_dynamic("smtp-7.out.bigmail.example", v4,
	    4), 0);
	ck_assert_int_eq(grey_name_dynamic("dsl-7-7.isp.example", v4, 4), 1);
	ck_assert_int_eq(grey_name_dynamic("dsl-198-51-7-7.isp.example", v4,
	    4), 1);
}
END_TEST

START_TEST(test_client_pools)
{
	struct grey_pools	 p;
	struct grey_client_conf	 cc = { 24, 64, 0, NULL, NULL };
	struct grey_client	 cl;
	unsigned char		 ip[16];
	char			 out[128];
	const char		*why;

	memset(&p, 0, sizeof(p));
	ck_assert_int_eq(grey_pools_add(&p, "bigmail", "203.0.113.0/24", &why), 0);
	ck_assert_int_eq(grey_pools_add(&p, "bigmail", "2001:db8:f::/48", &why), 0);
	ck_assert_int_eq(grey_pools_add(&p, "bigmail", "bigmail.example", &why), 0);
	ck_assert_int_eq(grey_pools_add(&p, "other", "other.example", &why), 0);
	ck_assert_int_eq(grey_pools_add(&p, "other", "a@b.example", &why), -1);
	ck_assert_int_eq(grey_pools_add(&p, "x y", "z.example", &why), -1);
	ck_assert_int_eq(grey_pools_add(&p, "bad", "192.0.2.1/24", &why), -1);
	grey_pools_seal(&p);
	cc.pools = &p;
	cl = client_of("203.0.113.9", ip, NULL, 0);
	ck_assert_int_eq(grey_client_key(&cc, &cl, out, sizeof(out)),
	    GREY_CK_POOL);
	ck_assert_str_eq(out, "pool:bigmail");
	cl = client_of("2001:db8:f:1::25", ip, NULL, 0);
	grey_client_key(&cc, &cl, out, sizeof(out));
	ck_assert_str_eq(out, "pool:bigmail");
	cl = client_of("192.0.2.9", ip, "out7.Mx.BigMail.example", 1);
	grey_client_key(&cc, &cl, out, sizeof(out));
	ck_assert_str_eq(out, "pool:bigmail");
	cl = client_of("192.0.2.9", ip, "mx.other.example", 1);
	grey_client_key(&cc, &cl, out, sizeof(out));
	ck_assert_str_eq(out, "pool:other");
	/* a name counts only verified */
	cl.verified = 0;
	grey_client_key(&cc, &cl, out, sizeof(out));
	ck_assert_str_eq(out, "net:192.0.2.0/24");
	grey_pools_clear(&p);
}
END_TEST

START_TEST(test_keys)
{
	static const char *const rcpts[] = { "b@x.example", "a@x.example" };
	static const char *const rcpts2[] = { "a@x.example", "b@x.example" };
	char	*k, *k2;
	size_t	 len, len2;

	k = grey_key_triplet("net:192.0.2.0/24", "user@example.com",
	    "rcpt@example.org", &len);
	ck_assert_str_eq(k, "g1\nnet:192.0.2.0/24\nuser@example.com\n"
	    "rcpt@example.org");
	ck_assert_uint_eq(len, strlen(k));
	free(k);
	k = grey_key_awl("net:192.0.2.0/24", NULL, &len);
	ck_assert_str_eq(k, "a1\nnet:192.0.2.0/24");
	free(k);
	k = grey_key_awl("rdns:google.com", "example.com", &len);
	ck_assert_str_eq(k, "a1\nrdns:google.com\nexample.com");
	free(k);
	k = grey_key_body("<>", rcpts, 2, "hello\0world", 11, &len);
	ck_assert_uint_eq(len, strlen("b1\n<>\na@x.example\nb@x.example\n\n") +
	    11);
	ck_assert_mem_eq(k, "b1\n<>\na@x.example\nb@x.example\n\nhello\0world",
	    len);
	/* the order of the recipients does not matter */
	k2 = grey_key_body("<>", rcpts2, 2, "hello\0world", 11, &len2);
	ck_assert_uint_eq(len, len2);
	ck_assert_mem_eq(k, k2, len);
	free(k);
	free(k2);
	k = grey_key_body("s@x", NULL, 0, NULL, 0, &len);
	ck_assert_str_eq(k, "b1\ns@x\n\n");
	free(k);
}
END_TEST

/* the _to forms: snprintf's contract, and the same bytes */
START_TEST(test_keys_to)
{
	static const char	 want[] = "g1\nnet:192.0.2.0/24\nu@s.example\n"
	    "r@d.example";
	char			 out[128];

	memset(out, 'x', sizeof(out));
	ck_assert_uint_eq(grey_key_triplet_to(out, sizeof(want),
	    "net:192.0.2.0/24", "u@s.example", "r@d.example"),
	    sizeof(want) - 1);
	ck_assert_str_eq(out, want);
	memset(out, 'x', sizeof(out));
	ck_assert_uint_eq(grey_key_triplet_to(out, sizeof(want) - 1,
	    "net:192.0.2.0/24", "u@s.example", "r@d.example"),
	    sizeof(want) - 1);
	ck_assert_int_eq(out[0], 'x');
	ck_assert_uint_eq(grey_key_triplet_to(NULL, 0, "net:192.0.2.0/24",
	    "u@s.example", "r@d.example"), sizeof(want) - 1);
	ck_assert_uint_eq(grey_key_awl_to(out, sizeof(out), "none", NULL), 7);
	ck_assert_str_eq(out, "a1\nnone");
	ck_assert_uint_eq(grey_key_awl_to(out, sizeof(out), "rdns:google.com",
	    "example.com"), 30);
	ck_assert_str_eq(out, "a1\nrdns:google.com\nexample.com");
	ck_assert_uint_eq(grey_key_awl_to(out, 30, "rdns:google.com",
	    "example.com"), 30);
}
END_TEST

/* ref_net - the network as the plugin first wrote it (inet_ntop and
 * snprintf): keys in existing stores were made with this text */
static void
ref_net(char *out, size_t outlen, const unsigned char *ip, size_t iplen,
    int plen)
{
	unsigned char	 m[16];
	char		 text[INET6_ADDRSTRLEN];
	size_t		 i;

	memset(m, 0, sizeof(m));
	for (i = 0; i < iplen; i++) {
		int bits = plen - (int)i * 8;

		m[i] = bits >= 8 ? ip[i] : bits <= 0 ? 0 :
		    (unsigned char)(ip[i] & (0xff << (8 - bits)));
	}
	ck_assert_ptr_nonnull(inet_ntop(iplen == 4 ? AF_INET : AF_INET6, m,
	    text, sizeof(text)));
	snprintf(out, outlen, "%s/%d", text, plen);
}

/* net_same - grey_net_format agrees with ref_net at every prefix length */
static void
net_same(const unsigned char *ip, size_t iplen)
{
	char	 got[64], want[64];
	int	 plen;

	for (plen = 0; plen <= (int)iplen * 8; plen++) {
		ref_net(want, sizeof(want), ip, iplen, plen);
		memset(got, 'x', sizeof(got));
		grey_net_format(got, sizeof(got), ip, iplen, plen);
		ck_assert_msg(strcmp(got, want) == 0,
		    "/%d: \"%s\", want \"%s\"", plen, got, want);
	}
}

/*
 * The network text, by hand, is the text inet_ntop wrote: IPv4 at every
 * prefix length; IPv6 with every pattern of zero and non-zero 16-bit
 * groups (where "::" goes, ties, runs of one), IPv4-mapped and -compatible
 * forms, and pseudo-random addresses; a short buffer truncates like
 * snprintf.
 */
START_TEST(test_net_format)
{
	static const unsigned char v4[][4] = {
		{ 192, 0, 2, 77 }, { 0, 0, 0, 0 }, { 255, 255, 255, 255 },
		{ 10, 0, 0, 1 }, { 1, 2, 3, 4 }, { 100, 10, 200, 9 },
		{ 128, 0, 0, 0 },
	};
	static const uint16_t vals[] = { 0x1, 0xffff, 0xabc, 0x10, 0x2001,
	    0xdb8, 0x100 };
#define NVALS	(sizeof(vals) / sizeof(vals[0]))
	unsigned char	 ip[16];
	char		 got[64], want[64];
	unsigned	 pat, w, seed = 12345;
	size_t		 i, n;

	for (i = 0; i < sizeof(v4) / sizeof(v4[0]); i++)
		net_same(v4[i], 4);
	for (n = 0; n < 300; n++) {
		for (i = 0; i < 4; i++)
			ip[i] = (unsigned char)((seed = seed * 1103515245u +
			    12345u) >> 16);
		net_same(ip, 4);
	}
	for (pat = 0; pat < 256; pat++) {
		for (w = 0; w < 8; w++) {
			size_t	 k = (pat + w) % NVALS;
			uint16_t v = (pat >> w) & 1 ? vals[k] : 0;

			ip[2 * w] = (unsigned char)(v >> 8);
			ip[2 * w + 1] = (unsigned char)(v & 0xff);
		}
		net_same(ip, 16);
	}
	/* ::ffff:a.b.c.d and ::a.b.c.d, and near misses */
	memset(ip, 0, sizeof(ip));
	ip[10] = ip[11] = 0xff;
	ip[12] = 192, ip[13] = 0, ip[14] = 2, ip[15] = 77;
	net_same(ip, 16);
	ip[10] = 0;
	net_same(ip, 16);
	ip[11] = 0;
	net_same(ip, 16);
	ip[12] = 0;
	net_same(ip, 16);
	ip[10] = 0xff;
	ip[11] = 0xfe;
	net_same(ip, 16);
	memset(ip, 0, sizeof(ip));
	ip[15] = 1;
	net_same(ip, 16);
	ip[0] = 0xfe;
	ip[1] = 0x80;
	net_same(ip, 16);
	for (n = 0; n < 2000; n++) {
		for (i = 0; i < 16; i++) {
			seed = seed * 1103515245u + 12345u;
			/* often zero, to make runs */
			ip[i] = (seed >> 28) < 7 ? 0 :
			    (unsigned char)(seed >> 16);
		}
		net_same(ip, 16);
	}
	/* truncated like snprintf: as much as fits, terminated */
	memcpy(ip, v4[0], 4);
	grey_net_format(got, 8, ip, 4, 24);
	ck_assert_str_eq(got, "192.0.2");
	grey_net_format(got, 1, ip, 4, 24);
	ck_assert_str_eq(got, "");
	ref_net(want, 12, ip, 4, 24);
	grey_net_format(got, 12, ip, 4, 24);
	ck_assert_str_eq(got, want);
}
END_TEST

/* a short buffer holds as much of the client key as fits */
START_TEST(test_client_key_trunc)
{
	struct grey_client_conf	 cc = { 24, 64, 0, NULL, NULL };
	struct grey_client	 cl;
	unsigned char		 ip[16];
	char			 out[64];

	cl = client_of("192.0.2.77", ip, NULL, 0);
	memset(out, 'x', sizeof(out));
	ck_assert_int_eq(grey_client_key(&cc, &cl, out, 10), GREY_CK_NET);
	ck_assert_str_eq(out, "net:192.0");
	ck_assert_int_eq(grey_client_key(&cc, &cl, out, 3), GREY_CK_NET);
	ck_assert_str_eq(out, "ne");
	ck_assert_int_eq(grey_client_key(&cc, &cl, out, 17), GREY_CK_NET);
	ck_assert_str_eq(out, "net:192.0.2.0/24");
	ck_assert_int_eq(grey_client_key(&cc, &cl, out, 16), GREY_CK_NET);
	ck_assert_str_eq(out, "net:192.0.2.0/2");
	cl = client_of(NULL, ip, NULL, 0);
	ck_assert_int_eq(grey_client_key(&cc, &cl, out, 3), GREY_CK_NONE);
	ck_assert_str_eq(out, "no");
	cc.pool_rdns = 1;
	cl = client_of("209.85.221.54", ip, "mail-wr1-f54.google.com", 1);
	ck_assert_int_eq(grey_client_key(&cc, &cl, out, 8), GREY_CK_RDNS);
	ck_assert_str_eq(out, "rdns:go");
}
END_TEST

START_TEST(test_text)
{
	char	 out[256];
	size_t	 pos;
	int64_t	 s;
	int	 b;

	grey_text_expand(out, sizeof(out), "retry in %d s (%m min), %s, 100%%",
	    301);
	ck_assert_str_eq(out, "retry in 301 s (6 min), 301, 100%");
	grey_text_expand(out, sizeof(out), GREY_MESSAGE_DEFAULT, 300);
	ck_assert_str_eq(out, "Greylisted: your server must retry in 300 "
	    "seconds; see RFC 6647");
	grey_text_expand(out, 8, "abc %d def", 123456);
	ck_assert_str_eq(out, "abc 123");
	ck_assert_int_eq(grey_text_check("ok %d %s %m %%", &pos), 0);
	ck_assert_int_eq(grey_text_check("bad %x", &pos), -1);
	ck_assert_uint_eq(pos, 4);
	ck_assert_int_eq(grey_text_check("bad at end %", &pos), -1);
	grey_date(out, sizeof(out), 1732360645);
	ck_assert_str_eq(out, "Sat, 23 Nov 2024 11:17:25 +0000");
	grey_header_value(out, sizeof(out), 312, "mx.example.org", 1732360645);
	ck_assert_str_eq(out, "delayed 312 seconds by filterd-greylist at "
	    "mx.example.org; Sat, 23 Nov 2024 11:17:25 +0000");
	grey_header_value(out, sizeof(out), 5, NULL, 0);
	ck_assert_str_eq(out, "delayed 5 seconds by filterd-greylist; "
	    "Thu, 1 Jan 1970 00:00:00 +0000");
	ck_assert_int_eq(grey_duration_parse("30", &s), 0);
	ck_assert_int_eq(s, 30);
	ck_assert_int_eq(grey_duration_parse("30s", &s), 0);
	ck_assert_int_eq(s, 30);
	ck_assert_int_eq(grey_duration_parse("5m", &s), 0);
	ck_assert_int_eq(s, 300);
	ck_assert_int_eq(grey_duration_parse("2h", &s), 0);
	ck_assert_int_eq(s, 7200);
	ck_assert_int_eq(grey_duration_parse("35d", &s), 0);
	ck_assert_int_eq(s, 35 * 86400);
	ck_assert_int_eq(grey_duration_parse("1w", &s), 0);
	ck_assert_int_eq(s, 7 * 86400);
	ck_assert_int_eq(grey_duration_parse("", &s), -1);
	ck_assert_int_eq(grey_duration_parse("-1", &s), -1);
	ck_assert_int_eq(grey_duration_parse("5x", &s), -1);
	ck_assert_int_eq(grey_duration_parse("5mm", &s), -1);
	ck_assert_int_eq(grey_duration_parse("99999999999999999999", &s), -1);
	ck_assert_int_eq(grey_bool_parse("On", &b), 0);
	ck_assert_int_eq(b, 1);
	ck_assert_int_eq(grey_bool_parse("no", &b), 0);
	ck_assert_int_eq(b, 0);
	ck_assert_int_eq(grey_bool_parse("maybe", &b), -1);
}
END_TEST

START_TEST(test_tables)
{
	struct grey_nets	 n;
	struct grey_names	 m;
	unsigned char		 ip[16];
	size_t			 len;
	const char		*why;

	memset(&n, 0, sizeof(n));
	memset(&m, 0, sizeof(m));
	ck_assert_int_eq(grey_nets_add(&n, "192.0.2.0/24", 1, &why), 0);
	ck_assert_int_eq(grey_nets_add(&n, "2001:db8::/32", 2, &why), 0);
	ck_assert_int_eq(grey_nets_add(&n, "::ffff:198.51.100.0/120", 3, &why),
	    0);
	ck_assert_int_eq(grey_nets_add(&n, "203.0.113.5", 4, &why), 0);
	ck_assert_int_eq(grey_nets_add(&n, "192.0.2.1/24", 0, &why), -1);
	ck_assert_str_eq(why, "host bits set after the prefix length");
	ck_assert_int_eq(grey_nets_add(&n, "192.0.2.0/33", 0, &why), -1);
	ck_assert_int_eq(grey_nets_add(&n, "192.0.2.0/", 0, &why), -1);
	ck_assert_int_eq(grey_nets_add(&n, "example.com", 0, &why), -1);
	ck_assert_int_eq(grey_nets_add(&n, "::ffff:198.51.100.0/64", 0, &why),
	    -1);
	len = grey_ip_parse("192.0.2.200", ip);
	ck_assert_int_eq(grey_nets_match(&n, ip, len), 1);
	len = grey_ip_parse("2001:db8:ffff::1", ip);
	ck_assert_int_eq(grey_nets_match(&n, ip, len), 2);
	len = grey_ip_parse("::ffff:198.51.100.9", ip);
	ck_assert_uint_eq(len, 4);
	ck_assert_int_eq(grey_nets_match(&n, ip, len), 3);
	len = grey_ip_parse("203.0.113.5", ip);
	ck_assert_int_eq(grey_nets_match(&n, ip, len), 4);
	len = grey_ip_parse("203.0.113.6", ip);
	ck_assert_int_eq(grey_nets_match(&n, ip, len), -1);
	grey_nets_clear(&n);

	ck_assert_int_eq(grey_names_add(&m, "Example.COM", 1, &why), 0);
	ck_assert_int_eq(grey_names_add(&m, "boss@other.example", 2, &why), 0);
	ck_assert_int_eq(grey_names_add(&m, "postmaster@", 3, &why), 0);
	ck_assert_int_eq(grey_names_add(&m, ".dot.example.", 4, &why), 0);
	ck_assert_int_eq(grey_names_add(&m, "a b", 0, &why), -1);
	ck_assert_int_eq(grey_names_add(&m, "a@b@c", 0, &why), -1);
	ck_assert_int_eq(grey_names_add(&m, "@", 0, &why), -1);
	grey_names_seal(&m);
	ck_assert_int_eq(grey_names_domain(&m, "example.com"), 1);
	ck_assert_int_eq(grey_names_domain(&m, "MX.Example.Com."), 1);
	ck_assert_int_eq(grey_names_domain(&m, "notexample.com"), -1);
	ck_assert_int_eq(grey_names_domain(&m, "a.dot.example"), 4);
	ck_assert_int_eq(grey_names_addr(&m, "anyone@sub.example.com"), 1);
	ck_assert_int_eq(grey_names_addr(&m, "Boss@Other.Example"), 2);
	ck_assert_int_eq(grey_names_addr(&m, "staff@other.example"), -1);
	ck_assert_int_eq(grey_names_addr(&m, "postmaster@anything.example"), 3);
	/* RCPT TO:<postmaster> with no domain (RFC 5321 4.5.1) */
	ck_assert_int_eq(grey_names_addr(&m, "Postmaster"), 3);
	ck_assert_int_eq(grey_names_addr(&m, "example.com"), 1);
	ck_assert_int_eq(grey_names_addr(&m, "boss"), -1);
	ck_assert_int_eq(grey_names_addr(&m, "<>"), -1);
	grey_names_clear(&m);
}
END_TEST

/* tmpdir - a fresh directory for test files */
static char *
tmpdir(void)
{
	char	*d = strdup("/tmp/check_greylist.XXXXXX");

	ck_assert_ptr_nonnull(mkdtemp(d));
	return d;
}

/* write_file - dir/name with text; returns the path (owned) */
static char *
write_file(const char *dir, const char *name, const char *text)
{
	size_t	 n = strlen(dir) + strlen(name) + 2;
	char	*path = malloc(n);
	FILE	*fp;

	snprintf(path, n, "%s/%s", dir, name);
	ck_assert_ptr_nonnull(fp = fopen(path, "w"));
	fputs(text, fp);
	fclose(fp);
	return path;
}

struct collect {
	char	 words[512];
	int	 lines;
	char	 bad[4096];		/* each reported error, a line */
	int	 nbad;
};

/* collect_line - each word as "word@col|"; a word "bad" is bad */
static int
collect_line(char **w, const int *col, int n, int line, void *arg,
    void (*bad)(void *, const char *))
{
	struct collect	*c = arg;
	char		 err[64];
	size_t		 o;
	int		 i, nbad = 0;

	c->lines++;
	for (i = 0; i < n; i++) {
		o = strlen(c->words);
		snprintf(c->words + o, sizeof(c->words) - o, "%s@%d|", w[i],
		    col[i]);
		if (strcmp(w[i], "bad") == 0) {
			snprintf(err, sizeof(err), "bad at %d:%d", line,
			    col[i]);
			bad(arg, err);
			nbad++;
		}
	}
	return nbad;
}

/* collect_bad - an error grey_file_lines reports */
static void
collect_bad(void *arg, const char *msg)
{
	struct collect	*c = arg;
	size_t		 o = strlen(c->bad);

	snprintf(c->bad + o, sizeof(c->bad) - o, "%s\n", msg);
	c->nbad++;
}

START_TEST(test_file_lines)
{
	struct collect	 c;
	char		*dir = tmpdir(), *p;

	p = write_file(dir, "t", "# comment\n a b,c  # tail\n\n// psl comment"
	    "\n\td\r\n");
	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(grey_file_lines(p, collect_line, collect_bad, &c), 0);
	ck_assert_str_eq(c.words, "a@2|b@4|c@6|d@2|");
	ck_assert_int_eq(c.lines, 2);
	ck_assert_int_eq(c.nbad, 0);
	unlink(p);
	free(p);
	/* a bad line is reported and the lines after it are read, so that
	 * one run of filterd -t shows every bad entry */
	p = write_file(dir, "u", "x\nbad\ny\nbad z bad\n");
	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(grey_file_lines(p, collect_line, collect_bad, &c), -1);
	ck_assert_str_eq(c.words, "x@1|bad@1|y@1|bad@1|z@5|bad@7|");
	ck_assert_str_eq(c.bad, "bad at 2:1\nbad at 4:1\nbad at 4:7\n");
	unlink(p);
	free(p);
	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(grey_file_lines("/nonexistent/file", collect_line,
	    collect_bad, &c), -1);
	ck_assert_str_eq(c.bad, "/nonexistent/file: No such file or "
	    "directory\n");
	rmdir(dir);
	free(dir);
}
END_TEST

/* past 20 bad lines the rest of a file is not read, as the core's table
 * files are not (docs/CONFIG.md) */
START_TEST(test_file_too_many_errors)
{
	struct collect	 c;
	char		*dir = tmpdir(), *p, text[256] = "", want[256];
	int		 i;

	for (i = 0; i < 25; i++)
		strcat(text, "bad\n");
	p = write_file(dir, "many", text);
	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(grey_file_lines(p, collect_line, collect_bad, &c), -1);
	ck_assert_int_eq(c.lines, 20);
	ck_assert_int_eq(c.nbad, 21);
	ck_assert_ptr_nonnull(strstr(c.bad, "bad at 20:1\n"));
	snprintf(want, sizeof(want), "%s:20: too many errors, skipping the "
	    "rest of this file\n", p);
	ck_assert_str_eq(strstr(c.bad, "bad at 20:1\n") + 12, want);
	unlink(p);
	free(p);
	rmdir(dir);
	free(dir);
}
END_TEST

/*
 * What editors and hands leave in a table file: a byte order mark is no
 * part of the first entry; a NUL byte is an error at its column, not
 * the unseen end of its line ("b\0c" loads nothing, not "b"); a FIFO is
 * refused, not waited on (its open would wait for a writer, at a reload
 * too).
 */
START_TEST(test_file_edits)
{
	static const char bom[] = "\xef\xbb\xbf" "a b\r\n", nul[] = "a\nb\0c\n";
	struct collect	 c;
	char		*dir = tmpdir(), *p, want[256];
	FILE		*fp;

	p = write_file(dir, "bom", bom);
	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(grey_file_lines(p, collect_line, collect_bad, &c), 0);
	ck_assert_str_eq(c.words, "a@1|b@3|");
	unlink(p);
	free(p);

	p = write_file(dir, "nul", "");
	ck_assert_ptr_nonnull(fp = fopen(p, "w"));
	ck_assert_uint_eq(fwrite(nul, 1, sizeof(nul) - 1, fp), sizeof(nul) - 1);
	ck_assert_int_eq(fclose(fp), 0);
	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(grey_file_lines(p, collect_line, collect_bad, &c), -1);
	snprintf(want, sizeof(want), "%s:2:2: NUL byte in the line\n", p);
	ck_assert_str_eq(c.bad, want);
	ck_assert_str_eq(c.words, "a@1|");
	unlink(p);

	ck_assert_int_eq(mkfifo(p, 0600), 0);
	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(grey_file_lines(p, collect_line, collect_bad, &c), -1);
	snprintf(want, sizeof(want), "%s: a FIFO, not a regular file\n", p);
	ck_assert_str_eq(c.bad, want);
	unlink(p);
	free(p);
	rmdir(dir);
	free(dir);
}
END_TEST

/*
 * Part two: the plugin through a fake host
 */

/* the configuration block, as the host would hand it over */
struct fd_directive {
	char			*name;
	int			 argc;
	char			*argv[32];
	struct fd_directive	*next;
};

struct fd_block {
	struct fd_directive	*head;
};

/* one stored greylist entry of the fake store */
struct fentry {
	char	*key;
	size_t	 len;
	int64_t	 first, expires;
	uint32_t passes;
};

/* the transaction */
struct fd_txn {
	char		 addr[64];
	unsigned char	 ip[16];
	size_t		 iplen;
	const char	*name;
	int		 verified, local;
	const char	*auth;
	const char	*sender;
	const char	*rcpt;
	const char	*rcpts[16];
	size_t		 nrcpts;
	const char	*params[8][2];
	const char	*mta;
	/* what the plugin did */
	char		 rcode[4], xcode[16], text[512], reason[512];
	char		 hdr_name[64], hdr_value[512];
	int		 nheaders;
};

/* the fake world: clock, store, captured errors and logs */
static struct {
	int64_t		 now;
	struct fentry	 e[256];
	size_t		 n;
	struct fentry	 awl[64];
	size_t		 nawl;
	int		 store_down;
	unsigned	 calls;
	char		 errors[2048];
	char		 log[2048];
	const char	*conf_dir;
	/* the last request the store got, and the last one planned */
	char		 rq_key[32768], rq_awl[32768], pkey[32768], pawl[32768];
	size_t		 rq_keylen, rq_awllen, pkeylen, pawllen;
	int		 rq_has_awl, p_has_awl;
	unsigned	 planned, txns;
} W;

/* the fake host's printf-like functions, checked like the real ones */
static void f_log(const struct fd_host *, enum fd_level, const char *, ...)
    __attribute__((format(printf, 3, 4)));
static void f_log_txn(const struct fd_host *, const struct fd_txn *,
    enum fd_level, const char *, ...) __attribute__((format(printf, 4, 5)));
static void f_conf_error(const struct fd_host *, const struct fd_directive *,
    int, const char *, ...) __attribute__((format(printf, 4, 5)));
static void f_reply(struct fd_txn *, const char *, const char *,
    const char *, ...) __attribute__((format(printf, 4, 5)));
static void f_reason(struct fd_txn *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

static void
f_log(const struct fd_host *h, enum fd_level l, const char *fmt, ...)
{
	va_list	 ap;
	size_t	 o = strlen(W.log);

	va_start(ap, fmt);
	vsnprintf(W.log + o, sizeof(W.log) - o, fmt, ap);
	va_end(ap);
	strncat(W.log, "\n", sizeof(W.log) - strlen(W.log) - 1);
}

/* f_log_txn - as f_log; a line from a hook must name its transaction */
static void
f_log_txn(const struct fd_host *h, const struct fd_txn *t, enum fd_level l,
    const char *fmt, ...)
{
	va_list	 ap;
	size_t	 o = strlen(W.log);

	ck_assert_ptr_nonnull(t);
	va_start(ap, fmt);
	vsnprintf(W.log + o, sizeof(W.log) - o, fmt, ap);
	va_end(ap);
	strncat(W.log, "\n", sizeof(W.log) - strlen(W.log) - 1);
}

/* f_conf_unknown - the name and how many names the plugin offers for a
 * hint (check_core tests the hint itself, with the real host) */
static void
f_conf_unknown(const struct fd_host *h, const struct fd_directive *d,
    const char *const *known)
{
	int	 n = 0;

	while (known[n] != NULL)
		n++;
	f_conf_error(h, d, -1, "unknown directive \"%s\" (%d known)", d->name, n);
}

static int64_t
f_now(const struct fd_host *h)
{
	return W.now;
}

static const struct fd_directive *
f_dir_next(const struct fd_block *b, const struct fd_directive *prev)
{
	return prev != NULL ? prev->next : b->head;
}

static const char *
f_dir_name(const struct fd_directive *d)
{
	return d->name;
}

static int
f_dir_argc(const struct fd_directive *d)
{
	return d->argc;
}

static const char *
f_dir_arg(const struct fd_directive *d, int i)
{
	return i >= 0 && i < d->argc ? d->argv[i] : NULL;
}

static void
f_conf_error(const struct fd_host *h, const struct fd_directive *d, int argi,
    const char *fmt, ...)
{
	va_list	 ap;
	size_t	 o = strlen(W.errors);

	o += (size_t)snprintf(W.errors + o, sizeof(W.errors) - o, "%s[%d]: ",
	    d != NULL ? d->name : "-", argi);
	va_start(ap, fmt);
	vsnprintf(W.errors + o, sizeof(W.errors) - o, fmt, ap);
	va_end(ap);
	strncat(W.errors, "\n", sizeof(W.errors) - strlen(W.errors) - 1);
}

static int
f_arg_duration(const struct fd_host *h, const struct fd_directive *d, int i,
    int64_t *secs)
{
	if (i >= d->argc || grey_duration_parse(d->argv[i], secs) < 0) {
		f_conf_error(h, d, i, "bad duration");
		return -1;
	}
	return 0;
}

static int
f_arg_uint(const struct fd_host *h, const struct fd_directive *d, int i,
    uint64_t *out)
{
	char	*end;

	if (i >= d->argc || d->argv[i][0] < '0' || d->argv[i][0] > '9') {
		f_conf_error(h, d, i, "bad number");
		return -1;
	}
	*out = strtoull(d->argv[i], &end, 10);
	if (*end == 'k')
		*out *= 1024, end++;
	if (*end != '\0') {
		f_conf_error(h, d, i, "bad number");
		return -1;
	}
	return 0;
}

static int
f_arg_bool(const struct fd_host *h, const struct fd_directive *d, int i,
    int *out)
{
	if (i >= d->argc || grey_bool_parse(d->argv[i], out) < 0) {
		f_conf_error(h, d, i, "bad boolean");
		return -1;
	}
	return 0;
}

static const char *
f_get(const struct fd_txn *t, enum fd_field f)
{
	switch (f) {
	case FD_F_CLIENT_ADDR:
		return t->addr;
	case FD_F_CLIENT_NAME:
		return t->name != NULL ? t->name : "";
	case FD_F_SENDER:
		return t->sender;
	case FD_F_RCPT:
		return t->rcpt;
	case FD_F_AUTH_USER:
		return t->auth;
	case FD_F_MTA_NAME:
		return t->mta;
	default:
		return NULL;
	}
}

static int64_t
f_num(const struct fd_txn *t, enum fd_num n)
{
	switch (n) {
	case FD_N_CLIENT_VERIFIED:
		return t->verified;
	case FD_N_CLIENT_LOCAL:
		return t->local;
	case FD_N_FAMILY:
		return t->iplen == 4 ? 4 : t->iplen == 16 ? 6 : 0;
	default:
		return 0;
	}
}

static const char *
f_rcpt(const struct fd_txn *t, size_t i)
{
	return i < t->nrcpts ? t->rcpts[i] : NULL;
}

static size_t
f_client_ip(const struct fd_txn *t, unsigned char out[16])
{
	memcpy(out, t->ip, t->iplen);
	return t->iplen;
}

static const char *
f_param(const struct fd_txn *t, const char *plugin, const char *name)
{
	size_t	 i;

	ck_assert_str_eq(plugin, "greylist");
	for (i = 0; i < 8 && t->params[i][0] != NULL; i++)
		if (strcmp(t->params[i][0], name) == 0)
			return t->params[i][1];
	return NULL;
}

static void
f_reply(struct fd_txn *t, const char *rcode, const char *xcode,
    const char *fmt, ...)
{
	va_list	 ap;

	snprintf(t->rcode, sizeof(t->rcode), "%s", rcode);
	snprintf(t->xcode, sizeof(t->xcode), "%s", xcode);
	va_start(ap, fmt);
	vsnprintf(t->text, sizeof(t->text), fmt, ap);
	va_end(ap);
}

static void
f_reason(struct fd_txn *t, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(t->reason, sizeof(t->reason), fmt, ap);
	va_end(ap);
}

static int
f_add_header(struct fd_txn *t, const char *name, const char *value)
{
	snprintf(t->hdr_name, sizeof(t->hdr_name), "%s", name);
	snprintf(t->hdr_value, sizeof(t->hdr_value), "%s", value);
	t->nheaders++;
	return 0;
}

/* find - an entry of the fake store, NULL if absent or expired */
static struct fentry *
find(struct fentry *v, size_t n, const void *key, size_t len)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (v[i].len == len && memcmp(v[i].key, key, len) == 0)
			return v[i].expires > W.now ? &v[i] : NULL;
	return NULL;
}

/* slot - the entry for key, created (or reused when expired) */
static struct fentry *
slot(struct fentry *v, size_t *n, size_t cap, const void *key, size_t len)
{
	size_t	 i;

	for (i = 0; i < *n; i++)
		if (v[i].len == len && memcmp(v[i].key, key, len) == 0)
			return &v[i];
	ck_assert_uint_lt(*n, cap);
	v[*n].key = malloc(len);
	memcpy(v[*n].key, key, len);
	v[*n].len = len;
	v[*n].expires = 0;
	return &v[(*n)++];
}

/* req_copy - keep the bytes of a request's keys */
static void
req_copy(const struct fd_grey_req *rq, char *key, size_t *keylen, char *awl,
    size_t *awllen, int *has_awl)
{
	ck_assert_ptr_nonnull(rq->key);
	ck_assert_uint_le(rq->keylen, sizeof(W.rq_key));
	memcpy(key, rq->key, rq->keylen);
	*keylen = rq->keylen;
	*has_awl = rq->awl_key != NULL;
	*awllen = 0;
	if (rq->awl_key != NULL) {
		ck_assert_uint_le(rq->awl_keylen, sizeof(W.rq_key));
		memcpy(awl, rq->awl_key, rq->awl_keylen);
		*awllen = rq->awl_keylen;
	}
}

/* f_grey_check - the contract of fd_store_grey, in memory */
static int
f_grey_check(const struct fd_host *h, const struct fd_grey_req *rq,
    struct fd_grey_res *rs)
{
	struct fentry	*e, *a = NULL;
	char		 idkey[65536];
	size_t		 idlen = 0;

	W.calls++;
	req_copy(rq, W.rq_key, &W.rq_keylen, W.rq_awl, &W.rq_awllen,
	    &W.rq_has_awl);
	memset(rs, 0, sizeof(*rs));
	if (W.store_down)
		return FD_STORE_ERR;
	ck_assert_int_ge(rq->delay, 0);
	ck_assert_int_gt(rq->retry_window, 0);
	ck_assert_int_gt(rq->pass_ttl, 0);
	if (rq->awl_key != NULL && rq->awl_after > 0) {
		ck_assert_int_gt(rq->awl_ttl, 0);
		a = slot(W.awl, &W.nawl, 64, rq->awl_key, rq->awl_keylen);
		if (a->expires <= W.now)
			a->passes = 0;
		rs->awl_count = a->passes;
		if (a->expires > W.now && a->passes >= rq->awl_after) {
			a->expires = W.now + rq->awl_ttl;
			rs->state = FD_GREY_WHITELISTED;
			return FD_STORE_OK;
		}
	}
	ck_assert_uint_lt(idlen + rq->keylen, sizeof(idkey));
	memcpy(idkey + idlen, rq->key, rq->keylen);
	idlen += rq->keylen;
	if ((e = find(W.e, W.n, idkey, idlen)) == NULL) {
		e = slot(W.e, &W.n, 256, idkey, idlen);
		e->first = W.now;
		e->passes = 0;
		e->expires = W.now + rq->retry_window;
		rs->state = FD_GREY_NEW;
		rs->first_seen = W.now;
		rs->retry_after = rq->delay;
		return FD_STORE_OK;
	}
	rs->first_seen = e->first;
	if (W.now < e->first + rq->delay) {
		rs->state = FD_GREY_EARLY;
		rs->retry_after = e->first + rq->delay - W.now;
		rs->passes = e->passes;
		return FD_STORE_OK;
	}
	e->passes++;
	e->expires = W.now + rq->pass_ttl;
	rs->state = FD_GREY_PASSED;
	rs->passes = e->passes;
	if (a != NULL) {
		a->passes++;
		a->expires = W.now + rq->awl_ttl;
		rs->awl_count = a->passes;
	}
	return FD_STORE_OK;
}

static char *
f_escape(char *dst, size_t dstlen, const void *src, size_t len)
{
	snprintf(dst, dstlen, "%.*s", (int)len, (const char *)src);
	return dst;
}

static const char *
f_conf_dir(const struct fd_host *h)
{
	return W.conf_dir;
}

/* f_plan_grey - a planned request: its bytes kept for f_grey_txn */
static int
f_plan_grey(struct fd_txn *t, const struct fd_grey_req *rq,
    struct fd_grey_res *res, int *rc)
{
	W.planned++;
	req_copy(rq, W.pkey, &W.pkeylen, W.pawl, &W.pawllen, &W.p_has_awl);
	return 0;
}

/* f_grey_txn - a request made through the plan: in this test it is
 * always the one planned, byte for byte */
static int
f_grey_txn(struct fd_txn *t, const struct fd_grey_req *rq,
    struct fd_grey_res *rs)
{
	W.txns++;
	if (W.planned > 0) {
		ck_assert_uint_eq(rq->keylen, W.pkeylen);
		ck_assert_mem_eq(rq->key, W.pkey, W.pkeylen);
		ck_assert_int_eq(rq->awl_key != NULL, W.p_has_awl);
		ck_assert_uint_eq(rq->awl_keylen, W.pawllen);
		if (W.p_has_awl)
			ck_assert_mem_eq(rq->awl_key, W.pawl, W.pawllen);
	}
	return f_grey_check(NULL, rq, rs);
}

static struct fd_host H = {
	.abi_major = FD_PLUGIN_ABI_MAJOR,
	.abi_minor = FD_PLUGIN_ABI_MINOR,
	.size = sizeof(struct fd_host),
	.log = f_log,
	.now = f_now,
	.dir_next = f_dir_next,
	.dir_name = f_dir_name,
	.dir_argc = f_dir_argc,
	.dir_arg = f_dir_arg,
	.conf_error = f_conf_error,
	.arg_duration = f_arg_duration,
	.arg_uint = f_arg_uint,
	.arg_bool = f_arg_bool,
	.get = f_get,
	.num = f_num,
	.rcpt = f_rcpt,
	.client_ip = f_client_ip,
	.param = f_param,
	.reply = f_reply,
	.reason = f_reason,
	.add_header = f_add_header,
	.grey_check = f_grey_check,
	.escape = f_escape,
	.conf_dir = f_conf_dir,
	.log_txn = f_log_txn,
	.conf_unknown = f_conf_unknown,
};

/* block_parse - "name arg 'quoted arg'; name2 ..." into a block */
static struct fd_block *
block_parse(const char *text)
{
	struct fd_block		*b = calloc(1, sizeof(*b));
	struct fd_directive	**tail = &b->head, *d = NULL;
	const char		*p = text;
	char			 word[512];
	size_t			 n;

	for (;;) {
		p += strspn(p, " \t\n");
		if (*p == '\0')
			break;
		if (*p == ';') {
			d = NULL;
			p++;
			continue;
		}
		n = 0;
		if (*p == '"') {
			for (p++; *p != '\0' && *p != '"'; p++)
				word[n++] = *p;
			if (*p == '"')
				p++;
		} else
			while (*p != '\0' && strchr(" \t\n;", *p) == NULL)
				word[n++] = *p++;
		word[n] = '\0';
		if (d == NULL) {
			d = calloc(1, sizeof(*d));
			d->name = strdup(word);
			*tail = d;
			tail = &d->next;
		} else
			d->argv[d->argc++] = strdup(word);
	}
	return b;
}

static void
block_free(struct fd_block *b)
{
	struct fd_directive	*d, *next;
	int			 i;

	for (d = b->head; d != NULL; d = next) {
		next = d->next;
		for (i = 0; i < d->argc; i++)
			free(d->argv[i]);
		free(d->name);
		free(d);
	}
	free(b);
}

static void
world_reset(void)
{
	size_t	 i;

	for (i = 0; i < W.n; i++)
		free(W.e[i].key);
	for (i = 0; i < W.nawl; i++)
		free(W.awl[i].key);
	memset(&W, 0, sizeof(W));
	W.now = 1732360000;
}

/* plugin_new - init the plugin with a block; NULL (errors in W) on failure */
static void *
plugin_new(const char *text)
{
	struct fd_block	*b = block_parse(text);
	void		*state = NULL;
	int		 rc;

	rc = filterd_plugin.init(&H, b, &state);
	block_free(b);
	return rc == 0 ? state : NULL;
}

static void
txn_init(struct fd_txn *t, const char *addr, const char *sender)
{
	memset(t, 0, sizeof(*t));
	snprintf(t->addr, sizeof(t->addr), "%s", addr);
	t->iplen = grey_ip_parse(addr, t->ip);
	t->sender = sender;
	t->mta = "mx.test.example";
}

/* rcpt - one RCPT through the plugin with a fresh message slot */
static enum fd_action
rcpt(void *state, struct fd_txn *t, struct grey_msg *m, const char *to)
{
	enum fd_action	 a;

	t->rcpt = to;
	t->rcode[0] = t->text[0] = t->reason[0] = '\0';
	a = filterd_plugin.on_rcpt(t, state, NULL, m);
	if (a == FD_CONTINUE)
		t->rcpts[t->nrcpts++] = to;
	return a;
}

/* message - MAIL, the RCPTs (results in acts), body, EOM; returns EOM's
 * action (FD_CONTINUE if the message never got there) */
static enum fd_action
message(void *state, struct fd_txn *t, const char *const *to, size_t n,
    enum fd_action *acts, const char *body)
{
	struct grey_msg	 m;
	enum fd_action	 a = FD_CONTINUE;
	size_t		 i;

	memset(&m, 0, sizeof(m));
	t->nrcpts = 0;
	t->nheaders = 0;
	t->hdr_name[0] = t->hdr_value[0] = '\0';
	for (i = 0; i < n; i++)
		acts[i] = rcpt(state, t, &m, to[i]);
	if (t->nrcpts > 0) {
		t->rcode[0] = t->text[0] = t->reason[0] = '\0';
		if (body != NULL)
			filterd_plugin.on_body(t, state, NULL, &m,
			    (const unsigned char *)body, strlen(body));
		a = filterd_plugin.on_eom(t, state, NULL, &m);
	}
	filterd_plugin.msg_end(state, NULL, &m);
	return a;
}

START_TEST(test_plugin_table)
{
	ck_assert_uint_eq(filterd_plugin.magic, FD_PLUGIN_MAGIC);
	ck_assert_uint_eq(filterd_plugin.abi_major, FD_PLUGIN_ABI_MAJOR);
	ck_assert_str_eq(filterd_plugin.name, "greylist");
	ck_assert_uint_eq(filterd_plugin.stages,
	    FD_ST_RCPT | FD_ST_BODY | FD_ST_EOM);
	ck_assert_uint_eq(filterd_plugin.flags & FD_PF_ADDHDR, FD_PF_ADDHDR);
	ck_assert_uint_eq(filterd_plugin.msg_priv_size, sizeof(struct grey_msg));
}
END_TEST

START_TEST(test_conf_defaults)
{
	struct grey_conf	*c;

	world_reset();
	ck_assert_ptr_nonnull(c = plugin_new(""));
	ck_assert_int_eq(c->delay, 300);
	ck_assert_int_eq(c->retry_window, 2 * 86400);
	ck_assert_int_eq(c->pass_ttl, 35 * 86400);
	ck_assert_uint_eq(c->awl_after, 3);
	ck_assert_int_eq(c->awl_ttl, 35 * 86400);
	ck_assert_int_eq(c->awl_per_domain, 0);
	ck_assert_int_eq(c->client.v4_prefix, 24);
	ck_assert_int_eq(c->client.v6_prefix, 64);
	ck_assert_int_eq(c->decide_eom, 0);
	ck_assert_int_eq(c->null_eom, 1);
	ck_assert_int_eq(c->body_hash, 0);
	ck_assert_uint_eq(c->body_max, 4096);
	ck_assert_int_eq(c->header, 1);
	ck_assert_str_eq(c->message, GREY_MESSAGE_DEFAULT);
	ck_assert_uint_eq(c->norm, GREY_N_ALL);
	ck_assert_str_eq(c->delims, "+");
	ck_assert_int_eq(c->skip_auth, 1);
	ck_assert_int_eq(c->skip_local, 1);
	ck_assert_int_eq(c->client.pool_rdns, 0);
	ck_assert_ptr_null(c->client.pools);
	filterd_plugin.fini(c);
}
END_TEST

START_TEST(test_conf_all)
{
	struct grey_conf	*c;
	char			*dir = tmpdir(), *pools, *psl, *nets;

	world_reset();
	W.conf_dir = dir;
	pools = write_file(dir, "pools", "bigmail 203.0.113.0/24 "
	    "bigmail.example\n# comment\nother other.example\n");
	psl = write_file(dir, "psl", "// PSL\ncom\nuk\nco.uk\n*.ck\n");
	nets = write_file(dir, "nets", "198.51.100.0/24\n2001:db8::/32\n");
	ck_assert_ptr_nonnull(c = plugin_new(
	    "delay 1m; retry-window 1d; whitelist-for 10d;"
	    "auto-whitelist 5 7d per-domain; ipv4-prefix 28; ipv6-prefix 56;"
	    "decide-at eom; null-sender rcpt; body-hash on 8k;"
	    "pool-by-rdns on; pools ./pools; pool extra 192.0.2.0/25;"
	    "public-suffixes ./psl; header off; message \"wait %m min\";"
	    "normalize srs batv; subaddress-delimiters \"+-\";"
	    "skip-authenticated off; skip-local no;"
	    "whitelist-networks 10.0.0.0/8 ./nets;"
	    "whitelist-domains trusted.example;"
	    "whitelist-senders boss@example.com;"
	    "whitelist-recipients postmaster@ abuse@example.org;"
	    "on-store-error tempfail"));
	ck_assert_str_eq(W.errors, "");
	ck_assert_int_eq(c->delay, 60);
	ck_assert_int_eq(c->retry_window, 86400);
	ck_assert_int_eq(c->pass_ttl, 10 * 86400);
	ck_assert_uint_eq(c->awl_after, 5);
	ck_assert_int_eq(c->awl_ttl, 7 * 86400);
	ck_assert_int_eq(c->awl_per_domain, 1);
	ck_assert_int_eq(c->client.v4_prefix, 28);
	ck_assert_int_eq(c->client.v6_prefix, 56);
	ck_assert_int_eq(c->decide_eom, 1);
	ck_assert_int_eq(c->null_eom, 0);
	ck_assert_int_eq(c->body_hash, 1);
	ck_assert_uint_eq(c->body_max, 8192);
	ck_assert_int_eq(c->client.pool_rdns, 1);
	ck_assert_ptr_nonnull(c->client.pools);
	ck_assert_uint_eq(c->pools.n, 3);
	ck_assert_ptr_nonnull(c->client.psl);
	ck_assert_uint_eq(grey_suffix_count(c->psl), 4);
	ck_assert_int_eq(c->header, 0);
	ck_assert_str_eq(c->message, "wait %m min");
	ck_assert_uint_eq(c->norm, GREY_N_SRS | GREY_N_BATV);
	ck_assert_str_eq(c->delims, "+-");
	ck_assert_int_eq(c->skip_auth, 0);
	ck_assert_int_eq(c->skip_local, 0);
	ck_assert_uint_eq(c->wl_nets.n, 3);
	ck_assert_uint_eq(c->wl_domains.n, 1);
	ck_assert_uint_eq(c->wl_senders.n, 1);
	ck_assert_uint_eq(c->wl_rcpts.n, 2);
	filterd_plugin.fini(c);
	/* auto-whitelist off and the whitelist-after alias */
	ck_assert_ptr_nonnull(c = plugin_new("auto-whitelist off"));
	ck_assert_uint_eq(c->awl_after, 0);
	filterd_plugin.fini(c);
	ck_assert_ptr_nonnull(c = plugin_new("whitelist-after 7"));
	ck_assert_uint_eq(c->awl_after, 7);
	filterd_plugin.fini(c);
	/* a list directive adds to its list each time it is given */
	ck_assert_ptr_nonnull(c = plugin_new("whitelist-networks "
	    "192.0.2.0/24; whitelist-networks 198.51.100.0/24; pool a "
	    "a.example; pool b b.example"));
	ck_assert_str_eq(W.errors, "");
	ck_assert_uint_eq(c->wl_nets.n, 2);
	ck_assert_uint_eq(c->pools.n, 2);
	filterd_plugin.fini(c);
	unlink(pools);
	unlink(psl);
	unlink(nets);
	free(pools);
	free(psl);
	free(nets);
	rmdir(dir);
	free(dir);
}
END_TEST

struct conf_err_case {
	const char	*block;
	const char	*error;		/* a substring of the errors */
};

static const struct conf_err_case conf_errs[] = {
	{ "colour blue", "colour[-1]: unknown directive \"colour\" (25 known)" },
	{ "delay", "delay[-1]: usage: delay DURATION" },
	{ "delay soon", "delay[0]: bad duration" },
	{ "delay 10m; retry-window 5m", "retry-window[0]: retry-window (300s) "
	    "must be longer than delay (600s)" },
	{ "delay 3d", "delay[0]: retry-window (172800s) must be longer" },
	{ "retry-window 0", "retry-window[0]: retry-window: must be at least 1s" },
	{ "retry-window 5300w", "retry-window[0]: retry-window: at most 36600d "
	    "(100 years), the longest the store keeps an entry" },
	{ "whitelist-for 99999d", "whitelist-for[0]: whitelist-for: at most "
	    "36600d" },
	{ "auto-whitelist 3 36601d", "auto-whitelist[1]: auto-whitelist: at "
	    "most 36600d" },
	{ "auto-whitelist 3 7d sometimes", "auto-whitelist[2]: auto-whitelist: "
	    "\"sometimes\": expected per-domain" },
	{ "auto-whitelist 3 0", "auto-whitelist[1]: auto-whitelist: the period "
	    "must be positive" },
	{ "auto-whitelist many", "auto-whitelist[0]: bad number" },
	{ "ipv4-prefix 33", "ipv4-prefix[0]: ipv4-prefix: 33 is not between 1 "
	    "and 32" },
	{ "ipv6-prefix 0", "ipv6-prefix[0]: ipv6-prefix: 0 is not between" },
	{ "decide-at data", "decide-at[0]: decide-at: \"data\": expected rcpt "
	    "or eom" },
	{ "body-hash on 100k", "body-hash[1]: body-hash: size must be between "
	    "1 and 65536" },
	{ "header maybe", "header[0]: bad boolean" },
	{ "message \"retry in %x\"", "message[0]: message: unknown placeholder "
	    "at offset 9" },
	{ "normalize srs sideways", "normalize[1]: normalize: unknown step "
	    "\"sideways\"" },
	{ "subaddress-delimiters \"@\"", "subaddress-delimiters[0]" },
	{ "whitelist-networks 192.0.2.1/24", "whitelist-networks[0]: "
	    "whitelist-networks: \"192.0.2.1/24\": host bits set" },
	{ "whitelist-domains a@b.example", "whitelist-domains[0]: "
	    "whitelist-domains: \"a@b.example\": a domain, not an address" },
	{ "whitelist-networks /nonexistent/nets", "whitelist-networks[0]: "
	    "whitelist-networks: /nonexistent/nets: No such file or directory" },
	{ "pool bigmail", "pool[-1]: usage: pool NAME MEMBER..." },
	{ "pool bigmail a@b.example", "pool[1]: pool: \"a@b.example\": a pool "
	    "member is a network or a domain" },
	{ "public-suffixes /nonexistent/psl", "public-suffixes[0]: "
	    "public-suffixes: /nonexistent/psl: No such file" },
	{ "on-store-error maybe", "on-store-error[0]" },
	/* a value given twice: the second would silently undo the first */
	{ "delay 5m; retry-window 3d; delay 10m", "delay[-1]: \"delay\" is "
	    "given more than once" },
	{ "message \"a %m\"; message \"b %m\"", "message[-1]: \"message\" is "
	    "given more than once" },
};

START_TEST(test_conf_errors)
{
	const struct conf_err_case	*c = &conf_errs[_i];

	world_reset();
	ck_assert_ptr_null(plugin_new(c->block));
	ck_assert_msg(strstr(W.errors, c->error) != NULL, "block \"%s\": "
	    "errors \"%s\", want \"%s\"", c->block, W.errors, c->error);
}
END_TEST

/* the store refuses an entry kept longer than FD_STORE_TTL_MAX: such a
 * duration is refused at load, in the block and in a rule's set, rather
 * than failing every store call */
START_TEST(test_conf_ttl_max)
{
	struct grey_conf	*c;
	char			 why[256];

	world_reset();
	ck_assert_ptr_nonnull(c = plugin_new("delay 36599d; retry-window "
	    "36600d; whitelist-for 36600d; auto-whitelist 3 36600d"));
	ck_assert_str_eq(W.errors, "");
	ck_assert_int_eq(c->pass_ttl, FD_STORE_TTL_MAX);
	ck_assert_int_eq(c->awl_ttl, FD_STORE_TTL_MAX);
	ck_assert_int_eq(filterd_plugin.check_set(c, "whitelist-for", "36600d",
	    why, sizeof(why)), FD_SET_OK);
	ck_assert_int_eq(filterd_plugin.check_set(c, "auto-whitelist-for",
	    "36601d", why, sizeof(why)), FD_SET_BAD_VALUE);
	ck_assert_ptr_nonnull(strstr(why, "36600d"));
	ck_assert_int_eq(filterd_plugin.check_set(c, "retry-window", "99999d",
	    why, sizeof(why)), FD_SET_BAD_VALUE);
	/* a delay the stretched retry-window (delay + 1s) cannot outlast */
	ck_assert_int_eq(filterd_plugin.check_set(c, "delay", "36599d", why,
	    sizeof(why)), FD_SET_OK);
	ck_assert_int_eq(filterd_plugin.check_set(c, "delay", "36600d", why,
	    sizeof(why)), FD_SET_BAD_VALUE);
	filterd_plugin.fini(c);
}
END_TEST

/* every problem is reported, not only the first */
START_TEST(test_conf_all_errors)
{
	world_reset();
	ck_assert_ptr_null(plugin_new("delay x; ipv4-prefix 40; colour red"));
	ck_assert_ptr_nonnull(strstr(W.errors, "delay[0]"));
	ck_assert_ptr_nonnull(strstr(W.errors, "ipv4-prefix[0]"));
	ck_assert_ptr_nonnull(strstr(W.errors, "colour[-1]"));
}
END_TEST

/* a file with bad entries names the file, the line and the column of
 * each */
START_TEST(test_conf_file_errors)
{
	char	*dir = tmpdir(), *p, *q, want[PATH_MAX + 64];

	world_reset();
	W.conf_dir = dir;
	p = write_file(dir, "nets", "192.0.2.0/24\n\nnot-a-net\n"
	    "198.51.100.0/24, 300.1.2.3 also-bad\n");
	q = write_file(dir, "pools", "lonely\n");
	ck_assert_ptr_null(plugin_new("whitelist-networks ./nets; pools "
	    "./pools"));
	/* the file is named as the core names its own: no "./" step */
	snprintf(want, sizeof(want), "%s/nets:3:1: ", dir);
	ck_assert_msg(strstr(W.errors, want) != NULL, "%s", W.errors);
	ck_assert_msg(strstr(W.errors, "/nets:3:1: \"not-a-net\": not an IPv4 "
	    "or IPv6 address") != NULL, "%s", W.errors);
	ck_assert_msg(strstr(W.errors, "/nets:4:18: \"300.1.2.3\": not an "
	    "IPv4 or IPv6 address") != NULL, "%s", W.errors);
	ck_assert_msg(strstr(W.errors, "/nets:4:28: \"also-bad\": not an "
	    "IPv4 or IPv6 address") != NULL, "%s", W.errors);
	ck_assert_msg(strstr(W.errors, "/pools:1:1: expected NAME MEMBER...")
	    != NULL, "%s", W.errors);
	unlink(p);
	unlink(q);
	free(p);
	free(q);
	rmdir(dir);
	free(dir);
}
END_TEST

/*
 * A bad item in a list file is named at file:line:col, the column that
 * of the item's first byte as the core counts it (a tab is one, a byte
 * order mark none); a line too long has no item to point at, keeps
 * file:line alone, and ends the file (what follows it is not read).
 */
static const struct file_err_case {
	const char	*dir;
	const char	*text;
	size_t		 len;		/* 0: strlen(text) */
	const char	*want;		/* after the file's path */
} file_err_cases[] = {
	{ "whitelist-networks", "192.0.2.0/24\n\n\t10.0.0.0/8, not-a-net\n", 0,
	  ":3:14: \"not-a-net\": not an IPv4 or IPv6 address" },
	{ "whitelist-domains", "\xef\xbb\xbfok.example user@x.example\n", 0,
	  ":1:12: \"user@x.example\": a domain, not an address" },
	{ "whitelist-senders", "ok@x.example\n  a@b@c\n", 0,
	  ":2:3: \"a@b@c\": not a domain, an address or a local part with @" },
	{ "whitelist-recipients", "a\nb\0c\n", 6,
	  ":2:2: NUL byte in the line" },
	{ "pools", "  lonely\n", 0, ":1:3: expected NAME MEMBER..." },
	{ "pools", "big 203.0.113.0/24,198.51.100.1/24\n", 0,
	  ":1:20: \"198.51.100.1/24\": host bits set after the prefix length" },
	{ "public-suffixes", "com\n\n  a..b rest\n", 0,
	  ":3:3: \"a..b\": not a public suffix rule" },
	{ "whitelist-domains", "a a a a a a a a a a a a a a a a a a a a a a a a a "
	  "a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a "
	  "a a a a a b\n", 0, ":1:129: more than 64 words on a line" },
};

START_TEST(test_conf_file_columns)
{
	const struct file_err_case *fc = &file_err_cases[_i];
	char	*dir = tmpdir(), *p, block[512], want[1024];
	char	 big[5000];
	FILE	*fp;

	world_reset();
	p = write_file(dir, "list", "");
	ck_assert_ptr_nonnull(fp = fopen(p, "w"));
	ck_assert_uint_eq(fwrite(fc->text, 1, fc->len ? fc->len :
	    strlen(fc->text), fp), fc->len ? fc->len : strlen(fc->text));
	ck_assert_int_eq(fclose(fp), 0);
	snprintf(block, sizeof(block), "%s %s", fc->dir, p);
	ck_assert_ptr_null(plugin_new(block));
	snprintf(want, sizeof(want), "%s[0]: %s: %s%s\n", fc->dir, fc->dir, p,
	    fc->want);
	ck_assert_str_eq(W.errors, want);

	/* past the reader's buffer: no column */
	world_reset();
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	ck_assert_ptr_nonnull(fp = fopen(p, "w"));
	fprintf(fp, "x\n%s\nnot-a-domain!\n", big);
	ck_assert_int_eq(fclose(fp), 0);
	snprintf(block, sizeof(block), "whitelist-domains %s", p);
	ck_assert_ptr_null(plugin_new(block));
	snprintf(want, sizeof(want), "whitelist-domains[0]: whitelist-domains: "
	    "%s:2: line longer than 4095 bytes; the rest of this file is not "
	    "read\n", p);
	ck_assert_str_eq(W.errors, want);
	unlink(p);
	free(p);
	rmdir(dir);
	free(dir);
}
END_TEST

#define T0	1732360000

/* every transition of one triplet at RCPT, with the header at EOM */
START_TEST(test_rcpt_transitions)
{
	static const char *const to[] = { "rcpt@dest.example" };
	struct fd_txn	 t;
	enum fd_action	 acts[1];
	void		*st;

	world_reset();
	ck_assert_ptr_nonnull(st = plugin_new("auto-whitelist off"));
	txn_init(&t, "192.0.2.10", "sender@src.example");
	/* first sight */
	ck_assert_int_eq(message(st, &t, to, 1, acts, NULL), FD_CONTINUE);
	ck_assert_int_eq(acts[0], FD_TEMPFAIL);
	ck_assert_str_eq(t.rcode, "451");
	ck_assert_str_eq(t.xcode, "4.7.1");
	ck_assert_str_eq(t.text, "Greylisted: your server must retry in 300 "
	    "seconds; see RFC 6647");
	ck_assert_str_eq(t.reason, "greylisted (new), client "
	    "net:192.0.2.0/24, retry in 300s");
	/* early retry: still deferred, the timer not reset */
	W.now = T0 + 120;
	message(st, &t, to, 1, acts, NULL);
	ck_assert_int_eq(acts[0], FD_TEMPFAIL);
	ck_assert_str_eq(t.text, "Greylisted: your server must retry in 180 "
	    "seconds; see RFC 6647");
	ck_assert_str_eq(t.reason, "greylisted (early retry), client "
	    "net:192.0.2.0/24, retry in 180s");
	W.now = T0 + 299;
	message(st, &t, to, 1, acts, NULL);
	ck_assert_int_eq(acts[0], FD_TEMPFAIL);
	ck_assert_str_eq(t.text, "Greylisted: your server must retry in 1 "
	    "seconds; see RFC 6647");
	/* after the delay, from another address of the /24: passes */
	W.now = T0 + 312;
	txn_init(&t, "192.0.2.99", "sender@src.example");
	ck_assert_int_eq(message(st, &t, to, 1, acts, NULL), FD_CONTINUE);
	ck_assert_int_eq(acts[0], FD_CONTINUE);
	ck_assert_int_eq(t.nheaders, 1);
	ck_assert_str_eq(t.hdr_name, "X-Greylist");
	ck_assert_str_eq(t.hdr_value, "delayed 312 seconds by filterd-greylist "
	    "at mx.test.example; Sat, 23 Nov 2024 11:11:52 +0000");
	ck_assert_ptr_nonnull(strstr(W.log, "triplet passed after 312s: "
	    "client net:192.0.2.0/24 from <sender@src.example> to "
	    "<rcpt@dest.example>"));
	/* later messages pass without a header */
	W.now = T0 + 86400;
	message(st, &t, to, 1, acts, NULL);
	ck_assert_int_eq(acts[0], FD_CONTINUE);
	ck_assert_int_eq(t.nheaders, 0);
	/* kept for whitelist-for after the last pass, then forgotten */
	W.now = T0 + 86400 + 35 * 86400 - 1;
	message(st, &t, to, 1, acts, NULL);
	ck_assert_int_eq(acts[0], FD_CONTINUE);
	W.now += 35 * 86400;
	message(st, &t, to, 1, acts, NULL);
	ck_assert_int_eq(acts[0], FD_TEMPFAIL);
	ck_assert_str_eq(t.reason, "greylisted (new), client "
	    "net:192.0.2.0/24, retry in 300s");
	filterd_plugin.fini(st);
}
END_TEST

/*
 * The first-pass line writes addresses as the decision line does: a
 * quoted local part's space and '>' escaped, so that it cannot write
 * what reads as the line's own "to <...>"
 */
START_TEST(test_pass_line_quoted)
{
	static const char *const to[] = { "rcpt@dest.example" };
	static const char from[] = "\"a> to <forged@x.example\"@src.example";
	struct fd_txn	 t;
	enum fd_action	 acts[1];
	void		*st;

	world_reset();
	ck_assert_ptr_nonnull(st = plugin_new("auto-whitelist off"));
	txn_init(&t, "192.0.2.10", from);
	message(st, &t, to, 1, acts, NULL);
	ck_assert_int_eq(acts[0], FD_TEMPFAIL);
	W.now = T0 + 300;
	txn_init(&t, "192.0.2.10", from);
	message(st, &t, to, 1, acts, NULL);
	ck_assert_int_eq(acts[0], FD_CONTINUE);
	/* (the fake host's escape() leaves the quotes alone) */
	ck_assert_msg(strstr(W.log, "a\\x3e\\x20to\\x20<forged@x.example") !=
	    NULL && strstr(W.log, "@src.example> to <rcpt@dest.example>") !=
	    NULL, "%s", W.log);
	filterd_plugin.fini(st);
}
END_TEST

/* an unconfirmed entry expires after the retry window */
START_TEST(test_rcpt_window)
{
	static const char *const to[] = { "rcpt@dest.example" };
	struct fd_txn	 t;
	enum fd_action	 acts[1];
	void		*st;

	world_reset();
	ck_assert_ptr_nonnull(st = plugin_new("delay 10m; retry-window 1h"));
	txn_init(&t, "192.0.2.10", "sender@src.example");
	message(st, &t, to, 1, acts, NULL);
	ck_assert_int_eq(acts[0], FD_TEMPFAIL);
	W.now = T0 + 3600;
	message(st, &t, to, 1, acts, NULL);
	ck_assert_int_eq(acts[0], FD_TEMPFAIL);
	ck_assert_str_eq(t.reason, "greylisted (new), client "
	    "net:192.0.2.0/24, retry in 600s");
	W.now = T0 + 3600 + 600;
	message(st, &t, to, 1, acts, NULL);
	ck_assert_int_eq(acts[0], FD_CONTINUE);
	filterd_plugin.fini(st);
}
END_TEST

/* several recipients at RCPT: only the new ones are deferred */
START_TEST(test_rcpt_partial)
{
	static const char *const one[] = { "a@dest.example" };
	static const char *const two[] = { "a@dest.example", "b@dest.example" };
	struct fd_txn	 t;
	enum fd_action	 acts[2];
	void		*st;

	world_reset();
	ck_assert_ptr_nonnull(st = plugin_new(""));
	txn_init(&t, "192.0.2.10", "s@src.example");
	message(st, &t, one, 1, acts, NULL);
	W.now = T0 + 300;
	message(st, &t, two, 2, acts, NULL);
	ck_assert_int_eq(acts[0], FD_CONTINUE);
	ck_assert_int_eq(acts[1], FD_TEMPFAIL);
	ck_assert_int_eq(t.nheaders, 1);	/* a was delayed */
	filterd_plugin.fini(st);
}
END_TEST

/* the same message decided at EOM: all or nothing */
START_TEST(test_eom_mode)
{
	static const char *const one[] = { "a@dest.example" };
	static const char *const two[] = { "a@dest.example", "b@dest.example" };
	struct fd_txn	 t;
	enum fd_action	 acts[2];
	void		*st;

	world_reset();
	ck_assert_ptr_nonnull(st = plugin_new("decide-at eom"));
	txn_init(&t, "192.0.2.10", "s@src.example");
	ck_assert_int_eq(message(st, &t, one, 1, acts, NULL), FD_TEMPFAIL);
	ck_assert_int_eq(acts[0], FD_CONTINUE);
	ck_assert_str_eq(t.rcode, "451");
	ck_assert_str_eq(t.xcode, "4.7.1");
	ck_assert_str_eq(t.reason, "greylisted (new message), client "
	    "net:192.0.2.0/24, retry in 300s");
	W.now = T0 + 300;
	ck_assert_int_eq(message(st, &t, two, 2, acts, NULL), FD_TEMPFAIL);
	ck_assert_int_eq(acts[0], FD_CONTINUE);
	ck_assert_int_eq(acts[1], FD_CONTINUE);
	ck_assert_str_eq(t.reason, "greylisted (new recipients of the "
	    "message), client net:192.0.2.0/24, retry in 300s");
	ck_assert_int_eq(t.nheaders, 0);
	W.now = T0 + 600;
	ck_assert_int_eq(message(st, &t, two, 2, acts, NULL), FD_CONTINUE);
	ck_assert_int_eq(t.nheaders, 1);
	ck_assert_str_eq(t.hdr_value, "delayed 300 seconds by filterd-greylist "
	    "at mx.test.example; Sat, 23 Nov 2024 11:16:40 +0000");
	filterd_plugin.fini(st);
}
END_TEST

/* a rule's `set greylist.decide-at eom` and other overrides */
START_TEST(test_params)
{
	static const char *const one[] = { "a@dest.example" };
	struct fd_txn	 t;
	enum fd_action	 acts[1];
	void		*st;

	world_reset();
	ck_assert_ptr_nonnull(st = plugin_new(""));
	txn_init(&t, "192.0.2.10", "s@src.example");
	t.params[0][0] = "delay";
	t.params[0][1] = "1m";
	t.params[1][0] = "message";
	t.params[1][1] = "come back in %m minute(s)";
	t.params[2][0] = "decide-at";
	t.params[2][1] = "eom";
	ck_assert_int_eq(message(st, &t, one, 1, acts, NULL), FD_TEMPFAIL);
	ck_assert_str_eq(t.text, "come back in 1 minute(s)");
	W.now = T0 + 60;
	t.params[3][0] = "header";
	t.params[3][1] = "off";
	ck_assert_int_eq(message(st, &t, one, 1, acts, NULL), FD_CONTINUE);
	ck_assert_int_eq(t.nheaders, 0);
	/* a bad value is logged and ignored */
	txn_init(&t, "198.51.100.1", "s@src.example");
	t.params[0][0] = "delay";
	t.params[0][1] = "soon";
	message(st, &t, one, 1, acts, NULL);
	ck_assert_int_eq(acts[0], FD_TEMPFAIL);
	ck_assert_str_eq(t.text, "Greylisted: your server must retry in 300 "
	    "seconds; see RFC 6647");
	ck_assert_ptr_nonnull(strstr(W.log, "set greylist.delay \"soon\": bad "
	    "value, ignored"));
	filterd_plugin.fini(st);
}
END_TEST

/* `set greylist.message` takes what the message directive takes: one line
 * of at most 400 characters, at load and per message */
START_TEST(test_set_message_length)
{
	static const char *const one[] = { "a@dest.example" };
	struct fd_txn	 t;
	enum fd_action	 acts[1];
	char		 text[402], why[256];
	void		*st;

	world_reset();
	ck_assert_ptr_nonnull(st = plugin_new(""));
	memset(text, 'x', 400);
	text[400] = '\0';
	ck_assert_int_eq(filterd_plugin.check_set(st, "message", text, why,
	    sizeof(why)), FD_SET_OK);
	text[400] = 'x';
	text[401] = '\0';
	ck_assert_int_eq(filterd_plugin.check_set(st, "message", text, why,
	    sizeof(why)), FD_SET_BAD_VALUE);
	ck_assert_ptr_nonnull(strstr(why, "400"));
	txn_init(&t, "192.0.2.10", "s@src.example");
	t.params[0][0] = "message";
	t.params[0][1] = text;
	ck_assert_int_eq(message(st, &t, one, 1, acts, NULL), FD_CONTINUE);
	ck_assert_int_eq(acts[0], FD_TEMPFAIL);
	ck_assert_str_eq(t.text, "Greylisted: your server must retry in 300 "
	    "seconds; see RFC 6647");
	filterd_plugin.fini(st);
}
END_TEST

/* the null sender is decided at EOM for all recipients by default */
START_TEST(test_null_sender)
{
	static const char *const two[] = { "a@dest.example", "b@dest.example" };
	struct fd_txn	 t;
	enum fd_action	 acts[2];
	void		*st;

	world_reset();
	ck_assert_ptr_nonnull(st = plugin_new(""));
	txn_init(&t, "192.0.2.10", "");
	ck_assert_int_eq(message(st, &t, two, 2, acts, NULL), FD_TEMPFAIL);
	ck_assert_int_eq(acts[0], FD_CONTINUE);
	ck_assert_int_eq(acts[1], FD_CONTINUE);
	W.now = T0 + 300;
	ck_assert_int_eq(message(st, &t, two, 2, acts, NULL), FD_CONTINUE);
	filterd_plugin.fini(st);
	/* null-sender rcpt: per recipient like any sender */
	world_reset();
	ck_assert_ptr_nonnull(st = plugin_new("null-sender rcpt"));
	txn_init(&t, "192.0.2.10", "");
	message(st, &t, two, 2, acts, NULL);
	ck_assert_int_eq(acts[0], FD_TEMPFAIL);
	ck_assert_int_eq(acts[1], FD_TEMPFAIL);
	filterd_plugin.fini(st);
}
END_TEST

/* body-hash: the same message from another network passes after the delay */
START_TEST(test_body_hash)
{
	static const char *const one[] = { "a@dest.example" };
	static const char *body = "Hello,\r\nthis is the message.\r\n";
	struct fd_txn	 t;
	enum fd_action	 acts[1];
	void		*st;

	world_reset();
	ck_assert_ptr_nonnull(st = plugin_new("decide-at eom; body-hash on"));
	txn_init(&t, "192.0.2.10", "s@src.example");
	ck_assert_int_eq(message(st, &t, one, 1, acts, body), FD_TEMPFAIL);
	/* the retry from elsewhere, too early: still deferred */
	W.now = T0 + 100;
	txn_init(&t, "203.0.113.7", "s@src.example");
	ck_assert_int_eq(message(st, &t, one, 1, acts, body), FD_TEMPFAIL);
	ck_assert_str_eq(t.text, "Greylisted: your server must retry in 200 "
	    "seconds; see RFC 6647");
	/* after the delay: passes on the body key */
	W.now = T0 + 400;
	txn_init(&t, "198.51.100.7", "s@src.example");
	ck_assert_int_eq(message(st, &t, one, 1, acts, body), FD_CONTINUE);
	ck_assert_str_eq(t.hdr_value, "delayed 400 seconds by filterd-greylist "
	    "at mx.test.example; Sat, 23 Nov 2024 11:13:20 +0000");
	ck_assert_ptr_nonnull(strstr(W.log, "body passed after 400s"));
	/* another body from a new network is greylisted */
	W.now = T0 + 500;
	txn_init(&t, "100.64.0.1", "s@src.example");
	ck_assert_int_eq(message(st, &t, one, 1, acts, "Other text\r\n"),
	    FD_TEMPFAIL);
	filterd_plugin.fini(st);
	/* body-hash off: the same retry from another network is new */
	world_reset();
	ck_assert_ptr_nonnull(st = plugin_new("decide-at eom"));
	txn_init(&t, "192.0.2.10", "s@src.example");
	message(st, &t, one, 1, acts, body);
	W.now = T0 + 400;
	txn_init(&t, "198.51.100.7", "s@src.example");
	ck_assert_int_eq(message(st, &t, one, 1, acts, body), FD_TEMPFAIL);
	filterd_plugin.fini(st);
	/* only the first SIZE bytes count, carriage returns dropped: the
	 * retry through a relay that rewrote the line ends, its tail
	 * changed, is the same message; a change within SIZE is not */
	world_reset();
	ck_assert_ptr_nonnull(st = plugin_new("decide-at eom; body-hash on 16"));
	txn_init(&t, "192.0.2.10", "s@src.example");
	ck_assert_int_eq(message(st, &t, one, 1, acts,
	    "Line one\r\nLine two\r\nsent at 10:00\r\n"), FD_TEMPFAIL);
	W.now = T0 + 300;
	txn_init(&t, "198.51.100.7", "s@src.example");
	ck_assert_int_eq(message(st, &t, one, 1, acts,
	    "Line one\nLine two\nsent at 10:05\n"), FD_CONTINUE);
	ck_assert_ptr_nonnull(strstr(W.log, "body passed after 300s"));
	txn_init(&t, "203.0.113.7", "s@src.example");
	ck_assert_int_eq(message(st, &t, one, 1, acts,
	    "Line one\nLine 2\nsent at 10:00\n"), FD_TEMPFAIL);
	filterd_plugin.fini(st);
}
END_TEST

/* auto-whitelist: N passes from the network, then skipped, then expiry */
START_TEST(test_awl)
{
	const char	*to[1];
	char		 rcpt_buf[8][64];
	struct fd_txn	 t;
	enum fd_action	 acts[1];
	void		*st;
	int		 i;

	world_reset();
	ck_assert_ptr_nonnull(st = plugin_new("auto-whitelist 2 10d"));
	txn_init(&t, "192.0.2.10", "s@src.example");
	for (i = 0; i < 2; i++) {
		snprintf(rcpt_buf[i], sizeof(rcpt_buf[i]), "r%d@dest.example", i);
		to[0] = rcpt_buf[i];
		message(st, &t, to, 1, acts, NULL);
		ck_assert_int_eq(acts[0], FD_TEMPFAIL);
		W.now += 300;
		message(st, &t, to, 1, acts, NULL);
		ck_assert_int_eq(acts[0], FD_CONTINUE);
	}
	/* a new triplet from the network: whitelisted, no store entry made */
	to[0] = "new@dest.example";
	message(st, &t, to, 1, acts, NULL);
	ck_assert_int_eq(acts[0], FD_CONTINUE);
	ck_assert_int_eq(t.nheaders, 0);
	/* another sender domain too (not per-domain) */
	t.sender = "x@elsewhere.example";
	message(st, &t, to, 1, acts, NULL);
	ck_assert_int_eq(acts[0], FD_CONTINUE);
	/* refreshed on use: 9 days later, again, then 9 more */
	W.now += 9 * 86400;
	message(st, &t, to, 1, acts, NULL);
	ck_assert_int_eq(acts[0], FD_CONTINUE);
	W.now += 9 * 86400;
	message(st, &t, to, 1, acts, NULL);
	ck_assert_int_eq(acts[0], FD_CONTINUE);
	/* expired after 10 days unused: greylisted again */
	W.now += 10 * 86400;
	to[0] = "newer@dest.example";
	message(st, &t, to, 1, acts, NULL);
	ck_assert_int_eq(acts[0], FD_TEMPFAIL);
	filterd_plugin.fini(st);
}
END_TEST

/* auto-whitelist per-domain: counted per client network and sender domain */
START_TEST(test_awl_per_domain)
{
	static const char *const a[] = { "a@dest.example" };
	static const char *const b[] = { "b@dest.example" };
	struct fd_txn	 t;
	enum fd_action	 acts[1];
	void		*st;

	world_reset();
	ck_assert_ptr_nonnull(st = plugin_new("auto-whitelist 1 10d per-domain"));
	txn_init(&t, "192.0.2.10", "s@src.example");
	message(st, &t, a, 1, acts, NULL);
	W.now += 300;
	message(st, &t, a, 1, acts, NULL);
	ck_assert_int_eq(acts[0], FD_CONTINUE);
	t.sender = "other@src.example";
	message(st, &t, b, 1, acts, NULL);
	ck_assert_int_eq(acts[0], FD_CONTINUE);
	t.sender = "s@other.example";
	message(st, &t, b, 1, acts, NULL);
	ck_assert_int_eq(acts[0], FD_TEMPFAIL);
	filterd_plugin.fini(st);
}
END_TEST

/* clients and messages that are never greylisted */
START_TEST(test_exemptions)
{
	static const char *const to[] = { "r@dest.example" };
	static const char *const pm[] = { "postmaster@dest.example" };
	struct fd_txn	 t;
	enum fd_action	 acts[1];
	void		*st;

	world_reset();
	ck_assert_ptr_nonnull(st = plugin_new("whitelist-networks "
	    "198.51.100.0/24 2001:db8:aa::/48; whitelist-domains trusted.example;"
	    "whitelist-senders boss@src.example lists.example;"
	    "whitelist-recipients postmaster@"));
	txn_init(&t, "192.0.2.10", "s@src.example");
	t.auth = "alice";
	message(st, &t, to, 1, acts, NULL);
	ck_assert_int_eq(acts[0], FD_CONTINUE);
	t.auth = NULL;
	t.local = 1;
	message(st, &t, to, 1, acts, NULL);
	ck_assert_int_eq(acts[0], FD_CONTINUE);
	txn_init(&t, "198.51.100.200", "s@src.example");
	message(st, &t, to, 1, acts, NULL);
	ck_assert_int_eq(acts[0], FD_CONTINUE);
	txn_init(&t, "2001:db8:aa:1::9", "s@src.example");
	message(st, &t, to, 1, acts, NULL);
	ck_assert_int_eq(acts[0], FD_CONTINUE);
	txn_init(&t, "192.0.2.10", "s@src.example");
	t.name = "mx1.trusted.example";
	t.verified = 1;
	message(st, &t, to, 1, acts, NULL);
	ck_assert_int_eq(acts[0], FD_CONTINUE);
	t.verified = 0;			/* an unverified name counts for nothing */
	message(st, &t, to, 1, acts, NULL);
	ck_assert_int_eq(acts[0], FD_TEMPFAIL);
	txn_init(&t, "192.0.2.10", "Boss@Src.Example");
	message(st, &t, to, 1, acts, NULL);
	ck_assert_int_eq(acts[0], FD_CONTINUE);
	txn_init(&t, "192.0.2.10", "prvs=1234abcdef=boss@src.example");
	message(st, &t, to, 1, acts, NULL);
	ck_assert_int_eq(acts[0], FD_CONTINUE);
	txn_init(&t, "192.0.2.10", "owner-x@lists.example");
	message(st, &t, to, 1, acts, NULL);
	ck_assert_int_eq(acts[0], FD_CONTINUE);
	txn_init(&t, "192.0.2.10", "s@src.example");
	message(st, &t, pm, 1, acts, NULL);
	ck_assert_int_eq(acts[0], FD_CONTINUE);
	ck_assert_uint_eq(W.calls, 1);	/* only the unverified-name case */
	filterd_plugin.fini(st);
	/* skip-local off, skip-authenticated off */
	world_reset();
	ck_assert_ptr_nonnull(st = plugin_new("skip-local off; "
	    "skip-authenticated off"));
	txn_init(&t, "127.0.0.1", "s@src.example");
	t.local = 1;
	t.auth = "alice";
	message(st, &t, to, 1, acts, NULL);
	ck_assert_int_eq(acts[0], FD_TEMPFAIL);
	filterd_plugin.fini(st);
}
END_TEST

/* a store failure is FD_ERROR with a reason: the host applies the policy */
START_TEST(test_store_error)
{
	static const char *const to[] = { "r@dest.example" };
	struct fd_txn	 t;
	enum fd_action	 acts[1];
	void		*st;

	world_reset();
	ck_assert_ptr_nonnull(st = plugin_new(""));
	W.store_down = 1;
	txn_init(&t, "192.0.2.10", "s@src.example");
	message(st, &t, to, 1, acts, NULL);
	ck_assert_int_eq(acts[0], FD_ERROR);
	ck_assert_str_eq(t.reason, "greylist store unavailable");
	ck_assert_str_eq(t.rcode, "");
	filterd_plugin.fini(st);
	world_reset();
	ck_assert_ptr_nonnull(st = plugin_new("decide-at eom"));
	W.store_down = 1;
	txn_init(&t, "192.0.2.10", "s@src.example");
	ck_assert_int_eq(message(st, &t, to, 1, acts, NULL), FD_ERROR);
	ck_assert_str_eq(t.reason, "greylist store unavailable");
	filterd_plugin.fini(st);
}
END_TEST

/* normalization through the plugin: a fresh bounce address per message
 * still matches the first triplet */
START_TEST(test_normalized_retry)
{
	static const char *const to[] = { "rcpt@dest.example" };
	static const char *const variants[] = {
		"prvs=4321fedcba=news@src.example",
		"news+campaign77@SRC.example",
		"SRS0=ab12=XY=src.example=news@forwarder.example",
		"SRS1=zz=fwd1.example==ab12=XY=src.example=news@fwd2.example",
	};
	struct fd_txn	 t;
	enum fd_action	 acts[1];
	void		*st;
	size_t		 i;

	world_reset();
	ck_assert_ptr_nonnull(st = plugin_new("auto-whitelist off"));
	txn_init(&t, "192.0.2.10", "prvs=1234abcdef=news@src.example");
	message(st, &t, to, 1, acts, NULL);
	ck_assert_int_eq(acts[0], FD_TEMPFAIL);
	W.now = T0 + 300;
	for (i = 0; i < sizeof(variants) / sizeof(variants[0]); i++) {
		t.sender = variants[i];
		message(st, &t, to, 1, acts, NULL);
		ck_assert_msg(acts[0] == FD_CONTINUE, "variant %s", variants[i]);
	}
	ck_assert_uint_eq(W.n, 1);
	filterd_plugin.fini(st);
}
END_TEST

/* pool-by-rdns: a retry from another host of the same verified domain */
START_TEST(test_pool_rdns)
{
	static const char *const to[] = { "rcpt@dest.example" };
	struct fd_txn	 t;
	enum fd_action	 acts[1];
	void		*st;

	world_reset();
	ck_assert_ptr_nonnull(st = plugin_new("pool-by-rdns on; "
	    "pool bigmail 203.0.113.0/24 198.51.100.0/24"));
	txn_init(&t, "209.85.221.54", "s@gmail.example");
	t.name = "mail-wr1-f54.google.com";
	t.verified = 1;
	message(st, &t, to, 1, acts, NULL);
	ck_assert_int_eq(acts[0], FD_TEMPFAIL);
	ck_assert_str_eq(t.reason, "greylisted (new), client rdns:google.com, "
	    "retry in 300s");
	W.now = T0 + 300;
	txn_init(&t, "172.217.0.5", "s@gmail.example");
	t.name = "mail-yw1-f177.google.com";
	t.verified = 1;
	message(st, &t, to, 1, acts, NULL);
	ck_assert_int_eq(acts[0], FD_CONTINUE);
	/* a pool by networks */
	txn_init(&t, "203.0.113.5", "s@bigmail.example");
	message(st, &t, to, 1, acts, NULL);
	ck_assert_str_eq(t.reason, "greylisted (new), client pool:bigmail, "
	    "retry in 300s");
	W.now = T0 + 600;
	txn_init(&t, "198.51.100.77", "s@bigmail.example");
	message(st, &t, to, 1, acts, NULL);
	ck_assert_int_eq(acts[0], FD_CONTINUE);
	filterd_plugin.fini(st);
}
END_TEST

/* IPv6: the /64 by default, a configured prefix otherwise */
START_TEST(test_ipv6_prefix)
{
	static const char *const to[] = { "rcpt@dest.example" };
	struct fd_txn	 t;
	enum fd_action	 acts[1];
	void		*st;

	world_reset();
	ck_assert_ptr_nonnull(st = plugin_new("ipv6-prefix 48"));
	txn_init(&t, "2001:db8:1:2::25", "s@src.example");
	message(st, &t, to, 1, acts, NULL);
	ck_assert_str_eq(t.reason, "greylisted (new), client "
	    "net:2001:db8:1::/48, retry in 300s");
	W.now = T0 + 300;
	txn_init(&t, "2001:db8:1:ffff::1", "s@src.example");
	message(st, &t, to, 1, acts, NULL);
	ck_assert_int_eq(acts[0], FD_CONTINUE);
	filterd_plugin.fini(st);
}
END_TEST

/*
 * The store keys, byte for byte, as the plugin first made them: a store
 * written by an earlier filterd must keep working, so these texts never
 * change (a new format gets a new version tag, see grey_key.h).
 */
struct key_case {
	const char	*conf;
	const char	*addr;		/* NULL: the 16 bytes of ip16 */
	const char	*name;		/* verified, if set */
	const char	*sender;
	const char	*rcpt;
	const char	*key;
	const char	*awl;		/* given with the awl off too */
};

static const unsigned char mapped16[16] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0xff, 0xff, 192, 0, 2, 77 };

static const struct key_case key_cases[] = {
	{ "", "192.0.2.77", NULL, "<News+x@Src.Example>",
	    "<Rcpt@Dest.EXAMPLE.>",
	    "g1\nnet:192.0.2.0/24\nNews@src.example\nRcpt@dest.example",
	    "a1\nnet:192.0.2.0/24" },
	{ "ipv4-prefix 32; auto-whitelist off", "198.51.100.255", NULL,
	    "bounce-12345@lists.example", "u@d.example",
	    "g1\nnet:198.51.100.255/32\nbounce-#@lists.example\nu@d.example",
	    "a1\nnet:198.51.100.255/32" },
	{ "ipv4-prefix 1", "198.51.100.255", NULL, "a@b.example",
	    "u@d.example", "g1\nnet:128.0.0.0/1\na@b.example\nu@d.example",
	    "a1\nnet:128.0.0.0/1" },
	{ "auto-whitelist 3 35d per-domain", "2001:db8:1:2:3:4:5:6", NULL,
	    "SRS0=ab12=XY=Src.example=news@fwd.example", "r@dest.example",
	    "g1\nnet:2001:db8:1:2::/64\nnews@src.example\nr@dest.example",
	    "a1\nnet:2001:db8:1:2::/64\nsrc.example" },
	{ "ipv6-prefix 128", "2001:db8::1:0:0:1", NULL, "a@b.example",
	    "u@d.example",
	    "g1\nnet:2001:db8::1:0:0:1/128\na@b.example\nu@d.example",
	    "a1\nnet:2001:db8::1:0:0:1/128" },
	{ "ipv6-prefix 1", "fe80::1", NULL, "a@b.example", "u@d.example",
	    "g1\nnet:8000::/1\na@b.example\nu@d.example", "a1\nnet:8000::/1" },
	{ "ipv6-prefix 128", NULL, NULL, "a@b.example", "u@d.example",
	    "g1\nnet:::ffff:192.0.2.77/128\na@b.example\nu@d.example",
	    "a1\nnet:::ffff:192.0.2.77/128" },
	{ "ipv6-prefix 96", NULL, NULL, "a@b.example", "u@d.example",
	    "g1\nnet:::ffff:0.0.0.0/96\na@b.example\nu@d.example",
	    "a1\nnet:::ffff:0.0.0.0/96" },
	{ "", NULL, NULL, "a@b.example", "u@d.example",
	    "g1\nnet:::/64\na@b.example\nu@d.example", "a1\nnet:::/64" },
	{ "pool-by-rdns on", "209.85.221.54", "Mail-WR1-F54.Google.COM.",
	    "list-bounces+u=d.example@lists.example", "u@D.example",
	    "g1\nrdns:google.com\nlist-bounces@lists.example\nu@d.example",
	    "a1\nrdns:google.com" },
	{ "pool bigmail 203.0.113.0/24", "203.0.113.9", NULL,
	    "prvs=1234abcdef=user@example.com", "postmaster",
	    "g1\npool:bigmail\nuser@example.com\npostmaster",
	    "a1\npool:bigmail" },
	{ "", "", NULL, "x@y.example", "u@d.example",
	    "g1\nnone\nx@y.example\nu@d.example", "a1\nnone" },
	/* decided at the end of the message: the same key */
	{ "decide-at eom", "192.0.2.77", NULL, "", "u@d.example",
	    "g1\nnet:192.0.2.0/24\n<>\nu@d.example", "a1\nnet:192.0.2.0/24" },
	{ "null-sender rcpt", "192.0.2.77", NULL, "<>", "u@d.example",
	    "g1\nnet:192.0.2.0/24\n<>\nu@d.example", "a1\nnet:192.0.2.0/24" },
};

/* key_run - one message of kc through the plugin, planned or not */
static void
key_run(const struct key_case *kc, int planned)
{
	struct fd_txn	 t;
	struct grey_msg	 m;
	void		*st;
	int		 at_eom = strstr(kc->conf, "eom") != NULL;

	world_reset();
	H.plan_grey = planned ? f_plan_grey : NULL;
	H.grey_txn = planned ? f_grey_txn : NULL;
	ck_assert_ptr_nonnull(st = plugin_new(kc->conf));
	txn_init(&t, kc->addr != NULL ? kc->addr : "", kc->sender);
	if (kc->addr == NULL) {
		memcpy(t.ip, mapped16, 16);
		t.iplen = 16;
	}
	t.name = kc->name;
	t.verified = kc->name != NULL;
	t.rcpt = kc->rcpt;
	memset(&m, 0, sizeof(m));
	filterd_plugin.plan(&t, FD_ST_RCPT, st, NULL, &m);
	/* a new triplet: deferred at RCPT, or at EOM */
	if (at_eom) {
		ck_assert_int_eq(filterd_plugin.on_rcpt(&t, st, NULL, &m),
		    FD_CONTINUE);
		t.rcpts[t.nrcpts++] = kc->rcpt;
		ck_assert_int_eq(filterd_plugin.on_eom(&t, st, NULL, &m),
		    FD_TEMPFAIL);
	} else
		ck_assert_int_eq(filterd_plugin.on_rcpt(&t, st, NULL, &m),
		    FD_TEMPFAIL);
	filterd_plugin.msg_end(st, NULL, &m);
	ck_assert_uint_eq(W.calls, 1);
	ck_assert_uint_eq(W.rq_keylen, strlen(kc->key));
	ck_assert_msg(memcmp(W.rq_key, kc->key, W.rq_keylen) == 0,
	    "key \"%.*s\"", (int)W.rq_keylen, W.rq_key);
	ck_assert_int_eq(W.rq_has_awl, kc->awl != NULL);
	if (kc->awl != NULL) {
		ck_assert_uint_eq(W.rq_awllen, strlen(kc->awl));
		ck_assert_msg(memcmp(W.rq_awl, kc->awl, W.rq_awllen) == 0,
		    "awl \"%.*s\"", (int)W.rq_awllen, W.rq_awl);
	}
	filterd_plugin.fini(st);
	H.plan_grey = NULL;
	H.grey_txn = NULL;
}

START_TEST(test_key_bytes)
{
	const struct key_case	*kc = &key_cases[_i];
	int			 at_eom = strstr(kc->conf, "eom") != NULL;

	key_run(kc, 0);
	ck_assert_uint_eq(W.txns, 0);
	/* through the plan: the request planned is the one made */
	key_run(kc, 1);
	ck_assert_uint_eq(W.planned, at_eom ? 0 : 1);
	ck_assert_uint_eq(W.txns, 1);
}
END_TEST

/* 10 kB addresses: the whole of them in the key, planned or not */
START_TEST(test_key_long)
{
	struct key_case	 kc;
	char		*sender = malloc(10241), *rcpt = malloc(10241);
	char		*want = malloc(30000), *awl = malloc(2000);
	int		 planned;

	memset(sender, 'a', 10240);
	sender[10240] = '\0';
	memcpy(sender + 9000, "@Example.COM", 12);
	memset(rcpt, 'b', 10240);
	rcpt[10240] = '\0';
	memcpy(rcpt + 100, "@D.example", 10);
	snprintf(want, 30000, "g1\nnet:192.0.2.0/24\n%.9000s@example.com"
	    "%s\n%.100s@d.example%s", sender, sender + 9012, rcpt, rcpt + 110);
	kc.conf = "auto-whitelist 3 35d per-domain";
	kc.addr = "192.0.2.1";
	kc.name = NULL;
	kc.sender = sender;
	kc.rcpt = rcpt;
	kc.key = want;
	snprintf(awl, 2000, "a1\nnet:192.0.2.0/24\nexample.com%s",
	    sender + 9012);
	ck_assert_uint_eq(strlen(awl), 20 + 11 + 1228);
	kc.awl = awl;
	for (planned = 0; planned < 2; planned++)
		key_run(&kc, planned);
	free(awl);
	free(sender);
	free(rcpt);
	free(want);
}
END_TEST

static Suite *
greylist_suite(void)
{
	Suite	*s = suite_create("greylist");
	TCase	*tc;

	tc = tcase_create("normalize");
	tcase_add_loop_test(tc, test_norm_sender, 0,
	    (int)(sizeof(norm_cases) / sizeof(norm_cases[0])));
	tcase_add_test(tc, test_norm_rcpt);
	tcase_add_test(tc, test_norm_long);
	tcase_add_test(tc, test_norm_to);
	suite_add_tcase(s, tc);

	tc = tcase_create("client");
	tcase_add_test(tc, test_registrable_builtin);
	tcase_add_test(tc, test_registrable_table);
	tcase_add_loop_test(tc, test_client_prefix, 0,
	    (int)(sizeof(prefix_cases) / sizeof(prefix_cases[0])));
	tcase_add_test(tc, test_client_ipv6_same);
	tcase_add_test(tc, test_client_rdns);
	tcase_add_test(tc, test_client_dynamic_forms);
	tcase_add_test(tc, test_client_dynamic_equal_octets);
	tcase_add_test(tc, test_client_pools);
	tcase_add_test(tc, test_client_key_trunc);
	suite_add_tcase(s, tc);

	tc = tcase_create("keys");
	tcase_add_test(tc, test_keys);
	tcase_add_test(tc, test_keys_to);
	tcase_add_test(tc, test_net_format);
	tcase_add_loop_test(tc, test_key_bytes, 0,
	    (int)(sizeof(key_cases) / sizeof(key_cases[0])));
	tcase_add_test(tc, test_key_long);
	tcase_add_test(tc, test_text);
	tcase_add_test(tc, test_tables);
	tcase_add_test(tc, test_file_lines);
	tcase_add_test(tc, test_file_too_many_errors);
	tcase_add_test(tc, test_file_edits);
	suite_add_tcase(s, tc);

	tc = tcase_create("conf");
	tcase_add_test(tc, test_plugin_table);
	tcase_add_test(tc, test_conf_defaults);
	tcase_add_test(tc, test_conf_all);
	tcase_add_loop_test(tc, test_conf_errors, 0,
	    (int)(sizeof(conf_errs) / sizeof(conf_errs[0])));
	tcase_add_test(tc, test_conf_ttl_max);
	tcase_add_test(tc, test_conf_all_errors);
	tcase_add_test(tc, test_conf_file_errors);
	tcase_add_loop_test(tc, test_conf_file_columns, 0,
	    (int)(sizeof(file_err_cases) / sizeof(file_err_cases[0])));
	suite_add_tcase(s, tc);

	tc = tcase_create("decide");
	tcase_add_test(tc, test_rcpt_transitions);
	tcase_add_test(tc, test_pass_line_quoted);
	tcase_add_test(tc, test_rcpt_window);
	tcase_add_test(tc, test_rcpt_partial);
	tcase_add_test(tc, test_eom_mode);
	tcase_add_test(tc, test_params);
	tcase_add_test(tc, test_set_message_length);
	tcase_add_test(tc, test_null_sender);
	tcase_add_test(tc, test_body_hash);
	tcase_add_test(tc, test_awl);
	tcase_add_test(tc, test_awl_per_domain);
	tcase_add_test(tc, test_exemptions);
	tcase_add_test(tc, test_store_error);
	tcase_add_test(tc, test_normalized_retry);
	tcase_add_test(tc, test_pool_rdns);
	tcase_add_test(tc, test_ipv6_prefix);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(greylist_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
