/*
 * store-bench.c -- how fast the store is, and how big it gets
 *
 *	contrib/bench/store-bench [--quick] [--threads N] [--only lmdb|redis]
 *	    [--sync]
 *
 * For LMDB (in a mktemp directory) and for a private redis-server, with
 * several threads calling at once, it prints operations per second for a
 * greylist check, a rate hit with one limit and with three, and a kv
 * incr; for Redis also the round trips per decision, read from INFO
 * commandstats (EVALSHA calls, and every command, per operation).
 *
 * Then the flood: a million distinct rate-limit keys (--quick: 100,000),
 * as a client rotating through addresses would make, and the store's
 * size before and after they expire: entries and bytes in use, the LMDB
 * file size, Redis used_memory and DBSIZE. For LMDB the clock is moved
 * past the TTLs and the store swept; Redis expires keys by its own clock,
 * so the flood uses a two-second period and the bench waits for Redis.
 *
 * Then, for LMDB with the default map-size, a million distinct greylist
 * triplets (with --quick too: it is the figure `make bench` holds to its
 * target, and takes about 3 s), each with an auto-whitelist key, as a
 * flood of new senders makes them, and what they take: entries, bytes in
 * use, and the file's size on disk (its blocks: with `sync no` the file
 * is as long as the map, but sparse) and as `ls` shows it.
 *
 * --sync runs LMDB with `sync yes` (a flush per commit; the default is a
 * flush a second).
 *
 * It prints figures and asserts nothing.
 */
#include "config.h"

#include <errno.h>
#include <ftw.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "clock.h"
#include "conf.h"
#include "log.h"
#include "store.h"
#include "redis.h"

enum op { OP_GREY, OP_RATE1, OP_RATE3, OP_INCR, OP_FLOOD, OP_GFLOOD };

static const char *const op_names[] = {
	"greylist check", "rate hit, 1 limit", "rate hit, 3 limits",
	"kv incr"
};

struct bench {
	struct fd_store		*st;
	struct fd_clock		 clk;
	enum op			 op;
	long			 per_thread;
	long			 errors;
	int			 nthreads;
	int64_t			 flood_period;	/* seconds a flood key lives */
	int			 sync;		/* LMDB `sync yes` */
};

struct worker {
	struct bench	*b;
	int		 id;
	long		 errors;
};

/* now_s - monotonic seconds */
static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* one - one operation of kind op, number i of thread id */
static int
one(struct bench *b, int id, long i)
{
	struct fd_grey_req	 g;
	struct fd_grey_res	 gr;
	struct fd_rate_req	 r[3];
	struct fd_rate_res	 rr[3];
	char			 k[3][64];
	int64_t			 v;
	int			 j;

	switch (b->op) {
	case OP_GREY:
		/* new triplets, and every other call a retry of one */
		memset(&g, 0, sizeof(g));
		snprintf(k[0], sizeof(k[0]), "192.0.2.%d|s%ld@ex.org|r@ex.net",
		    id, i / 2);
		snprintf(k[1], sizeof(k[1]), "192.0.2.%d|ex.org", id);
		g.key = k[0];
		g.keylen = strlen(k[0]);
		g.awl_key = k[1];
		g.awl_keylen = strlen(k[1]);
		g.delay = 300;
		g.retry_window = 2 * 86400;
		g.pass_ttl = 35 * 86400;
		g.awl_after = 1000000;
		g.awl_ttl = 35 * 86400;
		return fd_store_grey(b->st, &g, &gr);
	case OP_GFLOOD:
		/* a new triplet every call, from clients all over */
		memset(&g, 0, sizeof(g));
		snprintf(k[0], sizeof(k[0]), "10.%d.%ld.%ld|s%ld@ex%ld.org|"
		    "r@ex.net", id, (i >> 8) & 255, i & 255, i, i % 997);
		snprintf(k[1], sizeof(k[1]), "10.%d.%ld.%ld|ex%ld.org", id,
		    (i >> 8) & 255, i & 255, i % 997);
		g.key = k[0];
		g.keylen = strlen(k[0]);
		g.awl_key = k[1];
		g.awl_keylen = strlen(k[1]);
		g.delay = 300;
		g.retry_window = 2 * 86400;
		g.pass_ttl = 35 * 86400;
		g.awl_after = 5;
		g.awl_ttl = 35 * 86400;
		return fd_store_grey(b->st, &g, &gr);
	case OP_RATE1:
	case OP_RATE3:
	case OP_FLOOD:
		for (j = 0; j < 3; j++) {
			snprintf(k[j], sizeof(k[j]), "%c|%d|%ld", 'a' + j, id,
			    b->op == OP_FLOOD ? i : i % 1000);
			r[j].key = k[j];
			r[j].keylen = strlen(k[j]);
			r[j].limit = b->op == OP_FLOOD ? 1 : 1000000;
			r[j].period = b->op == OP_FLOOD ? b->flood_period :
			    3600;
			r[j].burst = 0;
			r[j].cost = 1;
		}
		return fd_store_rate(b->st, r, b->op == OP_RATE3 ? 3 : 1, rr);
	case OP_INCR:
		snprintf(k[0], sizeof(k[0]), "counter|%d|%ld", id, i % 1000);
		return fd_store_incr(b->st, k[0], strlen(k[0]), 1, 3600, &v);
	}
	return FD_STORE_ERR;
}

/* worker - one thread's share of the calls */
static void *
worker(void *arg)
{
	struct worker	*w = arg;
	long		 i;

	for (i = 0; i < w->b->per_thread; i++)
		if (one(w->b, w->id, i) == FD_STORE_ERR)
			w->errors++;
	return NULL;
}

/* run - op on all threads; the seconds it took */
static double
run(struct bench *b, enum op op)
{
	pthread_t	 t[256];
	struct worker	 w[256];
	double		 t0;
	int		 i;

	b->op = op;
	b->errors = 0;
	t0 = now_s();
	for (i = 0; i < b->nthreads; i++) {
		w[i].b = b;
		w[i].id = i;
		w[i].errors = 0;
		pthread_create(&t[i], NULL, worker, &w[i]);
	}
	for (i = 0; i < b->nthreads; i++) {
		pthread_join(t[i], NULL);
		b->errors += w[i].errors;
	}
	return now_s() - t0;
}

/*
 * Redis figures
 */

/* rconnect - a side connection for INFO and DBSIZE */
static redisContext *
rconnect(struct fd_test_redis *t)
{
	struct timeval tv = { 5, 0 };

	return redisConnectWithTimeout("127.0.0.1", fd_test_redis_port(t), tv);
}

/*
 * cmdstats - from INFO commandstats: the commands a client sends (EVALSHA
 * and what a connection or a script load costs), and those the scripts
 * run inside Redis (counted there too, but no round trip)
 */
static void
cmdstats(redisContext *c, long *trips, long *inner)
{
	static const char *const client[] = { "evalsha", "eval", "script",
	    "auth", "select", "ping", "hello" };
	static const char *const ours[] = { "info", "config", "dbsize",
	    "flushall" };
	redisReply	*r = redisCommand(c, "INFO commandstats");
	const char	*p, *calls;
	char		 name[32];
	size_t		 i, len;
	long		 n;
	int		 kind;

	*trips = *inner = 0;
	if (r == NULL)
		return;
	for (p = r->str; (p = strstr(p, "cmdstat_")) != NULL; p = calls) {
		p += 8;
		if ((calls = strstr(p, ":calls=")) == NULL)
			break;
		len = (size_t)(calls - p);
		if (len >= sizeof(name))
			continue;
		memcpy(name, p, len);
		name[len] = '\0';
		n = strtol(calls + 7, NULL, 10);
		kind = 0;
		for (i = 0; i < sizeof(client) / sizeof(client[0]); i++)
			if (strcmp(name, client[i]) == 0)
				kind = 1;
		for (i = 0; i < sizeof(ours) / sizeof(ours[0]); i++)
			if (strcmp(name, ours[i]) == 0)
				kind = 2;
		if (kind == 1)
			*trips += n;
		else if (kind == 0)
			*inner += n;
	}
	freeReplyObject(r);
}

/* dbsize - keys in the current db */
static long
dbsize(redisContext *c)
{
	redisReply	*r = redisCommand(c, "DBSIZE");
	long		 n = r ? r->integer : -1;

	if (r)
		freeReplyObject(r);
	return n;
}

/*
 * Output
 */

/* human - bytes for people */
static const char *
human(double bytes, char *buf, size_t len)
{
	if (bytes >= 1 << 20)
		snprintf(buf, len, "%.1f MB", bytes / (1 << 20));
	else if (bytes >= 1 << 10)
		snprintf(buf, len, "%.1f kB", bytes / (1 << 10));
	else
		snprintf(buf, len, "%.0f B", bytes);
	return buf;
}

/* file_size - the size of a file as ls shows it, -1 if none */
static long
file_size(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == 0 ? (long)sb.st_size : -1;
}

/* file_disk - the bytes a file takes on disk (its blocks), -1 if none */
static long
file_disk(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == 0 ? (long)sb.st_blocks * 512 : -1;
}

/* opt - append `name value` to a hand-made options block */
static void
opt(struct fd_block *b, const char *name, const char *value)
{
	struct fd_directive *d = calloc(1, sizeof(*d));

	d->name = strdup(name);
	d->argc = 1;
	d->argv = calloc(2, sizeof(char *));
	d->argv[0] = strdup(value);
	d->argloc = calloc(1, sizeof(struct fd_loc));
	if (b->tail)
		b->tail->next = d;
	else
		b->head = d;
	b->tail = d;
}

/* opts_free - free a hand-made options block */
static void
opts_free(struct fd_block *b)
{
	struct fd_directive *d, *next;

	for (d = b->head; d != NULL; d = next) {
		next = d->next;
		free(d->name);
		free(d->argv[0]);
		free(d->argv);
		free(d->argloc);
		free(d);
	}
}

/* rm_entry - nftw callback: remove one entry */
static int
rm_entry(const char *p, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)sb;
	(void)type;
	(void)ftw;
	remove(p);
	return 0;
}

/* ops - the four operations, one line each */
static void
ops(struct bench *b, const char *name, struct fd_test_redis *t)
{
	redisContext	*c = t ? rconnect(t) : NULL;
	long		 t0, i0, t1, i1, n;
	double		 secs;
	enum op		 op;
	char		 rt[64];

	for (op = OP_GREY; op <= OP_INCR; op++) {
		if (c != NULL)
			cmdstats(c, &t0, &i0);
		secs = run(b, op);
		n = b->per_thread * b->nthreads;
		snprintf(rt, sizeof(rt), "-");
		if (c != NULL) {
			cmdstats(c, &t1, &i1);
			snprintf(rt, sizeof(rt), "%.2f (%.1f commands in Lua)",
			    (double)(t1 - t0) / n, (double)(i1 - i0) / n);
		}
		printf("%-6s %-20s %9.0f ops/s  %s%s\n", name, op_names[op],
		    n / secs, rt, b->errors ? "  ERRORS" : "");
		if (b->errors)
			printf("       (%ld of %ld calls failed)\n", b->errors, n);
	}
	if (c != NULL)
		redisFree(c);
}

/* flood_run - the flood itself, one line */
static void
flood_run(struct bench *b, const char *name, long keys)
{
	double	 secs;

	b->per_thread = keys / b->nthreads;
	secs = run(b, OP_FLOOD);
	printf("%-6s flood: %ld distinct rate keys (1 per %lds) in %.1fs, "
	    "%.0f/s%s\n", name, b->per_thread * b->nthreads,
	    (long)b->flood_period, secs, b->per_thread * b->nthreads / secs,
	    b->errors ? "  ERRORS" : "");
}

/* flood_lmdb - a flood of keys, then move the clock and sweep */
static void
flood_lmdb(struct bench *b, const char *dbdir, long keys)
{
	uint64_t entries, bytes;
	char	 file[512], h1[32], h2[32];
	double	 secs;
	long	 swept;

	snprintf(file, sizeof(file), "%s/data.mdb", dbdir);
	flood_run(b, "lmdb", keys);
	fd_store_stats(b->st, &entries, &bytes);
	printf("         before expiry: %llu entries, %s in use, file %s on "
	    "disk\n", (unsigned long long)entries,
	    human((double)bytes, h1, sizeof(h1)),
	    human((double)file_disk(file), h2, sizeof(h2)));
	fd_clock_advance(&b->clk, b->flood_period + 1);
	secs = now_s();
	swept = fd_store_sweep(b->st);
	secs = now_s() - secs;
	fd_store_stats(b->st, &entries, &bytes);
	printf("         after expiry:  %llu entries, %s in use, file %s on "
	    "disk\n"
	    "         (clock moved past the TTL, %ld swept in %.2fs; the "
	    "file keeps its size, LMDB reuses the pages)\n",
	    (unsigned long long)entries, human((double)bytes, h1, sizeof(h1)),
	    human((double)file_disk(file), h2, sizeof(h2)), swept, secs);
}

/* a million greylist entries in at most 256 MiB on disk: the target */
#define GREY_FLOOD	1000000

/* grey_flood_lmdb - distinct greylist triplets into a fresh store, and
 * the room they take */
static void
grey_flood_lmdb(struct bench *b, const char *dbdir, long keys)
{
	uint64_t entries, bytes;
	char	 file[512], h1[32], h2[32], h3[32];
	double	 secs;

	snprintf(file, sizeof(file), "%s/data.mdb", dbdir);
	b->per_thread = keys / b->nthreads;
	secs = run(b, OP_GFLOOD);
	printf("lmdb   grey flood: %ld new triplets in %.1fs, %.0f/s%s\n",
	    b->per_thread * b->nthreads, secs,
	    b->per_thread * b->nthreads / secs, b->errors ? "  ERRORS" : "");
	fd_store_stats(b->st, &entries, &bytes);
	printf("         %llu entries, %s in use, file %s on disk (%s as ls "
	    "shows it)\n", (unsigned long long)entries,
	    human((double)bytes, h1, sizeof(h1)),
	    human((double)file_disk(file), h2, sizeof(h2)),
	    human((double)file_size(file), h3, sizeof(h3)));
}

/* flood_redis - a flood of keys, then wait for Redis to expire them */
static void
flood_redis(struct bench *b, struct fd_test_redis *t, long keys)
{
	redisContext	*c = rconnect(t);
	uint64_t	 entries, bytes;
	redisReply	*r;
	double		 t0;
	char		 h1[32];

	if ((r = redisCommand(c, "FLUSHALL")) != NULL)
		freeReplyObject(r);
	fd_store_stats(b->st, &entries, &bytes);
	printf("redis  empty: used_memory %s\n",
	    human((double)bytes, h1, sizeof(h1)));
	flood_run(b, "redis", keys);
	fd_store_stats(b->st, &entries, &bytes);
	printf("         before expiry: dbsize %llu, used_memory %s\n",
	    (unsigned long long)entries, human((double)bytes, h1, sizeof(h1)));
	/* Redis expires by its own clock: wait for it */
	t0 = now_s();
	while (dbsize(c) > 0 && now_s() - t0 < b->flood_period + 120)
		usleep(100000);
	fd_store_stats(b->st, &entries, &bytes);
	printf("         after expiry:  dbsize %llu, used_memory %s "
	    "(%.0fs later)\n", (unsigned long long)entries,
	    human((double)bytes, h1, sizeof(h1)), now_s() - t0);
	redisFree(c);
}

/* open_store - a store of this kind at dir (LMDB, with map-size map or
 * the default if NULL) or on t (Redis) */
static struct fd_store *
open_store(struct bench *b, enum fd_store_kind kind, const char *dbdir,
    const char *map, struct fd_test_redis *t)
{
	struct fd_errs	 errs = { 0 };
	struct fd_block	 opts = { 0 };
	struct fd_conf	 conf;
	struct fd_store	*st;

	memset(&conf, 0, sizeof(conf));
	conf.store_kind = kind;
	conf.store_opts = &opts;
	if (kind == FD_STORE_LMDB) {
		conf.store_path = (char *)dbdir;
		if (map != NULL)
			opt(&opts, "map-size", map);
		opt(&opts, "sweep-interval", "1d");
		if (b->sync)
			opt(&opts, "sync", "yes");
	} else {
		conf.store_path = (char *)fd_test_redis_url(t);
		opt(&opts, "prefix", "bench:");
		opt(&opts, "timeout", "5s");
	}
	if ((st = fd_store_new(&conf, &b->clk, &errs)) == NULL)
		fprintf(stderr, "store-bench: %s\n", errs.n ? errs.msg[0] : "?");
	fd_errs_clear(&errs);
	opts_free(&opts);
	return st;
}

/* backend - the operations, then the flood on a fresh store */
static int
backend(enum fd_store_kind kind, struct bench *b, long per_thread,
    long flood)
{
	struct fd_test_redis *t = NULL;
	char		 dir[256], dbdir[300], err[256];
	const char	*name = kind == FD_STORE_LMDB ? "lmdb" : "redis";
	int		 rc = -1;

	snprintf(dir, sizeof(dir), "%s/fd-bench.XXXXXX",
	    getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return -1;
	}
	if (kind == FD_STORE_REDIS &&
	    (t = fd_test_redis_start(err, sizeof(err))) == NULL) {
		fprintf(stderr, "store-bench: redis: %s\n", err);
		goto out;
	}
	fd_clock_set(&b->clk, (int64_t)time(NULL));
	snprintf(dbdir, sizeof(dbdir), "%s/ops", dir);
	if ((b->st = open_store(b, kind, dbdir, "4G", t)) == NULL)
		goto out;
	b->per_thread = per_thread;
	ops(b, name, t);
	b->st = fd_store_free(b->st);

	snprintf(dbdir, sizeof(dbdir), "%s/flood", dir);
	if ((b->st = open_store(b, kind, dbdir, "4G", t)) == NULL)
		goto out;
	if (kind == FD_STORE_LMDB)
		flood_lmdb(b, dbdir, flood);
	else
		flood_redis(b, t, flood);
	b->st = fd_store_free(b->st);
	if (kind == FD_STORE_LMDB) {
		/* in the default map (256 MiB): it must fit there */
		snprintf(dbdir, sizeof(dbdir), "%s/grey", dir);
		if ((b->st = open_store(b, kind, dbdir, NULL, t)) == NULL)
			goto out;
		grey_flood_lmdb(b, dbdir, GREY_FLOOD);
		b->st = fd_store_free(b->st);
	}
	rc = 0;
out:
	fd_test_redis_free(t);
	nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	return rc;
}

/* usage - say how to call it, exit 2 */
static void
usage(void)
{
	fprintf(stderr, "usage: store-bench [--quick] [--threads N] "
	    "[--only lmdb|redis] [--sync]\n");
	exit(2);
}

/* main - parse the flags, bench each backend */
int
main(int argc, char **argv)
{
	struct bench	 b;
	const char	*only = NULL;
	long		 per_thread = 20000, flood = 1000000;
	int		 i, rc = 0;

	memset(&b, 0, sizeof(b));
	b.nthreads = 8;
	b.flood_period = 60;
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--quick") == 0) {
			per_thread = 2000;
			flood = 100000;
			b.flood_period = 10;
		} else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc) {
			b.nthreads = atoi(argv[++i]);
			if (b.nthreads < 1 || b.nthreads > 256)
				usage();
		} else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc)
			only = argv[++i];
		else if (strcmp(argv[i], "--sync") == 0)
			b.sync = 1;
		else if (strcmp(argv[i], "--no-sync") == 0)
			b.sync = 0;	/* the default now */
		else
			usage();
	}
	signal(SIGPIPE, SIG_IGN);
	fd_log_set_level(FD_LOG_WARN);
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("store-bench: %d threads, %ld operations each%s\n", b.nthreads,
	    per_thread, b.sync ? ", LMDB with sync yes" : "");
	printf("%-6s %-20s %15s  %s\n", "store", "operation", "",
	    "Redis round trips per call");
	if (only == NULL || strcmp(only, "lmdb") == 0)
		rc |= backend(FD_STORE_LMDB, &b, per_thread, flood);
	if (only == NULL || strcmp(only, "redis") == 0)
		rc |= backend(FD_STORE_REDIS, &b, per_thread, flood);
	return rc ? 1 : 0;
}
