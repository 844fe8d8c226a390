/*
 * welcome.c -- a plugin that decides one client before MAIL, for the
 * tests of connection-wide decisions (tests/integ/check_rule_actions.c):
 * it accepts one client at CONNECT (such an accept covers the connection
 * when delay-reject leaves CONNECT unanswered), and discards the messages
 * of another, decided at HELO.
 *
 *	plugin welcome path "tests/plugins/.libs/welcome.so" {
 *		client 192.0.2.50
 *		discard 192.0.2.60
 *	}
 */
#include <stdlib.h>
#include <string.h>

#include <filterd/plugin.h>

struct wl_state {
	const struct fd_host	*host;
	char			*client;	/* accepted at CONNECT */
	char			*discard;	/* discarded, from HELO on */
};

static void
wl_free(struct wl_state *st)
{
	free(st->client);
	free(st->discard);
	free(st);
}

static int
wl_init(const struct fd_host *h, const struct fd_block *b, void **state)
{
	const struct fd_directive	*d;
	struct wl_state			*st;
	char				**to;

	if ((st = calloc(1, sizeof(*st))) == NULL)
		return -1;
	st->host = h;
	for (d = h->dir_next(b, NULL); d != NULL; d = h->dir_next(b, d)) {
		if (strcmp(h->dir_name(d), "client") == 0)
			to = &st->client;
		else if (strcmp(h->dir_name(d), "discard") == 0)
			to = &st->discard;
		else
			to = NULL;
		if (to == NULL || h->dir_argc(d) != 1) {
			h->conf_error(h, d, -1, "expected: client ADDRESS, "
			    "or discard ADDRESS");
			wl_free(st);
			return -1;
		}
		free(*to);
		*to = strdup(h->dir_arg(d, 0));
	}
	/* HELO only for a client to discard */
	h->use_stages(h, FD_ST_CONNECT | (st->discard != NULL ? FD_ST_HELO : 0));
	*state = st;
	return 0;
}

static void
wl_fini(void *state)
{
	wl_free(state);
}

/* is - the client's address is addr */
static int
is(const struct wl_state *st, struct fd_txn *t, const char *addr)
{
	const char	*ip = st->host->get(t, FD_F_CLIENT_ADDR);

	return addr != NULL && ip != NULL && strcmp(ip, addr) == 0;
}

static enum fd_action
wl_connect(struct fd_txn *t, void *state, void *conn)
{
	const struct wl_state	*st = state;

	(void)conn;
	if (!is(st, t, st->client))
		return FD_CONTINUE;
	st->host->reason(t, "welcome client");
	return FD_ACCEPT;
}

static enum fd_action
wl_helo(struct fd_txn *t, void *state, void *conn)
{
	const struct wl_state	*st = state;

	(void)conn;
	if (!is(st, t, st->discard))
		return FD_CONTINUE;
	st->host->reason(t, "unwelcome client");
	return FD_DISCARD;
}

FD_PLUGIN_EXPORT = {
	FD_PLUGIN_HEADER,
	.name = "welcome",
	.version = "1.0",
	.stages = FD_ST_CONNECT | FD_ST_HELO,
	.init = wl_init,
	.fini = wl_fini,
	.on_connect = wl_connect,
	.on_helo = wl_helo,
};
