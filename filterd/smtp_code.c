/*
 * smtp_code.c -- the syntax of SMTP reply codes and enhanced status codes
 */
#include <string.h>

#include "smtp_code.h"

int
fd_reply_code_ok(const char *s, char cls)
{
	return strlen(s) == 3 && s[0] == cls && s[1] >= '0' && s[1] <= '5' &&
	    s[2] >= '0' && s[2] <= '9';
}

/* xnum - one part of an enhanced code: 0-999, no leading zero; the rest */
static const char *
xnum(const char *s)
{
	size_t	 n = strspn(s, "0123456789");

	if (n == 0 || n > 3 || (n > 1 && s[0] == '0'))
		return NULL;
	return s + n;
}

int
fd_status_code_ok(const char *s, char cls)
{
	if (cls != 0 ? s[0] != cls : (s[0] != '4' && s[0] != '5' &&
	    s[0] != '2'))
		return 0;
	if (s[1] != '.' || (s = xnum(s + 2)) == NULL || *s != '.')
		return 0;
	return (s = xnum(s + 1)) != NULL && *s == '\0';
}
