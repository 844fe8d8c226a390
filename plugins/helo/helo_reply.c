/*
 * helo_reply.c -- SMTP replies and log phrases for the HELO checks
 *
 * The text goes to a remote MTA and from there into a bounce, so it says
 * what was wrong with the name and what a correct one looks like, citing
 * the RFC where that settles an argument. Untrusted bytes reach it only
 * after helo_reply_quotable() says they are harmless: printable ASCII, and
 * none of '"' (our quoting), '\' and '%' (which some MTAs treat as format
 * characters in milter replies).
 */
#include <stdio.h>
#include <string.h>

#include "helo_reply.h"

/* helo_reply_quotable - printable ASCII without " \ % */
int
helo_reply_quotable(const char *s, size_t len)
{
	size_t	 i;

	if (len == 0)
		return 0;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c <= 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '%')
			return 0;
	}
	return 1;
}

/* quote - "name" (truncated with ...) or a description of it */
static void
quote(char *buf, size_t buflen, const char *s, size_t len)
{
	if (!helo_reply_quotable(s, len)) {
		snprintf(buf, buflen, "%s", len == 0 ? "(empty)" :
		    "(not repeated here: it holds spaces, quotes, "
		    "backslashes, percent signs, control or non-ASCII "
		    "characters)");
		return;
	}
	if (len > HELO_QUOTE_MAX)
		snprintf(buf, buflen, "\"%.*s...\"", HELO_QUOTE_MAX, s);
	else
		snprintf(buf, buflen, "\"%.*s\"", (int)len, s);
}

/* bracketed - the address literal a bare IP should have been */
static void
bracketed(char *buf, size_t buflen, const struct helo_result *r)
{
	struct helo_addr ad;
	char	 a[HELO_ADDR_STRLEN];

	helo_addr_set(&ad, r->name.addr, r->name.addrlen);
	helo_addr_str(&ad, a, sizeof(a));
	snprintf(buf, buflen, ad.len == 16 ? "[IPv6:%s]" : "[%s]", a);
}

/* codes - SMTP and enhanced status code for the check and action */
static void
codes(struct helo_reply *rp, enum helo_check c, enum helo_act a)
{
	const char *rc = "550", *xc = "5.7.1";

	if (a == HELO_A_TEMPFAIL) {
		rc = "450";
		xc = "4.7.1";
	} else if (c == HELO_C_SYNTAX) {
		rc = "501";
		xc = "5.5.2";
	} else if (c == HELO_C_REQUIRE) {
		rc = "503";
		xc = "5.5.1";
	}
	snprintf(rp->rcode, sizeof(rp->rcode), "%s", rc);
	snprintf(rp->xcode, sizeof(rp->xcode), "%s", xc);
}

/* helo_reply_make - see helo_reply.h */
void
helo_reply_make(struct helo_reply *rp, enum helo_check c, enum helo_act a,
    const char *helo, size_t len, const struct helo_result *r,
    const char *client)
{
	char	 q[HELO_QUOTE_MAX + 80], lit[HELO_ADDR_STRLEN + 8];
	size_t	 n = sizeof(rp->text);

	codes(rp, c, a);
	quote(q, sizeof(q), helo, len);
	if (client == NULL || *client == '\0')
		client = "unknown";
	switch (c) {
	case HELO_C_REQUIRE:
		snprintf(rp->text, n, "Send HELO or EHLO first: RFC 5321 "
		    "section 4.1.4 requires it before MAIL");
		break;
	case HELO_C_SYNTAX:
		snprintf(rp->text, n, "HELO/EHLO name %s is not a valid host "
		    "name or address literal (%s); see RFC 5321 section 4.1.2",
		    q, helo_syntax_str(r->name.err));
		break;
	case HELO_C_BARE_IP:
		bracketed(lit, sizeof(lit), r);
		snprintf(rp->text, n, "HELO/EHLO %s is an IP address without "
		    "brackets; announce the host name or the address literal "
		    "%s (RFC 5321 section 4.1.3)", q, lit);
		break;
	case HELO_C_LOCALHOST:
		snprintf(rp->text, n, "HELO/EHLO %s names the loopback host; a "
		    "remote client must announce its own fully qualified host "
		    "name", q);
		break;
	case HELO_C_SELF:
		snprintf(rp->text, n, "HELO/EHLO %s is this server's own "
		    "name or address; the client must announce its own fully "
		    "qualified host name", q);
		break;
	case HELO_C_LITERAL:
		snprintf(rp->text, n, "HELO/EHLO address literal %s is not the "
		    "address the client connects from (%s)", q, client);
		break;
	case HELO_C_FQDN:
		snprintf(rp->text, n, "HELO/EHLO name %s is not fully "
		    "qualified; announce the fully qualified host name or an "
		    "address literal (RFC 5321 section 4.1.1.1)", q);
		break;
	case HELO_C_GENERIC:
		snprintf(rp->text, n, "HELO/EHLO name %s looks like the "
		    "generic name of a dynamic or end-user address; a mail "
		    "server should announce its own mail host name", q);
		break;
	case HELO_C_UNDERSCORE:
		snprintf(rp->text, n, "HELO/EHLO name %s contains an "
		    "underscore, which host names may not (RFC 5321 section "
		    "4.1.2)", q);
		break;
	case HELO_C_CHANGES:
		snprintf(rp->text, n, "Too many different HELO/EHLO names on "
		    "one connection (%u); a client should announce one host "
		    "name", r->ndistinct);
		break;
	case HELO_C_FORWARD:
		snprintf(rp->text, n, "HELO/EHLO name %s does not resolve to "
		    "the client's address %s", q, client);
		break;
	case HELO_C_UNRESOLVED:
		snprintf(rp->text, n, "HELO/EHLO name %s does not resolve "
		    "(no A or AAAA record)", q);
		break;
	case HELO_C_MAX:
		snprintf(rp->text, n, "HELO/EHLO refused");
		break;
	}
}

/* helo_why - phrase for the decision log */
const char *
helo_why(enum helo_check c, const struct helo_result *r)
{
	switch (c) {
	case HELO_C_REQUIRE:	return "MAIL without HELO/EHLO";
	case HELO_C_SYNTAX:	return helo_syntax_str(r->name.err);
	case HELO_C_BARE_IP:	return "IP address without brackets";
	case HELO_C_LOCALHOST:
		return "loopback name or address from a remote client";
	case HELO_C_SELF:
		return "our own name or address from a remote client";
	case HELO_C_LITERAL:
		return "address literal is not the client's address";
	case HELO_C_FQDN:	return "not fully qualified";
	case HELO_C_GENERIC:
		return "matches a generic host name pattern";
	case HELO_C_UNDERSCORE:	return "underscore in a label";
	case HELO_C_CHANGES:
		return "too many different names on one connection";
	case HELO_C_FORWARD:
		return "name does not resolve to the client's address";
	case HELO_C_UNRESOLVED:	return "name does not resolve";
	case HELO_C_MAX:	break;
	}
	return "no finding";
}
