/*
 * grey_key.c -- store keys of the greylist plugin, see grey_key.h
 */
#include <stdlib.h>
#include <string.h>

#include "grey_key.h"

/* join - tag, then parts each preceded by "\n"; NULL parts are left out */
static char *
join(const char *tag, const char *const *parts, size_t n, size_t *len)
{
	size_t	 i, total = strlen(tag), o;
	char	*s;

	for (i = 0; i < n; i++)
		if (parts[i] != NULL)
			total += 1 + strlen(parts[i]);
	if ((s = malloc(total + 1)) == NULL)
		return NULL;
	o = strlen(tag);
	memcpy(s, tag, o);
	for (i = 0; i < n; i++) {
		size_t pl;

		if (parts[i] == NULL)
			continue;
		pl = strlen(parts[i]);
		s[o++] = '\n';
		memcpy(s + o, parts[i], pl);
		o += pl;
	}
	s[o] = '\0';
	*len = o;
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
