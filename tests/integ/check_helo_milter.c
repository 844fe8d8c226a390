/*
 * check_helo_milter.c -- the helo plugin in a running filterd
 *
 * filterd runs with the helo plugin on a loopback port; the project's
 * milter client plays Postfix: CONNECT, EHLO with a hostile name, MAIL.
 * Each test asserts what the client is told (code, enhanced code, text)
 * and the exact log line an administrator reads, so that the client's
 * bytes are escaped once on every path: in the decision line, where
 * filterd escapes the reason, and in the plugin's own log-only line.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mclient.h"
#include "proc.h"

static struct {
	char		*dir;
	char		*conf;
	char		 spec[64];
	struct th_proc	*p;
} E;

static void
setup(void)
{
	memset(&E, 0, sizeof(E));
	E.dir = th_tmpdir_new();
	ck_assert_ptr_nonnull(E.dir);
	E.conf = th_path(E.dir, "filterd.conf");
}

static void
teardown(void)
{
	E.p = th_proc_free(E.p);
	free(E.conf);
	E.dir = th_tmpdir_free(E.dir);
}

/* start_rules - filterd with the helo block and the rules given */
static void
start_rules(const char *block, const char *rules)
{
	char	 err[4096];
	int	 port = th_free_port();

	ck_assert_int_gt(port, 0);
	snprintf(E.spec, sizeof(E.spec), "inet:%d@127.0.0.1", port);
	ck_assert_int_eq(th_write_file(E.conf,
	    "socket \"inet:%d@127.0.0.1\"\n"
	    "log stderr\nlog-level info\n"
	    "store lmdb \"%s/state\"\n"
	    "plugin-dir \"%s\"\n"
	    "plugin helo {\n%s\n}\n%s", port, E.dir, th_plugin_dir(), block,
	    rules), 0);
	E.p = th_filterd_start(E.dir, E.conf, NULL, E.spec, err, sizeof(err));
	ck_assert_msg(E.p != NULL, "filterd: %s", err);
}

/* start - filterd with the helo block given */
static void
start(const char *block)
{
	start_rules(block, "");
}

/* what the client was told at MAIL */
struct answer {
	enum mc_action	 a;
	char		 rcode[4];
	char		 xcode[16];
	char		 text[512];
};

/* helo_mail - a client at 203.0.113.5 says EHLO name, then MAIL */
static struct answer
helo_mail(const char *name)
{
	struct answer	 r;
	struct mc_conn	*mc;
	enum mc_action	 a;
	char		 err[256];

	mc = mc_connect(E.spec, 10000, err, sizeof(err));
	ck_assert_msg(mc != NULL, "connect: %s", err);
	ck_assert_int_eq(mc_negotiate(mc, 0, 0), 0);
	mc_auto_qid(mc, 0);
	a = mc_connect_cmd(mc, "[203.0.113.5]", "203.0.113.5", 25000);
	ck_assert(a == MC_CONTINUE || a == MC_NOREPLY);
	a = mc_helo(mc, name);
	ck_assert(a == MC_CONTINUE || a == MC_NOREPLY);
	r.a = mc_mail(mc, "<a@example.org>", NULL);
	snprintf(r.rcode, sizeof(r.rcode), "%s", mc_last(mc)->rcode);
	snprintf(r.xcode, sizeof(r.xcode), "%s", mc_last(mc)->xcode);
	snprintf(r.text, sizeof(r.text), "%s", mc_last(mc)->text);
	mc_quit(mc);
	mc_free(mc);
	return r;
}

#define SYNTAX_TEXT(why) "HELO/EHLO name (not repeated here: it holds " \
	"spaces, quotes, backslashes, percent signs, control or non-ASCII " \
	"characters) is not a valid host name or address literal (" why \
	"); see RFC 5321 section 4.1.2"

/* the decision line escapes the client's name once: \xc3, not \\xc3 */
START_TEST(decision_line_escaped_once)
{
	struct answer	 r;
	char		 want[1024];

	start("");
	r = helo_mail("mail.ex\xc3\xa4mple.org");
	ck_assert_int_eq(r.a, MC_REJECT);
	ck_assert_str_eq(r.rcode, "501");
	ck_assert_str_eq(r.xcode, "5.5.2");
	ck_assert_str_eq(r.text, SYNTAX_TEXT("non-ASCII characters (use "
	    "the IDNA A-label form, xn--)"));
	snprintf(want, sizeof(want), "conn=1 qid=- "
	    "client=unknown[203.0.113.5] stage=mail decider=helo "
	    "action=reject reply=\"501 5.5.2 %s\" from=<a@example.org> "
	    "rcpt=- reason=\"syntax (reject): non-ASCII characters (use "
	    "the IDNA A-label form, xn--); helo=\\\"mail.ex\\xc3\\xa4mple.org"
	    "\\\"\"\n", r.text);
	ck_assert_int_eq(th_log_wait(E.p, 0, "decider=helo", 5000), 0);
	ck_assert_msg(th_log_has(E.p, want), "want %s in\n%s", want,
	    th_log_read(E.p));

	/* quotes, backslashes and line breaks: one backslash each */
	r = helo_mail("a\"b\\c\r\nRCPT");
	ck_assert_int_eq(r.a, MC_REJECT);
	ck_assert_str_eq(r.text, SYNTAX_TEXT("characters not allowed in a "
	    "host name"));
	ck_assert_int_eq(th_log_wait(E.p, 0, "conn=2 ", 5000), 0);
	ck_assert_msg(th_log_has(E.p, "reason=\"syntax (reject): characters "
	    "not allowed in a host name; helo=\\\"a\\\"b\\\\c\\r\\nRCPT\\\"\"\n"),
	    "%s", th_log_read(E.p));
}
END_TEST

/* a log-only finding: the plugin's own line, the name escaped once */
START_TEST(log_only_line_escaped_once)
{
	struct answer	 r;

	start("syntax log");
	r = helo_mail("mail.ex\xc3\xa4mple.org\r\n\"x\\");
	ck_assert_int_eq(r.a, MC_CONTINUE);
	ck_assert_int_eq(th_log_wait(E.p, 0, "log only", 5000), 0);
	ck_assert_msg(th_log_has(E.p, "conn=1 qid=- "
	    "client=unknown[203.0.113.5] "
	    "plugin helo: log only: syntax (log): non-ASCII characters (use "
	    "the IDNA A-label form, xn--); "
	    "helo=\"mail.ex\\xc3\\xa4mple.org\\r\\n\\\"x\\\\\"\n"),
	    "%s", th_log_read(E.p));
	ck_assert(!th_log_has(E.p, "decider=helo"));
}
END_TEST

/*
 * The log-only line starts with the fields of every other line about its
 * connection, so that grepping conn=N finds it: it used to carry only the
 * client's address, which several connections share.
 */
START_TEST(log_only_line_names_its_connection)
{
	start_rules("syntax log", "rule seen on mail log \"mail\"\n");
	ck_assert_int_eq(helo_mail("host one").a, MC_CONTINUE);
	ck_assert_int_eq(helo_mail("host two").a, MC_CONTINUE);
	ck_assert_int_eq(th_log_wait(E.p, 0, "helo=\"host two\"", 5000), 0);
	ck_assert_msg(th_log_has(E.p, "conn=2 qid=- "
	    "client=unknown[203.0.113.5] "
	    "helo=\"host two\" from=<a@example.org> rcpt=- stage=mail "
	    "rule=seen matched: log \"mail\"\n"), "%s", th_log_read(E.p));
	ck_assert_msg(th_log_has(E.p, "conn=1 qid=- "
	    "client=unknown[203.0.113.5] "
	    "plugin helo: log only: syntax (log): characters not allowed in "
	    "a host name; helo=\"host one\"\n"), "%s", th_log_read(E.p));
	ck_assert_msg(th_log_has(E.p, "conn=2 qid=- "
	    "client=unknown[203.0.113.5] "
	    "plugin helo: log only: syntax (log): characters not allowed in "
	    "a host name; helo=\"host two\"\n"), "%s", th_log_read(E.p));
}
END_TEST

static Suite *
helo_suite(void)
{
	Suite	*s = suite_create("helo-milter");
	TCase	*tc;

	tc = tcase_create("log lines");
	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, decision_line_escaped_once);
	tcase_add_test(tc, log_only_line_escaped_once);
	tcase_add_test(tc, log_only_line_names_its_connection);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	th_require("FILTERD", NULL);
	sr = srunner_create(helo_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
