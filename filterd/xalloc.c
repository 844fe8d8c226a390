/*
 * xalloc.c -- allocation that cannot return NULL, see xalloc.h
 */
#include "config.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "xalloc.h"

/* oom - last words; no allocation, no stdio buffers */
static void
oom(void)
{
	static const char msg[] = "filterd: out of memory\n";

	(void)!write(2, msg, sizeof(msg) - 1);
	abort();
}

void *
fd_malloc(size_t n)
{
	void	*p = malloc(n ? n : 1);

	if (p == NULL)
		oom();
	return p;
}

void *
fd_calloc(size_t n, size_t size)
{
	void	*p = calloc(n ? n : 1, size ? size : 1);

	if (p == NULL)
		oom();
	return p;
}

void *
fd_reallocarray(void *p, size_t n, size_t size)
{
	if (size != 0 && n > SIZE_MAX / size)
		oom();
	p = realloc(p, n * size > 0 ? n * size : 1);
	if (p == NULL)
		oom();
	return p;
}

char *
fd_strdup(const char *s)
{
	return fd_strndup(s, strlen(s));
}

char *
fd_strndup(const char *s, size_t n)
{
	char	*p = fd_malloc(n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *
fd_asprintf(const char *fmt, ...)
{
	va_list	 ap;
	char	*p;

	va_start(ap, fmt);
	if (vasprintf(&p, fmt, ap) < 0)
		oom();
	va_end(ap);
	return p;
}
