/*
 * grey_client.h -- the client part of a greylist triplet
 *
 * Who counts as "the same client" when a message is retried decides
 * whether greylisting delays mail once or forever. Big senders retry from
 * another address of a pool, and IPv6 senders from another address of
 * their /64. The client key is, in order of preference:
 *
 *   pool:NAME     the address is in a network of a known pool, or the
 *                 verified reverse name is under one of its domains
 *                 (`pool` / `pools` directives);
 *   rdns:DOMAIN   with `pool-by-rdns on`: the registrable domain of the
 *                 verified reverse name ({client_name} when
 *                 {client_resolve} is OK), unless the name looks derived
 *                 from the address (dsl-192-0-2-7.isp.example), which
 *                 marks a dynamic pool whose hosts are not one sender;
 *   net:PREFIX    the address masked to ipv4-prefix / ipv6-prefix bits
 *                 (default /24 and /64): "net:192.0.2.0/24",
 *                 "net:2001:db8:1:2::/64";
 *   none          no address (a unix-socket client that is not local).
 *
 * Pure functions over the configuration and what the host reported.
 */
#ifndef GREY_CLIENT_H
#define GREY_CLIENT_H

#include <stddef.h>

#include "grey_table.h"

struct grey_suffix;

/* known pools: nets and names valued with an index into label */
struct grey_pools {
	struct grey_nets	 nets;
	struct grey_names	 names;
	char			**label;	/* owned */
	size_t			 n;
};

struct grey_client_conf {
	int			 v4_prefix;	/* 1..32 */
	int			 v6_prefix;	/* 1..128 */
	int			 pool_rdns;	/* key by verified rDNS domain */
	const struct grey_pools	*pools;		/* or NULL */
	const struct grey_suffix *psl;		/* NULL: built-in heuristic */
};

/* what the host said about the client */
struct grey_client {
	const unsigned char	*ip;		/* 4 or 16 bytes, or NULL */
	size_t			 iplen;
	const char		*name;		/* {client_name}, may be NULL */
	int			 verified;	/* {client_resolve} is OK */
};

enum grey_ck {
	GREY_CK_NONE = 0,
	GREY_CK_NET,
	GREY_CK_RDNS,
	GREY_CK_POOL
};

/* grey_client_key - the client key text into out (truncated to outlen,
 * never unterminated); returns which kind it is */
enum grey_ck grey_client_key(const struct grey_client_conf *,
	    const struct grey_client *, char *out, size_t outlen);

/* grey_net_format - ip masked to plen bits as "addr/plen", the address
 * written as inet_ntop writes it; truncated to outlen like snprintf */
void	 grey_net_format(char *out, size_t outlen, const unsigned char *ip,
	    size_t iplen, int plen);

/* grey_name_dynamic - 1 when the lowercased name looks made of the
 * address: an IPv4 address's last two octets as separate numbers
 * (dsl-198-51-100-7.example.net; the address as one long number, as
 * large senders name their outbound hosts, is not), two of an IPv6
 * address's non-zero groups as hex words (2001-db8-1-2--5.dyn.example) */
int	 grey_name_dynamic(const char *name, const unsigned char *ip,
	    size_t iplen);

/* grey_pools_add - member (a network, or a domain) of pool label;
 * -1 with why on a malformed member or no memory */
int	 grey_pools_add(struct grey_pools *, const char *label,
	    const char *member, const char **why);
void	 grey_pools_seal(struct grey_pools *);
void	 grey_pools_clear(struct grey_pools *);

#endif
