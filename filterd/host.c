/*
 * host.c -- the services plugins reach through struct fd_host
 *
 * Every function here is a thin, checked bridge to a core module: the
 * plugin ABI stays stable while the modules behind it change. Functions
 * taking the host pointer find their plugin through h->priv (an
 * fd_loaded); functions taking a txn find everything through txn->gen.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "conf.h"
#include "daemon.h"
#include "dispatch.h"
#include "gen.h"
#include "host.h"
#include "log.h"
#include "milter.h"
#include "re.h"
#include "rule_impl.h"
#include "store.h"
#include "store_plan.h"
#include "txn.h"
#include "units.h"
#include "xalloc.h"

#define LOADED(h)	((struct fd_loaded *)(h)->priv)

/* store_of - the daemon's store, NULL when there is none (filterd -t) */
static struct fd_store *
store_of(const struct fd_host *h)
{
	const struct fd_loaded *l = LOADED(h);

	return l->gen->daemon != NULL ? l->gen->daemon->store : NULL;
}

/*
 * log_plugin - "plugin NAME: " and the plugin's text; about t's connection
 * when t is given, led by its fields as its decision line is, so that one
 * conn=N finds every line about a connection
 */
static void __attribute__((format(printf, 4, 0)))
log_plugin(const struct fd_host *h, const struct fd_txn *t,
    enum fd_level level, const char *fmt, va_list ap)
{
	char	 line[1536], out[1600];
	int	 n;

	if ((int)level > fd_log_level())
		return;
	vsnprintf(line, sizeof(line), fmt, ap);
	n = snprintf(out, sizeof(out), "plugin %s: ", LOADED(h)->conf->name);
	if (n < 0 || (size_t)n >= sizeof(out))
		return;
	/* a plugin is asked to escape() what came from the client, but one
	 * that forgot must not be able to start a forged log line */
	fd_escape_ctl(out + n, sizeof(out) - (size_t)n, line);
	if (t != NULL)
		fd_conn_log(t, (int)level, out);
	else
		fd_log_str((int)level, out);
}

static void __attribute__((format(printf, 3, 4)))
h_log(const struct fd_host *h, enum fd_level level, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_plugin(h, NULL, level, fmt, ap);
	va_end(ap);
}

static void __attribute__((format(printf, 4, 5)))
h_log_txn(const struct fd_host *h, const struct fd_txn *t,
    enum fd_level level, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_plugin(h, t, level, fmt, ap);
	va_end(ap);
}

static int64_t
h_now(const struct fd_host *h)
{
	const struct fd_daemon *d = LOADED(h)->gen->daemon;

	return fd_clock_now(d != NULL ? &d->clock : NULL);
}

static const struct fd_directive *
h_dir_next(const struct fd_block *b, const struct fd_directive *prev)
{
	if (prev != NULL)
		return prev->next;
	return b != NULL ? b->head : NULL;
}

static const char *
h_dir_name(const struct fd_directive *d)
{
	return d->name;
}

static int
h_dir_argc(const struct fd_directive *d)
{
	return d->argc;
}

static const char *
h_dir_arg(const struct fd_directive *d, int i)
{
	return i >= 0 && i < d->argc ? d->argv[i] : NULL;
}

/* conf_errorv - "file:line:col: plugin NAME: message" into the gen's errs */
static void __attribute__((format(printf, 4, 0)))
conf_errorv(const struct fd_host *h, const struct fd_directive *d, int argi,
    const char *fmt, va_list ap)
{
	const struct fd_loaded	*l = LOADED(h);
	const struct fd_loc	*loc = NULL;
	char			 msg[1024];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (d != NULL)
		loc = argi >= 0 && argi < d->argc ? &d->argloc[argi] : &d->loc;
	else
		loc = &l->conf->loc;
	if (l->gen->errs != NULL)
		fd_errs_add(l->gen->errs, loc, "plugin %s: %s", l->conf->name,
		    msg);
	else
		fd_log(FD_LOG_ERR, "%s:%d:%d: plugin %s: %s", loc->file,
		    loc->line, loc->col, l->conf->name, msg);
}

static void __attribute__((format(printf, 4, 5)))
h_conf_error(const struct fd_host *h, const struct fd_directive *d, int argi,
    const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	conf_errorv(h, d, argi, fmt, ap);
	va_end(ap);
}

/* h_conf_unknown - the hint filterd gives for its own statements, or
 * the names to choose from */
static void
h_conf_unknown(const struct fd_host *h, const struct fd_directive *d,
    const char *const *known)
{
	const char	*hint = known != NULL ? fd_hint(d->name, known) : NULL;
	char		 list[512];
	size_t		 o = 0, n;

	if (hint != NULL) {
		h_conf_error(h, d, -1, "unknown directive \"%s\" (did you "
		    "mean \"%s\"?)", d->name, hint);
		return;
	}
	list[0] = '\0';
	for (; known != NULL && *known != NULL; known++) {
		n = strlen(*known) + (o > 0 ? 2 : 0);
		/* room for ", ..." after the last that fits */
		if (o + n + 6 > sizeof(list)) {
			memcpy(list + o, ", ...", 6);
			break;
		}
		o += (size_t)snprintf(list + o, sizeof(list) - o, "%s%s",
		    o > 0 ? ", " : "", *known);
	}
	if (list[0] == '\0')
		h_conf_error(h, d, -1, "unknown directive \"%s\"", d->name);
	else
		h_conf_error(h, d, -1, "unknown directive \"%s\" (known: %s)",
		    d->name, list);
}

/* arg_check - argument i exists, else a located error */
static const char *
arg_check(const struct fd_host *h, const struct fd_directive *d, int i)
{
	if (i < 0 || i >= d->argc) {
		h_conf_error(h, d, -1, "%s: missing argument", d->name);
		return NULL;
	}
	return d->argv[i];
}

static int
h_arg_duration(const struct fd_host *h, const struct fd_directive *d, int i,
    int64_t *secs)
{
	const char	*s, *why;

	if ((s = arg_check(h, d, i)) == NULL)
		return -1;
	if (fd_units_duration(s, secs, &why) < 0) {
		h_conf_error(h, d, i, "%s: \"%s\": %s", d->name, s, why);
		return -1;
	}
	return 0;
}

static int
h_arg_uint(const struct fd_host *h, const struct fd_directive *d, int i,
    uint64_t *out)
{
	const char	*s, *why;

	if ((s = arg_check(h, d, i)) == NULL)
		return -1;
	if (fd_units_size(s, out, &why) < 0) {
		h_conf_error(h, d, i, "%s: \"%s\": %s", d->name, s, why);
		return -1;
	}
	return 0;
}

static int
h_arg_bool(const struct fd_host *h, const struct fd_directive *d, int i,
    int *out)
{
	const char	*s, *why;

	if ((s = arg_check(h, d, i)) == NULL)
		return -1;
	if (fd_units_bool(s, out, &why) < 0) {
		h_conf_error(h, d, i, "%s: \"%s\": %s", d->name, s, why);
		return -1;
	}
	return 0;
}

static const char *
h_get(const struct fd_txn *t, enum fd_field f)
{
	switch (f) {
	case FD_F_CLIENT_ADDR:
		return t->addr;
	case FD_F_CLIENT_NAME:
		return t->client_name != NULL ? t->client_name : "";
	case FD_F_HELO:
		return t->helo;
	case FD_F_SENDER:
		return t->msg.sender;
	case FD_F_RCPT:
		return t->msg.rcpt;
	case FD_F_QUEUE_ID:
		return t->msg.queue_id;
	case FD_F_AUTH_USER:
		return t->msg.active ? t->msg.auth_user :
		    fd_txn_macro(t, "{auth_authen}");
	case FD_F_HEADER_NAME:
		return t->msg.hdr_name;
	case FD_F_HEADER_VALUE:
		return t->msg.hdr_value;
	case FD_F_MTA_NAME:
		return fd_txn_macro(t, "j");
	case FD_F_DAEMON_NAME:
		return fd_txn_macro(t, "{daemon_name}");
	}
	return NULL;
}

static int64_t
h_num(const struct fd_txn *t, enum fd_num n)
{
	switch (n) {
	case FD_N_FAMILY:
		return t->ip_len == 4 ? 4 : t->ip_len == 16 ? 6 : 0;
	case FD_N_CLIENT_VERIFIED:
		return t->resolve == FD_RESOLVE_OK;
	case FD_N_CLIENT_LOCAL:
		return t->local;
	case FD_N_HELO_COUNT:
		return t->helo_count;
	case FD_N_RCPT_COUNT:
		return (int64_t)t->msg.nrcpts;
	case FD_N_HEADER_COUNT:
		return (int64_t)t->msg.nheaders;
	case FD_N_BODY_SIZE:
		return (int64_t)t->msg.body_size;
	case FD_N_MSG_SIZE:
		return (int64_t)(t->msg.size_param ? t->msg.size_param :
		    t->msg.body_size);
	case FD_N_MSG_COUNT:
		return t->msg_count;
	}
	return 0;
}

static const char *
h_macro(const struct fd_txn *t, const char *name)
{
	return fd_txn_macro(t, name);
}

static const char *
h_rcpt(const struct fd_txn *t, size_t i)
{
	return i < t->msg.nrcpts ? t->msg.rcpts[i] : NULL;
}

/* h_rcpt_skipped - a rule skipped h's plugin at recipient i's RCPT */
static int
h_rcpt_skipped(const struct fd_host *h, const struct fd_txn *t, size_t i)
{
	int	 idx = LOADED(h)->index;

	return i < t->msg.nrcpts && idx < 64 &&
	    ((t->msg.rcpt_skips[i] >> idx) & 1);
}

/* macro_name_ok - "x" or "{name}", as the milter protocol names macros */
static int
macro_name_ok(const char *s, size_t n)
{
	size_t	 i;

	if (n == 1)
		return s[0] > ' ' && s[0] < 0x7f && s[0] != '{' && s[0] != '}';
	if (n < 3 || n > FD_MACRO_NAME_MAX || s[0] != '{' || s[n - 1] != '}')
		return 0;
	for (i = 1; i < n - 1; i++)
		if (s[i] <= ' ' || s[i] >= 0x7f || s[i] == '{' || s[i] == '}')
			return 0;
	return 1;
}

/* h_want_macros - from init(): names for the MTA to send at stage */
static int
h_want_macros(const struct fd_host *h, uint32_t stage, const char *names)
{
	struct fd_loaded	*l = LOADED(h);
	const char		*w;
	int			 st = rule_stage_smfim(stage);
	size_t			 n;

	if (st < 0 || names == NULL)
		return -1;
	for (w = names; *w != '\0'; w += n) {
		w += strspn(w, " ");
		if ((n = strcspn(w, " ")) > 0 && !macro_name_ok(w, n))
			return -1;
	}
	if (l->macros[st] == NULL)
		l->macros[st] = fd_strdup("");
	l->macros[st] = fd_milter_symlist_add(l->macros[st], names);
	return 0;
}

static size_t
h_client_ip(const struct fd_txn *t, unsigned char out[16])
{
	memcpy(out, t->ip, t->ip_len);
	return t->ip_len;
}

static const char *
h_param(const struct fd_txn *t, const char *plugin, const char *name)
{
	int	 idx;

	/* plugins ask for every parameter they know on each decision; most
	 * messages have none set, so find the plugin's index only if any */
	if (t->msg.params == NULL || t->gen == NULL ||
	    (idx = fd_conf_plugin_index(t->gen->conf, plugin)) < 0)
		return NULL;
	return fd_txn_param(t, idx, name);
}

static void __attribute__((format(printf, 4, 5)))
h_reply(struct fd_txn *t, const char *rcode, const char *xcode,
    const char *fmt, ...)
{
	char	 text[512];
	va_list	 ap;

	if (fmt == NULL) {
		fd_txn_reply(t, rcode, xcode, NULL);
		return;
	}
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	fd_txn_reply(t, rcode, xcode, text);
}

static void __attribute__((format(printf, 2, 3)))
h_reason(struct fd_txn *t, const char *fmt, ...)
{
	char	 text[512];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	fd_txn_reason(t, text);
}

/* would_add - under dry-run, the header a plugin asked for, logged */
static void
would_add(const struct fd_txn *t, const char *name, const char *value)
{
	char	 esc[1024], text[1200];

	fd_escape_str(esc, sizeof(esc), value != NULL ? value : "");
	snprintf(text, sizeof(text), "dry-run: would add header %s: %s",
	    name, esc);
	fd_conn_log(t, FD_LOG_INFO, text);
}

/* h_add_header - held to what a rule's add-header is at load: a plugin's
 * value may carry client text, and a line break in it would reach the
 * MTA as a header line of its own. Under dry-run it is only logged: a
 * header such as X-Greylist tells of what was not done. */
static int
h_add_header(struct fd_txn *t, const char *name, const char *value)
{
	if (!t->msg.active || name == NULL || !fd_header_name_ok(name) ||
	    (value != NULL && (!fd_header_value_ok(value) ||
	    !fd_header_fits(name, value))))
		return -1;
	if (t->gen != NULL && t->gen->conf->dry_run) {
		would_add(t, name, value);
		return 0;
	}
	fd_txn_header_add(t, name, value);
	return 0;
}

static int
h_grey_check(const struct fd_host *h, const struct fd_grey_req *rq,
    struct fd_grey_res *rs)
{
	struct fd_store	*s = store_of(h);

	return s != NULL ? fd_store_grey(s, rq, rs) : FD_STORE_ERR;
}

static int
h_rate_hit(const struct fd_host *h, const struct fd_rate_req *rq, size_t n,
    struct fd_rate_res *rs)
{
	struct fd_store	*s = store_of(h);

	return s != NULL ? fd_store_rate(s, rq, n, rs) : FD_STORE_ERR;
}

/* txn_store - the store a transaction's generation uses, or NULL */
static struct fd_store *
txn_store(const struct fd_txn *t)
{
	return t->gen != NULL && t->gen->daemon != NULL ?
	    t->gen->daemon->store : NULL;
}

static int
h_plan_grey(struct fd_txn *t, const struct fd_grey_req *rq,
    struct fd_grey_res *rs, int *rc)
{
	return fd_plan_grey(t->plan, rq, rs, rc);
}

static int
h_plan_rate(struct fd_txn *t, const struct fd_rate_req *rq, size_t n,
    struct fd_rate_res *rs, int *rc)
{
	return fd_plan_rate(t->plan, rq, n, rs, rc);
}

static int
h_grey_txn(struct fd_txn *t, const struct fd_grey_req *rq,
    struct fd_grey_res *rs)
{
	return fd_plan_grey_call(t->plan, txn_store(t), rq, rs);
}

static int
h_rate_txn(struct fd_txn *t, const struct fd_rate_req *rq, size_t n,
    struct fd_rate_res *rs)
{
	return fd_plan_rate_call(t->plan, txn_store(t), rq, n, rs);
}

static int
h_kv_get(const struct fd_host *h, const void *k, size_t kl, void *v, size_t *vl)
{
	struct fd_store	*s = store_of(h);

	return s != NULL ? fd_store_get(s, k, kl, v, vl) : FD_STORE_ERR;
}

static int
h_kv_set(const struct fd_host *h, const void *k, size_t kl, const void *v,
    size_t vl, int64_t ttl)
{
	struct fd_store	*s = store_of(h);

	return s != NULL ? fd_store_set(s, k, kl, v, vl, ttl) : FD_STORE_ERR;
}

static int
h_kv_incr(const struct fd_host *h, const void *k, size_t kl, int64_t by,
    int64_t ttl, int64_t *out)
{
	struct fd_store	*s = store_of(h);

	return s != NULL ? fd_store_incr(s, k, kl, by, ttl, out) : FD_STORE_ERR;
}

static int
h_kv_del(const struct fd_host *h, const void *k, size_t kl)
{
	struct fd_store	*s = store_of(h);

	return s != NULL ? fd_store_del(s, k, kl) : FD_STORE_ERR;
}

static struct fd_regex *
h_re_new(const struct fd_host *h, const char *pattern, const char *flags,
    char *err, size_t errlen)
{
	return fd_re_new(pattern, flags != NULL ? flags : "", err, errlen);
}

static void
h_re_free(struct fd_regex *re)
{
	fd_re_free(re);
}

static const char *
h_conf_dir(const struct fd_host *h)
{
	return LOADED(h)->dir;
}

static void
h_use_stages(const struct fd_host *h, uint32_t stages)
{
	struct fd_loaded *l = LOADED(h);

	l->stages = stages & l->declared;
}

static void
h_decide_stages(const struct fd_host *h, uint32_t stages)
{
	struct fd_loaded *l = LOADED(h);

	l->decides = stages & l->declared;
}

void
fd_host_init(struct fd_host *h, struct fd_loaded *l)
{
	memset(h, 0, sizeof(*h));
	h->abi_major = FD_PLUGIN_ABI_MAJOR;
	h->abi_minor = FD_PLUGIN_ABI_MINOR;
	h->size = sizeof(*h);
	h->priv = l;
	h->log = h_log;
	h->now = h_now;
	h->dir_next = h_dir_next;
	h->dir_name = h_dir_name;
	h->dir_argc = h_dir_argc;
	h->dir_arg = h_dir_arg;
	h->conf_error = h_conf_error;
	h->arg_duration = h_arg_duration;
	h->arg_uint = h_arg_uint;
	h->arg_bool = h_arg_bool;
	h->get = h_get;
	h->num = h_num;
	h->macro = h_macro;
	h->rcpt = h_rcpt;
	h->client_ip = h_client_ip;
	h->param = h_param;
	h->reply = h_reply;
	h->reason = h_reason;
	h->add_header = h_add_header;
	h->grey_check = h_grey_check;
	h->rate_hit = h_rate_hit;
	h->kv_get = h_kv_get;
	h->kv_set = h_kv_set;
	h->kv_incr = h_kv_incr;
	h->kv_del = h_kv_del;
	h->re_new = h_re_new;
	h->re_match = fd_re_match;
	h->re_free = h_re_free;
	h->escape = fd_escape;
	h->conf_dir = h_conf_dir;
	h->use_stages = h_use_stages;
	h->plan_grey = h_plan_grey;
	h->plan_rate = h_plan_rate;
	h->grey_txn = h_grey_txn;
	h->rate_txn = h_rate_txn;
	h->decide_stages = h_decide_stages;
	h->log_txn = h_log_txn;
	h->conf_unknown = h_conf_unknown;
	h->rcpt_skipped = h_rcpt_skipped;
	h->want_macros = h_want_macros;
}
