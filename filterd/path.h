/*
 * path.h -- a directory and a relative path, joined as messages show them
 *
 * A file the user names "./rules/x" in /etc/filterd is shown as
 * /etc/filterd/rules/x, not /etc/filterd/./rules/x: the "." steps are
 * dropped, because they never change which file is meant. ".." steps are
 * kept: with a symbolic link on the way they do, and the message must
 * name the file that was opened.
 */
#ifndef FD_PATH_H
#define FD_PATH_H

#include <stddef.h>

/* fd_path_join - the first dirlen bytes of dir, then rel; new string.
 * rel is returned alone (copied) if it is absolute or dirlen is 0. */
char	*fd_path_join(const char *dir, size_t dirlen, const char *rel);

#endif
