/*
 * table_file.c -- table files: one entry per line
 *
 *	# a comment line; blank lines are fine
 *	192.0.2.0/24		# cidr: a comment may follow an entry
 *	.example.com		# domain: the domain and its subdomains
 *	/^dsl-[0-9]+\./i	# regex: /pattern/flags, then a comment
 *	^mail[0-9]*\.		# regex: or the line, up to a '#' after a blank
 *
 * A bad entry is reported at file:line:col of the entry and the rest of
 * the file is still read, so one run shows every mistake (up to a cap).
 * A UTF-8 byte order mark at the start of the file is skipped.
 */
#include "config.h"

#include <sys/types.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "table.h"
#include "textfile.h"
#include "xalloc.h"

#define MAX_FILE_ERRORS	20
#define MAX_LINE	65536	/* bytes of a line, its newline left out */

/* regex_end - end of "/.../flags" starting at s, or NULL if unclosed */
static const char *
regex_end(const char *s)
{
	for (s++; *s != '\0' && *s != '/'; s++)
		if (s[0] == '\\' && s[1] != '\0')
			s++;
	if (*s != '/')
		return NULL;
	for (s++; (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z'); s++)
		;
	return s;
}

/* entry_end - where the entry starting at s stops */
static const char *
entry_end(const struct fd_table *t, const char *s)
{
	const char	*e;

	if (fd_table_kind(t) == FD_TABLE_REGEX) {
		if (*s == '/')
			return (e = regex_end(s)) ? e : s + strlen(s);
		/* a bare pattern is the line up to a comment, a '#' after a
		 * blank as after any entry, its trailing blanks cut */
		for (e = s; *e != '\0' && (*e != '#' || (e[-1] != ' ' &&
		    e[-1] != '\t')); e++)
			;
		for (; e > s && (e[-1] == ' ' || e[-1] == '\t'); e--)
			;
		return e;
	}
	return s + strcspn(s, " \t#");
}

/* load_line - one line of len bytes; 0, or -1 after reporting */
static int
load_line(struct fd_table *t, char *line, size_t len, struct fd_loc *loc,
    struct fd_errs *errs)
{
	char		 err[512];
	char		*s = line, *e, *rest;
	size_t		 n;

	/* the entry would end there, silently: "postmaster\0junk" */
	if ((e = memchr(line, '\0', len)) != NULL) {
		loc->col = (int)(e - line) + 1;
		fd_errs_add(errs, loc, "NUL byte in a table file");
		return -1;
	}
	n = strcspn(line, "\r\n");
	line[n] = '\0';
	s += strspn(s, " \t");
	if (*s == '\0' || *s == '#')
		return 0;
	e = (char *)entry_end(t, s);
	rest = e + strspn(e, " \t");
	if (*rest != '\0' && *rest != '#') {
		loc->col = (int)(rest - line) + 1;
		fd_errs_add(errs, loc, "unexpected \"%.40s\" after the entry "
		    "(one entry per line)", rest);
		return -1;
	}
	*e = '\0';
	loc->col = (int)(s - line) + 1;
	if (fd_table_add(t, s, err, sizeof(err)) < 0) {
		fd_errs_add(errs, loc, "%s", err);
		return -1;
	}
	return 0;
}

/*
 * read_line - the next line of f into buf (MAX_LINE + 1 bytes), its
 * newline dropped; its length, -1 at the end of the file, or MAX_LINE + 1
 * for a line that does not fit, which is left unread from there: a file
 * of one endless line (/dev/zero, a binary file) must not be read into
 * memory whole.
 */
static ssize_t
read_line(FILE *f, char *buf)
{
	size_t	 n = 0;
	int	 c;

	while ((c = getc_unlocked(f)) != EOF && c != '\n') {
		if (n == MAX_LINE)
			return MAX_LINE + 1;
		buf[n++] = (char)c;
	}
	if (c == EOF && n == 0)
		return -1;
	buf[n] = '\0';
	return (ssize_t)n;
}

/* fd_table_load - every line of path into t */
int
fd_table_load(struct fd_table *t, const char *path, const char *locname,
    const struct fd_loc *from, struct fd_errs *errs)
{
	FILE		*f;
	char		*line;
	size_t		 skip;
	ssize_t		 len;
	int		 nerr = 0;
	struct fd_loc	 loc = { locname, 0, 1 };
	struct stat	 st;
	const char	*why;

	if ((f = fd_textfile_open(path, 0, &st, &why)) == NULL) {
		fd_errs_add(errs, from, "cannot open table file \"%s\": %s",
		    locname, why);
		return -1;
	}
	line = fd_malloc(MAX_LINE + 1);
	flockfile(f);
	while ((len = read_line(f, line)) != -1) {
		loc.line++;
		if (len > MAX_LINE) {
			loc.col = 1;
			fd_errs_add(errs, &loc, "line longer than %d bytes; the "
			    "rest of this file is not read", MAX_LINE);
			nerr++;
			break;
		}
		/* a byte order mark some editors write is no part of the
		 * first entry (nor of its columns), as in a config file */
		skip = loc.line == 1 && strncmp(line, "\xef\xbb\xbf", 3) == 0 ?
		    3 : 0;
		if (load_line(t, line + skip, (size_t)len - skip, &loc,
		    errs) < 0 && ++nerr == MAX_FILE_ERRORS) {
			fd_errs_add(errs, &loc, "too many errors, "
			    "skipping the rest of this file");
			break;
		}
	}
	if (ferror(f) && nerr < MAX_FILE_ERRORS) {
		fd_errs_add(errs, from, "cannot read table file \"%s\": %s",
		    locname, strerror(errno));
		nerr++;
	}
	funlockfile(f);
	free(line);
	fclose(f);
	fd_table_seal(t);
	return nerr ? -1 : 0;
}
