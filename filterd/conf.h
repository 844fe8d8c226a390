/*
 * conf.h -- the parsed configuration
 *
 * fd_conf_load() reads a file (and what it includes) with the one grammar
 * in conf_parse.y and returns a complete, validated fd_conf, or NULL with
 * every problem in errs as "file:line:col: message". An fd_conf is never
 * modified after load: a reload builds a new one (see gen.h).
 *
 * Directives the core does not interpret itself (a plugin's block, the
 * store's options) are kept as a generic tree of fd_directive, each with
 * its location, so the component that reads them can report its own
 * errors at the right column.
 */
#ifndef FD_CONF_H
#define FD_CONF_H

#include <stdint.h>

#include "errs.h"

struct fd_ruleset;

/* One `name arg arg ... [{ block }]` line inside a block. */
struct fd_directive {
	char			*name;
	struct fd_loc		 loc;
	int			 argc;
	char			**argv;		/* unquoted argument text */
	struct fd_loc		*argloc;	/* argc entries */
	struct fd_block		*child;		/* nested { }, or NULL */
	struct fd_directive	*next;
};

struct fd_block {
	struct fd_loc		 loc;
	struct fd_directive	*head;
	struct fd_directive	*tail;
};

enum fd_log_target { FD_LOGT_SYSLOG = 0, FD_LOGT_STDERR };
enum fd_store_kind { FD_STORE_LMDB = 0, FD_STORE_REDIS };
enum fd_fail_policy { FD_FAIL_CONTINUE = 0, FD_FAIL_TEMPFAIL };

/* `plugin NAME [path "file.so"] { ... }` */
struct fd_plugin_conf {
	char			*name;
	char			*path;		/* NULL: plugin_dir/NAME.so */
	struct fd_loc		 loc;
	struct fd_loc		 file_loc;	/* of path, else of the name */
	struct fd_block		*block;		/* never NULL; may be empty */
	int			 on_store_error; /* -1: the global policy */
	struct fd_plugin_conf	*next;
};

/*
 * delay-reject: where a refusal reached at CONNECT, HELO or MAIL is given.
 * RCPT: at each RCPT, as Postfix's smtpd_delay_reject. EOM: at the first
 * later stage where something decides, end of message at the latest, so
 * that the MTA awaits no reply before that stage.
 */
enum fd_delay {
	FD_DELAY_NO = 0,
	FD_DELAY_RCPT,
	FD_DELAY_EOM
};

/*
 * The stack of each thread libmilter runs sessions on. glibc gives a
 * thread 8 MiB and keeps at most 40 MiB of stacks for reuse, five of
 * them; libmilter starts and ends worker threads all the time under
 * load, so most starts were a fresh mmap and most ends a munmap that
 * interrupts the other cores (docs/PERFORMANCE.md, round 5). The
 * deepest a session went under the bench was 40 KiB (a Redis call from
 * a plugin's plan); 256 KiB is also twice the 128 KiB musl gives every
 * thread, which the libraries filterd uses are written to fit in.
 */
#define FD_THREAD_STACK_DEFAULT	(256ULL * 1024)
#define FD_THREAD_STACK_MIN	(128ULL * 1024)
#define FD_THREAD_STACK_MAX	(256ULL * 1024 * 1024)

struct fd_conf {
	char			*path;		/* the top file */
	char			*dir;		/* its directory, for relative paths */

	char			*socket;	/* libmilter spec */
	char			*user;		/* NULL: stay as we are */
	char			*group;
	struct fd_loc		 user_loc;	/* of the names, for errors */
	struct fd_loc		 group_loc;
	int			 socket_mode;	/* -1: leave libmilter's */
	struct fd_loc		 socket_mode_loc;
	char			*pidfile;	/* NULL: none */
	enum fd_log_target	 log_target;
	int			 log_facility;	/* LOG_MAIL etc. */
	int			 log_level;	/* enum fd_level */
	int			 dry_run;	/* global: log, don't act */
	enum fd_delay		 delay_reject;	/* where early refusals are given */
	int64_t			 milter_timeout; /* seconds; libmilter's */
	uint64_t		 thread_stack;	/* bytes, libmilter's threads */

	enum fd_store_kind	 store_kind;
	char			*store_path;	/* LMDB directory or Redis URL */
	struct fd_loc		 store_loc;	/* of the path or URL */
	struct fd_block		*store_opts;	/* never NULL */
	enum fd_fail_policy	 on_store_error;

	char			*plugin_dir;
	unsigned		 nplugins;
	struct fd_plugin_conf	*plugins;	/* in file order */

	struct fd_ruleset	*rules;		/* never NULL */

	/* "file:line:col: warning: ..." for what loads but is likely a
	 * mistake: filterd -t prints them, a start or reload logs them */
	struct fd_errs		 warns;

	/* every file name a loc points to; freed with the conf */
	char			**files;
	unsigned		 nfiles;
};

/* fd_conf_load - parse and validate path; NULL if errs gained messages */
struct fd_conf	*fd_conf_load(const char *path, struct fd_errs *errs);
/* fd_conf_free - returns NULL */
struct fd_conf	*fd_conf_free(struct fd_conf *);

/* fd_plugin_index - index of the plugin named name in conf, or -1 */
int	 fd_conf_plugin_index(const struct fd_conf *, const char *name);
/* fd_hint - of cands (NULL-terminated), the one a typo of word most
 * likely meant ("did you mean"), or NULL if none is close */
const char	*fd_hint(const char *word, const char *const *cands);

#endif
