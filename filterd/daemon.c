/*
 * daemon.c -- the current generation and reload, see daemon.h
 */
#include "config.h"

#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

#include "conf.h"
#include "daemon.h"
#include "gen.h"
#include "log.h"
#include "store.h"
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
	return fd_asprintf("%s/%s", cwd, p);
}

struct fd_daemon *
fd_daemon_new(const char *conf_path)
{
	struct fd_daemon	*d = fd_calloc(1, sizeof(*d));

	d->conf_path = abs_path(conf_path);
	pthread_mutex_init(&d->lock, NULL);
	return d;
}

struct fd_daemon *
fd_daemon_free(struct fd_daemon *d)
{
	if (d == NULL)
		return NULL;
	if (d->current != NULL)
		fd_gen_unref(d->current);
	d->store = fd_store_free(d->store);
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
 */
int
fd_daemon_load(struct fd_daemon *d, struct fd_errs *errs)
{
	struct fd_conf	*conf;
	struct fd_gen	*gen, *old;
	uint64_t	 serial;

	if ((conf = fd_conf_load(d->conf_path, errs)) == NULL)
		return -1;
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
