/*
 * units.h -- numbers with units, as the config language writes them
 *
 * Durations: 30, 30s, 5m, 2h, 35d, 1w, and 250ms where a caller asks for
 * milliseconds. Sizes: 10, 64k, 256M, 1G (powers of 1024). Booleans:
 * yes/no, on/off, true/false, 1/0. Each returns 0, or -1 with a short
 * reason in *why for the caller's file:line:col message.
 *
 * fd_units_dec goes the other way for plain numbers, on hot paths where
 * snprintf's cost shows (a Redis command, the decision line).
 */
#ifndef FD_UNITS_H
#define FD_UNITS_H

#include <stdint.h>

int	 fd_units_duration(const char *, int64_t *secs, const char **why);
int	 fd_units_duration_ms(const char *, int64_t *ms, const char **why);
int	 fd_units_size(const char *, uint64_t *out, const char **why);
int	 fd_units_bool(const char *, int *out, const char **why);
/* fd_units_dec - v in decimal, written backwards so that it ends just
 * before end (no NUL); returns its first digit. end needs 20 bytes
 * before it. */
char	*fd_units_dec(char *end, uint64_t v);

#endif
