/*
 * mi-window.c -- stretch libmilter's wait for the MTA's next command, to
 * measure what that wait costs (docs/PERFORMANCE.md, Round 12)
 *
 * Debian's libmilter runs its worker pool. After each reply a worker polls
 * its connection once, for 1 ms (MI_RD_CMD_TO, compiled into libmilter's
 * engine.c); if the MTA's next command is not there by then, the worker
 * gives the connection back to the pool's controller thread, and that
 * command costs a trip through the controller. No API sets that 1 ms.
 *
 * This library, preloaded into a filter, turns every poll(2) of one
 * descriptor with a 1 ms timeout (that call, and no other libmilter or
 * filterd makes) into one of MI_WINDOW_MS milliseconds:
 *
 *   LD_PRELOAD=contrib/bench/.libs/mi-window.so MI_WINDOW_MS=10 \
 *       filterd/filterd -f -c filterd.conf
 *
 * An experiment for the bench, never for a running MX: it changes a
 * library's behaviour behind its back. Unset or 1, nothing changes.
 */
#include "config.h"

#include <dlfcn.h>
#include <poll.h>
#include <stdlib.h>

typedef int (*poll_fn)(struct pollfd *, nfds_t, int);

/* set once, at load, before any thread of the filter exists */
static poll_fn	 real_poll;
static int	 window_ms = 1;

/* mi_window_init - find libc's poll and read MI_WINDOW_MS */
__attribute__((constructor)) static void
mi_window_init(void)
{
	const char	*s = getenv("MI_WINDOW_MS");
	char		*end;
	long		 ms;

	*(void **)&real_poll = dlsym(RTLD_NEXT, "poll");
	if (s == NULL)
		return;
	ms = strtol(s, &end, 10);
	if (end != s && *end == '\0' && ms > 0 && ms <= 60000)
		window_ms = (int)ms;
}

int
poll(struct pollfd *fds, nfds_t nfds, int timeout)
{
	if (nfds == 1 && timeout == 1)
		timeout = window_ms;
	return real_poll(fds, nfds, timeout);
}
