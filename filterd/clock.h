/*
 * clock.h -- the one source of time for decisions
 *
 * Greylist delays and rate windows read the time only through fd_clock,
 * so a test can move it instead of sleeping. Three kinds:
 *   real   time(NULL);
 *   fixed  a value the caller sets (unit tests, fd_clock_set);
 *   file   the unix time written in a file, re-read on every call, for
 *          integration tests that move the clock of a running filterd
 *          (`filterd -f -T FILE`; refused without -f so a production
 *          daemon cannot run on a fake clock by accident).
 */
#ifndef FD_CLOCK_H
#define FD_CLOCK_H

#include <stdint.h>

enum fd_clock_kind { FD_CLOCK_REAL, FD_CLOCK_FIXED, FD_CLOCK_FILE };

struct fd_clock {
	enum fd_clock_kind kind;
	int64_t		 fixed;		/* FD_CLOCK_FIXED; atomically updated */
	char		*path;		/* FD_CLOCK_FILE; owned */
};

/* fd_clock_now - current unix time in seconds */
int64_t	 fd_clock_now(const struct fd_clock *);
/* fd_clock_set - switch to a fixed clock reading t */
void	 fd_clock_set(struct fd_clock *, int64_t t);
/* fd_clock_advance - move a fixed clock by delta seconds */
void	 fd_clock_advance(struct fd_clock *, int64_t delta);
/* fd_clock_use_file - read the time from path from now on (copied) */
void	 fd_clock_use_file(struct fd_clock *, const char *path);
/* fd_clock_fini - release what the clock owns */
void	 fd_clock_fini(struct fd_clock *);

#endif
