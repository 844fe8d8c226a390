/*
 * store_plan.h -- the store calls of one stage, planned, sent at once
 *
 * At RCPT the greylist plugin checks a triplet and the ratelimit plugin
 * charges its limits: two round trips to the store per recipient if each
 * calls on its own. A plan gathers them. Before the stage's hooks run,
 * dispatch calls each plugin's `plan` hook, which queues the requests its
 * hook will make (fd_plan_grey, fd_plan_rate); when the first hook then
 * makes one of them (fd_plan_grey_call, fd_plan_rate_call), every queued
 * request goes to the store in one fd_store_multi call, and each later
 * call with a queued request gets its answer without a round trip.
 *
 * Requests are matched by content: a call whose request was not queued,
 * or differs from what was, goes to the store on its own, so a plan can
 * cost a round trip too many, never a wrong answer. Each queued request
 * answers one call.
 *
 * A plan belongs to one connection (struct fd_txn) and lives as long as
 * it; it holds no pointer into a plugin's memory (keys are copied), and
 * its storage is allocated once per connection, not per message: by
 * fd_plan_open, or as part of the connection's own block (fd_plan_size,
 * fd_plan_init) so that a connection costs one allocation less.
 */
#ifndef FD_STORE_PLAN_H
#define FD_STORE_PLAN_H

#include <stddef.h>

#include "filterd/plugin.h"

struct fd_plan;
struct fd_store;

/* fd_plan_free - release a plan fd_plan_open allocated (NULL is fine);
 * NULL. Never for one fd_plan_init placed. */
struct fd_plan	*fd_plan_free(struct fd_plan *);

/* fd_plan_size - bytes a plan takes, for a caller placing one itself */
size_t	 fd_plan_size(void);
/* fd_plan_init - a closed, empty plan in mem (fd_plan_size() bytes,
 * aligned for any type), owned by the caller; mem */
struct fd_plan	*fd_plan_init(void *mem);

/* fd_plan_open - start the plan of a stage (allocating *pp the first
 * time): forget the last stage's, accept requests until fd_plan_close */
void	 fd_plan_open(struct fd_plan **pp);
/* fd_plan_close - no more requests: the plan hooks have run */
void	 fd_plan_close(struct fd_plan *);
/* fd_plan_reset - forget everything planned (a stage without a plan) */
void	 fd_plan_reset(struct fd_plan *);

/* fd_plan_grey, fd_plan_rate - queue a request; 0, or -1 when the plan is
 * not open or full. res and rc (may be NULL) receive its answer when the
 * plan is sent, whoever's call sends it. */
int	 fd_plan_grey(struct fd_plan *, const struct fd_grey_req *,
	    struct fd_grey_res *res, int *rc);
int	 fd_plan_rate(struct fd_plan *, const struct fd_rate_req *, size_t n,
	    struct fd_rate_res *res, int *rc);

/* fd_plan_grey_call, fd_plan_rate_call - make a request: the answer the
 * plan got for it (sending the plan first if it was not sent yet), or
 * that of a call of its own. p and st may be NULL (no plan; no store:
 * FD_STORE_ERR). */
int	 fd_plan_grey_call(struct fd_plan *, struct fd_store *st,
	    const struct fd_grey_req *, struct fd_grey_res *);
int	 fd_plan_rate_call(struct fd_plan *, struct fd_store *st,
	    const struct fd_rate_req *, size_t n, struct fd_rate_res *);

#endif
