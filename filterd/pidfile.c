/*
 * pidfile.c -- the file that names the running daemon's pid
 *
 * See pidfile.h.
 */
#include "config.h"

#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "log.h"
#include "pidfile.h"
#include "privs.h"

/*
 * owner_ok - an existing pidfile is ours to rewrite only if root, we or
 * the run user own it: another user's file at that name is not one we
 * made, and rewriting it would hand it over (and keep its mode)
 */
static int
owner_ok(const struct stat *st, const struct fd_run_ids *ids)
{
	return st->st_uid == 0 || st->st_uid == geteuid() ||
	    (ids->set && st->st_uid == ids->uid);
}

/* held_by - the pid another process wrote in the file fd, or 0 */
static long
held_by(int fd)
{
	char	 buf[32];
	ssize_t	 n;

	if ((n = pread(fd, buf, sizeof(buf) - 1, 0)) <= 0)
		return 0;
	buf[n] = '\0';
	return strtol(buf, NULL, 10);
}

/* lock_or_refuse - the lock that says a filterd runs; 0, or -1 with a
 * log line when another one holds it */
static int
lock_or_refuse(const char *path, int fd)
{
	long	 pid;

	if (flock(fd, LOCK_EX | LOCK_NB) == 0)
		return 0;
	if (errno == EWOULDBLOCK && (pid = held_by(fd)) > 0)
		fd_log_errx("pidfile %s: refused: filterd pid %ld holds it "
		    "(another instance is running)", path, pid);
	else
		fd_log_err("pidfile %s: lock", path);
	return -1;
}

/*
 * fd_pidfile_lock - open path and take the lock that says a filterd
 * runs, before the socket is bound: a second filterd given the same
 * pidfile stops there, on the terminal, having touched nothing. Its
 * directory may belong to the run user (/run/filterd), who could have
 * left a link there to a file of root's, symbolic or hard (where
 * fs.protected_hardlinks allows one), or a file of their own: refuse
 * each rather than write through it or hand it over later.
 */
int
fd_pidfile_lock(const char *path, const struct fd_run_ids *ids, int *held)
{
	struct stat	 st;
	const char	*why = NULL;
	int		 fd;

	*held = -1;
	if (path == NULL)
		return 0;
	/* O_NONBLOCK: a FIFO in its place must not hold the start */
	if ((fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK |
	    O_NOCTTY | O_CLOEXEC, 0644)) < 0) {
		if (errno == ELOOP)
			fd_log_errx("pidfile %s: refused: a symbolic link",
			    path);
		else
			fd_log_err("pidfile %s", path);
		return -1;
	}
	if (fstat(fd, &st) < 0) {
		fd_log_err("pidfile %s: fstat", path);
		close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode))
		why = "not a regular file";
	else if (st.st_nlink > 1)
		why = "a hard link";
	else if (!owner_ok(&st, ids))
		why = "owned by another user (remove it)";
	if (why != NULL) {
		fd_log_errx("pidfile %s: refused: %s", path, why);
		close(fd);
		return -1;
	}
	if (lock_or_refuse(path, fd) < 0) {
		close(fd);
		return -1;
	}
	*held = fd;
	return 0;
}

/*
 * fd_pidfile_write - our pid, once detached, into the file held, mode
 * 0644, handed to the run user when started as root: through the
 * descriptor, since the name may point elsewhere by then
 */
int
fd_pidfile_write(const char *path, int held, const struct fd_run_ids *ids)
{
	char	 buf[32];
	int	 n;

	if (held < 0)
		return 0;
	n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (ftruncate(held, 0) < 0 || pwrite(held, buf, (size_t)n, 0) != n ||
	    fchmod(held, 0644) < 0) {
		fd_log_err("pidfile %s: write", path);
		return -1;
	}
	if (ids->set && geteuid() == 0 && fchown(held, ids->uid, ids->gid) < 0)
		fd_log_warn("pidfile %s: chown", path);
	return 0;
}

/* fd_pidfile_remove - at stop, or when startup failed after the write:
 * the name first, then the lock, so that no other start takes the file
 * in between and loses it to the unlink */
int
fd_pidfile_remove(const char *path, int held)
{
	int	 rc = 0;

	if (path != NULL && unlink(path) < 0 && errno != ENOENT)
		rc = -1;
	if (held >= 0)
		(void)close(held);
	return rc;
}
