/*
 * textfile.c -- opening a file that a configuration load reads
 * (see textfile.h)
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "textfile.h"

/*
 * unsafe - why a regular file is not to be trusted, or NULL. filterd
 * runs as root at start: whoever may write its configuration may name
 * the pidfile (a file root truncates and hands over), the store, the
 * plugins; a table's or a plugin's file decides what is refused. So,
 * as for a plugin file, the owner is root or the user filterd runs as,
 * and nobody else may write it.
 */
static const char *
unsafe(const struct stat *st)
{
	if (st->st_uid != 0 && st->st_uid != geteuid())
		return "refused: owned by another user (chown it to root)";
	if (st->st_mode & S_IWOTH)
		return "refused: others may write it (chmod o-w)";
	if (st->st_mode & S_IWGRP)
		return "refused: its group may write it (chmod g-w)";
	return NULL;
}

/* fd_textfile_open - a file, or a pipe if pipe_ok, opened for reading */
FILE *
fd_textfile_open(const char *path, int pipe_ok, struct stat *st,
    const char **why)
{
	FILE	*f;
	int	 fd, fl;

	/* without O_NONBLOCK the open of a FIFO nobody writes to never
	 * returns; a pipe the caller accepts is waited for, as cat(1) does */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC |
	    (pipe_ok ? 0 : O_NONBLOCK))) < 0) {
		*why = strerror(errno);
		return NULL;
	}
	if (fstat(fd, st) < 0)
		*why = strerror(errno);
	else if (S_ISDIR(st->st_mode))
		*why = strerror(EISDIR);
	else if (!pipe_ok && S_ISFIFO(st->st_mode))
		*why = "a FIFO, not a regular file";
	else if (S_ISREG(st->st_mode) && (*why = unsafe(st)) != NULL)
		;
	/* reads of a device (a terminal) wait as they would have */
	else if ((fl = fcntl(fd, F_GETFL)) < 0 ||
	    fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0)
		*why = strerror(errno);
	else if ((f = fdopen(fd, "r")) == NULL)
		*why = strerror(errno);
	else
		return f;
	close(fd);
	return NULL;
}
