/*
 * conf_table.c -- `table` statements and inline lists
 *
 *	table NAME { ITEM, ITEM ... }
 *	table NAME [cidr|domain|regex|list] file "PATH"
 *
 * An inline list is a cidr table when every item looks like an address
 * (so a mistyped network is an error, not a domain that never matches),
 * otherwise a domain table. A file's kind is named or follows from its
 * extension. Tables belong to the ruleset; rules find them by name once
 * the whole configuration has been read, so a table may be declared
 * after the rules that use it.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "conf_int.h"
#include "table.h"
#include "xalloc.h"

/* looks_ip - "192.0.2.0/24", "2001:db8::1": an address before any '/' */
static int
looks_ip(const char *s)
{
	unsigned char	 ip[16];
	const char	*slash = strchr(s, '/');

	return fd_ip_parse(s, slash ? (size_t)(slash - s) : strlen(s), ip) != 0;
}

/* conf_list_table - a table from inline items (d's arguments) */
struct fd_table *
conf_list_table(struct cparse *cp, const char *name, struct fd_directive *d,
    int force_cidr)
{
	enum fd_table_kind	 kind = FD_TABLE_CIDR;
	struct fd_table		*t;
	char			 err[256];
	int			 i;

	for (i = 0; i < d->argc && !force_cidr; i++)
		if (!looks_ip(d->argv[i]))
			kind = FD_TABLE_DOMAIN;
	t = fd_table_new(name, kind);
	for (i = 0; i < d->argc; i++)
		if (fd_table_add(t, d->argv[i], err, sizeof(err)) < 0)
			fd_errs_add(cp->errs, &d->argloc[i], "%s", err);
	fd_table_seal(t);
	return t;
}

/* kind_of_path - a file's kind from its extension */
static enum fd_table_kind
kind_of_path(const char *path)
{
	const char	*dot = strrchr(path, '.');

	if (dot == NULL || strchr(dot, '/') != NULL)
		return FD_TABLE_DOMAIN;
	if (strcmp(dot, ".cidr") == 0)
		return FD_TABLE_CIDR;
	if (strcmp(dot, ".pcre") == 0 || strcmp(dot, ".regex") == 0)
		return FD_TABLE_REGEX;
	if (strcmp(dot, ".list") == 0)
		return FD_TABLE_LIST;
	return FD_TABLE_DOMAIN;
}

/* file_table - `[TYPE] file PATH` */
static struct fd_table *
file_table(struct cparse *cp, const char *name, struct fd_directive *d)
{
	enum fd_table_kind	 kind;
	struct fd_table		*t;
	const char		*locname;
	char			*path, *shown;
	int			 p = d->argc - 1;

	if (d->argc < 2 || d->argc > 3 || strcmp(d->argv[p - 1], "file")) {
		fd_errs_add(cp->errs, &d->argloc[0],
		    "usage: table NAME { ITEM, ... } or "
		    "table NAME [cidr|domain|regex|list] file \"PATH\"");
		return NULL;
	}
	if (d->argc == 3) {
		if (fd_table_kind_parse(d->argv[0], &kind) < 0) {
			fd_errs_add(cp->errs, &d->argloc[0], "unknown table "
			    "type \"%s\" (cidr, domain, regex or list)",
			    d->argv[0]);
			return NULL;
		}
	} else
		kind = kind_of_path(d->argv[p]);
	t = fd_table_new(name, kind);
	path = cp_path(cp, d->argv[p]);
	shown = cp_display(cp, d->argv[p]);
	locname = cp_register(cp, shown);
	fd_table_load(t, path, locname, &d->argloc[p], cp->errs);
	free(path);
	free(shown);
	return t;
}

/* name_ok - what <name> can refer to */
static int
name_ok(const char *s)
{
	return *s != '\0' && s[strspn(s, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")] == '\0';
}

/* conf_table - a table statement; takes name and d */
void
conf_table(struct cparse *cp, char *name, const struct fd_loc *nloc,
    struct fd_directive *d, int inline_list)
{
	const struct fd_loc	*first;
	struct fd_table		*t;

	if (!name_ok(name))
		fd_errs_add(cp->errs, nloc, "bad table name \"%s\" (letters, "
		    "digits, '.', '-' and '_')", name);
	else if (fd_ruleset_table(cp->rs, name, &first) != NULL)
		fd_errs_add(cp->errs, nloc, "table %s is already declared at "
		    "%s:%d:%d", name, first->file, first->line, first->col);
	else {
		if (!inline_list && d->argc == 0)
			fd_errs_add(cp->errs, nloc, "table %s: usage: "
			    "table NAME { ITEM, ... } or table NAME "
			    "[cidr|domain|regex|list] file \"PATH\"", name);
		else if ((t = inline_list ? conf_list_table(cp, name, d, 0) :
		    file_table(cp, name, d)) != NULL)
			fd_ruleset_table_add(cp->rs, t, nloc);
	}
	free(name);
	fd_dir_free(d);
}
