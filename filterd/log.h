/*
 * log.h -- logging to syslog or stderr, and escaping untrusted text
 *
 * Logging is the one process-wide facility: syslog itself is, and every
 * thread must reach it. fd_log_open() sets target and level; tests may
 * redirect output to a capture function with fd_log_capture().
 *
 * Untrusted bytes (HELO, addresses, macros, header values) never reach a
 * log line raw: fd_escape() renders them printable, C-style (\n, \x00,
 * \\, \"), truncated with "..." to fit.
 *
 * fd_log_warn appends strerror(errno); fd_log_warnx does not; fd_log_err
 * and fd_log_errx are the same at error level, for what stops filterd
 * from starting, which `log-level error` must still show. fd_fatal is
 * for startup only; at run time a failure becomes a verdict.
 */
#ifndef FD_LOG_H
#define FD_LOG_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "filterd/plugin.h"
#include "conf.h"

void	 fd_log_open(enum fd_log_target, int facility, int level);
void	 fd_log_set_level(int level);
int	 fd_log_level(void);
/* fd_log_capture - send lines to fn instead (NULL: back to the target) */
void	 fd_log_capture(void (*fn)(int level, const char *line, void *arg),
	    void *arg);

void	 fd_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void	 fd_logv(int level, const char *fmt, va_list)
	    __attribute__((format(printf, 2, 0)));
/* fd_log_str - a line made by the caller, as it is */
void	 fd_log_str(int level, const char *line);
void	 fd_log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	 fd_log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	 fd_log_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	 fd_log_errx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	 fd_log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	 fd_log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
__attribute__((noreturn))
void	 fd_fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* fd_escape - printable copy of len bytes of src into dst; returns dst */
char	*fd_escape(char *dst, size_t dstlen, const void *src, size_t len);
/* fd_escape_str - the same for a C string (NULL renders as "-") */
char	*fd_escape_str(char *dst, size_t dstlen, const char *src);
/* fd_escape_addr - an envelope address for a log line: "<" addr escaped
 * ">" (the null sender is "<>"), or "-" when none is known yet; a space
 * or '>' in addr is written \x20 or \x3e, so that the field ends at
 * its own '>' and holds no blank */
char	*fd_escape_addr(char *dst, size_t dstlen, const char *addr);
/* fd_escape_ctl - src with only its control bytes escaped (\n, \x1b),
 * for text that is ours but may carry others' bytes: a plugin's log
 * line, an error quoting a file. Output of fd_escape() passes unchanged.
 * Cut short, not marked, when dst is full; returns dst. */
char	*fd_escape_ctl(char *dst, size_t dstlen, const char *src);

/* fd_ratelimited - 1 if a message keyed by *last (unix seconds) may be
 * logged now, at most once per interval; updates *last atomically */
int	 fd_log_ratelimited(int64_t *last, int64_t now, int64_t interval);

#endif
