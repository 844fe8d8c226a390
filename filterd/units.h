/*
 * units.h -- numbers with units, as the config language writes them
 *
 * Durations: 30, 30s, 5m, 2h, 35d, 1w, and 250ms where a caller asks for
 * milliseconds. Sizes: 10, 64k, 256M, 1G (powers of 1024). Booleans:
 * yes/no, on/off, true/false, 1/0. Each returns 0, or -1 with a short
 * reason in *why for the caller's file:line:col message.
 */
#ifndef FD_UNITS_H
#define FD_UNITS_H

#include <stdint.h>

int	 fd_units_duration(const char *, int64_t *secs, const char **why);
int	 fd_units_duration_ms(const char *, int64_t *ms, const char **why);
int	 fd_units_size(const char *, uint64_t *out, const char **why);
int	 fd_units_bool(const char *, int *out, const char **why);

#endif
