/*
 * table_cidr.c -- addresses and networks as the rules write them
 *
 * Parsing of "192.0.2.0/24", "2001:db8::/32" and bare addresses, the
 * membership test of one network (client-ip == CIDR), and the address
 * forms an MTA hands over in macros and HELO ("[192.0.2.1]",
 * "[IPv6:2001:db8::1]"). IPv4-mapped IPv6 is folded to IPv4 everywhere,
 * so that ::ffff:192.0.2.1 and 192.0.2.1 are the same client.
 */
#include "config.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "table.h"

static const unsigned char v4mapped[12] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
};

/* addr_parse - inet_pton for either family into out; length or 0 */
static size_t
addr_parse(const char *s, size_t len, unsigned char out[16])
{
	char	 buf[INET6_ADDRSTRLEN + 8];

	if (len == 0 || len >= sizeof(buf))
		return 0;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (memchr(buf, ':', len) == NULL)
		return inet_pton(AF_INET, buf, out) == 1 ? 4 : 0;
	if (inet_pton(AF_INET6, buf, out) != 1)
		return 0;
	return 16;
}

/* fd_ip_parse - an address, bracketed or not; mapped IPv6 folds to IPv4 */
size_t
fd_ip_parse(const char *s, size_t len, unsigned char out[16])
{
	size_t	 n;

	if (len >= 2 && s[0] == '[' && s[len - 1] == ']') {
		s++;
		len -= 2;
	}
	if (len > 5 && strncasecmp(s, "IPv6:", 5) == 0) {
		s += 5;
		len -= 5;
	}
	if ((n = addr_parse(s, len, out)) == 16 &&
	    memcmp(out, v4mapped, sizeof(v4mapped)) == 0) {
		memmove(out, out + 12, 4);
		n = 4;
	}
	return n;
}

/* prefix_parse - the decimal after '/', 0..max */
static int
prefix_parse(const char *s, unsigned max, unsigned *out)
{
	unsigned	 v = 0;

	if (*s == '\0' || strlen(s) > 3)
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (unsigned)(*s - '0');
	}
	if (v > max)
		return -1;
	*out = v;
	return 0;
}

/* host_bits - 1 if c has bits set past its prefix */
static int
host_bits(const struct fd_cidr *c)
{
	unsigned	 i;

	for (i = c->plen; i < c->len * 8u; i++)
		if (c->addr[i / 8] & (0x80 >> (i % 8)))
			return 1;
	return 0;
}

/* fd_cidr_parse - a network or an address; mapped IPv6 becomes IPv4 */
int
fd_cidr_parse(const char *s, struct fd_cidr *c, char *why, size_t whylen)
{
	const char	*slash = strchr(s, '/');
	size_t		 alen = slash ? (size_t)(slash - s) : strlen(s);
	unsigned	 plen;
	char		 net[INET6_ADDRSTRLEN];
	struct fd_cidr	 fix;

	memset(c, 0, sizeof(*c));
	c->len = (unsigned char)addr_parse(s, alen, c->addr);
	if (c->len == 0) {
		snprintf(why, whylen, "\"%.*s\" is not an IPv4 or IPv6 address",
		    (int)(alen > 64 ? 64 : alen), s);
		return -1;
	}
	plen = c->len * 8u;
	if (slash != NULL && prefix_parse(slash + 1, plen, &plen) < 0) {
		snprintf(why, whylen, "bad prefix length \"%.24s\" (0 to %u)",
		    slash + 1, c->len * 8u);
		return -1;
	}
	c->plen = (unsigned char)plen;
	if (c->len == 16 && memcmp(c->addr, v4mapped, 12) == 0 &&
	    c->plen >= 96) {
		memmove(c->addr, c->addr + 12, 4);
		memset(c->addr + 4, 0, 12);
		c->len = 4;
		c->plen -= 96;
	}
	if (host_bits(c)) {
		fix = *c;
		for (plen = fix.plen; plen < fix.len * 8u; plen++)
			fix.addr[plen / 8] &= (unsigned char)~(0x80 >> (plen % 8));
		inet_ntop(fix.len == 4 ? AF_INET : AF_INET6, fix.addr, net,
		    sizeof(net));
		snprintf(why, whylen, "host bits set in \"%s\" "
		    "(the network is %s/%u)", s, net, fix.plen);
		return -1;
	}
	return 0;
}

/* fd_cidr_match - compare the first plen bits */
int
fd_cidr_match(const struct fd_cidr *c, const unsigned char *ip, size_t iplen)
{
	unsigned	 full, rest;

	if (iplen != c->len)
		return 0;
	full = c->plen / 8u;
	rest = c->plen % 8u;
	if (memcmp(c->addr, ip, full) != 0)
		return 0;
	if (rest == 0)
		return 1;
	return ((c->addr[full] ^ ip[full]) & (0xff00 >> rest) & 0xff) == 0;
}
