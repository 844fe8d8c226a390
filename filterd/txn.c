/*
 * txn.c -- connection and message context, see txn.h
 *
 * The message part is reset from several places (MAIL, after EOM, abort,
 * an answer that ends the message early, close) because the MTA may call
 * them in any order: an abort without a MAIL, a close without an abort,
 * two messages on one connection. Every reset path goes through
 * fd_txn_msg_end(), which is idempotent.
 *
 * Memory. libmilter runs sessions on worker threads that start and end
 * all the time (docs/ARCHITECTURE.md), so a malloc here often runs on a
 * cold heap; a connection with one message used to cost some 25 of them.
 * Now fd_txn_new makes one block: struct block below, then the plugins'
 * slot arrays, their slots, the store plan and the inline bytes of two
 * string pools. The strings go into the pools: the connection's (client
 * name, HELO, macros) lives until close, the message's (sender,
 * recipients, params, headers) is emptied at each message's end. A pool
 * takes a chunk from the heap only when its inline bytes are full, and a
 * string too big for a chunk gets one of its own, so no length is
 * refused or cut. A value that is set again (HELO, a macro, a param, the
 * recipient under decision) is rewritten in place when it fits; when it
 * does not, its new room is at least twice the old, so what a long
 * connection leaves behind stays below twice its longest values.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdalign.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gen.h"
#include "store_plan.h"
#include "txn.h"
#include "xalloc.h"

#define POOL_CONN	512	/* inline bytes: connection strings */
#define POOL_MSG	512	/* inline bytes: message strings */
#define POOL_CHUNK	2048	/* a heap chunk when those are full */
#define POOL_OWN	(POOL_CHUNK / 4)	/* bigger: a chunk of its own */
#define RCPTS_INLINE	8	/* recipients before the list moves */

/*
 * Under AddressSanitizer every pool allocation is a heap chunk of its own,
 * so that an overrun of one string into the next is still reported
 * (-DPOOL_SEPARATE=0 puts the pools' own code under it instead).
 */
#ifndef POOL_SEPARATE
#if defined(__SANITIZE_ADDRESS__)
#define POOL_SEPARATE	1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define POOL_SEPARATE	1
#endif
#endif
#endif
#ifndef POOL_SEPARATE
#define POOL_SEPARATE	0
#endif

/* a heap chunk of a pool; its bytes follow, aligned for any type */
struct chunk {
	struct chunk	*next;
	max_align_t	 bytes[];
};

/* a bump allocator: nothing is given back alone, all at pool_reset */
struct pool {
	unsigned char	*base;		/* the chunk being filled */
	size_t		 used;
	size_t		 size;
	struct chunk	*chunks;	/* from the heap, freed at reset */
	unsigned char	*first;		/* the inline chunk, in the block */
	size_t		 first_size;
};

/* a string that is set again, and the bytes it may grow into */
struct room {
	char		*s;
	size_t		 size;
};

/* the connection block; a txn pointer points to it */
struct block {
	struct fd_txn	 t;		/* first */
	struct pool	 conn;
	struct pool	 msg;
	struct room	 client_name;
	struct room	 helo;
	struct room	 rcpt;		/* msg.rcpt's, until accepted */
	void		**msg_priv;	/* message slot array; NULL: none */
	unsigned char	*msg_slots;	/* their bytes, zeroed at MAIL */
	size_t		 msg_slots_len;
	struct fd_plan	*plan;		/* in the block, or NULL */
	char		*rcpts[RCPTS_INLINE];
	uint64_t	 rcpt_skips[RCPTS_INLINE];
};

/* block_of - the block whose head t is */
static struct block *
block_of(struct fd_txn *t)
{
	return (struct block *)(void *)t;
}

/* round_up - n rounded up to the alignment of any type */
static size_t
round_up(size_t n)
{
	size_t	 a = alignof(max_align_t);

	return (n + a - 1) & ~(a - 1);
}

/* pool_init - an empty pool over size inline bytes */
static void
pool_init(struct pool *p, unsigned char *bytes, size_t size)
{
	p->first = p->base = bytes;
	p->first_size = p->size = size;
	p->used = 0;
	p->chunks = NULL;
}

/* pool_reset - give the heap chunks back and start over inline */
static void
pool_reset(struct pool *p)
{
	struct chunk	*c, *next;

	for (c = p->chunks; c != NULL; c = next) {
		next = c->next;
		free(c);
	}
	pool_init(p, p->first, p->first_size);
}

/* pool_own - a heap chunk of n bytes for one allocation */
static void *
pool_own(struct pool *p, size_t n)
{
	struct chunk	*c;

	if (n > SIZE_MAX - sizeof(*c))
		abort();	/* no length the MTA can send comes near */
	c = fd_malloc(sizeof(*c) + n);
	c->next = p->chunks;
	p->chunks = c;
	return c->bytes;
}

/* pool_alloc - n bytes aligned to align (a power of two, at most that
 * of max_align_t): from the chunk being filled, else from a new one that
 * is filled next, or for a big n from one of its own, leaving the chunk
 * being filled as it was */
static void *
pool_alloc(struct pool *p, size_t n, size_t align)
{
#if POOL_SEPARATE
	(void)align;
	return pool_own(p, n);
#else
	size_t	 off = (p->used + align - 1) & ~(align - 1);

	if (off <= p->size && n <= p->size - off) {
		p->used = off + n;
		return p->base + off;
	}
	if (n > POOL_OWN)
		return pool_own(p, n);
	p->base = pool_own(p, POOL_CHUNK);
	p->size = POOL_CHUNK;
	p->used = n;
	return p->base;
#endif
}

/* pool_strndup - n bytes of s and a NUL */
static char *
pool_strndup(struct pool *p, const char *s, size_t n)
{
	char	*d = pool_alloc(p, n + 1, 1);

	memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

/* room_set - n bytes of s and a NUL into *at of *size bytes: in place if
 * they fit (s may point into *at), else into new room of at least twice
 * the old; returns *at */
static char *
room_set(struct pool *p, char **at, size_t *size, const char *s, size_t n)
{
	char	*d;

	if (*at != NULL && n < *size) {
		d = *at;
		memmove(d, s, n);
	} else {
		size_t want = *size <= SIZE_MAX / 2 ? *size * 2 : n + 1;

		if (want < n + 1)
			want = n + 1;
		/* the old room stays in the pool: s may point into it */
		d = pool_alloc(p, want, 1);
		memcpy(d, s, n);
		*at = d;
		*size = want;
	}
	d[n] = '\0';
	return d;
}

/* kv_new - a pair in one piece of pool p, not yet linked; name is the
 * first name_len bytes of name */
static struct fd_kv *
kv_new(struct pool *p, const char *name, size_t name_len, const char *value,
    int owner)
{
	size_t		 vlen = strlen(value);
	struct fd_kv	*kv = pool_alloc(p, sizeof(*kv) + name_len + vlen + 2,
			    alignof(struct fd_kv));

	kv->name = (char *)(kv + 1);
	memcpy(kv->name, name, name_len);
	kv->name[name_len] = '\0';
	kv->name_len = name_len;
	kv->value = kv->name + name_len + 1;
	memcpy(kv->value, value, vlen + 1);
	kv->value_room = vlen + 1;
	kv->owner = owner;
	kv->next = NULL;
	return kv;
}

/* kv_set - replace a pair's value */
static void
kv_set(struct pool *p, struct fd_kv *kv, const char *value)
{
	room_set(p, &kv->value, &kv->value_room, value, strlen(value));
}

/* plans - some plugin of gen has a plan hook: dispatch will want a plan */
static int
plans(const struct fd_gen *gen)
{
	unsigned	 i;

	for (i = 0; i < gen->nplugins; i++)
		if (gen->plugins[i].p->plan != NULL)
			return 1;
	return 0;
}

/* slots - point the plugins' connection (msg 0) or message slot pointers
 * at consecutive slots of the sizes they ask for, from at; NULL for none */
static void
slots(const struct fd_gen *gen, int msg, void **ptr, unsigned char *at)
{
	unsigned	 i;

	for (i = 0; i < gen->nplugins; i++) {
		size_t sz = msg ? gen->plugins[i].p->msg_priv_size :
		    gen->plugins[i].p->conn_priv_size;

		ptr[i] = sz > 0 ? at : NULL;
		at += round_up(sz);
	}
}

/* slots_size - bytes the plugins' connection or message slots take */
static size_t
slots_size(const struct fd_gen *gen, int msg)
{
	size_t		 n = 0;
	unsigned	 i;

	for (i = 0; i < gen->nplugins; i++)
		n += round_up(msg ? gen->plugins[i].p->msg_priv_size :
		    gen->plugins[i].p->conn_priv_size);
	return n;
}

/*
 * fd_txn_new - the block is, in order: struct block; the connection and
 * message slot arrays; the plugins' connection slots; their message slots;
 * the store plan if a plugin plans; the two pools' inline bytes. Zeroed up
 * to the message slots: those are zeroed at each MAIL, the plan is set up
 * by fd_plan_init, and pool bytes are written before they are read.
 */
struct fd_txn *
fd_txn_new(struct fd_gen *gen, uint64_t id)
{
	unsigned	 n = gen != NULL ? gen->nplugins : 0;
	size_t		 arrays, cslots, mslots, mlen = 0, plan = 0, pools;
	size_t		 size;
	unsigned char	*base;
	struct block	*b;
	struct fd_txn	*t;

	arrays = sizeof(*b);
	cslots = round_up(arrays + 2 * (size_t)n * sizeof(void *));
	mslots = cslots + (n > 0 ? slots_size(gen, 0) : 0);
	pools = mslots;
	if (n > 0) {
		mlen = slots_size(gen, 1);
		pools += mlen;
		if (plans(gen)) {
			plan = pools;
			pools += round_up(fd_plan_size());
		}
	}
	size = pools + POOL_CONN + POOL_MSG;
	base = fd_malloc(size);
	memset(base, 0, mslots);
	b = (struct block *)(void *)base;
	t = &b->t;
	t->gen = gen;
	t->id = id;
	if (n > 0) {
		t->priv = (void **)(void *)(base + arrays);
		b->msg_priv = t->priv + n;
		slots(gen, 0, t->priv, base + cslots);
		slots(gen, 1, b->msg_priv, base + mslots);
		b->msg_slots = base + mslots;
		b->msg_slots_len = mlen;
	}
	if (plan > 0)
		t->plan = b->plan = fd_plan_init(base + plan);
	pool_init(&b->conn, base + pools, POOL_CONN);
	pool_init(&b->msg, base + pools + POOL_CONN, POOL_MSG);
	return t;
}

struct fd_txn *
fd_txn_free(struct fd_txn *t)
{
	struct block	*b;
	unsigned	 i;

	if (t == NULL)
		return NULL;
	b = block_of(t);
	fd_txn_msg_end(t);
	if (t->gen != NULL) {
		for (i = 0; i < t->gen->nplugins; i++) {
			const struct fd_loaded *l = &t->gen->plugins[i];

			if (l->p->conn_end != NULL && t->priv[i] != NULL)
				l->p->conn_end(l->state, t->priv[i]);
		}
		fd_gen_unref(t->gen);
	}
	if (t->plan != b->plan)
		fd_plan_free(t->plan);
	free(t->text);
	free(t->reason);
	fd_txn_held_clear(t);
	pool_reset(&b->msg);
	pool_reset(&b->conn);
	free(b);
	return NULL;
}

/* ip4_str - dotted quad of ip into out (16 bytes), as inet_ntop writes
 * it; by hand because inet_ntop formats it through sprintf */
static void
ip4_str(const unsigned char *ip, char *out)
{
	int	 i;

	for (i = 0; i < 4; i++) {
		unsigned v = ip[i];

		if (v >= 100)
			*out++ = (char)('0' + v / 100);
		if (v >= 10)
			*out++ = (char)('0' + v / 10 % 10);
		*out++ = (char)('0' + v % 10);
		*out++ = i < 3 ? '.' : '\0';
	}
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
	if (t->family == AF_INET)
		ip4_str(t->ip, t->addr);
	else
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
	struct block	*b = block_of(t);

	t->client_name = name == NULL ? NULL : room_set(&b->conn,
	    &b->client_name.s, &b->client_name.size, name, strlen(name));
}

void
fd_txn_set_helo(struct fd_txn *t, const char *helo)
{
	struct block	*b = block_of(t);

	if (helo == NULL)
		helo = "";
	t->helo = room_set(&b->conn, &b->helo.s, &b->helo.size, helo,
	    strlen(helo));
	t->helo_count++;
}

/* macro_key - what names a macro: "j" and "{j}" both name j; *len its
 * length */
static const char *
macro_key(const char *name, size_t *len)
{
	if (*name == '{')
		name++;
	*len = strcspn(name, "}");
	return name;
}

/* macro_find - the pair of the macro named by key (len bytes), or NULL */
static struct fd_kv *
macro_find(const struct fd_txn *t, const char *key, size_t len)
{
	struct fd_kv	*kv;

	for (kv = t->macros; kv != NULL; kv = kv->next)
		if (kv->name_len == len && memcmp(kv->name, key, len) == 0)
			return kv;
	return NULL;
}

void
fd_txn_macro_stage(struct fd_txn *t, uint32_t stage)
{
	struct fd_kv	*kv;

	t->macro_stage = stage;
	if (stage != FD_ST_MAIL && stage != FD_ST_RCPT)
		return;
	/* FD_ST_ bits go in protocol order; the pairs keep their room */
	for (kv = t->macros; kv != NULL; kv = kv->next)
		if (kv->stage >= stage)
			kv->stage = 0;
}

void
fd_txn_set_macro(struct fd_txn *t, const char *name, const char *value)
{
	struct block	*b = block_of(t);
	struct fd_kv	*kv;
	const char	*key;
	size_t		 len;

	if (value == NULL)
		value = "";
	key = macro_key(name, &len);
	if ((kv = macro_find(t, key, len)) != NULL)
		kv_set(&b->conn, kv, value);
	else {
		kv = kv_new(&b->conn, key, len, value, -1);
		kv->next = t->macros;
		t->macros = kv;
	}
	kv->stage = t->macro_stage != 0 ? t->macro_stage : FD_ST_CONNECT;
	if (len == 14 && memcmp(key, "client_resolve", 14) == 0) {
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
	const char	*key;
	size_t		 len;

	key = macro_key(name, &len);
	kv = macro_find(t, key, len);
	return kv != NULL && kv->stage != 0 ? kv->value : NULL;
}

/* drop_route - s (n bytes) without a source route "@a,@b:" (RFC 5321
 * 4.1.2: accepted, then ignored); *len its length. An address literal
 * in the route ("@[IPv6:2001:db8::1]:") holds colons of its own. */
static const char *
drop_route(const char *s, size_t n, size_t *len)
{
	size_t	 i;
	int	 literal = 0;

	*len = n;
	if (n == 0 || s[0] != '@')
		return s;
	for (i = 0; i < n; i++) {
		if (s[i] == '[')
			literal = 1;
		else if (s[i] == ']')
			literal = 0;
		else if (s[i] == ':' && !literal) {
			*len = n - i - 1;
			return s + i + 1;
		}
	}
	return s;
}

/*
 * unbracket - the mailbox of an envelope address as the MTA hands it
 * over, without leading blanks; *len its length. Postfix sends "<a@b>".
 * Sendmail sends what the client wrote, and takes RFC 822 forms there:
 * a phrase before the address in angle brackets ("<Name <a@b>>") and a
 * source route ("<@relay:a@b>"), delivering both to a@b. So the mailbox
 * is what the last "<...>" outside quotes holds, less a route; an
 * address written without brackets is taken whole.
 */
static const char *
unbracket(const char *s, size_t *len)
{
	const char	*open = NULL, *close = NULL, *p;
	int		 quoted = 0;

	while (*s == ' ')
		s++;
	for (p = s; *p != '\0'; p++) {
		if (*p == '\\' && p[1] != '\0')
			p++;
		else if (*p == '"')
			quoted = !quoted;
		else if (quoted)
			continue;
		else if (*p == '<') {
			open = p;
			close = NULL;
		} else if (*p == '>' && open != NULL && close == NULL)
			close = p;
	}
	if (close == NULL)
		return drop_route(s, strlen(s), len);
	return drop_route(open + 1, (size_t)(close - open - 1), len);
}

/* atext - c may stand in a dot-atom (RFC 5321 4.1.2; any byte of a
 * UTF-8 sequence too, RFC 6531) */
static int
atext(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c >= 0x80 ||
	    strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

/*
 * unquote - a mailbox whose local part is quoted without need ("spam"@x,
 * "sp\am"@x) rewritten in place as the same mailbox unquoted (spam@x),
 * RFC 5321 4.1.2's equivalent form and the one Postfix hands over.
 * Sendmail hands over what the client wrote, and a rule on the sender or
 * the recipient must not be missed for a pair of quotes. A local part
 * that needs its quotes ("a b"@x, "a@b"@x) stays as it is. Returns s.
 */
static char *
unquote(char *s)
{
	const char	*r;
	char		*w = s;
	int		 dot = 1;	/* the last byte was a dot, or none yet */

	if (*s != '"')
		return s;
	/* first look, then write: a local part that keeps its quotes must
	 * come out untouched */
	for (r = s + 1; *r != '"'; r++) {
		if (*r == '\\' && r[1] != '\0')
			r++;
		if (*r == '\0' || (*r == '.' ? dot : !atext((unsigned char)*r)))
			return s;
		dot = *r == '.';
	}
	if (dot || (r[1] != '@' && r[1] != '\0'))
		return s;
	for (r = s + 1; *r != '"'; r++) {
		if (*r == '\\')
			r++;
		*w++ = *r;
	}
	memmove(w, r + 1, strlen(r + 1) + 1);
	return s;
}

char *
fd_strip_brackets(const char *s)
{
	size_t	 n;

	s = unbracket(s, &n);
	return fd_strndup(s, n);
}

/* msg_macro - a copy in the message pool of a macro's value, NULL if it
 * was not sent or is empty */
static char *
msg_macro(struct fd_txn *t, const char *name)
{
	const char	*v = fd_txn_macro(t, name);

	if (v == NULL || *v == '\0')
		return NULL;
	return pool_strndup(&block_of(t)->msg, v, strlen(v));
}

void
fd_txn_msg_begin(struct fd_txn *t, const char *sender)
{
	struct block	*b = block_of(t);
	const char	*s;
	size_t		 n;

	fd_txn_msg_end(t);
	t->msg.active = 1;
	t->msg_count++;
	s = unbracket(sender != NULL ? sender : "", &n);
	t->msg.sender = unquote(pool_strndup(&b->msg, s, n));
	t->msg.auth_user = msg_macro(t, "{auth_authen}");
	t->msg.auth_type = msg_macro(t, "{auth_type}");
	t->msg.queue_id = msg_macro(t, "i");
	if (b->msg_priv != NULL) {
		/* the same slots each message, zeroed as plugins expect */
		memset(b->msg_slots, 0, b->msg_slots_len);
		t->msg.priv = b->msg_priv;
	}
}

void
fd_txn_set_queue_id(struct fd_txn *t, const char *qid)
{
	if (!t->msg.active || qid == NULL || *qid == '\0' ||
	    (t->msg.queue_id != NULL && strcmp(t->msg.queue_id, qid) == 0))
		return;
	t->msg.queue_id = pool_strndup(&block_of(t)->msg, qid, strlen(qid));
}

void
fd_txn_msg_end(struct fd_txn *t)
{
	struct block	*b = block_of(t);
	struct fd_msg	*m = &t->msg;
	size_t		 i;

	if (m->priv != NULL) {
		for (i = 0; i < t->gen->nplugins; i++) {
			const struct fd_loaded *l = &t->gen->plugins[i];

			if (l->p->msg_end != NULL && m->priv[i] != NULL)
				l->p->msg_end(l->state,
				    t->priv != NULL ? t->priv[i] : NULL,
				    m->priv[i]);
		}
	}
	memset(m, 0, sizeof(*m));
	b->rcpt.s = NULL;
	b->rcpt.size = 0;
	pool_reset(&b->msg);
	if (t->held.msg)
		fd_txn_held_clear(t);
}

void
fd_txn_rcpt_begin(struct fd_txn *t, const char *rcpt)
{
	struct block	*b = block_of(t);
	const char	*s;
	size_t		 n;

	/* the room of a recipient that was not accepted is used again */
	s = unbracket(rcpt != NULL ? rcpt : "", &n);
	t->msg.rcpt = unquote(room_set(&b->msg, &b->rcpt.s, &b->rcpt.size,
	    s, n));
	t->msg.rcpt_skip = 0;
}

void
fd_txn_rcpt_drop(struct fd_txn *t)
{
	/* its room is used again by the next recipient */
	t->msg.rcpt = NULL;
}

void
fd_txn_rcpt_accept(struct fd_txn *t)
{
	struct block	*b = block_of(t);
	struct fd_msg	*m = &t->msg;
	char		**list;
	uint64_t	*skips;

	if (m->rcpt == NULL)
		return;
	if (m->nrcpts == m->rcpts_cap) {
		if (m->rcpts_cap == 0) {
			list = b->rcpts;
			skips = b->rcpt_skips;
			m->rcpts_cap = RCPTS_INLINE;
		} else {
			if (m->rcpts_cap > SIZE_MAX / 2 / sizeof(*skips))
				abort();
			/* the old lists stay in the pool: bounded by the new */
			list = pool_alloc(&b->msg, 2 * m->rcpts_cap *
			    sizeof(*list), alignof(char *));
			skips = pool_alloc(&b->msg, 2 * m->rcpts_cap *
			    sizeof(*skips), alignof(uint64_t));
			memcpy(list, m->rcpts, m->nrcpts * sizeof(*list));
			memcpy(skips, m->rcpt_skips, m->nrcpts *
			    sizeof(*skips));
			m->rcpts_cap *= 2;
		}
		m->rcpts = list;
		m->rcpt_skips = skips;
	}
	/* a decision over the whole message (at its end) leaves out the
	 * plugins a rule skipped for this recipient at its RCPT */
	m->rcpt_skips[m->nrcpts] = m->rcpt_skip;
	m->rcpts[m->nrcpts++] = m->rcpt;
	m->rcpt = NULL;
	/* the string now belongs to the list */
	b->rcpt.s = NULL;
	b->rcpt.size = 0;
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
	struct block	*b = block_of(t);
	struct fd_kv	*kv;

	if (value == NULL)
		value = "";
	for (kv = t->msg.params; kv != NULL; kv = kv->next) {
		if (kv->owner == idx && strcmp(kv->name, name) == 0) {
			kv_set(&b->msg, kv, value);
			return;
		}
	}
	kv = kv_new(&b->msg, name, strlen(name), value, idx);
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
	struct fd_kv	*kv, **pp;

	kv = kv_new(&block_of(t)->msg, name, strlen(name),
	    value != NULL ? value : "", -1);
	/* keep the order in which rules and plugins added them */
	for (pp = &t->msg.headers; *pp != NULL; pp = &(*pp)->next)
		;
	*pp = kv;
}

int
fd_header_name_ok(const char *s)
{
	if (*s == '\0' || strlen(s) > 128)
		return 0;
	for (; *s != '\0'; s++)
		if (*s <= ' ' || *s >= 0x7f || *s == ':')
			return 0;
	return 1;
}

int
fd_header_value_ok(const char *s)
{
	return strpbrk(s, "\r\n") == NULL;
}

int
fd_header_fits(const char *name, const char *value)
{
	return strlen(name) + 2 + strlen(value) <= FD_HEADER_LINE_MAX;
}

char *
fd_header_unfold(char *v)
{
	char	*r, *w;

	if ((r = strpbrk(v, "\r\n")) == NULL)
		return v;
	for (w = r; *r != '\0'; r++) {
		if (r[0] == '\r' && r[1] == '\n' &&
		    (r[2] == ' ' || r[2] == '\t'))
			r++;
		else if (r[0] == '\n' && (r[1] == ' ' || r[1] == '\t'))
			;
		else
			*w++ = *r;
	}
	*w = '\0';
	return v;
}

/* code_copy - src into dst (NULL as ""); one too long for dst is no code
 * at all, not a shorter one ("4510" is not "451"), and the reply then
 * falls back to the action's default (dispatch.c) */
static void
code_copy(char *dst, size_t size, const char *src)
{
	size_t	 n = src != NULL ? strnlen(src, size) : 0;

	if (n == size)
		n = 0;
	memcpy(dst, src != NULL ? src : "", n);
	dst[n] = '\0';
}

void
fd_txn_reply(struct fd_txn *t, const char *rcode, const char *xcode,
    const char *text)
{
	char	*old = t->text;

	code_copy(t->rcode, sizeof(t->rcode), rcode);
	code_copy(t->xcode, sizeof(t->xcode), xcode);
	/* text may be the current one (dispatch.c keeps a plugin's text) */
	t->text = text != NULL ? fd_strdup(text) : NULL;
	free(old);
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
	/* one reached inside a message ends with it; before MAIL it holds for
	 * every message of the connection */
	t->held.msg = t->msg.active;
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
