/*
 * conf_int.h -- the state of one config load, shared by the parser parts
 *
 * conf.c drives a load: it makes an fd_conf with the defaults, parses the
 * top file with the bison parser (conf_parse.y) fed by the flex scanner
 * (conf_lex.l), and checks what needs the whole configuration (plugin
 * names in rules, table references) at the end. The grammar's actions
 * are thin: they hand what they read to conf_dir.c (global directives),
 * conf_table.c (tables) and rule_build.c (rules).
 *
 * Everything lives in struct cparse, passed to the parser and reached
 * from the scanner's extra data: no globals, so a load can run again at
 * reload or in a test, and an include is a nested parse of its own.
 */
#ifndef FD_CONF_INT_H
#define FD_CONF_INT_H

#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#include "conf.h"
#include "errs.h"
#include "rule_impl.h"

/* one file being read; includes nest */
struct cfile {
	const char	*name;		/* as shown in messages; conf->files */
	const char	*opened;	/* the path opened */
	char		*absdir;	/* absolute directory, for relative paths */
	dev_t		 dev;
	ino_t		 ino;
	int		 depth;		/* 0 for the top file */
	struct cfile	*up;		/* the includer */
	size_t		 nested_errs;	/* made in the files it included */
};

/* a file an include has read, and that include */
struct cread {
	dev_t		 dev;
	ino_t		 ino;
	struct fd_loc	 from;
};

#define CONF_NDIRS	16		/* size of cparse.seen */

struct cparse {
	struct fd_conf		*conf;
	struct fd_errs		*errs;
	struct cfile		*file;		/* the one being read */
	struct fd_ruleset	*rs;		/* conf->rules */
	struct fd_plugin_conf	*ptail;
	struct fd_loc		 seen[CONF_NDIRS]; /* once-only directives */
	struct cread		*read;		/* every file included */
	size_t			 nread;
};

/* the scanner's own state (flex extra data) */
struct fd_lex {
	struct cparse	*cp;
	int		 line, col;	/* of the next character */
	int		 last;		/* last token returned, 0 at start */
	int		 in_rule;	/* a rule statement is being read */
	char		 text[48];	/* the last token, for syntax errors */
	int		 prev;		/* the token before it, and its text */
	char		 prev_text[48];
	int		 prev2;		/* and the one before that */
	size_t		 errs0;		/* errors before this file's */
	int		 braces;	/* '{' not closed yet */
	int		 brace_line, brace_col;	/* the outermost of them */
	int		 started;	/* the first bytes were read */
	int		 stopped;	/* too many errors: at its end */
};

/* a field as written in a condition, before it is checked */
struct fref {
	char		*name;		/* field name; macro name for {x} */
	char		*arg;		/* header "Name" */
	int		 macro;
	int		 said;		/* rb_field reported it already */
	struct fd_loc	 loc;
};

/* an action as written, checked with the rule's stage */
struct raction {
	enum fd_rule_action	 kind;
	struct fd_directive	*args;	/* arguments (skip: plugin names) */
	struct fd_loc		 loc;
};

/* conf.c */
struct fd_loc	 cp_loc(const struct cparse *, int line, int col);
const char	*cp_register(struct cparse *, const char *name);
char		*cp_path(const struct cparse *, const char *);
char		*cp_display(const struct cparse *, const char *);
int		 cp_include(struct cparse *, const char *path,
		    const struct fd_loc *from);
int		 fd_yyparse(void *scanner, struct cparse *cp);

/* the scanner's entry points (flex, prefix fd_yy) */
int		 fd_yylex_init_extra(struct fd_lex *, void **);
void		 fd_yyset_in(FILE *, void *);
struct fd_lex	*fd_yyget_extra(void *);
int		 fd_yylex_destroy(void *);

/* conf_block.c */
struct fd_directive *fd_dir_new(void);
void		 fd_dir_arg(struct fd_directive *, char *arg,
		    const struct fd_loc *);
struct fd_directive *fd_dir_free(struct fd_directive *);
struct fd_block	*fd_block_new(const struct fd_loc *);
void		 fd_block_append(struct fd_block *, struct fd_directive *);
struct fd_block	*fd_block_free(struct fd_block *);

/* conf_dir.c */
void		 conf_directive(struct cparse *, struct fd_directive *);
void		 conf_dir_finish(struct cparse *);
extern const char *const conf_dir_names[];

/* conf_table.c */
void		 conf_table(struct cparse *, char *name,
		    const struct fd_loc *, struct fd_directive *, int inline_list);
struct fd_table	*conf_list_table(struct cparse *, const char *name,
		    struct fd_directive *, int force_cidr);

/* rule_build.c */
struct fref	*rb_field(struct cparse *, char *name, char *arg, int macro,
		    const struct fd_loc *);
/* rb_op_split - word (then the string arg, or NULL) written with its
 * operator apart, "helo == x", into buf; 0 unless word is a field's name
 * and an operator run together */
int		 rb_op_split(char *buf, size_t len, const char *word,
		    const char *arg);
struct fd_cond	*rb_test(struct cparse *, struct fref *, enum fd_rop, char *,
		    const struct fd_loc *);
struct fd_cond	*rb_test_re(struct cparse *, struct fref *, enum fd_rop, char *,
		    const struct fd_loc *);
struct fd_cond	*rb_test_table(struct cparse *, struct fref *, char *,
		    const struct fd_loc *);
struct fd_cond	*rb_test_list(struct cparse *, struct fref *,
		    struct fd_directive *, const struct fd_loc *);
struct fd_cond	*rb_test_unary(struct cparse *, struct fref *, enum fd_rop,
		    const struct fd_loc *);
struct fd_cond	*rb_join(struct cparse *, enum fd_ckind, struct fd_cond *,
		    struct fd_cond *, const struct fd_loc *);
struct raction	*rb_action(enum fd_rule_action, struct fd_directive *,
		    const struct fd_loc *);
void		 rb_rule(struct cparse *, size_t errmark, char *name,
		    const struct fd_loc *, char *stage, const struct fd_loc *,
		    int dry_run, struct fd_cond *, struct raction *);
void		 rb_finish(struct cparse *);
struct fref	*fref_free(struct fref *);
struct raction	*raction_free(struct raction *);

#endif
