/*
 * greylist.c -- the greylist plugin: its table for the loader, and glue
 *
 * Greylisting (RFC 6647) defers the first message of an unknown
 * (client, sender, recipient) triplet with a temporary failure; a real
 * MTA retries after a while and passes, most spamware never does. The
 * parts live in their own files:
 *
 *   grey_addr.c     sender/recipient normalization (SRS, BATV, VERP, ...)
 *   grey_client.c   the client key: network prefix, rDNS domain, pools
 *   grey_suffix.c   registrable domains (built-in heuristic or PSL file)
 *   grey_table.c    networks, names, table files
 *   grey_key.c      the store keys
 *   grey_text.c     reply text, X-Greylist value, override values
 *   grey_conf.c     the configuration block
 *   grey_decide.c   the decision at RCPT or at end of message
 *
 * The plugin links against nothing of filterd's: everything comes through
 * the host table given to init(). Its state is the parsed configuration,
 * read-only once init() returns; per message it keeps a small slot (the
 * longest delay for the header, the body prefix for body-hash).
 *
 * Stages: RCPT decides by default; BODY feeds body-hash; EOM decides in
 * end-of-message mode and adds the X-Greylist header. init() narrows the
 * stages with host->use_stages so that the MTA sends no body unless
 * body-hash is on, and tells with host->decide_stages that in
 * end-of-message mode it answers at EOM only.
 */
#include <stdlib.h>

#include <filterd/plugin.h>

#include "grey_conf.h"
#include "grey_decide.h"

static int
gl_init(const struct fd_host *h, const struct fd_block *b, void **state)
{
	struct grey_conf	*c;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		h->log(h, FD_LOG_ERR, "out of memory");
		return -1;
	}
	if (grey_conf_load(c, h, b) < 0) {
		grey_conf_clear(c);
		free(c);
		return -1;
	}
	/* the body is read only for body-hash: don't ask the MTA for it */
	if (h->use_stages != NULL)
		h->use_stages(h, FD_ST_RCPT | FD_ST_EOM |
		    (c->body_hash ? FD_ST_BODY : 0));
	/*
	 * With decide-at eom RCPT only collects the recipients: the MTA
	 * need not wait there on our account. (A rule setting decide-at
	 * rcpt for one message then has its deferral held to end of
	 * message, when nothing else answers at RCPT.)
	 */
	if (FD_HOST_HAS(h, decide_stages))
		h->decide_stages(h, FD_ST_EOM |
		    (c->decide_eom ? 0 : FD_ST_RCPT));
	*state = c;
	return 0;
}

static void
gl_fini(void *state)
{
	struct grey_conf	*c = state;

	if (c != NULL) {
		grey_conf_clear(c);
		free(c);
	}
}

static enum fd_action
gl_rcpt(struct fd_txn *t, void *state, void *conn, void *msg)
{
	return grey_on_rcpt(state, t, msg);
}

static void
gl_plan(struct fd_txn *t, uint32_t stage, void *state, void *conn, void *msg)
{
	if (stage == FD_ST_RCPT)
		grey_plan_rcpt(state, t, msg);
	else if (stage == FD_ST_EOM && msg != NULL)
		grey_plan_eom(state, t, msg);
}

static enum fd_action
gl_body(struct fd_txn *t, void *state, void *conn, void *msg,
    const unsigned char *chunk, size_t len)
{
	return grey_on_body(state, t, msg, chunk, len);
}

static enum fd_action
gl_eom(struct fd_txn *t, void *state, void *conn, void *msg)
{
	return grey_on_eom(state, t, msg);
}

static void
gl_msg_end(void *state, void *conn, void *msg)
{
	grey_msg_clear(msg);
}

static int
gl_check_set(void *state, const char *param, const char *value, char *why,
    size_t whylen)
{
	(void)state;
	return grey_set_check(param, value, why, whylen);
}

FD_PLUGIN_EXPORT = {
	FD_PLUGIN_HEADER,
	.name = "greylist",
	.version = "1.0",
	.stages = FD_ST_RCPT | FD_ST_BODY | FD_ST_EOM,
	.flags = FD_PF_ADDHDR,
	.msg_priv_size = sizeof(struct grey_msg),
	.init = gl_init,
	.fini = gl_fini,
	.on_rcpt = gl_rcpt,
	.on_body = gl_body,
	.on_eom = gl_eom,
	.msg_end = gl_msg_end,
	.plan = gl_plan,
	.check_set = gl_check_set,
};
