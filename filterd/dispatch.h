/*
 * dispatch.h -- one SMTP stage: rules, then plugins, then one verdict
 *
 * fd_dispatch() is the whole decision for a stage and knows nothing of
 * libmilter: milter.c calls it with the txn it filled and maps the action
 * it returns (and the reply left in the txn) to SMFIS_* and
 * smfi_setreply. That split is what lets tests drive decisions without a
 * socket, and the real milter path with one.
 *
 * Order: the stage's rules first (first match decides; skip, set,
 * add-header and log change the txn and let the plugins run), then each
 * plugin hooking the stage in config order, minus those skipped; the
 * first plugin that says anything but continue decides. FD_ERROR from a
 * plugin becomes its on-store-error policy. Every decision is logged as
 * one line; `dry-run` logs what would have happened and continues.
 */
#ifndef FD_DISPATCH_H
#define FD_DISPATCH_H

#include <stddef.h>
#include <stdint.h>

#include "filterd/plugin.h"

struct fd_txn;

/* fd_dispatch - decide stage (an FD_ST_* bit) for txn; chunk/len for body.
 * A message stage with no message open decides nothing (FD_CONTINUE):
 * rules and plugins read that message, and a plugin's hook is promised
 * its message slot. milter.c answers such a command itself. */
enum fd_action	 fd_dispatch(struct fd_txn *, uint32_t stage,
		    const unsigned char *chunk, size_t len);
/* fd_conn_log - a line about t's connection: the decision line's first
 * fields (conn, qid, client), then text as it is, which the caller made
 * safe to log */
void		 fd_conn_log(const struct fd_txn *, int level,
		    const char *text);
/* fd_stage_name - "connect", "helo", ... for logs */
const char	*fd_stage_name(uint32_t stage);
/* fd_action_name - "continue", "reject", ... */
const char	*fd_action_name(enum fd_action);

#endif
