/*
 * smtp_code.h -- the syntax of SMTP reply codes and enhanced status codes
 *
 * Checked where a code enters filterd: a rule's reply when the
 * configuration is read, a plugin's when the stage is decided. A code the
 * MTA would take for something else (a "5ab", a "4510" cut to "451") must
 * never reach it.
 */
#ifndef FD_SMTP_CODE_H
#define FD_SMTP_CODE_H

/* fd_reply_code_ok - RFC 5321 4.2: "550", first digit cls, second 0-5 */
int	 fd_reply_code_ok(const char *code, char cls);
/* fd_status_code_ok - RFC 3463 2: class.subject.detail, each part of one
 * to three digits without a leading zero; class cls, or 2, 4 or 5 if cls
 * is 0 */
int	 fd_status_code_ok(const char *code, char cls);

#endif
