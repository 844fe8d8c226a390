/*
 * helo_cache.c -- bounded TTL cache of DNS answers, least recently used out
 *
 * A chained hash table over the lower-cased name plus a doubly linked
 * recency list. Lookups move an entry to the front; an insert into a full
 * cache drops the tail. Expired entries are dropped when a lookup meets
 * them, and the LRU order takes care of the ones nobody asks for again.
 * An entry stored at a time later than now (the clock stepped back since)
 * is expired too: kept, it would live the step's length past its TTL.
 * One mutex guards it all: a lookup is a few hundred nanoseconds, next to
 * a DNS round trip it saves.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "helo_cache.h"

struct entry {
	struct entry	*hnext;		/* hash chain */
	struct entry	*prev, *next;	/* recency: newest at head */
	uint64_t	 hash;
	int64_t		 born, expires;	/* stored at, good until */
	struct helo_answer ans;
	char		 name[];
};

struct helo_cache {
	pthread_mutex_t	 lock;
	size_t		 cap, count, nbuckets;
	struct entry	**buckets;
	struct entry	*head, *tail;
	struct helo_cache_stats st;
};

/* name_hash - FNV-1a, case-insensitive */
static uint64_t
name_hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c >= 'A' && c <= 'Z')
			c = (unsigned char)(c - 'A' + 'a');
		h ^= c;
		h *= 0x100000001b3ull;
	}
	return h;
}

/* helo_cache_new - empty cache for cap names */
struct helo_cache *
helo_cache_new(size_t cap)
{
	struct helo_cache *c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->cap = cap;
	for (c->nbuckets = 16; c->nbuckets < cap && c->nbuckets < (1u << 24); )
		c->nbuckets <<= 1;
	if ((c->buckets = calloc(c->nbuckets, sizeof(*c->buckets))) == NULL) {
		free(c);
		return NULL;
	}
	pthread_mutex_init(&c->lock, NULL);
	return c;
}

/* helo_cache_free - every entry, then the table */
struct helo_cache *
helo_cache_free(struct helo_cache *c)
{
	struct entry *e, *next;

	if (c == NULL)
		return NULL;
	for (e = c->head; e != NULL; e = next) {
		next = e->next;
		free(e);
	}
	pthread_mutex_destroy(&c->lock);
	free(c->buckets);
	free(c);
	return NULL;
}

/* lru_unlink - take e out of the recency list */
static void
lru_unlink(struct helo_cache *c, struct entry *e)
{
	if (e->prev != NULL)
		e->prev->next = e->next;
	else
		c->head = e->next;
	if (e->next != NULL)
		e->next->prev = e->prev;
	else
		c->tail = e->prev;
	e->prev = e->next = NULL;
}

/* lru_front - make e the newest */
static void
lru_front(struct helo_cache *c, struct entry *e)
{
	e->prev = NULL;
	e->next = c->head;
	if (c->head != NULL)
		c->head->prev = e;
	c->head = e;
	if (c->tail == NULL)
		c->tail = e;
}

/* find - the entry for name, and the link that points at it */
static struct entry *
find(struct helo_cache *c, const char *name, uint64_t h, struct entry ***linkp)
{
	struct entry **link = &c->buckets[h & (c->nbuckets - 1)];

	for (; *link != NULL; link = &(*link)->hnext)
		if ((*link)->hash == h && strcasecmp((*link)->name, name) == 0)
			break;
	*linkp = link;
	return *link;
}

/* drop - remove e from both structures and free it */
static void
drop(struct helo_cache *c, struct entry *e)
{
	struct entry **link;

	if (find(c, e->name, e->hash, &link) == e)
		*link = e->hnext;
	lru_unlink(c, e);
	c->count--;
	free(e);
}

/* helo_cache_get - a live entry, moved to the front */
int
helo_cache_get(struct helo_cache *c, const char *name, int64_t now,
    struct helo_answer *ans)
{
	struct entry	**link, *e;
	uint64_t	 h = name_hash(name);
	int		 hit = 0;

	pthread_mutex_lock(&c->lock);
	if ((e = find(c, name, h, &link)) != NULL &&
	    (e->expires <= now || e->born > now)) {
		drop(c, e);
		e = NULL;
	}
	if (e != NULL) {
		lru_unlink(c, e);
		lru_front(c, e);
		*ans = e->ans;
		ans->from_cache = 1;
		c->st.hits++;
		hit = 1;
	} else
		c->st.misses++;
	pthread_mutex_unlock(&c->lock);
	return hit;
}

/* helo_cache_put - insert or replace; evict the oldest when full */
void
helo_cache_put(struct helo_cache *c, const char *name,
    const struct helo_answer *ans, int64_t now, int64_t ttl)
{
	struct entry	**link, *e;
	uint64_t	 h = name_hash(name);
	size_t		 len = strlen(name);

	if (c->cap == 0)
		return;
	pthread_mutex_lock(&c->lock);
	if ((e = find(c, name, h, &link)) != NULL)
		drop(c, e);
	while (c->count >= c->cap && c->tail != NULL) {
		drop(c, c->tail);
		c->st.evictions++;
	}
	if ((e = calloc(1, sizeof(*e) + len + 1)) != NULL) {
		memcpy(e->name, name, len + 1);
		e->hash = h;
		e->born = now;
		e->expires = now + ttl;
		e->ans = *ans;
		e->ans.from_cache = 0;
		find(c, name, h, &link);
		*link = e;
		lru_front(c, e);
		c->count++;
		c->st.inserts++;
	}
	pthread_mutex_unlock(&c->lock);
}

/* helo_cache_stats - a snapshot of the counters */
void
helo_cache_stats(struct helo_cache *c, struct helo_cache_stats *st)
{
	pthread_mutex_lock(&c->lock);
	*st = c->st;
	st->count = c->count;
	pthread_mutex_unlock(&c->lock);
}
