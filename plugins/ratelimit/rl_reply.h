/*
 * rl_reply.h -- what a client over a limit is told, and what is logged
 *
 * When the store refuses a stage's limits, every limit that has no room
 * is over; the call may be repeated once the slowest of them has room.
 * One limit over is named to the client and decides the action: a
 * reject wins over a tempfail, then the longest wait, then the limit
 * written first. The wait sent is the longest of all, since all limits
 * are charged together or not at all.
 *
 * Pure: no host, so tests check the choice and the texts from tables.
 */
#ifndef RL_REPLY_H
#define RL_REPLY_H

#include <stddef.h>
#include <stdint.h>

#include "rl_spec.h"

/* One limit as checked at a stage: after overrides and the factor. */
struct rl_checked {
	const struct rl_limit	*limit;
	struct rl_rate		 rate;		/* effective */
	uint32_t		 burst;		/* effective */
};

struct rl_verdict {
	enum fd_action	 action;		/* FD_TEMPFAIL or FD_REJECT */
	char		 rcode[4];
	char		 xcode[8];
	char		 text[RL_TEXT_MAX + 128];
	char		 reason[256];		/* for the log line */
	const struct rl_checked *over;		/* the limit named */
	int64_t		 retry_after;		/* seconds, the longest */
};

/* rl_decide - the verdict for a refused call over n limits */
void	 rl_decide(const struct rl_conf *c, const struct rl_checked *chk,
	    const struct fd_rate_res *res, size_t n, struct rl_verdict *v);
/* rl_expand - tmpl with {retry-after}, {name}, {rate}, {key} filled in */
void	 rl_expand(char *dst, size_t len, const char *tmpl,
	    const struct rl_checked *chk, int64_t retry_after);
/* rl_rate_text - "60/1m" */
void	 rl_rate_text(char *dst, size_t len, const struct rl_rate *r);

#endif
