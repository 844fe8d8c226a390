/*
 * check_rule_actions.c -- every rule action through the real milter path
 *
 * A filterd on a loopback port with a rule set and the example plugin
 * (which rejects trap@example.com at RCPT), driven by the project's
 * milter client as Postfix would drive it. Each test asserts what an MTA
 * would see: the action, reply code, enhanced code and text, the headers
 * added at end of message, and the log lines of log and dry-run rules.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libmilter/mfapi.h>
#include <libmilter/mfdef.h>

#include "mclient.h"
#include "proc.h"

#define EXAMPLE_DIR	FD_BUILDDIR "/contrib/example-plugin/.libs"

static const char rules[] =
    "rule trusted on connect if client-ip == 198.51.100.0/24 "
	"accept connection\n"
    "rule daemon on connect if {daemon_name} == blocked-smtpd "
	"reject 554 5.7.1 \"not on this port\"\n"
    "rule bare-ip on helo if helo ~ /^[0-9.]+$/ "
	"reject 550 5.7.1 \"use a name\"\n"
    "rule slow-helo on helo if helo == slow.example "
	"tempfail 421 4.7.0 \"come back later\"\n"
    "rule friend on mail if sender-domain == friend.example accept\n"
    "rule junk on mail if sender == spam@spam.example discard\n"
    "rule tag-skip on rcpt if client-name == skip.example skip example\n"
    "rule log-it on rcpt if rcpt-local == logme log \"saw logme\"\n"
    "rule dry on rcpt dry-run if rcpt-local == dry "
	"reject 550 5.7.1 \"dry\"\n"
    "rule blocked on rcpt if rcpt-domain == blocked.example reject\n"
    "rule busy on rcpt if rcpt == busy@example.com tempfail\n"
    "rule folded on header if header \"Subject\" ~ /^free money now$/ "
	"reject 550 5.7.1 \"unfolded\"\n"
    "rule subject on header if header \"Subject\" ~ /viagra/i "
	"reject 550 5.7.1 \"no thanks\"\n"
    "rule tag on eom if sender-domain == tagged.example "
	"add-header \"X-Filterd-Rule\" \"tagged\"\n";

struct env {
	char		*dir;
	char		*conf;
	char		 spec[64];
	int		 port;
	struct th_proc	*p;
};

static struct env E;

/* start - filterd with the plugins and rules given */
static void
start(const char *plugins_rules)
{
	char	 err[2048];

	ck_assert_int_eq(th_write_file(E.conf,
	    "socket \"inet:%d@127.0.0.1\"\n"
	    "log stderr\nlog-level debug\n"
	    "store lmdb \"%s/state\"\n%s", E.port, E.dir, plugins_rules), 0);
	E.p = th_filterd_start(E.dir, E.conf, NULL, E.spec, err, sizeof(err));
	ck_assert_msg(E.p != NULL, "filterd: %s", err);
}

/* setup_with - the example plugin and the rules, after `global` */
static void
setup_with(const char *global)
{
	char	 text[8192];

	memset(&E, 0, sizeof(E));
	E.dir = th_tmpdir_new();
	ck_assert_ptr_nonnull(E.dir);
	E.conf = th_path(E.dir, "filterd.conf");
	E.port = th_free_port();
	snprintf(E.spec, sizeof(E.spec), "inet:%d@127.0.0.1", E.port);
	snprintf(text, sizeof(text), "%splugin example path \"%s/example.so\" {\n"
	    "\treject-rcpt \"trap@example.com\" \"logme@trap.example\"\n"
	    "\treply 550 5.1.1 \"No such user here\"\n"
	    "}\n%s", global, EXAMPLE_DIR, rules);
	start(text);
}

static void
setup(void)
{
	setup_with("");
}

static void
setup_delay(void)
{
	setup_with("delay-reject yes\n");
}

/* setup_plain - the temp dir and port only; the test starts filterd */
static void
setup_plain(void)
{
	memset(&E, 0, sizeof(E));
	E.dir = th_tmpdir_new();
	ck_assert_ptr_nonnull(E.dir);
	E.conf = th_path(E.dir, "filterd.conf");
	E.port = th_free_port();
	snprintf(E.spec, sizeof(E.spec), "inet:%d@127.0.0.1", E.port);
}

static void
teardown(void)
{
	E.p = th_proc_free(E.p);
	free(E.conf);
	E.dir = th_tmpdir_free(E.dir);
}

/* conn - a negotiated milter connection */
static struct mc_conn *
conn(void)
{
	struct mc_conn	*mc;
	char		 err[256];

	mc = mc_connect(E.spec, 5000, err, sizeof(err));
	ck_assert_msg(mc != NULL, "connect: %s", err);
	ck_assert_int_eq(mc_negotiate(mc, 0, 0), 0);
	return mc;
}

/* ok - the step passed: continue, or no reply awaited */
static void
ok(struct mc_conn *mc, enum mc_action a, const char *what)
{
	ck_assert_msg(a == MC_CONTINUE || a == MC_NOREPLY,
	    "%s: expected continue, got %s (%s)", what, mc_action_name(a),
	    mc_error(mc) ? mc_error(mc) : "");
}

/* passed - a step with no rule or plugin may also be turned off */
static void
passed(struct mc_conn *mc, enum mc_action a, const char *what)
{
	if (a != MC_SKIPPED)
		ok(mc, a, what);
}

/* expect - exact action, codes and text of the last event */
static void
expect(struct mc_conn *mc, enum mc_action a, enum mc_action want,
    const char *rcode, const char *xcode, const char *text)
{
	const struct mc_reply *r = mc_last(mc);

	ck_assert_msg(a == want, "expected %s, got %s", mc_action_name(want),
	    mc_action_name(a));
	ck_assert_str_eq(r->rcode, rcode);
	ck_assert_str_eq(r->xcode, xcode);
	ck_assert_str_eq(r->text, text);
}

/* envelope - connect, helo, mail as one client */
static struct mc_conn *
envelope(const char *name, const char *addr, const char *sender)
{
	struct mc_conn	*mc = conn();

	ok(mc, mc_connect_cmd(mc, name, addr, 40000), "connect");
	ok(mc, mc_helo(mc, name), "helo");
	ok(mc, mc_mail(mc, sender, NULL), "mail");
	return mc;
}

/* done - close the conversation */
static void
done(struct mc_conn *mc)
{
	mc_quit(mc);
	mc_free(mc);
}

START_TEST(negotiation)
{
	struct mc_conn	*mc = conn();

	/* rules at header and eom: those steps are kept; rules read
	 * {daemon_name} at connect, so it is asked for there */
	ck_assert(!(mc_proto(mc) & SMFIP_NOHDRS));
	ck_assert(!(mc_proto(mc) & SMFIP_NOHELO));
	ck_assert(mc_actions(mc) & SMFIF_ADDHDRS);
	ck_assert_ptr_nonnull(mc_symlist(mc, MC_ST_CONNECT));
	ck_assert_ptr_nonnull(strstr(mc_symlist(mc, MC_ST_CONNECT),
	    "{daemon_name}"));
	done(mc);
}
END_TEST

START_TEST(accept_connection)
{
	struct mc_conn	*mc = conn();

	/* trusted: accepted at connect, nothing later is even sent */
	ck_assert_int_eq(mc_connect_cmd(mc, "relay.example", "198.51.100.7",
	    40000), MC_ACCEPT);
	ck_assert_int_eq(mc_helo(mc, "1.2.3.4"), MC_SKIPPED);
	done(mc);
	/* an accept sends no reply: the line says so */
	ck_assert_int_eq(th_log_wait(E.p, 0, "stage=connect decider=trusted "
	    "action=accept reply=\"-\" from=- rcpt=- reason=\"-\"",
	    5000), 0);
}
END_TEST

START_TEST(reject_connect_macro)
{
	struct mc_conn	*mc = conn();

	mc_macro(mc, "{daemon_name}", "blocked-smtpd");
	/* filterd holds a connect verdict for the next reply, where the
	 * text can be given (libmilter has none at connect) */
	ok(mc, mc_connect_cmd(mc, "a.example", "192.0.2.1", 40000), "connect");
	expect(mc, mc_helo(mc, "a.example"), MC_REJECT, "554", "5.7.1",
	    "not on this port");
	done(mc);
}
END_TEST

/*
 * A refusal held from CONNECT is the connection's: given at MAIL (a
 * client may skip HELO), the MTA refuses that MAIL only, and the next
 * MAIL must get it again, not the rules' say on a fresh message.
 */
START_TEST(reject_connect_every_mail)
{
	struct mc_conn	*mc = conn();

	mc_macro(mc, "{daemon_name}", "blocked-smtpd");
	ok(mc, mc_connect_cmd(mc, "a.example", "192.0.2.1", 40000), "connect");
	expect(mc, mc_mail(mc, "<s@sender.example>", NULL), MC_REJECT, "554",
	    "5.7.1", "not on this port");
	expect(mc, mc_mail(mc, "<t@friend.example>", NULL), MC_REJECT, "554",
	    "5.7.1", "not on this port");
	done(mc);
}
END_TEST

START_TEST(reject_tempfail_helo)
{
	struct mc_conn	*mc = conn();

	ok(mc, mc_connect_cmd(mc, "a.example", "192.0.2.1", 40000), "connect");
	expect(mc, mc_helo(mc, "192.0.2.1"), MC_REJECT, "550", "5.7.1",
	    "use a name");
	done(mc);
	mc = conn();
	ok(mc, mc_connect_cmd(mc, "a.example", "192.0.2.1", 40000), "connect");
	expect(mc, mc_helo(mc, "slow.example"), MC_TEMPFAIL, "421", "4.7.0",
	    "come back later");
	done(mc);
}
END_TEST

START_TEST(accept_and_discard_mail)
{
	struct mc_conn	*mc = conn();

	ok(mc, mc_connect_cmd(mc, "a.example", "192.0.2.1", 40000), "connect");
	ok(mc, mc_helo(mc, "a.example"), "helo");
	/* accepted message: the plugin's reject at RCPT never comes */
	ck_assert_int_eq(mc_mail(mc, "<x@friend.example>", NULL), MC_ACCEPT);
	ck_assert_int_eq(mc_rcpt(mc, "<trap@example.com>", NULL), MC_SKIPPED);
	/* the next message on the connection is checked again */
	ck_assert_int_eq(mc_mail(mc, "<x@other.example>", NULL), MC_CONTINUE);
	expect(mc, mc_rcpt(mc, "<trap@example.com>", NULL), MC_REJECT, "550",
	    "5.1.1", "No such user here");
	ck_assert_int_eq(mc_mail(mc, "<spam@spam.example>", NULL), MC_DISCARD);
	done(mc);
	ck_assert_int_eq(th_log_wait(E.p, 0, "stage=mail decider=friend "
	    "action=accept reply=\"-\" from=<x@friend.example>", 5000), 0);
	ck_assert_int_eq(th_log_wait(E.p, 0, "stage=mail decider=junk "
	    "action=discard reply=\"-\" from=<spam@spam.example>", 5000), 0);
}
END_TEST

START_TEST(reject_tempfail_rcpt)
{
	struct mc_conn	*mc = envelope("a.example", "192.0.2.1",
	    "<s@sender.example>");

	/* defaults, and only the recipient concerned is refused */
	expect(mc, mc_rcpt(mc, "<a@blocked.example>", NULL), MC_REJECT, "550",
	    "5.7.1", "Message rejected by policy");
	expect(mc, mc_rcpt(mc, "<busy@example.com>", NULL), MC_TEMPFAIL, "451",
	    "4.7.1", "Try again later");
	ok(mc, mc_rcpt(mc, "<fine@example.com>", NULL), "rcpt fine");
	done(mc);
	ck_assert_int_eq(th_log_wait(E.p, 0, "decider=blocked action=reject",
	    5000), 0);
}
END_TEST

/*
 * Sendmail hands the filter an envelope address as the client wrote it:
 * a phrase before the address in angle brackets ("<Name <a@b>>", which
 * it takes as a@b) or a source route ("<@relay:a@b>", delivered to a@b).
 * Rules read the mailbox Sendmail will use, so that writing the address
 * another way does not slip past them.
 */
START_TEST(sendmail_address_forms)
{
	struct mc_conn	*mc = conn();

	ok(mc, mc_connect_cmd(mc, "a.example", "192.0.2.1", 40000), "connect");
	ok(mc, mc_helo(mc, "a.example"), "helo");
	ck_assert_int_eq(mc_mail(mc, "<Spam Sender <spam@spam.example>>",
	    NULL), MC_DISCARD);
	ok(mc, mc_mail(mc, "<s@sender.example>", NULL), "mail");
	expect(mc, mc_rcpt(mc, "<\"A\" <a@blocked.example>>", NULL), MC_REJECT,
	    "550", "5.7.1", "Message rejected by policy");
	expect(mc, mc_rcpt(mc, "<@relay.example,@[IPv6:2001:db8::1]:"
	    "busy@example.com>", NULL), MC_TEMPFAIL, "451", "4.7.1",
	    "Try again later");
	/* brackets inside a quoted local part are part of it */
	ok(mc, mc_rcpt(mc, "<\"x <a@blocked.example>\"@example.com>", NULL),
	    "rcpt quoted");
	/* quotes a local part does not need are not part of the mailbox
	 * (RFC 5321 4.1.2): "busy"@ is busy@, which Postfix would hand over */
	expect(mc, mc_rcpt(mc, "<\"busy\"@example.com>", NULL), MC_TEMPFAIL,
	    "451", "4.7.1", "Try again later");
	expect(mc, mc_rcpt(mc, "<\"b\\usy\"@example.com>", NULL),
	    MC_TEMPFAIL, "451", "4.7.1", "Try again later");
	ok(mc, mc_rcpt(mc, "<\"bu sy\"@example.com>", NULL), "rcpt spaced");
	done(mc);
	mc = conn();
	ok(mc, mc_connect_cmd(mc, "a.example", "192.0.2.1", 40000), "connect");
	ok(mc, mc_helo(mc, "a.example"), "helo");
	ck_assert_int_eq(mc_mail(mc, "<\"spam\"@spam.example>", NULL),
	    MC_DISCARD);
	done(mc);
	ck_assert_int_eq(th_log_wait(E.p, 0, "stage=mail decider=junk "
	    "action=discard reply=\"-\" from=<spam@spam.example>", 5000), 0);
	ck_assert_int_eq(th_log_wait(E.p, 0, "decider=busy action=tempfail "
	    "reply=\"451 4.7.1 Try again later\" from=<s@sender.example> "
	    "rcpt=<busy@example.com>", 5000), 0);
}
END_TEST

START_TEST(skip_plugin)
{
	struct mc_conn	*mc = envelope("skip.example", "192.0.2.2",
	    "<s@sender.example>");

	/* skip example: its reject of trap@ does not happen */
	ok(mc, mc_rcpt(mc, "<trap@example.com>", NULL), "rcpt trap, skipped");
	done(mc);
	mc = envelope("other.example", "192.0.2.3", "<s@sender.example>");
	expect(mc, mc_rcpt(mc, "<trap@example.com>", NULL), MC_REJECT, "550",
	    "5.1.1", "No such user here");
	done(mc);
}
END_TEST

START_TEST(log_and_dry_run)
{
	struct mc_conn	*mc = envelope("a.example", "192.0.2.4",
	    "<s@sender.example>");

	/* log goes on: the later rules and the plugin still decide ... */
	ok(mc, mc_rcpt(mc, "<logme@example.com>", NULL), "rcpt logme");
	expect(mc, mc_rcpt(mc, "<logme@blocked.example>", NULL), MC_REJECT,
	    "550", "5.7.1", "Message rejected by policy");
	expect(mc, mc_rcpt(mc, "<logme@trap.example>", NULL), MC_REJECT,
	    "550", "5.1.1", "No such user here");
	/* ... and a dry-run rule only says what it would have done, the
	 * rules after it deciding as if it had not matched */
	ok(mc, mc_rcpt(mc, "<dry@example.com>", NULL), "rcpt dry");
	expect(mc, mc_rcpt(mc, "<dry@blocked.example>", NULL), MC_REJECT,
	    "550", "5.7.1", "Message rejected by policy");
	done(mc);
	ck_assert_int_eq(th_log_wait(E.p, 0, "rule=log-it matched: log "
	    "\"saw logme\"", 5000), 0);
	ck_assert_int_eq(th_log_wait(E.p, 0, "rule=dry dry-run: would reject "
	    "550 5.7.1 \"dry\"", 5000), 0);
	ck_assert(th_log_has(E.p, "client=a.example[192.0.2.4]"));
}
END_TEST

START_TEST(header_rule)
{
	struct mc_conn	*mc = envelope("a.example", "192.0.2.5",
	    "<s@sender.example>");

	ok(mc, mc_rcpt(mc, "<r@example.com>", NULL), "rcpt");
	passed(mc, mc_data(mc), "data");
	ok(mc, mc_header(mc, "From", "s@sender.example"), "header From");
	expect(mc, mc_header(mc, "Subject", "cheap VIAGRA"), MC_REJECT, "550",
	    "5.7.1", "no thanks");
	done(mc);
}
END_TEST

/* A folded header is matched unfolded (RFC 5322 2.2.3): its line breaks
 * go, the white space after them stays. MTAs hand a folded value over
 * with the breaks in it, LF (Postfix, Sendmail) or CRLF. */
START_TEST(header_rule_folded)
{
	static const char *const folded[] = {
		"free money\n now", "free\r\n money\n now"
	};
	struct mc_conn	*mc;
	size_t		 i;

	for (i = 0; i < 2; i++) {
		mc = envelope("a.example", "192.0.2.5", "<s@sender.example>");
		ok(mc, mc_rcpt(mc, "<r@example.com>", NULL), "rcpt");
		passed(mc, mc_data(mc), "data");
		expect(mc, mc_header(mc, "Subject", folded[i]), MC_REJECT,
		    "550", "5.7.1", "unfolded");
		done(mc);
	}
	/* a break not followed by white space is no fold */
	mc = envelope("a.example", "192.0.2.5", "<s@sender.example>");
	ok(mc, mc_rcpt(mc, "<r@example.com>", NULL), "rcpt");
	passed(mc, mc_data(mc), "data");
	ok(mc, mc_header(mc, "Subject", "free money\nnow"), "header");
	done(mc);
}
END_TEST

/* to_eom - DATA to end of message, the steps filterd turned off skipped */
static enum mc_action
to_eom(struct mc_conn *mc)
{
	passed(mc, mc_data(mc), "data");
	passed(mc, mc_header(mc, "Subject", "hello"), "header");
	passed(mc, mc_eoh(mc), "eoh");
	passed(mc, mc_body(mc, "hi\r\n", 4), "body");
	return mc_eom(mc);
}

START_TEST(add_header)
{
	struct mc_conn		*mc = envelope("a.example", "192.0.2.6",
	    "<s@tagged.example>");
	const struct mc_reply	*r;

	ok(mc, mc_rcpt(mc, "<r@example.com>", NULL), "rcpt");
	ck_assert_int_eq(to_eom(mc), MC_CONTINUE);
	r = mc_last(mc);
	ck_assert_uint_eq(r->nmods, 1);
	ck_assert_int_eq(r->mods[0].type, SMFIR_ADDHEADER);
	ck_assert_str_eq(r->mods[0].name, "X-Filterd-Rule");
	ck_assert_str_eq(r->mods[0].value, "tagged");
	done(mc);
}
END_TEST

/* an MTA that did not grant adding headers: the message goes on without
 * the header, and the warning names the message as the decision line
 * does */
START_TEST(add_header_not_granted)
{
	struct mc_conn	*mc;
	char		 err[256];

	mc = mc_connect(E.spec, 5000, err, sizeof(err));
	ck_assert_msg(mc != NULL, "connect: %s", err);
	ck_assert_int_eq(mc_negotiate(mc, SMFIF_CHGBODY, 0), 0);
	ck_assert(!(mc_actions(mc) & SMFIF_ADDHDRS));
	ok(mc, mc_connect_cmd(mc, "a.example", "192.0.2.7", 40000), "connect");
	ok(mc, mc_helo(mc, "a.example"), "helo");
	ok(mc, mc_mail(mc, "<s@tagged.example>", NULL), "mail");
	ok(mc, mc_rcpt(mc, "<r@example.com>", NULL), "rcpt");
	ck_assert_int_eq(to_eom(mc), MC_CONTINUE);
	ck_assert_uint_eq(mc_last(mc)->nmods, 0);
	done(mc);
	ck_assert_int_eq(th_log_wait(E.p, 0, " client=a.example[192.0.2.7] "
	    "could not add header X-Filterd-Rule", 5000), 0);
}
END_TEST

/* set: a per-message plugin setting, read by the ratelimit plugin */
START_TEST(set_param)
{
	const char	*pdir;
	char		 text[4096];
	struct mc_conn	*mc;
	int		 i;

	pdir = th_plugin_dir();
	snprintf(text, sizeof(text), "plugin-dir \"%s\"\n"
	    "plugin ratelimit { limit client-ip 1/1h name ip }\n"
	    "rule relaxed on mail if client-ip == 192.0.2.77 "
	    "set ratelimit.ip off\n", pdir);
	start(text);
	/* one message an hour for an ordinary client ... */
	mc = envelope("a.example", "192.0.2.78", "<s@sender.example>");
	ok(mc, mc_rcpt(mc, "<r@example.com>", NULL), "rcpt");
	ck_assert_int_eq(mc_mail(mc, "<s2@sender.example>", NULL), MC_TEMPFAIL);
	done(mc);
	/* ... none for the client the rule relaxes */
	mc = envelope("b.example", "192.0.2.77", "<s@sender.example>");
	for (i = 0; i < 3; i++) {
		ok(mc, mc_rcpt(mc, "<r@example.com>", NULL), "rcpt");
		ok(mc, mc_mail(mc, "<s2@sender.example>", NULL), "mail again");
	}
	done(mc);
	ck_assert(th_log_has(E.p, "rule=relaxed applied: set ratelimit.ip "
	    "\"off\""));
}
END_TEST

/* delay-reject: the MTA waits for a reply at RCPT only */
START_TEST(delay_negotiation)
{
	struct mc_conn	*mc = conn();

	ck_assert(mc_proto(mc) & SMFIP_NR_CONN);
	ck_assert(mc_proto(mc) & SMFIP_NR_HELO);
	ck_assert(mc_proto(mc) & SMFIP_NR_MAIL);
	ck_assert(!(mc_proto(mc) & SMFIP_NR_RCPT));
	done(mc);
}
END_TEST

/* a HELO refusal is given at every RCPT of every message */
START_TEST(delay_helo)
{
	struct mc_conn	*mc = conn();

	ck_assert_int_eq(mc_connect_cmd(mc, "a.example", "192.0.2.1", 40000),
	    MC_NOREPLY);
	ck_assert_int_eq(mc_helo(mc, "192.0.2.1"), MC_NOREPLY);
	ck_assert_int_eq(mc_mail(mc, "<s@sender.example>", NULL), MC_NOREPLY);
	expect(mc, mc_rcpt(mc, "<r@example.com>", NULL), MC_REJECT, "550",
	    "5.7.1", "use a name");
	expect(mc, mc_rcpt(mc, "<q@example.com>", NULL), MC_REJECT, "550",
	    "5.7.1", "use a name");
	ck_assert_int_eq(mc_abort(mc), 0);
	ck_assert_int_eq(mc_mail(mc, "<t@sender.example>", NULL), MC_NOREPLY);
	expect(mc, mc_rcpt(mc, "<r@example.com>", NULL), MC_REJECT, "550",
	    "5.7.1", "use a name");
	done(mc);
	/* logged once, where it was decided */
	ck_assert_int_eq(th_log_wait(E.p, 0, "stage=helo decider=bare-ip "
	    "action=reject", 5000), 0);
	ck_assert_uint_eq(th_log_count(E.p, "decider=bare-ip"), 1);
}
END_TEST

/* a connect refusal too, with the text libmilter cannot give at connect */
START_TEST(delay_connect)
{
	struct mc_conn	*mc = conn();

	mc_macro(mc, "{daemon_name}", "blocked-smtpd");
	ck_assert_int_eq(mc_connect_cmd(mc, "a.example", "192.0.2.1", 40000),
	    MC_NOREPLY);
	ck_assert_int_eq(mc_helo(mc, "a.example"), MC_NOREPLY);
	ck_assert_int_eq(mc_mail(mc, "<s@sender.example>", NULL), MC_NOREPLY);
	expect(mc, mc_rcpt(mc, "<r@example.com>", NULL), MC_REJECT, "554",
	    "5.7.1", "not on this port");
	done(mc);
}
END_TEST

/* a MAIL verdict holds for its message only */
START_TEST(delay_mail)
{
	struct mc_conn	*mc = envelope("a.example", "192.0.2.1",
	    "<spam@spam.example>");

	ck_assert_int_eq(mc_rcpt(mc, "<r@example.com>", NULL), MC_DISCARD);
	ck_assert_int_eq(mc_mail(mc, "<x@other.example>", NULL), MC_NOREPLY);
	ok(mc, mc_rcpt(mc, "<r@example.com>", NULL), "rcpt after discard");
	expect(mc, mc_rcpt(mc, "<trap@example.com>", NULL), MC_REJECT, "550",
	    "5.1.1", "No such user here");
	/* an accepted message: the plugin's reject never comes */
	ck_assert_int_eq(mc_mail(mc, "<x@friend.example>", NULL), MC_NOREPLY);
	ck_assert_int_eq(mc_rcpt(mc, "<trap@example.com>", NULL), MC_ACCEPT);
	done(mc);
}
END_TEST

/* an accepted connection is accepted at RCPT, whatever comes between */
START_TEST(delay_accept_connection)
{
	struct mc_conn	*mc = conn();

	ck_assert_int_eq(mc_connect_cmd(mc, "relay.example", "198.51.100.7",
	    40000), MC_NOREPLY);
	ck_assert_int_eq(mc_helo(mc, "1.2.3.4"), MC_NOREPLY);
	ck_assert_int_eq(mc_mail(mc, "<s@sender.example>", NULL), MC_NOREPLY);
	ck_assert_int_eq(mc_rcpt(mc, "<trap@example.com>", NULL), MC_ACCEPT);
	done(mc);
	ck_assert(!th_log_has(E.p, "decider=bare-ip"));
}
END_TEST

/*
 * Rules that answer only at HELO and MAIL; at RCPT one logs and one is a
 * dry run: nothing there answers the MTA.
 */
static const char quiet_rcpt_rules[] =
    "rule bare-ip on helo if helo ~ /^[0-9.]+$/ "
	"reject 550 5.7.1 \"use a name\"\n"
    "rule junk on mail if sender == spam@spam.example discard\n"
    "rule log-it on rcpt if rcpt-local == logme log \"saw logme\"\n"
    "rule dry on rcpt dry-run if rcpt-local == dry "
	"reject 550 5.7.1 \"dry\"\n";

/* start_quiet - quiet_rcpt_rules after `global` */
static void
start_quiet(const char *global)
{
	char	 text[4096];

	snprintf(text, sizeof(text), "%s%s", global, quiet_rcpt_rules);
	start(text);
}

static void
setup_eom(void)
{
	setup_plain();
	start_quiet("delay-reject eom\n");
}

/* the MTA awaits a reply only where a rule may answer: a log rule and a
 * dry-run rule at RCPT do not make it wait there */
START_TEST(silent_stages)
{
	struct mc_conn	*mc;

	start_quiet("");
	mc = conn();
	ck_assert(mc_proto(mc) & SMFIP_NR_CONN);
	ck_assert(!(mc_proto(mc) & SMFIP_NR_HELO));
	ck_assert(!(mc_proto(mc) & SMFIP_NR_MAIL));
	ck_assert(mc_proto(mc) & SMFIP_NR_RCPT);
	ck_assert_int_eq(mc_connect_cmd(mc, "a.example", "192.0.2.1", 40000),
	    MC_NOREPLY);
	ck_assert_int_eq(mc_helo(mc, "a.example"), MC_CONTINUE);
	ck_assert_int_eq(mc_mail(mc, "<s@sender.example>", NULL),
	    MC_CONTINUE);
	ck_assert_int_eq(mc_rcpt(mc, "<logme@example.com>", NULL),
	    MC_NOREPLY);
	ck_assert_int_eq(mc_rcpt(mc, "<dry@example.com>", NULL), MC_NOREPLY);
	ck_assert_int_eq(to_eom(mc), MC_CONTINUE);
	done(mc);
	/* the rules still ran there */
	ck_assert_int_eq(th_log_wait(E.p, 0, "saw logme", 5000), 0);
	ck_assert(th_log_has(E.p, "rule=dry"));
}
END_TEST

/* delay-reject eom: no reply awaited before end of message */
START_TEST(eom_negotiation)
{
	struct mc_conn	*mc = conn();

	ck_assert(mc_proto(mc) & SMFIP_NR_CONN);
	ck_assert(mc_proto(mc) & SMFIP_NR_HELO);
	ck_assert(mc_proto(mc) & SMFIP_NR_MAIL);
	ck_assert(mc_proto(mc) & SMFIP_NR_RCPT);
	done(mc);
}
END_TEST

/* a HELO refusal is given at the end of every message of the connection */
START_TEST(eom_helo)
{
	struct mc_conn	*mc = conn();

	ck_assert_int_eq(mc_connect_cmd(mc, "a.example", "192.0.2.1", 40000),
	    MC_NOREPLY);
	ck_assert_int_eq(mc_helo(mc, "192.0.2.1"), MC_NOREPLY);
	ck_assert_int_eq(mc_mail(mc, "<s@sender.example>", NULL), MC_NOREPLY);
	ck_assert_int_eq(mc_rcpt(mc, "<r@example.com>", NULL), MC_NOREPLY);
	expect(mc, to_eom(mc), MC_REJECT, "550", "5.7.1", "use a name");
	ck_assert_int_eq(mc_mail(mc, "<t@sender.example>", NULL), MC_NOREPLY);
	ck_assert_int_eq(mc_rcpt(mc, "<r@example.com>", NULL), MC_NOREPLY);
	expect(mc, to_eom(mc), MC_REJECT, "550", "5.7.1", "use a name");
	done(mc);
	ck_assert_int_eq(th_log_wait(E.p, 0, "stage=helo decider=bare-ip "
	    "action=reject", 5000), 0);
	ck_assert_uint_eq(th_log_count(E.p, "decider=bare-ip"), 1);
}
END_TEST

/* a MAIL verdict is given at the end of its own message only */
START_TEST(eom_mail)
{
	struct mc_conn	*mc = conn();

	ck_assert_int_eq(mc_connect_cmd(mc, "a.example", "192.0.2.1", 40000),
	    MC_NOREPLY);
	ck_assert_int_eq(mc_helo(mc, "a.example"), MC_NOREPLY);
	ck_assert_int_eq(mc_mail(mc, "<spam@spam.example>", NULL),
	    MC_NOREPLY);
	ck_assert_int_eq(mc_rcpt(mc, "<r@example.com>", NULL), MC_NOREPLY);
	ck_assert_int_eq(to_eom(mc), MC_DISCARD);
	ck_assert_int_eq(mc_mail(mc, "<x@other.example>", NULL), MC_NOREPLY);
	ck_assert_int_eq(mc_rcpt(mc, "<r@example.com>", NULL), MC_NOREPLY);
	ck_assert_int_eq(to_eom(mc), MC_CONTINUE);
	done(mc);
}
END_TEST

/* with something that answers at RCPT, the held refusal comes there: the
 * MTA waits at RCPT anyway, and the message is not sent for nothing */
START_TEST(eom_rcpt_answers)
{
	struct mc_conn	*mc;
	char		 text[4096];

	snprintf(text, sizeof(text), "delay-reject eom\n"
	    "plugin example path \"%s/example.so\" {\n"
	    "\treject-rcpt \"trap@example.com\"\n}\n%s",
	    EXAMPLE_DIR, quiet_rcpt_rules);
	start(text);
	mc = conn();
	ck_assert(mc_proto(mc) & SMFIP_NR_HELO);
	ck_assert(!(mc_proto(mc) & SMFIP_NR_RCPT));
	ck_assert_int_eq(mc_connect_cmd(mc, "a.example", "192.0.2.1", 40000),
	    MC_NOREPLY);
	ck_assert_int_eq(mc_helo(mc, "192.0.2.1"), MC_NOREPLY);
	ck_assert_int_eq(mc_mail(mc, "<s@sender.example>", NULL), MC_NOREPLY);
	expect(mc, mc_rcpt(mc, "<r@example.com>", NULL), MC_REJECT, "550",
	    "5.7.1", "use a name");
	done(mc);
}
END_TEST

/*
 * What the MTA sent for one recipient is not kept for the next, nor
 * what it sent with one MAIL for the next message: a macro not sent
 * again is unknown (Sendmail leaves {rcpt_host} and {mail_host} out for
 * local mailers), and a refused recipient is not the one later stages
 * name.
 */
START_TEST(per_message_state)
{
	struct mc_conn	*mc;

	start("rule relay on mail if {mail_host} == evil.example "
	    "reject 550 5.7.1 \"evil relay\"\n"
	    "rule evil on rcpt if {rcpt_host} == evil.example "
	    "reject 550 5.7.1 \"evil host\"\n"
	    "rule late on eom if sender-domain == late.example tempfail\n");
	/* nor what it sent with one MAIL for the next message */
	mc = conn();
	ok(mc, mc_connect_cmd(mc, "a.example", "192.0.2.1", 40000), "connect");
	mc_macro(mc, "{mail_host}", "evil.example");
	expect(mc, mc_mail(mc, "<s@relay.example>", NULL), MC_REJECT, "550",
	    "5.7.1", "evil relay");
	ck_assert_int_eq(mc_abort(mc), 0);
	mc_macro(mc, "{mail_host}", NULL);
	ok(mc, mc_mail(mc, "<s2@relay.example>", NULL), "mail, no mail_host");
	done(mc);

	mc = envelope("a.example", "192.0.2.1", "<s@sender.example>");
	mc_macro(mc, "{rcpt_host}", "evil.example");
	expect(mc, mc_rcpt(mc, "<x@evil.example>", NULL), MC_REJECT, "550",
	    "5.7.1", "evil host");
	mc_macro(mc, "{rcpt_host}", NULL);
	ok(mc, mc_rcpt(mc, "<y@good.example>", NULL), "rcpt, no rcpt_host");
	ck_assert_int_eq(mc_abort(mc), 0);

	ok(mc, mc_mail(mc, "<s2@late.example>", NULL), "mail 2");
	ok(mc, mc_rcpt(mc, "<ok@good.example>", NULL), "rcpt ok");
	mc_macro(mc, "{rcpt_host}", "evil.example");
	expect(mc, mc_rcpt(mc, "<z@evil.example>", NULL), MC_REJECT, "550",
	    "5.7.1", "evil host");
	passed(mc, mc_data(mc), "data");
	expect(mc, mc_eom(mc), MC_TEMPFAIL, "451", "4.7.1", "Try again later");
	done(mc);
	ck_assert_int_eq(th_log_wait(E.p, 0, "stage=eom decider=late "
	    "action=tempfail reply=\"451 4.7.1 Try again later\" "
	    "from=<s2@late.example> rcpt=- reason=", 5000), 0);
}
END_TEST

/*
 * accepted_at_connect - 192.0.2.50, accepted at CONNECT by "welcome" under
 * delay-reject (CONNECT unanswered), is accepted at RCPT where the rule
 * "all" would refuse, in each message of the connection; another client
 * is refused by that rule
 */
static void
accepted_at_connect(void)
{
	struct mc_conn	*mc = conn();

	ck_assert_int_eq(mc_connect_cmd(mc, "w.example", "192.0.2.50", 40000),
	    MC_NOREPLY);
	passed(mc, mc_helo(mc, "w.example"), "helo");
	passed(mc, mc_mail(mc, "<s@sender.example>", NULL), "mail");
	ck_assert_int_eq(mc_rcpt(mc, "<a@example.com>", NULL), MC_ACCEPT);
	ck_assert_int_eq(mc_mail(mc, "<t@sender.example>", NULL), MC_NOREPLY);
	ck_assert_int_eq(mc_rcpt(mc, "<b@example.com>", NULL), MC_ACCEPT);
	done(mc);
	ck_assert_int_eq(th_log_wait(E.p, 0, "stage=connect decider=welcome "
	    "action=accept", 5000), 0);
	ck_assert(!th_log_has(E.p, "decider=all"));

	mc = envelope("o.example", "192.0.2.51", "<s@sender.example>");
	expect(mc, mc_rcpt(mc, "<a@example.com>", NULL), MC_REJECT, "550",
	    "5.7.1", "Message rejected by policy");
	done(mc);
}

/* a plugin's accept at CONNECT is the connection's, as a rule's `accept
 * connection` is: with delay-reject CONNECT is not answered, and the
 * accept must still hold at MAIL and RCPT, where a rule would refuse */
START_TEST(plugin_accept_connect_delayed)
{
	char		 text[1024];

	snprintf(text, sizeof(text), "delay-reject rcpt\n"
	    "plugin welcome path \"%s/tests/plugins/.libs/welcome.so\" {\n"
	    "\tclient 192.0.2.50\n}\n"
	    "rule all on rcpt if rcpt-domain == example.com reject\n",
	    FD_BUILDDIR);
	start(text);
	accepted_at_connect();
}
END_TEST

/*
 * A plugin's discard before MAIL has no message to drop, and the MTA
 * ignores a discard at CONNECT or HELO (Postfix logs a warning and
 * delivers the messages that follow). It is held and given at MAIL, to
 * every message of the connection, another HELO included.
 */
START_TEST(plugin_discard_helo)
{
	struct mc_conn	*mc;
	char		 text[1024];

	snprintf(text, sizeof(text),
	    "plugin welcome path \"%s/tests/plugins/.libs/welcome.so\" {\n"
	    "\tdiscard 192.0.2.60\n}\n", FD_BUILDDIR);
	start(text);
	mc = conn();
	ck_assert(!(mc_proto(mc) & SMFIP_NR_HELO));
	ck_assert(!(mc_proto(mc) & SMFIP_NR_MAIL));
	passed(mc, mc_connect_cmd(mc, "d.example", "192.0.2.60", 40000),
	    "connect");
	ck_assert_int_eq(mc_helo(mc, "d.example"), MC_CONTINUE);
	ck_assert_int_eq(mc_mail(mc, "<s@sender.example>", NULL), MC_DISCARD);
	ck_assert_int_eq(mc_helo(mc, "d.example"), MC_CONTINUE);
	ck_assert_int_eq(mc_mail(mc, "<t@sender.example>", NULL), MC_DISCARD);
	done(mc);
	ck_assert_int_eq(th_log_wait(E.p, 0, "stage=helo decider=welcome "
	    "action=discard", 5000), 0);

	/* another client's messages pass */
	mc = envelope("o.example", "192.0.2.61", "<s@sender.example>");
	ok(mc, mc_rcpt(mc, "<a@example.com>", NULL), "rcpt");
	ck_assert_int_eq(to_eom(mc), MC_CONTINUE);
	done(mc);
}
END_TEST

/* a rule's plain `accept` at CONNECT is the connection's (filterd.conf(5):
 * the MTA stops consulting filterd for it): with delay-reject CONNECT is
 * not answered, and the accept must still hold at MAIL and RCPT */
START_TEST(rule_accept_connect_delayed)
{
	start("delay-reject rcpt\n"
	    "rule welcome on connect if client-ip == 192.0.2.50 accept\n"
	    "rule all on rcpt if rcpt-domain == example.com reject\n");
	accepted_at_connect();
}
END_TEST

/*
 * A header a rule queued is added when a later stage accepts the message:
 * the MTA calls nobody again for a message accepted before its end, so it
 * is told at the end of the message, the header with it. A message with
 * nothing queued is accepted where it was decided, as before.
 */
START_TEST(accept_keeps_header)
{
	struct mc_conn		*mc;
	const struct mc_reply	*r;

	start("rule tag on mail if sender-domain == tagged.example "
	    "add-header \"X-Tag\" \"yes\"\n"
	    "rule pm on rcpt if rcpt-local == postmaster accept\n");
	mc = envelope("a.example", "192.0.2.1", "<s@tagged.example>");
	ok(mc, mc_rcpt(mc, "<postmaster@example.com>", NULL), "rcpt");
	ok(mc, mc_rcpt(mc, "<b@example.com>", NULL), "rcpt b");
	ck_assert_int_eq(to_eom(mc), MC_ACCEPT);
	r = mc_last(mc);
	ck_assert_uint_eq(r->nmods, 1);
	ck_assert_int_eq(r->mods[0].type, SMFIR_ADDHEADER);
	ck_assert_str_eq(r->mods[0].name, "X-Tag");
	ck_assert_str_eq(r->mods[0].value, "yes");

	/* the next message queues nothing: accepted at RCPT */
	ok(mc, mc_mail(mc, "<s@other.example>", NULL), "mail");
	ck_assert_int_eq(mc_rcpt(mc, "<postmaster@example.com>", NULL),
	    MC_ACCEPT);
	done(mc);
	ck_assert_int_eq(th_log_wait(E.p, 0, "from=<s@other.example>", 5000),
	    0);
	ck_assert_uint_eq(th_log_count(E.p, "decider=pm action=accept"), 2);
}
END_TEST

/*
 * An accept at RCPT is the message's, as the MTA takes it: the
 * recipients after it are not put to filterd, so a plugin's refusal of
 * them never comes. `skip` is what exempts one recipient alone.
 */
START_TEST(rcpt_accept_message)
{
	struct mc_conn	*mc;
	char		 text[1024];

	snprintf(text, sizeof(text),
	    "plugin example path \"%s/example.so\" {\n"
	    "\treject-rcpt \"trap@example.com\"\n}\n"
	    "rule pm on rcpt if rcpt-local == postmaster accept\n"
	    "rule ab on rcpt if rcpt-local == abuse skip example\n",
	    EXAMPLE_DIR);
	start(text);
	mc = envelope("a.example", "192.0.2.1", "<s@sender.example>");
	ck_assert_int_eq(mc_rcpt(mc, "<postmaster@example.com>", NULL),
	    MC_ACCEPT);
	ck_assert_int_eq(mc_rcpt(mc, "<trap@example.com>", NULL), MC_SKIPPED);
	done(mc);
	mc = envelope("a.example", "192.0.2.1", "<s@sender.example>");
	ok(mc, mc_rcpt(mc, "<abuse@example.com>", NULL), "rcpt abuse");
	expect(mc, mc_rcpt(mc, "<trap@example.com>", NULL), MC_REJECT, "550",
	    "5.1.1", "Recipient refused by policy");
	done(mc);
	ck_assert_int_eq(th_log_wait(E.p, 0, "stage=rcpt decider=example "
	    "action=reject", 5000), 0);
	ck_assert_uint_eq(th_log_count(E.p, "decider=pm action=accept"), 1);
}
END_TEST

/*
 * MAIL's SIZE= is a number of octets or is not there: "-1", "1e9", "12x"
 * or a number too large for 64 bits declare no size, so a size rule does
 * not refuse them.
 */
START_TEST(mail_size_param)
{
	static const char *none[] = { "SIZE=-1", "SIZE=+5000000", "SIZE=1e9",
	    "SIZE=5000000x", "SIZE= 5000000", "SIZE=",
	    "SIZE=99999999999999999999999" };
	struct mc_conn	*mc;
	size_t		 i;

	start("rule big on mail if size > 1000000 "
	    "reject 552 5.3.4 \"Message too big\"\n");
	mc = conn();
	ok(mc, mc_connect_cmd(mc, "a.example", "192.0.2.1", 40000), "connect");
	ok(mc, mc_helo(mc, "a.example"), "helo");
	for (i = 0; i < sizeof(none) / sizeof(none[0]); i++) {
		ck_assert_msg(mc_mail(mc, "<s@a.example>", none[i]) ==
		    MC_CONTINUE, "%s", none[i]);
		ck_assert_int_eq(mc_abort(mc), 0);
	}
	expect(mc, mc_mail(mc, "<s@a.example>", "SIZE=2000000"), MC_REJECT,
	    "552", "5.3.4", "Message too big");
	ck_assert_int_eq(mc_abort(mc), 0);
	ok(mc, mc_mail(mc, "<s@a.example>", "SIZE=999999"), "mail");
	done(mc);
}
END_TEST

/*
 * At end of message `size` is the body the MTA sent when that is larger
 * than SIZE=: a client that declares nothing, or too little, is measured,
 * though no rule or plugin looks at the body itself.
 */
START_TEST(eom_size_body)
{
	static const char *declared[] = { NULL, "SIZE=100" };
	char		 body[3000];
	struct mc_conn	*mc;
	size_t		 i;

	memset(body, 'x', sizeof(body));
	body[sizeof(body) - 2] = '\r';
	body[sizeof(body) - 1] = '\n';
	start("rule big on eom if size > 2k "
	    "reject 552 5.3.4 \"Message too big\"\n");
	for (i = 0; i < sizeof(declared) / sizeof(declared[0]); i++) {
		mc = conn();
		ok(mc, mc_connect_cmd(mc, "a.example", "192.0.2.1", 40000),
		    "connect");
		ok(mc, mc_helo(mc, "a.example"), "helo");
		ok(mc, mc_mail(mc, "<s@sender.example>", declared[i]), "mail");
		passed(mc, mc_rcpt(mc, "<r@example.com>", NULL), "rcpt");
		passed(mc, mc_data(mc), "data");
		passed(mc, mc_header(mc, "Subject", "hello"), "header");
		passed(mc, mc_eoh(mc), "eoh");
		passed(mc, mc_body(mc, body, sizeof(body)), "body");
		expect(mc, mc_eom(mc), MC_REJECT, "552", "5.3.4",
		    "Message too big");
		done(mc);
	}
	/* a small body passes */
	mc = envelope("a.example", "192.0.2.1", "<s@sender.example>");
	passed(mc, mc_rcpt(mc, "<r@example.com>", NULL), "rcpt");
	ck_assert_int_eq(to_eom(mc), MC_CONTINUE);
	done(mc);
}
END_TEST

/* a macro the MTA sends with DATA ({nrcpts}) reaches a rule at a later
 * stage even when nothing else needs the DATA step */
START_TEST(data_macro_later)
{
	struct mc_conn	*mc;

	start("rule many on eoh if {nrcpts} == 2 "
	    "reject 550 5.7.1 \"too many\"\n");
	mc = envelope("a.example", "192.0.2.1", "<s@sender.example>");
	ck_assert_ptr_nonnull(mc_symlist(mc, MC_ST_DATA));
	ck_assert_ptr_nonnull(strstr(mc_symlist(mc, MC_ST_DATA), "{nrcpts}"));
	passed(mc, mc_rcpt(mc, "<a@example.com>", NULL), "rcpt a");
	passed(mc, mc_rcpt(mc, "<b@example.com>", NULL), "rcpt b");
	mc_macro(mc, "{nrcpts}", "2");
	passed(mc, mc_data(mc), "data");
	passed(mc, mc_header(mc, "Subject", "hello"), "header");
	expect(mc, mc_eoh(mc), MC_REJECT, "550", "5.7.1", "too many");
	done(mc);
}
END_TEST

/* a plugin's reply code the MTA would misread is replaced by the
 * action's default, for a reject and for a tempfail, and its text
 * reaches the MTA as ASCII, a '%' doubled as the milter protocol wants */
START_TEST(plugin_reply_checked)
{
	struct mc_conn	*mc;
	char		 text[1024];

	snprintf(text, sizeof(text),
	    "plugin example path \"%s/contrib/example-plugin/.libs/"
	    "example.so\" {\n"
	    "\treject-rcpt \"trap@example.com\"\n"
	    "\treply 5ab 5.1.1 \"Unbekannter Empf\xc3\xa4nger\"\n}\n",
	    FD_BUILDDIR);
	start(text);
	mc = envelope("a.example", "192.0.2.1", "<s@sender.example>");
	expect(mc, mc_rcpt(mc, "<trap@example.com>", NULL), MC_REJECT, "550",
	    "5.7.1", "Unbekannter Empf??nger");
	done(mc);
	E.p = th_proc_free(E.p);

	snprintf(text, sizeof(text),
	    "plugin example path \"%s/contrib/example-plugin/.libs/"
	    "example.so\" {\n"
	    "\treject-rcpt \"full@example.com\"\n"
	    "\treply 4x2 4.2.2 \"Mailbox 100%% full\"\n}\n",
	    FD_BUILDDIR);
	start(text);
	mc = envelope("a.example", "192.0.2.1", "<s@sender.example>");
	expect(mc, mc_rcpt(mc, "<full@example.com>", NULL), MC_TEMPFAIL, "451",
	    "4.7.1", "Mailbox 100% full");
	ck_assert_str_eq(mc_last(mc)->raw, "451 4.7.1 Mailbox 100%% full");
	done(mc);
}
END_TEST

/*
 * A message refused at MAIL is over (libmilter and the MTA wait for the
 * next MAIL, and send no abort): a HELO after it belongs to the
 * connection, so a skip decided there holds for the next message.
 */
START_TEST(helo_after_refused_mail)
{
	struct mc_conn	*mc;
	char		 text[1024];

	snprintf(text, sizeof(text),
	    "plugin example path \"%s/example.so\" {\n"
	    "\treject-rcpt \"trap@example.com\"\n}\n"
	    "rule bad on mail if sender-domain == bad.example reject\n"
	    "rule tls on helo if helo == again.example skip example\n",
	    EXAMPLE_DIR);
	start(text);
	mc = conn();
	ok(mc, mc_connect_cmd(mc, "a.example", "192.0.2.1", 40000), "connect");
	passed(mc, mc_helo(mc, "a.example"), "helo");
	ck_assert_int_eq(mc_mail(mc, "<s@bad.example>", NULL), MC_REJECT);
	passed(mc, mc_helo(mc, "again.example"), "helo again");
	ok(mc, mc_mail(mc, "<s@good.example>", NULL), "mail");
	ok(mc, mc_rcpt(mc, "<trap@example.com>", NULL), "rcpt trap");
	done(mc);
}
END_TEST

/* line_len - the reply line the MTA sends its client, CRLF included */
static size_t
line_len(const struct mc_reply *r)
{
	return strlen(r->rcode) + 1 + strlen(r->xcode) + 1 + strlen(r->text) +
	    2;
}

/* cut_reply - the example plugin refusing with codes and text (its
 * reply parameter) sends one line of 512 octets, the start of text */
static void
cut_reply(const char *rcode, const char *xcode, enum mc_action want,
    const char *text)
{
	struct mc_conn		*mc;
	const struct mc_reply	*r;
	char			 conf[2048];

	snprintf(conf, sizeof(conf),
	    "plugin example path \"%s/example.so\" {\n"
	    "\treject-rcpt \"trap@example.com\"\n"
	    "\treply %s %s \"%s\"\n}\n", EXAMPLE_DIR, rcode, xcode, text);
	start(conf);
	mc = envelope("a.example", "192.0.2.1", "<s@sender.example>");
	ck_assert_int_eq(mc_rcpt(mc, "<trap@example.com>", NULL), want);
	r = mc_last(mc);
	ck_assert_str_eq(r->rcode, rcode);
	ck_assert_str_eq(r->xcode, xcode);
	ck_assert_uint_eq(line_len(r), 512);
	ck_assert(strncmp(r->text, text, strlen(r->text)) == 0);
	done(mc);
	E.p = th_proc_free(E.p);
}

/*
 * A plugin's text may be 511 bytes, more than an SMTP reply line holds
 * with its codes (RFC 5321 4.5.3.1.5: 512 octets, CRLF included): the text
 * is cut to fit, counted as the client gets it ('%' once), and libmilter
 * still takes it (a text it refused would leave the MTA's own reply).
 */
START_TEST(plugin_reply_line_limit)
{
	char	 want[600];
	size_t	 i;

	for (i = 0; i < 600; i++)
		want[i] = (char)('a' + i % 26);
	want[599] = '\0';
	cut_reply("550", "5.1.1", MC_REJECT, want);
	/* every other byte a '%': doubled for libmilter, one on the wire */
	for (i = 0; i < 598; i += 2)
		want[i] = '%';
	cut_reply("451", "4.2.2", MC_TEMPFAIL, want);
}
END_TEST

/* dry-run yes: what the plugins decide is logged as what they would do
 * and nothing of it is applied, so no refusal reaches the MTA, not even
 * at the end of the message, and an accept at CONNECT does not spare the
 * client the later plugins */
START_TEST(dry_run_plugins)
{
	struct mc_conn	*mc;
	char		 text[1024];

	snprintf(text, sizeof(text), "dry-run yes\n"
	    "plugin welcome path \"%s/tests/plugins/.libs/welcome.so\" {\n"
	    "\tclient 192.0.2.50\n}\n"
	    "plugin example path \"%s/example.so\" {\n"
	    "\treject-rcpt \"trap@example.com\"\n"
	    "\treply 550 5.1.1 \"No such user here\"\n}\n",
	    FD_BUILDDIR, EXAMPLE_DIR);
	start(text);
	mc = conn();
	passed(mc, mc_connect_cmd(mc, "w.example", "192.0.2.50", 40000),
	    "connect");
	passed(mc, mc_helo(mc, "w.example"), "helo");
	passed(mc, mc_mail(mc, "<s@sender.example>", NULL), "mail");
	passed(mc, mc_rcpt(mc, "<trap@example.com>", NULL), "rcpt trap");
	ck_assert_int_eq(to_eom(mc), MC_CONTINUE);
	done(mc);
	ck_assert_int_eq(th_log_wait(E.p, 0, "stage=connect decider=welcome "
	    "action=would-accept", 5000), 0);
	ck_assert_int_eq(th_log_wait(E.p, 0, "stage=rcpt decider=example "
	    "action=would-reject reply=\"550 5.1.1 No such user here\"",
	    5000), 0);
}
END_TEST

/*
 * A plugin's own macros (host want_macros) are asked for at negotiation
 * and reach it: Postfix sends filterd's lists alone, so a plugin saw only
 * the core's and the rules' macros before there was a way to ask.
 */
START_TEST(plugin_macros)
{
	struct mc_conn	*mc;
	char		 text[512];

	snprintf(text, sizeof(text), "plugin macros path "
	    "\"%s/tests/plugins/.libs/macros.so\"\n", FD_BUILDDIR);
	start(text);
	mc = conn();
	ck_assert_ptr_nonnull(mc_symlist(mc, MC_ST_RCPT));
	ck_assert_msg(strstr(mc_symlist(mc, MC_ST_RCPT),
	    "{rcpt_addr} {rcpt_host}") != NULL, "asked for: %s",
	    mc_symlist(mc, MC_ST_RCPT));
	passed(mc, mc_connect_cmd(mc, "c.example", "192.0.2.70", 40000),
	    "connect");
	passed(mc, mc_helo(mc, "c.example"), "helo");
	passed(mc, mc_mail(mc, "<s@sender.example>", NULL), "mail");
	mc_macro(mc, "{rcpt_addr}", "bob@example.org");
	expect(mc, mc_rcpt(mc, "<bob@example.org>", NULL), MC_TEMPFAIL, "451",
	    "4.7.1", "rcpt_addr=bob@example.org");
	done(mc);
}
END_TEST

static Suite *
rule_actions_suite(void)
{
	Suite	*s = suite_create("rule-actions");
	TCase	*tc = tcase_create("milter");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, negotiation);
	tcase_add_test(tc, accept_connection);
	tcase_add_test(tc, reject_connect_macro);
	tcase_add_test(tc, reject_connect_every_mail);
	tcase_add_test(tc, reject_tempfail_helo);
	tcase_add_test(tc, accept_and_discard_mail);
	tcase_add_test(tc, reject_tempfail_rcpt);
	tcase_add_test(tc, sendmail_address_forms);
	tcase_add_test(tc, skip_plugin);
	tcase_add_test(tc, log_and_dry_run);
	tcase_add_test(tc, header_rule);
	tcase_add_test(tc, header_rule_folded);
	tcase_add_test(tc, add_header);
	tcase_add_test(tc, add_header_not_granted);
	suite_add_tcase(s, tc);

	tc = tcase_create("delay-reject");
	tcase_add_checked_fixture(tc, setup_delay, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, delay_negotiation);
	tcase_add_test(tc, delay_helo);
	tcase_add_test(tc, delay_connect);
	tcase_add_test(tc, delay_mail);
	tcase_add_test(tc, delay_accept_connection);
	suite_add_tcase(s, tc);

	tc = tcase_create("delay-reject eom");
	tcase_add_checked_fixture(tc, setup_eom, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, eom_negotiation);
	tcase_add_test(tc, eom_helo);
	tcase_add_test(tc, eom_mail);
	suite_add_tcase(s, tc);

	tc = tcase_create("silent stages");
	tcase_add_checked_fixture(tc, setup_plain, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, silent_stages);
	tcase_add_test(tc, eom_rcpt_answers);
	tcase_add_test(tc, per_message_state);
	tcase_add_test(tc, plugin_accept_connect_delayed);
	tcase_add_test(tc, plugin_discard_helo);
	tcase_add_test(tc, rule_accept_connect_delayed);
	tcase_add_test(tc, data_macro_later);
	tcase_add_test(tc, accept_keeps_header);
	tcase_add_test(tc, rcpt_accept_message);
	tcase_add_test(tc, mail_size_param);
	tcase_add_test(tc, eom_size_body);
	suite_add_tcase(s, tc);

	tc = tcase_create("plugins");
	tcase_add_checked_fixture(tc, setup_plain, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, set_param);
	tcase_add_test(tc, plugin_reply_checked);
	tcase_add_test(tc, plugin_reply_line_limit);
	tcase_add_test(tc, helo_after_refused_mail);
	tcase_add_test(tc, dry_run_plugins);
	tcase_add_test(tc, plugin_macros);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	th_require("FILTERD", NULL);
	sr = srunner_create(rule_actions_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
