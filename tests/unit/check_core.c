/*
 * check_core.c -- unit tests of the core without a daemon: the plugin
 * loader's checks, the txn lifecycle in odd call orders, units, escaping.
 */
#include "config.h"

#include <sys/stat.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "errs.h"
#include "conf.h"
#include "log.h"
#include "milter.h"
#include "plugin_load.h"
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

/* the MTA may call abort, close and MAIL in any order */
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
	tcase_add_test(tc, load_dir_writable);
	tcase_add_test(tc, symlist);
	suite_add_tcase(s, tc);

	tc = tcase_create("txn");
	tcase_add_test(tc, txn_orders);
	tcase_add_test(tc, txn_addresses);
	tcase_add_test(tc, txn_skip_params);
	suite_add_tcase(s, tc);

	tc = tcase_create("util");
	tcase_add_test(tc, units);
	tcase_add_test(tc, escape);
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
