/*
 * re.c -- PCRE2 patterns compiled once, matched with limits (see re.h)
 *
 * A pattern is compiled at load and JIT-compiled where PCRE2 supports it.
 * Matching needs a match data block and a match context; both are
 * per-thread here (a pthread key with a destructor), created on a
 * thread's first match and reused for every later one, so a match
 * allocates nothing after warm-up and no lock is taken.
 *
 * The match context carries the limits that keep a hostile subject from
 * stalling a milter thread: a match limit (the interpreter's and the
 * JIT's work budget), a depth limit (the interpreter's backtracking depth)
 * and the default JIT stack. Whatever stops a match early -- a limit, the
 * JIT stack, a subject that is not valid UTF-8 under the "u" flag -- makes
 * fd_re_match() return -1, which callers count as "no match", and is
 * logged at most once a minute per pattern.
 */
#include "config.h"

#define PCRE2_CODE_UNIT_WIDTH 8

#include <pcre2.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "re.h"
#include "xalloc.h"

/*
 * A rule matching a HELO or a header value never needs more than a few
 * thousand steps; 100,000 leaves ample room and bounds the worst case
 * to a few milliseconds.
 */
#define RE_MATCH_LIMIT	100000
#define RE_DEPTH_LIMIT	5000

struct fd_regex {
	pcre2_code	*code;
	char		*pattern;
	char		 flags[8];
	int64_t		 limit_logged;	/* fd_log_ratelimited stamp */
};

/* per-thread matching state */
struct re_tls {
	pcre2_match_data	*md;
	pcre2_match_context	*mc;
};

static pthread_key_t	re_key;
static pthread_once_t	re_once = PTHREAD_ONCE_INIT;

/* re_tls_free - the key's destructor, at thread exit */
static void
re_tls_free(void *arg)
{
	struct re_tls	*t = arg;

	pcre2_match_data_free(t->md);
	pcre2_match_context_free(t->mc);
	free(t);
}

/* re_key_init - once per process */
static void
re_key_init(void)
{
	if (pthread_key_create(&re_key, re_tls_free) != 0)
		fd_fatal("regex: cannot create the thread key");
}

/* re_tls_get - this thread's match data and context */
static struct re_tls *
re_tls_get(void)
{
	struct re_tls	*t;

	pthread_once(&re_once, re_key_init);
	if ((t = pthread_getspecific(re_key)) != NULL)
		return t;
	t = fd_calloc(1, sizeof(*t));
	/* one pair is enough: callers want match or no match */
	t->md = pcre2_match_data_create(1, NULL);
	t->mc = pcre2_match_context_create(NULL);
	if (t->md == NULL || t->mc == NULL)
		fd_fatal("regex: out of memory");
	pcre2_set_match_limit(t->mc, RE_MATCH_LIMIT);
	pcre2_set_depth_limit(t->mc, RE_DEPTH_LIMIT);
	if (pthread_setspecific(re_key, t) != 0)
		fd_fatal("regex: cannot set the thread key");
	return t;
}

/* re_options - PCRE2 compile options for the flag letters */
static int
re_options(const char *flags, uint32_t *opt, char *err, size_t errlen)
{
	const char	*f;

	*opt = PCRE2_NEVER_BACKSLASH_C;
	for (f = flags ? flags : ""; *f != '\0'; f++) {
		switch (*f) {
		case 'i':
			*opt |= PCRE2_CASELESS;
			break;
		case 'x':
			*opt |= PCRE2_EXTENDED;
			break;
		case 's':
			*opt |= PCRE2_DOTALL;
			break;
		case 'm':
			*opt |= PCRE2_MULTILINE;
			break;
		case 'u':
			*opt |= PCRE2_UTF | PCRE2_UCP;
			break;
		default:
			snprintf(err, errlen, "unknown regex flag '%c' "
			    "(use i, x, s, m or u)", *f);
			return -1;
		}
	}
	return 0;
}

/* fd_re_new - compile pattern with flag letters, JIT if possible */
struct fd_regex *
fd_re_new(const char *pattern, const char *flags, char *err, size_t errlen)
{
	struct fd_regex	*re;
	PCRE2_UCHAR	 msg[256];
	PCRE2_SIZE	 off;
	uint32_t	 opt;
	int		 code;

	if (re_options(flags, &opt, err, errlen) < 0)
		return NULL;
	if (flags != NULL && strlen(flags) >= sizeof(re->flags)) {
		snprintf(err, errlen, "too many regex flags");
		return NULL;
	}
	re = fd_calloc(1, sizeof(*re));
	re->code = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED,
	    opt, &code, &off, NULL);
	if (re->code == NULL) {
		pcre2_get_error_message(code, msg, sizeof(msg));
		snprintf(err, errlen, "invalid regex: %s at offset %zu",
		    (const char *)msg, (size_t)off);
		free(re);
		return NULL;
	}
	/* no JIT on this platform is fine: the interpreter has the limits */
	(void)pcre2_jit_compile(re->code, PCRE2_JIT_COMPLETE);
	re->pattern = fd_strdup(pattern);
	snprintf(re->flags, sizeof(re->flags), "%s", flags ? flags : "");
	return re;
}

/* re_trouble - log why a match stopped early, once a minute per pattern */
static void
re_trouble(const struct fd_regex *re, int rc)
{
	struct fd_regex	*mre = (struct fd_regex *)re;	/* the stamp only */
	PCRE2_UCHAR	 msg[256];
	char		 pat[128];

	if (!fd_log_ratelimited(&mre->limit_logged, (int64_t)time(NULL), 60))
		return;
	pcre2_get_error_message(rc, msg, sizeof(msg));
	fd_log(FD_LOG_WARN, "regex /%s/%s: %s; counted as no match",
	    fd_escape_str(pat, sizeof(pat), re->pattern), re->flags,
	    (const char *)msg);
}

/* fd_re_match - 1 match, 0 none, -1 stopped early (limit, bad UTF-8) */
int
fd_re_match(const struct fd_regex *re, const char *s, size_t len)
{
	struct re_tls	*t = re_tls_get();
	int		 rc;

	if (s == NULL) {
		s = "";
		len = 0;
	}
	rc = pcre2_match(re->code, (PCRE2_SPTR)s, len, 0, 0, t->md, t->mc);
	if (rc >= 0)
		return 1;
	if (rc == PCRE2_ERROR_NOMATCH)
		return 0;
	re_trouble(re, rc);
	return -1;
}

/* fd_re_free - release a pattern; returns NULL */
struct fd_regex *
fd_re_free(struct fd_regex *re)
{
	if (re == NULL)
		return NULL;
	pcre2_code_free(re->code);
	free(re->pattern);
	free(re);
	return NULL;
}

/* fd_re_pattern - the source text, for logs */
const char *
fd_re_pattern(const struct fd_regex *re)
{
	return re->pattern;
}
