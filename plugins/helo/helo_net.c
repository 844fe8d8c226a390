/*
 * helo_net.c -- IP addresses and networks for the HELO checks
 *
 * inet_pton and inet_ntop do the text forms; what is added here is the
 * folding of IPv4-mapped IPv6 addresses and prefix matching, the two
 * things every comparison of a client with a literal or a network needs.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "helo_net.h"

static const unsigned char v4mapped[12] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
};

/* helo_addr_set - copy an address, folding ::ffff:a.b.c.d to IPv4 */
int
helo_addr_set(struct helo_addr *ad, const unsigned char *a, size_t len)
{
	memset(ad, 0, sizeof(*ad));
	if (len == 16 && memcmp(a, v4mapped, sizeof(v4mapped)) == 0) {
		memcpy(ad->a, a + 12, 4);
		ad->len = 4;
		return 0;
	}
	if (len != 4 && len != 16)
		return -1;
	memcpy(ad->a, a, len);
	ad->len = len;
	return 0;
}

/* helo_addr_parse - text to address */
int
helo_addr_parse(struct helo_addr *ad, const char *s)
{
	unsigned char	 buf[16];

	if (inet_pton(AF_INET, s, buf) == 1)
		return helo_addr_set(ad, buf, 4);
	if (inet_pton(AF_INET6, s, buf) == 1)
		return helo_addr_set(ad, buf, 16);
	memset(ad, 0, sizeof(*ad));
	return -1;
}

/* helo_addr_eq - same family and bytes */
int
helo_addr_eq(const struct helo_addr *x, const struct helo_addr *y)
{
	return x->len != 0 && x->len == y->len &&
	    memcmp(x->a, y->a, x->len) == 0;
}

/* helo_addr_loopback - 127/8 or ::1 */
int
helo_addr_loopback(const struct helo_addr *ad)
{
	static const unsigned char one[16] = { [15] = 1 };

	if (ad->len == 4)
		return ad->a[0] == 127;
	return ad->len == 16 && memcmp(ad->a, one, 16) == 0;
}

/* helo_addr_str - inet_ntop of the address */
char *
helo_addr_str(const struct helo_addr *ad, char *buf, size_t buflen)
{
	if (buflen == 0)
		return buf;
	buf[0] = '\0';
	if (ad->len != 0 && inet_ntop(ad->len == 4 ? AF_INET : AF_INET6,
	    ad->a, buf, (socklen_t)buflen) == NULL)
		buf[0] = '\0';
	return buf;
}

/* helo_net_parse - address with an optional /prefix */
int
helo_net_parse(struct helo_net *net, const char *s)
{
	char		 buf[64];
	const char	*slash = strchr(s, '/');
	size_t		 alen;
	unsigned	 max, i;
	char		*end;
	unsigned long	 bits;

	memset(net, 0, sizeof(*net));
	alen = slash != NULL ? (size_t)(slash - s) : strlen(s);
	if (alen == 0 || alen >= sizeof(buf))
		return -1;
	memcpy(buf, s, alen);
	buf[alen] = '\0';
	/* parse without folding: "::ffff:0:0/96" keeps its IPv6 prefix */
	if (inet_pton(AF_INET, buf, net->addr.a) == 1)
		net->addr.len = 4;
	else if (inet_pton(AF_INET6, buf, net->addr.a) == 1)
		net->addr.len = 16;
	else
		return -1;
	max = (unsigned)net->addr.len * 8;
	bits = max;
	if (slash != NULL) {
		if (slash[1] < '0' || slash[1] > '9')
			return -1;
		bits = strtoul(slash + 1, &end, 10);
		if (*end != '\0' || bits > max)
			return -1;
	}
	net->bits = (unsigned)bits;
	for (i = net->bits; i < max; i++)
		net->addr.a[i / 8] &= (unsigned char)~(0x80u >> (i % 8));
	/* a mapped network of /96 or longer is an IPv4 network */
	if (net->addr.len == 16 && net->bits >= 96 &&
	    memcmp(net->addr.a, v4mapped, sizeof(v4mapped)) == 0) {
		memmove(net->addr.a, net->addr.a + 12, 4);
		memset(net->addr.a + 4, 0, 12);
		net->addr.len = 4;
		net->bits -= 96;
	}
	return 0;
}

/* helo_net_match - compare the first bits bits */
int
helo_net_match(const struct helo_net *net, const struct helo_addr *ad)
{
	unsigned	 full = net->bits / 8, rest = net->bits % 8;
	unsigned char	 mask;

	if (ad->len == 0 || ad->len != net->addr.len)
		return 0;
	if (memcmp(net->addr.a, ad->a, full) != 0)
		return 0;
	if (rest == 0)
		return 1;
	mask = (unsigned char)(0xffu << (8 - rest));
	return (net->addr.a[full] & mask) == (ad->a[full] & mask);
}
