/*
 * store_redis.c -- the shared store backend: Redis through hiredis
 *
 * For several MX hosts that must share greylist and rate state. Every
 * operation is one Lua script run by EVALSHA, so each decision costs one
 * round trip and stays atomic; the scripts are loaded with SCRIPT LOAD
 * the first time and again when Redis answers NOSCRIPT (a restart, a
 * SCRIPT FLUSH, a failover).
 *
 * Time. The scripts never read Redis's clock: the caller's `now` (from
 * fd_clock) is an argument, and each entry keeps its logical expiry in
 * a field `x` that the scripts compare with it, so a test can move time
 * the way it does for LMDB. Each key also gets a real TTL (EXPIRE, or
 * SET PX) of the same length (a rate bucket's a second longer, see
 * LUA_RATE), so Redis drops it by itself and never grows without bound.
 * In production both clocks are the wall clock.
 *
 * Keys (hex digests of the hashed keys; see store_backend.h):
 *   PREFIX g:{A}:T   greylist triplet T given with awl key A, counted
 *                    or not (awl_after 0)                 (hash: x f p)
 *   PREFIX g:{T}     greylist triplet without an awl key  (hash: x f p)
 *   PREFIX a:{A}     auto-whitelist counter               (hash: x c)
 *   PREFIX r:{rate}:R rate bucket: the GCRA TAT in microseconds (string)
 *   PREFIX k:{K}     kv entry                             (hash: x v)
 * The keys one script touches share a {hash tag}, so a Redis Cluster
 * could serve them. All rate buckets share one tag: a call checks several
 * unrelated limits all or nothing, so they must live in one slot, and a
 * bucket must have one name whatever other limits it is checked with.
 *
 * Connections: a small pool, not one per thread: a call takes an idle
 * connection or opens one (connect-timeout; then AUTH and SELECT) and
 * gives it back, so libmilter threads may come and go freely. A call
 * waits at most `timeout` in all, connect-timeout more if it opens a
 * connection: before each blocking step the socket's timeouts are set to
 * what it has left. The host name is looked up once, when the store is
 * opened (rd_lookup), and connections go to the address it gave; a
 * connection that failed is dropped, and with it, when it came from the
 * pool, every idle one (rd_failed). A pooled connection is looked at
 * before it is used: one the server closed while it sat idle (a Redis
 * restart, its `timeout`) is dropped for another. TCP connections send
 * keepalives, which keep one idle in the pool known to any NAT on the
 * way and end one whose host vanished. A server that says
 * it is a replica now (READONLY, MASTERDOWN: the old master after a
 * failover) costs the pool all its idle connections, and the host name
 * is looked up again (rd_demoted). A command is sent
 * once more, on a fresh connection, only when it cannot have reached the
 * server: the write itself found the connection closed. Once it was
 * written, a lost connection is an error of the call, never a repeat: a
 * server or proxy that read the EVALSHA and then closed may have run it,
 * and a second run would charge a rate limit or count a pass twice. A
 * command that timed out is never repeated either. The backoff between
 * reconnects is the front's circuit breaker (store.c).
 *
 * Every argument is sent with its length (a RESP multi-bulk, rd_command):
 * keys and values are binary-safe.
 *
 * Writing to a connection the server closed raises SIGPIPE; the process
 * must ignore it (libmilter's smfi_main does).
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "clock.h"
#include "store_backend.h"
#include "units.h"
#include "xalloc.h"

#define RD_IDLE_MAX	256	/* idle connections kept */
#define RD_ADDRS	4	/* addresses of the host name kept */
#define RD_ADDRLEN	64	/* one in numeric form, with a %scope */
#define RD_KEYMAX	(64 + 96)
#define RD_NUM		24

/*
 * The scripts. Lua 5.1 numbers are doubles: every number here stays
 * below 2^53 (the front keeps GCRA numbers below 2^50). Numbers go back
 * into Redis as Lua numbers: redis.call writes an integral number in
 * full ("%.17g", or as an integer in later versions), never in Lua's
 * 14-digit form.
 *
 * The greylist and rate steps run on every recipient decision, and their
 * cost in redis-server is the store's largest on the Redis rows of the
 * bench (docs/PERFORMANCE.md, Round 8). So they read ARGV as `ARGV[i] +
 * 0`, one conversion where tonumber() makes two (it checks, then
 * converts), and only the arguments the path taken needs; they append
 * their answers to the caller's table; tonumber() is kept for what comes
 * from the store, where a bad value must give nil, not an error.
 */

/* grey(out, kg, ka, now, a): the greylist step of fd_store_grey on
 * triplet kg and awl counter ka (nil without an awl), with delay
 * retry_window pass_ttl awl_after awl_ttl at ARGV[a ..]; a whitelisted
 * hit rewrites ka only past FD_AWL_SLACK (store_backend.h). ka counts
 * passed triplets: it goes up on a triplet's first pass only; a later
 * pass keeps a live count alive (past FD_AWL_SLACK, as above). Appends
 * {state, first_seen, passes, awl_count, retry_after} to out. */
#define LUA_GREY \
"local function grey(out, kg, ka, now, a)\n" \
"  local o, awl, ax = #out, 0, 0\n" \
"  if ka then\n" \
"    local h = redis.call('HMGET', ka, 'x', 'c')\n" \
"    local x = tonumber(h[1])\n" \
"    if x and x > now then awl, ax = tonumber(h[2]) or 0, x end\n" \
"    if awl >= ARGV[a + 3] + 0 then\n" \
"      local ttl = ARGV[a + 4] + 0\n" \
"      if x < now + ttl - math.floor(ttl / 100) then\n" \
"        redis.call('HSET', ka, 'x', now + ttl, 'c', awl)\n" \
"        redis.call('EXPIRE', ka, ttl)\n" \
"      end\n" \
"      out[o + 1], out[o + 2], out[o + 3], out[o + 4], out[o + 5] =\n" \
"        3, 0, 0, awl, 0\n" \
"      return\n" \
"    end\n" \
"  end\n" \
"  local g = redis.call('HMGET', kg, 'x', 'f', 'p')\n" \
"  local x, delay = tonumber(g[1]), ARGV[a] + 0\n" \
"  if not x or x <= now then\n" \
"    local window = ARGV[a + 1] + 0\n" \
"    redis.call('HSET', kg, 'x', now + window, 'f', now, 'p', 0)\n" \
"    redis.call('EXPIRE', kg, window)\n" \
"    out[o + 1], out[o + 2], out[o + 3], out[o + 4], out[o + 5] =\n" \
"      0, now, 0, awl, delay\n" \
"    return\n" \
"  end\n" \
"  local first, passes = tonumber(g[2]) or now, tonumber(g[3]) or 0\n" \
"  if passes == 0 and first > now then\n" \
"    first = now\n" \
"    redis.call('HSET', kg, 'f', now)\n" \
"  end\n" \
"  if passes == 0 and now < first + delay then\n" \
"    out[o + 1], out[o + 2], out[o + 3], out[o + 4], out[o + 5] =\n" \
"      1, first, passes, awl, first + delay - now\n" \
"    return\n" \
"  end\n" \
"  local ttl = ARGV[a + 2] + 0\n" \
"  passes = passes + 1\n" \
"  redis.call('HSET', kg, 'x', now + ttl, 'p', passes)\n" \
"  redis.call('EXPIRE', kg, ttl)\n" \
"  ttl = ka and ARGV[a + 4] + 0\n" \
"  if ka and (passes == 1 or (awl > 0 and\n" \
"      ax < now + ttl - math.floor(ttl / 100))) then\n" \
"    if passes == 1 then awl = awl + 1 end\n" \
"    redis.call('HSET', ka, 'x', now + ttl, 'c', awl)\n" \
"    redis.call('EXPIRE', ka, ttl)\n" \
"  end\n" \
"  out[o + 1], out[o + 2], out[o + 3], out[o + 4], out[o + 5] =\n" \
"    2, first, passes, awl, 0\n" \
"end\n"

/* rate(out, k0, n, a0, now): the arithmetic of fd_gcra (store.c), all
 * or nothing, over the n buckets KEYS[k0 + 1 .. k0 + n], with interval
 * cap cost of bucket i at ARGV[a0 + 3i - 3 ..]; now in microseconds.
 * Appends {ok, remaining_1, retry_after_1, ...} to out, each remaining
 * at most UINT32_MAX as in fd_gcra.
 *
 * A bucket's PX runs on Redis's clock from some point inside the whole
 * second `now` names, so it gets that second on top of TAT - now: the
 * key then outlives the moment filterd's clock reaches TAT, and is never
 * dropped while it still holds charges (a key dropped early forgets
 * them, and the next burst passes in full). */
#define LUA_RATE \
"local function idiv(a, b)\n" \
"  local q = math.floor(a / b)\n" \
"  if (q + 1) * b <= a then q = q + 1 elseif q * b > a then q = q - 1 end\n" \
"  return q\n" \
"end\n" \
"local function rate(out, k0, n, a0, now)\n" \
"  local o, ok, v = #out, 1, {}\n" \
"  for i = 1, n do\n" \
"    local a = a0 + 3 * i - 3\n" \
"    local iv, cap, cost = ARGV[a] + 0, ARGV[a + 1] + 0, ARGV[a + 2] + 0\n" \
"    local one, t = cost, tonumber(redis.call('GET', KEYS[k0 + i])) or 0\n" \
"    if one == 0 then one = 1 end\n" \
"    if t < now then t = now\n" \
"    elseif t > now + cap then t = math.max(now, now + cap - one * iv) end\n" \
"    if t + one * iv - now > cap then ok = 0 end\n" \
"    v[4 * i - 3], v[4 * i - 2], v[4 * i - 1], v[4 * i] = t, iv, cap, cost\n" \
"  end\n" \
"  out[o + 1] = ok\n" \
"  for i = 1, n do\n" \
"    local after, iv, cap, cost = v[4 * i - 3], v[4 * i - 2], v[4 * i - 1],\n" \
"      v[4 * i]\n" \
"    local one = cost\n" \
"    if one == 0 then one = 1 end\n" \
"    if ok == 1 and cost > 0 then\n" \
"      after = after + cost * iv\n" \
"      redis.call('SET', KEYS[k0 + i], after, 'PX',\n" \
"        idiv(after - now + 999, 1000) + 1000)\n" \
"    end\n" \
"    local room, rem, ra = cap - (after - now), 0, 0\n" \
"    if room > 0 then rem = math.min(idiv(room, iv), 4294967295) end\n" \
"    local wait = after + one * iv - cap - now\n" \
"    if wait > 0 then ra = idiv(wait + 999999, 1000000) end\n" \
"    out[o + 2 * i], out[o + 2 * i + 1] = rem, ra\n" \
"  end\n" \
"end\n"

/* KEYS: triplet [, awl]; ARGV: now delay retry_window pass_ttl awl_after
 * awl_ttl. Returns {state, first_seen, passes, awl_count, retry_after}. */
static const char rd_grey_lua[] = LUA_GREY
"local out = {}\n"
"grey(out, KEYS[1], KEYS[2], ARGV[1] + 0, 2)\n"
"return out\n";

/* KEYS: n buckets; ARGV: now, then interval cap cost per bucket.
 * Returns {ok, remaining_1, retry_after_1, ...}. */
static const char rd_rate_lua[] = LUA_RATE
"local out = {}\n"
"rate(out, 0, #KEYS, 2, (ARGV[1] + 0) * 1000000)\n"
"return out\n";

/* Several parts at once (fd_store_multi). ARGV: now, then per part
 * either g nkeys delay retry_window pass_ttl awl_after awl_ttl (KEYS: its
 * triplet [, awl]) or r n, then interval cap cost per bucket (KEYS: its
 * n buckets). Returns the parts' answers one after the other, as the
 * single scripts give them. */
static const char rd_multi_lua[] = LUA_GREY LUA_RATE
"local now = ARGV[1] + 0\n"
"local out, k, a, na = {}, 0, 2, #ARGV\n"
"while a <= na do\n"
"  local n = ARGV[a + 1] + 0\n"
"  if ARGV[a] == 'g' then\n"
"    local ka = nil\n"
"    if n > 1 then ka = KEYS[k + 2] end\n"
"    grey(out, KEYS[k + 1], ka, now, a + 2)\n"
"    a = a + 7\n"
"  else\n"
"    rate(out, k, n, a + 2, now * 1000000)\n"
"    a = a + 2 + 3 * n\n"
"  end\n"
"  k = k + n\n"
"end\n"
"return out\n";

/* KEYS: k; ARGV: now. The value, or nil. */
static const char rd_get_lua[] =
"local v = redis.call('HMGET', KEYS[1], 'x', 'v')\n"
"if v[1] and tonumber(v[1]) > tonumber(ARGV[1]) then return v[2] end\n"
"return false\n";

/* KEYS: k; ARGV: expires ttl value */
static const char rd_set_lua[] =
"redis.call('HSET', KEYS[1], 'x', ARGV[1], 'v', ARGV[3])\n"
"redis.call('EXPIRE', KEYS[1], ARGV[2])\n"
"return 1\n";

/* KEYS: k; ARGV: now by ttl. The new value; a new counter gets the TTL,
 * an old one keeps its expiry. */
static const char rd_incr_lua[] =
"local now, by, ttl = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])\n"
"local v = redis.call('HMGET', KEYS[1], 'x', 'v')\n"
"local cur\n"
"if v[1] and tonumber(v[1]) > now then\n"
"  if not v[2] or not string.match(v[2], '^-?%d+$') then\n"
"    return redis.error_reply('FDINVAL incr: value is not an integer')\n"
"  end\n"
"  cur = tonumber(v[2])\n"
"  if math.abs(cur) > 9007199254740991 then\n"
"    return redis.error_reply('FDINVAL incr: overflow')\n"
"  end\n"
"  cur = cur + by\n"
"  if math.abs(cur) > 9007199254740991 then\n"
"    return redis.error_reply('FDINVAL incr: overflow')\n"
"  end\n"
"  redis.call('HSET', KEYS[1], 'v', cur)\n"
"else\n"
"  cur = by\n"
"  redis.call('HSET', KEYS[1], 'x', now + ttl, 'v', cur)\n"
"  redis.call('EXPIRE', KEYS[1], ttl)\n"
"end\n"
"return cur\n";

/* KEYS: k; ARGV: now. 1 if a live entry went, else 0. */
static const char rd_del_lua[] =
"local x = redis.call('HGET', KEYS[1], 'x')\n"
"redis.call('DEL', KEYS[1])\n"
"if x and tonumber(x) > tonumber(ARGV[1]) then return 1 end\n"
"return 0\n";

enum { S_GREY, S_RATE, S_GET, S_SET, S_INCR, S_DEL, S_MULTI, S_COUNT };

static const char *const rd_scripts[S_COUNT] = {
	rd_grey_lua, rd_rate_lua, rd_get_lua, rd_set_lua, rd_incr_lua,
	rd_del_lua, rd_multi_lua
};

#define RD_RBUF		4096	/* reply bytes read at once */

struct rconn {
	redisContext	*c;
	struct rconn	*next;
	int		 unsent;	/* the last command failed before all
					 * of it was written */
	int64_t		 tv_ms;		/* the socket's timeouts; -1 unset */
	char		 rbuf[RD_RBUF];	/* see rd_reply */
};

struct rd {
	struct fd_redis_url url;
	char		*prefix;
	size_t		 plen;
	int64_t		 connect_ms;
	int64_t		 timeout_ms;
	int64_t		 retry_ms;	/* between lookups of the host */
	const struct fd_clock *clock;	/* the store's, for those lookups */

	pthread_mutex_t	 mu;		/* idle, nidle, sha, the addresses */
	struct rconn	*idle;
	unsigned	 nidle;
	char		 sha[S_COUNT][41];
	char		 addr[RD_ADDRS][RD_ADDRLEN];
	int		 naddr;		/* 0: the host did not resolve */
	int		 stale;		/* every address refused: look again */
	int64_t		 looked_up;	/* when, the store's clock */
	char		 why[128];	/* why it did not */
};

/* One call's time: every blocking step of it (connect, AUTH, SELECT,
 * SCRIPT LOAD, EVALSHA, one reconnect) waits only for what is left. */
struct rd_call {
	int64_t		 deadline;	/* monotonic microseconds */
	int64_t		 slack_ms;	/* how far a socket timeout may be off */
	int		 connected;	/* connect_ms was added */
};

/*
 * URLs
 */

/* unhex - one hex digit, or -1 */
static int
unhex(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* pct_decode - a copy of s[0..len) with %XX decoded; NULL if malformed */
static char *
pct_decode(const char *s, size_t len)
{
	char	*out = fd_malloc(len + 1), *o = out;
	size_t	 i;
	int	 hi, lo;

	for (i = 0; i < len; i++) {
		if (s[i] != '%') {
			*o++ = s[i];
			continue;
		}
		/* a %00 would cut the C string short: refuse it too */
		if (i + 2 >= len || (hi = unhex(s[i + 1])) < 0 ||
		    (lo = unhex(s[i + 2])) < 0 || (hi | lo) == 0) {
			free(out);
			return NULL;
		}
		*o++ = (char)(hi << 4 | lo);
		i += 2;
	}
	*o = '\0';
	return out;
}

/* number - all of s[0..len) as a decimal in [min, max]; -1 if not */
static long
number(const char *s, size_t len, long min, long max)
{
	long	 v = 0;
	size_t	 i;

	if (len == 0 || len > 9)
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v < min || v > max ? -1 : v;
}

/* url_hostport - "host", "host:port", "[v6]" or "[v6]:port" */
static int
url_hostport(const char *s, size_t len, struct fd_redis_url *u,
    const char **why)
{
	const char *colon = NULL, *end = s + len, *h = s, *he;
	long	 port;

	if (len > 0 && s[0] == '[') {
		if ((he = memchr(s, ']', len)) == NULL) {
			*why = "unclosed [ in the host";
			return -1;
		}
		h = s + 1;
		if (he + 1 < end) {
			if (he[1] != ':') {
				*why = "junk after the [address]";
				return -1;
			}
			colon = he + 1;
		}
	} else {
		colon = memchr(s, ':', len);
		he = colon ? colon : end;
	}
	if (he == h) {
		*why = "no host";
		return -1;
	}
	u->host = fd_strndup(h, (size_t)(he - h));
	u->port = 6379;
	if (colon != NULL) {
		if ((port = number(colon + 1, (size_t)(end - colon - 1), 1,
		    65535)) < 0) {
			*why = "bad port";
			return -1;
		}
		u->port = (int)port;
	}
	return 0;
}

/* url_userinfo - "[user]:password" or "password" */
static int
url_userinfo(const char *s, size_t len, struct fd_redis_url *u,
    const char **why)
{
	const char *colon = memchr(s, ':', len);

	if (colon == NULL)
		u->pass = pct_decode(s, len);
	else {
		if (colon > s)
			u->user = pct_decode(s, (size_t)(colon - s));
		u->pass = pct_decode(colon + 1, (size_t)(s + len - colon - 1));
		if (colon > s && u->user == NULL) {
			*why = "bad %-escape in the user";
			return -1;
		}
	}
	if (u->pass == NULL) {
		*why = "bad %-escape in the password";
		return -1;
	}
	/* an empty one (a template's unset variable) would be sent, and
	 * every call fail on AUTH; a user of Redis's ACL may have one */
	if (u->pass[0] == '\0' && u->user == NULL) {
		*why = "empty password (leave out the @ for none)";
		return -1;
	}
	return 0;
}

/* url_query - unix socket parameters: db=N, user=U, password=P */
static int
url_query(const char *q, struct fd_redis_url *u, const char **why)
{
	const char	*p = q, *amp, *eq;
	size_t		 len;
	long		 db;

	while (*p != '\0') {
		amp = strchr(p, '&');
		len = amp ? (size_t)(amp - p) : strlen(p);
		if ((eq = memchr(p, '=', len)) == NULL) {
			*why = "query parameter without =";
			return -1;
		}
		if ((size_t)(eq - p) == 2 && strncmp(p, "db", 2) == 0) {
			if ((db = number(eq + 1, len - 3, 0, 1000000)) < 0) {
				*why = "bad db number";
				return -1;
			}
			u->db = (int)db;
		} else if ((size_t)(eq - p) == 4 && strncmp(p, "user", 4) == 0) {
			free(u->user);
			if ((u->user = pct_decode(eq + 1, len - 5)) == NULL) {
				*why = "bad %-escape in the user";
				return -1;
			}
		} else if ((size_t)(eq - p) == 8 &&
		    strncmp(p, "password", 8) == 0) {
			free(u->pass);
			if ((u->pass = pct_decode(eq + 1, len - 9)) == NULL) {
				*why = "bad %-escape in the password";
				return -1;
			}
			if (u->pass[0] == '\0') {
				*why = "empty password (leave it out for none)";
				return -1;
			}
		} else {
			*why = "unknown query parameter (db, user, password)";
			return -1;
		}
		p += len + (amp != NULL);
	}
	return 0;
}

/* known_param - s starts a query parameter url_query knows */
static int
known_param(const char *s)
{
	return strncmp(s, "db=", 3) == 0 || strncmp(s, "user=", 5) == 0 ||
	    strncmp(s, "password=", 9) == 0;
}

/* shown_query - the rest of a URL from its query q on, each password=
 * value as ***, into buf at o; what follows a password up to the next
 * parameter url_query knows may be more of it (a bare &) */
static size_t
shown_query(const char *q, char *buf, size_t len, size_t o)
{
	const char	*end;

	while (*q != '\0' && o + 1 < len) {
		end = q + strcspn(q, "&");
		if (strncmp(q, "password=", 9) == 0) {
			while (*end == '&' && !known_param(end + 1))
				end += 1 + strcspn(end + 1, "&");
			o += (size_t)snprintf(buf + o, len - o, "password=***");
		} else
			o += (size_t)snprintf(buf + o, len - o, "%.*s",
			    (int)(end - q), q);
		if (o < len && *end == '&')
			o += (size_t)snprintf(buf + o, len - o, "&");
		q = end + (*end == '&');
	}
	return o;
}

/*
 * The URL a bad-URL error quotes goes to the log and to `filterd -t`'s
 * output, where a password has no business. It may stand in a query
 * (unix://...?password=, or written so in a redis:// URL by mistake),
 * shown as password=*** up to the next parameter url_query knows, and
 * before the host: there the user part runs from the scheme to the
 * last @ ahead of any password= (a wider reach than
 * fd_redis_url_parse's, which stops at the path: a password holding a
 * bare / or ? is a bad URL, or a good one with a bad port, and must not
 * show either way); in it, the password follows the first colon, or is
 * all of it.
 */
char *
fd_redis_url_shown(const char *url, char *buf, size_t len)
{
	const char	*p = strstr(url, "://"), *lim, *at = NULL, *s, *colon;
	const char	*q;
	size_t		 o = 0;

	p = p != NULL ? p + 3 : url;
	if ((lim = strstr(p, "password=")) == NULL)
		lim = p + strlen(p);
	for (s = p; s < lim; s++)
		if (*s == '@')
			at = s;
	if (at != NULL) {
		colon = memchr(p, ':', (size_t)(at - p));
		o = (size_t)snprintf(buf, len, "%.*s***", (int)((colon != NULL ?
		    colon + 1 : p) - url), url);
		p = at;
	} else
		p = url;
	q = strchr(p, '?');
	if (o < len)
		o += (size_t)snprintf(buf + o, len - o, "%.*s", (int)(q != NULL ?
		    (size_t)(q + 1 - p) : strlen(p)), p);
	if (q != NULL && o < len)
		shown_query(q + 1, buf, len, o);
	return buf;
}

/* fd_redis_url_parse - redis://[[user]:password@]host[:port][/db], unix:///path[?db=N], host[:port] */
int
fd_redis_url_parse(const char *url, struct fd_redis_url *u, const char **why)
{
	const char	*p, *at, *slash, *q;
	long		 db;

	memset(u, 0, sizeof(*u));
	if (strncmp(url, "rediss://", 9) == 0) {
		*why = "TLS (rediss://) is not supported";
		return -1;
	}
	if (strncmp(url, "unix://", 7) == 0) {
		p = url + 7;
		if (*p != '/') {
			*why = "unix:// needs an absolute path (unix:///path)";
			return -1;
		}
		q = strchr(p, '?');
		u->sock = q ? fd_strndup(p, (size_t)(q - p)) : fd_strdup(p);
		if (q != NULL && url_query(q + 1, u, why) < 0)
			goto fail;
		return 0;
	}
	if (strncmp(url, "redis://", 8) == 0)
		p = url + 8;
	else if (strstr(url, "://") != NULL) {
		*why = "unknown scheme (redis:// or unix://)";
		return -1;
	} else
		p = url;	/* bare host[:port] */
	slash = strchr(p, '/');
	if (slash == NULL)
		slash = p + strlen(p);
	/* the last @ before the path: a password may hold an @ */
	for (at = slash; at > p && at[-1] != '@'; at--)
		;
	if (at > p) {
		if (url_userinfo(p, (size_t)(at - 1 - p), u, why) < 0)
			goto fail;
		p = at;
	}
	if (url_hostport(p, (size_t)(slash - p), u, why) < 0)
		goto fail;
	if (*slash == '/' && slash[1] != '\0') {
		if ((db = number(slash + 1, strlen(slash + 1), 0, 1000000)) < 0) {
			*why = "bad db number";
			goto fail;
		}
		u->db = (int)db;
	}
	return 0;
fail:
	fd_redis_url_clear(u);
	return -1;
}

/* fd_redis_url_clear - free what the URL owns */
void
fd_redis_url_clear(struct fd_redis_url *u)
{
	free(u->host);
	free(u->sock);
	free(u->user);
	free(u->pass);
	memset(u, 0, sizeof(*u));
}

/*
 * Connections
 */

/* rd_errstr - say what went wrong on c in words */
static void
rd_errstr(struct rd *rd, redisContext *c, const char *what, char *err,
    size_t errlen)
{
	if (c == NULL)
		snprintf(err, errlen, "%s: out of memory", what);
	else if (c->err == REDIS_ERR_IO && (errno == EAGAIN ||
	    errno == EWOULDBLOCK || errno == EINPROGRESS))
		snprintf(err, errlen, "%s: no answer within %" PRId64 "ms",
		    what, rd->timeout_ms);
	else
		snprintf(err, errlen, "%s: %s", what, c->errstr);
}

/* mono_us - CLOCK_MONOTONIC in microseconds */
static int64_t
mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* ms_tv - milliseconds as a struct timeval */
static struct timeval
ms_tv(int64_t ms)
{
	struct timeval tv;

	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	return tv;
}

/* rd_call_start - a call's deadline: `timeout` from now */
static void
rd_call_start(struct rd *rd, struct rd_call *k)
{
	k->deadline = mono_us() + rd->timeout_ms * 1000;
	k->slack_ms = rd->timeout_ms / 10 > 10 ? rd->timeout_ms / 10 : 10;
	k->connected = 0;
}

/* rd_left - whole milliseconds the call has left, rounded up; <= 0 if
 * none */
static int64_t
rd_left(const struct rd_call *k)
{
	return (k->deadline - mono_us() + 999) / 1000;
}

/* rd_seterr - fail c as hiredis does: err, and errstr as text */
static void
rd_seterr(redisContext *c, int type, const char *str)
{
	int	 e = errno;

	c->err = type;
	snprintf(c->errstr, sizeof(c->errstr), "%s", str);
	errno = e;
}

/*
 * rd_step - before a blocking step on rc: the socket's timeouts cut to
 * what the call has left, so that a reply trickled byte by byte cannot
 * keep it past its deadline; -1 with c->err and errno (EAGAIN, "no
 * answer") when there is nothing left. The timeouts (two system calls)
 * are set only when they are off by more than the call's slack, a tenth
 * of `timeout` (10 ms at least): under load most calls wait a little,
 * and setting them to the millisecond cost every call four system calls
 * for a precision nobody needs. A step may so end that much late.
 */
static int
rd_step(struct rconn *rc, const struct rd_call *k)
{
	int64_t	 left = rd_left(k);

	if (left <= 0) {
		errno = EAGAIN;
		rd_seterr(rc->c, REDIS_ERR_IO, "deadline passed");
		return -1;
	}
	if (rc->tv_ms < 0 || left < rc->tv_ms - k->slack_ms ||
	    left > rc->tv_ms + k->slack_ms) {
		if (redisSetTimeout(rc->c, ms_tv(left)) != REDIS_OK) {
			rc->tv_ms = -1;
			return -1;
		}
		rc->tv_ms = left;
	}
	return 0;
}

static redisReply *rd_command(struct rconn *, const struct rd_call *, int,
    const char **, const size_t *);
static void rd_drop(struct rconn *);

/* rd_simple - run a command that must answer +OK */
static int
rd_simple(struct rd *rd, struct rconn *rc, const struct rd_call *k,
    int argc, const char **argv, char *err, size_t errlen)
{
	redisReply	*r;
	size_t		 lens[3];
	int		 i, rv = 0;

	for (i = 0; i < argc; i++)
		lens[i] = strlen(argv[i]);
	if ((r = rd_command(rc, k, argc, argv, lens)) == NULL) {
		rd_errstr(rd, rc->c, argv[0], err, errlen);
		return -1;
	}
	if (r->type == REDIS_REPLY_ERROR) {
		snprintf(err, errlen, "%s: %s", argv[0], r->str);
		rv = -1;
	}
	freeReplyObject(r);
	return rv;
}

/*
 * rd_lookup - the host's addresses, in numeric form, into rd. Done when
 * the store is opened, not on each connect: getaddrinfo has no time
 * limit, and a slow resolver would hold a milter thread for seconds
 * against a connect-timeout of 200ms. IPv4 first, or failing that IPv6,
 * as hiredis looks them up. -1 with rd->why if there are none; the
 * addresses found before are kept then.
 */
static int
rd_lookup(struct rd *rd)
{
	struct addrinfo	 hints, *res, *ai;
	char		 a[RD_ADDRS][RD_ADDRLEN];
	int		 e, n = 0;

	memset(a, 0, sizeof(a));
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_INET;
	hints.ai_socktype = SOCK_STREAM;
	if ((e = getaddrinfo(rd->url.host, NULL, &hints, &res)) != 0) {
		hints.ai_family = AF_INET6;
		e = getaddrinfo(rd->url.host, NULL, &hints, &res);
	}
	if (e == 0) {
		for (ai = res; ai != NULL && n < RD_ADDRS; ai = ai->ai_next)
			if (getnameinfo(ai->ai_addr, ai->ai_addrlen, a[n],
			    RD_ADDRLEN, NULL, 0, NI_NUMERICHOST) == 0)
				n++;
		freeaddrinfo(res);
	}
	pthread_mutex_lock(&rd->mu);
	if (n > 0) {
		memcpy(rd->addr, a, sizeof(a));
		rd->naddr = n;
		rd->stale = 0;
	}
	rd->looked_up = fd_clock_now(rd->clock);
	if (e != 0)
		snprintf(rd->why, sizeof(rd->why), "%s", gai_strerror(e));
	else if (n == 0)
		snprintf(rd->why, sizeof(rd->why), "no address");
	pthread_mutex_unlock(&rd->mu);
	return n > 0 ? 0 : -1;
}

/* rd_addrs - the host's addresses into a; how many, 0 with err if none.
 * A host that did not resolve, or whose every address refused (a managed
 * Redis whose name moved to another address on failover), is looked up
 * again at most once per breaker-cooldown, by the call that finds it
 * due; that call waits for the resolver. */
static int
rd_addrs(struct rd *rd, char (*a)[RD_ADDRLEN], char *err, size_t errlen)
{
	int64_t	 now = fd_clock_now(rd->clock);
	int64_t	 every = (rd->retry_ms + 999) / 1000;
	int	 n, due;

	pthread_mutex_lock(&rd->mu);
	n = rd->naddr;
	memcpy(a, rd->addr, sizeof(rd->addr));
	due = (n == 0 || rd->stale) && (now - rd->looked_up >= every ||
	    now < rd->looked_up);
	if (due)
		rd->looked_up = now;	/* one thread tries */
	pthread_mutex_unlock(&rd->mu);
	if (due && rd_lookup(rd) == 0) {
		pthread_mutex_lock(&rd->mu);
		n = rd->naddr;
		memcpy(a, rd->addr, sizeof(rd->addr));
		pthread_mutex_unlock(&rd->mu);
		return n;
	}
	if (n == 0) {
		pthread_mutex_lock(&rd->mu);
		snprintf(err, errlen, "resolve %s: %s", rd->url.host, rd->why);
		pthread_mutex_unlock(&rd->mu);
	}
	return n;
}

/* rd_dial - a TCP or unix socket connection within connect-timeout and
 * what the call has left; NULL with err */
static redisContext *
rd_dial(struct rd *rd, const struct rd_call *k, char *err, size_t errlen)
{
	char		 a[RD_ADDRS][RD_ADDRLEN];
	redisContext	*c = NULL;
	int64_t		 ms;
	int		 i, n = 1;

	if (rd->url.sock == NULL && (n = rd_addrs(rd, a, err, errlen)) == 0)
		return NULL;
	/* the next address when one refuses, as hiredis does */
	for (i = 0; i < n; i++) {
		if (c != NULL)
			redisFree(c);
		if ((ms = rd_left(k)) <= 0) {
			snprintf(err, errlen, "connect: timed out");
			return NULL;
		}
		if (ms > rd->connect_ms)
			ms = rd->connect_ms;
		if (rd->url.sock != NULL)
			c = redisConnectUnixWithTimeout(rd->url.sock, ms_tv(ms));
		else
			c = redisConnectWithTimeout(a[i], rd->url.port,
			    ms_tv(ms));
		if (c == NULL || c->err != 0)
			continue;
		if (rd->url.sock != NULL)
			return c;
		/* keepalives (a probe after 15 s of silence): a NAT or a
		 * firewall does not forget a connection idle in the pool,
		 * and one whose host vanished ends, so that rd_pooled drops
		 * it before a call takes it */
		if (redisEnableKeepAlive(c) == REDIS_OK) {
			pthread_mutex_lock(&rd->mu);
			rd->stale = 0;
			pthread_mutex_unlock(&rd->mu);
			return c;
		}
	}
	if (rd->url.sock == NULL) {
		pthread_mutex_lock(&rd->mu);
		rd->stale = 1;
		pthread_mutex_unlock(&rd->mu);
	}
	if (c != NULL && c->err == REDIS_ERR_IO && errno == EINPROGRESS)
		snprintf(err, errlen, "connect: timed out");
	else
		rd_errstr(rd, c, "connect", err, errlen);
	if (c != NULL)
		redisFree(c);
	return NULL;
}

/* rd_connect - a fresh, authenticated connection on the right db. The
 * first connect of a call adds connect-timeout to its deadline: a call
 * that must connect may take that much longer, once. */
static struct rconn *
rd_connect(struct rd *rd, struct rd_call *k, char *err, size_t errlen)
{
	struct rconn	*rc;
	redisContext	*c;
	const char	*argv[3];
	char		 db[16];
	int		 argc;

	if (!k->connected) {
		k->deadline += rd->connect_ms * 1000;
		k->connected = 1;
	}
	if ((c = rd_dial(rd, k, err, errlen)) == NULL)
		return NULL;
	rc = fd_calloc(1, sizeof(*rc));
	rc->c = c;
	rc->tv_ms = -1;
	if (rd->url.pass != NULL) {
		argc = 0;
		argv[argc++] = "AUTH";
		if (rd->url.user != NULL)
			argv[argc++] = rd->url.user;
		argv[argc++] = rd->url.pass;
		if (rd_simple(rd, rc, k, argc, argv, err, errlen) < 0)
			goto fail;
	}
	if (rd->url.db != 0) {
		snprintf(db, sizeof(db), "%d", rd->url.db);
		argv[0] = "SELECT";
		argv[1] = db;
		if (rd_simple(rd, rc, k, 2, argv, err, errlen) < 0)
			goto fail;
	}
	return rc;
fail:
	rd_drop(rc);
	return NULL;
}

/* rd_take - an idle connection, or NULL */
static struct rconn *
rd_take(struct rd *rd)
{
	struct rconn	*rc;

	pthread_mutex_lock(&rd->mu);
	if ((rc = rd->idle) != NULL) {
		rd->idle = rc->next;
		rd->nidle--;
	}
	pthread_mutex_unlock(&rd->mu);
	return rc;
}

/* rd_drop - close a connection */
static void
rd_drop(struct rconn *rc)
{
	if (rc != NULL) {
		redisFree(rc->c);
		free(rc);
	}
}

/* rd_give - back to the pool */
static void
rd_give(struct rd *rd, struct rconn *rc)
{
	pthread_mutex_lock(&rd->mu);
	if (rd->nidle < RD_IDLE_MAX) {
		rc->next = rd->idle;
		rd->idle = rc;
		rd->nidle++;
		rc = NULL;
	}
	pthread_mutex_unlock(&rd->mu);
	rd_drop(rc);
}

/* closed_by_peer - did the command fail because the server closed the
 * connection? (Whether it ran depends on when: see rd_eval.) */
static int
closed_by_peer(redisContext *c, int saved_errno)
{
	return c->err == REDIS_ERR_EOF || (c->err == REDIS_ERR_IO &&
	    (saved_errno == ECONNRESET || saved_errno == EPIPE));
}

/* rd_idle_ok - may an idle connection carry a command? A peek that does
 * not wait: nothing to read is the only good answer. An end of stream
 * or a reset is a server that closed it while it sat in the pool; bytes
 * nobody asked for leave the replies out of step. */
static int
rd_idle_ok(struct rconn *rc)
{
	char	 b;

	return recv(rc->c->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT) < 0 &&
	    (errno == EAGAIN || errno == EWOULDBLOCK);
}

/* rd_pooled - an idle connection fit for a command, or NULL; the dead
 * ones found on the way are dropped (after a restart, all of them) */
static struct rconn *
rd_pooled(struct rd *rd)
{
	struct rconn	*rc;

	while ((rc = rd_take(rd)) != NULL && !rd_idle_ok(rc))
		rd_drop(rc);
	return rc;
}

/* rd_get - a call's connection: an idle one (*fresh 0) or a new one
 * (*fresh 1, which rd_failed needs to know); NULL with err */
static struct rconn *
rd_get(struct rd *rd, struct rd_call *k, int *fresh, char *err,
    size_t errlen)
{
	struct rconn	*rc;

	if ((rc = rd_pooled(rd)) != NULL) {
		*fresh = 0;
		return rc;
	}
	*fresh = 1;
	return rd_connect(rd, k, err, errlen);
}

/* rd_flush - close every idle connection; stale: look the host name up
 * again before the next connect (see rd_addrs) */
static void
rd_flush(struct rd *rd, int stale)
{
	struct rconn	*idle, *next;

	pthread_mutex_lock(&rd->mu);
	idle = rd->idle;
	rd->idle = NULL;
	rd->nidle = 0;
	if (stale)
		rd->stale = 1;
	pthread_mutex_unlock(&rd->mu);
	for (; idle != NULL; idle = next) {
		next = idle->next;
		rd_drop(idle);
	}
}

/*
 * rd_demoted - r says the server is a replica now. After a failover the
 * old master is demoted and stays up: its connections answer, so nothing
 * else would make filterd let go of them, and every call would fail
 * until a restart. The idle ones go with the one that said it, and the
 * host name is looked up again (once per cooldown, see rd_addrs), as
 * when every address refused.
 */
static int
rd_demoted(struct rd *rd, const redisReply *r)
{
	if (r->type != REDIS_REPLY_ERROR || (strncmp(r->str, "READONLY ",
	    9) != 0 && strncmp(r->str, "MASTERDOWN ", 11) != 0))
		return 0;
	rd_flush(rd, rd->url.sock == NULL);
	return 1;
}

/*
 * rd_failed - a call's connection failed on it: a reset, an end of
 * stream, or no answer in time. When the connection came from the pool,
 * the idle ones go too. They were opened the same way to the same
 * server, and what ended this one ends them unseen: a server host that
 * went down and came back knows none of them and resets each when it
 * carries a command, and a NAT or firewall that forgot them drops what
 * they send. Each would otherwise cost a failed call, one per trial of
 * the breaker, for as many as the pool holds. A fresh connection costs a
 * connect.
 */
static void
rd_failed(struct rd *rd, struct rconn *rc, int fresh)
{
	rd_drop(rc);
	if (!fresh)
		rd_flush(rd, 0);
}

/* rd_load - SCRIPT LOAD script s, remember its SHA: 1; 0 on an error
 * reply (err says which); -1 on an I/O error (*e: its errno) */
static int
rd_load(struct rd *rd, struct rconn *rc, const struct rd_call *k, int s,
    int *e, char *err, size_t errlen)
{
	const char	*argv[3] = { "SCRIPT", "LOAD", rd_scripts[s] };
	size_t		 lens[3] = { 6, 4, strlen(rd_scripts[s]) };
	redisReply	*r;

	if ((r = rd_command(rc, k, 3, argv, lens)) == NULL) {
		*e = errno;
		return -1;
	}
	if (r->type != REDIS_REPLY_STRING || r->len != 40) {
		snprintf(err, errlen, "SCRIPT LOAD: %s",
		    r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
		freeReplyObject(r);
		return 0;
	}
	pthread_mutex_lock(&rd->mu);
	memcpy(rd->sha[s], r->str, 40);
	rd->sha[s][40] = '\0';
	pthread_mutex_unlock(&rd->mu);
	freeReplyObject(r);
	return 1;
}

/* rd_result - an EVALSHA reply: FD_SB_OK with *reply, or the error */
static int
rd_result(redisReply *r, redisReply **reply, char *err, size_t errlen)
{
	const char	*inval;

	if (r->type != REDIS_REPLY_ERROR) {
		*reply = r;
		return FD_SB_OK;
	}
	/* our scripts' own refusals read "FDINVAL why" (Redis may put
	 * "ERR ...: " in front): a bad request, not a sick server */
	if ((inval = strstr(r->str, "FDINVAL ")) != NULL) {
		snprintf(err, errlen, "%s", inval + 8);
		freeReplyObject(r);
		return FD_SB_INVAL;
	}
	snprintf(err, errlen, "%s", r->str);
	freeReplyObject(r);
	return FD_SB_FAIL;
}

/* num - argument i is the decimal v. Written out by hand: snprintf cost
 * some 800 instructions a number, and a store call sends a dozen. */
static void
num(const char **argv, size_t *lens, int i, char (*bufs)[RD_NUM], int64_t v)
{
	char		*end = bufs[i] + RD_NUM - 1, *p;

	*end = '\0';
	p = fd_units_dec(end, v < 0 ? -(uint64_t)v : (uint64_t)v);
	if (v < 0)
		*--p = '-';
	argv[i] = p;
	lens[i] = (size_t)(end - p);
}

/* put_len - "<c><n>\r\n" at p; past it */
static char *
put_len(char *p, char c, size_t n)
{
	char	 d[24], *s = fd_units_dec(d + sizeof(d), n);

	*p++ = c;
	memcpy(p, s, (size_t)(d + sizeof(d) - s));
	p += d + sizeof(d) - s;
	*p++ = '\r';
	*p++ = '\n';
	return p;
}

/*
 * rd_reply - send what is appended on rc and read its reply, as
 * redisGetReply does on a blocking context, but through rc's own buffer:
 * hiredis reads into 16 KiB on the caller's stack, the deepest point of a
 * session on Redis, which the next libmilter thread on that stack faults
 * in again (docs/PERFORMANCE.md, Round 7). The socket's timeouts bound
 * each read and write, cut to what the call has left (rd_step). NULL
 * with errno and c->err set on failure, as hiredis leaves them.
 */
static void *
rd_reply(struct rconn *rc, const struct rd_call *k)
{
	redisContext	*c = rc->c;
	void		*reply = NULL;
	ssize_t		 n;
	int		 done = 0;

	do {
		if (rd_step(rc, k) < 0 || redisBufferWrite(c, &done) ==
		    REDIS_ERR) {
			rc->unsent = 1;
			return NULL;
		}
	} while (!done);
	for (;;) {
		if (redisReaderGetReply(c->reader, &reply) == REDIS_ERR) {
			rd_seterr(c, c->reader->err, c->reader->errstr);
			return NULL;
		}
		if (reply != NULL)
			return reply;
		if (rd_step(rc, k) < 0)
			return NULL;
		if ((n = read(c->fd, rc->rbuf, sizeof(rc->rbuf))) < 0) {
			if (errno == EINTR)
				continue;
			rd_seterr(c, REDIS_ERR_IO, strerror(errno));
			return NULL;
		}
		if (n == 0) {
			rd_seterr(c, REDIS_ERR_EOF, "Server closed the connection");
			return NULL;
		}
		if (redisReaderFeed(c->reader, rc->rbuf, (size_t)n) != REDIS_OK) {
			rd_seterr(c, c->reader->err, c->reader->errstr);
			return NULL;
		}
	}
}

/*
 * rd_command - send argv as one RESP multi-bulk and wait for the reply,
 * as redisCommandArgv does. The command is formatted here: hiredis's
 * formatter appends each argument to an sds through a printf-like
 * format, which cost 12,000 instructions of the 30,000 a store call took
 * on the bench's pass path. NULL with errno and c->err set on failure.
 * A command larger than the stack buffer is rare (long keys, many rate
 * limits) and gets fd_malloc, which does not fail.
 */
static redisReply *
rd_command(struct rconn *rc, const struct rd_call *k, int argc,
    const char **argv, const size_t *lens)
{
	char	 stack[2048], *buf = stack, *p;
	size_t	 need = 32;
	void	*reply = NULL;
	int	 i, e;

	for (i = 0; i < argc; i++)
		need += 32 + lens[i];
	if (need > sizeof(stack))
		buf = fd_malloc(need);
	p = put_len(buf, '*', (size_t)argc);
	for (i = 0; i < argc; i++) {
		p = put_len(p, '$', lens[i]);
		memcpy(p, argv[i], lens[i]);
		p += lens[i];
		*p++ = '\r';
		*p++ = '\n';
	}
	rc->unsent = 1;
	if (redisAppendFormattedCommand(rc->c, buf, (size_t)(p - buf)) ==
	    REDIS_OK) {
		rc->unsent = 0;
		reply = rd_reply(rc, k);
	}
	e = errno;
	if (buf != stack)
		free(buf);
	errno = e;
	return reply;
}

/*
 * rd_eval - EVALSHA script s with argv[3..argc) (argv[0..2] are filled
 * here: EVALSHA, the SHA, nkeys). FD_SB_OK with *reply owned by the
 * caller, or FD_SB_FAIL / FD_SB_INVAL with err.
 *
 * The loop covers what a Redis restart leaves behind: a pooled
 * connection the server closed (rd_pooled skips it; one closed as the
 * command was being written is replaced once by a fresh one) and a
 * script cache that forgot our scripts (NOSCRIPT: load, send again).
 */
static int
rd_eval(struct rd *rd, int s, int nkeys, int argc, const char **argv,
    size_t *lens, redisReply **reply, char *err, size_t errlen)
{
	struct rd_call	 k;
	struct rconn	*rc;
	redisReply	*r;
	char		 sha[41], nk[3][RD_NUM];
	int		 fresh, tries, e = 0, rv;

	*reply = NULL;
	rd_call_start(rd, &k);
	if ((rc = rd_get(rd, &k, &fresh, err, errlen)) == NULL)
		return FD_SB_FAIL;
	num(argv, lens, 2, nk, nkeys);
	for (tries = 0; tries < 6; tries++) {
		pthread_mutex_lock(&rd->mu);
		memcpy(sha, rd->sha[s], sizeof(sha));
		pthread_mutex_unlock(&rd->mu);
		if (sha[0] == '\0') {
			if ((rv = rd_load(rd, rc, &k, s, &e, err, errlen)) > 0)
				continue;
			if (rv == 0) {
				rd_give(rd, rc);
				return FD_SB_FAIL;
			}
		} else {
			argv[0] = "EVALSHA";
			argv[1] = sha;
			lens[0] = 7;
			lens[1] = 40;
			r = rd_command(rc, &k, argc, argv, lens);
			e = errno;
			if (r != NULL && r->type == REDIS_REPLY_ERROR &&
			    strncmp(r->str, "NOSCRIPT", 8) == 0) {
				freeReplyObject(r);
				pthread_mutex_lock(&rd->mu);
				if (strcmp(rd->sha[s], sha) == 0)
					rd->sha[s][0] = '\0';
				pthread_mutex_unlock(&rd->mu);
				continue;
			}
			if (r != NULL) {
				if (rd_demoted(rd, r))
					rd_drop(rc);
				else
					rd_give(rd, rc);
				return rd_result(r, reply, err, errlen);
			}
		}
		/* an I/O error: retry only what cannot have run. SCRIPT LOAD
		 * changes nothing; an EVALSHA not all written never reached
		 * the server whole; one written may have run, and a reply
		 * lost after it is this call's error */
		if (fresh || !closed_by_peer(rc->c, e) ||
		    (sha[0] != '\0' && !rc->unsent)) {
			errno = e;
			rd_errstr(rd, rc->c, sha[0] ? "EVALSHA" : "SCRIPT LOAD",
			    err, errlen);
			rd_failed(rd, rc, fresh);
			return FD_SB_FAIL;
		}
		rd_failed(rd, rc, fresh);
		if ((rc = rd_connect(rd, &k, err, errlen)) == NULL)
			return FD_SB_FAIL;
		fresh = 1;
	}
	rd_give(rd, rc);
	snprintf(err, errlen, "EVALSHA: the script keeps going missing");
	return FD_SB_FAIL;
}

/* rd_ints - r is an array of at least n integers */
static int
rd_ints(const redisReply *r, size_t n, char *err, size_t errlen)
{
	size_t	 i;

	if (r->type != REDIS_REPLY_ARRAY || r->elements < n)
		goto bad;
	for (i = 0; i < n; i++)
		if (r->element[i]->type != REDIS_REPLY_INTEGER)
			goto bad;
	return 0;
bad:
	snprintf(err, errlen, "unexpected reply from the script");
	return -1;
}

/*
 * Keys
 */

/* hex - n bytes as 2n hex digits, no NUL */
static void
hex(char *out, const unsigned char *b, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	size_t	 i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[b[i] >> 4];
		out[2 * i + 1] = digits[b[i] & 15];
	}
}

/* rd_key - PREFIX t:{TAG}[:REST] into buf; its length. tag and rest are
 * hashed keys (their digests are written in hex) or, for tag, NULL and
 * the literal `lit`. */
static size_t
rd_key(struct rd *rd, char *buf, int t, const struct fd_skey *tag,
    const char *lit, const struct fd_skey *rest)
{
	size_t	 o = rd->plen;

	memcpy(buf, rd->prefix, o);
	buf[o++] = (char)t;
	buf[o++] = ':';
	buf[o++] = '{';
	if (tag != NULL) {
		hex(buf + o, tag->b + 1, FD_SK_HASHLEN);
		o += 2 * (size_t)FD_SK_HASHLEN;
	} else if (lit != NULL) {
		memcpy(buf + o, lit, strlen(lit));
		o += strlen(lit);
	}
	buf[o++] = '}';
	if (rest != NULL) {
		buf[o++] = ':';
		hex(buf + o, rest->b + 1, FD_SK_HASHLEN);
		o += 2 * (size_t)FD_SK_HASHLEN;
	}
	return o;
}

/*
 * The arguments of one EVALSHA: argv and their lengths, pointing into
 * the keys and numbers formatted for them. A usual call (a greylist check
 * with its awl and a few rate limits) has room on the stack, a larger
 * one takes one allocation: room for the largest call on the stack made
 * a frame of 10 to 26 KiB, and the calls below it reached pages that a
 * new libmilter thread faults in again (docs/PERFORMANCE.md, Round 7).
 */
#define ARGS_SMALL_KEYS	8
#define ARGS_SMALL	48

struct rd_args {
	const char	**argv;
	size_t		 *lens;
	char		(*keys)[RD_KEYMAX];
	char		(*nb)[RD_NUM];		/* number i for argument i */
	void		 *heap;
	const char	 *sargv[ARGS_SMALL];
	size_t		  slens[ARGS_SMALL];
	char		  skeys[ARGS_SMALL_KEYS][RD_KEYMAX];
	char		  snb[ARGS_SMALL][RD_NUM];
};

/* rd_args_init - room for nkeys keys among nargs arguments (argv's first
 * three included) */
static void
rd_args_init(struct rd_args *v, size_t nkeys, size_t nargs)
{
	v->heap = NULL;
	v->argv = v->sargv;
	v->lens = v->slens;
	v->keys = v->skeys;
	v->nb = v->snb;
	if (nkeys <= ARGS_SMALL_KEYS && nargs <= ARGS_SMALL)
		return;
	/* pointers, then sizes, then characters: each aligned */
	v->heap = fd_malloc(nargs * (sizeof(*v->argv) + sizeof(*v->lens) +
	    RD_NUM) + nkeys * RD_KEYMAX);
	v->argv = v->heap;
	v->lens = (size_t *)(void *)(v->argv + nargs);
	v->nb = (char (*)[RD_NUM])(void *)(v->lens + nargs);
	v->keys = (char (*)[RD_KEYMAX])(void *)(v->nb + nargs);
}

/* rd_args_free - what rd_args_init took from the heap */
static void
rd_args_free(struct rd_args *v)
{
	free(v->heap);
}

/*
 * Operations
 */

/* rd_grey - the greylist script */
static int
rd_grey(void *h, const struct fd_sgrey *g, int64_t now,
    struct fd_grey_res *res, char *err, size_t errlen)
{
	struct rd	*rd = h;
	const struct fd_grey_req *q = g->req;
	const char	*argv[11];
	size_t		 lens[11];
	char		 k1[RD_KEYMAX], k2[RD_KEYMAX], nb[11][RD_NUM];
	redisReply	*r;
	int		 nk = 1, i = 3, rc;

	if (g->has_tag) {
		lens[i] = rd_key(rd, k1, 'g', &g->awl, NULL, &g->key);
		argv[i++] = k1;
	}
	if (g->has_awl) {
		lens[i] = rd_key(rd, k2, 'a', &g->awl, NULL, NULL);
		argv[i++] = k2;
		nk = 2;
	} else if (!g->has_tag) {
		lens[i] = rd_key(rd, k1, 'g', &g->key, NULL, NULL);
		argv[i++] = k1;
	}
	num(argv, lens, i++, nb, now);
	num(argv, lens, i++, nb, q->delay);
	num(argv, lens, i++, nb, q->retry_window);
	num(argv, lens, i++, nb, q->pass_ttl);
	num(argv, lens, i++, nb, q->awl_after);
	num(argv, lens, i++, nb, q->awl_ttl > 0 ? q->awl_ttl : 1);
	if ((rc = rd_eval(rd, S_GREY, nk, i, argv, lens, &r, err, errlen)) !=
	    FD_SB_OK)
		return rc;
	if (rd_ints(r, 5, err, errlen) < 0) {
		freeReplyObject(r);
		return FD_SB_FAIL;
	}
	res->state = (enum fd_grey_state)r->element[0]->integer;
	res->first_seen = r->element[1]->integer;
	res->passes = (uint32_t)r->element[2]->integer;
	res->awl_count = (uint32_t)r->element[3]->integer;
	res->retry_after = r->element[4]->integer;
	freeReplyObject(r);
	return FD_SB_OK;
}

/* rd_rate - the rate script over n buckets */
static int
rd_rate(void *h, const struct fd_srate *rt, size_t n, int64_t now,
    struct fd_rate_res *res, char *err, size_t errlen)
{
	struct rd	*rd = h;
	struct rd_args	 v;
	size_t		 i;
	redisReply	*r;
	int		 a = 3, rc, ok;

	rd_args_init(&v, n, 3 + 1 + 4 * n);
	for (i = 0; i < n; i++) {
		v.lens[a] = rd_key(rd, v.keys[i], 'r', NULL, "rate",
		    &rt[i].key);
		v.argv[a++] = v.keys[i];
	}
	num(v.argv, v.lens, a++, v.nb, now);
	for (i = 0; i < n; i++) {
		num(v.argv, v.lens, a++, v.nb, rt[i].interval);
		num(v.argv, v.lens, a++, v.nb, rt[i].cap);
		num(v.argv, v.lens, a++, v.nb, rt[i].cost);
	}
	rc = rd_eval(rd, S_RATE, (int)n, a, v.argv, v.lens, &r, err, errlen);
	rd_args_free(&v);
	if (rc != FD_SB_OK)
		return rc;
	if (rd_ints(r, 1 + 2 * n, err, errlen) < 0) {
		freeReplyObject(r);
		return FD_SB_FAIL;
	}
	ok = r->element[0]->integer == 1;
	for (i = 0; i < n; i++) {
		res[i].allowed = ok;
		res[i].remaining = (uint32_t)r->element[1 + 2 * i]->integer;
		res[i].retry_after = r->element[2 + 2 * i]->integer;
	}
	freeReplyObject(r);
	return FD_SB_OK;
}

/* multi_keys - the keys of part o into argv from a; the next free index */
static int
multi_keys(struct rd *rd, const struct fd_sop *o, const char **argv,
    size_t *lens, int a, char (*keys)[RD_KEYMAX], int *nk)
{
	size_t	 i;

	if (o->g != NULL && o->g->has_tag) {
		lens[a] = rd_key(rd, keys[*nk], 'g', &o->g->awl, NULL,
		    &o->g->key);
		argv[a++] = keys[(*nk)++];
		if (o->g->has_awl) {
			lens[a] = rd_key(rd, keys[*nk], 'a', &o->g->awl,
			    NULL, NULL);
			argv[a++] = keys[(*nk)++];
		}
	} else if (o->g != NULL) {
		lens[a] = rd_key(rd, keys[*nk], 'g', &o->g->key, NULL, NULL);
		argv[a++] = keys[(*nk)++];
	} else {
		for (i = 0; i < o->nr; i++) {
			lens[a] = rd_key(rd, keys[*nk], 'r', NULL, "rate",
			    &o->r[i].key);
			argv[a++] = keys[(*nk)++];
		}
	}
	return a;
}

/* multi_args - the arguments of part o into argv from a; the next index */
static int
multi_args(const struct fd_sop *o, const char **argv, size_t *lens, int a,
    char (*nb)[RD_NUM])
{
	const struct fd_grey_req *q;
	size_t	 i;

	if (o->g != NULL) {
		q = o->g->req;
		argv[a] = "g";
		lens[a++] = 1;
		num(argv, lens, a++, nb, o->g->has_awl ? 2 : 1);
		num(argv, lens, a++, nb, q->delay);
		num(argv, lens, a++, nb, q->retry_window);
		num(argv, lens, a++, nb, q->pass_ttl);
		num(argv, lens, a++, nb, q->awl_after);
		num(argv, lens, a++, nb, q->awl_ttl > 0 ? q->awl_ttl : 1);
		return a;
	}
	argv[a] = "r";
	lens[a++] = 1;
	num(argv, lens, a++, nb, (int64_t)o->nr);
	for (i = 0; i < o->nr; i++) {
		num(argv, lens, a++, nb, o->r[i].interval);
		num(argv, lens, a++, nb, o->r[i].cap);
		num(argv, lens, a++, nb, o->r[i].cost);
	}
	return a;
}

/* multi_read - the answers of the parts, one after the other */
static int
multi_read(const redisReply *r, struct fd_sop *ops, size_t n, char *err,
    size_t errlen)
{
	size_t	 want = 0, e = 0, i, j;

	for (i = 0; i < n; i++)
		want += ops[i].g != NULL ? 5 : 1 + 2 * ops[i].nr;
	if (rd_ints(r, want, err, errlen) < 0)
		return FD_SB_FAIL;
	for (i = 0; i < n; i++) {
		struct fd_sop	*o = &ops[i];

		o->rc = FD_SB_OK;
		if (o->g != NULL) {
			o->gres->state = (enum fd_grey_state)
			    r->element[e]->integer;
			o->gres->first_seen = r->element[e + 1]->integer;
			o->gres->passes = (uint32_t)r->element[e + 2]->integer;
			o->gres->awl_count = (uint32_t)r->element[e + 3]->integer;
			o->gres->retry_after = r->element[e + 4]->integer;
			e += 5;
			continue;
		}
		for (j = 0; j < o->nr; j++) {
			o->rres[j].allowed = r->element[e]->integer == 1;
			o->rres[j].remaining =
			    (uint32_t)r->element[e + 1 + 2 * j]->integer;
			o->rres[j].retry_after =
			    r->element[e + 2 + 2 * j]->integer;
		}
		e += 1 + 2 * o->nr;
	}
	return FD_SB_OK;
}

/* multi_need - the keys, and the arguments with argv's first three, of
 * the multi call of ops */
static void
multi_need(const struct fd_sop *ops, size_t n, size_t *nkeys, size_t *nargs)
{
	size_t	 i, k = 0, a = 3 + 1;

	for (i = 0; i < n; i++)
		if (ops[i].g != NULL) {
			k += ops[i].g->has_awl ? 2 : 1;
			a += 7;
		} else {
			k += ops[i].nr;
			a += 2 + 3 * ops[i].nr;
		}
	*nkeys = k;
	*nargs = a + k;
}

/* rd_multi - several parts, one script: keys first, then arguments */
static int
rd_multi(void *h, struct fd_sop *ops, size_t n, int64_t now, char *err,
    size_t errlen)
{
	struct rd	*rd = h;
	struct rd_args	 v;
	size_t		 nkeys, nargs, i;
	redisReply	*r;
	int		 a = 3, nk = 0, rc;

	multi_need(ops, n, &nkeys, &nargs);
	rd_args_init(&v, nkeys, nargs);
	for (i = 0; i < n; i++)
		a = multi_keys(rd, &ops[i], v.argv, v.lens, a, v.keys, &nk);
	num(v.argv, v.lens, a++, v.nb, now);
	for (i = 0; i < n; i++)
		a = multi_args(&ops[i], v.argv, v.lens, a, v.nb);
	rc = rd_eval(rd, S_MULTI, nk, a, v.argv, v.lens, &r, err, errlen);
	rd_args_free(&v);
	if (rc == FD_SB_OK) {
		rc = multi_read(r, ops, n, err, errlen);
		freeReplyObject(r);
	}
	return rc;
}

/* rd_kget - the kv get script */
static int
rd_kget(void *h, const struct fd_skey *k, int64_t now, void *val,
    size_t *vallen, char *err, size_t errlen)
{
	struct rd	*rd = h;
	const char	*argv[5];
	size_t		 lens[5];
	char		 key[RD_KEYMAX], nb[5][RD_NUM];
	redisReply	*r;
	int		 rc;

	lens[3] = rd_key(rd, key, 'k', k, NULL, NULL);
	argv[3] = key;
	num(argv, lens, 4, nb, now);
	if ((rc = rd_eval(rd, S_GET, 1, 5, argv, lens, &r, err, errlen)) !=
	    FD_SB_OK)
		return rc;
	if (r->type == REDIS_REPLY_NIL) {
		freeReplyObject(r);
		return FD_SB_NOTFOUND;
	}
	if (r->type != REDIS_REPLY_STRING) {
		freeReplyObject(r);
		snprintf(err, errlen, "unexpected reply from the script");
		return FD_SB_FAIL;
	}
	if (r->len > 0)
		memcpy(val, r->str, r->len < *vallen ? r->len : *vallen);
	*vallen = r->len;
	freeReplyObject(r);
	return FD_SB_OK;
}

/* rd_kset - the kv set script */
static int
rd_kset(void *h, const struct fd_skey *k, int64_t now, const void *val,
    size_t vallen, int64_t ttl, char *err, size_t errlen)
{
	struct rd	*rd = h;
	const char	*argv[7];
	size_t		 lens[7];
	char		 key[RD_KEYMAX], nb[7][RD_NUM];
	redisReply	*r;
	int		 rc;

	lens[3] = rd_key(rd, key, 'k', k, NULL, NULL);
	argv[3] = key;
	num(argv, lens, 4, nb, now + ttl);
	num(argv, lens, 5, nb, ttl);
	argv[6] = vallen > 0 ? val : "";
	lens[6] = vallen;
	if ((rc = rd_eval(rd, S_SET, 1, 7, argv, lens, &r, err, errlen)) !=
	    FD_SB_OK)
		return rc;
	freeReplyObject(r);
	return FD_SB_OK;
}

/* rd_kincr - the kv incr script */
static int
rd_kincr(void *h, const struct fd_skey *k, int64_t now, int64_t by,
    int64_t ttl, int64_t *out, char *err, size_t errlen)
{
	struct rd	*rd = h;
	const char	*argv[7];
	size_t		 lens[7];
	char		 key[RD_KEYMAX], nb[7][RD_NUM];
	redisReply	*r;
	int		 rc;

	if (by <= -(1LL << 53) || by >= (1LL << 53)) {
		snprintf(err, errlen, "incr: overflow");
		return FD_SB_INVAL;
	}
	lens[3] = rd_key(rd, key, 'k', k, NULL, NULL);
	argv[3] = key;
	num(argv, lens, 4, nb, now);
	num(argv, lens, 5, nb, by);
	num(argv, lens, 6, nb, ttl);
	if ((rc = rd_eval(rd, S_INCR, 1, 7, argv, lens, &r, err, errlen)) !=
	    FD_SB_OK)
		return rc;
	if (r->type != REDIS_REPLY_INTEGER) {
		freeReplyObject(r);
		snprintf(err, errlen, "unexpected reply from the script");
		return FD_SB_FAIL;
	}
	*out = r->integer;
	freeReplyObject(r);
	return FD_SB_OK;
}

/* rd_kdel - the kv delete script */
static int
rd_kdel(void *h, const struct fd_skey *k, int64_t now, char *err,
    size_t errlen)
{
	struct rd	*rd = h;
	const char	*argv[5];
	size_t		 lens[5];
	char		 key[RD_KEYMAX], nb[5][RD_NUM];
	redisReply	*r;
	int		 rc;

	lens[3] = rd_key(rd, key, 'k', k, NULL, NULL);
	argv[3] = key;
	num(argv, lens, 4, nb, now);
	if ((rc = rd_eval(rd, S_DEL, 1, 5, argv, lens, &r, err, errlen)) !=
	    FD_SB_OK)
		return rc;
	/* the script answers 1 or 0: anything else is no "not found" */
	if (r->type == REDIS_REPLY_INTEGER && r->integer == 1)
		rc = FD_SB_OK;
	else if (r->type == REDIS_REPLY_INTEGER && r->integer == 0)
		rc = FD_SB_NOTFOUND;
	else {
		snprintf(err, errlen, "unexpected reply from the script");
		rc = FD_SB_FAIL;
	}
	freeReplyObject(r);
	return rc;
}

/* rd_sweep - Redis expires keys itself */
static long
rd_sweep(void *h, int64_t now, char *err, size_t errlen)
{
	(void)h;
	(void)now;
	(void)err;
	(void)errlen;
	return 0;
}

/* rd_stats - DBSIZE and used_memory, one round trip (pipelined) */
static int
rd_stats(void *h, uint64_t *entries, uint64_t *bytes, char *err,
    size_t errlen)
{
	struct rd	*rd = h;
	struct rd_call	 k;
	struct rconn	*rc;
	redisReply	*r1 = NULL, *r2 = NULL;
	const char	*p;
	int		 ok = -1, fresh;

	rd_call_start(rd, &k);
	if ((rc = rd_get(rd, &k, &fresh, err, errlen)) == NULL)
		return -1;
	redisAppendCommand(rc->c, "DBSIZE");
	redisAppendCommand(rc->c, "INFO memory");
	if ((r1 = rd_reply(rc, &k)) == NULL ||
	    (r2 = rd_reply(rc, &k)) == NULL) {
		rd_errstr(rd, rc->c, "stats", err, errlen);
		rd_failed(rd, rc, fresh);
		goto out;
	}
	rd_give(rd, rc);
	if (r1->type != REDIS_REPLY_INTEGER || r2->type != REDIS_REPLY_STRING ||
	    (p = strstr(r2->str, "used_memory:")) == NULL) {
		snprintf(err, errlen, "stats: unexpected reply");
		goto out;
	}
	*entries = (uint64_t)r1->integer;
	*bytes = strtoull(p + 12, NULL, 10);
	ok = 0;
out:
	if (r1 != NULL)
		freeReplyObject(r1);
	if (r2 != NULL)
		freeReplyObject(r2);
	return ok;
}

/*
 * Open and close
 */

/* rd_dup_url - a deep copy */
static void
rd_dup_url(struct fd_redis_url *d, const struct fd_redis_url *s)
{
	d->host = s->host ? fd_strdup(s->host) : NULL;
	d->port = s->port;
	d->sock = s->sock ? fd_strdup(s->sock) : NULL;
	d->user = s->user ? fd_strdup(s->user) : NULL;
	d->pass = s->pass ? fd_strdup(s->pass) : NULL;
	d->db = s->db;
}

/* rd_open - no connection yet: an unreachable Redis is a per-call error,
 * and so is a host name that does not resolve (a filterd that refused to
 * start would hold up the mail; rd_addrs tries the name again) */
static void *
rd_open(const struct fd_store_opts *o, const struct fd_clock *clock,
    char *err, size_t errlen)
{
	struct rd	*rd;

	(void)err;
	(void)errlen;
	rd = fd_calloc(1, sizeof(*rd));
	rd->clock = clock;
	rd_dup_url(&rd->url, &o->url);
	rd->prefix = fd_strdup(o->prefix ? o->prefix : "");
	rd->plen = strlen(rd->prefix);
	rd->connect_ms = o->connect_ms;
	rd->timeout_ms = o->timeout_ms;
	rd->retry_ms = o->breaker_ms;
	pthread_mutex_init(&rd->mu, NULL);
	if (rd->url.sock == NULL)
		rd_lookup(rd);
	return rd;
}

/* rd_close - close every pooled connection */
static void
rd_close(void *h)
{
	struct rd	*rd = h;
	struct rconn	*rc;

	while ((rc = rd_take(rd)) != NULL)
		rd_drop(rc);
	pthread_mutex_destroy(&rd->mu);
	fd_redis_url_clear(&rd->url);
	free(rd->prefix);
	free(rd);
}

const struct fd_store_ops fd_store_redis_ops = {
	.name = "redis",
	.breaker = 1,
	.open = rd_open,
	.close = rd_close,
	.grey = rd_grey,
	.rate = rd_rate,
	.multi = rd_multi,
	.get = rd_kget,
	.set = rd_kset,
	.incr = rd_kincr,
	.del = rd_kdel,
	.sweep = rd_sweep,
	.stats = rd_stats,
};
