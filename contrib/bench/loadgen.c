/*
 * loadgen.c -- milter load generator: N connections as Postfix would make
 *
 * Each of N connections plays SMTP sessions against a milter through the
 * project's milter client (tests/mclient): a new milter connection per
 * session, OPTNEG, CONNECT, HELO, then K messages of MAIL, R x RCPT,
 * DATA, headers, EOH and body (unless --no-data), end of message, and the
 * ABORT Postfix sends after each transaction; QUIT ends the session. The
 * steps the filter turned off at negotiation are not sent, so the same
 * run measures an envelope-only filter and one that reads everything. It
 * is a closed loop: a connection starts its next session when the last
 * one ends.
 *
 * The connections do not each take a thread: the load generator shares
 * the machine with the daemon it measures, and 512 threads woken once per
 * reply cost more CPU per message than 8 do, which a scaling figure
 * would then count against the daemon. Each connection is a coroutine
 * (ucontext) running the same straight-line session code through
 * mclient, whose wait function yields to an epoll loop. --threads loops
 * share the connections, 8 by default: up to 8 connections each get a
 * thread of their own as before, and fewer loops than that answer the
 * filter later, so that libmilter's worker, which waits 1 ms for the
 * next command, gives the connection back to its controller more often
 * and the daemon spends more per message (docs/PERFORMANCE.md, Round 6).
 * ucontext rather than a hand-written state machine over the milter
 * protocol: mclient already speaks it as Postfix does, and a second
 * speaker would drift from it.
 *
 * Keys (client address, client name, HELO, sender, recipients) are drawn
 * from key spaces of a given size by a generator seeded with --seed and
 * the message number, so two runs with the same options send the same
 * keys in the same order however the connections interleave. With
 * --keys N they are tied together instead: N clients, client i always
 * with HELO i, sender i and recipient(s) i, drawn at random or, with
 * --sweep, in turn; a sweep over N messages then shows every greylist
 * triplet once, and a later run over the same N finds them all known
 * (bench.sh primes the greylist that way, moves filterd's clock past the
 * delay, and measures the pass path).
 *
 * Latency is per message: from its MAIL (for the first message of a
 * session, from the socket connect) to the end-of-message reply, or to
 * the reply that refused it. With --pid the target's CPU time over the
 * measured run, its page faults and its memory (VmRSS, RssAnon, VmHWM,
 * threads) are read from /proc; a target of several processes (a peer
 * such as rspamd, a main process and its workers) is given as a list of
 * pids, and each figure is their sum.
 *
 * The last output line is machine-readable:
 *   RESULT label=.. conns=.. msgs=.. secs=.. rate=.. p50_ms=.. p99_ms=..
 *          max_ms=.. errors=.. timeouts=.. cpu_s=.. cpu_pct=.. rss_kb=..
 *          rssanon_kb=.. hwm_kb=.. threads=.. proto=0x.. pass=..
 *          tempfail=.. reject=.. discard=.. rcpt_tempfail=.. rcpt_reject=..
 *          faults=..
 * faults is the target's minor page faults over the measured run per
 * message (-1 without --pid).
 */
#include "config.h"

#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "mclient.h"

#define LG_MAXPIDS	16	/* processes --pid may name */

/* the run's settings, read-only once the loops start */
struct lg_opts {
	const char	*spec;
	const char	*label;
	unsigned	 conns;
	unsigned	 threads;	/* event loops sharing the connections */
	uint64_t	 messages;	/* count mode */
	double		 duration;	/* seconds; > 0: duration mode */
	uint64_t	 warmup;	/* messages before measuring */
	unsigned	 per_session;
	unsigned	 rcpts_per_msg;
	uint32_t	 n_ips, n_senders, n_rcpts, n_helos;
	uint32_t	 keys;		/* > 0: linked key space */
	int		 sweep;		/* linked keys in turn, not random */
	unsigned	 ipv6_pct;
	uint64_t	 seed;
	int		 data;
	size_t		 body_size;
	unsigned	 headers;
	int		 timeout_ms;
	int		 no_abort;
	long		 pids[LG_MAXPIDS];	/* --pid; 0 ends the list */
	int		 quiet;
	uint32_t	 offer_actions;
	uint32_t	 offer_proto;
};

/* what one connection saw; merged after the run */
struct lg_stats {
	uint32_t	*lat_us;	/* latency per finished message */
	size_t		 nlat;
	size_t		 caplat;
	uint64_t	 pass, tempfail, reject, discard;
	uint64_t	 rcpt_tempfail, rcpt_reject;
	uint64_t	 errors, timeouts;
	char		 last_err[160];
};

/* one phase (warm-up or measured) shared by the connections */
struct lg_phase {
	const struct lg_opts *o;
	uint64_t	 first;		/* first message number */
	uint64_t	 count;		/* messages, UINT64_MAX in duration mode */
	int64_t		 end_us;	/* duration mode: start no session after */
	atomic_uint_fast64_t next_session;
	atomic_uint_fast32_t proto;	/* negotiated mask, +1 (0: unknown) */
	int		 record;	/* keep latencies */
};

struct lg_loop;

/* one connection: a coroutine playing sessions back to back */
struct lg_worker {
	struct lg_phase	*ph;
	struct lg_stats	 st;
	struct lg_loop	*loop;
	ucontext_t	 ctx;
	void		*stack;		/* LG_STACK bytes, a guard page below */
	int		 fd;		/* registered with the loop, or -1 */
	uint32_t	 ev;		/* the epoll events registered */
	int		 waiting;	/* yielded in lg_wait */
	int		 woke;		/* lg_wait's answer: 0 ready, 1 late */
	int64_t		 deadline;	/* of the wait, in us */
	int		 done;
};

/* one event loop thread and the connections it runs */
struct lg_loop {
	pthread_t	 tid;
	int		 ep;
	ucontext_t	 main;
	struct lg_worker *ws;
	unsigned	 n;
	unsigned	 live;
};

/* a coroutine's stack: the session code, mclient, getaddrinfo */
#define LG_STACK	(256 * 1024)
/* how often the loop looks for waits past their deadline, in us */
#define LG_SCAN_US	20000

/* lg_now_us - monotonic microseconds */
static int64_t
lg_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* lg_mix - splitmix64: a good 64-bit hash of a counter */
static uint64_t
lg_mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/* lg_rand - the i-th random number of message msg */
static uint64_t
lg_rand(const struct lg_opts *o, uint64_t msg, unsigned i)
{
	return lg_mix(o->seed ^ lg_mix(msg * 64 + i));
}

/* lg_key - the linked key index of message msg */
static uint32_t
lg_key(const struct lg_opts *o, uint64_t msg)
{
	return (uint32_t)((o->sweep ? msg : lg_rand(o, msg, 0)) % o->keys);
}

/* lg_client - address and name of the client with index idx */
static void
lg_client(uint32_t idx, int v6, char *addr, size_t alen, char *name,
    size_t nlen)
{
	/* an odd multiplier is a bijection mod 2^24: neighbouring indices
	 * land in different /24 networks, as real clients do */
	uint32_t v = (idx * 0x9e3779b1u) & 0xffffff;

	if (v6)
		snprintf(addr, alen, "2001:db8:%x:%x::%x", (idx >> 16) & 0xffff,
		    idx & 0xffff, (v & 0xfff) + 1);
	else
		snprintf(addr, alen, "10.%u.%u.%u", v >> 16, (v >> 8) & 0xff,
		    v & 0xff);
	snprintf(name, nlen, "c%u.clients.example.net", idx);
}

/* lg_lat_add - remember one message latency */
static void
lg_lat_add(struct lg_stats *st, int64_t us)
{
	uint32_t *p;

	if (st->nlat == st->caplat) {
		st->caplat = st->caplat ? st->caplat * 2 : 4096;
		if ((p = realloc(st->lat_us, st->caplat * sizeof(*p))) == NULL) {
			fputs("loadgen: out of memory\n", stderr);
			exit(1);
		}
		st->lat_us = p;
	}
	st->lat_us[st->nlat++] = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
}

/* lg_fail - count an error of mc and note its text */
static void
lg_fail(struct lg_stats *st, struct mc_conn *mc, const char *what)
{
	if (mc != NULL && mc_errcode(mc) == MC_ETIMEDOUT)
		st->timeouts++;
	else
		st->errors++;
	snprintf(st->last_err, sizeof(st->last_err), "%s: %.140s", what,
	    mc ? mc_error(mc) : "");
}

/* lg_final - a reply that ends the message (or the session) */
static int
lg_final(enum mc_action a)
{
	return a == MC_REJECT || a == MC_TEMPFAIL || a == MC_DISCARD ||
	    a == MC_SHUTDOWN || a == MC_CONNFAIL;
}

/* lg_count - tally how a message ended */
static void
lg_count(struct lg_stats *st, enum mc_action a)
{
	switch (a) {
	case MC_TEMPFAIL:
	case MC_SHUTDOWN:
	case MC_CONNFAIL:
		st->tempfail++;
		break;
	case MC_REJECT:
		st->reject++;
		break;
	case MC_DISCARD:
		st->discard++;
		break;
	default:
		st->pass++;
		break;
	}
}

/* lg_content - DATA, headers, EOH, body; MC_CONTINUE or what ended it */
static enum mc_action
lg_content(const struct lg_opts *o, struct mc_conn *mc, uint64_t msg,
    const char *from, const char *to)
{
	static const char line[] = "Lorem ipsum dolor sit amet, consectetur "
	    "adipiscing elit, sed do eiusmod tempor.\r\n";
	char	 val[128];
	enum mc_action a;
	size_t	 left;
	unsigned h;

	if (lg_final(a = mc_data(mc)) || a == MC_ERROR)
		return a;
	for (h = 0; h < o->headers; h++) {
		switch (h) {
		case 0:
			a = mc_header(mc, "From", from);
			break;
		case 1:
			a = mc_header(mc, "To", to);
			break;
		case 2:
			snprintf(val, sizeof(val), " load test %" PRIu64, msg);
			a = mc_header(mc, "Subject", val);
			break;
		case 3:
			snprintf(val, sizeof(val), " <%" PRIu64 "@loadgen>", msg);
			a = mc_header(mc, "Message-ID", val);
			break;
		default:
			snprintf(val, sizeof(val), " value %u", h);
			a = mc_header(mc, "X-Loadgen", val);
			break;
		}
		if (lg_final(a) || a == MC_ERROR)
			return a;
	}
	if (lg_final(a = mc_eoh(mc)) || a == MC_ERROR)
		return a;
	for (left = o->body_size; left > 0; ) {
		size_t n = left < sizeof(line) - 1 ? left : sizeof(line) - 1;

		if (lg_final(a = mc_body(mc, line, n)) || a == MC_ERROR)
			return a;
		left -= n;
	}
	return MC_CONTINUE;
}

/*
 * lg_message - one transaction; 0 done (counted), -1 the session broke.
 * t0 is when the message started.
 */
static int
lg_message(struct lg_worker *w, struct mc_conn *mc, uint64_t msg, int64_t t0)
{
	const struct lg_opts *o = w->ph->o;
	struct lg_stats *st = &w->st;
	char	 from[96], to[96], hfrom[100], hto[100];
	enum mc_action a, worst = MC_CONTINUE;
	unsigned r, ok = 0;

	uint64_t sidx = o->keys ? lg_key(o, msg) : lg_rand(o, msg, 3) %
	    o->n_senders, ridx;

	snprintf(from, sizeof(from), "<s%" PRIu64 "@d%" PRIu64 ".example.org>",
	    sidx, sidx % 97);
	if ((a = mc_mail(mc, from, "SIZE=2048 BODY=8BITMIME")) == MC_ERROR)
		goto fail;
	if (lg_final(a)) {
		worst = a;
		goto done;
	}
	for (r = 0; r < o->rcpts_per_msg; r++) {
		ridx = o->keys ? (uint64_t)lg_key(o, msg) * o->rcpts_per_msg + r :
		    lg_rand(o, msg, 4 + r) % o->n_rcpts;
		snprintf(to, sizeof(to), "<r%" PRIu64 "@rcpt.example.com>",
		    ridx);
		if ((a = mc_rcpt(mc, to, NULL)) == MC_ERROR)
			goto fail;
		if (a == MC_TEMPFAIL)
			st->rcpt_tempfail++;
		else if (a == MC_REJECT)
			st->rcpt_reject++;
		if (lg_final(a))
			worst = a;
		else
			ok++;
	}
	if (ok == 0)
		goto done;	/* Postfix refuses DATA with no recipient */
	worst = MC_CONTINUE;
	if (o->data) {
		snprintf(hfrom, sizeof(hfrom), " %s", from);
		snprintf(hto, sizeof(hto), " %s", to);
		if ((a = lg_content(o, mc, msg, hfrom, hto)) == MC_ERROR)
			goto fail;
		if (lg_final(a)) {
			worst = a;
			goto done;
		}
	}
	if ((a = mc_eom(mc)) == MC_ERROR)
		goto fail;
	if (lg_final(a))
		worst = a;
done:
	if (!o->no_abort && mc_abort(mc) < 0)
		goto fail;
	if (w->ph->record)
		lg_lat_add(st, lg_now_us() - t0);
	lg_count(st, worst);
	return 0;
fail:
	lg_fail(st, mc, "message");
	return -1;
}

static mc_wait_fn lg_wait;

/* lg_session - one milter connection carrying messages first..last-1 */
static void
lg_session(struct lg_worker *w, uint64_t first, uint64_t last)
{
	const struct lg_opts *o = w->ph->o;
	struct lg_stats *st = &w->st;
	struct mc_conn *mc;
	char	 err[160], addr[64], name[96], helo[96];
	uint32_t ipidx;
	enum mc_action a;
	uint64_t m;
	int64_t	 t0 = lg_now_us();
	int	 v6;

	w->fd = -1;	/* any fd registered before is closed by now */
	if ((mc = mc_connect_wait(o->spec, o->timeout_ms, lg_wait, w, err,
	    sizeof(err))) == NULL) {
		st->errors += last - first;
		snprintf(st->last_err, sizeof(st->last_err), "connect: %.140s",
		    err);
		return;
	}
	if (mc_negotiate(mc, o->offer_actions, o->offer_proto) < 0) {
		lg_fail(st, mc, "negotiate");
		st->errors += last - first - 1;
		mc_free(mc);
		return;
	}
	atomic_store(&w->ph->proto, mc_proto(mc) + 1);
	ipidx = o->keys ? lg_key(o, first) :
	    (uint32_t)(lg_rand(o, first, 0) % o->n_ips);
	v6 = (o->keys ? lg_mix(o->seed ^ ipidx) : lg_rand(o, first, 1)) % 100 <
	    o->ipv6_pct;
	lg_client(ipidx, v6, addr, sizeof(addr), name, sizeof(name));
	snprintf(helo, sizeof(helo), "mx%" PRIu64 ".helo.example.net",
	    o->keys ? ipidx : lg_rand(o, first, 2) % o->n_helos);
	a = mc_connect_cmd(mc, name, addr, 1024 + (unsigned)(lg_rand(o, first,
	    5) % 64000));
	if (a != MC_ERROR && !lg_final(a) && a != MC_ACCEPT)
		a = mc_helo(mc, helo);
	if (a == MC_ERROR) {
		lg_fail(st, mc, "connect/helo");
		st->errors += last - first - 1;
		mc_free(mc);
		return;
	}
	for (m = first; m < last; m++) {
		if (lg_final(a) || a == MC_ACCEPT) {
			/* decided for the whole connection: each message
			 * gets that answer without a round trip */
			if (w->ph->record)
				lg_lat_add(st, lg_now_us() - t0);
			lg_count(st, a);
		} else if (lg_message(w, mc, m, t0) < 0) {
			st->errors += last - m - 1;
			mc_free(mc);
			return;
		}
		t0 = lg_now_us();
	}
	if (mc_quit(mc) < 0)
		lg_fail(st, mc, "quit");
	mc_free(mc);
}

/* lg_sessions - claim sessions until the phase is over */
static void
lg_sessions(struct lg_worker *w)
{
	struct lg_phase *ph = w->ph;
	uint64_t s, first, last, k = ph->o->per_session;

	for (;;) {
		if (ph->end_us > 0 && lg_now_us() >= ph->end_us)
			break;
		s = atomic_fetch_add(&ph->next_session, 1);
		if (s * k >= ph->count)
			break;
		first = s * k;
		last = first + k < ph->count ? first + k : ph->count;
		lg_session(w, ph->first + first, ph->first + last);
	}
}

/* lg_co_main - a coroutine's body; the pointer comes in two halves, as
 * makecontext passes ints */
static void
lg_co_main(unsigned hi, unsigned lo)
{
	struct lg_worker *w = (struct lg_worker *)(((uintptr_t)hi << 32) |
	    (uintptr_t)lo);

	lg_sessions(w);
	w->done = 1;
	/* returning resumes uc_link, the loop */
}

/* lg_co_new - w's coroutine, ready to start */
static void
lg_co_new(struct lg_loop *l, struct lg_worker *w)
{
	long	 page = sysconf(_SC_PAGESIZE);
	uintptr_t p = (uintptr_t)w;
	char	*m;

	m = mmap(NULL, LG_STACK + (size_t)page, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
	if (m == MAP_FAILED || mprotect(m, (size_t)page, PROT_NONE) < 0 ||
	    getcontext(&w->ctx) < 0) {
		fprintf(stderr, "loadgen: coroutine: %s\n", strerror(errno));
		exit(1);
	}
	w->loop = l;
	w->stack = m;
	w->fd = -1;
	w->waiting = w->done = 0;
	w->ctx.uc_stack.ss_sp = m + page;
	w->ctx.uc_stack.ss_size = LG_STACK;
	w->ctx.uc_link = &l->main;
	makecontext(&w->ctx, (void (*)(void))lg_co_main, 2,
	    (unsigned)(p >> 32), (unsigned)(p & 0xffffffffu));
}

/* lg_resume - run w until it waits or ends */
static void
lg_resume(struct lg_loop *l, struct lg_worker *w)
{
	w->waiting = 0;
	if (swapcontext(&l->main, &w->ctx) < 0) {
		fprintf(stderr, "loadgen: swapcontext: %s\n", strerror(errno));
		exit(1);
	}
	if (w->done) {
		munmap(w->stack, LG_STACK + (size_t)sysconf(_SC_PAGESIZE));
		w->stack = NULL;
		l->live--;
	}
}

/*
 * lg_wait - mclient's wait function: register fd with the loop if it is
 * not yet, and yield until the loop sees it ready or the time is up.
 * Level-triggered, so a reply that came while the coroutine ran is seen
 * at the next epoll_wait.
 */
static int
lg_wait(void *arg, int fd, short events, int timeout_ms)
{
	struct lg_worker *w = arg;
	struct lg_loop *l = w->loop;
	struct epoll_event ev;
	uint32_t want = ((events & POLLIN) ? EPOLLIN : 0) |
	    ((events & POLLOUT) ? EPOLLOUT : 0);

	if (w->fd != fd || w->ev != want) {
		memset(&ev, 0, sizeof(ev));
		ev.events = want;
		ev.data.ptr = w;
		if (epoll_ctl(l->ep, w->fd == fd ? EPOLL_CTL_MOD :
		    EPOLL_CTL_ADD, fd, &ev) < 0)
			return -1;
		w->fd = fd;
		w->ev = want;
	}
	w->deadline = lg_now_us() + (int64_t)timeout_ms * 1000;
	w->waiting = 1;
	if (swapcontext(&w->ctx, &l->main) < 0)
		return -1;
	return w->woke;
}

/* lg_expire - wake the waits past their deadline */
static void
lg_expire(struct lg_loop *l, int64_t now)
{
	unsigned i;

	for (i = 0; i < l->n; i++)
		if (l->ws[i].waiting && l->ws[i].deadline <= now) {
			l->ws[i].woke = 1;
			lg_resume(l, &l->ws[i]);
		}
}

/* lg_loop_run - one event loop: start its connections, run them to the
 * end of the phase */
static void *
lg_loop_run(void *arg)
{
	struct lg_loop *l = arg;
	struct epoll_event evs[128];
	struct lg_worker *w;
	int64_t	 now, scan = lg_now_us() + LG_SCAN_US;
	unsigned i;
	int	 n;

	if ((l->ep = epoll_create1(EPOLL_CLOEXEC)) < 0) {
		fprintf(stderr, "loadgen: epoll: %s\n", strerror(errno));
		exit(1);
	}
	l->live = l->n;
	for (i = 0; i < l->n; i++) {
		lg_co_new(l, &l->ws[i]);
		lg_resume(l, &l->ws[i]);
	}
	while (l->live > 0) {
		n = epoll_wait(l->ep, evs, sizeof(evs) / sizeof(evs[0]),
		    LG_SCAN_US / 1000);
		if (n < 0 && errno != EINTR) {
			fprintf(stderr, "loadgen: epoll_wait: %s\n",
			    strerror(errno));
			exit(1);
		}
		for (i = 0; n > 0 && i < (unsigned)n; i++) {
			w = evs[i].data.ptr;
			/* an fd closed in this round may still report */
			if (w->waiting) {
				w->woke = 0;
				lg_resume(l, w);
			}
		}
		if ((now = lg_now_us()) >= scan) {
			lg_expire(l, now);
			scan = now + LG_SCAN_US;
		}
	}
	close(l->ep);
	return NULL;
}

/* lg_cmp - for qsort of latencies */
static int
lg_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* lg_proc_stat - pid's CPU time (utime + stime) in seconds and its minor
 * page faults so far: 0, or -1 */
static int
lg_proc_stat(long pid, double *cpu, double *faults)
{
	char	 path[64], buf[1024], *p;
	unsigned long minflt, ut, stime;
	FILE	*fp;
	size_t	 n;

	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	if ((fp = fopen(path, "r")) == NULL)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	fclose(fp);
	buf[n] = '\0';
	/* the command name may hold spaces: fields count from its ')' */
	if ((p = strrchr(buf, ')')) == NULL ||
	    sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %lu %*u %*u %*u %lu %lu",
	    &minflt, &ut, &stime) != 3)
		return -1;
	*cpu = (double)(ut + stime) / (double)sysconf(_SC_CLK_TCK);
	*faults = (double)minflt;
	return 0;
}

/* lg_proc_status - a "Name:   123 kB" value of /proc/PID/status, or -1 */
static long
lg_proc_status(long pid, const char *field)
{
	char	 path[64], line[256];
	size_t	 flen = strlen(field);
	long	 v = -1;
	FILE	*fp;

	snprintf(path, sizeof(path), "/proc/%ld/status", pid);
	if ((fp = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), fp) != NULL)
		if (strncmp(line, field, flen) == 0 && line[flen] == ':') {
			v = strtol(line + flen + 1, NULL, 10);
			break;
		}
	fclose(fp);
	return v;
}

/* lg_target_stat - lg_proc_stat summed over the target's processes; -1
 * without a target */
static int
lg_target_stat(const long *pids, double *cpu, double *faults)
{
	double	 c, f;

	if (*pids <= 0)
		return -1;
	*cpu = *faults = 0;
	for (; *pids > 0; pids++) {
		if (lg_proc_stat(*pids, &c, &f) < 0)
			return -1;
		*cpu += c;
		*faults += f;
	}
	return 0;
}

/* lg_target_status - lg_proc_status summed over the target's processes;
 * -1 without a target or when one of them has no such field */
static long
lg_target_status(const long *pids, const char *field)
{
	long	 v, sum = -1;

	for (; *pids > 0; pids++) {
		if ((v = lg_proc_status(*pids, field)) < 0)
			return -1;
		sum = (sum < 0 ? 0 : sum) + v;
	}
	return sum;
}

/* lg_run_phase - run the loops over one phase; wall time in seconds */
static double
lg_run_phase(const struct lg_opts *o, struct lg_worker *ws, uint64_t first,
    uint64_t count, double duration, int record, uint32_t *proto)
{
	struct lg_phase ph;
	struct lg_loop *ls;
	int64_t	 t0;
	unsigned i, at;

	memset(&ph, 0, sizeof(ph));
	ph.o = o;
	ph.first = first;
	ph.count = count;
	ph.record = record;
	atomic_init(&ph.next_session, 0);
	atomic_init(&ph.proto, 0);
	if ((ls = calloc(o->threads, sizeof(*ls))) == NULL) {
		fputs("loadgen: out of memory\n", stderr);
		exit(1);
	}
	for (i = 0; i < o->conns; i++)
		ws[i].ph = &ph;
	t0 = lg_now_us();
	ph.end_us = duration > 0 ? t0 + (int64_t)(duration * 1e6) : 0;
	for (i = 0, at = 0; i < o->threads; i++) {
		ls[i].ws = ws + at;
		ls[i].n = (o->conns - at) / (o->threads - i);
		at += ls[i].n;
		if (pthread_create(&ls[i].tid, NULL, lg_loop_run, &ls[i]) != 0) {
			fprintf(stderr, "loadgen: pthread_create: %s\n",
			    strerror(errno));
			exit(1);
		}
	}
	for (i = 0; i < o->threads; i++)
		pthread_join(ls[i].tid, NULL);
	free(ls);
	if (atomic_load(&ph.proto) != 0)
		*proto = (uint32_t)(atomic_load(&ph.proto) - 1);
	return (double)(lg_now_us() - t0) / 1e6;
}

static void
lg_usage(void)
{
	fprintf(stderr,
"usage: loadgen -s SPEC [options]\n"
"  -s, --socket SPEC        milter socket (inet:PORT@HOST, unix:/path)\n"
"  -c, --conns N            concurrent connections, default 8\n"
"  -T, --threads N          event loop threads sharing them, default 8\n"
"  -n, --messages M         messages to measure, default 20000\n"
"  -d, --duration SECS      measure for SECS seconds instead of -n\n"
"  -w, --warmup M           messages sent first, not measured\n"
"  -k, --per-session K      messages per connection, default 1\n"
"  -r, --rcpts-per-msg R    recipients per message, default 1\n"
"      --ips N              distinct client addresses, default 1000\n"
"      --senders N          distinct senders, default 1000\n"
"      --rcpts N            distinct recipients, default 1000\n"
"      --helos N            distinct HELO names, default 1000\n"
"      --keys N             N clients, each with its own HELO, sender and\n"
"                           recipients (replaces the four above)\n"
"      --sweep              with --keys: clients in turn, not at random\n"
"  -6, --ipv6 PCT           percent of IPv6 clients, default 0\n"
"  -S, --seed N             key generator seed, default 1\n"
"      --no-data            no DATA, headers or body (an MTA always has\n"
"                           them; the filter's negotiation decides)\n"
"      --headers N          headers per message, default 8\n"
"      --body-size BYTES    body size, default 2000\n"
"      --no-abort           no ABORT after each message\n"
"      --offer ACTS,PROTO   OPTNEG offer (hex), default Postfix's\n"
"  -t, --timeout MS         deadline per reply, default 10000\n"
"  -p, --pid PID[,PID...]   report these processes' CPU time and memory\n"
"                           (summed over them)\n"
"  -l, --label NAME         name in the RESULT line\n"
"  -q, --quiet              print only the RESULT line\n");
	exit(64);
}

/* lg_num - a non-negative number argument or usage */
static uint64_t
lg_num(const char *s, uint64_t min)
{
	char	*end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || end == s || v < min)
		lg_usage();
	return v;
}

/* lg_pids - parse "PID[,PID...]" into o->pids, or usage */
static void
lg_pids(struct lg_opts *o, const char *arg)
{
	char	*end;
	size_t	 n = 0;

	do {
		if (n == LG_MAXPIDS - 1)
			lg_usage();
		o->pids[n] = strtol(arg, &end, 10);
		if (end == arg || o->pids[n] <= 0 || (*end && *end != ','))
			lg_usage();
		n++;
		arg = end + 1;
	} while (*end == ',');
	o->pids[n] = 0;
}

/* lg_parse - options into o */
static void
lg_parse(int argc, char **argv, struct lg_opts *o)
{
	enum { O_IPS = 256, O_SENDERS, O_RCPTS, O_HELOS, O_HEADERS, O_BODY,
	    O_NOABORT, O_OFFER, O_NODATA, O_KEYS, O_SWEEP };
	static const struct option lo[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "conns", required_argument, NULL, 'c' },
		{ "threads", required_argument, NULL, 'T' },
		{ "messages", required_argument, NULL, 'n' },
		{ "duration", required_argument, NULL, 'd' },
		{ "warmup", required_argument, NULL, 'w' },
		{ "per-session", required_argument, NULL, 'k' },
		{ "rcpts-per-msg", required_argument, NULL, 'r' },
		{ "ips", required_argument, NULL, O_IPS },
		{ "senders", required_argument, NULL, O_SENDERS },
		{ "rcpts", required_argument, NULL, O_RCPTS },
		{ "helos", required_argument, NULL, O_HELOS },
		{ "keys", required_argument, NULL, O_KEYS },
		{ "sweep", no_argument, NULL, O_SWEEP },
		{ "ipv6", required_argument, NULL, '6' },
		{ "seed", required_argument, NULL, 'S' },
		{ "no-data", no_argument, NULL, O_NODATA },
		{ "headers", required_argument, NULL, O_HEADERS },
		{ "body-size", required_argument, NULL, O_BODY },
		{ "no-abort", no_argument, NULL, O_NOABORT },
		{ "offer", required_argument, NULL, O_OFFER },
		{ "timeout", required_argument, NULL, 't' },
		{ "pid", required_argument, NULL, 'p' },
		{ "label", required_argument, NULL, 'l' },
		{ "quiet", no_argument, NULL, 'q' },
		{ NULL, 0, NULL, 0 }
	};
	char	*comma;
	int	 ch;

	memset(o, 0, sizeof(*o));
	o->label = "target";
	o->conns = 8;
	o->threads = 8;
	o->messages = 20000;
	o->per_session = 1;
	o->rcpts_per_msg = 1;
	o->n_ips = o->n_senders = o->n_rcpts = o->n_helos = 1000;
	o->seed = 1;
	o->data = 1;
	o->headers = 8;
	o->body_size = 2000;
	o->timeout_ms = 10000;
	while ((ch = getopt_long(argc, argv, "s:c:T:n:d:w:k:r:6:S:t:p:l:q", lo,
	    NULL)) != -1) {
		switch (ch) {
		case 's': o->spec = optarg; break;
		case 'c': o->conns = (unsigned)lg_num(optarg, 1); break;
		case 'T': o->threads = (unsigned)lg_num(optarg, 1); break;
		case 'n': o->messages = lg_num(optarg, 1); break;
		case 'd':
			o->duration = strtod(optarg, NULL);
			if (o->duration <= 0)
				lg_usage();
			break;
		case 'w': o->warmup = lg_num(optarg, 0); break;
		case 'k': o->per_session = (unsigned)lg_num(optarg, 1); break;
		case 'r': o->rcpts_per_msg = (unsigned)lg_num(optarg, 1); break;
		case O_IPS: o->n_ips = (uint32_t)lg_num(optarg, 1); break;
		case O_SENDERS: o->n_senders = (uint32_t)lg_num(optarg, 1); break;
		case O_RCPTS: o->n_rcpts = (uint32_t)lg_num(optarg, 1); break;
		case O_HELOS: o->n_helos = (uint32_t)lg_num(optarg, 1); break;
		case O_KEYS: o->keys = (uint32_t)lg_num(optarg, 1); break;
		case O_SWEEP: o->sweep = 1; break;
		case '6': o->ipv6_pct = (unsigned)lg_num(optarg, 0); break;
		case 'S': o->seed = lg_num(optarg, 0); break;
		case O_NODATA: o->data = 0; break;
		case O_HEADERS: o->headers = (unsigned)lg_num(optarg, 0); break;
		case O_BODY: o->body_size = (size_t)lg_num(optarg, 0); break;
		case O_NOABORT: o->no_abort = 1; break;
		case O_OFFER:
			o->offer_actions = (uint32_t)strtoul(optarg, &comma, 16);
			if (*comma != ',')
				lg_usage();
			o->offer_proto = (uint32_t)strtoul(comma + 1, NULL, 16);
			break;
		case 't': o->timeout_ms = (int)lg_num(optarg, 1); break;
		case 'p': lg_pids(o, optarg); break;
		case 'l': o->label = optarg; break;
		case 'q': o->quiet = 1; break;
		default: lg_usage();
		}
	}
	if (o->spec == NULL || optind != argc || o->ipv6_pct > 100 ||
	    (o->sweep && o->keys == 0))
		lg_usage();
	if (o->threads > o->conns)
		o->threads = o->conns;
}

int
main(int argc, char **argv)
{
	struct lg_opts o;
	struct lg_worker *ws;
	struct lg_stats tot;
	struct rusage ru;
	double	 secs, cpu0 = -1, cpu1 = -1, cpu = -1, p50, p99, mx;
	double	 flt0 = 0, flt1 = 0, faults = -1;	/* per message */
	uint32_t proto = 0, *all;
	size_t	 n = 0;
	const char *err = "";
	unsigned t;

	lg_parse(argc, argv, &o);
	signal(SIGPIPE, SIG_IGN);
	if ((ws = calloc(o.conns, sizeof(*ws))) == NULL)
		return 1;
	if (o.warmup > 0)
		(void)lg_run_phase(&o, ws, 0, o.warmup, 0, 0, &proto);
	if (lg_target_stat(o.pids, &cpu0, &flt0) < 0)
		cpu0 = -1;
	for (t = 0; t < o.conns; t++) {
		free(ws[t].st.lat_us);
		memset(&ws[t].st, 0, sizeof(ws[t].st));
	}
	secs = lg_run_phase(&o, ws, o.warmup, o.duration > 0 ? UINT64_MAX :
	    o.messages, o.duration, 1, &proto);
	if (cpu0 >= 0 && lg_target_stat(o.pids, &cpu1, &flt1) == 0)
		cpu = cpu1 - cpu0;

	memset(&tot, 0, sizeof(tot));
	for (t = 0; t < o.conns; t++)
		n += ws[t].st.nlat;
	if (cpu >= 0 && n > 0)
		faults = (flt1 - flt0) / (double)n;
	if ((all = malloc((n ? n : 1) * sizeof(*all))) == NULL)
		return 1;
	for (n = 0, t = 0; t < o.conns; t++) {
		struct lg_stats *s = &ws[t].st;

		memcpy(all + n, s->lat_us, s->nlat * sizeof(*all));
		n += s->nlat;
		tot.pass += s->pass;
		tot.tempfail += s->tempfail;
		tot.reject += s->reject;
		tot.discard += s->discard;
		tot.rcpt_tempfail += s->rcpt_tempfail;
		tot.rcpt_reject += s->rcpt_reject;
		tot.errors += s->errors;
		tot.timeouts += s->timeouts;
		if (s->last_err[0] != '\0')
			err = s->last_err;
	}
	qsort(all, n, sizeof(*all), lg_cmp);
	p50 = n ? all[n / 2] / 1000.0 : 0;
	p99 = n ? all[n * 99 / 100 < n ? n * 99 / 100 : n - 1] / 1000.0 : 0;
	mx = n ? all[n - 1] / 1000.0 : 0;

	if (!o.quiet) {
		printf("%s: %u connections, %zu messages in %.2f s: %.0f msg/s\n",
		    o.label, o.conns, n, secs, secs > 0 ? n / secs : 0);
		printf("  latency per message: p50 %.3f ms, p99 %.3f ms, "
		    "max %.3f ms\n", p50, p99, mx);
		printf("  outcome: pass %" PRIu64 ", tempfail %" PRIu64
		    ", reject %" PRIu64 ", discard %" PRIu64 "; recipients "
		    "tempfailed %" PRIu64 ", rejected %" PRIu64 "\n", tot.pass,
		    tot.tempfail, tot.reject, tot.discard, tot.rcpt_tempfail,
		    tot.rcpt_reject);
		printf("  errors %" PRIu64 ", timeouts %" PRIu64 "%s%s\n",
		    tot.errors, tot.timeouts, *err ? "; last: " : "", err);
		getrusage(RUSAGE_SELF, &ru);
		printf("  loadgen CPU %.2f s\n", ru.ru_utime.tv_sec +
		    ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec +
		    ru.ru_stime.tv_usec) / 1e6);
		if (o.pids[0] > 0)
			printf("  target %ld%s: CPU %.2f s (%.0f%% of one core), "
			    "%.2f page faults a message, "
			    "RSS %ld kB, RssAnon %ld kB, peak %ld kB, "
			    "%ld threads\n", o.pids[0], o.pids[1] ?
			    " and the others named" : "", cpu, secs > 0 ?
			    100 * cpu / secs : 0, faults,
			    lg_target_status(o.pids, "VmRSS"),
			    lg_target_status(o.pids, "RssAnon"),
			    lg_target_status(o.pids, "VmHWM"),
			    lg_target_status(o.pids, "Threads"));
	}
	printf("RESULT label=%s conns=%u msgs=%zu secs=%.3f rate=%.1f "
	    "p50_ms=%.3f p99_ms=%.3f max_ms=%.3f errors=%" PRIu64
	    " timeouts=%" PRIu64 " cpu_s=%.3f cpu_pct=%.1f rss_kb=%ld "
	    "rssanon_kb=%ld hwm_kb=%ld threads=%ld proto=0x%lx pass=%" PRIu64
	    " tempfail=%" PRIu64 " reject=%" PRIu64 " discard=%" PRIu64
	    " rcpt_tempfail=%" PRIu64 " rcpt_reject=%" PRIu64
	    " faults=%.2f\n",
	    o.label, o.conns, n, secs, secs > 0 ? n / secs : 0, p50, p99, mx,
	    tot.errors, tot.timeouts, cpu, secs > 0 && cpu >= 0 ?
	    100 * cpu / secs : -1.0,
	    lg_target_status(o.pids, "VmRSS"),
	    lg_target_status(o.pids, "RssAnon"),
	    lg_target_status(o.pids, "VmHWM"),
	    lg_target_status(o.pids, "Threads"),
	    (unsigned long)proto, tot.pass, tot.tempfail, tot.reject,
	    tot.discard, tot.rcpt_tempfail, tot.rcpt_reject, faults);
	for (t = 0; t < o.conns; t++)
		free(ws[t].st.lat_us);
	free(ws);
	free(all);
	return tot.errors + tot.timeouts > 0 ? 2 : 0;
}
