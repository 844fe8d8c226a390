/*
 * rl_key.c -- build the store key of a limit for one subject
 *
 * Layout: "ratelimit" NUL, the limit's name, NUL, the key type's letter,
 * then the value:
 *
 *   client-ip      '4' or '6', the prefix length, the masked address
 *                  bytes (prefix rounded up to whole bytes), so one /24
 *                  or one /64 is one counter;
 *   sender,        the address, ASCII lower case, a source route
 *   recipient      ("@a,@b:user@dom") and a trailing dot of the
 *                  domain dropped;
 *   sender-domain  what follows its last '@', lower case, no trailing
 *                  dot;
 *   auth-user      the SASL login, lower case (a backend that ignores
 *                  case must not give one user several counters);
 *   helo           the HELO argument, lower case, no trailing dot.
 *
 * Lower-casing the local part merges counters that a case-sensitive
 * server would keep apart; for a rate limit that errs the safe way.
 */
#include <string.h>

#include "rl_key.h"

#define KEY_PREFIX	"ratelimit"

/* lower - ASCII lower case, whatever the locale */
static unsigned char
lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c - 'A' + 'a') : c;
}

/* put - append n bytes at *off, copying only what fits in cap */
static void
put(unsigned char *buf, size_t cap, size_t *off, const void *src, size_t n)
{
	if (*off < cap)
		memcpy(buf + *off, src, n < cap - *off ? n : cap - *off);
	*off += n;
}

/* put_lower - append a lower-cased copy of s[0..n) */
static void
put_lower(unsigned char *buf, size_t cap, size_t *off, const char *s,
    size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++, ++*off)
		if (*off < cap)
			buf[*off] = lower((unsigned char)s[i]);
}

/* strip_route - "@a,@b:user@dom" -> "user@dom" */
static const char *
strip_route(const char *addr)
{
	const char	*colon;

	if (addr[0] == '@' && (colon = strchr(addr, ':')) != NULL)
		return colon + 1;
	return addr;
}

/* trim_dot - length of s without one trailing dot */
static size_t
trim_dot(const char *s)
{
	size_t	 n = strlen(s);

	return n > 0 && s[n - 1] == '.' ? n - 1 : n;
}

/* addr_len - length of addr without a trailing dot of its domain */
static size_t
addr_len(const char *addr)
{
	const char	*at;

	/* without '@' all is local part, where a dot is no domain's */
	if ((at = strrchr(addr, '@')) == NULL)
		return strlen(addr);
	return (size_t)(at + 1 - addr) + trim_dot(at + 1);
}

size_t
rl_ip_mask(unsigned char ip[16], size_t len, int v4prefix, int v6prefix,
    int *prefix)
{
	static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0xff, 0xff };
	int	 bits, i;

	if (len == 16 && memcmp(ip, mapped, sizeof(mapped)) == 0) {
		memmove(ip, ip + 12, 4);
		memset(ip + 4, 0, 12);
		len = 4;
	}
	bits = len == 4 ? v4prefix : v6prefix;
	for (i = 0; i < (int)len; i++) {
		if (bits >= (i + 1) * 8)
			continue;
		if (bits <= i * 8)
			ip[i] = 0;
		else
			ip[i] &= (unsigned char)(0xff << ((i + 1) * 8 - bits));
	}
	*prefix = bits;
	return len;
}

/* value - the normalised value of key k into the key; 0 if unknown */
static int
value(const struct rl_limit *l, const struct rl_subject *s,
    unsigned char *buf, size_t cap, size_t *off)
{
	unsigned char	 ip[16], hdr[2];
	const char	*v, *at;
	size_t		 len;
	int		 prefix;

	switch (l->key) {
	case RL_K_CLIENT_IP:
		if (s->iplen != 4 && s->iplen != 16)
			return 0;
		memcpy(ip, s->ip, s->iplen);
		len = rl_ip_mask(ip, s->iplen, l->v4prefix, l->v6prefix,
		    &prefix);
		hdr[0] = len == 4 ? '4' : '6';
		hdr[1] = (unsigned char)prefix;
		put(buf, cap, off, hdr, 2);
		put(buf, cap, off, ip, ((size_t)prefix + 7) / 8);
		return 1;
	case RL_K_SENDER:
	case RL_K_RCPT:
		v = l->key == RL_K_SENDER ? s->sender : s->rcpt;
		if (v == NULL || *(v = strip_route(v)) == '\0')
			return 0;
		put_lower(buf, cap, off, v, addr_len(v));
		return 1;
	case RL_K_SENDER_DOMAIN:
		if (s->sender == NULL ||
		    (at = strrchr(strip_route(s->sender), '@')) == NULL ||
		    (len = trim_dot(at + 1)) == 0)
			return 0;
		put_lower(buf, cap, off, at + 1, len);
		return 1;
	case RL_K_AUTH_USER:
		if (s->auth_user == NULL || *s->auth_user == '\0')
			return 0;
		put_lower(buf, cap, off, s->auth_user, strlen(s->auth_user));
		return 1;
	case RL_K_HELO:
		if (s->helo == NULL || (len = trim_dot(s->helo)) == 0)
			return 0;
		put_lower(buf, cap, off, s->helo, len);
		return 1;
	default:
		return 0;
	}
}

size_t
rl_key_build(const struct rl_limit *l, const struct rl_subject *s,
    unsigned char *buf, size_t cap)
{
	int		 authed = s->auth_user != NULL && *s->auth_user != '\0';
	unsigned char	 type = (unsigned char)('a' + l->key);
	size_t		 off = 0;

	if ((l->only == RL_O_AUTH && !authed) ||
	    (l->only == RL_O_UNAUTH && authed))
		return 0;
	put(buf, cap, &off, KEY_PREFIX, sizeof(KEY_PREFIX));	/* with NUL */
	put(buf, cap, &off, l->name, strlen(l->name) + 1);
	put(buf, cap, &off, &type, 1);
	if (!value(l, s, buf, cap, &off))
		return 0;
	return off;
}
