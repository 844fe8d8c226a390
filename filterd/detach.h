/*
 * detach.h -- becoming a daemon, with startup's outcome for the parent
 *
 * The store, the pidfile and the privileges are dealt with after the
 * fork, so the parent stays until the child reports how startup ended
 * and exits with that status: whoever started filterd learns of a
 * failure, and until then the terminal keeps the child's stdio.
 */
#ifndef FD_DETACH_H
#define FD_DETACH_H

/* fd_detach - fork, the parent waiting; in the child, a new session in
 * /. *report is the child's end of the pipe to the parent, -1 when there
 * is none (the fork failed); -1 on failure */
int	 fd_detach(int *report);
/* fd_detach_done - hand rc to the waiting parent (none when report is
 * -1); once it is 0, stdio but for a kept stderr goes to /dev/null */
void	 fd_detach_done(int report, int rc, int keep_stderr);

#endif
