/*
 * log.c -- logging and escaping, see log.h
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <sys/uio.h>

#include "log.h"

/*
 * The log target is process-wide on purpose: syslog(3) is, and a line
 * logged from any milter thread must end up in the same place. Tests
 * reach it through fd_log_capture(). The level is the one field that
 * changes while sessions run (a reload sets it), so it is read and
 * written atomically.
 */
static struct {
	enum fd_log_target	 target;
	int			 level;
	void			(*capture)(int, const char *, void *);
	void			*capture_arg;
} logcf = { FD_LOGT_STDERR, FD_LOG_INFO, NULL, NULL };

void
fd_log_open(enum fd_log_target target, int facility, int level)
{
	logcf.target = target;
	fd_log_set_level(level);
	if (target == FD_LOGT_SYSLOG)
		openlog("filterd", LOG_PID | LOG_NDELAY, facility);
}

void
fd_log_set_level(int level)
{
	__atomic_store_n(&logcf.level, level, __ATOMIC_RELAXED);
}

int
fd_log_level(void)
{
	return __atomic_load_n(&logcf.level, __ATOMIC_RELAXED);
}

void
fd_log_capture(void (*fn)(int, const char *, void *), void *arg)
{
	logcf.capture = fn;
	logcf.capture_arg = arg;
}

/*
 * A stderr line's "filterd[PID]: ", written once and again in a forked
 * child: getpid() is a system call, once per logged decision otherwise.
 * By hand, because the child of a threaded process should call nothing
 * that may take a lock before it execs or exits.
 */
static char		 log_pfx[32];
static size_t		 log_pfx_len;
static pthread_once_t	 log_pid_once = PTHREAD_ONCE_INIT;

static void
log_pid_read(void)
{
	char	 d[24];
	size_t	 i = sizeof(d), n;
	long	 pid = (long)getpid();

	do
		d[--i] = (char)('0' + pid % 10);
	while ((pid /= 10) > 0 && i > 0);
	n = sizeof(d) - i;
	memcpy(log_pfx, "filterd[", 8);
	memcpy(log_pfx + 8, d + i, n);
	memcpy(log_pfx + 8 + n, "]: ", 3);
	log_pfx_len = 8 + n + 3;
}

static void
log_pid_init(void)
{
	log_pid_read();
	(void)pthread_atfork(NULL, NULL, log_pid_read);
}

/* write_line - the n pieces of a line to stderr, in one writev unless
 * it is interrupted or the descriptor takes less; a descriptor that takes
 * nothing loses the rest rather than hold the thread */
static void
write_line(struct iovec *iov, int n)
{
	ssize_t	 w;

	while (n > 0) {
		if ((w = writev(STDERR_FILENO, iov, n)) <= 0) {
			if (w < 0 && errno == EINTR)
				continue;
			return;
		}
		for (; n > 0 && (size_t)w >= iov->iov_len; iov++, n--)
			w -= (ssize_t)iov->iov_len;
		if (n > 0) {
			iov->iov_base = (char *)iov->iov_base + w;
			iov->iov_len -= (size_t)w;
		}
	}
}

/*
 * emit - one finished line to the target. On stderr a line is one
 * writev of its pieces, so lines from several threads don't interleave
 * and nothing is copied: fprintf formatted each line again, 4,000
 * instructions for a greylisted message's decision line, in an 8 KiB
 * buffer on the thread's stack (docs/PERFORMANCE.md, Round 8).
 */
static void
emit(int level, const char *line)
{
	static const char *names[] = { "emerg", "alert", "crit", "error",
	    "warning", "notice", "info", "debug" };
	struct iovec	 iov[5];
	int		 saved = errno;

	if (logcf.capture != NULL) {
		logcf.capture(level, line, logcf.capture_arg);
		return;
	}
	if (logcf.target == FD_LOGT_SYSLOG) {
		syslog(level, "%s", line);
		return;
	}
	(void)pthread_once(&log_pid_once, log_pid_init);
	iov[0].iov_base = log_pfx;
	iov[0].iov_len = log_pfx_len;
	iov[1].iov_base = (char *)names[level & 7];
	iov[1].iov_len = strlen(names[level & 7]);
	iov[2].iov_base = (char *)": ";
	iov[2].iov_len = 2;
	iov[3].iov_base = (char *)line;
	iov[3].iov_len = strlen(line);
	iov[4].iov_base = (char *)"\n";
	iov[4].iov_len = 1;
	write_line(iov, 5);
	errno = saved;
}

void
fd_log_str(int level, const char *line)
{
	if (level <= fd_log_level())
		emit(level, line);
}

void
fd_logv(int level, const char *fmt, va_list ap)
{
	char	 line[2048];

	if (level > fd_log_level())
		return;
	vsnprintf(line, sizeof(line), fmt, ap);
	emit(level, line);
}

void
fd_log(int level, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	fd_logv(level, fmt, ap);
	va_end(ap);
}

/* log_errno - the line, then ": " and the text of errno as it was */
static void
log_errno(int level, const char *fmt, va_list ap)
{
	char	 line[2048];
	int	 saved = errno;

	if (level > fd_log_level())
		return;
	vsnprintf(line, sizeof(line), fmt, ap);
	fd_log(level, "%s: %s", line, strerror(saved));
}

#define FD_LOG_ERRNO_FN(fn, lvl) \
void \
fn(const char *fmt, ...) \
{ \
	va_list	 ap; \
\
	va_start(ap, fmt); \
	log_errno(lvl, fmt, ap); \
	va_end(ap); \
}
FD_LOG_ERRNO_FN(fd_log_warn, FD_LOG_WARN)
FD_LOG_ERRNO_FN(fd_log_err, FD_LOG_ERR)

#define FD_LOG_FN(fn, lvl) \
void \
fn(const char *fmt, ...) \
{ \
	va_list	 ap; \
\
	va_start(ap, fmt); \
	fd_logv(lvl, fmt, ap); \
	va_end(ap); \
}
FD_LOG_FN(fd_log_warnx, FD_LOG_WARN)
FD_LOG_FN(fd_log_errx, FD_LOG_ERR)
FD_LOG_FN(fd_log_info, FD_LOG_INFO)
FD_LOG_FN(fd_log_debug, FD_LOG_DEBUG)

void
fd_fatal(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	fd_logv(FD_LOG_ERR, fmt, ap);
	va_end(ap);
	exit(1);
}

/*
 * plain - byte c stands for itself in a log line; in an address (addr),
 * neither a space nor '>' does: a field written <...> and unquoted
 * must end at its own '>' and hold no space, or a quoted local part
 * such as "a> rcpt=<x@y" could pass for another field
 */
static int
plain(unsigned char c, int addr)
{
	if (c < 0x20 || c >= 0x7f || c == '\\' || c == '"')
		return 0;
	return !addr || (c != ' ' && c != '>');
}

/* escape_cut - end dst, full at o, with "..." (room for it was kept) */
static char *
escape_cut(char *dst, size_t dstlen, size_t o)
{
	if (dstlen >= 4)
		memcpy(dst + (o < dstlen - 4 ? o : dstlen - 4), "...", 4);
	else
		dst[0] = '\0';
	return dst;
}

/* escape - fd_escape, with addr: for fd_escape_addr */
static char *
escape(char *dst, size_t dstlen, const void *src, size_t len, int addr)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = src;
	size_t	 o = 0, i, r, fit;
	char	 tmp[4];
	size_t	 n;

	if (dstlen == 0)
		return dst;
	for (i = 0; i < len; i++) {
		unsigned char c = s[i];

		/* most bytes stand for themselves (the decision line of
		 * every message goes through here): a run of them is copied
		 * at once; room is kept for "..." and the NUL */
		for (r = i; r < len && plain(s[r], addr); r++)
			;
		if (r > i) {
			fit = dstlen >= o + 4 ? dstlen - 4 - o : 0;
			if (r - i > fit) {
				memcpy(dst + o, s + i, fit);
				return escape_cut(dst, dstlen, o + fit);
			}
			memcpy(dst + o, s + i, r - i);
			o += r - i;
			if ((i = r) == len)
				break;
			c = s[i];
		}
		n = 0;
		if (c == '\\' || c == '"') {
			tmp[n++] = '\\';
			tmp[n++] = (char)c;
		} else if (c == '\n' || c == '\r' || c == '\t') {
			tmp[n++] = '\\';
			tmp[n++] = c == '\n' ? 'n' : c == '\r' ? 'r' : 't';
		} else {
			tmp[n++] = '\\';
			tmp[n++] = 'x';
			tmp[n++] = hex[c >> 4];
			tmp[n++] = hex[c & 15];
		}
		if (o + n + 4 > dstlen)
			return escape_cut(dst, dstlen, o);
		memcpy(dst + o, tmp, n);
		o += n;
	}
	dst[o] = '\0';
	return dst;
}

char *
fd_escape(char *dst, size_t dstlen, const void *src, size_t len)
{
	return escape(dst, dstlen, src, len, 0);
}

char *
fd_escape_str(char *dst, size_t dstlen, const char *src)
{
	if (src == NULL)
		return fd_escape(dst, dstlen, "-", 1);
	return fd_escape(dst, dstlen, src, strlen(src));
}

char *
fd_escape_addr(char *dst, size_t dstlen, const char *addr)
{
	size_t	 n;

	if (dstlen < 4 || addr == NULL)
		return fd_escape_str(dst, dstlen, NULL);
	dst[0] = '<';
	escape(dst + 1, dstlen - 2, addr, strlen(addr), 1);
	n = strlen(dst);
	dst[n] = '>';
	dst[n + 1] = '\0';
	return dst;
}

char *
fd_escape_ctl(char *dst, size_t dstlen, const char *src)
{
	static const char	 hex[] = "0123456789abcdef";
	unsigned char		 c;
	size_t			 o = 0;

	if (dstlen == 0)
		return dst;
	for (; (c = (unsigned char)*src) != '\0' && o + 5 < dstlen; src++) {
		if (c >= 0x20 && c != 0x7f) {
			dst[o++] = (char)c;
			continue;
		}
		dst[o++] = '\\';
		if (c == '\n' || c == '\r' || c == '\t')
			dst[o++] = c == '\n' ? 'n' : c == '\r' ? 'r' : 't';
		else {
			dst[o++] = 'x';
			dst[o++] = hex[c >> 4];
			dst[o++] = hex[c & 15];
		}
	}
	dst[o] = '\0';
	return dst;
}

int
fd_log_ratelimited(int64_t *last, int64_t now, int64_t interval)
{
	int64_t	 prev = __atomic_load_n(last, __ATOMIC_RELAXED);

	if (prev != 0 && now - prev < interval)
		return 0;
	/* only the thread that moves the stamp logs */
	return __atomic_compare_exchange_n(last, &prev, now, 0,
	    __ATOMIC_RELAXED, __ATOMIC_RELAXED);
}
