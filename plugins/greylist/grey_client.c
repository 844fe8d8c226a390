/*
 * grey_client.c -- the client part of a greylist triplet, see grey_client.h
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdlib.h>
#include <string.h>

#include "grey_client.h"
#include "grey_suffix.h"

#define IS_DIGIT(c)	((c) >= '0' && (c) <= '9')
#define IS_ALNUM(c)	(IS_DIGIT(c) || ((c) >= 'a' && (c) <= 'z'))
#define HEX		"0123456789abcdef"

/*
 * The network is written by hand, not with inet_ntop and snprintf: it is
 * part of every triplet key, so it is made at every recipient, and the
 * library route costs several times the rest of the key. The text must be
 * exactly the one inet_ntop gives (keys in existing stores were made with
 * it; tests/unit/check_greylist.c compares the two over every prefix
 * length): IPv4 dotted decimal; IPv6 groups in lowercase hex without
 * leading zeros, the first longest run of two or more zero groups written
 * "::", and ::a.b.c.d and ::ffff:a.b.c.d with the IPv4 address dotted.
 */
#define NET_TEXT_MAX	(INET6_ADDRSTRLEN + 8)	/* "addr/plen" and NUL */

/* put_dec - v in decimal at p; returns the end */
static char *
put_dec(char *p, unsigned v)
{
	char	 d[10];
	int	 n = 0;

	/* octets and prefix lengths, without a division loop */
	if (v < 10) {
		*p++ = (char)('0' + v);
		return p;
	}
	if (v < 100) {
		*p++ = (char)('0' + v / 10);
		*p++ = (char)('0' + v % 10);
		return p;
	}
	if (v < 1000) {
		*p++ = (char)('0' + v / 100);
		*p++ = (char)('0' + v / 10 % 10);
		*p++ = (char)('0' + v % 10);
		return p;
	}
	do {
		d[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	while (n > 0)
		*p++ = d[--n];
	return p;
}

/* put_v4 - four bytes as a.b.c.d at p; returns the end */
static char *
put_v4(char *p, const unsigned char *b)
{
	p = put_dec(p, b[0]);
	*p++ = '.';
	p = put_dec(p, b[1]);
	*p++ = '.';
	p = put_dec(p, b[2]);
	*p++ = '.';
	return put_dec(p, b[3]);
}

/* put_hex - one 16-bit group in hex, no leading zeros, at p */
static char *
put_hex(char *p, unsigned v)
{
	static const char	 digits[] = "0123456789abcdef";
	int			 shift = 12;

	while (shift > 0 && (v >> shift) == 0)
		shift -= 4;
	for (; shift >= 0; shift -= 4)
		*p++ = digits[(v >> shift) & 0xf];
	return p;
}

/* put_v6 - sixteen bytes as IPv6 text at p (inet_ntop's); returns the end */
static char *
put_v6(char *p, const unsigned char *b)
{
	unsigned	 w[8];
	int		 i, best = -1, bestlen = 0, cur = -1;

	for (i = 0; i < 8; i++)
		w[i] = (unsigned)b[2 * i] << 8 | b[2 * i + 1];
	/* the first longest run of zero groups, if two or more long */
	for (i = 0; i < 8; i++) {
		if (w[i] != 0) {
			cur = -1;
			continue;
		}
		if (cur < 0)
			cur = i;
		if (i - cur + 1 > bestlen) {
			best = cur;
			bestlen = i - cur + 1;
		}
	}
	if (bestlen < 2)
		best = -1;
	for (i = 0; i < 8; i++) {
		if (best >= 0 && i >= best && i < best + bestlen) {
			if (i == best)
				*p++ = ':';
			continue;
		}
		if (i != 0)
			*p++ = ':';
		if (i == 6 && best == 0 &&
		    (bestlen == 6 || (bestlen == 5 && w[5] == 0xffff)))
			return put_v4(p, b + 12);
		p = put_hex(p, w[i]);
	}
	if (best >= 0 && best + bestlen == 8)
		*p++ = ':';
	return p;
}

/* net_text - ip masked to plen bits as "addr/plen" at p (NET_TEXT_MAX
 * bytes), terminated; returns the length */
static size_t
net_text(char *p, const unsigned char *ip, size_t iplen, int plen)
{
	unsigned char	 m[16];
	char		*e;
	size_t		 i;

	memset(m, 0, sizeof(m));
	for (i = 0; i < iplen && i < sizeof(m); i++) {
		int bits = plen - (int)i * 8;

		m[i] = bits >= 8 ? ip[i] : bits <= 0 ? 0 :
		    (unsigned char)(ip[i] & (0xff << (8 - bits)));
	}
	e = iplen == 4 ? put_v4(p, m) : put_v6(p, m);
	*e++ = '/';
	if (plen < 0) {
		*e++ = '-';
		e = put_dec(e, 0u - (unsigned)plen);
	} else
		e = put_dec(e, (unsigned)plen);
	*e = '\0';
	return (size_t)(e - p);
}

/* put_trunc - head then the n bytes of tail into out, as snprintf
 * "%s%s" would: as much as fits, always terminated */
static void
put_trunc(char *out, size_t outlen, const char *head, const char *tail,
    size_t n)
{
	size_t	 hl = strlen(head);

	if (outlen == 0)
		return;
	if (hl >= outlen)
		hl = outlen - 1;
	memcpy(out, head, hl);
	if (n > outlen - 1 - hl)
		n = outlen - 1 - hl;
	memcpy(out + hl, tail, n);
	out[hl + n] = '\0';
}

void
grey_net_format(char *out, size_t outlen, const unsigned char *ip,
    size_t iplen, int plen)
{
	char	 text[NET_TEXT_MAX];

	put_trunc(out, outlen, "", text, net_text(text, ip, iplen, plen));
}

/* v4_octets - the last two octets appear as separate numbers
 * (dsl-198-51-100-7.example.net) */
static int
v4_octets(const char *name, const unsigned char *ip)
{
	const char	*p;
	int		 third = 0, fourth = 0, both = 0;

	for (p = name; *p != '\0';) {
		unsigned v = 0, n = 0;

		if (!IS_DIGIT(*p)) {
			p++;
			continue;
		}
		for (; IS_DIGIT(*p); p++, n++)
			if (n < 4)
				v = v * 10 + (unsigned)(*p - '0');
		if (n > 3)
			continue;
		third |= v == ip[2];
		fourth |= v == ip[3];
		both += v == ip[2] && v == ip[3];
	}
	/* with equal octets one number is not both: mta7 at x.y.7.7 is a
	 * sender's host, dsl-7-7 a dynamic name */
	if (ip[2] == ip[3])
		return both >= 2;
	return third && fourth;
}

/* v6_groups - two of the address's non-zero 16-bit groups appear as
 * labels' hex words (2001-db8-1-2-a1b2-c3d4.dyn.example): ISPs name
 * their customers' addresses, by prefix or in full, this way */
static int
v6_groups(const char *name, const unsigned char *ip)
{
	unsigned	 seen = 0, g, i, n, v;
	const char	*p = name;
	int		 hits = 0;

	while (*p != '\0') {
		for (n = 0, v = 0; p[n] != '\0' && strchr(HEX, p[n]) != NULL;
		    n++)
			if (n < 4)
				v = v * 16 + (unsigned)(strchr(HEX, p[n]) - HEX);
		if (n >= 1 && n <= 4 && (p[n] == '\0' || !IS_ALNUM(p[n])) &&
		    (p == name || !IS_ALNUM(p[-1]))) {
			for (i = 0; i < 8; i++) {
				g = (unsigned)ip[2 * i] << 8 | ip[2 * i + 1];
				if (g != 0 && g == v && !(seen & 1u << i)) {
					seen |= 1u << i;
					hits++;
					break;
				}
			}
		}
		p += n > 0 ? n : 1;
	}
	return hits >= 2;
}

int
grey_name_dynamic(const char *name, const unsigned char *ip, size_t iplen)
{
	if (name == NULL)
		return 0;
	if (iplen == 4)
		return v4_octets(name, ip);
	return iplen == 16 && v6_groups(name, ip);
}

/* name_fold - a verified host name, lowercased, no trailing dot; -1 if
 * unusable (absent, an [address], too long) */
static int
name_fold(char *buf, size_t buflen, const char *name)
{
	size_t	 n;

	if (name == NULL || name[0] == '\0' || name[0] == '[')
		return -1;
	for (n = 0; name[n] != '\0'; n++) {
		if (n + 1 >= buflen)
			return -1;
		buf[n] = (char)(name[n] >= 'A' && name[n] <= 'Z' ?
		    name[n] - 'A' + 'a' : name[n]);
	}
	if (buf[n - 1] == '.')
		n--;
	buf[n] = '\0';
	return n > 0 ? 0 : -1;
}

enum grey_ck
grey_client_key(const struct grey_client_conf *cc,
    const struct grey_client *cl, char *out, size_t outlen)
{
	char		 name[256];
	const char	*reg;
	int		 have_name, v = -1;

	have_name = cl->verified &&
	    name_fold(name, sizeof(name), cl->name) == 0;
	if (cc->pools != NULL) {
		if (cl->iplen > 0)
			v = grey_nets_match(&cc->pools->nets, cl->ip, cl->iplen);
		if (v < 0 && have_name)
			v = grey_names_domain(&cc->pools->names, name);
		if (v >= 0 && (size_t)v < cc->pools->n) {
			put_trunc(out, outlen, "pool:", cc->pools->label[v],
			    strlen(cc->pools->label[v]));
			return GREY_CK_POOL;
		}
	}
	if (cc->pool_rdns && have_name &&
	    !grey_name_dynamic(name, cl->ip, cl->iplen) &&
	    (reg = grey_registrable(cc->psl, name)) != NULL) {
		put_trunc(out, outlen, "rdns:", reg, strlen(reg));
		return GREY_CK_RDNS;
	}
	if (cl->iplen == 4 || cl->iplen == 16) {
		char	 net[NET_TEXT_MAX];

		put_trunc(out, outlen, "net:", net, net_text(net, cl->ip,
		    cl->iplen, cl->iplen == 4 ? cc->v4_prefix : cc->v6_prefix));
		return GREY_CK_NET;
	}
	put_trunc(out, outlen, "none", "", 0);
	return GREY_CK_NONE;
}

/* pool_index - the index of label, added if new; -1 if out of memory */
static int
pool_index(struct grey_pools *p, const char *label)
{
	char	**nl;
	size_t	 i;

	for (i = 0; i < p->n; i++)
		if (strcmp(p->label[i], label) == 0)
			return (int)i;
	if ((nl = realloc(p->label, (p->n + 1) * sizeof(*nl))) == NULL)
		return -1;
	p->label = nl;
	if ((p->label[p->n] = strdup(label)) == NULL)
		return -1;
	return (int)p->n++;
}

/* looks_net - member is written as an address or a network */
static int
looks_net(const char *s)
{
	char		 text[64];
	unsigned char	 ip[16];
	size_t		 n = strcspn(s, "/");

	if (n >= sizeof(text))
		return 0;
	memcpy(text, s, n);
	text[n] = '\0';
	return grey_ip_parse(text, ip) > 0;
}

int
grey_pools_add(struct grey_pools *p, const char *label, const char *member,
    const char **why)
{
	int	 idx;

	if (label[0] == '\0' || strpbrk(label, " \t\r\n") != NULL) {
		*why = "a pool name is one word";
		return -1;
	}
	if ((idx = pool_index(p, label)) < 0) {
		*why = "out of memory";
		return -1;
	}
	if (looks_net(member) || strchr(member, '/') != NULL)
		return grey_nets_add(&p->nets, member, idx, why);
	if (strchr(member, '@') != NULL) {
		*why = "a pool member is a network or a domain";
		return -1;
	}
	return grey_names_add(&p->names, member, idx, why);
}

void
grey_pools_seal(struct grey_pools *p)
{
	grey_names_seal(&p->names);
}

void
grey_pools_clear(struct grey_pools *p)
{
	size_t	 i;

	grey_nets_clear(&p->nets);
	grey_names_clear(&p->names);
	for (i = 0; i < p->n; i++)
		free(p->label[i]);
	free(p->label);
	memset(p, 0, sizeof(*p));
}
