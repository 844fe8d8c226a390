/*
 * oldabi.c -- a plugin as built against ABI 1.1, before the host table
 * had log_txn: filterd must keep loading it and calling its hooks. It
 * refuses one recipient at RCPT and logs that through log(), the only
 * logging 1.1 knew.
 *
 *	plugin oldabi path "tests/plugins/.libs/oldabi.so"
 */
#include <string.h>

#include <filterd/plugin.h>

static int
old_init(const struct fd_host *h, const struct fd_block *b, void **state)
{
	(void)b;
	/* nothing to keep but the host table */
	*state = (void *)(uintptr_t)h;
	return 0;
}

static enum fd_action
old_rcpt(struct fd_txn *t, void *state, void *conn, void *msg)
{
	const struct fd_host	*h = state;
	const char		*rcpt = h->get(t, FD_F_RCPT);

	(void)conn;
	(void)msg;
	if (rcpt == NULL || strcmp(rcpt, "old@example.org") != 0)
		return FD_CONTINUE;
	h->log(h, FD_LOG_INFO, "refusing <%s>", rcpt);
	h->reply(t, "550", "5.7.1", "Refused by an ABI 1.1 plugin");
	return FD_REJECT;
}

/* the header of a 1.1 build, written out: FD_PLUGIN_HEADER says more now */
FD_PLUGIN_EXPORT = {
	.magic = FD_PLUGIN_MAGIC,
	.abi_major = 1,
	.abi_minor = 1,
	.size = sizeof(struct fd_plugin),
	.name = "oldabi",
	.version = "1.0",
	.stages = FD_ST_RCPT,
	.init = old_init,
	.on_rcpt = old_rcpt,
};
