/*
 * rl_spec.h -- the ratelimit plugin's configuration: limits and their specs
 *
 * A `plugin ratelimit { ... }` block is parsed once per configuration
 * generation into an rl_conf, read-only afterwards and shared by every
 * thread. Parsing goes through the host's directive walker only, and
 * every problem is reported at its file:line:col with host->conf_error,
 * so `filterd -t` shows them all at once.
 *
 * The same file parses what rules may hand the plugin at run time with
 * `set ratelimit.factor 2.5` or `set ratelimit.NAME 500/1h`, because it
 * is the same language: a rate is COUNT/PERIOD, a factor a decimal.
 */
#ifndef RL_SPEC_H
#define RL_SPEC_H

#include <stddef.h>
#include <stdint.h>

#include <filterd/plugin.h>

/* Most limits one stage may check: one store call carries them all. */
#define RL_STAGE_MAX	32
#define RL_NAME_MAX	64
#define RL_TEXT_MAX	400

/* The store's GCRA works in microseconds with numbers below 2^50. */
#define RL_US		1000000LL
#define RL_GCRA_MAX	(1LL << 50)

/* What a limit is keyed by. */
enum rl_key {
	RL_K_CLIENT_IP = 0,	/* client address, masked to a prefix */
	RL_K_SENDER,		/* MAIL FROM address */
	RL_K_SENDER_DOMAIN,	/* its domain */
	RL_K_AUTH_USER,		/* SASL login, {auth_authen} */
	RL_K_RCPT,		/* RCPT TO address */
	RL_K_HELO,		/* HELO/EHLO argument */
	RL_K_MAX
};

/* What a limit counts, and so the stage it is decided at. */
enum rl_count {
	RL_C_CONNECTIONS = 0,	/* at connect, one per connection */
	RL_C_MESSAGES,		/* at MAIL, one per message */
	RL_C_RECIPIENTS,	/* at RCPT, one per recipient */
	RL_C_MAX
};

enum rl_act {
	RL_A_TEMPFAIL = 0,
	RL_A_REJECT
};

/* Which sessions a limit applies to. */
enum rl_only {
	RL_O_ALL = 0,
	RL_O_AUTH,		/* only authenticated sessions */
	RL_O_UNAUTH		/* only unauthenticated ones */
};

/* COUNT events per PERIOD seconds. */
struct rl_rate {
	uint32_t	 count;
	int64_t		 period;
};

struct rl_limit {
	char		 name[RL_NAME_MAX];	/* given, or made up; unique */
	int		 named;			/* 1 if `name` was given */
	enum rl_key	 key;
	enum rl_count	 count;
	struct rl_rate	 rate;
	uint32_t	 burst;
	enum rl_act	 act;
	enum rl_only	 only;
	int		 v4prefix;		/* bits kept of IPv4 clients */
	int		 v6prefix;		/* of IPv6 clients */
	char		*text;			/* own reply text, or NULL */
};

struct rl_conf {
	struct rl_limit	*limits;		/* in file order */
	size_t		 nlimits;
	uint32_t	 stages;		/* FD_ST_* some limit needs */
	int		 messages_at_rcpt;	/* decide-messages-at rcpt */
	int		 messages_at_eom;	/* decide-messages-at eom */
	int		 eom_sees_rcpts;	/* eom: the RCPT hook runs, silent,
						 * to learn whether a rule exempted
						 * every recipient (rl_init) */
	int		 v4prefix;		/* client-ip limits default */
	int		 v6prefix;
	char		 tempfail_code[4];	/* "451" or "450" */
	char		*tempfail_text;
	char		*reject_text;
};

/* rl_conf_parse - the block into c; 0, or -1 after reporting every
 * problem with h->conf_error. c is complete (and must be cleared) either
 * way. */
int	 rl_conf_parse(const struct fd_host *h, const struct fd_block *b,
	    struct rl_conf *c);
/* rl_conf_clear - release what c owns */
void	 rl_conf_clear(struct rl_conf *c);

/* rl_rate_parse - "60/1m", "1000/1d", "5/30s", "10/h"; 0, or -1 with
 * *why set */
int	 rl_rate_parse(const char *s, struct rl_rate *r, const char **why);
/* rl_rate_check - 0 if the store can serve rate r with burst b, else -1
 * with *why set */
int	 rl_rate_check(const struct rl_rate *r, uint32_t burst,
	    const char **why);
/* rl_factor_parse - a positive decimal with up to three decimals ("10",
 * "0.5") into thousandths; 0, or -1 with *why set */
int	 rl_factor_parse(const char *s, uint64_t *milli, const char **why);
/* rl_off - 1 if an override value switches its limit off */
int	 rl_off(const char *s);

/* rl_period_text - seconds in the largest unit that divides them: "1m",
 * "90s", "1d" */
void	 rl_period_text(char *buf, size_t len, int64_t secs);

/* rl_count_stage - the FD_ST_* stage a counter is decided at by
 * default (messages: MAIL; see decide-messages-at) */
uint32_t rl_count_stage(enum rl_count c);
const char *rl_key_name(enum rl_key k);
const char *rl_count_name(enum rl_count c);

#endif
