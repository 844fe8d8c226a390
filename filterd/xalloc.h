/*
 * xalloc.h -- allocation that cannot return NULL
 *
 * Running out of memory inside a milter thread has no good answer; like
 * Postfix's mymalloc these abort with a message instead of handing NULL
 * to callers that would each need a recovery path nobody tests.
 */
#ifndef FD_XALLOC_H
#define FD_XALLOC_H

#include <stddef.h>

/* tells the compiler and analyzers what the comment above says */
#define FD_NONNULL_RET	__attribute__((returns_nonnull))

void	*fd_malloc(size_t) FD_NONNULL_RET;
void	*fd_calloc(size_t, size_t) FD_NONNULL_RET;
void	*fd_reallocarray(void *, size_t, size_t) FD_NONNULL_RET;
char	*fd_strdup(const char *) FD_NONNULL_RET;
char	*fd_strndup(const char *, size_t) FD_NONNULL_RET;
char	*fd_asprintf(const char *fmt, ...) FD_NONNULL_RET
	    __attribute__((format(printf, 1, 2)));

#endif
