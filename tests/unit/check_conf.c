/*
 * check_conf.c -- the config language: settings, blocks, tables, errors
 *
 * Valid input is checked field by field in the fd_conf it produces;
 * every error class is checked by its exact "file:line:col: message".
 * tests/conf/errors.conf holds one mistake of each kind and
 * tests/conf/errors.expected what loading it must report, in order.
 * Small cases are written to a temp directory by the tests themselves.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "conf.h"
#include "errs.h"
#include "filterd/plugin.h"
#include "rule.h"
#include "store.h"

static char		 tmpdir[PATH_MAX];
static struct fd_errs	 errs;

/* confdir - $top_srcdir/tests/conf, absolute */
static const char *
confdir(void)
{
	static char	 buf[PATH_MAX];
	const char	*top = getenv("top_srcdir");

	snprintf(buf, sizeof(buf), "%s/tests/conf", top ? top : ".");
	return buf;
}

/* rm_one - nftw callback removing one file or directory */
static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void
setup(void)
{
	const char	*t = getenv("TMPDIR");

	snprintf(tmpdir, sizeof(tmpdir), "%s/check_conf.XXXXXX", t ? t : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	ck_assert_int_eq(chdir(tmpdir), 0);
}

static void
teardown(void)
{
	fd_errs_clear(&errs);
	if (chdir("/") == 0)
		nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* put - write a file in the temp dir (the current directory) */
static void
put(const char *name, const char *text)
{
	FILE	*f = fopen(name, "w");

	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
}

/* put_bytes - write n bytes, NULs included */
static void
put_bytes(const char *name, const char *bytes, size_t n)
{
	FILE	*f = fopen(name, "w");

	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(bytes, 1, n, f), n);
	ck_assert_int_eq(fclose(f), 0);
}

/* load - main.conf with text; errors land in errs */
static struct fd_conf *
load(const char *text)
{
	put("main.conf", text);
	return fd_conf_load("main.conf", &errs);
}

/* all_errors - the messages, one per line, for failure output */
static const char *
all_errors(void)
{
	static char	 buf[8192];
	size_t		 i, o = 0;

	buf[0] = '\0';
	for (i = 0; i < errs.n && o < sizeof(buf); i++)
		o += (size_t)snprintf(buf + o, sizeof(buf) - o, "\n  %s",
		    errs.msg[i]);
	return buf;
}

/* expect_error - text fails to load and reports want (among others) */
static void
expect_error(const char *text, const char *want)
{
	struct fd_conf	*c = load(text);
	size_t		 i;

	ck_assert_msg(c == NULL, "loaded, expected: %s", want);
	for (i = 0; i < errs.n; i++)
		if (strcmp(errs.msg[i], want) == 0)
			return;
	ck_abort_msg("expected: %s\ngot:%s", want, all_errors());
}

/* expect_ok - text loads */
static struct fd_conf *
expect_ok(const char *text)
{
	struct fd_conf	*c = load(text);

	ck_assert_msg(c != NULL, "errors:%s", all_errors());
	ck_assert_uint_eq(errs.n, 0);
	return c;
}

/* dir_arg - argument i of the directive named name in block b */
static const struct fd_directive *
dir_find(const struct fd_block *b, const char *name)
{
	const struct fd_directive	*d;

	for (d = b->head; d != NULL; d = d->next)
		if (strcmp(d->name, name) == 0)
			return d;
	return NULL;
}

START_TEST(defaults)
{
	struct fd_conf	*c = expect_ok("# nothing but a comment\n");

	ck_assert_str_eq(c->socket, "inet:8890@127.0.0.1");
	ck_assert_ptr_null(c->user);
	ck_assert_ptr_null(c->group);
	ck_assert_int_eq(c->socket_mode, -1);
	ck_assert_ptr_null(c->pidfile);
	ck_assert_int_eq(c->log_target, FD_LOGT_SYSLOG);
	ck_assert_int_eq(c->log_facility, LOG_MAIL);
	ck_assert_int_eq(c->log_level, FD_LOG_INFO);
	ck_assert_int_eq(c->dry_run, 0);
	ck_assert_uint_eq(c->thread_stack, 256 * 1024);
	ck_assert_int_eq(c->store_kind, FD_STORE_LMDB);
	ck_assert_str_eq(c->store_path, "/var/lib/filterd");
	ck_assert_ptr_nonnull(c->store_opts);
	ck_assert_ptr_null(c->store_opts->head);
	ck_assert_int_eq(c->on_store_error, FD_FAIL_CONTINUE);
	ck_assert_str_eq(c->plugin_dir, FD_PKGLIBDIR);
	ck_assert_uint_eq(c->nplugins, 0);
	ck_assert_ptr_null(c->plugins);
	ck_assert_ptr_nonnull(c->rules);
	ck_assert_uint_eq(fd_rules_stages(c->rules), 0);
	ck_assert_str_eq(c->dir, tmpdir);
	fd_conf_free(c);
}
END_TEST

START_TEST(empty_file)
{
	struct fd_conf	*c = expect_ok("");

	ck_assert_uint_eq(c->nplugins, 0);
	fd_conf_free(c);
}
END_TEST

START_TEST(valid_file)
{
	char				 path[PATH_MAX + 32], want[PATH_MAX + 64];
	const struct fd_plugin_conf	*p;
	const struct fd_directive	*d;
	struct fd_conf			*c;

	snprintf(path, sizeof(path), "%s/valid.conf", confdir());
	c = fd_conf_load(path, &errs);
	ck_assert_msg(c != NULL, "errors:%s", all_errors());
	ck_assert_str_eq(c->socket, "unix:/run/filterd/filterd.sock");
	ck_assert_str_eq(c->user, "filterd");
	ck_assert_str_eq(c->group, "mail");
	ck_assert_int_eq(c->socket_mode, 0660);
	/* relative paths: against the directory of the file naming them */
	snprintf(want, sizeof(want), "%s/run/filterd.pid", c->dir);
	ck_assert_str_eq(c->pidfile, want);
	snprintf(want, sizeof(want), "%s/plugins", c->dir);
	ck_assert_str_eq(c->plugin_dir, want);
	ck_assert_int_eq(c->log_target, FD_LOGT_SYSLOG);
	ck_assert_int_eq(c->log_facility, LOG_LOCAL3);
	ck_assert_int_eq(c->log_level, FD_LOG_DEBUG);
	ck_assert_int_eq(c->milter_timeout, 120);
	ck_assert_uint_eq(c->thread_stack, 1024 * 1024);
	ck_assert_int_eq(c->on_store_error, FD_FAIL_TEMPFAIL);
	ck_assert_int_eq(c->store_kind, FD_STORE_REDIS);
	ck_assert_str_eq(c->store_path, "redis://127.0.0.1:6379/0");
	ck_assert_int_eq(c->store_loc.line, 12);
	d = dir_find(c->store_opts, "timeout");
	ck_assert_ptr_nonnull(d);
	ck_assert_int_eq(d->argc, 1);
	ck_assert_str_eq(d->argv[0], "250ms");
	ck_assert_int_eq(d->loc.line, 14);
	ck_assert_int_eq(d->loc.col, 2);
	ck_assert_int_eq(d->argloc[0].col, 10);
	ck_assert_str_eq(dir_find(c->store_opts, "prefix")->argv[0], "filterd:");

	/* plugins in file order, from the included file */
	ck_assert_uint_eq(c->nplugins, 3);
	p = c->plugins;
	ck_assert_str_eq(p->name, "greylist");
	ck_assert_ptr_null(p->path);
	ck_assert_int_eq(p->on_store_error, FD_FAIL_CONTINUE);
	ck_assert_int_eq(p->loc.line, 2);
	ck_assert_ptr_nonnull(strstr(p->loc.file, "inc/plugins.conf"));
	/* on-store-error is taken out of the block, the rest stays */
	ck_assert_ptr_null(dir_find(p->block, "on-store-error"));
	d = p->block->head;
	ck_assert_str_eq(d->name, "delay");
	ck_assert_str_eq(d->argv[0], "5m");
	d = d->next;
	ck_assert_str_eq(d->name, "auto-whitelist");
	ck_assert_int_eq(d->argc, 2);
	ck_assert_str_eq(d->argv[1], "35d");
	ck_assert_ptr_eq(p->block->tail, d);
	ck_assert_ptr_null(d->next);
	p = p->next;
	ck_assert_str_eq(p->name, "helo");
	snprintf(want, sizeof(want), "%s/inc/helo-test.so", c->dir);
	ck_assert_str_eq(p->path, want);
	ck_assert_int_eq(p->on_store_error, -1);
	ck_assert_str_eq(p->block->head->name, "require-fqdn");
	p = p->next;
	ck_assert_str_eq(p->name, "ratelimit");
	ck_assert_ptr_nonnull(p->block);
	ck_assert_ptr_null(p->block->head);
	ck_assert_ptr_null(p->next);
	ck_assert_int_eq(fd_conf_plugin_index(c, "greylist"), 0);
	ck_assert_int_eq(fd_conf_plugin_index(c, "helo"), 1);
	ck_assert_int_eq(fd_conf_plugin_index(c, "ratelimit"), 2);
	ck_assert_int_eq(fd_conf_plugin_index(c, "nope"), -1);

	ck_assert_uint_eq(fd_rules_stages(c->rules), FD_ST_CONNECT | FD_ST_HELO);
	fd_conf_free(c);
}
END_TEST

/*
 * libmilter binds inet: to IPv4 and inet6: to IPv6 only, and finds no
 * address in a literal of the other family: filterd would stop at start
 * with nothing more to say, so -t names the mix-up.
 */
START_TEST(socket_family)
{
	static const char *const ok[] = { "inet:8890@127.0.0.1",
	    "inet:8890@[127.0.0.1]", "inet:8890@localhost", "inet:8890",
	    "inet6:8890@::1", "inet6:8890@[::1]", "inet6:8890@localhost",
	    "inet6:8890@[2001:db8::25]" };
	struct fd_conf	*c;
	char		 text[128];
	size_t		 i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		snprintf(text, sizeof(text), "socket \"%s\"\n", ok[i]);
		c = expect_ok(text);
		ck_assert_str_eq(c->socket, ok[i]);
		fd_conf_free(c);
	}
	expect_error("socket \"inet:8890@[::1]\"\n", "main.conf:1:8: socket "
	    "\"inet:8890@[::1]\": ::1 is an IPv6 address (use "
	    "\"inet6:8890@[::1]\")");
	fd_errs_clear(&errs);
	expect_error("socket \"inet:8890@::1\"\n", "main.conf:1:8: socket "
	    "\"inet:8890@::1\": ::1 is an IPv6 address (use "
	    "\"inet6:8890@::1\")");
	fd_errs_clear(&errs);
	expect_error("socket \"inet6:8890@127.0.0.1\"\n", "main.conf:1:8: "
	    "socket \"inet6:8890@127.0.0.1\": 127.0.0.1 is an IPv4 address "
	    "(use \"inet:8890@127.0.0.1\")");
	fd_errs_clear(&errs);
	expect_error("socket \"inet6:8890@[127.0.0.1]\"\n", "main.conf:1:8: "
	    "socket \"inet6:8890@[127.0.0.1]\": 127.0.0.1 is an IPv4 address "
	    "(use \"inet:8890@[127.0.0.1]\")");
	fd_errs_clear(&errs);
	expect_error("socket \"inet:8890@[mx.example]\"\n", "main.conf:1:8: "
	    "socket \"inet:8890@[mx.example]\": brackets must hold an IPv4 "
	    "address");
	fd_errs_clear(&errs);
	expect_error("socket \"inet6:8890@[::1\"\n", "main.conf:1:8: "
	    "socket \"inet6:8890@[::1\": brackets must hold an IPv6 address");
}
END_TEST

/* a unix socket's relative path is the file's directory's, as every
 * path is; it used to be the directory filterd was started from */
START_TEST(socket_relative)
{
	static const char *const specs[][2] = {
	    { "unix:", "run/filterd.sock" }, { "local:", "filterd.sock" } };
	struct fd_conf	*c;
	char		 cwd[4096], text[128], want[4200];
	size_t		 i;

	ck_assert_ptr_nonnull(getcwd(cwd, sizeof(cwd)));
	ck_assert_int_eq(mkdir("sub", 0755) == 0 || errno == EEXIST, 1);
	for (i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
		snprintf(text, sizeof(text), "socket \"%s%s\"\n", specs[i][0],
		    specs[i][1]);
		put("sub/s.conf", text);
		c = fd_conf_load("sub/s.conf", &errs);
		ck_assert_msg(c != NULL, "errors:%s", all_errors());
		snprintf(want, sizeof(want), "%s%s/sub/%s", specs[i][0], cwd,
		    specs[i][1]);
		ck_assert_str_eq(c->socket, want);
		fd_conf_free(c);
	}
	c = expect_ok("socket \"unix:/run/f.sock\"\n");
	ck_assert_str_eq(c->socket, "unix:/run/f.sock");
	fd_conf_free(c);
}
END_TEST

START_TEST(statement_syntax)
{
	/* ';' and newlines end statements; '\' continues; newlines after
	 * '{' ',' and inside rules after ( and or not if */
	struct fd_conf	*c = expect_ok(
	    "user a; group b   # comment\n"
	    "socket \\\n"
	    "   \"inet6:8890@::1\"\n"
	    "\n\n"
	    "plugin p {\n"
	    "   x \"a \\\"quoted\\\" \\\\ word\" y=z 10.0.0.0/8 2001:db8::/32 -1\n"
	    "}\n"
	    "table t {\n  a.example,\n  b.example\n  c.example,\n}\n"
	    "rule r on rcpt if\n (helo == a or\n not\n helo == b) and\n"
	    "   rcpt in { x@y,\n z@y } accept\n");
	const struct fd_directive *d;

	ck_assert_str_eq(c->user, "a");
	ck_assert_str_eq(c->group, "b");
	ck_assert_str_eq(c->socket, "inet6:8890@::1");
	d = c->plugins->block->head;
	ck_assert_str_eq(d->name, "x");
	ck_assert_int_eq(d->argc, 5);
	ck_assert_str_eq(d->argv[0], "a \"quoted\" \\ word");
	ck_assert_str_eq(d->argv[1], "y=z");
	ck_assert_str_eq(d->argv[2], "10.0.0.0/8");
	ck_assert_str_eq(d->argv[3], "2001:db8::/32");
	ck_assert_str_eq(d->argv[4], "-1");
	ck_assert_int_eq(d->argloc[4].line, 7);
	ck_assert_int_eq(d->argloc[4].col, 58);
	ck_assert_ptr_null(d->child);
	fd_conf_free(c);
	/* "{j}" scans as a macro: in a block it is a nested block, which no
	 * plugin could read */
	expect_error("plugin p {\n   x y {j}\n}\n",
	    "main.conf:2:8: plugin p: x takes no { } block");
}
END_TEST

START_TEST(log_targets)
{
	struct fd_conf	*c;

	c = expect_ok("log stderr\n");
	ck_assert_int_eq(c->log_target, FD_LOGT_STDERR);
	fd_conf_free(c);
	c = expect_ok("log syslog\nlog-level warning\n");
	ck_assert_int_eq(c->log_target, FD_LOGT_SYSLOG);
	ck_assert_int_eq(c->log_facility, LOG_MAIL);
	ck_assert_int_eq(c->log_level, FD_LOG_WARN);
	fd_conf_free(c);
	c = expect_ok("log syslog daemon\ndry-run yes\nstore lmdb /abs/db\n");
	ck_assert_int_eq(c->log_facility, LOG_DAEMON);
	ck_assert_int_eq(c->dry_run, 1);
	ck_assert_int_eq(c->delay_reject, 0);
	ck_assert_str_eq(c->store_path, "/abs/db");
	fd_conf_free(c);
	c = expect_ok("delay-reject yes\n");
	ck_assert_int_eq(c->delay_reject, FD_DELAY_RCPT);
	fd_conf_free(c);
	c = expect_ok("delay-reject rcpt\n");
	ck_assert_int_eq(c->delay_reject, FD_DELAY_RCPT);
	fd_conf_free(c);
	c = expect_ok("delay-reject EOM\n");
	ck_assert_int_eq(c->delay_reject, FD_DELAY_EOM);
	fd_conf_free(c);
	c = expect_ok("delay-reject off\n");
	ck_assert_int_eq(c->delay_reject, FD_DELAY_NO);
	fd_conf_free(c);
	expect_error("delay-reject later\n",
	    "main.conf:1:14: delay-reject: expected no, rcpt (or yes) or eom");
	fd_errs_clear(&errs);
}
END_TEST

START_TEST(reload_twice)
{
	/* no hidden parser state: the same text loads twice alike */
	const char	*text = "plugin a {}\nrule r on rcpt skip a\n";
	struct fd_conf	*c1 = expect_ok(text), *c2 = expect_ok(text);

	ck_assert_uint_eq(c1->nplugins, c2->nplugins);
	ck_assert_uint_eq(fd_rules_stages(c1->rules),
	    fd_rules_stages(c2->rules));
	fd_conf_free(c1);
	fd_conf_free(c2);
	expect_error("rule r on rcpt skip a\n",
	    "main.conf:1:21: unknown plugin \"a\"; declare it with plugin a "
	    "{ ... }");
	fd_errs_clear(&errs);
	c1 = expect_ok(text);
	fd_conf_free(c1);
}
END_TEST

START_TEST(errors_file)
{
	char	 line[1024];
	FILE	*f;
	size_t	 i = 0, n;

	ck_assert_int_eq(chdir(confdir()), 0);
	ck_assert_ptr_null(fd_conf_load("errors.conf", &errs));
	f = fopen("errors.expected", "r");
	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), f) != NULL) {
		if (line[0] == '#')
			continue;
		n = strcspn(line, "\n");
		line[n] = '\0';
		ck_assert_msg(i < errs.n, "missing: %s", line);
		ck_assert_str_eq(errs.msg[i], line);
		i++;
	}
	fclose(f);
	ck_assert_msg(i == errs.n, "more errors than expected:%s", all_errors());
	ck_assert_uint_ge(i, 40);
}
END_TEST

START_TEST(error_syntax)
{
	expect_error("rule r on rcpt if rcpt == \"a\" rejct\n",
	    "main.conf:1:31: syntax error: unexpected \"rejct\", expected "
	    "\"accept\", \"add-header\", \"and\", \"discard\", \"log\", "
	    "\"or\", \"reject\", \"set\", \"skip\" or \"tempfail\" (did you "
	    "mean \"reject\"?)");
	fd_errs_clear(&errs);
	expect_error("rule r on rcpt\n",
	    "main.conf:1:15: syntax error: unexpected end of line, expected "
	    "\"accept\", \"add-header\", \"discard\", \"dry-run\", \"if\", "
	    "\"log\", \"reject\", \"set\", \"skip\" or \"tempfail\"");
	fd_errs_clear(&errs);
	expect_error("table t { a, b\n",
	    "main.conf:2:1: syntax error: unexpected end of file, expected "
	    "a word, a \"string\" or '}' (the { at 1:9 is not closed)");
	fd_errs_clear(&errs);
	expect_error("user a b;\n", "main.conf:1:8: user: wrong number of "
	    "arguments; usage: user NAME");
	fd_errs_clear(&errs);
	/* an operator written into the field's word: the message used to
	 * name only the action the parser stopped at */
	expect_error("rule r on helo if helo==\"x\" accept\n", "main.conf:1:19: "
	    "\"helo==\" holds an operator: write it as a word of its own, "
	    "helo == \"x\"");
	fd_errs_clear(&errs);
	/* a string is named as one, in quotes of the message's own: it
	 * read "\"helo\"" */
	expect_error("rule r on helo if \"helo\" == x accept\n", "main.conf:"
	    "1:19: syntax error: unexpected string \"helo\", expected a word, "
	    "a {macro}, \"not\" or '('");
	fd_errs_clear(&errs);
	/* a long one is kept cut: no quote of its own shows either */
	expect_error("rule r on helo if \"a very long string of more than "
	    "forty-eight characters\" == x accept\n", "main.conf:1:19: "
	    "syntax error: unexpected string \"a very long string of more "
	    "than forty-eight ch...\", expected a word, a {macro}, \"not\" or '('");
	fd_errs_clear(&errs);
	expect_error("rule r on helo if == x accept\n", "main.conf:1:19: "
	    "syntax error: unexpected \"==\", expected a word, a {macro}, "
	    "\"not\" or '('");
	fd_errs_clear(&errs);
	expect_error("rule r on helo if helo==x accept\n", "main.conf:1:27: "
	    "syntax error: unexpected \"accept\" (\"helo==x\" holds an "
	    "operator: write it as a word of its own, helo == x)");
	fd_errs_clear(&errs);
	/* the language has no `=`: the hint names the operator meant */
	expect_error("rule r on helo if helo=x accept\n", "main.conf:1:26: "
	    "syntax error: unexpected \"accept\" (\"helo=x\" holds an "
	    "operator: write it as a word of its own, helo == x)");
	fd_errs_clear(&errs);
	/* one message for the mistake, not a second for "helo=" as a field */
	expect_error("rule r on helo if helo=~/x/ accept\n", "main.conf:1:19: "
	    "\"helo=\" holds an operator: write it as a word of its own, "
	    "helo == VALUE or helo ~ /REGEX/");
	ck_assert_uint_eq(errs.n, 1);
	fd_errs_clear(&errs);
	/* a value that looks so is no field: no hint */
	load("rule r on rcpt if rcpt == rcpt=x rejct\n");
	ck_assert_uint_eq(errs.n, 1);
	ck_assert_ptr_null(strstr(errs.msg[0], "holds an operator"));
}
END_TEST

START_TEST(error_recovery)
{
	/* every bad statement is reported, the good ones around still read */
	struct fd_conf	*c = load(
	    "user ok\n"
	    "rule a on rcpt if ( accept\n"
	    "socket \"inet:1@x\"\n"
	    "plugin p { x { ; } ) y; z }\n"
	    "rule b on rcpt if helo == x reject 450 4.7.1\n"
	    "bogus directive\n");

	ck_assert_ptr_null(c);
	ck_assert_uint_eq(errs.n, 4);
	ck_assert_str_eq(errs.msg[0], "main.conf:2:21: syntax error: unexpected "
	    "\"accept\", expected a word, a {macro}, \"not\" or '('");
	ck_assert_str_eq(errs.msg[1], "main.conf:4:20: syntax error: unexpected "
	    "')', expected end of line or '}'");
	ck_assert_str_eq(errs.msg[2], "main.conf:5:36: reject needs a 5xx reply "
	    "code, not 450");
	ck_assert_str_eq(errs.msg[3], "main.conf:6:1: unknown directive "
	    "\"bogus\"");
}
END_TEST

/*
 * A block or list left open runs to the end of the file, where the parse
 * stops: the message says which brace was never closed, which may be
 * many lines up.
 */
START_TEST(error_unclosed_brace)
{
	expect_error("plugin greylist { delay 5m\n"
	    "table t { 192.0.2.1 }\nrule r on helo reject\n",
	    "main.conf:4:1: syntax error: unexpected end of file, expected "
	    "a word or '}' (the { at 1:17 is not closed)");
	ck_assert_uint_eq(errs.n, 1);
}
END_TEST

START_TEST(error_hints)
{
	expect_error("sokcet \"inet:8890@127.0.0.1\"\n",
	    "main.conf:1:1: unknown directive \"sokcet\" (did you mean "
	    "\"socket\"?)");
	fd_errs_clear(&errs);
	expect_error("plugin greylist {}\nrule r on rcpt skip greylst\n",
	    "main.conf:2:21: unknown plugin \"greylst\" (did you mean "
	    "\"greylist\"?); declare it with plugin greylst { ... }");
	fd_errs_clear(&errs);
	expect_error("rule r on rcpt if rcpt-domian == x accept\n",
	    "main.conf:1:19: unknown field \"rcpt-domian\" (did you mean "
	    "\"rcpt-domain\"?)");
	fd_errs_clear(&errs);
	expect_error("rule r on rcpt if {client_adr} set accept\n",
	    "main.conf:1:19: unknown macro {client_adr} (did you mean "
	    "\"client_addr\"?)");
	fd_errs_clear(&errs);
	expect_error("table trusted { ::1 }\n"
	    "rule r on connect if client-ip in <trustd> accept\n",
	    "main.conf:2:35: unknown table <trustd> (did you mean "
	    "\"trusted\"?)");
}
END_TEST

START_TEST(error_plugins)
{
	expect_error("plugin a {}\nplugin a {}\n",
	    "main.conf:2:8: plugin a is already declared at main.conf:1:1");
	fd_errs_clear(&errs);
	expect_error("plugin a { on-store-error maybe }\n",
	    "main.conf:1:27: on-store-error takes continue or tempfail");
	fd_errs_clear(&errs);
	expect_error("plugin a b c\n",
	    "main.conf:1:10: unexpected \"b\"; usage: plugin NAME "
	    "[path \"FILE.so\"] [{ ... }]");
	fd_errs_clear(&errs);
	expect_error("plugin a/b\n", "main.conf:1:8: bad plugin name \"a/b\" "
	    "(letters, digits, - and _)");
	fd_errs_clear(&errs);
	expect_error("plugin a { on-store-error continue; on-store-error "
	    "tempfail }\n", "main.conf:1:37: on-store-error is already set for "
	    "plugin a");
}
END_TEST

START_TEST(error_cidr)
{
	expect_error("table t { 10.0.0.1/8 }\n",
	    "main.conf:1:11: host bits set in \"10.0.0.1/8\" (the network is "
	    "10.0.0.0/8)");
	fd_errs_clear(&errs);
	expect_error("rule r on connect if client-ip == 2001:db8::/129 accept\n",
	    "main.conf:1:35: client-ip == needs an address or CIDR: bad prefix "
	    "length \"129\" (0 to 128)");
	fd_errs_clear(&errs);
	/* shown whole: it was cut to 8 characters, "42949673" */
	expect_error("table t { 1.2.3.4/4294967320 }\n",
	    "main.conf:1:11: bad prefix length \"4294967320\" (0 to 32)");
	fd_errs_clear(&errs);
	/* an inline list for client-ip must hold addresses only */
	expect_error("rule r on connect if client-ip in { 10.0.0.0/8, x.example "
	    "} accept\n", "main.conf:1:49: \"x.example\" is not an IPv4 or IPv6 "
	    "address");
}
END_TEST

START_TEST(error_regex)
{
	expect_error("rule r on helo if helo ~ /a(b/ accept\n",
	    "main.conf:1:26: invalid regex: missing closing parenthesis at "
	    "offset 3");
	fd_errs_clear(&errs);
	expect_error("rule r on helo if helo ~ /a/z accept\n",
	    "main.conf:1:26: unknown regex flag 'z' (use i, x, s, m or u)");
	fd_errs_clear(&errs);
	expect_error("rule r on helo if helo ~ /abc accept\n",
	    "main.conf:1:26: unterminated regex: no closing /");
	fd_errs_clear(&errs);
	put("bad.pcre", "# ok\n/ok/\n  /a[/i\n");
	expect_error("table t regex file \"bad.pcre\"\n",
	    "bad.pcre:3:3: invalid regex: missing terminating ] for character "
	    "class at offset 2");
}
END_TEST

START_TEST(error_macro)
{
	expect_error("rule r on connect if {nosuch} set accept\n",
	    "main.conf:1:22: unknown macro {nosuch}");
	fd_errs_clear(&errs);
	expect_error("rule r on connect if {rcpt_addr} == x accept\n",
	    "main.conf:1:22: macro {rcpt_addr} is not known yet at connect (the "
	    "MTA sends it at rcpt)");
	fd_errs_clear(&errs);
	/* a macro the stage has is fine, single letters in braces too */
	fd_conf_free(expect_ok("rule r on connect if {j} == mx.example and "
	    "{daemon_name} set accept\n"));
}
END_TEST

START_TEST(error_codes)
{
	expect_error("rule r on rcpt reject 451 4.7.1\n",
	    "main.conf:1:23: reject needs a 5xx reply code, not 451");
	fd_errs_clear(&errs);
	expect_error("rule r on rcpt tempfail 550 5.7.1\n",
	    "main.conf:1:25: tempfail needs a 4xx reply code, not 550");
	fd_errs_clear(&errs);
	expect_error("rule r on rcpt tempfail 451 5.7.1\n",
	    "main.conf:1:29: enhanced status code 5.7.1 does not match reply "
	    "code 451");
	fd_errs_clear(&errs);
	expect_error("rule r on rcpt reject 550 5.7 \"x\"\n",
	    "main.conf:1:27: reject 550 needs an enhanced status code after it "
	    "(class.subject.detail, as 5.7.1)");
	fd_errs_clear(&errs);
	expect_error("rule r on rcpt reject 550 5.1000.1\n",
	    "main.conf:1:27: reject 550 needs an enhanced status code after it "
	    "(class.subject.detail, as 5.7.1)");
	fd_errs_clear(&errs);
	expect_error("rule r on rcpt reject 550 5.07.1\n",
	    "main.conf:1:27: reject 550 needs an enhanced status code after it "
	    "(class.subject.detail, as 5.7.1)");
	fd_errs_clear(&errs);
	expect_error("rule r on rcpt reject 570 5.7.1\n",
	    "main.conf:1:23: reject needs a 5xx reply code, not 570");
	fd_errs_clear(&errs);
	expect_error("rule r on rcpt reject 5.7.1 \"x\"\n",
	    "main.conf:1:23: reject: the reply code goes before 5.7.1 (as 550 "
	    "5.7.1)");
	fd_errs_clear(&errs);
	expect_error("rule r on rcpt reject 550 5.7.1 go away\n",
	    "main.conf:1:36: unexpected \"away\" after the reject text (quote the "
	    "whole text)");
	fd_errs_clear(&errs);
	expect_error("rule r on rcpt reject \"two\\nlines\"\n",
	    "main.conf:1:23: control characters and line breaks are not "
	    "allowed in a reply text");
	fd_errs_clear(&errs);
	/* the widest valid codes */
	fd_conf_free(expect_ok("rule r on rcpt reject 559 5.999.999 \"x\"\n"
	    "rule s on rcpt tempfail 400 4.0.0\n"));
}
END_TEST

START_TEST(error_stage)
{
	expect_error("rule r on helo if rcpt == x accept\n",
	    "main.conf:1:19: rcpt is not known yet at helo (the MTA sends it "
	    "at rcpt)");
	fd_errs_clear(&errs);
	expect_error("rule r on rcpt if header \"Subject\" ~ /x/ accept\n",
	    "main.conf:1:19: header \"Subject\" is not known yet at rcpt (the "
	    "MTA sends it at header)");
	fd_errs_clear(&errs);
	expect_error("rule r on connect if sender == x accept\n",
	    "main.conf:1:22: sender is not known yet at connect (the MTA sends "
	    "it at mail)");
	fd_errs_clear(&errs);
	expect_error("rule r on eoh if header-name == x accept\n",
	    "main.conf:1:18: header-name is only known at the header stage, "
	    "not at eoh");
	fd_errs_clear(&errs);
	expect_error("rule r on helo discard\n",
	    "main.conf:1:16: discard works on a message: use it at mail or "
	    "later, not at helo");
	fd_errs_clear(&errs);
	expect_error("rule r on data accept\n",
	    "main.conf:1:11: unknown stage \"data\"; rules run at connect, helo, "
	    "mail, rcpt, header, eoh or eom");
}
END_TEST

START_TEST(error_operators)
{
	expect_error("rule r on helo if helo verified accept\n",
	    "main.conf:1:24: helo cannot be verified (only client-name can)");
	fd_errs_clear(&errs);
	expect_error("rule r on rcpt if rcpt null accept\n",
	    "main.conf:1:24: rcpt cannot be null (only sender can)");
	fd_errs_clear(&errs);
	expect_error("rule r on rcpt if helo > 3 accept\n",
	    "main.conf:1:26: helo cannot be compared with < <= > >= (only size "
	    "can)");
	fd_errs_clear(&errs);
	expect_error("rule r on rcpt if size ~ /1/ accept\n",
	    "main.conf:1:26: size cannot be matched with a regex");
	fd_errs_clear(&errs);
	expect_error("rule r on rcpt if header == x accept\n",
	    "main.conf:1:19: header needs a header name, as in header "
	    "\"Subject\"");
	fd_errs_clear(&errs);
	/* an address is compared without its angle brackets */
	expect_error("rule r on rcpt if rcpt == \"<a@example.com>\" accept\n",
	    "main.conf:1:27: rcpt is compared without its angle brackets: "
	    "write a@example.com");
	fd_errs_clear(&errs);
	expect_error("rule r on mail if sender != \"<>\" accept\n",
	    "main.conf:1:29: sender is compared without its angle brackets: "
	    "write \"\" (or sender null)");
	fd_errs_clear(&errs);
	/* the MTA names a header without its colon: this one never is */
	expect_error("rule r on header if header \"Subject:\" ~ /x/ accept\n",
	    "main.conf:1:21: bad header name \"Subject:\" (1 to 128 "
	    "printable ASCII characters, no blank or ':')");
	fd_errs_clear(&errs);
	expect_error("rule r on header if header \"\" set accept\n",
	    "main.conf:1:21: bad header name \"\" (1 to 128 printable ASCII "
	    "characters, no blank or ':')");
	fd_errs_clear(&errs);
	expect_error("table d { example.com }\nrule r on connect if client-ip in "
	    "<d> accept\n", "main.conf:2:35: client-ip needs a cidr or regex "
	    "table; <d> is a domain table");
}
END_TEST

/* nested - a rule whose condition nests `levels` deep: with not, or with
 * and and or in turn inside parentheses */
static const char *
nested(int levels, int with_not)
{
	static char	 text[8192];
	size_t		 o;
	int		 i;

	o = (size_t)snprintf(text, sizeof(text), "rule r on helo if ");
	for (i = 0; i < levels; i++)
		o += (size_t)snprintf(text + o, sizeof(text) - o, with_not ?
		    "not " : "helo == a%d %s (", i, i % 2 ? "or" : "and");
	o += (size_t)snprintf(text + o, sizeof(text) - o, "helo == x");
	for (i = 0; i < levels && !with_not; i++)
		o += (size_t)snprintf(text + o, sizeof(text) - o, ")");
	snprintf(text + o, sizeof(text) - o, " accept\n");
	return text;
}

/* the stack that evaluates a condition (a session's thread) grows with
 * its nesting: 100 levels are allowed, the error is at the outermost */
START_TEST(error_nesting)
{
	char	 want[128];

	fd_conf_free(expect_ok(nested(100, 1)));
	fd_conf_free(expect_ok(nested(100, 0)));
	expect_error(nested(101, 1), "main.conf:1:19: condition nested more "
	    "than 100 levels deep");
	ck_assert_uint_eq(errs.n, 1);
	fd_errs_clear(&errs);
	snprintf(want, sizeof(want), "main.conf:1:%d: condition nested more "
	    "than 100 levels deep", (int)(strstr(nested(101, 0), " and ") -
	    nested(101, 0)) + 2);
	expect_error(nested(101, 0), want);
	ck_assert_uint_eq(errs.n, 1);
}
END_TEST

/*
 * Nesting past what the parser's stack holds (thousands of parentheses
 * or blocks) ends the file where it happened, and says so: it is not
 * memory running out. The includer is read on.
 */
START_TEST(error_parser_depth)
{
	static char	 text[128 * 1024];
	size_t		 o;
	int		 i;

	o = (size_t)snprintf(text, sizeof(text), "# deep\nrule r on helo if ");
	for (i = 0; i < 20000; i++)
		o += (size_t)snprintf(text + o, sizeof(text) - o, "(");
	snprintf(text + o, sizeof(text) - o, "\nbogus\n");
	put("deep.conf", text);
	expect_error("include \"deep.conf\"\nuser\n", "main.conf:2:1: user: "
	    "wrong number of arguments; usage: user NAME");
	ck_assert_uint_eq(errs.n, 2);
	ck_assert_msg(strncmp(errs.msg[0], "deep.conf:2:", 12) == 0 &&
	    strstr(errs.msg[0], ": nested too deep; the rest of this file "
	    "is not read") != NULL, "got:%s", all_errors());
	fd_errs_clear(&errs);
	o = (size_t)snprintf(text, sizeof(text), "plugin p ");
	for (i = 0; i < 20000; i++)
		o += (size_t)snprintf(text + o, sizeof(text) - o, "{ a ");
	ck_assert_ptr_null(load(text));
	ck_assert_uint_eq(errs.n, 1);
	ck_assert_msg(strncmp(errs.msg[0], "main.conf:1:", 12) == 0 &&
	    strstr(errs.msg[0], ": nested too deep; the rest of this file "
	    "is not read") != NULL, "got:%s", all_errors());
}
END_TEST

START_TEST(error_actions)
{
	char	 text[1200];

	expect_error("rule r on mail set greylist 5\nplugin greylist {}\n",
	    "main.conf:1:20: set needs PLUGIN.PARAM, not \"greylist\"");
	fd_errs_clear(&errs);
	expect_error("rule r on mail set p.x\nplugin p {}\n",
	    "main.conf:1:16: usage: set PLUGIN.PARAM VALUE");
	fd_errs_clear(&errs);
	expect_error("rule r on mail set p.x 1\n",
	    "main.conf:1:20: unknown plugin \"p\"; declare it with plugin p "
	    "{ ... }");
	fd_errs_clear(&errs);
	expect_error("rule r on mail add-header \"X-A:\" \"b\"\n",
	    "main.conf:1:27: bad header name \"X-A:\"");
	fd_errs_clear(&errs);
	expect_error("rule r on mail add-header \"X-A\" \"b\\nc\"\n",
	    "main.conf:1:33: line breaks are not allowed in a header value");
	fd_errs_clear(&errs);
	/* one line of RFC 5322 at most: libmilter refused a 64 KiB one on
	 * every message, after -t had said nothing */
	snprintf(text, sizeof(text), "rule r on mail add-header \"X-A\" "
	    "\"%0993d\"\n", 0);
	fd_conf_free(expect_ok(text));
	snprintf(text, sizeof(text), "rule r on mail add-header \"X-A\" "
	    "\"%0994d\"\n", 0);
	expect_error(text, "main.conf:1:33: header too long: \"X-A: \" and "
	    "the value make 999 octets, more than one line may hold (998, "
	    "RFC 5322)");
	fd_errs_clear(&errs);
	expect_error("rule r on mail log a b\n",
	    "main.conf:1:22: usage: log [\"TEXT\"]");
	fd_errs_clear(&errs);
	expect_error("rule r on mail accept everything\n",
	    "main.conf:1:23: usage: accept | accept connection");
	fd_errs_clear(&errs);
	expect_error("rule r on mail accept\nrule r on rcpt accept\n",
	    "main.conf:2:6: rule r is already defined at main.conf:1:6");
}
END_TEST

START_TEST(error_lexer)
{
	expect_error("user \"abc\n", "main.conf:1:6: unterminated string");
	fd_errs_clear(&errs);
	expect_error("rule r on helo if helo = x accept\n",
	    "main.conf:1:24: unexpected character '='");
	fd_errs_clear(&errs);
	expect_error("rule r on helo if helo ~ x accept\n",
	    "main.conf:1:26: expected /regex/ after ~");
	fd_errs_clear(&errs);
	expect_error("user a\x01\n", "main.conf:1:7: unexpected character "
	    "'\\x01'");
}
END_TEST

/* A NUL byte in a string or a regex is an error at its place: the text
 * used to end there ("a\0b" was "a") and a regex's flags were read from
 * after it (/a\0i/ was /a/i). */
START_TEST(error_nul)
{
	static const char	 text[] = "user \"ab\0c\"\n"
	    "rule r on helo if helo ~ /a\0i/ accept\n"
	    "# a NUL in a comment\0 is fine\n"
	    "group \"a\tb\0\"\n";

	put_bytes("main.conf", text, sizeof(text) - 1);
	ck_assert_ptr_null(fd_conf_load("main.conf", &errs));
	ck_assert_msg(errs.n == 3, "got:%s", all_errors());
	ck_assert_str_eq(errs.msg[0], "main.conf:1:9: NUL byte in a string");
	ck_assert_str_eq(errs.msg[1], "main.conf:2:28: NUL byte in a regex");
	ck_assert_str_eq(errs.msg[2], "main.conf:4:11: NUL byte in a string");
}
END_TEST

START_TEST(includes)
{
	struct fd_conf	*c;

	ck_assert_int_eq(mkdir("sub", 0755), 0);
	put("sub/a.conf", "plugin a {}\ninclude \"b.conf\"\n");
	put("sub/b.conf", "plugin b {}\ntable t file \"t.list\"\n");
	put("sub/t.list", "x\n");
	c = expect_ok("include \"sub/a.conf\"\nplugin c {}\n");
	ck_assert_uint_eq(c->nplugins, 3);
	ck_assert_str_eq(c->plugins->name, "a");
	ck_assert_str_eq(c->plugins->loc.file, "sub/a.conf");
	ck_assert_str_eq(c->plugins->next->loc.file, "sub/b.conf");
	ck_assert_str_eq(c->plugins->next->next->name, "c");
	fd_conf_free(c);
	/* an error inside an included file names that file */
	put("sub/b.conf", "plugin b {}\nsocket nowhere\n");
	expect_error("include \"sub/a.conf\"\n",
	    "sub/b.conf:2:8: bad socket \"nowhere\" (use \"inet:PORT@HOST\", "
	    "\"inet6:PORT@HOST\" or \"unix:/PATH\")");
	fd_errs_clear(&errs);
	expect_error("include \"nope.conf\"\n",
	    "main.conf:1:9: cannot open included file \"nope.conf\": No such "
	    "file or directory");
	fd_errs_clear(&errs);
	put("sub/b.conf", "include \"a.conf\"\n");
	expect_error("include \"sub/a.conf\"\n",
	    "sub/b.conf:1:9: include loop: \"sub/a.conf\" is already being read");
	fd_errs_clear(&errs);
	expect_error("include \"main.conf\"\n",
	    "main.conf:1:9: include loop: \"main.conf\" is already being read");
}
END_TEST

/*
 * "./" steps in the names of included files and of the top one do not
 * show in messages: "sub/b.conf:2:8", not "././sub/./b.conf:2:8"
 */
START_TEST(include_dot_steps)
{
	size_t	 i;

	ck_assert_int_eq(mkdir("sub", 0755), 0);
	put("sub/a.conf", "include \"./b.conf\"\n");
	put("sub/b.conf", "plugin b {}\nsocket nowhere\n");
	put("main.conf", "include \"./sub/a.conf\"\n");
	ck_assert_ptr_null(fd_conf_load("./main.conf", &errs));
	for (i = 0; i < errs.n; i++)
		if (strncmp(errs.msg[i], "sub/b.conf:2:8: bad socket", 26) == 0)
			return;
	ck_abort_msg("expected sub/b.conf:2:8: bad socket, got:%s",
	    all_errors());
}
END_TEST

/*
 * A file included a second time, under its own name or another, is one
 * error at that include: read again, each of its statements would be an
 * error of its own ("already declared") pointing at itself.
 */
START_TEST(include_twice)
{
	ck_assert_int_eq(mkdir("sub", 0755), 0);
	put("sub/rules.conf", "plugin a {}\ntable t { x }\n"
	    "rule r on helo reject\n");
	put("sub/b.conf", "include \"rules.conf\"\n");
	expect_error("include \"sub/rules.conf\"\ninclude \"sub/b.conf\"\n",
	    "sub/b.conf:1:9: \"sub/rules.conf\" is already included at "
	    "main.conf:1:9; a file is read once");
	ck_assert_uint_eq(errs.n, 1);
	fd_errs_clear(&errs);
	expect_error("include \"sub/rules.conf\"\n"
	    "include \"sub/../sub/rules.conf\"\n",
	    "main.conf:2:9: \"sub/../sub/rules.conf\" is already included at "
	    "main.conf:1:9; a file is read once");
	ck_assert_uint_eq(errs.n, 1);
}
END_TEST

/* includes nest 16 deep below the top file, not one more */
START_TEST(include_depth)
{
	char		 name[32], text[64];
	struct fd_conf	*c;
	int		 i;

	for (i = 1; i <= 17; i++) {
		snprintf(name, sizeof(name), "d%d.conf", i);
		snprintf(text, sizeof(text), i < 17 ? "include \"d%d.conf\"\n" :
		    "user deepest\n", i + 1);
		put(name, text);
	}
	put("d16.conf", "user deep\n");
	c = expect_ok("include \"d1.conf\"\n");
	ck_assert_str_eq(c->user, "deep");
	fd_conf_free(c);
	put("d16.conf", "include \"d17.conf\"\n");
	expect_error("include \"d1.conf\"\n",
	    "d16.conf:1:9: includes nested deeper than 16");
	ck_assert_uint_eq(errs.n, 1);
}
END_TEST

START_TEST(include_loop_file)
{
	ck_assert_int_eq(chdir(confdir()), 0);
	ck_assert_ptr_null(fd_conf_load("loop-a.conf", &errs));
	ck_assert_uint_eq(errs.n, 1);
	ck_assert_str_eq(errs.msg[0], "loop-b.conf:2:9: include loop: "
	    "\"loop-a.conf\" is already being read");
}
END_TEST

START_TEST(missing_top_file)
{
	ck_assert_ptr_null(fd_conf_load("no-such.conf", &errs));
	ck_assert_uint_eq(errs.n, 1);
	ck_assert_str_eq(errs.msg[0], "cannot open config file \"no-such.conf\": "
	    "No such file or directory");
}
END_TEST

/*
 * A directory or a file whose read fails is a config error, never the
 * scanner ending the process (which at a reload is the running daemon).
 * /proc/self/mem opens, and reading its first page fails (EIO).
 */
START_TEST(unreadable_files)
{
	ck_assert_int_eq(mkdir("sub", 0755), 0);
	expect_error("include \"sub\"\n",
	    "main.conf:1:9: cannot open included file \"sub\": Is a directory");
	fd_errs_clear(&errs);
	ck_assert_ptr_null(fd_conf_load("sub", &errs));
	ck_assert_uint_eq(errs.n, 1);
	ck_assert_str_eq(errs.msg[0], "cannot open config file \"sub\": "
	    "Is a directory");
	fd_errs_clear(&errs);
	expect_error("user a\ninclude \"/proc/self/mem\"\n",
	    "/proc/self/mem:1:1: cannot read this file: Input/output error");
}
END_TEST

/*
 * A file whoever may write could make filterd, running as root, empty
 * and hand over any file as its pidfile: the configuration, what it
 * includes and its tables are refused unless only root or the user
 * filterd runs as may write them, as plugin files are. They were read
 * whatever their mode.
 */
START_TEST(writable_files_refused)
{
	put("main.conf", "user a\n");
	ck_assert_int_eq(chmod("main.conf", 0666), 0);
	ck_assert_ptr_null(fd_conf_load("main.conf", &errs));
	ck_assert_uint_eq(errs.n, 1);
	ck_assert_str_eq(errs.msg[0], "cannot open config file \"main.conf\": "
	    "refused: others may write it (chmod o-w)");
	fd_errs_clear(&errs);
	ck_assert_int_eq(chmod("main.conf", 0644), 0);
	put("inc.conf", "group b\n");
	ck_assert_int_eq(chmod("inc.conf", 0664), 0);
	expect_error("include \"inc.conf\"\n", "main.conf:1:9: cannot open "
	    "included file \"inc.conf\": refused: its group may write it "
	    "(chmod g-w)");
	fd_errs_clear(&errs);
	put("t.list", "a\n");
	ck_assert_int_eq(chmod("t.list", 0646), 0);
	expect_error("table t file \"t.list\"\n", "main.conf:1:14: cannot "
	    "open table file \"t.list\": refused: others may write it "
	    "(chmod o-w)");
	fd_errs_clear(&errs);
	if (geteuid() == 0) {
		ck_assert_int_eq(chmod("inc.conf", 0644), 0);
		ck_assert_int_eq(chown("inc.conf", 2, 2), 0);
		expect_error("include \"inc.conf\"\n", "main.conf:1:9: cannot "
		    "open included file \"inc.conf\": refused: owned by "
		    "another user (chown it to root)");
	}
}
END_TEST

/*
 * An included file or a table file that is a FIFO is refused at once:
 * opening one waits for a writer, for ever if none comes, and a load
 * runs in the daemon's main thread at a reload. A directory named as a
 * table is refused when opened, like an included one.
 */
START_TEST(fifo_refused)
{
	ck_assert_int_eq(mkfifo("f.conf", 0600), 0);
	ck_assert_int_eq(mkfifo("f.cidr", 0600), 0);
	ck_assert_int_eq(mkdir("d.cidr", 0755), 0);
	expect_error("include \"f.conf\"\n", "main.conf:1:9: cannot open "
	    "included file \"f.conf\": a FIFO, not a regular file");
	ck_assert_uint_eq(errs.n, 1);
	fd_errs_clear(&errs);
	expect_error("table t file \"f.cidr\"\n", "main.conf:1:14: cannot "
	    "open table file \"f.cidr\": a FIFO, not a regular file");
	ck_assert_uint_eq(errs.n, 1);
	fd_errs_clear(&errs);
	expect_error("table t file \"d.cidr\"\n", "main.conf:1:14: cannot "
	    "open table file \"d.cidr\": Is a directory");
	ck_assert_uint_eq(errs.n, 1);
}
END_TEST

/* load_fifo - fifo.conf loaded while a child writes text into it */
static struct fd_conf *
load_fifo(const char *text)
{
	struct fd_conf	*c;
	FILE		*f;
	pid_t		 pid;
	int		 st;

	if (access("fifo.conf", F_OK) != 0)
		ck_assert_int_eq(mkfifo("fifo.conf", 0600), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		f = fopen("fifo.conf", "w");
		fputs(text, f);
		_exit(fclose(f) == 0 ? 0 : 1);
	}
	c = fd_conf_load("fifo.conf", &errs);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_int_eq(st, 0);
	return c;
}

/* a UTF-8 byte order mark is dropped, from a file and from a pipe, which
 * cannot be read ahead and rewound; without one, a pipe loses nothing */
START_TEST(byte_order_mark)
{
	struct fd_conf	*c;
	const char	*texts[] = {
		"\xef\xbb\xbfuser nobody\n", "user nobody\n"
	};
	size_t		 i;

	c = expect_ok("\xef\xbb\xbfuser mail\n");
	ck_assert_str_eq(c->user, "mail");
	fd_conf_free(c);
	expect_error("\xef\xbb\xbfuser\n",
	    "main.conf:1:1: user: wrong number of arguments; usage: user NAME");
	fd_errs_clear(&errs);
	for (i = 0; i < 2; i++) {
		c = load_fifo(texts[i]);
		ck_assert_msg(c != NULL, "errors:%s", all_errors());
		ck_assert_str_eq(c->user, "nobody");
		fd_conf_free(c);
	}
}
END_TEST

/*
 * A file stops being read after 100 errors of its own, with a message
 * where it stopped; without that, `include "/dev/zero"` would gather
 * messages until memory ran out. An included file's errors do not count
 * against its includer's limit.
 */
START_TEST(too_many_errors)
{
	char	 text[4096];
	size_t	 i, o = 0;

	for (i = 0; i < 150; i++)
		o += (size_t)snprintf(text + o, sizeof(text) - o, "%c\n", 1);
	ck_assert_ptr_null(load(text));
	ck_assert_uint_eq(errs.n, 101);
	ck_assert_str_eq(errs.msg[99], "main.conf:100:1: unexpected character "
	    "'\\x01'");
	ck_assert_str_eq(errs.msg[100], "main.conf:100:2: too many errors, "
	    "skipping the rest of this file");
	fd_errs_clear(&errs);
	put("many.conf", text);
	ck_assert_ptr_null(load("include \"many.conf\"\nuser\n"));
	ck_assert_uint_eq(errs.n, 102);
	ck_assert_str_eq(errs.msg[100], "many.conf:100:2: too many errors, "
	    "skipping the rest of this file");
	ck_assert_str_eq(errs.msg[101], "main.conf:2:1: user: wrong number of "
	    "arguments; usage: user NAME");
	fd_errs_clear(&errs);
	ck_assert_ptr_null(load("include \"/dev/zero\"\n"));
	ck_assert_uint_eq(errs.n, 101);
	ck_assert_str_eq(errs.msg[100], "/dev/zero:1:101: too many errors, "
	    "skipping the rest of this file");
}
END_TEST

START_TEST(duplicates)
{
	struct fd_conf	*c;

	expect_error("socket \"inet:1@x\"\nuser a\nsocket \"inet:2@x\"\n",
	    "main.conf:3:1: socket is already set at main.conf:1:1");
	fd_errs_clear(&errs);
	expect_error("table t { a }\ntable t { b }\n",
	    "main.conf:2:7: table t is already declared at main.conf:1:7");
	fd_errs_clear(&errs);
	expect_error("socket-mode 888\n", "main.conf:1:13: bad socket-mode "
	    "\"888\" (an octal mode such as 0660)");
	fd_errs_clear(&errs);
	expect_error("milter-timeout soon\n", "main.conf:1:16: milter-timeout: "
	    "expected a number");
	fd_errs_clear(&errs);
	/* libmilter takes an int of seconds; 0 would be no time at all */
	expect_error("milter-timeout 10000000000d\n", "main.conf:1:16: "
	    "milter-timeout: 10000000000d is outside 1s..365d");
	fd_errs_clear(&errs);
	expect_error("milter-timeout 3000000000\n", "main.conf:1:16: "
	    "milter-timeout: 3000000000 is outside 1s..365d");
	fd_errs_clear(&errs);
	expect_error("milter-timeout 0\n", "main.conf:1:16: "
	    "milter-timeout: 0 is outside 1s..365d");
	fd_errs_clear(&errs);
	expect_error("milter-timeout 366d\n", "main.conf:1:16: "
	    "milter-timeout: 366d is outside 1s..365d");
	fd_errs_clear(&errs);
	c = expect_ok("milter-timeout 365d\n");
	ck_assert_int_eq(c->milter_timeout, 365 * 86400);
	fd_conf_free(c);
	c = expect_ok("milter-timeout 1\n");
	ck_assert_int_eq(c->milter_timeout, 1);
	fd_conf_free(c);
	expect_error("thread-stack-size 64k\n", "main.conf:1:19: "
	    "thread-stack-size: 64k is outside 128k..256M");
	fd_errs_clear(&errs);
	expect_error("thread-stack-size 1G\n", "main.conf:1:19: "
	    "thread-stack-size: 1G is outside 128k..256M");
	fd_errs_clear(&errs);
	expect_error("thread-stack-size big\n", "main.conf:1:19: "
	    "thread-stack-size: expected a number");
	fd_errs_clear(&errs);
	expect_error("store memcached x\n", "main.conf:1:7: unknown store "
	    "\"memcached\" (lmdb or redis)");
	fd_errs_clear(&errs);
	expect_error("pidfile a { }\n", "main.conf:1:11: pidfile takes no { } "
	    "block");
}
END_TEST

/*
 * The store reads its URL after the parse, from the conf: its errors
 * point at the URL or the directory, the argument that is wrong, not at
 * the word store; a quoted argument's column is that of its quote.
 */

/* expect_store_error - text loads, but the store refuses it with want */
static void
expect_store_error(const char *text, const char *want)
{
	struct fd_conf	*c = expect_ok(text);

	ck_assert_int_eq(fd_store_check(c, &errs), -1);
	ck_assert_uint_eq(errs.n, 1);
	ck_assert_str_eq(errs.msg[0], want);
	fd_errs_clear(&errs);
	fd_conf_free(c);
}

START_TEST(error_store_url)
{
	struct fd_clock	 clk = { 0 };
	struct fd_conf	*c;
	const char	*want = "main.conf:2:13: store lmdb ";

	expect_store_error("store redis \"redis://host:99999/0\"\n",
	    "main.conf:1:13: store redis: bad URL \"redis://host:99999/0\": "
	    "bad port");
	expect_store_error("user a\n\tstore  redis redis://h/x { timeout 1s }\n",
	    "main.conf:2:15: store redis: bad URL \"redis://h/x\": bad db "
	    "number");
	expect_store_error("store redis \"http://h:1/0\"\n", "main.conf:1:13: "
	    "store redis: bad URL \"http://h:1/0\": unknown scheme (redis:// "
	    "or unix://)");
	expect_store_error("store redis \"redis://:1/0\"\n", "main.conf:1:13: "
	    "store redis: bad URL \"redis://:1/0\": no host");
	expect_store_error("store redis \"unix://tmp/r.sock\"\n",
	    "main.conf:1:13: store redis: bad URL \"unix://tmp/r.sock\": "
	    "unix:// needs an absolute path (unix:///path)");
	expect_store_error("store redis \"\"\n",
	    "main.conf:1:13: store redis: no URL given");
	/* the error goes to the log and to filterd -t's output: a
	 * password in the URL is not repeated there */
	expect_store_error("store redis \"redis://mx:s3cret@h:99999/0\"\n",
	    "main.conf:1:13: store redis: bad URL \"redis://mx:***@h:99999/0\""
	    ": bad port");
	expect_store_error("store redis \"s3cret@h/x\"\n", "main.conf:1:13: "
	    "store redis: bad URL \"***@h/x\": bad db number");
	expect_store_error("store redis \"unix:///r.sock?password=s3cret&x=1\""
	    "\n", "main.conf:1:13: store redis: bad URL \"unix:///r.sock?"
	    "password=***\": unknown query parameter (db, user, password)");
	/* the parser takes a ? and a bare & as part of the password: they
	 * used to end the part shown as *** */
	expect_store_error("store redis \"redis://:sek?ret@127.0.0.1:70000/0\""
	    "\n", "main.conf:1:13: store redis: bad URL \"redis://:***@"
	    "127.0.0.1:70000/0\": bad port");
	expect_store_error("store redis \"unix:///r.sock?password=s3&cr&db=x\""
	    "\n", "main.conf:1:13: store redis: bad URL \"unix:///r.sock?"
	    "password=***&db=x\": query parameter without =");
	/* a password in a redis:// URL's query, where the parser takes
	 * none: it showed in clear */
	expect_store_error("store redis \"redis://h/0?password=hunter2\"\n",
	    "main.conf:1:13: store redis: bad URL \"redis://h/0?password=***\""
	    ": bad db number");
	expect_store_error("store redis \"redis://h:1/0?password=a@b\"\n",
	    "main.conf:1:13: store redis: bad URL \"redis://h:1/0?password=***"
	    "\": bad db number");
	/* an empty password (a template's unset variable) would make every
	 * call fail on AUTH */
	expect_store_error("store redis \"redis://:@127.0.0.1/0\"\n",
	    "main.conf:1:13: store redis: bad URL \"redis://:***@127.0.0.1/0\""
	    ": empty password (leave out the @ for none)");
	expect_store_error("store redis \"redis://@127.0.0.1/0\"\n",
	    "main.conf:1:13: store redis: bad URL \"redis://***@127.0.0.1/0\""
	    ": empty password (leave out the @ for none)");
	expect_store_error("store redis \"unix:///r.sock?password=\"\n",
	    "main.conf:1:13: store redis: bad URL \"unix:///r.sock?"
	    "password=***\": empty password (leave it out for none)");

	/* a directory that cannot be opened is named at the directory too */
	put("plain", "not a directory\n");
	c = expect_ok("\n store lmdb \"plain\"\n");
	ck_assert_ptr_null(fd_store_new(c, &clk, &errs));
	ck_assert_uint_eq(errs.n, 1);
	ck_assert_msg(strncmp(errs.msg[0], want, strlen(want)) == 0,
	    "got %s", errs.msg[0]);
	fd_conf_free(c);
}
END_TEST

/* a named table no rule uses loads, with a warning at its place: an
 * address added to it changes nothing (contrib/filterd.conf had two) */
START_TEST(table_unused)
{
	struct fd_conf	*c;

	c = expect_ok("table trusted { 127.0.0.0/8 }\n"
	    "table used { 10.0.0.0/8 }\ntable deep { a.example }\n"
	    "rule r on connect if not (client-ip in <used> or "
	    "client-name in <deep>) accept connection\n"
	    "rule s on connect if client-ip in { 192.0.2.0/24 } accept\n");
	ck_assert_uint_eq(c->warns.n, 1);
	ck_assert_str_eq(c->warns.msg[0], "main.conf:1:7: warning: table "
	    "trusted is not used by any rule");
	fd_conf_free(c);
}
END_TEST

/* socket-mode with a TCP socket: the file mode of nothing */
START_TEST(socket_mode_tcp)
{
	struct fd_conf	*c;

	c = expect_ok("socket-mode 0660\nsocket \"inet:25@127.0.0.1\"\n");
	ck_assert_uint_eq(c->warns.n, 1);
	ck_assert_str_eq(c->warns.msg[0], "main.conf:1:13: warning: "
	    "socket-mode applies to a unix socket only; inet:25@127.0.0.1 is "
	    "not one");
	fd_conf_free(c);
	c = expect_ok("socket-mode 0660\nsocket \"unix:/run/f.sock\"\n");
	ck_assert_uint_eq(c->warns.n, 0);
	fd_conf_free(c);
}
END_TEST

START_TEST(table_files)
{
	struct fd_conf	*c;

	put("t.cidr", "# nets\n192.0.2.0/24  # doc\n\n2001:db8::/32\n");
	put("t.list", "Postmaster\nabuse # reports\n");
	put("t.pcre", "/^a\\/b$/i\n^c d$\n");
	put("t.txt", ".example.com\n");
	c = expect_ok("table a file \"t.cidr\"\ntable b file \"t.list\"\n"
	    "table c file \"t.pcre\"\ntable d file \"t.txt\"\n"
	    "table e list file \"t.txt\"\n");
	fd_conf_free(c);
	put("t.cidr", "192.0.2.0/24 extra\n");
	expect_error("table a file \"t.cidr\"\n", "t.cidr:1:14: unexpected "
	    "\"extra\" after the entry (one entry per line)");
	fd_errs_clear(&errs);
	/* a file's bytes come back escaped: no terminal control from it */
	put("t.cidr", "192.0.2.0/24 \033[2Jx\tz\n");
	expect_error("table a file \"t.cidr\"\n", "t.cidr:1:14: unexpected "
	    "\"\\x1b[2Jx\\tz\" after the entry (one entry per line)");
	fd_errs_clear(&errs);
	put("t.txt", "*.example.com\n");
	expect_error("table a domain file \"t.txt\"\n", "t.txt:1:1: write "
	    "\".example.com\" for a domain and its subdomains");
	fd_errs_clear(&errs);
	expect_error("table a hash file \"t.txt\"\n", "main.conf:1:9: unknown "
	    "table type \"hash\" (cidr, domain, regex or list)");
	fd_errs_clear(&errs);
	expect_error("table a file\n", "main.conf:1:9: usage: table NAME { "
	    "ITEM, ... } or table NAME [cidr|domain|regex|list] file \"PATH\"");
}
END_TEST

START_TEST(default_rules)
{
	char		 text[PATH_MAX + 128];
	struct fd_conf	*c;
	const char	*top = getenv("top_srcdir");

	/* the rules skip these two: the including config declares them */
	ck_assert_msg(top != NULL && top[0] == '/', "top_srcdir must be set "
	    "and absolute");
	snprintf(text, sizeof(text), "plugin greylist {}\nplugin ratelimit {}\n"
	    "include \"%s/rules/default.rules\"\n", top);
	c = expect_ok(text);
	/* no HELO-stage rule: the MTA need not wait for a reply there */
	ck_assert_uint_eq(fd_rules_stages(c->rules), FD_ST_CONNECT |
	    FD_ST_MAIL | FD_ST_RCPT);
	fd_conf_free(c);
}
END_TEST

static Suite *
conf_suite(void)
{
	Suite	*s = suite_create("conf");
	TCase	*tc = tcase_create("parse");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, defaults);
	tcase_add_test(tc, empty_file);
	tcase_add_test(tc, valid_file);
	tcase_add_test(tc, statement_syntax);
	tcase_add_test(tc, socket_family);
	tcase_add_test(tc, socket_relative);
	tcase_add_test(tc, log_targets);
	tcase_add_test(tc, reload_twice);
	tcase_add_test(tc, errors_file);
	tcase_add_test(tc, error_syntax);
	tcase_add_test(tc, error_recovery);
	tcase_add_test(tc, error_unclosed_brace);
	tcase_add_test(tc, error_hints);
	tcase_add_test(tc, error_plugins);
	tcase_add_test(tc, error_cidr);
	tcase_add_test(tc, error_regex);
	tcase_add_test(tc, error_macro);
	tcase_add_test(tc, error_codes);
	tcase_add_test(tc, error_stage);
	tcase_add_test(tc, error_operators);
	tcase_add_test(tc, error_nesting);
	tcase_add_test(tc, error_parser_depth);
	tcase_add_test(tc, error_actions);
	tcase_add_test(tc, error_lexer);
	tcase_add_test(tc, error_nul);
	tcase_add_test(tc, includes);
	tcase_add_test(tc, include_dot_steps);
	tcase_add_test(tc, include_twice);
	tcase_add_test(tc, include_depth);
	tcase_add_test(tc, include_loop_file);
	tcase_add_test(tc, missing_top_file);
	tcase_add_test(tc, unreadable_files);
	tcase_add_test(tc, writable_files_refused);
	tcase_add_test(tc, fifo_refused);
	tcase_add_test(tc, byte_order_mark);
	tcase_add_test(tc, too_many_errors);
	tcase_add_test(tc, duplicates);
	tcase_add_test(tc, error_store_url);
	tcase_add_test(tc, table_files);
	tcase_add_test(tc, table_unused);
	tcase_add_test(tc, socket_mode_tcp);
	tcase_add_test(tc, default_rules);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(conf_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
