/*
 * grey_key.c -- store keys of the greylist plugin, see grey_key.h
 */
#include <stdlib.h>
#include <string.h>

#include "grey_key.h"

/* join_to - tag, then parts each preceded by "\n" (NULL parts left out)
 * into out, if the result fits; its length either way */
static size_t
join_to(char *out, size_t outlen, const char *tag,
    const char *const *parts, size_t n)
{
	size_t	 i, total, o, pl, lens[4] = { 0, 0, 0, 0 };

	/* the lengths of the first parts are kept (a triplet has three) */
	total = strlen(tag);
	for (i = 0; i < n; i++) {
		if (parts[i] == NULL)
			continue;
		pl = strlen(parts[i]);
		if (i < 4)
			lens[i] = pl;
		total += 1 + pl;
	}
	if (total >= outlen)
		return total;
	o = strlen(tag);
	memcpy(out, tag, o);
	for (i = 0; i < n; i++) {
		if (parts[i] == NULL)
			continue;
		pl = i < 4 ? lens[i] : strlen(parts[i]);
		out[o++] = '\n';
		memcpy(out + o, parts[i], pl);
		o += pl;
	}
	out[o] = '\0';
	return o;
}

/* join - join_to into a new string */
static char *
join(const char *tag, const char *const *parts, size_t n, size_t *len)
{
	size_t	 total = join_to(NULL, 0, tag, parts, n);
	char	*s;

	if ((s = malloc(total + 1)) == NULL)
		return NULL;
	*len = join_to(s, total + 1, tag, parts, n);
	return s;
}

char *
grey_key_triplet(const char *client, const char *sender, const char *rcpt,
    size_t *len)
{
	const char	*parts[3] = { client, sender, rcpt };

	return join("g1", parts, 3, len);
}

char *
grey_key_awl(const char *client, const char *domain, size_t *len)
{
	const char	*parts[2] = { client, domain };

	return join("a1", parts, 2, len);
}

size_t
grey_key_triplet_to(char *out, size_t outlen, const char *client,
    const char *sender, const char *rcpt)
{
	const char	*parts[3] = { client, sender, rcpt };

	return join_to(out, outlen, "g1", parts, 3);
}

size_t
grey_key_awl_to(char *out, size_t outlen, const char *client,
    const char *domain)
{
	const char	*parts[2] = { client, domain };

	return join_to(out, outlen, "a1", parts, 2);
}

static int
str_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

char *
grey_key_body(const char *sender, const char *const *rcpts, size_t nrcpts,
    const void *body, size_t bodylen, size_t *len)
{
	const char	**parts;
	char		*head, *s;
	size_t		 hl;

	if ((parts = calloc(nrcpts + 2, sizeof(*parts))) == NULL)
		return NULL;
	parts[0] = sender;
	if (nrcpts > 0)
		memcpy(parts + 1, rcpts, nrcpts * sizeof(*parts));
	/* one message's recipients in any order make the same key */
	qsort(parts + 1, nrcpts, sizeof(*parts), str_cmp);
	parts[nrcpts + 1] = "";
	head = join("b1", parts, nrcpts + 2, &hl);
	free(parts);
	if (head == NULL)
		return NULL;
	if ((s = realloc(head, hl + 1 + bodylen + 1)) == NULL) {
		free(head);
		return NULL;
	}
	s[hl] = '\n';
	if (bodylen > 0)
		memcpy(s + hl + 1, body, bodylen);
	s[hl + 1 + bodylen] = '\0';
	*len = hl + 1 + bodylen;
	return s;
}
