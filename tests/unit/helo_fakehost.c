/*
 * helo_fakehost.c -- the helo tests' stand-in for filterd's host table
 *
 * Regexes are real PCRE2 (what the host uses); escaping follows the
 * host's rule (C-style, \xNN, truncated with "..."); the config parser
 * is a few lines that split `name arg ...;` and remember line and column.
 */
#define PCRE2_CODE_UNIT_WIDTH 8

#include <arpa/inet.h>
#include <ctype.h>
#include <pcre2.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helo_fakehost.h"

#define FAKE(h)	((struct fake *)(void *)(uintptr_t)(h))

/* fk_logv - "level: " and the line, then lead (if any) before the text */
static void __attribute__((format(printf, 4, 0)))
fk_logv(struct fake *f, enum fd_level lvl, const char *lead, const char *fmt,
    va_list ap)
{
	size_t	 off = strlen(f->logs);

	if (off + 16 >= sizeof(f->logs))
		return;
	off += (size_t)snprintf(f->logs + off, sizeof(f->logs) - off, "%d: %s",
	    (int)lvl, lead);
	if (off < sizeof(f->logs))
		vsnprintf(f->logs + off, sizeof(f->logs) - off, fmt, ap);
	off = strlen(f->logs);
	if (off + 1 < sizeof(f->logs))
		strcat(f->logs, "\n");
	f->nlogs++;
}

static void __attribute__((format(printf, 3, 4)))
fk_log(const struct fd_host *h, enum fd_level lvl, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	fk_logv(FAKE(h), lvl, "", fmt, ap);
	va_end(ap);
}

/* fk_log_txn - led by the client's address where the host puts conn=,
 * qid= and client=, so a test sees which transaction a line is about */
static void __attribute__((format(printf, 4, 5)))
fk_log_txn(const struct fd_host *h, const struct fd_txn *t,
    enum fd_level lvl, const char *fmt, ...)
{
	char	 lead[80];
	va_list	 ap;

	snprintf(lead, sizeof(lead), "client=%s ", t != NULL &&
	    t->client_addr != NULL ? t->client_addr : "-");
	va_start(ap, fmt);
	fk_logv(FAKE(h), lvl, lead, fmt, ap);
	va_end(ap);
}

static int64_t
fk_now(const struct fd_host *h)
{
	return FAKE(h)->now;
}

static const struct fd_directive *
fk_dir_next(const struct fd_block *b, const struct fd_directive *prev)
{
	int	 i = prev == NULL ? 0 : (int)(prev - b->d) + 1;

	return i < b->n ? &b->d[i] : NULL;
}

static const char *
fk_dir_name(const struct fd_directive *d)
{
	return d->name;
}

static int
fk_dir_argc(const struct fd_directive *d)
{
	return d->argc;
}

static const char *
fk_dir_arg(const struct fd_directive *d, int i)
{
	return i >= 0 && i < d->argc ? d->argv[i] : NULL;
}

static void
fk_conf_error(const struct fd_host *h, const struct fd_directive *d, int argi,
    const char *fmt, ...)
{
	struct fake *f = FAKE(h);
	size_t	 off = strlen(f->errors);
	va_list	 ap;

	off += (size_t)snprintf(f->errors + off, sizeof(f->errors) - off,
	    "test.conf:%d:%d: ", d->line,
	    argi >= 0 && argi < d->argc ? d->argcol[argi] : d->col);
	va_start(ap, fmt);
	vsnprintf(f->errors + off, sizeof(f->errors) - off, fmt, ap);
	va_end(ap);
	if (strlen(f->errors) + 1 < sizeof(f->errors))
		strcat(f->errors, "\n");
	f->nerrors++;
}

/* fk_conf_unknown - the name and how many names the plugin offers for a
 * hint (check_core tests the hint itself, with the real host) */
static void
fk_conf_unknown(const struct fd_host *h, const struct fd_directive *d,
    const char *const *known)
{
	int	 n = 0;

	while (known[n] != NULL)
		n++;
	fk_conf_error(h, d, -1, "unknown directive \"%s\" (%d known)", d->name, n);
}

static int
fk_arg_duration(const struct fd_host *h, const struct fd_directive *d, int i,
    int64_t *secs)
{
	const char	*a = fk_dir_arg(d, i);
	char		*end;
	long long	 v;

	if (a == NULL || !isdigit((unsigned char)a[0]))
		goto bad;
	v = strtoll(a, &end, 10);
	switch (*end) {
	case '\0': case 's':	break;
	case 'm':		v *= 60; break;
	case 'h':		v *= 3600; break;
	case 'd':		v *= 86400; break;
	case 'w':		v *= 604800; break;
	default:		goto bad;
	}
	if (*end != '\0' && end[1] != '\0')
		goto bad;
	*secs = v;
	return 0;
bad:
	fk_conf_error(h, d, i, "bad duration \"%s\"", a != NULL ? a : "");
	return -1;
}

static int
fk_arg_uint(const struct fd_host *h, const struct fd_directive *d, int i,
    uint64_t *out)
{
	const char	*a = fk_dir_arg(d, i);
	char		*end;
	unsigned long long v;

	if (a == NULL || !isdigit((unsigned char)a[0]))
		goto bad;
	v = strtoull(a, &end, 10);
	switch (*end) {
	case '\0':		break;
	case 'k':		v <<= 10; break;
	case 'M':		v <<= 20; break;
	case 'G':		v <<= 30; break;
	default:		goto bad;
	}
	if (*end != '\0' && end[1] != '\0')
		goto bad;
	*out = v;
	return 0;
bad:
	fk_conf_error(h, d, i, "bad number \"%s\"", a != NULL ? a : "");
	return -1;
}

static int
fk_arg_bool(const struct fd_host *h, const struct fd_directive *d, int i,
    int *out)
{
	const char *a = fk_dir_arg(d, i);

	if (a != NULL && (!strcmp(a, "yes") || !strcmp(a, "on") ||
	    !strcmp(a, "true") || !strcmp(a, "1")))
		*out = 1;
	else if (a != NULL && (!strcmp(a, "no") || !strcmp(a, "off") ||
	    !strcmp(a, "false") || !strcmp(a, "0")))
		*out = 0;
	else {
		fk_conf_error(h, d, i, "bad boolean \"%s\"", a != NULL ? a : "");
		return -1;
	}
	return 0;
}

static const char *
fk_get(const struct fd_txn *t, enum fd_field fl)
{
	switch (fl) {
	case FD_F_CLIENT_ADDR:	return t->client_addr;
	case FD_F_HELO:		return t->helo;
	case FD_F_AUTH_USER:	return t->auth_user;
	case FD_F_MTA_NAME:	return t->mta_name;
	default:		return NULL;
	}
}

static int64_t
fk_num(const struct fd_txn *t, enum fd_num n)
{
	unsigned char buf[16];

	switch (n) {
	case FD_N_CLIENT_LOCAL:
		return t->local;
	case FD_N_FAMILY:
		if (inet_pton(AF_INET, t->client_addr, buf) == 1)
			return 4;
		return inet_pton(AF_INET6, t->client_addr, buf) == 1 ? 6 : 0;
	default:
		return 0;
	}
}

static const char *
fk_macro(const struct fd_txn *t, const char *name)
{
	if (strcmp(name, "{daemon_addr}") == 0)
		return t->daemon_addr;
	if (strcmp(name, "{if_addr}") == 0)
		return t->if_addr;
	if (strcmp(name, "j") == 0 || strcmp(name, "{j}") == 0)
		return t->mta_name;
	return NULL;
}

static size_t
fk_client_ip(const struct fd_txn *t, unsigned char out[16])
{
	if (t->client_addr == NULL)
		return 0;
	if (inet_pton(AF_INET, t->client_addr, out) == 1)
		return 4;
	if (inet_pton(AF_INET6, t->client_addr, out) == 1)
		return 16;
	return 0;
}

static void
fk_reply(struct fd_txn *t, const char *rcode, const char *xcode,
    const char *fmt, ...)
{
	va_list	 ap;

	snprintf(t->rcode, sizeof(t->rcode), "%s", rcode);
	snprintf(t->xcode, sizeof(t->xcode), "%s", xcode);
	va_start(ap, fmt);
	vsnprintf(t->text, sizeof(t->text), fmt, ap);
	va_end(ap);
	t->nreply++;
}

static void
fk_reason(struct fd_txn *t, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(t->reason, sizeof(t->reason), fmt, ap);
	va_end(ap);
	t->nreason++;
}

struct fd_regex {
	pcre2_code	*code;
};

static struct fd_regex *
fk_re_new(const struct fd_host *h, const char *pattern, const char *flags,
    char *err, size_t errlen)
{
	struct fd_regex	*re;
	uint32_t	 opts = 0;
	int		 ec;
	PCRE2_SIZE	 off;
	PCRE2_UCHAR	 msg[160];

	(void)h;
	if (flags != NULL && strchr(flags, 'i') != NULL)
		opts |= PCRE2_CASELESS;
	re = calloc(1, sizeof(*re));
	re->code = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED,
	    opts, &ec, &off, NULL);
	if (re->code == NULL) {
		pcre2_get_error_message(ec, msg, sizeof(msg));
		snprintf(err, errlen, "%s at offset %zu", (char *)msg, (size_t)off);
		free(re);
		return NULL;
	}
	return re;
}

static int
fk_re_match(const struct fd_regex *re, const char *s, size_t len)
{
	pcre2_match_data *md = pcre2_match_data_create_from_pattern(re->code, NULL);
	int	 rc = pcre2_match(re->code, (PCRE2_SPTR)s, len, 0, 0, md, NULL);

	pcre2_match_data_free(md);
	if (rc >= 0)
		return 1;
	return rc == PCRE2_ERROR_NOMATCH ? 0 : -1;
}

static void
fk_re_free(struct fd_regex *re)
{
	if (re != NULL)
		pcre2_code_free(re->code);
	free(re);
}

static char *
fk_escape(char *dst, size_t dstlen, const void *src, size_t len)
{
	const unsigned char *s = src;
	size_t	 o = 0, i;
	char	 tmp[8];

	if (dstlen == 0)
		return dst;
	for (i = 0; i < len; i++) {
		if (s[i] == '\\' || s[i] == '"')
			snprintf(tmp, sizeof(tmp), "\\%c", s[i]);
		else if (s[i] == '\n' || s[i] == '\r' || s[i] == '\t')
			snprintf(tmp, sizeof(tmp), "\\%c",
			    s[i] == '\n' ? 'n' : s[i] == '\r' ? 'r' : 't');
		else if (s[i] < 0x20 || s[i] >= 0x7f)
			snprintf(tmp, sizeof(tmp), "\\x%02x", s[i]);
		else
			snprintf(tmp, sizeof(tmp), "%c", s[i]);
		if (o + strlen(tmp) + 4 > dstlen) {
			memcpy(dst + (o < dstlen - 4 ? o : dstlen - 4), "...", 4);
			return dst;
		}
		memcpy(dst + o, tmp, strlen(tmp));
		o += strlen(tmp);
	}
	dst[o] = '\0';
	return dst;
}

static const char *
fk_conf_dir(const struct fd_host *h)
{
	return FAKE(h)->conf_dir;
}

void
fake_init(struct fake *f)
{
	memset(f, 0, sizeof(*f));
	f->host.abi_major = FD_PLUGIN_ABI_MAJOR;
	f->host.abi_minor = FD_PLUGIN_ABI_MINOR;
	f->host.size = sizeof(f->host);
	f->host.log = fk_log;
	f->host.now = fk_now;
	f->host.dir_next = fk_dir_next;
	f->host.dir_name = fk_dir_name;
	f->host.dir_argc = fk_dir_argc;
	f->host.dir_arg = fk_dir_arg;
	f->host.conf_error = fk_conf_error;
	f->host.arg_duration = fk_arg_duration;
	f->host.arg_uint = fk_arg_uint;
	f->host.arg_bool = fk_arg_bool;
	f->host.get = fk_get;
	f->host.num = fk_num;
	f->host.macro = fk_macro;
	f->host.client_ip = fk_client_ip;
	f->host.reply = fk_reply;
	f->host.reason = fk_reason;
	f->host.re_new = fk_re_new;
	f->host.re_match = fk_re_match;
	f->host.re_free = fk_re_free;
	f->host.escape = fk_escape;
	f->host.conf_dir = fk_conf_dir;
	f->host.log_txn = fk_log_txn;
	f->host.conf_unknown = fk_conf_unknown;
	f->now = 1700000000;
}

/* word - one token at *pp: "quoted" or up to a blank or ';' */
static char *
word(const char **pp)
{
	const char *p = *pp, *start;
	char	*w;

	if (*p == '"') {
		start = ++p;
		while (*p != '\0' && *p != '"' && *p != '\n')
			p++;
		w = strndup(start, (size_t)(p - start));
		if (*p == '"')
			p++;
	} else {
		start = p;
		while (*p != '\0' && !isspace((unsigned char)*p) && *p != ';')
			p++;
		w = strndup(start, (size_t)(p - start));
	}
	*pp = p;
	return w;
}

void
fake_block(struct fd_block *b, const char *text)
{
	const char *p = text, *bol = text;
	int	 line = 1;
	struct fd_directive *d = NULL;

	memset(b, 0, sizeof(*b));
	while (*p != '\0') {
		if (*p == '\n') {
			line++;
			bol = ++p;
			d = NULL;
			continue;
		}
		if (isspace((unsigned char)*p)) {
			p++;
			continue;
		}
		if (*p == ';') {
			d = NULL;
			p++;
			continue;
		}
		if (*p == '#') {
			while (*p != '\0' && *p != '\n')
				p++;
			continue;
		}
		if (d == NULL) {
			d = &b->d[b->n++];
			d->line = line;
			d->col = (int)(p - bol) + 1;
			d->name = word(&p);
		} else {
			d->argcol[d->argc] = (int)(p - bol) + 1;
			d->argv[d->argc++] = word(&p);
		}
	}
}

void
fake_block_free(struct fd_block *b)
{
	int	 i, j;

	for (i = 0; i < b->n; i++) {
		free(b->d[i].name);
		for (j = 0; j < b->d[i].argc; j++)
			free(b->d[i].argv[j]);
	}
	memset(b, 0, sizeof(*b));
}

void
fake_txn(struct fd_txn *t, const char *addr)
{
	memset(t, 0, sizeof(*t));
	t->client_addr = addr;
	t->mta_name = "mail.example.net";
}

void
fake_clear(struct fake *f, struct fd_txn *t)
{
	f->nerrors = f->nlogs = 0;
	f->errors[0] = f->logs[0] = '\0';
	if (t != NULL) {
		t->nreply = t->nreason = 0;
		t->rcode[0] = t->xcode[0] = t->text[0] = t->reason[0] = '\0';
	}
}
