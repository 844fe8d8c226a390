/*
 * gen.c -- build, pin and free configuration generations, see gen.h
 */
#include "config.h"

#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "daemon.h"
#include "gen.h"
#include "host.h"
#include "log.h"
#include "milter.h"
#include "path.h"
#include "plugin_load.h"
#include "rule.h"
#include "xalloc.h"

/* plugin_path - where plugin pc lives: its own path, or plugin-dir/NAME.so */
static char *
plugin_path(const struct fd_conf *conf, const struct fd_plugin_conf *pc)
{
	if (pc->path == NULL)
		return fd_asprintf("%s/%s.so", conf->plugin_dir, pc->name);
	if (pc->path[0] == '/' || conf->dir == NULL)
		return fd_strdup(pc->path);
	return fd_path_join(conf->dir, strlen(conf->dir), pc->path);
}

/* decl_dir - directory of the file that declared the plugin */
static char *
decl_dir(const struct fd_plugin_conf *pc)
{
	char	*copy, *dir;

	if (pc->loc.file == NULL)
		return fd_strdup(".");
	copy = fd_strdup(pc->loc.file);
	dir = fd_strdup(dirname(copy));
	free(copy);
	return dir;
}

/* load_one - open, check the name, init; 0 or -1 with errs */
static int
load_one(struct fd_gen *gen, struct fd_loaded *l,
    const struct fd_plugin_conf *pc, struct fd_errs *errs)
{
	const struct fd_plugin	*p;
	char			*path = plugin_path(gen->conf, pc);
	size_t			 before = errs->n;
	unsigned		 i;

	l->lib = fd_plugin_lib_open(path, &pc->file_loc, errs);
	free(path);
	if (l->lib == NULL)
		return -1;
	p = fd_plugin_lib_desc(l->lib);
	if (strcmp(p->name, pc->name) != 0) {
		fd_errs_add(errs, &pc->loc, "plugin %s: the file holds plugin "
		    "\"%s\"", pc->name, p->name);
		return -1;
	}
	for (i = 0; i < (unsigned)l->index; i++) {
		if (gen->plugins[i].p != NULL &&
		    strcmp(gen->plugins[i].p->name, p->name) == 0) {
			fd_errs_add(errs, &pc->loc, "plugin %s: already loaded",
			    pc->name);
			return -1;
		}
	}
	/* l->p is set only once init succeeded: gen_free calls fini then */
	fd_host_init(&l->host, l);
	l->dir = decl_dir(pc);
	l->declared = l->stages = l->decides = p->stages;
	l->on_store_error = pc->on_store_error >= 0 ?
	    pc->on_store_error : (int)gen->conf->on_store_error;
	if (p->init != NULL && p->init(&l->host, pc->block, &l->state) < 0) {
		if (errs->n == before)
			fd_errs_add(errs, &pc->loc, "plugin %s: initialisation "
			    "failed", pc->name);
		return -1;
	}
	l->p = p;
	return 0;
}

/*
 * check_set - hand one rule's `set` to its plugin's check_set: a typo in
 * the parameter or its value is an error at its place, not a setting that
 * silently never applies
 */
static void
check_set(const struct fd_rule_set *s, void *arg)
{
	struct fd_gen		*gen = arg;
	const struct fd_loaded	*l;
	char			 why[256];
	int			 rc;

	if ((unsigned)s->plugin >= gen->nplugins)
		return;
	l = &gen->plugins[s->plugin];
	/* one that failed to load has said so already */
	if (l->p == NULL || l->p->check_set == NULL)
		return;
	why[0] = '\0';
	rc = l->p->check_set(l->state, s->param, s->value, why, sizeof(why));
	if (rc == FD_SET_BAD_PARAM)
		fd_errs_add(gen->errs, s->ploc, "set %s.%s: %s", l->p->name,
		    s->param, why[0] != '\0' ? why : "no such parameter");
	else if (rc != FD_SET_OK)
		fd_errs_add(gen->errs, s->vloc, "set %s.%s \"%s\": %s",
		    l->p->name, s->param, s->value, why[0] != '\0' ? why :
		    "bad value");
}

struct fd_gen *
fd_gen_new(struct fd_daemon *d, struct fd_conf *conf, uint64_t serial,
    struct fd_errs *errs)
{
	struct fd_gen		*gen = fd_calloc(1, sizeof(*gen));
	struct fd_plugin_conf	*pc;
	size_t			 before = errs->n;
	unsigned		 i, j;

	gen->serial = serial;
	gen->refs = 1;
	gen->conf = conf;
	gen->daemon = d;
	gen->errs = errs;
	gen->plugins = fd_calloc(conf->nplugins, sizeof(*gen->plugins));
	gen->stages = fd_rules_stages(conf->rules);
	gen->decides = fd_rules_decides(conf->rules);
	for (pc = conf->plugins, i = 0; pc != NULL; pc = pc->next, i++) {
		struct fd_loaded *l = &gen->plugins[i];

		l->index = (int)i;
		l->conf = pc;
		l->gen = gen;
		gen->nplugins = i + 1;
		if (load_one(gen, l, pc, errs) < 0)
			continue;
		gen->stages |= l->stages;
		gen->decides |= l->stages & l->decides;
		gen->flags |= l->p->flags;
	}
	/* in dry-run nothing is acted on: nobody answers the MTA */
	if (conf->dry_run)
		gen->decides = 0;
	fd_rules_sets(conf->rules, check_set, gen);
	gen->errs = NULL;
	for (i = 0; i < 7; i++) {
		gen->symlist[i] = fd_milter_symlist(conf, (int)i);
		for (j = 0; j < gen->nplugins; j++)
			gen->symlist[i] = fd_milter_symlist_add(gen->symlist[i],
			    gen->plugins[j].macros[i]);
		gen->symnames[i] = fd_milter_symnames(gen->symlist[i]);
	}
	if (errs->n > before) {
		fd_gen_unref(gen);
		return NULL;
	}
	return gen;
}

struct fd_gen *
fd_gen_ref(struct fd_gen *gen)
{
	__atomic_add_fetch(&gen->refs, 1, __ATOMIC_ACQ_REL);
	return gen;
}

/* gen_free - plugins' fini in reverse order, then unload, then the conf */
static void
gen_free(struct fd_gen *gen)
{
	unsigned	 i, j;

	for (i = gen->nplugins; i-- > 0;) {
		struct fd_loaded *l = &gen->plugins[i];

		if (l->p != NULL && l->p->fini != NULL)
			l->p->fini(l->state);
		l->lib = fd_plugin_lib_close(l->lib);
		free(l->dir);
		for (j = 0; j < 7; j++)
			free(l->macros[j]);
	}
	for (i = 0; i < 7; i++) {
		free(gen->symlist[i]);
		free(gen->symnames[i]);
	}
	free(gen->plugins);
	fd_conf_free(gen->conf);
	free(gen);
}

void
fd_gen_unref(struct fd_gen *gen)
{
	if (gen != NULL && __atomic_sub_fetch(&gen->refs, 1,
	    __ATOMIC_ACQ_REL) == 0)
		gen_free(gen);
}
