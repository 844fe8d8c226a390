/*
 * rl_stage.h -- check every limit of one stage in one store call
 *
 * At connect, MAIL and RCPT the limits counting connections, messages
 * and recipients respectively (messages at RCPT with
 * `decide-messages-at rcpt`) are gathered, each adjusted by what rules
 * set for this message (`set ratelimit.factor F`, `set ratelimit.NAME
 * RATE|off`), keyed, and handed to host->rate_hit together: the store
 * charges all of them or none, atomically across threads and, on Redis,
 * across hosts.
 */
#ifndef RL_STAGE_H
#define RL_STAGE_H

#include <filterd/plugin.h>

#include "rl_reply.h"
#include "rl_spec.h"

#define RL_PLUGIN_NAME	"ratelimit"	/* the name rules use in `set` */

/* The per-message slot (zeroed by the host at MAIL). */
struct rl_msg {
	int		 charged;	/* decide-messages-at rcpt: the message
					 * limits counted this message */
	int		 rcpt_seen;	/* our RCPT hook ran: a recipient no
					 * rule exempted (skip ratelimit) */
	int		 planned;	/* planned at this recipient: */
	int		 plan_rc;	/* the store's answer, or 1 */
	struct fd_rate_res plan_res[RL_STAGE_MAX];
};

/* A generation's state: read-only after init but for `warned`. */
struct rl_state {
	const struct fd_host	*host;
	struct rl_conf		 conf;
	int			 warned;	/* bad rule value logged */
};

/*
 * rl_effective - limit l as it applies now. override is the value a rule
 * set for the limit's name (or NULL); factor is in thousandths (1000:
 * none) and scales count and burst of limits without an override. The
 * result is clamped to what the store serves. Returns 1 with chk filled,
 * 0 when the override switches the limit off, -1 when the override is no
 * rate (chk is then filled as if there were none).
 */
int	 rl_effective(const struct rl_limit *l, const char *override,
	    uint64_t factor, struct rl_checked *chk);

/* rl_stage_run - the limits counting `which` for transaction t */
enum fd_action rl_stage_run(struct rl_state *st, struct fd_txn *t,
	    enum rl_count which);

/*
 * rl_stage_decide - the plugin's hook at stage (FD_ST_CONNECT, _MAIL or
 * _RCPT): the limits decided there. With `decide-messages-at rcpt` the
 * message limits are not checked at MAIL but together with the
 * recipient limits of the first recipient they let through, which m
 * (NULL: none) remembers. rl_stage_plan - the plan hook: queue the store
 * call rl_stage_decide is about to make (see host->plan_rate).
 */
enum fd_action rl_stage_decide(struct rl_state *st, struct fd_txn *t,
	    uint32_t stage, struct rl_msg *m);
void	 rl_stage_plan(struct rl_state *st, struct fd_txn *t, uint32_t stage,
	    struct rl_msg *m);

#endif
