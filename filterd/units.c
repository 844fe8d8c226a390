/*
 * units.c -- durations, sizes and booleans, see units.h
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "units.h"

/* number - leading unsigned decimal of s; *end at the suffix */
static int
number(const char *s, uint64_t *out, const char **end, const char **why)
{
	char	*e;

	if (*s < '0' || *s > '9') {
		*why = "expected a number";
		return -1;
	}
	errno = 0;
	*out = strtoull(s, &e, 10);
	if (errno == ERANGE) {
		*why = "number out of range";
		return -1;
	}
	*end = e;
	return 0;
}

/* fraction - the number went on past its digits with a decimal point,
 * which no unit takes: say so rather than blame the unit */
static int
fraction(const char *end)
{
	return end[0] == '.' && end[1] >= '0' && end[1] <= '9';
}

/* scaled - multiply with an overflow check against max */
static int
scaled(uint64_t v, uint64_t mul, uint64_t max, uint64_t *out, const char **why)
{
	if (v > max / mul) {
		*why = "number out of range";
		return -1;
	}
	*out = v * mul;
	return 0;
}

int
fd_units_duration_ms(const char *s, int64_t *ms, const char **why)
{
	static const struct { const char *sfx; uint64_t mul; } tab[] = {
		{ "ms", 1 }, { "", 1000 }, { "s", 1000 }, { "m", 60000 },
		{ "h", 3600000 }, { "d", 86400000 }, { "w", 604800000 },
	};
	const char	*end;
	uint64_t	 v, r;
	size_t		 i;

	if (number(s, &v, &end, why) < 0)
		return -1;
	for (i = 0; i < sizeof(tab) / sizeof(tab[0]); i++) {
		if (strcmp(end, tab[i].sfx) == 0) {
			if (scaled(v, tab[i].mul, INT64_MAX, &r, why) < 0)
				return -1;
			*ms = (int64_t)r;
			return 0;
		}
	}
	*why = fraction(end) ? "a whole number is needed: 90s, not 1.5m" :
	    "unknown duration unit (use ms, s, m, h, d or w)";
	return -1;
}

int
fd_units_duration(const char *s, int64_t *secs, const char **why)
{
	int64_t	 ms;

	if (fd_units_duration_ms(s, &ms, why) < 0)
		return -1;
	if (ms % 1000 != 0) {
		*why = "duration must be whole seconds";
		return -1;
	}
	*secs = ms / 1000;
	return 0;
}

int
fd_units_size(const char *s, uint64_t *out, const char **why)
{
	const char	*end;
	uint64_t	 v, mul;

	if (number(s, &v, &end, why) < 0)
		return -1;
	if (*end == '\0')
		mul = 1;
	else if (strcasecmp(end, "k") == 0)
		mul = 1ULL << 10;
	else if (strcasecmp(end, "m") == 0)
		mul = 1ULL << 20;
	else if (strcasecmp(end, "g") == 0)
		mul = 1ULL << 30;
	else if (strcasecmp(end, "t") == 0)
		mul = 1ULL << 40;
	else {
		*why = fraction(end) ? "a whole number is needed: 1536M, not "
		    "1.5G" : "unknown size unit (use k, M, G or T)";
		return -1;
	}
	return scaled(v, mul, UINT64_MAX, out, why);
}

int
fd_units_bool(const char *s, int *out, const char **why)
{
	static const char *yes[] = { "yes", "on", "true", "1" };
	static const char *no[] = { "no", "off", "false", "0" };
	size_t	 i;

	for (i = 0; i < 4; i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = 1;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = 0;
			return 0;
		}
	}
	*why = "expected yes or no";
	return -1;
}

char *
fd_units_dec(char *end, uint64_t v)
{
	do {
		*--end = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	return end;
}
