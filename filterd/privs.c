/*
 * privs.c -- who filterd runs as: `user` and `group` looked up, the LMDB
 * directory handed to them, the store opened as them, and the drop
 *
 * See privs.h.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "daemon.h"
#include "log.h"
#include "milter.h"
#include "privs.h"
#include "store.h"

/*
 * fd_run_ids_get - look up `user` and `group` (the user's own group without
 * one); -1 with a located message for a name that does not exist. Done
 * at the start, not at the drop, so that -t sees it and a daemon reports
 * it before it binds or detaches. A group goes with a user: alone it
 * would be ignored, and root's socket then closed to the MTA's group.
 * A user whose uid is 0 would drop nothing, and the check that root
 * cannot be regained would stop the start with a puzzling line.
 */
int
fd_run_ids_get(const struct fd_conf *conf, struct fd_run_ids *ids,
    struct fd_errs *errs)
{
	struct passwd	*pw;
	struct group	*gr;
	int		 rc = 0;

	memset(ids, 0, sizeof(*ids));
	if (conf->user == NULL) {
		if (conf->group == NULL)
			return 0;
		if (getgrnam(conf->group) == NULL)
			fd_errs_add(errs, &conf->group_loc, "group %s: no such "
			    "group", conf->group);
		else
			fd_errs_add(errs, &conf->group_loc, "group %s: given "
			    "without user; filterd takes a group only with the "
			    "user it runs as", conf->group);
		return -1;
	}
	if ((pw = getpwnam(conf->user)) == NULL) {
		fd_errs_add(errs, &conf->user_loc, "user %s: no such user",
		    conf->user);
		rc = -1;
	} else if (pw->pw_uid == 0) {
		fd_errs_add(errs, &conf->user_loc, "user %s: uid 0, which drops "
		    "nothing; name an unprivileged user", conf->user);
		rc = -1;
	} else {
		ids->uid = pw->pw_uid;
		ids->gid = pw->pw_gid;
	}
	if (conf->group != NULL) {
		if ((gr = getgrnam(conf->group)) == NULL) {
			fd_errs_add(errs, &conf->group_loc, "group %s: no such "
			    "group", conf->group);
			rc = -1;
		} else
			ids->gid = gr->gr_gid;
	}
	ids->set = rc == 0;
	return rc;
}

/*
 * chown_entry - hand over one entry of the store directory dfd. It is
 * the run user's to make, so it may be a link to a file of root's: a
 * symbolic one is not followed (nor changed: LMDB makes none), and a
 * file with another hard link is left as it is. Done through a
 * descriptor, so the name cannot be swapped between the look and the
 * chown.
 */
static void
chown_entry(int dfd, const char *dir, const char *name, uid_t uid,
    gid_t gid)
{
	struct stat	 st;
	int		 fd;

	if ((fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_NOCTTY | O_CLOEXEC)) < 0)
		return;
	if (fstat(fd, &st) == 0) {
		if (S_ISREG(st.st_mode) && st.st_nlink > 1) {
			char	 esc[256];

			fd_log_warnx("store lmdb %s: %s not handed to the run "
			    "user: it has other hard links", dir,
			    fd_escape_str(esc, sizeof(esc), name));
		} else
			(void)!fchown(fd, uid, gid);
	}
	close(fd);
}

/*
 * chown_store - hand the LMDB directory dir and its entries to the run
 * user. The directory is the configuration's; its entries are the run
 * user's to make (chown_entry).
 */
static int
chown_store(const char *dir, uid_t uid, gid_t gid)
{
	struct dirent	*de;
	DIR		*dp;

	if (chown(dir, uid, gid) < 0 || (dp = opendir(dir)) == NULL)
		return -1;
	while ((de = readdir(dp)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		chown_entry(dirfd(dp), dir, de->d_name, uid, gid);
	}
	closedir(dp);
	return 0;
}

/* become_user - take the run user's ids as effective ones (0), or back
 * root's (1); -1 when the kernel refused */
static int
become_user(const struct fd_conf *conf, const struct fd_run_ids *ids, int back)
{
	if (back)
		return seteuid(0) < 0 || setegid(0) < 0 ||
		    setgroups(0, NULL) < 0 ? -1 : 0;
	return initgroups(conf->user, ids->gid) < 0 ||
	    setegid(ids->gid) < 0 || seteuid(ids->uid) < 0 ? -1 : 0;
}

/*
 * fd_privs_open_store - the store, after the fork (an LMDB environment
 * must not cross one). Started as root with a `user`, the LMDB directory
 * is made and handed over as root, and its files opened as the run user:
 * they live where that user may write, and a link left there in place of
 * one would otherwise have root write through it (LMDB resizes its lock
 * file). As the run user, the kernel refuses what that user could not
 * open. NULL with a log line.
 */
struct fd_store *
fd_privs_open_store(struct fd_daemon *d, const struct fd_conf *conf,
    const struct fd_run_ids *ids)
{
	struct fd_errs	 errs = { 0 };
	struct fd_store	*st = NULL;
	char		*dir;
	int		 as_user;

	dir = fd_store_dir(conf);
	as_user = dir != NULL && ids->set && geteuid() == 0;
	if (as_user && ((mkdir(dir, 0700) < 0 && errno != EEXIST) ||
	    chown_store(dir, ids->uid, ids->gid) < 0)) {
		fd_log_err("store lmdb %s: cannot hand it to user %s", dir,
		    conf->user);
		free(dir);
		return NULL;
	}
	free(dir);
	if (as_user && become_user(conf, ids, 0) < 0)
		fd_log_err("cannot act as user %s", conf->user);
	else
		st = fd_store_new(conf, &d->clock, &errs);
	/* not root again is not safe to go on from */
	if (as_user && become_user(conf, ids, 1) < 0)
		fd_fatal("cannot take root's ids back: %s", strerror(errno));
	for (size_t i = 0; i < errs.n; i++)
		fd_log(FD_LOG_ERR, "%s", errs.msg[i]);
	fd_errs_clear(&errs);
	return st;
}

/*
 * chown_socket - hand the unix socket at path to the run user. Its
 * directory may be that user's, whose process could have put a link
 * there in its place since the bind: a symbolic one, or a hard one to a
 * file of root's (where fs.protected_hardlinks allows it), which a chown
 * by name would hand over. Only a socket with no other name is handed
 * over, through a descriptor, so the name cannot be swapped between the
 * look and the chown; anything else is left as it is.
 */
static void
chown_socket(const char *path, uid_t uid, gid_t gid)
{
	struct stat	 st;
	const char	*why = NULL;
	int		 fd;

	if ((fd = open(path, O_PATH | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		fd_log_warn("socket %s: chown", path);
		return;
	}
	if (fstat(fd, &st) < 0)
		fd_log_warn("socket %s: fstat", path);
	else if (!S_ISSOCK(st.st_mode))
		why = "not a socket";
	else if (st.st_nlink > 1)
		why = "it has other hard links";
	else if (fchownat(fd, "", uid, gid, AT_EMPTY_PATH) < 0)
		fd_log_warn("socket %s: chown", path);
	if (why != NULL)
		fd_log_warnx("socket %s: not handed to the run user: %s", path,
		    why);
	close(fd);
}

/* fd_privs_drop - become user:group for good; -1 with a log line */
int
fd_privs_drop(const struct fd_conf *conf, const struct fd_run_ids *ids)
{
	const char	*path;

	if (!ids->set)
		return 0;
	if (geteuid() != 0)
		return geteuid() == ids->uid ? 0 : (fd_log_errx("cannot "
		    "become user %s: not running as root", conf->user), -1);
	/* what we created as root and the run user must reach or remove
	 * (the store's were handed over when it was opened, the pidfile
	 * when it was written) */
	if ((path = fd_milter_socket_path(conf->socket)) != NULL)
		chown_socket(path, ids->uid, ids->gid);
	if (initgroups(conf->user, ids->gid) < 0 || setgid(ids->gid) < 0 ||
	    setuid(ids->uid) < 0) {
		fd_log_err("cannot become user %s", conf->user);
		return -1;
	}
	/* make sure it stuck */
	if (setuid(0) == 0) {
		fd_log_errx("still able to regain root after dropping it");
		return -1;
	}
	return 0;
}
