/*
 * milter.h -- libmilter glue
 *
 * The only module that includes libmilter's headers. It turns each
 * xxfi_* callback into a txn update plus fd_dispatch(), and the verdict
 * back into SMFIS_* and smfi_setreply. At negotiation it turns off the
 * stages nothing needs and asks for no reply where nothing decides.
 */
#ifndef FD_MILTER_H
#define FD_MILTER_H

#include <stddef.h>

struct fd_daemon;
struct fd_conf;

/* fd_milter_setup - register with libmilter and bind the socket (before
 * privileges are dropped); -1 with a message logged */
int	 fd_milter_setup(struct fd_daemon *, const struct fd_conf *);
/* fd_milter_stack - the stack size of threads libmilter starts from now
 * on; -1 with a message in err */
int	 fd_milter_stack(size_t bytes, char *err, size_t errlen);
/* fd_milter_run - serve until smfi_stop or a stop signal; smfi_main's rc */
int	 fd_milter_run(void);
/* fd_milter_stop - ask libmilter to stop (from any thread) */
void	 fd_milter_stop(void);

/* fd_milter_socket_path - the file of a unix socket spec, else NULL */
const char *fd_milter_socket_path(const char *spec);

/* fd_milter_symlist - the macro list to request at SMFIM stage i for a
 * generation, a new space-separated string */
char	*fd_milter_symlist(const struct fd_conf *, int smfim_stage);
/* fd_milter_symlist_add - list (owned, reallocated) with the names of
 * more (blank-separated, NULL: none) it lacks; returns it */
#define FD_MACRO_NAME_MAX	64
char	*fd_milter_symlist_add(char *list, const char *more);
/* fd_milter_symnames - a symlist as names each ended by NUL, then an
 * empty name: read at every stage without splitting it again */
char	*fd_milter_symnames(const char *symlist);

#endif
