/*
 * textfile.h -- opening a file that a configuration load reads
 *
 * The config file, what it includes and table files are read at start,
 * by filterd -t and at every reload, in the daemon's main thread: opening
 * one must not wait, and a directory is an error where it is named, not
 * a failed read deep in a scanner.
 */
#ifndef FD_TEXTFILE_H
#define FD_TEXTFILE_H

#include <stdio.h>
#include <sys/stat.h>

/*
 * fd_textfile_open - path for reading, its status in *st; NULL with the
 * reason in *why. A FIFO is refused unless pipe_ok: open(2) of one
 * waits for a writer, for ever if none comes. A regular file must be
 * owned by root or the effective user, and writable by nobody else.
 */
FILE	*fd_textfile_open(const char *path, int pipe_ok, struct stat *st,
	    const char **why);

#endif
