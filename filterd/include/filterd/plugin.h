/*
 * filterd/plugin.h -- the plugin ABI of filterd
 *
 * This is the only header a filterd plugin includes, and a plugin links
 * against nothing of filterd's: every service it uses (logging, the
 * transaction view, replies, the state store, the clock, regexes) comes
 * through the host table handed to init().
 *
 * A plugin is a shared object exporting one symbol, `filterd_plugin`, a
 * struct fd_plugin filled with FD_PLUGIN_HEADER and the plugin's hooks:
 *
 *	#include <filterd/plugin.h>
 *	FD_PLUGIN_EXPORT = {
 *		FD_PLUGIN_HEADER,
 *		.name = "example", .version = "1.0",
 *		.stages = FD_ST_RCPT,
 *		.init = ex_init, .fini = ex_fini, .on_rcpt = ex_rcpt,
 *	};
 *
 * Versioning. FD_PLUGIN_ABI_MAJOR changes when a change breaks existing
 * plugins; the loader refuses a plugin whose major differs from its own
 * and names both numbers. FD_PLUGIN_ABI_MINOR grows when members are
 * appended to struct fd_plugin or struct fd_host; nothing is ever moved or
 * removed within one major. The loader reads only the first `size` bytes
 * of a plugin's struct, so hooks a newer minor appended count as absent for
 * an older plugin; a plugin checks host->abi_minor (or a NULL pointer)
 * before it calls a host function newer than the one it was built for.
 *
 * Threads and lifetimes. filterd runs sessions on libmilter's pool of
 * worker threads: hooks of one connection run one after the other, not
 * always on the same thread, and workers start and end all the time, so
 * a hook keeps nothing thread-local and no buffer of more than a few KiB
 * on its stack (filterd-plugin(3), THREADS). init() is called once per
 * configuration generation: from the main thread at start, from the
 * reload thread at a reload (SIGHUP or SIGUSR1); fini() from whichever
 * thread drops the generation's last reference (a connection closing,
 * or the reload).
 * The state init() builds is then read-only and shared by every thread
 * until fini(). A hook may write only its own connection and message
 * slots (zeroed by the host, sized by conn_priv_size and msg_priv_size)
 * and the store. Strings the host hands
 * a hook live until the hook returns unless a comment says otherwise.
 */
#ifndef FILTERD_PLUGIN_H
#define FILTERD_PLUGIN_H

#include <stddef.h>
#include <stdint.h>
#include <stdarg.h>

#ifdef __cplusplus
extern "C" {
#endif

#define FD_PLUGIN_MAGIC		0x46445031u	/* "FDP1" */
#define FD_PLUGIN_ABI_MAJOR	1
#define FD_PLUGIN_ABI_MINOR	4
#define FD_PLUGIN_SYMBOL	"filterd_plugin"

/* One bit per SMTP stage; a plugin's `stages` drives milter negotiation. */
enum fd_stage {
	FD_ST_CONNECT	= 1u << 0,
	FD_ST_HELO	= 1u << 1,
	FD_ST_MAIL	= 1u << 2,
	FD_ST_RCPT	= 1u << 3,
	FD_ST_DATA	= 1u << 4,
	FD_ST_HEADER	= 1u << 5,
	FD_ST_EOH	= 1u << 6,
	FD_ST_BODY	= 1u << 7,
	FD_ST_EOM	= 1u << 8
};

/*
 * What a hook decides. FD_ERROR means "a dependency failed and I could not
 * decide": the host applies the plugin's configured on-store-error policy
 * (continue or tempfail) and rate-limits the log line, so plugins do not
 * each reinvent fail-open/fail-closed.
 */
enum fd_action {
	FD_CONTINUE = 0,	/* no opinion; next plugin, next stage */
	FD_ACCEPT,		/* accept this message (before MAIL: the
				 * connection), skip later checks */
	FD_REJECT,		/* 5xx */
	FD_TEMPFAIL,		/* 4xx */
	FD_DISCARD,		/* accept and drop */
	FD_ERROR		/* could not decide: apply failure policy */
};

/* Log levels, syslog order. */
enum fd_level { FD_LOG_ERR = 3, FD_LOG_WARN = 4, FD_LOG_NOTICE = 5,
	FD_LOG_INFO = 6, FD_LOG_DEBUG = 7 };

/* Fields of the transaction view; see host->get(). */
enum fd_field {
	FD_F_CLIENT_ADDR,	/* "192.0.2.1", "2001:db8::1"; "" if not IP */
	FD_F_CLIENT_NAME,	/* name as the MTA reports it, "[addr]" if none */
	FD_F_HELO,		/* last HELO/EHLO argument; NULL before HELO */
	FD_F_SENDER,		/* MAIL FROM without <>; "" for the null sender */
	FD_F_RCPT,		/* recipient under decision at RCPT, without <> */
	FD_F_QUEUE_ID,		/* MTA's queue id once known, else NULL */
	FD_F_AUTH_USER,		/* {auth_authen}, NULL if not authenticated */
	FD_F_HEADER_NAME,	/* at FD_ST_HEADER: the header's name */
	FD_F_HEADER_VALUE,	/* at FD_ST_HEADER: its value, unfolded */
	FD_F_MTA_NAME,		/* the MTA's {j} macro */
	FD_F_DAEMON_NAME	/* {daemon_name} */
};

/* Transaction numbers; see host->num(). */
enum fd_num {
	FD_N_FAMILY,		/* 4, 6, or 0 (unix socket, unknown) */
	FD_N_CLIENT_VERIFIED,	/* 1 if {client_resolve} is OK */
	FD_N_CLIENT_LOCAL,	/* 1 for loopback or unix-socket clients */
	FD_N_HELO_COUNT,	/* HELO/EHLO commands seen on this connection */
	FD_N_RCPT_COUNT,	/* recipients accepted so far in this message */
	FD_N_HEADER_COUNT,	/* headers seen so far */
	FD_N_BODY_SIZE,		/* body bytes seen so far */
	FD_N_MSG_SIZE,		/* SIZE= from MAIL, else body size; 0 unknown */
	FD_N_MSG_COUNT		/* messages begun on this connection, this one included */
};

/* Store results, returned by the store calls. */
enum fd_store_rc {
	FD_STORE_OK = 0,
	FD_STORE_NOTFOUND = 1,
	FD_STORE_ERR = -1	/* backend down, slow, full: apply policy */
};

/*
 * The longest time to live a store call takes, in seconds (100 years),
 * and so the longest greylist delay: a request past it fails with
 * FD_STORE_ERR on every call, so a plugin refuses such a setting at load.
 */
#define FD_STORE_TTL_MAX	(100LL * 366 * 86400)

/* Greylist triplet state, one atomic check-and-update. */
enum fd_grey_state {
	FD_GREY_NEW = 0,	/* first sight: entry created */
	FD_GREY_EARLY,		/* seen, retry before the delay; not reset */
	FD_GREY_PASSED,		/* retried after the delay, within the window */
	FD_GREY_WHITELISTED	/* the auto-whitelist key matched */
};

struct fd_grey_req {
	const void	*key;		/* triplet key (hashed by the host) */
	size_t		 keylen;
	/* auto-whitelist key, or NULL; with awl_after 0 nothing is
	 * counted, but on Redis the triplet's key carries it (a hash tag
	 * shared with the counter): give it whether the awl is on or off,
	 * or turning it on would start every triplet afresh there */
	const void	*awl_key;
	size_t		 awl_keylen;
	int64_t		 delay;		/* seconds before a retry passes */
	int64_t		 retry_window;	/* unconfirmed entry lifetime, s */
	int64_t		 pass_ttl;	/* lifetime of a passed entry, s */
	uint32_t	 awl_after;	/* passed triplets before awl; 0 off */
	int64_t		 awl_ttl;	/* auto-whitelist lifetime, s */
};

struct fd_grey_res {
	enum fd_grey_state state;
	int64_t		 first_seen;	/* unix time the triplet was first seen */
	uint32_t	 passes;	/* passes recorded for the triplet */
	uint32_t	 awl_count;	/* triplets passed for the awl key */
	int64_t		 retry_after;	/* FD_GREY_NEW/EARLY: seconds to wait */
};

/* One rate limit: GCRA over `period` seconds, `limit` events plus burst. */
struct fd_rate_req {
	const void	*key;
	size_t		 keylen;
	uint32_t	 limit;		/* events per period */
	int64_t		 period;	/* seconds */
	uint32_t	 burst;		/* extra events allowed at once */
	uint32_t	 cost;		/* events this hit counts for; 0 = peek */
};

struct fd_rate_res {
	int		 allowed;	/* 1 if under the limit */
	uint32_t	 remaining;	/* events left before the limit */
	int64_t		 retry_after;	/* seconds until one more fits */
};

struct fd_txn;		/* opaque: the connection and its current message */
struct fd_block;	/* opaque: this plugin's `plugin NAME { ... }` block */
struct fd_directive;	/* opaque: one directive of a block */
struct fd_regex;	/* opaque: a compiled PCRE2 pattern with limits */

/*
 * The host table. Members are only ever appended; a plugin built against
 * an older header sees a prefix of it.
 */
struct fd_host {
	uint16_t	 abi_major;
	uint16_t	 abi_minor;
	uint32_t	 size;		/* sizeof(struct fd_host) in the host */
	void		*priv;		/* the host's own; plugins don't touch */

	/* Logging: one line, prefixed with the plugin; escape() client text,
	 * the host writes control bytes left in the line as C escapes. */
	void	 (*log)(const struct fd_host *, enum fd_level, const char *fmt, ...)
		    __attribute__((format(printf, 3, 4)));

	/* Unix time in seconds from filterd's clock; tests can move it. */
	int64_t	 (*now)(const struct fd_host *);

	/*
	 * Configuration: walk this plugin's block. dir_next(b, NULL) is the
	 * first directive. conf_error() records "file:line:col: message"
	 * for directive d (its argument argi, or the name if argi < 0) and
	 * init() then returns -1.
	 */
	const struct fd_directive *(*dir_next)(const struct fd_block *,
		    const struct fd_directive *prev);
	const char *(*dir_name)(const struct fd_directive *);
	int	 (*dir_argc)(const struct fd_directive *);
	const char *(*dir_arg)(const struct fd_directive *, int i);
	void	 (*conf_error)(const struct fd_host *, const struct fd_directive *,
		    int argi, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
	/* Parse helpers: 0 on success, else they call conf_error and -1. */
	int	 (*arg_duration)(const struct fd_host *, const struct fd_directive *,
		    int i, int64_t *secs);		/* 30, 30s, 5m, 2h, 35d, 1w */
	int	 (*arg_uint)(const struct fd_host *, const struct fd_directive *,
		    int i, uint64_t *out);		/* 10, 64k, 256M, 1G */
	int	 (*arg_bool)(const struct fd_host *, const struct fd_directive *,
		    int i, int *out);			/* yes/no, on/off, true/false */

	/* Transaction view: strings valid until the hook returns. */
	const char *(*get)(const struct fd_txn *, enum fd_field);
	int64_t	 (*num)(const struct fd_txn *, enum fd_num);
	const char *(*macro)(const struct fd_txn *, const char *name);
	const char *(*rcpt)(const struct fd_txn *, size_t i);	/* accepted rcpts */
	/* Binary client address: 4 or 16 bytes into out, returns the length. */
	size_t	 (*client_ip)(const struct fd_txn *, unsigned char out[16]);
	/* Value a rule set with `set PLUGIN.PARAM VALUE`, else NULL. */
	const char *(*param)(const struct fd_txn *, const char *plugin,
		    const char *name);

	/* Reply for a reject/tempfail: "451", "4.7.1", text (may be NULL). */
	void	 (*reply)(struct fd_txn *, const char *rcode, const char *xcode,
		    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
	/* Reason for the decision log line (not sent to the client). */
	void	 (*reason)(struct fd_txn *, const char *fmt, ...)
		    __attribute__((format(printf, 2, 3)));
	/* Queue a header, added at end of message if the message is accepted;
	 * -1 outside a message, or for a bad name, a value with CR or LF,
	 * or a line "name: value" longer than 998 octets (RFC 5322).
	 * Under dry-run yes it is logged, not queued, and 0 returned. */
	int	 (*add_header)(struct fd_txn *, const char *name, const char *value);

	/*
	 * State store: atomic, one round trip each, safe from any thread.
	 * Keys are opaque bytes; the host hashes and prefixes them, so a key
	 * may hold addresses without putting them at rest.
	 */
	int	 (*grey_check)(const struct fd_host *, const struct fd_grey_req *,
		    struct fd_grey_res *);
	int	 (*rate_hit)(const struct fd_host *, const struct fd_rate_req *,
		    size_t n, struct fd_rate_res *);	/* n limits, one trip */
	int	 (*kv_get)(const struct fd_host *, const void *key, size_t keylen,
		    void *val, size_t *vallen);		/* *vallen in: cap, out: len */
	int	 (*kv_set)(const struct fd_host *, const void *key, size_t keylen,
		    const void *val, size_t vallen, int64_t ttl);
	int	 (*kv_incr)(const struct fd_host *, const void *key, size_t keylen,
		    int64_t by, int64_t ttl, int64_t *out);
	int	 (*kv_del)(const struct fd_host *, const void *key, size_t keylen);

	/* Regexes: compiled once with JIT and match limits (PCRE2 syntax). */
	struct fd_regex *(*re_new)(const struct fd_host *, const char *pattern,
		    const char *flags, char *err, size_t errlen);
	int	 (*re_match)(const struct fd_regex *, const char *s, size_t len); /* 1/0/-1 */
	void	 (*re_free)(struct fd_regex *);

	/* Escape untrusted bytes for a log line; returns dst. */
	char	*(*escape)(char *dst, size_t dstlen, const void *src, size_t len);

	/* Directory of the config file that declared this plugin, for the
	 * plugin's relative file names. */
	const char *(*conf_dir)(const struct fd_host *);

	/*
	 * From init() only: the stages this generation's configuration
	 * really uses, a subset of the plugin's `stages`. A stage no loaded
	 * plugin or rule uses is turned off at milter negotiation, so a
	 * plugin whose body hook is optional should say when it is off.
	 */
	void	 (*use_stages)(const struct fd_host *, uint32_t stages);

	/*
	 * Planned store calls: the greylist checks and rate hits of every
	 * plugin at one stage in one round trip to the store. From its
	 * `plan` hook (struct fd_plugin) a plugin queues the requests its
	 * stage hook is going to make, with plan_grey and plan_rate (0, or
	 * -1 when the plan is full or no plan hook is running: the request
	 * is then simply sent on its own later). Its stage hook then makes
	 * them with grey_txn and rate_txn: the first of these calls to find
	 * its request queued sends every request queued at this stage at
	 * once (one LMDB write transaction, one Redis script; in plan
	 * order, each seeing the ones before it), and each call returns the
	 * answer to its own request. A request nobody queued, or one that
	 * differs in any byte or number from what was queued, is sent on
	 * its own exactly as grey_check and rate_hit send it, so a plan
	 * changes how many round trips a stage costs, never an answer.
	 * Queued requests are sent only if a hook of the stage makes one of
	 * them; the plan is forgotten at the end of the stage.
	 *
	 * res and rc of plan_grey / plan_rate may be NULL. If given, they
	 * receive the answer (res: one, or n results; rc: FD_STORE_OK or
	 * FD_STORE_ERR) when the plan is sent, also when the plugin's own
	 * hook is then not called because another plugin decided the stage
	 * first: that is how a plugin learns what the store did with a
	 * request it planned (the ratelimit plugin counts a message once).
	 * They must stay valid to the end of the stage (point into the
	 * plugin's message or connection slot); if the plan is never sent
	 * they are left untouched.
	 *
	 * Check for these members with FD_HOST_HAS(h, grey_txn) before use.
	 */
	int	 (*plan_grey)(struct fd_txn *, const struct fd_grey_req *,
		    struct fd_grey_res *res, int *rc);
	int	 (*plan_rate)(struct fd_txn *, const struct fd_rate_req *,
		    size_t n, struct fd_rate_res *res, int *rc);
	int	 (*grey_txn)(struct fd_txn *, const struct fd_grey_req *,
		    struct fd_grey_res *);
	int	 (*rate_txn)(struct fd_txn *, const struct fd_rate_req *,
		    size_t n, struct fd_rate_res *);

	/*
	 * From init() only: of the stages used, those at which this
	 * plugin may answer the MTA (return anything but FD_CONTINUE).
	 * The MTA is asked to await filterd's reply only at stages where a
	 * plugin or rule may answer; at the others it sends the command
	 * and goes on. A plugin that never calls this answers wherever it
	 * runs. A refusal returned at a stage declared silent is not lost:
	 * it is held and given at the next stage that is replied to (end of
	 * message at the latest); an accept there is lost, so declare every
	 * stage that may accept. Check with FD_HOST_HAS(h, decide_stages).
	 */
	void	 (*decide_stages)(const struct fd_host *, uint32_t stages);

	/*
	 * log_txn (ABI 1.2): log() for a line about txn's connection, from
	 * a stage or plan hook. The line starts with the fields filterd's
	 * decision line starts with ("conn=12 qid=- client=name[addr]"),
	 * then the plugin's prefix and the text, so that every line about
	 * one SMTP connection carries its conn=. log() stays for lines
	 * outside a connection; txn NULL here means the same. Check with
	 * FD_HOST_HAS(h, log_txn) in a plugin that declares ABI 1.0 or 1.1.
	 */
	void	 (*log_txn)(const struct fd_host *, const struct fd_txn *,
		    enum fd_level, const char *fmt, ...)
		    __attribute__((format(printf, 4, 5)));

	/*
	 * conf_unknown (ABI 1.3): conf_error() for directive d, which the
	 * plugin does not know, in the words filterd uses for its own
	 * statements: `unknown directive "delya" (did you mean "delay"?)`
	 * when one of known is close, else with the names in known (the
	 * plugin's directives, NULL-terminated). Check with
	 * FD_HOST_HAS(h, conf_unknown) in a plugin that declares ABI 1.2 or
	 * older.
	 */
	void	 (*conf_unknown)(const struct fd_host *,
		    const struct fd_directive *, const char *const *known);

	/*
	 * rcpt_skipped (ABI 1.4): 1 if a rule's skip at the RCPT of
	 * accepted recipient i (as rcpt() numbers them) named this plugin,
	 * else 0. Such a skip keeps the plugin's RCPT hook from running for
	 * that recipient only; a plugin that decides over every recipient
	 * later (at end of message) leaves it out with this. Check with
	 * FD_HOST_HAS(h, rcpt_skipped).
	 */
	int	 (*rcpt_skipped)(const struct fd_host *, const struct fd_txn *,
		    size_t i);

	/*
	 * want_macros (ABI 1.4): from init() only, ask the MTA for these
	 * macros at stage (one of FD_ST_CONNECT, HELO, MAIL, RCPT, DATA,
	 * EOH, EOM): names separated by spaces, each a single character or
	 * "{name}", e.g. "{rcpt_addr} {rcpt_host}". filterd asks the MTA
	 * for its own lists at each stage, and Postfix then sends those
	 * alone: without this, macro() sees only the core's and the rules'.
	 * 0, or -1 for another stage or a name of another shape (nothing is
	 * asked for then). Check with FD_HOST_HAS(h, want_macros).
	 */
	int	 (*want_macros)(const struct fd_host *, uint32_t stage,
		    const char *names);
};

/* FD_HOST_HAS - the host table h has member m (it may be older than the
 * header the plugin was built with) and m is set */
#define FD_HOST_HAS(h, m) \
	((h)->size >= offsetof(struct fd_host, m) + sizeof((h)->m) && \
	 (h)->m != NULL)

struct fd_plugin {
	/* Written by FD_PLUGIN_HEADER, never by hand. */
	uint32_t	 magic;
	uint16_t	 abi_major;
	uint16_t	 abi_minor;
	uint32_t	 size;

	const char	*name;		/* unique among loaded plugins */
	const char	*version;	/* the plugin's own, for logs */
	uint32_t	 stages;	/* FD_ST_* hooks it has */
	uint32_t	 flags;		/* FD_PF_* below */
	size_t		 conn_priv_size;	/* zeroed per connection */
	size_t		 msg_priv_size;		/* zeroed per message */

	/*
	 * init: parse the block, build the generation's state. Return 0, or
	 * -1 after reporting each problem through host->conf_error (or
	 * host->log for errors with no location). The host pointer stays
	 * valid until fini.
	 */
	int	 (*init)(const struct fd_host *, const struct fd_block *, void **state);
	void	 (*fini)(void *state);

	/* Stage hooks. NULL means no opinion at that stage. */
	enum fd_action (*on_connect)(struct fd_txn *, void *state, void *conn);
	enum fd_action (*on_helo)(struct fd_txn *, void *state, void *conn);
	enum fd_action (*on_mail)(struct fd_txn *, void *state, void *conn, void *msg);
	enum fd_action (*on_rcpt)(struct fd_txn *, void *state, void *conn, void *msg);
	enum fd_action (*on_data)(struct fd_txn *, void *state, void *conn, void *msg);
	enum fd_action (*on_header)(struct fd_txn *, void *state, void *conn, void *msg);
	enum fd_action (*on_eoh)(struct fd_txn *, void *state, void *conn, void *msg);
	enum fd_action (*on_body)(struct fd_txn *, void *state, void *conn, void *msg,
		    const unsigned char *chunk, size_t len);
	enum fd_action (*on_eom)(struct fd_txn *, void *state, void *conn, void *msg);

	/* End of a message (after EOM, on abort, or at close) and of a
	 * connection: release what the slots point to. The host frees the
	 * slots themselves. */
	void	 (*msg_end)(void *state, void *conn, void *msg);
	void	 (*conn_end)(void *state, void *conn);

	/*
	 * plan: at a stage, before the first plugin's hook of that stage,
	 * called for every plugin whose hook will be asked (the stage in its
	 * stages, not skipped by a rule) once no rule decided the stage.
	 * It decides nothing: it queues the store requests the stage hook
	 * will make (host->plan_grey, host->plan_rate), so that the stage
	 * costs one round trip to the store for all plugins. Optional; msg
	 * is NULL before MAIL.
	 */
	void	 (*plan)(struct fd_txn *, uint32_t stage, void *state,
		    void *conn, void *msg);

	/*
	 * check_set (ABI 1.1): at load, after init, once for each rule's
	 * `set NAME.PARAM VALUE` that names this plugin, so that a mistyped
	 * parameter or value is a configuration error at its place rather
	 * than a setting that never applies. Return FD_SET_OK, or
	 * FD_SET_BAD_PARAM / FD_SET_BAD_VALUE with a short phrase in why
	 * ("not a duration: 90s, 5m, 2h"). Without it every set is taken
	 * as written, and host->param() hands the value over as it is.
	 */
	int	 (*check_set)(void *state, const char *param, const char *value,
		    char *why, size_t whylen);

	void	*spare[6];	/* room to grow within one major */
};

/* What check_set found. */
#define FD_SET_OK		0
#define FD_SET_BAD_PARAM	1	/* no such parameter */
#define FD_SET_BAD_VALUE	2	/* a value the parameter cannot take */

/* Plugin flags. */
#define FD_PF_ADDHDR	0x1u	/* may add headers: ask the MTA for SMFIF_ADDHDRS */

#define FD_PLUGIN_HEADER \
	.magic = FD_PLUGIN_MAGIC, \
	.abi_major = FD_PLUGIN_ABI_MAJOR, \
	.abi_minor = FD_PLUGIN_ABI_MINOR, \
	.size = sizeof(struct fd_plugin)

#define FD_PLUGIN_EXPORT \
	__attribute__((visibility("default"))) \
	const struct fd_plugin filterd_plugin

#ifdef __cplusplus
}
#endif

#endif /* FILTERD_PLUGIN_H */
