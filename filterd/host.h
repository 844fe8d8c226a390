/*
 * host.h -- the host table handed to each loaded plugin
 *
 * Each plugin of a generation gets its own struct fd_host whose priv
 * points back at its fd_loaded, so host functions know which plugin
 * calls (for log prefixes, conf errors, the failure policy) without a
 * global.
 */
#ifndef FD_HOST_H
#define FD_HOST_H

#include "filterd/plugin.h"

struct fd_loaded;
struct fd_errs;

/* fd_host_init - fill h for plugin l; conf_error writes to l->gen->errs
 * while the generation is built, to the log afterwards */
void	 fd_host_init(struct fd_host *h, struct fd_loaded *l);

#endif
