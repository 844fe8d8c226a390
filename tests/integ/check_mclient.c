/*
 * check_mclient.c -- the milter test client against real and fake filters
 *
 * Two halves. Against the null milters (libmilter, built in this tree):
 * full conversations over IPv4, IPv6 and a unix socket, abort without
 * MAIL, two messages on one connection, QUIT_NC, and the envelope-only
 * filter's negotiation turning DATA, headers and body off so the client
 * never sends them. Against a scripted fake filter on a socketpair: the
 * exact bytes the client sends (macros per stage, the filter's macro
 * lists, CONNECT per family, ESMTP args, header leading space, body
 * chunks) and how it reads every kind of reply (reply codes with enhanced
 * codes and multi-line text, header edits at end of message, progress,
 * a refused connection, malformed replies, timeouts). Then fd-mtest runs
 * a script against a null milter, and the harness (tests/lib/proc.c)
 * starts, signals and stops a shell script and writes a clock file.
 *
 * Needs contrib/bench/null-milter and tests/mclient/fd-mtest from the
 * build tree (found through $top_builddir, else relative to the cwd).
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/wait.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <libmilter/mfdef.h>

#include "mclient.h"
#include "proc.h"

#define TMO	10000		/* ms: generous, only a hung test waits it */

/* the suite's environment, set up per test in the forked child */
static struct {
	char		*dir;
	char		 every[128];	/* inet spec of the every-step milter */
	char		 envelope[128];	/* inet spec of the envelope-only one */
	char		 unixspec[256];	/* unix spec of another every-step one */
	struct th_proc	*p_every;
	struct th_proc	*p_envelope;
	struct th_proc	*p_unix;
} env;

static const char *null_milter_path;
static const char *fd_mtest_path;

/* build_path - $top_builddir/rel, or rel */
static char *
build_path(const char *rel)
{
	const char *top = getenv("top_builddir");

	if (top != NULL && *top != '\0')
		return th_path(top, rel);
	return strdup(rel);
}

/* start_null - run null-milter on spec in the given mode */
static struct th_proc *
start_null(const char *name, const char *mode, const char *spec)
{
	char	 err[1024];
	char	*argv[] = { (char *)null_milter_path, "-p", (char *)spec, "-m",
		    (char *)mode, NULL };
	struct th_proc *p;

	p = th_proc_start(env.dir, name, argv, err, sizeof(err));
	ck_assert_msg(p != NULL, "start %s: %s", name, err);
	ck_assert_msg(th_proc_wait_ready(p, spec, TMO, err, sizeof(err)) == 0,
	    "%s", err);
	return p;
}

static void
setup_milters(void)
{
	env.dir = th_tmpdir_new();
	snprintf(env.every, sizeof(env.every), "inet:%d@127.0.0.1",
	    th_free_port());
	env.p_every = start_null("every", "every", env.every);
	snprintf(env.envelope, sizeof(env.envelope), "inet:%d@127.0.0.1",
	    th_free_port());
	env.p_envelope = start_null("envelope", "envelope", env.envelope);
	snprintf(env.unixspec, sizeof(env.unixspec), "unix:%s/nm.sock",
	    env.dir);
	env.p_unix = start_null("unix", "every", env.unixspec);
}

static void
teardown_milters(void)
{
	int	 st;

	/* each must still run (no crash) and stop on SIGTERM */
	ck_assert(th_proc_running(env.p_every));
	ck_assert(th_proc_running(env.p_envelope));
	ck_assert(th_proc_running(env.p_unix));
	st = th_proc_stop(env.p_every, TMO);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status 0x%x", st);
	env.p_every = th_proc_free(env.p_every);
	env.p_envelope = th_proc_free(env.p_envelope);
	env.p_unix = th_proc_free(env.p_unix);
	env.dir = th_tmpdir_free(env.dir);
}

/* open_neg - connect and negotiate with Postfix's offer */
static struct mc_conn *
open_neg(const char *spec)
{
	struct mc_conn *mc;
	char	 err[256];

	mc = mc_connect(spec, TMO, err, sizeof(err));
	ck_assert_msg(mc != NULL, "%s: %s", spec, err);
	ck_assert_msg(mc_negotiate(mc, 0, 0) == 0, "%s", mc_error(mc));
	ck_assert_uint_eq(mc_version(mc), 6);
	return mc;
}

#define ASSERT_ACT(expr, want) do {					\
	enum mc_action a_ = (expr);					\
	ck_assert_msg(a_ == (want), "%s: got %s, want %s (%s)", #expr,	\
	    mc_action_name(a_), mc_action_name(want), mc_error(mc));	\
} while (0)

/* one message with every step, content included */
static void
full_message(struct mc_conn *mc, const char *from, enum mc_action want)
{
	static char big[100000];
	size_t	 i;

	ASSERT_ACT(mc_mail(mc, from, "SIZE=100000 BODY=8BITMIME"), want);
	ASSERT_ACT(mc_rcpt(mc, "<b@example.net>", NULL), want);
	ASSERT_ACT(mc_rcpt(mc, "c@example.net", "NOTIFY=NEVER"), want);
	ASSERT_ACT(mc_data(mc), want);
	ASSERT_ACT(mc_header(mc, "From", " <a@example.org>"), want);
	ASSERT_ACT(mc_header(mc, "To", " <b@example.net>"), want);
	ASSERT_ACT(mc_header(mc, "Subject", " test"), want);
	ASSERT_ACT(mc_eoh(mc), want);
	for (i = 0; i < sizeof(big); i++)
		big[i] = (i % 78 == 76) ? '\r' : (i % 78 == 77) ? '\n' : 'x';
	/* 100000 bytes: one full 65535-byte chunk now, the rest at EOM */
	ASSERT_ACT(mc_body(mc, big, sizeof(big)), want);
	ck_assert_int_eq(mc_last(mc)->sent, 1);
	ASSERT_ACT(mc_body(mc, "bye\r\n", 5), MC_NOREPLY);
	ck_assert_int_eq(mc_last(mc)->sent, 0);
	ASSERT_ACT(mc_eom(mc), MC_CONTINUE);
	ck_assert_uint_eq(mc_last(mc)->nmods, 0);
	ck_assert_int_eq(mc_abort(mc), 0);	/* Postfix's mail_reset */
}

START_TEST(every_ipv4_two_messages)
{
	struct mc_conn *mc = open_neg(env.every);

	ck_assert_uint_eq(mc_proto(mc), 0);
	mc_macro(mc, "{client_resolve}", "OK");
	ASSERT_ACT(mc_connect_cmd(mc, "mail.example.org", "192.0.2.1", 4567),
	    MC_CONTINUE);
	ASSERT_ACT(mc_helo(mc, "mail.example.org"), MC_CONTINUE);
	full_message(mc, "<a@example.org>", MC_CONTINUE);
	ck_assert_uint_eq(mc_sent(mc, SMFIC_BODY), 2);
	ck_assert_uint_eq(mc_sent(mc, SMFIC_HEADER), 3);
	/* a second message on the same connection */
	full_message(mc, "<>", MC_CONTINUE);
	ck_assert_uint_eq(mc_sent(mc, SMFIC_MAIL), 2);
	ck_assert_uint_eq(mc_sent(mc, SMFIC_RCPT), 4);
	ck_assert_uint_eq(mc_sent(mc, SMFIC_BODYEOB), 2);
	ck_assert_uint_eq(mc_sent(mc, SMFIC_ABORT), 2);
	ck_assert_int_eq(mc_quit(mc), 0);
	ck_assert_uint_eq(mc_sent(mc, SMFIC_QUIT), 1);
	mc_free(mc);
}
END_TEST

START_TEST(every_ipv6_abort_without_mail)
{
	struct mc_conn *mc = open_neg(env.every);

	ASSERT_ACT(mc_connect_cmd(mc, "v6.example.org", "2001:db8::25", 50123),
	    MC_CONTINUE);
	ASSERT_ACT(mc_helo(mc, "[IPv6:2001:db8::25]"), MC_CONTINUE);
	ck_assert_int_eq(mc_abort(mc), 0);
	ck_assert_int_eq(mc_abort(mc), 0);
	ASSERT_ACT(mc_helo(mc, "again.example.org"), MC_CONTINUE);
	ck_assert_int_eq(mc_quit(mc), 0);
	mc_free(mc);

	/* the filter survived and serves the next client */
	mc = open_neg(env.every);
	ASSERT_ACT(mc_connect_cmd(mc, "unknown", "2001:db8::26", 25),
	    MC_CONTINUE);
	full_message(mc, "<x@example.org>", MC_CONTINUE);
	ck_assert_int_eq(mc_quit(mc), 0);
	mc_free(mc);
}
END_TEST

START_TEST(envelope_only_skips_content)
{
	struct mc_conn *mc = open_neg(env.envelope);
	uint32_t want = SMFIP_NOBODY | SMFIP_NOHDRS | SMFIP_NOEOH |
	    SMFIP_NODATA | SMFIP_NOUNKNOWN | SMFIP_NR_CONN | SMFIP_NR_HELO |
	    SMFIP_NR_MAIL | SMFIP_NR_RCPT;
	int	 m;

	ck_assert_uint_eq(mc_proto(mc), want);
	ASSERT_ACT(mc_connect_cmd(mc, "mail.example.org", "192.0.2.1", 25),
	    MC_NOREPLY);
	ASSERT_ACT(mc_helo(mc, "mail.example.org"), MC_NOREPLY);
	for (m = 1; m <= 2; m++) {
		ASSERT_ACT(mc_mail(mc, "<a@example.org>", NULL), MC_NOREPLY);
		ASSERT_ACT(mc_rcpt(mc, "<b@example.net>", NULL), MC_NOREPLY);
		ASSERT_ACT(mc_rcpt(mc, "<c@example.net>", NULL), MC_NOREPLY);
		ASSERT_ACT(mc_data(mc), MC_SKIPPED);
		ASSERT_ACT(mc_header(mc, "Subject", " x"), MC_SKIPPED);
		ASSERT_ACT(mc_eoh(mc), MC_SKIPPED);
		ASSERT_ACT(mc_body(mc, "x\r\n", 3), MC_SKIPPED);
		ASSERT_ACT(mc_unknown(mc, "XFOO"), MC_SKIPPED);
		ASSERT_ACT(mc_eom(mc), MC_CONTINUE);
		ck_assert_int_eq(mc_abort(mc), 0);
	}
	ck_assert_uint_eq(mc_sent(mc, SMFIC_DATA), 0);
	ck_assert_uint_eq(mc_sent(mc, SMFIC_HEADER), 0);
	ck_assert_uint_eq(mc_sent(mc, SMFIC_EOH), 0);
	ck_assert_uint_eq(mc_sent(mc, SMFIC_BODY), 0);
	ck_assert_uint_eq(mc_sent(mc, SMFIC_UNKNOWN), 0);
	ck_assert_uint_eq(mc_sent(mc, SMFIC_RCPT), 4);
	ck_assert_uint_eq(mc_sent(mc, SMFIC_BODYEOB), 2);
	/* macros go out before every step Postfix reaches, even skipped
	 * DATA and UNKNOWN, but not before headers and body it never
	 * reads: connect, helo, 2 x (mail, 2 rcpt, data, unknown, eom) */
	ck_assert_uint_eq(mc_sent(mc, SMFIC_MACRO), 2 + 2 * 6);
	ck_assert_int_eq(mc_quit(mc), 0);
	mc_free(mc);
}
END_TEST

START_TEST(unix_socket_and_family)
{
	struct mc_conn *mc = open_neg(env.unixspec);

	ASSERT_ACT(mc_connect_cmd(mc, "localhost", "/var/run/client.sock", 0),
	    MC_CONTINUE);
	full_message(mc, "<a@example.org>", MC_CONTINUE);
	ck_assert_int_eq(mc_quit(mc), 0);
	mc_free(mc);

	mc = open_neg(env.unixspec);
	ASSERT_ACT(mc_connect_cmd(mc, "unknown", NULL, 0), MC_CONTINUE);
	ck_assert_int_eq(mc_quit(mc), 0);
	mc_free(mc);
}
END_TEST

START_TEST(quit_nc_reuses_socket)
{
	struct mc_conn *mc = open_neg(env.every);

	ASSERT_ACT(mc_connect_cmd(mc, "a.example", "192.0.2.1", 25),
	    MC_CONTINUE);
	/* libmilter would ignore QUIT_NC here: the client refuses it */
	ck_assert_int_eq(mc_quit_nc(mc), -1);
	ck_assert_int_eq(mc_errcode(mc), MC_ESTATE);
	ASSERT_ACT(mc_mail(mc, "<a@example.org>", NULL), MC_CONTINUE);
	ASSERT_ACT(mc_rcpt(mc, "<b@example.net>", NULL), MC_CONTINUE);
	ASSERT_ACT(mc_eom(mc), MC_CONTINUE);
	ck_assert_int_eq(mc_quit_nc(mc), 0);
	ASSERT_ACT(mc_connect_cmd(mc, "b.example", "192.0.2.2", 25),
	    MC_CONTINUE);
	ASSERT_ACT(mc_helo(mc, "b.example"), MC_CONTINUE);
	ck_assert_uint_eq(mc_sent(mc, SMFIC_OPTNEG), 1);
	ck_assert_int_eq(mc_quit(mc), 0);
	mc_free(mc);
}
END_TEST

/* a wait function for the tests: records its calls, wakes early (nothing
 * ready) the first `early` times, then polls, or says the time is up */
struct tw {
	int		 calls;
	int		 early;
	int		 expire;	/* 1: answer "timed out" at once */
	short		 events;	/* every kind asked for */
	int		 max_ms;	/* the longest wait asked for */
};

static int
tw_wait(void *arg, int fd, short events, int timeout_ms)
{
	struct tw *w = arg;
	struct pollfd pfd = { .fd = fd, .events = events };
	int	 n;

	w->calls++;
	w->events |= events;
	if (timeout_ms > w->max_ms)
		w->max_ms = timeout_ms;
	if (w->early > 0) {
		w->early--;
		return 0;
	}
	if (w->expire)
		return 1;
	n = poll(&pfd, 1, timeout_ms);
	return n > 0 ? 0 : n == 0 ? 1 : -1;
}

START_TEST(wait_function_every_step)
{
	struct tw w = { .early = 5 };
	struct mc_conn *mc;
	char	 err[256];

	/* how many waits a conversation takes depends on timing; what it
	 * answers must not, early wake-ups included */
	mc = mc_connect_wait(env.every, TMO, tw_wait, &w, err, sizeof(err));
	ck_assert_msg(mc != NULL, "%s", err);
	ck_assert_int_eq(mc_negotiate(mc, 0, 0), 0);
	ASSERT_ACT(mc_connect_cmd(mc, "mail.example.org", "192.0.2.1", 4567),
	    MC_CONTINUE);
	ASSERT_ACT(mc_helo(mc, "mail.example.org"), MC_CONTINUE);
	full_message(mc, "<a@example.org>", MC_CONTINUE);
	ck_assert_int_eq(mc_quit(mc), 0);
	mc_free(mc);
	ck_assert_int_le(w.max_ms, TMO);
}
END_TEST

/* the filter's end of a socketpair, played from inside the wait
 * function: nothing is written before the client waits, so each wait
 * is certain */
struct tw_peer {
	struct tw	 w;
	int		 fd;
};

static int
tw_peer_wait(void *arg, int fd, short events, int timeout_ms)
{
	static const unsigned char optneg[] = { 0, 0, 0, 13, SMFIC_OPTNEG,
	    0, 0, 0, 6, 0, 0, 0, 0, 0, 0, 0, 0 };
	struct tw_peer *p = arg;
	unsigned char buf[512];

	(void)fd;
	(void)timeout_ms;
	p->w.calls++;
	p->w.events |= events;
	if (p->w.early > 0) {
		p->w.early--;
		return 0;
	}
	/* the client flushed its OPTNEG before waiting */
	if (read(p->fd, buf, sizeof(buf)) < 5 || buf[4] != SMFIC_OPTNEG ||
	    write(p->fd, optneg, sizeof(optneg)) != (ssize_t)sizeof(optneg))
		return -1;
	return 0;
}

START_TEST(wait_function_early_wakeups)
{
	struct tw_peer p = { .w = { .early = 5 } };
	struct mc_conn *mc;
	int	 sv[2];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	p.fd = sv[1];
	mc = mc_fdopen(sv[0], TMO);
	mc_set_wait(mc, tw_peer_wait, &p);
	ck_assert_int_eq(mc_negotiate(mc, 0, 0), 0);
	ck_assert_uint_eq(mc_version(mc), 6);
	/* five wake-ups with nothing to read, each followed by another
	 * wait, then the one that brought the answer; never poll(2) */
	ck_assert_int_eq(p.w.early, 0);
	ck_assert_int_eq(p.w.calls, 6);
	ck_assert(p.w.events == POLLIN);
	mc_free(mc);
	close(sv[1]);
}
END_TEST

START_TEST(connect_refused)
{
	char	 err[256], spec[64];
	int	 port = th_free_port();

	snprintf(spec, sizeof(spec), "inet:%d@127.0.0.1", port);
	ck_assert_ptr_null(mc_connect(spec, 2000, err, sizeof(err)));
	ck_assert_msg(strstr(err, "refused") != NULL, "%s", err);
	ck_assert_ptr_null(mc_connect("bogus:1", 2000, err, sizeof(err)));
	ck_assert_msg(strstr(err, "unknown socket spec") != NULL, "%s", err);
}
END_TEST

/*
 * The fake filter: a thread on one end of a socketpair plays a script,
 * one step per packet the client must send (compared byte for byte),
 * each followed by the packets it answers with.
 */
#define B(lit)	lit, sizeof(lit) - 1

struct fk_pkt {
	int		 cmd;
	const char	*data;
	size_t		 len;
};

struct fk_step {
	struct fk_pkt	 want;
	struct fk_pkt	 reply[6];	/* cmd 0 ends the list */
};

struct fk {
	int		 fd;
	const struct fk_step *steps;
	size_t		 nsteps;
	size_t		 done;		/* steps matched */
	int		 eof;		/* the client closed after the last */
	char		 why[512];	/* the first mismatch */
};

/* fk_read - exactly n bytes, or -1 */
static int
fk_read(int fd, void *buf, size_t n)
{
	size_t	 got = 0;
	ssize_t	 r;

	while (got < n) {
		r = read(fd, (char *)buf + got, n - got);
		if (r <= 0) {
			if (r < 0 && errno == EINTR)
				continue;
			return -1;
		}
		got += (size_t)r;
	}
	return 0;
}

/* fk_write_pkt - one reply packet */
static void
fk_write_pkt(int fd, const struct fk_pkt *p)
{
	unsigned char hdr[5];
	uint32_t len = (uint32_t)p->len + 1;

	hdr[0] = len >> 24;
	hdr[1] = len >> 16;
	hdr[2] = len >> 8;
	hdr[3] = len;
	hdr[4] = (unsigned char)p->cmd;
	(void)!write(fd, hdr, 5);
	if (p->len)
		(void)!write(fd, p->data, p->len);
}

/* fk_run - the fake filter's thread */
static void *
fk_run(void *arg)
{
	struct fk *f = arg;
	const struct fk_step *s;
	unsigned char hdr[4], *buf;
	uint32_t len;
	size_t	 i;

	for (f->done = 0; f->done < f->nsteps; f->done++) {
		s = &f->steps[f->done];
		if (fk_read(f->fd, hdr, 4) < 0) {
			snprintf(f->why, sizeof(f->why), "step %zu: EOF, want "
			    "'%c'", f->done, s->want.cmd);
			return NULL;
		}
		len = (uint32_t)hdr[0] << 24 | hdr[1] << 16 | hdr[2] << 8 |
		    hdr[3];
		buf = malloc(len);
		if (len == 0 || fk_read(f->fd, buf, len) < 0) {
			snprintf(f->why, sizeof(f->why), "step %zu: short", f->done);
			free(buf);
			return NULL;
		}
		if (buf[0] != s->want.cmd || len - 1 != s->want.len ||
		    memcmp(buf + 1, s->want.data, s->want.len) != 0) {
			/* NULs shown as '|' */
			for (i = 1; i < len; i++)
				if (buf[i] == '\0')
					buf[i] = '|';
			snprintf(f->why, sizeof(f->why), "step %zu: got '%c' "
			    "with %lu bytes \"%.*s\", want '%c' with %zu bytes",
			    f->done, buf[0], (unsigned long)len - 1,
			    (int)(len - 1), buf + 1, s->want.cmd, s->want.len);
			fprintf(stderr, "fake filter: %s\n", f->why);
			/* fail the client fast instead of letting it time out */
			shutdown(f->fd, SHUT_RDWR);
			free(buf);
			return NULL;
		}
		free(buf);
		for (i = 0; i < 6 && s->reply[i].cmd != 0; i++)
			fk_write_pkt(f->fd, &s->reply[i]);
	}
	f->eof = read(f->fd, hdr, 1) == 0;
	return NULL;
}

/* fk_start - the fake filter on a socketpair; returns the client */
static struct mc_conn *
fk_start(struct fk *f, pthread_t *t, const struct fk_step *steps, size_t n,
    int timeout_ms)
{
	int	 sv[2];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	memset(f, 0, sizeof(*f));
	f->fd = sv[1];
	f->steps = steps;
	f->nsteps = n;
	ck_assert_int_eq(pthread_create(t, NULL, fk_run, f), 0);
	return mc_fdopen(sv[0], timeout_ms);
}

/* fk_finish - the script must have run to its end */
static void
fk_finish(struct fk *f, pthread_t t, int want_eof)
{
	pthread_join(t, NULL);
	close(f->fd);
	ck_assert_msg(f->done == f->nsteps, "fake filter: %s", f->why);
	if (want_eof)
		ck_assert_msg(f->eof, "client did not close");
}

#define OPTNEG_OFFER	B("\0\0\0\6" "\0\0\1\xff" "\0\x1f\xff\xff")

static const struct fk_step script_full[] = {
	{ .want = { SMFIC_OPTNEG, OPTNEG_OFFER }, {
	    { SMFIC_OPTNEG, B("\0\0\0\6" "\0\0\0\1" "\0\0\0\0"
		"\0\0\0\0" "j {client_resolve}\0"
		"\0\0\0\2" "{auth_authen}\0") } } },
	{ .want = { SMFIC_MACRO, B("Cj\0mx.example\0{client_resolve}\0OK\0") } },
	{ .want = { SMFIC_CONNECT, B("client.example\0" "6" "\0\x19" "2001:db8::1\0") },
	    { { SMFIR_PROGRESS, B("") }, { SMFIR_CONTINUE, B("") } } },
	{ .want = { SMFIC_MACRO, B("H") } },
	{ .want = { SMFIC_HELO, B("client.example\0") },
	    { { SMFIR_CONTINUE, B("") } } },
	{ .want = { SMFIC_MACRO, B("M{auth_authen}\0alice\0") } },
	{ .want = { SMFIC_MAIL, B("<a@b>\0SIZE=10\0BODY=8BITMIME\0") },
	    { { SMFIR_REPLYCODE, B("451 4.7.1 Greylisted, try 100%% later\0") } } },
	{ .want = { SMFIC_MACRO, B("M{auth_authen}\0alice\0") } },
	{ .want = { SMFIC_MAIL, B("<>\0") },
	    { { SMFIR_CONTINUE, B("") } } },
	{ .want = { SMFIC_MACRO, B("Ri\0Q1\0{rcpt_addr}\0c@d\0") } },
	{ .want = { SMFIC_RCPT, B("<c@d>\0") },
	    { { SMFIR_REPLYCODE,
		B("550-5.7.1 first line\r\n550 5.7.1 second\0") } } },
	{ .want = { SMFIC_MACRO, B("Ri\0Q1\0{rcpt_addr}\0e@f\0") } },
	{ .want = { SMFIC_RCPT, B("<e@f>\0") },
	    { { SMFIR_TEMPFAIL, B("") } } },
	{ .want = { SMFIC_MACRO, B("Ti\0Q1\0") } },
	{ .want = { SMFIC_DATA, B("") }, { { SMFIR_CONTINUE, B("") } } },
	{ .want = { SMFIC_MACRO, B("Li\0Q1\0") } },
	{ .want = { SMFIC_HEADER, B("Subject\0hi there\0") },
	    { { SMFIR_CONTINUE, B("") } } },
	{ .want = { SMFIC_MACRO, B("Li\0Q1\0") } },
	{ .want = { SMFIC_HEADER, B("X-Tab\0\tx\0") }, { { SMFIR_CONTINUE, B("") } } },
	{ .want = { SMFIC_MACRO, B("Ni\0Q1\0") } },
	{ .want = { SMFIC_EOH, B("") }, { { SMFIR_CONTINUE, B("") } } },
	{ .want = { SMFIC_MACRO, B("Bi\0Q1\0") } },
	{ .want = { SMFIC_BODY, B("hello\r\n") }, { { SMFIR_CONTINUE, B("") } } },
	{ .want = { SMFIC_MACRO, B("Ei\0Q1\0") } },
	{ .want = { SMFIC_BODYEOB, B("") }, {
	    { SMFIR_ADDHEADER, B("X-A\0one\0") },
	    { SMFIR_INSHEADER, B("\0\0\0\0X-B\0two\0") },
	    { SMFIR_CHGHEADER, B("\0\0\0\1Subject\0\0") },
	    { SMFIR_QUARANTINE, B("held\0") },
	    { SMFIR_ACCEPT, B("") } } },
	{ .want = { SMFIC_ABORT, B("") } },
	{ .want = { SMFIC_QUIT, B("") } },
};

START_TEST(fake_bytes_and_replies)
{
	struct fk f;
	pthread_t t;
	struct mc_conn *mc;
	const struct mc_reply *r;

	mc = fk_start(&f, &t, script_full,
	    sizeof(script_full) / sizeof(script_full[0]), TMO);
	mc_macro(mc, "j", "mx.example");
	mc_macro(mc, "{client_resolve}", "OK");
	mc_macro(mc, "{auth_authen}", "alice");
	mc_auto_qid(mc, 0);
	ck_assert_int_eq(mc_negotiate(mc, 0, 0), 0);
	ck_assert_uint_eq(mc_actions(mc), 0x1);	/* SMFIF_ADDHDRS */
	ck_assert_str_eq(mc_symlist(mc, MC_ST_CONNECT), "j {client_resolve}");
	ck_assert_str_eq(mc_symlist(mc, MC_ST_MAIL), "{auth_authen}");
	ck_assert_ptr_null(mc_symlist(mc, MC_ST_RCPT));

	ASSERT_ACT(mc_connect_cmd(mc, "client.example", "2001:db8::1", 25),
	    MC_CONTINUE);
	ck_assert_uint_eq(mc_last(mc)->progress, 1);
	ASSERT_ACT(mc_helo(mc, "client.example"), MC_CONTINUE);

	ASSERT_ACT(mc_mail(mc, "a@b", "SIZE=10  BODY=8BITMIME"), MC_TEMPFAIL);
	r = mc_last(mc);
	ck_assert_int_eq(r->replycode, 1);
	ck_assert_str_eq(r->rcode, "451");
	ck_assert_str_eq(r->xcode, "4.7.1");
	ck_assert_str_eq(r->text, "Greylisted, try 100% later");
	ck_assert_str_eq(r->raw, "451 4.7.1 Greylisted, try 100%% later");

	mc_macro(mc, "i", "Q1");
	ASSERT_ACT(mc_mail(mc, "<>", NULL), MC_CONTINUE);
	ck_assert_str_eq(mc_macro_get(mc, "{mail_addr}"), "");
	ASSERT_ACT(mc_rcpt(mc, "<c@d>", NULL), MC_REJECT);
	r = mc_last(mc);
	ck_assert_str_eq(r->rcode, "550");
	ck_assert_str_eq(r->xcode, "5.7.1");
	ck_assert_str_eq(r->text, "first line\nsecond");
	ASSERT_ACT(mc_rcpt(mc, "<e@f>", NULL), MC_TEMPFAIL);
	ck_assert_int_eq(mc_last(mc)->replycode, 0);
	ck_assert_str_eq(mc_last(mc)->rcode, "");
	ASSERT_ACT(mc_data(mc), MC_CONTINUE);
	ASSERT_ACT(mc_header(mc, "Subject", " hi there"), MC_CONTINUE);
	ASSERT_ACT(mc_header(mc, "X-Tab", "\tx"), MC_CONTINUE);
	ASSERT_ACT(mc_eoh(mc), MC_CONTINUE);
	ASSERT_ACT(mc_body(mc, "hello\r\n", 7), MC_NOREPLY);
	ASSERT_ACT(mc_eom(mc), MC_ACCEPT);
	r = mc_last(mc);
	ck_assert_uint_eq(r->nmods, 4);
	ck_assert_int_eq(r->mods[0].type, SMFIR_ADDHEADER);
	ck_assert_str_eq(r->mods[0].name, "X-A");
	ck_assert_str_eq(r->mods[0].value, "one");
	ck_assert_int_eq(r->mods[1].type, SMFIR_INSHEADER);
	ck_assert_uint_eq(r->mods[1].index, 0);
	ck_assert_str_eq(r->mods[1].name, "X-B");
	ck_assert_str_eq(r->mods[1].value, "two");
	ck_assert_int_eq(r->mods[2].type, SMFIR_CHGHEADER);
	ck_assert_uint_eq(r->mods[2].index, 1);
	ck_assert_str_eq(r->mods[2].value, "");
	ck_assert_int_eq(r->mods[3].type, SMFIR_QUARANTINE);
	ck_assert_str_eq(r->mods[3].name, "held");
	ck_assert_int_eq(mc_abort(mc), 0);
	ck_assert_int_eq(mc_quit(mc), 0);
	fk_finish(&f, t, 1);
	mc_free(mc);
}
END_TEST

static const struct fk_step script_reject_connect[] = {
	{ .want = { SMFIC_OPTNEG, OPTNEG_OFFER },
	    { { SMFIC_OPTNEG, B("\0\0\0\6\0\0\0\0\0\0\0\0") } } },
	{ .want = { SMFIC_MACRO, B("Cj\0mx.mclient.test\0{daemon_name}\0mclient\0"
	    "{daemon_addr}\0" "127.0.0.1\0v\0Postfix 3.7 (mclient)\0") } },
	{ .want = { SMFIC_CONNECT, B("[192.0.2.9]\0" "4" "\0\0" "192.0.2.9\0") },
	    { { SMFIR_REPLYCODE, B("554 5.7.1 go away\0") } } },
};

START_TEST(fake_reject_at_connect_closes)
{
	struct fk f;
	pthread_t t;
	struct mc_conn *mc;
	const struct mc_reply *r;

	mc = fk_start(&f, &t, script_reject_connect,
	    sizeof(script_reject_connect) / sizeof(script_reject_connect[0]),
	    TMO);
	ck_assert_int_eq(mc_negotiate(mc, 0, 0), 0);
	ASSERT_ACT(mc_connect_cmd(mc, "unknown", "192.0.2.9", 0), MC_REJECT);
	/* like Postfix: the milter connection is closed at once, and every
	 * later step gets the same answer without being sent */
	fk_finish(&f, t, 1);
	ASSERT_ACT(mc_helo(mc, "x.example"), MC_REJECT);
	r = mc_last(mc);
	ck_assert_int_eq(r->sent, 0);
	ck_assert_str_eq(r->rcode, "554");
	ck_assert_str_eq(r->xcode, "5.7.1");
	ck_assert_str_eq(r->text, "go away");
	ASSERT_ACT(mc_mail(mc, "<a@b>", NULL), MC_REJECT);
	ck_assert_int_eq(mc_quit(mc), 0);
	ck_assert_uint_eq(mc_sent(mc, SMFIC_QUIT), 0);
	mc_free(mc);
}
END_TEST

static const struct fk_step script_malformed[] = {
	{ .want = { SMFIC_OPTNEG, OPTNEG_OFFER },
	    { { SMFIC_OPTNEG, B("\0\0\0\6\0\0\0\0\0\0\0\0") } } },
	{ .want = { SMFIC_MACRO, B("Cj\0mx.mclient.test\0{daemon_name}\0mclient\0"
	    "{daemon_addr}\0" "127.0.0.1\0v\0Postfix 3.7 (mclient)\0") } },
	{ .want = { SMFIC_CONNECT, B("c\0" "4" "\0\x19" "192.0.2.9\0") },
	    { { SMFIR_REPLYCODE, B("451 no enhanced code\0") } } },
};

START_TEST(fake_malformed_reply)
{
	struct fk f;
	pthread_t t;
	struct mc_conn *mc;

	mc = fk_start(&f, &t, script_malformed,
	    sizeof(script_malformed) / sizeof(script_malformed[0]), TMO);
	ck_assert_int_eq(mc_negotiate(mc, 0, 0), 0);
	ck_assert_int_eq(mc_connect_cmd(mc, "c", "192.0.2.9", 25), MC_ERROR);
	ck_assert_int_eq(mc_errcode(mc), MC_EPROTO);
	ck_assert_msg(strstr(mc_error(mc), "malformed reply") != NULL, "%s",
	    mc_error(mc));
	/* after an error the connection only reports errors */
	ck_assert_int_eq(mc_helo(mc, "x"), MC_ERROR);
	mc_free(mc);
	fk_finish(&f, t, 1);
}
END_TEST

static const struct fk_step script_silent[] = {
	{ .want = { SMFIC_OPTNEG, OPTNEG_OFFER } },
};

START_TEST(fake_timeout)
{
	struct fk f;
	pthread_t t;
	struct mc_conn *mc;

	mc = fk_start(&f, &t, script_silent, 1, 200);
	ck_assert_int_eq(mc_negotiate(mc, 0, 0), -1);
	ck_assert_int_eq(mc_errcode(mc), MC_ETIMEDOUT);
	mc_free(mc);
	fk_finish(&f, t, 1);
}
END_TEST

START_TEST(wait_function_timeout)
{
	struct tw w = { .expire = 1 };
	struct fk f;
	pthread_t t;
	struct mc_conn *mc;

	/* the filter never answers; the wait function's "timed out" is
	 * taken at once, the connection's own 10 s are not waited out */
	mc = fk_start(&f, &t, script_silent, 1, TMO);
	mc_set_wait(mc, tw_wait, &w);
	ck_assert_int_eq(mc_negotiate(mc, 0, 0), -1);
	ck_assert_int_eq(mc_errcode(mc), MC_ETIMEDOUT);
	ck_assert_int_eq(w.calls, 1);
	ck_assert(w.events == POLLIN);
	mc_free(mc);
	fk_finish(&f, t, 1);
}
END_TEST

/* run_mtest - fd-mtest SPEC SCRIPT; its exit status, output in out */
static int
run_mtest(const char *spec, const char *script, char **out)
{
	char	*sfile, *ofile, *cmd;
	int	 st;

	sfile = th_path(env.dir, "script.txt");
	ofile = th_path(env.dir, "out.txt");
	ck_assert_int_eq(th_write_file(sfile, "%s", script), 0);
	ck_assert_int_ne(asprintf(&cmd, "'%s' -t %d '%s' '%s' > '%s' 2>&1",
	    fd_mtest_path, TMO, spec, sfile, ofile), -1);
	st = system(cmd);
	*out = th_read_file(ofile, NULL);
	free(cmd);
	free(sfile);
	free(ofile);
	ck_assert(WIFEXITED(st));
	return WEXITSTATUS(st);
}

START_TEST(fd_mtest_script)
{
	char	*out;
	int	 rc;

	rc = run_mtest(env.every,
	    "# a conversation\n"
	    "macro {client_resolve} OK\n"
	    "connect mail.example.org 192.0.2.1 4567\n"
	    "expect continue\n"
	    "helo mail.example.org\n"
	    "mail <a@example.org> SIZE=100\n"
	    "rcpt <b@example.net>\n"
	    "expect continue\n"
	    "data\n"
	    "header Subject: hello\n"
	    "eoh\n"
	    "body line one\n"
	    "eom\n"
	    "expect continue\n"
	    "abort\n"
	    "quit\n"
	    "connect v6.example.org 2001:db8::1 25\n"
	    "expect continue\n"
	    "quit\n", &out);
	ck_assert_msg(rc == 0, "exit %d:\n%s", rc, out);
	ck_assert_msg(strstr(out, "rcpt <b@example.net> -> continue\n") != NULL,
	    "%s", out);
	ck_assert_msg(strstr(out, "body line one -> noreply\n") != NULL, "%s",
	    out);
	ck_assert_msg(strstr(out, "connect v6.example.org 2001:db8::1 25 -> "
	    "continue\n") != NULL, "%s", out);
	free(out);

	rc = run_mtest(env.envelope,
	    "connect c.example 192.0.2.1\n"
	    "expect noreply\n"
	    "mail <a@b>\n"
	    "rcpt <c@d>\n"
	    "data\n"
	    "expect skipped\n"
	    "eom\n"
	    "expect tempfail 451 4.7.1 \"not what happens\"\n", &out);
	ck_assert_msg(rc == 1, "exit %d:\n%s", rc, out);
	ck_assert_msg(strstr(out, "protocol 0xf370 NOBODY") != NULL, "%s", out);
	ck_assert_msg(strstr(out, "expect failed: action tempfail, got "
	    "continue") != NULL, "%s", out);
	free(out);
}
END_TEST

/* the harness itself, on a shell script standing in for a daemon */
START_TEST(harness_proc_log_clock)
{
	struct th_proc *p;
	char	*dir, *clock, *s, err[512];
	char	*argv[] = { "/bin/sh", "-c",
		    "trap 'echo reload' USR1; echo hello; echo hello >&2; "
		    "while :; do sleep 0.05; done", NULL };
	size_t	 mark;
	int	 st;

	dir = th_tmpdir_new();
	p = th_proc_start(dir, "sh", argv, err, sizeof(err));
	ck_assert_msg(p != NULL, "%s", err);
	ck_assert_int_eq(th_log_wait(p, 0, "hello", TMO), 0);
	ck_assert_int_eq(th_log_wait(p, 0, "hello\nhello", TMO), 0);
	ck_assert_uint_eq(th_log_count(p, "hello"), 2);
	ck_assert(!th_log_has(p, "reload"));
	mark = th_log_size(p);
	ck_assert_uint_gt(mark, 0);
	ck_assert_int_eq(th_proc_signal(p, SIGUSR1), 0);
	ck_assert_int_eq(th_log_wait(p, mark, "reload", TMO), 0);
	ck_assert(!th_log_has_since(p, th_log_size(p), "reload"));
	s = th_log_tail(p, 1);
	ck_assert_str_eq(s, "reload\n");
	free(s);
	ck_assert(th_proc_running(p));
	st = th_proc_stop(p, TMO);
	ck_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM);
	ck_assert(!th_proc_running(p));
	p = th_proc_free(p);

	/* a program that is not there */
	ck_assert_ptr_null(th_program(NULL, "/nonexistent/filterd"));
	argv[0] = "/nonexistent/filterd";
	ck_assert_ptr_null(th_proc_start(dir, "x", argv, err, sizeof(err)));
	ck_assert_msg(strstr(err, "not executable") != NULL, "%s", err);

	/* the clock file holds decimal unix time, replaced whole */
	clock = th_path(dir, "clock");
	ck_assert_int_eq(th_clock_write(clock, 1700000000), 0);
	s = th_read_file(clock, NULL);
	ck_assert_str_eq(s, "1700000000\n");
	free(s);
	ck_assert_int_eq(th_clock_write(clock, 1700000360), 0);
	s = th_read_file(clock, NULL);
	ck_assert_str_eq(s, "1700000360\n");
	free(s);
	free(clock);

	ck_assert_int_gt(th_free_port(), 0);
	s = strdup(dir);
	dir = th_tmpdir_free(dir);
	ck_assert_ptr_null(dir);
	ck_assert_int_ne(access(s, F_OK), 0);
	free(s);
}
END_TEST

static Suite *
mclient_suite(void)
{
	Suite	*s = suite_create("mclient");
	TCase	*tc;

	tc = tcase_create("null-milter");
	tcase_add_checked_fixture(tc, setup_milters, teardown_milters);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, every_ipv4_two_messages);
	tcase_add_test(tc, every_ipv6_abort_without_mail);
	tcase_add_test(tc, envelope_only_skips_content);
	tcase_add_test(tc, unix_socket_and_family);
	tcase_add_test(tc, quit_nc_reuses_socket);
	tcase_add_test(tc, fd_mtest_script);
	tcase_add_test(tc, wait_function_every_step);
	suite_add_tcase(s, tc);

	tc = tcase_create("fake-filter");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, connect_refused);
	tcase_add_test(tc, fake_bytes_and_replies);
	tcase_add_test(tc, fake_reject_at_connect_closes);
	tcase_add_test(tc, fake_malformed_reply);
	tcase_add_test(tc, fake_timeout);
	tcase_add_test(tc, wait_function_timeout);
	tcase_add_test(tc, wait_function_early_wakeups);
	suite_add_tcase(s, tc);

	tc = tcase_create("harness");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, harness_proc_log_clock);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr;
	char	*nm, *mt;
	int	 failed;

	signal(SIGPIPE, SIG_IGN);
	nm = build_path("contrib/bench/null-milter");
	mt = build_path("tests/mclient/fd-mtest");
	null_milter_path = th_require(NULL, nm);
	fd_mtest_path = th_require(NULL, mt);
	sr = srunner_create(mclient_suite());
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	free(nm);
	free(mt);
	return failed == 0 ? 0 : 1;
}
