/*
 * errs.h -- source locations and collected configuration errors
 *
 * Config loading reports every problem it finds, not just the first, as
 * "file:line:col: message". The caller owns the fd_errs and prints or logs
 * the lines; nothing below the caller prints.
 */
#ifndef FD_ERRS_H
#define FD_ERRS_H

#include <stddef.h>

struct fd_loc {
	const char	*file;	/* owned by the conf that holds the loc */
	int		 line;	/* 1-based */
	int		 col;	/* 1-based */
};

struct fd_errs {
	char		**msg;	/* "file:line:col: message" */
	size_t		  n;
	size_t		  cap;
};

/* fd_errs_add - append "file:line:col: message" (loc may be NULL) */
void	 fd_errs_add(struct fd_errs *, const struct fd_loc *, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
/* fd_errs_clear - drop all messages, keep the struct usable */
void	 fd_errs_clear(struct fd_errs *);

#endif
