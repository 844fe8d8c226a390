/*
 * grey_addr.c -- envelope address normalization, see grey_addr.h
 *
 * Each step works in place on one private copy of the address: every
 * rewrite only shortens it or moves the start of the local part or the
 * domain forward, so a copy of the input's size is enough and nothing
 * here can overrun, whatever the client sent. The copy is on the stack
 * when the address is of a usual size (this runs for every recipient),
 * on the heap otherwise. The steps run in a fixed order: SRS first (it
 * wraps whatever the original sender wrote, BATV included), then BATV,
 * then the sub-address and VERP tails, then per-message numbers.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "grey_addr.h"

#define IS_DIGIT(c)	((c) >= '0' && (c) <= '9')
#define IS_HEX(c)	(IS_DIGIT(c) || ((c) >= 'a' && (c) <= 'f') || \
			    ((c) >= 'A' && (c) <= 'F'))
#define IS_ALNUM(c)	(IS_DIGIT(c) || ((c) >= 'a' && (c) <= 'z') || \
			    ((c) >= 'A' && (c) <= 'Z'))
#define LOWER(c)	((c) >= 'A' && (c) <= 'Z' ? (c) - 'A' + 'a' : (c))

#define WORK_STACK	256	/* a work copy up to this size: on the stack */

/* an address being normalized: two strings inside one work copy */
struct addr {
	char	*local;		/* into the copy */
	char	*domain;	/* into the copy; "" if none */
};

char *
grey_work_get(char *buf, size_t buflen, size_t need)
{
	return need <= buflen ? buf : malloc(need);
}

void
grey_work_put(char *work, const char *buf)
{
	if (work != buf)
		free(work);
}

/* addr_split - s (n bytes) copied into work (n + 1 bytes), <> and a
 * source route dropped, split at the last @ */
static void
addr_split(struct addr *a, char *work, const char *s, size_t n)
{
	char	*p, *at, *end;

	memcpy(work, s, n + 1);
	p = work;
	if (*p == '<') {
		p++;
		if ((end = strrchr(p, '>')) != NULL)
			*end = '\0';
	}
	/* RFC 5321 4.1.2 source route "@a,@b:user@dom": only the mailbox counts */
	if (*p == '@' && (end = strchr(p, ':')) != NULL)
		p = end + 1;
	a->local = p;
	if ((at = strrchr(p, '@')) != NULL) {
		*at = '\0';
		a->domain = at + 1;
	} else
		a->domain = p + strlen(p);
}

/* domain_fold - lowercase, without a trailing dot */
static void
domain_fold(char *d)
{
	size_t	 n;

	for (n = 0; d[n] != '\0'; n++)
		d[n] = (char)LOWER(d[n]);
	if (n > 0 && d[n - 1] == '.')
		d[n - 1] = '\0';
}

/*
 * addr_join - "local@domain" (or just local) into out, which has room;
 * returns its length. out is a buffer of its own, or the start of the
 * work copy when the local part still lies before the domain in it (each
 * part then moves towards the start, never over what is still to move).
 */
static size_t
addr_join(char *out, const struct addr *a)
{
	size_t	 ll = strlen(a->local), dl = strlen(a->domain);

	memmove(out, a->local, ll);
	if (dl == 0) {
		out[ll] = '\0';
		return ll;
	}
	out[ll] = '@';
	memmove(out + ll + 1, a->domain, dl + 1);
	return ll + 1 + dl;
}

/* is_sep - c is one of the SRS separators (never the terminator) */
static int
is_sep(char c)
{
	return c == '=' || c == '+' || c == '-';
}

/* srs0_body - "HASH=TT=domain=user": point at domain and user; an
 * address without either is left as it is, not cut short */
static int
srs0_body(char *p, struct addr *a)
{
	char	*tt, *dom, *user;

	if ((tt = strchr(p, '=')) == NULL ||
	    (dom = strchr(tt + 1, '=')) == NULL ||
	    (user = strchr(dom + 1, '=')) == NULL ||
	    user == dom + 1 || user[1] == '\0')
		return 0;
	*user++ = '\0';
	a->domain = dom + 1;
	a->local = user;
	domain_fold(a->domain);
	return 1;
}

/*
 * srs_unwrap - the original sender inside an SRS address. SRS0 is
 * "SRS0=HASH=TT=orig.domain=user"; SRS1 (a second forwarder) is
 * "SRS1=HASH=first.forwarder==HASH=TT=orig.domain=user", the separator
 * after "SRS0"/"SRS1" and after the forwarder being any of = + -.
 */
static int
srs_unwrap(struct addr *a)
{
	char	*p = a->local, *q;

	/* most senders are not SRS: one byte tells */
	if (LOWER(p[0]) != 's')
		return 0;
	if (strncasecmp(p, "SRS0", 4) == 0 && is_sep(p[4]))
		return srs0_body(p + 5, a);
	if (strncasecmp(p, "SRS1", 4) != 0 || !is_sep(p[4]))
		return 0;
	p += 5;
	if ((q = strchr(p, '=')) == NULL)		/* hash */
		return 0;
	if ((q = strchr(q + 1, '=')) == NULL)		/* first forwarder */
		return 0;
	p = q + 1;
	if (is_sep(*p))
		p++;
	return srs0_body(p, a);
}

/* batv_tag - the 10-character BATV prvs tag: K DDD SSSSSS (hex) */
static int
batv_tag(const char *s, size_t n)
{
	size_t	 i;

	if (n != 10)
		return 0;
	for (i = 0; i < 4; i++)
		if (!IS_DIGIT(s[i]))
			return 0;
	for (; i < 10; i++)
		if (!IS_HEX(s[i]))
			return 0;
	return 1;
}

/*
 * batv_strip - the local part under a BATV signature. prvs= is RFC-draft
 * BATV ("prvs=TAG=user"); an older draft and some MTAs wrote
 * "prvs=user=TAG", told apart by the tag's shape. msprvs1= (Microsoft)
 * and btv1== (Barracuda) put the user last.
 */
static void
batv_strip(struct addr *a)
{
	static const struct { const char *prefix, *sep; } forms[] = {
		{ "prvs=", "=" },
		{ "msprvs1=", "=" },
		{ "btv1==", "==" },
	};
	size_t	 i, pl, sl;
	char	*p, *q, *user;

	for (i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		/* the prefixes are lowercase: most senders fail at one byte */
		if (LOWER(a->local[0]) != forms[i].prefix[0])
			continue;
		pl = strlen(forms[i].prefix);
		sl = strlen(forms[i].sep);
		if (strncasecmp(a->local, forms[i].prefix, pl) != 0)
			continue;
		p = a->local + pl;
		if ((q = strstr(p, forms[i].sep)) == NULL || q == p)
			return;
		user = q + sl;
		if (*user == '\0')
			return;
		if (i == 0 && !batv_tag(p, (size_t)(q - p)) &&
		    batv_tag(user, strlen(user))) {
			*q = '\0';		/* prvs=user=TAG */
			a->local = p;
		} else
			a->local = user;
		return;
	}
}

/* subaddr_strip - "user+tag" -> "user"; a leading delimiter is kept */
static void
subaddr_strip(struct addr *a, const char *delims)
{
	size_t	 n;

	if (a->local[0] == '\0' || delims[0] == '\0')
		return;
	n = strcspn(a->local + 1, delims);
	a->local[n + 1] = '\0';
}

/* domainish - looks like an encoded domain: a dot, letters, digits, - */
static int
domainish(const char *s)
{
	int	 dot = 0;

	if (*s == '\0' || *s == '.')
		return 0;
	for (; *s != '\0'; s++) {
		if (*s == '.')
			dot = 1;
		else if (!IS_ALNUM(*s) && *s != '-')
			return 0;
	}
	return dot;
}

/* verp_exact - the local part ends in DELIM rcptlocal=rcptdomain */
static int
verp_exact(struct addr *a, const char *rcpt)
{
	struct addr	 r;
	size_t		 ll, rl, dl, n;
	char		 buf[WORK_STACK], *work, *tail;
	int		 hit = 0;

	if (rcpt == NULL)
		return 0;
	n = strlen(rcpt);
	if ((work = grey_work_get(buf, sizeof(buf), n + 1)) == NULL)
		return 0;
	addr_split(&r, work, rcpt, n);
	ll = strlen(a->local);
	rl = strlen(r.local);
	dl = strlen(r.domain);
	n = rl + 1 + dl;
	if (rl > 0 && dl > 0 && ll > n + 1) {
		tail = a->local + ll - n;
		if (strncasecmp(tail, r.local, rl) == 0 && tail[rl] == '=' &&
		    strncasecmp(tail + rl + 1, r.domain, dl) == 0 &&
		    strchr("-+.=_", tail[-1]) != NULL) {
			tail[-1] = '\0';
			hit = 1;
		}
	}
	grey_work_put(work, buf);
	return hit;
}

/*
 * verp_strip - drop a VERP-encoded recipient. With the recipient known
 * the match is exact; otherwise "prefix-user=domain.example" loses
 * everything from the last - or + before the last '=', when what follows
 * the '=' looks like a domain.
 */
static void
verp_strip(struct addr *a, const char *rcpt)
{
	char	*e, *p;

	if (strchr(a->local, '=') == NULL || verp_exact(a, rcpt))
		return;
	e = strrchr(a->local, '=');
	if (!domainish(e + 1))
		return;
	for (p = e - 1; p > a->local; p--) {
		if (*p == '-' || *p == '+') {
			*p = '\0';
			return;
		}
	}
}

/*
 * digits_fold - per-message numbers in the local part become "#": every
 * run of digits, and a whole token of 8 or more hex digits with at least
 * one digit in it (message ids as hex). Tokens are runs of letters and
 * digits; mixed words such as "user42" keep their letters.
 */
static void
digits_fold(char *s)
{
	char	*r = s, *w = s, *t;
	size_t	 n;
	int	 hex, digit;

	while (*r != '\0') {
		if (!IS_ALNUM(*r)) {
			*w++ = *r++;
			continue;
		}
		hex = 1;
		digit = 0;
		for (t = r, n = 0; IS_ALNUM(*t); t++, n++) {
			hex &= IS_HEX(*t) ? 1 : 0;
			digit |= IS_DIGIT(*t) ? 1 : 0;
		}
		if (n >= 8 && hex && digit) {
			*w++ = '#';
			r = t;
			continue;
		}
		while (r < t) {
			if (IS_DIGIT(*r)) {
				/* skip the run before writing over its start */
				while (r < t && IS_DIGIT(*r))
					r++;
				*w++ = '#';
			} else
				*w++ = *r++;
		}
	}
	*w = '\0';
}

int
grey_norm_sender_to(char *out, size_t outlen, const char *sender,
    const char *rcpt, unsigned flags, const char *delims, size_t *len)
{
	struct addr	 a;
	char		 buf[WORK_STACK], *work;
	size_t		 n;

	if (sender == NULL)
		sender = "";
	n = strlen(sender);
	if (outlen < GREY_NORM_SIZE(n) ||
	    (work = grey_work_get(buf, sizeof(buf), n + 1)) == NULL)
		return -1;
	addr_split(&a, work, sender, n);
	if (a.local[0] == '\0' && a.domain[0] == '\0') {
		memcpy(out, "<>", 3);
		*len = 2;
		grey_work_put(work, buf);
		return 0;
	}
	domain_fold(a.domain);
	if (flags & GREY_N_SRS)
		(void)srs_unwrap(&a);
	if (flags & GREY_N_BATV)
		batv_strip(&a);
	if (flags & GREY_N_SUBADDR)
		subaddr_strip(&a, delims != NULL ? delims : GREY_DELIMS_DEFAULT);
	if (flags & GREY_N_VERP)
		verp_strip(&a, rcpt);
	if (flags & GREY_N_DIGITS)
		digits_fold(a.local);
	/* out is not the work copy: SRS may have put the local part last */
	*len = addr_join(out, &a);
	grey_work_put(work, buf);
	return 0;
}

int
grey_norm_rcpt_to(char *out, size_t outlen, const char *rcpt, size_t *len)
{
	struct addr	 a;
	size_t		 n;

	if (rcpt == NULL)
		rcpt = "";
	n = strlen(rcpt);
	if (outlen < GREY_NORM_SIZE(n))
		return -1;
	/* out is the work copy: the local part stays before the domain */
	addr_split(&a, out, rcpt, n);
	domain_fold(a.domain);
	*len = addr_join(out, &a);
	return 0;
}

char *
grey_norm_sender(const char *sender, const char *rcpt, unsigned flags,
    const char *delims)
{
	size_t	 size, len;
	char	*s;

	size = GREY_NORM_SIZE(sender != NULL ? strlen(sender) : 0);
	if ((s = malloc(size)) == NULL)
		return NULL;
	if (grey_norm_sender_to(s, size, sender, rcpt, flags, delims,
	    &len) < 0) {
		free(s);
		return NULL;
	}
	return s;
}

char *
grey_norm_rcpt(const char *rcpt)
{
	size_t	 size, len;
	char	*s;

	size = GREY_NORM_SIZE(rcpt != NULL ? strlen(rcpt) : 0);
	if ((s = malloc(size)) == NULL)
		return NULL;
	if (grey_norm_rcpt_to(s, size, rcpt, &len) < 0) {
		free(s);
		return NULL;
	}
	return s;
}

const char *
grey_addr_domain(const char *addr)
{
	const char	*at = strrchr(addr, '@');

	return at != NULL ? at + 1 : "";
}

unsigned
grey_norm_flag(const char *name)
{
	static const struct { const char *name; unsigned flag; } names[] = {
		{ "srs", GREY_N_SRS },
		{ "batv", GREY_N_BATV },
		{ "subaddress", GREY_N_SUBADDR },
		{ "verp", GREY_N_VERP },
		{ "digits", GREY_N_DIGITS },
	};
	size_t	 i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcasecmp(name, names[i].name) == 0)
			return names[i].flag;
	return 0;
}
