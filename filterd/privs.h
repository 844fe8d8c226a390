/*
 * privs.h -- who filterd runs as
 *
 * `user` and `group` are looked up at the start, so that a name that does
 * not exist is reported before anything is bound or detached. Started as
 * root with a `user`, filterd opens the store's files with the run user's
 * effective ids, then becomes that user for good; main.c keeps the order.
 */
#ifndef FD_PRIVS_H
#define FD_PRIVS_H

#include <sys/types.h>

#include "errs.h"

struct fd_conf;
struct fd_daemon;
struct fd_store;

/* who to become: `user` and `group` looked up */
struct fd_run_ids {
	int	 set;	/* 0: no `user`, stay as started */
	uid_t	 uid;
	gid_t	 gid;
};

/* fd_run_ids_get - conf's `user` and `group` looked up; -1 with a located
 * message in errs for a name that does not exist */
int		 fd_run_ids_get(const struct fd_conf *, struct fd_run_ids *,
		    struct fd_errs *errs);
/* fd_privs_open_store - the store, its files opened as the run user when
 * started as root; NULL with a log line */
struct fd_store	*fd_privs_open_store(struct fd_daemon *,
		    const struct fd_conf *, const struct fd_run_ids *);
/* fd_privs_drop - become the run user for good; -1 with a log line */
int		 fd_privs_drop(const struct fd_conf *,
		    const struct fd_run_ids *);

#endif
