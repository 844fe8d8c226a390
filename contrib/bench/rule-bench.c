/*
 * rule-bench.c -- how table lookups and config loading scale
 *
 * Prints, asserts nothing:
 *   - lookups/s in cidr and domain tables of 1,000 and 100,000 entries
 *     (an indexed range search and a hashed suffix walk: the 100k figure
 *     should be close to the 1k one, not 100 times lower); the time
 *     spent making the names looked up is measured apart and left out;
 *   - the time to load a config with a 100,000-entry cidr table, a
 *     100,000-entry domain table and 500 rules;
 *   - evaluations/s of those 500 rules at one stage, over tables of
 *     1,000 and of 100,000 entries, a new client each time.
 *
 * Usage: rule-bench [lookups]   (default 2,000,000 per table)
 */
#include "config.h"

#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "errs.h"
#include "filterd/plugin.h"
#include "log.h"
#include "rule.h"
#include "table.h"
#include "txn.h"

/* now - monotonic seconds */
static double
now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* rnd - xorshift, reproducible */
static uint32_t
rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return (uint32_t)(*s >> 11);
}

/* cidr_table - n random /32 and /24 entries */
static struct fd_table *
cidr_table(int n)
{
	struct fd_table	*t = fd_table_new("c", FD_TABLE_CIDR);
	uint64_t	 s = 42;
	char		 e[64], err[128];
	uint32_t	 a;
	int		 i;

	for (i = 0; i < n; i++) {
		a = rnd(&s);
		if (i % 4 == 0)
			snprintf(e, sizeof(e), "%u.%u.%u.0/24", a >> 24,
			    (a >> 16) & 255, (a >> 8) & 255);
		else
			snprintf(e, sizeof(e), "%u.%u.%u.%u", a >> 24,
			    (a >> 16) & 255, (a >> 8) & 255, a & 255);
		fd_table_add(t, e, err, sizeof(err));
	}
	fd_table_seal(t);
	return t;
}

/* domain_table - n names, a quarter of them with subdomains */
static struct fd_table *
domain_table(int n)
{
	struct fd_table	*t = fd_table_new("d", FD_TABLE_DOMAIN);
	char		 e[64], err[128];
	int		 i;

	for (i = 0; i < n; i++) {
		snprintf(e, sizeof(e), "%shost%d.example%d.test",
		    i % 4 == 0 ? "." : "", i, i % 101);
		fd_table_add(t, e, err, sizeof(err));
	}
	fd_table_seal(t);
	return t;
}

/* bench_cidr - lookups/s of random addresses */
static void
bench_cidr(int n, long lookups)
{
	struct fd_table	*t = cidr_table(n);
	unsigned char	 ip[4];
	uint64_t	 s = 7;
	uint32_t	 a;
	long		 i, hits = 0;
	double		 t0, dt;

	t0 = now();
	for (i = 0; i < lookups; i++) {
		a = rnd(&s);
		ip[0] = (unsigned char)(a >> 24);
		ip[1] = (unsigned char)(a >> 16);
		ip[2] = (unsigned char)(a >> 8);
		ip[3] = (unsigned char)a;
		hits += fd_table_match_ip(t, ip, 4);
	}
	dt = now() - t0;
	printf("cidr   %7d entries: %12.0f lookups/s  (%.0f ns each, %ld hits)\n",
	    n, (double)lookups / dt, dt * 1e9 / (double)lookups, hits);
	fd_table_free(t);
}

/* client_name - a client's name for an n-entry domain_table: a host of
 * it or, as often, of none; its length */
static size_t
client_name(char *buf, size_t len, uint64_t *s, int n)
{
	int	 k = (int)(rnd(s) % (uint32_t)(n * 2));

	return (size_t)snprintf(buf, len, "mx.host%d.example%d.test", k,
	    k % 101);
}

/* domain_names - make the names bench_domain looks up and nothing else:
 * the time snprintf takes, which the lookups' figure leaves out */
static double
domain_names(int n, long lookups)
{
	char		 name[96];
	uint64_t	 s = 9;
	long		 i;
	size_t		 sum = 0;
	double		 t0, dt;

	t0 = now();
	for (i = 0; i < lookups; i++)
		sum += client_name(name, sizeof(name), &s, n);
	dt = now() - t0;
	printf("domain  %7d names made alone: %.0f ns each (%zu bytes), "
	    "left out below\n", n, dt * 1e9 / (double)lookups, sum);
	return dt;
}

/* bench_domain - lookups/s of names, half of them in the table; the
 * names are made in the loop, as many as there are lookups, so that a
 * large table is read all over as a busy server reads it */
static void
bench_domain(int n, long lookups)
{
	struct fd_table	*t = domain_table(n);
	char		 name[96];
	size_t		 len;
	uint64_t	 s = 9;
	long		 i, hits = 0;
	double		 t0, dt, made;

	made = domain_names(n, lookups);
	t0 = now();
	for (i = 0; i < lookups; i++) {
		len = client_name(name, sizeof(name), &s, n);
		hits += fd_table_match(t, name, len);
	}
	dt = now() - t0 - made;
	if (dt <= 0)
		dt = 1e-9;
	printf("domain %7d entries: %12.0f lookups/s  (%.0f ns each, %ld hits)\n",
	    n, (double)lookups / dt, dt * 1e9 / (double)lookups, hits);
	fd_table_free(t);
}

/* write_config - cidr and domain files of n entries each, 500 rules */
static void
write_config(const char *dir, int n)
{
	char	 path[4096];
	FILE	*f;
	uint64_t s = 5;
	uint32_t a;
	int	 i;

	snprintf(path, sizeof(path), "%s/big.cidr", dir);
	if ((f = fopen(path, "w")) == NULL)
		exit(1);
	for (i = 0; i < n; i++) {
		a = rnd(&s);
		fprintf(f, "%u.%u.%u.%u\n", a >> 24, (a >> 16) & 255,
		    (a >> 8) & 255, a & 255);
	}
	fclose(f);
	snprintf(path, sizeof(path), "%s/big.domains", dir);
	if ((f = fopen(path, "w")) == NULL)
		exit(1);
	for (i = 0; i < n; i++)
		fprintf(f, "%shost%d.example%d.test\n", i % 4 ? "" : ".", i,
		    i % 101);
	fclose(f);
	snprintf(path, sizeof(path), "%s/bench.conf", dir);
	if ((f = fopen(path, "w")) == NULL)
		exit(1);
	fprintf(f, "plugin greylist {}\nplugin ratelimit {}\n"
	    "table nets cidr file \"big.cidr\"\n"
	    "table names domain file \"big.domains\"\n");
	for (i = 0; i < 500; i++) {
		switch (i % 5) {
		case 0:
			fprintf(f, "rule r%d on rcpt if client-ip in <nets> and "
			    "rcpt-domain == d%d.example skip greylist\n", i, i);
			break;
		case 1:
			fprintf(f, "rule r%d on rcpt if client-name in <names> "
			    "and rcpt-local == u%d tempfail\n", i, i);
			break;
		case 2:
			fprintf(f, "rule r%d on rcpt if rcpt ~ /^x%d@/i reject "
			    "550 5.7.1 \"no\"\n", i, i);
			break;
		case 3:
			fprintf(f, "rule r%d on rcpt if sender-domain in { "
			    "a%d.example, .b%d.example } set ratelimit.limit "
			    "%d\n", i, i, i, i);
			break;
		default:
			fprintf(f, "rule r%d on rcpt if helo == h%d.example or "
			    "{daemon_name} == d%d log\n", i, i, i);
			break;
		}
	}
	fclose(f);
}

/* rm_one - nftw callback removing one file or directory */
static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* client - a new client for each evaluation, from all over the address
 * space and the names, so that the tables are read as a busy server
 * reads them, not from the caches */
static void
client(struct fd_txn *t, uint64_t *s, int n)
{
	char		 buf[96];
	uint32_t	 a = rnd(s);

	snprintf(buf, sizeof(buf), "%u.%u.%u.%u", a >> 24, (a >> 16) & 255,
	    (a >> 8) & 255, a & 255);
	fd_txn_set_addr_str(t, buf);
	client_name(buf, sizeof(buf), s, n);
	fd_txn_set_client_name(t, buf);
}

/* bench_load - load a config with n-entry tables, then evaluate its 500
 * rules for evals clients; the load time is printed for 100,000 */
static void
bench_load(int n, long evals)
{
	char		 dir[] = "/tmp/rule-bench.XXXXXX", path[4096];
	struct fd_errs	 errs = { NULL, 0, 0 };
	struct fd_rule_hit hit;
	struct fd_conf	*c;
	struct fd_txn	*t;
	uint64_t	 s = 3;
	double		 t0, dt;
	long		 i, hits = 0;

	if (mkdtemp(dir) == NULL)
		exit(1);
	write_config(dir, n);
	snprintf(path, sizeof(path), "%s/bench.conf", dir);
	t0 = now();
	c = fd_conf_load(path, &errs);
	dt = now() - t0;
	if (c == NULL) {
		fprintf(stderr, "rule-bench: %s\n", errs.n ? errs.msg[0] : "?");
		exit(1);
	}
	if (n == 100000)
		printf("load: 100k cidr + 100k domain entries + 500 rules: "
		    "%.3f s\n", dt);
	t = fd_txn_new(NULL, 1);
	fd_txn_set_helo(t, "mx.example.org");
	fd_txn_msg_begin(t, "<sender@example.org>");
	fd_txn_rcpt_begin(t, "<someone@example.com>");
	t0 = now();
	for (i = 0; i < evals; i++) {
		client(t, &s, n);
		hits += fd_rules_eval(c->rules, FD_ST_RCPT, t, &hit) != 0;
	}
	dt = now() - t0;
	printf("eval: 500 rules over %d-entry tables, %ld matching: %.0f "
	    "evaluations/s (%.1f us each)\n", n, hits, (double)evals / dt,
	    dt * 1e6 / (double)evals);
	fd_txn_free(t);
	fd_conf_free(c);
	fd_errs_clear(&errs);
	nftw(dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

int
main(int argc, char **argv)
{
	long	 n = argc > 1 ? atol(argv[1]) : 2000000;

	if (n <= 0)
		n = 2000000;
	/* the log rules of the load bench would flood the terminal */
	fd_log_set_level(FD_LOG_WARN);
	bench_cidr(1000, n);
	bench_cidr(100000, n);
	bench_domain(1000, n);
	bench_domain(100000, n);
	bench_load(1000, n / 100);
	bench_load(100000, n / 100);
	return 0;
}
