/*
 * check_daemon.c -- the core through the real milter path: a filterd
 * started on a loopback port with the example plugin, driven by the
 * project's milter client as Postfix would drive it.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <check.h>
#include <errno.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libmilter/mfdef.h>

#include "mclient.h"
#include "proc.h"
#include "redis.h"

struct env {
	char		*dir;
	char		*conf;
	char		*clock;
	char		 spec[64];
	int		 port;
	struct th_proc	*p;
};

static struct env E;

#define EXAMPLE_DIR	FD_BUILDDIR "/contrib/example-plugin/.libs"
#define BINDLINK	FD_BUILDDIR "/tests/lib/.libs/bindlink.so"

/* how long a clean stop may take before SIGKILL: libmilter's listener
 * notices a stop at its next 5 s timeout, later under a sanitizer */
#define STOP_MS		30000

/* write_conf - a config with the example plugin and the given reply */
static void
write_conf(const char *extra, const char *reply)
{
	ck_assert_int_eq(th_write_file(E.conf,
	    "# test config\n"
	    "socket \"inet:%d@127.0.0.1\"\n"
	    "log stderr\n"
	    "log-level debug\n"
	    "pidfile \"%s/filterd.pid\"\n"
	    "store lmdb \"%s/state\"\n"
	    "plugin-dir \"%s\"\n"
	    "plugin example {\n"
	    "\treject-rcpt \"trap@example.com\" \"Old@Example.com\"\n"
	    "\treply %s\n"
	    "}\n"
	    "%s", E.port, E.dir, E.dir, EXAMPLE_DIR, reply, extra), 0);
}

/* skip_allowed - FD_ALLOW_SKIP=1, as for every test here (make check
 * drops it under CI, where a test that cannot run fails) */
static int
skip_allowed(void)
{
	const char	*skip = getenv("FD_ALLOW_SKIP");

	return skip != NULL && strcmp(skip, "1") == 0;
}

static void
start(void)
{
	char	 err[2048];

	E.p = th_filterd_start(E.dir, E.conf, NULL, E.spec, err, sizeof(err));
	ck_assert_msg(E.p != NULL, "filterd: %s", err);
}

/* start_served - start(), and wait until startup is over: the socket
 * listens before the store is opened and handed over and the pidfile
 * written, and "started on" is logged after all of them */
static void
start_served(void)
{
	start();
	ck_assert_msg(th_log_wait(E.p, 0, "started on", 10000) == 0, "%s",
	    th_log_tail(E.p, 5));
}

static void
setup(void)
{
	memset(&E, 0, sizeof(E));
	E.dir = th_tmpdir_new();
	ck_assert_ptr_nonnull(E.dir);
	E.conf = th_path(E.dir, "filterd.conf");
	E.clock = th_path(E.dir, "clock");
	E.port = th_free_port();
	snprintf(E.spec, sizeof(E.spec), "inet:%d@127.0.0.1", E.port);
	write_conf("", "550 5.1.1 \"No such user here\"");
}

static void
teardown(void)
{
	E.p = th_proc_free(E.p);
	free(E.conf);
	free(E.clock);
	E.dir = th_tmpdir_free(E.dir);
}

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

/* ok - the filter let the step pass: continue, or no reply awaited */
static void
ok(enum mc_action a, const char *what)
{
	ck_assert_msg(a == MC_CONTINUE || a == MC_NOREPLY,
	    "%s: expected continue, got %s", what, mc_action_name(a));
}

/* expect_reply - exact action, codes and text of the last event */
static void
expect_reply(struct mc_conn *mc, enum mc_action a, enum mc_action want,
    const char *rcode, const char *xcode, const char *text)
{
	const struct mc_reply *r = mc_last(mc);

	ck_assert_msg(a == want, "expected %s, got %s", mc_action_name(want),
	    mc_action_name(a));
	ck_assert_str_eq(r->rcode, rcode);
	ck_assert_str_eq(r->xcode, xcode);
	ck_assert_str_eq(r->text, text);
}

/*
 * rcpt_session - a new connection from ip that sends one recipient and
 * expects this reply to it, then quits
 */
static void
rcpt_session(const char *ip, unsigned port, const char *rcpt,
    enum mc_action want, const char *rcode, const char *xcode,
    const char *text)
{
	struct mc_conn	*mc = conn();

	ok(mc_connect_cmd(mc, "a.example.org", ip, port), "connect");
	ok(mc_mail(mc, "<a@example.org>", NULL), "mail");
	expect_reply(mc, mc_rcpt(mc, rcpt, NULL), want, rcode, xcode, text);
	mc_quit(mc);
	mc_free(mc);
}

/* a full conversation: reject at RCPT, continue elsewhere */
START_TEST(conversation)
{
	struct mc_conn	*mc;
	char		 line[256];

	start();
	mc = conn();
	/* only RCPT decides: DATA, headers, body are turned off, the other
	 * envelope steps are sent without waiting for a reply */
	ck_assert(mc_proto(mc) & SMFIP_NOBODY);
	ck_assert(mc_proto(mc) & SMFIP_NOHDRS);
	ck_assert(mc_proto(mc) & SMFIP_NODATA);
	ck_assert(mc_proto(mc) & SMFIP_NR_HELO);
	ck_assert(!(mc_proto(mc) & SMFIP_NR_RCPT));
	ok(mc_connect_cmd(mc, "mail.example.org", "192.0.2.10", 40000), "connect");
	ok(mc_helo(mc, "mail.example.org"), "helo");
	ok(mc_mail(mc, "<alice@example.org>", "SIZE=1000"), "mail");
	ok(mc_rcpt(mc, "<bob@example.com>", NULL), "rcpt bob");
	expect_reply(mc, mc_rcpt(mc, "<trap@example.com>", NULL), MC_REJECT,
	    "550", "5.1.1", "No such user here");
	/* compared case-insensitively, and only that recipient is refused */
	expect_reply(mc, mc_rcpt(mc, "<old@EXAMPLE.com>", NULL), MC_REJECT,
	    "550", "5.1.1", "No such user here");
	ok(mc_rcpt(mc, "<carol@example.com>", NULL), "rcpt carol");
	ck_assert_int_eq(mc_data(mc), MC_SKIPPED);
	ck_assert_int_eq(mc_header(mc, "Subject", "hi"), MC_SKIPPED);
	ck_assert_int_eq(mc_eom(mc), MC_CONTINUE);
	mc_quit(mc);
	mc_free(mc);
	snprintf(line, sizeof(line), "stage=rcpt decider=example "
	    "action=reject reply=\"550 5.1.1 No such user here\"");
	ck_assert_int_eq(th_log_wait(E.p, 0, line, 5000), 0);
	ck_assert(th_log_has(E.p, "client=mail.example.org[192.0.2.10]"));
	ck_assert(th_log_has(E.p, "rcpt=<trap@example.com>"));
	ck_assert_uint_eq(th_log_count(E.p, "action=reject"), 2);
}
END_TEST

/*
 * A plugin built for ABI 1.1 knows a shorter host table and no log_txn:
 * a filterd of a later minor loads it, runs its hook, and writes its
 * log() line and the decision it made.
 */
START_TEST(old_abi_plugin)
{
	write_conf("plugin oldabi path \"" FD_BUILDDIR
	    "/tests/plugins/.libs/oldabi.so\"\n",
	    "550 5.1.1 \"No such user here\"");
	start();
	rcpt_session("192.0.2.12", 40003, "<old@example.org>", MC_REJECT,
	    "550", "5.7.1", "Refused by an ABI 1.1 plugin");
	ck_assert_int_eq(th_log_wait(E.p, 0, "stage=rcpt decider=oldabi "
	    "action=reject reply=\"550 5.7.1 Refused by an ABI 1.1 plugin\"",
	    5000), 0);
	ck_assert_msg(th_log_has(E.p, "plugin oldabi: refusing "
	    "<old@example.org>\n"), "%s", th_log_read(E.p));
}
END_TEST

/* IPv6 clients, and message contexts in every order the MTA may use */
START_TEST(message_orders)
{
	struct mc_conn	*mc;

	start();
	mc = conn();
	ok(mc_connect_cmd(mc, "v6.example.org", "2001:db8::25", 40001), "connect");
	ok(mc_helo(mc, "v6.example.org"), "helo");
	ck_assert_int_eq(mc_abort(mc), 0);		/* abort without MAIL */
	ok(mc_mail(mc, "<>", NULL), "mail 1");
	expect_reply(mc, mc_rcpt(mc, "<trap@example.com>", NULL), MC_REJECT,
	    "550", "5.1.1", "No such user here");
	/* second message without an abort in between */
	ok(mc_mail(mc, "<a@example.org>", NULL), "mail 2");
	ok(mc_rcpt(mc, "<bob@example.com>", NULL), "rcpt 2");
	ck_assert_int_eq(mc_eom(mc), MC_CONTINUE);
	ok(mc_mail(mc, "<b@example.org>", NULL), "mail 3");
	ck_assert_int_eq(mc_quit(mc), 0);		/* close without abort */
	mc_free(mc);
	ck_assert_int_eq(th_log_wait(E.p, 0, "client=v6.example.org[2001:db8::25]",
	    5000), 0);
	/* still serving */
	mc = conn();
	ok(mc_connect_cmd(mc, "x.example.org", "192.0.2.11", 40002), "connect");
	ok(mc_mail(mc, "<a@example.org>", NULL), "mail");
	ok(mc_rcpt(mc, "<bob@example.com>", NULL), "rcpt");
	mc_quit(mc);
	mc_free(mc);
}
END_TEST

/* hostile input is escaped in the log and costs nothing else */
START_TEST(hostile_input)
{
	struct mc_conn	*mc;
	char		*big;

	start();
	mc = conn();
	big = malloc(10241);
	memset(big, 'a', 10240);
	big[0] = '\x01';
	big[10240] = '\0';
	ok(mc_connect_cmd(mc, "bad\nname", "192.0.2.12", 40003), "connect");
	ok(mc_helo(mc, big), "helo");
	ok(mc_mail(mc, big, NULL), "mail");
	expect_reply(mc, mc_rcpt(mc, "<trap@example.com>", NULL), MC_REJECT,
	    "550", "5.1.1", "No such user here");
	mc_quit(mc);
	mc_free(mc);
	free(big);
	ck_assert_int_eq(th_log_wait(E.p, 0, "client=bad\\nname[192.0.2.12]",
	    5000), 0);
	ck_assert(th_log_has(E.p, "from=<\\x01aaa"));
	ck_assert(th_proc_running(E.p));
}
END_TEST

/* raw_session - len bytes as they are, then read until the daemon closes */
static void
raw_session(const char *bytes, size_t len)
{
	struct sockaddr_in	 sin;
	struct timeval		 tv = { 5, 0 };
	char			 buf[4096];
	int			 fd;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)E.port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv,
	    sizeof(tv)), 0);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	/* the daemon may close before reading it all: that is an answer */
	(void)send(fd, bytes, len, MSG_NOSIGNAL);
	shutdown(fd, SHUT_WR);
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	close(fd);
}

/* put_pkt - a milter packet: length, command, data */
static size_t
put_pkt(char *out, char cmd, const char *data, size_t len)
{
	uint32_t	 n = htonl((uint32_t)len + 1);

	memcpy(out, &n, 4);
	out[4] = cmd;
	memcpy(out + 5, data, len);
	return len + 5;
}

#define NEG	"\0\0\0\6\0\0\1\377\0\37\377\377"
#define CONN4	"h\0" "4\0\31" "192.0.2.1"

/*
 * Packets an MTA would never send: truncated, oversized, out of order,
 * unknown, with bad addresses. libmilter drops the connection or answers;
 * the daemon keeps serving and the next real session is decided as
 * before. (libmilter itself cannot survive one kind: a macro packet with
 * a name and no value, see docs/ARCHITECTURE.md; it is not sent here.)
 */
START_TEST(malformed_packets)
{
	static const struct { const char *d; size_t len; } after_neg[] = {
		{ "z" "junk", 5 },				/* unknown */
		{ "R", 1 },					/* RCPT, no arg */
		{ "B" "xxxx", 5 },				/* body first */
		{ "E", 1 },					/* EOM first */
		{ "C" "h\0" "4\0\31" "999.1.1.1", 16 },	/* bad IPv4 */
		{ "C" "h\0" "6\0\31" "zz::zz::", 15 },		/* bad IPv6 */
		{ "C" "h\0" "4", 4 },				/* no port */
		{ "C" "h\0" "Z\0\31" "x", 7 },		/* bad family */
		{ "L" "Subject", 8 },				/* header, no NUL */
		{ "D" "C", 2 },					/* no macros */
		{ "D" "Zj\0v", 5 },				/* unknown stage */
	};
	char		 pkt[256], big[8];
	size_t		 i, n;
	uint32_t	 huge = htonl(0x7fffffff);

	start();
	raw_session("\0\0\0\0", 4);				/* empty */
	memcpy(big, &huge, 4);
	big[4] = 'M';
	raw_session(big, 5);					/* 2 GiB */
	n = put_pkt(pkt, 'M', "<a@b", 4);			/* MAIL first */
	raw_session(pkt, n);
	n = put_pkt(pkt, 'O', "\0\0", 2);			/* short */
	raw_session(pkt, n);
	n = put_pkt(pkt, 'O', "\0\0\0\1\0\0\0\0\0\0\0\0", 12);	/* version 1 */
	raw_session(pkt, n);
	for (i = 0; i < sizeof(after_neg) / sizeof(after_neg[0]); i++) {
		n = put_pkt(pkt, 'O', NEG, 12);
		n += put_pkt(pkt + n, 'C', CONN4, sizeof(CONN4));
		n += put_pkt(pkt + n, after_neg[i].d[0], after_neg[i].d + 1,
		    after_neg[i].len - 1);
		raw_session(pkt, n);
		/* the same, cut in the middle of its last packet */
		raw_session(pkt, n - 2);
		ck_assert_msg(th_proc_running(E.p), "died after case %zu", i);
	}
	rcpt_session("192.0.2.14", 40006, "<trap@example.com>", MC_REJECT,
	    "550", "5.1.1", "No such user here");
	ck_assert(th_proc_running(E.p));
}
END_TEST

/* a reload whose include names a directory or an unreadable file is a
 * broken config like any other: the daemon keeps running on the old one */
START_TEST(reload_unreadable_include)
{
	static const char *const bad[][2] = {
		{ "include \"/proc/self/mem\"\n",
		  "/proc/self/mem:1:1: cannot read this file: Input/output "
		  "error" },
		{ "include \"/\"\n",
		  "filterd.conf:12:9: cannot open included file \"/\": Is a "
		  "directory" },
	};
	size_t		 i, mark;

	start();
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		mark = th_log_size(E.p);
		write_conf(bad[i][0], "550 5.1.1 \"x\"");
		ck_assert_int_eq(th_proc_signal(E.p, SIGUSR1), 0);
		ck_assert_int_eq(th_log_wait(E.p, mark, "stays in force",
		    5000), 0);
		ck_assert_msg(th_log_has_since(E.p, mark, bad[i][1]), "%s",
		    bad[i][1]);
	}
	ck_assert(th_proc_running(E.p));
	rcpt_session("192.0.2.15", 40007, "<trap@example.com>", MC_REJECT,
	    "550", "5.1.1", "No such user here");
}
END_TEST

/* a broken reload keeps the old config, and its generation number; a
 * good one takes effect for the next connection */
START_TEST(reload)
{
	struct mc_conn	*mc;
	size_t		 mark;

	start();
	mark = th_log_size(E.p);
	ck_assert_int_eq(th_write_file(E.conf, "socket \"inet:%d@127.0.0.1\"\n"
	    "plugin-dir \"%s\"\nplugin example {\n\treply 550 4.1.1 \"x\"\n}\n",
	    E.port, EXAMPLE_DIR), 0);
	ck_assert_int_eq(th_proc_signal(E.p, SIGUSR1), 0);
	ck_assert_int_eq(th_log_wait(E.p, mark, "stays in force", 5000), 0);
	ck_assert(th_log_has_since(E.p, mark, "filterd.conf:4:"));
	ck_assert(th_log_has_since(E.p, mark, "enhanced code 4.1.1 does not "
	    "match 550"));
	mc = conn();
	ok(mc_connect_cmd(mc, "a.example.org", "192.0.2.13", 40004), "connect");
	ok(mc_mail(mc, "<a@example.org>", NULL), "mail");
	expect_reply(mc, mc_rcpt(mc, "<trap@example.com>", NULL), MC_REJECT,
	    "550", "5.1.1", "No such user here");
	/* a good reload, while this connection stays open on the old one */
	mark = th_log_size(E.p);
	write_conf("", "450 4.2.1 \"Mailbox resting, try later\"");
	ck_assert_int_eq(th_proc_signal(E.p, SIGUSR1), 0);
	ck_assert_int_eq(th_log_wait(E.p, mark, "reloaded", 5000), 0);
	/* the broken reload made no generation: this is the second */
	ck_assert_msg(th_log_has_since(E.p, mark, "filterd.conf: generation "
	    "2\n"), "%s", th_log_tail(E.p, 3));
	expect_reply(mc, mc_rcpt(mc, "<trap@example.com>", NULL), MC_REJECT,
	    "550", "5.1.1", "No such user here");
	mc_quit(mc);
	mc_free(mc);
	rcpt_session("192.0.2.13", 40005, "<trap@example.com>", MC_TEMPFAIL,
	    "450", "4.2.1", "Mailbox resting, try later");
}
END_TEST


/*
 * Settings read only at start (the store and its options, the socket,
 * milter-timeout, ...) do not change at a reload: a reload that changes
 * one says so and names it, one that changes none says nothing of it.
 */
START_TEST(reload_start_only)
{
	size_t		 mark;

	start();
	mark = th_log_size(E.p);
	ck_assert_int_eq(th_write_file(E.conf, "socket \"inet:%d@127.0.0.1\"\n"
	    "log stderr\nlog-level debug\nmilter-timeout 60s\n"
	    "pidfile \"%s/filterd.pid\"\n"
	    "store lmdb \"%s/state\" { sweep-interval 5s }\n"
	    "plugin-dir \"%s\"\nplugin example {\n"
	    "\treject-rcpt \"trap@example.com\"\n}\n", E.port, E.dir, E.dir,
	    EXAMPLE_DIR), 0);
	ck_assert_int_eq(th_proc_signal(E.p, SIGUSR1), 0);
	ck_assert_int_eq(th_log_wait(E.p, mark, "reloaded", 5000), 0);
	ck_assert(th_log_has_since(E.p, mark, "settings read only at start "
	    "changed (milter-timeout, store); they take effect at the next "
	    "restart"));
	/* the same file again: nothing to say */
	mark = th_log_size(E.p);
	ck_assert_int_eq(th_proc_signal(E.p, SIGUSR1), 0);
	ck_assert_int_eq(th_log_wait(E.p, mark, "reloaded", 5000), 0);
	ck_assert(!th_log_has_since(E.p, mark, "read only at start"));
	/* changed again: only what this reload changed is named */
	ck_assert_int_eq(th_write_file(E.conf, "socket \"inet:%d@127.0.0.1\"\n"
	    "log stderr\nlog-level debug\nmilter-timeout 90s\n"
	    "pidfile \"%s/filterd.pid\"\n"
	    "store lmdb \"%s/state\" { sweep-interval 5s }\n"
	    "plugin-dir \"%s\"\nplugin example {\n"
	    "\treject-rcpt \"trap@example.com\"\n}\n", E.port, E.dir, E.dir,
	    EXAMPLE_DIR), 0);
	mark = th_log_size(E.p);
	ck_assert_int_eq(th_proc_signal(E.p, SIGUSR1), 0);
	ck_assert_int_eq(th_log_wait(E.p, mark, "reloaded", 5000), 0);
	ck_assert_msg(th_log_has_since(E.p, mark, "settings read only at "
	    "start changed (milter-timeout); they take effect at the next "
	    "restart"), "%s", th_log_tail(E.p, 3));
	/* back to the file filterd started with: what is in force is what
	 * it says, nothing waits for a restart */
	write_conf("", "550 5.1.1 \"No such user here\"");
	mark = th_log_size(E.p);
	ck_assert_int_eq(th_proc_signal(E.p, SIGUSR1), 0);
	ck_assert_int_eq(th_log_wait(E.p, mark, "reloaded", 5000), 0);
	ck_assert_msg(!th_log_has_since(E.p, mark, "read only at start"),
	    "%s", th_log_tail(E.p, 3));
}
END_TEST

/*
 * log-level is not read only at start: a reload sets it. At notice the
 * decisions (info) are no longer logged; back at debug they are again.
 * A decision is logged before its reply goes out, so once the reply is
 * in, a line that is not there will not come.
 */
START_TEST(reload_log_level)
{
	size_t		 mark;

	start();
	mark = th_log_size(E.p);
	ck_assert_int_eq(th_write_file(E.conf, "socket \"inet:%d@127.0.0.1\"\n"
	    "log stderr\nlog-level notice\npidfile \"%s/filterd.pid\"\n"
	    "store lmdb \"%s/state\"\nplugin-dir \"%s\"\nplugin example {\n"
	    "\treject-rcpt \"trap@example.com\"\n}\n", E.port, E.dir, E.dir,
	    EXAMPLE_DIR), 0);
	ck_assert_int_eq(th_proc_signal(E.p, SIGUSR1), 0);
	ck_assert_int_eq(th_log_wait(E.p, mark, "reloaded", 5000), 0);
	mark = th_log_size(E.p);
	rcpt_session("192.0.2.18", 40010, "<trap@example.com>", MC_REJECT,
	    "550", "5.1.1", "Recipient refused by policy");
	ck_assert_msg(!th_log_has_since(E.p, mark, "action=reject"), "%s",
	    th_log_tail(E.p, 3));

	mark = th_log_size(E.p);
	write_conf("", "550 5.1.1 \"No such user here\"");
	ck_assert_int_eq(th_proc_signal(E.p, SIGUSR1), 0);
	ck_assert_int_eq(th_log_wait(E.p, mark, "reloaded", 5000), 0);
	rcpt_session("192.0.2.18", 40011, "<trap@example.com>", MC_REJECT,
	    "550", "5.1.1", "No such user here");
	ck_assert_int_eq(th_log_wait(E.p, mark, "stage=rcpt decider=example "
	    "action=reject", 5000), 0);
}
END_TEST

/* stacks_of - how many mappings of filterd are exactly kib KiB large */
static int
stacks_of(unsigned kib)
{
	char	 path[64], *smaps, *p;
	unsigned v;
	int	 n = 0;

	snprintf(path, sizeof(path), "/proc/%ld/smaps",
	    (long)th_proc_pid(E.p));
	smaps = th_read_file(path, NULL);
	ck_assert_ptr_nonnull(smaps);
	for (p = smaps; (p = strstr(p, "\nSize:")) != NULL; p++)
		if (sscanf(p + 6, "%u kB", &v) == 1 && v == kib)
			n++;
	free(smaps);
	return n;
}

/*
 * thread-stack-size: libmilter's threads (its pool's controller and
 * first workers exist once it listens) get the configured stack, a size
 * nothing else in the process maps. When a reload's size reaches a
 * thread depends on when libmilter next starts one; milter_stack in
 * check_core covers setting it again.
 */
START_TEST(thread_stack)
{
	struct mc_conn	*mc;

	write_conf("thread-stack-size 776k\n", "550 5.1.1 \"No such user\"");
	start();
	mc = conn();
	ok(mc_connect_cmd(mc, "a.example.org", "192.0.2.13", 40006), "connect");
	ck_assert_int_gt(stacks_of(776), 0);
	mc_quit(mc);
	mc_free(mc);
}
END_TEST

/* SIGTERM: clean stop, pidfile removed; the pidfile is 0644 whatever
 * the umask filterd was started with */
START_TEST(stop)
{
	char	*pidfile = th_path(E.dir, "filterd.pid");
	struct stat st;
	mode_t	 mask;
	int	 status;

	mask = umask(0);
	start();
	umask(mask);
	/* the socket listens a moment before the pidfile is written */
	for (int i = 0; i < 100 && stat(pidfile, &st) < 0; i++)
		usleep(50000);
	ck_assert_int_eq(stat(pidfile, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0644);
	status = th_proc_stop(E.p, STOP_MS);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "wait status %#x", status);
	ck_assert_int_eq(stat(pidfile, &st), -1);
	free(pidfile);
}
END_TEST

/*
 * SIGTERM while an MTA holds a connection between two commands, as
 * Postfix does for the whole of each SMTP session: libmilter never
 * serves such a connection again once it stops, so the stop neither
 * waits the 10 s for it nor says it is still open, and the daemon's
 * state is torn down (plugins finalised) all the same.
 */
START_TEST(stop_idle_connection)
{
	struct mc_conn	*mc;
	int		 status;

	start_served();
	mc = conn();
	ok(mc_connect_cmd(mc, "a.example.org", "192.0.2.14", 40007), "connect");
	ok(mc_helo(mc, "a.example.org"), "helo");
	status = th_proc_stop(E.p, STOP_MS);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "wait status %#x", status);
	ck_assert_msg(!th_log_has(E.p, "still open"), "%s",
	    th_log_tail(E.p, 5));
	ck_assert_msg(th_log_has(E.p, "1 idle connection closed"), "%s",
	    th_log_tail(E.p, 5));
	mc_free(mc);
}
END_TEST

/*
 * SIGTERM while a connection's CONNECT waits in a store call (Redis
 * stopped), with its HELO and MAIL already sent behind it: once the store
 * answers, libmilter hands filterd those commands, which it turns away
 * with tempfail since it is stopping. Each says so in the log, which used
 * to show nothing of them.
 */
START_TEST(stop_refused_command)
{
	struct fd_test_redis *redis;
	struct mc_conn	*mc;
	char		 err[512];
	int		 status;

	redis = fd_test_redis_start(err, sizeof(err));
	ck_assert_msg(redis != NULL, "redis: %s", err);
	ck_assert_int_eq(th_write_file(E.conf,
	    "socket \"inet:%d@127.0.0.1\"\nlog stderr\nlog-level info\n"
	    "store redis \"%s\" { timeout 60s; breaker-failures 0 }\n"
	    "delay-reject rcpt\nplugin-dir \"%s\"\n"
	    "plugin ratelimit { limit client-ip 100/1m connections }\n"
	    "rule mark on connect log \"store call next\"\n", E.port,
	    fd_test_redis_url(redis), th_plugin_dir()), 0);
	start_served();
	ck_assert_int_eq(kill(fd_test_redis_pid(redis), SIGSTOP), 0);
	mc = conn();
	mc_auto_qid(mc, 0);
	ok(mc_connect_cmd(mc, "[192.0.2.16]", "192.0.2.16", 40008), "connect");
	ok(mc_helo(mc, "a.example.org"), "helo");
	ok(mc_mail(mc, "<a@example.org>", NULL), "mail");
	/* the RCPT goes out; its reply cannot come while Redis is stopped */
	mc_set_timeout(mc, 100);
	(void)mc_rcpt(mc, "<b@example.com>", NULL);
	ck_assert_int_eq(th_log_wait(E.p, 0, "rule=mark matched", 5000), 0);
	ck_assert_int_eq(th_proc_signal(E.p, SIGTERM), 0);
	ck_assert_int_eq(th_log_wait(E.p, 0, "stopping", STOP_MS), 0);
	ck_assert_int_eq(kill(fd_test_redis_pid(redis), SIGCONT), 0);
	/* the MAIL refused, libmilter does not pass its RCPT on */
	ck_assert_msg(th_log_wait(E.p, 0, "info: stage=mail qid=-: answered "
	    "tempfail, filterd is stopping\n", STOP_MS) == 0, "%s",
	    th_log_read(E.p));
	ck_assert(th_log_has(E.p, "info: stage=helo qid=-: answered "
	    "tempfail, filterd is stopping\n"));
	status = th_proc_wait_exit(E.p, STOP_MS);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "wait status %#x", status);
	mc_free(mc);
	fd_test_redis_free(redis);
}
END_TEST

/*
 * root_and_nobody - what tests of the privilege drop need: root, and the
 * user nobody to become; nobody's entry, or NULL to skip the test where
 * FD_ALLOW_SKIP allows it (never under CI)
 */
static const struct passwd *
root_and_nobody(void)
{
	const struct passwd *pw;

	if (geteuid() != 0 && skip_allowed())
		return NULL;
	ck_assert_msg(geteuid() == 0, "this test must run as root");
	pw = getpwnam("nobody");
	ck_assert_ptr_nonnull(pw);
	return pw;
}

/*
 * Started as root with `user`: the socket is bound first, then the unix
 * socket and pidfile are handed to the run user, whose process then
 * serves and, at stop, can remove them.
 */
START_TEST(privileges)
{
	const struct passwd *pw = root_and_nobody();
	char		*run = th_path(E.dir, "run"), line[256];
	struct stat	 st;
	FILE		*fp;
	int		 uid = -1;

	if (pw == NULL)
		return;
	ck_assert_int_eq(chmod(E.dir, 0755), 0);
	ck_assert_int_eq(mkdir(run, 0755), 0);
	ck_assert_int_eq(chown(run, pw->pw_uid, pw->pw_gid), 0);
	snprintf(E.spec, sizeof(E.spec), "unix:%s/filterd.sock", run);
	ck_assert_int_eq(th_write_file(E.conf, "socket \"%s\"\n"
	    "socket-mode 0660\nuser nobody\nlog stderr\n"
	    "pidfile \"%s/filterd.pid\"\nstore lmdb \"%s/state\"\n"
	    "plugin-dir \"%s\"\nplugin example {\n\treject-rcpt \"t@x.org\"\n}\n",
	    E.spec, run, E.dir, EXAMPLE_DIR), 0);
	start();
	ck_assert_int_eq(stat(E.spec + 5, &st), 0);
	ck_assert_uint_eq(st.st_uid, pw->pw_uid);
	ck_assert_uint_eq(st.st_mode & 0777, 0660);
	snprintf(line, sizeof(line), "/proc/%d/status", (int)th_proc_pid(E.p));
	fp = fopen(line, "r");
	ck_assert_ptr_nonnull(fp);
	while (fgets(line, sizeof(line), fp) != NULL)
		if (sscanf(line, "Uid: %d", &uid) == 1)
			break;
	fclose(fp);
	ck_assert_int_eq(uid, (int)pw->pw_uid);
	rcpt_session("192.0.2.15", 40007, "<t@x.org>", MC_REJECT,
	    "550", "5.1.1", "Recipient refused by policy");
	ck_assert_int_eq(th_proc_stop(E.p, STOP_MS), 0);
	ck_assert_int_eq(stat(E.spec + 5, &st), -1);	/* removed at stop */
	snprintf(line, sizeof(line), "%s/filterd.pid", run);
	ck_assert_int_eq(stat(line, &st), -1);
	free(run);
}
END_TEST

/* run - filterd with args, its exit status; output to dir/NAME.log */
static int
run(const char *name, char *const argv[], struct th_proc **pp)
{
	char	 err[512];

	*pp = th_proc_start(E.dir, name, argv, err, sizeof(err));
	ck_assert_msg(*pp != NULL, "%s", err);
	return th_proc_wait_exit(*pp, 10000);
}

/*
 * The pidfile is filterd's own: a second filterd given it stops at the
 * start instead of overwriting it (the first's stop then left none),
 * and a file another user left at its name is refused, not rewritten
 * and handed over with the mode it had (0666: anyone could then name
 * the pid that root signals).
 */
START_TEST(pidfile_guarded)
{
	const char	*fd = th_require("FILTERD", NULL);
	char		*pidfile = th_path(E.dir, "filterd.pid");
	char		*conf2 = th_path(E.dir, "second.conf");
	char		*argv[] = { (char *)fd, "-f", "-c", conf2, NULL };
	char		 want[512], *body;
	struct th_proc	*p;
	struct stat	 sb;
	int		 st;

	start_served();
	/* a unix socket: it stops before binding, and leaves none */
	ck_assert_int_eq(th_write_file(conf2, "socket \"unix:%s/second.sock\"\n"
	    "log stderr\npidfile \"%s\"\nstore lmdb \"%s/state2\"\n"
	    "plugin-dir \"%s\"\nplugin example\n", E.dir, pidfile, E.dir,
	    EXAMPLE_DIR), 0);
	st = run("second", argv, &p);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 69,
	    "wait status %#x: %s", st, th_log_tail(p, 5));
	body = th_path(E.dir, "second.sock");
	ck_assert_int_eq(stat(body, &sb), -1);
	free(body);
	snprintf(want, sizeof(want), "pidfile %s: refused: filterd pid %ld "
	    "holds it (another instance is running)", pidfile,
	    (long)th_proc_pid(E.p));
	ck_assert_msg(th_log_has(p, want), "%s", th_log_tail(p, 5));
	p = th_proc_free(p);
	snprintf(want, sizeof(want), "%ld\n", (long)th_proc_pid(E.p));
	body = th_read_file(pidfile, NULL);
	ck_assert_ptr_nonnull(body);
	ck_assert_str_eq(body, want);
	free(body);
	st = th_proc_stop(E.p, STOP_MS);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	ck_assert_int_eq(stat(pidfile, &sb), -1);

	if (geteuid() == 0) {
		ck_assert_int_eq(th_write_file(pidfile, "1\n"), 0);
		ck_assert_int_eq(chown(pidfile, 2, 2), 0);
		ck_assert_int_eq(chmod(pidfile, 0666), 0);
		st = run("foreign", argv, &p);
		ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 69,
		    "wait status %#x: %s", st, th_log_tail(p, 5));
		snprintf(want, sizeof(want), "pidfile %s: refused: owned by "
		    "another user (remove it)", pidfile);
		ck_assert_msg(th_log_has(p, want), "%s", th_log_tail(p, 5));
		p = th_proc_free(p);
		ck_assert_int_eq(stat(pidfile, &sb), 0);
		ck_assert_uint_eq(sb.st_uid, 2);
		ck_assert_uint_eq(sb.st_mode & 07777, 0666);
	}
	free(conf2);
	free(pidfile);
}
END_TEST

/*
 * Store options that would not open are a broken configuration at a
 * reload as at start and under -t: a reload used to take them, say only
 * that the store changes at the next restart, and that restart failed
 * on them. At start they are a configuration error (78), not 69.
 */
START_TEST(reload_bad_store_options)
{
	const char	*fd = th_require("FILTERD", NULL);
	char		*argv[] = { (char *)fd, "-f", "-c", E.conf, NULL };
	struct th_proc	*p;
	size_t		 mark;
	int		 st;

	start();
	mark = th_log_size(E.p);
	ck_assert_int_eq(th_write_file(E.conf, "socket \"inet:%d@127.0.0.1\"\n"
	    "log stderr\npidfile \"%s/filterd.pid\"\n"
	    "store lmdb \"%s/state\" { map-size bogus }\n"
	    "plugin-dir \"%s\"\nplugin example {\n\treply 450 4.2.1 \"x\"\n}\n",
	    E.port, E.dir, E.dir, EXAMPLE_DIR), 0);
	ck_assert_int_eq(th_proc_signal(E.p, SIGHUP), 0);
	ck_assert_int_eq(th_log_wait(E.p, mark, "stays in force", 5000), 0);
	ck_assert_msg(th_log_has_since(E.p, mark, "filterd.conf:4:"),
	    "%s", th_log_tail(E.p, 3));
	ck_assert(th_log_has_since(E.p, mark, "map-size \"bogus\""));
	ck_assert(!th_log_has_since(E.p, mark, "reloaded"));
	rcpt_session("192.0.2.17", 40010, "<trap@example.com>", MC_REJECT,
	    "550", "5.1.1", "No such user here");
	ck_assert_int_eq(th_proc_stop(E.p, STOP_MS), 0);
	E.p = th_proc_free(E.p);

	st = run("bad-store", argv, &p);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 78,
	    "wait status %#x", st);
	ck_assert(th_log_has(p, "map-size \"bogus\""));
	th_proc_free(p);
}
END_TEST

/* copy_plugin - the example plugin copied to dir/example.so, replacing
 * what is there by a rename (a new file, as install(1) makes one) */
static void
copy_plugin(const char *dir)
{
	char	*from = th_path(EXAMPLE_DIR, "example.so");
	char	*to = th_path(dir, "example.so"), *tmp = th_path(dir, "new.so");
	char	*bytes;
	size_t	 len;
	FILE	*f;

	ck_assert_ptr_nonnull(bytes = th_read_file(from, &len));
	ck_assert_ptr_nonnull(f = fopen(tmp, "w"));
	ck_assert_uint_eq(fwrite(bytes, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(chmod(tmp, 0755), 0);
	ck_assert_int_eq(rename(tmp, to), 0);
	free(bytes);
	free(tmp);
	free(to);
	free(from);
}

/*
 * A plugin file replaced on disk while filterd runs cannot be loaded by
 * a reload: glibc hands back the object the running generation holds
 * under that name. The reload fails and says to restart, where it used
 * to report success and go on running the old code.
 */
START_TEST(reload_replaced_plugin)
{
	char	*dir = th_path(E.dir, "plugins");
	size_t	 mark;

	ck_assert_int_eq(mkdir(dir, 0755), 0);
	copy_plugin(dir);
	ck_assert_int_eq(th_write_file(E.conf, "socket \"inet:%d@127.0.0.1\"\n"
	    "log stderr\nstore lmdb \"%s/state\"\nplugin-dir \"%s\"\n"
	    "plugin example {\n\treject-rcpt \"trap@example.com\"\n"
	    "\treply 550 5.1.1 \"No such user here\"\n}\n", E.port, E.dir,
	    dir), 0);
	start();
	/* the same file again: a reload works */
	mark = th_log_size(E.p);
	ck_assert_int_eq(th_proc_signal(E.p, SIGHUP), 0);
	ck_assert_int_eq(th_log_wait(E.p, mark, "generation 2", 5000), 0);
	/* a new file by that name: refused, the running one stays */
	copy_plugin(dir);
	mark = th_log_size(E.p);
	ck_assert_int_eq(th_proc_signal(E.p, SIGHUP), 0);
	ck_assert_int_eq(th_log_wait(E.p, mark, "stays in force", 5000), 0);
	ck_assert_msg(th_log_has_since(E.p, mark, "example.so: replaced since "
	    "filterd loaded it, and the file loaded first is still in use; "
	    "restart filterd to load the new one"), "%s",
	    th_log_tail(E.p, 3));
	rcpt_session("192.0.2.18", 40011, "<trap@example.com>", MC_REJECT,
	    "550", "5.1.1", "No such user here");
	free(dir);
}
END_TEST

/* owned_by - the file path leads to belongs to uid */
static int
owned_by(const char *path, uid_t uid)
{
	struct stat	 st;

	ck_assert_int_eq(stat(path, &st), 0);
	return st.st_uid == uid;
}

/*
 * victim_new - a file of root's, mode 0600, that a link the run user
 * plants may name; the path, owned. The test directory is opened to all
 * so the run user can reach what is made in it.
 */
static char *
victim_new(void)
{
	char	*victim = th_path(E.dir, "victim");

	ck_assert_int_eq(chmod(E.dir, 0755), 0);
	ck_assert_int_eq(th_write_file(victim, "keep\n"), 0);
	ck_assert_int_eq(chmod(victim, 0600), 0);
	return victim;
}

/* victim_intact - the victim's content and owner are as victim_new
 * left them */
static void
victim_intact(const char *victim)
{
	char	*body = th_read_file(victim, NULL);

	ck_assert_ptr_nonnull(body);
	ck_assert_str_eq(body, "keep\n");
	free(body);
	ck_assert(owned_by(victim, 0));
}

/* user_dir_new - E.dir/name, made with mode and given to pw; owned path */
static char *
user_dir_new(const char *name, mode_t mode, const struct passwd *pw)
{
	char	*dir = th_path(E.dir, name);

	ck_assert_int_eq(mkdir(dir, mode), 0);
	ck_assert_int_eq(chown(dir, pw->pw_uid, pw->pw_gid), 0);
	return dir;
}

/*
 * links_planted - started as root with `user`, filterd writes and hands
 * over files in directories the run user owns, who may have left a link
 * there (made by mk: symlink, or link where fs.protected_hardlinks=0
 * lets a user link a file it does not own) to a file of root's: the
 * pidfile is refused rather than written through it, and handing the
 * store's entries over leaves the file a link names alone.
 */
static void
links_planted(int (*mk)(const char *, const char *), const char *kind)
{
	const char	*fd = th_require("FILTERD", NULL);
	char		*argv[] = { (char *)fd, "-f", "-c", E.conf, NULL };
	const struct passwd *pw = root_and_nobody();
	char		*rundir, *pidfile, *state, *stray, *victim, want[512];
	struct th_proc	*p;
	int		 st;

	if (pw == NULL)
		return;
	victim = victim_new();
	rundir = user_dir_new("run", 0755, pw);
	state = user_dir_new("state", 0700, pw);
	pidfile = th_path(rundir, "filterd.pid");
	ck_assert_int_eq(mk(victim, pidfile), 0);
	ck_assert_int_eq(th_write_file(E.conf, "socket \"%s\"\nuser nobody\n"
	    "log stderr\npidfile \"%s\"\nstore lmdb \"%s\"\n"
	    "plugin-dir \"%s\"\nplugin example\n", E.spec, pidfile, state,
	    EXAMPLE_DIR), 0);
	st = run("links", argv, &p);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 69,
	    "wait status %#x: %s", st, th_log_tail(p, 5));
	snprintf(want, sizeof(want), "pidfile %s: refused: a %s link",
	    pidfile, kind);
	ck_assert_msg(th_log_has(p, want), "%s", th_log_tail(p, 5));
	p = th_proc_free(p);
	victim_intact(victim);

	/* the pidfile in order, a link among the store's entries */
	ck_assert_int_eq(unlink(pidfile), 0);
	stray = th_path(state, "stray");
	ck_assert_int_eq(mk(victim, stray), 0);
	start_served();
	ck_assert(owned_by(pidfile, pw->pw_uid));
	victim_intact(victim);
	free(stray);
	free(pidfile);
	free(rundir);
	free(state);
	free(victim);
}

/* the store's directory under one the run user cannot search: the
 * start says whose reach it is out of; "mkdir: Permission denied" alone
 * named a directory that existed */
START_TEST(store_out_of_reach)
{
	const char	*fd = th_require("FILTERD", NULL);
	char		*argv[] = { (char *)fd, "-f", "-c", E.conf, NULL };
	const struct passwd *pw = root_and_nobody();
	char		*priv, want[512];
	struct th_proc	*p;
	int		 st;

	if (pw == NULL)
		return;
	ck_assert_int_eq(chmod(E.dir, 0755), 0);
	priv = th_path(E.dir, "priv");
	ck_assert_int_eq(mkdir(priv, 0700), 0);
	ck_assert_int_eq(th_write_file(E.conf, "socket \"%s\"\nuser nobody\n"
	    "log stderr\nstore lmdb \"%s/db\"\n", E.spec, priv), 0);
	st = run("reach", argv, &p);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 69,
	    "wait status %#x: %s", st, th_log_tail(p, 5));
	snprintf(want, sizeof(want), "store lmdb %s/db: mkdir: Permission "
	    "denied (the store is opened as uid %u: a directory above it may "
	    "be closed to that user)", priv, (unsigned)pw->pw_uid);
	ck_assert_msg(th_log_has(p, want), "%s", th_log_tail(p, 5));
	p = th_proc_free(p);
	free(priv);
}
END_TEST

START_TEST(privileges_links)
{
	links_planted(symlink, "symbolic");
}
END_TEST

START_TEST(privileges_hard_links)
{
	links_planted(link, "hard");
}
END_TEST

/* unix_bound - a socket of type bound at path, its address in *sun */
static int
unix_bound(const char *path, int type, struct sockaddr_un *sun)
{
	int	 s;

	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	ck_assert_uint_lt(strlen(path), sizeof(sun->sun_path));
	memcpy(sun->sun_path, path, strlen(path) + 1);
	s = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(s, 0);
	ck_assert_int_eq(bind(s, (struct sockaddr *)sun, sizeof(*sun)), 0);
	return s;
}

/* notify_wait - the next datagram on s within 10 s holds want */
static void
notify_wait(int s, const char *want)
{
	struct pollfd	 pfd = { .fd = s, .events = POLLIN };
	char		 buf[512];
	ssize_t		 n;

	ck_assert_msg(poll(&pfd, 1, 10000) == 1, "no %s within 10 s", want);
	n = recv(s, buf, sizeof(buf) - 1, 0);
	ck_assert_int_gt(n, 0);
	buf[n] = '\0';
	ck_assert_msg(strstr(buf, want) != NULL, "got \"%s\", want %s", buf,
	    want);
}

#ifdef HAVE_LIBSYSTEMD
/* start_notified - filterd on E.conf under a service manager, once it
 * said READY=1; the socket it notifies (notify_wait), bound at *path
 * (the caller's to free) */
static int
start_notified(char **path)
{
	const char	*fd = th_require("FILTERD", NULL);
	char		*argv[] = { (char *)fd, "-f", "-c", E.conf, NULL };
	char		 err[512];
	struct sockaddr_un sun;
	int		 s;

	*path = th_path(E.dir, "notify");
	s = unix_bound(*path, SOCK_DGRAM, &sun);
	ck_assert_int_eq(setenv("NOTIFY_SOCKET", *path, 1), 0);
	E.p = th_proc_start(E.dir, "filterd", argv, err, sizeof(err));
	unsetenv("NOTIFY_SOCKET");
	ck_assert_msg(E.p != NULL, "%s", err);
	notify_wait(s, "READY=1\nSTATUS=serving on inet:");
	return s;
}
#endif

/*
 * Under a service manager (NOTIFY_SOCKET, as systemd's Type=notify sets
 * it) filterd says READY=1 once it serves: a milter conversation works the
 * moment it is said. A reload is RELOADING=1, then READY=1 again, also
 * when it fails; a stop is STOPPING=1.
 */
START_TEST(service_notify)
{
#ifdef HAVE_LIBSYSTEMD
	char		*path;
	int		 s = start_notified(&path);

	rcpt_session("192.0.2.15", 40007, "<trap@example.com>", MC_REJECT,
	    "550", "5.1.1", "No such user here");

	ck_assert_int_eq(th_proc_signal(E.p, SIGUSR1), 0);
	notify_wait(s, "RELOADING=1\nMONOTONIC_USEC=");
	notify_wait(s, "READY=1\nSTATUS=serving on inet:");
	ck_assert(th_log_has(E.p, "generation 2"));
	ck_assert_int_eq(th_write_file(E.conf, "nonsense\n"), 0);
	ck_assert_int_eq(th_proc_signal(E.p, SIGUSR1), 0);
	notify_wait(s, "RELOADING=1");
	notify_wait(s, "READY=1\nSTATUS=serving on inet:");
	ck_assert(th_log_has(E.p, "reload failed"));

	ck_assert_int_eq(th_proc_stop(E.p, STOP_MS), 0);
	notify_wait(s, "STOPPING=1");
	close(s);
	free(path);
#else
	ck_assert_msg(skip_allowed(), "filterd was built without libsystemd "
	    "(configure --with-systemd; libsystemd-dev)");
#endif
}
END_TEST

/*
 * SIGHUP reloads, as SIGUSR1 does, where libmilter would stop the
 * milter. A second SIGHUP sent while the first one's reload runs (a
 * large table keeps it busy) is a second reload: libmilter's own signal
 * thread, which waits for SIGHUP as it waits for SIGTERM, would take it
 * while the reload thread is busy, and stop filterd (sigwait.c).
 */
START_TEST(sighup_reloads)
{
#ifdef HAVE_LIBSYSTEMD
	char		*big = th_path(E.dir, "big.cidr"), *path;
	FILE		*f = fopen(big, "w");
	int		 s, i, st;

	ck_assert_ptr_nonnull(f);
	for (i = 0; i < 100000; i++)
		fprintf(f, "10.%d.%d.%d/32\n", i >> 16, (i >> 8) & 255,
		    i & 255);
	ck_assert_int_eq(fclose(f), 0);
	write_conf("table big cidr file \"big.cidr\"\n",
	    "450 4.2.1 \"Mailbox resting, try later\"");
	s = start_notified(&path);
	rcpt_session("192.0.2.16", 40008, "<trap@example.com>", MC_TEMPFAIL,
	    "450", "4.2.1", "Mailbox resting, try later");

	write_conf("table big cidr file \"big.cidr\"\n",
	    "550 5.1.1 \"No such user here\"");
	ck_assert_int_eq(th_proc_signal(E.p, SIGHUP), 0);
	notify_wait(s, "RELOADING=1");
	ck_assert_int_eq(th_proc_signal(E.p, SIGHUP), 0);
	notify_wait(s, "READY=1");
	notify_wait(s, "RELOADING=1");
	notify_wait(s, "READY=1");
	ck_assert_msg(th_log_has(E.p, "filterd.conf: generation 3\n") &&
	    !th_log_has(E.p, "stopping"), "%s", th_log_tail(E.p, 3));
	rcpt_session("192.0.2.16", 40009, "<trap@example.com>", MC_REJECT,
	    "550", "5.1.1", "No such user here");

	/* SIGTERM still stops, through libmilter */
	st = th_proc_stop(E.p, STOP_MS);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	    "wait status %#x", st);
	notify_wait(s, "STOPPING=1");
	close(s);
	free(big);
	free(path);
#else
	ck_assert_msg(skip_allowed(), "filterd was built without libsystemd "
	    "(configure --with-systemd; libsystemd-dev)");
#endif
}
END_TEST

/* env_add - name=value, after what name already holds, separated by sep */
static void
env_add(const char *name, const char *value, const char *sep)
{
	const char	*old = getenv(name);
	char		 buf[1024];

	snprintf(buf, sizeof(buf), "%s%s%s", old != NULL ? old : "",
	    old != NULL && *old != '\0' ? sep : "", value);
	ck_assert_int_eq(setenv(name, buf, 1), 0);
}

/* what socket_link_planted puts in place of the socket */
enum planted { PLANT_SYMLINK, PLANT_HARD_FILE, PLANT_HARD_SOCKET };

/* socket_victim_new - a unix socket of root's, mode 0600, bound in the
 * test directory and left there; its path, owned */
static char *
socket_victim_new(void)
{
	struct sockaddr_un sun;
	char	*path = th_path(E.dir, "victim.sock");

	ck_assert_int_eq(chmod(E.dir, 0755), 0);
	close(unix_bound(path, SOCK_STREAM, &sun));
	ck_assert_int_eq(chmod(path, 0600), 0);
	return path;
}

/*
 * socket_link_planted - started as root with `user` and `socket-mode`,
 * filterd binds its unix socket in a directory the run user owns. A
 * process of that user that swaps the socket for a link to a file of
 * root's (tests/lib/bindlink.c swaps it right after the bind; a hard one
 * where fs.protected_hardlinks=0 lets a user make it), a socket of root's
 * included, does not get that file's mode changed, nor its owner, when
 * filterd sets the socket's mode and hands the socket over: the link is
 * left as it is, with a warning.
 */
static void
socket_link_planted(enum planted what)
{
	const char	*fd = th_require("FILTERD", NULL);
	char		*argv[] = { (char *)fd, "-f", "-c", E.conf, NULL };
	const struct passwd *pw = root_and_nobody();
	char		*rundir, *victim, err[512], want[512];
	struct stat	 st;
	struct th_proc	*p;

	if (pw == NULL)
		return;
	victim = what == PLANT_HARD_SOCKET ? socket_victim_new() :
	    victim_new();
	rundir = user_dir_new("run", 0755, pw);
	ck_assert_int_eq(th_write_file(E.conf, "socket \"unix:%s/filterd.sock\"\n"
	    "socket-mode 0666\nuser nobody\nlog stderr\n"
	    "store lmdb \"%s/state\"\nplugin-dir \"%s\"\nplugin example\n",
	    rundir, rundir, EXAMPLE_DIR), 0);
	/* the sanitizers' runtime wants to come first; the preload does */
	env_add("ASAN_OPTIONS", "verify_asan_link_order=0", ":");
	ck_assert_int_eq(setenv("LD_PRELOAD", BINDLINK, 1), 0);
	ck_assert_int_eq(setenv("FD_TEST_BIND_LINK", victim, 1), 0);
	if (what != PLANT_SYMLINK)
		ck_assert_int_eq(setenv("FD_TEST_BIND_LINK_HARD", "1", 1), 0);
	p = th_proc_start(E.dir, "socket-link", argv, err, sizeof(err));
	unsetenv("LD_PRELOAD");
	unsetenv("FD_TEST_BIND_LINK");
	unsetenv("FD_TEST_BIND_LINK_HARD");
	ck_assert_msg(p != NULL, "%s", err);
	ck_assert_msg(th_log_wait(p, 0, "started on", 10000) == 0, "%s",
	    th_log_tail(p, 5));
	ck_assert_int_eq(stat(victim, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0600);
	if (what == PLANT_HARD_SOCKET)
		ck_assert(owned_by(victim, 0));
	else
		victim_intact(victim);
	snprintf(want, sizeof(want), "socket %s/filterd.sock: not handed to "
	    "the run user: %s", rundir, what == PLANT_HARD_SOCKET ?
	    "it has other hard links" : "not a socket");
	ck_assert_msg(th_log_has(p, want), "%s", th_log_tail(p, 5));
	ck_assert_int_eq(th_proc_stop(p, STOP_MS), 0);
	p = th_proc_free(p);
	free(rundir);
	free(victim);
}

START_TEST(privileges_socket_link)
{
	socket_link_planted(PLANT_SYMLINK);
}
END_TEST

START_TEST(privileges_socket_hard_link)
{
	socket_link_planted(PLANT_HARD_FILE);
}
END_TEST

START_TEST(privileges_socket_hard_link_socket)
{
	socket_link_planted(PLANT_HARD_SOCKET);
}
END_TEST

/*
 * Started as another user than root or `user`, filterd cannot become
 * `user`: it says so before it binds or writes anything, and leaves no
 * pidfile behind for a daemon that never ran.
 */
START_TEST(wrong_user)
{
	const char	*fd = th_require("FILTERD", NULL);
	char		*argv[] = { "/usr/bin/setpriv", "--reuid=nobody",
			    "--regid=nogroup", "--clear-groups", (char *)fd, "-f",
			    "-c", E.conf, NULL };
	const struct passwd *pw = root_and_nobody();
	char		*rundir, *pidfile, want[512];
	struct th_proc	*p;
	struct stat	 st;
	int		 rc;

	if (pw == NULL)
		return;
	ck_assert_int_eq(chmod(E.dir, 0755), 0);
	rundir = user_dir_new("run", 0755, pw);
	pidfile = th_path(rundir, "filterd.pid");
	ck_assert_int_eq(th_write_file(E.conf, "socket \"%s\"\nuser daemon\n"
	    "log stderr\npidfile \"%s\"\nstore lmdb \"%s/state\"\n",
	    E.spec, pidfile, rundir), 0);
	ck_assert_int_eq(chmod(E.conf, 0644), 0);
	rc = run("wrong-user", argv, &p);
	ck_assert_msg(WIFEXITED(rc) && WEXITSTATUS(rc) == 69,
	    "wait status %#x: %s", rc, th_log_tail(p, 5));
	ck_assert_msg(th_log_has(p, "cannot become user daemon: not running "
	    "as root"), "%s", th_log_tail(p, 5));
	p = th_proc_free(p);
	ck_assert_int_eq(stat(pidfile, &st), -1);

	/* -t, which an admin may run as anyone, passes the file and says
	 * that a start as this user would stop there, and where `user` is */
	argv[5] = "-t";
	rc = run("wrong-user-t", argv, &p);
	ck_assert_msg(WIFEXITED(rc) && WEXITSTATUS(rc) == 0,
	    "wait status %#x: %s", rc, th_log_tail(p, 5));
	ck_assert_msg(th_log_has(p, "configuration OK"), "%s", th_log_tail(p, 5));
	snprintf(want, sizeof(want), "%s:2:6: warning: user daemon: started "
	    "as uid %u, filterd could not become it; start it as root or as "
	    "daemon", E.conf, (unsigned)pw->pw_uid);
	ck_assert_msg(th_log_has(p, want), "%s", th_log_tail(p, 5));
	p = th_proc_free(p);

	/* started as `user` but not in `group`: the group was never
	 * checked, and the socket went to the user's own group */
	ck_assert_int_eq(th_write_file(E.conf, "socket \"%s\"\nuser nobody\n"
	    "group daemon\nlog stderr\nstore lmdb \"%s/state\"\n", E.spec,
	    rundir), 0);
	argv[5] = "-f";
	rc = run("wrong-group", argv, &p);
	ck_assert_msg(WIFEXITED(rc) && WEXITSTATUS(rc) == 69,
	    "wait status %#x: %s", rc, th_log_tail(p, 5));
	ck_assert_msg(th_log_has(p, "cannot become group daemon: not running "
	    "as root"), "%s", th_log_tail(p, 5));
	p = th_proc_free(p);
	argv[5] = "-t";
	rc = run("wrong-group-t", argv, &p);
	ck_assert_msg(WIFEXITED(rc) && WEXITSTATUS(rc) == 0,
	    "wait status %#x: %s", rc, th_log_tail(p, 5));
	snprintf(want, sizeof(want), "%s:3:7: warning: group daemon: started "
	    "as gid %u, filterd could not become it; start it as root or "
	    "with that group", E.conf, (unsigned)getgrnam("nogroup")->gr_gid);
	ck_assert_msg(th_log_has(p, want), "%s", th_log_tail(p, 5));
	p = th_proc_free(p);
	free(pidfile);
	free(rundir);
}
END_TEST

/*
 * Started as root with `user`, filterd opens the LMDB store as the run
 * user, who owns the directory and may have left a link there in place
 * of a file LMDB opens for writing: the open is refused, and the file
 * the link names is left as it was. LMDB resizes its lock file, so as
 * root a link at lock.mdb would have damaged a file of root's.
 */
START_TEST(store_opened_as_user)
{
	const char	*fd = th_require("FILTERD", NULL);
	char		*argv[] = { (char *)fd, "-f", "-c", E.conf, NULL };
	const struct passwd *pw = root_and_nobody();
	char		*state, *victim, *lock;
	struct th_proc	*p;
	struct stat	 st;
	int		 rc;

	if (pw == NULL)
		return;
	victim = victim_new();
	state = user_dir_new("state", 0700, pw);
	lock = th_path(state, "lock.mdb");
	ck_assert_int_eq(symlink(victim, lock), 0);
	ck_assert_int_eq(th_write_file(E.conf, "socket \"%s\"\nuser nobody\n"
	    "log stderr\nstore lmdb \"%s\"\nplugin-dir \"%s\"\n"
	    "plugin example\n", E.spec, state, EXAMPLE_DIR), 0);
	rc = run("lock-link", argv, &p);
	ck_assert_msg(WIFEXITED(rc) && WEXITSTATUS(rc) == 69,
	    "wait status %#x", rc);
	ck_assert_msg(th_log_has(p, "Permission denied"), "%s",
	    th_log_tail(p, 5));
	p = th_proc_free(p);
	victim_intact(victim);

	/* without the link, what the store creates is the run user's */
	ck_assert_int_eq(unlink(lock), 0);
	start_served();
	ck_assert_int_eq(lstat(lock, &st), 0);
	ck_assert_uint_eq(st.st_uid, pw->pw_uid);
	free(lock);
	lock = th_path(state, "data.mdb");
	ck_assert(owned_by(lock, pw->pw_uid));
	free(lock);
	free(state);
	free(victim);
}
END_TEST

/*
 * A second filterd on the unix socket of a running one refuses to start:
 * libmilter removes any socket it finds, which would leave the first
 * running but cut off from the MTA. A socket file nobody listens on,
 * left by a crash, is still replaced.
 */
START_TEST(socket_in_use)
{
	const char		*fd = th_require("FILTERD", NULL);
	char			*argv[] = { (char *)fd, "-f", "-c", E.conf, NULL };
	char			*sock = th_path(E.dir, "filterd.sock"), want[512];
	struct sockaddr_un	 sun;
	struct th_proc		*p;
	int			 st;

	close(unix_bound(sock, SOCK_STREAM, &sun));
	snprintf(E.spec, sizeof(E.spec), "unix:%s", sock);
	ck_assert_int_eq(th_write_file(E.conf, "socket \"%s\"\nlog stderr\n"
	    "pidfile \"%s/filterd.pid\"\nstore lmdb \"%s/state\"\n"
	    "plugin-dir \"%s\"\nplugin example {\n\treject-rcpt \"t@x.org\"\n}\n",
	    E.spec, E.dir, E.dir, EXAMPLE_DIR), 0);
	start_served();
	/* its own pidfile and store, or the first's pidfile stops it */
	ck_assert_int_eq(th_write_file(E.conf, "socket \"%s\"\nlog stderr\n"
	    "pidfile \"%s/second.pid\"\nstore lmdb \"%s/state2\"\n", E.spec,
	    E.dir, E.dir), 0);
	st = run("second", argv, &p);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 69,
	    "wait status %#x", st);
	snprintf(want, sizeof(want), "socket %s: in use: something is "
	    "listening on it", sock);
	ck_assert_msg(th_log_has(p, want), "%s", th_log_tail(p, 5));
	p = th_proc_free(p);
	ck_assert(th_proc_running(E.p));
	rcpt_session("192.0.2.16", 40008, "<t@x.org>", MC_REJECT,
	    "550", "5.1.1", "Recipient refused by policy");
	free(sock);
}
END_TEST

/*
 * A listener that accepts nothing and whose backlog is full (a stopped
 * filterd, a hung one) is still in use: filterd says so and exits at
 * once, rather than wait in connect() for a slot that may never free.
 */
START_TEST(socket_backlog_full)
{
	const char		*fd = th_require("FILTERD", NULL);
	char			*argv[] = { (char *)fd, "-f", "-c", E.conf, NULL };
	char			*sock = th_path(E.dir, "filterd.sock"), want[512];
	struct sockaddr_un	 sun;
	struct th_proc		*p;
	int			 l, c[8], n, st;

	l = unix_bound(sock, SOCK_STREAM, &sun);
	ck_assert_int_eq(listen(l, 0), 0);
	/* queue connections until the listener takes no more */
	for (n = 0; n < 8; n++) {
		c[n] = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
		ck_assert_int_ge(c[n], 0);
		if (connect(c[n], (struct sockaddr *)&sun, sizeof(sun)) < 0) {
			ck_assert_int_eq(errno, EAGAIN);
			break;
		}
	}
	ck_assert_int_lt(n, 8);
	snprintf(E.spec, sizeof(E.spec), "unix:%s", sock);
	ck_assert_int_eq(th_write_file(E.conf, "socket \"%s\"\nlog stderr\n"
	    "store lmdb \"%s/state\"\n", E.spec, E.dir), 0);
	st = run("full", argv, &p);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 69,
	    "wait status %#x: %s", st, th_log_tail(p, 5));
	snprintf(want, sizeof(want), "socket %s: in use: something is "
	    "listening on it", sock);
	ck_assert_msg(th_log_has(p, want), "%s", th_log_tail(p, 5));
	p = th_proc_free(p);
	while (n >= 0)
		close(c[n--]);
	close(l);
	free(sock);
}
END_TEST

/*
 * Without -f, filterd detaches before it opens the store, writes the
 * pidfile and drops privileges; a failure there must still reach whoever
 * started it: the command exits with the failure's status (69), and the
 * message goes to the terminal's stderr (`log stderr` here).
 */
START_TEST(detached_failure)
{
	const char	*fd = th_require("FILTERD", NULL);
	char		*argv[] = { (char *)fd, "-c", E.conf, NULL };
	char		*file = th_path(E.dir, "file");
	struct th_proc	*p;
	int		 st;

	ck_assert_int_eq(th_write_file(file, "not a directory\n"), 0);
	ck_assert_int_eq(th_write_file(E.conf, "socket \"%s\"\nlog stderr\n"
	    "store lmdb \"%s/state\"\nplugin-dir \"%s\"\nplugin example\n",
	    E.spec, file, EXAMPLE_DIR), 0);
	st = run("detached", argv, &p);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 69,
	    "wait status %#x", st);
	ck_assert_msg(th_log_has(p, "mkdir: Not a directory"), "%s",
	    th_log_tail(p, 5));
	p = th_proc_free(p);
	free(file);
}
END_TEST

/*
 * Without -f and with `log stderr`, the detached daemon keeps writing to
 * the standard error it was started with (a file here, as with
 * `filterd 2>>log`), rather than to /dev/null.
 */
START_TEST(detached_stderr)
{
	const char	*fd = th_require("FILTERD", NULL);
	char		*argv[] = { (char *)fd, "-c", E.conf, NULL };
	char		*pidfile = th_path(E.dir, "filterd.pid"), *body;
	struct th_proc	*p;
	long		 pid;
	int		 st, i, logged;

	ck_assert_int_eq(th_write_file(E.conf, "socket \"%s\"\nlog stderr\n"
	    "pidfile \"%s\"\nstore lmdb \"%s/state\"\nplugin-dir \"%s\"\n"
	    "plugin example {\n\treject-rcpt \"t@x.org\"\n}\n", E.spec,
	    pidfile, E.dir, EXAMPLE_DIR), 0);
	st = run("detached", argv, &p);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	    "wait status %#x: %s", st, th_log_tail(p, 5));
	body = th_read_file(pidfile, NULL);
	ck_assert_ptr_nonnull(body);
	pid = strtol(body, NULL, 10);
	free(body);
	ck_assert_int_gt(pid, 1);
	rcpt_session("192.0.2.17", 40009, "<t@x.org>", MC_REJECT,
	    "550", "5.1.1", "Recipient refused by policy");
	logged = th_log_wait(p, 0, "action=reject", 5000) == 0;
	/* stopped before asserting, so a failure leaves no daemon behind */
	ck_assert_int_eq(kill((pid_t)pid, SIGTERM), 0);
	for (i = 0; i < STOP_MS / 10 && kill((pid_t)pid, 0) == 0; i++)
		usleep(10000);
	ck_assert_msg(kill((pid_t)pid, 0) < 0, "filterd %ld still runs", pid);
	ck_assert_msg(logged, "no decision line: %s", th_log_tail(p, 5));
	p = th_proc_free(p);
	free(pidfile);
}
END_TEST

/* unit_has - the shipped systemd unit sets this line */
static int
unit_has(const char *line)
{
	char	*unit, *p;
	size_t	 n = strlen(line);
	int	 found = 0;

	unit = th_read_file(FD_SRCDIR "/contrib/systemd/filterd.service", NULL);
	ck_assert_ptr_nonnull(unit);
	for (p = unit; p != NULL && *p != '\0'; p = strchr(p, '\n'),
	    p = p != NULL ? p + 1 : NULL)
		if (strncmp(p, line, n) == 0 && (p[n] == '\n' || p[n] == '\0'))
			found = 1;
	free(unit);
	return found;
}

/*
 * Under the shipped systemd unit, the LMDB store must still tell a
 * filterd that died (kill -9, a crash: systemd restarts it) from a
 * system that went down. It reads this boot's id in /proc/sys for that;
 * a /proc mounted as the unit's ProtectProc and ProcSubset make it
 * (here in a mount namespace of its own) must leave that file visible,
 * or every restart after an unclean stop throws the store away.
 */
START_TEST(unit_proc_view)
{
	char		*state = th_path(E.dir, "state"), *marker, *boot, opts[64],
			 cmd[2048], err[1024];
	char		*argv[] = { "/usr/bin/unshare", "-m", "--propagation",
			    "private", "sh", "-c", cmd, NULL };
	struct th_proc	*p;

	boot = th_read_file("/proc/sys/kernel/random/boot_id", NULL);
	ck_assert_ptr_nonnull(boot);
	boot[strcspn(boot, "\n")] = '\0';
	/* what a filterd killed with writes unflushed leaves behind */
	ck_assert_int_eq(mkdir(state, 0700), 0);
	marker = th_path(state, "unflushed");
	ck_assert_int_eq(th_write_file(marker, "%s", boot), 0);
	snprintf(opts, sizeof(opts), "rw%s%s",
	    unit_has("ProtectProc=invisible") ? ",hidepid=invisible" : "",
	    unit_has("ProcSubset=pid") ? ",subset=pid" : "");
	snprintf(cmd, sizeof(cmd), "mount -t proc -o '%s' proc /proc && "
	    "exec '%s' -f -c '%s'", opts, th_require("FILTERD", NULL), E.conf);
	p = th_proc_start(E.dir, "unit", argv, err, sizeof(err));
	ck_assert_msg(p != NULL, "%s", err);
	ck_assert_msg(th_proc_wait_ready(p, E.spec, 10000, err,
	    sizeof(err)) == 0, "%s", err);
	/* the socket listens before the store is opened: only once filterd
	 * says it started has the marker been read */
	ck_assert_msg(th_log_wait(p, 0, "started on", 10000) == 0, "%s",
	    th_log_tail(p, 5));
	ck_assert_msg(!th_log_has(p, "the system went down"), "%s",
	    th_log_tail(p, 5));
	p = th_proc_free(p);
	free(marker);
	free(boot);
	free(state);
}
END_TEST

/* filterd -t: 0 and "OK", or 78 and file:line:col for each problem */
START_TEST(check_mode)
{
	const char	*fd = th_require("FILTERD", NULL);
	char		*argv[] = { (char *)fd, "-t", "-c", E.conf, NULL };
	struct th_proc	*p;
	int		 st;

	st = run("t-ok", argv, &p);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	ck_assert(th_log_has(p, "configuration OK"));
	p = th_proc_free(p);

	ck_assert_int_eq(th_write_file(E.conf, "plugin-dir \"%s\"\n"
	    "plugin example {\n\tbogus 1\n}\nplugin nosuch {\n}\n"
	    "plugin other path \"/nonexistent/o.so\"\n", EXAMPLE_DIR), 0);
	st = run("t-bad", argv, &p);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 78);
	ck_assert(th_log_has(p, "filterd.conf:3:2: plugin example: unknown "
	    "directive \"bogus\""));
	/* at the name, which gives the file (it said 5:1, at `plugin`) */
	ck_assert(th_log_has(p, "filterd.conf:5:8: plugin file "));
	ck_assert(th_log_has(p, "/nosuch.so: No such file or directory"));
	/* with a path, at the path */
	ck_assert_msg(th_log_has(p, "filterd.conf:7:19: plugin file "
	    "/nonexistent/o.so: No such file or directory"), "%s",
	    th_log_read(p));
	p = th_proc_free(p);

	/* what loads but is likely a mistake: OK, with a warning */
	ck_assert_int_eq(th_write_file(E.conf, "plugin-dir \"%s\"\n"
	    "table trusted { 192.0.2.0/24 }\n", EXAMPLE_DIR), 0);
	st = run("t-warn", argv, &p);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	ck_assert(th_log_has(p, "configuration OK"));
	ck_assert(th_log_has(p, "filterd.conf:2:7: warning: table trusted is "
	    "not used by any rule"));
	p = th_proc_free(p);

	/* a user or group that does not exist is a configuration error, for
	 * -t and, before anything is bound, for the daemon */
	ck_assert_int_eq(th_write_file(E.conf, "user  nosuch-fd-user\n"
	    "group nosuch-fd-group\nsocket \"%s\"\nplugin-dir \"%s\"\n"
	    "plugin example\n", E.spec, EXAMPLE_DIR), 0);
	st = run("t-user", argv, &p);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 78,
	    "wait status %#x", st);
	ck_assert(th_log_has(p, "filterd.conf:1:7: user nosuch-fd-user: no "
	    "such user"));
	ck_assert(th_log_has(p, "filterd.conf:2:7: group nosuch-fd-group: no "
	    "such group"));
	p = th_proc_free(p);
	argv[1] = "-f";
	st = run("f-user", argv, &p);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 78,
	    "wait status %#x", st);
	ck_assert(th_log_has(p, "filterd.conf:1:7: user nosuch-fd-user: no "
	    "such user"));
	p = th_proc_free(p);

	/* a group is looked up without a user too */
	ck_assert_int_eq(th_write_file(E.conf, "group nosuch-fd-group\n"
	    "socket \"%s\"\nplugin-dir \"%s\"\nplugin example\n", E.spec,
	    EXAMPLE_DIR), 0);
	argv[1] = "-t";
	st = run("t-group", argv, &p);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 78,
	    "wait status %#x", st);
	ck_assert(th_log_has(p, "filterd.conf:1:7: group nosuch-fd-group: no "
	    "such group"));
	p = th_proc_free(p);

	/* a group without a user, and a user that is root, are mistakes:
	 * the first was ignored (filterd ran as root:root, its socket closed
	 * to the MTA's group), the second passed -t and the start then
	 * stopped with "still able to regain root after dropping it" */
	ck_assert_int_eq(th_write_file(E.conf, "group root\nsocket \"%s\"\n"
	    "plugin-dir \"%s\"\nplugin example\n", E.spec, EXAMPLE_DIR), 0);
	st = run("t-group-alone", argv, &p);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 78);
	ck_assert(th_log_has(p, "filterd.conf:1:7: group root: given without "
	    "user; filterd takes a group only with the user it runs as"));
	p = th_proc_free(p);
	ck_assert_int_eq(th_write_file(E.conf, "user root\nsocket \"%s\"\n"
	    "plugin-dir \"%s\"\nplugin example\n", E.spec, EXAMPLE_DIR), 0);
	st = run("t-user-root", argv, &p);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 78);
	ck_assert(th_log_has(p, "filterd.conf:1:6: user root: uid 0, which "
	    "drops nothing; name an unprivileged user"));
	p = th_proc_free(p);
}
END_TEST

/*
 * filterd without -f: a mistake found before it detaches is printed on
 * the terminal and ends it with 69, whatever the log target (filterd(8),
 * STARTING): here a socket in use, then a unix socket in a directory
 * that does not exist, each with its reason. A user that does not exist
 * is a configuration error (check_mode).
 */
START_TEST(start_errors)
{
	const char		*fd = th_require("FILTERD", NULL);
	char			*argv[] = { (char *)fd, "-c", E.conf, NULL };
	struct sockaddr_in	 sin;
	socklen_t		 len = sizeof(sin);
	struct th_proc		*p;
	char			 want[512], *sock;
	int			 s, st;

	/* a port another process listens on */
	s = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(s, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(s, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(listen(s, 1), 0);
	ck_assert_int_eq(getsockname(s, (struct sockaddr *)&sin, &len), 0);
	ck_assert_int_eq(th_write_file(E.conf, "socket \"inet:%d@127.0.0.1\"\n"
	    "log syslog\nstore lmdb \"%s/state\"\n", ntohs(sin.sin_port),
	    E.dir), 0);
	st = run("busy", argv, &p);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 69, "status %d", st);
	snprintf(want, sizeof(want), "socket inet:%d@127.0.0.1: cannot open: "
	    "Address already in use", ntohs(sin.sin_port));
	ck_assert_msg(th_log_has(p, want), "not on the terminal: %s",
	    th_log_read(p));
	p = th_proc_free(p);
	close(s);

	ck_assert_int_eq(th_write_file(E.conf, "socket \"unix:%s/none/f.sock\"\n"
	    "log syslog\nstore lmdb \"%s/state\"\n", E.dir, E.dir), 0);
	st = run("nodir", argv, &p);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 69, "status %d", st);
	snprintf(want, sizeof(want), "socket unix:%s/none/f.sock: cannot open: "
	    "No such file or directory", E.dir);
	ck_assert_msg(th_log_has(p, want), "not on the terminal: %s",
	    th_log_read(p));
	p = th_proc_free(p);

	/* a file in the socket's place: it said "no address of its family
	 * found for the host" */
	ck_assert_int_eq(th_write_file(E.conf, "socket \"unix:%s/f.sock\"\n"
	    "log syslog\nstore lmdb \"%s/state\"\n", E.dir, E.dir), 0);
	sock = th_path(E.dir, "f.sock");
	ck_assert_int_eq(th_write_file(sock, "data\n"), 0);
	free(sock);
	st = run("notsock", argv, &p);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 69, "status %d", st);
	snprintf(want, sizeof(want), "socket %s/f.sock: refused: a file that "
	    "is not a socket is in its place (remove it)", E.dir);
	ck_assert_msg(th_log_has(p, want), "%s", th_log_read(p));
	p = th_proc_free(p);

	/* what stops the start once the configured log-level applies is an
	 * error, so that `log-level error` still says why */
	ck_assert_int_eq(th_write_file(E.conf, "socket \"%s\"\nlog stderr\n"
	    "log-level error\npidfile \"%s/none/f.pid\"\n"
	    "store lmdb \"%s/state\"\n", E.spec, E.dir, E.dir), 0);
	st = run("pidfile", argv, &p);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 69, "status %d", st);
	snprintf(want, sizeof(want), "error: pidfile %s/none/f.pid: "
	    "No such file or directory", E.dir);
	ck_assert_msg(th_log_has(p, want), "%s", th_log_read(p));
	p = th_proc_free(p);
}
END_TEST

START_TEST(version_usage)
{
	const char	*fd = th_require("FILTERD", NULL);
	char		*v[] = { (char *)fd, "-V", NULL };
	char		*h[] = { (char *)fd, "-h", NULL };
	char		*bad[] = { (char *)fd, "-T", "/x", NULL };
	struct th_proc	*p;
	char		 want[64];
	int		 st;

	st = run("v", v, &p);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	snprintf(want, sizeof(want), "filterd %s (plugin ABI 1.4)", PACKAGE_VERSION);
	ck_assert(th_log_has(p, want));
	p = th_proc_free(p);
	st = run("h", h, &p);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	ck_assert(th_log_has(p, "SIGHUP or SIGUSR1 reloads"));
	p = th_proc_free(p);
	st = run("bad", bad, &p);	/* a test clock needs -f or -t */
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 64);
	ck_assert(th_log_has(p, "-T is for tests and needs -f or -t"));
	p = th_proc_free(p);
}
END_TEST

/* sh - run a shell command outside make's jobserver; its exit status */
static int
sh(const char *fmt, ...)
{
	char	 cmd[4096];
	va_list	 ap;
	int	 st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/*
 * The example plugin built out of tree against the header and
 * pkg-config file that `make install DESTDIR=...` installed, then
 * loaded by path into a running filterd.
 */
START_TEST(out_of_tree)
{
	char		 pcdir[1024], *nl, *log;
	FILE		*fp;
	size_t		 len;

	ck_assert_int_eq(sh("env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s "
	    "-C %s install DESTDIR=%s/dest >%s/install.log 2>&1",
	    FD_BUILDDIR, E.dir, E.dir), 0);
	snprintf(pcdir, sizeof(pcdir), "find %s/dest -name filterd-plugin.pc",
	    E.dir);
	fp = popen(pcdir, "r");
	ck_assert_ptr_nonnull(fgets(pcdir, sizeof(pcdir), fp));
	pclose(fp);
	if ((nl = strrchr(pcdir, '/')) != NULL)
		*nl = '\0';
	ck_assert_int_eq(sh("mkdir -m 755 %s/src && cp %s/contrib/example-plugin/"
	    "example.c %s/contrib/example-plugin/Makefile %s/src/", E.dir,
	    FD_SRCDIR, FD_SRCDIR, E.dir), 0);
	ck_assert_int_eq(sh("cd %s/src && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL "
	    "-u CFLAGS PKG_CONFIG_PATH=%s PKG_CONFIG_SYSROOT_DIR=%s/dest make -s "
	    ">%s/build.log 2>&1", E.dir, pcdir, E.dir, E.dir), 0);
	/* its Makefile's -Wall -Wextra find nothing to say: the starting
	 * point for a plugin builds clean */
	snprintf(pcdir, sizeof(pcdir), "%s/build.log", E.dir);
	log = th_read_file(pcdir, &len);
	ck_assert_ptr_nonnull(log);
	ck_assert_msg(len == 0, "example plugin build: %s", log);
	free(log);
	ck_assert_int_eq(th_write_file(E.conf,
	    "socket \"inet:%d@127.0.0.1\"\nlog stderr\n"
	    "store lmdb \"%s/state\"\n"
	    "plugin example path \"%s/src/example.so\" {\n"
	    "\treject-rcpt \"x@example.net\"\n"
	    "\treply 550 5.7.1 \"built out of tree\"\n}\n",
	    E.port, E.dir, E.dir), 0);
	start();
	rcpt_session("192.0.2.14", 40006, "<x@example.net>", MC_REJECT,
	    "550", "5.7.1", "built out of tree");
}
END_TEST

static Suite *
daemon_suite(void)
{
	Suite	*s = suite_create("daemon");
	TCase	*tc = tcase_create("milter");

	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, conversation);
	tcase_add_test(tc, old_abi_plugin);
	tcase_add_test(tc, message_orders);
	tcase_add_test(tc, hostile_input);
	tcase_add_test(tc, malformed_packets);
	tcase_add_test(tc, reload_unreadable_include);
	tcase_add_test(tc, reload);
	tcase_add_test(tc, sighup_reloads);
	tcase_add_test(tc, reload_bad_store_options);
	tcase_add_test(tc, reload_replaced_plugin);
	tcase_add_test(tc, reload_start_only);
	tcase_add_test(tc, reload_log_level);
	tcase_add_test(tc, thread_stack);
	tcase_add_test(tc, stop);
	tcase_add_test(tc, pidfile_guarded);
	tcase_add_test(tc, stop_idle_connection);
	tcase_add_test(tc, stop_refused_command);
	tcase_add_test(tc, privileges);
	tcase_add_test(tc, privileges_links);
	tcase_add_test(tc, store_out_of_reach);
	tcase_add_test(tc, privileges_hard_links);
	tcase_add_test(tc, privileges_socket_link);
	tcase_add_test(tc, privileges_socket_hard_link);
	tcase_add_test(tc, privileges_socket_hard_link_socket);
	tcase_add_test(tc, service_notify);
	tcase_add_test(tc, store_opened_as_user);
	tcase_add_test(tc, wrong_user);
	tcase_add_test(tc, socket_in_use);
	tcase_add_test(tc, socket_backlog_full);
	tcase_add_test(tc, detached_failure);
	tcase_add_test(tc, detached_stderr);
	tcase_add_test(tc, unit_proc_view);
	tcase_add_test(tc, check_mode);
	tcase_add_test(tc, start_errors);
	tcase_add_test(tc, version_usage);
	suite_add_tcase(s, tc);

	tc = tcase_create("install");
	tcase_set_timeout(tc, 300);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, out_of_tree);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	th_require("FILTERD", NULL);
	sr = srunner_create(daemon_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
