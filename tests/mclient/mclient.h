/*
 * mclient.h -- a milter protocol client that speaks to a filter as Postfix does
 *
 * The project's own MTA side of the Sendmail milter protocol, version 6,
 * for integration tests, the fd-mtest command line tool and the load
 * generator. It behaves like Postfix's milter8 client:
 *
 *  - OPTNEG offers what Postfix offers (every action, every protocol bit of
 *    version 6) unless the caller offers less, and honours the answer: a
 *    step the filter turned off with SMFIP_NO* is not sent (its macros
 *    still are, as Postfix does), and no reply is awaited for a step the
 *    filter marked SMFIP_NR_* (the command stays buffered until the next
 *    read, so unreplied steps are pipelined as Postfix pipelines them).
 *  - An SMFIC_MACRO packet precedes every event, built from a per-stage
 *    list of macro names (Postfix's defaults, or the list the filter asked
 *    for with smfi_setsymlist) and the values the caller set; undefined
 *    macros are left out.
 *  - Body text is gathered into chunks of at most 65535 bytes; the last
 *    partial chunk goes out as SMFIC_BODY just before SMFIC_BODYEOB.
 *  - A final reply at CONNECT or HELO closes the milter connection (accept:
 *    later steps are skipped; reject/tempfail: later steps return that same
 *    reply unsent); accept or discard of a message skips its later steps;
 *    SMFIR_SKIP skips further events of the same kind.
 *
 * Every read and write has a deadline (the connection's timeout). Nothing
 * here is global: one struct mc_conn per milter connection, to be used by
 * one thread at a time; different connections may run in parallel.
 *
 * Return values. Each event returns an enum mc_action: what the filter
 * said, MC_NOREPLY when no reply is awaited, MC_SKIPPED when nothing was
 * sent, or MC_ERROR (see mc_error()/mc_errcode()); after an error the
 * connection only returns MC_ERROR. The full reply of the last event
 * (reply code, enhanced code, text, header edits at end of message) is
 * mc_last(); its strings live until the next event on the connection.
 */
#ifndef FD_MCLIENT_H
#define FD_MCLIENT_H

#include <stddef.h>
#include <stdint.h>

/* What Postfix offers in OPTNEG: every SMFIF_* action and SMFIP_* bit. */
#define MC_POSTFIX_ACTIONS	0x000001ffu
#define MC_POSTFIX_PROTO	0x001fffffu
#define MC_PROTO_VERSION	6

enum mc_action {
	MC_ERROR = -1,		/* I/O, timeout or protocol error */
	MC_NOREPLY = 0,		/* sent (or buffered); no reply awaited */
	MC_SKIPPED,		/* not sent: turned off, skipped or decided */
	MC_CONTINUE,
	MC_ACCEPT,
	MC_REJECT,		/* SMFIR_REJECT, or SMFIR_REPLYCODE 5xx */
	MC_TEMPFAIL,		/* SMFIR_TEMPFAIL, or SMFIR_REPLYCODE 4xx */
	MC_DISCARD,
	MC_SKIP,		/* SMFIR_SKIP: skip further events of this kind */
	MC_SHUTDOWN,		/* SMFIR_SHUTDOWN: 421, connection closed */
	MC_CONNFAIL		/* SMFIR_CONN_FAIL */
};

/* Macro stages; the first seven are the SMFIM_* numbers of the protocol. */
enum mc_stage {
	MC_ST_CONNECT = 0,
	MC_ST_HELO,
	MC_ST_MAIL,
	MC_ST_RCPT,
	MC_ST_DATA,
	MC_ST_EOM,		/* also sent before each body chunk */
	MC_ST_EOH,		/* also sent before each header */
	MC_ST_UNKNOWN,
	MC_ST_N
};

/* Error classes for mc_errcode(). */
enum mc_err {
	MC_EOK = 0,
	MC_ETIMEDOUT,		/* a read or write passed its deadline */
	MC_EIO,			/* connect, read or write failed; EOF */
	MC_EPROTO,		/* the filter broke the protocol */
	MC_ESTATE		/* the caller asked for something out of order */
};

/* A modification requested at end of message, in the order received. */
struct mc_mod {
	int		 type;		/* SMFIR_ADDHEADER, SMFIR_INSHEADER, ... */
	uint32_t	 index;		/* SMFIR_INSHEADER, SMFIR_CHGHEADER */
	const char	*name;		/* header name, recipient, sender, reason */
	const char	*value;		/* header value, ESMTP args; "" if none */
	size_t		 len;		/* SMFIR_REPLBODY: bytes in value */
};

struct mc_reply {
	enum mc_action	 action;
	int		 cmd;		/* the SMFIC_* command this answers */
	int		 sent;		/* 1 if the command went out */
	int		 replycode;	/* 1 if it came as SMFIR_REPLYCODE */
	char		 rcode[4];	/* "451"; "" unless replycode */
	char		 xcode[16];	/* "4.7.1"; "" if none */
	const char	*text;		/* text after the codes; lines joined
					 * with '\n'; '%%' undone as Postfix
					 * does; "" if none */
	const char	*raw;		/* the reply string as received, or "" */
	unsigned	 progress;	/* SMFIR_PROGRESS packets seen */
	size_t		 nmods;
	const struct mc_mod *mods;
};

struct mc_conn;

/*
 * mc_connect - open a connection to spec: "unix:/path", "local:/path",
 * "/path", "inet:PORT@HOST", "inet6:PORT@HOST", "inet:HOST:PORT" (Postfix
 * form). NULL with a message in err on failure.
 */
struct mc_conn	*mc_connect(const char *spec, int timeout_ms, char *err,
		    size_t errlen);
/* mc_fdopen - a connection over an open stream socket (taken) */
struct mc_conn	*mc_fdopen(int fd, int timeout_ms);
/* mc_free - close without QUIT and release everything; returns NULL */
struct mc_conn	*mc_free(struct mc_conn *);

/* mc_set_timeout - deadline for each following read or write, in ms */
void	 mc_set_timeout(struct mc_conn *, int timeout_ms);

/*
 * Waiting. A connection waits for its socket with poll(2) unless given a
 * wait function: an event loop that runs many connections in one thread
 * (contrib/bench/loadgen) passes its own, which returns 0 when fd may be
 * ready for events (POLLIN or POLLOUT), 1 when timeout_ms passed, -1 with
 * errno on error. Waking early is harmless: the client tries the read,
 * write or connect again and waits again if it would block.
 * mc_connect_wait() waits with fn from the connect on; mc_set_wait()
 * changes it (fn NULL: poll again).
 */
typedef int mc_wait_fn(void *arg, int fd, short events, int timeout_ms);
struct mc_conn	*mc_connect_wait(const char *spec, int timeout_ms,
		    mc_wait_fn *fn, void *arg, char *err, size_t errlen);
void	 mc_set_wait(struct mc_conn *, mc_wait_fn *fn, void *arg);

/*
 * mc_negotiate - SMFIC_OPTNEG offering actions and proto (0, 0: what
 * Postfix offers); 0 on success, -1 on error. The filter's answer is
 * kept: mc_version(), mc_actions(), mc_proto(), mc_symlist().
 */
int	 mc_negotiate(struct mc_conn *, uint32_t actions, uint32_t proto);
uint32_t mc_version(const struct mc_conn *);
uint32_t mc_actions(const struct mc_conn *);
uint32_t mc_proto(const struct mc_conn *);
/* mc_symlist - macro names the filter asked for at stage, or NULL */
const char *mc_symlist(const struct mc_conn *, enum mc_stage);

/*
 * Macros. mc_macro() sets (value NULL: removes) a macro value; name is
 * "j" or "{daemon_name}" (either spelling finds the other). Defaults:
 * j, {daemon_name}, {daemon_addr}, v. At MAIL the client sets
 * {mail_addr}, at RCPT {rcpt_addr}, and unless mc_auto_qid(mc, 0) a fresh
 * queue id in i, as Postfix does.
 * mc_macro_list() replaces the names sent at a stage (NULL: Postfix's
 * default list); a list the filter sent at negotiation wins over both.
 */
void	 mc_macro(struct mc_conn *, const char *name, const char *value);
const char *mc_macro_get(const struct mc_conn *, const char *name);
void	 mc_macro_list(struct mc_conn *, enum mc_stage, const char *names);
void	 mc_auto_qid(struct mc_conn *, int on);

/*
 * Events. addr: "192.0.2.1" (family '4'), "2001:db8::1" ('6'), "/path"
 * (unix, 'L'), or NULL (unknown, 'U'). sender and rcpt get <> added if
 * they lack them; args are space-separated ESMTP parameters or NULL.
 * header value is the text after the colon: one leading space is removed
 * unless the filter asked for SMFIP_HDR_LEADSPC, as Postfix does.
 */
enum mc_action mc_connect_cmd(struct mc_conn *, const char *hostname,
		    const char *addr, unsigned port);
enum mc_action mc_helo(struct mc_conn *, const char *name);
enum mc_action mc_mail(struct mc_conn *, const char *sender, const char *args);
enum mc_action mc_rcpt(struct mc_conn *, const char *rcpt, const char *args);
enum mc_action mc_data(struct mc_conn *);
enum mc_action mc_header(struct mc_conn *, const char *name, const char *value);
enum mc_action mc_eoh(struct mc_conn *);
/* mc_body - add body bytes (CRLF lines); a full 65535-byte chunk is sent */
enum mc_action mc_body(struct mc_conn *, const void *buf, size_t len);
/* mc_eom - send what is left of the body, then SMFIC_BODYEOB */
enum mc_action mc_eom(struct mc_conn *);
enum mc_action mc_unknown(struct mc_conn *, const char *line);
/* mc_raw - command cmd with its len bytes of data, sent whatever the
 * negotiated steps and the protocol's order say, as a faulty or hostile
 * peer would; its reply read unless the filter asked for none (nrflag,
 * SMFIP_NR_*, 0 for a step that always has one). The macros set are not
 * sent. */
enum mc_action mc_raw(struct mc_conn *, int cmd, const void *data,
		    size_t len, uint32_t nrflag);

/* No reply is awaited for these three; they return 0 or -1. */
int	 mc_abort(struct mc_conn *);	/* buffered, like Postfix */
int	 mc_quit(struct mc_conn *);	/* flushes and closes the socket */
int	 mc_quit_nc(struct mc_conn *);	/* a new CONNECT may follow; only
					 * right after mc_eom (libmilter) */
/* mc_flush - write out what is buffered; 0 or -1 */
int	 mc_flush(struct mc_conn *);

const struct mc_reply *mc_last(const struct mc_conn *);
const char *mc_error(const struct mc_conn *);
enum mc_err mc_errcode(const struct mc_conn *);
/* mc_sent - packets sent with this SMFIC_* code (SMFIC_MACRO included) */
unsigned long mc_sent(const struct mc_conn *, int cmd);

/* names: "continue", "tempfail", "noreply", "error", ...; parse: 0, or
 * -1 for an unknown name */
const char *mc_action_name(enum mc_action);
int	 mc_action_parse(const char *, enum mc_action *);

#endif
