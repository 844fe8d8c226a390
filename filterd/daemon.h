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
struct fd_txn;

struct fd_daemon {
	struct fd_clock		 clock;
	struct fd_store		*store;		/* NULL under -t */
	char			*conf_path;
	pthread_mutex_t		 lock;		/* guards current, serial */
	struct fd_gen		*current;
	uint64_t		 serial;
	uint64_t		 conn_ids;	/* atomic */
	struct fd_txn		*conns;		/* open connections, under lock */
	int			 busy;		/* callbacks running, atomic */
	int			 stopping;	/* atomic: see fd_daemon_enter */
	int			 pid_held;	/* the pidfile's lock, or -1 */
};

/* fd_daemon_new - an empty daemon for conf_path (copied, made absolute) */
struct fd_daemon	*fd_daemon_new(const char *conf_path);
/* fd_daemon_free - fd_daemon_close, then the daemon itself */
struct fd_daemon	*fd_daemon_free(struct fd_daemon *);

/* fd_daemon_load - parse conf_path into a new generation and make it
 * current; the previous one stays current (and in force) on error, with
 * every problem in errs */
int		 fd_daemon_load(struct fd_daemon *, struct fd_errs *errs);
/* fd_daemon_acquire - a reference to the current generation */
struct fd_gen	*fd_daemon_acquire(struct fd_daemon *);
/* fd_daemon_next_id - connection numbers for log lines */
uint64_t	 fd_daemon_next_id(struct fd_daemon *);

/* fd_daemon_conn_new - a connection on the current generation, listed
 * as open; NULL if there is no generation */
struct fd_txn	*fd_daemon_conn_new(struct fd_daemon *);
/* fd_daemon_conn_free - a connection closed: unlisted and freed */
void		 fd_daemon_conn_free(struct fd_daemon *, struct fd_txn *);

/*
 * A callback runs between fd_daemon_enter (0: go on; -1: filterd is
 * stopping, touch nothing) and fd_daemon_leave. fd_daemon_stop turns
 * callbacks away from then on; fd_daemon_busy counts those still
 * running. Once none is, fd_daemon_close frees the connections left
 * open, the current generation and the store, and says how many
 * connections there were; the daemon itself stays, for fd_daemon_enter.
 */
int		 fd_daemon_enter(struct fd_daemon *);
void		 fd_daemon_leave(struct fd_daemon *);
void		 fd_daemon_stop(struct fd_daemon *);
int		 fd_daemon_busy(struct fd_daemon *);
int		 fd_daemon_close(struct fd_daemon *);

#endif
