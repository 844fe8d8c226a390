/*
 * txn.h -- a milter connection and its current message
 *
 * One fd_txn per MTA connection, owned by milter.c through libmilter's
 * private pointer. It pins the configuration generation it started on
 * (gen), so a reload never changes the rules under a conversation.
 *
 * Lifetimes:
 *   connection fields  set at connect/HELO, freed by fd_txn_free at close;
 *   message fields     (the msg member) reset by fd_txn_msg_end at MAIL,
 *                      after EOM, on abort, after an answer that ends the
 *                      message early (milter.c), and at close, in
 *                      whatever order the MTA's calls arrive.
 *
 * Everything here is plain data filled from libmilter's arguments by
 * milter.c; rules, dispatch and plugins read it without libmilter, which
 * is what lets the unit tests build a txn by hand.
 *
 * Storage: only fd_txn_new makes a txn. It is one allocation holding the
 * txn, the plugins' connection and message slots and the store plan; the
 * strings (names, addresses, macros, params, headers) live in two pools
 * inside it, one for the connection and one emptied at each message's
 * end, which take more memory from the heap only when they are full.
 * Read the string fields; set them only through the functions below.
 * text, reason and held.text are heap strings of their own.
 */
#ifndef FD_TXN_H
#define FD_TXN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "filterd/plugin.h"

struct fd_gen;
struct fd_plan;

/* {client_resolve} as Postfix and Sendmail report it */
enum fd_resolve {
	FD_RESOLVE_UNKNOWN = 0,	/* macro not sent */
	FD_RESOLVE_OK,		/* forward-confirmed reverse DNS */
	FD_RESOLVE_FAIL,
	FD_RESOLVE_FORGED,
	FD_RESOLVE_TEMP
};

struct fd_kv {
	char		*name;		/* a macro's without its braces: "j" */
	char		*value;
	int		 owner;		/* plugin index for params, -1 otherwise */
	uint32_t	 stage;		/* macros: FD_ST_ that sent it; 0: forgotten */
	struct fd_kv	*next;
	size_t		 name_len;	/* txn.c's: strlen(name) */
	size_t		 value_room;	/* txn.c's: bytes at value */
};

struct fd_msg {
	int		 active;	/* between MAIL and the end of the message */
	char		*queue_id;	/* {i} at MAIL, or fd_txn_set_queue_id */
	char		*sender;	/* without <>; "" for the null sender */
	char		*auth_user;	/* {auth_authen} at MAIL, NULL if none */
	char		*auth_type;	/* {auth_type} */
	char		*rcpt;		/* the recipient under decision */
	char		**rcpts;	/* recipients accepted so far */
	uint64_t	*rcpt_skips;	/* each one's rcpt_skip, in step */
	size_t		 nrcpts;
	size_t		 rcpts_cap;
	const char	*hdr_name;	/* at the header stage; libmilter's */
	const char	*hdr_value;
	uint64_t	 nheaders;
	uint64_t	 body_size;
	uint64_t	 size_param;	/* SIZE= from MAIL, 0 if absent */
	uint64_t	 skip;		/* bit i: skip plugin i (rules' skip) */
	uint64_t	 rcpt_skip;	/* skip decided at RCPT: this recipient */
	int		 accepted;	/* a rule or plugin accepted the message */
	struct fd_kv	*params;	/* rules' set PLUGIN.PARAM VALUE */
	struct fd_kv	*headers;	/* to add at EOM, in order */
	void		**priv;		/* per-plugin message slots */
};

struct fd_txn {
	struct fd_gen	*gen;		/* pinned; released at close */
	uint64_t	 id;		/* connection number, for logs */

	int		 family;	/* AF_INET, AF_INET6, or 0 */
	unsigned char	 ip[16];	/* binary address, ip_len bytes */
	size_t		 ip_len;	/* 4 (IPv4 or IPv4-mapped) or 16 */
	char		 addr[64];	/* printable address, "" if none */
	char		*client_name;	/* as the MTA reports it */
	enum fd_resolve	 resolve;
	int		 local;		/* loopback or unix socket */
	char		*helo;		/* last HELO/EHLO */
	unsigned	 helo_count;
	unsigned	 msg_count;
	int		 accepted;	/* whole connection accepted */
	uint64_t	 skip;		/* skip set before MAIL: every message */
	uint32_t	 stage;		/* FD_ST_* being decided */
	struct fd_kv	*macros;	/* macros the MTA sent, latest first */
	uint32_t	 macro_stage;	/* FD_ST_ of the macros being set */

	/* reply under construction at the current stage */
	char		 rcode[4];
	char		 xcode[12];
	char		*text;
	char		*reason;
	const char	*decider;	/* rule or plugin name of this stage */
	/*
	 * A verdict reached at a stage that could not give it (connect,
	 * where libmilter has no reply text; a stage the MTA awaits no
	 * reply for; any stage before RCPT with delay-reject; a discard
	 * before MAIL): its action and reply, for each later stage that
	 * does, until its message or the connection ends.
	 */
	struct {
		enum fd_action	 action;	/* FD_CONTINUE: none held */
		int		 msg;		/* reached in a message: ends with it */
		char		 rcode[4];
		char		 xcode[12];
		char		*text;
	} held;
	uint32_t	 noreply;	/* stages the MTA awaits no reply for */
	int		 outside_logged; /* a message command with no message */

	void		**priv;		/* per-plugin connection slots */
	struct fd_plan	*plan;		/* store calls planned at this stage */
	struct fd_msg	 msg;

	/* the daemon's list of open connections (daemon.c) */
	struct fd_txn	*conn_prev, *conn_next;
};

/* fd_txn_new - a connection on generation gen (taken: released at free) */
struct fd_txn	*fd_txn_new(struct fd_gen *gen, uint64_t id);
/* fd_txn_free - end the message and connection, call plugins' end hooks,
 * release the generation; returns NULL */
struct fd_txn	*fd_txn_free(struct fd_txn *);

/* fd_txn_set_addr - client address from a sockaddr (NULL: none) */
void	 fd_txn_set_addr(struct fd_txn *, const struct sockaddr *);
/* fd_txn_set_addr_str - client address from text, for tests and tools */
int	 fd_txn_set_addr_str(struct fd_txn *, const char *);
void	 fd_txn_set_client_name(struct fd_txn *, const char *);
void	 fd_txn_set_helo(struct fd_txn *, const char *);
/* fd_txn_macro_stage - the macros set from now on come with the command
 * of stage (FD_ST_*). At MAIL and at RCPT those that came with that
 * command or a later one are forgotten first, as libmilter forgets its
 * own: a macro the MTA does not send again must not keep the last
 * message's or recipient's value. */
void	 fd_txn_macro_stage(struct fd_txn *, uint32_t stage);
/* fd_txn_set_macro - remember a macro value (name as "{x}" or "x") */
void	 fd_txn_set_macro(struct fd_txn *, const char *name, const char *value);
/* fd_txn_macro - a macro's value; "j" and "{j}" name the same macro */
const char *fd_txn_macro(const struct fd_txn *, const char *name);

/* fd_txn_msg_begin - end any message and start a new one at MAIL */
void	 fd_txn_msg_begin(struct fd_txn *, const char *sender);
/* fd_txn_msg_end - end the current message (idempotent) */
void	 fd_txn_msg_end(struct fd_txn *);
/* fd_txn_set_queue_id - the queue id, when the MTA names it only after
 * MAIL (Postfix: at RCPT or end of message); a copy, for this message */
void	 fd_txn_set_queue_id(struct fd_txn *, const char *);
/* fd_txn_rcpt_begin - recipient under decision */
void	 fd_txn_rcpt_begin(struct fd_txn *, const char *rcpt);
/* fd_txn_rcpt_accept - the recipient passed: append to the list */
void	 fd_txn_rcpt_accept(struct fd_txn *);
/* fd_txn_rcpt_drop - the recipient was refused: no current one until the
 * next RCPT, so later stages do not name it */
void	 fd_txn_rcpt_drop(struct fd_txn *);

/* what rules do to a message */
void	 fd_txn_skip(struct fd_txn *, unsigned plugin_index);
void	 fd_txn_param_set(struct fd_txn *, int plugin_index, const char *name,
	    const char *value);
const char *fd_txn_param(const struct fd_txn *, int plugin_index, const char *name);
void	 fd_txn_header_add(struct fd_txn *, const char *name, const char *value);
/* fd_header_name_ok - an RFC 5322 field name: 1-128 printable ASCII bytes,
 * no colon; fd_header_value_ok - a value without CR or LF, which would
 * let it start a header line of its own */
int	 fd_header_name_ok(const char *name);
int	 fd_header_value_ok(const char *value);
/* fd_header_fits - "name: value" fits one line of RFC 5322 (998 octets):
 * the value is never folded, and one too long is refused by libmilter or
 * by a later hop */
#define FD_HEADER_LINE_MAX	998
int	 fd_header_fits(const char *name, const char *value);
/* fd_header_unfold - value unfolded in place (RFC 5322 2.2.3): each line
 * break, CRLF or a bare LF, that white space follows is removed; returns
 * value */
char	*fd_header_unfold(char *value);

/* the reply of the current stage */
void	 fd_txn_reply(struct fd_txn *, const char *rcode, const char *xcode,
	    const char *text);
void	 fd_txn_reason(struct fd_txn *, const char *text);
void	 fd_txn_reply_clear(struct fd_txn *);

/* fd_txn_hold - keep the current reply and action a for later stages;
 * one reached in a message is dropped with it, one reached before MAIL
 * holds for the connection */
void	 fd_txn_hold(struct fd_txn *, enum fd_action a);
/* fd_txn_held_reply - make the held reply the current one; its action */
enum fd_action fd_txn_held_reply(struct fd_txn *);
void	 fd_txn_held_clear(struct fd_txn *);

/* fd_strip_brackets - "<a@b>" -> "a@b" into a new string; "<>" -> "" */
char	*fd_strip_brackets(const char *);

#endif
