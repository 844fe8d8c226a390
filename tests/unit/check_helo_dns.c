/*
 * check_helo_dns.c -- forward confirmation against a real DNS server
 *
 * main() starts unbound (the UNBOUND environment variable, else the one
 * in PATH or /usr/sbin) on 127.0.0.1 and a free port, in a mktemp
 * directory, serving a zone this file writes as local-data. Then:
 *   "lookup": A, AAAA, both, several, NXDOMAIN, a name without addresses,
 *             a name whose AAAA lookup fails (SERVFAIL) while A answers,
 *             a name with more addresses than an answer keeps;
 *   "hooks":  the plugin's own hooks with forward-confirm on: confirmed,
 *             not confirmed, unresolvable logged and never refused unless
 *             asked, a cached second answer, and the two names above not
 *             refused but logged as not checked;
 *   "timeout": a resolver port where nothing answers: the lookup gives up
 *             at the configured timeout and the plugin fails open;
 *   "cache":  its own unbound, stopped half way: answers keep coming from
 *             the cache until their TTL (or the cap) runs out on the test
 *             clock, then the lookups fail.
 * No unbound is a failure (exit 99) unless FD_ALLOW_SKIP=1 (exit 77).
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filterd/plugin.h>

#include "helo_dns.h"
#include "helo_fakehost.h"

extern const struct fd_plugin filterd_plugin;

#define T0	1700000000	/* the test clock's start */
#define MANY	20		/* A records of many.example.test */

static const char zone[] =
	"  local-zone: \"example.test.\" static\n"
	"  local-data: \"good.example.test. 300 IN A 192.0.2.10\"\n"
	"  local-data: \"multi.example.test. 300 IN A 192.0.2.20\"\n"
	"  local-data: \"multi.example.test. 300 IN A 192.0.2.21\"\n"
	"  local-data: \"v6.example.test. 300 IN AAAA 2001:db8::10\"\n"
	"  local-data: \"both.example.test. 300 IN A 192.0.2.30\"\n"
	"  local-data: \"both.example.test. 300 IN AAAA 2001:db8::30\"\n"
	"  local-data: \"short.example.test. 30 IN A 192.0.2.40\"\n"
	"  local-data: \"txtonly.example.test. 300 IN TXT \\\"no address\\\"\"\n"
	/* half: A from here, AAAA passed on to the stub below, which unbound
	 * will not ask (it is on localhost): SERVFAIL at once */
	"  local-zone: \"half.example.test.\" typetransparent\n"
	"  local-data: \"half.example.test. 300 IN A 192.0.2.50\"\n";

/* the AAAA half of half.example.test: a server unbound refuses to ask */
static const char stub[] =
	"stub-zone:\n"
	"  name: \"half.example.test.\"\n"
	"  stub-addr: 127.0.0.1@1\n";

struct ub {
	pid_t	 pid;
	int	 port;
	char	 dir[256];
};

static const char	*Unbound;	/* path of the program */
static struct ub	 U;		/* the shared server */

/* find_unbound - $UNBOUND, or unbound in PATH, /usr/sbin, /usr/local/sbin */
static const char *
find_unbound(void)
{
	static char	 buf[1024];
	const char	*env = getenv("UNBOUND"), *name = "unbound";
	const char	*path = getenv("PATH");
	char		 dirs[2048], *dir, *save = NULL;

	if (env != NULL && *env != '\0') {
		if (strchr(env, '/') != NULL)
			return access(env, X_OK) == 0 ? env : NULL;
		name = env;
	}
	snprintf(dirs, sizeof(dirs), "%s:/usr/sbin:/usr/local/sbin",
	    path != NULL ? path : "/usr/bin:/bin");
	for (dir = strtok_r(dirs, ":", &save); dir != NULL;
	    dir = strtok_r(NULL, ":", &save)) {
		snprintf(buf, sizeof(buf), "%s/%s", dir, name);
		if (access(buf, X_OK) == 0)
			return buf;
	}
	return NULL;
}

/* bind_lo - a socket of type on 127.0.0.1:port (0: any); fd or -1 */
static int
bind_lo(int type, int port, int *got)
{
	struct sockaddr_in sin;
	socklen_t	 len = sizeof(sin);
	int		 fd;

	if ((fd = socket(AF_INET, type, 0)) < 0)
		return -1;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) != 0) {
		close(fd);
		return -1;
	}
	if (got != NULL)
		*got = ntohs(sin.sin_port);
	return fd;
}

/* free_port - a port free for both UDP and TCP on loopback */
static int
free_port(void)
{
	int	 i, port, u, t;

	for (i = 0; i < 50; i++) {
		if ((u = bind_lo(SOCK_DGRAM, 0, &port)) < 0)
			continue;
		t = bind_lo(SOCK_STREAM, port, NULL);
		close(u);
		if (t >= 0) {
			close(t);
			return port;
		}
	}
	return -1;
}

/* servers - "127.0.0.1:PORT" */
static const char *
servers(int port)
{
	static char buf[32];

	snprintf(buf, sizeof(buf), "127.0.0.1:%d", port);
	return buf;
}

/* dns_at - a resolver for the server on port */
static struct helo_dns *
dns_at(int port, int64_t timeout_ms, size_t cache, int64_t ttl)
{
	struct helo_dns_opts o = { servers(port), timeout_ms, cache, ttl };
	struct helo_dns	*d;
	char		 err[256];

	d = helo_dns_new(&o, err, sizeof(err));
	ck_assert_msg(d != NULL, "helo_dns_new: %s", err);
	return d;
}

/* ub_log - the server's output, for a failure message */
static const char *
ub_log(const struct ub *ub)
{
	static char	 buf[1024];
	char		 path[512];
	FILE		*fp;
	size_t		 n = 0;

	snprintf(path, sizeof(path), "%s/unbound.out", ub->dir);
	if ((fp = fopen(path, "r")) != NULL) {
		n = fread(buf, 1, sizeof(buf) - 1, fp);
		fclose(fp);
	}
	buf[n] = '\0';
	return buf;
}

/* ub_stop - politely, then not; remove the directory */
static void
ub_stop(struct ub *ub)
{
	static const char *files[] = { "unbound.conf", "unbound.out",
	    "unbound.log", "unbound.pid" };
	char	 path[512];
	size_t	 i;
	int	 st, tries;

	if (ub->pid > 0) {
		kill(ub->pid, SIGTERM);
		for (tries = 0; tries < 100; tries++) {
			if (waitpid(ub->pid, &st, WNOHANG) == ub->pid)
				break;
			usleep(50000);
		}
		if (tries == 100) {
			kill(ub->pid, SIGKILL);
			waitpid(ub->pid, &st, 0);
		}
		ub->pid = 0;
	}
	if (ub->dir[0] != '\0') {
		for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
			snprintf(path, sizeof(path), "%s/%s", ub->dir, files[i]);
			unlink(path);
		}
		rmdir(ub->dir);
		ub->dir[0] = '\0';
	}
}

/* ub_conf - write unbound.conf into the directory */
static int
ub_conf(const struct ub *ub)
{
	char	 path[512];
	FILE	*fp;
	int	 i;

	snprintf(path, sizeof(path), "%s/unbound.conf", ub->dir);
	if ((fp = fopen(path, "w")) == NULL)
		return -1;
	fprintf(fp, "server:\n"
	    "  interface: 127.0.0.1\n  port: %d\n"
	    "  do-ip6: no\n  do-daemonize: no\n"
	    "  chroot: \"\"\n  username: \"\"\n  directory: \"%s\"\n"
	    "  pidfile: \"%s/unbound.pid\"\n  logfile: \"%s/unbound.log\"\n"
	    "  use-syslog: no\n  verbosity: 1\n  num-threads: 1\n"
	    "  so-reuseport: no\n  outgoing-range: 16\n"
	    "  num-queries-per-thread: 16\n"
	    "  access-control: 127.0.0.0/8 allow\n"
	    "  module-config: \"iterator\"\n"
	    "%s",
	    ub->port, ub->dir, ub->dir, ub->dir, zone);
	/* more addresses than an answer keeps */
	for (i = 1; i <= MANY; i++)
		fprintf(fp, "  local-data: \"many.example.test. 300 IN A "
		    "192.0.2.%d\"\n", 100 + i);
	fprintf(fp, "%sremote-control:\n  control-enable: no\n", stub);
	return fclose(fp);
}

/* ub_ready - wait (bounded) until the server answers a query */
static int
ub_ready(struct ub *ub)
{
	struct helo_dns_opts o = { servers(ub->port), 200, 0, 0 };
	struct helo_answer ans;
	struct helo_dns	*d;
	char		 err[256];
	int		 i, st, ok = 0;

	if ((d = helo_dns_new(&o, err, sizeof(err))) == NULL)
		return 0;
	for (i = 0; i < 100 && !ok; i++) {
		if (waitpid(ub->pid, &st, WNOHANG) == ub->pid) {
			ub->pid = 0;
			break;
		}
		ok = helo_dns_lookup(d, "good.example.test", T0, &ans, err,
		    sizeof(err)) == HELO_DNS_FOUND;
		if (!ok)
			usleep(100000);
	}
	helo_dns_free(d);
	return ok;
}

/* ub_start - a private unbound; 0, or -1 with the reason in err */
static int
ub_start(struct ub *ub, char *err, size_t errlen)
{
	const char	*tmp = getenv("TMPDIR");
	char		 conf[512], out[512];
	int		 fd;

	memset(ub, 0, sizeof(*ub));
	snprintf(ub->dir, sizeof(ub->dir), "%s/helo-dns.XXXXXX",
	    tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
	if (mkdtemp(ub->dir) == NULL) {
		snprintf(err, errlen, "mkdtemp: %s", strerror(errno));
		ub->dir[0] = '\0';
		return -1;
	}
	if ((ub->port = free_port()) < 0 || ub_conf(ub) != 0) {
		snprintf(err, errlen, "no port or no config file");
		ub_stop(ub);
		return -1;
	}
	snprintf(conf, sizeof(conf), "%s/unbound.conf", ub->dir);
	snprintf(out, sizeof(out), "%s/unbound.out", ub->dir);
	if ((ub->pid = fork()) == 0) {
		if ((fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600)) >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execl(Unbound, "unbound", "-d", "-c", conf, (char *)NULL);
		_exit(127);
	}
	if (ub->pid < 0 || !ub_ready(ub)) {
		snprintf(err, errlen, "unbound (%s) did not answer on port %d: %s",
		    Unbound, ub->port, ub_log(ub));
		ub_stop(ub);
		return -1;
	}
	return 0;
}

START_TEST(t_lookup)
{
	struct helo_dns	*d = dns_at(U.port, 2000, 0, 300);
	struct helo_answer ans;
	struct helo_addr a;
	char		 err[256];

	ck_assert_int_eq(helo_dns_lookup(d, "good.example.test", T0, &ans, err,
	    sizeof(err)), HELO_DNS_FOUND);
	ck_assert_uint_eq(ans.naddr, 1);
	helo_addr_parse(&a, "192.0.2.10");
	ck_assert_int_eq(helo_dns_confirms(&ans, &a), 1);
	helo_addr_parse(&a, "192.0.2.11");
	ck_assert_int_eq(helo_dns_confirms(&ans, &a), 0);
	/* an IPv4-mapped client is the IPv4 address */
	helo_addr_parse(&a, "::ffff:192.0.2.10");
	ck_assert_int_eq(helo_dns_confirms(&ans, &a), 1);

	ck_assert_int_eq(helo_dns_lookup(d, "multi.example.test", T0, &ans, err,
	    sizeof(err)), HELO_DNS_FOUND);
	ck_assert_uint_eq(ans.naddr, 2);
	helo_addr_parse(&a, "192.0.2.21");
	ck_assert_int_eq(helo_dns_confirms(&ans, &a), 1);

	ck_assert_int_eq(helo_dns_lookup(d, "v6.example.test", T0, &ans, err,
	    sizeof(err)), HELO_DNS_FOUND);
	helo_addr_parse(&a, "2001:db8::10");
	ck_assert_int_eq(helo_dns_confirms(&ans, &a), 1);

	ck_assert_int_eq(helo_dns_lookup(d, "both.example.test", T0, &ans, err,
	    sizeof(err)), HELO_DNS_FOUND);
	ck_assert_uint_eq(ans.naddr, 2);
	helo_addr_parse(&a, "2001:db8::30");
	ck_assert_int_eq(helo_dns_confirms(&ans, &a), 1);
	helo_addr_parse(&a, "192.0.2.30");
	ck_assert_int_eq(helo_dns_confirms(&ans, &a), 1);

	ck_assert_int_eq(helo_dns_lookup(d, "Good.Example.TEST", T0, &ans, err,
	    sizeof(err)), HELO_DNS_FOUND);
	helo_dns_free(d);
}
END_TEST

START_TEST(t_noname)
{
	struct helo_dns	*d = dns_at(U.port, 2000, 0, 300);
	struct helo_answer ans;
	char		 err[256];

	/* NXDOMAIN */
	ck_assert_int_eq(helo_dns_lookup(d, "missing.example.test", T0, &ans,
	    err, sizeof(err)), HELO_DNS_NONAME);
	ck_assert_uint_eq(ans.naddr, 0);
	/* the name exists, without A or AAAA */
	ck_assert_int_eq(helo_dns_lookup(d, "txtonly.example.test", T0, &ans,
	    err, sizeof(err)), HELO_DNS_NONAME);
	helo_dns_free(d);
}
END_TEST

/* A answers, AAAA fails: the half answer confirms IPv4 clients, says
 * nothing about IPv6 ones, and is not cached */
START_TEST(t_half)
{
	struct helo_dns	*d = dns_at(U.port, 2000, 100, 300);
	struct helo_answer ans;
	struct helo_dns_stats st;
	struct helo_addr a;
	char		 err[256];

	ck_assert_int_eq(helo_dns_lookup(d, "half.example.test", T0, &ans, err,
	    sizeof(err)), HELO_DNS_FOUND);
	ck_assert_uint_eq(ans.naddr, 1);
	helo_addr_parse(&a, "192.0.2.50");
	ck_assert_int_eq(helo_dns_confirms(&ans, &a), 1);
	helo_addr_parse(&a, "192.0.2.99");
	ck_assert_int_eq(helo_dns_confirms(&ans, &a), 0);
	helo_addr_parse(&a, "2001:db8::50");
	ck_assert_int_eq(helo_dns_confirms(&ans, &a), -1);
	ck_assert_msg(strncmp(err, "the AAAA lookup failed: ", 24) == 0, "%s",
	    err);

	ck_assert_int_eq(helo_dns_lookup(d, "half.example.test", T0 + 1, &ans,
	    err, sizeof(err)), HELO_DNS_FOUND);
	ck_assert_int_eq(ans.from_cache, 0);
	helo_dns_stats(d, &st);
	ck_assert_uint_eq(st.lookups, 2);
	ck_assert_uint_eq(st.cache.count, 0);
	helo_dns_free(d);
}
END_TEST

/* more A records than an answer keeps: a client that is not among the
 * kept ones may be among the dropped ones */
START_TEST(t_many)
{
	struct helo_dns	*d = dns_at(U.port, 2000, 100, 300);
	struct helo_answer ans;
	struct helo_addr a;
	char		 err[256], ip[32];
	int		 i, c, kept = 0, unsure = 0;

	ck_assert_int_eq(helo_dns_lookup(d, "many.example.test", T0, &ans, err,
	    sizeof(err)), HELO_DNS_FOUND);
	ck_assert_uint_eq(ans.naddr, HELO_ANSWER_MAX);
	for (i = 1; i <= MANY; i++) {
		snprintf(ip, sizeof(ip), "192.0.2.%d", 100 + i);
		helo_addr_parse(&a, ip);
		c = helo_dns_confirms(&ans, &a);
		ck_assert_msg(c == 1 || c == -1, "%s: %d", ip, c);
		kept += c == 1;
		unsure += c == -1;
	}
	ck_assert_int_eq(kept, HELO_ANSWER_MAX);
	ck_assert_int_eq(unsure, MANY - HELO_ANSWER_MAX);
	/* outside the set: it cannot be told from a dropped one */
	helo_addr_parse(&a, "192.0.2.99");
	ck_assert_int_eq(helo_dns_confirms(&ans, &a), -1);
	/* the AAAA answer (none) is whole */
	helo_addr_parse(&a, "2001:db8::99");
	ck_assert_int_eq(helo_dns_confirms(&ans, &a), 0);

	/* a complete answer all the same: cached, and still unsure */
	ck_assert_int_eq(helo_dns_lookup(d, "many.example.test", T0 + 1, &ans,
	    err, sizeof(err)), HELO_DNS_FOUND);
	ck_assert_int_eq(ans.from_cache, 1);
	helo_addr_parse(&a, "192.0.2.99");
	ck_assert_int_eq(helo_dns_confirms(&ans, &a), -1);
	helo_dns_free(d);
}
END_TEST

/* The plugin through its hooks, resolver pointed at our server. */
static struct fake	 F;
static struct fd_block	 Blk;
static void		*S;
static unsigned char	*Conn;
static struct fd_txn	 T;

static void
plug_start_conf(const char *conf, const char *client)
{
	fake_init(&F);
	fake_block(&Blk, conf);
	S = NULL;
	ck_assert_msg(filterd_plugin.init(&F.host, &Blk, &S) == 0, "init: %s",
	    F.errors);
	Conn = calloc(1, filterd_plugin.conn_priv_size);
	fake_txn(&T, client);
}

/* plug_start - forward-confirm reject against port, plus extra */
static void
plug_start(const char *extra, int port, const char *client)
{
	char	 conf[1024];

	snprintf(conf, sizeof(conf), "forward-confirm reject;\n"
	    "resolver %s;\n%s", servers(port), extra);
	plug_start_conf(conf, client);
}

static void
plug_newconn(const char *client)
{
	memset(Conn, 0, filterd_plugin.conn_priv_size);
	fake_txn(&T, client);
	fake_clear(&F, &T);
}

static void
plug_stop(void)
{
	free(Conn);
	filterd_plugin.fini(S);
	fake_block_free(&Blk);
}

/* helo_mail - HELO name, then MAIL: the action at MAIL */
static enum fd_action
helo_mail(const char *name)
{
	T.helo = name;
	ck_assert_int_eq(filterd_plugin.on_helo(&T, S, Conn), FD_CONTINUE);
	return filterd_plugin.on_mail(&T, S, Conn, NULL);
}

START_TEST(t_hooks)
{
	char	 conf[256];

	plug_start("", U.port, "192.0.2.10");
	/* confirmed */
	ck_assert_int_eq(helo_mail("good.example.test"), FD_CONTINUE);
	ck_assert_int_eq(T.nreply, 0);
	ck_assert_int_eq(F.nlogs, 0);
	plug_newconn("2001:db8::30");
	ck_assert_int_eq(helo_mail("both.example.test."), FD_CONTINUE);
	ck_assert_int_eq(F.nlogs, 0);

	/* not confirmed */
	plug_newconn("192.0.2.99");
	ck_assert_int_eq(helo_mail("good.example.test"), FD_REJECT);
	ck_assert_str_eq(T.rcode, "550");
	ck_assert_str_eq(T.xcode, "5.7.1");
	ck_assert_str_eq(T.text, "HELO/EHLO name \"good.example.test\" does not "
	    "resolve to the client's address 192.0.2.99");
	ck_assert_str_eq(T.reason, "forward-confirm (reject): name does not "
	    "resolve to the client's address; helo=\"good.example.test\"; dns: "
	    "1 address, none the client's (cached)");

	/* NXDOMAIN and no-address names: logged, mail goes on */
	plug_newconn("192.0.2.10");
	ck_assert_int_eq(helo_mail("missing.example.test"), FD_CONTINUE);
	ck_assert_int_eq(T.nreply, 0);
	ck_assert(strstr(F.logs, "log only: unresolvable (log): name does not "
	    "resolve; helo=\"missing.example.test\"; dns: no such name or no "
	    "A/AAAA") != NULL);
	plug_newconn("192.0.2.10");
	ck_assert_int_eq(helo_mail("txtonly.example.test"), FD_CONTINUE);
	ck_assert(strstr(F.logs, "unresolvable (log)") != NULL);

	/* no lookup for names that cannot be confirmed anyway */
	plug_newconn("192.0.2.10");
	ck_assert_int_eq(helo_mail("[192.0.2.10]"), FD_CONTINUE);
	ck_assert_int_eq(F.nlogs, 0);
	plug_stop();

	/* unresolvable refuses only when asked to */
	plug_start("unresolvable reject;\n", U.port, "192.0.2.10");
	ck_assert_int_eq(helo_mail("missing.example.test"), FD_REJECT);
	ck_assert_str_eq(T.text, "HELO/EHLO name \"missing.example.test\" does "
	    "not resolve (no A or AAAA record)");
	plug_stop();

	/* forward-confirm log: noted, not refused */
	snprintf(conf, sizeof(conf), "forward-confirm log;\nresolver %s;\n",
	    servers(U.port));
	plug_start_conf(conf, "192.0.2.99");
	ck_assert_int_eq(helo_mail("good.example.test"), FD_CONTINUE);
	ck_assert_int_eq(T.nreply, 0);
	ck_assert(strstr(F.logs, "log only: forward-confirm (log)") != NULL);
	plug_stop();
}
END_TEST

/* what the DNS cannot tell is not checked, even with forward-confirm
 * reject */
START_TEST(t_hooks_unsure)
{
	plug_start("", U.port, "2001:db8::50");
	ck_assert_int_eq(helo_mail("half.example.test"), FD_CONTINUE);
	ck_assert_int_eq(T.nreply, 0);
	ck_assert_msg(strstr(F.logs, "6: client=2001:db8::50 forward-confirm "
	    "of helo=\"half.example.test\" not checked (DNS: the AAAA lookup "
	    "failed: no DNS server gave an answer (unreachable, or each said "
	    "SERVFAIL or REFUSED))") != NULL, "%s", F.logs);
	/* the A half is whole: IPv4 clients are checked */
	plug_newconn("192.0.2.50");
	ck_assert_int_eq(helo_mail("half.example.test"), FD_CONTINUE);
	ck_assert_int_eq(F.nlogs, 0);
	plug_newconn("192.0.2.99");
	ck_assert_int_eq(helo_mail("half.example.test"), FD_REJECT);

	/* a client that may be among the addresses not kept */
	plug_newconn("192.0.2.99");
	ck_assert_int_eq(helo_mail("many.example.test"), FD_CONTINUE);
	ck_assert_int_eq(T.nreply, 0);
	ck_assert_msg(strstr(F.logs, "6: client=192.0.2.99 forward-confirm "
	    "of helo=\"many.example.test\" not checked (DNS: more than 16 "
	    "addresses): failing open") != NULL, "%s", F.logs);
	plug_stop();
}
END_TEST

START_TEST(t_timeout)
{
	struct helo_dns	*d;
	struct helo_answer ans;
	struct helo_dns_stats st;
	char		 err[256];
	int		 port, fd;

	/* a UDP socket nobody reads: queries vanish without an answer */
	fd = bind_lo(SOCK_DGRAM, 0, &port);
	ck_assert_int_ge(fd, 0);
	d = dns_at(port, 300, 100, 300);
	ck_assert_int_eq(helo_dns_lookup(d, "good.example.test", T0, &ans, err,
	    sizeof(err)), HELO_DNS_ERROR);
	ck_assert_str_eq(err, "timed out after 300 ms");
	/* errors are not cached: the next lookup asks again */
	ck_assert_int_eq(helo_dns_lookup(d, "good.example.test", T0, &ans, err,
	    sizeof(err)), HELO_DNS_ERROR);
	helo_dns_stats(d, &st);
	ck_assert_uint_eq(st.lookups, 2);
	ck_assert_uint_eq(st.cache.count, 0);
	helo_dns_free(d);

	/* the plugin fails open, even with forward-confirm reject */
	plug_start("dns-timeout 300ms;\nunresolvable reject;\n", port,
	    "192.0.2.99");
	ck_assert_int_eq(helo_mail("good.example.test"), FD_CONTINUE);
	ck_assert_int_eq(T.nreply, 0);
	ck_assert_msg(strstr(F.logs, "6: client=192.0.2.99 forward-confirm "
	    "of helo=\"good.example.test\" not checked (DNS: timed out after "
	    "300 ms): failing open") != NULL, "%s", F.logs);
	plug_stop();
	close(fd);
}
END_TEST

/*
 * The lookups of one connection wait dns-timeout in all: a client that
 * repeats EHLO with names whose servers do not answer would otherwise
 * hold its session one dns-timeout per EHLO, past the MTA's milter
 * timeout when the MTA awaits no reply at HELO (delay-reject).
 */
START_TEST(t_timeout_conn)
{
	int	 port, fd;

	fd = bind_lo(SOCK_DGRAM, 0, &port);
	ck_assert_int_ge(fd, 0);
	plug_start("dns-timeout 300ms;\n", port, "192.0.2.99");
	ck_assert_int_eq(helo_mail("a.example.test"), FD_CONTINUE);
	ck_assert_msg(strstr(F.logs, "forward-confirm of helo=\"a.example."
	    "test\" not checked (DNS: timed out after 300 ms)") != NULL, "%s",
	    F.logs);
	fake_clear(&F, &T);
	ck_assert_int_eq(helo_mail("b.example.test"), FD_CONTINUE);
	ck_assert_msg(strstr(F.logs, "forward-confirm of helo=\"b.example."
	    "test\" not checked (DNS: this connection's lookups took "
	    "dns-timeout (300 ms) already): failing open") != NULL, "%s",
	    F.logs);
	/* a new connection has its own */
	plug_newconn("192.0.2.99");
	ck_assert_int_eq(helo_mail("b.example.test"), FD_CONTINUE);
	ck_assert_msg(strstr(F.logs, "(DNS: timed out after 300 ms)") != NULL,
	    "%s", F.logs);
	plug_stop();
	close(fd);
}
END_TEST

START_TEST(t_cache)
{
	struct ub	 ub;
	struct helo_dns	*d, *capped;
	struct helo_answer ans;
	struct helo_dns_stats st;
	char		 err[512];

	ck_assert_msg(ub_start(&ub, err, sizeof(err)) == 0, "%s", err);
	d = dns_at(ub.port, 500, 100, 300);
	capped = dns_at(ub.port, 500, 100, 60);

	ck_assert_int_eq(helo_dns_lookup(d, "good.example.test", T0, &ans, err,
	    sizeof(err)), HELO_DNS_FOUND);
	ck_assert_int_eq(ans.from_cache, 0);
	ck_assert_int_eq(helo_dns_lookup(d, "good.example.test", T0 + 10, &ans,
	    err, sizeof(err)), HELO_DNS_FOUND);
	ck_assert_int_eq(ans.from_cache, 1);
	ck_assert_int_eq(helo_dns_lookup(d, "short.example.test", T0, &ans, err,
	    sizeof(err)), HELO_DNS_FOUND);
	ck_assert_int_eq(helo_dns_lookup(d, "missing.example.test", T0, &ans,
	    err, sizeof(err)), HELO_DNS_NONAME);
	ck_assert_int_eq(helo_dns_lookup(capped, "good.example.test", T0, &ans,
	    err, sizeof(err)), HELO_DNS_FOUND);
	helo_dns_stats(d, &st);
	ck_assert_uint_eq(st.lookups, 3);	/* the second good was cached */
	ck_assert_uint_eq(st.cache.hits, 1);

	/* no server any more: what we get now comes from the cache */
	ub_stop(&ub);
	ck_assert_int_eq(helo_dns_lookup(d, "good.example.test", T0 + 299, &ans,
	    err, sizeof(err)), HELO_DNS_FOUND);
	ck_assert_int_eq(ans.from_cache, 1);
	ck_assert_uint_eq(ans.naddr, 1);
	ck_assert_int_eq(helo_dns_lookup(d, "short.example.test", T0 + 29, &ans,
	    err, sizeof(err)), HELO_DNS_FOUND);
	ck_assert_int_eq(helo_dns_lookup(d, "missing.example.test", T0 + 59,
	    &ans, err, sizeof(err)), HELO_DNS_NONAME);
	ck_assert_int_eq(ans.from_cache, 1);
	ck_assert_int_eq(helo_dns_lookup(capped, "good.example.test", T0 + 59,
	    &ans, err, sizeof(err)), HELO_DNS_FOUND);
	helo_dns_stats(d, &st);
	ck_assert_uint_eq(st.lookups, 3);

	/* each answer lives as long as its TTL, capped, and no longer */
	ck_assert_int_eq(helo_dns_lookup(d, "short.example.test", T0 + 30, &ans,
	    err, sizeof(err)), HELO_DNS_ERROR);
	ck_assert_int_eq(helo_dns_lookup(d, "missing.example.test", T0 + 60,
	    &ans, err, sizeof(err)), HELO_DNS_ERROR);
	ck_assert_int_eq(helo_dns_lookup(capped, "good.example.test", T0 + 60,
	    &ans, err, sizeof(err)), HELO_DNS_ERROR);
	ck_assert_int_eq(helo_dns_lookup(d, "good.example.test", T0 + 300, &ans,
	    err, sizeof(err)), HELO_DNS_ERROR);
	helo_dns_stats(d, &st);
	ck_assert_uint_eq(st.lookups, 6);
	helo_dns_free(capped);
	helo_dns_free(d);
}
END_TEST

static Suite *
dns_suite(void)
{
	Suite	*s = suite_create("helo_dns");
	TCase	*tc;

	tc = tcase_create("lookup");
	tcase_add_test(tc, t_lookup);
	tcase_add_test(tc, t_noname);
	tcase_add_test(tc, t_half);
	tcase_add_test(tc, t_many);
	suite_add_tcase(s, tc);

	tc = tcase_create("hooks");
	tcase_add_test(tc, t_hooks);
	tcase_add_test(tc, t_hooks_unsure);
	suite_add_tcase(s, tc);

	tc = tcase_create("timeout");
	tcase_add_test(tc, t_timeout);
	tcase_add_test(tc, t_timeout_conn);
	suite_add_tcase(s, tc);

	tc = tcase_create("cache");
	tcase_add_test(tc, t_cache);
	tcase_set_timeout(tc, 30);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	const char	*skip = getenv("FD_ALLOW_SKIP");
	SRunner		*sr;
	char		 err[2048];
	int		 nfail;

	if ((Unbound = find_unbound()) == NULL) {
		fprintf(stderr, "check_helo_dns: unbound not found (set UNBOUND "
		    "or install the unbound package)\n");
		return skip != NULL && strcmp(skip, "1") == 0 ? 77 : 99;
	}
	if (ub_start(&U, err, sizeof(err)) != 0) {
		fprintf(stderr, "check_helo_dns: %s\n", err);
		return 99;
	}
	sr = srunner_create(dns_suite());
	srunner_run_all(sr, CK_NORMAL);
	nfail = srunner_ntests_failed(sr);
	srunner_free(sr);
	ub_stop(&U);
	return nfail == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
