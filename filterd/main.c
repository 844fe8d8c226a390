/*
 * main.c -- filterd: command line, startup, signals
 *
 * Startup order matters: parse and check everything (config, plugins)
 * while errors can still go to the terminal; bind the milter socket
 * while we may still be root; detach; open the store (LMDB must not
 * cross a fork); write the pidfile and drop privileges (privs.c); only
 * then serve.
 *
 * Signals. libmilter runs its own signal thread, which treats SIGHUP,
 * SIGTERM and SIGINT as "stop". filterd therefore reloads on SIGUSR1
 * (as OpenDKIM does), handled by a thread of ours that waits for it with
 * sigwait(); SIGTERM and SIGINT stop cleanly through libmilter.
 */
#include "config.h"

#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "daemon.h"
#include "detach.h"
#include "exits.h"
#include "gen.h"
#include "log.h"
#include "milter.h"
#include "pidfile.h"
#include "privs.h"
#include "store.h"
#include "xalloc.h"

#ifndef FD_SYSCONFDIR
#define FD_SYSCONFDIR	"/etc"
#endif

struct opts {
	const char	*conf;
	const char	*clock_file;
	int		 foreground;
	int		 check;
};

static void
usage(FILE *fp)
{
	fprintf(fp,
	    "usage: filterd [-ft] [-c file] [-T clockfile]\n"
	    "       filterd -V | -h\n"
	    "  -c file   configuration file (default %s/filterd/filterd.conf)\n"
	    "  -f        stay in the foreground and log to stderr\n"
	    "  -t        check the configuration and plugins, then exit\n"
	    "  -T file   read the time from file (testing; needs -f)\n"
	    "  -V        print the version and plugin ABI\n"
	    "  -h        this help\n"
	    "Signals: SIGUSR1 reloads the configuration; SIGTERM stops.\n",
	    FD_SYSCONFDIR);
}

/* print_errs - every located message, to stderr and the log target */
static void
print_errs(const struct fd_errs *errs)
{
	size_t	 i;

	for (i = 0; i < errs->n; i++)
		fprintf(stderr, "%s\n", errs->msg[i]);
}

/* check_only - filterd -t: the whole load path, nothing opened */
static int
check_only(struct fd_daemon *d)
{
	struct fd_errs		 errs = { 0 };
	struct fd_conf		*conf;
	struct fd_gen		*gen = NULL;
	struct fd_run_ids	 ids;

	if ((conf = fd_conf_load(d->conf_path, &errs)) != NULL &&
	    fd_store_check(conf, &errs) == 0)
		gen = fd_gen_new(d, conf, 1, &errs);
	else
		fd_conf_free(conf);
	if (gen != NULL)
		(void)fd_run_ids_get(gen->conf, &ids, &errs);
	if (gen == NULL || errs.n > 0) {
		print_errs(&errs);
		fd_errs_clear(&errs);
		if (gen != NULL)
			fd_gen_unref(gen);
		return EX_CONFIG;
	}
	fd_gen_unref(gen);
	printf("%s: configuration OK\n", d->conf_path);
	return 0;
}

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

struct reloader {
	struct fd_daemon	*d;
	pthread_t		 tid;
	pthread_barrier_t	 started;	/* the first stack is set */
	int			 stopping;
	int			 foreground;	/* -f: logging to stderr */
	struct start_only	 in_force;	/* as started */
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
 * SIGUSR1 and build a new generation each time. Every set_stack() runs
 * in this thread, so a reload's stack cannot be overtaken by the first
 * one's; the thread itself was started before any, with the system's
 * stack, which building a whole configuration may need.
 */
static void *
reload_main(void *arg)
{
	struct reloader	*r = arg;
	struct fd_errs	 errs = { 0 };
	struct fd_gen	*old, *cur;
	sigset_t	 set;
	size_t		 i;
	int		 sig;

	cur = fd_daemon_acquire(r->d);
	set_stack(cur->conf);
	fd_gen_unref(cur);
	pthread_barrier_wait(&r->started);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	for (;;) {
		if (sigwait(&set, &sig) != 0 ||
		    __atomic_load_n(&r->stopping, __ATOMIC_ACQUIRE))
			break;
		old = fd_daemon_acquire(r->d);
		if (fd_daemon_load(r->d, &errs) < 0) {
			for (i = 0; i < errs.n; i++)
				fd_log(FD_LOG_ERR, "%s", errs.msg[i]);
			fd_log(FD_LOG_ERR, "reload failed; generation %llu "
			    "stays in force", (unsigned long long)old->serial);
		} else {
			cur = fd_daemon_acquire(r->d);
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
	}
	return NULL;
}

/*
 * wait_sessions - smfi_main returns without waiting for conversations in
 * progress; give them ten seconds before plugins' fini pulls their state
 * away. How many are still open then: their threads may still be inside
 * a plugin (a store call that has not timed out yet), so the caller must
 * leave the daemon's state in place for them rather than free it.
 */
static int
wait_sessions(struct fd_daemon *d)
{
	int	 i, n;

	/* acquire: what a closing session did before its decrement (the
	 * last reference to a generation, a store connection put back)
	 * is seen before fd_daemon_free touches it */
	for (i = 0; (n = __atomic_load_n(&d->live, __ATOMIC_ACQUIRE)) > 0 &&
	    i < 100; i++)
		usleep(100000);
	return n;
}

static int
parse_opts(int argc, char **argv, struct opts *o)
{
	int	 ch;

	o->conf = FD_SYSCONFDIR "/filterd/filterd.conf";
	while ((ch = getopt(argc, argv, "c:fhtT:V")) != -1) {
		switch (ch) {
		case 'c':
			o->conf = optarg;
			break;
		case 'f':
			o->foreground = 1;
			break;
		case 't':
			o->check = 1;
			break;
		case 'T':
			o->clock_file = optarg;
			break;
		case 'V':
			printf("filterd %s (plugin ABI %d.%d)\n", PACKAGE_VERSION,
			    FD_PLUGIN_ABI_MAJOR, FD_PLUGIN_ABI_MINOR);
			exit(0);
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -1;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return -1;
	}
	if (o->clock_file != NULL && !o->foreground && !o->check) {
		fprintf(stderr, "filterd: -T is for tests and needs -f\n");
		return -1;
	}
	return 0;
}

/* start - everything up to serving; an exit code, 0 to serve. Detached,
 * *report is where the parent waits for that code. */
static int
start(struct fd_daemon *d, const struct opts *o, int *report)
{
	struct fd_errs		 errs = { 0 };
	const struct fd_conf	*conf;
	struct fd_run_ids	 ids;

	if (fd_daemon_load(d, &errs) < 0 ||
	    fd_run_ids_get(d->current->conf, &ids, &errs) < 0) {
		print_errs(&errs);
		fd_errs_clear(&errs);
		return EX_CONFIG;
	}
	conf = d->current->conf;
	/* until it detaches, what goes wrong goes to the terminal, whatever
	 * the configured log target; one that cannot become `user` says so
	 * before it binds or writes a pidfile (filterd -t, which an admin
	 * may run as anyone, does not ask) */
	if (ids.set && geteuid() != 0 && geteuid() != ids.uid) {
		fd_log_warnx("cannot become user %s: not running as root",
		    conf->user);
		return EX_UNAVAILABLE;
	}
	if (fd_milter_setup(d, conf) < 0)
		return EX_UNAVAILABLE;
	if (!o->foreground && fd_detach(report) < 0) {
		fd_log_warn("cannot detach");
		return EX_UNAVAILABLE;
	}
	fd_log_open(o->foreground ? FD_LOGT_STDERR : conf->log_target,
	    conf->log_facility, conf->log_level);
	if ((d->store = fd_privs_open_store(d, conf, &ids)) == NULL)
		return EX_UNAVAILABLE;
	if (fd_pidfile_write(conf->pidfile, &ids) < 0)
		return EX_UNAVAILABLE;
	if (fd_privs_drop(conf, &ids) < 0) {
		/* no daemon runs: no pidfile says one does */
		(void)fd_pidfile_remove(conf->pidfile);
		return EX_UNAVAILABLE;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	struct opts		 o = { 0 };
	struct fd_daemon	*d;
	struct fd_gen		*gen;
	struct reloader		 r = { 0 };
	sigset_t		 set;
	char			*pidfile = NULL;
	int			 rc, live, report = -1;

	if (parse_opts(argc, argv, &o) < 0)
		return EX_USAGE;
	d = fd_daemon_new(o.conf);
	if (o.clock_file != NULL)
		fd_clock_use_file(&d->clock, o.clock_file);
	if (o.check) {
		rc = check_only(d);
		fd_daemon_free(d);
		return rc;
	}
	fd_log_open(FD_LOGT_STDERR, 0, FD_LOG_INFO);
	signal(SIGPIPE, SIG_IGN);
	/*
	 * Block the signals before any thread exists so that every thread
	 * inherits the mask: SIGUSR1 is waited for by our reload thread,
	 * SIGHUP, SIGTERM and SIGINT by libmilter's signal thread. A thread
	 * started earlier with them unblocked (the store's sweeper, the
	 * reloader) would otherwise take SIGTERM and kill the process.
	 */
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	rc = start(d, &o, &report);
	fd_detach_done(report, rc, rc == 0 &&
	    d->current->conf->log_target == FD_LOGT_STDERR);
	if (rc != 0) {
		fd_daemon_free(d);
		return rc;
	}
	/* pinned: once the reloader runs, a reload may replace it */
	gen = fd_daemon_acquire(d);
	if (gen->conf->pidfile != NULL)
		pidfile = strdup(gen->conf->pidfile);
	r.d = d;
	r.foreground = o.foreground;
	start_only_get(gen->conf, &r.in_force);
	pthread_barrier_init(&r.started, NULL, 2);
	pthread_create(&r.tid, NULL, reload_main, &r);
	/* libmilter's threads, started below, get the configured stack */
	pthread_barrier_wait(&r.started);
	fd_log(FD_LOG_NOTICE, "filterd %s started on %s (generation %llu)",
	    PACKAGE_VERSION, gen->conf->socket,
	    (unsigned long long)gen->serial);
	fd_gen_unref(gen);
	rc = fd_milter_run();
	fd_log(FD_LOG_NOTICE, "stopping");
	__atomic_store_n(&r.stopping, 1, __ATOMIC_RELEASE);
	pthread_kill(r.tid, SIGUSR1);
	pthread_join(r.tid, NULL);
	pthread_barrier_destroy(&r.started);
	start_only_clear(&r.in_force);
	live = wait_sessions(d);
	if (fd_pidfile_remove(pidfile) < 0)
		fd_log_warn("pidfile %s", pidfile);
	free(pidfile);
	if (live > 0)
		fd_log(FD_LOG_WARN, "%d connection%s still open after 10s; "
		    "not waiting longer", live, live == 1 ? "" : "s");
	else
		fd_daemon_free(d);
	return rc == 0 ? 0 : EX_UNAVAILABLE;
}
