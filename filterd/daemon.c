/*
 * daemon.c -- the current generation and reload, see daemon.h
 */
#include "config.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "daemon.h"
#include "gen.h"
#include "log.h"
#include "path.h"
#include "store.h"
#include "txn.h"
#include "xalloc.h"

/*
 * abs_path - p against the current directory: the daemon detaches and
 * changes directory to /, and a reload must still read the file it
 * started from
 */
static char *
abs_path(const char *p)
{
	char	 cwd[PATH_MAX];

	if (p[0] == '/' || getcwd(cwd, sizeof(cwd)) == NULL)
		return fd_strdup(p);
	return fd_path_join(cwd, strlen(cwd), p);
}

struct fd_daemon *
fd_daemon_new(const char *conf_path)
{
	struct fd_daemon	*d = fd_calloc(1, sizeof(*d));

	d->conf_path = abs_path(conf_path);
	d->pid_held = -1;
	pthread_mutex_init(&d->lock, NULL);
	return d;
}

struct fd_daemon *
fd_daemon_free(struct fd_daemon *d)
{
	if (d == NULL)
		return NULL;
	(void)fd_daemon_close(d);
	fd_clock_fini(&d->clock);
	pthread_mutex_destroy(&d->lock);
	free(d->conf_path);
	free(d);
	return NULL;
}

/*
 * fd_daemon_load - build a complete generation before touching the
 * current one: a broken file, a plugin that fails to load or a plugin
 * block its init() refuses leaves the running configuration in force.
 * So do store options that would not open: the running store keeps
 * its own until a restart, which must not then fail on them.
 */
int
fd_daemon_load(struct fd_daemon *d, struct fd_errs *errs)
{
	struct fd_conf	*conf;
	struct fd_gen	*gen, *old;
	uint64_t	 serial;

	if ((conf = fd_conf_load(d->conf_path, errs)) == NULL)
		return -1;
	if (fd_store_check(conf, errs) < 0) {
		fd_conf_free(conf);
		return -1;
	}
	pthread_mutex_lock(&d->lock);
	serial = ++d->serial;
	pthread_mutex_unlock(&d->lock);
	if ((gen = fd_gen_new(d, conf, serial, errs)) == NULL) {
		/* a generation that never ran takes no number: the log
		 * would show a gap after "generation N stays in force" */
		pthread_mutex_lock(&d->lock);
		if (d->serial == serial)
			d->serial--;
		pthread_mutex_unlock(&d->lock);
		return -1;
	}
	pthread_mutex_lock(&d->lock);
	old = d->current;
	d->current = gen;
	pthread_mutex_unlock(&d->lock);
	/* connections pinned to the old generation keep it alive */
	if (old != NULL)
		fd_gen_unref(old);
	return 0;
}

struct fd_gen *
fd_daemon_acquire(struct fd_daemon *d)
{
	struct fd_gen	*gen;

	pthread_mutex_lock(&d->lock);
	gen = d->current != NULL ? fd_gen_ref(d->current) : NULL;
	pthread_mutex_unlock(&d->lock);
	return gen;
}

uint64_t
fd_daemon_next_id(struct fd_daemon *d)
{
	return __atomic_add_fetch(&d->conn_ids, 1, __ATOMIC_RELAXED);
}

struct fd_txn *
fd_daemon_conn_new(struct fd_daemon *d)
{
	struct fd_gen	*gen;
	struct fd_txn	*t;

	if ((gen = fd_daemon_acquire(d)) == NULL)
		return NULL;
	t = fd_txn_new(gen, fd_daemon_next_id(d));
	pthread_mutex_lock(&d->lock);
	t->conn_next = d->conns;
	if (d->conns != NULL)
		d->conns->conn_prev = t;
	d->conns = t;
	pthread_mutex_unlock(&d->lock);
	return t;
}

/* conn_unlist - take t off the list of open connections, under lock */
static void
conn_unlist(struct fd_daemon *d, struct fd_txn *t)
{
	if (t->conn_prev != NULL)
		t->conn_prev->conn_next = t->conn_next;
	else
		d->conns = t->conn_next;
	if (t->conn_next != NULL)
		t->conn_next->conn_prev = t->conn_prev;
}

void
fd_daemon_conn_free(struct fd_daemon *d, struct fd_txn *t)
{
	pthread_mutex_lock(&d->lock);
	conn_unlist(d, t);
	pthread_mutex_unlock(&d->lock);
	fd_txn_free(t);
}

/*
 * fd_daemon_enter - the counter goes up before the flag is read, and
 * fd_daemon_stop sets the flag before the counter is read, both
 * sequentially consistent: a callback either sees the stop and leaves,
 * or is counted by the stop's wait. So once the wait has seen none
 * running, none touches a connection again.
 */
int
fd_daemon_enter(struct fd_daemon *d)
{
	__atomic_add_fetch(&d->busy, 1, __ATOMIC_SEQ_CST);
	if (!__atomic_load_n(&d->stopping, __ATOMIC_SEQ_CST))
		return 0;
	fd_daemon_leave(d);
	return -1;
}

void
fd_daemon_leave(struct fd_daemon *d)
{
	/* release: what the callback did is seen by the stop's wait */
	__atomic_sub_fetch(&d->busy, 1, __ATOMIC_RELEASE);
}

void
fd_daemon_stop(struct fd_daemon *d)
{
	__atomic_store_n(&d->stopping, 1, __ATOMIC_SEQ_CST);
}

int
fd_daemon_busy(struct fd_daemon *d)
{
	return __atomic_load_n(&d->busy, __ATOMIC_SEQ_CST);
}

/*
 * fd_daemon_close - libmilter, once it stops, serves no connection
 * again, not even to close it: an MTA's connection waiting between two
 * commands would pin its generation, and so keep the plugins' fini
 * from running. Such connections are freed here, as if the MTA had
 * closed them, before the current generation and the store.
 */
int
fd_daemon_close(struct fd_daemon *d)
{
	struct fd_txn	*t, *next;
	int		 n = 0;

	pthread_mutex_lock(&d->lock);
	t = d->conns;
	d->conns = NULL;
	pthread_mutex_unlock(&d->lock);
	for (; t != NULL; t = next, n++) {
		next = t->conn_next;
		fd_txn_free(t);
	}
	if (d->current != NULL)
		fd_gen_unref(d->current);
	d->current = NULL;
	d->store = fd_store_free(d->store);
	return n;
}
