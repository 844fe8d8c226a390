/*
 * pidfile.h -- the file that names the running daemon's pid
 *
 * Locked before the socket is bound, written once the store is open and
 * before privileges are dropped, so that it can be handed to the run
 * user; removed at stop, and at once when startup fails after it was
 * locked: no pidfile names a daemon that does not run.
 */
#ifndef FD_PIDFILE_H
#define FD_PIDFILE_H

struct fd_run_ids;

/* fd_pidfile_lock - open path (none when NULL) and lock it; *held, the
 * descriptor whose lock says this filterd runs (-1 when none), stays
 * open until fd_pidfile_remove; -1 with a log line, also when another
 * filterd holds the file */
int	 fd_pidfile_lock(const char *path, const struct fd_run_ids *,
	    int *held);
/* fd_pidfile_write - our pid into the file held, handed to the run user
 * when started as root; -1 with a log line */
int	 fd_pidfile_write(const char *path, int held,
	    const struct fd_run_ids *);
/* fd_pidfile_remove - unlink path, then close held (when >= 0); 0 when
 * path is NULL or already gone, else -1 with errno set */
int	 fd_pidfile_remove(const char *path, int held);

#endif
