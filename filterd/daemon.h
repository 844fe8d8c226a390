/*
 * daemon.h -- what outlives a configuration generation
 *
 * One fd_daemon per process: the clock, the store, the current
 * generation and the reload logic. Nothing here is a global: main()
 * owns the daemon and milter.c is handed a pointer to it (libmilter's
 * callbacks take no user argument, so milter.c keeps that one pointer).
 */
#ifndef FD_DAEMON_H
#define FD_DAEMON_H

#include <pthread.h>
#include <stdint.h>

#include "clock.h"
#include "errs.h"

struct fd_conf;
struct fd_gen;
struct fd_store;

struct fd_daemon {
	struct fd_clock		 clock;
	struct fd_store		*store;		/* NULL under -t */
	char			*conf_path;
	pthread_mutex_t		 lock;		/* guards current, serial */
	struct fd_gen		*current;
	uint64_t		 serial;
	uint64_t		 conn_ids;	/* atomic */
	int			 live;		/* open connections, atomic */
};

/* fd_daemon_new - an empty daemon for conf_path (copied, made absolute) */
struct fd_daemon	*fd_daemon_new(const char *conf_path);
/* fd_daemon_free - drop the current generation, close the store */
struct fd_daemon	*fd_daemon_free(struct fd_daemon *);

/* fd_daemon_load - parse conf_path into a new generation and make it
 * current; the previous one stays current (and in force) on error, with
 * every problem in errs */
int		 fd_daemon_load(struct fd_daemon *, struct fd_errs *errs);
/* fd_daemon_acquire - a reference to the current generation */
struct fd_gen	*fd_daemon_acquire(struct fd_daemon *);
/* fd_daemon_next_id - connection numbers for log lines */
uint64_t	 fd_daemon_next_id(struct fd_daemon *);

#endif
