/*
 * pidfile.c -- the file that names the running daemon's pid
 *
 * See pidfile.h.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "log.h"
#include "pidfile.h"
#include "privs.h"

/*
 * fd_pidfile_write - our pid in path, mode 0644, handed to the run user when
 * started as root. Its directory may belong to that user (/run/filterd),
 * who could have left a link there to a file of root's, symbolic or hard
 * (where fs.protected_hardlinks allows one): refuse either rather than
 * write through it, and look before truncating. Handed over through the
 * descriptor: the name may point elsewhere by then.
 */
int
fd_pidfile_write(const char *path, const struct fd_run_ids *ids)
{
	struct stat	 st;
	const char	*why = NULL;
	char		 buf[32];
	int		 fd, n;

	if (path == NULL)
		return 0;
	/* O_NONBLOCK: a FIFO in its place must not hold the start */
	if ((fd = open(path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_NONBLOCK |
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
	if (why != NULL) {
		fd_log_errx("pidfile %s: refused: %s", path, why);
		close(fd);
		return -1;
	}
	n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) < 0 || write(fd, buf, (size_t)n) != n) {
		fd_log_err("pidfile %s: write", path);
		close(fd);
		return -1;
	}
	if (ids->set && geteuid() == 0 && fchown(fd, ids->uid, ids->gid) < 0)
		fd_log_warn("pidfile %s: chown", path);
	if (close(fd) < 0) {
		fd_log_err("pidfile %s: close", path);
		return -1;
	}
	return 0;
}

/* fd_pidfile_remove - at stop, or when startup failed after the write */
int
fd_pidfile_remove(const char *path)
{
	if (path == NULL || unlink(path) == 0 || errno == ENOENT)
		return 0;
	return -1;
}
