/*
 * table.h -- lookup tables for rules: CIDR, domain, regex and list
 *
 * A table is filled at load (inline `{ a, b }` lists or one-entry-per-line
 * files), sealed, and then only read, from any thread at once.
 *
 *   cidr    IPv4 and IPv6 networks and addresses. Stored as sorted,
 *           merged address ranges, one array per family: a lookup is a
 *           binary search, O(log n). IPv4-mapped IPv6 entries
 *           (::ffff:192.0.2.0/120) are stored as IPv4, as txn.h does with
 *           client addresses.
 *   domain  host and domain names in a hash set; "example.com" matches
 *           that name, ".example.com" the name and every subdomain. A
 *           lookup hashes the name and each parent suffix: O(labels).
 *           Case-insensitive; a trailing dot is ignored.
 *   list    exact strings (local parts, addresses, user names) in a hash
 *           set, compared ignoring ASCII case.
 *   regex   PCRE2 patterns. Sealing compiles the patterns that allow it
 *           into one alternation, so a miss is one PCRE2 match (plus
 *           one per pattern with a backreference, x or u flag...); a
 *           hit is confirmed pattern by pattern. Still linear in the
 *           table's size inside PCRE2 (use it for tens or hundreds of
 *           patterns, not thousands).
 */
#ifndef FD_TABLE_H
#define FD_TABLE_H

#include <stddef.h>
#include <stdint.h>

#include "errs.h"

enum fd_table_kind {
	FD_TABLE_CIDR = 0,
	FD_TABLE_DOMAIN,
	FD_TABLE_REGEX,
	FD_TABLE_LIST
};

/* a network: len 4 or 16 address bytes, plen leading bits significant */
struct fd_cidr {
	unsigned char	 addr[16];
	unsigned char	 len;
	unsigned char	 plen;
};

struct fd_table;

/* fd_cidr_parse - "192.0.2.0/24", "2001:db8::/32", "192.0.2.1"; -1 and a
 * reason in why (host bits set, bad prefix...) */
int	 fd_cidr_parse(const char *s, struct fd_cidr *, char *why, size_t whylen);
/* fd_cidr_match - 1 if ip (iplen 4 or 16 bytes) lies in the network */
int	 fd_cidr_match(const struct fd_cidr *, const unsigned char *ip,
	    size_t iplen);
/* fd_ip_parse - an address as text ("[192.0.2.1]", "IPv6:..." allowed);
 * IPv4-mapped IPv6 comes back as 4 bytes; returns the length or 0 */
size_t	 fd_ip_parse(const char *s, size_t len, unsigned char out[16]);

/* fd_table_kind_parse - "cidr", "domain", "regex", "list"; -1 if none */
int	 fd_table_kind_parse(const char *, enum fd_table_kind *);
const char *fd_table_kind_name(enum fd_table_kind);

/* fd_table_new - an empty table; name is copied (NULL: anonymous) */
struct fd_table	*fd_table_new(const char *name, enum fd_table_kind);
/* fd_table_add - one entry; -1 and a reason in err */
int	 fd_table_add(struct fd_table *, const char *entry, char *err,
	    size_t errlen);
/* fd_table_load - add every entry of a file; bad entries are reported
 * as locname:line:col, a file that cannot be read at `from` (the
 * directive naming it); -1 if anything was reported */
int	 fd_table_load(struct fd_table *, const char *path, const char *locname,
	    const struct fd_loc *from, struct fd_errs *);
/* fd_table_seal - finish building (sort and merge ranges, combine
 * patterns); before lookups */
void	 fd_table_seal(struct fd_table *);

/* fd_table_match_ip - 1 if the binary address is in a cidr table */
int	 fd_table_match_ip(const struct fd_table *, const unsigned char *ip,
	    size_t iplen);
/* fd_table_match - 1 if the text matches (a cidr table parses it as an
 * address); a regex that hits its limit counts as no match */
int	 fd_table_match(const struct fd_table *, const char *s, size_t len);

const char *fd_table_name(const struct fd_table *);
enum fd_table_kind fd_table_kind(const struct fd_table *);
/* fd_table_count - entries added (before merging) */
size_t	 fd_table_count(const struct fd_table *);
/* fd_table_programs - PCRE2 programs a regex miss runs; for tests */
size_t	 fd_table_programs(const struct fd_table *);

/* fd_table_free - returns NULL */
struct fd_table	*fd_table_free(struct fd_table *);

#endif
