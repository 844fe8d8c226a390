/*
 * txn.c -- connection and message context, see txn.h
 *
 * The message part is reset from several places (MAIL, after EOM, abort,
 * close) because the MTA may call them in any order: an abort without a
 * MAIL, a close without an abort, two messages on one connection. Every
 * reset path goes through fd_txn_msg_end(), which is idempotent.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gen.h"
#include "store_plan.h"
#include "txn.h"
#include "xalloc.h"

/* kv_free - free a list of name/value pairs */
static void
kv_free(struct fd_kv *kv)
{
	struct fd_kv	*next;

	for (; kv != NULL; kv = next) {
		next = kv->next;
		free(kv->name);
		free(kv->value);
		free(kv);
	}
}

/* kv_new - one pair, not yet linked */
static struct fd_kv *
kv_new(const char *name, const char *value, int owner)
{
	struct fd_kv	*kv = fd_calloc(1, sizeof(*kv));

	kv->name = fd_strdup(name);
	kv->value = fd_strdup(value != NULL ? value : "");
	kv->owner = owner;
	return kv;
}

struct fd_txn *
fd_txn_new(struct fd_gen *gen, uint64_t id)
{
	struct fd_txn	*t = fd_calloc(1, sizeof(*t));

	t->gen = gen;
	t->id = id;
	if (gen != NULL && gen->nplugins > 0) {
		unsigned i;

		t->priv = fd_calloc(gen->nplugins, sizeof(*t->priv));
		for (i = 0; i < gen->nplugins; i++) {
			size_t sz = gen->plugins[i].p->conn_priv_size;

			if (sz > 0)
				t->priv[i] = fd_calloc(1, sz);
		}
	}
	return t;
}

struct fd_txn *
fd_txn_free(struct fd_txn *t)
{
	unsigned	 i;

	if (t == NULL)
		return NULL;
	fd_txn_msg_end(t);
	if (t->gen != NULL) {
		for (i = 0; i < t->gen->nplugins; i++) {
			const struct fd_loaded *l = &t->gen->plugins[i];

			if (l->p->conn_end != NULL && t->priv[i] != NULL)
				l->p->conn_end(l->state, t->priv[i]);
			free(t->priv[i]);
		}
		fd_gen_unref(t->gen);
	}
	free(t->priv);
	fd_plan_free(t->plan);
	free(t->client_name);
	free(t->helo);
	free(t->text);
	free(t->reason);
	fd_txn_held_clear(t);
	kv_free(t->macros);
	free(t);
	return NULL;
}

void
fd_txn_set_addr(struct fd_txn *t, const struct sockaddr *sa)
{
	t->family = 0;
	t->ip_len = 0;
	t->addr[0] = '\0';
	t->local = 0;
	if (sa == NULL) {
		t->local = 1;	/* no address: a local pipe or unix socket */
		return;
	}
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)sa;

		t->family = AF_INET;
		memcpy(t->ip, &in->sin_addr, 4);
		t->ip_len = 4;
		t->local = t->ip[0] == 127;
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)sa;

		/* an IPv4-mapped address is treated as the IPv4 address */
		if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
			t->family = AF_INET;
			memcpy(t->ip, &in6->sin6_addr.s6_addr[12], 4);
			t->ip_len = 4;
			t->local = t->ip[0] == 127;
		} else {
			t->family = AF_INET6;
			memcpy(t->ip, &in6->sin6_addr, 16);
			t->ip_len = 16;
			t->local = IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr);
		}
	} else {
		t->local = sa->sa_family == AF_UNIX;
		return;
	}
	inet_ntop(t->family, t->ip, t->addr, sizeof(t->addr));
}

int
fd_txn_set_addr_str(struct fd_txn *t, const char *s)
{
	struct sockaddr_in	 in;
	struct sockaddr_in6	 in6;

	memset(&in, 0, sizeof(in));
	memset(&in6, 0, sizeof(in6));
	if (inet_pton(AF_INET, s, &in.sin_addr) == 1) {
		in.sin_family = AF_INET;
		fd_txn_set_addr(t, (struct sockaddr *)&in);
		return 0;
	}
	if (inet_pton(AF_INET6, s, &in6.sin6_addr) == 1) {
		in6.sin6_family = AF_INET6;
		fd_txn_set_addr(t, (struct sockaddr *)&in6);
		return 0;
	}
	return -1;
}

void
fd_txn_set_client_name(struct fd_txn *t, const char *name)
{
	free(t->client_name);
	t->client_name = name != NULL ? fd_strdup(name) : NULL;
}

void
fd_txn_set_helo(struct fd_txn *t, const char *helo)
{
	free(t->helo);
	t->helo = fd_strdup(helo != NULL ? helo : "");
	t->helo_count++;
}

/* macro_eq - "j" and "{j}" name the same macro */
static int
macro_eq(const char *a, const char *b)
{
	size_t	 la, lb;

	if (*a == '{')
		a++;
	if (*b == '{')
		b++;
	la = strcspn(a, "}");
	lb = strcspn(b, "}");
	return la == lb && strncmp(a, b, la) == 0;
}

void
fd_txn_set_macro(struct fd_txn *t, const char *name, const char *value)
{
	struct fd_kv	*kv;

	for (kv = t->macros; kv != NULL; kv = kv->next) {
		if (macro_eq(kv->name, name)) {
			if (strcmp(kv->value, value) != 0) {
				free(kv->value);
				kv->value = fd_strdup(value);
			}
			break;
		}
	}
	if (kv == NULL) {
		kv = kv_new(name, value, -1);
		kv->next = t->macros;
		t->macros = kv;
	}
	if (macro_eq(name, "{client_resolve}")) {
		if (strcasecmp(value, "OK") == 0)
			t->resolve = FD_RESOLVE_OK;
		else if (strcasecmp(value, "FAIL") == 0)
			t->resolve = FD_RESOLVE_FAIL;
		else if (strcasecmp(value, "FORGED") == 0)
			t->resolve = FD_RESOLVE_FORGED;
		else if (strcasecmp(value, "TEMP") == 0)
			t->resolve = FD_RESOLVE_TEMP;
	}
}

const char *
fd_txn_macro(const struct fd_txn *t, const char *name)
{
	const struct fd_kv *kv;

	for (kv = t->macros; kv != NULL; kv = kv->next)
		if (macro_eq(kv->name, name))
			return kv->value;
	return NULL;
}

char *
fd_strip_brackets(const char *s)
{
	size_t	 n;

	while (*s == ' ')
		s++;
	n = strlen(s);
	if (n >= 2 && s[0] == '<' && s[n - 1] == '>')
		return fd_strndup(s + 1, n - 2);
	return fd_strdup(s);
}

void
fd_txn_msg_begin(struct fd_txn *t, const char *sender)
{
	const char	*v;
	unsigned	 i;

	fd_txn_msg_end(t);
	t->msg.active = 1;
	t->msg_count++;
	t->msg.sender = fd_strip_brackets(sender != NULL ? sender : "");
	if ((v = fd_txn_macro(t, "{auth_authen}")) != NULL && *v != '\0')
		t->msg.auth_user = fd_strdup(v);
	if ((v = fd_txn_macro(t, "{auth_type}")) != NULL && *v != '\0')
		t->msg.auth_type = fd_strdup(v);
	if ((v = fd_txn_macro(t, "i")) != NULL && *v != '\0')
		t->msg.queue_id = fd_strdup(v);
	if (t->gen != NULL && t->gen->nplugins > 0) {
		t->msg.priv = fd_calloc(t->gen->nplugins, sizeof(*t->msg.priv));
		for (i = 0; i < t->gen->nplugins; i++) {
			size_t sz = t->gen->plugins[i].p->msg_priv_size;

			if (sz > 0)
				t->msg.priv[i] = fd_calloc(1, sz);
		}
	}
}

void
fd_txn_msg_end(struct fd_txn *t)
{
	struct fd_msg	*m = &t->msg;
	size_t		 i;

	if (m->priv != NULL) {
		for (i = 0; i < t->gen->nplugins; i++) {
			const struct fd_loaded *l = &t->gen->plugins[i];

			if (l->p->msg_end != NULL && m->priv[i] != NULL)
				l->p->msg_end(l->state,
				    t->priv != NULL ? t->priv[i] : NULL,
				    m->priv[i]);
			free(m->priv[i]);
		}
		free(m->priv);
	}
	free(m->queue_id);
	free(m->sender);
	free(m->auth_user);
	free(m->auth_type);
	free(m->rcpt);
	for (i = 0; i < m->nrcpts; i++)
		free(m->rcpts[i]);
	free(m->rcpts);
	kv_free(m->params);
	kv_free(m->headers);
	memset(m, 0, sizeof(*m));
	if (t->held.msg)
		fd_txn_held_clear(t);
}

void
fd_txn_rcpt_begin(struct fd_txn *t, const char *rcpt)
{
	free(t->msg.rcpt);
	t->msg.rcpt = fd_strip_brackets(rcpt != NULL ? rcpt : "");
	t->msg.rcpt_skip = 0;
}

void
fd_txn_rcpt_accept(struct fd_txn *t)
{
	struct fd_msg	*m = &t->msg;

	if (m->rcpt == NULL)
		return;
	if (m->nrcpts == m->rcpts_cap) {
		m->rcpts_cap = m->rcpts_cap ? m->rcpts_cap * 2 : 4;
		m->rcpts = fd_reallocarray(m->rcpts, m->rcpts_cap,
		    sizeof(*m->rcpts));
	}
	m->rcpts[m->nrcpts++] = m->rcpt;
	m->rcpt = NULL;
}

void
fd_txn_skip(struct fd_txn *t, unsigned idx)
{
	/*
	 * A skip decided before MAIL holds for every message of the
	 * connection; one decided at RCPT only for that recipient (so a
	 * postmaster@ listed first does not let the other recipients of the
	 * message skip greylisting); any other for the rest of the message.
	 */
	if (idx >= 64)
		return;
	if (!t->msg.active)
		t->skip |= (uint64_t)1 << idx;
	else if (t->stage == FD_ST_RCPT)
		t->msg.rcpt_skip |= (uint64_t)1 << idx;
	else
		t->msg.skip |= (uint64_t)1 << idx;
}

void
fd_txn_param_set(struct fd_txn *t, int idx, const char *name,
    const char *value)
{
	struct fd_kv	*kv;

	for (kv = t->msg.params; kv != NULL; kv = kv->next) {
		if (kv->owner == idx && strcmp(kv->name, name) == 0) {
			free(kv->value);
			kv->value = fd_strdup(value);
			return;
		}
	}
	kv = kv_new(name, value, idx);
	kv->next = t->msg.params;
	t->msg.params = kv;
}

const char *
fd_txn_param(const struct fd_txn *t, int idx, const char *name)
{
	const struct fd_kv *kv;

	for (kv = t->msg.params; kv != NULL; kv = kv->next)
		if (kv->owner == idx && strcmp(kv->name, name) == 0)
			return kv->value;
	return NULL;
}

void
fd_txn_header_add(struct fd_txn *t, const char *name, const char *value)
{
	struct fd_kv	*kv = kv_new(name, value, -1), **pp;

	/* keep the order in which rules and plugins added them */
	for (pp = &t->msg.headers; *pp != NULL; pp = &(*pp)->next)
		;
	*pp = kv;
}

void
fd_txn_reply(struct fd_txn *t, const char *rcode, const char *xcode,
    const char *text)
{
	snprintf(t->rcode, sizeof(t->rcode), "%s", rcode != NULL ? rcode : "");
	snprintf(t->xcode, sizeof(t->xcode), "%s", xcode != NULL ? xcode : "");
	free(t->text);
	t->text = text != NULL ? fd_strdup(text) : NULL;
}

void
fd_txn_reason(struct fd_txn *t, const char *text)
{
	free(t->reason);
	t->reason = text != NULL ? fd_strdup(text) : NULL;
}

void
fd_txn_reply_clear(struct fd_txn *t)
{
	t->rcode[0] = '\0';
	t->xcode[0] = '\0';
	free(t->text);
	t->text = NULL;
	free(t->reason);
	t->reason = NULL;
	t->decider = NULL;
}

void
fd_txn_hold(struct fd_txn *t, enum fd_action a)
{
	fd_txn_held_clear(t);
	t->held.action = a;
	t->held.msg = t->stage == FD_ST_MAIL;
	memcpy(t->held.rcode, t->rcode, sizeof(t->held.rcode));
	memcpy(t->held.xcode, t->xcode, sizeof(t->held.xcode));
	t->held.text = t->text != NULL ? fd_strdup(t->text) : NULL;
}

enum fd_action
fd_txn_held_reply(struct fd_txn *t)
{
	fd_txn_reply(t, t->held.rcode, t->held.xcode, t->held.text);
	return t->held.action;
}

void
fd_txn_held_clear(struct fd_txn *t)
{
	free(t->held.text);
	memset(&t->held, 0, sizeof(t->held));
}
