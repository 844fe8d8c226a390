/*
 * sigwait.c -- SIGHUP is a reload, not the stop libmilter makes it
 *
 * libmilter's smfi_main() starts a signal thread that waits with
 * sigwait() for SIGHUP, SIGTERM and SIGINT, and stops the milter on any
 * of them. Administrators and log rotators send SIGHUP to reload; with
 * libmilter's handling it would take every MTA's filter down instead.
 * A second thread waiting for SIGHUP would race libmilter's for each
 * one, and libmilter has no setting for the signals it waits for.
 *
 * So the program defines sigwait() itself. The dynamic linker binds
 * libmilter's call to the program's definition before libc's, and this
 * one waits for the set it is given less SIGHUP. SIGHUP, blocked in
 * every thread (main.c), then reaches only the reload thread, which
 * waits for it and SIGUSR1 with sigwaitinfo() (reload.c). Nothing else
 * in filterd calls sigwait(). check_daemon's sighup_reloads test
 * fails if a libmilter ever waits some other way.
 *
 * This file is linked into the filterd program only, not libfilterd:
 * a test program that links the library keeps libc's sigwait().
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stddef.h>

int
sigwait(const sigset_t *set, int *sig)
{
	sigset_t	 s = *set;
	int		 n;

	sigdelset(&s, SIGHUP);
	do
		n = sigwaitinfo(&s, NULL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno;
	*sig = n;
	return 0;
}
