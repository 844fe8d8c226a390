/*
 * helo_net.h -- IP addresses and networks, as the HELO checks compare them
 *
 * An address is 4 or 16 bytes in network order. IPv4-mapped IPv6
 * addresses (::ffff:192.0.2.1) are folded to IPv4 on the way in, so a
 * client that the MTA reports over an IPv6 socket still matches an IPv4
 * literal, network or local address.
 */
#ifndef HELO_NET_H
#define HELO_NET_H

#include <stddef.h>

#define HELO_ADDR_STRLEN	46	/* INET6_ADDRSTRLEN */

struct helo_addr {
	unsigned char	 a[16];
	size_t		 len;		/* 4, 16; 0: no address */
};

struct helo_net {
	struct helo_addr addr;		/* host bits cleared */
	unsigned	 bits;		/* prefix length */
};

/* helo_addr_set - copy len (4 or 16) bytes, folding IPv4-mapped; 0/-1 */
int	 helo_addr_set(struct helo_addr *, const unsigned char *a,
	    size_t len);
/* helo_addr_parse - text form ("192.0.2.1", "2001:db8::1"); 0 or -1 */
int	 helo_addr_parse(struct helo_addr *, const char *s);
/* helo_addr_eq - 1 if the same address */
int	 helo_addr_eq(const struct helo_addr *, const struct helo_addr *);
/* helo_addr_loopback - 1 for 127.0.0.0/8 and ::1 */
int	 helo_addr_loopback(const struct helo_addr *);
/* helo_addr_str - text form into buf (HELO_ADDR_STRLEN); "" if none */
char	*helo_addr_str(const struct helo_addr *, char *buf, size_t buflen);

/* helo_net_parse - "10.0.0.0/8", "2001:db8::/32", or one address; 0/-1 */
int	 helo_net_parse(struct helo_net *, const char *s);
/* helo_net_match - 1 if addr lies in net */
int	 helo_net_match(const struct helo_net *, const struct helo_addr *);

#endif
