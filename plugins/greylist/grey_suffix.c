/*
 * grey_suffix.c -- registrable domains, see grey_suffix.h
 *
 * A lookup walks the suffixes of the name from the longest ("a.b.c",
 * "b.c", "c") and stops at the first rule that applies: that is the
 * longest match, as the Public Suffix List algorithm asks, at the cost of
 * one binary search per label and rule kind. The full list (about ten
 * thousand rules) therefore costs a few dozen string comparisons per
 * lookup.
 */
#include <stdlib.h>
#include <string.h>

#include "grey_suffix.h"

/* a sorted array of owned strings */
struct strv {
	char	**v;
	size_t	 n;
	size_t	 cap;
};

struct grey_suffix {
	struct strv	 plain;		/* "co.uk" */
	struct strv	 wild;		/* "*.ck", stored as "ck" */
	struct strv	 exc;		/* "!www.ck", stored as "www.ck" */
};

/* the built-in heuristic's second-level names under a country code */
static const char *const sld_common[] = {
	"ac", "co", "com", "edu", "gob", "gov", "govt", "go", "ltd", "mil",
	"ne", "net", "nhs", "nic", "nom", "or", "org", "plc", "sch",
};

/* strv_push - append a copy of s */
static int
strv_push(struct strv *sv, const char *s)
{
	char	**nv;

	if (sv->n == sv->cap) {
		size_t ncap = sv->cap ? sv->cap * 2 : 32;

		if ((nv = realloc(sv->v, ncap * sizeof(*nv))) == NULL)
			return -1;
		sv->v = nv;
		sv->cap = ncap;
	}
	if ((sv->v[sv->n] = strdup(s)) == NULL)
		return -1;
	sv->n++;
	return 0;
}

static int
strv_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* strv_has - s is in the sealed array */
static int
strv_has(const struct strv *sv, const char *s)
{
	return sv->n > 0 &&
	    bsearch(&s, sv->v, sv->n, sizeof(*sv->v), strv_cmp) != NULL;
}

static void
strv_clear(struct strv *sv)
{
	size_t	 i;

	for (i = 0; i < sv->n; i++)
		free(sv->v[i]);
	free(sv->v);
}

struct grey_suffix *
grey_suffix_new(void)
{
	return calloc(1, sizeof(struct grey_suffix));
}

/* rule_ok - labels of letters, digits, '-' and '_' (and UTF-8 bytes,
 * which the list has and reverse names never match), no empty label */
static int
rule_ok(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	if (*p == '\0' || *p == '.')
		return 0;
	for (; *p != '\0'; p++) {
		if (*p == '.' && (p[1] == '.' || p[1] == '\0'))
			return 0;
		if (*p <= ' ' || *p == '*' || *p == '!' || *p == '/')
			return 0;
	}
	return 1;
}

int
grey_suffix_add(struct grey_suffix *t, const char *rule)
{
	char	 low[256];
	size_t	 i, n = strlen(rule);

	if (n == 0 || n >= sizeof(low))
		return -1;
	for (i = 0; i <= n; i++)
		low[i] = (char)(rule[i] >= 'A' && rule[i] <= 'Z' ?
		    rule[i] - 'A' + 'a' : rule[i]);
	if (low[n - 1] == '.')
		low[n - 1] = '\0';
	if (low[0] == '!')
		return rule_ok(low + 1) ? strv_push(&t->exc, low + 1) : -1;
	if (low[0] == '*' && low[1] == '.')
		return rule_ok(low + 2) ? strv_push(&t->wild, low + 2) : -1;
	return rule_ok(low) ? strv_push(&t->plain, low) : -1;
}

/* strv_sort - sorted for bsearch; an empty list has no array, and
 * qsort's array may not be NULL */
static void
strv_sort(struct strv *s)
{
	if (s->n > 1)
		qsort(s->v, s->n, sizeof(char *), strv_cmp);
}

void
grey_suffix_seal(struct grey_suffix *t)
{
	strv_sort(&t->plain);
	strv_sort(&t->wild);
	strv_sort(&t->exc);
}

size_t
grey_suffix_count(const struct grey_suffix *t)
{
	return t->plain.n + t->wild.n + t->exc.n;
}

struct grey_suffix *
grey_suffix_free(struct grey_suffix *t)
{
	if (t != NULL) {
		strv_clear(&t->plain);
		strv_clear(&t->wild);
		strv_clear(&t->exc);
		free(t);
	}
	return NULL;
}

/* next_label - the suffix after the first label of s, NULL at the top */
static const char *
next_label(const char *s)
{
	const char	*dot = strchr(s, '.');

	return dot != NULL ? dot + 1 : NULL;
}

/* top_label - the last label of name */
static const char *
top_label(const char *name)
{
	const char	*dot = strrchr(name, '.');

	return dot != NULL ? dot + 1 : name;
}

/* table_suffix - the public suffix of name by the rules */
static const char *
table_suffix(const struct grey_suffix *t, const char *name)
{
	const char	*s, *n;

	for (s = name; s != NULL; s = n) {
		n = next_label(s);
		if (strv_has(&t->exc, s))
			return n;
		if (strv_has(&t->plain, s))
			return s;
		if (n != NULL && strv_has(&t->wild, n))
			return s;
	}
	return NULL;
}

/* builtin_suffix - the public suffix of name by the heuristic */
static const char *
builtin_suffix(const char *name)
{
	const char	*top = top_label(name), *second;
	size_t		 i, n;

	if (strlen(top) != 2 || top == name)
		return top;
	for (second = top - 1; second > name && second[-1] != '.'; second--)
		;
	n = (size_t)(top - 1 - second);
	for (i = 0; i < sizeof(sld_common) / sizeof(sld_common[0]); i++)
		if (strlen(sld_common[i]) == n &&
		    strncmp(second, sld_common[i], n) == 0)
			return second;
	return top;
}

const char *
grey_registrable(const struct grey_suffix *t, const char *name)
{
	const char	*ps = NULL, *p;

	if (name == NULL || strchr(name, '.') == NULL)
		return NULL;
	if (t != NULL)
		ps = table_suffix(t, name);
	if (ps == NULL)
		ps = t != NULL ? top_label(name) : builtin_suffix(name);
	if (ps <= name + 1)
		return NULL;
	/* one label more than the suffix */
	for (p = ps - 1; p > name && p[-1] != '.'; p--)
		;
	return p < ps - 1 ? p : NULL;
}
