/*
 * pidfile.h -- the file that names the running daemon's pid
 *
 * Written once the store is open and before privileges are dropped, so
 * that it can be handed to the run user; removed at stop, and at once
 * when startup fails after it was written: no pidfile names a daemon
 * that does not run.
 */
#ifndef FD_PIDFILE_H
#define FD_PIDFILE_H

struct fd_run_ids;

/* fd_pidfile_write - our pid in path (none when NULL), handed to the run
 * user when started as root; -1 with a log line */
int	 fd_pidfile_write(const char *path, const struct fd_run_ids *);
/* fd_pidfile_remove - unlink path; 0 when NULL or already gone, else -1
 * with errno set */
int	 fd_pidfile_remove(const char *path);

#endif
