/*
 * grey_conf.h -- the greylist plugin's configuration
 *
 * Parsed from the `plugin greylist { ... }` block through the host table
 * at init (once per configuration generation), then only read, from
 * every milter thread. docs/PLUGIN-GREYLIST.md describes each directive;
 * grey_conf.c holds their defaults and checks. Every problem is reported
 * at its file:line:col through host->conf_error, and all of them are
 * reported, not just the first.
 */
#ifndef GREY_CONF_H
#define GREY_CONF_H

#include <stddef.h>
#include <stdint.h>

#include <filterd/plugin.h>

#include "grey_client.h"
#include "grey_table.h"

struct grey_suffix;

struct grey_conf {
	const struct fd_host	*host;

	int64_t			 delay;		/* delay */
	int64_t			 retry_window;	/* retry-window */
	int64_t			 pass_ttl;	/* whitelist-for */
	uint32_t		 awl_after;	/* auto-whitelist N; 0 off */
	int64_t			 awl_ttl;	/* auto-whitelist N DURATION */
	int			 awl_per_domain;

	int			 decide_eom;	/* decide-at eom */
	int			 null_eom;	/* null-sender eom */
	int			 body_hash;	/* body-hash on */
	size_t			 body_max;	/* body-hash on SIZE */
	int			 header;	/* header on */
	char			*message;	/* message "..." (owned) */

	unsigned		 norm;		/* normalize: GREY_N_* */
	char			 delims[16];	/* subaddress-delimiters */
	int			 skip_auth;	/* skip-authenticated */
	int			 skip_local;	/* skip-local */

	struct grey_client_conf	 client;	/* points into what follows */
	struct grey_pools	 pools;
	struct grey_suffix	*psl;		/* public-suffixes; NULL built-in */

	struct grey_nets	 wl_nets;	/* whitelist-networks */
	struct grey_names	 wl_domains;	/* whitelist-domains */
	struct grey_names	 wl_senders;	/* whitelist-senders */
	struct grey_names	 wl_rcpts;	/* whitelist-recipients */
};

/* grey_conf_load - defaults, then the block; 0, or -1 after reporting
 * every problem through h->conf_error. Clear c even after a failure. */
int	 grey_conf_load(struct grey_conf *c, const struct fd_host *h,
	    const struct fd_block *b);
/* grey_conf_clear - release what c owns */
void	 grey_conf_clear(struct grey_conf *c);

#endif
