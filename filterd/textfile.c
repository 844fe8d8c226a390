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
