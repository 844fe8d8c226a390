/*
 * re.h -- PCRE2 patterns compiled once, matched with limits
 *
 * Every regex in filterd (rules, table files, plugins through the host)
 * comes from here: compiled at load with JIT where the platform has it,
 * matched with a per-thread match context whose match and depth limits
 * stop catastrophic backtracking. A match that hits a limit returns -1;
 * callers count it as "no match" and the limit hit is logged once per
 * pattern per minute.
 */
#ifndef FD_RE_H
#define FD_RE_H

#include <stddef.h>

struct fd_regex;

/* fd_re_new - compile pattern with flags ("i", "x", "s", "m", "u");
 * NULL and PCRE2's message (with offset) in err on failure */
struct fd_regex	*fd_re_new(const char *pattern, const char *flags,
		    char *err, size_t errlen);
/* fd_re_match - 1 match, 0 no match, -1 limit hit or error */
int		 fd_re_match(const struct fd_regex *, const char *s, size_t len);
/* fd_re_free - returns NULL */
struct fd_regex	*fd_re_free(struct fd_regex *);
/* fd_re_pattern - the source text, for logs */
const char	*fd_re_pattern(const struct fd_regex *);

/* fd_re_combinable - 1 if the pattern means the same as one alternative
 * of a union: flags i, m, s only; no backreference or group reference,
 * named group, inline option, \Q, \c or (*VERB); conservative */
int		 fd_re_combinable(const struct fd_regex *);
/* fd_re_union - one program matching where any of n combinable patterns
 * would (their flags kept per pattern), compiled without captures. Its
 * 0 is the patterns' answer; its 1 and -1 may not be (its limits count
 * differently), so a caller settles those pattern by pattern, and
 * fd_re_match never logs the union's own limit hits. NULL and a reason
 * in err (n == 0, a pattern not combinable, too big to compile) */
struct fd_regex	*fd_re_union(struct fd_regex *const *, size_t n, char *err,
		    size_t errlen);

#endif
