/*
 * grey_text.c -- reply text, header value, override values; see grey_text.h
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "grey_text.h"

int
grey_text_check(const char *tmpl, size_t *pos)
{
	const char	*p;

	for (p = tmpl; *p != '\0'; p++) {
		if (*p != '%')
			continue;
		if (p[1] == 'd' || p[1] == 's' || p[1] == 'm' || p[1] == '%') {
			p++;
			continue;
		}
		*pos = (size_t)(p - tmpl);
		return -1;
	}
	return 0;
}

void
grey_text_expand(char *out, size_t outlen, const char *tmpl, int64_t secs)
{
	char		 num[32];
	const char	*p, *ins;
	size_t		 o = 0, n;

	if (outlen == 0)
		return;
	for (p = tmpl; *p != '\0' && o + 1 < outlen; p++) {
		ins = NULL;
		if (*p == '%' && (p[1] == 'd' || p[1] == 's')) {
			snprintf(num, sizeof(num), "%lld", (long long)secs);
			ins = num;
		} else if (*p == '%' && p[1] == 'm') {
			snprintf(num, sizeof(num), "%lld",
			    (long long)((secs + 59) / 60));
			ins = num;
		} else if (*p == '%' && p[1] == '%')
			ins = "%";
		if (ins == NULL) {
			out[o++] = *p;
			continue;
		}
		p++;
		n = strlen(ins);
		if (n > outlen - 1 - o)
			n = outlen - 1 - o;
		memcpy(out + o, ins, n);
		o += n;
	}
	out[o] = '\0';
}

void
grey_date(char *out, size_t outlen, int64_t t)
{
	static const char *const days[] = { "Sun", "Mon", "Tue", "Wed",
	    "Thu", "Fri", "Sat" };
	static const char *const months[] = { "Jan", "Feb", "Mar", "Apr",
	    "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	time_t		 tt = (time_t)t;
	struct tm	 tm;

	/* names from tables, not strftime: the locale must not leak in */
	if (gmtime_r(&tt, &tm) == NULL) {
		snprintf(out, outlen, "?");
		return;
	}
	snprintf(out, outlen, "%s, %d %s %d %02d:%02d:%02d +0000",
	    days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon],
	    tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

void
grey_header_value(char *out, size_t outlen, int64_t delayed,
    const char *host, int64_t now)
{
	char	 date[64];

	grey_date(date, sizeof(date), now);
	if (host != NULL && host[0] != '\0')
		snprintf(out, outlen, "delayed %lld seconds by filterd-greylist "
		    "at %s; %s", (long long)delayed, host, date);
	else
		snprintf(out, outlen, "delayed %lld seconds by filterd-greylist;"
		    " %s", (long long)delayed, date);
}

int
grey_duration_parse(const char *s, int64_t *secs)
{
	int64_t		 v = 0, mult = 1;
	const char	*p = s;

	if (s == NULL || *s < '0' || *s > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > (INT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + (*p - '0');
	}
	switch (*p) {
	case '\0':
	case 's':
		break;
	case 'm':
		mult = 60;
		break;
	case 'h':
		mult = 3600;
		break;
	case 'd':
		mult = 86400;
		break;
	case 'w':
		mult = 7 * 86400;
		break;
	default:
		return -1;
	}
	if (*p != '\0' && p[1] != '\0')
		return -1;
	if (v > INT64_MAX / mult)
		return -1;
	*secs = v * mult;
	return 0;
}

int
grey_bool_parse(const char *s, int *b)
{
	static const char *const yes[] = { "on", "yes", "true", "1" };
	static const char *const no[] = { "off", "no", "false", "0" };
	size_t	 i;

	if (s == NULL)
		return -1;
	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*b = 1;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*b = 0;
			return 0;
		}
	}
	return -1;
}
