/*
 * reload.h -- the thread that reloads the configuration on SIGHUP and
 * SIGUSR1
 *
 * Every thread blocks both (main.c) and this one waits for them;
 * libmilter's signal thread, which would take SIGHUP as "stop", no
 * longer waits for it (sigwait.c). It also sets the thread stack libmilter's sessions
 * get, the first generation's and each reload's, and names the settings
 * a reload changed that only a restart applies.
 */
#ifndef FD_RELOAD_H
#define FD_RELOAD_H

struct fd_conf;
struct fd_daemon;
struct fd_reloader;

/* fd_reloader_new - start the thread for d, returning once it has set the
 * first generation's stack; reloads are compared with started's settings
 * read only at start, but for `log` under foreground (-f, stderr) */
struct fd_reloader	*fd_reloader_new(struct fd_daemon *,
			    const struct fd_conf *started, int foreground);
/* fd_reloader_free - stop the thread and wait for it to end */
void			 fd_reloader_free(struct fd_reloader *);

#endif
