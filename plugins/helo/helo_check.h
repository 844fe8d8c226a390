/*
 * helo_check.h -- the HELO checks, their actions, and their verdict
 *
 * Each check has its own action (off, log, tempfail, reject) in a
 * helo_policy built once per configuration generation by helo_conf.c and
 * read-only afterwards. helo_check_name() runs the checks that need
 * nothing but the name, the client's address and the MTA's own name;
 * the glue adds the findings that need connection history (changes) or
 * DNS (forward-confirm, unresolvable) with helo_result_add(). Everything
 * here is pure: no host, no I/O, so the tests drive it from a table.
 */
#ifndef HELO_CHECK_H
#define HELO_CHECK_H

#include <stddef.h>
#include <stdint.h>

#include "helo_net.h"
#include "helo_syntax.h"

/* Actions, weakest first: a larger value wins when checks disagree. */
enum helo_act {
	HELO_A_OFF = 0,
	HELO_A_LOG,
	HELO_A_TEMPFAIL,
	HELO_A_REJECT
};

/*
 * The checks. Between findings with the same action the one listed
 * first decides: the most specific explanation goes to the client.
 */
enum helo_check {
	HELO_C_REQUIRE = 0,	/* require-helo: MAIL before HELO/EHLO */
	HELO_C_SYNTAX,		/* syntax: not a Domain or literal */
	HELO_C_BARE_IP,		/* bare-ip: an IP without brackets */
	HELO_C_LOCALHOST,	/* localhost: loopback name, remote client */
	HELO_C_SELF,		/* self: our own name or address */
	HELO_C_LITERAL,		/* literal-mismatch: not the client */
	HELO_C_FQDN,		/* fqdn: no dot */
	HELO_C_GENERIC,		/* generic: matches a pattern */
	HELO_C_UNDERSCORE,	/* underscore: '_' in a label */
	HELO_C_CHANGES,		/* changes: too many names, one conn */
	HELO_C_FORWARD,		/* forward-confirm: A/AAAA miss client */
	HELO_C_UNRESOLVED,	/* unresolvable: NXDOMAIN or no A/AAAA */
	HELO_C_MAX
};

#define HELO_CHANGES_MAX	30	/* largest `changes` limit */
#define HELO_SEEN_MAX		(HELO_CHANGES_MAX + 2)

struct helo_policy {
	enum helo_act	 act[HELO_C_MAX];
	unsigned	 changes_max;	/* more distinct names fire */
	int		 exempt_auth;	/* authenticated clients pass */
	int		 exempt_local;	/* loopback, unix socket */
	int		 enforce_at_helo; /* else at MAIL (AUTH known) */

	char		**local_names;	/* lower case, no final dot */
	size_t		 nlocal_names;
	struct helo_addr *local_addrs;
	size_t		 nlocal_addrs;
	struct helo_net	*trusted;
	size_t		 ntrusted;

	/* generic patterns, matched through the host's regexes */
	int		(*generic_match)(const void *arg, const char *s,
			    size_t len);
	const void	*generic_arg;
	size_t		 ngeneric;

	/* forward confirmation */
	char		*resolver;	/* "127.0.0.1:5353,..."; NULL */
	int64_t		 dns_timeout_ms;
	uint64_t	 dns_cache_size;
	int64_t		 dns_cache_ttl;	/* cap on TTLs, seconds */
};

/* What the checks know about the client. */
struct helo_client {
	struct helo_addr addr;		/* len 0: not an IP client */
	int		 local;		/* loopback or unix socket */
	const char	*mta_name;	/* the MTA's {j}, or NULL */
	struct helo_addr daemon_addr;	/* {if_addr} or {daemon_addr} */
};

struct helo_result {
	struct helo_name name;		/* helo_syntax() of the name */
	uint32_t	 found;		/* bit (1 << check) each */
	enum helo_check	 decisive;	/* strongest, or HELO_C_MAX */
	enum helo_act	 act;		/* its action, or OFF */
	unsigned	 ndistinct;	/* for changes: names seen so far */
};

/* The distinct names one connection announced: FNV-1a hashes. */
struct helo_seen {
	unsigned	 n;		/* distinct names (saturates) */
	uint64_t	 h[HELO_SEEN_MAX];
};

/* helo_policy_defaults - the safe defaults for a public MX */
void		 helo_policy_defaults(struct helo_policy *);
/* helo_check_name - run the name checks on len bytes of s */
void		 helo_check_name(const struct helo_policy *,
		    const struct helo_client *, const char *s, size_t len,
		    struct helo_result *);
/* helo_result_init - no findings yet */
void		 helo_result_init(struct helo_result *);
/* helo_result_add - record check c if its action is not off */
void		 helo_result_add(struct helo_result *,
		    const struct helo_policy *, enum helo_check c);
/* helo_found - 1 if check c is among the findings */
int		 helo_found(const struct helo_result *, enum helo_check c);
/* helo_trusted - 1 if addr is in the trusted networks */
int		 helo_trusted(const struct helo_policy *,
		    const struct helo_addr *);
/* helo_seen_add - remember s (case-insensitive); distinct names so far */
unsigned	 helo_seen_add(struct helo_seen *, const char *s, size_t len);

/* helo_check_str - the directive name of a check ("literal-mismatch") */
const char	*helo_check_str(enum helo_check);
/* helo_check_lookup - the check a directive names, or HELO_C_MAX */
enum helo_check	 helo_check_lookup(const char *name);
/* helo_act_str - "off", "log", "tempfail", "reject" */
const char	*helo_act_str(enum helo_act);
/* helo_act_lookup - 0 and *out, or -1 for an unknown word */
int		 helo_act_lookup(const char *word, enum helo_act *out);

#endif
