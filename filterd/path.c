/*
 * path.c -- joining a directory and a relative path (see path.h)
 */
#include "config.h"

#include <string.h>

#include "path.h"
#include "xalloc.h"

/* skip_dots - rel past its leading "./" steps and their extra slashes */
static const char *
skip_dots(const char *rel)
{
	while (rel[0] == '.' && rel[1] == '/') {
		rel += 2;
		while (*rel == '/')
			rel++;
	}
	return rel;
}

char *
fd_path_join(const char *dir, size_t dirlen, const char *rel)
{
	if (rel[0] == '/' || dirlen == 0)
		return fd_strdup(rel);
	rel = skip_dots(rel);
	/* nor does a directory's trailing "/." */
	while (dirlen >= 2 && dir[dirlen - 1] == '.' && dir[dirlen - 2] == '/')
		dirlen -= 2;
	while (dirlen > 1 && dir[dirlen - 1] == '/')
		dirlen--;
	if (dirlen == 0)
		return fd_asprintf("/%s", rel);
	if (dirlen == 1 && dir[0] == '.')
		return fd_strdup(rel[0] != '\0' ? rel : ".");
	if (rel[0] == '\0')
		return fd_asprintf("%.*s", (int)dirlen, dir);
	if (dirlen == 1 && dir[0] == '/')
		return fd_asprintf("/%s", rel);
	return fd_asprintf("%.*s/%s", (int)dirlen, dir, rel);
}
