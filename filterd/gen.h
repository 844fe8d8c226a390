/*
 * gen.h -- a configuration generation: conf, loaded plugins, their state
 *
 * Everything a connection decides with is reached from one fd_gen: the
 * parsed conf (rules and tables included), the loaded plugins with the
 * state their init() built, and the host table they were given. A
 * generation is immutable once built and reference counted: each
 * connection takes a reference at connect and drops it at close, and a
 * reload builds a complete new generation and swaps it in only when every
 * step succeeded. The old one is freed (plugins' fini, dlclose) when its
 * last connection closes.
 */
#ifndef FD_GEN_H
#define FD_GEN_H

#include <pthread.h>
#include <stdint.h>

#include "filterd/plugin.h"
#include "errs.h"

struct fd_conf;
struct fd_daemon;
struct fd_plugin_lib;

/* a plugin as loaded into one generation */
struct fd_loaded {
	const struct fd_plugin	*p;		/* inside lib */
	struct fd_plugin_lib	*lib;		/* dlopen handle, owned */
	void			*state;		/* from init() */
	uint32_t		 declared;	/* the plugin's `stages` */
	uint32_t		 stages;	/* of those, used in this generation */
	uint32_t		 decides;	/* of declared, where it may answer */
	struct fd_host		 host;		/* this plugin's host table */
	int			 index;		/* position in the conf */
	int			 on_store_error;	/* enum fd_fail_policy */
	int64_t			 fail_logged;	/* rate limit for failure logs */
	const struct fd_plugin_conf *conf;
	char			*dir;		/* of the file declaring it */
	char			*macros[7];	/* want_macros, per SMFIM_* */
	struct fd_gen		*gen;		/* back pointer for host calls */
};

struct fd_gen {
	uint64_t		 serial;	/* 1, 2, ... per reload */
	int			 refs;		/* atomic */
	struct fd_conf		*conf;		/* owned */
	struct fd_daemon	*daemon;	/* store, clock: outlive gens */
	unsigned		 nplugins;
	struct fd_loaded	*plugins;	/* conf order */
	uint32_t		 stages;	/* rules' | plugins' FD_ST_* */
	uint32_t		 decides;	/* of stages, where one may answer */
	uint32_t		 flags;		/* plugins' FD_PF_* */
	char			*symlist[7];	/* macros asked for per SMFIM_* */
	char			*symnames[7];	/* the same as NUL-ended names,
						 * then an empty one */
	struct fd_errs		*errs;		/* while building, else NULL */
};

/* fd_gen_new - load plugins for conf (taken) and init them; NULL with
 * every problem in errs (the conf is freed then) */
struct fd_gen	*fd_gen_new(struct fd_daemon *, struct fd_conf *conf,
		    uint64_t serial, struct fd_errs *errs);
/* fd_gen_ref / fd_gen_unref - pin and release; the last unref frees */
struct fd_gen	*fd_gen_ref(struct fd_gen *);
void		 fd_gen_unref(struct fd_gen *);

#endif
