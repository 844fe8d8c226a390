/*
 * rl_reply.c -- choose the limit to name and fill in the reply texts
 *
 * Codes: a tempfail is the configured tempfail-code (451 by default, or
 * 450) with 4.7.1, a reject 550 5.7.1 (RFC 3463: delivery not authorized,
 * message refused). The text is the limit's own `message`, else the
 * block's `message` (tempfail) or `reject-message` (reject).
 */
#include <stdio.h>
#include <string.h>

#include "rl_reply.h"

void
rl_rate_text(char *dst, size_t len, const struct rl_rate *r)
{
	char	 per[32];

	rl_period_text(per, sizeof(per), r->period);
	snprintf(dst, len, "%lu/%s", (unsigned long)r->count, per);
}

void
rl_expand(char *dst, size_t len, const char *tmpl,
    const struct rl_checked *chk, int64_t retry_after)
{
	char		 val[96];
	const char	*p, *v;
	size_t		 o = 0, n;

	if (len == 0)
		return;
	for (p = tmpl; *p != '\0' && o + 1 < len; ) {
		v = NULL;
		if (strncmp(p, "{retry-after}", 13) == 0) {
			snprintf(val, sizeof(val), "%lld",
			    (long long)retry_after);
			v = val, p += 13;
		} else if (strncmp(p, "{name}", 6) == 0) {
			v = chk->limit->name, p += 6;
		} else if (strncmp(p, "{rate}", 6) == 0) {
			rl_rate_text(val, sizeof(val), &chk->rate);
			v = val, p += 6;
		} else if (strncmp(p, "{key}", 5) == 0) {
			v = rl_key_name(chk->limit->key), p += 5;
		}
		if (v == NULL) {
			dst[o++] = *p++;
			continue;
		}
		n = strlen(v);
		if (n > len - 1 - o)
			n = len - 1 - o;
		memcpy(dst + o, v, n);
		o += n;
	}
	dst[o] = '\0';
}

/* outranks - a is the better limit to name than b: a reject beats a
 * tempfail; between equals the longer wait, the first on a tie */
static int
outranks(const struct rl_checked *a, int64_t wa, const struct rl_checked *b,
    int64_t wb)
{
	if (a->limit->act != b->limit->act)
		return a->limit->act == RL_A_REJECT;
	return wa > wb;
}

void
rl_decide(const struct rl_conf *c, const struct rl_checked *chk,
    const struct fd_rate_res *res, size_t n, struct rl_verdict *v)
{
	const struct rl_checked	*named = NULL;
	const char		*tmpl;
	char			 rate[64];
	size_t			 i, nover = 0;

	memset(v, 0, sizeof(*v));
	for (i = 0; i < n; i++) {
		if (res[i].retry_after <= 0)
			continue;
		nover++;
		if (res[i].retry_after > v->retry_after)
			v->retry_after = res[i].retry_after;
		if (named == NULL || outranks(&chk[i], res[i].retry_after,
		    named, res[named - chk].retry_after))
			named = &chk[i];
	}
	if (named == NULL) {
		/* refused with every limit at room: cannot happen with the
		 * store's contract; name the first and wait a second */
		named = &chk[0];
		v->retry_after = 1;
		nover = 1;
	}
	v->over = named;
	if (named->limit->act == RL_A_REJECT) {
		v->action = FD_REJECT;
		memcpy(v->rcode, "550", 4);
		memcpy(v->xcode, "5.7.1", 6);
		tmpl = c->reject_text;
	} else {
		v->action = FD_TEMPFAIL;
		memcpy(v->rcode, c->tempfail_code, 4);
		memcpy(v->xcode, "4.7.1", 6);
		tmpl = c->tempfail_text;
	}
	if (named->limit->text != NULL)
		tmpl = named->limit->text;
	rl_expand(v->text, sizeof(v->text), tmpl, named, v->retry_after);
	rl_rate_text(rate, sizeof(rate), &named->rate);
	snprintf(v->reason, sizeof(v->reason), "limit %s (%s %s burst %lu "
	    "%s) exceeded%s, retry after %llds", named->limit->name,
	    rl_key_name(named->limit->key), rate, (unsigned long)named->burst,
	    rl_count_name(named->limit->count),
	    nover > 1 ? " with others" : "", (long long)v->retry_after);
}
