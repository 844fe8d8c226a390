/*
 * rule_impl.h -- inside a ruleset: rules, conditions, fields, macros
 *
 * Shared by the three files that know the shape of a rule: rule_build.c
 * (the parser's side: checks and compiles what conf_parse.y read),
 * rule_cond.c (the field and macro tables and condition evaluation) and
 * rule.c (evaluation of a stage, logging, the public API of rule.h).
 * Nothing outside those and the parser includes this.
 */
#ifndef FD_RULE_IMPL_H
#define FD_RULE_IMPL_H

#include <stdint.h>

#include "errs.h"
#include "rule.h"
#include "table.h"

struct fd_txn;
struct fd_regex;

/* what a condition reads */
enum fd_rfield {
	RF_CLIENT_IP = 0,
	RF_CLIENT_NAME,
	RF_HELO,
	RF_SENDER,
	RF_SENDER_LOCAL,
	RF_SENDER_DOMAIN,
	RF_RCPT,
	RF_RCPT_LOCAL,
	RF_RCPT_DOMAIN,
	RF_AUTH_USER,
	RF_HEADER_NAME,
	RF_HEADER_VALUE,
	RF_HEADER,		/* header "Name": that header's value */
	RF_MACRO,		/* {name} */
	RF_SIZE
};

enum fd_rop {
	OP_EQ = 0, OP_NE, OP_RE, OP_NRE, OP_IN,
	OP_VERIFIED, OP_SET, OP_UNSET, OP_NULL,
	OP_LT, OP_LE, OP_GT, OP_GE
};

/* field flags */
#define FF_ICASE	0x01	/* == compares ignoring ASCII case */
#define FF_DOMAIN	0x02	/* a host or domain name */
#define FF_MULTI	0x04	/* rcpt*: every accepted rcpt after RCPT */
#define FF_IP		0x08	/* client-ip */
#define FF_NUM		0x10	/* size */

struct fd_field_def {
	const char	*name;
	enum fd_rfield	 id;
	uint32_t	 first;		/* FD_ST_* bit where it is first known */
	uint32_t	 last;		/* last stage it means something at */
	unsigned	 flags;
};

struct fd_macro_def {
	const char	*name;		/* as the MTA names it: "j", "{if_addr}" */
	uint32_t	 first;		/* FD_ST_* stage the MTA sends it at */
};

enum fd_ckind { C_TEST = 0, C_AND, C_OR, C_NOT };

/*
 * A chain of one operator, `a or b or c ...`, is one node holding its
 * operands in order, so that the stack a walk takes grows with the
 * nesting of a condition, which the parser limits, and never with its
 * length.
 */
struct fd_cond {
	enum fd_ckind		 kind;
	struct fd_cond		**kids;		/* C_AND, C_OR; C_NOT has one */
	unsigned		 nkids, capkids;
	unsigned		 depth;		/* and/or/not levels, this one's
						 * included */

	/* C_TEST */
	const struct fd_field_def *field;
	enum fd_rop		 op;
	struct fd_loc		 loc;		/* of the field */
	char			*arg;		/* header name; macro name */
	char			*str;		/* == and != operand */
	size_t			 len;
	struct fd_cidr		 cidr;		/* client-ip == CIDR */
	uint64_t		 num;		/* size */
	struct fd_regex		*re;		/* owned */
	struct fd_table		*table;		/* owned by the ruleset */
	char			*tname;		/* <name> until resolved */
	struct fd_loc		 tloc;
};

struct fd_rule {
	char			*name;
	struct fd_loc		 loc;
	uint32_t		 stage;		/* one FD_ST_* bit */
	int			 dry_run;
	struct fd_cond		*cond;		/* NULL: always */
	enum fd_rule_action	 action;

	char			*rcode;		/* reject, tempfail */
	char			*xcode;
	char			*text;		/* also log's optional text */

	uint64_t		 skip;		/* plugin index bits */
	char			**pnames;	/* skip/set plugin names */
	struct fd_loc		*plocs;
	int			 npnames;

	int			 set_plugin;	/* index, resolved at the end */
	char			*set_param;
	char			*set_value;
	struct fd_loc		 set_vloc;	/* where the value is written */

	char			*hdr_name;	/* add-header */
	char			*hdr_value;

	char			*desc;		/* "reject 550 5.7.1 ..." for logs */
	struct fd_rule		*next;
};

#define FD_NSTAGES	9		/* FD_ST_CONNECT .. FD_ST_EOM */
#define FD_NSMFIM	7		/* SMFIM_CONNECT .. SMFIM_EOH */

struct fd_ruleset {
	struct fd_rule		*head, *tail;	/* file order */
	unsigned		 nrules;
	struct fd_rule		**by_stage[FD_NSTAGES];
	unsigned		 nby_stage[FD_NSTAGES];
	uint32_t		 stages;
	uint32_t		 decides;	/* stages with an answering rule */
	int			 dry_run;	/* the global switch */

	struct fd_table		**tables;	/* named first-come, and inline */
	struct fd_loc		*tlocs;
	unsigned		 ntables, captables;

	char			**macros[FD_NSMFIM];	/* NULL-terminated */
	unsigned		 nmacros[FD_NSMFIM];
};

/* rule_cond.c */
const struct fd_field_def *rule_field_lookup(const char *);
const struct fd_macro_def *rule_macro_lookup(const char *);
const char	*rule_stage_name(uint32_t stage);
uint32_t	 rule_stage_lookup(const char *);
int		 rule_stage_smfim(uint32_t stage);
/* rule_cond_eval - 1 if the condition holds for txn at stage */
int		 rule_cond_eval(const struct fd_cond *, uint32_t stage,
		    const struct fd_txn *);
struct fd_cond	*fd_cond_free(struct fd_cond *);
extern const char *const rule_field_names[];
extern const char *const rule_macro_names[];
extern const char *const rule_stage_names[];

/* rule.c */
struct fd_ruleset *fd_ruleset_new(void);
void		 fd_ruleset_add(struct fd_ruleset *, struct fd_rule *);
/* fd_ruleset_table_add - take ownership; named tables must be unique */
void		 fd_ruleset_table_add(struct fd_ruleset *, struct fd_table *,
		    const struct fd_loc *);
struct fd_table	*fd_ruleset_table(const struct fd_ruleset *, const char *name,
		    const struct fd_loc **where);
/* fd_ruleset_index - build the per-stage arrays and macro lists */
void		 fd_ruleset_index(struct fd_ruleset *);
struct fd_rule	*fd_rule_free(struct fd_rule *);

#endif
