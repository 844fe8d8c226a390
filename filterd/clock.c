/*
 * clock.c -- the decision clock, see clock.h
 */
#include "config.h"

#include <fcntl.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "xalloc.h"

/* file_time - the unix time written in path; the real time if unreadable */
static int64_t
file_time(const char *path)
{
	char	 buf[32];
	ssize_t	 n;
	int	 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return (int64_t)time(NULL);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return (int64_t)time(NULL);
	buf[n] = '\0';
	return strtoll(buf, NULL, 10);
}

int64_t
fd_clock_now(const struct fd_clock *c)
{
	if (c == NULL)
		return (int64_t)time(NULL);
	switch (c->kind) {
	case FD_CLOCK_FIXED:
		return __atomic_load_n(&c->fixed, __ATOMIC_RELAXED);
	case FD_CLOCK_FILE:
		return file_time(c->path);
	default:
		return (int64_t)time(NULL);
	}
}

void
fd_clock_set(struct fd_clock *c, int64_t t)
{
	c->kind = FD_CLOCK_FIXED;
	__atomic_store_n(&c->fixed, t, __ATOMIC_RELAXED);
}

void
fd_clock_advance(struct fd_clock *c, int64_t delta)
{
	__atomic_add_fetch(&c->fixed, delta, __ATOMIC_RELAXED);
}

void
fd_clock_use_file(struct fd_clock *c, const char *path)
{
	free(c->path);
	c->path = fd_strdup(path);
	c->kind = FD_CLOCK_FILE;
}

void
fd_clock_fini(struct fd_clock *c)
{
	free(c->path);
	c->path = NULL;
	c->kind = FD_CLOCK_REAL;
}
