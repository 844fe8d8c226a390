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
 * SIGTERM and SIGINT as "stop"; sigwait.c takes SIGHUP out of what it
 * waits for. SIGHUP and SIGUSR1 reload, handled by a thread of ours
 * that waits for them (reload.c); SIGTERM and SIGINT stop cleanly
 * through libmilter.
 */
#include "config.h"

#include <sys/types.h>

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
#include "notify.h"
#include "pidfile.h"
#include "privs.h"
#include "reload.h"
#include "store.h"

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
	    "  -T file   read the time from file (testing; with -f or -t)\n"
	    "  -V        print the version and plugin ABI\n"
	    "  -h        this help\n"
	    "Signals: SIGHUP or SIGUSR1 reloads the configuration; SIGTERM "
	    "stops.\n",
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

/*
 * user_warn - -t is not an error for a user that cannot become `user`
 * (an admin checks the file as anyone), but a start as that user would
 * stop there: say so, at the directive
 */
static void
user_warn(const struct fd_conf *conf, const struct fd_run_ids *ids)
{
	struct fd_errs	 warns = { 0 };

	if (!ids->set || geteuid() == 0)
		return;
	if (geteuid() != ids->uid)
		fd_errs_add(&warns, &conf->user_loc, "warning: user %s: started "
		    "as uid %u, filterd could not become it; start it as root "
		    "or as %s", conf->user, (unsigned)geteuid(), conf->user);
	else if (conf->group != NULL && getegid() != ids->gid)
		fd_errs_add(&warns, &conf->group_loc, "warning: group %s: "
		    "started as gid %u, filterd could not become it; start it "
		    "as root or with that group", conf->group,
		    (unsigned)getegid());
	print_errs(&warns);
	fd_errs_clear(&warns);
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
	user_warn(gen->conf, &ids);
	print_errs(&gen->conf->warns);
	fd_gen_unref(gen);
	printf("%s: configuration OK\n", d->conf_path);
	return 0;
}

/*
 * wait_sessions - smfi_main returns without waiting for conversations in
 * progress; once fd_daemon_stop turned later callbacks away, give a
 * callback still running ten seconds before plugins' fini pulls their
 * state away. How many are still running then: their
 * threads may still be inside a plugin (a store call that has not timed
 * out yet), so the caller must leave the daemon's state in place for
 * them rather than free it. A connection waiting for its MTA's next
 * command is not waited for: libmilter will not serve it again.
 */
static int
wait_sessions(struct fd_daemon *d)
{
	int	 i, n;

	for (i = 0; (n = fd_daemon_busy(d)) > 0 && i < 100; i++)
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
		fprintf(stderr, "filterd: -T is for tests and needs -f or -t\n");
		return -1;
	}
	return 0;
}

/* serve_setup - bind, detach, open the store, write the pidfile, drop
 * privileges; -1 with a log line */
static int
serve_setup(struct fd_daemon *d, const struct opts *o,
    const struct fd_conf *conf, const struct fd_run_ids *ids, int *report)
{
	if (fd_milter_setup(d, conf) < 0)
		return -1;
	if (!o->foreground && fd_detach(report) < 0) {
		fd_log_err("cannot detach");
		return -1;
	}
	fd_log_open(o->foreground ? FD_LOGT_STDERR : conf->log_target,
	    conf->log_facility, conf->log_level);
	if ((d->store = fd_privs_open_store(d, conf, ids)) == NULL ||
	    fd_pidfile_write(conf->pidfile, d->pid_held, ids) < 0 ||
	    fd_privs_drop(conf, ids) < 0)
		return -1;
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
	print_errs(&conf->warns);
	/* until it detaches, what goes wrong goes to the terminal, whatever
	 * the configured log target; one that cannot become `user` says so
	 * before it binds or writes a pidfile (filterd -t, which an admin
	 * may run as anyone, only warns: user_warn) */
	if (ids.set && geteuid() != 0 && geteuid() != ids.uid) {
		fd_log_errx("cannot become user %s: not running as root",
		    conf->user);
		return EX_UNAVAILABLE;
	}
	if (ids.set && geteuid() != 0 && conf->group != NULL &&
	    getegid() != ids.gid) {
		fd_log_errx("cannot become group %s: not running as root",
		    conf->group);
		return EX_UNAVAILABLE;
	}
	if (fd_pidfile_lock(conf->pidfile, &ids, &d->pid_held) < 0)
		return EX_UNAVAILABLE;
	if (serve_setup(d, o, conf, &ids, report) < 0) {
		/* no daemon runs: no pidfile says one does */
		(void)fd_pidfile_remove(conf->pidfile, d->pid_held);
		d->pid_held = -1;
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
	struct fd_reloader	*r;
	sigset_t		 set;
	char			*pidfile = NULL;
	int			 rc, live, idle, report = -1;

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
	 * inherits the mask: SIGHUP and SIGUSR1 are waited for by our
	 * reload thread, SIGTERM and SIGINT by libmilter's signal thread.
	 * A thread started earlier with them unblocked (the store's
	 * sweeper, the reloader) would otherwise take SIGTERM and kill the
	 * process.
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
	/* libmilter's threads, started below, get the configured stack */
	r = fd_reloader_new(d, gen->conf, o.foreground);
	fd_log(FD_LOG_NOTICE, "filterd %s started on %s (generation %llu)",
	    PACKAGE_VERSION, gen->conf->socket,
	    (unsigned long long)gen->serial);
	fd_notify_ready(gen->conf->socket, (unsigned long long)gen->serial);
	fd_gen_unref(gen);
	rc = fd_milter_run();
	fd_notify_stopping();
	/* before the line: from "stopping" on, callbacks are turned away */
	fd_daemon_stop(d);
	fd_log(FD_LOG_NOTICE, "stopping");
	fd_reloader_free(r);
	live = wait_sessions(d);
	if (fd_pidfile_remove(pidfile, d->pid_held) < 0)
		fd_log_warn("pidfile %s", pidfile);
	d->pid_held = -1;
	free(pidfile);
	if (live > 0) {
		fd_log(FD_LOG_WARN, "%d connection%s still open after 10s; "
		    "not waiting longer", live, live == 1 ? "" : "s");
		return rc == 0 ? 0 : EX_UNAVAILABLE;
	}
	if ((idle = fd_daemon_close(d)) > 0)
		fd_log(FD_LOG_NOTICE, "%d idle connection%s closed", idle,
		    idle == 1 ? "" : "s");
	/* d itself is not freed: libmilter's threads are never joined,
	 * and a callback one of them still makes must find the stop in
	 * it (fd_daemon_enter) */
	return rc == 0 ? 0 : EX_UNAVAILABLE;
}
