/*
 * welcome.c -- a plugin that accepts one client at CONNECT, for the test
 * that such an accept covers the connection when delay-reject leaves
 * CONNECT unanswered (tests/integ/check_rule_actions.c).
 *
 *	plugin welcome path "tests/plugins/.libs/welcome.so" {
 *		client 192.0.2.50
 *	}
 */
#include <stdlib.h>
#include <string.h>

#include <filterd/plugin.h>

struct wl_state {
	const struct fd_host	*host;
	char			*client;
};

static int
wl_init(const struct fd_host *h, const struct fd_block *b, void **state)
{
	const struct fd_directive	*d;
	struct wl_state			*st;

	if ((st = calloc(1, sizeof(*st))) == NULL)
		return -1;
	st->host = h;
	for (d = h->dir_next(b, NULL); d != NULL; d = h->dir_next(b, d)) {
		if (strcmp(h->dir_name(d), "client") != 0 ||
		    h->dir_argc(d) != 1) {
			h->conf_error(h, d, -1, "expected: client ADDRESS");
			free(st->client);
			free(st);
			return -1;
		}
		free(st->client);
		st->client = strdup(h->dir_arg(d, 0));
	}
	*state = st;
	return 0;
}

static void
wl_fini(void *state)
{
	struct wl_state	*st = state;

	free(st->client);
	free(st);
}

static enum fd_action
wl_connect(struct fd_txn *t, void *state, void *conn)
{
	const struct wl_state	*st = state;
	const char		*ip = st->host->get(t, FD_F_CLIENT_ADDR);

	(void)conn;
	if (st->client == NULL || ip == NULL || strcmp(ip, st->client) != 0)
		return FD_CONTINUE;
	st->host->reason(t, "welcome client");
	return FD_ACCEPT;
}

FD_PLUGIN_EXPORT = {
	FD_PLUGIN_HEADER,
	.name = "welcome",
	.version = "1.0",
	.stages = FD_ST_CONNECT,
	.init = wl_init,
	.fini = wl_fini,
	.on_connect = wl_connect,
};
