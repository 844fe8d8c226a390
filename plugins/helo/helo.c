/*
 * helo.c -- the helo plugin: HELO/EHLO checks wired to filterd's hooks
 *
 * The checks run at HELO, where the name is new, and the verdict is kept
 * in the connection slot. By default it is enforced at MAIL: that is
 * where {auth_authen} is known, so a mail client that says "EHLO laptop"
 * and then authenticates is not refused (a known complaint against HELO
 * checks that run before AUTH), and it is where Postfix would apply a
 * HELO-stage milter reject anyway (a milter reject at HELO is answered
 * 250 and "persists" into MAIL, AUTH and STARTTLS, which would lock such
 * a client out of AUTH).
 * `enforce-at helo` answers at HELO instead, for ports without AUTH.
 * require-helo can only be seen at MAIL.
 *
 * Findings whose action is `log` are logged once per HELO, when the
 * verdict is enforced; a tempfail or reject sets the reply and the reason
 * of the decision line. Exempt from everything: trusted networks, local
 * clients (loopback, unix socket), authenticated clients (at MAIL).
 *
 * State: the configuration generation's helo_conf and resolver (read
 * only, the resolver's cache locks itself); per connection a fixed-size
 * struct helo_conn in the slot the host zeroes and frees, so nothing is
 * allocated per connection and conn_end has nothing to release.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <filterd/plugin.h>

#include "helo_check.h"
#include "helo_conf.h"
#include "helo_dns.h"
#include "helo_reply.h"

#define ESC_MAX		128	/* escaped HELO in log lines, bytes */
#define RAW_MAX		(ESC_MAX - 4) /* HELO bytes in a decision's reason */

struct helo_state {
	const struct fd_host *host;
	struct helo_conf *conf;
	struct helo_dns	*dns;	/* NULL: no forward-confirm */
};

struct helo_conn {
	unsigned	 nhelo;		/* HELO/EHLO seen */
	struct helo_seen seen;		/* distinct names */
	int64_t		 dns_spent;	/* ms its lookups waited, in all */
	/* the verdict of the last HELO */
	uint32_t	 found;		/* findings (bit per check) */
	enum helo_act	 act;		/* decisive action */
	int		 logged;	/* log-only findings written */
	int		 exempt;	/* trusted or local at HELO */
	struct helo_reply reply;
	char		 reason[512];	/* the name as sent: filterd escapes */
	char		 logtext[512];	/* the name escaped: our own lines */
};

/* client_view - what the checks need to know about the client */
static void
client_view(const struct fd_host *host, const struct fd_txn *txn,
    struct helo_client *cl)
{
	unsigned char	 ip[16];
	size_t		 n;
	const char	*da;

	memset(cl, 0, sizeof(*cl));
	n = host->client_ip(txn, ip);
	if (n == 4 || n == 16)
		helo_addr_set(&cl->addr, ip, n);
	cl->local = host->num(txn, FD_N_CLIENT_LOCAL) == 1;
	cl->mta_name = host->get(txn, FD_F_MTA_NAME);
	/* the address the client connected to: Sendmail's and Postfix's
	 * {if_addr} (Sendmail tags an IPv6 one "IPv6:"), or Postfix's
	 * {daemon_addr} when that gives none */
	if ((da = host->macro(txn, "{if_addr}")) != NULL &&
	    strncasecmp(da, "IPv6:", 5) == 0)
		da += 5;
	if (da == NULL || helo_addr_parse(&cl->daemon_addr, da) < 0) {
		da = host->macro(txn, "{daemon_addr}");
		if (da != NULL)
			helo_addr_parse(&cl->daemon_addr, da);
	}
}

/* exempt - trusted network or local client; why in *why */
static int
exempt(const struct helo_policy *pol, const struct helo_client *cl,
    const char **why)
{
	if (pol->exempt_local && (cl->local || helo_addr_loopback(&cl->addr))) {
		*why = "local client";
		return 1;
	}
	if (cl->addr.len != 0 && helo_trusted(pol, &cl->addr)) {
		*why = "trusted network";
		return 1;
	}
	return 0;
}

/* not_checked - the DNS could not tell: say why, add no finding */
static void
not_checked(const struct helo_state *st, const struct fd_txn *txn,
    const struct helo_result *r, const char *why)
{
	const struct fd_host *host = st->host;
	char	 esc[ESC_MAX];

	host->log_txn(host, txn, FD_LOG_INFO, "forward-confirm of helo=\"%s\" "
	    "not checked (DNS: %s): failing open",
	    host->escape(esc, sizeof(esc), r->name.norm,
	    strlen(r->name.norm)), why);
}

/*
 * forward_confirm - add the DNS findings; DNS errors add none. The
 * lookups of one connection share one dns-timeout: a client repeating
 * EHLO with names whose servers never answer must not hold its session
 * one timeout per EHLO, past the MTA's milter timeout when the MTA
 * awaits no reply before RCPT (delay-reject).
 */
static void
forward_confirm(const struct helo_state *st, const struct fd_txn *txn,
    struct helo_conn *c, const struct helo_client *cl, struct helo_result *r,
    char *note, size_t notelen)
{
	const struct fd_host *host = st->host;
	struct helo_answer ans;
	char	 err[128];
	int	 ok;

	if (st->dns == NULL || r->act == HELO_A_REJECT ||
	    r->name.kind != HELO_K_DOMAIN || !r->name.has_dot ||
	    cl->addr.len == 0)
		return;
	switch (helo_dns_lookup_conn(st->dns, r->name.norm, host->now(host),
	    &c->dns_spent, &ans, err, sizeof(err))) {
	case HELO_DNS_FOUND:
		if ((ok = helo_dns_confirms(&ans, &cl->addr)) == 0) {
			helo_result_add(r, &st->conf->pol, HELO_C_FORWARD);
			snprintf(note, notelen, "; dns: %u address%s, none the "
			    "client's%s", ans.naddr, ans.naddr == 1 ? "" : "es",
			    ans.from_cache ? " (cached)" : "");
		} else if (ok < 0) {
			/* the client's may be among the addresses not kept;
			 * else its family's lookup failed, and err says so */
			if (ans.more & helo_dns_family(&cl->addr))
				snprintf(err, sizeof(err), "more than %d "
				    "addresses", HELO_ANSWER_MAX);
			not_checked(st, txn, r, err);
		}
		break;
	case HELO_DNS_NONAME:
		helo_result_add(r, &st->conf->pol, HELO_C_UNRESOLVED);
		snprintf(note, notelen, "; dns: no such name or no A/AAAA%s",
		    ans.from_cache ? " (cached)" : "");
		break;
	case HELO_DNS_ERROR:
		not_checked(st, txn, r, err);
		break;
	}
}

/* also - append the other findings, "; also fqdn (log)" */
static void
also(char *buf, size_t buflen, const struct helo_result *r,
    const struct helo_policy *pol)
{
	size_t	 off = strlen(buf);
	int	 c;

	for (c = 0; c < HELO_C_MAX && off < buflen; c++) {
		if (c == (int)r->decisive || !helo_found(r, (enum helo_check)c))
			continue;
		off += (size_t)snprintf(buf + off, buflen - off,
		    "; also %s (%s)", helo_check_str((enum helo_check)c),
		    helo_act_str(pol->act[c]));
	}
}

/* account - "fqdn (reject): not fully qualified; helo="laptop"; also
 * generic (log)", with name (n bytes, then cut) as the HELO, NULL: none */
static void
account(char *buf, size_t buflen, const struct helo_result *r,
    const struct helo_policy *pol, const char *name, size_t n,
    const char *cut, const char *note)
{
	if (name != NULL)
		snprintf(buf, buflen, "%s (%s): %s; helo=\"%.*s%s\"%s",
		    helo_check_str(r->decisive), helo_act_str(r->act),
		    helo_why(r->decisive, r), (int)n, name, cut, note);
	else
		snprintf(buf, buflen, "%s (%s): %s; helo=none%s",
		    helo_check_str(r->decisive), helo_act_str(r->act),
		    helo_why(r->decisive, r), note);
	also(buf, buflen, r, pol);
}

/*
 * record - keep the verdict, its reply and its accounts in the slot. The
 * decision line's reason gets the name as the client sent it, cut: the
 * host escapes a reason where it logs it, and a name escaped here too
 * would show there with every backslash doubled. The plugin's own log
 * lines, which the host only rids of control bytes, get it escaped.
 */
static void
record(const struct helo_state *st, struct helo_conn *c,
    const struct helo_result *r, const char *helo, size_t len,
    const struct helo_client *cl, const char *note)
{
	const struct fd_host *host = st->host;
	const struct helo_policy *pol = &st->conf->pol;
	char	 esc[ESC_MAX], addr[HELO_ADDR_STRLEN];
	size_t	 raw = len < RAW_MAX ? len : RAW_MAX;

	c->found = r->found;
	c->act = r->act;
	c->logged = 0;
	if (r->found == 0)
		return;
	helo_addr_str(&cl->addr, addr, sizeof(addr));
	helo_reply_make(&c->reply, r->decisive, r->act, helo, len, r, addr);
	if (helo != NULL)
		host->escape(esc, sizeof(esc), helo, len);
	account(c->reason, sizeof(c->reason), r, pol, helo, raw,
	    raw < len ? "..." : "", note);
	account(c->logtext, sizeof(c->logtext), r, pol, helo != NULL ? esc :
	    NULL, helo != NULL ? strlen(esc) : 0, "", note);
}

/* apply - turn the kept verdict into an action, reply and log line */
static enum fd_action
apply(const struct helo_state *st, struct fd_txn *txn, struct helo_conn *c)
{
	const struct fd_host *host = st->host;

	if (c->found == 0)
		return FD_CONTINUE;
	if (c->act < HELO_A_TEMPFAIL) {
		if (!c->logged)
			host->log_txn(host, txn, FD_LOG_NOTICE,
			    "log only: %s", c->logtext);
		c->logged = 1;
		return FD_CONTINUE;
	}
	host->reply(txn, c->reply.rcode, c->reply.xcode, "%s", c->reply.text);
	host->reason(txn, "%s", c->reason);
	c->logged = 1;
	return c->act == HELO_A_REJECT ? FD_REJECT : FD_TEMPFAIL;
}

/* helo_on_helo - run the checks on a new HELO/EHLO */
static enum fd_action
helo_on_helo(struct fd_txn *txn, void *state, void *conn)
{
	const struct helo_state *st = state;
	const struct helo_policy *pol = &st->conf->pol;
	const struct fd_host *host = st->host;
	struct helo_conn *c = conn;
	struct helo_client cl;
	struct helo_result r;
	const char	*helo, *why;
	char		 note[96] = "";
	size_t		 len;

	if ((helo = host->get(txn, FD_F_HELO)) == NULL)
		helo = "";
	/* a milter string ends at its first NUL: what is left is the name */
	len = strlen(helo);
	c->nhelo++;
	c->found = 0;
	c->act = HELO_A_OFF;
	client_view(host, txn, &cl);
	if ((c->exempt = exempt(pol, &cl, &why)) != 0) {
		host->log_txn(host, txn, FD_LOG_DEBUG, "not checked: %s",
		    why);
		return FD_CONTINUE;
	}

	helo_check_name(pol, &cl, helo, len, &r);
	r.ndistinct = helo_seen_add(&c->seen, helo, len);
	if (r.ndistinct > pol->changes_max)
		helo_result_add(&r, pol, HELO_C_CHANGES);
	forward_confirm(st, txn, c, &cl, &r, note, sizeof(note));
	record(st, c, &r, helo, len, &cl, note);
	return pol->enforce_at_helo ? apply(st, txn, c) : FD_CONTINUE;
}

/* require_helo - MAIL on a connection that never said HELO/EHLO */
static enum fd_action
require_helo(const struct helo_state *st, struct fd_txn *txn,
    struct helo_conn *c)
{
	const struct helo_policy *pol = &st->conf->pol;
	struct helo_client cl;
	struct helo_result r;
	const char	*why;

	client_view(st->host, txn, &cl);
	if (exempt(pol, &cl, &why))
		return FD_CONTINUE;
	helo_result_init(&r);
	helo_result_add(&r, pol, HELO_C_REQUIRE);
	record(st, c, &r, NULL, 0, &cl, "");
	c->nhelo = 0;
	return apply(st, txn, c);
}

/* helo_on_mail - require-helo, then enforce the HELO's verdict */
static enum fd_action
helo_on_mail(struct fd_txn *txn, void *state, void *conn, void *msg)
{
	const struct helo_state *st = state;
	const struct helo_policy *pol = &st->conf->pol;
	const struct fd_host *host = st->host;
	struct helo_conn *c = conn;

	(void)msg;
	if (c->nhelo == 0 && host->get(txn, FD_F_HELO) == NULL)
		return require_helo(st, txn, c);
	if (pol->enforce_at_helo || c->exempt || c->found == 0)
		return FD_CONTINUE;
	if (pol->exempt_auth && host->get(txn, FD_F_AUTH_USER) != NULL) {
		if (!c->logged)
			host->log_txn(host, txn, FD_LOG_DEBUG,
			    "authenticated client exempt: %s", c->logtext);
		c->logged = 1;
		return FD_CONTINUE;
	}
	return apply(st, txn, c);
}

/* helo_init - parse the block; start the resolver if it is needed */
static int
helo_init(const struct fd_host *host, const struct fd_block *block,
    void **statep)
{
	struct helo_state *st;
	struct helo_dns_opts o;
	char	 err[256];

	if (host->abi_major != FD_PLUGIN_ABI_MAJOR) {
		host->log(host, FD_LOG_ERR, "host ABI %u, plugin built for %u",
		    host->abi_major, FD_PLUGIN_ABI_MAJOR);
		return -1;
	}
	if ((st = calloc(1, sizeof(*st))) == NULL) {
		host->log(host, FD_LOG_ERR, "out of memory");
		return -1;
	}
	st->host = host;
	if ((st->conf = helo_conf_new(host, block)) == NULL) {
		free(st);
		return -1;
	}
	if (st->conf->pol.act[HELO_C_FORWARD] != HELO_A_OFF) {
		memset(&o, 0, sizeof(o));
		o.servers = st->conf->pol.resolver;
		o.timeout_ms = st->conf->pol.dns_timeout_ms;
		o.cache_size = (size_t)st->conf->pol.dns_cache_size;
		o.cache_ttl = st->conf->pol.dns_cache_ttl;
		if ((st->dns = helo_dns_new(&o, err, sizeof(err))) == NULL) {
			if (st->conf->resolver_dir != NULL)
				host->conf_error(host,
				    st->conf->resolver_dir, 0, "%s", err);
			else
				host->log(host, FD_LOG_ERR, "%s", err);
			helo_conf_free(st->conf);
			free(st);
			return -1;
		}
	}
	st->conf->resolver_dir = NULL;
	*statep = st;
	return 0;
}

/* helo_fini - the generation is gone: free what init built */
static void
helo_fini(void *state)
{
	struct helo_state *st = state;

	if (st == NULL)
		return;
	helo_dns_free(st->dns);
	helo_conf_free(st->conf);
	free(st);
}

/* helo_check_set - nothing of the helo checks is set per message: the
 * verdict is reached at HELO, before any message */
static int
helo_check_set(void *state, const char *param, const char *value,
    char *why, size_t whylen)
{
	(void)state;
	(void)param;
	(void)value;
	snprintf(why, whylen, "the helo plugin takes no rule parameters");
	return FD_SET_BAD_PARAM;
}

FD_PLUGIN_EXPORT = {
	FD_PLUGIN_HEADER,
	.name = "helo",
	.version = "1.0",
	.stages = FD_ST_HELO | FD_ST_MAIL,
	.conn_priv_size = sizeof(struct helo_conn),
	.init = helo_init,
	.fini = helo_fini,
	.on_helo = helo_on_helo,
	.on_mail = helo_on_mail,
	.check_set = helo_check_set,
};
