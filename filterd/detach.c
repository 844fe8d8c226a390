/*
 * detach.c -- becoming a daemon, with startup's outcome for the parent
 *
 * See detach.h.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "detach.h"
#include "exits.h"

/*
 * fd_detach - detach from the terminal. The store, the pidfile and the
 * privileges are dealt with after the fork, so the parent waits for the
 * child to say how that ended (fd_detach_done) and exits with its status:
 * whoever started filterd learns of a failure. *report is the child's
 * end of that pipe, -1 when there is none (the fork failed).
 */
int
fd_detach(int *report)
{
	unsigned char	 rc;
	ssize_t		 n;
	int		 p[2];

	*report = -1;
	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	switch (fork()) {
	case -1:
		close(p[0]);
		close(p[1]);
		return -1;
	case 0:
		close(p[0]);
		*report = p[1];
		break;
	default:
		close(p[1]);
		while ((n = read(p[0], &rc, 1)) < 0 && errno == EINTR)
			;
		/* no answer: the child died before it could give one */
		_exit(n == 1 ? rc : EX_UNAVAILABLE);
	}
	if (setsid() < 0 || chdir("/") < 0)
		return -1;
	return 0;
}

/*
 * fd_detach_done - tell the waiting parent how startup ended. Until now the
 * terminal kept our stdio, so that a failure after the fork is seen
 * there; a daemon that serves lets go of it, but for a standard error
 * that `log stderr` keeps writing to (`filterd 2>>file`).
 */
void
fd_detach_done(int report, int rc, int keep_stderr)
{
	unsigned char	 c = (unsigned char)rc;
	int		 fd;

	if (report < 0)
		return;
	if (rc == 0 && (fd = open("/dev/null", O_RDWR)) >= 0) {
		dup2(fd, 0);
		dup2(fd, 1);
		if (!keep_stderr)
			dup2(fd, 2);
		if (fd > 2)
			close(fd);
	}
	(void)!write(report, &c, 1);
	close(report);
}
