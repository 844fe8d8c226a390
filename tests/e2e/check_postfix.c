/*
 * check_postfix.c -- filterd behind a real Postfix, end to end
 *
 * The other integration tests speak the milter protocol themselves; this
 * one checks what a mail administrator sees: SMTP replies from Postfix,
 * and headers on the mail it relays. It starts, under one scratch
 * directory and on loopback ports only:
 *
 *   filterd     -f -T CLOCK, with the helo, ratelimit and greylist
 *               plugins (the clock file moves its time: no sleeping);
 *   smtp-sink   the next hop, saving every message it receives (-d);
 *   Postfix     a private instance (`postfix -c DIR start`, its own
 *               config, queue and data directories) whose main.cf holds
 *               contrib/postfix/main.cf pointed at this filterd, with two
 *               SMTP listeners: one whose filterd milter says
 *               default_action = tempfail, one with the snippet's accept,
 *               to see both when filterd is down (and the global
 *               milter_default_action set the other way for each: it is
 *               the other milters', and must not matter).
 *
 * Mail goes in with swaks, which uses XCLIENT (smtpd_authorized_xclient_
 * hosts) to present other client addresses, names and HELOs from
 * loopback. Where swaks cannot go (several messages on one connection,
 * RSET, pipelined commands, UTF-8 addresses) the test speaks SMTP to
 * Postfix itself. It asserts the replies a client gets (greylisting at
 * RCPT, the helo plugin at MAIL, the rate limit at MAIL, Postfix's own
 * reply with filterd stopped), the recipients and the X-Greylist header
 * of what Postfix relays.
 *
 * Running Postfix takes root, as in CI. Postfix only asks for a private
 * config directory to be listed in alternate_config_directories of the
 * system's main.cf when a set-gid command is run by a user other than
 * root (mail_conf.c); everything here runs as root, so the system's
 * Postfix configuration is left untouched.
 *
 * The instance is started and stopped by an unchecked fixture, in the
 * test runner's own process: it is stopped (postfix stop, then SIGKILL
 * for any process left in the master's group) whatever the tests did,
 * and also on SIGINT/SIGTERM/SIGHUP. A missing postfix, smtp-sink or
 * swaks, or not being root, fails the test (exit 99) unless
 * FD_ALLOW_SKIP=1 (exit 77).
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <ftw.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "proc.h"

#define T0		1700000000	/* filterd's clock at the start */
#define WAIT_MS		30000		/* bound on any wait for a server */
#define MX_NAME		"mx.filterd.test"

/* the snippet's milter address, replaced with the test's filterd */
#define SNIPPET_SPEC	"inet:127.0.0.1:8890"

struct e2e {
	const char	*postfix, *postconf, *smtp_sink, *swaks;
	char		*dir;		/* scratch: everything lives below */
	char		*pfdir;		/* Postfix config_directory */
	char		*queue;		/* its queue_directory */
	char		*maillog;	/* its maillog_file */
	char		*sinkdir;	/* where smtp-sink saves messages */
	char		*fconf;		/* filterd.conf */
	char		*clock;		/* filterd's clock file */
	int		 fport;		/* filterd's milter port */
	int		 tport;		/* smtpd, filterd's default_action tempfail */
	int		 aport;		/* smtpd, the snippet's default_action accept */
	int		 kport;		/* smtp-sink */
	char		 fspec[64];
	struct th_proc	*filterd, *sink;
	int		 pf_started;	/* `postfix start` was run */
};

static struct e2e E;
/* the programs, found once by main() */
static const char *prog_postfix, *prog_postconf, *prog_sink, *prog_swaks;
/* the master's pid for the signal handler: it must stop Postfix too */
static volatile sig_atomic_t master_pid;

/* ---- small helpers ---- */

/* now_ms - monotonic milliseconds, for bounds on waits only */
static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* nap - one polling step */
static void
nap(void)
{
	struct timespec ts = { 0, 20 * 1000000L };

	nanosleep(&ts, NULL);
}

/* tcp_accepts - 1 if something accepts a connection on 127.0.0.1:port */
static int
tcp_accepts(int port)
{
	struct sockaddr_in sin;
	int	 fd, ok;

	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return 0;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((unsigned short)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ok = connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0;
	close(fd);
	return ok;
}

/* wait_port - until port accepts (up == 1) or refuses (up == 0); 0/-1 */
static int
wait_port(int port, int up, int timeout_ms)
{
	long long deadline = now_ms() + timeout_ms;

	while (tcp_accepts(port) != up) {
		if (now_ms() >= deadline)
			return -1;
		nap();
	}
	return 0;
}

/* tail - the last n lines of a file, owned ("" if it cannot be read) */
static char *
tail(const char *path, int n)
{
	char	*s, *q, *t;

	if (path == NULL || (s = th_read_file(path, NULL)) == NULL)
		return strdup("");
	q = s + strlen(s);
	if (q > s && q[-1] == '\n')
		q--;
	while (q > s && n > 0)
		if (*--q == '\n')
			n--;
	if (*q == '\n')
		q++;
	t = strdup(q);
	free(s);
	return t;
}

/* file_has - 1 if the file holds needle */
static int
file_has(const char *path, const char *needle)
{
	char	*s = th_read_file(path, NULL);
	int	 found = s != NULL && strstr(s, needle) != NULL;

	free(s);
	return found;
}

/* find_prog - $envvar if it names a program, else name on PATH and in
 * the sbin directories (configure may have run before postfix was
 * installed); owned; exits 99 (77 with FD_ALLOW_SKIP=1) if there is none */
static char *
find_prog(const char *envvar, const char *name)
{
	const char	*v = getenv(envvar), *path, *skip;
	char		 dirs[4096], *d, *save = NULL, *p;

	if (v != NULL && strchr(v, '/') != NULL && access(v, X_OK) == 0)
		return strdup(v);
	path = getenv("PATH");
	snprintf(dirs, sizeof(dirs), "%s:/usr/sbin:/usr/bin:/sbin:/bin",
	    path != NULL ? path : "");
	for (d = strtok_r(dirs, ":", &save); d != NULL;
	    d = strtok_r(NULL, ":", &save)) {
		if (*d != '/')
			continue;
		p = th_path(d, name);
		if (access(p, X_OK) == 0)
			return p;
		free(p);
	}
	skip = getenv("FD_ALLOW_SKIP");
	fprintf(stderr, "check_postfix: %s not found (%s=%s); install it "
	    "(build-aux/setup does)%s\n", name, envvar, v != NULL ? v : "",
	    skip != NULL && strcmp(skip, "1") == 0 ?
	    "; skipped (FD_ALLOW_SKIP=1)" : " or set FD_ALLOW_SKIP=1 to skip");
	exit(skip != NULL && strcmp(skip, "1") == 0 ? 77 : 99);
}

/*
 * scratch_new - the scratch directory. Not th_tmpdir_new(): the
 * harness removes its directories from an atexit handler, which every
 * forked Check test process would run, removing the directory the
 * runner's fixture still uses.
 */
static char *
scratch_new(void)
{
	const char	*base = getenv("TMPDIR");
	char		*dir;

	if (base == NULL || *base == '\0')
		base = "/tmp";
	dir = th_path(base, "fde2e.XXXXXX");
	if (mkdtemp(dir) == NULL) {
		free(dir);
		return NULL;
	}
	return dir;
}

/* rm_entry - nftw callback: remove one entry, children first */
static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	(void)remove(path);
	return 0;
}

/* scratch_free - remove the tree (kept with FD_KEEP_TMP=1); NULL */
static char *
scratch_free(char *dir)
{
	const char	*keep = getenv("FD_KEEP_TMP");

	if (dir == NULL)
		return NULL;
	if (keep != NULL && strcmp(keep, "1") == 0)
		fprintf(stderr, "check_postfix: keeping %s\n", dir);
	else
		(void)nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(dir);
	return NULL;
}

/* ---- Postfix ---- */

/* snippet - contrib/postfix/main.cf aimed at our filterd; owned, NULL
 * with a reason in err */
static char *
snippet(char *err, size_t errlen)
{
	const char	*top = getenv("top_srcdir");
	char		*path, *s, *at, *out;
	char		 spec[64];
	size_t		 n;

	if (top == NULL || *top == '\0')
		top = FD_SRCDIR;
	path = th_path(top, "contrib/postfix/main.cf");
	s = th_read_file(path, NULL);
	if (s == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		free(path);
		return NULL;
	}
	free(path);
	if ((at = strstr(s, SNIPPET_SPEC)) == NULL) {
		snprintf(err, errlen, "contrib/postfix/main.cf does not name "
		    "%s any more; update " __FILE__, SNIPPET_SPEC);
		free(s);
		return NULL;
	}
	snprintf(spec, sizeof(spec), "inet:127.0.0.1:%d", E.fport);
	n = strlen(s) - strlen(SNIPPET_SPEC) + strlen(spec) + 1;
	if ((out = malloc(n)) == NULL)
		abort();
	snprintf(out, n, "%.*s%s%s", (int)(at - s), s, spec,
	    at + strlen(SNIPPET_SPEC));
	free(s);
	return out;
}

/* write_postfix_conf - main.cf and master.cf of the private instance */
static int
write_postfix_conf(char *err, size_t errlen)
{
	char	*main_cf, *master_cf, *snip, *data;
	int	 rc;

	if ((snip = snippet(err, errlen)) == NULL)
		return -1;
	data = th_path(E.dir, "data");
	main_cf = th_path(E.pfdir, "main.cf");
	master_cf = th_path(E.pfdir, "master.cf");
	rc = th_write_file(main_cf,
	    "# private Postfix instance of filterd's end-to-end test\n"
	    "compatibility_level = 3.6\n"
	    "queue_directory = %s\n"
	    "data_directory = %s\n"
	    /* no syslog here: Postfix's own errors go to a file */
	    "maillog_file = %s\n"
	    "maillog_file_prefixes = %s\n"
	    "myhostname = " MX_NAME "\n"
	    "mydomain = filterd.test\n"
	    "myorigin = $myhostname\n"
	    "mydestination =\n"
	    "local_recipient_maps =\n"
	    "alias_maps =\n"
	    "alias_database =\n"
	    "relay_domains = example.net\n"
	    "relayhost = [127.0.0.1]:%d\n"
	    /* no DNS at all: names come from XCLIENT */
	    "smtp_dns_support_level = disabled\n"
	    "smtpd_peername_lookup = no\n"
	    "inet_interfaces = 127.0.0.1\n"
	    "inet_protocols = ipv4\n"
	    "mynetworks = 127.0.0.0/8\n"
	    /* swaks plays other clients from loopback */
	    "smtpd_authorized_xclient_hosts = 127.0.0.0/8\n"
	    "biff = no\n"
	    /* the tempfail listener's (master.cf) */
	    "tempfail_milters = { inet:127.0.0.1:%d, default_action="
	    "tempfail, protocol=6 }\n"
	    "\n# contrib/postfix/main.cf, with this test's filterd\n%s",
	    E.queue, data, E.maillog, E.dir, E.kport, E.fport, snip);
	if (rc == 0)
		rc = th_write_file(master_cf,
		    "# two SMTP listeners: what happens when filterd is down;\n"
		    "# the first's filterd says tempfail, the second's is the\n"
		    "# snippet's, and the global milter_default_action (for\n"
		    "# other milters) is the other way round for each: the\n"
		    "# snippet's setting for filterd alone must win\n"
		    "127.0.0.1:%d inet n - n - - smtpd\n"
		    "  -o smtpd_milters=$tempfail_milters\n"
		    "  -o milter_default_action=accept\n"
		    "127.0.0.1:%d inet n - n - - smtpd\n"
		    "  -o milter_default_action=tempfail\n"
		    "pickup    unix  n - n 60 1 pickup\n"
		    "cleanup   unix  n - n -  0 cleanup\n"
		    "qmgr      unix  n - n 300 1 qmgr\n"
		    "rewrite   unix  - - n -  - trivial-rewrite\n"
		    "bounce    unix  - - n -  0 bounce\n"
		    "defer     unix  - - n -  0 bounce\n"
		    "trace     unix  - - n -  0 bounce\n"
		    "verify    unix  - - n -  1 verify\n"
		    "flush     unix  n - n 1000? 0 flush\n"
		    "proxymap  unix  - - n -  - proxymap\n"
		    "smtp      unix  - - n -  - smtp\n"
		    "relay     unix  - - n -  - smtp\n"
		    "showq     unix  n - n -  - showq\n"
		    "error     unix  - - n -  - error\n"
		    "retry     unix  - - n -  - error\n"
		    "discard   unix  - - n -  - discard\n"
		    "anvil     unix  - - n -  1 anvil\n"
		    "scache    unix  - - n -  1 scache\n"
		    "postlog   unix-dgram n - n - 1 postlogd\n",
		    E.tport, E.aport);
	if (rc < 0)
		snprintf(err, errlen, "writing %s: %s", E.pfdir,
		    strerror(errno));
	free(snip);
	free(data);
	free(main_cf);
	free(master_cf);
	return rc;
}

/* postfix_cmd - `postfix -c DIR cmd`, waited for; its wait status, or
 * -1 if it did not end in time; its output goes to DIR/postfix-CMD.log */
static int
postfix_cmd(const char *cmd, char *err, size_t errlen)
{
	struct th_proc	*p;
	char		*argv[] = { (char *)E.postfix, "-c", E.pfdir,
			    (char *)cmd, NULL };
	char		 name[64];
	int		 st;

	snprintf(name, sizeof(name), "postfix-%s", cmd);
	if ((p = th_proc_start(E.dir, name, argv, err, errlen)) == NULL)
		return -1;
	st = th_proc_wait_exit(p, 60000);
	th_proc_free(p);
	return st;
}

/* read_master_pid - the master's pid from its pid file, 0 if none */
static pid_t
read_master_pid(void)
{
	char	*path = th_path(E.queue, "pid/master.pid"), *s;
	long	 pid = 0;

	if ((s = th_read_file(path, NULL)) != NULL)
		pid = strtol(s, NULL, 10);
	free(s);
	free(path);
	return pid > 1 ? (pid_t)pid : 0;
}

/* postfix_start - start the instance and wait for both listeners */
static int
postfix_start(char *err, size_t errlen)
{
	char	*log;
	int	 st;

	E.pf_started = 1;
	st = postfix_cmd("start", err, errlen);
	master_pid = read_master_pid();
	if (st != 0) {
		log = tail(E.maillog, 15);
		snprintf(err, errlen, "postfix start: status %d; maillog:\n%s",
		    st, log);
		free(log);
		return -1;
	}
	if (wait_port(E.tport, 1, WAIT_MS) < 0 ||
	    wait_port(E.aport, 1, WAIT_MS) < 0) {
		log = tail(E.maillog, 15);
		snprintf(err, errlen, "Postfix not listening on %d and %d; "
		    "maillog:\n%s", E.tport, E.aport, log);
		free(log);
		return -1;
	}
	return 0;
}

/* postfix_stop - `postfix stop`, then kill what is left of the group */
static void
postfix_stop(void)
{
	char	 err[256];
	pid_t	 pid;

	if (!E.pf_started)
		return;
	E.pf_started = 0;
	pid = master_pid ? (pid_t)master_pid : read_master_pid();
	(void)postfix_cmd("stop", err, sizeof(err));
	/* the master leads its process group: stragglers are there */
	if (pid > 1 && kill(-pid, 0) == 0)
		(void)kill(-pid, SIGKILL);
	master_pid = 0;
}

/* on_signal - interrupted: stop Postfix, then die of the signal */
static void
on_signal(int sig)
{
	if (master_pid > 1)
		(void)kill((pid_t)master_pid, SIGTERM);
	signal(sig, SIG_DFL);
	raise(sig);
}

/* ---- filterd and smtp-sink ---- */

static int	write_filterd_conf_grey(const char *, const char *,
		    const char *, char *, size_t);

/* write_filterd_conf - the test's config, `extra` at its head */
static int
write_filterd_conf(const char *extra, char *err, size_t errlen)
{
	return write_filterd_conf_grey(extra, "", "", err, errlen);
}

/* write_filterd_conf_grey - the same, with more helo and greylist
 * directives */
static int
write_filterd_conf_grey(const char *extra, const char *helo,
    const char *grey, char *err, size_t errlen)
{
	const char	*plugins = th_plugin_dir();

	if (th_write_file(E.fconf,
	    "# filterd for the end-to-end test\n%s"
	    "socket \"inet:%d@127.0.0.1\"\n"
	    "log stderr\n"
	    "log-level info\n"
	    "store lmdb \"%s/state\"\n"
	    "plugin-dir \"%s\"\n"
	    "plugin helo {\n"
	    "%s"
	    "}\n"
	    "plugin ratelimit {\n"
	    "\tlimit client-ip 3/1h name e2e-ip\n"
	    "}\n"
	    "plugin greylist {\n"
	    "\tdelay 5m\n"
	    /* the rate test's client is not greylisted */
	    "\twhitelist-networks 198.51.100.0/24\n"
	    "%s"
	    "}\n", extra, E.fport, E.dir, plugins, helo, grey) < 0) {
		snprintf(err, errlen, "%s: %s", E.fconf, strerror(errno));
		return -1;
	}
	return 0;
}

static int
sink_start(char *err, size_t errlen)
{
	char	 tmpl[1024], addr[32], spec[64];
	char	*argv[] = { (char *)E.smtp_sink, "-u", "postfix", "-d", tmpl,
		    addr, "50", NULL };

	/* one file per message, named from the minute and a random tail */
	snprintf(tmpl, sizeof(tmpl), "%s/%%M.", E.sinkdir);
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", E.kport);
	snprintf(spec, sizeof(spec), "inet:%d@127.0.0.1", E.kport);
	if ((E.sink = th_proc_start(E.dir, "smtp-sink", argv, err, errlen))
	    == NULL)
		return -1;
	return th_proc_wait_ready(E.sink, spec, WAIT_MS, err, errlen);
}

/* ---- the fixture ---- */

/* mkdir_for - a directory of the instance, owned by uid, mode */
static char *
mkdir_for(const char *name, uid_t uid, mode_t mode)
{
	char	*path = th_path(E.dir, name);

	if (mkdir(path, mode) < 0 || chown(path, uid, (gid_t)-1) < 0 ||
	    chmod(path, mode) < 0) {
		free(path);
		return NULL;
	}
	return path;
}

/* pick_ports - four different free loopback ports */
static int
pick_ports(void)
{
	int	*ports[] = { &E.fport, &E.tport, &E.aport, &E.kport };
	int	 i, j, p, tries = 0;

	for (i = 0; i < 4; i++) {
		do {
			if ((p = th_free_port()) < 0 || tries++ > 100)
				return -1;
			for (j = 0; j < i && *ports[j] != p; j++)
				;
		} while (j < i);
		*ports[i] = p;
	}
	return 0;
}

static void
e2e_teardown(void)
{
	postfix_stop();
	E.filterd = th_proc_free(E.filterd);
	E.sink = th_proc_free(E.sink);
	free(E.pfdir);
	free(E.queue);
	free(E.maillog);
	free(E.sinkdir);
	free(E.fconf);
	free(E.clock);
	E.pfdir = E.queue = E.maillog = E.sinkdir = E.fconf = E.clock = NULL;
	E.dir = scratch_free(E.dir);
}

/* e2e_start - everything up; 0, or -1 with a reason in err */
static int
e2e_start(char *err, size_t errlen)
{
	struct passwd	*pw;
	char		*data = NULL, *state = NULL;

	if ((pw = getpwnam("postfix")) == NULL) {
		snprintf(err, errlen, "no postfix user: is Postfix installed?");
		return -1;
	}
	if ((E.dir = scratch_new()) == NULL) {
		snprintf(err, errlen, "mkdtemp: %s", strerror(errno));
		return -1;
	}
	/* Postfix's processes run as postfix and must reach their files */
	if (chmod(E.dir, 0755) < 0 ||
	    (E.pfdir = mkdir_for("etc", 0, 0755)) == NULL ||
	    (E.queue = mkdir_for("spool", 0, 0755)) == NULL ||
	    (data = mkdir_for("data", pw->pw_uid, 0700)) == NULL ||
	    (E.sinkdir = mkdir_for("sink", pw->pw_uid, 0700)) == NULL ||
	    (state = mkdir_for("state", 0, 0700)) == NULL) {
		snprintf(err, errlen, "directories under %s: %s", E.dir,
		    strerror(errno));
		free(data);
		free(state);
		return -1;
	}
	free(data);
	free(state);
	E.maillog = th_path(E.dir, "postfix.log");
	E.fconf = th_path(E.dir, "filterd.conf");
	E.clock = th_path(E.dir, "clock");
	if (pick_ports() < 0) {
		snprintf(err, errlen, "no free ports");
		return -1;
	}
	snprintf(E.fspec, sizeof(E.fspec), "inet:%d@127.0.0.1", E.fport);
	if (th_clock_write(E.clock, T0) < 0 ||
	    write_filterd_conf("", err, errlen) < 0)
		return -1;
	if ((E.filterd = th_filterd_start(E.dir, E.fconf, E.clock, E.fspec,
	    err, errlen)) == NULL)
		return -1;
	if (sink_start(err, errlen) < 0 ||
	    write_postfix_conf(err, errlen) < 0 ||
	    postfix_start(err, errlen) < 0)
		return -1;
	return 0;
}

static void
e2e_setup(void)
{
	char	 err[4096];

	memset(&E, 0, sizeof(E));
	E.postfix = prog_postfix;
	E.postconf = prog_postconf;
	E.smtp_sink = prog_sink;
	E.swaks = prog_swaks;
	if (e2e_start(err, sizeof(err)) < 0) {
		/* Check runs no teardown after a failed unchecked setup */
		e2e_teardown();
		ck_abort_msg("setup: %s", err);
	}
}

/* ---- SMTP conversations and what they left ---- */

/* smtp - one swaks conversation through Postfix; the transcript, owned.
 * xclient: "ADDR=... NAME=..." the client Postfix (and filterd) see;
 * token: in the Subject and at the end of the body, to find the
 * message at the sink */
static char *
smtp(const char *name, int port, const char *xclient, const char *helo,
    const char *from, const char *to, const char *token)
{
	struct th_proc	*p;
	char		 server[32], subject[128], body[128], err[512];
	char		*argv[] = { (char *)E.swaks, "--server", server,
			    "--xclient", (char *)xclient, "--helo", (char *)helo,
			    "--from", (char *)from, "--to", (char *)to,
			    "--header", subject, "--body", body,
			    "--timeout", "30", NULL };
	char		*out;
	int		 st;

	snprintf(server, sizeof(server), "127.0.0.1:%d", port);
	snprintf(subject, sizeof(subject), "Subject: e2e %s", token);
	snprintf(body, sizeof(body), "end of %s", token);
	p = th_proc_start(E.dir, name, argv, err, sizeof(err));
	ck_assert_msg(p != NULL, "swaks: %s", err);
	st = th_proc_wait_exit(p, 2 * WAIT_MS);
	out = th_log_read(p);
	th_proc_free(p);
	ck_assert_msg(st != -1, "swaks %s did not finish:\n%s", name, out);
	return out;
}

/* expect_after - the transcript has line `want` after the first line
 * holding `after` (NULL: anywhere) */
static void
expect_after(const char *out, const char *after, const char *want)
{
	const char	*from = out;
	char		*log;

	if (after != NULL && (from = strstr(out, after)) == NULL)
		from = out + strlen(out);
	if (strstr(from, want) != NULL)
		return;
	log = tail(E.maillog, 12);
	ck_abort_msg("expected \"%s\"%s%s in the SMTP conversation:\n%s\n"
	    "--- Postfix log:\n%s", want, after ? " after " : "",
	    after ? after : "", out, log);
	free(log);
}

/* expect_none - the transcript does not have `bad` */
static void
expect_none(const char *out, const char *bad)
{
	ck_assert_msg(strstr(out, bad) == NULL, "unexpected \"%s\" in the "
	    "SMTP conversation:\n%s", bad, out);
}

/* sink_message - the message smtp-sink saved that ends with token,
 * once it is all there; owned */
static char *
sink_message(const char *token)
{
	long long	 deadline = now_ms() + WAIT_MS;
	char		 end[128], *path, *s, *log;
	struct dirent	*de;
	DIR		*d;

	snprintf(end, sizeof(end), "end of %s", token);
	for (;;) {
		if ((d = opendir(E.sinkdir)) != NULL) {
			while ((de = readdir(d)) != NULL) {
				if (de->d_name[0] == '.')
					continue;
				path = th_path(E.sinkdir, de->d_name);
				s = th_read_file(path, NULL);
				free(path);
				if (s != NULL && strstr(s, end) != NULL) {
					closedir(d);
					return s;
				}
				free(s);
			}
			closedir(d);
		}
		if (now_ms() >= deadline)
			break;
		nap();
	}
	log = tail(E.maillog, 12);
	ck_abort_msg("no message \"%s\" reached smtp-sink; Postfix log:\n%s",
	    token, log);
	free(log);
	return NULL;
}

/* header - the value of the first header `name` of the message in a
 * sink file (after smtp-sink's own X-Client-* lines), unfolded; owned,
 * NULL if there is none */
static char *
header(const char *msg, const char *name)
{
	const char	*p = msg, *eol, *hdr_end;
	size_t		 n = strlen(name), o = 0;
	char		*v;

	if ((hdr_end = strstr(msg, "\n\n")) == NULL)
		hdr_end = msg + strlen(msg);
	for (; p < hdr_end; p = eol + 1) {
		if ((eol = strchr(p, '\n')) == NULL)
			eol = msg + strlen(msg);
		if (strncasecmp(p, name, n) == 0 && p[n] == ':')
			break;
	}
	if (p >= hdr_end)
		return NULL;
	if ((v = malloc((size_t)(hdr_end - p) + 1)) == NULL)
		abort();
	for (p += n + 1; *p == ' ' || *p == '\t'; p++)
		;
	/* continuation lines start with a blank */
	for (; p < hdr_end; p++) {
		if (*p == '\n' && (p[1] == ' ' || p[1] == '\t'))
			continue;
		if (*p == '\n')
			break;
		if (*p != '\r')
			v[o++] = *p;
	}
	v[o] = '\0';
	return v;
}

/* maillog_wait - until Postfix's log has needle */
static void
maillog_wait(const char *needle)
{
	long long	 deadline = now_ms() + WAIT_MS;
	char		*log;

	while (!file_has(E.maillog, needle)) {
		if (now_ms() >= deadline) {
			log = tail(E.maillog, 12);
			ck_abort_msg("no \"%s\" in Postfix's log:\n%s", needle,
			    log);
			free(log);
		}
		nap();
	}
}

/* postconf - a parameter of the instance (dflt: Postfix's default for
 * it), as `postconf -h` prints it, without the newline; owned */
static char *
postconf(const char *param, int dflt)
{
	struct th_proc	*p;
	char		*argv[] = { (char *)E.postconf, "-c", E.pfdir,
			    dflt ? "-dh" : "-h", (char *)param, NULL };
	char		 err[512], name[128], *out;
	int		 st;

	/* one log per call: th_log_read reads all of it */
	snprintf(name, sizeof(name), "postconf-%s%s", param, dflt ? "-d" : "");
	p = th_proc_start(E.dir, name, argv, err, sizeof(err));
	ck_assert_msg(p != NULL, "postconf: %s", err);
	st = th_proc_wait_exit(p, WAIT_MS);
	out = th_log_read(p);
	th_proc_free(p);
	ck_assert_msg(st == 0, "postconf -h %s: status %d:\n%s", param, st,
	    out);
	out[strcspn(out, "\n")] = '\0';
	return out;
}

/* has_word - the blank-separated list holds word */
static int
has_word(const char *list, const char *word)
{
	size_t	 n = strlen(word), len;

	for (; *list != '\0'; list += len) {
		list += strspn(list, " \t,");
		len = strcspn(list, " \t,");
		if (len == n && strncmp(list, word, n) == 0)
			return 1;
	}
	return 0;
}

/* ---- SMTP spoken by the test: what swaks cannot do ---- */

/*
 * swaks sends one message per connection and one command at a time.
 * Several messages on one connection, RSET between them, pipelined
 * commands and bytes swaks would not send need a client of our own: a
 * connection to Postfix, commands written as given, replies read whole.
 */
struct smtp {
	int	 fd;
	char	 buf[16384];
	size_t	 len;		/* bytes in buf not yet taken */
	char	*log;		/* the conversation so far, for failures */
	size_t	 loglen;
};

/* smtp_note - append to the conversation's record */
static void
smtp_note(struct smtp *s, const char *dir, const char *text, size_t n)
{
	size_t	 add = strlen(dir) + n + 1;

	if ((s->log = realloc(s->log, s->loglen + add + 1)) == NULL)
		abort();
	snprintf(s->log + s->loglen, add + 1, "%s%.*s\n", dir, (int)n, text);
	s->loglen += add;
}

/* smtp_fail - abort the test with the end of the conversation and of
 * Postfix's log (Check carries a few KiB of message at most) */
static void
smtp_fail(struct smtp *s, const char *what)
{
	char		*log = tail(E.maillog, 4);
	const char	*conv = s->log != NULL ? s->log : "";
	size_t		 n = strlen(conv), ln = strlen(log);

	ck_abort_msg("%s; the conversation:\n%s--- Postfix log:\n%s", what,
	    n > 1200 ? conv + n - 1200 : conv, ln > 1200 ? log + ln - 1200 :
	    log);
	free(log);
}

/* smtp_line - the next line from the server, without CRLF, owned */
static char *
smtp_line(struct smtp *s)
{
	long long	 deadline = now_ms() + WAIT_MS;
	struct pollfd	 pfd = { s->fd, POLLIN, 0 };
	char		*eol, *line;
	ssize_t		 n;
	size_t		 k;

	while ((eol = memchr(s->buf, '\n', s->len)) == NULL) {
		if (s->len == sizeof(s->buf))
			smtp_fail(s, "reply line too long");
		if (now_ms() >= deadline ||
		    poll(&pfd, 1, (int)(deadline - now_ms())) <= 0)
			smtp_fail(s, "no reply from Postfix");
		if ((n = read(s->fd, s->buf + s->len, sizeof(s->buf) -
		    s->len)) <= 0)
			smtp_fail(s, "Postfix closed the connection");
		s->len += (size_t)n;
	}
	k = (size_t)(eol - s->buf);
	line = strndup(s->buf, k > 0 && eol[-1] == '\r' ? k - 1 : k);
	if (line == NULL)
		abort();
	memmove(s->buf, eol + 1, s->len - k - 1);
	s->len -= k + 1;
	return line;
}

/* smtp_reply - the next reply; its last line ("250 2.1.5 Ok"), owned */
static char *
smtp_reply(struct smtp *s)
{
	char	*line;

	/* "250-..." continues, "250 ..." ends */
	while (strlen(line = smtp_line(s)) > 3 && line[3] == '-')
		free(line);
	smtp_note(s, "<- ", line, strlen(line));
	return line;
}

/* smtp_send - write bytes as they are; the caller puts the CRLFs */
static void
smtp_send(struct smtp *s, const char *text)
{
	size_t	 n = strlen(text), o = 0;
	ssize_t	 w;

	smtp_note(s, "-> ", text, n > 2 ? n - 2 : n);
	while (o < n) {
		if ((w = write(s->fd, text + o, n - o)) < 0 && errno != EINTR)
			smtp_fail(s, "write to Postfix failed");
		o += w > 0 ? (size_t)w : 0;
	}
}

/* smtp_expect - the next reply starts with want */
static void
smtp_expect(struct smtp *s, const char *want)
{
	char	*r = smtp_reply(s), what[1024];

	if (strncmp(r, want, strlen(want)) != 0) {
		snprintf(what, sizeof(what), "expected \"%s\", got \"%s\"",
		    want, r);
		free(r);
		smtp_fail(s, what);
	}
	free(r);
}

/* smtp_cmd - send one command line (no CRLF) and expect its reply */
static void
smtp_cmd(struct smtp *s, const char *cmd, const char *want)
{
	char	*line;

	if (asprintf(&line, "%s\r\n", cmd) < 0)
		abort();
	smtp_send(s, line);
	free(line);
	smtp_expect(s, want);
}

/*
 * smtp_open - connect to Postfix on port, present the client xclient
 * names ("ADDR=... NAME=...") and greet it with helo, as swaks does
 */
static void
smtp_open(struct smtp *s, int port, const char *xclient, const char *helo)
{
	struct sockaddr_in	 sin;
	char			 cmd[1024];

	memset(s, 0, sizeof(*s));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((unsigned short)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((s->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    connect(s->fd, (struct sockaddr *)&sin, sizeof(sin)) < 0)
		smtp_fail(s, strerror(errno));
	smtp_expect(s, "220 ");
	smtp_cmd(s, "EHLO test.filterd.test", "250 ");
	snprintf(cmd, sizeof(cmd), "XCLIENT %s", xclient);
	smtp_cmd(s, cmd, "220 ");
	snprintf(cmd, sizeof(cmd), "EHLO %s", helo);
	smtp_cmd(s, cmd, "250 ");
}

/* smtp_body - the text of a message after its 354, ending in "end of
 * token"; the reply to it */
static void
smtp_body(struct smtp *s, const char *token)
{
	char	*text;

	if (asprintf(&text, "Subject: e2e %s\r\n\r\nend of %s\r\n.\r\n",
	    token, token) < 0)
		abort();
	smtp_send(s, text);
	free(text);
	smtp_expect(s, "250 2.0.0 Ok: queued as ");
}

/* smtp_group - send a group of command lines at once (RFC 2920) */
static void
smtp_group(struct smtp *s, const char *const *cmds)
{
	char	 group[4096];
	size_t	 o = 0;

	for (; *cmds != NULL; cmds++)
		o += (size_t)snprintf(group + o, sizeof(group) - o, "%s\r\n",
		    *cmds);
	ck_assert_uint_lt(o, sizeof(group));
	smtp_send(s, group);
}

/* smtp_message - DATA and a message ending in "end of token" */
static void
smtp_message(struct smtp *s, const char *token)
{
	smtp_cmd(s, "DATA", "354 ");
	smtp_body(s, token);
}

/* smtp_close - QUIT and close */
static void
smtp_close(struct smtp *s)
{
	smtp_cmd(s, "QUIT", "221 ");
	close(s->fd);
	free(s->log);
	s->log = NULL;
}

/* count_headers - how many header lines `name` the message has */
static int
count_headers(const char *msg, const char *name)
{
	const char	*p, *end = strstr(msg, "\n\n");
	size_t		 n = strlen(name);
	int		 count = 0;

	if (end == NULL)
		end = msg + strlen(msg);
	for (p = msg; p != NULL && p < end; p = strchr(p, '\n')) {
		if (*p == '\n')
			p++;
		if (strncasecmp(p, name, n) == 0 && p[n] == ':')
			count++;
	}
	return count;
}

/* ---- the tests ---- */

#define GREY_TEXT(n) \
	"451 4.7.1 Greylisted: your server must retry in " #n " seconds; " \
	"see RFC 6647"

/*
 * A new (client, sender, recipient) gets 451 4.7.1 at RCPT; a retry
 * before the delay too; the retry after it is accepted and reaches the
 * next hop with X-Greylist saying how long it was held.
 */
START_TEST(greylist_then_pass)
{
	const char	*xc = "ADDR=203.0.113.5 NAME=mail.example.org";
	char		*out, *msg, *v;

	ck_assert_int_eq(th_clock_write(E.clock, T0), 0);
	out = smtp("swaks-grey-1", E.tport, xc, "mail.example.org",
	    "alice@example.org", "bob@example.net", "greylist");
	expect_after(out, " -> MAIL FROM:", "<-  250 2.1.0 Ok");
	expect_after(out, " -> RCPT TO:<bob@example.net>",
	    "<** " GREY_TEXT(300));
	expect_none(out, "queued as");
	free(out);

	/* too early: still deferred, the wait counts down */
	ck_assert_int_eq(th_clock_write(E.clock, T0 + 60), 0);
	out = smtp("swaks-grey-2", E.tport, xc, "mail.example.org",
	    "alice@example.org", "bob@example.net", "greylist");
	expect_after(out, " -> RCPT TO:", "<** " GREY_TEXT(240));
	expect_none(out, "queued as");
	free(out);

	/* after the delay: accepted, relayed, with the header */
	ck_assert_int_eq(th_clock_write(E.clock, T0 + 301), 0);
	out = smtp("swaks-grey-3", E.tport, xc, "mail.example.org",
	    "alice@example.org", "bob@example.net", "greylist");
	expect_after(out, " -> RCPT TO:", "<-  250 2.1.5 Ok");
	expect_after(out, " -> .", "<-  250 2.0.0 Ok: queued as ");
	free(out);

	msg = sink_message("greylist");
	v = header(msg, "X-Greylist");
	ck_assert_msg(v != NULL, "no X-Greylist header:\n%s", msg);
	ck_assert_str_eq(v, "delayed 301 seconds by filterd-greylist at "
	    MX_NAME "; Tue, 14 Nov 2023 22:18:21 +0000");
	free(v);
	/* it went through Postfix as the client XCLIENT named */
	ck_assert_msg(strstr(msg, "from mail.example.org (mail.example.org "
	    "[203.0.113.5])") != NULL, "Received line:\n%s", msg);
	free(msg);

	ck_assert(th_log_has(E.filterd, "decider=greylist action=tempfail"));
	ck_assert(th_log_has(E.filterd, "triplet passed after 301s"));
}
END_TEST

/*
 * HELO with a bare IP address: the helo plugin's reply, at MAIL FROM
 * (where it enforces by default); the same client announcing the
 * address literal gets through to RCPT.
 */
START_TEST(helo_bare_ip)
{
	const char	*xc = "ADDR=192.0.2.77 NAME=host77.example.org";
	char		*out;

	out = smtp("swaks-helo-1", E.tport, xc, "192.0.2.1",
	    "carol@example.org", "dave@example.net", "helo-bare");
	expect_after(out, " -> MAIL FROM:<carol@example.org>",
	    "<** 550 5.7.1 HELO/EHLO \"192.0.2.1\" is an IP address without "
	    "brackets; announce the host name or the address literal "
	    "[192.0.2.1] (RFC 5321 section 4.1.3)");
	expect_none(out, " -> RCPT TO:");
	free(out);

	out = smtp("swaks-helo-2", E.tport, xc, "[192.0.2.77]",
	    "carol@example.org", "dave@example.net", "helo-literal");
	expect_after(out, " -> MAIL FROM:", "<-  250 2.1.0 Ok");
	/* then greylisted, as any new triplet */
	expect_after(out, " -> RCPT TO:", "<** " GREY_TEXT(300));
	free(out);

	ck_assert(th_log_has(E.filterd, "decider=helo action=reject"));
}
END_TEST

/*
 * limit client-ip 3/1h: three messages go through, the fourth gets the
 * rate limit's tempfail at MAIL FROM, with the wait until one more fits.
 */
START_TEST(ratelimit_over)
{
	const char	*xc = "ADDR=198.51.100.7 NAME=relay.example.com";
	char		 name[32], token[32];
	char		*out;
	int		 i;

	for (i = 1; i <= 3; i++) {
		snprintf(name, sizeof(name), "swaks-rate-%d", i);
		snprintf(token, sizeof(token), "rate-%d", i);
		out = smtp(name, E.tport, xc, "relay.example.com",
		    "erin@example.com", "frank@example.net", token);
		expect_after(out, " -> .", "<-  250 2.0.0 Ok: queued as ");
		free(out);
	}
	out = smtp("swaks-rate-4", E.tport, xc, "relay.example.com",
	    "erin@example.com", "frank@example.net", "rate-4");
	expect_after(out, " -> MAIL FROM:<erin@example.com>",
	    "<** 451 4.7.1 Rate limit exceeded, try again in 1200 seconds");
	expect_none(out, " -> RCPT TO:");
	free(out);
	free(sink_message("rate-3"));

	ck_assert(th_log_has(E.filterd, "decider=ratelimit action=tempfail"));
	ck_assert(th_log_has(E.filterd, "limit e2e-ip (client-ip 3/1h"));
}
END_TEST

/* reload_helo - filterd's config with more global, helo and greylist
 * lines, reloaded (SIGUSR1); the log offset before the reload */
static size_t
reload_helo(const char *global, const char *helo, const char *grey)
{
	char	 err[256];
	size_t	 mark = th_log_size(E.filterd);

	ck_assert_msg(write_filterd_conf_grey(global, helo, grey, err,
	    sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(th_proc_signal(E.filterd, SIGUSR1), 0);
	ck_assert_int_eq(th_log_wait(E.filterd, mark, "reloaded", WAIT_MS), 0);
	return mark;
}

/* reload_with - the same, with more global and greylist lines */
static size_t
reload_with(const char *global, const char *grey)
{
	return reload_helo(global, "", grey);
}

/*
 * delay-reject, switched on by a reload: Postfix is told to wait for no
 * reply before RCPT, so the HELO refusal comes at RCPT TO, where Postfix
 * refuses every recipient of the session with filterd's text.
 */
START_TEST(delay_reject)
{
	const char	*xc = "ADDR=192.0.2.78 NAME=host78.example.org";
	char		*out;
	size_t		 mark = reload_with("delay-reject yes\n", "");

	out = smtp("swaks-delay", E.tport, xc, "192.0.2.1",
	    "carol@example.org", "dave@example.net", "delay-reject");
	expect_after(out, " -> MAIL FROM:<carol@example.org>",
	    "<-  250 2.1.0 Ok");
	expect_after(out, " -> RCPT TO:<dave@example.net>",
	    "<** 550 5.7.1 HELO/EHLO \"192.0.2.1\" is an IP address without "
	    "brackets; announce the host name or the address literal "
	    "[192.0.2.1] (RFC 5321 section 4.1.3)");
	expect_none(out, "queued as");
	free(out);
	ck_assert(th_log_has_since(E.filterd, mark, "stage=mail decider=helo "
	    "action=reject"));
}
END_TEST

/*
 * Deciding at end of message (delay-reject eom, greylist decide-at eom):
 * Postfix is told to wait for no reply before end of message, so a HELO
 * refusal and a greylist deferral both come after the message text.
 */
START_TEST(decide_at_eom)
{
	const char	*xc_bad = "ADDR=192.0.2.79 NAME=host79.example.org";
	const char	*xc_new = "ADDR=192.0.2.80 NAME=host80.example.org";
	char		*out;
	size_t		 mark = reload_with("delay-reject eom\n",
			    "\tdecide-at eom\n");

	out = smtp("swaks-eom-helo", E.tport, xc_bad, "192.0.2.1",
	    "erin@example.org", "frank@example.net", "eom-helo");
	expect_after(out, " -> RCPT TO:<frank@example.net>",
	    "<-  250 2.1.5 Ok");
	expect_after(out, " -> .", "<** 550 5.7.1 HELO/EHLO \"192.0.2.1\" is "
	    "an IP address without brackets; announce the host name or the "
	    "address literal [192.0.2.1] (RFC 5321 section 4.1.3)");
	expect_none(out, "queued as");
	free(out);

	out = smtp("swaks-eom-grey", E.tport, xc_new, "host80.example.org",
	    "erin@example.org", "frank@example.net", "eom-grey");
	expect_after(out, " -> RCPT TO:<frank@example.net>",
	    "<-  250 2.1.5 Ok");
	expect_after(out, " -> .", "<** " GREY_TEXT(300));
	expect_none(out, "queued as");
	free(out);
	ck_assert(th_log_has_since(E.filterd, mark, "stage=eom "
	    "decider=greylist action=tempfail"));
}
END_TEST

/*
 * The snippet leaves Postfix's milter_*_macros lists as they are: they
 * are what every other milter of the instance gets, and filterd asks
 * for its own at negotiation (below). Every macro of Postfix's default
 * lists is still in the instance's.
 */
START_TEST(snippet_keeps_macros)
{
	static const char *const params[] = { "milter_connect_macros",
	    "milter_helo_macros", "milter_mail_macros", "milter_rcpt_macros",
	    "milter_data_macros", "milter_end_of_header_macros",
	    "milter_end_of_data_macros", "milter_unknown_command_macros" };
	char	*dflt, *cur, *w, *save = NULL;
	size_t	 i;

	for (i = 0; i < sizeof(params) / sizeof(params[0]); i++) {
		dflt = postconf(params[i], 1);
		cur = postconf(params[i], 0);
		for (w = strtok_r(dflt, " \t,", &save); w != NULL;
		    w = strtok_r(NULL, " \t,", &save))
			ck_assert_msg(has_word(cur, w), "%s = %s: no %s, which "
			    "Postfix sends by default", params[i], cur, w);
		free(dflt);
		free(cur);
	}
}
END_TEST

/*
 * filterd gets the macros its rules read by asking at negotiation, not
 * from main.cf: {client_resolve} and {client_ptr} are in none of
 * Postfix's default lists, and a rule reading them decides.
 */
START_TEST(negotiated_macros)
{
	const char	*xc = "ADDR=203.0.113.60 NAME=probe.example.org";
	char		*out;

	reload_with("rule macro-probe on mail if sender == probe@example.org "
	    "and {client_resolve} == OK and {client_ptr} == probe.example.org "
	    "tempfail 451 4.7.1 \"client_resolve and client_ptr arrived\"\n",
	    "");
	out = smtp("swaks-macros", E.tport, xc, "probe.example.org",
	    "probe@example.org", "hank@example.net", "macros");
	expect_after(out, " -> MAIL FROM:<probe@example.org>",
	    "<** 451 4.7.1 client_resolve and client_ptr arrived");
	free(out);
}
END_TEST

/* src_path - a file of the source tree, as the daemon must name it;
 * owned */
static char *
src_path(const char *rel)
{
	const char	*top = getenv("top_srcdir");

	if (top == NULL || *top == '\0')
		top = FD_SRCDIR;
	return th_path(top, rel);
}

/* reload_rules - the shipped default.rules in force, as docs/CONFIG.md
 * has an administrator include them; the log offset before */
static size_t
reload_rules(const char *global)
{
	char	*rules = src_path("rules/default.rules"), *g;
	size_t	 mark;

	if (asprintf(&g, "include \"%s\"\n%s", rules, global) < 0)
		abort();
	mark = reload_with(g, "");
	free(g);
	free(rules);
	return mark;
}

/* sink_rcpt - the message at the sink was sent to rcpt */
static int
sink_rcpt(const char *msg, const char *rcpt)
{
	char	 want[512];

	snprintf(want, sizeof(want), "X-Rcpt-Args: <%s>", rcpt);
	return strstr(msg, want) != NULL;
}

/*
 * One message to postmaster@, which the shipped rules exempt, and to a
 * new recipient: Postfix answers each RCPT as filterd decided it, and
 * the message goes on to postmaster@ alone. The next message of the
 * connection is decided afresh: the greylisted recipient again, a DATA
 * with no recipient left, RSET, and a third message to abuse@.
 */
START_TEST(mixed_recipients)
{
	struct smtp	 s;
	char		*msg;

	reload_rules("");
	ck_assert_int_eq(th_clock_write(E.clock, T0 + 7200), 0);
	smtp_open(&s, E.tport, "ADDR=100.64.1.5 NAME=[UNAVAILABLE]",
	    "mail.example.org");
	smtp_cmd(&s, "MAIL FROM:<ivan@example.org>", "250 2.1.0 ");
	smtp_cmd(&s, "RCPT TO:<postmaster@example.net>", "250 2.1.5 ");
	smtp_cmd(&s, "RCPT TO:<judy@example.net>", GREY_TEXT(300));
	smtp_message(&s, "mixed-1");

	smtp_cmd(&s, "MAIL FROM:<ivan@example.org>", "250 2.1.0 ");
	smtp_cmd(&s, "RCPT TO:<judy@example.net>", GREY_TEXT(300));
	smtp_cmd(&s, "DATA", "554 5.5.1 ");
	smtp_cmd(&s, "RSET", "250 2.0.0 ");
	smtp_cmd(&s, "MAIL FROM:<ivan@example.org>", "250 2.1.0 ");
	smtp_cmd(&s, "RCPT TO:<abuse@example.net>", "250 2.1.5 ");
	smtp_message(&s, "mixed-2");
	smtp_close(&s);

	msg = sink_message("mixed-1");
	ck_assert_msg(sink_rcpt(msg, "postmaster@example.net") &&
	    !sink_rcpt(msg, "judy@example.net"), "recipients:\n%s", msg);
	ck_assert_int_eq(count_headers(msg, "X-Greylist"), 0);
	free(msg);
	msg = sink_message("mixed-2");
	ck_assert_msg(sink_rcpt(msg, "abuse@example.net") &&
	    !sink_rcpt(msg, "judy@example.net"), "recipients:\n%s", msg);
	free(msg);
}
END_TEST

/*
 * The retry after the delay, for the greylisted recipient and
 * postmaster@ together: one X-Greylist header. The next message of the
 * connection, to the same recipient, was not delayed: none.
 */
START_TEST(retry_two_messages)
{
	struct smtp	 s;
	char		*msg, *v;

	reload_rules("");
	ck_assert_int_eq(th_clock_write(E.clock, T0 + 7200 + 301), 0);
	/* another address of the same /24: the same greylist client,
	 * a fresh rate limit */
	smtp_open(&s, E.tport, "ADDR=100.64.1.6 NAME=[UNAVAILABLE]",
	    "mail.example.org");
	smtp_cmd(&s, "MAIL FROM:<ivan@example.org>", "250 2.1.0 ");
	smtp_cmd(&s, "RCPT TO:<judy@example.net>", "250 2.1.5 ");
	smtp_cmd(&s, "RCPT TO:<postmaster@example.net>", "250 2.1.5 ");
	smtp_message(&s, "retry-1");
	smtp_cmd(&s, "MAIL FROM:<ivan@example.org>", "250 2.1.0 ");
	smtp_cmd(&s, "RCPT TO:<judy@example.net>", "250 2.1.5 ");
	smtp_message(&s, "retry-2");
	smtp_close(&s);

	msg = sink_message("retry-1");
	ck_assert_msg(sink_rcpt(msg, "postmaster@example.net") &&
	    sink_rcpt(msg, "judy@example.net"), "recipients:\n%s", msg);
	ck_assert_int_eq(count_headers(msg, "X-Greylist"), 1);
	v = header(msg, "X-Greylist");
	ck_assert_msg(v != NULL && strncmp(v, "delayed 301 seconds ", 20) == 0,
	    "X-Greylist: %s", v);
	free(v);
	free(msg);
	msg = sink_message("retry-2");
	ck_assert_int_eq(count_headers(msg, "X-Greylist"), 0);
	free(msg);
}
END_TEST

/*
 * The same with PIPELINING, as MTAs send: MAIL, RCPT and DATA in one
 * write, with delay-reject as the shipped config has it (Postfix awaits
 * no reply at MAIL). Each reply comes in order and as filterd decided;
 * a group whose only recipient is greylisted ends in 554 at DATA, and
 * the group after RSET is decided afresh.
 */
START_TEST(pipelining)
{
	static const char *const g1[] = { "MAIL FROM:<mia@example.org>",
	    "RCPT TO:<postmaster@example.net>", "RCPT TO:<ned@example.net>",
	    "DATA", NULL };
	static const char *const g2[] = { "MAIL FROM:<mia@example.org>",
	    "RCPT TO:<ned@example.net>", "DATA", NULL };
	static const char *const g3[] = { "RSET", "MAIL FROM:<mia@example.org>",
	    "RCPT TO:<abuse@example.net>", "DATA", NULL };
	struct smtp	 s;
	char		*msg;

	reload_rules("delay-reject rcpt\n");
	ck_assert_int_eq(th_clock_write(E.clock, T0 + 9000), 0);
	smtp_open(&s, E.tport, "ADDR=100.64.2.5 NAME=[UNAVAILABLE]",
	    "mail.example.org");
	smtp_group(&s, g1);
	smtp_expect(&s, "250 2.1.0 ");
	smtp_expect(&s, "250 2.1.5 ");
	smtp_expect(&s, GREY_TEXT(300));
	smtp_expect(&s, "354 ");
	smtp_body(&s, "pipe-1");
	smtp_group(&s, g2);
	smtp_expect(&s, "250 2.1.0 ");
	smtp_expect(&s, GREY_TEXT(300));
	smtp_expect(&s, "554 5.5.1 ");
	smtp_group(&s, g3);
	smtp_expect(&s, "250 2.0.0 ");
	smtp_expect(&s, "250 2.1.0 ");
	smtp_expect(&s, "250 2.1.5 ");
	smtp_expect(&s, "354 ");
	smtp_body(&s, "pipe-2");
	smtp_close(&s);

	msg = sink_message("pipe-1");
	ck_assert_msg(sink_rcpt(msg, "postmaster@example.net") &&
	    !sink_rcpt(msg, "ned@example.net"), "recipients:\n%s", msg);
	free(msg);
	msg = sink_message("pipe-2");
	ck_assert_msg(sink_rcpt(msg, "abuse@example.net"), "recipients:\n%s",
	    msg);
	free(msg);
}
END_TEST

/*
 * A Subject folded over two lines reaches filterd with Postfix's line
 * break in it; a rule reads it unfolded and refuses the message at the
 * end of DATA with its own text.
 */
START_TEST(folded_header)
{
	struct smtp	 s;

	reload_rules("rule folded on header if header \"Subject\" ~ "
	    "/^free money now$/ reject 550 5.7.1 \"folded subject\"\n");
	smtp_open(&s, E.tport, "ADDR=100.64.3.5 NAME=[UNAVAILABLE]",
	    "mail.example.org");
	smtp_cmd(&s, "MAIL FROM:<olga@example.org>", "250 2.1.0 ");
	smtp_cmd(&s, "RCPT TO:<postmaster@example.net>", "250 2.1.5 ");
	smtp_cmd(&s, "DATA", "354 ");
	smtp_send(&s, "Subject: free money\r\n now\r\n\r\nfolded\r\n.\r\n");
	smtp_expect(&s, "550 5.7.1 folded subject");
	smtp_close(&s);
}
END_TEST

/*
 * SMTPUTF8: a sender and a recipient with UTF-8 in the local part and
 * the domain reach filterd as Postfix took them; the recipient is
 * greylisted like any other, and the decision line carries both
 * escaped, byte for byte.
 */
START_TEST(smtputf8_addresses)
{
	struct smtp	 s;

	reload_rules("");
	smtp_open(&s, E.tport, "ADDR=100.64.4.5 NAME=[UNAVAILABLE]",
	    "mail.example.org");
	smtp_cmd(&s, "MAIL FROM:<\xce\xb4\xce\xbf\xce\xba@\xcf\x80\xce\xb1"
	    "\xcf\x81.example> SMTPUTF8", "250 2.1.0 ");
	smtp_cmd(&s, "RCPT TO:<\xcf\x87\xcf\x81@\xcf\x80\xce\xb1\xcf\x81"
	    ".example.net>", GREY_TEXT(300));
	smtp_close(&s);
	ck_assert(th_log_has(E.filterd, "decider=greylist action=tempfail "
	    "reply=\"" GREY_TEXT(300) "\" from=<\\xce\\xb4\\xce\\xbf\\xce\\xba@"
	    "\\xcf\\x80\\xce\\xb1\\xcf\\x81.example> rcpt=<\\xcf\\x87\\xcf\\x81@"
	    "\\xcf\\x80\\xce\\xb1\\xcf\\x81.example.net>"));
}
END_TEST

/* silent_udp - a loopback UDP socket that takes queries and answers
 * none: a name server that never replies; its port in *port */
static int
silent_udp(int *port)
{
	struct sockaddr_in	 sin;
	socklen_t		 len = sizeof(sin);
	int			 fd;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	*port = ntohs(sin.sin_port);
	return fd;
}

/*
 * A client repeats EHLO with names whose name server never answers,
 * under delay-reject: Postfix awaits no reply at HELO, so its wait for
 * the reply to RCPT covers every lookup before it. Those of one
 * connection take dns-timeout in all, so filterd answers RCPT within
 * the snippet's milter_command_timeout, however many EHLOs there were,
 * and Postfix does not give up on filterd for the rest of the session.
 */
START_TEST(helo_dns_repeated)
{
	struct smtp	 s;
	char		 helo[256], cmd[300], *limit;
	int		 fd, port, i, n;

	fd = silent_udp(&port);
	snprintf(helo, sizeof(helo), "\tforward-confirm log\n"
	    "\tresolver 127.0.0.1:%d\n\tdns-timeout 1s\n", port);
	reload_helo("delay-reject rcpt\n", helo, "");
	/* one lookup more than the timeout holds */
	limit = postconf("milter_command_timeout", 0);
	n = atoi(limit) + 2;
	free(limit);

	smtp_open(&s, E.tport, "ADDR=100.64.3.5 NAME=[UNAVAILABLE]",
	    "mx0.slow.example");
	for (i = 1; i < n; i++) {
		snprintf(cmd, sizeof(cmd), "EHLO mx%d.slow.example", i);
		smtp_cmd(&s, cmd, "250 ");
	}
	smtp_cmd(&s, "MAIL FROM:<kim@example.org>", "250 2.1.0 ");
	smtp_cmd(&s, "RCPT TO:<lee@example.net>", GREY_TEXT(300));
	smtp_close(&s);
	close(fd);
	ck_assert_msg(!file_has(E.maillog, "warning: milter"), "Postfix gave "
	    "up on filterd");
	ck_assert(th_log_has(E.filterd, "this connection's lookups took "
	    "dns-timeout (1000 ms) already"));
}
END_TEST

/*
 * filterd stopped: Postfix's milter_default_action decides. tempfail
 * answers every client 451 4.7.1; accept lets mail through unfiltered
 * (a new triplet is not greylisted). Runs last: it stops filterd.
 */
START_TEST(filterd_down)
{
	const char	*xc = "ADDR=203.0.113.50 NAME=late.example.org";
	char		 refused[128];
	char		*out, *msg, *v, *log;

	/* up to here, Postfix had nothing to say about the milter */
	log = th_read_file(E.maillog, NULL);
	ck_assert_ptr_nonnull(log);
	ck_assert_msg(strstr(log, "warning: milter") == NULL &&
	    strstr(log, "Milter service") == NULL, "Postfix complained about "
	    "filterd:\n%s", log);
	free(log);

	ck_assert_int_eq(kill(th_proc_pid(E.filterd), SIGTERM), 0);
	ck_assert_msg(wait_port(E.fport, 0, WAIT_MS) == 0,
	    "filterd still listening after SIGTERM");

	out = smtp("swaks-down-tempfail", E.tport, xc, "late.example.org",
	    "gina@example.org", "hank@example.net", "down-tempfail");
	expect_after(out, " -> MAIL FROM:",
	    "<** 451 4.7.1 Service unavailable - try again later");
	expect_none(out, "queued as");
	free(out);

	out = smtp("swaks-down-accept", E.aport, xc, "late.example.org",
	    "gina@example.org", "hank@example.net", "down-accept");
	expect_after(out, " -> RCPT TO:", "<-  250 2.1.5 Ok");
	expect_after(out, " -> .", "<-  250 2.0.0 Ok: queued as ");
	free(out);
	msg = sink_message("down-accept");
	v = header(msg, "X-Greylist");
	ck_assert_msg(v == NULL, "X-Greylist with filterd down: %s", v);
	free(msg);

	snprintf(refused, sizeof(refused), "connect to Milter service "
	    "inet:127.0.0.1:%d: Connection refused", E.fport);
	maillog_wait(refused);
}
END_TEST

static Suite *
e2e_suite(void)
{
	Suite	*s = suite_create("postfix");
	TCase	*tc = tcase_create("e2e");

	tcase_add_unchecked_fixture(tc, e2e_setup, e2e_teardown);
	tcase_set_timeout(tc, 240);
	tcase_add_test(tc, greylist_then_pass);
	tcase_add_test(tc, helo_bare_ip);
	tcase_add_test(tc, ratelimit_over);
	tcase_add_test(tc, delay_reject);
	tcase_add_test(tc, decide_at_eom);
	tcase_add_test(tc, snippet_keeps_macros);
	tcase_add_test(tc, negotiated_macros);
	tcase_add_test(tc, mixed_recipients);
	tcase_add_test(tc, retry_two_messages);
	tcase_add_test(tc, pipelining);
	tcase_add_test(tc, folded_header);
	tcase_add_test(tc, smtputf8_addresses);
	tcase_add_test(tc, helo_dns_repeated);
	tcase_add_test(tc, filterd_down);	/* last: stops filterd */
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
	const char	*skip = getenv("FD_ALLOW_SKIP");
	SRunner		*sr;
	size_t		 i;
	int		 failed;

	if (geteuid() != 0) {
		fprintf(stderr, "check_postfix: runs a Postfix instance and "
		    "must run as root%s\n", skip && strcmp(skip, "1") == 0 ?
		    "; skipped (FD_ALLOW_SKIP=1)" : "");
		return skip && strcmp(skip, "1") == 0 ? 77 : 99;
	}
	prog_postfix = find_prog("POSTFIX", "postfix");
	prog_postconf = find_prog("POSTCONF", "postconf");
	prog_sink = find_prog("SMTP_SINK", "smtp-sink");
	prog_swaks = find_prog("SWAKS", "swaks");
	th_require("FILTERD", NULL);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		signal(sigs[i], on_signal);
	sr = srunner_create(e2e_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
