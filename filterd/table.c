/*
 * table.c -- the table object: entries, sealing, lookups (see table.h)
 *
 * Each kind keeps the structure its lookup needs and nothing scans a
 * whole table except the regex kind, which is a list by nature:
 *
 *   cidr    ranges [lo, hi] per family, appended unsorted while loading;
 *           fd_table_seal() sorts and merges overlapping and adjacent
 *           ranges and indexes them by where they start (struct
 *           rindex), so a lookup is one index read and a binary search
 *           over the few ranges of its bucket, whatever the length.
 *   domain, list
 *           an open-addressing hash set (linear probing, at most half
 *           full, 8-byte slots) of lower-cased strings kept in one
 *           arena; xxh3 hashes.
 *           Domain entries carry a flag: EXACT ("example.com") and/or
 *           SUBS (".example.com": the name and its subdomains).
 *   regex   the patterns in order and, once sealed, one program
 *           (fd_re_union) for those that mean the same inside an
 *           alternation (fd_re_combinable), with a lookaround they all
 *           start with tried once in front. A miss -- most lookups --
 *           is then one pcre2_match call, plus one per pattern left
 *           out, instead of one per pattern. Only the union's "no" is
 *           final: it runs without captures, so its limits count
 *           differently, and a hit or a limit stop is settled pattern
 *           by pattern, each with its own limits and log line, exactly
 *           as an unsealed table answers.
 *
 * Lookups copy the lower-cased query into a stack buffer, so they
 * allocate nothing; a query longer than any entry can be is a miss,
 * except that a domain's parents short enough are still looked up.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "log.h"
#include "re.h"
#include "table.h"
#include "xalloc.h"

#define NAME_MAX_LEN	1000	/* longest domain/list entry, in bytes */
#define DOMAIN_MAX_LEN	253

#define HF_EXACT	0x1
#define HF_SUBS		0x2

struct r4 {
	uint32_t	 lo, hi;
};

struct u128 {
	uint64_t	 h, l;
};

struct r6 {
	struct u128	 lo, hi;
};

/*
 * Where to search the sorted ranges of one family: bucket k covers the
 * starts (an IPv6 start's top 64 bits) from base + (k << shift), and
 * first[k] is the first range whose start is at or past that; so the
 * last range starting at or before an address lies in first[k] - 1 ..
 * first[k + 1] - 1. There are at most as many buckets as ranges, 4 bytes
 * each: starts spread over their span leave about one range a bucket,
 * and a table packed into a corner of the address space is spread over
 * that corner alone. A binary search over all of a 100,000-entry table
 * takes 17 steps through 800 KB, and twice as long as over 1,000
 * entries (docs/PERFORMANCE.md, Round 11).
 */
struct rindex {
	uint64_t	 base;
	unsigned	 shift;
	size_t		 nb;
	uint32_t	*first;		/* nb + 1 positions; NULL: no index */
};

#define RINDEX_MIN	16	/* fewer ranges: the whole array is searched */

/*
 * A slot of the hash set: 8 bytes, so that a 100,000-entry table's
 * slots span 2 MiB rather than 6 and more of them stay in the caches. A
 * lookup that misses -- most of a suffix walk -- reads the slot alone;
 * the entry's flags, length and bytes sit in the arena (ENT_HDR bytes of
 * header, then the name) and are read only when the tag matches.
 */
struct hent {
	uint32_t	 tag;		/* the hash's top half */
	uint32_t	 off;		/* into the arena; 0: empty slot */
};

#define ENT_HDR		3	/* flags, then the length, little-endian */

struct fd_table {
	char			*name;
	enum fd_table_kind	 kind;
	size_t			 count;

	/* cidr */
	struct r4		*v4;
	size_t			 n4, cap4;
	struct rindex		 x4;
	struct r6		*v6;
	size_t			 n6, cap6;
	struct rindex		 x6;

	/* domain, list */
	struct hent		*slots;
	size_t			 nslots, nused;
	char			*arena;
	size_t			 alen, acap;

	/* regex */
	struct fd_regex		**re;		/* every pattern, in order */
	size_t			 nre, capre;
	struct fd_regex		*any;		/* union of the combinable ones */
	struct fd_regex		**rest;		/* the others (not owned) */
	size_t			 nrest;
};

static const char *const kind_names[] = { "cidr", "domain", "regex", "list" };

/* fd_table_kind_parse - a kind by name */
int
fd_table_kind_parse(const char *s, enum fd_table_kind *k)
{
	size_t	 i;

	for (i = 0; i < sizeof(kind_names) / sizeof(kind_names[0]); i++) {
		if (strcmp(s, kind_names[i]) == 0) {
			*k = (enum fd_table_kind)i;
			return 0;
		}
	}
	return -1;
}

/* fd_table_kind_name - "cidr", ... */
const char *
fd_table_kind_name(enum fd_table_kind k)
{
	return kind_names[k];
}

/* fd_table_new - an empty table of one kind */
struct fd_table *
fd_table_new(const char *name, enum fd_table_kind kind)
{
	struct fd_table	*t = fd_calloc(1, sizeof(*t));

	t->name = name ? fd_strdup(name) : NULL;
	t->kind = kind;
	return t;
}

/* grow - make room for one more element of an array */
static void *
grow(void *v, size_t n, size_t *cap, size_t size)
{
	if (n < *cap)
		return v;
	*cap = *cap ? *cap * 2 : 16;
	return fd_reallocarray(v, *cap, size);
}

/* ---- cidr ranges ---- */

/* u128_of - 16 address bytes as a number */
static struct u128
u128_of(const unsigned char *a)
{
	struct u128	 v = { 0, 0 };
	int		 i;

	for (i = 0; i < 8; i++) {
		v.h = v.h << 8 | a[i];
		v.l = v.l << 8 | a[i + 8];
	}
	return v;
}

/* u128_cmp - <0, 0, >0 */
static int
u128_cmp(struct u128 a, struct u128 b)
{
	if (a.h != b.h)
		return a.h < b.h ? -1 : 1;
	if (a.l != b.l)
		return a.l < b.l ? -1 : 1;
	return 0;
}

/* u128_next - a + 1, saturating at the top */
static struct u128
u128_next(struct u128 a)
{
	if (a.l == UINT64_MAX && a.h == UINT64_MAX)
		return a;
	if (++a.l == 0)
		a.h++;
	return a;
}

/* rindex_clear - no index: a lookup searches every range */
static void
rindex_clear(struct rindex *x)
{
	free(x->first);
	memset(x, 0, sizeof(*x));
}

/* key4, key6 - what a range's bucket is chosen by */
static uint64_t
key4(const struct fd_table *t, size_t i)
{
	return t->v4[i].lo;
}

static uint64_t
key6(const struct fd_table *t, size_t i)
{
	return t->v6[i].lo.h;
}

/* rindex_build - index n sorted ranges by key(t, i) */
static void
rindex_build(struct rindex *x, const struct fd_table *t, size_t n,
    uint64_t (*key)(const struct fd_table *, size_t))
{
	uint64_t	 span, start;
	size_t		 i, k;

	rindex_clear(x);
	if (n < RINDEX_MIN)
		return;
	x->base = key(t, 0);
	span = key(t, n - 1) - x->base;
	while ((span >> x->shift) >= n)
		x->shift++;
	x->nb = (size_t)(span >> x->shift) + 1;
	x->first = fd_calloc(x->nb + 1, sizeof(*x->first));
	for (i = 0, k = 0; k < x->nb; k++) {
		start = x->base + ((uint64_t)k << x->shift);
		while (i < n && key(t, i) < start)
			i++;
		x->first[k] = (uint32_t)i;
	}
	x->first[x->nb] = (uint32_t)n;
}

/* rindex_slice - the positions [*lo, *hi) a binary search for key needs;
 * those before *lo start below key, those from *hi on above it */
static void
rindex_slice(const struct rindex *x, uint64_t key, size_t n, size_t *lo,
    size_t *hi)
{
	uint64_t	 k;

	*lo = 0;
	*hi = n;
	if (x->first == NULL)
		return;
	if (key < x->base) {
		*hi = 0;
		return;
	}
	if ((k = (key - x->base) >> x->shift) >= x->nb) {
		*lo = n;
		return;
	}
	*lo = x->first[k];
	*hi = x->first[k + 1];
}

/* cidr_add - the network's range into its family's array */
static void
cidr_add(struct fd_table *t, const struct fd_cidr *c)
{
	unsigned char	 lo[16], hi[16];
	unsigned	 i;

	rindex_clear(&t->x4);	/* until sealed again: no index */
	rindex_clear(&t->x6);
	memcpy(lo, c->addr, 16);
	memcpy(hi, c->addr, 16);
	for (i = c->plen; i < c->len * 8u; i++)
		hi[i / 8] |= (unsigned char)(0x80 >> (i % 8));
	if (c->len == 4) {
		t->v4 = grow(t->v4, t->n4, &t->cap4, sizeof(*t->v4));
		t->v4[t->n4].lo = (uint32_t)lo[0] << 24 | lo[1] << 16 |
		    lo[2] << 8 | lo[3];
		t->v4[t->n4].hi = (uint32_t)hi[0] << 24 | hi[1] << 16 |
		    hi[2] << 8 | hi[3];
		t->n4++;
	} else {
		t->v6 = grow(t->v6, t->n6, &t->cap6, sizeof(*t->v6));
		t->v6[t->n6].lo = u128_of(lo);
		t->v6[t->n6].hi = u128_of(hi);
		t->n6++;
	}
}

/* r4_cmp, r6_cmp - qsort by range start */
static int
r4_cmp(const void *a, const void *b)
{
	const struct r4	*x = a, *y = b;

	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

static int
r6_cmp(const void *a, const void *b)
{
	const struct r6	*x = a, *y = b;

	return u128_cmp(x->lo, y->lo);
}

/* ranges_seal - sort, then fold overlapping and adjacent ranges */
static void
ranges_seal(struct fd_table *t)
{
	size_t	 i, o;

	if (t->n4 > 1) {
		qsort(t->v4, t->n4, sizeof(*t->v4), r4_cmp);
		for (o = 0, i = 1; i < t->n4; i++) {
			if (t->v4[o].hi == UINT32_MAX ||
			    t->v4[i].lo <= t->v4[o].hi + 1) {
				if (t->v4[i].hi > t->v4[o].hi)
					t->v4[o].hi = t->v4[i].hi;
			} else
				t->v4[++o] = t->v4[i];
		}
		t->n4 = o + 1;
	}
	if (t->n6 > 1) {
		qsort(t->v6, t->n6, sizeof(*t->v6), r6_cmp);
		for (o = 0, i = 1; i < t->n6; i++) {
			if (u128_cmp(t->v6[i].lo, u128_next(t->v6[o].hi)) <= 0) {
				if (u128_cmp(t->v6[i].hi, t->v6[o].hi) > 0)
					t->v6[o].hi = t->v6[i].hi;
			} else
				t->v6[++o] = t->v6[i];
		}
		t->n6 = o + 1;
	}
	rindex_build(&t->x4, t, t->n4, key4);
	rindex_build(&t->x6, t, t->n6, key6);
}

/* fd_table_match_ip - binary search for the last range starting <= ip,
 * over the slice of the ranges its index leaves */
int
fd_table_match_ip(const struct fd_table *t, const unsigned char *ip,
    size_t iplen)
{
	size_t		 lo, hi, mid;
	uint32_t	 x;
	struct u128	 y;

	if (t->kind != FD_TABLE_CIDR)
		return 0;
	if (iplen == 4) {
		x = (uint32_t)ip[0] << 24 | ip[1] << 16 | ip[2] << 8 | ip[3];
		rindex_slice(&t->x4, x, t->n4, &lo, &hi);
		while (lo < hi) {
			mid = lo + (hi - lo) / 2;
			if (t->v4[mid].lo <= x)
				lo = mid + 1;
			else
				hi = mid;
		}
		return lo > 0 && x <= t->v4[lo - 1].hi;
	}
	if (iplen != 16)
		return 0;
	y = u128_of(ip);
	rindex_slice(&t->x6, y.h, t->n6, &lo, &hi);
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (u128_cmp(t->v6[mid].lo, y) <= 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo > 0 && u128_cmp(y, t->v6[lo - 1].hi) <= 0;
}

/* ---- hash set ---- */

/* lower - ASCII lower case of s into buf; 0 if it does not fit */
static size_t
lower(const char *s, size_t len, char *buf, size_t buflen)
{
	size_t	 i;

	if (len > buflen)
		return 0;
	for (i = 0; i < len; i++) {
		char c = s[i];

		buf[i] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
	}
	return len;
}

/* ent_len, ent_name - an arena entry's length and bytes */
static size_t
ent_len(const struct fd_table *t, uint32_t off)
{
	const unsigned char *p = (const unsigned char *)t->arena + off;

	return (size_t)p[1] | (size_t)p[2] << 8;
}

static const char *
ent_name(const struct fd_table *t, uint32_t off)
{
	return t->arena + off + ENT_HDR;
}

/* hset_find - the slot holding key, or the empty slot where it would go */
static struct hent *
hset_find(const struct fd_table *t, const char *key, size_t len, uint64_t h)
{
	size_t		 mask = t->nslots - 1, i = (size_t)h & mask;
	uint32_t	 tag = (uint32_t)(h >> 32);
	struct hent	*e;

	for (;; i = (i + 1) & mask) {
		e = &t->slots[i];
		if (e->off == 0)
			return e;
		if (e->tag == tag && ent_len(t, e->off) == len &&
		    memcmp(ent_name(t, e->off), key, len) == 0)
			return e;
	}
}

/* hset_grow - double the slots and re-insert; the slots keep only half
 * of each hash, so the names are hashed again */
static void
hset_grow(struct fd_table *t)
{
	struct hent	*old = t->slots, *e;
	size_t		 n = t->nslots, i, len;
	const char	*name;

	t->nslots = n ? n * 2 : 64;
	t->slots = fd_calloc(t->nslots, sizeof(*t->slots));
	for (i = 0; i < n; i++) {
		if (old[i].off == 0)
			continue;
		name = ent_name(t, old[i].off);
		len = ent_len(t, old[i].off);
		e = hset_find(t, name, len, XXH3_64bits(name, len));
		*e = old[i];
	}
	free(old);
}

/* hset_add - insert a lower-cased key, or add flags to it; the arena's
 * first byte is never an entry, so that offset 0 marks an empty slot */
static void
hset_add(struct fd_table *t, const char *key, size_t len, uint32_t flags)
{
	uint64_t	 h = XXH3_64bits(key, len);
	struct hent	*e;
	unsigned char	*p;

	if ((t->nused + 1) * 2 > t->nslots)
		hset_grow(t);
	e = hset_find(t, key, len, h);
	if (e->off != 0) {
		t->arena[e->off] |= (char)flags;
		return;
	}
	if (t->alen == 0)
		t->alen = 1;
	while (t->alen + ENT_HDR + len > t->acap) {
		t->acap = t->acap ? t->acap * 2 : 4096;
		t->arena = fd_reallocarray(t->arena, t->acap, 1);
	}
	p = (unsigned char *)t->arena + t->alen;
	p[0] = (unsigned char)flags;
	p[1] = (unsigned char)(len & 0xff);
	p[2] = (unsigned char)(len >> 8);
	memcpy(p + ENT_HDR, key, len);
	e->tag = (uint32_t)(h >> 32);
	e->off = (uint32_t)t->alen;
	t->alen += ENT_HDR + len;
	t->nused++;
}

/* hset_flags - the flags of key, 0 if absent */
static uint32_t
hset_flags(const struct fd_table *t, const char *key, size_t len)
{
	const struct hent *e;

	if (t->nused == 0)
		return 0;
	e = hset_find(t, key, len, XXH3_64bits(key, len));
	return e->off == 0 ? 0 : (unsigned char)t->arena[e->off];
}

/*
 * domain_match - the name, then each parent suffix with the SUBS flag.
 * A name longer than an entry can be is none of them, but it may lie
 * under one (a client names what it likes): its lookups start at the
 * first parent short enough.
 */
static int
domain_match(const struct fd_table *t, const char *s, size_t len)
{
	char		 buf[DOMAIN_MAX_LEN];
	const char	*dot;
	uint32_t	 want = HF_EXACT | HF_SUBS;
	size_t		 i;

	if (len > 0 && s[len - 1] == '.')
		len--;
	while (len > DOMAIN_MAX_LEN) {
		if ((dot = memchr(s, '.', len)) == NULL)
			return 0;
		len -= (size_t)(dot + 1 - s);
		s = dot + 1;
		want = HF_SUBS;
	}
	if (len == 0 || lower(s, len, buf, sizeof(buf)) == 0)
		return 0;
	if (hset_flags(t, buf, len) & want)
		return 1;
	for (i = 0; i < len; i++)
		if (buf[i] == '.' && i + 1 < len &&
		    (hset_flags(t, buf + i + 1, len - i - 1) & HF_SUBS))
			return 1;
	return 0;
}

/* list_match - exact, ignoring ASCII case */
static int
list_match(const struct fd_table *t, const char *s, size_t len)
{
	char	 buf[NAME_MAX_LEN];

	if (len == 0 || lower(s, len, buf, sizeof(buf)) == 0)
		return 0;
	return hset_flags(t, buf, len) != 0;
}

/* ---- entries ---- */

/* name_add - a domain or list entry, checked */
static int
name_add(struct fd_table *t, const char *s, char *err, size_t errlen)
{
	char		 buf[NAME_MAX_LEN];
	size_t		 len = strlen(s), i;
	uint32_t	 flags = HF_EXACT;

	for (i = 0; i < len; i++) {
		if ((unsigned char)s[i] <= ' ' || s[i] == 0x7f) {
			snprintf(err, errlen, "control character or space "
			    "in entry");
			return -1;
		}
	}
	if (t->kind == FD_TABLE_DOMAIN) {
		if (len > 0 && s[len - 1] == '.')
			len--;
		if (len > 0 && s[0] == '.') {
			flags = HF_SUBS;
			s++;
			len--;
		} else if (len > 1 && s[0] == '*' && s[1] == '.') {
			snprintf(err, errlen, "write \".%s\" for a domain and "
			    "its subdomains", s + 2);
			return -1;
		}
		if (len > DOMAIN_MAX_LEN) {
			snprintf(err, errlen, "domain name longer than %d "
			    "characters", DOMAIN_MAX_LEN);
			return -1;
		}
	} else if (len > NAME_MAX_LEN) {
		snprintf(err, errlen, "entry longer than %d characters",
		    NAME_MAX_LEN);
		return -1;
	}
	if (len == 0) {
		snprintf(err, errlen, "empty entry");
		return -1;
	}
	/* the slots address the arena with 32 bits */
	if (t->alen + ENT_HDR + len > UINT32_MAX) {
		snprintf(err, errlen, "table larger than 4 GiB");
		return -1;
	}
	lower(s, len, buf, sizeof(buf));
	hset_add(t, buf, len, flags);
	return 0;
}

/* regex_unseal - drop the union: every pattern is matched alone */
static void
regex_unseal(struct fd_table *t)
{
	t->any = fd_re_free(t->any);
	free(t->rest);
	t->rest = NULL;
	t->nrest = 0;
}

/* regex_seal - the combinable patterns into one program, if two or more */
static void
regex_seal(struct fd_table *t)
{
	struct fd_regex	**ok;
	char		 err[256];
	size_t		 nok = 0, i;

	regex_unseal(t);
	if (t->nre < 2)
		return;
	ok = fd_calloc(t->nre, sizeof(*ok));
	t->rest = fd_calloc(t->nre, sizeof(*t->rest));
	for (i = 0; i < t->nre; i++) {
		if (fd_re_combinable(t->re[i]))
			ok[nok++] = t->re[i];
		else
			t->rest[t->nrest++] = t->re[i];
	}
	if (nok >= 2 && (t->any = fd_re_union(ok, nok, err,
	    sizeof(err))) == NULL)
		fd_log_debug("table %s: %s; its patterns are matched one by "
		    "one", t->name ? t->name : "(inline)", err);
	if (t->any == NULL)
		regex_unseal(t);
	free(ok);
}

/* regex_match - a miss of the union needs only the rest checked; a hit
 * or a stop is settled pattern by pattern, each with its own limits */
static int
regex_match(const struct fd_table *t, const char *s, size_t len)
{
	size_t	 i;

	if (t->any != NULL && fd_re_match(t->any, s, len) == 0) {
		for (i = 0; i < t->nrest; i++)
			if (fd_re_match(t->rest[i], s, len) == 1)
				return 1;
		return 0;
	}
	for (i = 0; i < t->nre; i++)
		if (fd_re_match(t->re[i], s, len) == 1)
			return 1;
	return 0;
}

/* regex_add - "/pattern/flags" or a bare pattern */
static int
regex_add(struct fd_table *t, const char *s, char *err, size_t errlen)
{
	struct fd_regex	*re;
	char		*pat = NULL;
	const char	*flags = "", *p;
	size_t		 o = 0;

	if (s[0] == '/') {
		pat = fd_malloc(strlen(s));
		for (p = s + 1; *p != '\0' && *p != '/'; p++) {
			if (p[0] == '\\' && p[1] == '/')
				p++;
			else if (p[0] == '\\' && p[1] != '\0')
				pat[o++] = *p++;
			pat[o++] = *p;
		}
		pat[o] = '\0';
		if (*p != '/') {
			snprintf(err, errlen, "regex without a closing /");
			free(pat);
			return -1;
		}
		flags = p + 1;
	}
	re = fd_re_new(pat ? pat : s, flags, err, errlen);
	free(pat);
	if (re == NULL)
		return -1;
	regex_unseal(t);	/* until sealed again: one by one */
	t->re = grow(t->re, t->nre, &t->capre, sizeof(*t->re));
	t->re[t->nre++] = re;
	return 0;
}

/* fd_table_add - one entry of the table's kind */
int
fd_table_add(struct fd_table *t, const char *entry, char *err, size_t errlen)
{
	struct fd_cidr	 c;
	int		 rc;

	switch (t->kind) {
	case FD_TABLE_CIDR:
		if ((rc = fd_cidr_parse(entry, &c, err, errlen)) == 0)
			cidr_add(t, &c);
		break;
	case FD_TABLE_REGEX:
		rc = regex_add(t, entry, err, errlen);
		break;
	default:
		rc = name_add(t, entry, err, errlen);
		break;
	}
	if (rc == 0)
		t->count++;
	return rc;
}

/* fd_table_seal - ranges sorted and merged, patterns combined; the hash
 * sets need nothing */
void
fd_table_seal(struct fd_table *t)
{
	if (t->kind == FD_TABLE_CIDR)
		ranges_seal(t);
	else if (t->kind == FD_TABLE_REGEX)
		regex_seal(t);
}

/* fd_table_match - text against the table */
int
fd_table_match(const struct fd_table *t, const char *s, size_t len)
{
	unsigned char	 ip[16];
	size_t		 n;

	if (s == NULL)
		return 0;
	switch (t->kind) {
	case FD_TABLE_CIDR:
		if ((n = fd_ip_parse(s, len, ip)) == 0)
			return 0;
		return fd_table_match_ip(t, ip, n);
	case FD_TABLE_DOMAIN:
		return domain_match(t, s, len);
	case FD_TABLE_LIST:
		return list_match(t, s, len);
	case FD_TABLE_REGEX:
		return regex_match(t, s, len);
	}
	return 0;
}

/* fd_table_name - NULL for an inline list */
const char *
fd_table_name(const struct fd_table *t)
{
	return t->name;
}

/* fd_table_kind - what it holds */
enum fd_table_kind
fd_table_kind(const struct fd_table *t)
{
	return t->kind;
}

/* fd_table_count - entries added */
size_t
fd_table_count(const struct fd_table *t)
{
	return t->count;
}

/*
 * fd_table_programs - how many PCRE2 programs a lookup that misses runs
 * in a regex table (the union counts as one); 0 for the other kinds.
 * Only the tests use it, to see that sealing combined what it should.
 */
size_t
fd_table_programs(const struct fd_table *t)
{
	if (t->kind != FD_TABLE_REGEX)
		return 0;
	return t->any != NULL ? 1 + t->nrest : t->nre;
}

/* fd_table_free - everything the table owns */
struct fd_table *
fd_table_free(struct fd_table *t)
{
	size_t	 i;

	if (t == NULL)
		return NULL;
	regex_unseal(t);
	for (i = 0; i < t->nre; i++)
		fd_re_free(t->re[i]);
	free(t->re);
	free(t->v4);
	free(t->v6);
	rindex_clear(&t->x4);
	rindex_clear(&t->x6);
	free(t->slots);
	free(t->arena);
	free(t->name);
	free(t);
	return NULL;
}
