/*
 * grey_decide.h -- the greylist decision, at RCPT or at end of message
 *
 * At RCPT (the default) each recipient's triplet is checked on its own:
 * a new or early triplet gets 451 4.7.1 for that recipient only, so a
 * message with several recipients is deferred only for the new ones, and
 * the others are accepted (the sender must retry the rest; see
 * docs/PLUGIN-GREYLIST.md for the trade-off).
 *
 * At end of message (`decide-at eom`, a rule's `set greylist.decide-at
 * eom`, or a null sender with `null-sender eom`) every recipient's
 * triplet is checked at once: if any is new or early the whole message
 * is deferred, every triplet having been recorded, so the retry passes
 * for all of them and no recipient is accepted alone. With `body-hash
 * on` a second key (sender, recipients, first bytes of the body) lets a
 * retry of the same message from another address of the sender pass.
 *
 * A passing message gets one X-Greylist header, when one of its triplets
 * passed for the first time (it was really delayed), naming the longest
 * delay.
 */
#ifndef GREY_DECIDE_H
#define GREY_DECIDE_H

#include <stddef.h>
#include <stdint.h>

#include <filterd/plugin.h>

struct grey_conf;

#define GREY_CLIENT_MAX	320	/* a client key, as text */
#define GREY_KEYS_INLINE 512	/* room for usual keys in a slot */

/* settings for one message: the configuration, then rules' overrides */
struct grey_eff {
	int64_t		 delay;
	int64_t		 retry_window;
	int64_t		 pass_ttl;
	uint32_t	 awl_after;
	int64_t		 awl_ttl;
	int		 decide_eom;
	int		 header;
	const char	*message;
};

/* what the RCPT plan hook left for the hook of the same recipient */
enum grey_plan {
	GREY_PLAN_NONE = 0,	/* nothing: the hook works it out */
	GREY_PLAN_SKIP,		/* exempt, or decided at EOM */
	GREY_PLAN_CHECK		/* check plan_req (queued in the plan) */
};

/*
 * The keys of one store request (triplet, then auto-whitelist): in buf
 * when they fit, so that a recipient costs no allocation, else in heap.
 * A request points into it: it is not copied or moved while in use.
 */
struct grey_keys {
	char		*heap;		/* owned, or NULL */
	char		 buf[GREY_KEYS_INLINE];
};

/* the per-message slot (zeroed by the host at MAIL) */
struct grey_msg {
	int		 at_eom;	/* the decision waits for EOM */
	int		 mode_known;	/* at_eom worked out from settings */
	int		 delayed_set;	/* a triplet passed for the first time */
	int64_t		 delayed;	/* its delay (the longest), seconds */
	unsigned char	*body;		/* body prefix for body-hash (owned) */
	size_t		 bodylen;
	/* the client key depends on the connection only: made once */
	int		 client_set;
	char		 client[GREY_CLIENT_MAX];
	enum grey_plan	 plan;
	size_t		 plan_rcpt;	/* at EOM: whose request plan_req is */
	struct grey_eff	 plan_eff;
	struct fd_grey_req plan_req;	/* its keys: */
	struct grey_keys plan_keys;
};

/* grey_set_check - a rule's `set greylist.PARAM VALUE`, at load: one of
 * FD_SET_OK, FD_SET_BAD_PARAM, FD_SET_BAD_VALUE (why says what is
 * expected) */
int	 grey_set_check(const char *param, const char *value, char *why,
	    size_t len);
/* grey_eff_get - the configuration with the message's `set greylist.X`
 * values applied; a bad value is logged and ignored */
void	 grey_eff_get(const struct grey_conf *, struct fd_txn *,
	    struct grey_eff *);

/* grey_plan_rcpt - the plan hook at RCPT: queue the store call that
 * grey_on_rcpt is about to make (see host->plan_grey), if any, and keep
 * the work done for it in the message slot */
void	 grey_plan_rcpt(const struct grey_conf *, struct fd_txn *,
	    struct grey_msg *);
/* grey_plan_eom - queue the end-of-message triplet checks (plan hook) */
void	 grey_plan_eom(const struct grey_conf *, struct fd_txn *,
	    struct grey_msg *);
enum fd_action grey_on_rcpt(const struct grey_conf *, struct fd_txn *,
	    struct grey_msg *);
enum fd_action grey_on_body(const struct grey_conf *, struct fd_txn *,
	    struct grey_msg *, const unsigned char *chunk, size_t len);
enum fd_action grey_on_eom(const struct grey_conf *, struct fd_txn *,
	    struct grey_msg *);
/* grey_msg_clear - release what the slot points to */
void	 grey_msg_clear(struct grey_msg *);

#endif
