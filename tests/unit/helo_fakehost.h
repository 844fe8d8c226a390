/*
 * helo_fakehost.h -- a tiny filterd host for the helo plugin's unit tests
 *
 * Implements only the host functions the helo plugin calls, over a
 * transaction and a configuration block the test writes by hand. The
 * real host (filterd/host.c) is covered by the lead's integration tests;
 * this one lets the plugin's hooks run without a daemon: replies, reasons,
 * log lines and config errors are captured for the assertions, and the
 * clock is a number the test moves.
 */
#ifndef HELO_FAKEHOST_H
#define HELO_FAKEHOST_H

#include <stddef.h>
#include <stdint.h>

#include <filterd/plugin.h>

/* The test's transaction: what the MTA said, and what the plugin answered. */
struct fd_txn {
	const char	*helo;		/* NULL before HELO */
	const char	*client_addr;	/* text; "" for a unix socket */
	int		 local;
	const char	*mta_name;	/* {j} */
	const char	*if_addr;	/* {if_addr} */
	const char	*daemon_addr;	/* {daemon_addr} */
	const char	*auth_user;	/* {auth_authen} */

	int		 nreply;
	char		 rcode[8], xcode[16], text[1024];
	int		 nreason;
	char		 reason[1024];
};

struct fd_directive {
	char		*name;
	int		 argc;
	char		*argv[16];
	int		 line, col, argcol[16];
};

struct fd_block {
	struct fd_directive d[64];
	int		 n;
};

struct fake {
	struct fd_host	 host;		/* first: the plugin gets &fake.host */
	int64_t		 now;
	char		 conf_dir[512];
	int		 nerrors;
	char		 errors[4096];	/* "test.conf:L:C: message\n" ... */
	int		 nlogs;
	char		 logs[16384];	/* "level: line\n" ... */
};

/* fake_init - a host table wired to f; clock at a fixed date */
void	 fake_init(struct fake *f);
/* fake_block - parse config text ("syntax reject;\n...") into b */
void	 fake_block(struct fd_block *b, const char *text);
/* fake_block_free - the strings fake_block made */
void	 fake_block_free(struct fd_block *b);
/* fake_txn - a remote client at addr, no HELO yet */
void	 fake_txn(struct fd_txn *t, const char *addr);
/* fake_clear - forget captured replies, reasons, logs and errors */
void	 fake_clear(struct fake *f, struct fd_txn *t);

#endif
