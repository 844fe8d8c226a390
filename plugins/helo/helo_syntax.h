/*
 * helo_syntax.h -- what an HELO/EHLO argument is, by RFC 5321 alone
 *
 * helo_syntax() classifies the argument of HELO/EHLO without looking at
 * anything else: a Domain (section 4.1.2), an IPv4 or IPv6 address literal
 * (section 4.1.3), a bare IP address written without brackets, or not
 * valid, with the first problem found. It is a pure function of its
 * bytes, so the checks and the tests can lean on it.
 *
 * Two tolerances, both for real senders: one trailing dot is accepted
 * ("mx.example.") and dropped, and underscores in labels are accepted
 * but flagged, so the policy can decide about them on its own.
 */
#ifndef HELO_SYNTAX_H
#define HELO_SYNTAX_H

#include <stddef.h>

#define HELO_NAME_MAX	255	/* RFC 5321 4.5.3.1.2: domain, octets */
#define HELO_LABEL_MAX	63	/* RFC 1035 2.3.4 */

enum helo_kind {
	HELO_K_INVALID = 0,
	HELO_K_DOMAIN,		/* mx.example.org */
	HELO_K_LITERAL4,	/* [192.0.2.1] */
	HELO_K_LITERAL6,	/* [IPv6:2001:db8::1] */
	HELO_K_BARE4,		/* 192.0.2.1 */
	HELO_K_BARE6		/* 2001:db8::1 */
};

enum helo_syn {
	HELO_S_OK = 0,
	HELO_S_EMPTY,		/* nothing at all */
	HELO_S_TOO_LONG,	/* over 255 octets */
	HELO_S_LABEL_TOO_LONG,	/* a label over 63 octets */
	HELO_S_EMPTY_LABEL,	/* "a..b", ".a" */
	HELO_S_HYPHEN_START,	/* "-a.example" */
	HELO_S_HYPHEN_END,	/* "a-.example" */
	HELO_S_CONTROL,		/* control character, DEL */
	HELO_S_NON_ASCII,	/* a byte >= 0x80 (UTF-8 is not allowed) */
	HELO_S_BAD_CHAR,	/* space, punctuation, ... */
	HELO_S_NUMERIC_TLD,	/* last label all digits, and not an IP */
	HELO_S_LITERAL_OPEN,	/* "[" without its "]" */
	HELO_S_BAD_IPV4,	/* "[300.1.1.1]", "[1.2.3]" */
	HELO_S_BAD_IPV6,	/* "[IPv6:1::2::3]" */
	HELO_S_UNKNOWN_TAG,	/* "[foo:bar]": no such standardized tag */
	HELO_S_LITERAL_EMPTY,	/* "[]" */
	HELO_S_LITERAL_TRAIL	/* "[192.0.2.1]:25": text after the "]" */
};

struct helo_name {
	enum helo_kind	 kind;
	enum helo_syn	 err;		/* HELO_S_OK unless INVALID */
	size_t		 errpos;	/* offset of the offending byte */
	int		 has_dot;	/* a dot inside the name */
	int		 trailing_dot;	/* a final dot was dropped */
	int		 underscore;	/* a label has '_' */
	unsigned char	 addr[16];	/* literal or bare IP */
	size_t		 addrlen;	/* 4, 16, or 0 */
	char		 norm[HELO_NAME_MAX + 1]; /* domain: lower case, no
					 * trailing dot; else empty */
};

/* helo_syntax - classify len bytes of s into *out; returns out->err */
enum helo_syn	 helo_syntax(const char *s, size_t len,
		    struct helo_name *out);
/* helo_syntax_str - short English phrase for err ("empty label") */
const char	*helo_syntax_str(enum helo_syn err);
/* helo_parse_ipv4 - RFC 5321 IPv4-address-literal (Snum.Snum.Snum.Snum)
 * of len bytes into out; 0 or -1 */
int		 helo_parse_ipv4(const char *s, size_t len,
		    unsigned char out[4]);

#endif
