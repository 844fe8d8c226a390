/*
 * grey_table.c -- networks, names and table files, see grey_table.h
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "grey_table.h"
#include "textfile.h"

#define NAME_MAX_LEN	512	/* longer names or addresses match nothing */

size_t
grey_ip_parse(const char *s, unsigned char out[16])
{
	static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0, 0xff, 0xff };
	unsigned char	 b[16];

	if (inet_pton(AF_INET, s, b) == 1) {
		memcpy(out, b, 4);
		return 4;
	}
	if (inet_pton(AF_INET6, s, b) != 1)
		return 0;
	if (memcmp(b, mapped, sizeof(mapped)) == 0) {
		memcpy(out, b + 12, 4);
		return 4;
	}
	memcpy(out, b, 16);
	return 16;
}

/* prefix_match - the first plen bits of a and b agree */
static int
prefix_match(const unsigned char *a, const unsigned char *b, int plen)
{
	int	 full = plen / 8, rest = plen % 8;
	unsigned char mask;

	if (full > 0 && memcmp(a, b, (size_t)full) != 0)
		return 0;
	if (rest == 0)
		return 1;
	mask = (unsigned char)(0xff << (8 - rest));
	return (a[full] & mask) == (b[full] & mask);
}

int
grey_nets_add(struct grey_nets *t, const char *s, int value, const char **why)
{
	struct grey_net	 net;
	char		 text[64], *slash, *end;
	long		 plen;
	int		 v6text;

	if (strlen(s) >= sizeof(text)) {
		*why = "not a network";
		return -1;
	}
	strcpy(text, s);
	if ((slash = strchr(text, '/')) != NULL)
		*slash++ = '\0';
	memset(&net, 0, sizeof(net));
	v6text = strchr(text, ':') != NULL;
	if ((net.len = grey_ip_parse(text, net.addr)) == 0) {
		*why = "not an IPv4 or IPv6 address";
		return -1;
	}
	plen = (long)net.len * 8;
	if (slash != NULL) {
		errno = 0;
		plen = strtol(slash, &end, 10);
		if (*slash == '\0' || *end != '\0' || plen < 0 ||
		    plen > (v6text ? 128 : 32)) {
			*why = "bad prefix length";
			return -1;
		}
		/* ::ffff:192.0.2.0/120 is the IPv4 network 192.0.2.0/24 */
		if (v6text && net.len == 4) {
			if (plen < 96) {
				*why = "IPv4-mapped prefix shorter than /96";
				return -1;
			}
			plen -= 96;
		}
	}
	net.plen = (int)plen;
	/* host bits set usually means a typo in the prefix: say so */
	if (plen < (long)net.len * 8) {
		unsigned char masked[16] = { 0 };
		size_t i;

		for (i = 0; i < net.len; i++) {
			int bits = net.plen - (int)i * 8;

			masked[i] = bits >= 8 ? net.addr[i] : bits <= 0 ? 0 :
			    (unsigned char)(net.addr[i] & (0xff << (8 - bits)));
		}
		if (memcmp(masked, net.addr, net.len) != 0) {
			*why = "host bits set after the prefix length";
			return -1;
		}
	}
	net.value = value;
	if (t->n == t->cap) {
		size_t ncap = t->cap ? t->cap * 2 : 16;
		struct grey_net *nv = realloc(t->v, ncap * sizeof(*nv));

		if (nv == NULL) {
			*why = "out of memory";
			return -1;
		}
		t->v = nv;
		t->cap = ncap;
	}
	t->v[t->n++] = net;
	return 0;
}

int
grey_nets_match(const struct grey_nets *t, const unsigned char *ip,
    size_t iplen)
{
	size_t	 i;

	for (i = 0; i < t->n; i++)
		if (t->v[i].len == iplen &&
		    prefix_match(t->v[i].addr, ip, t->v[i].plen))
			return t->v[i].value;
	return -1;
}

void
grey_nets_clear(struct grey_nets *t)
{
	free(t->v);
	memset(t, 0, sizeof(*t));
}

/* lower_copy - s lowercased into buf without a trailing dot; -1 if long */
static int
lower_copy(char *buf, size_t buflen, const char *s)
{
	size_t	 n;

	for (n = 0; s[n] != '\0'; n++) {
		if (n + 1 >= buflen)
			return -1;
		buf[n] = (char)(s[n] >= 'A' && s[n] <= 'Z' ? s[n] - 'A' + 'a' :
		    s[n]);
	}
	if (n > 0 && buf[n - 1] == '.')
		n--;
	buf[n] = '\0';
	return 0;
}

int
grey_names_add(struct grey_names *t, const char *s, int value,
    const char **why)
{
	char		 buf[NAME_MAX_LEN], *p = buf;
	const char	*c;

	if (lower_copy(buf, sizeof(buf), s) < 0) {
		*why = "name too long";
		return -1;
	}
	if (*p == '.')
		p++;
	for (c = p; *c != '\0'; c++)
		if ((unsigned char)*c <= ' ' || *c == '<' || *c == '>') {
			*why = "blank or <> in a name";
			return -1;
		}
	if (*p == '\0' || strcmp(p, "@") == 0 || (strchr(p, '@') != NULL &&
	    strchr(p, '@') != strrchr(p, '@'))) {
		*why = "not a domain, an address or a local part with @";
		return -1;
	}
	if (t->n == t->cap) {
		size_t ncap = t->cap ? t->cap * 2 : 16;
		struct grey_name *nv = realloc(t->v, ncap * sizeof(*nv));

		if (nv == NULL) {
			*why = "out of memory";
			return -1;
		}
		t->v = nv;
		t->cap = ncap;
	}
	if ((t->v[t->n].s = strdup(p)) == NULL) {
		*why = "out of memory";
		return -1;
	}
	t->v[t->n++].value = value;
	return 0;
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(((const struct grey_name *)a)->s,
	    ((const struct grey_name *)b)->s);
}

void
grey_names_seal(struct grey_names *t)
{
	if (t->n > 1)
		qsort(t->v, t->n, sizeof(*t->v), name_cmp);
}

/* find - the value of the exact entry s (lowercase), or -1 */
static int
find(const struct grey_names *t, const char *s)
{
	struct grey_name	 key = { 0 }, *hit;

	if (t->n == 0)
		return -1;
	key.s = (char *)(uintptr_t)s;
	hit = bsearch(&key, t->v, t->n, sizeof(*t->v), name_cmp);
	return hit != NULL ? hit->value : -1;
}

/* find_domain - name, then each parent domain; name is lowercase */
static int
find_domain(const struct grey_names *t, const char *name)
{
	const char	*s;
	int		 v;

	for (s = name; s != NULL && *s != '\0';) {
		if ((v = find(t, s)) >= 0)
			return v;
		s = strchr(s, '.');
		if (s != NULL)
			s++;
	}
	return -1;
}

int
grey_names_domain(const struct grey_names *t, const char *name)
{
	char	 buf[NAME_MAX_LEN];

	if (t->n == 0 || lower_copy(buf, sizeof(buf), name) < 0)
		return -1;
	return find_domain(t, buf);
}

/*
 * bare_local - an address without a domain in buf: `RCPT TO:<postmaster>`
 * (RFC 5321 4.5.1), or a local sender as Sendmail passes it on. A
 * `user@` entry holds for it, as for that user at any domain; else it
 * is looked up as a domain, as it always was.
 */
static int
bare_local(const struct grey_names *t, char *buf, size_t size)
{
	size_t	 n = strlen(buf);
	int	 v;

	if (n > 0 && n + 1 < size) {
		buf[n] = '@';
		buf[n + 1] = '\0';
		v = find(t, buf);
		buf[n] = '\0';
		if (v >= 0)
			return v;
	}
	return find_domain(t, buf);
}

int
grey_names_addr(const struct grey_names *t, const char *addr)
{
	char	 buf[NAME_MAX_LEN], *at;
	int	 v;

	if (t->n == 0 || lower_copy(buf, sizeof(buf), addr) < 0)
		return -1;
	if ((v = find(t, buf)) >= 0)
		return v;
	if ((at = strrchr(buf, '@')) == NULL)
		return bare_local(t, buf, sizeof(buf));
	if (at > buf) {
		char	 c = at[1];

		at[1] = '\0';
		v = find(t, buf);
		at[1] = c;
		if (v >= 0)
			return v;
	}
	return at[1] != '\0' ? find_domain(t, at + 1) : -1;
}

void
grey_names_clear(struct grey_names *t)
{
	size_t	 i;

	for (i = 0; i < t->n; i++)
		free(t->v[i].s);
	free(t->v);
	memset(t, 0, sizeof(*t));
}

/*
 * read_line - the next line of fp into buf (size bytes), its newline
 * dropped; its length, -1 at the end of the file, or size for a line
 * that does not fit. The length counts a NUL byte that strlen would stop
 * at, so that the caller sees it.
 */
static long
read_line(FILE *fp, char *buf, size_t size)
{
	size_t	 n = 0;
	int	 ch;

	while ((ch = getc(fp)) != EOF && ch != '\n') {
		if (n == size - 1)
			return (long)size;
		buf[n++] = (char)ch;
	}
	if (ch == EOF && n == 0)
		return -1;
	buf[n] = '\0';
	return (long)n;
}

/* split - the words of line from start, and their columns; their count,
 * or -1 with err for one too many */
static int
split(char *start, char **words, int *cols, const char *path, int lineno,
    char *err, size_t errlen)
{
	char	*p, *save;
	int	 n = 0;

	for (p = strtok_r(start, " \t\r,", &save); p != NULL;
	    p = strtok_r(NULL, " \t\r,", &save)) {
		if (n == GREY_FILE_WORDS) {
			snprintf(err, errlen, "%s:%d:%d: more than %d words "
			    "on a line", path, lineno, (int)(p - start) + 1,
			    GREY_FILE_WORDS);
			return -1;
		}
		cols[n] = (int)(p - start) + 1;
		words[n++] = p;
	}
	return n;
}

int
grey_file_lines(const char *path,
    int (*fn)(char **, const int *, int, int, void *,
    void (*)(void *, const char *)),
    void (*bad)(void *, const char *), void *arg)
{
	FILE		*fp;
	struct stat	 sb;
	char		 line[4096], err[512], *words[GREY_FILE_WORDS], *start;
	char		*p;
	const char	*why;
	int		 cols[GREY_FILE_WORDS], lineno = 0, n, nbad = 0;
	long		 len;

	/* a FIFO nobody writes to would stall filterd -t or a reload */
	if ((fp = fd_textfile_open(path, 0, &sb, &why)) == NULL) {
		snprintf(err, sizeof(err), "%s: %s", path, why);
		bad(arg, err);
		return -1;
	}
	while ((len = read_line(fp, line, sizeof(line))) != -1) {
		lineno++;
		if (len == (long)sizeof(line)) {
			snprintf(err, sizeof(err), "%s:%d: line longer than "
			    "%d bytes; the rest of this file is not read",
			    path, lineno, (int)sizeof(line) - 1);
			bad(arg, err);
			nbad++;
			break;
		}
		/* a byte order mark some editors write is no part of the
		 * first entry, nor of its column, as in a config file */
		start = lineno == 1 && strncmp(line, "\xef\xbb\xbf", 3) == 0 ?
		    line + 3 : line;
		/* the entry would end there, the rest of the line unseen */
		if ((p = memchr(line, '\0', (size_t)len)) != NULL) {
			snprintf(err, sizeof(err), "%s:%d:%d: NUL byte in the "
			    "line", path, lineno, (int)(p - start) + 1);
			bad(arg, err);
			nbad++;
		} else {
			if ((p = strchr(start, '#')) != NULL)
				*p = '\0';
			p = start + strspn(start, " \t");
			if (p[0] == '/' && p[1] == '/')
				continue;
			if ((n = split(start, words, cols, path, lineno, err,
			    sizeof(err))) < 0) {
				bad(arg, err);
				nbad++;
			} else if (n > 0)
				nbad += fn(words, cols, n, lineno, arg, bad);
		}
		if (nbad >= GREY_FILE_ERRORS) {
			snprintf(err, sizeof(err), "%s:%d: too many errors, "
			    "skipping the rest of this file", path, lineno);
			bad(arg, err);
			break;
		}
	}
	if (nbad < GREY_FILE_ERRORS && ferror(fp)) {
		snprintf(err, sizeof(err), "%s: read error", path);
		bad(arg, err);
		nbad++;
	}
	fclose(fp);
	return nbad > 0 ? -1 : 0;
}
