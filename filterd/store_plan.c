/*
 * store_plan.c -- the store calls of one stage, planned, sent at once
 *
 * See store_plan.h. The plan is a fixed block per connection: at most
 * FD_STORE_MULTI_MAX requests (what one fd_store_multi call takes) and
 * PLAN_KEYS bytes of keys; what does not fit is refused at planning time
 * and simply sent on its own when the hook makes the call.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "store.h"
#include "store_plan.h"
#include "xalloc.h"

#define PLAN_KEYS	4096	/* key bytes of one stage's requests */

/* One queued request: a greylist check (nrate 0) or a rate call. */
struct part {
	struct fd_grey_req	 grey;		/* keys point into plan->keys */
	struct fd_grey_res	 gres;
	size_t			 rate;		/* its first limit in rates[] */
	size_t			 nrate;
	int			 rc;		/* the store's answer */
	int			 used;		/* handed to a call */
	struct fd_grey_res	*out_gres;	/* the planner's copies */
	struct fd_rate_res	*out_rres;
	int			*out_rc;
};

struct fd_plan {
	int			 open;		/* plan hooks are running */
	int			 sent;		/* the plan went to the store */
	size_t			 nparts;
	struct part		 parts[FD_STORE_MULTI_MAX];
	size_t			 nrates;
	struct fd_rate_req	 rates[FD_STORE_MULTI_RATES];
	struct fd_rate_res	 rres[FD_STORE_MULTI_RATES];
	size_t			 klen;
	unsigned char		 keys[PLAN_KEYS];
};

struct fd_plan *
fd_plan_free(struct fd_plan *p)
{
	free(p);
	return NULL;
}

size_t
fd_plan_size(void)
{
	return sizeof(struct fd_plan);
}

struct fd_plan *
fd_plan_init(void *mem)
{
	struct fd_plan	*p = mem;

	/* only the counters: parts, rates and keys are written before read */
	fd_plan_reset(p);
	return p;
}

void
fd_plan_reset(struct fd_plan *p)
{
	if (p == NULL)
		return;
	p->open = 0;
	p->sent = 0;
	p->nparts = 0;
	p->nrates = 0;
	p->klen = 0;
}

void
fd_plan_open(struct fd_plan **pp)
{
	if (*pp == NULL)
		*pp = fd_malloc(sizeof(**pp));
	fd_plan_reset(*pp);
	(*pp)->open = 1;
}

void
fd_plan_close(struct fd_plan *p)
{
	if (p != NULL)
		p->open = 0;
}

/* key_copy - keep len bytes of key in the plan; *out the copy (NULL for a
 * NULL key); 0, or -1 when they do not fit */
static int
key_copy(struct fd_plan *p, const void *key, size_t len, const void **out)
{
	*out = NULL;
	if (key == NULL)
		return 0;
	if (len > PLAN_KEYS - p->klen)
		return -1;
	if (len > 0)
		memcpy(p->keys + p->klen, key, len);
	*out = p->keys + p->klen;
	p->klen += len;
	return 0;
}

/* can_queue - the plan takes a request of n limits (0: a greylist) */
static int
can_queue(const struct fd_plan *p, size_t n)
{
	return p != NULL && p->open && !p->sent &&
	    p->nparts < FD_STORE_MULTI_MAX &&
	    n <= FD_STORE_RATE_MAX && n <= FD_STORE_MULTI_RATES - p->nrates;
}

int
fd_plan_grey(struct fd_plan *p, const struct fd_grey_req *req,
    struct fd_grey_res *res, int *rc)
{
	struct part	*pt;
	size_t		 klen0;

	if (!can_queue(p, 0))
		return -1;
	klen0 = p->klen;
	pt = &p->parts[p->nparts];
	memset(pt, 0, sizeof(*pt));
	pt->grey = *req;
	if (key_copy(p, req->key, req->keylen, &pt->grey.key) < 0 ||
	    key_copy(p, req->awl_key, req->awl_keylen,
	    &pt->grey.awl_key) < 0) {
		p->klen = klen0;
		return -1;
	}
	pt->out_gres = res;
	pt->out_rc = rc;
	p->nparts++;
	return 0;
}

int
fd_plan_rate(struct fd_plan *p, const struct fd_rate_req *req, size_t n,
    struct fd_rate_res *res, int *rc)
{
	struct part	*pt;
	size_t		 klen0, i;

	if (n == 0 || !can_queue(p, n))
		return -1;
	klen0 = p->klen;
	pt = &p->parts[p->nparts];
	memset(pt, 0, sizeof(*pt));
	pt->rate = p->nrates;
	pt->nrate = n;
	for (i = 0; i < n; i++) {
		p->rates[p->nrates + i] = req[i];
		if (key_copy(p, req[i].key, req[i].keylen,
		    &p->rates[p->nrates + i].key) < 0) {
			p->klen = klen0;
			return -1;
		}
	}
	pt->out_rres = res;
	pt->out_rc = rc;
	p->nrates += n;
	p->nparts++;
	return 0;
}

/* bytes_eq - the same bytes, and both or neither NULL */
static int
bytes_eq(const void *a, size_t alen, const void *b, size_t blen)
{
	if ((a == NULL) != (b == NULL) || alen != blen)
		return 0;
	return alen == 0 || a == NULL || memcmp(a, b, alen) == 0;
}

/* grey_eq - two greylist requests ask the same */
static int
grey_eq(const struct fd_grey_req *a, const struct fd_grey_req *b)
{
	return bytes_eq(a->key, a->keylen, b->key, b->keylen) &&
	    bytes_eq(a->awl_key, a->awl_keylen, b->awl_key, b->awl_keylen) &&
	    a->delay == b->delay && a->retry_window == b->retry_window &&
	    a->pass_ttl == b->pass_ttl && a->awl_after == b->awl_after &&
	    a->awl_ttl == b->awl_ttl;
}

/* rate_eq - two rate calls ask the same, limit by limit */
static int
rate_eq(const struct fd_rate_req *a, const struct fd_rate_req *b, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (!bytes_eq(a[i].key, a[i].keylen, b[i].key, b[i].keylen) ||
		    a[i].limit != b[i].limit || a[i].period != b[i].period ||
		    a[i].burst != b[i].burst || a[i].cost != b[i].cost)
			return 0;
	return 1;
}

/* send - every queued request in one store call */
static void
send(struct fd_plan *p, struct fd_store *st)
{
	struct fd_store_op	 ops[FD_STORE_MULTI_MAX];
	size_t			 i;

	p->sent = 1;
	p->open = 0;
	memset(ops, 0, sizeof(ops));
	for (i = 0; i < p->nparts; i++) {
		struct part *pt = &p->parts[i];

		if (pt->nrate == 0) {
			ops[i].grey = &pt->grey;
			ops[i].gres = &pt->gres;
		} else {
			ops[i].rate = &p->rates[pt->rate];
			ops[i].nrate = pt->nrate;
			ops[i].rres = &p->rres[pt->rate];
		}
	}
	if (st == NULL || fd_store_multi(st, ops, p->nparts) != FD_STORE_OK)
		for (i = 0; i < p->nparts; i++)
			ops[i].rc = FD_STORE_ERR;
	for (i = 0; i < p->nparts; i++) {
		struct part *pt = &p->parts[i];

		pt->rc = ops[i].rc;
		if (pt->out_rc != NULL)
			*pt->out_rc = pt->rc;
		if (pt->out_gres != NULL)
			*pt->out_gres = pt->gres;
		if (pt->out_rres != NULL)
			memcpy(pt->out_rres, &p->rres[pt->rate],
			    pt->nrate * sizeof(*pt->out_rres));
	}
}

/* take - the first unused part asking what req/n ask (n 0: greylist req
 * g), sending the plan if need be; NULL if none */
static struct part *
take(struct fd_plan *p, struct fd_store *st, const struct fd_grey_req *g,
    const struct fd_rate_req *r, size_t n)
{
	struct part	*pt;
	size_t		 i;

	if (p == NULL)
		return NULL;
	for (i = 0; i < p->nparts; i++) {
		pt = &p->parts[i];
		if (pt->used || pt->nrate != n)
			continue;
		if (n == 0 ? g != NULL && grey_eq(&pt->grey, g) :
		    r != NULL && rate_eq(&p->rates[pt->rate], r, n)) {
			if (!p->sent)
				send(p, st);
			pt->used = 1;
			return pt;
		}
	}
	return NULL;
}

int
fd_plan_grey_call(struct fd_plan *p, struct fd_store *st,
    const struct fd_grey_req *req, struct fd_grey_res *res)
{
	struct part	*pt;

	if ((pt = take(p, st, req, NULL, 0)) != NULL) {
		*res = pt->gres;
		return pt->rc;
	}
	if (st == NULL) {
		memset(res, 0, sizeof(*res));
		return FD_STORE_ERR;
	}
	return fd_store_grey(st, req, res);
}

int
fd_plan_rate_call(struct fd_plan *p, struct fd_store *st,
    const struct fd_rate_req *req, size_t n, struct fd_rate_res *res)
{
	struct part	*pt;

	if (n > 0 && (pt = take(p, st, NULL, req, n)) != NULL) {
		memcpy(res, &p->rres[pt->rate], n * sizeof(*res));
		return pt->rc;
	}
	if (st == NULL) {
		if (n > 0 && n <= FD_STORE_RATE_MAX)
			memset(res, 0, n * sizeof(*res));
		return FD_STORE_ERR;
	}
	return fd_store_rate(st, req, n, res);
}
