/*
 * helo_conf.h -- the `plugin helo { ... }` block, parsed into a policy
 *
 * helo_conf_new() walks the block through the host's directive accessors,
 * starting from helo_policy_defaults(), and reports every problem it finds
 * with host->conf_error (file:line:col) before it gives up. The result is
 * owned by the plugin state of one configuration generation and never
 * changes afterwards. The generic patterns are compiled here, with the
 * host's regexes, so a bad pattern stops the (re)load, not a connection.
 */
#ifndef HELO_CONF_H
#define HELO_CONF_H

#include <filterd/plugin.h>

#include "helo_check.h"

struct helo_conf {
	struct helo_policy pol;
	const struct fd_host *host;
	struct fd_regex	**generic;	/* compiled generic patterns */
	size_t		 ngeneric;
	char		*generic_path;	/* as resolved, for logs */
	/* where `resolver` was written, to report an unusable server; only
	 * valid during init() */
	const struct fd_directive *resolver_dir;
};

/* helo_conf_new - the policy of block, or NULL after conf_error calls */
struct helo_conf *helo_conf_new(const struct fd_host *,
		    const struct fd_block *);
/* helo_conf_free - returns NULL */
struct helo_conf *helo_conf_free(struct helo_conf *);

#endif
