/*
 * mclient.c -- the MTA side of the milter protocol, after Postfix's milter8
 *
 * Wire format: each packet is a 4-byte big-endian length (the command byte
 * plus its data), the command byte, then the data; strings end in NUL,
 * numbers are 32-bit (16-bit for the client port) in network order.
 *
 * Output is gathered in one buffer and written just before the client
 * waits for a reply, at QUIT, or once 64 kB are waiting. That is how
 * Postfix's double-buffered stream behaves: a macro packet and its command
 * leave in one write, and commands that get no reply (SMFIP_NR_*, ABORT)
 * ride along with the next one that does. Input is read in blocks and cut
 * into packets, so a burst of replies at end of message costs few reads.
 *
 * This is test and benchmark tooling: running out of memory aborts.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libmilter/mfdef.h>

#include "mclient.h"

#define MC_MAX_PACKET	(16u * 1024 * 1024)	/* refuse larger replies */
#define MC_OUT_HIGH	(64u * 1024)		/* write once this much waits */
#define MC_READ_BLOCK	8192

enum mc_state {
	MCS_NEW,		/* socket open, not negotiated */
	MCS_READY,		/* negotiated; CONNECT comes next */
	MCS_ENVELOPE,		/* events go out */
	MCS_ACCEPT_MSG,		/* message accepted or discarded: skip its steps */
	MCS_ACCEPT_CON,		/* connection accepted at CONNECT/HELO: closed */
	MCS_REJECT_CON,		/* connection refused at CONNECT/HELO: closed */
	MCS_CLOSED,		/* after QUIT */
	MCS_ERROR		/* I/O or protocol error */
};

struct mc_buf {
	unsigned char	*data;
	size_t		 len;
	size_t		 cap;
};

struct mc_kv {
	char		*name;
	char		*value;
	struct mc_kv	*next;
};

/* the reply that closed the connection, repeated for later events */
struct mc_saved {
	enum mc_action	 action;
	int		 replycode;
	char		 rcode[4];
	char		 xcode[16];
	char		*text;
	char		*raw;
};

struct mc_conn {
	int		 fd;
	int		 timeout_ms;
	mc_wait_fn	*waitfn;	/* NULL: poll(2) */
	void		*waitarg;
	enum mc_state	 state;
	uint32_t	 version;
	uint32_t	 actions;
	uint32_t	 proto;
	char		*lists[MC_ST_N];	/* caller's name lists */
	char		*symlist[MC_ST_N];	/* the filter's name lists */
	struct mc_kv	*macros;
	int		 auto_qid;
	unsigned	 qid_base;
	unsigned	 qid_seq;

	struct mc_buf	 out;		/* packets not yet written */
	struct mc_buf	 in;		/* bytes read; parsed up to ipos */
	size_t		 ipos;
	struct mc_buf	 body;		/* body bytes not yet sent */
	int		 last_cmd;	/* the last command queued, not MACRO */
	int		 skip_cmd;	/* after SMFIR_SKIP: skip this command */
	int		 msg_done;	/* DATA or content got a final reply */
	int		 msg_stage;	/* 0 no message, 1 after MAIL, 2 RCPT */

	struct mc_reply	 reply;
	struct mc_buf	 text;
	struct mc_buf	 raw;
	struct mc_mod	*mods;
	size_t		 nmods;
	size_t		 modcap;
	struct mc_saved	 saved;

	unsigned long	 nsent[256];
	enum mc_err	 errcode;
	char		 err[256];
};

/* Postfix's default macro name lists (milter_*_macros), plus the two
 * connect macros filterd reads that Sendmail sends */
static const char *const mc_default_lists[MC_ST_N] = {
	"j {daemon_name} {daemon_addr} {if_addr} {client_resolve} v _",
	"{tls_version} {cipher} {cipher_bits} {cert_subject} {cert_issuer}",
	("i {auth_type} {auth_authen} {auth_author} {mail_addr} {mail_host} "
	    "{mail_mailer}"),
	"i {rcpt_addr} {rcpt_host} {rcpt_mailer}",
	"i",
	"i",
	"i",
	""
};

static const char *const mc_action_names[] = {
	"noreply", "skipped", "continue", "accept", "reject", "tempfail",
	"discard", "skip", "shutdown", "connfail"
};

/* mc_oom - the one way out of memory trouble in a test tool */
static void
mc_oom(void)
{
	fputs("mclient: out of memory\n", stderr);
	abort();
}

/* mc_alloc - zeroed memory or abort */
static void *
mc_alloc(size_t n)
{
	void	*p;

	if ((p = calloc(1, n ? n : 1)) == NULL)
		mc_oom();
	return p;
}

/* mc_strndup - copy of n bytes, NUL added */
static char *
mc_strndup(const char *s, size_t n)
{
	char	*p;

	p = mc_alloc(n + 1);
	memcpy(p, s, n);
	return p;
}

/* mc_strdup - copy of a string */
static char *
mc_strdup(const char *s)
{
	return mc_strndup(s, strlen(s));
}

/* mc_buf_reserve - room for n more bytes */
static void
mc_buf_reserve(struct mc_buf *b, size_t n)
{
	size_t	 cap;
	void	*p;

	if (b->cap - b->len >= n)
		return;
	cap = b->cap ? b->cap : 256;
	while (cap - b->len < n) {
		if (cap > SIZE_MAX / 2)
			mc_oom();
		cap *= 2;
	}
	if ((p = realloc(b->data, cap)) == NULL)
		mc_oom();
	b->data = p;
	b->cap = cap;
}

/* mc_buf_add - append n bytes */
static void
mc_buf_add(struct mc_buf *b, const void *p, size_t n)
{
	mc_buf_reserve(b, n);
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
}

/* mc_buf_cstr - the buffer as a C string (NUL kept outside len) */
static const char *
mc_buf_cstr(struct mc_buf *b)
{
	mc_buf_reserve(b, 1);
	b->data[b->len] = '\0';
	return (const char *)b->data;
}

/* mc_now - monotonic milliseconds, for deadlines */
static int64_t
mc_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* mc_be32 - read a network-order 32-bit number */
static uint32_t
mc_be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

/* mc_put32 - write a network-order 32-bit number */
static void
mc_put32(unsigned char *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

/* mc_seterr - record an error message */
static void __attribute__((format(printf, 3, 0)))
mc_seterr(struct mc_conn *mc, enum mc_err code, const char *fmt, va_list ap)
{
	mc->errcode = code;
	vsnprintf(mc->err, sizeof(mc->err), fmt, ap);
}

/* mc_fail - a fatal error: the connection is unusable from now on */
static int __attribute__((format(printf, 3, 4)))
mc_fail(struct mc_conn *mc, enum mc_err code, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	mc_seterr(mc, code, fmt, ap);
	va_end(ap);
	mc->state = MCS_ERROR;
	mc->reply.action = MC_ERROR;
	return -1;
}

/* mc_misuse - the caller asked for something out of order; no harm done */
static int __attribute__((format(printf, 2, 3)))
mc_misuse(struct mc_conn *mc, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	mc_seterr(mc, MC_ESTATE, fmt, ap);
	va_end(ap);
	mc->reply.action = MC_ERROR;
	return -1;
}

/* mc_close_fd - drop the socket (Postfix closes after a connection-level
 * decision because libmilter would close it anyway) */
static void
mc_close_fd(struct mc_conn *mc)
{
	if (mc->fd >= 0)
		close(mc->fd);
	mc->fd = -1;
	mc->out.len = 0;
	mc->in.len = mc->ipos = 0;
}

/* mc_wait_fd - wait with fn, or poll(2) without one: 0 ready, 1 timed
 * out, -1 error (errno) */
static int
mc_wait_fd(mc_wait_fn *fn, void *arg, int fd, short events, int timeout_ms)
{
	struct pollfd pfd;
	int	 n;

	if (fn != NULL)
		return fn(arg, fd, events, timeout_ms);
	pfd.fd = fd;
	pfd.events = events;
	pfd.revents = 0;
	n = poll(&pfd, 1, timeout_ms);
	return n > 0 ? 0 : n == 0 ? 1 : -1;
}

/* mc_wait - wait for events until deadline; a wake-up with nothing ready
 * is harmless, the caller tries again and comes back */
static int
mc_wait(struct mc_conn *mc, short events, int64_t deadline)
{
	int64_t	 left;

	for (;;) {
		left = deadline - mc_now();
		if (left <= 0)
			return mc_fail(mc, MC_ETIMEDOUT, "timed out after %d ms",
			    mc->timeout_ms);
		switch (mc_wait_fd(mc->waitfn, mc->waitarg, mc->fd, events,
		    left > INT_MAX ? INT_MAX : (int)left)) {
		case 0:
			return 0;
		case 1:
			return mc_fail(mc, MC_ETIMEDOUT, "timed out after %d "
			    "ms", mc->timeout_ms);
		default:
			if (errno != EINTR)
				return mc_fail(mc, MC_EIO, "wait: %s",
				    strerror(errno));
			break;
		}
	}
}

/* mc_flush - write out everything buffered */
int
mc_flush(struct mc_conn *mc)
{
	size_t	 off = 0;
	ssize_t	 n;
	int64_t	 deadline;

	if (mc->state == MCS_ERROR)
		return -1;
	if (mc->out.len == 0 || mc->fd < 0) {
		mc->out.len = 0;
		return 0;
	}
	deadline = mc_now() + mc->timeout_ms;
	while (off < mc->out.len) {
		n = send(mc->fd, mc->out.data + off, mc->out.len - off,
		    MSG_NOSIGNAL);
		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (mc_wait(mc, POLLOUT, deadline) < 0)
				return -1;
			continue;
		}
		return mc_fail(mc, MC_EIO, "write: %s",
		    n < 0 ? strerror(errno) : "nothing written");
	}
	mc->out.len = 0;
	return 0;
}

/* mc_fill - have at least need unparsed input bytes */
static int
mc_fill(struct mc_conn *mc, size_t need, int64_t deadline)
{
	ssize_t	 n;
	size_t	 have;

	while ((have = mc->in.len - mc->ipos) < need) {
		if (mc->ipos > 0) {
			memmove(mc->in.data, mc->in.data + mc->ipos, have);
			mc->in.len = have;
			mc->ipos = 0;
		}
		mc_buf_reserve(&mc->in, need > MC_READ_BLOCK ? need :
		    MC_READ_BLOCK);
		n = recv(mc->fd, mc->in.data + mc->in.len,
		    mc->in.cap - mc->in.len, 0);
		if (n > 0) {
			mc->in.len += (size_t)n;
			continue;
		}
		if (n == 0)
			return mc_fail(mc, MC_EIO,
			    "connection closed by the filter");
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			if (mc_wait(mc, POLLIN, deadline) < 0)
				return -1;
			continue;
		}
		return mc_fail(mc, MC_EIO, "read: %s", strerror(errno));
	}
	return 0;
}

/*
 * mc_read_packet - flush, then read one packet; *data stays valid until
 * the next read
 */
static int
mc_read_packet(struct mc_conn *mc, int *cmd, const unsigned char **data,
    size_t *len)
{
	int64_t	 deadline;
	uint32_t plen;

	if (mc->fd < 0)
		return mc_fail(mc, MC_EIO, "connection is closed");
	if (mc_flush(mc) < 0)
		return -1;
	deadline = mc_now() + mc->timeout_ms;
	if (mc_fill(mc, 4, deadline) < 0)
		return -1;
	plen = mc_be32(mc->in.data + mc->ipos);
	if (plen < 1 || plen > MC_MAX_PACKET)
		return mc_fail(mc, MC_EPROTO, "bad packet length %lu",
		    (unsigned long)plen);
	if (mc_fill(mc, 4 + (size_t)plen, deadline) < 0)
		return -1;
	*cmd = mc->in.data[mc->ipos + 4];
	*data = mc->in.data + mc->ipos + 5;
	*len = plen - 1;
	mc->ipos += 4 + (size_t)plen;
	return 0;
}

/* mc_pkt_begin - start a packet in the output buffer; returns its offset */
static size_t
mc_pkt_begin(struct mc_conn *mc, int cmd)
{
	unsigned char hdr[5] = { 0, 0, 0, 0, (unsigned char)cmd };
	size_t	 at = mc->out.len;

	mc_buf_add(&mc->out, hdr, sizeof(hdr));
	return at;
}

/* mc_pkt_str - append a string and its NUL */
static void
mc_pkt_str(struct mc_conn *mc, const char *s)
{
	mc_buf_add(&mc->out, s, strlen(s) + 1);
}

/* mc_pkt_end - fill in the length of the packet begun at at */
static void
mc_pkt_end(struct mc_conn *mc, size_t at)
{
	mc_put32(mc->out.data + at, (uint32_t)(mc->out.len - at - 4));
	mc->nsent[mc->out.data[at + 4]]++;
	if (mc->out.data[at + 4] != SMFIC_MACRO)
		mc->last_cmd = mc->out.data[at + 4];
}

/* mc_name_eq - macro names match with or without braces: j == {j} */
static int
mc_name_eq(const char *a, size_t alen, const char *b, size_t blen)
{
	if (alen >= 2 && a[0] == '{' && a[alen - 1] == '}') {
		a++;
		alen -= 2;
	}
	if (blen >= 2 && b[0] == '{' && b[blen - 1] == '}') {
		b++;
		blen -= 2;
	}
	return alen == blen && memcmp(a, b, alen) == 0;
}

/* mc_macro_find - the entry for a name, or NULL */
static struct mc_kv *
mc_macro_find(const struct mc_conn *mc, const char *name, size_t len)
{
	struct mc_kv *kv;

	for (kv = mc->macros; kv != NULL; kv = kv->next)
		if (mc_name_eq(kv->name, strlen(kv->name), name, len))
			return kv;
	return NULL;
}

/* mc_macro - set or (value NULL) remove a macro value */
void
mc_macro(struct mc_conn *mc, const char *name, const char *value)
{
	struct mc_kv *kv, **pp;

	for (pp = &mc->macros; (kv = *pp) != NULL; pp = &kv->next)
		if (mc_name_eq(kv->name, strlen(kv->name), name, strlen(name)))
			break;
	if (value == NULL) {
		if (kv != NULL) {
			*pp = kv->next;
			free(kv->name);
			free(kv->value);
			free(kv);
		}
		return;
	}
	if (kv == NULL) {
		kv = mc_alloc(sizeof(*kv));
		kv->name = mc_strdup(name);
		kv->next = mc->macros;
		mc->macros = kv;
	}
	free(kv->value);
	kv->value = mc_strdup(value);
}

/* mc_macro_get - a macro's value, or NULL */
const char *
mc_macro_get(const struct mc_conn *mc, const char *name)
{
	struct mc_kv *kv;

	kv = mc_macro_find(mc, name, strlen(name));
	return kv ? kv->value : NULL;
}

/* mc_macro_list - the names sent at a stage; NULL: Postfix's default */
void
mc_macro_list(struct mc_conn *mc, enum mc_stage st, const char *names)
{
	if ((unsigned)st >= MC_ST_N)
		return;
	free(mc->lists[st]);
	mc->lists[st] = names ? mc_strdup(names) : NULL;
}

/* mc_auto_qid - whether MAIL sets macro i to a fresh queue id */
void
mc_auto_qid(struct mc_conn *mc, int on)
{
	mc->auto_qid = on;
}

/*
 * mc_stage_list - the names in force at a stage. As in Postfix, a list
 * the filter sent replaces the configured one for that stage only; an
 * empty list counts as none.
 */
static const char *
mc_stage_list(const struct mc_conn *mc, enum mc_stage st)
{
	if (mc->symlist[st] != NULL && mc->symlist[st][0] != '\0')
		return mc->symlist[st];
	if (mc->lists[st] != NULL)
		return mc->lists[st];
	return mc_default_lists[st];
}

/* mc_put_macros - queue SMFIC_MACRO for cmd with the defined macros */
static void
mc_put_macros(struct mc_conn *mc, int cmd, enum mc_stage st)
{
	static const char sep[] = " ,\t\r\n";
	const char *p = mc_stage_list(mc, st);
	struct mc_kv *kv;
	unsigned char c = (unsigned char)cmd;
	size_t	 at, n;

	at = mc_pkt_begin(mc, SMFIC_MACRO);
	mc_buf_add(&mc->out, &c, 1);
	for (;;) {
		p += strspn(p, sep);
		if ((n = strcspn(p, sep)) == 0)
			break;
		if ((kv = mc_macro_find(mc, p, n)) != NULL) {
			mc_buf_add(&mc->out, p, n);
			mc_buf_add(&mc->out, "", 1);
			mc_pkt_str(mc, kv->value);
		}
		p += n;
	}
	mc_pkt_end(mc, at);
}

/* mc_reply_reset - forget the last reply; cmd is the next command */
static void
mc_reply_reset(struct mc_conn *mc, int cmd)
{
	size_t	 i;

	for (i = 0; i < mc->nmods; i++) {
		free((void *)mc->mods[i].name);
		free((void *)mc->mods[i].value);
	}
	mc->nmods = 0;
	mc->text.len = 0;
	mc->raw.len = 0;
	memset(&mc->reply, 0, sizeof(mc->reply));
	mc->reply.cmd = cmd;
	mc->reply.text = "";
	mc->reply.raw = "";
}

/* mc_saved_clear - forget the connection-closing reply */
static void
mc_saved_clear(struct mc_conn *mc)
{
	free(mc->saved.text);
	free(mc->saved.raw);
	memset(&mc->saved, 0, sizeof(mc->saved));
}

/* mc_saved_keep - remember the current reply as the connection's */
static void
mc_saved_keep(struct mc_conn *mc)
{
	mc_saved_clear(mc);
	mc->saved.action = mc->reply.action;
	mc->saved.replycode = mc->reply.replycode;
	memcpy(mc->saved.rcode, mc->reply.rcode, sizeof(mc->saved.rcode));
	memcpy(mc->saved.xcode, mc->reply.xcode, sizeof(mc->saved.xcode));
	mc->saved.text = mc_strdup(mc->reply.text);
	mc->saved.raw = mc_strdup(mc->reply.raw);
}

/* mc_saved_use - answer with the connection's reply, nothing sent */
static enum mc_action
mc_saved_use(struct mc_conn *mc)
{
	mc->reply.action = mc->saved.action;
	mc->reply.replycode = mc->saved.replycode;
	memcpy(mc->reply.rcode, mc->saved.rcode, sizeof(mc->reply.rcode));
	memcpy(mc->reply.xcode, mc->saved.xcode, sizeof(mc->reply.xcode));
	mc->reply.text = mc->saved.text ? mc->saved.text : "";
	mc->reply.raw = mc->saved.raw ? mc->saved.raw : "";
	return mc->reply.action;
}

/* mc_is_content - a step of the message content (DATA not included) */
static int
mc_is_content(int cmd)
{
	return cmd == SMFIC_HEADER || cmd == SMFIC_EOH || cmd == SMFIC_BODY ||
	    cmd == SMFIC_BODYEOB;
}

/*
 * mc_gate - may cmd go out at all in this state? 1 yes, 0 no (the reply
 * says why), -1 error.
 */
static int
mc_gate(struct mc_conn *mc, int cmd)
{
	switch (mc->state) {
	case MCS_ERROR:
		mc->reply.action = MC_ERROR;
		return -1;
	case MCS_NEW:
		return mc_misuse(mc, "'%c' before negotiation", cmd);
	case MCS_CLOSED:
		return mc_misuse(mc, "'%c' after QUIT", cmd);
	case MCS_ACCEPT_CON:
		mc->reply.action = MC_SKIPPED;
		return 0;
	case MCS_REJECT_CON:
		mc_saved_use(mc);
		return 0;
	case MCS_ACCEPT_MSG:
		if (cmd == SMFIC_RCPT || cmd == SMFIC_DATA ||
		    cmd == SMFIC_UNKNOWN || mc_is_content(cmd)) {
			mc->reply.action = MC_SKIPPED;
			return 0;
		}
		break;
	case MCS_READY:
	case MCS_ENVELOPE:
		break;
	}
	if (mc->msg_done && mc_is_content(cmd)) {
		mc->reply.action = MC_SKIPPED;
		return 0;
	}
	/*
	 * libmilter silently ignores a step its state table does not
	 * expect, so the caller would wait out the timeout: RCPT needs a
	 * MAIL the filter did not refuse, DATA and content need a RCPT.
	 */
	if (cmd == SMFIC_RCPT && mc->msg_stage < 1)
		return mc_misuse(mc, "RCPT without an accepted MAIL");
	if ((cmd == SMFIC_DATA || mc_is_content(cmd)) && mc->msg_stage < 2)
		return mc_misuse(mc, "'%c' without RCPT", cmd);
	return 1;
}

/*
 * mc_pre - everything before the command itself, in milter8_event's
 * order: state, SMFIR_SKIP, macros, then the filter's SMFIP_NO* flag. 1:
 * write the command now; 0: not sent (reply set); -1: error.
 */
static int
mc_pre(struct mc_conn *mc, int cmd, enum mc_stage st, uint32_t noflag)
{
	int	 rc;

	if ((rc = mc_gate(mc, cmd)) <= 0)
		return rc;
	if (mc->skip_cmd != 0) {
		if (cmd == mc->skip_cmd) {
			mc->reply.action = MC_SKIPPED;
			return 0;
		}
		mc->skip_cmd = 0;
	}
	mc_put_macros(mc, cmd, st);
	if ((mc->proto & noflag) != 0) {
		mc->reply.action = MC_SKIPPED;
		return 0;
	}
	return 1;
}

/* mc_final - state changes a final reply causes, as in milter8 */
static enum mc_action
mc_final(struct mc_conn *mc, int cmd, enum mc_action action)
{
	int	 conn_event = (cmd == SMFIC_CONNECT || cmd == SMFIC_HELO);

	mc->reply.action = action;
	switch (action) {
	case MC_ACCEPT:
		if (conn_event) {
			mc_close_fd(mc);
			mc->state = MCS_ACCEPT_CON;
		} else
			mc->state = MCS_ACCEPT_MSG;
		break;
	case MC_DISCARD:
		/* Postfix ignores a discard at CONNECT or HELO: it logs
		 * a warning and goes on; the state is left as it is */
		if (!conn_event)
			mc->state = MCS_ACCEPT_MSG;
		break;
	case MC_REJECT:
	case MC_TEMPFAIL:
		if (conn_event) {
			mc_saved_keep(mc);
			mc_close_fd(mc);
			mc->state = MCS_REJECT_CON;
		}
		break;
	case MC_SHUTDOWN:
	case MC_CONNFAIL:
		mc_saved_keep(mc);
		mc_close_fd(mc);
		mc->state = MCS_REJECT_CON;
		break;
	case MC_SKIP:
		mc->skip_cmd = cmd;
		break;
	default:
		break;
	}
	if ((cmd == SMFIC_DATA || mc_is_content(cmd)) &&
	    action != MC_CONTINUE && action != MC_SKIP)
		mc->msg_done = 1;
	if (cmd == SMFIC_MAIL && action != MC_CONTINUE && action != MC_SKIP &&
	    action != MC_ACCEPT)
		mc->msg_stage = 0;	/* libmilter is back in HELO state */
	if (cmd == SMFIC_BODYEOB) {
		if (mc->state == MCS_ACCEPT_MSG)
			mc->state = MCS_ENVELOPE;
		mc->msg_done = 0;
		mc->msg_stage = 0;
	}
	return action;
}

/* mc_strs - split data into exactly n NUL-terminated strings */
static int
mc_strs(const unsigned char *d, size_t len, const char **out, size_t n)
{
	size_t	 i, k;
	const unsigned char *end;

	for (i = 0, k = 0; k < n; k++) {
		if (i >= len)
			return -1;
		if ((end = memchr(d + i, '\0', len - i)) == NULL)
			return -1;
		out[k] = (const char *)d + i;
		i = (size_t)(end - d) + 1;
	}
	return i == len ? 0 : -1;
}

/* mc_add_mod - record a modification */
static void
mc_add_mod(struct mc_conn *mc, int type, uint32_t index, const char *name,
    const char *value, size_t vlen)
{
	struct mc_mod *m;

	if (mc->nmods == mc->modcap) {
		mc->modcap = mc->modcap ? mc->modcap * 2 : 8;
		if ((m = realloc(mc->mods, mc->modcap * sizeof(*m))) == NULL)
			mc_oom();
		mc->mods = m;
	}
	m = &mc->mods[mc->nmods++];
	m->type = type;
	m->index = index;
	m->name = mc_strdup(name ? name : "");
	m->value = mc_strndup(value ? value : "", value ? vlen : 0);
	m->len = value ? vlen : 0;
	mc->reply.mods = mc->mods;
	mc->reply.nmods = mc->nmods;
}

/* mc_parse_mod - a modification request at end of message */
static int
mc_parse_mod(struct mc_conn *mc, int type, const unsigned char *d, size_t n)
{
	const char *s[2];
	uint32_t idx = 0;

	switch (type) {
	case SMFIR_ADDHEADER:
		if (mc_strs(d, n, s, 2) < 0)
			break;
		mc_add_mod(mc, type, 0, s[0], s[1], strlen(s[1]));
		return 0;
	case SMFIR_INSHEADER:
	case SMFIR_CHGHEADER:
		if (n < 4 || mc_strs(d + 4, n - 4, s, 2) < 0)
			break;
		idx = mc_be32(d);
		mc_add_mod(mc, type, idx, s[0], s[1], strlen(s[1]));
		return 0;
	case SMFIR_ADDRCPT:
	case SMFIR_DELRCPT:
	case SMFIR_QUARANTINE:
		if (mc_strs(d, n, s, 1) < 0)
			break;
		mc_add_mod(mc, type, 0, s[0], NULL, 0);
		return 0;
	case SMFIR_ADDRCPT_PAR:
	case SMFIR_CHGFROM:
		if (mc_strs(d, n, s, 2) == 0)
			mc_add_mod(mc, type, 0, s[0], s[1], strlen(s[1]));
		else if (mc_strs(d, n, s, 1) == 0)
			mc_add_mod(mc, type, 0, s[0], NULL, 0);
		else
			break;
		return 0;
	case SMFIR_REPLBODY:
		mc_add_mod(mc, type, 0, NULL, (const char *)d, n);
		return 0;
	}
	return mc_fail(mc, MC_EPROTO, "malformed '%c' request (%zu bytes)",
	    type, n);
}

/* mc_is_xcode - an enhanced status code "d.d+.d+" of n bytes */
static int
mc_is_xcode(const char *s, size_t n)
{
	size_t	 i, dots = 0, digits = 0;

	if (n < 5 || (s[0] != '2' && s[0] != '4' && s[0] != '5'))
		return 0;
	for (i = 0; i < n; i++) {
		if (s[i] == '.') {
			if (digits == 0 || digits > 3)
				return 0;
			dots++;
			digits = 0;
		} else if (s[i] >= '0' && s[i] <= '9')
			digits++;
		else
			return 0;
	}
	return dots == 2 && digits > 0 && digits <= 3;
}

/* mc_text_add - append one reply line's text, undoing '%%' as Postfix */
static void
mc_text_add(struct mc_conn *mc, const char *s, size_t n)
{
	size_t	 i;

	if (mc->text.len > 0)
		mc_buf_add(&mc->text, "\n", 1);
	for (i = 0; i < n; i++) {
		if (s[i] == '%') {
			if (i + 1 < n && s[i + 1] == '%')
				mc_buf_add(&mc->text, "%", 1);
			i++;
			continue;
		}
		mc_buf_add(&mc->text, s + i, 1);
	}
}

/*
 * mc_parse_replycode - "451 4.7.1 text", possibly several lines joined by
 * CRLF ("451-4.7.1 one\r\n451 4.7.1 two"). Postfix refuses a reply whose
 * fifth byte is not the class digit again (no enhanced code), and so do
 * we, so a filter that forgets the xcode shows up in tests.
 */
static int
mc_parse_replycode(struct mc_conn *mc, const unsigned char *d, size_t n)
{
	const char *s = (const char *)d, *line, *eol, *p;
	size_t	 len, xl;

	if (n == 0 || d[n - 1] != '\0' || strlen(s) != n - 1)
		return mc_fail(mc, MC_EPROTO, "reply code not a string");
	len = n - 1;
	if (len < 5 || (s[0] != '4' && s[0] != '5') ||
	    s[1] < '0' || s[1] > '9' || s[2] < '0' || s[2] > '9' ||
	    (s[3] != ' ' && s[3] != '-') || s[4] != s[0])
		return mc_fail(mc, MC_EPROTO, "malformed reply: %.200s", s);
	mc_buf_add(&mc->raw, s, len);
	mc->reply.raw = mc_buf_cstr(&mc->raw);
	memcpy(mc->reply.rcode, s, 3);
	mc->reply.rcode[3] = '\0';
	mc->reply.replycode = 1;
	for (line = s; *line != '\0'; line = eol) {
		if ((eol = strstr(line, "\r\n")) == NULL)
			eol = line + strlen(line);
		p = line;
		if (eol - p >= 4 && p[3] != ' ' && p[3] != '-')
			return mc_fail(mc, MC_EPROTO,
			    "malformed reply line: %.200s", line);
		p += eol - p >= 4 ? 4 : eol - p;
		xl = strcspn(p, " \r");
		if (p + xl > eol)
			xl = (size_t)(eol - p);
		if (mc_is_xcode(p, xl)) {
			if (mc->reply.xcode[0] == '\0' &&
			    xl < sizeof(mc->reply.xcode)) {
				memcpy(mc->reply.xcode, p, xl);
				mc->reply.xcode[xl] = '\0';
			}
			p += xl;
			if (p < eol && *p == ' ')
				p++;
		}
		mc_text_add(mc, p, (size_t)(eol - p));
		if (*eol != '\0')
			eol += 2;
	}
	mc->reply.text = mc_buf_cstr(&mc->text);
	return 0;
}

/* mc_read_reply - read replies to cmd up to and including the final one */
static enum mc_action
mc_read_reply(struct mc_conn *mc, int cmd)
{
	const unsigned char *d;
	size_t	 n;
	int	 rc;
	enum mc_action a;

	for (;;) {
		if (mc_read_packet(mc, &rc, &d, &n) < 0)
			return MC_ERROR;
		a = MC_ERROR;
		switch (rc) {
		case SMFIR_PROGRESS:
			if (n != 0)
				break;
			mc->reply.progress++;
			continue;
		case SMFIR_CONTINUE:	a = MC_CONTINUE; break;
		case SMFIR_ACCEPT:	a = MC_ACCEPT; break;
		case SMFIR_REJECT:	a = MC_REJECT; break;
		case SMFIR_TEMPFAIL:	a = MC_TEMPFAIL; break;
		case SMFIR_DISCARD:	a = MC_DISCARD; break;
		case SMFIR_SKIP:	a = MC_SKIP; break;
		case SMFIR_SHUTDOWN:	a = MC_SHUTDOWN; break;
		case SMFIR_CONN_FAIL:	a = MC_CONNFAIL; break;
		case SMFIR_REPLYCODE:
			if (mc_parse_replycode(mc, d, n) < 0)
				return MC_ERROR;
			return mc_final(mc, cmd,
			    mc->reply.rcode[0] == '4' ? MC_TEMPFAIL : MC_REJECT);
		case SMFIR_QUARANTINE:
			if (mc_parse_mod(mc, rc, d, n) < 0)
				return MC_ERROR;
			continue;
		case SMFIR_ADDHEADER:
		case SMFIR_INSHEADER:
		case SMFIR_CHGHEADER:
		case SMFIR_ADDRCPT:
		case SMFIR_DELRCPT:
		case SMFIR_ADDRCPT_PAR:
		case SMFIR_CHGFROM:
		case SMFIR_REPLBODY:
			if (cmd != SMFIC_BODYEOB) {
				mc_fail(mc, MC_EPROTO,
				    "modification '%c' in reply to '%c'", rc, cmd);
				return MC_ERROR;
			}
			if (mc_parse_mod(mc, rc, d, n) < 0)
				return MC_ERROR;
			continue;
		default:
			mc_fail(mc, MC_EPROTO, "unknown reply 0x%02x to '%c'",
			    rc & 0xff, cmd);
			return MC_ERROR;
		}
		if (a == MC_ERROR || n != 0) {
			mc_fail(mc, MC_EPROTO, "reply '%c' with %zu data bytes",
			    rc, n);
			return MC_ERROR;
		}
		return mc_final(mc, cmd, a);
	}
}

/* mc_post - the command is queued: wait for its reply unless none is due */
static enum mc_action
mc_post(struct mc_conn *mc, int cmd, uint32_t nrflag)
{
	mc->reply.sent = 1;
	if ((mc->proto & nrflag) != 0) {
		if (mc->out.len >= MC_OUT_HIGH && mc_flush(mc) < 0)
			return MC_ERROR;
		return mc->reply.action = MC_NOREPLY;
	}
	return mc_read_reply(mc, cmd);
}

/* mc_new - a connection object around fd */
static struct mc_conn *
mc_new(int fd, int timeout_ms)
{
	struct mc_conn *mc;
	int	 fl;

	if ((fl = fcntl(fd, F_GETFL)) != -1)
		(void)fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	mc = mc_alloc(sizeof(*mc));
	mc->fd = fd;
	mc->timeout_ms = timeout_ms > 0 ? timeout_ms : 10000;
	mc->state = MCS_NEW;
	mc->auto_qid = 1;
	mc->qid_base = ((unsigned)(uintptr_t)mc >> 4 ^ (unsigned)time(NULL) ^
	    (unsigned)getpid() << 8) & 0xfffff;
	mc_reply_reset(mc, 0);
	mc_macro(mc, "j", "mx.mclient.test");
	mc_macro(mc, "{daemon_name}", "mclient");
	mc_macro(mc, "{daemon_addr}", "127.0.0.1");
	mc_macro(mc, "v", "Postfix 3.7 (mclient)");
	return mc;
}

/* mc_fdopen - a connection over an open stream socket */
struct mc_conn *
mc_fdopen(int fd, int timeout_ms)
{
	return mc_new(fd, timeout_ms);
}

/* how to connect: deadline, wait function, where errors go */
struct mc_dial {
	int		 timeout_ms;
	mc_wait_fn	*fn;
	void		*arg;
	char		*err;
	size_t		 errlen;
};

/* mc_connected - a connect in progress has finished: 1, not yet: 0 (a
 * wait function may wake early), failed: -1 with errno */
static int
mc_connected(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLOUT };
	socklen_t sl = sizeof(int);
	int	 e = 0;

	if (poll(&pfd, 1, 0) < 0)
		return -1;
	if (pfd.revents == 0)
		return 0;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &sl) < 0)
		return -1;
	errno = e;
	return e == 0 ? 1 : -1;
}

/* mc_connect_fd - connect a non-blocking socket within the deadline */
static int
mc_connect_fd(const struct sockaddr *sa, socklen_t salen, struct mc_dial *d)
{
	int64_t	 deadline = mc_now() + d->timeout_ms, left;
	int	 fd, n;

	fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(d->err, d->errlen, "socket: %s", strerror(errno));
		return -1;
	}
	if (connect(fd, sa, salen) == 0)
		return fd;
	if (errno != EINPROGRESS && errno != EAGAIN) {
		snprintf(d->err, d->errlen, "connect: %s", strerror(errno));
		close(fd);
		return -1;
	}
	while ((left = deadline - mc_now()) > 0) {
		n = mc_wait_fd(d->fn, d->arg, fd, POLLOUT,
		    left > INT_MAX ? INT_MAX : (int)left);
		if (n == 1)
			break;
		if (n == 0 && (n = mc_connected(fd)) == 0)
			continue;
		if (n == 1)
			return fd;
		if (errno == EINTR)
			continue;
		snprintf(d->err, d->errlen, "connect: %s", strerror(errno));
		close(fd);
		return -1;
	}
	snprintf(d->err, d->errlen, "connect: timed out after %d ms",
	    d->timeout_ms);
	close(fd);
	return -1;
}

/* mc_connect_unix - connect to a unix-domain socket path */
static int
mc_connect_unix(const char *path, struct mc_dial *d)
{
	struct sockaddr_un sun;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(d->err, d->errlen, "socket path too long: %s", path);
		return -1;
	}
	strcpy(sun.sun_path, path);
	return mc_connect_fd((struct sockaddr *)&sun, sizeof(sun), d);
}

/* mc_connect_inet - connect to host and port, trying each address */
static int
mc_connect_inet(int family, const char *host, const char *port,
    struct mc_dial *d)
{
	struct addrinfo hints, *res, *ai;
	int	 fd = -1, rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = family;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	if ((rc = getaddrinfo(host, port, &hints, &res)) != 0) {
		snprintf(d->err, d->errlen, "%s port %s: %s", host, port,
		    gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai != NULL && fd < 0; ai = ai->ai_next)
		fd = mc_connect_fd(ai->ai_addr, ai->ai_addrlen, d);
	freeaddrinfo(res);
	return fd;
}

/*
 * mc_spec_fd - connect to a libmilter or Postfix style socket spec:
 * unix:/p, local:/p, /p, inet:PORT@HOST, inet6:PORT@HOST, inet:HOST:PORT
 */
static int
mc_spec_fd(const char *spec, struct mc_dial *d)
{
	char	*s, *host, *port, *at;
	int	 family, fd;

	if (strncmp(spec, "unix:", 5) == 0)
		return mc_connect_unix(spec + 5, d);
	if (strncmp(spec, "local:", 6) == 0)
		return mc_connect_unix(spec + 6, d);
	if (spec[0] == '/')
		return mc_connect_unix(spec, d);
	if (strncmp(spec, "inet:", 5) == 0) {
		family = AF_INET;
		s = mc_strdup(spec + 5);
	} else if (strncmp(spec, "inet6:", 6) == 0) {
		family = AF_INET6;
		s = mc_strdup(spec + 6);
	} else {
		snprintf(d->err, d->errlen, "unknown socket spec: %s", spec);
		return -1;
	}
	if ((at = strchr(s, '@')) != NULL) {
		*at = '\0';
		port = s;
		host = at + 1;
	} else if ((at = strrchr(s, ':')) != NULL) {
		*at = '\0';
		host = s;
		port = at + 1;
		family = AF_UNSPEC;
	} else {
		port = s;
		host = family == AF_INET6 ? "::1" : "127.0.0.1";
	}
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		host[strlen(host) - 1] = '\0';
		host++;
	}
	if (host[0] == '\0')
		host = family == AF_INET6 ? "::1" : "127.0.0.1";
	fd = mc_connect_inet(family, host, port, d);
	free(s);
	return fd;
}

/* mc_connect - open a milter connection to spec */
struct mc_conn *
mc_connect(const char *spec, int timeout_ms, char *err, size_t errlen)
{
	return mc_connect_wait(spec, timeout_ms, NULL, NULL, err, errlen);
}

/* mc_connect_wait - the same, waiting with fn from the connect on */
struct mc_conn *
mc_connect_wait(const char *spec, int timeout_ms, mc_wait_fn *fn, void *arg,
    char *err, size_t errlen)
{
	struct mc_dial d = { timeout_ms > 0 ? timeout_ms : 10000, fn, arg, err,
	    errlen };
	struct mc_conn *mc;
	int	 fd;

	if ((fd = mc_spec_fd(spec, &d)) < 0)
		return NULL;
	mc = mc_new(fd, d.timeout_ms);
	mc_set_wait(mc, fn, arg);
	return mc;
}

/* mc_set_wait - wait with fn (NULL: poll) from now on */
void
mc_set_wait(struct mc_conn *mc, mc_wait_fn *fn, void *arg)
{
	mc->waitfn = fn;
	mc->waitarg = arg;
}

/* mc_free - close without QUIT and release everything */
struct mc_conn *
mc_free(struct mc_conn *mc)
{
	struct mc_kv *kv;
	int	 i;

	if (mc == NULL)
		return NULL;
	mc_close_fd(mc);
	mc_reply_reset(mc, 0);
	mc_saved_clear(mc);
	while ((kv = mc->macros) != NULL) {
		mc->macros = kv->next;
		free(kv->name);
		free(kv->value);
		free(kv);
	}
	for (i = 0; i < MC_ST_N; i++) {
		free(mc->lists[i]);
		free(mc->symlist[i]);
	}
	free(mc->out.data);
	free(mc->in.data);
	free(mc->body.data);
	free(mc->text.data);
	free(mc->raw.data);
	free(mc->mods);
	free(mc);
	return NULL;
}

/* mc_set_timeout - deadline for each read or write from now on */
void
mc_set_timeout(struct mc_conn *mc, int timeout_ms)
{
	mc->timeout_ms = timeout_ms > 0 ? timeout_ms : 10000;
}

/* mc_parse_symlists - the macro lists after the OPTNEG numbers */
static int
mc_parse_symlists(struct mc_conn *mc, const unsigned char *d, size_t n)
{
	const unsigned char *end;
	uint32_t stage;

	while (n > 0) {
		if (n < 5 || (end = memchr(d + 4, '\0', n - 4)) == NULL)
			return mc_fail(mc, MC_EPROTO, "malformed macro list");
		stage = mc_be32(d);
		if (stage < MC_ST_UNKNOWN) {
			free(mc->symlist[stage]);
			mc->symlist[stage] = mc_strdup((const char *)d + 4);
		}
		n -= (size_t)(end - d) + 1;
		d = end + 1;
	}
	return 0;
}

/* mc_negotiate - SMFIC_OPTNEG and the filter's answer */
int
mc_negotiate(struct mc_conn *mc, uint32_t actions, uint32_t proto)
{
	unsigned char v[12];
	const unsigned char *d;
	size_t	 at, n;
	int	 cmd;

	mc_reply_reset(mc, SMFIC_OPTNEG);
	if (mc->state != MCS_NEW)
		return mc->state == MCS_ERROR ? -1 :
		    mc_misuse(mc, "negotiation happens once");
	if (actions == 0 && proto == 0) {
		actions = MC_POSTFIX_ACTIONS;
		proto = MC_POSTFIX_PROTO;
	}
	mc_put32(v, MC_PROTO_VERSION);
	mc_put32(v + 4, actions);
	mc_put32(v + 8, proto);
	at = mc_pkt_begin(mc, SMFIC_OPTNEG);
	mc_buf_add(&mc->out, v, sizeof(v));
	mc_pkt_end(mc, at);
	mc->reply.sent = 1;
	if (mc_read_packet(mc, &cmd, &d, &n) < 0)
		return -1;
	if (cmd != SMFIC_OPTNEG)
		return mc_fail(mc, MC_EPROTO,
		    "unexpected reply '%c' in initial handshake", cmd);
	if (n < 12)
		return mc_fail(mc, MC_EPROTO, "short OPTNEG reply (%zu bytes)",
		    n);
	mc->version = mc_be32(d);
	mc->actions = mc_be32(d + 4);
	mc->proto = mc_be32(d + 8);
	if (mc->version > MC_PROTO_VERSION || mc->version < 2)
		return mc_fail(mc, MC_EPROTO, "protocol version %lu conflict "
		    "with MTA protocol version %d", (unsigned long)mc->version,
		    MC_PROTO_VERSION);
	if ((mc->actions & actions) != mc->actions)
		return mc_fail(mc, MC_EPROTO, "request mask 0x%lx conflict "
		    "with MTA request mask 0x%lx", (unsigned long)mc->actions,
		    (unsigned long)actions);
	if (mc_parse_symlists(mc, d + 12, n - 12) < 0)
		return -1;
	mc->state = MCS_READY;
	mc->reply.action = MC_CONTINUE;
	return 0;
}

/* mc_version - the protocol version the filter answered */
uint32_t
mc_version(const struct mc_conn *mc)
{
	return mc->version;
}

/* mc_actions - the SMFIF_* actions the filter asked for */
uint32_t
mc_actions(const struct mc_conn *mc)
{
	return mc->actions;
}

/* mc_proto - the SMFIP_* bits the filter asked for */
uint32_t
mc_proto(const struct mc_conn *mc)
{
	return mc->proto;
}

/* mc_symlist - macro names the filter asked for at stage, or NULL */
const char *
mc_symlist(const struct mc_conn *mc, enum mc_stage st)
{
	return (unsigned)st < MC_ST_N ? mc->symlist[st] : NULL;
}

/* mc_connect_cmd - SMFIC_CONNECT: hostname, family, port, address */
enum mc_action
mc_connect_cmd(struct mc_conn *mc, const char *hostname, const char *addr,
    unsigned port)
{
	unsigned char p[2];
	char	*bracketed = NULL;
	char	 family;
	size_t	 at;

	mc_reply_reset(mc, SMFIC_CONNECT);
	if (mc->state == MCS_READY)
		mc->state = MCS_ENVELOPE;
	mc->msg_stage = 0;
	if (mc_pre(mc, SMFIC_CONNECT, MC_ST_CONNECT, SMFIP_NOCONNECT) <= 0)
		return mc->reply.action;
	if (addr == NULL)
		family = SMFIA_UNKNOWN;
	else if (addr[0] == '/') {
		family = SMFIA_UNIX;
		port = 0;
	} else if (strchr(addr, ':') != NULL)
		family = SMFIA_INET6;
	else
		family = SMFIA_INET;
	if (hostname == NULL)
		hostname = "unknown";
	/* Postfix's "unknown" client name reaches the filter as "[addr]" */
	if (strcmp(hostname, "unknown") == 0 && addr != NULL) {
		bracketed = mc_alloc(strlen(addr) + 3);
		sprintf(bracketed, "[%s]", addr);
		hostname = bracketed;
	}
	at = mc_pkt_begin(mc, SMFIC_CONNECT);
	mc_pkt_str(mc, hostname);
	mc_buf_add(&mc->out, &family, 1);
	if (family != SMFIA_UNKNOWN) {
		p[0] = (port >> 8) & 0xff;
		p[1] = port & 0xff;
		mc_buf_add(&mc->out, p, 2);
		mc_pkt_str(mc, addr);
	}
	mc_pkt_end(mc, at);
	free(bracketed);
	return mc_post(mc, SMFIC_CONNECT, SMFIP_NR_CONN);
}

/* mc_helo - SMFIC_HELO */
enum mc_action
mc_helo(struct mc_conn *mc, const char *name)
{
	size_t	 at;

	mc_reply_reset(mc, SMFIC_HELO);
	if (mc_pre(mc, SMFIC_HELO, MC_ST_HELO, SMFIP_NOHELO) <= 0)
		return mc->reply.action;
	at = mc_pkt_begin(mc, SMFIC_HELO);
	mc_pkt_str(mc, name);
	mc_pkt_end(mc, at);
	return mc_post(mc, SMFIC_HELO, SMFIP_NR_HELO);
}

/* mc_put_addr_args - "<addr>" then each ESMTP argument, as strings */
static void
mc_put_addr_args(struct mc_conn *mc, const char *addr, const char *args)
{
	static const char sep[] = " \t";
	size_t	 n;

	if (addr[0] == '<')
		mc_pkt_str(mc, addr);
	else {
		mc_buf_add(&mc->out, "<", 1);
		mc_buf_add(&mc->out, addr, strlen(addr));
		mc_pkt_str(mc, ">");
	}
	while (args != NULL) {
		args += strspn(args, sep);
		if ((n = strcspn(args, sep)) == 0)
			break;
		mc_buf_add(&mc->out, args, n);
		mc_buf_add(&mc->out, "", 1);
		args += n;
	}
}

/* mc_set_addr_macro - {mail_addr}/{rcpt_addr}: the address without <> */
static void
mc_set_addr_macro(struct mc_conn *mc, const char *name, const char *addr)
{
	size_t	 n = strlen(addr);
	char	*bare;

	if (n >= 2 && addr[0] == '<' && addr[n - 1] == '>')
		bare = mc_strndup(addr + 1, n - 2);
	else
		bare = mc_strdup(addr);
	mc_macro(mc, name, bare);
	free(bare);
}

/* mc_mail - SMFIC_MAIL; a new message begins */
enum mc_action
mc_mail(struct mc_conn *mc, const char *sender, const char *args)
{
	char	 qid[32];
	size_t	 at;

	mc_reply_reset(mc, SMFIC_MAIL);
	if (mc->state == MCS_ACCEPT_MSG)
		mc->state = MCS_ENVELOPE;
	mc->msg_done = 0;
	mc->msg_stage = 1;
	mc->body.len = 0;
	if (mc->auto_qid) {
		snprintf(qid, sizeof(qid), "%05X%05X", mc->qid_base,
		    ++mc->qid_seq & 0xfffff);
		mc_macro(mc, "i", qid);
	}
	mc_set_addr_macro(mc, "{mail_addr}", sender);
	if (mc_pre(mc, SMFIC_MAIL, MC_ST_MAIL, SMFIP_NOMAIL) <= 0)
		return mc->reply.action;
	at = mc_pkt_begin(mc, SMFIC_MAIL);
	mc_put_addr_args(mc, sender, args);
	mc_pkt_end(mc, at);
	return mc_post(mc, SMFIC_MAIL, SMFIP_NR_MAIL);
}

/* mc_rcpt - SMFIC_RCPT */
enum mc_action
mc_rcpt(struct mc_conn *mc, const char *rcpt, const char *args)
{
	size_t	 at;

	mc_reply_reset(mc, SMFIC_RCPT);
	mc_set_addr_macro(mc, "{rcpt_addr}", rcpt);
	if (mc_pre(mc, SMFIC_RCPT, MC_ST_RCPT, SMFIP_NORCPT) <= 0) {
		if (mc->reply.action == MC_SKIPPED &&
		    (mc->proto & SMFIP_NORCPT) != 0)
			mc->msg_stage = 2;	/* libmilter skips it too */
		return mc->reply.action;
	}
	at = mc_pkt_begin(mc, SMFIC_RCPT);
	mc_put_addr_args(mc, rcpt, args);
	mc_pkt_end(mc, at);
	/* a refused recipient leaves libmilter in RCPT state all the same */
	mc->msg_stage = 2;
	return mc_post(mc, SMFIC_RCPT, SMFIP_NR_RCPT);
}

/* mc_data - SMFIC_DATA */
enum mc_action
mc_data(struct mc_conn *mc)
{
	mc_reply_reset(mc, SMFIC_DATA);
	if (mc_pre(mc, SMFIC_DATA, MC_ST_DATA, SMFIP_NODATA) <= 0)
		return mc->reply.action;
	mc_pkt_end(mc, mc_pkt_begin(mc, SMFIC_DATA));
	return mc_post(mc, SMFIC_DATA, SMFIP_NR_DATA);
}

/*
 * mc_content_pre - like mc_pre for header, EOH and body: Postfix does not
 * even call these steps (so sends no macros) when the filter turned them
 * off
 */
static int
mc_content_pre(struct mc_conn *mc, int cmd, uint32_t noflag)
{
	int	 rc;

	if ((rc = mc_gate(mc, cmd)) <= 0)
		return rc;
	if ((mc->proto & noflag) != 0) {
		mc->reply.action = MC_SKIPPED;
		return 0;
	}
	return mc_pre(mc, cmd, cmd == SMFIC_BODY ? MC_ST_EOM : MC_ST_EOH, 0);
}

/* mc_header - SMFIC_HEADER: name and the text after the colon */
enum mc_action
mc_header(struct mc_conn *mc, const char *name, const char *value)
{
	size_t	 at;

	mc_reply_reset(mc, SMFIC_HEADER);
	if (mc_content_pre(mc, SMFIC_HEADER, SMFIP_NOHDRS) <= 0)
		return mc->reply.action;
	if ((mc->proto & SMFIP_HDR_LEADSPC) == 0 && value[0] == ' ')
		value++;
	at = mc_pkt_begin(mc, SMFIC_HEADER);
	mc_pkt_str(mc, name);
	mc_pkt_str(mc, value);
	mc_pkt_end(mc, at);
	return mc_post(mc, SMFIC_HEADER, SMFIP_NR_HDR);
}

/* mc_eoh - SMFIC_EOH */
enum mc_action
mc_eoh(struct mc_conn *mc)
{
	mc_reply_reset(mc, SMFIC_EOH);
	if (mc_content_pre(mc, SMFIC_EOH, SMFIP_NOEOH) <= 0)
		return mc->reply.action;
	mc_pkt_end(mc, mc_pkt_begin(mc, SMFIC_EOH));
	return mc_post(mc, SMFIC_EOH, SMFIP_NR_EOH);
}

/* mc_body_chunk - send the first len buffered body bytes as SMFIC_BODY */
static enum mc_action
mc_body_chunk(struct mc_conn *mc, size_t len)
{
	enum mc_action a;
	size_t	 at;

	mc_reply_reset(mc, SMFIC_BODY);
	if (mc_content_pre(mc, SMFIC_BODY, SMFIP_NOBODY) <= 0) {
		mc->body.len = 0;	/* skipped or decided: none will go */
		return mc->reply.action;
	}
	at = mc_pkt_begin(mc, SMFIC_BODY);
	mc_buf_add(&mc->out, mc->body.data, len);
	mc_pkt_end(mc, at);
	memmove(mc->body.data, mc->body.data + len, mc->body.len - len);
	mc->body.len -= len;
	a = mc_post(mc, SMFIC_BODY, SMFIP_NR_BODY);
	if (mc->msg_done)
		mc->body.len = 0;
	return a;
}

/* mc_body - gather body bytes; send each full chunk */
enum mc_action
mc_body(struct mc_conn *mc, const void *buf, size_t len)
{
	enum mc_action a = MC_NOREPLY;
	const unsigned char *p = buf;
	size_t	 room;

	mc_reply_reset(mc, SMFIC_BODY);
	if (mc_gate(mc, SMFIC_BODY) <= 0)
		return mc->reply.action;
	if ((mc->proto & SMFIP_NOBODY) != 0)
		return mc->reply.action = MC_SKIPPED;
	while (len > 0) {
		room = MILTER_CHUNK_SIZE - mc->body.len;
		if (room > len)
			room = len;
		mc_buf_add(&mc->body, p, room);
		p += room;
		len -= room;
		if (mc->body.len < MILTER_CHUNK_SIZE)
			break;
		a = mc_body_chunk(mc, MILTER_CHUNK_SIZE);
		if (a != MC_CONTINUE && a != MC_NOREPLY)
			return a;
	}
	if (!mc->reply.sent)
		mc->reply.action = MC_NOREPLY;
	return mc->reply.action;
}

/* mc_eom - the rest of the body, then SMFIC_BODYEOB and its replies */
enum mc_action
mc_eom(struct mc_conn *mc)
{
	enum mc_action a;

	mc_reply_reset(mc, SMFIC_BODYEOB);
	if (mc_gate(mc, SMFIC_BODYEOB) <= 0)
		return mc->reply.action;
	if (mc->body.len > 0 && (mc->proto & SMFIP_NOBODY) == 0) {
		a = mc_body_chunk(mc, mc->body.len);
		if (a == MC_ERROR || mc->msg_done || mc->state != MCS_ENVELOPE)
			return a;
	}
	mc->body.len = 0;
	mc_reply_reset(mc, SMFIC_BODYEOB);
	if (mc_pre(mc, SMFIC_BODYEOB, MC_ST_EOM, 0) <= 0)
		return mc->reply.action;
	mc_pkt_end(mc, mc_pkt_begin(mc, SMFIC_BODYEOB));
	return mc_post(mc, SMFIC_BODYEOB, 0);
}

/* mc_unknown - SMFIC_UNKNOWN: an SMTP command the MTA did not know */
enum mc_action
mc_unknown(struct mc_conn *mc, const char *line)
{
	size_t	 at;

	mc_reply_reset(mc, SMFIC_UNKNOWN);
	if (mc_pre(mc, SMFIC_UNKNOWN, MC_ST_UNKNOWN, SMFIP_NOUNKNOWN) <= 0)
		return mc->reply.action;
	at = mc_pkt_begin(mc, SMFIC_UNKNOWN);
	mc_pkt_str(mc, line);
	mc_pkt_end(mc, at);
	return mc_post(mc, SMFIC_UNKNOWN, SMFIP_NR_UNKN);
}

enum mc_action
mc_raw(struct mc_conn *mc, int cmd, const void *data, size_t len,
    uint32_t nrflag)
{
	size_t	 at;

	mc_reply_reset(mc, cmd);
	if (mc->state == MCS_ERROR || mc->state == MCS_CLOSED ||
	    mc->state == MCS_NEW) {
		mc_misuse(mc, "'%c' on a connection not open", cmd);
		return mc->reply.action;
	}
	at = mc_pkt_begin(mc, cmd);
	mc_buf_add(&mc->out, data, len);
	mc_pkt_end(mc, at);
	return mc_post(mc, cmd, nrflag);
}

/* mc_abort - SMFIC_ABORT, buffered; Postfix sends it after every
 * transaction (mail_reset), successful or not */
int
mc_abort(struct mc_conn *mc)
{
	mc_reply_reset(mc, SMFIC_ABORT);
	switch (mc->state) {
	case MCS_ERROR:
		mc->reply.action = MC_ERROR;
		return -1;
	case MCS_NEW:
	case MCS_CLOSED:
		return mc_misuse(mc, "abort without a connection");
	case MCS_READY:
	case MCS_ACCEPT_CON:
	case MCS_REJECT_CON:
		mc->reply.action = MC_SKIPPED;
		return 0;
	case MCS_ENVELOPE:
	case MCS_ACCEPT_MSG:
		break;
	}
	mc_pkt_end(mc, mc_pkt_begin(mc, SMFIC_ABORT));
	mc->state = MCS_ENVELOPE;
	mc->msg_done = 0;
	mc->msg_stage = 0;
	mc->body.len = 0;
	mc->reply.sent = 1;
	mc->reply.action = MC_NOREPLY;
	if (mc->out.len >= MC_OUT_HIGH)
		return mc_flush(mc);
	return 0;
}

/* mc_quit - SMFIC_QUIT, flushed, and the socket closed */
int
mc_quit(struct mc_conn *mc)
{
	int	 rc = 0;

	mc_reply_reset(mc, SMFIC_QUIT);
	switch (mc->state) {
	case MCS_READY:
	case MCS_ENVELOPE:
	case MCS_ACCEPT_MSG:
		mc_pkt_end(mc, mc_pkt_begin(mc, SMFIC_QUIT));
		mc->reply.sent = 1;
		rc = mc_flush(mc);
		break;
	case MCS_ERROR:
		rc = -1;
		break;
	default:
		break;
	}
	mc_close_fd(mc);
	if (mc->state != MCS_ERROR)
		mc->state = MCS_CLOSED;
	mc->reply.action = rc < 0 ? MC_ERROR : MC_NOREPLY;
	return rc;
}

/*
 * mc_quit_nc - SMFIC_QUIT_NC: end this SMTP connection, keep the socket.
 * libmilter's state table takes it only right after end of message (or
 * an unknown command) and silently ignores it, and the CONNECT after it,
 * anywhere else; refuse it there rather than leave the caller waiting.
 */
int
mc_quit_nc(struct mc_conn *mc)
{
	mc_reply_reset(mc, SMFIC_QUIT_NC);
	switch (mc->state) {
	case MCS_ENVELOPE:
		break;
	case MCS_ERROR:
		mc->reply.action = MC_ERROR;
		return -1;
	default:
		return mc_misuse(mc, "QUIT_NC outside a connection");
	}
	if (mc->last_cmd != SMFIC_BODYEOB && mc->last_cmd != SMFIC_UNKNOWN)
		return mc_misuse(mc, "QUIT_NC only right after end of message");
	mc_pkt_end(mc, mc_pkt_begin(mc, SMFIC_QUIT_NC));
	mc->state = MCS_READY;
	mc->msg_done = 0;
	mc->msg_stage = 0;
	mc->skip_cmd = 0;
	mc->body.len = 0;
	mc->reply.sent = 1;
	mc->reply.action = MC_NOREPLY;
	return 0;
}

/* mc_last - the reply to the last event */
const struct mc_reply *
mc_last(const struct mc_conn *mc)
{
	return &mc->reply;
}

/* mc_error - text of the last error, "" if none */
const char *
mc_error(const struct mc_conn *mc)
{
	return mc->errcode == MC_EOK ? "" : mc->err;
}

/* mc_errcode - class of the last error */
enum mc_err
mc_errcode(const struct mc_conn *mc)
{
	return mc->errcode;
}

/* mc_sent - packets sent with a command code */
unsigned long
mc_sent(const struct mc_conn *mc, int cmd)
{
	return mc->nsent[cmd & 0xff];
}

/* mc_action_name - lower-case name of an action */
const char *
mc_action_name(enum mc_action a)
{
	if (a == MC_ERROR)
		return "error";
	if ((unsigned)a < sizeof(mc_action_names) / sizeof(mc_action_names[0]))
		return mc_action_names[a];
	return "?";
}

/* mc_action_parse - the action with that name */
int
mc_action_parse(const char *s, enum mc_action *out)
{
	size_t	 i;

	if (strcmp(s, "error") == 0) {
		*out = MC_ERROR;
		return 0;
	}
	for (i = 0; i < sizeof(mc_action_names) / sizeof(mc_action_names[0]); i++)
		if (strcmp(s, mc_action_names[i]) == 0) {
			*out = (enum mc_action)i;
			return 0;
		}
	return -1;
}
