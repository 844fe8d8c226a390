/*
 * reload.c -- the thread that reloads the configuration on SIGHUP and
 * SIGUSR1
 *
 * See reload.h. Building and swapping a generation is fd_daemon_load's;
 * this thread is when it runs, and what a reload is told about the
 * settings it cannot apply.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "daemon.h"
#include "gen.h"
#include "log.h"
#include "milter.h"
#include "notify.h"
#include "reload.h"
#include "xalloc.h"

/*
 * The settings a reload cannot apply: the socket is bound, privileges
 * are dropped, libmilter is set up and the store is open under live
 * sessions. Each is kept as text to compare, so that what the running
 * daemon started with outlives the generation that had it.
 */
enum { SO_LOG, SO_TIMEOUT, SO_PIDFILE, SO_SOCKET, SO_SOCKET_MODE, SO_STORE,
    SO_USER, SO_N };

static const char *const so_names[SO_N] = { "log", "milter-timeout",
    "pidfile", "socket", "socket-mode", "store", "user, group" };

struct start_only {
	char		*v[SO_N];
};

struct fd_reloader {
	struct fd_daemon	*d;
	pthread_t		 tid;
	pthread_barrier_t	 started;	/* the first stack is set */
	int			 stopping;
	int			 foreground;	/* -f: logging to stderr */
	struct start_only	 in_force;	/* as started */
	char			*socket;	/* served, as started */
};

/* so_cat - acc with s appended, its length first, so that the pieces of
 * one setting cannot run into each other; acc is taken */
static char *
so_cat(char *acc, const char *s)
{
	char	*n;

	s = s != NULL ? s : "";
	n = fd_asprintf("%s%zu:%s", acc, strlen(s), s);
	free(acc);
	return n;
}

/* start_only_get - conf's settings read only at start, as text */
static void
start_only_get(const struct fd_conf *conf, struct start_only *so)
{
	const struct fd_directive	*d;
	char				*st;
	int				 i;

	so->v[SO_LOG] = fd_asprintf("%d %d", (int)conf->log_target,
	    conf->log_facility);
	so->v[SO_TIMEOUT] = fd_asprintf("%lld",
	    (long long)conf->milter_timeout);
	so->v[SO_PIDFILE] = so_cat(fd_strdup(""), conf->pidfile);
	so->v[SO_SOCKET] = so_cat(fd_strdup(""), conf->socket);
	so->v[SO_SOCKET_MODE] = fd_asprintf("%d", conf->socket_mode);
	st = so_cat(fd_asprintf("%d ", (int)conf->store_kind),
	    conf->store_path);
	for (d = conf->store_opts->head; d != NULL; d = d->next) {
		st = so_cat(st, d->name);
		for (i = 0; i < d->argc; i++)
			st = so_cat(st, d->argv[i]);
		st = so_cat(st, NULL);	/* its end */
	}
	so->v[SO_STORE] = st;
	so->v[SO_USER] = so_cat(so_cat(fd_strdup(""), conf->user),
	    conf->group);
}

static void
start_only_clear(struct start_only *so)
{
	int	 i;

	for (i = 0; i < SO_N; i++) {
		free(so->v[i]);
		so->v[i] = NULL;
	}
}

/* add_name - append name to the list being built in buf */
static void
add_name(char *buf, size_t len, const char *name)
{
	size_t	 n = strlen(buf);

	snprintf(buf + n, len - n, "%s%s", n > 0 ? ", " : "", name);
}

/*
 * warn_start_only - the settings read only at start that a reload from
 * old to new changed and that are not as the daemon started: logged so
 * that an operator does not believe them in force. One changed back to
 * its value at start is in force, and one a reload before already named
 * is not named again.
 */
static void
warn_start_only(const struct start_only *in_force,
    const struct fd_conf *old, const struct fd_conf *new, int foreground)
{
	struct start_only	 a = { { 0 } }, b = { { 0 } };
	char			 names[256] = "";
	int			 i;

	start_only_get(old, &a);
	start_only_get(new, &b);
	for (i = 0; i < SO_N; i++) {
		/* -f logs to stderr whatever `log` says */
		if (i == SO_LOG && foreground)
			continue;
		if (strcmp(b.v[i], a.v[i]) != 0 &&
		    strcmp(b.v[i], in_force->v[i]) != 0)
			add_name(names, sizeof(names), so_names[i]);
	}
	start_only_clear(&a);
	start_only_clear(&b);
	if (names[0] != '\0')
		fd_log_warnx("settings read only at start changed (%s); they "
		    "take effect at the next restart", names);
}

/* set_stack - the stack of sessions started from now on; not fatal, the
 * system's size works too */
static void
set_stack(const struct fd_conf *conf)
{
	char	 err[160];

	if (fd_milter_stack(conf->thread_stack, err, sizeof(err)) < 0)
		fd_log_warnx("%s", err);
}

/*
 * reload_main - set the first generation's thread stack, then wait for
 * SIGHUP or SIGUSR1 and build a new generation each time. It waits with
 * sigwaitinfo(), not sigwait(), which sigwait.c turns deaf to SIGHUP for
 * libmilter's sake. Every set_stack() runs
 * in this thread, so a reload's stack cannot be overtaken by the first
 * one's; the thread itself was started before any, with the system's
 * stack, which building a whole configuration may need.
 */
static void *
reload_main(void *arg)
{
	struct fd_reloader	*r = arg;
	struct fd_errs		 errs = { 0 };
	struct fd_gen		*cur;
	sigset_t		 set;
	size_t			 i;
	int			 sig;

	cur = fd_daemon_acquire(r->d);
	set_stack(cur->conf);
	fd_gen_unref(cur);
	pthread_barrier_wait(&r->started);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGHUP);
	for (;;) {
		struct fd_gen	*old;

		while ((sig = sigwaitinfo(&set, NULL)) < 0 && errno == EINTR)
			continue;
		if (sig < 0 || __atomic_load_n(&r->stopping, __ATOMIC_ACQUIRE))
			break;
		fd_notify_reloading();
		old = fd_daemon_acquire(r->d);
		if (fd_daemon_load(r->d, &errs) < 0) {
			for (i = 0; i < errs.n; i++)
				fd_log(FD_LOG_ERR, "%s", errs.msg[i]);
			fd_log(FD_LOG_ERR, "reload failed; generation %llu "
			    "stays in force", (unsigned long long)old->serial);
		} else {
			cur = fd_daemon_acquire(r->d);
			for (i = 0; i < cur->conf->warns.n; i++)
				fd_log(FD_LOG_WARN, "%s", cur->conf->warns.msg[i]);
			warn_start_only(&r->in_force, old->conf, cur->conf,
			    r->foreground);
			fd_log_set_level(cur->conf->log_level);
			set_stack(cur->conf);
			fd_log(FD_LOG_NOTICE, "reloaded %s: generation %llu",
			    r->d->conf_path, (unsigned long long)cur->serial);
			fd_gen_unref(cur);
		}
		fd_gen_unref(old);
		fd_errs_clear(&errs);
		/* failed or not, a generation is in force and serves */
		cur = fd_daemon_acquire(r->d);
		fd_notify_ready(r->socket, (unsigned long long)cur->serial);
		fd_gen_unref(cur);
	}
	return NULL;
}

struct fd_reloader *
fd_reloader_new(struct fd_daemon *d, const struct fd_conf *started,
    int foreground)
{
	struct fd_reloader	*r;

	r = fd_calloc(1, sizeof(*r));
	r->d = d;
	r->foreground = foreground;
	start_only_get(started, &r->in_force);
	r->socket = fd_strdup(started->socket);
	pthread_barrier_init(&r->started, NULL, 2);
	pthread_create(&r->tid, NULL, reload_main, r);
	/* back once reload_main has set the first generation's stack */
	pthread_barrier_wait(&r->started);
	return r;
}

/* fd_reloader_free - the thread wakes to SIGUSR1 and sees it is to stop */
void
fd_reloader_free(struct fd_reloader *r)
{
	__atomic_store_n(&r->stopping, 1, __ATOMIC_RELEASE);
	pthread_kill(r->tid, SIGUSR1);
	pthread_join(r->tid, NULL);
	pthread_barrier_destroy(&r->started);
	start_only_clear(&r->in_force);
	free(r->socket);
	free(r);
}
