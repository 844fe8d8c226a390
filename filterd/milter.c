/*
 * milter.c -- libmilter callbacks, negotiation, verdict to SMFIS_*
 *
 * libmilter calls us from its worker threads (a connection may move
 * from one to another between commands) and passes no user pointer, so
 * this file keeps the single pointer to the daemon (set once by
 * fd_milter_setup before any thread runs). Everything per connection
 * lives in the fd_txn hung on libmilter's private slot.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libmilter/mfapi.h>

#include "conf.h"
#include "daemon.h"
#include "dispatch.h"
#include "gen.h"
#include "log.h"
#include "milter.h"
#include "rule.h"
#include "txn.h"
#include "xalloc.h"

static struct fd_daemon *daemon_ptr;

/* the macros the core itself reads, per SMFIM_* stage */
static const char *const core_macros[7] = {
	"j {daemon_name} {daemon_addr} {if_addr} {client_resolve}", /* connect */
	"",						/* helo */
	"i {auth_authen} {auth_type}",			/* mail */
	"i",						/* rcpt */
	"i",						/* data */
	"i",						/* eom */
	"i",						/* eoh */
};

/* has_word - the space-separated list contains word as a whole */
static int
has_word(const char *list, const char *word)
{
	size_t	 n = strlen(word), len;

	for (; *list != '\0'; list += len) {
		list += strspn(list, " ");
		len = strcspn(list, " ");
		if (len == n && strncmp(list, word, n) == 0)
			return 1;
	}
	return 0;
}

char *
fd_milter_symlist(const struct fd_conf *conf, int st)
{
	const char *const	*extra = fd_rules_macros(conf->rules, st);
	size_t			 n = strlen(core_macros[st]) + 1;
	char			*s;
	int			 i;

	for (i = 0; extra != NULL && extra[i] != NULL; i++)
		n += strlen(extra[i]) + 1;
	s = fd_malloc(n);
	strcpy(s, core_macros[st]);
	for (i = 0; extra != NULL && extra[i] != NULL; i++) {
		/* skip what the core already asks for */
		if (has_word(core_macros[st], extra[i]))
			continue;
		if (*s != '\0')
			strcat(s, " ");
		strcat(s, extra[i]);
	}
	return s;
}

char *
fd_milter_symlist_add(char *list, const char *more)
{
	char	 word[FD_MACRO_NAME_MAX + 1];
	size_t	 len;

	if (more == NULL)
		return list;
	list = fd_reallocarray(list, strlen(list) + strlen(more) + 2, 1);
	for (; *more != '\0'; more += len) {
		more += strspn(more, " ");
		if ((len = strcspn(more, " ")) == 0 || len >= sizeof(word))
			continue;
		memcpy(word, more, len);
		word[len] = '\0';
		if (has_word(list, word))
			continue;
		if (*list != '\0')
			strcat(list, " ");
		strcat(list, word);
	}
	return list;
}

char *
fd_milter_symnames(const char *list)
{
	char	*names = fd_malloc(strlen(list) + 2), *o = names;
	size_t	 n;

	for (; *list != '\0'; list += n) {
		list += strspn(list, " ");
		if ((n = strcspn(list, " ")) == 0)
			continue;
		memcpy(o, list, n);
		o += n;
		*o++ = '\0';
	}
	*o = '\0';
	return names;
}

/* read_macros - copy the macros the MTA sent with the command of stage
 * st (an SMFIM_ index) into the txn */
static void
read_macros(SMFICTX *ctx, struct fd_txn *t, int st)
{
	/* SMFIM_ indexes: CONNECT HELO ENVFROM ENVRCPT DATA EOM EOH */
	static const uint32_t stage[SMFIM_LAST + 1] = { FD_ST_CONNECT,
	    FD_ST_HELO, FD_ST_MAIL, FD_ST_RCPT, FD_ST_DATA, FD_ST_EOM,
	    FD_ST_EOH };
	char		*name;	/* smfi_getsymval takes a char * */
	const char	*v;

	fd_txn_macro_stage(t, stage[st]);
	for (name = t->gen->symnames[st]; *name != '\0';
	    name += strlen(name) + 1)
		if ((v = smfi_getsymval(ctx, name)) != NULL)
			fd_txn_set_macro(t, name, v);
}

/* RFC 5321 4.5.3.1.5: a reply line, code and CRLF included */
#define REPLY_LINE_MAX	512

/*
 * reply_text - printable text libmilter will pass on unchanged: no CR/LF
 * or control bytes, ASCII only (RFC 5321 4.2's textstring), '%' doubled.
 * At most room characters reach the client (a doubled '%' is one), so
 * that the codes, the text and CRLF fit in one reply line: the MTA sends
 * what it gets and does not cut it. dstlen, below libmilter's 980 bytes,
 * bounds the doubled text.
 */
static void
reply_text(char *dst, size_t dstlen, const char *src, size_t room)
{
	size_t	 o = 0;

	for (; src != NULL && *src != '\0' && room > 0 && o + 3 < dstlen;
	    src++, room--) {
		unsigned char c = (unsigned char)*src;

		if (c == '%') {
			dst[o++] = '%';
			dst[o++] = '%';
		} else if (c >= 0x80)
			dst[o++] = '?';
		else
			dst[o++] = c < 0x20 || c == 0x7f ? ' ' : (char)c;
	}
	dst[o] = '\0';
}

/* verdict - map the action (reply in the txn) to SMFIS_* */
static sfsistat
verdict(SMFICTX *ctx, struct fd_txn *t, uint32_t stage, enum fd_action a)
{
	char	 text[960];
	size_t	 codes;

	if (t->noreply & stage)
		return SMFIS_NOREPLY;
	switch (a) {
	case FD_ACCEPT:
		/* the MTA calls nobody again for a message accepted before
		 * its end: headers queued for it are added only there */
		if (stage != FD_ST_EOM && t->msg.headers != NULL)
			return SMFIS_CONTINUE;
		return SMFIS_ACCEPT;
	case FD_DISCARD:
		return SMFIS_DISCARD;
	case FD_REJECT:
	case FD_TEMPFAIL:
		/* "550 5.7.1 " and the CRLF after the text */
		codes = strlen(t->rcode) + 1 + (t->xcode[0] ?
		    strlen(t->xcode) + 1 : 0) + 2;
		reply_text(text, sizeof(text), t->text, REPLY_LINE_MAX - codes);
		if (smfi_setreply(ctx, t->rcode, t->xcode[0] ? t->xcode : NULL,
		    text[0] ? text : NULL) != MI_SUCCESS) {
			snprintf(text, sizeof(text), "smfi_setreply(%s %s) "
			    "failed; the MTA's default reply applies",
			    t->rcode, t->xcode);
			fd_conn_log(t, FD_LOG_WARN, text);
		}
		return a == FD_REJECT ? SMFIS_REJECT : SMFIS_TEMPFAIL;
	default:
		return SMFIS_CONTINUE;
	}
}

/* txn_of - our context, created on first use (negotiate or connect) */
static struct fd_txn *
txn_of(SMFICTX *ctx)
{
	struct fd_txn	*t = smfi_getpriv(ctx);

	if (t != NULL)
		return t;
	if ((t = fd_daemon_conn_new(daemon_ptr)) == NULL)
		return NULL;
	smfi_setpriv(ctx, t);
	return t;
}

/*
 * refused - a command turned away because filterd is stopping: one line
 * each, not a count at the end of the stop. libmilter, once stopped,
 * hands a filter only the commands an MTA already sent on a session
 * still on its worker (the one whose callback the stop waited for), so
 * there are a few per connection in flight, never a flood; and a count
 * main() logs could miss the commands that come after it. The line
 * cannot name the connection: its txn is main()'s to free now, so it
 * gives the stage and the MTA's queue id, which libmilter still holds.
 */
static void
refused(SMFICTX *ctx, uint32_t stage)
{
	const char	*qid = smfi_getsymval(ctx, "i");
	char		 esc[64];

	fd_log(FD_LOG_INFO, "stage=%s qid=%s: answered tempfail, filterd is "
	    "stopping", stage != 0 ? fd_stage_name(stage) : "negotiate",
	    fd_escape_str(esc, sizeof(esc), qid != NULL ? qid : "-"));
}

/*
 * enter - our context for a callback at stage (0: negotiation), or
 * NULL: none can be made, or filterd is stopping and main() owns every
 * context now (daemon.h). What enter() returned is given back with
 * leave().
 */
static struct fd_txn *
enter(SMFICTX *ctx, uint32_t stage)
{
	struct fd_txn	*t;

	if (fd_daemon_enter(daemon_ptr) < 0) {
		refused(ctx, stage);
		return NULL;
	}
	if ((t = txn_of(ctx)) == NULL)
		fd_daemon_leave(daemon_ptr);
	return t;
}

/* leave - the callback's answer, once it no longer touches its context */
static sfsistat
leave(sfsistat rc)
{
	fd_daemon_leave(daemon_ptr);
	return rc;
}

/* the stages before RCPT, whose verdicts delay-reject holds */
#define EARLY_STAGES	(FD_ST_CONNECT | FD_ST_HELO | FD_ST_MAIL)

/* the stages of the connection, before any message */
#define CONN_STAGES	(FD_ST_CONNECT | FD_ST_HELO)

/* early_discard - a discard where there is no message to drop: the MTA
 * ignores one at CONNECT or HELO (Postfix logs a warning and goes on, as
 * Sendmail does), and the messages that follow would be delivered */
static int
early_discard(uint32_t stage, enum fd_action a)
{
	return a == FD_DISCARD && (stage & CONN_STAGES);
}

/* condemns - a verdict that refuses, so it can be held */
static int
condemns(enum fd_action a)
{
	return a == FD_REJECT || a == FD_TEMPFAIL || a == FD_DISCARD;
}

/*
 * answer - dispatch one stage. A refusal reached at connect is held and
 * given at the next stage that awaits a reply, and each later one until
 * its message or connection ends: libmilter cannot set a reply text at
 * connect. So is one reached at a stage whose reply the MTA does not
 * await (where nothing was to answer: see reply_stages). With
 * delay-reject every refusal reached before RCPT is held: `rcpt` gives it
 * at each RCPT of its message (of the connection if reached at CONNECT or
 * HELO), as Postfix's smtpd_delay_reject does; `eom` at the first later
 * stage that is replied to, end of message at the latest. A discard
 * reached before MAIL is held for every message of the connection.
 */
static sfsistat
answer(SMFICTX *ctx, struct fd_txn *t, uint32_t stage,
    const unsigned char *chunk, size_t len)
{
	int		 delay = t->gen->conf->delay_reject != FD_DELAY_NO;
	int		 silent = (t->noreply & stage) != 0;
	enum fd_action	 a;

	if (t->held.action != FD_CONTINUE) {
		/* nothing left to decide; wait for the stage that replies */
		if (silent || ((stage & EARLY_STAGES) && delay) ||
		    early_discard(stage, t->held.action))
			return verdict(ctx, t, stage, FD_CONTINUE);
		/* given again at each stage that replies until it ends
		 * (with its message, or the connection): the MTA takes a
		 * refusal at MAIL, RCPT or later for that command alone */
		a = fd_txn_held_reply(t);
		return verdict(ctx, t, stage, a);
	}
	a = fd_dispatch(t, stage, chunk, len);
	if (condemns(a) && (stage == FD_ST_CONNECT || silent ||
	    (delay && (stage & EARLY_STAGES)) || early_discard(stage, a))) {
		fd_txn_hold(t, a);
		a = FD_CONTINUE;
	}
	return verdict(ctx, t, stage, a);
}

/*
 * ends_message - after this answer at a stage before end of message,
 * libmilter and the MTA are done with the message and send no abort for
 * it: an accept, a discard, or a refusal anywhere but at RCPT (which
 * refuses that recipient alone)
 */
static int
ends_message(uint32_t stage, sfsistat rc)
{
	if ((stage & CONN_STAGES) || stage == FD_ST_EOM)
		return 0;
	switch (rc) {
	case SMFIS_ACCEPT:
	case SMFIS_DISCARD:
		return 1;
	case SMFIS_REJECT:
	case SMFIS_TEMPFAIL:
		return stage != FD_ST_RCPT;
	default:
		return 0;
	}
}

/* the stages of a message after MAIL, which begins it */
#define MSG_STAGES	(FD_ST_RCPT | FD_ST_DATA | FD_ST_HEADER | FD_ST_EOH | \
			 FD_ST_BODY | FD_ST_EOM)

/*
 * outside - the answer to a message command that came with no message
 * open. libmilter passes one on after an UNKNOWN command, and after an
 * answer that ended the message (a DISCARD at RCPT): Postfix and
 * Sendmail send neither, so the peer does not follow the protocol.
 * Nothing is decided on it, since rules and plugins read the message it
 * would belong to. It is refused for now, so that a sender behind a
 * faulty MTA loses nothing (where the MTA awaits a reply), and logged
 * once per connection.
 */
static sfsistat
outside(SMFICTX *ctx, struct fd_txn *t, uint32_t stage)
{
	char	 text[128];
	int	 silent = (t->noreply & stage) != 0;

	if (!t->outside_logged) {
		t->outside_logged = 1;
		snprintf(text, sizeof(text), "stage=%s: the MTA sent a "
		    "message command with no message open; %s",
		    fd_stage_name(stage), silent ? "not decided (the MTA "
		    "awaits no reply there)" : "answered tempfail");
		fd_conn_log(t, FD_LOG_WARN, text);
	}
	if (silent)
		return SMFIS_NOREPLY;
	(void)smfi_setreply(ctx, "451", "4.5.0", "Command out of sequence, "
	    "try again later");
	return SMFIS_TEMPFAIL;
}

/*
 * decide - answer one stage; a message that answer ends is ended here, so
 * that nothing of it is seen by what comes before the next MAIL (a HELO
 * again: a skip there is the connection's)
 */
static sfsistat
decide(SMFICTX *ctx, struct fd_txn *t, uint32_t stage,
    const unsigned char *chunk, size_t len)
{
	sfsistat	 rc;

	if ((stage & MSG_STAGES) && !t->msg.active)
		return outside(ctx, t, stage);
	rc = answer(ctx, t, stage, chunk, len);
	if (ends_message(stage, rc))
		fd_txn_msg_end(t);
	return rc;
}

/*
 * reply_stages - the stages whose reply the MTA must await: those where a
 * rule or plugin may answer, moved on by delay-reject, and those where a
 * refusal reached at CONNECT is given (libmilter has no reply text there).
 */
static uint32_t
reply_stages(const struct fd_gen *gen)
{
	uint32_t	 r = gen->decides;

	switch (gen->conf->delay_reject) {
	case FD_DELAY_RCPT:
		if (r & EARLY_STAGES)
			r = (r & ~EARLY_STAGES) | FD_ST_RCPT;
		break;
	case FD_DELAY_EOM:
		/* held to a later stage that answers anyway, or EOM, whose
		 * reply the MTA always awaits */
		r &= ~EARLY_STAGES;
		break;
	default:
		if (r & FD_ST_CONNECT)
			r |= FD_ST_HELO | FD_ST_MAIL;
		break;
	}
	return r;
}

static sfsistat
m_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1,
    unsigned long f2, unsigned long f3, unsigned long *pf0,
    unsigned long *pf1, unsigned long *pf2, unsigned long *pf3)
{
	/* stage bit -> (protocol step off, no-reply flag) */
	static const struct { uint32_t st; unsigned long off, nr; } steps[] = {
		{ FD_ST_CONNECT, 0, SMFIP_NR_CONN },
		{ FD_ST_HELO, 0, SMFIP_NR_HELO },
		{ FD_ST_MAIL, 0, SMFIP_NR_MAIL },
		{ FD_ST_RCPT, 0, SMFIP_NR_RCPT },
		{ FD_ST_DATA, SMFIP_NODATA, SMFIP_NR_DATA },
		{ FD_ST_HEADER, SMFIP_NOHDRS, SMFIP_NR_HDR },
		{ FD_ST_EOH, SMFIP_NOEOH, SMFIP_NR_EOH },
		{ FD_ST_BODY, SMFIP_NOBODY, SMFIP_NR_BODY },
	};
	struct fd_txn	*t;
	unsigned long	 proto = SMFIP_NOUNKNOWN | SMFIP_NR_UNKN;
	uint32_t	 needs, replies;
	size_t		 i;
	int		 st;

	if ((t = enter(ctx, 0)) == NULL)
		return SMFIS_TEMPFAIL;
	needs = t->gen->stages;
	replies = reply_stages(t->gen);
	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		if (!(needs & steps[i].st))
			proto |= steps[i].off;
		if (!(replies & steps[i].st) && (f1 & steps[i].nr)) {
			proto |= steps[i].nr;
			t->noreply |= steps[i].st;
		}
	}
	*pf0 = SMFIF_ADDHDRS & f0;
	*pf1 = proto & f1;
	*pf2 = 0;
	*pf3 = 0;
#ifdef HAVE_SMFI_SETSYMLIST
	if (f0 & SMFIF_SETSYMLIST) {
		*pf0 |= SMFIF_SETSYMLIST;
		for (st = SMFIM_CONNECT; st <= SMFIM_LAST; st++)
			if (t->gen->symlist[st][0] != '\0')
				smfi_setsymlist(ctx, st, t->gen->symlist[st]);
	}
#else
	(void)st;
#endif
	return leave(SMFIS_CONTINUE);
}

static sfsistat
m_connect(SMFICTX *ctx, char *hostname, _SOCK_ADDR *sa)
{
	struct fd_txn	*t;

	if ((t = enter(ctx, FD_ST_CONNECT)) == NULL)
		return SMFIS_TEMPFAIL;
	fd_txn_set_addr(t, sa);
	fd_txn_set_client_name(t, hostname);
	read_macros(ctx, t, SMFIM_CONNECT);
	return leave(decide(ctx, t, FD_ST_CONNECT, NULL, 0));
}

static sfsistat
m_helo(SMFICTX *ctx, char *helo)
{
	struct fd_txn	*t;

	if ((t = enter(ctx, FD_ST_HELO)) == NULL)
		return SMFIS_TEMPFAIL;
	fd_txn_set_helo(t, helo);
	read_macros(ctx, t, SMFIM_HELO);
	return leave(decide(ctx, t, FD_ST_HELO, NULL, 0));
}

/*
 * size_param - the octets MAIL's SIZE= declares (RFC 1870: digits only),
 * or 0, no size, for anything else: strtoull would take "-1" for the
 * largest size there is and skip leading blanks
 */
static uint64_t
size_param(const char *s)
{
	uint64_t	 n = 0;

	if (*s == '\0')
		return 0;
	for (; *s >= '0' && *s <= '9'; s++) {
		if (n > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			return 0;
		n = n * 10 + (uint64_t)(*s - '0');
	}
	return *s == '\0' ? n : 0;
}

static sfsistat
m_envfrom(SMFICTX *ctx, char **argv)
{
	struct fd_txn	*t;
	int		 i;

	if ((t = enter(ctx, FD_ST_MAIL)) == NULL)
		return SMFIS_TEMPFAIL;
	read_macros(ctx, t, SMFIM_ENVFROM);
	fd_txn_msg_begin(t, argv[0]);
	for (i = 1; argv[i] != NULL; i++)
		if (strncasecmp(argv[i], "SIZE=", 5) == 0)
			t->msg.size_param = size_param(argv[i] + 5);
	return leave(decide(ctx, t, FD_ST_MAIL, NULL, 0));
}

static sfsistat
m_envrcpt(SMFICTX *ctx, char **argv)
{
	struct fd_txn	*t;
	sfsistat	 rc;

	if ((t = enter(ctx, FD_ST_RCPT)) == NULL)
		return SMFIS_TEMPFAIL;
	if (!t->msg.active)
		return leave(outside(ctx, t, FD_ST_RCPT));
	read_macros(ctx, t, SMFIM_ENVRCPT);
	/* Postfix names the queue only once a recipient is valid */
	fd_txn_set_queue_id(t, fd_txn_macro(t, "i"));
	fd_txn_rcpt_begin(t, argv[0]);
	rc = decide(ctx, t, FD_ST_RCPT, NULL, 0);
	if (rc == SMFIS_CONTINUE || rc == SMFIS_NOREPLY)
		fd_txn_rcpt_accept(t);
	else
		fd_txn_rcpt_drop(t);
	return leave(rc);
}

static sfsistat
m_data(SMFICTX *ctx)
{
	struct fd_txn	*t;

	if ((t = enter(ctx, FD_ST_DATA)) == NULL)
		return SMFIS_TEMPFAIL;
	read_macros(ctx, t, SMFIM_DATA);
	return leave(decide(ctx, t, FD_ST_DATA, NULL, 0));
}

static sfsistat
m_header(SMFICTX *ctx, char *name, char *value)
{
	struct fd_txn	*t;
	sfsistat	 rc;

	if ((t = enter(ctx, FD_ST_HEADER)) == NULL)
		return SMFIS_TEMPFAIL;
	t->msg.nheaders++;
	t->msg.hdr_name = name;
	/* rules and plugins read the value a reader sees; libmilter's copy
	 * of it is ours until the callback returns */
	t->msg.hdr_value = fd_header_unfold(value);
	rc = decide(ctx, t, FD_ST_HEADER, NULL, 0);
	t->msg.hdr_name = t->msg.hdr_value = NULL;
	return leave(rc);
}

static sfsistat
m_eoh(SMFICTX *ctx)
{
	struct fd_txn	*t;

	if ((t = enter(ctx, FD_ST_EOH)) == NULL)
		return SMFIS_TEMPFAIL;
	read_macros(ctx, t, SMFIM_EOH);
	return leave(decide(ctx, t, FD_ST_EOH, NULL, 0));
}

static sfsistat
m_body(SMFICTX *ctx, unsigned char *chunk, size_t len)
{
	struct fd_txn	*t;

	if ((t = enter(ctx, FD_ST_BODY)) == NULL)
		return SMFIS_TEMPFAIL;
	t->msg.body_size += len;
	return leave(decide(ctx, t, FD_ST_BODY, chunk, len));
}

/* add_headers - what rules and plugins queued, if the message passes */
static void
add_headers(SMFICTX *ctx, struct fd_txn *t)
{
	const struct fd_kv	*h;
	char			 text[256];

	for (h = t->msg.headers; h != NULL; h = h->next)
		if (smfi_addheader(ctx, h->name, h->value) != MI_SUCCESS) {
			/* the MTA did not grant it, or the connection broke */
			snprintf(text, sizeof(text), "could not add header %s",
			    h->name);
			fd_conn_log(t, FD_LOG_WARN, text);
		}
}

static sfsistat
m_eom(SMFICTX *ctx)
{
	struct fd_txn	*t;
	sfsistat	 rc;

	if ((t = enter(ctx, FD_ST_EOM)) == NULL)
		return SMFIS_TEMPFAIL;
	read_macros(ctx, t, SMFIM_EOM);
	/* Postfix names the queue only once a recipient is valid */
	fd_txn_set_queue_id(t, fd_txn_macro(t, "i"));
	rc = decide(ctx, t, FD_ST_EOM, NULL, 0);
	if (rc == SMFIS_CONTINUE || rc == SMFIS_ACCEPT)
		add_headers(ctx, t);
	fd_txn_msg_end(t);
	return leave(rc);
}

static sfsistat
m_abort(SMFICTX *ctx)
{
	struct fd_txn	*t;

	if (fd_daemon_enter(daemon_ptr) < 0)
		return SMFIS_CONTINUE;
	if ((t = smfi_getpriv(ctx)) != NULL)
		fd_txn_msg_end(t);
	return leave(SMFIS_CONTINUE);
}

static sfsistat
m_close(SMFICTX *ctx)
{
	struct fd_txn	*t;

	if (fd_daemon_enter(daemon_ptr) < 0)
		return SMFIS_CONTINUE;
	t = smfi_getpriv(ctx);
	smfi_setpriv(ctx, NULL);
	if (t != NULL)
		fd_daemon_conn_free(daemon_ptr, t);
	return leave(SMFIS_CONTINUE);
}

static sfsistat
m_unknown(SMFICTX *ctx, const char *cmd)
{
	return SMFIS_CONTINUE;
}

static struct smfiDesc desc = {
	.xxfi_name = "filterd",
	.xxfi_version = SMFI_VERSION,
	.xxfi_flags = SMFIF_ADDHDRS,
	.xxfi_connect = m_connect,
	.xxfi_helo = m_helo,
	.xxfi_envfrom = m_envfrom,
	.xxfi_envrcpt = m_envrcpt,
	.xxfi_header = m_header,
	.xxfi_eoh = m_eoh,
	.xxfi_body = m_body,
	.xxfi_eom = m_eom,
	.xxfi_abort = m_abort,
	.xxfi_close = m_close,
	.xxfi_unknown = m_unknown,
	.xxfi_data = m_data,
	.xxfi_negotiate = m_negotiate,
};

/*
 * nodelay_listeners - TCP_NODELAY on the listening socket libmilter just
 * opened (accepted sockets inherit it on Linux). At end of message
 * libmilter writes a header change and the final reply as two small
 * packets; with Nagle on, the second waits for the MTA's delayed ACK,
 * about 40 ms per message. libmilter gives no handle to its socket, so
 * find it: the one TCP socket of ours in the listening state.
 */
static void
nodelay_listeners(void)
{
	struct sockaddr_storage	 ss;
	socklen_t		 len;
	int			 fd, on = 1, listening;

	for (fd = 0; fd < 1024; fd++) {
		len = sizeof(listening);
		if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening,
		    &len) < 0 || !listening)
			continue;
		len = sizeof(ss);
		memset(&ss, 0, sizeof(ss));
		if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0 ||
		    (ss.ss_family != AF_INET && ss.ss_family != AF_INET6))
			continue;
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	}
}

const char *
fd_milter_socket_path(const char *spec)
{
	if (strncmp(spec, "unix:", 5) == 0)
		return spec + 5;
	if (strncmp(spec, "local:", 6) == 0)
		return spec + 6;
	return spec[0] == '/' ? spec : NULL;
}

/*
 * socket_in_use - something accepts connections on the unix socket at
 * path. libmilter removes any socket it finds there before binding: right
 * for one a crash left behind, which refuses connections, but a second
 * filterd started by mistake would take the first one's socket and leave
 * it serving nobody.
 */
static int
socket_in_use(const char *path)
{
	struct sockaddr_un	 sun;
	int			 fd, rc, err;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path))
		return 0;	/* libmilter refuses it itself */
	memcpy(sun.sun_path, path, strlen(path));
	/* non-blocking: a blocking connect to a listener whose backlog is
	 * full waits for a free slot, forever if it accepts nothing (a
	 * stopped filterd); this one fails with EAGAIN instead */
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0)) < 0)
		return 0;
	rc = connect(fd, (struct sockaddr *)&sun, sizeof(sun));
	err = errno;
	close(fd);
	/* a full backlog still means a listener */
	return rc == 0 || err == EAGAIN;
}

/*
 * open_socket - bind the milter socket, while we may still have the
 * privileges for it. A unix socket gets socket-mode from the umask it is
 * made under, not from a chmod by name afterwards: the directory may be
 * the run user's, whose process could by then have put a link there to
 * a file of root's. The umask is the process's, but nothing else makes
 * files this early. libmilter tells only syslog why it failed; errno
 * still holds the reason when a system call failed, and stays 0 when no
 * address was found for the host (the config checked the rest).
 */
static int
open_socket(const struct fd_conf *conf)
{
	mode_t	 old = 0;
	int	 rc, saved;

	if (conf->socket_mode >= 0)
		old = umask(~(mode_t)conf->socket_mode & 0777);
	errno = 0;
	rc = smfi_opensocket(1) == MI_SUCCESS ? 0 : -1;
	saved = errno;
	if (conf->socket_mode >= 0)
		(void)umask(old);
	errno = saved;
	return rc;
}

/* in_the_way - what takes a unix socket's place, if not a socket: libmilter
 * fails on it without a reason, and filterd said "no address of its
 * family found for the host" */
static const char *
in_the_way(const char *path)
{
	struct stat	 st;

	if (lstat(path, &st) < 0 || S_ISSOCK(st.st_mode))
		return NULL;
	return S_ISLNK(st.st_mode) ? "a symbolic link" : S_ISDIR(st.st_mode) ?
	    "a directory" : "a file that is not a socket";
}

int
fd_milter_setup(struct fd_daemon *d, const struct fd_conf *conf)
{
	const char	*path = fd_milter_socket_path(conf->socket), *what;

	daemon_ptr = d;
	if (path != NULL && (what = in_the_way(path)) != NULL) {
		fd_log_errx("socket %s: refused: %s is in its place (remove it)",
		    path, what);
		return -1;
	}
	if (path != NULL && socket_in_use(path)) {
		fd_log_errx("socket %s: in use: something is listening on it",
		    path);
		return -1;
	}
	if (smfi_register(desc) != MI_SUCCESS) {
		fd_log_errx("smfi_register failed");
		return -1;
	}
	if (smfi_setconn((char *)conf->socket) != MI_SUCCESS) {
		fd_log_errx("socket %s: smfi_setconn failed", conf->socket);
		return -1;
	}
	if (conf->milter_timeout > 0)
		smfi_settimeout((int)conf->milter_timeout);
	if (open_socket(conf) < 0) {
		fd_log_errx("socket %s: cannot open: %s", conf->socket,
		    errno != 0 ? strerror(errno) : path != NULL ? "libmilter "
		    "gave no reason" : "no address of its family found for the "
		    "host");
		return -1;
	}
	nodelay_listeners();
	return 0;
}

/*
 * libmilter creates its threads with default attributes, so the process
 * default is the only place to say how large their stacks are. glibc
 * copies it under a lock at each pthread_create: a reload may change it
 * while sessions start.
 */
#ifdef HAVE_PTHREAD_SETATTR_DEFAULT_NP
int
fd_milter_stack(size_t bytes, char *err, size_t errlen)
{
	pthread_attr_t	 attr;
	int		 rc;

	if ((rc = pthread_getattr_default_np(&attr)) != 0) {
		snprintf(err, errlen, "thread stack: %s", strerror(rc));
		return -1;
	}
	if ((rc = pthread_attr_setstacksize(&attr, bytes)) == 0)
		rc = pthread_setattr_default_np(&attr);
	pthread_attr_destroy(&attr);
	if (rc != 0) {
		snprintf(err, errlen, "thread stack of %zu bytes: %s", bytes,
		    strerror(rc));
		return -1;
	}
	return 0;
}
#else
int
fd_milter_stack(size_t bytes, char *err, size_t errlen)
{
	snprintf(err, errlen, "thread stack of %zu bytes: this system cannot "
	    "set libmilter's", bytes);
	return -1;
}
#endif

int
fd_milter_run(void)
{
	return smfi_main() == MI_SUCCESS ? 0 : -1;
}

void
fd_milter_stop(void)
{
	smfi_stop();
}
