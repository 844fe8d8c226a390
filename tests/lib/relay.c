/*
 * relay.c -- a TCP relay that loses its connections the way a network does
 *
 * One thread polls the listening socket, a pipe that wakes it for the
 * test's orders, and both sides of every relayed connection. Orders are
 * carried out by that thread alone, so no socket is closed under a poll
 * that watches it; a cut is waited for, so that it is in effect when
 * fd_test_relay_cut() returns.
 */
#include "config.h"

#include <netinet/in.h>
#include <sys/socket.h>

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "relay.h"

#define RL_MAX	64		/* connections relayed at once */

enum rl_state { RL_LIVE, RL_RESET, RL_DROP };

struct rl_pair {
	int		 cfd;		/* the client's side */
	int		 sfd;		/* the server's side; -1 once cut */
	enum rl_state	 state;
};

struct fd_test_relay {
	int		 lfd;
	int		 port;
	int		 target;
	int		 wake[2];
	pthread_t	 t;

	pthread_mutex_t	 mu;		/* what follows, up to pair */
	pthread_cond_t	 cv;		/* a cut was carried out */
	int		 stop;
	int		 gather;	/* hold clients' bytes below this many */
	int		 cut;		/* -1, or the cut to make */
	int		 accepted;

	struct rl_pair	 pair[RL_MAX];	/* the thread's own */
	int		 npair;
};

/* rl_write - all of len bytes of b to fd; -1 on an error */
static int
rl_write(int fd, const char *b, size_t len)
{
	ssize_t	 n;

	while (len > 0) {
		if ((n = write(fd, b, len)) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		b += n;
		len -= (size_t)n;
	}
	return 0;
}

/* rl_dial - a connection to the target, or -1 */
static int
rl_dial(int port)
{
	struct sockaddr_in sin;
	int	 fd;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons((unsigned short)port);
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* rl_remove - close pair i, as its state says; the last takes its place */
static void
rl_remove(struct fd_test_relay *r, int i)
{
	struct rl_pair	*p = &r->pair[i];
	struct linger	 l = { 1, 0 };

	/* a close with a zero linger sends a reset, not a FIN */
	if (p->state == RL_RESET)
		(void)setsockopt(p->cfd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	close(p->cfd);
	if (p->sfd >= 0)
		close(p->sfd);
	*p = r->pair[--r->npair];
}

/* rl_accept - relay one more connection */
static void
rl_accept(struct fd_test_relay *r)
{
	int	 c, s;

	if ((c = accept(r->lfd, NULL, NULL)) < 0)
		return;
	if (r->npair == RL_MAX || (s = rl_dial(r->target)) < 0) {
		close(c);
		return;
	}
	r->pair[r->npair].cfd = c;
	r->pair[r->npair].sfd = s;
	r->pair[r->npair].state = RL_LIVE;
	r->npair++;
	pthread_mutex_lock(&r->mu);
	r->accepted++;
	if (r->npair >= r->gather)
		r->gather = 0;
	pthread_mutex_unlock(&r->mu);
}

/* rl_client - pair i's client sent something (or closed); 0 or -1 to
 * remove the pair */
static int
rl_client(struct rl_pair *p)
{
	char	 buf[16384];
	ssize_t	 n;

	if (p->state == RL_RESET)
		return -1;
	if ((n = read(p->cfd, buf, sizeof(buf))) <= 0)
		return -1;
	if (p->state == RL_DROP)
		return 0;
	return rl_write(p->sfd, buf, (size_t)n);
}

/* rl_server - pair i's server answered (or closed) */
static int
rl_server(struct rl_pair *p)
{
	char	 buf[16384];
	ssize_t	 n;

	if ((n = read(p->sfd, buf, sizeof(buf))) <= 0)
		return -1;
	return rl_write(p->cfd, buf, (size_t)n);
}

/* rl_orders - carry out the test's orders; 1 to stop */
static int
rl_orders(struct fd_test_relay *r, int *held)
{
	int	 i, stop;

	pthread_mutex_lock(&r->mu);
	if (r->cut >= 0) {
		for (i = 0; i < r->npair; i++) {
			if (r->pair[i].sfd < 0)
				continue;
			close(r->pair[i].sfd);
			r->pair[i].sfd = -1;
			r->pair[i].state = (enum rl_state)(r->cut ==
			    FD_RELAY_RESET ? RL_RESET : RL_DROP);
		}
		r->cut = -1;
		pthread_cond_broadcast(&r->cv);
	}
	*held = r->npair < r->gather;
	stop = r->stop;
	pthread_mutex_unlock(&r->mu);
	return stop;
}

static void *
rl_run(void *arg)
{
	struct fd_test_relay *r = arg;
	struct pollfd	 pfd[2 + 2 * RL_MAX];
	int		 at[RL_MAX][2], i, n, held;
	char		 b[64];

	while (!rl_orders(r, &held)) {
		pfd[0] = (struct pollfd){ r->wake[0], POLLIN, 0 };
		pfd[1] = (struct pollfd){ r->lfd, POLLIN, 0 };
		n = 2;
		for (i = 0; i < r->npair; i++) {
			at[i][0] = at[i][1] = -1;
			if (!(held && r->pair[i].state == RL_LIVE)) {
				at[i][0] = n;
				pfd[n++] = (struct pollfd){ r->pair[i].cfd,
				    POLLIN, 0 };
			}
			if (r->pair[i].sfd >= 0) {
				at[i][1] = n;
				pfd[n++] = (struct pollfd){ r->pair[i].sfd,
				    POLLIN, 0 };
			}
		}
		if (poll(pfd, (nfds_t)n, -1) < 0)
			continue;
		if (pfd[0].revents && read(r->wake[0], b, sizeof(b)) < 0)
			continue;
		/* from the last, so that a removal moves a pair already seen */
		for (i = r->npair - 1; i >= 0; i--)
			if ((at[i][0] >= 0 && pfd[at[i][0]].revents &&
			    rl_client(&r->pair[i]) < 0) ||
			    (at[i][1] >= 0 && pfd[at[i][1]].revents &&
			    r->pair[i].sfd >= 0 && rl_server(&r->pair[i]) < 0))
				rl_remove(r, i);
		if (pfd[1].revents)
			rl_accept(r);
	}
	return NULL;
}

/* rl_poke - wake the thread for an order */
static void
rl_poke(struct fd_test_relay *r)
{
	ssize_t	 n = write(r->wake[1], "", 1);

	(void)n;
}

struct fd_test_relay *
fd_test_relay_new(int port)
{
	struct fd_test_relay *r;
	struct sockaddr_in sin;
	socklen_t	 slen = sizeof(sin);

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	r->target = port;
	r->cut = -1;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((r->lfd = socket(AF_INET, SOCK_STREAM, 0)) < 0)
		goto fail;
	if (bind(r->lfd, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
	    listen(r->lfd, RL_MAX) < 0 ||
	    getsockname(r->lfd, (struct sockaddr *)&sin, &slen) < 0 ||
	    pipe(r->wake) < 0)
		goto fail_lfd;
	r->port = ntohs(sin.sin_port);
	pthread_mutex_init(&r->mu, NULL);
	pthread_cond_init(&r->cv, NULL);
	if (pthread_create(&r->t, NULL, rl_run, r) == 0)
		return r;
	pthread_cond_destroy(&r->cv);
	pthread_mutex_destroy(&r->mu);
	close(r->wake[0]);
	close(r->wake[1]);
fail_lfd:
	close(r->lfd);
fail:
	free(r);
	return NULL;
}

int
fd_test_relay_port(const struct fd_test_relay *r)
{
	return r->port;
}

int
fd_test_relay_accepted(struct fd_test_relay *r)
{
	int	 n;

	pthread_mutex_lock(&r->mu);
	n = r->accepted;
	pthread_mutex_unlock(&r->mu);
	return n;
}

void
fd_test_relay_gather(struct fd_test_relay *r, int n)
{
	pthread_mutex_lock(&r->mu);
	r->gather = n;
	pthread_mutex_unlock(&r->mu);
	rl_poke(r);
}

void
fd_test_relay_cut(struct fd_test_relay *r, enum fd_relay_cut how)
{
	pthread_mutex_lock(&r->mu);
	r->cut = (int)how;
	rl_poke(r);
	while (r->cut >= 0)
		pthread_cond_wait(&r->cv, &r->mu);
	pthread_mutex_unlock(&r->mu);
}

struct fd_test_relay *
fd_test_relay_free(struct fd_test_relay *r)
{
	if (r == NULL)
		return NULL;
	pthread_mutex_lock(&r->mu);
	r->stop = 1;
	pthread_mutex_unlock(&r->mu);
	rl_poke(r);
	pthread_join(r->t, NULL);
	while (r->npair > 0)
		rl_remove(r, r->npair - 1);
	close(r->lfd);
	close(r->wake[0]);
	close(r->wake[1]);
	pthread_cond_destroy(&r->cv);
	pthread_mutex_destroy(&r->mu);
	free(r);
	return NULL;
}
