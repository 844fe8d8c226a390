/*
 * example.c -- a small filterd plugin, the starting point for your own
 *
 * It refuses configured recipients at RCPT with a configured reply, and
 * counts the recipients it has seen on each connection to show the
 * per-connection slot. Configuration:
 *
 *	plugin example {
 *		reject-rcpt "trap@example.com" "old@example.com";
 *		reply 550 5.1.1 "No such user here";
 *	}
 *
 * Build it out of tree against an installed filterd:
 *	cc -shared -fPIC $(pkg-config --cflags filterd-plugin) \
 *	    -o example.so example.c
 * The plugin links against nothing of filterd's: everything comes
 * through the host table handed to init().
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <filterd/plugin.h>

struct ex_state {
	const struct fd_host	*host;
	char			**rcpts;	/* refused recipients */
	int			 nrcpts;
	char			 rcode[4];
	char			 xcode[16];
	char			*text;
};

struct ex_conn {
	unsigned		 seen;		/* recipients on this connection */
};

/* ex_free - release the state; safe on a half-built one */
static void
ex_free(struct ex_state *st)
{
	int	 i;

	if (st == NULL)
		return;
	for (i = 0; i < st->nrcpts; i++)
		free(st->rcpts[i]);
	free(st->rcpts);
	free(st->text);
	free(st);
}

/* ex_reply - `reply CODE XCODE "text"` */
static int
ex_reply(const struct fd_host *h, const struct fd_directive *d,
    struct ex_state *st)
{
	const char	*code, *xcode;

	if (h->dir_argc(d) != 3) {
		h->conf_error(h, d, -1, "reply: expected CODE XCODE \"text\"");
		return -1;
	}
	code = h->dir_arg(d, 0);
	xcode = h->dir_arg(d, 1);
	if (strlen(code) != 3 || (code[0] != '4' && code[0] != '5')) {
		h->conf_error(h, d, 0, "reply: %s is not a 4xx or 5xx code", code);
		return -1;
	}
	if (xcode[0] != code[0] || strlen(xcode) >= sizeof(st->xcode)) {
		h->conf_error(h, d, 1, "reply: enhanced code %s does not "
		    "match %s", xcode, code);
		return -1;
	}
	memcpy(st->rcode, code, 4);
	strcpy(st->xcode, xcode);
	free(st->text);
	st->text = strdup(h->dir_arg(d, 2));
	return 0;
}

/* the block's directives; a mistyped one is answered with the closest */
static const char *const known[] = { "reject-rcpt", "reply", NULL };

static int
ex_init(const struct fd_host *h, const struct fd_block *b, void **state)
{
	const struct fd_directive	*d;
	struct ex_state			*st;
	int				 i, n, rc = 0;

	if ((st = calloc(1, sizeof(*st))) == NULL)
		return -1;
	st->host = h;
	strcpy(st->rcode, "550");
	strcpy(st->xcode, "5.1.1");
	st->text = strdup("Recipient refused by policy");
	for (d = h->dir_next(b, NULL); d != NULL; d = h->dir_next(b, d)) {
		if (strcmp(h->dir_name(d), "reject-rcpt") == 0) {
			n = h->dir_argc(d);
			st->rcpts = realloc(st->rcpts,
			    sizeof(*st->rcpts) * (size_t)(st->nrcpts + n));
			for (i = 0; i < n; i++)
				st->rcpts[st->nrcpts++] = strdup(h->dir_arg(d, i));
		} else if (strcmp(h->dir_name(d), "reply") == 0) {
			if (ex_reply(h, d, st) < 0)
				rc = -1;
		} else {
			h->conf_unknown(h, d, known);
			rc = -1;
		}
	}
	if (rc < 0) {
		ex_free(st);
		return -1;
	}
	*state = st;
	return 0;
}

static void
ex_fini(void *state)
{
	ex_free(state);
}

static enum fd_action
ex_rcpt(struct fd_txn *t, void *state, void *conn, void *msg)
{
	const struct ex_state	*st = state;
	const struct fd_host	*h = st->host;
	struct ex_conn		*c = conn;
	const char		*rcpt = h->get(t, FD_F_RCPT);
	int			 i;

	(void)msg;		/* no per-message slot: msg_priv_size is 0 */
	c->seen++;
	for (i = 0; rcpt != NULL && i < st->nrcpts; i++) {
		if (strcasecmp(rcpt, st->rcpts[i]) == 0) {
			h->reply(t, st->rcode, st->xcode, "%s", st->text);
			h->reason(t, "listed recipient (%u on this connection)",
			    c->seen);
			return st->rcode[0] == '5' ? FD_REJECT : FD_TEMPFAIL;
		}
	}
	return FD_CONTINUE;
}

FD_PLUGIN_EXPORT = {
	FD_PLUGIN_HEADER,
	.name = "example",
	.version = "1.0",
	.stages = FD_ST_RCPT,
	.conn_priv_size = sizeof(struct ex_conn),
	.init = ex_init,
	.fini = ex_fini,
	.on_rcpt = ex_rcpt,
};
