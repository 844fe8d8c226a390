/*
 * errs.c -- collected configuration errors, see errs.h
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "errs.h"
#include "log.h"
#include "xalloc.h"

/*
 * fd_errs_add - append one located message. Messages quote what files
 * hold (a table entry, a string): their control bytes are escaped, so a
 * stray one cannot clear a terminal or start a line in the log.
 */
void
fd_errs_add(struct fd_errs *e, const struct fd_loc *loc, const char *fmt, ...)
{
	char	 raw[1024], text[1024];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	fd_escape_ctl(text, sizeof(text), raw);
	if (e->n == e->cap) {
		e->cap = e->cap ? e->cap * 2 : 8;
		e->msg = fd_reallocarray(e->msg, e->cap, sizeof(*e->msg));
	}
	if (loc != NULL && loc->file != NULL)
		e->msg[e->n++] = fd_asprintf("%s:%d:%d: %s", loc->file,
		    loc->line, loc->col, text);
	else
		e->msg[e->n++] = fd_strdup(text);
}

/* fd_errs_clear - free every message */
void
fd_errs_clear(struct fd_errs *e)
{
	size_t	 i;

	for (i = 0; i < e->n; i++)
		free(e->msg[i]);
	free(e->msg);
	e->msg = NULL;
	e->n = e->cap = 0;
}
