/*
 * grey_text.h -- texts the greylist plugin writes, and values it reads
 *
 * The reply text is the configured `message` with placeholders filled
 * in (expanded here, never handed to printf as a format):
 *
 *   %d, %s   seconds until a retry can pass
 *   %m       the same in minutes, rounded up
 *   %%       a percent sign
 *
 * The X-Greylist header value names the delay, the MTA and the time:
 *   "delayed 312 seconds by filterd-greylist at mx.example.org;
 *    Sat, 23 Nov 2024 11:17:25 +0000"  (one line)
 *
 * Rules pass per-message overrides as text (`set greylist.delay 1m`), so
 * the plugin parses durations and booleans itself at the time of use;
 * the syntax is the configuration's: 30, 30s, 5m, 2h, 35d, 1w; on/off,
 * yes/no, true/false, 1/0.
 */
#ifndef GREY_TEXT_H
#define GREY_TEXT_H

#include <stddef.h>
#include <stdint.h>

#define GREY_MESSAGE_DEFAULT \
	"Greylisted: your server must retry in %d seconds; see RFC 6647"
/* the longest reply text written: it leaves room in the 512-byte reply
 * line (RFC 5321 4.5.3.1.5) for the codes and the numbers filled in */
#define GREY_MESSAGE_MAX	400

/* grey_text_check - 0 if tmpl has only known placeholders, else -1 with
 * the offset of the bad one in *pos */
int	 grey_text_check(const char *tmpl, size_t *pos);
/* grey_text_expand - tmpl with secs filled in, into out (truncated) */
void	 grey_text_expand(char *out, size_t outlen, const char *tmpl,
	    int64_t secs);
/* grey_header_value - the X-Greylist value; host NULL or "" leaves the
 * "at HOST" out */
void	 grey_header_value(char *out, size_t outlen, int64_t delayed,
	    const char *host, int64_t now);
/* grey_date - RFC 5322 date of unix time t, in UTC */
void	 grey_date(char *out, size_t outlen, int64_t t);

/* grey_duration_parse - seconds; 0 or -1 */
int	 grey_duration_parse(const char *s, int64_t *secs);
/* grey_bool_parse - 0 or 1 into *b; 0 or -1 */
int	 grey_bool_parse(const char *s, int *b);

#endif
