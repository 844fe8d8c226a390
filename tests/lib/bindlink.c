/*
 * bindlink.c -- a preload for tests: right after a unix socket is bound,
 * its path is replaced by a symbolic link to FD_TEST_BIND_LINK, or by a
 * hard link to it when FD_TEST_BIND_LINK_HARD is set
 *
 * It stands for a process of the run user, which owns the socket's
 * directory, swapping the socket for a link before the daemon has set
 * the socket's mode: the test then shows that whatever the daemon does to
 * the socket afterwards does not reach the file the link names. The swap
 * happens at the one moment a race would have to hit, every time.
 *
 *   LD_PRELOAD=tests/lib/.libs/bindlink.so FD_TEST_BIND_LINK=/victim ...
 *   (and FD_TEST_BIND_LINK_HARD=1 for a hard link)
 *
 * Unset, nothing changes.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef int (*bind_fn)(int, const struct sockaddr *, socklen_t);

/* set once, at load, before any thread of the daemon exists */
static bind_fn		 real_bind;
static const char	*link_to;
static int		 hard;

/*
 * bindlink_init - find libc's bind and read FD_TEST_BIND_LINK. The
 * preload is the daemon's alone: a program it starts does not inherit
 * it (a sanitizer's symbolizer, built without this library's sanitizer
 * runtime, would fail to load and leave reports unsymbolized, so that
 * the suppressions no longer match them).
 */
__attribute__((constructor)) static void
bindlink_init(void)
{
	*(void **)&real_bind = dlsym(RTLD_NEXT, "bind");
	link_to = getenv("FD_TEST_BIND_LINK");
	hard = getenv("FD_TEST_BIND_LINK_HARD") != NULL;
	(void)unsetenv("LD_PRELOAD");
}

int
bind(int fd, const struct sockaddr *sa, socklen_t len)
{
	const struct sockaddr_un *sun = (const struct sockaddr_un *)sa;
	char	 path[sizeof(sun->sun_path) + 1];
	int	 rc, saved;

	if ((rc = real_bind(fd, sa, len)) < 0 || link_to == NULL ||
	    sa->sa_family != AF_UNIX || sun->sun_path[0] == '\0')
		return rc;
	saved = errno;
	memcpy(path, sun->sun_path, sizeof(sun->sun_path));
	path[sizeof(sun->sun_path)] = '\0';
	if (unlink(path) == 0)
		(void)(hard ? link(link_to, path) : symlink(link_to, path));
	errno = saved;
	return rc;
}
