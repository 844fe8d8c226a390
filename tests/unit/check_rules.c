/*
 * check_rules.c -- rule evaluation, tables and regex limits
 *
 * Each test loads a small config from a temp directory, builds a txn by
 * hand (txn.h: no libmilter involved) and asserts which rule decides at
 * a stage and what it did to the txn. Tables are also driven directly
 * (table.h), with 100,000 generated entries; a catastrophic regex runs
 * against a 10,001-byte HELO and must stop at its limit.
 */
#include "config.h"

#include <arpa/inet.h>
#include <check.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "errs.h"
#include "filterd/plugin.h"
#include "log.h"
#include "re.h"
#include "rule.h"
#include "table.h"
#include "txn.h"

static char		 tmpdir[PATH_MAX];
static struct fd_errs	 errs;
static struct fd_conf	*conf;
static struct fd_txn	*txn;
static struct fd_rule_hit hit;
static char		 logbuf[16384];

/* rm_one - nftw callback removing one file or directory */
static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* capture - collect log lines, one per line */
static void
capture(int level, const char *line, void *arg)
{
	size_t	 o = strlen(logbuf);

	(void)level;
	(void)arg;
	snprintf(logbuf + o, sizeof(logbuf) - o, "%s\n", line);
}

static void
setup(void)
{
	const char	*t = getenv("TMPDIR");

	snprintf(tmpdir, sizeof(tmpdir), "%s/check_rules.XXXXXX",
	    t ? t : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	ck_assert_int_eq(chdir(tmpdir), 0);
	logbuf[0] = '\0';
	fd_log_capture(capture, NULL);
	txn = fd_txn_new(NULL, 1);
}

static void
teardown(void)
{
	fd_log_capture(NULL, NULL);
	txn = fd_txn_free(txn);
	conf = fd_conf_free(conf);
	fd_errs_clear(&errs);
	if (chdir("/") == 0)
		nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* put - write a file in the temp dir */
static void
put(const char *name, const char *text)
{
	FILE	*f = fopen(name, "w");

	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
}

/* rules - load text as the config of the test */
static void
rules(const char *text)
{
	size_t	 i;
	char	 all[4096] = "";

	put("main.conf", text);
	conf = fd_conf_free(conf);
	conf = fd_conf_load("main.conf", &errs);
	for (i = 0; i < errs.n; i++) {
		strncat(all, "\n  ", sizeof(all) - strlen(all) - 1);
		strncat(all, errs.msg[i], sizeof(all) - strlen(all) - 1);
	}
	ck_assert_msg(conf != NULL, "config errors:%s", all);
}

/* decider - the rule that decides at stage, or NULL */
static const char *
decider(uint32_t stage)
{
	if (fd_rules_eval(conf->rules, stage, txn, &hit) == 0) {
		ck_assert(hit.dry_run || hit.action == FD_RA_NONE);
		return NULL;
	}
	ck_assert_int_eq(hit.dry_run, 0);
	return hit.rule;
}

/* renew - a fresh connection */
static void
renew(void)
{
	fd_txn_free(txn);
	txn = fd_txn_new(NULL, 2);
}

#define DECIDES(stage, name) do {					\
	const char *d_ = decider(stage);				\
	ck_assert_msg(d_ != NULL && strcmp(d_, (name)) == 0,		\
	    "expected rule %s, got %s", (name), d_ ? d_ : "none");	\
} while (0)
#define NONE(stage) do {						\
	const char *d_ = decider(stage);				\
	ck_assert_msg(d_ == NULL, "expected no rule, got %s", d_);	\
} while (0)

/* ---- fields and operators ---- */

START_TEST(client_ip)
{
	rules("table nets { 203.0.113.0/24, 2001:db8:ff::/48 }\n"
	    "rule v4 on connect if client-ip == 192.0.2.0/24 accept\n"
	    "rule v6 on connect if client-ip == 2001:db8::/32 and "
	    "not client-ip in <nets> accept\n"
	    "rule one on connect if client-ip == 198.51.100.7 accept\n"
	    "rule tbl on connect if client-ip in <nets> accept\n"
	    "rule inl on connect if client-ip in { 10.0.0.0/8, ::1 } accept\n"
	    "rule re on connect if client-ip ~ /^172\\.16\\./ accept\n"
	    "rule ne on helo if client-ip != 192.0.2.0/24 accept\n"
	    "rule none on helo if client-ip unset accept\n");
	ck_assert_int_eq(fd_txn_set_addr_str(txn, "192.0.2.55"), 0);
	DECIDES(FD_ST_CONNECT, "v4");
	NONE(FD_ST_HELO);
	/* IPv4-mapped IPv6 is the IPv4 client */
	fd_txn_set_addr_str(txn, "::ffff:192.0.2.55");
	DECIDES(FD_ST_CONNECT, "v4");
	fd_txn_set_addr_str(txn, "2001:db8:1::5");
	DECIDES(FD_ST_CONNECT, "v6");
	DECIDES(FD_ST_HELO, "ne");
	fd_txn_set_addr_str(txn, "2001:db8:ff:1::5");
	DECIDES(FD_ST_CONNECT, "tbl");
	fd_txn_set_addr_str(txn, "198.51.100.7");
	DECIDES(FD_ST_CONNECT, "one");
	fd_txn_set_addr_str(txn, "198.51.100.8");
	NONE(FD_ST_CONNECT);
	fd_txn_set_addr_str(txn, "203.0.113.200");
	DECIDES(FD_ST_CONNECT, "tbl");
	fd_txn_set_addr_str(txn, "10.9.8.7");
	DECIDES(FD_ST_CONNECT, "inl");
	fd_txn_set_addr_str(txn, "::1");
	DECIDES(FD_ST_CONNECT, "inl");
	fd_txn_set_addr_str(txn, "172.16.0.1");
	DECIDES(FD_ST_CONNECT, "re");
	/* no address (unix socket): only unset holds; != holds too */
	renew();
	NONE(FD_ST_CONNECT);
	DECIDES(FD_ST_HELO, "ne");
	/* ::/0 is every IPv6 client; an IPv4 one, mapped or not, is not */
	rules("rule v6 on connect if client-ip == ::/0 accept\n"
	    "rule v4 on connect if client-ip == 0.0.0.0/0 reject\n");
	fd_txn_set_addr_str(txn, "::ffff:192.0.2.1");
	DECIDES(FD_ST_CONNECT, "v4");
	fd_txn_set_addr_str(txn, "2001:db8::1");
	DECIDES(FD_ST_CONNECT, "v6");
}
END_TEST

START_TEST(client_name)
{
	put("dom.txt", "# domains\n.example.net\nexact.example.org\n");
	rules("table doms file \"dom.txt\"\n"
	    "rule eq on connect if client-name == MX.Example.COM accept\n"
	    "rule ver on helo if client-name verified accept\n"
	    "rule tbl on connect if client-name in <doms> accept\n"
	    "rule re on connect if client-name ~ /^dsl-/ accept\n"
	    "rule unset on mail if client-name unset accept\n");
	fd_txn_set_client_name(txn, "mx.example.com");
	DECIDES(FD_ST_CONNECT, "eq");
	fd_txn_set_client_name(txn, "mx.EXAMPLE.com.");
	DECIDES(FD_ST_CONNECT, "eq");
	NONE(FD_ST_HELO);
	fd_txn_set_macro(txn, "{client_resolve}", "FAIL");
	NONE(FD_ST_HELO);
	fd_txn_set_macro(txn, "{client_resolve}", "OK");
	DECIDES(FD_ST_HELO, "ver");
	fd_txn_set_client_name(txn, "example.net");
	DECIDES(FD_ST_CONNECT, "tbl");
	fd_txn_set_client_name(txn, "a.b.Example.NET");
	DECIDES(FD_ST_CONNECT, "tbl");
	fd_txn_set_client_name(txn, "sub.exact.example.org");
	NONE(FD_ST_CONNECT);
	fd_txn_set_client_name(txn, "exact.example.org");
	DECIDES(FD_ST_CONNECT, "tbl");
	fd_txn_set_client_name(txn, "dsl-1-2.isp.example");
	DECIDES(FD_ST_CONNECT, "re");
	NONE(FD_ST_MAIL);
	/* a client without a name is named by its address: it is set */
	fd_txn_set_client_name(txn, "[192.0.2.1]");
	NONE(FD_ST_MAIL);
	renew();
	DECIDES(FD_ST_MAIL, "unset");
}
END_TEST

START_TEST(helo_field)
{
	rules("rule eq on helo if helo == \"mail.example.com\" accept\n"
	    "rule bare on helo if helo ~ /^[0-9.]+$/ reject\n"
	    "rule lit on helo if helo in { [192.0.2.1], localhost } tempfail\n"
	    "rule nre on helo if helo !~ /\\./ tempfail\n"
	    "rule set on mail if helo set accept\n");
	fd_txn_set_helo(txn, "MAIL.example.com");
	DECIDES(FD_ST_HELO, "eq");
	DECIDES(FD_ST_MAIL, "set");
	fd_txn_set_helo(txn, "192.0.2.1");
	DECIDES(FD_ST_HELO, "bare");
	fd_txn_set_helo(txn, "[192.0.2.1]");
	DECIDES(FD_ST_HELO, "lit");
	fd_txn_set_helo(txn, "LocalHost");
	DECIDES(FD_ST_HELO, "lit");
	fd_txn_set_helo(txn, "foo.example");
	NONE(FD_ST_HELO);
	renew();
	NONE(FD_ST_MAIL);
}
END_TEST

START_TEST(sender)
{
	rules("table roles { postmaster, abuse }\n"
	    "rule null on mail if sender null accept\n"
	    "rule eq on mail if sender == \"Alice@Example.com\" accept\n"
	    "rule local on mail if sender-local in <roles> accept\n"
	    "rule dom on mail if sender-domain == example.org accept\n"
	    "rule sub on mail if sender-domain in { .example.net } accept\n"
	    "rule re on mail if sender !~ /@/ reject\n");
	fd_txn_msg_begin(txn, "<>");
	DECIDES(FD_ST_MAIL, "null");
	fd_txn_msg_begin(txn, "<alice@example.COM>");
	DECIDES(FD_ST_MAIL, "eq");
	fd_txn_msg_begin(txn, "<Postmaster@elsewhere.example>");
	DECIDES(FD_ST_MAIL, "local");
	fd_txn_msg_begin(txn, "<bob@EXAMPLE.ORG>");
	DECIDES(FD_ST_MAIL, "dom");
	fd_txn_msg_begin(txn, "<bob@mx.example.net>");
	DECIDES(FD_ST_MAIL, "sub");
	fd_txn_msg_begin(txn, "<bob@example.net.evil>");
	NONE(FD_ST_MAIL);
	fd_txn_msg_begin(txn, "<user-without-domain>");
	DECIDES(FD_ST_MAIL, "re");
	/* the local part is up to the last @ */
	fd_txn_msg_begin(txn, "<\"a@b\"@example.org>");
	DECIDES(FD_ST_MAIL, "dom");
}
END_TEST

START_TEST(rcpt)
{
	put("roles.list", "postmaster\nabuse\n");
	rules("table roles list file \"roles.list\"\n"
	    "rule role on rcpt if rcpt-local in <roles> accept\n"
	    "rule dom on rcpt if rcpt-domain == example.org reject\n"
	    "rule one on rcpt if rcpt == \"x@example.com\" tempfail\n"
	    "rule any on eom if rcpt-domain == example.org discard\n");
	fd_txn_msg_begin(txn, "<a@b.example>");
	fd_txn_rcpt_begin(txn, "<PostMaster@example.com>");
	DECIDES(FD_ST_RCPT, "role");
	fd_txn_rcpt_accept(txn);
	fd_txn_rcpt_begin(txn, "<x@Example.com>");
	DECIDES(FD_ST_RCPT, "one");
	fd_txn_rcpt_accept(txn);
	fd_txn_rcpt_begin(txn, "<y@example.org>");
	DECIDES(FD_ST_RCPT, "dom");
	/* after RCPT the rcpt fields match any accepted recipient */
	NONE(FD_ST_EOM);
	fd_txn_rcpt_accept(txn);
	DECIDES(FD_ST_EOM, "any");
}
END_TEST

START_TEST(auth_user)
{
	rules("rule bob on mail if auth-user == bob accept\n"
	    "rule auth on mail if auth-user set reject\n"
	    "rule anon on rcpt if auth-user unset tempfail\n");
	fd_txn_msg_begin(txn, "<a@b.example>");
	NONE(FD_ST_MAIL);
	DECIDES(FD_ST_RCPT, "anon");
	fd_txn_set_macro(txn, "{auth_authen}", "alice");
	fd_txn_msg_begin(txn, "<a@b.example>");
	DECIDES(FD_ST_MAIL, "auth");
	NONE(FD_ST_RCPT);
	fd_txn_set_macro(txn, "{auth_authen}", "bob");
	fd_txn_msg_begin(txn, "<a@b.example>");
	DECIDES(FD_ST_MAIL, "bob");
}
END_TEST

START_TEST(headers)
{
	rules("rule subj on header if header \"subject\" ~ /buy now/i reject\n"
	    "rule name on header if header-name == x-spam accept\n"
	    "rule val on header if header-value ~ /^yes$/ discard\n");
	fd_txn_msg_begin(txn, "<a@b.example>");
	txn->msg.hdr_name = "Subject";
	txn->msg.hdr_value = "BUY NOW cheap";
	DECIDES(FD_ST_HEADER, "subj");
	txn->msg.hdr_value = "hello";
	NONE(FD_ST_HEADER);
	txn->msg.hdr_name = "X-Spam";
	txn->msg.hdr_value = "buy now";
	DECIDES(FD_ST_HEADER, "name");
	txn->msg.hdr_name = "X-Other";
	txn->msg.hdr_value = "yes";
	DECIDES(FD_ST_HEADER, "val");
	/* one header at a time: at any other, header "X-Foo" is unset */
	rules("rule no-foo on header if header \"X-Foo\" unset tempfail\n");
	txn->msg.hdr_name = "Subject";
	txn->msg.hdr_value = "hello";
	DECIDES(FD_ST_HEADER, "no-foo");
	txn->msg.hdr_name = "x-foo";
	txn->msg.hdr_value = "";
	DECIDES(FD_ST_HEADER, "no-foo");
	txn->msg.hdr_value = "1";
	NONE(FD_ST_HEADER);
	txn->msg.hdr_name = NULL;
	txn->msg.hdr_value = NULL;
}
END_TEST

START_TEST(macros)
{
	rules("rule dn on connect if {daemon_name} == smtpd-in accept\n"
	    "rule j on connect if {j} set and {if_addr} unset reject\n"
	    "rule qid on mail if {i} == ABC123 tempfail\n"
	    "rule ra on rcpt if {rcpt_addr} ~ /^x@/ discard\n");
	NONE(FD_ST_CONNECT);
	fd_txn_set_macro(txn, "j", "mx.example.com");
	DECIDES(FD_ST_CONNECT, "j");
	fd_txn_set_macro(txn, "{daemon_name}", "smtpd-in");
	DECIDES(FD_ST_CONNECT, "dn");
	fd_txn_set_macro(txn, "{daemon_name}", "other");
	fd_txn_set_macro(txn, "{if_addr}", "192.0.2.1");
	NONE(FD_ST_CONNECT);
	fd_txn_set_macro(txn, "i", "ABC123");
	fd_txn_msg_begin(txn, "<a@b.example>");
	DECIDES(FD_ST_MAIL, "qid");
	fd_txn_set_macro(txn, "{rcpt_addr}", "x@example.com");
	DECIDES(FD_ST_RCPT, "ra");
}
END_TEST

START_TEST(size)
{
	rules("rule huge on mail if size > 10M reject 552 5.3.4 \"too big\"\n"
	    "rule exact on mail if size == 1k accept\n"
	    "rule small on mail if size < 1k and size >= 10 discard\n"
	    "rule le on mail if size <= 9 tempfail\n"
	    "rule body on eom if size >= 2M reject\n"
	    "rule ne on eom if size != 0 accept\n");
	fd_txn_msg_begin(txn, "<a@b.example>");
	DECIDES(FD_ST_MAIL, "le");		/* no SIZE=: 0 */
	txn->msg.size_param = 20u << 20;
	DECIDES(FD_ST_MAIL, "huge");
	txn->msg.size_param = 1024;
	DECIDES(FD_ST_MAIL, "exact");
	txn->msg.size_param = 10;
	DECIDES(FD_ST_MAIL, "small");
	txn->msg.size_param = 0;
	txn->msg.body_size = 3u << 20;
	DECIDES(FD_ST_EOM, "body");
	txn->msg.body_size = 100;
	DECIDES(FD_ST_EOM, "ne");
}
END_TEST

START_TEST(logic)
{
	/* and binds tighter than or; not binds tightest */
	rules("rule p on helo if helo == a or helo == b and client-name == c "
	    "accept\n"
	    "rule q on mail if (helo == a or helo == b) and client-name == c "
	    "accept\n"
	    "rule n on rcpt if not helo == a and not (helo == b or helo == x) "
	    "accept\n");
	fd_txn_msg_begin(txn, "<s@example.com>");
	fd_txn_rcpt_begin(txn, "<r@example.com>");
	fd_txn_set_helo(txn, "a");
	DECIDES(FD_ST_HELO, "p");
	NONE(FD_ST_MAIL);
	NONE(FD_ST_RCPT);
	fd_txn_set_helo(txn, "b");
	NONE(FD_ST_HELO);
	NONE(FD_ST_RCPT);
	fd_txn_set_client_name(txn, "c");
	DECIDES(FD_ST_HELO, "p");
	DECIDES(FD_ST_MAIL, "q");
	fd_txn_set_helo(txn, "d");
	DECIDES(FD_ST_RCPT, "n");
}
END_TEST

/* small_stack_thread - the helo rules on the smallest stack a session's
 * thread may have (thread-stack-size 128k) */
static void *
small_stack_thread(void *arg)
{
	struct fd_rule_hit	*h = arg;

	fd_rules_eval(conf->rules, FD_ST_HELO, txn, h);
	return NULL;
}

static const char *
small_stack_decider(void)
{
	pthread_attr_t		 attr;
	pthread_t		 th;

	ck_assert_int_eq(pthread_attr_init(&attr), 0);
	ck_assert_int_eq(pthread_attr_setstacksize(&attr,
	    FD_THREAD_STACK_MIN), 0);
	ck_assert_int_eq(pthread_create(&th, &attr, small_stack_thread, &hit),
	    0);
	ck_assert_int_eq(pthread_join(th, NULL), 0);
	pthread_attr_destroy(&attr);
	return hit.action == FD_RA_NONE ? NULL : hit.rule;
}

/*
 * A rule may chain thousands of tests with one operator (generated from
 * a list): it loads, and its evaluation does not grow with the chain, so
 * it runs on a session thread's stack. Nesting is what is limited.
 */
START_TEST(long_conditions)
{
	size_t	 n = 20000, i, o = 0, len = n * 24 + 256;
	char	*text = malloc(len);
	const char *d;

	ck_assert_ptr_nonnull(text);
	o += (size_t)snprintf(text + o, len - o, "rule chain on helo if ");
	for (i = 0; i < n; i++)
		o += (size_t)snprintf(text + o, len - o, "%shelo == h%zu",
		    i ? " or " : "", i);
	o += (size_t)snprintf(text + o, len - o, " reject\n"
	    "rule mixed on helo if (helo ~ /^x/ and client-name == c) or "
	    "not (helo == y or helo == z or client-name != c) accept\n");
	rules(text);
	free(text);
	fd_txn_set_helo(txn, "h19999");
	d = small_stack_decider();
	ck_assert_msg(d != NULL && strcmp(d, "chain") == 0, "got %s", d);
	fd_txn_set_helo(txn, "h0");
	DECIDES(FD_ST_HELO, "chain");
	fd_txn_set_helo(txn, "h20000");
	ck_assert_ptr_null(small_stack_decider());
	/* a chain keeps its order and its operators' meaning */
	fd_txn_set_helo(txn, "xa");
	NONE(FD_ST_HELO);
	fd_txn_set_client_name(txn, "c");
	DECIDES(FD_ST_HELO, "mixed");
	fd_txn_set_helo(txn, "y");
	NONE(FD_ST_HELO);
	fd_txn_set_helo(txn, "w");
	DECIDES(FD_ST_HELO, "mixed");
	fd_txn_set_client_name(txn, "d");
	NONE(FD_ST_HELO);
}
END_TEST

/* ---- actions ---- */

START_TEST(reply_actions)
{
	rules("rule acc on connect if client-name == a accept\n"
	    "rule conn on connect if client-name == b accept connection\n"
	    "rule rej on helo if helo == r reject\n"
	    "rule rej2 on helo if helo == r2 reject 554 5.7.0 \"go away\"\n"
	    "rule tf on helo if helo == t tempfail\n"
	    "rule tf2 on helo if helo == t2 tempfail 450 4.2.0\n"
	    "rule dis on mail discard\n");
	fd_txn_set_client_name(txn, "a");
	DECIDES(FD_ST_CONNECT, "acc");
	ck_assert_int_eq(hit.action, FD_RA_ACCEPT);
	fd_txn_set_client_name(txn, "b");
	DECIDES(FD_ST_CONNECT, "conn");
	ck_assert_int_eq(hit.action, FD_RA_ACCEPT_CONN);
	ck_assert_int_eq(hit.loc->line, 2);
	fd_txn_set_helo(txn, "r");
	DECIDES(FD_ST_HELO, "rej");
	ck_assert_int_eq(hit.action, FD_RA_REJECT);
	ck_assert_str_eq(hit.rcode, "550");
	ck_assert_str_eq(hit.xcode, "5.7.1");
	ck_assert_str_eq(hit.text, "Message rejected by policy");
	fd_txn_set_helo(txn, "r2");
	DECIDES(FD_ST_HELO, "rej2");
	ck_assert_str_eq(hit.rcode, "554");
	ck_assert_str_eq(hit.xcode, "5.7.0");
	ck_assert_str_eq(hit.text, "go away");
	fd_txn_set_helo(txn, "t");
	DECIDES(FD_ST_HELO, "tf");
	ck_assert_int_eq(hit.action, FD_RA_TEMPFAIL);
	ck_assert_str_eq(hit.rcode, "451");
	ck_assert_str_eq(hit.xcode, "4.7.1");
	ck_assert_str_eq(hit.text, "Try again later");
	fd_txn_set_helo(txn, "t2");
	DECIDES(FD_ST_HELO, "tf2");
	ck_assert_str_eq(hit.rcode, "450");
	ck_assert_str_eq(hit.xcode, "4.2.0");
	ck_assert_str_eq(hit.text, "Try again later");
	fd_txn_msg_begin(txn, "<a@b.example>");
	DECIDES(FD_ST_MAIL, "dis");
	ck_assert_int_eq(hit.action, FD_RA_DISCARD);
}
END_TEST

START_TEST(txn_actions)
{
	rules("plugin a {}\nplugin b {}\nplugin c {}\n"
	    "rule early on connect if client-name == early skip b\n"
	    "rule sk on rcpt if rcpt-local == postmaster skip a, c\n"
	    "rule st on mail if client-ip == 10.0.0.0/8 set b.limit 1000\n"
	    "rule hd on eom add-header \"X-Filterd\" \"checked by rules\"\n");
	fd_txn_set_client_name(txn, "early");
	DECIDES(FD_ST_CONNECT, "early");
	ck_assert_int_eq(hit.action, FD_RA_SKIP);
	/* before MAIL a skip holds for the connection */
	ck_assert_uint_eq(txn->skip, 1u << 1);
	fd_txn_set_addr_str(txn, "10.1.2.3");
	fd_txn_msg_begin(txn, "<s@example.com>");
	DECIDES(FD_ST_MAIL, "st");
	ck_assert_int_eq(hit.action, FD_RA_SET);
	ck_assert_str_eq(fd_txn_param(txn, 1, "limit"), "1000");
	ck_assert_ptr_null(fd_txn_param(txn, 0, "limit"));
	fd_txn_rcpt_begin(txn, "<postmaster@example.com>");
	DECIDES(FD_ST_RCPT, "sk");
	ck_assert_uint_eq(txn->msg.skip, (1u << 0) | (1u << 2));
	DECIDES(FD_ST_EOM, "hd");
	ck_assert_int_eq(hit.action, FD_RA_ADD_HEADER);
	ck_assert_ptr_nonnull(txn->msg.headers);
	ck_assert_str_eq(txn->msg.headers->name, "X-Filterd");
	ck_assert_str_eq(txn->msg.headers->value, "checked by rules");
	ck_assert_ptr_null(txn->msg.headers->next);
	ck_assert_ptr_nonnull(strstr(logbuf, "rule=sk applied: skip a, c"));
}
END_TEST

START_TEST(first_match)
{
	rules("plugin a {}\n"
	    "rule l1 on rcpt log \"first\"\n"
	    "rule one on rcpt if rcpt ~ /^x/ skip a\n"
	    "rule two on rcpt if rcpt ~ /^x/ reject\n"
	    "rule l2 on rcpt log\n"
	    "rule three on rcpt tempfail\n");
	fd_txn_msg_begin(txn, "<s@example.com>");
	fd_txn_rcpt_begin(txn, "<x@example.com>");
	DECIDES(FD_ST_RCPT, "one");
	/* log goes on; the first match decides; later rules do not run */
	ck_assert_ptr_nonnull(strstr(logbuf, "rule=l1 matched: log \"first\""));
	ck_assert_ptr_null(strstr(logbuf, "rule=l2"));
	fd_txn_rcpt_begin(txn, "<y@example.com>");
	logbuf[0] = '\0';
	DECIDES(FD_ST_RCPT, "three");
	ck_assert_ptr_nonnull(strstr(logbuf, "rule=l2 matched: log"));
	/* other stages' rules do not run */
	NONE(FD_ST_MAIL);
	NONE(FD_ST_EOM);
}
END_TEST

START_TEST(dry_run_rule)
{
	rules("plugin a {}\n"
	    "rule d1 on rcpt dry-run if rcpt ~ /^x/ reject 550 5.7.1 \"no x\"\n"
	    "rule d2 on rcpt dry-run skip a\n"
	    "rule real on rcpt if rcpt ~ /^xx/ tempfail\n");
	fd_txn_set_addr_str(txn, "192.0.2.9");
	fd_txn_msg_begin(txn, "<s@example.com>");
	fd_txn_rcpt_begin(txn, "<x@example.com>");
	/* a dry-run match logs and goes on as if it had not matched */
	ck_assert_int_eq(fd_rules_eval(conf->rules, FD_ST_RCPT, txn, &hit), 0);
	ck_assert_int_eq(hit.dry_run, 1);
	ck_assert_str_eq(hit.rule, "d2");
	ck_assert_uint_eq(txn->msg.skip, 0);
	ck_assert_ptr_nonnull(strstr(logbuf, "client=unknown[192.0.2.9] helo=- "
	    "from=<s@example.com> rcpt=<x@example.com> stage=rcpt rule=d1 "
	    "dry-run: would reject 550 5.7.1 \"no x\""));
	ck_assert_ptr_nonnull(strstr(logbuf, "rule=d2 dry-run: would skip a"));
	fd_txn_rcpt_begin(txn, "<xx@example.com>");
	DECIDES(FD_ST_RCPT, "real");
}
END_TEST

START_TEST(dry_run_global)
{
	rules("dry-run yes\nplugin a {}\n"
	    "rule r on rcpt reject\n"
	    "rule s on mail skip a\n");
	fd_txn_msg_begin(txn, "<s@example.com>");
	fd_txn_rcpt_begin(txn, "<x@example.com>");
	NONE(FD_ST_RCPT);
	NONE(FD_ST_MAIL);
	ck_assert_uint_eq(txn->msg.skip, 0);
	ck_assert_ptr_nonnull(strstr(logbuf, "rule=r dry-run: would reject "
	    "550 5.7.1 \"Message rejected by policy\""));
}
END_TEST

START_TEST(stages_and_macros)
{
	const char *const	*m;

	rules("rule a on connect if {daemon_name} == x and client-name verified "
	    "accept\n"
	    "rule b on connect if {j} set and {_} set accept\n"
	    "rule c on rcpt if {rcpt_addr} set and {daemon_name} set accept\n"
	    "rule d on mail if auth-user set accept\n"
	    "rule e on header if {tls_version} set accept\n"
	    "rule f on eom if {msg_size} set accept\n"
	    "rule g on eoh if {nrcpts} set accept\n");
	/* DATA has no rule, but {nrcpts} comes with it: it must be sent */
	ck_assert_uint_eq(fd_rules_stages(conf->rules), FD_ST_CONNECT |
	    FD_ST_MAIL | FD_ST_RCPT | FD_ST_DATA | FD_ST_HEADER | FD_ST_EOH |
	    FD_ST_EOM);
	/* each macro is asked for at the stage the MTA sends it */
	m = fd_rules_macros(conf->rules, 0);
	ck_assert_str_eq(m[0], "{daemon_name}");
	ck_assert_str_eq(m[1], "{client_resolve}");
	ck_assert_str_eq(m[2], "j");
	ck_assert_str_eq(m[3], "_");
	ck_assert_ptr_null(m[4]);
	m = fd_rules_macros(conf->rules, 1);
	ck_assert_str_eq(m[0], "{tls_version}");
	ck_assert_ptr_null(m[1]);
	m = fd_rules_macros(conf->rules, 2);
	ck_assert_str_eq(m[0], "{auth_authen}");
	ck_assert_ptr_null(m[1]);
	m = fd_rules_macros(conf->rules, 3);
	ck_assert_str_eq(m[0], "{rcpt_addr}");
	ck_assert_ptr_null(m[1]);
	m = fd_rules_macros(conf->rules, 4);
	ck_assert_str_eq(m[0], "{nrcpts}");
	ck_assert_ptr_null(m[1]);
	m = fd_rules_macros(conf->rules, 5);
	ck_assert_str_eq(m[0], "{msg_size}");
	ck_assert_ptr_null(fd_rules_macros(conf->rules, 6)[0]);
	ck_assert_ptr_null(fd_rules_macros(conf->rules, 7)[0]);
	ck_assert_ptr_null(fd_rules_macros(conf->rules, -1)[0]);
	ck_assert_ptr_null(fd_rules_macros(NULL, 0)[0]);
}
END_TEST

/* ---- tables ---- */

START_TEST(table_cidr_ranges)
{
	struct fd_table		*t = fd_table_new("t", FD_TABLE_CIDR);
	unsigned char		 ip[16];
	char			 err[256];
	size_t			 n;

	ck_assert_int_eq(fd_table_add(t, "10.0.0.0/25", err, sizeof(err)), 0);
	ck_assert_int_eq(fd_table_add(t, "10.0.0.128/25", err, sizeof(err)), 0);
	ck_assert_int_eq(fd_table_add(t, "10.0.1.0/24", err, sizeof(err)), 0);
	ck_assert_int_eq(fd_table_add(t, "255.255.255.255", err, sizeof(err)), 0);
	ck_assert_int_eq(fd_table_add(t, "::ffff:192.0.2.0/120", err,
	    sizeof(err)), 0);
	ck_assert_int_eq(fd_table_add(t, "2001:db8::/127", err, sizeof(err)), 0);
	ck_assert_int_eq(fd_table_add(t, "ffff::/16", err, sizeof(err)), 0);
	ck_assert_int_eq(fd_table_add(t, "10.0.0.1/24", err, sizeof(err)), -1);
	ck_assert_str_eq(err, "host bits set in \"10.0.0.1/24\" (the network is "
	    "10.0.0.0/24)");
	fd_table_seal(t);
	ck_assert_uint_eq(fd_table_count(t), 7);
	ck_assert(fd_table_match(t, "10.0.0.0", 8));
	ck_assert(fd_table_match(t, "10.0.1.255", 10));
	ck_assert(!fd_table_match(t, "10.0.2.0", 8));
	ck_assert(!fd_table_match(t, "9.255.255.255", 13));
	ck_assert(fd_table_match(t, "255.255.255.255", 15));
	ck_assert(!fd_table_match(t, "255.255.255.254", 15));
	ck_assert(fd_table_match(t, "192.0.2.77", 10));	/* mapped entry */
	ck_assert(fd_table_match(t, "[IPv6:::ffff:192.0.2.1]", 23));
	ck_assert(fd_table_match(t, "2001:db8::1", 11));
	ck_assert(!fd_table_match(t, "2001:db8::2", 11));
	ck_assert(fd_table_match(t, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
	    39));
	ck_assert(!fd_table_match(t, "not an ip", 9));
	n = fd_ip_parse("2001:db8::1", 11, ip);
	ck_assert_uint_eq(n, 16);
	ck_assert(fd_table_match_ip(t, ip, n));
	fd_table_free(t);
}
END_TEST

/* in_net - addr inside net/plen, by the bytes: the answer the table's
 * sorted ranges and their index must give */
static int
in_net(const unsigned char *addr, const unsigned char *net, unsigned plen)
{
	unsigned	 i;

	for (i = 0; i < plen; i++)
		if (((addr[i / 8] ^ net[i / 8]) >> (7 - i % 8)) & 1)
			return 0;
	return 1;
}

/* rnd32 - xorshift, so that a failure repeats */
static uint32_t
rnd32(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return (uint32_t)(*s >> 32);
}

/* rnd_addr - 16 random bytes; packed: the first in 10.1/16 (IPv4) or
 * 2001:db8:1::/48 (IPv6), the corner a packed table sits in */
static void
rnd_addr(unsigned char a[16], uint64_t *s, int v6, int packed)
{
	uint32_t	 r;
	int		 k;

	for (k = 0; k < 16; k += 4) {
		r = rnd32(s);
		memcpy(a + k, &r, 4);
	}
	if (packed)
		memcpy(a, v6 ? "\x20\x01\x0d\xb8\x00\x01" : "\x0a\x01",
		    v6 ? 6 : 2);
}

/* edge_addr - around net/plen: which 0 the address before its first, 1
 * its first, 2 its last, 3 the one after its last */
static void
edge_addr(unsigned char *a, const unsigned char *net, unsigned plen,
    size_t alen, int which)
{
	unsigned	 b;
	int		 k;

	memcpy(a, net, alen);
	for (b = plen; which >= 2 && b < alen * 8; b++)
		a[b / 8] |= (unsigned char)(0x80 >> (b % 8));
	if (which == 0)		/* minus one, borrowing */
		for (k = (int)alen - 1; k >= 0 && a[k]-- == 0; k--)
			;
	if (which == 3)		/* plus one, carrying */
		for (k = (int)alen - 1; k >= 0 && ++a[k] == 0; k--)
			;
}

/* rnd_net - a random network into t, and into net/plen for in_net */
static void
rnd_net(struct fd_table *t, unsigned char net[16], unsigned *plen,
    uint64_t *s, int v6, int shape, int first)
{
	size_t		 alen = v6 ? 16 : 4;
	char		 e[INET6_ADDRSTRLEN + 8], err[256];
	unsigned	 b;

	rnd_addr(net, s, v6, shape == 1);
	if (shape == 1)		/* packed: /16 to /32, /64 to /128 */
		*plen = (unsigned)(v6 ? 64 + rnd32(s) % 65 :
		    16 + rnd32(s) % 17);
	else if (shape == 2 && first)
		*plen = 0;	/* everything */
	else			/* a host, or one in four any length */
		*plen = (unsigned)(rnd32(s) % 4 == 0 ?
		    rnd32(s) % (alen * 8 + 1) : alen * 8);
	for (b = *plen; b < alen * 8; b++)
		net[b / 8] &= (unsigned char)~(0x80 >> (b % 8));
	inet_ntop(v6 ? AF_INET6 : AF_INET, net, e, sizeof(e));
	snprintf(e + strlen(e), sizeof(e) - strlen(e), "/%u", *plen);
	ck_assert_msg(fd_table_add(t, e, err, sizeof(err)) == 0, "%s: %s",
	    e, err);
}

/*
 * Tables of 5 to 3,000 networks -- spread over the address space (shape
 * 0), packed into one /16 or /48 (1), with a /0 among them (2) -- against
 * every network checked one by one: the addresses at each network's
 * edges and just outside them, and as many random ones. The small tables
 * are searched whole, the large ones through their index (RINDEX_MIN).
 */
START_TEST(table_cidr_index)
{
	enum { NMAX = 3000 };
	static const int sizes[] = { 5, 15, 16, 17, 200, NMAX };
	static unsigned char net[NMAX][16];
	static unsigned plen[NMAX];
	struct fd_table	*t;
	unsigned char	 a[16];
	char		 e[INET6_ADDRSTRLEN];
	uint64_t	 s = 0x9e3779b97f4a7c15ull;
	size_t		 alen;
	int		 c, n, shape, v6, i, j, want, hits = 0, misses = 0;

	for (c = 0; c < 6 * 3 * 2; c++) {
		n = sizes[c / 6];
		shape = c / 2 % 3;
		v6 = c % 2;
		alen = v6 ? 16 : 4;
		t = fd_table_new("t", FD_TABLE_CIDR);
		for (i = 0; i < n; i++)
			rnd_net(t, net[i], &plen[i], &s, v6, shape, i == 0);
		fd_table_seal(t);
		for (j = 0; j < n * 8; j++) {
			if (j < n * 4)
				edge_addr(a, net[j / 4], plen[j / 4], alen,
				    j % 4);
			else
				rnd_addr(a, &s, v6, shape == 1 && j % 2 == 0);
			for (want = 0, i = 0; i < n && !want; i++)
				want = in_net(a, net[i], plen[i]);
			inet_ntop(v6 ? AF_INET6 : AF_INET, a, e, sizeof(e));
			ck_assert_msg(fd_table_match_ip(t, a, alen) == want,
			    "%s in a table of %d (shape %d): want %d", e, n,
			    shape, want);
			if (want)
				hits++;
			else
				misses++;
		}
		fd_table_free(t);
	}
	/* the edges make both answers common */
	ck_assert_int_gt(hits, 10000);
	ck_assert_int_gt(misses, 10000);
}
END_TEST

START_TEST(table_domains)
{
	struct fd_table		*t = fd_table_new("d", FD_TABLE_DOMAIN);
	char			 err[256];

	ck_assert_int_eq(fd_table_add(t, "Example.COM", err, sizeof(err)), 0);
	ck_assert_int_eq(fd_table_add(t, ".sub.example.net.", err,
	    sizeof(err)), 0);
	ck_assert_int_eq(fd_table_add(t, "a b", err, sizeof(err)), -1);
	ck_assert_int_eq(fd_table_add(t, ".", err, sizeof(err)), -1);
	/* one name twice: the second entry adds its subdomains */
	ck_assert_int_eq(fd_table_add(t, "example.org", err, sizeof(err)), 0);
	ck_assert_int_eq(fd_table_add(t, ".EXAMPLE.org", err, sizeof(err)),
	    0);
	fd_table_seal(t);
	ck_assert(fd_table_match(t, "example.org", 11));
	ck_assert(fd_table_match(t, "mx.example.org", 14));
	ck_assert(!fd_table_match(t, "example.or", 10));
	ck_assert(fd_table_match(t, "example.com", 11));
	ck_assert(fd_table_match(t, "EXAMPLE.com.", 12));
	ck_assert(!fd_table_match(t, "www.example.com", 15));
	ck_assert(fd_table_match(t, "sub.example.net", 15));
	ck_assert(fd_table_match(t, "a.b.sub.example.net", 19));
	ck_assert(!fd_table_match(t, "xsub.example.net", 16));
	ck_assert(!fd_table_match(t, "example.net", 11));
	ck_assert(!fd_table_match(t, "", 0));
	fd_table_free(t);
}
END_TEST

/*
 * A name longer than an entry can be (253 bytes) may still lie under a
 * .domain entry: a client writes what it likes after MAIL FROM's @ or
 * in HELO, and a longer name is no way around a table of domains to
 * refuse. It is never one of the names listed exactly.
 */
START_TEST(table_domain_long_name)
{
	char	 name[400], addr[420];
	size_t	 o = 0;

	while (o < 300)
		o += (size_t)snprintf(name + o, sizeof(name) - o, "%s",
		    "abcdefghijklmnopqrstuvwxyz0123456789.");
	snprintf(name + o, sizeof(name) - o, "spam.example");
	rules("rule bad on mail if sender-domain in { .spam.example, "
	    "exact.example } reject\n"
	    "rule helo on helo if helo in { .spam.example } reject\n");
	snprintf(addr, sizeof(addr), "<x@%s>", name);
	fd_txn_msg_begin(txn, addr);
	DECIDES(FD_ST_MAIL, "bad");
	snprintf(addr, sizeof(addr), "<x@%s.>", name);
	fd_txn_msg_begin(txn, addr);
	DECIDES(FD_ST_MAIL, "bad");
	fd_txn_set_helo(txn, name);
	DECIDES(FD_ST_HELO, "helo");
	/* under no entry, or under one listed for itself alone */
	snprintf(name + o, sizeof(name) - o, "spam.example.org");
	fd_txn_set_helo(txn, name);
	NONE(FD_ST_HELO);
	snprintf(name + o, sizeof(name) - o, "exact.example");
	snprintf(addr, sizeof(addr), "<x@%s>", name);
	fd_txn_msg_begin(txn, addr);
	NONE(FD_ST_MAIL);
	/* one long label: nothing to look up */
	memset(name, 'a', 300);
	name[300] = '\0';
	fd_txn_set_helo(txn, name);
	NONE(FD_ST_HELO);
}
END_TEST

/* big_file - n lines from fmt(i) into path */
static void
big_file(const char *path, int n, void (*line)(FILE *, int))
{
	FILE	*f = fopen(path, "w");
	int	 i;

	ck_assert_ptr_nonnull(f);
	fprintf(f, "# %d generated entries\n", n);
	for (i = 0; i < n; i++)
		line(f, i);
	ck_assert_int_eq(fclose(f), 0);
}

/* every 4th IPv4 address from 11.0.0.0, and a /64 per entry in 2001:db8 */
static void
cidr_line(FILE *f, int i)
{
	uint32_t	 a = 0x0b000000u + (uint32_t)i * 4;

	if (i % 2 == 0)
		fprintf(f, "%u.%u.%u.%u\n", a >> 24, (a >> 16) & 255,
		    (a >> 8) & 255, a & 255);
	else
		fprintf(f, "2001:db8:%x:%x::/64\n", i >> 16, i & 0xffff);
}

START_TEST(table_100k_cidr)
{
	struct fd_table	*t;
	char		 ip[64];
	uint32_t	 a;
	int		 i;

	big_file("big.cidr", 100000, cidr_line);
	rules("table big file \"big.cidr\"\n"
	    "rule in on connect if client-ip in <big> accept\n");
	for (i = 0; i < 100000; i++) {
		if (i % 2 == 0) {
			a = 0x0b000000u + (uint32_t)i * 4;
			snprintf(ip, sizeof(ip), "%u.%u.%u.%u", a >> 24,
			    (a >> 16) & 255, (a >> 8) & 255, a & 255);
			fd_txn_set_addr_str(txn, ip);
			ck_assert_msg(decider(FD_ST_CONNECT) != NULL, "%s", ip);
			a++;
			snprintf(ip, sizeof(ip), "%u.%u.%u.%u", a >> 24,
			    (a >> 16) & 255, (a >> 8) & 255, a & 255);
			fd_txn_set_addr_str(txn, ip);
			ck_assert_msg(decider(FD_ST_CONNECT) == NULL, "%s", ip);
		} else if (i % 1000 == 1) {
			snprintf(ip, sizeof(ip), "2001:db8:%x:%x:ffff::1",
			    i >> 16, i & 0xffff);
			fd_txn_set_addr_str(txn, ip);
			ck_assert_msg(decider(FD_ST_CONNECT) != NULL, "%s", ip);
			snprintf(ip, sizeof(ip), "2001:db8:%x:%x::1",
			    (i + 1) >> 16, (i + 1) & 0xffff);
			fd_txn_set_addr_str(txn, ip);
			ck_assert_msg(decider(FD_ST_CONNECT) == NULL, "%s", ip);
		}
	}
	/* the same file through the table API */
	t = fd_table_new("big", FD_TABLE_CIDR);
	ck_assert_int_eq(fd_table_load(t, "big.cidr", "big.cidr", NULL, &errs),
	    0);
	ck_assert_uint_eq(fd_table_count(t), 100000);
	ck_assert(fd_table_match(t, "11.0.0.0", 8));
	ck_assert(!fd_table_match(t, "11.0.0.2", 8));
	ck_assert(!fd_table_match(t, "10.255.255.255", 14));
	ck_assert(!fd_table_match(t, "2001:db8:1:86a0::1", 18));
	fd_table_free(t);
}
END_TEST

/* host NNN exact, zone NNN with subdomains */
static void
domain_line(FILE *f, int i)
{
	if (i % 2 == 0)
		fprintf(f, "host%d.example%d.test\n", i, i % 97);
	else
		fprintf(f, ".zone%d.test\t# and subdomains\n", i);
}

START_TEST(table_100k_domain)
{
	char	 name[128];
	int	 i;

	big_file("big.domains", 100000, domain_line);
	rules("table big domain file \"big.domains\"\n"
	    "rule in on helo if helo in <big> accept\n");
	for (i = 0; i < 100000; i += 37) {
		if (i % 2 == 0) {
			snprintf(name, sizeof(name), "HOST%d.example%d.test.", i,
			    i % 97);
			fd_txn_set_helo(txn, name);
			ck_assert_msg(decider(FD_ST_HELO) != NULL, "%s", name);
			snprintf(name, sizeof(name), "a.host%d.example%d.test",
			    i, i % 97);
			fd_txn_set_helo(txn, name);
			ck_assert_msg(decider(FD_ST_HELO) == NULL, "%s", name);
		} else {
			snprintf(name, sizeof(name), "zone%d.test", i);
			fd_txn_set_helo(txn, name);
			ck_assert_msg(decider(FD_ST_HELO) != NULL, "%s", name);
			snprintf(name, sizeof(name), "mx.deep.zone%d.TEST", i);
			fd_txn_set_helo(txn, name);
			ck_assert_msg(decider(FD_ST_HELO) != NULL, "%s", name);
			snprintf(name, sizeof(name), "zone%d.test.evil", i);
			fd_txn_set_helo(txn, name);
			ck_assert_msg(decider(FD_ST_HELO) == NULL, "%s", name);
		}
	}
	fd_txn_set_helo(txn, "zone100001.test");
	NONE(FD_ST_HELO);
}
END_TEST

START_TEST(table_regex_file)
{
	put("gen.pcre", "# generic names\n/^dsl-[0-9]+\\./i  # dsl\n"
	    "/(^|[.-])dyn([.-]|$)/\n^[0-9]+-[0-9]+-\n");
	rules("table gen regex file \"gen.pcre\"\n"
	    "rule g on connect if client-name in <gen> tempfail\n");
	fd_txn_set_client_name(txn, "DSL-12.isp.example");
	DECIDES(FD_ST_CONNECT, "g");
	fd_txn_set_client_name(txn, "a.dyn.isp.example");
	DECIDES(FD_ST_CONNECT, "g");
	fd_txn_set_client_name(txn, "1-2-3-4.isp.example");
	DECIDES(FD_ST_CONNECT, "g");
	fd_txn_set_client_name(txn, "mail.isp.example");
	NONE(FD_ST_CONNECT);
}
END_TEST

/*
 * A comment may follow a bare pattern as it follows any entry: it used to
 * join the pattern, which then matched nothing. A '#' not after a blank
 * is still the pattern's.
 */
START_TEST(table_regex_bare_comment)
{
	put("gen.pcre", "^[0-9]+-[0-9]+-\t# numbered pools\n"
	    "^pool[#]x # hash\n^dyn#x\n");
	rules("table gen regex file \"gen.pcre\"\n"
	    "rule g on connect if client-name in <gen> tempfail\n");
	fd_txn_set_client_name(txn, "1-2-3-4.isp.example");
	DECIDES(FD_ST_CONNECT, "g");
	fd_txn_set_client_name(txn, "pool#x.isp.example");
	DECIDES(FD_ST_CONNECT, "g");
	fd_txn_set_client_name(txn, "dyn#x.isp.example");
	DECIDES(FD_ST_CONNECT, "g");
	fd_txn_set_client_name(txn, "mail.isp.example");
	NONE(FD_ST_CONNECT);
}
END_TEST

/* put_bytes - write n bytes, NULs included */
static void
put_bytes(const char *name, const char *bytes, size_t n)
{
	FILE	*f = fopen(name, "w");

	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(bytes, 1, n, f), n);
	ck_assert_int_eq(fclose(f), 0);
}

/* file_table - a table of kind loaded from path; 0 or -1 as loaded */
static int
file_table(struct fd_table **t, enum fd_table_kind kind, const char *path)
{
	*t = fd_table_new(path, kind);
	return fd_table_load(*t, path, path, NULL, &errs);
}

/* A NUL byte in a table file is an error at its place: the line used to
 * end there, so that "postmaster\0junk" was the entry postmaster and
 * "^dsl\0|x" the pattern ^dsl */
START_TEST(table_file_nul)
{
	static const char	 list[] = "abuse\npostmaster\0junk\n";
	static const char	 pcre[] = "/x/\n^dsl\0|x\n";
	struct fd_table		*t;

	put_bytes("nul.list", list, sizeof(list) - 1);
	ck_assert_int_eq(file_table(&t, FD_TABLE_LIST, "nul.list"), -1);
	ck_assert_uint_eq(errs.n, 1);
	ck_assert_str_eq(errs.msg[0], "nul.list:2:11: NUL byte in a table "
	    "file");
	ck_assert(!fd_table_match(t, "postmaster", 10));
	fd_table_free(t);
	fd_errs_clear(&errs);
	put_bytes("nul.pcre", pcre, sizeof(pcre) - 1);
	ck_assert_int_eq(file_table(&t, FD_TABLE_REGEX, "nul.pcre"), -1);
	ck_assert_uint_eq(errs.n, 1);
	ck_assert_str_eq(errs.msg[0], "nul.pcre:2:5: NUL byte in a table "
	    "file");
	ck_assert_uint_eq(fd_table_count(t), 1);
	fd_table_free(t);
}
END_TEST

/* A line longer than a table file's lines may be (64k) is an error and
 * the end of the file: /dev/zero, one endless line, was read into memory
 * until that ran out, and the table then loaded empty */
START_TEST(table_file_long_line)
{
	struct fd_table	*t;
	FILE		*f;
	int		 i;

	ck_assert_int_eq(file_table(&t, FD_TABLE_LIST, "/dev/zero"), -1);
	ck_assert_uint_eq(errs.n, 1);
	ck_assert_str_eq(errs.msg[0], "/dev/zero:1:1: line longer than 65536 "
	    "bytes; the rest of this file is not read");
	fd_table_free(t);
	fd_errs_clear(&errs);
	/* 65536 bytes are a line (a comment here), one more is not */
	f = fopen("long.list", "w");
	ck_assert_ptr_nonnull(f);
	fputc('#', f);
	for (i = 0; i < 65536 - 1; i++)
		fputc('b', f);
	fputs("\nx\n#", f);
	for (i = 0; i < 65536; i++)
		fputc('c', f);
	fputs("\ny\n", f);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(file_table(&t, FD_TABLE_LIST, "long.list"), -1);
	ck_assert_uint_eq(errs.n, 1);
	ck_assert_str_eq(errs.msg[0], "long.list:3:1: line longer than 65536 "
	    "bytes; the rest of this file is not read");
	ck_assert_uint_eq(fd_table_count(t), 1);
	ck_assert(fd_table_match(t, "x", 1));
	ck_assert(!fd_table_match(t, "y", 1));
	fd_table_free(t);
}
END_TEST

/* A UTF-8 byte order mark, which some editors write, is not part of the
 * first entry of a table file, as it is not part of a config file; a
 * column on the first line counts from after it. */
START_TEST(table_file_bom)
{
	struct fd_table	*t;

	put("bom.list", "\xef\xbb\xbfPostmaster\nabuse\n");
	ck_assert_int_eq(file_table(&t, FD_TABLE_LIST, "bom.list"), 0);
	ck_assert(fd_table_match(t, "postmaster", 10));
	ck_assert(fd_table_match(t, "abuse", 5));
	fd_table_free(t);
	put("bom.txt", "\xef\xbb\xbf.example.com\n");
	ck_assert_int_eq(file_table(&t, FD_TABLE_DOMAIN, "bom.txt"), 0);
	ck_assert(fd_table_match(t, "mx.example.com", 14));
	fd_table_free(t);
	put("bom.pcre", "\xef\xbb\xbf^dsl-\n");
	ck_assert_int_eq(file_table(&t, FD_TABLE_REGEX, "bom.pcre"), 0);
	ck_assert(fd_table_match(t, "dsl-1.example", 13));
	fd_table_free(t);
	put("bom.cidr", "\xef\xbb\xbf" "192.0.2.0/24\n");
	ck_assert_int_eq(file_table(&t, FD_TABLE_CIDR, "bom.cidr"), 0);
	ck_assert(fd_table_match(t, "192.0.2.9", 9));
	fd_table_free(t);
	put("bom.cidr", "\xef\xbb\xbf 192.0.2.1/24\n");
	ck_assert_int_eq(file_table(&t, FD_TABLE_CIDR, "bom.cidr"), -1);
	ck_assert_uint_eq(errs.n, 1);
	ck_assert_str_eq(errs.msg[0], "bom.cidr:1:2: host bits set in "
	    "\"192.0.2.1/24\" (the network is 192.0.2.0/24)");
	fd_table_free(t);
	/* only at the start of the file */
	put("bom.list", "abuse\n\xef\xbb\xbfPostmaster\n");
	ck_assert_int_eq(file_table(&t, FD_TABLE_LIST, "bom.list"), 0);
	ck_assert(!fd_table_match(t, "postmaster", 10));
	fd_table_free(t);
}
END_TEST

/*
 * Regex tables put their combinable patterns into one program when
 * sealed (table.c). The reference for every answer is the pattern alone:
 * a table of one entry, which never has a union.
 */

/* regex_table - a sealed regex table of n "/pattern/flags" entries */
static struct fd_table *
regex_table(const char *const *entries, size_t n)
{
	struct fd_table	*t = fd_table_new("t", FD_TABLE_REGEX);
	char		 err[256];
	size_t		 i;

	for (i = 0; i < n; i++)
		ck_assert_msg(fd_table_add(t, entries[i], err, sizeof(err)) == 0,
		    "%s: %s", entries[i], err);
	fd_table_seal(t);
	ck_assert_uint_eq(fd_table_count(t), n);
	return t;
}

/* alone_new - each entry in a table of its own */
static struct fd_table **
alone_new(const char *const *entries, size_t n)
{
	struct fd_table	**one = calloc(n, sizeof(*one));
	size_t		  i;

	ck_assert_ptr_nonnull(one);
	for (i = 0; i < n; i++) {
		one[i] = regex_table(&entries[i], 1);
		ck_assert_uint_eq(fd_table_programs(one[i]), 1);
	}
	return one;
}

/* alone_match - 1 if any of the one-entry tables matches s */
static int
alone_match(struct fd_table *const *one, size_t n, const char *s, size_t len)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (fd_table_match(one[i], s, len))
			return 1;
	return 0;
}

/* alone_free - the tables and the array */
static void
alone_free(struct fd_table **one, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		fd_table_free(one[i]);
	free(one);
}

/* same_as_alone - t answers every subject as its entries one by one */
static void
same_as_alone(const struct fd_table *t, const char *const *entries,
    size_t n, const char *const *subjects, size_t ns)
{
	struct fd_table	**one = alone_new(entries, n);
	size_t		  i;

	for (i = 0; i < ns; i++)
		ck_assert_msg(fd_table_match(t, subjects[i], strlen(subjects[i]))
		    == alone_match(one, n, subjects[i], strlen(subjects[i])),
		    "\"%s\"", subjects[i]);
	alone_free(one, n);
}

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

START_TEST(table_regex_flags_mixed)
{
	/* flags differ per entry; none may leak into its neighbours */
	static const char *const e[] = {
		"/^abc$/i", "/^DEF$/", "/^x.y$/s", "/^a.b$/", "/^m$/m",
		"/^n$/", "/^(p|q)+r/", "/(?<=k)l(?=m)(?!mn)/i",
	};
	static const char *const subj[] = {
		"abc", "ABC", "aBc", "def", "DEF", "x\ny", "xzy", "a\nb", "azb",
		"q\nm\nq", "q\nn\nq", "n", "pqpqr", "PQR", "klm", "KLM",
		"klmn", "", "zzz",
	};
	struct fd_table	*t = regex_table(e, NELEM(e));

	/* every entry is combinable: one program for a miss */
	ck_assert_uint_eq(fd_table_programs(t), 1);
	same_as_alone(t, e, NELEM(e), subj, NELEM(subj));
	ck_assert(fd_table_match(t, "ABC", 3));		/* i */
	ck_assert(!fd_table_match(t, "def", 3));	/* i did not leak */
	ck_assert(fd_table_match(t, "DEF", 3));
	ck_assert(fd_table_match(t, "x\ny", 3));	/* s */
	ck_assert(!fd_table_match(t, "a\nb", 3));	/* s did not leak */
	ck_assert(fd_table_match(t, "q\nm\nq", 5));	/* m */
	ck_assert(!fd_table_match(t, "q\nn\nq", 5));	/* m did not leak */
	ck_assert(fd_table_match(t, "KLM", 3));
	ck_assert(!fd_table_match(t, "klmn", 4));
	ck_assert(!fd_table_match(t, "zzz", 3));
	fd_table_free(t);
}
END_TEST

START_TEST(table_regex_backref)
{
	/*
	 * Combined after "(z)", the \1 of the second entry would name the
	 * first entry's group and "aa" would stop matching: it stays alone.
	 */
	static const char *const e[] = {
		"/^(z)y$/", "/^(a)\\1$/", "/^b+$/i", "/^c$/", "/^(?<w>d)\\k<w>$/",
	};
	static const char *const subj[] = {
		"aa", "ab", "AA", "zy", "zz", "bbb", "BB", "c", "C", "dd", "dD",
	};
	struct fd_table	*t = regex_table(e, NELEM(e));

	/* the union of three, and the two with references alone */
	ck_assert_uint_eq(fd_table_programs(t), 3);
	same_as_alone(t, e, NELEM(e), subj, NELEM(subj));
	ck_assert(fd_table_match(t, "aa", 2));
	ck_assert(!fd_table_match(t, "ab", 2));
	ck_assert(fd_table_match(t, "zy", 2));
	ck_assert(!fd_table_match(t, "zz", 2));
	ck_assert(fd_table_match(t, "BB", 2));
	ck_assert(fd_table_match(t, "c", 1));
	ck_assert(!fd_table_match(t, "C", 1));
	ck_assert(fd_table_match(t, "dd", 2));
	ck_assert(!fd_table_match(t, "dD", 2));
	fd_table_free(t);
}
END_TEST

START_TEST(table_regex_extended)
{
	/* x: '#' comments to the end of the pattern, ours included */
	static const char *const e[] = {
		"/^a b # a and b, no space/x", "/(?x) ^q r # inline x/",
		"/^s$/", "/^t$/i",
	};
	static const char *const subj[] = {
		"ab", "a b", "qr", "q r", "s", "S", "T", "t", "x",
	};
	struct fd_table	*t = regex_table(e, NELEM(e));

	ck_assert_uint_eq(fd_table_programs(t), 3);
	same_as_alone(t, e, NELEM(e), subj, NELEM(subj));
	ck_assert(fd_table_match(t, "ab", 2));
	ck_assert(!fd_table_match(t, "a b", 3));
	ck_assert(fd_table_match(t, "qr", 2));
	ck_assert(fd_table_match(t, "s", 1));
	ck_assert(!fd_table_match(t, "S", 1));
	ck_assert(fd_table_match(t, "T", 1));
	ck_assert(!fd_table_match(t, "x", 1));
	fd_table_free(t);
}
END_TEST

START_TEST(table_regex_utf)
{
	/* u is a compile option of the whole program: never combined */
	static const char *const e[] = { "/^\\w$/u", "/^q$/", "/^\\w\\w$/" };
	struct fd_table	*t = regex_table(e, NELEM(e));

	/* the union of the two plain entries, and the u entry alone */
	ck_assert_uint_eq(fd_table_programs(t), 2);
	ck_assert(fd_table_match(t, "\xc3\xa9", 2));	/* e-acute, one \w */
	ck_assert(fd_table_match(t, "q", 1));
	ck_assert(fd_table_match(t, "ab", 2));
	/* not UTF-8: the u entry stops (-1), the others miss */
	ck_assert(!fd_table_match(t, "\xc3", 1));
	ck_assert(!fd_table_match(t, "\xc3\xa9z", 3));
	fd_table_free(t);

	/* with only one other entry there is nothing to combine either */
	t = regex_table(e, 2);
	ck_assert_uint_eq(fd_table_programs(t), 2);
	ck_assert(fd_table_match(t, "\xc3\xa9", 2));
	ck_assert(!fd_table_match(t, "\xc3", 1));
	fd_table_free(t);
}
END_TEST

/* count - occurrences of needle in hay */
static int
count(const char *hay, const char *needle)
{
	int	 n = 0;

	while ((hay = strstr(hay, needle)) != NULL) {
		n++;
		hay += strlen(needle);
	}
	return n;
}

/* union_count - occurrences of needle in the text of the union of the
 * "/pattern/flags" entries */
static int
union_count(const char *const *entries, size_t n, const char *needle)
{
	struct fd_regex	*re[8], *u;
	char		 err[256], pat[128];
	const char	*end;
	size_t		 i;
	int		 c;

	ck_assert_uint_le(n, NELEM(re));
	for (i = 0; i < n; i++) {
		end = strrchr(entries[i], '/');
		snprintf(pat, sizeof(pat), "%.*s", (int)(end - entries[i] - 1),
		    entries[i] + 1);
		re[i] = fd_re_new(pat, end + 1, err, sizeof(err));
		ck_assert_msg(re[i] != NULL, "%s: %s", entries[i], err);
	}
	u = fd_re_union(re, n, err, sizeof(err));
	ck_assert_msg(u != NULL, "union: %s", err);
	c = count(fd_re_pattern(u), needle);
	fd_re_free(u);
	for (i = 0; i < n; i++)
		fd_re_free(re[i]);
	return c;
}

/* kept_apart - a table of entries whose union keeps the lookaround
 * (needle) in each pattern, checked against each pattern alone */
static struct fd_table *
kept_apart(const char *const *e, size_t n, const char *needle,
    const char *const *subj, size_t ns)
{
	struct fd_table	*t;

	ck_assert_int_eq(union_count(e, n, needle), (int)n);
	t = regex_table(e, n);
	same_as_alone(t, e, n, subj, ns);
	return t;
}

START_TEST(table_regex_shared_lookaround)
{
	/* every entry starts at a label start: one assertion, in front */
	static const char *const e[] = {
		"/(?<![^.-])ab([.-]|$)/i", "/(?<![^.-])[0-9]+x/",
		"/(?<![^.-])c(d|e)$/",
	};
	static const char *const subj[] = {
		"x.AB", "xAB", "AB-1", "x.9x", "x.9X", "9x", "a9x", "x-ce",
		"xce", "CD", "c.e", "",
	};
	/* the same text, but under i [a-z] holds capitals too */
	static const char *const letters[] = {
		"/(?<![a-z])q/i", "/(?<![a-z])r/",
	};
	static const char *const lsubj[] = { "Aq", "aq", "Ar", "ar", "q" };
	/* under s '.' holds a newline */
	static const char *const dot[] = { "/(?<=.)a/s", "/(?<=.)b/" };
	static const char *const dsubj[] = { "\na", "\nb", "xa", "xb", "a" };
	/* "(?<=-)a|b" is ((?<=-)a)|b: b needs no '-' before it */
	static const char *const alt[] = { "/(?<=-)a|b/", "/(?<=-)c/" };
	static const char *const asubj[] = { "b", "-b", "a", "-a", "c", "-c" };
	/* "(?<=-){2}a" repeats the assertion: the quantifier stays with it */
	static const char *const quant[] = { "/(?<=-){2}a/", "/(?<=-)c/" };
	static const char *const qsubj[] = { "-a", "a", "-{2}a", "-c" };
	struct fd_table	*t;

	ck_assert_int_eq(union_count(e, NELEM(e), "(?<!"), 1);
	t = regex_table(e, NELEM(e));
	ck_assert_uint_eq(fd_table_programs(t), 1);
	same_as_alone(t, e, NELEM(e), subj, NELEM(subj));
	ck_assert(fd_table_match(t, "x.AB", 4));
	ck_assert(!fd_table_match(t, "xAB", 3));
	ck_assert(fd_table_match(t, "x.9x", 4));
	ck_assert(!fd_table_match(t, "x.9X", 4));
	ck_assert(fd_table_match(t, "x-ce", 4));
	ck_assert(!fd_table_match(t, "xce", 3));
	fd_table_free(t);

	t = kept_apart(letters, NELEM(letters), "(?<!", lsubj, NELEM(lsubj));
	ck_assert(!fd_table_match(t, "Aq", 2));
	ck_assert(fd_table_match(t, "Ar", 2));
	fd_table_free(t);

	t = kept_apart(dot, NELEM(dot), "(?<=", dsubj, NELEM(dsubj));
	ck_assert(fd_table_match(t, "\na", 2));
	ck_assert(!fd_table_match(t, "\nb", 2));
	fd_table_free(t);

	t = kept_apart(alt, NELEM(alt), "(?<=", asubj, NELEM(asubj));
	ck_assert(fd_table_match(t, "b", 1));
	ck_assert(!fd_table_match(t, "c", 1));
	fd_table_free(t);

	t = kept_apart(quant, NELEM(quant), "(?<=", qsubj, NELEM(qsubj));
	ck_assert(fd_table_match(t, "-a", 2));
	ck_assert(!fd_table_match(t, "-{2}a", 5));
	fd_table_free(t);
}
END_TEST

START_TEST(table_regex_catastrophic)
{
	static const char *const e[] = { "/^(a+)+$/", "/^x/", "/b$/" };
	struct fd_table	*t = regex_table(e, NELEM(e));
	char		*s;
	size_t		 n = 10000;

	ck_assert_uint_eq(fd_table_programs(t), 1);
	s = malloc(n + 2);
	ck_assert_ptr_nonnull(s);
	memset(s, 'a', n);
	s[n] = 'c';
	s[n + 1] = '\0';
	/*
	 * The union stops at its limit in the first entry; one by one, the
	 * first entry stops at its own limit (no match, logged once, under
	 * its own text: never the union's) and the others miss.
	 */
	ck_assert(!fd_table_match(t, s, n + 1));
	ck_assert_int_eq(count(logbuf, "regex /^(a+)+$/: "), 1);
	ck_assert_int_eq(count(logbuf, "counted as no match"), 1);
	ck_assert_ptr_null(strstr(logbuf, "(?:"));
	logbuf[0] = '\0';
	ck_assert(!fd_table_match(t, s, n + 1));
	ck_assert_str_eq(logbuf, "");
	/* the third entry matches behind the first one's stop */
	s[n] = 'b';
	ck_assert(fd_table_match(t, s, n + 1));
	ck_assert_str_eq(logbuf, "");
	/* sane subjects */
	ck_assert(fd_table_match(t, "aaaa", 4));
	ck_assert(fd_table_match(t, "xa", 2));
	ck_assert(!fd_table_match(t, "aaac", 4));
	free(s);
	fd_table_free(t);
}
END_TEST

START_TEST(table_regex_small)
{
	static const char *const e[] = { "/^one$/i" };
	struct fd_table	*t = regex_table(e, 1);
	char		 err[256];

	ck_assert_uint_eq(fd_table_programs(t), 1);
	ck_assert(fd_table_match(t, "ONE", 3));
	ck_assert(!fd_table_match(t, "one two", 7));
	ck_assert(!fd_table_match(t, "", 0));
	fd_table_free(t);
	/* an empty table matches nothing (an empty union would match all) */
	t = regex_table(e, 0);
	ck_assert_uint_eq(fd_table_programs(t), 0);
	ck_assert(!fd_table_match(t, "", 0));
	ck_assert(!fd_table_match(t, "one", 3));
	ck_assert_ptr_null(fd_re_union(NULL, 0, err, sizeof(err)));
	/* an entry added after sealing: unsealed, still answered */
	ck_assert_int_eq(fd_table_add(t, "/^two$/", err, sizeof(err)), 0);
	ck_assert_int_eq(fd_table_add(t, "/^three$/", err, sizeof(err)), 0);
	fd_table_seal(t);
	ck_assert_uint_eq(fd_table_programs(t), 1);
	ck_assert_int_eq(fd_table_add(t, "/^four$/", err, sizeof(err)), 0);
	ck_assert_uint_eq(fd_table_programs(t), 3);
	ck_assert(fd_table_match(t, "two", 3));
	ck_assert(fd_table_match(t, "four", 4));
	ck_assert(!fd_table_match(t, "five", 4));
	fd_table_free(t);
	/* not a regex table */
	t = fd_table_new("d", FD_TABLE_DOMAIN);
	ck_assert_uint_eq(fd_table_programs(t), 0);
	fd_table_free(t);
}
END_TEST

/* rnd - xorshift, so the generated names are the same every run */
static uint32_t
rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return (uint32_t)(*s >> 11);
}

/* host_name - one to five pieces of host names, joined at random */
static void
host_name(char *buf, size_t len, uint64_t *st)
{
	static const char *const piece[] = {
		"mail", "mx", "smtp", "dsl", "ADSL", "xdsl", "dyn", "dynamic",
		"dial-up", "ppp", "pppoe", "cable", "fttx", "cust", "Pool",
		"user", "residential", "mobile", "3g", "LTE", "wifi", "unknown",
		"not-set", "c0000201", "C0A80001", "deadbeef1", "192", "0",
		"2", "1", "255", "1234", "ab", "x", "example", "net",
	};
	static const char *const sep[] = { ".", "-", "", "_" };
	uint32_t	 k;

	buf[0] = '\0';
	for (k = 1 + rnd(st) % 5; k > 0; k--) {
		strncat(buf, piece[rnd(st) % NELEM(piece)],
		    len - strlen(buf) - 1);
		if (k > 1)
			strncat(buf, sep[rnd(st) % NELEM(sep)],
			    len - strlen(buf) - 1);
	}
}

START_TEST(table_regex_shipped)
{
	const char	*top = getenv("top_srcdir");
	char		 path[PATH_MAX], line[512], name[256];
	const char	*e[32], *plain[32];
	struct fd_table	*t, **one, **two;
	FILE		*f;
	uint64_t	 st = 88172645463325252ull;
	size_t		 n = 0, i;
	int		 hits = 0;

	ck_assert_msg(top != NULL, "top_srcdir must be set");
	snprintf(path, sizeof(path), "%s/rules/generic-helo.pcre", top);
	t = fd_table_new("generic-names", FD_TABLE_REGEX);
	ck_assert_int_eq(fd_table_load(t, path, "generic-helo.pcre", NULL,
	    &errs), 0);
	/* the seven patterns run as one program */
	ck_assert_uint_eq(fd_table_count(t), 7);
	ck_assert_uint_eq(fd_table_programs(t), 1);
	ck_assert(fd_table_match(t, "192-0-2-1.example.net", 21));
	ck_assert(fd_table_match(t, "C0000201.pool.example.net", 25));
	ck_assert(fd_table_match(t, "adsl-1-2.isp.example", 20));
	ck_assert(!fd_table_match(t, "mx123.helo.example.net", 22));
	ck_assert(!fd_table_match(t, "mail.example.com", 16));

	/* the reference: each line of the file in a table of its own */
	f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "\r\n")] = '\0';
		if (line[0] == '/' && n < NELEM(e))
			e[n++] = strdup(line);
	}
	fclose(f);
	ck_assert_uint_eq(n, 7);
	one = alone_new(e, n);
	/* and each written the plain way, (^|[.-]) for the lookbehind */
	for (i = 0; i < n; i++) {
		const char *lb = strstr(e[i], "(?<![^.-])");

		ck_assert_ptr_nonnull(lb);
		snprintf(line, sizeof(line), "%.*s(^|[.-])%s", (int)(lb - e[i]),
		    e[i], lb + strlen("(?<![^.-])"));
		plain[i] = strdup(line);
	}
	two = alone_new(plain, n);
	for (i = 0; i < 20000; i++) {
		int	 got;

		host_name(name, sizeof(name), &st);
		got = fd_table_match(t, name, strlen(name));
		ck_assert_msg(got == alone_match(one, n, name, strlen(name)),
		    "%s", name);
		ck_assert_msg(got == alone_match(two, n, name, strlen(name)),
		    "%s", name);
		hits += got;
	}
	/* both answers were exercised, plenty of each */
	ck_assert_int_gt(hits, 2000);
	ck_assert_int_lt(hits, 18000);
	alone_free(one, n);
	alone_free(two, n);
	for (i = 0; i < n; i++) {
		free((char *)e[i]);
		free((char *)plain[i]);
	}
	fd_table_free(t);
}
END_TEST

/* ---- regex limits ---- */

START_TEST(regex_catastrophic)
{
	struct fd_regex	*re;
	char		*helo, err[256];
	size_t		 n = 10000;

	helo = malloc(n + 2);
	ck_assert_ptr_nonnull(helo);
	memset(helo, 'a', n);
	helo[n] = 'b';
	helo[n + 1] = '\0';
	re = fd_re_new("^(a+)+$", "", err, sizeof(err));
	ck_assert_ptr_nonnull(re);
	/* the match stops at its limit: -1, not a stalled thread */
	ck_assert_int_eq(fd_re_match(re, helo, n + 1), -1);
	ck_assert_ptr_nonnull(strstr(logbuf, "regex /^(a+)+$/: "));
	ck_assert_ptr_nonnull(strstr(logbuf, "counted as no match"));
	/* logged once a minute per pattern, not per match */
	logbuf[0] = '\0';
	ck_assert_int_eq(fd_re_match(re, helo, n + 1), -1);
	ck_assert_str_eq(logbuf, "");
	/* the same pattern still answers on sane input */
	ck_assert_int_eq(fd_re_match(re, "aaaa", 4), 1);
	ck_assert_int_eq(fd_re_match(re, "aaab", 4), 0);
	fd_re_free(re);

	/* through a rule: a limit hit is no match, the next rule runs */
	rules("rule bad on helo if helo ~ /^(a+)+$/ reject\n"
	    "rule next on helo if helo ~ /b$/ tempfail\n");
	fd_txn_set_helo(txn, helo);
	DECIDES(FD_ST_HELO, "next");
	/* the pattern does not match, so !~ and not ~ hold */
	rules("rule neg on helo if helo !~ /^(a+)+$/ accept\n"
	    "rule not on mail if not helo ~ /^(a+)+$/ accept\n");
	DECIDES(FD_ST_HELO, "neg");
	fd_txn_msg_begin(txn, "<s@example.com>");
	DECIDES(FD_ST_MAIL, "not");
	free(helo);
}
END_TEST

/* jit_thread - a 1000-letter match fits a 32 KiB JIT stack, 2000 not */
static void *
jit_thread(void *arg)
{
	const struct fd_regex	*re = arg;
	char			 s[2001];
	long			 bad = 0;

	memset(s, 'a', sizeof(s) - 1);
	s[sizeof(s) - 1] = '\0';
	if (fd_re_match(re, s, 1000) != 1)
		bad++;
	if (fd_re_match(re, s, 2000) != -1)
		bad++;
	return (void *)bad;
}

/* a thread's match state outlives it, kept for the next thread, and its
 * JIT stack is as large as PCRE2's own default wherever it runs */
START_TEST(regex_jit_stack)
{
	struct fd_regex	*re;
	pthread_t	 th;
	void		*bad;
	char		 err[256];
	int		 i;

	re = fd_re_new("^(a|b)*$", "", err, sizeof(err));
	ck_assert_ptr_nonnull(re);
	/* one after the other: the later threads take the first's state */
	for (i = 0; i < 3; i++) {
		ck_assert_int_eq(pthread_create(&th, NULL, jit_thread, re), 0);
		ck_assert_int_eq(pthread_join(th, &bad), 0);
		ck_assert_ptr_null(bad);
	}
	ck_assert_ptr_nonnull(strstr(logbuf, "JIT stack limit reached"));
	ck_assert_ptr_null(jit_thread(re));
	fd_re_free(re);
}
END_TEST

START_TEST(regex_flags)
{
	char		 err[256];
	struct fd_regex	*re;

	re = fd_re_new("^a.b$", "is", err, sizeof(err));
	ck_assert_ptr_nonnull(re);
	ck_assert_str_eq(fd_re_pattern(re), "^a.b$");
	ck_assert_int_eq(fd_re_match(re, "A\nB", 3), 1);
	fd_re_free(re);
	re = fd_re_new("^\\w$", "u", err, sizeof(err));
	ck_assert_ptr_nonnull(re);
	ck_assert_int_eq(fd_re_match(re, "\xc3\xa9", 2), 1);
	/* invalid UTF-8 under "u" is not a match, not a crash */
	ck_assert_int_eq(fd_re_match(re, "\xc3", 1), -1);
	fd_re_free(re);
	ck_assert_ptr_null(fd_re_new("a", "q", err, sizeof(err)));
	ck_assert_str_eq(err, "unknown regex flag 'q' (use i, x, s, m or u)");
	ck_assert_ptr_null(fd_re_new("a)", "", err, sizeof(err)));
	ck_assert_str_eq(err, "invalid regex: unmatched closing parenthesis at "
	    "offset 1");
}
END_TEST

/* combinable - fd_re_combinable of a pattern that compiles alone */
static int
combinable(const char *pattern, const char *flags)
{
	struct fd_regex	*re;
	char		 err[256];
	int		 ok;

	re = fd_re_new(pattern, flags, err, sizeof(err));
	ck_assert_msg(re != NULL, "/%s/%s: %s", pattern, flags, err);
	ok = fd_re_combinable(re);
	fd_re_free(re);
	return ok;
}

START_TEST(regex_combinable)
{
	static const char *const yes[] = {
		"", "abc", "^(a|b)+c$", "(?:a)(?=b)(?!c)(?<=d)(?<!e)(?>f)",
		"\\d\\.\\x41\\x{41}\\o{101}\\0\\t\\bz\\B\\Az\\z",
		"[a-z]{2,}\\w*\\K\\s\\p{L}", "\\(?\\*", "a#b",
	};
	static const char *const no[] = {
		/* references, by number or name, and what names groups */
		"(a)\\1", "(a)\\g1", "(a)\\g{-1}", "\\12",
		"(?<n>a)\\k<n>", "(?<n>a)", "(?P<n>a)", "(?'n'a)",
		"(?<n>a)(?P=n)", "(?<n>a)(?&n)", "(?<n>a)(?P>n)", "(a)(?1)",
		"(a)(?-1)", "(?+1)(a)", "a(?R)?b", "(x)?(?(1)a|b)",
		"(?(DEFINE)(?<d>a))b", "(?|(a)|(b))",
		/* inline options, comments, callouts */
		"(?i)a", "(?x)a", "(?i:a)", "a(?-i)b", "(?^)a", "(?#c)a",
		"(?C1)a",
		/* start-of-pattern items and verbs */
		"(*UTF)a", "(*LIMIT_MATCH=10)a", "(*COMMIT)a", "a(*SKIP)b",
		"a(*:m)b", "(*ACCEPT)",
		/* quoting, control characters */
		"\\Qa(", "\\Qa\\E", "\\ca",
		/* refused although harmless inside a class */
		"[\\1]", "[(?R)]",
	};
	size_t	 i;

	for (i = 0; i < NELEM(yes); i++) {
		ck_assert_msg(combinable(yes[i], ""), "/%s/", yes[i]);
		ck_assert_msg(combinable(yes[i], "ims"), "/%s/ims", yes[i]);
	}
	for (i = 0; i < NELEM(no); i++)
		ck_assert_msg(!combinable(no[i], ""), "/%s/", no[i]);
	ck_assert(!combinable("abc", "x"));
	ck_assert(!combinable("abc", "u"));
	ck_assert(!combinable("abc", "iu"));
}
END_TEST

/* threaded - evaluate the same rules from several threads at once */
static void *
eval_thread(void *arg)
{
	struct fd_txn		*t = fd_txn_new(NULL, 9);
	struct fd_rule_hit	 h;
	long			 i, bad = 0;
	char			 name[64];

	(void)arg;
	for (i = 0; i < 2000; i++) {
		snprintf(name, sizeof(name), i % 2 ? "dsl-%ld.example" :
		    "mail%ld.example", i);
		fd_txn_set_helo(t, name);
		if (fd_rules_eval(conf->rules, FD_ST_HELO, t, &h) != (i % 2))
			bad++;
	}
	fd_txn_free(t);
	return (void *)bad;
}

START_TEST(threads)
{
	pthread_t	 th[4];
	void		*bad;
	int		 i;

	rules("rule g on helo if helo ~ /^dsl-[0-9]+\\./ and "
	    "helo in { .example } reject\n");
	for (i = 0; i < 4; i++)
		ck_assert_int_eq(pthread_create(&th[i], NULL, eval_thread, NULL),
		    0);
	for (i = 0; i < 4; i++) {
		ck_assert_int_eq(pthread_join(th[i], &bad), 0);
		ck_assert_ptr_null(bad);
	}
}
END_TEST

static Suite *
rules_suite(void)
{
	Suite	*s = suite_create("rules");
	TCase	*tc;

	tc = tcase_create("conditions");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, client_ip);
	tcase_add_test(tc, client_name);
	tcase_add_test(tc, helo_field);
	tcase_add_test(tc, sender);
	tcase_add_test(tc, rcpt);
	tcase_add_test(tc, auth_user);
	tcase_add_test(tc, headers);
	tcase_add_test(tc, macros);
	tcase_add_test(tc, size);
	tcase_add_test(tc, logic);
	tcase_add_test(tc, long_conditions);
	suite_add_tcase(s, tc);

	tc = tcase_create("actions");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, reply_actions);
	tcase_add_test(tc, txn_actions);
	tcase_add_test(tc, first_match);
	tcase_add_test(tc, dry_run_rule);
	tcase_add_test(tc, dry_run_global);
	tcase_add_test(tc, stages_and_macros);
	suite_add_tcase(s, tc);

	tc = tcase_create("tables");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, table_cidr_ranges);
	tcase_add_test(tc, table_cidr_index);
	tcase_add_test(tc, table_domains);
	tcase_add_test(tc, table_domain_long_name);
	tcase_add_test(tc, table_100k_cidr);
	tcase_add_test(tc, table_100k_domain);
	tcase_add_test(tc, table_regex_file);
	tcase_add_test(tc, table_regex_bare_comment);
	tcase_add_test(tc, table_file_bom);
	tcase_add_test(tc, table_file_nul);
	tcase_add_test(tc, table_file_long_line);
	tcase_add_test(tc, table_regex_flags_mixed);
	tcase_add_test(tc, table_regex_backref);
	tcase_add_test(tc, table_regex_extended);
	tcase_add_test(tc, table_regex_utf);
	tcase_add_test(tc, table_regex_shared_lookaround);
	tcase_add_test(tc, table_regex_catastrophic);
	tcase_add_test(tc, table_regex_small);
	tcase_add_test(tc, table_regex_shipped);
	suite_add_tcase(s, tc);

	tc = tcase_create("regex");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, regex_catastrophic);
	tcase_add_test(tc, regex_jit_stack);
	tcase_add_test(tc, regex_flags);
	tcase_add_test(tc, regex_combinable);
	tcase_add_test(tc, threads);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(rules_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
