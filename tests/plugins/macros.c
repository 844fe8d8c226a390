/*
 * macros.c -- a plugin that reads an MTA macro no rule names, for the
 * test of host want_macros (tests/integ/check_rule_actions.c): it asks
 * for {rcpt_addr} and {rcpt_host} at RCPT and answers each recipient
 * with a tempfail that tells the value it got.
 *
 *	plugin macros path "tests/plugins/.libs/macros.so"
 */
#include <filterd/plugin.h>

static int
mm_init(const struct fd_host *h, const struct fd_block *b, void **state)
{
	(void)b;
	/* a stage without macros, and a name of the wrong shape, are
	 * refused; a good list is taken */
	if (h->want_macros(h, FD_ST_HEADER, "x") != -1 ||
	    h->want_macros(h, FD_ST_RCPT, "rcpt_addr") != -1 ||
	    h->want_macros(h, FD_ST_RCPT, "{rcpt_addr} {rcpt_host}") != 0) {
		h->log(h, FD_LOG_ERR, "want_macros answered wrong");
		return -1;
	}
	*state = (void *)(uintptr_t)h;
	return 0;
}

static enum fd_action
mm_rcpt(struct fd_txn *t, void *state, void *conn, void *msg)
{
	const struct fd_host	*h = state;
	const char		*v = h->macro(t, "{rcpt_addr}");

	(void)conn;
	(void)msg;
	h->reply(t, "451", "4.7.1", "rcpt_addr=%s", v != NULL ? v : "(none)");
	return FD_TEMPFAIL;
}

FD_PLUGIN_EXPORT = {
	FD_PLUGIN_HEADER,
	.name = "macros",
	.version = "1",
	.stages = FD_ST_RCPT,
	.init = mm_init,
	.on_rcpt = mm_rcpt,
};
