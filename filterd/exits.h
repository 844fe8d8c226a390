/*
 * exits.h -- filterd's exit codes
 *
 * The numbers of sysexits(3). Shared by main.c and detach.c, whose
 * waiting parent exits with one; filterd.8 says when each is returned.
 */
#ifndef FD_EXITS_H
#define FD_EXITS_H

#define EX_USAGE	64	/* a bad command line */
#define EX_UNAVAILABLE	69	/* startup failed, or serving did */
#define EX_CONFIG	78	/* the configuration has errors */

#endif
