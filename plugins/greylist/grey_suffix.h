/*
 * grey_suffix.h -- the registrable domain of a host name
 *
 * With `pool-by-rdns on` a client is keyed by the registrable domain of
 * its verified reverse-DNS name ("mail-wr1-f54.google.com" -> google.com,
 * "smtp3.mail.example.co.uk" -> example.co.uk), so a retry from another
 * host of the same sender's pool matches. The registrable domain is the
 * public suffix plus one label. Two ways to know public suffixes:
 *
 *   built in    a heuristic: the top label, or the top two labels when
 *               the top is a two-letter country code and the second a
 *               usual second-level name (co, com, net, org, ac, gov, ...);
 *   table       rules in the Public Suffix List format, loaded from a
 *               file: "co.uk", wildcards "*.ck", exceptions "!www.ck",
 *               comments "//"; the longest matching rule wins, an
 *               exception over any other, and a name no rule matches has
 *               its top label as suffix (the list's implicit "*" rule).
 *
 * A table is built at configuration time and only read afterwards, from
 * any thread. Names given to lookups must already be lowercase without a
 * trailing dot.
 */
#ifndef GREY_SUFFIX_H
#define GREY_SUFFIX_H

#include <stddef.h>

struct grey_suffix;

/* grey_suffix_new - an empty rule table; NULL when out of memory */
struct grey_suffix *grey_suffix_new(void);
/* grey_suffix_add - one rule ("co.uk", "*.ck", "!www.ck"); -1 for a
 * malformed rule or no memory */
int	 grey_suffix_add(struct grey_suffix *, const char *rule);
/* grey_suffix_seal - sort the rules; before the first lookup */
void	 grey_suffix_seal(struct grey_suffix *);
/* grey_suffix_count - rules added */
size_t	 grey_suffix_count(const struct grey_suffix *);
/* grey_suffix_free - returns NULL */
struct grey_suffix *grey_suffix_free(struct grey_suffix *);

/* grey_registrable - the registrable domain of name (a suffix of it, so
 * a pointer into name), or NULL when name is itself a public suffix or
 * has no dot; tab NULL uses the built-in heuristic */
const char *grey_registrable(const struct grey_suffix *tab, const char *name);

#endif
