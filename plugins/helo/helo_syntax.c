/*
 * helo_syntax.c -- classify an HELO/EHLO argument by RFC 5321 alone
 *
 * The grammar is RFC 5321 section 4.1.2 (Domain) and 4.1.3 (address
 * literals); the limits are 4.5.3.1.2 (255 octets) and RFC 1035 (63 per
 * label); RFC 1123 2.1 adds that the top label of a host name is never all
 * digits, which is what tells "300.1.1.1" (a bad address) from a name.
 *
 * The length check comes first, so a 10 kB argument costs one comparison,
 * and every scan below is bounded by HELO_NAME_MAX. Nothing here allocates.
 */
#include <arpa/inet.h>
#include <string.h>
#include <strings.h>

#include "helo_syntax.h"

#define IS_DIGIT(c)	((c) >= '0' && (c) <= '9')
#define IS_ALPHA(c)	(((c) >= 'a' && (c) <= 'z') || \
			    ((c) >= 'A' && (c) <= 'Z'))
#define IS_LETDIG(c)	(IS_ALPHA(c) || IS_DIGIT(c))
#define IS_HEX(c)	(IS_DIGIT(c) || ((c) >= 'a' && (c) <= 'f') || \
			    ((c) >= 'A' && (c) <= 'F'))
#define LOWER(c)	((c) >= 'A' && (c) <= 'Z' ? (c) - 'A' + 'a' : (c))

/* fail - record the first error and its position */
static enum helo_syn
fail(struct helo_name *out, enum helo_syn err, size_t pos)
{
	out->kind = HELO_K_INVALID;
	out->err = err;
	out->errpos = pos;
	out->addrlen = 0;
	out->norm[0] = '\0';
	return err;
}

/* helo_parse_ipv4 - four Snum (1*3DIGIT, 0..255) joined by dots */
int
helo_parse_ipv4(const char *s, size_t len, unsigned char out[4])
{
	size_t	 i = 0;
	int	 part;

	for (part = 0; part < 4; part++) {
		unsigned v = 0, ndig = 0;

		if (part > 0) {
			if (i >= len || s[i] != '.')
				return -1;
			i++;
		}
		while (i < len && IS_DIGIT(s[i]) && ndig < 4) {
			v = v * 10 + (unsigned)(s[i] - '0');
			i++;
			ndig++;
		}
		if (ndig == 0 || ndig > 3 || v > 255)
			return -1;
		out[part] = (unsigned char)v;
	}
	return i == len ? 0 : -1;
}

/* parse_ipv6 - RFC 4291 text form (what RFC 5321 IPv6-addr spells) */
static int
parse_ipv6(const char *s, size_t len, unsigned char out[16])
{
	char	 buf[64];
	size_t	 i;

	/* the longest form, IPv6v4-full, is 45 characters */
	if (len == 0 || len > 45)
		return -1;
	for (i = 0; i < len; i++)
		if (!IS_HEX(s[i]) && s[i] != ':' && s[i] != '.')
			return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	return inet_pton(AF_INET6, buf, out) == 1 ? 0 : -1;
}

/* is_ldh_str - RFC 5321 Ldh-str, the shape of a Standardized-tag */
static int
is_ldh_str(const char *s, size_t len)
{
	size_t	 i;

	if (len == 0 || !IS_LETDIG(s[len - 1]))
		return 0;
	for (i = 0; i < len; i++)
		if (!IS_LETDIG(s[i]) && s[i] != '-')
			return 0;
	return 1;
}

/* literal_body - the inlen bytes between the brackets of s: IPv4,
 * "IPv6:" + IPv6, or a general literal */
static enum helo_syn
literal_body(const char *s, size_t inlen, struct helo_name *out)
{
	const char	*in = s + 1;
	size_t		 i;

	if (inlen >= 5 && strncasecmp(in, "IPv6:", 5) == 0) {
		if (parse_ipv6(in + 5, inlen - 5, out->addr) != 0)
			return fail(out, HELO_S_BAD_IPV6, 6);
		out->kind = HELO_K_LITERAL6;
		out->addrlen = 16;
		return HELO_S_OK;
	}
	for (i = 0; i < inlen && in[i] != ':'; i++)
		;
	if (i < inlen) {
		/*
		 * General-address-literal: the grammar allows any tag, but
		 * a tag must be registered with IANA and only "IPv6" is.
		 */
		if (is_ldh_str(in, i))
			return fail(out, HELO_S_UNKNOWN_TAG, 1);
		return fail(out, HELO_S_BAD_IPV4, 1);
	}
	if (helo_parse_ipv4(in, inlen, out->addr) != 0)
		return fail(out, HELO_S_BAD_IPV4, 1);
	out->kind = HELO_K_LITERAL4;
	out->addrlen = 4;
	return HELO_S_OK;
}

/*
 * literal - "[...]" and nothing after it. No literal may hold a "]"
 * (RFC 5321 dcontent), so the first one closes it: "[192.0.2.1]:25" is
 * a literal with a port after it, not one left open.
 */
static enum helo_syn
literal(const char *s, size_t len, struct helo_name *out)
{
	const char	*close = memchr(s + 1, ']', len - 1);
	size_t		 inlen;
	enum helo_syn	 err;

	if (close == NULL)
		return fail(out, HELO_S_LITERAL_OPEN, len);
	inlen = (size_t)(close - (s + 1));
	if (inlen == 0)
		return fail(out, HELO_S_LITERAL_EMPTY, 1);
	if ((err = literal_body(s, inlen, out)) != HELO_S_OK)
		return err;
	if (inlen + 2 < len)
		return fail(out, HELO_S_LITERAL_TRAIL, inlen + 2);
	return HELO_S_OK;
}

/* bad_byte - the error for a byte no Domain may hold */
static enum helo_syn
bad_byte(unsigned char c)
{
	if (c < 0x20 || c == 0x7f)
		return HELO_S_CONTROL;
	if (c >= 0x80)
		return HELO_S_NON_ASCII;
	return HELO_S_BAD_CHAR;
}

/* labels - walk the labels of a dot-separated name of len bytes */
static enum helo_syn
labels(const char *s, size_t len, struct helo_name *out, int *numeric_tld)
{
	size_t	 i, start = 0;
	int	 digits_only = 1;

	for (i = 0; i <= len; i++) {
		unsigned char c = i < len ? (unsigned char)s[i] : '.';

		if (c != '.') {
			if (c == '_')
				out->underscore = 1;
			else if (!IS_LETDIG(c) && c != '-')
				return fail(out, bad_byte(c), i);
			if (!IS_DIGIT(c))
				digits_only = 0;
			continue;
		}
		if (i == start)
			return fail(out, HELO_S_EMPTY_LABEL, i);
		if (i - start > HELO_LABEL_MAX)
			return fail(out, HELO_S_LABEL_TOO_LONG, start);
		if (s[start] == '-')
			return fail(out, HELO_S_HYPHEN_START, start);
		if (s[i - 1] == '-')
			return fail(out, HELO_S_HYPHEN_END, i - 1);
		if (i < len) {
			out->has_dot = 1;
			digits_only = 1;
		}
		start = i + 1;
	}
	*numeric_tld = digits_only;
	return HELO_S_OK;
}

/* helo_syntax - classify s; see helo_syntax.h */
enum helo_syn
helo_syntax(const char *s, size_t len, struct helo_name *out)
{
	enum helo_syn	 err;
	int		 numeric_tld = 0;
	size_t		 i;

	memset(out, 0, sizeof(*out));
	if (len == 0)
		return fail(out, HELO_S_EMPTY, 0);
	if (len > HELO_NAME_MAX + 1 ||
	    (len == HELO_NAME_MAX + 1 && s[len - 1] != '.'))
		return fail(out, HELO_S_TOO_LONG, HELO_NAME_MAX);
	if (s[0] == '[')
		return literal(s, len, out);

	/* a bare IPv6 address; any other colon is a bad character below */
	if (memchr(s, ':', len) != NULL &&
	    parse_ipv6(s, len, out->addr) == 0) {
		out->kind = HELO_K_BARE6;
		out->addrlen = 16;
		return HELO_S_OK;
	}
	if (s[len - 1] == '.' && len > 1) {
		out->trailing_dot = 1;
		len--;
	}
	if ((err = labels(s, len, out, &numeric_tld)) != HELO_S_OK)
		return err;
	if (numeric_tld) {
		if (helo_parse_ipv4(s, len, out->addr) == 0 &&
		    !out->trailing_dot) {
			out->kind = HELO_K_BARE4;
			out->addrlen = 4;
			out->has_dot = 0;
			return HELO_S_OK;
		}
		return fail(out, HELO_S_NUMERIC_TLD, len - 1);
	}
	for (i = 0; i < len; i++)
		out->norm[i] = (char)LOWER(s[i]);
	out->norm[len] = '\0';
	out->kind = HELO_K_DOMAIN;
	return HELO_S_OK;
}

/* What each error means, as a reply or log line can say it. */
static const char *const syn_str[] = {
	[HELO_S_OK]		= "valid",
	[HELO_S_EMPTY]		= "empty name",
	[HELO_S_TOO_LONG]	= "longer than 255 characters",
	[HELO_S_LABEL_TOO_LONG]	= "a label longer than 63 characters",
	[HELO_S_EMPTY_LABEL]	= "empty label (two dots in a row, "
				  "or a leading dot)",
	[HELO_S_HYPHEN_START]	= "a label starts with a hyphen",
	[HELO_S_HYPHEN_END]	= "a label ends with a hyphen",
	[HELO_S_CONTROL]	= "control characters",
	[HELO_S_NON_ASCII]	= "non-ASCII characters (use the IDNA "
				  "A-label form, xn--)",
	[HELO_S_BAD_CHAR]	= "characters not allowed in a host name",
	[HELO_S_NUMERIC_TLD]	= "all-numeric top-level label, and not an "
				  "IPv4 address",
	[HELO_S_LITERAL_OPEN]	= "address literal without its closing "
				  "bracket",
	[HELO_S_BAD_IPV4]	= "malformed IPv4 address literal",
	[HELO_S_BAD_IPV6]	= "malformed IPv6 address literal",
	[HELO_S_UNKNOWN_TAG]	= "address literal with an unknown tag "
				  "(only IPv6: is defined)",
	[HELO_S_LITERAL_EMPTY]	= "empty address literal",
	[HELO_S_LITERAL_TRAIL]	= "text after the closing bracket of the "
				  "address literal",
};

/* helo_syntax_str - see helo_syntax.h */
const char *
helo_syntax_str(enum helo_syn err)
{
	if ((unsigned)err < sizeof(syn_str) / sizeof(syn_str[0]))
		return syn_str[err];
	return "invalid";
}
