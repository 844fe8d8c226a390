/*
 * redis.c -- a private redis-server for tests and benches, see redis.h
 *
 * The port comes from binding 127.0.0.1:0 and reading it back; another
 * process could take it before redis-server binds it, so a server that
 * exits at once is tried again on a new port. Readiness is a PING that
 * answers PONG, not a sleep.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include <hiredis/hiredis.h>

#include "redis.h"

#define START_TRIES	5
#define READY_MS	10000
#define STOP_MS		5000

struct fd_test_redis {
	char	 dir[256];
	char	 conf[300];
	char	 sock[300];
	char	 url[64];
	int	 port;
	pid_t	 pid;
};

/* server - the program to run */
static const char *
server(void)
{
	const char *s = getenv("REDIS_SERVER");

	return s != NULL && *s != '\0' ? s : "redis-server";
}

/* fd_test_redis_available - is redis-server there to run? */
int
fd_test_redis_available(void)
{
	const char	*s = server(), *path;
	char		 buf[1024], *dirs, *d, *save = NULL;
	int		 ok = 0;

	if (strchr(s, '/') != NULL)
		return access(s, X_OK) == 0;
	path = getenv("PATH");
	dirs = strdup(path != NULL ? path : "/usr/bin:/bin");
	if (dirs == NULL)
		return 0;
	for (d = strtok_r(dirs, ":", &save); d != NULL && !ok;
	    d = strtok_r(NULL, ":", &save)) {
		snprintf(buf, sizeof(buf), "%s/%s", d, s);
		ok = access(buf, X_OK) == 0;
	}
	free(dirs);
	return ok;
}

int
fd_test_redis_backends(int all)
{
	const char	*skip = getenv("FD_ALLOW_SKIP");

	if (fd_test_redis_available())
		return all;
	if (skip == NULL || strcmp(skip, "1") != 0) {
		fprintf(stderr, "redis-server not found (REDIS_SERVER=%s); "
		    "FD_ALLOW_SKIP=1 runs the LMDB half only\n",
		    getenv("REDIS_SERVER") ? getenv("REDIS_SERVER") : "");
		exit(99);
	}
	fprintf(stderr, "redis-server not found: LMDB only (FD_ALLOW_SKIP=1)\n");
	return 1;
}

/* msleep - wait ms milliseconds */
static void
msleep(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* free_port - a loopback port nobody listens on right now */
static int
free_port(void)
{
	struct sockaddr_in sin;
	socklen_t	 len = sizeof(sin);
	int		 fd, port = -1;

	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) < 0)
		return -1;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sin, &len) == 0)
		port = ntohs(sin.sin_port);
	close(fd);
	return port;
}

/* write_conf - redis.conf for port r->port */
static int
write_conf(struct fd_test_redis *r)
{
	FILE	*f;

	if ((f = fopen(r->conf, "w")) == NULL)
		return -1;
	fprintf(f, "port %d\n"
	    "bind 127.0.0.1\n"
	    "unixsocket %s\n"
	    "unixsocketperm 700\n"
	    "dir %s\n"
	    "logfile %s/redis.log\n"
	    "daemonize no\n"
	    "save \"\"\n"
	    "appendonly no\n"
	    "databases 16\n", r->port, r->sock, r->dir, r->dir);
	return fclose(f) == 0 ? 0 : -1;
}

/* pong - does the server answer PING? */
static int
pong(const struct fd_test_redis *r)
{
	struct timeval	 tv = { 0, 200000 };
	redisContext	*c;
	redisReply	*rep;
	int		 ok = 0;

	c = redisConnectWithTimeout("127.0.0.1", r->port, tv);
	if (c != NULL && c->err == 0 && redisSetTimeout(c, tv) == REDIS_OK &&
	    (rep = redisCommand(c, "PING")) != NULL) {
		ok = rep->type == REDIS_REPLY_STATUS &&
		    strcmp(rep->str, "PONG") == 0;
		freeReplyObject(rep);
	}
	if (c != NULL)
		redisFree(c);
	return ok;
}

/* log_tail - the end of redis.log, for an error message */
static void
log_tail(const struct fd_test_redis *r, char *buf, size_t len)
{
	char	 path[320];
	ssize_t	 n;
	off_t	 end;
	int	 fd;

	buf[0] = '\0';
	snprintf(path, sizeof(path), "%s/redis.log", r->dir);
	if ((fd = open(path, O_RDONLY)) < 0)
		return;
	end = lseek(fd, 0, SEEK_END);
	lseek(fd, end > (off_t)len - 1 ? end - (off_t)len + 1 : 0, SEEK_SET);
	if ((n = read(fd, buf, len - 1)) > 0)
		buf[n] = '\0';
	close(fd);
}

/* spawn - run the server on r->port and wait for PONG; 0, or -1 with err
 * (*exited set if the server ended at once, as when the port was taken) */
static int
spawn(struct fd_test_redis *r, int *exited, char *err, size_t errlen)
{
	char	 tail[400];
	pid_t	 pid;
	int	 waited, st, fd;

	*exited = 0;
	if (write_conf(r) < 0) {
		snprintf(err, errlen, "write %s: %s", r->conf, strerror(errno));
		return -1;
	}
	if ((pid = fork()) < 0) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
#ifdef __linux__
		prctl(PR_SET_PDEATHSIG, SIGTERM);
#endif
		if ((fd = open("/dev/null", O_RDWR)) >= 0) {
			dup2(fd, 0);
			dup2(fd, 1);
			dup2(fd, 2);
			if (fd > 2)
				close(fd);
		}
		execlp(server(), server(), r->conf, (char *)NULL);
		_exit(127);
	}
	r->pid = pid;
	for (waited = 0; waited < READY_MS; waited += 10) {
		if (pong(r))
			return 0;
		if (waitpid(pid, &st, WNOHANG) == pid) {
			r->pid = -1;
			*exited = 1;
			log_tail(r, tail, sizeof(tail));
			snprintf(err, errlen, "%s exited (status %d): %s",
			    server(), WIFEXITED(st) ? WEXITSTATUS(st) : -1, tail);
			return -1;
		}
		msleep(10);
	}
	snprintf(err, errlen, "%s does not answer PING on port %d", server(),
	    r->port);
	fd_test_redis_stop(r);
	return -1;
}

/* fd_test_redis_start - a fresh directory, a free port, a running server */
struct fd_test_redis *
fd_test_redis_start(char *err, size_t errlen)
{
	struct fd_test_redis *r;
	const char	*tmp = getenv("TMPDIR");
	int		 i, exited;

	if (!fd_test_redis_available()) {
		snprintf(err, errlen, "%s not found (set REDIS_SERVER)",
		    server());
		return NULL;
	}
	if ((r = calloc(1, sizeof(*r))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	r->pid = -1;
	snprintf(r->dir, sizeof(r->dir), "%s/fd-redis.XXXXXX",
	    tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
	if (mkdtemp(r->dir) == NULL) {
		snprintf(err, errlen, "mkdtemp %s: %s", r->dir, strerror(errno));
		free(r);
		return NULL;
	}
	snprintf(r->conf, sizeof(r->conf), "%s/redis.conf", r->dir);
	snprintf(r->sock, sizeof(r->sock), "%s/redis.sock", r->dir);
	for (i = 0; i < START_TRIES; i++) {
		if ((r->port = free_port()) < 0) {
			snprintf(err, errlen, "no free port: %s",
			    strerror(errno));
			break;
		}
		snprintf(r->url, sizeof(r->url), "redis://127.0.0.1:%d",
		    r->port);
		if (spawn(r, &exited, err, errlen) == 0)
			return r;
		if (!exited)
			break;
	}
	return fd_test_redis_free(r);
}

/* fd_test_redis_require - start one, or exit 99 (77 when skipping is allowed) */
struct fd_test_redis *
fd_test_redis_require(void)
{
	struct fd_test_redis *r;
	const char	*skip = getenv("FD_ALLOW_SKIP");
	char		 err[512];

	if ((r = fd_test_redis_start(err, sizeof(err))) != NULL)
		return r;
	fprintf(stderr, "redis: %s\n", err);
	if (!fd_test_redis_available() && skip != NULL &&
	    strcmp(skip, "1") == 0) {
		fprintf(stderr, "redis: skipped (FD_ALLOW_SKIP=1)\n");
		exit(77);
	}
	exit(99);
}

/* fd_test_redis_url - its redis:// URL */
const char *
fd_test_redis_url(const struct fd_test_redis *r)
{
	return r->url;
}

/* fd_test_redis_port - its TCP port */
int
fd_test_redis_port(const struct fd_test_redis *r)
{
	return r->port;
}

/* fd_test_redis_socket - its unix socket */
const char *
fd_test_redis_socket(const struct fd_test_redis *r)
{
	return r->sock;
}

/* fd_test_redis_dir - its directory */
const char *
fd_test_redis_dir(const struct fd_test_redis *r)
{
	return r->dir;
}

/* fd_test_redis_pid - its pid, -1 while stopped */
pid_t
fd_test_redis_pid(const struct fd_test_redis *r)
{
	return r->pid;
}

/* fd_test_redis_stop - SIGTERM, wait, then SIGKILL */
int
fd_test_redis_stop(struct fd_test_redis *r)
{
	int	 waited, st;

	if (r->pid <= 0)
		return 0;
	kill(r->pid, SIGCONT);	/* in case a test paused it */
	kill(r->pid, SIGTERM);
	for (waited = 0; waited < STOP_MS; waited += 10) {
		if (waitpid(r->pid, &st, WNOHANG) == r->pid) {
			r->pid = -1;
			return 0;
		}
		msleep(10);
	}
	kill(r->pid, SIGKILL);
	waitpid(r->pid, &st, 0);
	r->pid = -1;
	return 0;
}

/* fd_test_redis_restart - the same server again, same port */
int
fd_test_redis_restart(struct fd_test_redis *r, char *err, size_t errlen)
{
	int	 i, exited;

	fd_test_redis_stop(r);
	/* the old listening socket may linger for a moment */
	for (i = 0; i < START_TRIES; i++) {
		if (spawn(r, &exited, err, errlen) == 0)
			return 0;
		if (!exited)
			return -1;
		msleep(100);
	}
	return -1;
}

/* rm_entry - nftw callback: remove one entry */
static int
rm_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	remove(path);
	return 0;
}

/* fd_test_redis_free - stop it and remove its directory; returns NULL */
struct fd_test_redis *
fd_test_redis_free(struct fd_test_redis *r)
{
	if (r == NULL)
		return NULL;
	fd_test_redis_stop(r);
	nftw(r->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	free(r);
	return NULL;
}
