/*
 * check_core.c -- unit tests of the core without a daemon: the plugin
 * loader's checks, the txn lifecycle in odd call orders, units, escaping.
 */
#include "config.h"

#include <sys/stat.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "errs.h"
#include "conf.h"
#include "daemon.h"
#include "dispatch.h"
#include "gen.h"
#include "host.h"
#include "log.h"
#include "milter.h"
#include "path.h"
#include "plugin_load.h"
#include "smtp_code.h"
#include "txn.h"
#include "units.h"

static char tmpdir[64];

/* copy - cp src dst, with mode */
static void
copy(const char *src, const char *dst, mode_t mode)
{
	char	 buf[8192];
	ssize_t	 n;
	int	 in, out;

	in = open(src, O_RDONLY);
	ck_assert_msg(in >= 0, "open %s: %s", src, strerror(errno));
	out = open(dst, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_msg(out >= 0, "open %s: %s", dst, strerror(errno));
	while ((n = read(in, buf, sizeof(buf))) > 0)
		ck_assert_int_eq(write(out, buf, (size_t)n), n);
	close(in);
	close(out);
	ck_assert_int_eq(chmod(dst, mode), 0);
}

static void
setup_tmp(void)
{
	strcpy(tmpdir, "/tmp/fd-core-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	chmod(tmpdir, 0755);
}

static void
teardown_tmp(void)
{
	char	 cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	(void)!system(cmd);
}

/* load - try path, return the one error message (or "" on success) */
static char *
load(const char *path, const char **name)
{
	static char		 msg[1024];
	struct fd_errs		 errs = { 0 };
	struct fd_loc		 loc = { "t.conf", 3, 1 };
	struct fd_plugin_lib	*lib;

	msg[0] = '\0';
	lib = fd_plugin_lib_open(path, &loc, &errs);
	if (lib != NULL) {
		ck_assert_uint_eq(errs.n, 0);
		if (name != NULL)
			*name = strdup(fd_plugin_lib_desc(lib)->name);
		fd_plugin_lib_close(lib);
	} else {
		ck_assert_uint_eq(errs.n, 1);
		snprintf(msg, sizeof(msg), "%s", errs.msg[0]);
	}
	fd_errs_clear(&errs);
	return msg;
}

#define EXAMPLE_SO	FD_BUILDDIR "/contrib/example-plugin/.libs/example.so"

START_TEST(load_good)
{
	char		 path[128];
	const char	*name = NULL;

	snprintf(path, sizeof(path), "%s/example.so", tmpdir);
	copy(EXAMPLE_SO, path, 0644);
	ck_assert_str_eq(load(path, &name), "");
	ck_assert_str_eq(name, "example");
	free((void *)name);
}
END_TEST

START_TEST(load_missing)
{
	char	 path[128], want[256];

	snprintf(path, sizeof(path), "%s/nope.so", tmpdir);
	snprintf(want, sizeof(want), "t.conf:3:1: plugin file %s: "
	    "No such file or directory", path);
	ck_assert_str_eq(load(path, NULL), want);
}
END_TEST

START_TEST(load_not_elf)
{
	char	 path[128];
	FILE	*fp;

	snprintf(path, sizeof(path), "%s/junk.so", tmpdir);
	fp = fopen(path, "w");
	for (int i = 0; i < 200; i++)
		fputs("this is not a shared object\n", fp);
	fclose(fp);
	chmod(path, 0644);
	/* dlerror's own text is passed on */
	ck_assert_ptr_nonnull(strstr(load(path, NULL), "invalid ELF header"));
}
END_TEST

START_TEST(load_no_symbol)
{
	char	 path[128];

	snprintf(path, sizeof(path), "%s/nosym.so", tmpdir);
	copy(FD_BUILDDIR "/tests/plugins/.libs/nosym.so", path, 0644);
	ck_assert_ptr_nonnull(strstr(load(path, NULL),
	    ": missing entry symbol filterd_plugin"));
}
END_TEST

START_TEST(load_bad_abi)
{
	char	 path[128], want[64];

	snprintf(path, sizeof(path), "%s/badabi.so", tmpdir);
	copy(FD_BUILDDIR "/tests/plugins/.libs/badabi.so", path, 0644);
	snprintf(want, sizeof(want), "ABI mismatch: plugin has ABI %d.0, "
	    "filterd has ABI %d.%d", FD_PLUGIN_ABI_MAJOR + 98,
	    FD_PLUGIN_ABI_MAJOR, FD_PLUGIN_ABI_MINOR);
	ck_assert_ptr_nonnull(strstr(load(path, NULL), want));
}
END_TEST

START_TEST(load_group_writable)
{
	char	 path[128];

	snprintf(path, sizeof(path), "%s/example.so", tmpdir);
	copy(EXAMPLE_SO, path, 0664);
	ck_assert_ptr_nonnull(strstr(load(path, NULL),
	    "refused: writable by group (mode 0664)"));
}
END_TEST

/* owned by another user: as root, "expected root" (it said "expected
 * root or uid 0") */
START_TEST(load_other_owner)
{
	char	 path[128], want[64];

	if (geteuid() != 0)
		return;
	snprintf(path, sizeof(path), "%s/example.so", tmpdir);
	copy(EXAMPLE_SO, path, 0644);
	ck_assert_int_eq(chown(path, 2, 2), 0);
	snprintf(want, sizeof(want), "refused: owned by uid 2, expected root");
	ck_assert_ptr_nonnull(strstr(load(path, NULL), want));
	ck_assert_ptr_null(strstr(load(path, NULL), "or uid"));
}
END_TEST

START_TEST(load_dir_writable)
{
	char	 path[128];

	snprintf(path, sizeof(path), "%s/example.so", tmpdir);
	copy(EXAMPLE_SO, path, 0644);
	chmod(tmpdir, 0777);
	ck_assert_ptr_nonnull(strstr(load(path, NULL),
	    "plugin directory"));
	ck_assert_ptr_nonnull(strstr(load(path, NULL),
	    "refused: writable by others (mode 0777)"));
	chmod(tmpdir, 0755);
}
END_TEST

/*
 * A symlink in a safe directory may point into an unsafe one, and a
 * safe directory may sit in one that others can write: either way
 * someone else can swap the code loaded. Every directory from the real
 * file up to / counts; one that others may write is safe only when
 * sticky (as /tmp, which holds tmpdir), where they cannot replace
 * what is below it.
 */
START_TEST(load_symlink_unsafe_dir)
{
	char	 dir[128], real[160], link[160], want[256];

	snprintf(dir, sizeof(dir), "%s/open", tmpdir);
	ck_assert_int_eq(mkdir(dir, 0755), 0);
	ck_assert_int_eq(chmod(dir, 0777), 0);
	snprintf(real, sizeof(real), "%s/example.so", dir);
	copy(EXAMPLE_SO, real, 0644);
	snprintf(link, sizeof(link), "%s/example.so", tmpdir);
	ck_assert_int_eq(symlink(real, link), 0);
	snprintf(want, sizeof(want), "t.conf:3:1: plugin directory %s: "
	    "refused: writable by others (mode 0777)", dir);
	ck_assert_str_eq(load(link, NULL), want);
	/* sticky, it is safe again */
	ck_assert_int_eq(chmod(dir, 01777), 0);
	ck_assert_str_eq(load(link, NULL), "");
}
END_TEST

START_TEST(load_ancestor_writable)
{
	char	 top[128], sub[160], path[192], want[256];

	snprintf(top, sizeof(top), "%s/top", tmpdir);
	ck_assert_int_eq(mkdir(top, 0755), 0);
	snprintf(sub, sizeof(sub), "%s/lib", top);
	ck_assert_int_eq(mkdir(sub, 0755), 0);
	snprintf(path, sizeof(path), "%s/example.so", sub);
	copy(EXAMPLE_SO, path, 0644);
	ck_assert_str_eq(load(path, NULL), "");
	ck_assert_int_eq(chmod(top, 0775), 0);
	snprintf(want, sizeof(want), "t.conf:3:1: plugin directory %s: "
	    "refused: writable by group (mode 0775)", top);
	ck_assert_str_eq(load(path, NULL), want);
}
END_TEST

/* the MTA may call abort, close and MAIL in any order */
/*
 * filterd -c with a relative path: the daemon detaches and changes
 * directory to /, and SIGUSR1 must still reload the same file (and the
 * files it names relative to itself)
 */
START_TEST(reload_after_chdir)
{
	struct fd_errs		 errs = { 0 };
	struct fd_daemon	*d;
	struct fd_gen		*gen;
	char			 cwd[1024], path[256];
	FILE			*fp;

	snprintf(path, sizeof(path), "%s/filterd.conf", tmpdir);
	ck_assert_ptr_nonnull(fp = fopen(path, "w"));
	fprintf(fp, "include \"rules.inc\"\n");
	fclose(fp);
	snprintf(path, sizeof(path), "%s/rules.inc", tmpdir);
	ck_assert_ptr_nonnull(fp = fopen(path, "w"));
	fprintf(fp, "rule r on connect reject\n");
	fclose(fp);
	ck_assert_ptr_nonnull(getcwd(cwd, sizeof(cwd)));
	ck_assert_int_eq(chdir(tmpdir), 0);
	d = fd_daemon_new("filterd.conf");
	ck_assert_int_eq(fd_daemon_load(d, &errs), 0);
	ck_assert_int_eq(chdir("/"), 0);
	if (fd_daemon_load(d, &errs) < 0)
		ck_abort_msg("reload after chdir: %s", errs.msg[0]);
	gen = fd_daemon_acquire(d);
	ck_assert_uint_eq(gen->serial, 2);
	fd_gen_unref(gen);
	ck_assert_int_eq(chdir(cwd), 0);
	fd_errs_clear(&errs);
	fd_daemon_free(d);
}
END_TEST

/* load_errors - load text as a configuration with the shipped plugins;
 * its errors, one per line, "" for none; static */
static const char *
load_errors(const char *text)
{
	static char		 out[4096];
	struct fd_errs		 errs = { 0 };
	struct fd_daemon	*d;
	char			 path[256];
	size_t			 i, o = 0;
	FILE			*fp;

	snprintf(path, sizeof(path), "%s/sets.conf", tmpdir);
	ck_assert_ptr_nonnull(fp = fopen(path, "w"));
	fprintf(fp, "plugin-dir \"%s\"\n%s", FD_BUILDDIR "/plugins/.libs",
	    text);
	fclose(fp);
	d = fd_daemon_new(path);
	out[0] = '\0';
	if (fd_daemon_load(d, &errs) < 0)
		for (i = 0; i < errs.n && o < sizeof(out); i++)
			o += (size_t)snprintf(out + o, sizeof(out) - o, "%s%s",
			    i ? "\n" : "", errs.msg[i] + strlen(tmpdir) + 1);
	fd_errs_clear(&errs);
	fd_daemon_free(d);
	return out;
}

/*
 * A mistyped directive in a shipped plugin's block gets the hint a
 * mistyped statement gets (host conf_unknown, ABI 1.3); one close to
 * nothing lists what the plugin knows
 */
START_TEST(plugin_directive_hint)
{
	ck_assert_str_eq(load_errors("plugin greylist {\n\tdelya 5m\n"
	    "\twhitelist-network 10.0.0.0/8\n}\n"),
	    "sets.conf:3:2: plugin greylist: unknown directive \"delya\" "
	    "(did you mean \"delay\"?)\n"
	    "sets.conf:4:2: plugin greylist: unknown directive "
	    "\"whitelist-network\" (did you mean \"whitelist-networks\"?)");
	ck_assert_str_eq(load_errors("plugin helo {\n\tgeneric-pattern "
	    "\"x\"\n}\n"),
	    "sets.conf:3:2: plugin helo: unknown directive "
	    "\"generic-pattern\" (did you mean \"generic-patterns\"?)");
	ck_assert_str_eq(load_errors("plugin ratelimit {\n\tlimt client-ip "
	    "3/1m\n\tcolour red\n}\n"),
	    "sets.conf:3:2: plugin ratelimit: unknown directive \"limt\" "
	    "(did you mean \"limit\"?)\n"
	    "sets.conf:4:2: plugin ratelimit: unknown directive \"colour\" "
	    "(known: limit, ipv4-prefix, ipv6-prefix, tempfail-code, "
	    "decide-messages-at, message, reject-message)");
}
END_TEST

/*
 * A rule's `set PLUGIN.PARAM VALUE` is checked by the plugin at load: a
 * mistyped parameter or value is an error at its place, where it used to
 * be a setting that never applied
 */
START_TEST(set_checked)
{
	static const char plugins[] =
	    "plugin greylist\nplugin helo\n"
	    "plugin ratelimit {\n\tlimit client-ip 10/1m name ip\n"
	    "\tlimit sender 100/1d\n\tlimit client-ip 5/1m per connections "
	    "name conns\n}\n";
	char	 text[2048];

	snprintf(text, sizeof(text), "%s"
	    "rule a on mail set greylist.delay 1m\n"
	    "rule b on mail set greylist.decide-at eom\n"
	    "rule c on mail set greylist.auto-whitelist off\n"
	    "rule d on mail set ratelimit.ip off\n"
	    "rule e on mail set ratelimit.sender-messages-1d 5/1h\n"
	    "rule f on mail set ratelimit.factor 0.5\n", plugins);
	ck_assert_str_eq(load_errors(text), "");

	snprintf(text, sizeof(text), "%s"
	    "rule a on mail set greylist.dealy 1m\n"
	    "rule b on mail set greylist.delay soon\n"
	    "rule c on mail set greylist.decide-at data\n"
	    "rule d on mail set ratelimit.ipp off\n"
	    "rule e on mail set ratelimit.ip lots\n"
	    "rule f on mail set ratelimit.factor -1\n"
	    "rule g on mail set helo.fqdn off\n"
	    "rule h on mail set ratelimit.conns 5/1m\n", plugins);
	ck_assert_str_eq(load_errors(text),
	    "sets.conf:9:20: set greylist.dealy: no such parameter (delay, "
	    "retry-window, whitelist-for, auto-whitelist, auto-whitelist-for, "
	    "decide-at, header or message)\n"
	    "sets.conf:10:35: set greylist.delay \"soon\": expected a duration "
	    "such as 90s, 5m or 2h\n"
	    "sets.conf:11:39: set greylist.decide-at \"data\": expected rcpt or "
	    "eom\n"
	    "sets.conf:12:20: set ratelimit.ipp: no limit of that name (factor, "
	    "ip, sender-messages-1d, conns)\n"
	    "sets.conf:13:33: set ratelimit.ip \"lots\": expected a rate like "
	    "500/1h, or off\n"
	    "sets.conf:14:37: set ratelimit.factor \"-1\": expected a positive "
	    "number like 10 or 0.5\n"
	    "sets.conf:15:20: set helo.fqdn: the helo plugin takes no rule "
	    "parameters\n"
	    "sets.conf:16:20: set ratelimit.conns: a connections limit is "
	    "decided at connect, before any set; skip it with a rule on "
	    "connect");
}
END_TEST

START_TEST(txn_orders)
{
	struct fd_txn	*t = fd_txn_new(NULL, 1);

	fd_txn_msg_end(t);			/* abort without MAIL */
	fd_txn_msg_begin(t, "<a@example.com>");
	ck_assert_str_eq(t->msg.sender, "a@example.com");
	fd_txn_rcpt_begin(t, "<b@example.org>");
	fd_txn_rcpt_accept(t);
	fd_txn_rcpt_begin(t, "<c@example.org>");	/* refused: not accepted */
	ck_assert_uint_eq(t->msg.nrcpts, 1);
	fd_txn_msg_begin(t, "<>");		/* second message, no abort */
	ck_assert_str_eq(t->msg.sender, "");
	ck_assert_uint_eq(t->msg.nrcpts, 0);
	ck_assert_uint_eq(t->msg_count, 2);
	fd_txn_msg_end(t);
	fd_txn_msg_end(t);			/* twice is harmless */
	fd_txn_msg_begin(t, "<d@example.com>");
	t = fd_txn_free(t);			/* close without abort */
	ck_assert_ptr_null(t);
}
END_TEST

START_TEST(txn_addresses)
{
	struct fd_txn	*t = fd_txn_new(NULL, 1);

	ck_assert_int_eq(fd_txn_set_addr_str(t, "192.0.2.7"), 0);
	ck_assert_uint_eq(t->ip_len, 4);
	ck_assert_int_eq(t->local, 0);
	ck_assert_int_eq(fd_txn_set_addr_str(t, "::ffff:127.0.0.1"), 0);
	ck_assert_uint_eq(t->ip_len, 4);	/* mapped: treated as IPv4 */
	ck_assert_str_eq(t->addr, "127.0.0.1");
	ck_assert_int_eq(t->local, 1);
	ck_assert_int_eq(fd_txn_set_addr_str(t, "2001:db8::1"), 0);
	ck_assert_uint_eq(t->ip_len, 16);
	ck_assert_str_eq(t->addr, "2001:db8::1");
	ck_assert_int_eq(fd_txn_set_addr_str(t, "not an address"), -1);
	fd_txn_set_macro(t, "{client_resolve}", "OK");
	ck_assert_int_eq(t->resolve, FD_RESOLVE_OK);
	fd_txn_set_macro(t, "j", "mx.example.net");
	ck_assert_str_eq(fd_txn_macro(t, "{j}"), "mx.example.net");
	ck_assert_ptr_null(fd_txn_macro(t, "{auth_authen}"));
	fd_txn_free(t);
}
END_TEST

START_TEST(txn_skip_params)
{
	struct fd_txn	*t = fd_txn_new(NULL, 1);

	fd_txn_skip(t, 2);			/* before MAIL: every message */
	fd_txn_msg_begin(t, "<a@b>");
	fd_txn_skip(t, 0);			/* this message only */
	fd_txn_param_set(t, 1, "limit", "100");
	fd_txn_param_set(t, 1, "limit", "200");
	ck_assert_str_eq(fd_txn_param(t, 1, "limit"), "200");
	ck_assert_ptr_null(fd_txn_param(t, 0, "limit"));
	ck_assert_uint_eq(t->skip, 4);
	ck_assert_uint_eq(t->msg.skip, 1);
	/* at RCPT a skip holds for that recipient only */
	fd_txn_rcpt_begin(t, "<postmaster@b>");
	t->stage = FD_ST_RCPT;
	fd_txn_skip(t, 3);
	ck_assert_uint_eq(t->msg.rcpt_skip, 8);
	ck_assert_uint_eq(t->msg.skip, 1);
	fd_txn_rcpt_accept(t);
	fd_txn_rcpt_begin(t, "<user@b>");
	ck_assert_uint_eq(t->msg.rcpt_skip, 0);
	t->stage = FD_ST_MAIL;
	fd_txn_msg_begin(t, "<a@b>");
	ck_assert_uint_eq(t->msg.skip, 0);
	ck_assert_uint_eq(t->skip, 4);
	ck_assert_ptr_null(fd_txn_param(t, 1, "limit"));
	fd_txn_free(t);
}
END_TEST

/* big - a string of n bytes, each position's letter, for telling apart */
static char *
big(size_t n, char first)
{
	char	*s = malloc(n + 1);
	size_t	 i;

	ck_assert_ptr_nonnull(s);
	for (i = 0; i < n; i++)
		s[i] = (char)(first + (int)(i % 26));
	s[n] = '\0';
	return s;
}

/* a macro set again: longer, shorter, its own value, the same again */
START_TEST(txn_macro_replace)
{
	struct fd_txn	*t = fd_txn_new(NULL, 1);
	char		*longer = big(300, 'a');
	char		 copy[32];

	fd_txn_set_macro(t, "{m}", "short");
	fd_txn_set_macro(t, "n", "other");
	ck_assert_str_eq(fd_txn_macro(t, "m"), "short");
	fd_txn_set_macro(t, "m", longer);
	ck_assert_str_eq(fd_txn_macro(t, "{m}"), longer);
	fd_txn_set_macro(t, "{m}", "x");
	ck_assert_str_eq(fd_txn_macro(t, "{m}"), "x");
	fd_txn_set_macro(t, "{m}", "");
	ck_assert_str_eq(fd_txn_macro(t, "m"), "");
	fd_txn_set_macro(t, "{m}", longer);
	fd_txn_set_macro(t, "{m}", fd_txn_macro(t, "m"));	/* itself */
	ck_assert_str_eq(fd_txn_macro(t, "m"), longer);
	fd_txn_set_macro(t, "{m}", fd_txn_macro(t, "m") + 290);	/* its tail */
	ck_assert_str_eq(fd_txn_macro(t, "m"), longer + 290);
	ck_assert_str_eq(fd_txn_macro(t, "{n}"), "other");
	/* names: whole, braces or not; a prefix is another macro */
	ck_assert_ptr_null(fd_txn_macro(t, "{mm}"));
	ck_assert_ptr_null(fd_txn_macro(t, "{}"));
	fd_txn_set_macro(t, "{client_resolve}", "FORGED");
	ck_assert_int_eq(t->resolve, FD_RESOLVE_FORGED);
	fd_txn_set_macro(t, "client_resolve", "TEMP");
	ck_assert_int_eq(t->resolve, FD_RESOLVE_TEMP);
	fd_txn_set_macro(t, "{client_resolved}", "OK");	/* not it */
	ck_assert_int_eq(t->resolve, FD_RESOLVE_TEMP);
	/* HELO and the client name too */
	fd_txn_set_helo(t, "a.example");
	fd_txn_set_helo(t, longer);
	ck_assert_str_eq(t->helo, longer);
	snprintf(copy, sizeof(copy), "%s", t->helo + 280);
	fd_txn_set_helo(t, t->helo + 280);
	ck_assert_str_eq(t->helo, copy);
	fd_txn_set_helo(t, NULL);
	ck_assert_str_eq(t->helo, "");
	ck_assert_uint_eq(t->helo_count, 4);
	fd_txn_set_client_name(t, "mx.example.com");
	fd_txn_set_client_name(t, NULL);
	ck_assert_ptr_null(t->client_name);
	fd_txn_set_client_name(t, longer);
	ck_assert_str_eq(t->client_name, longer);
	fd_txn_set_client_name(t, "[192.0.2.1]");
	ck_assert_str_eq(t->client_name, "[192.0.2.1]");
	ck_assert_str_eq(t->helo, "");
	fd_txn_free(t);
	free(longer);
}
END_TEST

/* more macros than any inline room holds, each set again longer */
START_TEST(txn_many_macros)
{
	struct fd_txn	*t = fd_txn_new(NULL, 1);
	char		 name[32], value[64];
	int		 i, round;

	for (round = 0; round < 3; round++) {
		for (i = 0; i < 400; i++) {
			snprintf(name, sizeof(name), i % 2 ? "{m%d}" : "m%d", i);
			snprintf(value, sizeof(value), "%*d", 4 + 20 * round, i);
			fd_txn_set_macro(t, name, value);
		}
		for (i = 0; i < 400; i++) {
			snprintf(name, sizeof(name), "{m%d}", i);
			snprintf(value, sizeof(value), "%*d", 4 + 20 * round, i);
			ck_assert_str_eq(fd_txn_macro(t, name), value);
		}
	}
	ck_assert_ptr_null(fd_txn_macro(t, "m400"));
	fd_txn_free(t);
}
END_TEST

/* 10 kB wherever the MTA or a rule hands us a string */
START_TEST(txn_big_values)
{
	struct fd_txn	*t = fd_txn_new(NULL, 1);
	char		*v = big(10240, 'a'), *addr = big(10240, 'A');
	char		*bracketed = malloc(10243);
	const struct fd_kv *h;

	ck_assert_ptr_nonnull(bracketed);
	snprintf(bracketed, 10243, "<%s>", addr);
	fd_txn_set_macro(t, "{auth_authen}", v);
	fd_txn_set_macro(t, "i", v);
	fd_txn_set_helo(t, v);
	fd_txn_set_client_name(t, v);
	fd_txn_msg_begin(t, bracketed);
	ck_assert_str_eq(t->msg.sender, addr);
	ck_assert_str_eq(t->msg.auth_user, v);
	ck_assert_str_eq(t->msg.queue_id, v);
	fd_txn_rcpt_begin(t, bracketed);
	ck_assert_str_eq(t->msg.rcpt, addr);
	fd_txn_rcpt_accept(t);
	fd_txn_rcpt_begin(t, "<short@example.org>");
	fd_txn_rcpt_begin(t, bracketed);	/* a refused one's room grows */
	fd_txn_rcpt_accept(t);
	ck_assert_uint_eq(t->msg.nrcpts, 2);
	ck_assert_str_eq(t->msg.rcpts[0], addr);
	ck_assert_str_eq(t->msg.rcpts[1], addr);
	fd_txn_param_set(t, 0, "p", "1");
	fd_txn_param_set(t, 0, "p", v);
	ck_assert_str_eq(fd_txn_param(t, 0, "p"), v);
	fd_txn_header_add(t, "X-Big", v);
	fd_txn_header_add(t, "X-Small", "s");
	h = t->msg.headers;
	ck_assert_str_eq(h->name, "X-Big");
	ck_assert_str_eq(h->value, v);
	ck_assert_str_eq(h->next->name, "X-Small");
	ck_assert_ptr_null(h->next->next);
	ck_assert_str_eq(t->helo, v);
	ck_assert_str_eq(t->client_name, v);
	ck_assert_str_eq(fd_txn_macro(t, "{i}"), v);
	fd_txn_free(t);
	free(v);
	free(addr);
	free(bracketed);
}
END_TEST

/* host_demo - l, the host table of a plugin named "demo" */
static void
host_demo(struct fd_loaded *l, struct fd_plugin_conf *pc, struct fd_gen *gen)
{
	memset(pc, 0, sizeof(*pc));
	memset(l, 0, sizeof(*l));
	memset(gen, 0, sizeof(*gen));
	pc->name = "demo";
	l->conf = pc;
	l->gen = gen;
	fd_host_init(&l->host, l);
}

/* recipients past any inline room; refused ones in between; each
 * keeps the skip a rule decided at its RCPT (host rcpt_skipped) */
START_TEST(txn_many_rcpts)
{
	struct fd_txn		*t = fd_txn_new(NULL, 1);
	struct fd_plugin_conf	 pc;
	struct fd_loaded	 l;
	struct fd_gen		 gen;
	char			 rcpt[128], want[128];
	size_t			 i;

	host_demo(&l, &pc, &gen);
	l.index = 5;
	fd_txn_msg_begin(t, "<a@example.com>");
	t->stage = FD_ST_RCPT;
	for (i = 0; i < 1000; i++) {
		snprintf(rcpt, sizeof(rcpt), "<%0*zu@example.org>",
		    (int)(1 + i % 90), i);
		fd_txn_rcpt_begin(t, rcpt);
		if (i % 7 == 0)
			fd_txn_skip(t, 5);
		else if (i % 7 == 1)
			fd_txn_skip(t, 4);
		if (i % 3 != 2)
			fd_txn_rcpt_accept(t);
	}
	ck_assert_uint_eq(t->msg.nrcpts, 667);
	for (i = 0; i < 1000; i++) {
		if (i % 3 == 2)
			continue;
		snprintf(want, sizeof(want), "%0*zu@example.org",
		    (int)(1 + i % 90), i);
		ck_assert_str_eq(t->msg.rcpts[i - i / 3], want);
		ck_assert_int_eq(l.host.rcpt_skipped(&l.host, t, i - i / 3),
		    i % 7 == 0);
	}
	ck_assert_int_eq(l.host.rcpt_skipped(&l.host, t, 667), 0);
	ck_assert_str_eq(t->msg.sender, "a@example.com");
	fd_txn_rcpt_accept(t);			/* accepted already: nothing */
	ck_assert_uint_eq(t->msg.nrcpts, 667);
	/* the next message starts with an empty list */
	fd_txn_msg_begin(t, "b@example.com");
	ck_assert_uint_eq(t->msg.nrcpts, 0);
	ck_assert_ptr_null(t->msg.rcpt);
	fd_txn_rcpt_begin(t, "c@example.org");
	fd_txn_rcpt_accept(t);
	ck_assert_str_eq(t->msg.rcpts[0], "c@example.org");
	ck_assert_str_eq(t->msg.sender, "b@example.com");
	fd_txn_free(t);
}
END_TEST

/* a queue id the milter glue learns after MAIL belongs to the message */
START_TEST(txn_queue_id)
{
	struct fd_txn	*t = fd_txn_new(NULL, 1);
	char		 qid[] = "4XyZ1";

	fd_txn_set_queue_id(t, "early");	/* no message: nothing */
	ck_assert_ptr_null(t->msg.queue_id);
	fd_txn_msg_begin(t, "<a@b>");
	ck_assert_ptr_null(t->msg.queue_id);
	ck_assert_ptr_null(t->msg.auth_user);
	fd_txn_set_queue_id(t, qid);
	qid[0] = 'X';				/* a copy was kept */
	ck_assert_str_eq(t->msg.queue_id, "4XyZ1");
	fd_txn_msg_end(t);
	ck_assert_ptr_null(t->msg.queue_id);
	fd_txn_set_macro(t, "{i}", "4XyZ2");
	fd_txn_set_macro(t, "{auth_type}", "PLAIN");
	fd_txn_set_macro(t, "{auth_authen}", "");	/* empty: none */
	fd_txn_msg_begin(t, "<a@b>");
	ck_assert_str_eq(t->msg.queue_id, "4XyZ2");
	ck_assert_str_eq(t->msg.auth_type, "PLAIN");
	ck_assert_ptr_null(t->msg.auth_user);
	fd_txn_msg_end(t);
	fd_txn_msg_begin(t, "<a@b>");
	t = fd_txn_free(t);		/* leak checkers see the rest */
}
END_TEST

/* dotted quads written by hand read as inet_ntop writes them */
START_TEST(txn_ipv4_text)
{
	static const char *const addrs[] = { "0.0.0.0", "255.255.255.255",
	    "10.0.100.9", "192.0.2.7", "1.20.199.250", "127.0.0.1" };
	struct fd_txn	*t = fd_txn_new(NULL, 1);
	size_t		 i;

	for (i = 0; i < sizeof(addrs) / sizeof(addrs[0]); i++) {
		ck_assert_int_eq(fd_txn_set_addr_str(t, addrs[i]), 0);
		ck_assert_str_eq(t->addr, addrs[i]);
	}
	ck_assert_int_eq(t->local, 1);
	fd_txn_free(t);
}
END_TEST

/* plugins' slots: what each hook gets, when it is zeroed */
struct fake_counts {
	int		 msg_end, conn_end;
	void		*conn_seen, *msg_seen;
};
static struct fake_counts fc[3];

static void
fake_msg_end(struct fake_counts *c, void *conn, void *msg)
{
	c->msg_end++;
	c->conn_seen = conn;
	c->msg_seen = msg;
}

static void
fake0_msg_end(void *state, void *conn, void *msg)
{
	fake_msg_end(&fc[0], conn, msg);
}

static void
fake2_msg_end(void *state, void *conn, void *msg)
{
	fake_msg_end(&fc[2], conn, msg);
}

static void
fake0_conn_end(void *state, void *conn)
{
	fc[0].conn_end++;
	fc[0].conn_seen = conn;
}

static void
fake1_conn_end(void *state, void *conn)
{
	fc[1].conn_end++;
}

static void
fake_plan(struct fd_txn *t, uint32_t stage, void *state, void *conn,
    void *msg)
{
}

static const struct fd_plugin fake_plugins[3] = {
	{ .name = "a", .conn_priv_size = 24, .msg_priv_size = 40,
	  .msg_end = fake0_msg_end, .conn_end = fake0_conn_end },
	{ .name = "b", .conn_end = fake1_conn_end },	/* no slots */
	{ .name = "c", .msg_priv_size = 1, .msg_end = fake2_msg_end,
	  .plan = fake_plan },
};

/* aligned - p is aligned for any type */
static int
aligned(const void *p)
{
	return (uintptr_t)p % _Alignof(max_align_t) == 0;
}

START_TEST(txn_plugin_slots)
{
	struct fd_loaded	 loaded[3];
	struct fd_gen		 gen;
	struct fd_txn		*t;
	unsigned char		*m0, *m2, *c0;
	size_t			 i;

	memset(loaded, 0, sizeof(loaded));
	memset(&gen, 0, sizeof(gen));
	memset(fc, 0, sizeof(fc));
	for (i = 0; i < 3; i++) {
		loaded[i].p = &fake_plugins[i];
		loaded[i].index = (int)i;
	}
	gen.nplugins = 3;
	gen.plugins = loaded;
	gen.refs = 2;			/* fd_txn_free drops one */
	t = fd_txn_new(&gen, 7);
	ck_assert_ptr_nonnull(t->priv);
	ck_assert_ptr_nonnull(t->plan);	/* "c" plans */
	ck_assert_ptr_null(t->msg.priv);	/* no message yet */
	c0 = t->priv[0];
	ck_assert_ptr_nonnull(c0);
	ck_assert(aligned(c0));
	ck_assert_ptr_null(t->priv[1]);
	ck_assert_ptr_null(t->priv[2]);
	for (i = 0; i < 24; i++)
		ck_assert_uint_eq(c0[i], 0);
	memset(c0, 0xa5, 24);

	fd_txn_msg_begin(t, "<a@b>");
	ck_assert_ptr_nonnull(t->msg.priv);
	m0 = t->msg.priv[0];
	m2 = t->msg.priv[2];
	ck_assert_ptr_null(t->msg.priv[1]);
	ck_assert(aligned(m0) && aligned(m2));
	ck_assert(m0 + 40 <= m2 || m2 + 1 <= m0);
	ck_assert(c0 + 24 <= m0 || m0 + 40 <= c0);
	for (i = 0; i < 40; i++)
		ck_assert_uint_eq(m0[i], 0);
	ck_assert_uint_eq(m2[0], 0);
	memset(m0, 0xff, 40);
	m2[0] = 0xff;
	fd_txn_rcpt_begin(t, "<c@d>");
	fd_txn_rcpt_accept(t);

	/* the second message: hooks saw the first's slots; new ones zeroed */
	fd_txn_msg_begin(t, "<e@f>");
	ck_assert_int_eq(fc[0].msg_end, 1);
	ck_assert_ptr_eq(fc[0].conn_seen, c0);
	ck_assert_ptr_eq(fc[0].msg_seen, m0);
	ck_assert_int_eq(fc[2].msg_end, 1);
	ck_assert_ptr_null(fc[2].conn_seen);
	ck_assert_ptr_eq(fc[2].msg_seen, m2);
	for (i = 0; i < 40; i++)
		ck_assert_uint_eq(((unsigned char *)t->msg.priv[0])[i], 0);
	ck_assert_uint_eq(((unsigned char *)t->msg.priv[2])[0], 0);
	for (i = 0; i < 24; i++)	/* the connection's is kept */
		ck_assert_uint_eq(c0[i], 0xa5);
	ck_assert_uint_eq(t->msg.nrcpts, 0);
	fd_txn_msg_end(t);
	ck_assert_ptr_null(t->msg.priv);
	ck_assert_int_eq(fc[0].msg_end, 2);
	fd_txn_msg_end(t);			/* no message: no hooks */
	ck_assert_int_eq(fc[0].msg_end, 2);

	fd_txn_msg_begin(t, "<g@h>");
	t = fd_txn_free(t);			/* ends the message too */
	ck_assert_int_eq(fc[0].msg_end, 3);
	ck_assert_int_eq(fc[2].msg_end, 3);
	ck_assert_int_eq(fc[0].conn_end, 1);
	ck_assert_ptr_eq(fc[0].conn_seen, c0);
	ck_assert_int_eq(fc[1].conn_end, 0);	/* no slot: no hook */
	ck_assert_int_eq(gen.refs, 1);
}
END_TEST

/* one_line - the host's log capture: the last line */
static char last_line[2048];

static void
one_line(int level, const char *line, void *arg)
{
	(void)level;
	(void)arg;
	snprintf(last_line, sizeof(last_line), "%s", line);
}

/*
 * A plugin's log line stays one line whatever it formats into it:
 * control bytes come out as C escapes, so raw client text a plugin
 * forgot to escape() cannot forge a line of its own; text escape()
 * already made passes unchanged.
 */
START_TEST(host_log_one_line)
{
	struct fd_plugin_conf	 pc;
	struct fd_loaded	 l;
	struct fd_gen		 gen;
	char			 esc[64];

	host_demo(&l, &pc, &gen);
	fd_log_capture(one_line, NULL);
	l.host.log(&l.host, FD_LOG_WARN, "helo=\"%s\"",
	    "x.org\" ok\nfilterd[1]: notice: forged\r\x1b[0m\x7f");
	ck_assert_str_eq(last_line, "plugin demo: helo=\"x.org\" ok\\nfilterd"
	    "[1]: notice: forged\\r\\x1b[0m\\x7f\"");
	l.host.log(&l.host, FD_LOG_WARN, "helo=\"%s\"", l.host.escape(esc,
	    sizeof(esc), "a\nb\\c", 5));
	ck_assert_str_eq(last_line, "plugin demo: helo=\"a\\nb\\\\c\"");
	fd_log_capture(NULL, NULL);
}
END_TEST

/*
 * A plugin's line about a connection starts as that connection's decision
 * line does, so that one conn=N finds it; without a txn it is log()'s.
 */
START_TEST(host_log_txn_fields)
{
	struct fd_plugin_conf	 pc;
	struct fd_loaded	 l;
	struct fd_gen		 gen;
	struct fd_txn		*t = fd_txn_new(NULL, 12);

	host_demo(&l, &pc, &gen);
	ck_assert_int_eq(fd_txn_set_addr_str(t, "203.0.113.5"), 0);
	fd_txn_set_client_name(t, "mail.example.org");
	fd_log_capture(one_line, NULL);
	l.host.log_txn(&l.host, t, FD_LOG_WARN, "helo=\"%s\"", "a\nb");
	ck_assert_str_eq(last_line, "conn=12 qid=- "
	    "client=mail.example.org[203.0.113.5] plugin demo: helo=\"a\\nb\"");
	fd_txn_msg_begin(t, "<s@example.org>");
	fd_txn_set_queue_id(t, "4XyZ1");
	l.host.log_txn(&l.host, t, FD_LOG_WARN, "later");
	ck_assert_str_eq(last_line, "conn=12 qid=4XyZ1 "
	    "client=mail.example.org[203.0.113.5] plugin demo: later");
	l.host.log_txn(&l.host, NULL, FD_LOG_WARN, "no connection");
	ck_assert_str_eq(last_line, "plugin demo: no connection");
	fd_log_capture(NULL, NULL);
	fd_txn_free(t);
}
END_TEST

/*
 * A plugin's header is checked as a rule's is at load: a name that is no
 * RFC 5322 field name, or a value with a line break in it (which would
 * start a header line of its own), is refused and not queued.
 */
START_TEST(host_add_header_checked)
{
	struct fd_plugin_conf	 pc;
	struct fd_loaded	 l;
	struct fd_gen		 gen;
	struct fd_txn		*t = fd_txn_new(NULL, 1);

	host_demo(&l, &pc, &gen);
	ck_assert_int_eq(l.host.add_header(t, "X-Early", "v"), -1);
	fd_txn_msg_begin(t, "<s@example.org>");
	ck_assert_int_eq(l.host.add_header(t, "X-Tag", "a \"b\" c"), 0);
	ck_assert_int_eq(l.host.add_header(t, "X-Tag", "x\r\nBcc: y@z"), -1);
	ck_assert_int_eq(l.host.add_header(t, "X-Tag", "x\nBcc: y@z"), -1);
	ck_assert_int_eq(l.host.add_header(t, "X Tag", "v"), -1);
	ck_assert_int_eq(l.host.add_header(t, "X-Tag:", "v"), -1);
	ck_assert_int_eq(l.host.add_header(t, "", "v"), -1);
	ck_assert_int_eq(l.host.add_header(t, "X-\xc3\xa9", "v"), -1);
	ck_assert_ptr_nonnull(t->msg.headers);
	ck_assert_ptr_null(t->msg.headers->next);
	fd_txn_free(t);
}
END_TEST

/* a plugin that cannot decide, with client text in its reason */
static enum fd_action
failing_rcpt(struct fd_txn *t, void *state, void *conn, void *msg)
{
	(void)state;
	(void)conn;
	(void)msg;
	fd_txn_reason(t, "store down for <a\nfilterd[1]: notice: forged>");
	return FD_ERROR;
}

/* a generation of one plugin p, deciding at RCPT, with no rules */
struct one_gen {
	struct fd_plugin_conf	 pc;
	struct fd_conf		 conf;
	struct fd_loaded	 l;
	struct fd_gen		 gen;
};

static void
one_gen_init(struct one_gen *g, const struct fd_plugin *p)
{
	memset(g, 0, sizeof(*g));
	g->pc.name = (char *)p->name;
	g->l.p = p;
	g->l.conf = &g->pc;
	g->l.gen = &g->gen;
	g->l.stages = g->l.declared = g->l.decides = FD_ST_RCPT;
	g->l.on_store_error = FD_FAIL_CONTINUE;
	g->gen.conf = &g->conf;
	g->gen.nplugins = 1;
	g->gen.plugins = &g->l;
	g->gen.refs = 2;		/* fd_txn_free drops one */
}

/*
 * The line that says a plugin could not decide quotes its reason, which
 * a plugin may build from what the client sent (the decision line
 * escapes it too): a line break in it stays in the one line. It leads
 * with the fields of the message that met the trouble first, as the
 * decision line does, so that its log lines can be found.
 */
START_TEST(plugin_error_one_line)
{
	static const struct fd_plugin p = { .name = "demo",
	    .stages = FD_ST_RCPT, .on_rcpt = failing_rcpt };
	struct one_gen		 g;
	struct fd_txn		*t;

	one_gen_init(&g, &p);
	t = fd_txn_new(&g.gen, 1);
	fd_txn_msg_begin(t, "<s@example.org>");
	fd_txn_rcpt_begin(t, "<r@example.org>");
	last_line[0] = '\0';
	fd_log_capture(one_line, NULL);
	ck_assert_int_eq(fd_dispatch(t, FD_ST_RCPT, NULL, 0), FD_CONTINUE);
	fd_log_capture(NULL, NULL);
	ck_assert_str_eq(last_line, "conn=1 qid=- client=unknown[local] "
	    "plugin demo: could not decide (store down "
	    "for <a\\nfilterd[1]: notice: forged>); on-store-error continue "
	    "applies (logged once a minute)");
	fd_txn_free(t);
}
END_TEST

/* counting_reject - refuses every recipient, and counts its calls */
static int	 reject_calls;

static enum fd_action
counting_reject(struct fd_txn *t, void *state, void *conn, void *msg)
{
	(void)t;
	(void)state;
	(void)conn;
	(void)msg;
	reject_calls++;
	return FD_REJECT;
}

/*
 * A message stage with no message open (libmilter passes RCPT on after
 * UNKNOWN, or after an answer that ended the message) reaches no plugin:
 * its hook is promised a message slot
 */
START_TEST(dispatch_no_message)
{
	static const struct fd_plugin p = { .name = "demo",
	    .stages = FD_ST_RCPT, .on_rcpt = counting_reject };
	struct one_gen		 g;
	struct fd_txn		*t;

	one_gen_init(&g, &p);
	t = fd_txn_new(&g.gen, 1);
	reject_calls = 0;
	fd_txn_rcpt_begin(t, "<r@example.org>");
	ck_assert_int_eq(fd_dispatch(t, FD_ST_RCPT, NULL, 0), FD_CONTINUE);
	ck_assert_int_eq(reject_calls, 0);
	fd_txn_msg_begin(t, "<s@example.org>");
	fd_txn_rcpt_begin(t, "<r@example.org>");
	ck_assert_int_eq(fd_dispatch(t, FD_ST_RCPT, NULL, 0), FD_REJECT);
	ck_assert_int_eq(reject_calls, 1);
	fd_txn_msg_end(t);
	ck_assert_int_eq(fd_dispatch(t, FD_ST_RCPT, NULL, 0), FD_CONTINUE);
	ck_assert_int_eq(reject_calls, 1);
	fd_txn_free(t);
}
END_TEST

START_TEST(units)
{
	int64_t		 s;
	uint64_t	 u;
	const char	*why;
	int		 b;

	ck_assert_int_eq(fd_units_duration("5m", &s, &why), 0);
	ck_assert_int_eq(s, 300);
	ck_assert_int_eq(fd_units_duration("35d", &s, &why), 0);
	ck_assert_int_eq(s, 35 * 86400);
	ck_assert_int_eq(fd_units_duration("250ms", &s, &why), -1);
	ck_assert_int_eq(fd_units_duration_ms("250ms", &s, &why), 0);
	ck_assert_int_eq(s, 250);
	ck_assert_int_eq(fd_units_duration("5x", &s, &why), -1);
	ck_assert_int_eq(fd_units_duration("99999999999999999999w", &s, &why), -1);
	ck_assert_int_eq(fd_units_size("256M", &u, &why), 0);
	ck_assert_uint_eq(u, 256u << 20);
	ck_assert_int_eq(fd_units_bool("off", &b, &why), 0);
	ck_assert_int_eq(b, 0);
	ck_assert_int_eq(fd_units_bool("maybe", &b, &why), -1);
	/* a fraction is a whole number of a smaller unit, not a bad unit */
	ck_assert_int_eq(fd_units_duration("1.5m", &s, &why), -1);
	ck_assert_str_eq(why, "a whole number is needed: 90s, not 1.5m");
	ck_assert_int_eq(fd_units_duration_ms("0.5s", &s, &why), -1);
	ck_assert_str_eq(why, "a whole number is needed: 90s, not 1.5m");
	ck_assert_int_eq(fd_units_size("1.5G", &u, &why), -1);
	ck_assert_str_eq(why, "a whole number is needed: 1536M, not 1.5G");
	ck_assert_int_eq(fd_units_duration("1e9s", &s, &why), -1);
	ck_assert_str_eq(why, "unknown duration unit (use ms, s, m, h, d or w)");
}
END_TEST

START_TEST(units_dec)
{
	char	 b[32], *end = b + sizeof(b) - 1;

	*end = '\0';
	ck_assert_str_eq(fd_units_dec(end, 0), "0");
	ck_assert_str_eq(fd_units_dec(end, 7), "7");
	ck_assert_str_eq(fd_units_dec(end, 1000000), "1000000");
	ck_assert_str_eq(fd_units_dec(end, UINT64_MAX),
	    "18446744073709551615");
}
END_TEST

/* a path joined for a message: "./" steps dropped, ".." kept */
START_TEST(path_join)
{
	static const struct {
		const char	*dir, *rel, *want;
	} cases[] = {
		{ "/etc/filterd", "rules/x", "/etc/filterd/rules/x" },
		{ "/etc/filterd", "./rules/x", "/etc/filterd/rules/x" },
		{ "/etc/filterd", ".//./rules/x", "/etc/filterd/rules/x" },
		{ "/etc/filterd/.", "./x", "/etc/filterd/x" },
		{ "/etc/filterd/", "x", "/etc/filterd/x" },
		{ "/etc/filterd", "../x", "/etc/filterd/../x" },
		{ "/etc/filterd", "/abs/x", "/abs/x" },
		{ "/etc/filterd", ".x", "/etc/filterd/.x" },
		{ "/etc/filterd", "./", "/etc/filterd" },
		{ "/", "./x", "/x" },
		{ "/.", "x", "/x" },
		{ ".", "./x", "x" },
		{ "./", "./sub/x", "sub/x" },
		{ "./sub/", "./x", "./sub/x" },
		{ "", "./x", "./x" },
	};
	char		*p;
	unsigned	 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		p = fd_path_join(cases[i].dir, strlen(cases[i].dir),
		    cases[i].rel);
		ck_assert_msg(strcmp(p, cases[i].want) == 0,
		    "\"%s\" + \"%s\": \"%s\", want \"%s\"", cases[i].dir,
		    cases[i].rel, p, cases[i].want);
		free(p);
	}
	/* only the first dirlen bytes of the directory count */
	p = fd_path_join("/etc/filterd/main.conf", 13, "./inc.conf");
	ck_assert_str_eq(p, "/etc/filterd/inc.conf");
	free(p);
}
END_TEST

START_TEST(escape)
{
	char	 out[32];
	char	 big[10240];

	ck_assert_str_eq(fd_escape(out, sizeof(out), "a\0b\n\"\\\xff", 7),
	    "a\\x00b\\n\\\"\\\\\\xff");
	memset(big, 'x', sizeof(big));
	fd_escape(out, sizeof(out), big, sizeof(big));
	ck_assert_uint_eq(strlen(out), sizeof(out) - 1);
	ck_assert_str_eq(out + strlen(out) - 3, "...");
	ck_assert_str_eq(fd_escape_str(out, sizeof(out), NULL), "-");
	/* cut where the next byte's rendering would leave no room for
	 * "..." and the NUL */
	ck_assert_str_eq(fd_escape(out, 8, "abcd", 4), "abcd");
	ck_assert_str_eq(fd_escape(out, 8, "abcde", 5), "abcd...");
	ck_assert_str_eq(fd_escape(out, 8, "ab\n", 3), "ab\\n");
	ck_assert_str_eq(fd_escape(out, 8, "abc\n", 4), "abc...");
	ck_assert_str_eq(fd_escape(out, 8, "a\x01", 2), "a...");
	ck_assert_str_eq(fd_escape(out, 3, "a", 1), "");
	/* runs of plain bytes between escapes, cut inside a run */
	ck_assert_str_eq(fd_escape(out, 10, "\nabcdefgh", 9), "\\nabcd...");
	ck_assert_str_eq(fd_escape(out, 10, "\x01" "ab", 3), "\\x01ab");
	ck_assert_str_eq(fd_escape(out, 10, "\x01" "abc", 4), "\\x01ab...");
	ck_assert_str_eq(fd_escape(out, sizeof(out), "ab\"cd\\ef", 8),
	    "ab\\\"cd\\\\ef");
	ck_assert_str_eq(fd_escape(out, sizeof(out), "ab\0", 3), "ab\\x00");
	ck_assert_str_eq(fd_escape(out, sizeof(out), "a> b", 4), "a> b");
}
END_TEST

/*
 * An address in a log line ends at its own '>' and holds no space: a
 * quoted local part (RFC 5321 allows both in one) cannot write what
 * reads as the line's next fields
 */
START_TEST(escape_addr)
{
	char	 out[128];

	ck_assert_str_eq(fd_escape_addr(out, sizeof(out), "a@b.example"),
	    "<a@b.example>");
	ck_assert_str_eq(fd_escape_addr(out, sizeof(out), ""), "<>");
	ck_assert_str_eq(fd_escape_addr(out, sizeof(out), NULL), "-");
	ck_assert_str_eq(fd_escape_addr(out, sizeof(out),
	    "\"a> rcpt=<x@y.example> action=accept\"@z.example"),
	    "<\\\"a\\x3e\\x20rcpt=<x@y.example\\x3e\\x20action=accept\\\"@z.example>");
	/* cut with "...", the closing '>' kept */
	ck_assert_str_eq(fd_escape_addr(out, 12, "a b c d e f"),
	    "<a\\x20b...>");
}
END_TEST

/* a stderr line: "filterd[PID]: LEVEL: text", whole, errno kept */
START_TEST(log_stderr_line)
{
	char	 buf[512], want[256];
	int	 fd[2], saved;
	ssize_t	 n;
	long	 pid = (long)getpid();

	ck_assert_int_eq(pipe(fd), 0);
	saved = dup(STDERR_FILENO);
	ck_assert_int_eq(dup2(fd[1], STDERR_FILENO), STDERR_FILENO);
	fd_log_open(FD_LOGT_STDERR, 0, FD_LOG_INFO);
	errno = ENOENT;
	fd_log(FD_LOG_INFO, "decision reply=\"%s\"", "451 4.7.1");
	ck_assert_int_eq(errno, ENOENT);
	fd_log(FD_LOG_DEBUG, "below the level");
	fd_log_str(FD_LOG_WARN, "second");
	ck_assert_int_eq(dup2(saved, STDERR_FILENO), STDERR_FILENO);
	close(saved);
	close(fd[1]);
	n = read(fd[0], buf, sizeof(buf) - 1);
	ck_assert_int_gt(n, 0);
	buf[n] = '\0';
	close(fd[0]);
	snprintf(want, sizeof(want), "filterd[%ld]: info: decision "
	    "reply=\"451 4.7.1\"\nfilterd[%ld]: warning: second\n", pid, pid);
	ck_assert_str_eq(buf, want);

	/* a stderr that fails (closed) loses the line, not the caller's
	 * errno */
	saved = dup(STDERR_FILENO);
	close(STDERR_FILENO);
	errno = ENOENT;
	fd_log(FD_LOG_INFO, "lost");
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_int_eq(dup2(saved, STDERR_FILENO), STDERR_FILENO);
	close(saved);
}
END_TEST

/* the macros asked for at negotiation: the core's, plus the rules' */
START_TEST(symlist)
{
	struct fd_errs	 errs = { 0 };
	struct fd_conf	*conf;
	char		 path[128], *list;
	FILE		*fp;

	snprintf(path, sizeof(path), "%s/t.conf", tmpdir);
	fp = fopen(path, "w");
	fputs("rule a on connect if {_} ~ /x/ accept\n"
	    "rule b on connect if {v} == \"y\" accept\n"
	    "rule c on connect if {daemon_name} == \"z\" accept\n", fp);
	fclose(fp);
	conf = fd_conf_load(path, &errs);
	ck_assert_msg(conf != NULL, "%s", errs.n ? errs.msg[0] : "?");
	list = fd_milter_symlist(conf, 0);
	/* whole names: "_" is not inside "{daemon_name}" for this purpose */
	ck_assert_str_eq(list, "j {daemon_name} {daemon_addr} {if_addr} "
	    "{client_resolve} _ v");
	free(list);
	list = fd_milter_symlist(conf, 2);
	ck_assert_str_eq(list, "i {auth_authen} {auth_type}");
	free(list);
	fd_conf_free(conf);
}
END_TEST

/* stack_probe - the thread's own stack size into *arg */
static void *
stack_probe(void *arg)
{
	pthread_attr_t	 attr;

	ck_assert_int_eq(pthread_getattr_np(pthread_self(), &attr), 0);
	ck_assert_int_eq(pthread_attr_getstacksize(&attr, arg), 0);
	pthread_attr_destroy(&attr);
	return NULL;
}

/* stack_of_thread - the stack of a thread started with no attributes */
static size_t
stack_of_thread(void)
{
	pthread_t	 t;
	size_t		 size = 0;

	ck_assert_int_eq(pthread_create(&t, NULL, stack_probe, &size), 0);
	ck_assert_int_eq(pthread_join(t, NULL), 0);
	return size;
}

/* libmilter starts its threads with no attributes: the process default
 * is what fd_milter_stack sets, at start and again at a reload */
START_TEST(milter_stack)
{
	pthread_attr_t	 saved;
	char		 err[160];

	ck_assert_int_eq(pthread_getattr_default_np(&saved), 0);
	ck_assert_uint_ne(stack_of_thread(), 192 * 1024);
	ck_assert_int_eq(fd_milter_stack(192 * 1024, err, sizeof(err)), 0);
	ck_assert_uint_eq(stack_of_thread(), 192 * 1024);
	ck_assert_int_eq(fd_milter_stack(FD_THREAD_STACK_DEFAULT, err,
	    sizeof(err)), 0);
	ck_assert_uint_eq(stack_of_thread(), 256 * 1024);
	/* below what a thread can have: refused, with the reason */
	ck_assert_int_eq(fd_milter_stack(1, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "thread stack of 1 bytes: Invalid argument");
	ck_assert_uint_eq(stack_of_thread(), 256 * 1024);
	ck_assert_int_eq(pthread_setattr_default_np(&saved), 0);
	pthread_attr_destroy(&saved);
}
END_TEST

/* the codes a reply may carry (RFC 5321 4.2, RFC 3463 2) */
START_TEST(smtp_codes)
{
	ck_assert(fd_reply_code_ok("550", '5'));
	ck_assert(fd_reply_code_ok("421", '4'));
	ck_assert(!fd_reply_code_ok("550", '4'));
	ck_assert(!fd_reply_code_ok("5ab", '5'));
	ck_assert(!fd_reply_code_ok("560", '5'));
	ck_assert(!fd_reply_code_ok("4510", '4'));
	ck_assert(!fd_reply_code_ok("45", '4'));
	ck_assert(fd_status_code_ok("5.7.1", '5'));
	ck_assert(fd_status_code_ok("4.123.999", '4'));
	ck_assert(fd_status_code_ok("2.0.0", 0));
	ck_assert(!fd_status_code_ok("5.7.1", '4'));
	ck_assert(!fd_status_code_ok("3.7.1", 0));
	ck_assert(!fd_status_code_ok("5.7", '5'));
	ck_assert(!fd_status_code_ok("5.7.1.", '5'));
	ck_assert(!fd_status_code_ok("5.1234.1", '5'));
	ck_assert(!fd_status_code_ok("5.07.1", '5'));
	ck_assert(!fd_status_code_ok("5.x.1", '5'));
	ck_assert(!fd_status_code_ok("", '5'));
}
END_TEST

static Suite *
core_suite(void)
{
	Suite	*s = suite_create("core");
	TCase	*tc;

	tc = tcase_create("loader");
	tcase_add_checked_fixture(tc, setup_tmp, teardown_tmp);
	tcase_add_test(tc, load_good);
	tcase_add_test(tc, load_missing);
	tcase_add_test(tc, load_not_elf);
	tcase_add_test(tc, load_no_symbol);
	tcase_add_test(tc, load_bad_abi);
	tcase_add_test(tc, load_group_writable);
	tcase_add_test(tc, load_other_owner);
	tcase_add_test(tc, load_dir_writable);
	tcase_add_test(tc, load_symlink_unsafe_dir);
	tcase_add_test(tc, load_ancestor_writable);
	tcase_add_test(tc, symlist);
	tcase_add_test(tc, milter_stack);
	tcase_add_test(tc, reload_after_chdir);
	tcase_add_test(tc, set_checked);
	tcase_add_test(tc, plugin_directive_hint);
	suite_add_tcase(s, tc);

	tc = tcase_create("txn");
	tcase_add_test(tc, txn_orders);
	tcase_add_test(tc, txn_addresses);
	tcase_add_test(tc, txn_skip_params);
	tcase_add_test(tc, txn_macro_replace);
	tcase_add_test(tc, txn_many_macros);
	tcase_add_test(tc, txn_big_values);
	tcase_add_test(tc, txn_many_rcpts);
	tcase_add_test(tc, txn_queue_id);
	tcase_add_test(tc, txn_ipv4_text);
	tcase_add_test(tc, txn_plugin_slots);
	suite_add_tcase(s, tc);

	tc = tcase_create("util");
	tcase_add_test(tc, units);
	tcase_add_test(tc, units_dec);
	tcase_add_test(tc, path_join);
	tcase_add_test(tc, dispatch_no_message);
	tcase_add_test(tc, escape_addr);
	tcase_add_test(tc, escape);
	tcase_add_test(tc, log_stderr_line);
	tcase_add_test(tc, host_log_one_line);
	tcase_add_test(tc, host_log_txn_fields);
	tcase_add_test(tc, host_add_header_checked);
	tcase_add_test(tc, plugin_error_one_line);
	suite_add_tcase(s, tc);
	tc = tcase_create("smtp codes");
	tcase_add_test(tc, smtp_codes);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(core_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
