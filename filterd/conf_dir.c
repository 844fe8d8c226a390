/*
 * conf_dir.c -- the global directives (documented in conf_parse.y)
 *
 * The grammar reads every global directive the same way, `name arg ...
 * [{ block }]`, and hands it here; one small function per directive
 * checks its arguments and fills the conf. Keeping the names out of the
 * grammar keeps them plain words elsewhere (a plugin may have a `log`
 * parameter) and lets an unknown name get a "did you mean" hint.
 *
 * Directives that make sense once are an error the second time, with
 * the place of the first: a silently overridden socket is a trap.
 */
#include "config.h"

#include <arpa/inet.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>

#include "conf_int.h"
#include "log.h"
#include "units.h"
#include "xalloc.h"

struct dirdef {
	const char	*name;
	void		(*fn)(struct cparse *, struct fd_directive *);
	int		 minargs, maxargs;
	int		 once;		/* a second one is an error */
	int		 block;		/* may have a { } block */
	const char	*usage;
};

static void	 d_delay_reject(struct cparse *, struct fd_directive *);
static void	 d_dry_run(struct cparse *, struct fd_directive *);
static void	 d_group(struct cparse *, struct fd_directive *);
static void	 d_include(struct cparse *, struct fd_directive *);
static void	 d_log(struct cparse *, struct fd_directive *);
static void	 d_log_level(struct cparse *, struct fd_directive *);
static void	 d_milter_timeout(struct cparse *, struct fd_directive *);
static void	 d_on_store_error(struct cparse *, struct fd_directive *);
static void	 d_pidfile(struct cparse *, struct fd_directive *);
static void	 d_plugin(struct cparse *, struct fd_directive *);
static void	 d_plugin_dir(struct cparse *, struct fd_directive *);
static void	 d_socket(struct cparse *, struct fd_directive *);
static void	 d_socket_mode(struct cparse *, struct fd_directive *);
static void	 d_store(struct cparse *, struct fd_directive *);
static void	 d_thread_stack(struct cparse *, struct fd_directive *);
static void	 d_user(struct cparse *, struct fd_directive *);

static const struct dirdef dirs[] = {
	{ "delay-reject", d_delay_reject, 1, 1, 1, 0, "delay-reject no|rcpt|eom" },
	{ "dry-run", d_dry_run, 1, 1, 1, 0, "dry-run yes|no" },
	{ "group", d_group, 1, 1, 1, 0, "group NAME" },
	{ "include", d_include, 1, 1, 0, 0, "include \"FILE\"" },
	{ "log", d_log, 1, 2, 1, 0, "log stderr | log syslog [FACILITY]" },
	{ "log-level", d_log_level, 1, 1, 1, 0,
	    "log-level error|warning|notice|info|debug" },
	{ "milter-timeout", d_milter_timeout, 1, 1, 1, 0,
	    "milter-timeout DURATION" },
	{ "on-store-error", d_on_store_error, 1, 1, 1, 0,
	    "on-store-error continue|tempfail" },
	{ "pidfile", d_pidfile, 1, 1, 1, 0, "pidfile \"PATH\"" },
	{ "plugin", d_plugin, 1, 3, 0, 1,
	    "plugin NAME [path \"FILE.so\"] [{ ... }]" },
	{ "plugin-dir", d_plugin_dir, 1, 1, 1, 0, "plugin-dir \"DIR\"" },
	{ "socket", d_socket, 1, 1, 1, 0,
	    "socket \"inet:PORT@HOST\" | \"inet6:PORT@HOST\" | \"unix:PATH\"" },
	{ "socket-mode", d_socket_mode, 1, 1, 1, 0, "socket-mode 0660" },
	{ "store", d_store, 2, 2, 1, 1,
	    "store lmdb \"DIR\" [{ ... }] | store redis \"URL\" [{ ... }]" },
	{ "thread-stack-size", d_thread_stack, 1, 1, 1, 0,
	    "thread-stack-size SIZE" },
	{ "user", d_user, 1, 1, 1, 0, "user NAME" },
};

/* every statement name, for hints; NULL-terminated */
const char *const conf_dir_names[] = {
	"delay-reject", "dry-run", "group", "include", "log", "log-level", "milter-timeout",
	"on-store-error", "pidfile", "plugin", "plugin-dir", "socket",
	"socket-mode", "store", "thread-stack-size", "user", "table", "rule",
	NULL
};

/* arg_err - an error at argument i of d (at d if it has no such one) */
static void __attribute__((format(printf, 4, 5)))
arg_err(struct cparse *cp, const struct fd_directive *d, int i,
    const char *fmt, ...)
{
	char	 msg[512];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fd_errs_add(cp->errs, i < d->argc ? &d->argloc[i] : &d->loc, "%s",
	    msg);
}

/* set_str - replace a string setting */
static void
set_str(char **dst, char *v)
{
	free(*dst);
	*dst = v;
}

/* conf_directive - check the shape of d, then let its handler read it */
void
conf_directive(struct cparse *cp, struct fd_directive *d)
{
	const struct dirdef	*dd = NULL;
	const char		*hint;
	size_t			 i;

	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
		if (strcmp(dirs[i].name, d->name) == 0)
			dd = &dirs[i];
	if (dd == NULL) {
		hint = fd_hint(d->name, conf_dir_names);
		fd_errs_add(cp->errs, &d->loc, "unknown directive \"%s\"%s%s%s",
		    d->name, hint ? " (did you mean \"" : "", hint ? hint : "",
		    hint ? "\"?)" : "");
	} else if (dd->once && cp->seen[dd - dirs].line != 0) {
		fd_errs_add(cp->errs, &d->loc, "%s is already set at %s:%d:%d",
		    d->name, cp->seen[dd - dirs].file, cp->seen[dd - dirs].line,
		    cp->seen[dd - dirs].col);
	} else if (d->argc < dd->minargs || d->argc > dd->maxargs) {
		fd_errs_add(cp->errs, d->argc > dd->maxargs ?
		    &d->argloc[dd->maxargs] : &d->loc, "%s: wrong number of "
		    "arguments; usage: %s", d->name, dd->usage);
	} else if (d->child != NULL && !dd->block) {
		fd_errs_add(cp->errs, &d->child->loc, "%s takes no { } block",
		    d->name);
	} else {
		cp->seen[dd - dirs] = d->loc;
		dd->fn(cp, d);
	}
	fd_dir_free(d);
}

/* is_addr - s (n bytes) is an address of family af */
static int
is_addr(int af, const char *s, size_t n)
{
	char		 buf[INET6_ADDRSTRLEN];
	unsigned char	 a[16];

	if (n >= sizeof(buf))
		return 0;
	memcpy(buf, s, n);
	buf[n] = '\0';
	return inet_pton(af, buf, a) == 1;
}

/*
 * socket_host - the HOST of inet:PORT@HOST or inet6:PORT@HOST against
 * the family: libmilter binds inet: to IPv4 and inet6: to IPv6 only,
 * finds nothing in a literal of the other family, and then fails at
 * start with nothing to say. 0, or -1 with the error given.
 */
static int
socket_host(struct cparse *cp, struct fd_directive *d, const char *host)
{
	const char	*s = d->argv[0];
	int		 v6 = strncmp(s, "inet6:", 6) == 0;
	int		 af = v6 ? AF_INET6 : AF_INET;
	int		 other = v6 ? AF_INET : AF_INET6;
	size_t		 n = strlen(host);

	if (*host == '[') {
		n = n >= 2 && host[n - 1] == ']' ? n - 2 : 0;
		host++;
		if (n == 0 || (!is_addr(af, host, n) &&
		    !is_addr(other, host, n))) {
			arg_err(cp, d, 0, "socket \"%s\": brackets must "
			    "hold an %s address", s, v6 ? "IPv6" : "IPv4");
			return -1;
		}
	}
	if (!is_addr(other, host, n))
		return 0;
	arg_err(cp, d, 0, "socket \"%s\": %.*s is an %s address (use "
	    "\"%s%s\")", s, (int)n, host, v6 ? "IPv4" : "IPv6",
	    v6 ? "inet" : "inet6", strchr(s, ':'));
	return -1;
}

/* socket_rel - a unix socket's relative path p, of spec s, made
 * absolute against the file's directory, as every path is: else it
 * would depend on the directory filterd was started from */
static void
socket_rel(struct cparse *cp, const char *s, const char *p)
{
	char	*abs = cp_path(cp, p);

	set_str(&cp->conf->socket, fd_asprintf("%.*s%s", (int)(p - s), s,
	    abs));
	free(abs);
}

/* unix_path - the path of a unix socket spec (unix:P, local:P or a bare
 * /P; possibly empty), NULL for another kind */
static const char *
unix_path(const char *s)
{
	if (strncmp(s, "unix:", 5) == 0 || strncmp(s, "local:", 6) == 0)
		return strchr(s, ':') + 1;
	return s[0] == '/' ? s : NULL;
}

/* d_socket - a libmilter connection spec, checked for its shape */
static void
d_socket(struct cparse *cp, struct fd_directive *d)
{
	const char	*s = d->argv[0], *p, *at;
	long		 port;
	char		*end;

	if ((p = unix_path(s)) != NULL) {
		if (*p != '\0' && *p != '/') {
			socket_rel(cp, s, p);
			return;
		}
		if (*p != '\0')
			goto ok;
	} else if (strncmp(s, "inet:", 5) == 0 || strncmp(s, "inet6:", 6) == 0) {
		p = strchr(s, ':') + 1;
		at = strchr(p, '@');
		port = strtol(p, &end, 10);
		if (end != p && (end == at || (*end == '\0' && at == NULL)) &&
		    port > 0 && port < 65536 && (at == NULL || at[1] != '\0')) {
			if (at != NULL && socket_host(cp, d, at + 1) < 0)
				return;
			goto ok;
		}
	}
	arg_err(cp, d, 0, "bad socket \"%s\" (use \"inet:PORT@HOST\", "
	    "\"inet6:PORT@HOST\" or \"unix:/PATH\")", s);
	return;
ok:
	set_str(&cp->conf->socket, fd_strdup(s));
}

/* d_user, d_group - names; privs.c looks them up (filterd -t too) */
static void
d_user(struct cparse *cp, struct fd_directive *d)
{
	set_str(&cp->conf->user, fd_strdup(d->argv[0]));
	cp->conf->user_loc = d->argloc[0];
}

static void
d_group(struct cparse *cp, struct fd_directive *d)
{
	set_str(&cp->conf->group, fd_strdup(d->argv[0]));
	cp->conf->group_loc = d->argloc[0];
}

/* d_socket_mode - octal, at most 0777 */
static void
d_socket_mode(struct cparse *cp, struct fd_directive *d)
{
	const char	*s = d->argv[0];
	char		*end;
	long		 v;

	v = strtol(s, &end, 8);
	if (*s == '\0' || *end != '\0' || s[strspn(s, "01234567")] != '\0' ||
	    v < 0 || v > 0777) {
		arg_err(cp, d, 0, "bad socket-mode \"%s\" (an octal mode "
		    "such as 0660)", s);
		return;
	}
	cp->conf->socket_mode = (int)v;
	cp->conf->socket_mode_loc = d->argloc[0];
}

/* conf_dir_finish - what a directive means only with another one */
void
conf_dir_finish(struct cparse *cp)
{
	const struct fd_conf	*c = cp->conf;
	const char		*s = c->socket;

	/* the mode of a file: a TCP socket has none, and the setting would
	 * seem to guard what anyone on the host can reach */
	if (c->socket_mode >= 0 && s != NULL && unix_path(s) == NULL)
		fd_errs_add(&cp->conf->warns, &c->socket_mode_loc, "warning: "
		    "socket-mode applies to a unix socket only; %s is not one",
		    s);
}

/* d_pidfile, d_plugin_dir - paths relative to this file */
static void
d_pidfile(struct cparse *cp, struct fd_directive *d)
{
	set_str(&cp->conf->pidfile, cp_path(cp, d->argv[0]));
}

static void
d_plugin_dir(struct cparse *cp, struct fd_directive *d)
{
	set_str(&cp->conf->plugin_dir, cp_path(cp, d->argv[0]));
}

/* d_log - stderr, or syslog with a facility */
static void
d_log(struct cparse *cp, struct fd_directive *d)
{
	static const struct { const char *name; int fac; } facs[] = {
		{ "mail", LOG_MAIL }, { "daemon", LOG_DAEMON },
		{ "user", LOG_USER }, { "local0", LOG_LOCAL0 },
		{ "local1", LOG_LOCAL1 }, { "local2", LOG_LOCAL2 },
		{ "local3", LOG_LOCAL3 }, { "local4", LOG_LOCAL4 },
		{ "local5", LOG_LOCAL5 }, { "local6", LOG_LOCAL6 },
		{ "local7", LOG_LOCAL7 },
	};
	size_t	 i;

	if (strcmp(d->argv[0], "stderr") == 0 && d->argc == 1) {
		cp->conf->log_target = FD_LOGT_STDERR;
		return;
	}
	if (strcmp(d->argv[0], "syslog") != 0) {
		arg_err(cp, d, d->argc == 2 ? 1 : 0, "%s: usage: log stderr | "
		    "log syslog [FACILITY]", d->argv[0]);
		return;
	}
	cp->conf->log_target = FD_LOGT_SYSLOG;
	cp->conf->log_facility = LOG_MAIL;
	if (d->argc == 1)
		return;
	for (i = 0; i < sizeof(facs) / sizeof(facs[0]); i++) {
		if (strcmp(facs[i].name, d->argv[1]) == 0) {
			cp->conf->log_facility = facs[i].fac;
			return;
		}
	}
	arg_err(cp, d, 1, "unknown syslog facility \"%s\" (mail, daemon, "
	    "user, local0 ... local7)", d->argv[1]);
}

/* d_log_level - a level name */
static void
d_log_level(struct cparse *cp, struct fd_directive *d)
{
	static const struct { const char *name; int level; } levels[] = {
		{ "error", FD_LOG_ERR }, { "warning", FD_LOG_WARN },
		{ "notice", FD_LOG_NOTICE }, { "info", FD_LOG_INFO },
		{ "debug", FD_LOG_DEBUG },
	};
	size_t	 i;

	for (i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
		if (strcmp(levels[i].name, d->argv[0]) == 0) {
			cp->conf->log_level = levels[i].level;
			return;
		}
	}
	arg_err(cp, d, 0, "unknown log level \"%s\" (error, warning, notice, "
	    "info, debug)", d->argv[0]);
}

/* d_delay_reject - hold refusals reached before RCPT until RCPT or a
 * later stage; yes is rcpt, as in Postfix */
static void
d_delay_reject(struct cparse *cp, struct fd_directive *d)
{
	const char	*v = d->argv[0], *why;
	int		 b;

	if (strcasecmp(v, "rcpt") == 0)
		cp->conf->delay_reject = FD_DELAY_RCPT;
	else if (strcasecmp(v, "eom") == 0)
		cp->conf->delay_reject = FD_DELAY_EOM;
	else if (fd_units_bool(v, &b, &why) == 0)
		cp->conf->delay_reject = b ? FD_DELAY_RCPT : FD_DELAY_NO;
	else
		arg_err(cp, d, 0, "delay-reject: expected no, rcpt (or yes) "
		    "or eom");
}

/* d_dry_run - the global switch */
static void
d_dry_run(struct cparse *cp, struct fd_directive *d)
{
	const char	*why;

	if (fd_units_bool(d->argv[0], &cp->conf->dry_run, &why) < 0)
		arg_err(cp, d, 0, "dry-run: %s", why);
}

/*
 * d_milter_timeout - seconds. smfi_settimeout() takes an int: a value
 * past INT_MAX reached libmilter negative, and 0 was quietly left out
 * (libmilter's default applied). A year is past any timeout an MTA
 * keeps.
 */
#define MILTER_TIMEOUT_MAX	(365 * 86400)

static void
d_milter_timeout(struct cparse *cp, struct fd_directive *d)
{
	const char	*why;
	int64_t		 v;

	if (fd_units_duration(d->argv[0], &v, &why) < 0)
		arg_err(cp, d, 0, "milter-timeout: %s", why);
	else if (v < 1 || v > MILTER_TIMEOUT_MAX)
		arg_err(cp, d, 0, "milter-timeout: %s is outside 1s..365d",
		    d->argv[0]);
	else
		cp->conf->milter_timeout = v;
}

/* d_thread_stack - bytes, within the bounds conf.h gives */
static void
d_thread_stack(struct cparse *cp, struct fd_directive *d)
{
	const char	*why;
	uint64_t	 v;

	if (fd_units_size(d->argv[0], &v, &why) < 0) {
		arg_err(cp, d, 0, "thread-stack-size: %s", why);
		return;
	}
	if (v < FD_THREAD_STACK_MIN || v > FD_THREAD_STACK_MAX) {
		arg_err(cp, d, 0, "thread-stack-size: %s is outside 128k..256M",
		    d->argv[0]);
		return;
	}
	cp->conf->thread_stack = v;
}

/* fail_policy - "continue" or "tempfail" at argument 0 of d */
static int
fail_policy(struct cparse *cp, const struct fd_directive *d)
{
	if (d->argc == 1 && strcmp(d->argv[0], "continue") == 0)
		return FD_FAIL_CONTINUE;
	if (d->argc == 1 && strcmp(d->argv[0], "tempfail") == 0)
		return FD_FAIL_TEMPFAIL;
	fd_errs_add(cp->errs, d->argc ? &d->argloc[0] : &d->loc,
	    "on-store-error takes continue or tempfail");
	return -1;
}

/* d_on_store_error - the global policy */
static void
d_on_store_error(struct cparse *cp, struct fd_directive *d)
{
	int	 p = fail_policy(cp, d);

	if (p >= 0)
		cp->conf->on_store_error = (enum fd_fail_policy)p;
}

/* d_store - backend, its path or URL, and its options untouched */
static void
d_store(struct cparse *cp, struct fd_directive *d)
{
	struct fd_conf	*c = cp->conf;

	if (strcmp(d->argv[0], "lmdb") == 0) {
		c->store_kind = FD_STORE_LMDB;
		set_str(&c->store_path, cp_path(cp, d->argv[1]));
	} else if (strcmp(d->argv[0], "redis") == 0) {
		c->store_kind = FD_STORE_REDIS;
		set_str(&c->store_path, fd_strdup(d->argv[1]));
	} else {
		arg_err(cp, d, 0, "unknown store \"%s\" (lmdb or redis)",
		    d->argv[0]);
		return;
	}
	/* the store reads the URL or directory later: its errors point here */
	c->store_loc = d->argloc[1];
	if (d->child != NULL) {
		fd_block_free(c->store_opts);
		c->store_opts = d->child;
		d->child = NULL;
	}
}

/* d_include - a nested parse */
static void
d_include(struct cparse *cp, struct fd_directive *d)
{
	cp_include(cp, d->argv[0], &d->argloc[0]);
}

/* plugin_name_ok - letters, digits, '-' and '_' */
static int
plugin_name_ok(const char *s)
{
	return *s != '\0' && s[strspn(s, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")] == '\0';
}

/* plugin_policy - take `on-store-error` out of the plugin's block */
static void
plugin_policy(struct cparse *cp, struct fd_plugin_conf *p)
{
	struct fd_directive	*d, *prev = NULL, *next;
	int			 seen = 0, v;

	for (d = p->block->head; d != NULL; d = next) {
		next = d->next;
		if (strcmp(d->name, "on-store-error") != 0) {
			/* the plugin ABI has no way to read a nested block:
			 * taken, its settings would be lost without a word */
			if (d->child != NULL)
				fd_errs_add(cp->errs, &d->child->loc, "plugin "
				    "%s: %s takes no { } block", p->name,
				    d->name);
			prev = d;
			continue;
		}
		if (seen++)
			fd_errs_add(cp->errs, &d->loc, "on-store-error is "
			    "already set for plugin %s", p->name);
		else if (d->child != NULL)
			fd_errs_add(cp->errs, &d->child->loc, "on-store-error "
			    "takes no { } block");
		else if ((v = fail_policy(cp, d)) >= 0)
			p->on_store_error = v;
		if (prev != NULL)
			prev->next = next;
		else
			p->block->head = next;
		if (p->block->tail == d)
			p->block->tail = prev;
		fd_dir_free(d);
	}
}

/* d_plugin - declare a plugin: name, optional path, its block */
static void
d_plugin(struct cparse *cp, struct fd_directive *d)
{
	struct fd_plugin_conf	*p, *q;

	if (!plugin_name_ok(d->argv[0])) {
		arg_err(cp, d, 0, "bad plugin name \"%s\" (letters, digits, "
		    "- and _)", d->argv[0]);
		return;
	}
	if (d->argc == 2 || (d->argc == 3 && strcmp(d->argv[1], "path"))) {
		arg_err(cp, d, 1, "unexpected \"%s\"; usage: plugin NAME "
		    "[path \"FILE.so\"] [{ ... }]", d->argv[1]);
		return;
	}
	for (q = cp->conf->plugins; q != NULL; q = q->next) {
		if (strcmp(q->name, d->argv[0]) == 0) {
			fd_errs_add(cp->errs, &d->argloc[0], "plugin %s is "
			    "already declared at %s:%d:%d", q->name,
			    q->loc.file, q->loc.line, q->loc.col);
			return;
		}
	}
	p = fd_calloc(1, sizeof(*p));
	p->name = fd_strdup(d->argv[0]);
	p->path = d->argc == 3 ? cp_path(cp, d->argv[2]) : NULL;
	p->loc = d->loc;
	/* what is wrong with the file is told where the file is named */
	p->file_loc = d->argloc[d->argc == 3 ? 2 : 0];
	p->on_store_error = -1;
	p->block = d->child ? d->child : fd_block_new(&d->loc);
	d->child = NULL;
	plugin_policy(cp, p);
	if (cp->ptail != NULL)
		cp->ptail->next = p;
	else
		cp->conf->plugins = p;
	cp->ptail = p;
	cp->conf->nplugins++;
}
