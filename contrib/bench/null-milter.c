/*
 * null-milter.c -- a libmilter filter that decides nothing: the yardstick
 *
 * The benchmark measures filterd against what libmilter itself costs. This
 * filter has every callback and answers "continue" to all of them; what it
 * asks the MTA for at negotiation is chosen on the command line:
 *
 *   -m every      every step, a reply to each (a classic libmilter filter)
 *   -m envelope   no DATA, headers, EOH, body or unknown commands, and no
 *                 reply awaited at CONNECT, HELO, MAIL and RCPT (what an
 *                 envelope-only filter needs at the least: libmilter's
 *                 ceiling)
 *   -P MASK       exactly these SMFIP_* bits (hex), e.g. the mask another
 *                 filter negotiated, to measure it against the same steps
 *
 * usage: null-milter -p SOCKET [-m every|envelope] [-P MASK] [-t SECS]
 *                    [-b BACKLOG] [-s KIB] [-d LEVEL]
 *
 * -s is the stack of libmilter's threads in KiB, 256 unless told:
 * filterd's default (thread-stack-size), so that a ratio measures
 * filterd's work and not the stack size; -s 0 keeps the system's.
 *
 * -d sets libmilter's debug level (smfi_setdbg), which traces every
 * command on stdout.
 *
 * It stops cleanly on SIGTERM or SIGINT (libmilter's signal thread).
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libmilter/mfapi.h>

/*
 * The protocol bits to ask for. Set once in main() before smfi_main()
 * starts any thread and only read afterwards; libmilter gives callbacks no
 * other context to carry it in.
 */
static unsigned long nm_want;

#define NM_ENVELOPE_NO \
	(SMFIP_NOBODY | SMFIP_NOHDRS | SMFIP_NOEOH | SMFIP_NODATA | \
	 SMFIP_NOUNKNOWN)
#define NM_ENVELOPE_NR \
	(SMFIP_NR_CONN | SMFIP_NR_HELO | SMFIP_NR_MAIL | SMFIP_NR_RCPT)

/* nm_reply - continue, or no reply where the MTA was told not to wait */
static sfsistat
nm_reply(unsigned long nrbit)
{
	return (nm_want & nrbit) ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}

static sfsistat
nm_connect(SMFICTX *ctx, char *host, _SOCK_ADDR *sa)
{
	return nm_reply(SMFIP_NR_CONN);
}

static sfsistat
nm_helo(SMFICTX *ctx, char *helo)
{
	return nm_reply(SMFIP_NR_HELO);
}

static sfsistat
nm_envfrom(SMFICTX *ctx, char **argv)
{
	return nm_reply(SMFIP_NR_MAIL);
}

static sfsistat
nm_envrcpt(SMFICTX *ctx, char **argv)
{
	return nm_reply(SMFIP_NR_RCPT);
}

static sfsistat
nm_data(SMFICTX *ctx)
{
	return nm_reply(SMFIP_NR_DATA);
}

static sfsistat
nm_header(SMFICTX *ctx, char *name, char *value)
{
	return nm_reply(SMFIP_NR_HDR);
}

static sfsistat
nm_eoh(SMFICTX *ctx)
{
	return nm_reply(SMFIP_NR_EOH);
}

static sfsistat
nm_body(SMFICTX *ctx, unsigned char *chunk, size_t len)
{
	return nm_reply(SMFIP_NR_BODY);
}

static sfsistat
nm_eom(SMFICTX *ctx)
{
	return SMFIS_CONTINUE;
}

static sfsistat
nm_abort(SMFICTX *ctx)
{
	return SMFIS_CONTINUE;
}

static sfsistat
nm_close(SMFICTX *ctx)
{
	return SMFIS_CONTINUE;
}

static sfsistat
nm_unknown(SMFICTX *ctx, const char *cmd)
{
	return nm_reply(SMFIP_NR_UNKN);
}

/*
 * nm_negotiate - ask for nm_want, less what the MTA does not offer (f1
 * includes the no-reply bits libmilter can fake for an older MTA)
 */
static sfsistat
nm_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1,
    unsigned long f2, unsigned long f3, unsigned long *pf0,
    unsigned long *pf1, unsigned long *pf2, unsigned long *pf3)
{
	*pf0 = 0;
	*pf1 = nm_want & f1;
	*pf2 = 0;
	*pf3 = 0;
	return SMFIS_CONTINUE;
}

static struct smfiDesc nm_desc = {
	"null-milter",
	SMFI_VERSION,
	0,			/* no actions */
	nm_connect,
	nm_helo,
	nm_envfrom,
	nm_envrcpt,
	nm_header,
	nm_eoh,
	nm_body,
	nm_eom,
	nm_abort,
	nm_close,
	nm_unknown,
	nm_data,
	nm_negotiate
};

/* nm_usage - print usage and exit 64 */
static void
nm_usage(void)
{
	fprintf(stderr, "usage: null-milter -p SOCKET [-m every|envelope] "
	    "[-P MASK] [-t SECS] [-b BACKLOG] [-s KIB] [-d LEVEL]\n");
	exit(64);
}

/* nm_stack - libmilter starts its threads with the process default */
static int
nm_stack(size_t bytes)
{
#ifdef HAVE_PTHREAD_SETATTR_DEFAULT_NP
	pthread_attr_t	 attr;
	int		 rc;

	if (pthread_getattr_default_np(&attr) != 0)
		return -1;
	rc = pthread_attr_setstacksize(&attr, bytes);
	if (rc == 0)
		rc = pthread_setattr_default_np(&attr);
	pthread_attr_destroy(&attr);
	return rc == 0 ? 0 : -1;
#else
	(void)bytes;
	return -1;
#endif
}

int
main(int argc, char **argv)
{
	const char *sock = NULL, *mode = "every";
	char	*end;
	int	 ch, timeout = 30, backlog = 1024, have_mask = 0, dbg = 0;
	long	 stack_kib = 256;

	while ((ch = getopt(argc, argv, "b:d:m:p:P:s:t:")) != -1) {
		switch (ch) {
		case 'b':
			backlog = atoi(optarg);
			break;
		case 'd':
			dbg = atoi(optarg);
			break;
		case 'm':
			mode = optarg;
			break;
		case 'p':
			sock = optarg;
			break;
		case 'P':
			errno = 0;
			nm_want = strtoul(optarg, &end, 16);
			if (errno != 0 || *end != '\0')
				nm_usage();
			have_mask = 1;
			break;
		case 's':
			stack_kib = strtol(optarg, &end, 10);
			if (*end != '\0' || stack_kib < 0)
				nm_usage();
			break;
		case 't':
			timeout = atoi(optarg);
			break;
		default:
			nm_usage();
		}
	}
	if (sock == NULL || optind != argc)
		nm_usage();
	if (!have_mask) {
		if (strcmp(mode, "every") == 0)
			nm_want = 0;
		else if (strcmp(mode, "envelope") == 0)
			nm_want = NM_ENVELOPE_NO | NM_ENVELOPE_NR;
		else
			nm_usage();
	} else
		mode = "mask";
	if (stack_kib > 0 && nm_stack((size_t)stack_kib * 1024) < 0) {
		fprintf(stderr, "null-milter: cannot set a stack of %ld KiB\n",
		    stack_kib);
		return 1;
	}
	if (smfi_setconn((char *)sock) == MI_FAILURE ||
	    smfi_settimeout(timeout) == MI_FAILURE ||
	    smfi_setbacklog(backlog) == MI_FAILURE ||
	    smfi_setdbg(dbg) == MI_FAILURE ||
	    smfi_register(nm_desc) == MI_FAILURE) {
		fprintf(stderr, "null-milter: cannot set up %s\n", sock);
		return 1;
	}
	if (smfi_opensocket(1) == MI_FAILURE) {
		fprintf(stderr, "null-milter: cannot open %s\n", sock);
		return 1;
	}
	fprintf(stderr, "null-milter: listening on %s, mode %s, protocol "
	    "0x%lx\n", sock, mode, nm_want);
	return smfi_main() == MI_SUCCESS ? 0 : 1;
}
