/*
 * fuzz_session.c -- libFuzzer target: a whole SMTP session through the
 * core, the shipped rules and the three plugins, on the embedded store
 *
 * The input is fields separated by NUL bytes, the way libmilter hands
 * them over (no field can hold a NUL):
 *
 *   flags  addr  name  helo  sender  rcpt1  rcpt2  auth  hname  hvalue  body
 *
 * flags bit 0 picks one of two configurations (deciding at RCPT with
 * delay-reject rcpt, or at end of message), bits 1-5 move the clock on,
 * bit 6 gives a fixed address when addr does not parse, bit 7 makes the
 * client name verified. The body is the rest of the input, NULs and all.
 * Each session has two messages, the second with sender and recipient
 * swapped, so greylist and ratelimit see keys they stored before, and
 * message stages with no message open before, between and after them
 * (libmilter passes such commands on after UNKNOWN, or after an answer
 * that ended the message).
 *
 * Besides the sanitizers' findings, it aborts when a log line holds a
 * control byte (untrusted text must be escaped) or a refusal has a reply
 * code that is not 4xx/5xx, an enhanced code of another class, or a text
 * with CR or LF.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "dispatch.h"
#include "fuzz.h"
#include "gen.h"
#include "log.h"
#include "store.h"
#include "txn.h"
#include "xalloc.h"

#define NFIELDS	10		/* before the body */

static struct fd_daemon	*daemons[2];

static const char *const confs[2] = {
	"delay-reject rcpt\n"
	"plugin helo { }\n"
	"plugin greylist {\n\tdelay 5m\n\tauto-whitelist 3 35d\n}\n"
	"plugin ratelimit {\n\tlimit client-ip 30/1m burst 30\n"
	"\tlimit auth-user 500/1h recipients name users\n"
	"\tlimit sender 5/1m\n\tdecide-messages-at rcpt\n}\n",

	"delay-reject eom\n"
	"plugin helo { }\n"
	"plugin greylist {\n\tdelay 1m\n\tdecide-at eom\n}\n"
	"plugin ratelimit {\n\tlimit client-ip 3/1m\n"
	"\tdecide-messages-at eom\n}\n",
};

/* rules beside the shipped ones, so that every kind of field is matched */
static const char rules[] =
    "rule subject on header if header \"Subject\" ~ /(a+)+b$/ "
    "reject 554 5.7.1 \"no\"\n"
    "rule sender on mail if sender-domain in "
    "{ example.com, .example.net } tempfail\n"
    "rule rcpt on rcpt if rcpt-domain == \"x.example\" "
    "add-header \"X-Fuzz\" \"v\"\n"
    "rule size on mail if size > 10M reject\n"
    "rule macro on helo if {client_addr} ~ /^10\\./ log \"ten\"\n";

/* log_check - no raw control byte in any line */
static void
log_check(int level, const char *line, void *arg)
{
	const unsigned char	*p;

	(void)level;
	(void)arg;
	for (p = (const unsigned char *)line; *p != '\0'; p++)
		if (*p < 0x20 || *p == 0x7f) {
			fprintf(stderr, "unescaped byte in log line: %s\n",
			    line);
			abort();
		}
}

/* daemon_make - a daemon on its own store for configuration i */
static struct fd_daemon *
daemon_make(int i)
{
	struct fd_errs		 errs = { 0 };
	struct fd_daemon	*d;
	char			*conf, *store, *text, name[16];
	size_t			 k;

	snprintf(name, sizeof(name), "store%d", i);
	conf = fz_scratch_path(i == 0 ? "rcpt.conf" : "eom.conf");
	store = fz_scratch_path(name);
	text = fd_asprintf("log stderr\nlog-level debug\n"
	    "store lmdb \"%s\" { map-size 64M }\nplugin-dir \"%s\"\n%s"
	    "include \"%s/rules/default.rules\"\n%s",
	    store, FD_BUILDDIR "/plugins/.libs", confs[i], FD_SRCDIR, rules);
	fz_write_file(conf, text, strlen(text));
	free(text);
	free(store);
	d = fd_daemon_new(conf);
	free(conf);
	if (fd_daemon_load(d, &errs) < 0 ||
	    (d->store = fd_store_new(d->current->conf, &d->clock,
	    &errs)) == NULL) {
		for (k = 0; k < errs.n; k++)
			fprintf(stderr, "%s\n", errs.msg[k]);
		abort();
	}
	fd_clock_set(&d->clock, 1700000000);
	return d;
}

int	 LLVMFuzzerInitialize(int *, char ***);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	daemons[0] = daemon_make(0);
	daemons[1] = daemon_make(1);
	fd_log_set_level(FD_LOG_DEBUG);
	fd_log_capture(log_check, NULL);
	return 0;
}

/* stage - dispatch one stage and check the reply of a refusal */
static enum fd_action
stage(struct fd_txn *t, uint32_t st, const unsigned char *chunk, size_t len)
{
	enum fd_action	 a = fd_dispatch(t, st, chunk, len);

	if (a != FD_REJECT && a != FD_TEMPFAIL)
		return a;
	if ((t->rcode[0] != '4' && t->rcode[0] != '5') ||
	    strlen(t->rcode) != 3 ||
	    (t->xcode[0] != '\0' && t->xcode[0] != t->rcode[0]) ||
	    (t->text != NULL && strpbrk(t->text, "\r\n") != NULL)) {
		fprintf(stderr, "bad reply at %s: %s %s\n",
		    fd_stage_name(st), t->rcode, t->xcode);
		abort();
	}
	return a;
}

/* rcpt - one recipient, kept if it passed */
static void
rcpt(struct fd_txn *t, const char *addr)
{
	fd_txn_rcpt_begin(t, addr);
	if (stage(t, FD_ST_RCPT, NULL, 0) == FD_CONTINUE)
		fd_txn_rcpt_accept(t);
}

/* outside - message stages with no message open: nothing decides */
static void
outside(struct fd_txn *t)
{
	static const uint32_t sts[] = { FD_ST_RCPT, FD_ST_DATA, FD_ST_HEADER,
	    FD_ST_EOH, FD_ST_BODY, FD_ST_EOM };
	size_t	 i;

	for (i = 0; i < sizeof(sts) / sizeof(sts[0]); i++)
		if (stage(t, sts[i], NULL, 0) != FD_CONTINUE) {
			fprintf(stderr, "decided %s with no message\n",
			    fd_stage_name(sts[i]));
			abort();
		}
}

/* message - MAIL to end of message; body may be NULL */
static void
message(struct fd_txn *t, char **f, const unsigned char *body, size_t len)
{
	if (f[7][0] != '\0')
		fd_txn_set_macro(t, "{auth_authen}", f[7]);
	fd_txn_msg_begin(t, f[4]);
	stage(t, FD_ST_MAIL, NULL, 0);
	fd_txn_set_queue_id(t, "4Q1F2Z3");
	rcpt(t, f[5]);
	rcpt(t, f[6]);
	stage(t, FD_ST_DATA, NULL, 0);
	t->msg.nheaders++;
	t->msg.hdr_name = f[8];
	t->msg.hdr_value = f[9];
	stage(t, FD_ST_HEADER, NULL, 0);
	t->msg.hdr_name = t->msg.hdr_value = NULL;
	stage(t, FD_ST_EOH, NULL, 0);
	if (body != NULL) {
		t->msg.body_size += len;
		stage(t, FD_ST_BODY, body, len);
	}
	stage(t, FD_ST_EOM, NULL, 0);
	fd_txn_msg_end(t);
	outside(t);
}

/* session - connect, HELO and two messages */
static void
session(struct fd_daemon *d, unsigned flags, char **f,
    const unsigned char *body, size_t len)
{
	struct fd_txn	*t;
	char		*swap;

	fd_clock_advance(&d->clock, (int64_t)((flags >> 1) & 0x1f) * 37);
	t = fd_txn_new(fd_daemon_acquire(d), fd_daemon_next_id(d));
	if (fd_txn_set_addr_str(t, f[1]) < 0 && (flags & 0x40))
		fd_txn_set_addr_str(t, "192.0.2.1");
	fd_txn_set_client_name(t, f[2]);
	fd_txn_set_macro(t, "{client_resolve}", (flags & 0x80) ? "OK" : "FAIL");
	fd_txn_set_macro(t, "{client_addr}", f[1]);
	stage(t, FD_ST_CONNECT, NULL, 0);
	fd_txn_set_helo(t, f[3]);
	stage(t, FD_ST_HELO, NULL, 0);
	outside(t);
	message(t, f, body, len);
	swap = f[4];
	f[4] = f[5];
	f[5] = swap;
	message(t, f, NULL, 0);
	fd_txn_free(t);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char		*buf = malloc(size + 1), *f[NFIELDS];
	const uint8_t	*body = NULL;
	size_t		 nf = 0, off = 0, len = 0;

	memcpy(buf, data, size);
	buf[size] = '\0';
	while (nf < NFIELDS && off <= size) {
		f[nf++] = buf + off;
		off += strlen(buf + off) + 1;
	}
	if (off <= size) {
		body = data + off;
		len = size - off;
	}
	while (nf < NFIELDS)
		f[nf++] = buf + size;
	session(daemons[(unsigned char)f[0][0] & 1], (unsigned char)f[0][0],
	    f, body, len);
	free(buf);
	return 0;
}
