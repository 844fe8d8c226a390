/*
 * rule.h -- compiled rules and their evaluation
 *
 * A ruleset is built by the config parser (conf_parse.y) and is part of a
 * configuration generation; it is read-only after load and safe to
 * evaluate from every milter thread at once.
 *
 * Within a stage, rules run in file order and the first one whose
 * condition matches decides for that stage: its action is applied and no
 * later rule of that stage runs. The one exception is `log`, which logs
 * the match and goes on. Rules run before the plugins of the stage.
 */
#ifndef FD_RULE_H
#define FD_RULE_H

#include <stdint.h>

#include "errs.h"

struct fd_txn;
struct fd_ruleset;

enum fd_rule_action {
	FD_RA_NONE = 0,		/* no rule matched */
	FD_RA_ACCEPT,		/* accept the message; before MAIL the connection */
	FD_RA_ACCEPT_CONN,	/* accept the whole connection */
	FD_RA_REJECT,
	FD_RA_TEMPFAIL,
	FD_RA_DISCARD,
	FD_RA_SKIP,		/* skip plugins (applied to the txn) */
	FD_RA_SET,		/* set PLUGIN.PARAM VALUE (applied) */
	FD_RA_ADD_HEADER,	/* add-header NAME VALUE (applied) */
	FD_RA_LOG		/* logged; evaluation went on */
};

/* What the deciding rule said; pointers live as long as the ruleset. */
struct fd_rule_hit {
	enum fd_rule_action	 action;
	const char		*rule;		/* rule name */
	const struct fd_loc	*loc;		/* where it was written */
	const char		*rcode;		/* reject/tempfail */
	const char		*xcode;
	const char		*text;
	int			 dry_run;	/* logged only: act as if NONE */
};

/*
 * fd_rules_eval - run the rules of one stage (an FD_ST_* bit) against txn.
 * Applies skip/set/add-header to the txn itself (unless dry-run), logs
 * `log` and dry-run matches through the log module, and fills hit with
 * the deciding rule. Returns 1 if a rule matched, 0 if none did.
 */
int	 fd_rules_eval(const struct fd_ruleset *, uint32_t stage,
	    struct fd_txn *, struct fd_rule_hit *hit);

/* fd_rules_stages - FD_ST_* bits of the stages that have rules, DATA
 * when a rule reads a macro the MTA sends with it, and BODY when a rule
 * at end of message reads size */
uint32_t fd_rules_stages(const struct fd_ruleset *);
/* fd_rules_decides - of those, the stages with a rule that may answer the
 * MTA (accept, reject, tempfail, discard; not dry-run): where the MTA
 * must await filterd's reply on the rules' account */
uint32_t fd_rules_decides(const struct fd_ruleset *);

/*
 * fd_rules_macros - the macros rules read at a milter macro stage
 * (SMFIM_CONNECT .. SMFIM_EOH numbering), NULL-terminated, spelled as the
 * MTA spells them: single letters bare ("j", "i"), the rest in braces.
 */
const char *const *fd_rules_macros(const struct fd_ruleset *, int smfim_stage);

/* One rule's `set PLUGIN.PARAM VALUE`, for the plugin to check at load. */
struct fd_rule_set {
	int			 plugin;	/* index among the conf's plugins */
	const char		*param;
	const char		*value;
	const struct fd_loc	*ploc;		/* of PLUGIN.PARAM */
	const struct fd_loc	*vloc;		/* of VALUE */
};

/* fd_rules_sets - fn for every set action, in file order */
void	 fd_rules_sets(const struct fd_ruleset *,
	    void (*fn)(const struct fd_rule_set *, void *), void *arg);

/* fd_ruleset_free - returns NULL */
struct fd_ruleset *fd_ruleset_free(struct fd_ruleset *);

#endif
