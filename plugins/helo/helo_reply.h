/*
 * helo_reply.h -- what the client (and the admin reading its bounce) is told
 *
 * One reply per check: the SMTP code, the enhanced code (RFC 3463: 5.5.2
 * for syntax, 5.5.1 for a missing HELO, 5.7.1 for policy, 4.7.1 for every
 * tempfail) and a sentence saying what is wrong and what to announce
 * instead. The HELO itself is quoted only when it is plain printable
 * ASCII without quote, backslash or percent sign, truncated; otherwise the
 * text describes it without repeating it.
 */
#ifndef HELO_REPLY_H
#define HELO_REPLY_H

#include <stddef.h>

#include "helo_check.h"

#define HELO_QUOTE_MAX	64	/* HELO characters quoted in a reply */

struct helo_reply {
	char	 rcode[4];
	char	 xcode[8];
	char	 text[400];
};

/* helo_reply_make - the reply for check c taken with action a (tempfail or
 * reject); helo/len is the argument, client the client's address text */
void		 helo_reply_make(struct helo_reply *, enum helo_check c,
		    enum helo_act a, const char *helo, size_t len,
		    const struct helo_result *, const char *client);
/* helo_reply_quotable - 1 if the bytes may appear in a reply */
int		 helo_reply_quotable(const char *s, size_t len);
/* helo_why - a short phrase for the log line about finding c */
const char	*helo_why(enum helo_check c, const struct helo_result *);

#endif
