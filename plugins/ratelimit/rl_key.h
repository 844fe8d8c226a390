/*
 * rl_key.h -- the store key of a limit for one client, sender, recipient
 *
 * A key names one counter: the limit (by its name) and the normalised
 * value it is keyed by. The host hashes keys before they reach the
 * store, so a key may hold an address; it is never logged.
 *
 * Pure: the caller gathers the subject from the transaction, so tests
 * build keys from plain values.
 */
#ifndef RL_KEY_H
#define RL_KEY_H

#include <stddef.h>

#include "rl_spec.h"

/* What keys are made of; a NULL or empty string is "not known". */
struct rl_subject {
	unsigned char	 ip[16];	/* client address, iplen bytes */
	size_t		 iplen;		/* 4, 16, or 0 (no IP client) */
	const char	*sender;	/* MAIL FROM without <>; "" is <> */
	const char	*auth_user;	/* {auth_authen} */
	const char	*rcpt;		/* recipient under decision */
	const char	*helo;
};

/*
 * rl_key_build - the key of limit l for subject s into buf (at most cap
 * bytes). Returns the key's full length, which may exceed cap (then call
 * again with a larger buffer), or 0 when the limit does not apply to s:
 * its value is unknown (no IP, null sender, no domain, not
 * authenticated, no HELO) or the session is excluded by `only`.
 */
size_t	 rl_key_build(const struct rl_limit *l, const struct rl_subject *s,
	    unsigned char *buf, size_t cap);

/* rl_ip_mask - keep the first `prefix` bits of ip (len bytes), zero the
 * rest; an IPv4-mapped IPv6 address becomes its IPv4 address first.
 * Returns the address length after mapping (4 or 16). */
size_t	 rl_ip_mask(unsigned char ip[16], size_t len, int v4prefix,
	    int v6prefix, int *prefix);

#endif
