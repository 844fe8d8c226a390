/*
 * conf.c -- loading a configuration (see conf.h)
 *
 * fd_conf_load() starts from the defaults, reads the top file and what
 * it includes, then checks what needs the whole configuration (plugin
 * names in rules, table references) and indexes the rules. Every problem
 * goes to the caller's fd_errs as file:line:col; any problem means no
 * conf at all, so a broken reload never replaces a working one.
 *
 * Paths. Messages name the top file as the caller named it (the daemon
 * makes it absolute, daemon.c), an included file relative to the
 * directory of its includer's name, less the "./" steps, which name
 * nothing (path.h). Paths kept in
 * the conf (pidfile, store directory, plugin-dir, plugin path, table
 * files) are made absolute against the directory of the file that names
 * them, so they mean the same after the daemon changes directory.
 */
#include "config.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "conf_int.h"
#include "log.h"
#include "path.h"
#include "rule.h"
#include "textfile.h"
#include "xalloc.h"

#ifndef FD_PKGLIBDIR
#define FD_PKGLIBDIR	"/usr/local/lib/filterd"
#endif

#define MAX_INCLUDE_DEPTH	16	/* files below the top one */

/* cp_loc - a location in the file being read */
struct fd_loc
cp_loc(const struct cparse *cp, int line, int col)
{
	struct fd_loc	 l;

	l.file = cp->file ? cp->file->name : NULL;
	l.line = line;
	l.col = col;
	return l;
}

/* cp_register - a file name the conf keeps for its locations */
const char *
cp_register(struct cparse *cp, const char *name)
{
	struct fd_conf	*c = cp->conf;
	unsigned	 i;

	for (i = 0; i < c->nfiles; i++)
		if (strcmp(c->files[i], name) == 0)
			return c->files[i];
	c->files = fd_reallocarray(c->files, c->nfiles + 1, sizeof(char *));
	c->files[c->nfiles] = fd_strdup(name);
	return c->files[c->nfiles++];
}

/* cp_path - p made absolute against the current file's directory */
char *
cp_path(const struct cparse *cp, const char *p)
{
	if (p[0] == '/' || cp->file == NULL)
		return fd_strdup(p);
	return fd_path_join(cp->file->absdir, strlen(cp->file->absdir), p);
}

/* cp_display - p as messages show it: relative to the includer's name */
char *
cp_display(const struct cparse *cp, const char *p)
{
	const char	*slash;

	if (p[0] == '/' || cp->file == NULL ||
	    (slash = strrchr(cp->file->name, '/')) == NULL)
		return fd_strdup(p);
	return fd_path_join(cp->file->name,
	    (size_t)(slash - cp->file->name) + 1, p);
}

/* absdir - the absolute directory of an opened path */
static char *
absdir(const char *path)
{
	char	 buf[PATH_MAX], *dir, *slash;

	dir = fd_strdup(path);
	if ((slash = strrchr(dir, '/')) == NULL) {
		free(dir);
		dir = fd_strdup(".");
	} else if (slash == dir)
		slash[1] = '\0';
	else
		*slash = '\0';
	if (realpath(dir, buf) != NULL) {
		free(dir);
		return fd_strdup(buf);
	}
	return dir;
}

/* parse_file - one (possibly nested) parse of f */
static void
parse_file(struct cparse *cp, struct cfile *cf, FILE *f)
{
	struct fd_lex	 ls;
	void		*scanner;

	memset(&ls, 0, sizeof(ls));
	ls.cp = cp;
	ls.errs0 = cp->errs->n;
	ls.line = ls.col = 1;
	if (fd_yylex_init_extra(&ls, &scanner) != 0) {
		fd_errs_add(cp->errs, NULL, "cannot create the config scanner");
		return;
	}
	fd_yyset_in(f, scanner);
	cp->file = cf;
	fd_yyparse(scanner, cp);
	cp->file = cf->up;
	fd_yylex_destroy(scanner);
}

/*
 * read_before - the include that read the file of st already, or NULL;
 * else it is noted as read from `from`. A file read twice would make
 * each of its statements an error ("already declared") of its own.
 */
static const struct cread *
read_before(struct cparse *cp, const struct stat *st,
    const struct fd_loc *from)
{
	struct cread	*r;
	size_t		 i;

	for (i = 0; i < cp->nread; i++)
		if (cp->read[i].dev == st->st_dev &&
		    cp->read[i].ino == st->st_ino)
			return &cp->read[i];
	cp->read = fd_reallocarray(cp->read, cp->nread + 1, sizeof(*r));
	r = &cp->read[cp->nread++];
	r->dev = st->st_dev;
	r->ino = st->st_ino;
	r->from = *from;
	return NULL;
}

/* cp_include - read path at this point (the top file if from is NULL) */
int
cp_include(struct cparse *cp, const char *path, const struct fd_loc *from)
{
	struct cfile	 cf, *up;
	const struct cread *r;
	struct stat	 st;
	FILE		*f;
	char		*opened = cp_path(cp, path), *shown = cp_display(cp, path);
	const char	*why;
	size_t		 before;
	int		 rc = -1;

	memset(&cf, 0, sizeof(cf));
	cf.name = cp_register(cp, shown);
	cf.opened = opened;
	/* the top file may be a pipe (filterd -t -c /dev/stdin) */
	if ((f = fd_textfile_open(opened, from == NULL, &st, &why)) == NULL) {
		fd_errs_add(cp->errs, from, "cannot open %s \"%s\": %s",
		    from ? "included file" : "config file", shown, why);
		goto out;
	}
	for (up = cp->file; up != NULL; up = up->up) {
		if (up->dev == st.st_dev && up->ino == st.st_ino) {
			fd_errs_add(cp->errs, from, "include loop: \"%s\" is "
			    "already being read", shown);
			goto out;
		}
	}
	if (cp->file != NULL && cp->file->depth + 1 > MAX_INCLUDE_DEPTH) {
		fd_errs_add(cp->errs, from, "includes nested deeper than %d",
		    MAX_INCLUDE_DEPTH);
		goto out;
	}
	if (from != NULL && (r = read_before(cp, &st, from)) != NULL) {
		fd_errs_add(cp->errs, from, "\"%s\" is already included at "
		    "%s:%d:%d; a file is read once", shown, r->from.file,
		    r->from.line, r->from.col);
		goto out;
	}
	cf.dev = st.st_dev;
	cf.ino = st.st_ino;
	cf.depth = cp->file ? cp->file->depth + 1 : 0;
	cf.up = cp->file;
	cf.absdir = absdir(opened);
	before = cp->errs->n;
	parse_file(cp, &cf, f);
	/* an included file's errors count against its own limit only */
	if (cf.up != NULL)
		cf.up->nested_errs += cp->errs->n - before;
	rc = 0;
out:
	if (f != NULL)
		fclose(f);
	free(cf.absdir);
	free(opened);
	free(shown);
	return rc;
}

/* conf_new - the defaults */
static struct fd_conf *
conf_new(const char *path)
{
	struct fd_conf	*c = fd_calloc(1, sizeof(*c));
	struct fd_loc	 none = { NULL, 0, 0 };

	c->path = fd_strdup(path);
	c->dir = absdir(path);
	c->socket = fd_strdup("inet:8890@127.0.0.1");
	c->socket_mode = -1;
	c->log_target = FD_LOGT_SYSLOG;
	c->log_facility = LOG_MAIL;
	c->log_level = FD_LOG_INFO;
	c->milter_timeout = 7210;
	c->thread_stack = FD_THREAD_STACK_DEFAULT;
	c->store_kind = FD_STORE_LMDB;
	c->store_path = fd_strdup("/var/lib/filterd");
	c->store_opts = fd_block_new(&none);
	c->on_store_error = FD_FAIL_CONTINUE;
	c->plugin_dir = fd_strdup(FD_PKGLIBDIR);
	c->rules = fd_ruleset_new();
	return c;
}

/* fd_conf_load - parse, check, index; NULL if errs gained messages */
struct fd_conf *
fd_conf_load(const char *path, struct fd_errs *errs)
{
	struct cparse	 cp;
	size_t		 before = errs->n;

	memset(&cp, 0, sizeof(cp));
	cp.conf = conf_new(path);
	cp.errs = errs;
	cp.rs = cp.conf->rules;
	if (cp_include(&cp, path, NULL) == 0) {
		rb_finish(&cp);
		conf_dir_finish(&cp);
	}
	free(cp.read);
	if (errs->n > before)
		return fd_conf_free(cp.conf);
	return cp.conf;
}

/* fd_conf_plugin_index - position of a declared plugin, or -1 */
int
fd_conf_plugin_index(const struct fd_conf *c, const char *name)
{
	const struct fd_plugin_conf	*p;
	int				 i;

	for (i = 0, p = c->plugins; p != NULL; p = p->next, i++)
		if (strcmp(p->name, name) == 0)
			return i;
	return -1;
}

/* fd_conf_free - everything; returns NULL */
struct fd_conf *
fd_conf_free(struct fd_conf *c)
{
	struct fd_plugin_conf	*p, *next;
	unsigned		 i;

	if (c == NULL)
		return NULL;
	for (p = c->plugins; p != NULL; p = next) {
		next = p->next;
		free(p->name);
		free(p->path);
		fd_block_free(p->block);
		free(p);
	}
	fd_ruleset_free(c->rules);
	fd_errs_clear(&c->warns);
	fd_block_free(c->store_opts);
	free(c->path);
	free(c->dir);
	free(c->socket);
	free(c->user);
	free(c->group);
	free(c->pidfile);
	free(c->store_path);
	free(c->plugin_dir);
	for (i = 0; i < c->nfiles; i++)
		free(c->files[i]);
	free(c->files);
	free(c);
	return NULL;
}

/* distance - Damerau-Levenshtein distance, capped for long words */
static size_t
distance(const char *a, const char *b)
{
	size_t	 la = strlen(a), lb = strlen(b), i, j, c, v;
	size_t	 d[33][33];

	if (la > 32 || lb > 32)
		return SIZE_MAX;
	for (i = 0; i <= la; i++)
		d[i][0] = i;
	for (j = 0; j <= lb; j++)
		d[0][j] = j;
	for (i = 1; i <= la; i++) {
		for (j = 1; j <= lb; j++) {
			c = a[i - 1] != b[j - 1];
			v = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < v)
				v = d[i][j - 1] + 1;
			if (d[i - 1][j - 1] + c < v)
				v = d[i - 1][j - 1] + c;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
			    a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < v)
				v = d[i - 2][j - 2] + 1;
			d[i][j] = v;
		}
	}
	return d[la][lb];
}

/* fd_hint - the candidate closest to word, if it is close enough */
const char *
fd_hint(const char *word, const char *const *cands)
{
	const char	*best = NULL;
	size_t		 bestd = SIZE_MAX, d, max;

	max = strlen(word) <= 4 ? 1 : 2;
	for (; *cands != NULL; cands++) {
		d = distance(word, *cands);
		if (d < bestd) {
			bestd = d;
			best = *cands;
		}
	}
	return bestd <= max && bestd > 0 ? best : NULL;
}
