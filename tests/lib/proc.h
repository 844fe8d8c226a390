/*
 * proc.h -- integration harness for Check tests: scratch directories, free
 * ports, programs started and stopped, their logs, the movable clock
 *
 * A test that drives a real daemon does, in this order:
 *
 *	dir = th_tmpdir_new();
 *	port = th_free_port();
 *	th_write_file(conf, "socket \"inet:%d@127.0.0.1\"\n...", port);
 *	th_clock_write(clock, 1700000000);
 *	p = th_filterd_start(dir, conf, clock, spec, err, sizeof(err));
 *	... mclient conversation, th_log_has(p, "...") ...
 *	th_clock_write(clock, 1700000000 + 360);	(moves filterd's time)
 *	mark = th_log_size(p); th_proc_signal(p, SIGUSR1);
 *	th_log_wait(p, mark, "reload", 5000);
 *	p = th_proc_free(p);			(SIGTERM, then SIGKILL)
 *	dir = th_tmpdir_free(dir);		(rm -r; kept if FD_KEEP_TMP=1;
 *						 also done at exit if the
 *						 test fails first)
 *
 * Programs come from the environment make check sets (FILTERD,
 * REDIS_SERVER, ...). A missing program is a hard failure: th_require()
 * (call it from main(), before the suite runs) exits 99, or 77 (skip) when
 * FD_ALLOW_SKIP=1, which make check does not pass on under CI=true;
 * inside a test, th_program() returns NULL and the test calls
 * ck_abort_msg.
 *
 * Started programs get stdin from /dev/null and stdout and stderr appended
 * to DIR/NAME.log; on Linux they also get SIGTERM if the test process dies
 * first, so a crashed test leaves no daemon behind. Errors are returned
 * (NULL or -1 with a message in err), never printed; the waits poll with
 * a bound and are never used to measure time.
 */
#ifndef FD_TEST_PROC_H
#define FD_TEST_PROC_H

#include <sys/types.h>
#include <stddef.h>
#include <stdint.h>

struct th_proc;

/* th_tmpdir_new - a fresh private directory under $TMPDIR or /tmp */
char	*th_tmpdir_new(void);
/* th_tmpdir_free - remove dir and all below it, free it; returns NULL */
char	*th_tmpdir_free(char *dir);
/* th_path - "dir/name", owned by the caller */
char	*th_path(const char *dir, const char *name);
/* th_write_file - create or replace path with formatted text; 0 or -1 */
int	 th_write_file(const char *path, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* th_read_file - the whole file, NUL-terminated, owned; NULL on error */
char	*th_read_file(const char *path, size_t *len);
/* th_free_port - a TCP port that is free on 127.0.0.1 right now, or -1 */
int	 th_free_port(void);
/* th_clock_write - the time file read by `filterd -T FILE`: the unix time
 * in decimal, replaced atomically (write + rename); 0 or -1 */
int	 th_clock_write(const char *path, int64_t t);

/* th_program - $envvar, else fallback; NULL unless it is executable */
const char *th_program(const char *envvar, const char *fallback);
/* th_require - like th_program, but exits 99 (77 if FD_ALLOW_SKIP=1)
 * with a message when the program is missing */
const char *th_require(const char *envvar, const char *fallback);

/* th_proc_start - run argv[0] with argv, output to dir/name.log */
struct th_proc *th_proc_start(const char *dir, const char *name,
		    char *const argv[], char *err, size_t errlen);
/* th_proc_wait_ready - until spec (mclient socket syntax) accepts a
 * connection; fails at once if the program exits; 0 or -1 */
int	 th_proc_wait_ready(struct th_proc *, const char *spec, int timeout_ms,
	    char *err, size_t errlen);
/* th_proc_signal - send sig (e.g. SIGUSR1 for a reload); 0 or -1 */
int	 th_proc_signal(struct th_proc *, int sig);
/* th_proc_running - 1 while the program runs, 0 once it exited */
int	 th_proc_running(struct th_proc *);
/* th_proc_wait_exit - reap within timeout_ms; the wait status or -1 */
int	 th_proc_wait_exit(struct th_proc *, int timeout_ms);
/* th_proc_stop - SIGTERM, up to timeout_ms, then SIGKILL; wait status */
int	 th_proc_stop(struct th_proc *, int timeout_ms);
/* th_proc_free - stop if running, release; returns NULL */
struct th_proc *th_proc_free(struct th_proc *);
pid_t	 th_proc_pid(const struct th_proc *);
const char *th_proc_log(const struct th_proc *);

/* Logs: the program's output so far. A mark is a byte offset. */
char	*th_log_read(const struct th_proc *);
size_t	 th_log_size(const struct th_proc *);
/* th_log_has - 1 if the log contains needle (anywhere in a line) */
int	 th_log_has(const struct th_proc *, const char *needle);
/* th_log_count - how many times needle occurs */
size_t	 th_log_count(const struct th_proc *, const char *needle);
/* th_log_has_since - 1 if needle occurs after mark */
int	 th_log_has_since(const struct th_proc *, size_t mark, const char *needle);
/* th_log_wait - poll until needle occurs after mark; 0, or -1 at timeout */
int	 th_log_wait(const struct th_proc *, size_t mark, const char *needle,
	    int timeout_ms);
/* th_log_tail - the last n lines (for failure messages), owned */
char	*th_log_tail(const struct th_proc *, int n);

/*
 * th_filterd_start - $FILTERD -f -c conf [-T clock], ready once spec
 * accepts a connection (10 s at most). NULL with a message (and the log's
 * tail) in err if it is missing, exits or never listens.
 */
struct th_proc *th_filterd_start(const char *dir, const char *conf,
		    const char *clock, const char *spec, char *err, size_t errlen);
/* th_plugin_dir - $FD_PLUGIN_DIR, else the build tree's plugins */
const char	*th_plugin_dir(void);

#endif
