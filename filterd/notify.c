/*
 * notify.c -- telling the service manager how the daemon is doing, see
 * notify.h
 *
 * Through libsystemd's sd_notify(3), which knows the protocol's details
 * (abstract socket names, credentials) and does nothing when
 * NOTIFY_SOCKET is unset. A failure to tell is not one to stop for: the
 * service manager then decides on its own timeouts.
 */
#include "config.h"

#include <time.h>

#ifdef HAVE_LIBSYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "notify.h"

#ifdef HAVE_LIBSYSTEMD

void
fd_notify_ready(const char *socket, unsigned long long generation)
{
	(void)sd_notifyf(0, "READY=1\nSTATUS=serving on %s, generation %llu",
	    socket, generation);
}

/* the monotonic time lets a manager that reloads by signal (systemd's
 * Type=notify-reload) tell this reload from an earlier one */
void
fd_notify_reloading(void)
{
	struct timespec	 ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	(void)sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu",
	    (unsigned long long)ts.tv_sec * 1000000ULL +
	    (unsigned long long)ts.tv_nsec / 1000ULL);
}

void
fd_notify_stopping(void)
{
	(void)sd_notify(0, "STOPPING=1");
}

#else	/* !HAVE_LIBSYSTEMD */

void
fd_notify_ready(const char *socket, unsigned long long generation)
{
	(void)socket;
	(void)generation;
}

void
fd_notify_reloading(void)
{
}

void
fd_notify_stopping(void)
{
}

#endif
