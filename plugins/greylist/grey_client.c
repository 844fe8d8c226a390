/*
 * grey_client.c -- the client part of a greylist triplet, see grey_client.h
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grey_client.h"
#include "grey_suffix.h"

#define IS_DIGIT(c)	((c) >= '0' && (c) <= '9')

void
grey_net_format(char *out, size_t outlen, const unsigned char *ip,
    size_t iplen, int plen)
{
	unsigned char	 m[16];
	char		 text[INET6_ADDRSTRLEN];
	size_t		 i;

	memset(m, 0, sizeof(m));
	for (i = 0; i < iplen && i < sizeof(m); i++) {
		int bits = plen - (int)i * 8;

		m[i] = bits >= 8 ? ip[i] : bits <= 0 ? 0 :
		    (unsigned char)(ip[i] & (0xff << (8 - bits)));
	}
	if (inet_ntop(iplen == 4 ? AF_INET : AF_INET6, m, text,
	    sizeof(text)) == NULL)
		strcpy(text, "?");
	snprintf(out, outlen, "%s/%d", text, plen);
}

int
grey_name_dynamic(const char *name, const unsigned char *ip, size_t iplen)
{
	const char	*p;
	int		 third = 0, fourth = 0;

	if (iplen != 4 || name == NULL)
		return 0;
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
	}
	return third && fourth;
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
			snprintf(out, outlen, "pool:%s", cc->pools->label[v]);
			return GREY_CK_POOL;
		}
	}
	if (cc->pool_rdns && have_name &&
	    !grey_name_dynamic(name, cl->ip, cl->iplen) &&
	    (reg = grey_registrable(cc->psl, name)) != NULL) {
		snprintf(out, outlen, "rdns:%s", reg);
		return GREY_CK_RDNS;
	}
	if (cl->iplen == 4 || cl->iplen == 16) {
		char	 net[INET6_ADDRSTRLEN + 8];

		grey_net_format(net, sizeof(net), cl->ip, cl->iplen,
		    cl->iplen == 4 ? cc->v4_prefix : cc->v6_prefix);
		snprintf(out, outlen, "net:%s", net);
		return GREY_CK_NET;
	}
	snprintf(out, outlen, "none");
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
