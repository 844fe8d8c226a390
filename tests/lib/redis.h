/*
 * redis.h -- a private redis-server for tests and benches
 *
 * fd_test_redis_start() runs $REDIS_SERVER (default: redis-server from
 * PATH) on 127.0.0.1, on a free port, in a fresh mktemp directory with a
 * generated redis.conf (no persistence; a unix socket beside it), and
 * returns once the server answers PING. The server is the caller's: stop
 * it and start it again on the same port and socket (an outage test), and
 * free it, which stops it (SIGTERM, then SIGKILL) and removes the
 * directory. On Linux the server also dies with the process that started
 * it, so a crashed test leaves nothing behind.
 *
 * A test that needs Redis and cannot find redis-server must fail, not
 * skip, unless FD_ALLOW_SKIP=1: fd_test_redis_require() does that
 * (exit 99, or 77 with FD_ALLOW_SKIP=1).
 */
#ifndef FD_TEST_REDIS_H
#define FD_TEST_REDIS_H

#include <stddef.h>
#include <sys/types.h>

struct fd_test_redis;

/* fd_test_redis_available - 1 if redis-server can be run, else 0 */
int	 fd_test_redis_available(void);
/* fd_test_redis_backends - for suites run on LMDB and Redis: all when
 * redis-server is there, 1 (LMDB only) if it is missing and
 * FD_ALLOW_SKIP=1, otherwise exit 99 (a missing dependency is a failure) */
int	 fd_test_redis_backends(int all);
/* fd_test_redis_start - a running server, or NULL with a reason in err */
struct fd_test_redis *fd_test_redis_start(char *err, size_t errlen);
/* fd_test_redis_require - fd_test_redis_start, or exit as the test rules
 * say (99; 77 if redis-server is missing and FD_ALLOW_SKIP=1) */
struct fd_test_redis *fd_test_redis_require(void);

/* "redis://127.0.0.1:PORT" */
const char *fd_test_redis_url(const struct fd_test_redis *);
int	 fd_test_redis_port(const struct fd_test_redis *);
/* the unix socket's path, for unix:// URLs */
const char *fd_test_redis_socket(const struct fd_test_redis *);
/* the server's directory (redis.conf, redis.log) */
const char *fd_test_redis_dir(const struct fd_test_redis *);
/* the server's pid, -1 while stopped (SIGSTOP it to play a slow server) */
pid_t	 fd_test_redis_pid(const struct fd_test_redis *);

/* fd_test_redis_stop - stop the server, keep its port and directory */
int	 fd_test_redis_stop(struct fd_test_redis *);
/* fd_test_redis_restart - start it again on the same port; 0 or -1 */
int	 fd_test_redis_restart(struct fd_test_redis *, char *err, size_t errlen);
/* fd_test_redis_free - stop, remove the directory; returns NULL */
struct fd_test_redis *fd_test_redis_free(struct fd_test_redis *);

#endif
