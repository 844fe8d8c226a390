/*
 * conf_block.c -- generic directives and blocks (see conf.h)
 *
 * A plugin's block and the store's options are kept as the parser read
 * them, `name arg ... [{ ... }]` with a location on every name and
 * argument, for the component that understands them to check. Rule
 * actions and inline lists reuse fd_directive as an argument list.
 */
#include "config.h"

#include <stdlib.h>

#include "conf_int.h"
#include "xalloc.h"

/* fd_dir_new - a directive with no name and no arguments yet */
struct fd_directive *
fd_dir_new(void)
{
	return fd_calloc(1, sizeof(struct fd_directive));
}

/* fd_dir_arg - append an argument, taking the string */
void
fd_dir_arg(struct fd_directive *d, char *arg, const struct fd_loc *loc)
{
	d->argv = fd_reallocarray(d->argv, (size_t)d->argc + 2,
	    sizeof(*d->argv));
	d->argloc = fd_reallocarray(d->argloc, (size_t)d->argc + 1,
	    sizeof(*d->argloc));
	d->argv[d->argc] = arg;
	d->argloc[d->argc] = *loc;
	d->argc++;
	d->argv[d->argc] = NULL;
}

/* fd_dir_free - one directive and its block; not the ones after it */
struct fd_directive *
fd_dir_free(struct fd_directive *d)
{
	int	 i;

	if (d == NULL)
		return NULL;
	for (i = 0; i < d->argc; i++)
		free(d->argv[i]);
	free(d->argv);
	free(d->argloc);
	free(d->name);
	fd_block_free(d->child);
	free(d);
	return NULL;
}

/* fd_block_new - an empty block opened at loc */
struct fd_block *
fd_block_new(const struct fd_loc *loc)
{
	struct fd_block	*b = fd_calloc(1, sizeof(*b));

	b->loc = *loc;
	return b;
}

/* fd_block_append - add a directive at the end, taking it */
void
fd_block_append(struct fd_block *b, struct fd_directive *d)
{
	d->next = NULL;
	if (b->tail != NULL)
		b->tail->next = d;
	else
		b->head = d;
	b->tail = d;
}

/* fd_block_free - every directive in it; returns NULL */
struct fd_block *
fd_block_free(struct fd_block *b)
{
	struct fd_directive	*d, *next;

	if (b == NULL)
		return NULL;
	for (d = b->head; d != NULL; d = next) {
		next = d->next;
		fd_dir_free(d);
	}
	free(b);
	return NULL;
}
