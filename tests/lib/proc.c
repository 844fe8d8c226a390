/*
 * proc.c -- integration harness: scratch dirs, ports, child programs, logs
 *
 * See proc.h for the shape of a test. Everything a test starts lives in
 * one struct th_proc, so tests can run several daemons side by side. The
 * one piece of process-wide state is the list of scratch directories not
 * yet freed: a failed Check assertion ends the test process with exit(),
 * skipping the test's own cleanup, and an atexit handler then removes
 * them (or names them, with FD_KEEP_TMP=1). Waiting is always polling with a bound (10 ms
 * steps): for a socket to accept, a process to exit, a log line to appear.
 * None of it measures time, so slow machines only make tests slower.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include "mclient.h"
#include "proc.h"

#define TH_STEP_MS	10
#define TH_MAXDIRS	32

struct th_proc {
	pid_t		 pid;		/* -1 once reaped */
	int		 status;	/* wait status once reaped */
	char		*name;
	char		*log;		/* path of the log file */
	char		*spec;		/* the socket it listens on, once known */
};

/* scratch directories not yet removed, for th_atexit */
static char *th_dirs[TH_MAXDIRS];
/* the process that made each one: a forked Check test inherits the list,
 * and must not remove a directory its parent still uses */
static pid_t th_owner[TH_MAXDIRS];

/* th_keep - FD_KEEP_TMP=1: leave scratch directories for a look */
static int
th_keep(void)
{
	const char *keep = getenv("FD_KEEP_TMP");

	return keep != NULL && strcmp(keep, "1") == 0;
}

/* th_rm - nftw callback: remove one entry, children first */
static int
th_rm(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)remove(path);
	return 0;
}

/* th_atexit - the test ended early: clean up what it left */
static void
th_atexit(void)
{
	int	 i;

	for (i = 0; i < TH_MAXDIRS; i++) {
		if (th_dirs[i] == NULL || th_owner[i] != getpid())
			continue;
		if (th_keep())
			fprintf(stderr, "proc: keeping %s\n", th_dirs[i]);
		else
			(void)nftw(th_dirs[i], th_rm, 16, FTW_DEPTH | FTW_PHYS);
		th_dirs[i] = NULL;
	}
}

/* th_oom - test tooling: out of memory ends the test */
static void
th_oom(void)
{
	fputs("proc: out of memory\n", stderr);
	abort();
}

/* th_strdup - copy or abort */
static char *
th_strdup(const char *s)
{
	char	*p;

	if ((p = strdup(s)) == NULL)
		th_oom();
	return p;
}

/* th_nap - sleep one polling step */
static void
th_nap(void)
{
	struct timespec ts = { 0, TH_STEP_MS * 1000000L };

	nanosleep(&ts, NULL);
}

/* th_now_ms - monotonic milliseconds */
static int64_t
th_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* th_tmpdir_new - a fresh private directory, removed at exit at the
 * latest */
char *
th_tmpdir_new(void)
{
	static int registered;
	const char *base = getenv("TMPDIR");
	char	*dir;
	int	 i;

	if (base == NULL || *base == '\0')
		base = "/tmp";
	if (asprintf(&dir, "%s/fdtest.XXXXXX", base) < 0)
		th_oom();
	if (mkdtemp(dir) == NULL) {
		fprintf(stderr, "proc: mkdtemp %s: %s\n", dir, strerror(errno));
		abort();
	}
	if (!registered && atexit(th_atexit) == 0)
		registered = 1;
	for (i = 0; i < TH_MAXDIRS; i++)
		if (th_dirs[i] == NULL) {
			th_dirs[i] = dir;
			th_owner[i] = getpid();
			break;
		}
	return dir;
}

/* th_tmpdir_free - remove the tree unless FD_KEEP_TMP=1 asks to keep it */
char *
th_tmpdir_free(char *dir)
{
	int	 i;

	if (dir == NULL)
		return NULL;
	for (i = 0; i < TH_MAXDIRS; i++)
		if (th_dirs[i] == dir)
			th_dirs[i] = NULL;
	if (th_keep())
		fprintf(stderr, "proc: keeping %s\n", dir);
	else
		(void)nftw(dir, th_rm, 16, FTW_DEPTH | FTW_PHYS);
	free(dir);
	return NULL;
}

/* th_path - "dir/name" */
char *
th_path(const char *dir, const char *name)
{
	char	*p;

	if (asprintf(&p, "%s/%s", dir, name) < 0)
		th_oom();
	return p;
}

/* th_write_file - path gets the formatted text, replacing what was there */
int
th_write_file(const char *path, const char *fmt, ...)
{
	va_list	 ap;
	FILE	*fp;
	int	 rc;

	if ((fp = fopen(path, "w")) == NULL)
		return -1;
	va_start(ap, fmt);
	rc = vfprintf(fp, fmt, ap);
	va_end(ap);
	if (fclose(fp) != 0 || rc < 0)
		return -1;
	return 0;
}

/* th_read_file - the whole file */
char *
th_read_file(const char *path, size_t *lenp)
{
	FILE	*fp;
	char	*buf = NULL, *nb;
	size_t	 len = 0, cap = 0, n;

	if ((fp = fopen(path, "r")) == NULL)
		return NULL;
	for (;;) {
		if (cap - len < 4096) {
			cap = cap ? cap * 2 : 8192;
			if ((nb = realloc(buf, cap + 1)) == NULL)
				th_oom();
			buf = nb;
		}
		n = fread(buf + len, 1, cap - len, fp);
		len += n;
		if (n == 0)
			break;
	}
	fclose(fp);
	buf[len] = '\0';
	if (lenp != NULL)
		*lenp = len;
	return buf;
}

/* th_free_port - bind port 0 on loopback and see what we got */
int
th_free_port(void)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int	 fd, port = -1;

	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sin, &len) == 0)
		port = ntohs(sin.sin_port);
	close(fd);
	return port;
}

/* th_clock_write - write the time file atomically */
int
th_clock_write(const char *path, int64_t t)
{
	char	*tmp;
	int	 rc;

	if (asprintf(&tmp, "%s.tmp.%ld", path, (long)getpid()) < 0)
		th_oom();
	rc = th_write_file(tmp, "%lld\n", (long long)t);
	if (rc == 0 && rename(tmp, path) != 0)
		rc = -1;
	if (rc != 0)
		(void)unlink(tmp);
	free(tmp);
	return rc;
}

/* th_program - the program's path if it is there to run */
const char *
th_program(const char *envvar, const char *fallback)
{
	const char *p = envvar ? getenv(envvar) : NULL;

	if (p == NULL || *p == '\0')
		p = fallback;
	if (p == NULL || access(p, X_OK) != 0)
		return NULL;
	return p;
}

/* th_require - the program, or end the test run: 99, or 77 if allowed */
const char *
th_require(const char *envvar, const char *fallback)
{
	const char *p, *skip;

	if ((p = th_program(envvar, fallback)) != NULL)
		return p;
	skip = getenv("FD_ALLOW_SKIP");
	fprintf(stderr, "proc: required program %s (%s) not found%s\n",
	    envvar ? envvar : "", fallback ? fallback : "",
	    skip && strcmp(skip, "1") == 0 ? "; skipped (FD_ALLOW_SKIP=1)" :
	    "; set FD_ALLOW_SKIP=1 to skip");
	exit(skip && strcmp(skip, "1") == 0 ? 77 : 99);
}

/* th_child - in the child: set up fds and signals, exec */
static void __attribute__((noreturn))
th_child(int logfd, char *const argv[], pid_t parent)
{
	static const int sigs[] = { SIGPIPE, SIGTERM, SIGINT, SIGHUP,
	    SIGUSR1, SIGUSR2, SIGCHLD };
	sigset_t none;
	size_t	 i;
	int	 nullfd;

#ifdef __linux__
	(void)prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != parent)
		_exit(127);
#endif
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		signal(sigs[i], SIG_DFL);
	if ((nullfd = open("/dev/null", O_RDONLY)) >= 0) {
		dup2(nullfd, 0);
		if (nullfd > 0)
			close(nullfd);
	}
	dup2(logfd, 1);
	dup2(logfd, 2);
	if (logfd > 2)
		close(logfd);
	execv(argv[0], argv);
	dprintf(2, "proc: exec %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

/* th_proc_start - fork and exec, output appended to dir/name.log */
struct th_proc *
th_proc_start(const char *dir, const char *name, char *const argv[],
    char *err, size_t errlen)
{
	struct th_proc *p;
	char	*lname;
	pid_t	 parent = getpid();
	int	 logfd;

	if (argv == NULL || argv[0] == NULL || access(argv[0], X_OK) != 0) {
		snprintf(err, errlen, "%s: not executable",
		    argv && argv[0] ? argv[0] : "(null)");
		return NULL;
	}
	if (asprintf(&lname, "%s.log", name) < 0)
		th_oom();
	if ((p = calloc(1, sizeof(*p))) == NULL)
		th_oom();
	p->name = th_strdup(name);
	p->log = th_path(dir, lname);
	free(lname);
	logfd = open(p->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (logfd < 0) {
		snprintf(err, errlen, "%s: %s", p->log, strerror(errno));
		goto fail;
	}
	fflush(NULL);
	if ((p->pid = fork()) < 0) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		close(logfd);
		goto fail;
	}
	if (p->pid == 0)
		th_child(logfd, argv, parent);
	close(logfd);
	return p;
fail:
	p->pid = -1;
	return th_proc_free(p);
}

/* th_reap - collect the child if it exited; 1 if it has */
static int
th_reap(struct th_proc *p, int block)
{
	int	 st;
	pid_t	 r;

	if (p->pid < 0)
		return 1;
	do
		r = waitpid(p->pid, &st, block ? 0 : WNOHANG);
	while (r < 0 && errno == EINTR);
	if (r == p->pid || (r < 0 && errno == ECHILD)) {
		p->status = r == p->pid ? st : -1;
		p->pid = -1;
		return 1;
	}
	return 0;
}

/* th_status_text - "exit 78", "signal 11" */
static void
th_status_text(int st, char *buf, size_t len)
{
	if (st == -1)
		snprintf(buf, len, "gone");
	else if (WIFEXITED(st))
		snprintf(buf, len, "exit %d", WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		snprintf(buf, len, "signal %d", WTERMSIG(st));
	else
		snprintf(buf, len, "status 0x%x", st);
}

/* th_proc_wait_ready - until spec accepts a connection */
int
th_proc_wait_ready(struct th_proc *p, const char *spec, int timeout_ms,
    char *err, size_t errlen)
{
	struct mc_conn *mc;
	int64_t	 deadline = th_now_ms() + timeout_ms;
	char	 why[256], st[32], *tail;

	for (;;) {
		if (th_reap(p, 0)) {
			th_status_text(p->status, st, sizeof(st));
			tail = th_log_tail(p, 8);
			snprintf(err, errlen, "%s ended (%s) before listening on "
			    "%s; log:\n%s", p->name, st, spec, tail);
			free(tail);
			return -1;
		}
		if ((mc = mc_connect(spec, 1000, why, sizeof(why))) != NULL) {
			mc_free(mc);
			free(p->spec);
			p->spec = th_strdup(spec);
			return 0;
		}
		if (th_now_ms() >= deadline) {
			tail = th_log_tail(p, 8);
			snprintf(err, errlen, "%s not listening on %s after "
			    "%d ms (%s); log:\n%s", p->name, spec, timeout_ms,
			    why, tail);
			free(tail);
			return -1;
		}
		th_nap();
	}
}

/* th_proc_signal - send a signal to the program */
int
th_proc_signal(struct th_proc *p, int sig)
{
	if (p == NULL || p->pid < 0)
		return -1;
	return kill(p->pid, sig);
}

/* th_proc_running - 1 while the program runs */
int
th_proc_running(struct th_proc *p)
{
	return p != NULL && !th_reap(p, 0);
}

/* th_proc_wait_exit - reap within timeout_ms */
int
th_proc_wait_exit(struct th_proc *p, int timeout_ms)
{
	int64_t	 deadline = th_now_ms() + timeout_ms;

	while (!th_reap(p, 0)) {
		if (th_now_ms() >= deadline)
			return -1;
		th_nap();
	}
	return p->status;
}

/*
 * th_proc_stop - politely, then by force. libmilter's listener looks at
 * its stop flag only every 5 seconds unless a connection comes in, so for
 * a program that th_proc_wait_ready() saw listening, a connection is made
 * now and then to wake it up.
 */
int
th_proc_stop(struct th_proc *p, int timeout_ms)
{
	struct mc_conn *mc;
	int64_t	 deadline = th_now_ms() + timeout_ms;
	char	 why[128];
	int	 n = 0;

	if (p == NULL)
		return -1;
	if (p->pid < 0)
		return p->status;
	(void)kill(p->pid, SIGTERM);
	while (!th_reap(p, 0)) {
		if (th_now_ms() >= deadline) {
			(void)kill(p->pid, SIGKILL);
			th_reap(p, 1);
			break;
		}
		if (p->spec != NULL && n++ % 10 == 1 &&
		    (mc = mc_connect(p->spec, 100, why, sizeof(why))) != NULL)
			mc_free(mc);
		th_nap();
	}
	return p->status;
}

/* th_proc_free - stop if running, release */
struct th_proc *
th_proc_free(struct th_proc *p)
{
	char	*tail;

	if (p == NULL)
		return NULL;
	if (p->pid > 0)
		th_proc_stop(p, 5000);
	/*
	 * Under --enable-sanitizers a report from a program the test ran
	 * (a leak found at exit, a UBSan runtime error that does not stop
	 * the program) lands only in its log: make it the test's failure.
	 */
	if (th_log_has(p, "Sanitizer") || th_log_has(p, "runtime error:")) {
		tail = th_log_tail(p, 40);
		fprintf(stderr, "%s: sanitizer report in %s:\n%s\n", p->name,
		    p->log, tail);
		free(tail);
		abort();
	}
	free(p->name);
	free(p->log);
	free(p->spec);
	free(p);
	return NULL;
}

/* th_proc_pid - the program's pid, -1 once reaped */
pid_t
th_proc_pid(const struct th_proc *p)
{
	return p->pid;
}

/* th_proc_log - path of the program's log */
const char *
th_proc_log(const struct th_proc *p)
{
	return p->log;
}

/* th_log_read - the log so far, "" if there is none yet */
char *
th_log_read(const struct th_proc *p)
{
	char	*s;

	if ((s = th_read_file(p->log, NULL)) == NULL)
		s = th_strdup("");
	return s;
}

/* th_log_size - the current end of the log, as a mark */
size_t
th_log_size(const struct th_proc *p)
{
	struct stat st;

	return stat(p->log, &st) == 0 ? (size_t)st.st_size : 0;
}

/* th_log_has - needle anywhere in the log */
int
th_log_has(const struct th_proc *p, const char *needle)
{
	return th_log_has_since(p, 0, needle);
}

/* th_log_count - occurrences of needle */
size_t
th_log_count(const struct th_proc *p, const char *needle)
{
	char	*s = th_log_read(p), *q;
	size_t	 n = 0, len = strlen(needle);

	if (len > 0)
		for (q = s; (q = strstr(q, needle)) != NULL; q += len)
			n++;
	free(s);
	return n;
}

/* th_log_has_since - needle after byte offset mark */
int
th_log_has_since(const struct th_proc *p, size_t mark, const char *needle)
{
	size_t	 len;
	char	*s;
	int	 found;

	if ((s = th_read_file(p->log, &len)) == NULL)
		return 0;
	found = mark <= len && strstr(s + mark, needle) != NULL;
	free(s);
	return found;
}

/* th_log_wait - poll for needle after mark */
int
th_log_wait(const struct th_proc *p, size_t mark, const char *needle,
    int timeout_ms)
{
	int64_t	 deadline = th_now_ms() + timeout_ms;

	while (!th_log_has_since(p, mark, needle)) {
		if (th_now_ms() >= deadline)
			return -1;
		th_nap();
	}
	return 0;
}

/* th_log_tail - the last n lines */
char *
th_log_tail(const struct th_proc *p, int n)
{
	char	*s = th_log_read(p), *q, *t;
	size_t	 len = strlen(s);

	q = s + len;
	if (q > s && q[-1] == '\n')
		q--;
	while (q > s && n > 0) {
		q--;
		if (*q == '\n')
			n--;
	}
	if (*q == '\n')
		q++;
	t = th_strdup(q);
	free(s);
	return t;
}

/* th_filterd_start - run filterd in the foreground on a config */
struct th_proc *
th_filterd_start(const char *dir, const char *conf, const char *clock,
    const char *spec, char *err, size_t errlen)
{
	const char *top = getenv("top_builddir");
	char	*fallback = NULL, *argv[7];
	const char *prog;
	struct th_proc *p;
	int	 i = 0;

	if (top != NULL && *top != '\0')
		fallback = th_path(top, "filterd/filterd");
	prog = th_program("FILTERD", fallback ? fallback : "filterd/filterd");
	if (prog == NULL) {
		snprintf(err, errlen, "filterd not found (FILTERD=%s)",
		    getenv("FILTERD") ? getenv("FILTERD") : "");
		free(fallback);
		return NULL;
	}
	argv[i++] = (char *)prog;
	argv[i++] = "-f";
	argv[i++] = "-c";
	argv[i++] = (char *)conf;
	if (clock != NULL) {
		argv[i++] = "-T";
		argv[i++] = (char *)clock;
	}
	argv[i] = NULL;
	p = th_proc_start(dir, "filterd", argv, err, errlen);
	free(fallback);
	if (p != NULL && th_proc_wait_ready(p, spec, 10000, err, errlen) < 0)
		p = th_proc_free(p);
	/*
	 * The socket accepts (into its backlog) as soon as it is bound, well
	 * before the store is open and privileges are dropped; the notice
	 * filterd logs just before serving is the moment it is all done.
	 */
	if (p != NULL && th_log_wait(p, 0, "started on", 10000) < 0) {
		snprintf(err, errlen, "filterd listened on %s but never "
		    "logged \"started on\"", spec);
		p = th_proc_free(p);
	}
	return p;
}

const char *
th_plugin_dir(void)
{
	const char	*d = getenv("FD_PLUGIN_DIR");

	return d != NULL && *d != '\0' ? d : FD_BUILDDIR "/plugins/.libs";
}
