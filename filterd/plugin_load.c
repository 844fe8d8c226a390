/*
 * plugin_load.c -- load and validate plugin shared objects, see plugin.h
 */
#include "config.h"

#include <sys/stat.h>

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "plugin_load.h"
#include "xalloc.h"

struct fd_plugin_lib {
	void			*handle;
	struct fd_plugin	 desc;	/* our copy, zero past desc.size */
};

/*
 * safe_node - one step of the path: owned by root or us, and writable by
 * nobody else. A directory others may write passes only when sticky (as
 * /tmp): there they cannot rename or remove an entry of root's or ours,
 * which the step below it checks.
 */
static int
safe_node(const char *path, const struct stat *st, int is_dir,
    const struct fd_loc *loc, struct fd_errs *errs)
{
	const char	*what = is_dir ? "directory" : "file";

	if (st->st_uid != 0 && st->st_uid != geteuid()) {
		if (geteuid() == 0)
			fd_errs_add(errs, loc, "plugin %s %s: refused: owned by "
			    "uid %u, expected root", what, path,
			    (unsigned)st->st_uid);
		else
			fd_errs_add(errs, loc, "plugin %s %s: refused: owned by "
			    "uid %u, expected root or uid %u", what, path,
			    (unsigned)st->st_uid, (unsigned)geteuid());
		return -1;
	}
	if ((st->st_mode & (S_IWGRP | S_IWOTH)) &&
	    !(is_dir && (st->st_mode & S_ISVTX))) {
		fd_errs_add(errs, loc, "plugin %s %s: refused: writable by %s "
		    "(mode %04o)", what, path,
		    (st->st_mode & S_IWOTH) ? "others" : "group",
		    (unsigned)(st->st_mode & 07777));
		return -1;
	}
	return 0;
}

/*
 * safe_path - the file the path really names (symlinks resolved, so a
 * link cannot lead out of the checked directories) and every directory
 * above it up to /; the real path, owned, and the file's stat in *fst,
 * or NULL with a message
 */
static char *
safe_path(const char *path, struct stat *fst, const struct fd_loc *loc,
    struct fd_errs *errs)
{
	struct stat	 st;
	char		*real, *dir, *slash;

	if ((real = realpath(path, NULL)) == NULL || stat(real, &st) < 0) {
		fd_errs_add(errs, loc, "plugin file %s: %s", path,
		    strerror(errno));
		free(real);
		return NULL;
	}
	if (!S_ISREG(st.st_mode)) {
		fd_errs_add(errs, loc, "plugin file %s: not a regular file", path);
		free(real);
		return NULL;
	}
	if (safe_node(real, &st, 0, loc, errs) < 0) {
		free(real);
		return NULL;
	}
	*fst = st;
	dir = fd_strdup(real);
	while ((slash = strrchr(dir, '/')) != NULL) {
		/* "/a/b" -> "/a", "/a" -> "/" */
		slash[slash == dir ? 1 : 0] = '\0';
		if (stat(dir, &st) < 0) {
			fd_errs_add(errs, loc, "plugin directory %s: %s", dir,
			    strerror(errno));
			break;
		}
		if (safe_node(dir, &st, 1, loc, errs) < 0)
			break;
		if (strcmp(dir, "/") == 0) {
			free(dir);
			return real;
		}
	}
	free(dir);
	free(real);
	return NULL;
}

/*
 * The objects this process has open through the loader, each with the
 * file it was first opened from. glibc's dlopen() hands back an object
 * already loaded under the same name even when the file by that name has
 * since been replaced (a plugin upgraded on disk while an older
 * generation still holds the old one): a reload would run the old code
 * and say nothing. Comparing the file now checked with the one the
 * object came from catches that. The list is process-wide, as the
 * dynamic loader's own is: a reload opens plugins in its thread while a
 * connection's last close may close an old generation's in another.
 * (The device and inode of the object's mapping in /proc/self/maps would
 * need no list, but on overlayfs they name the file underneath, not the
 * one stat() sees.)
 */
struct opened {
	void		*handle;
	dev_t		 dev;
	ino_t		 ino;
	unsigned	 refs;
	struct opened	*next;
};

static pthread_mutex_t	 opened_mu = PTHREAD_MUTEX_INITIALIZER;
static struct opened	*opened_list;

/* opened_take - one more user of handle h, opened from the file st
 * describes; -1 with a message if h came from another file */
static int
opened_take(void *h, const struct stat *st, const char *path,
    const struct fd_loc *loc, struct fd_errs *errs)
{
	struct opened	*o;
	int		 rc = 0;

	pthread_mutex_lock(&opened_mu);
	for (o = opened_list; o != NULL && o->handle != h; o = o->next)
		;
	if (o == NULL) {
		o = fd_calloc(1, sizeof(*o));
		o->handle = h;
		o->dev = st->st_dev;
		o->ino = st->st_ino;
		o->next = opened_list;
		opened_list = o;
	}
	if (o->dev == st->st_dev && o->ino == st->st_ino)
		o->refs++;
	else
		rc = -1;
	pthread_mutex_unlock(&opened_mu);
	if (rc < 0)
		fd_errs_add(errs, loc, "plugin file %s: replaced since filterd "
		    "loaded it, and the file loaded first is still in use; "
		    "restart filterd to load the new one", path);
	return rc;
}

/* opened_drop - one user fewer of handle h */
static void
opened_drop(void *h)
{
	struct opened	**op, *o;

	pthread_mutex_lock(&opened_mu);
	for (op = &opened_list; (o = *op) != NULL; op = &o->next)
		if (o->handle == h) {
			if (--o->refs == 0) {
				*op = o->next;
				free(o);
			}
			break;
		}
	pthread_mutex_unlock(&opened_mu);
}

/* check_desc - the plugin struct is one we can use */
static int
check_desc(const struct fd_plugin *p, const char *path,
    const struct fd_loc *loc, struct fd_errs *errs)
{
	if (p->magic != FD_PLUGIN_MAGIC) {
		fd_errs_add(errs, loc, "plugin file %s: %s is not a filterd "
		    "plugin (bad magic 0x%08x)", path, FD_PLUGIN_SYMBOL,
		    (unsigned)p->magic);
		return -1;
	}
	if (p->abi_major != FD_PLUGIN_ABI_MAJOR) {
		fd_errs_add(errs, loc, "plugin file %s: ABI mismatch: plugin "
		    "has ABI %u.%u, filterd has ABI %u.%u", path,
		    p->abi_major, p->abi_minor, FD_PLUGIN_ABI_MAJOR,
		    FD_PLUGIN_ABI_MINOR);
		return -1;
	}
	if (p->abi_minor > FD_PLUGIN_ABI_MINOR) {
		fd_errs_add(errs, loc, "plugin file %s: ABI mismatch: plugin "
		    "needs ABI %u.%u, filterd has ABI %u.%u", path,
		    p->abi_major, p->abi_minor, FD_PLUGIN_ABI_MAJOR,
		    FD_PLUGIN_ABI_MINOR);
		return -1;
	}
	if (p->size < offsetof(struct fd_plugin, on_connect)) {
		fd_errs_add(errs, loc, "plugin file %s: plugin struct too "
		    "small (%u bytes)", path, (unsigned)p->size);
		return -1;
	}
	if (p->name == NULL || *p->name == '\0') {
		fd_errs_add(errs, loc, "plugin file %s: plugin has no name", path);
		return -1;
	}
	return 0;
}

struct fd_plugin_lib *
fd_plugin_lib_open(const char *path, const struct fd_loc *loc,
    struct fd_errs *errs)
{
	struct fd_plugin_lib	*lib;
	const struct fd_plugin	*p;
	struct stat		 st;
	char			*real;
	void			*h;
	size_t			 n;

	if ((real = safe_path(path, &st, loc, errs)) == NULL)
		return NULL;
	/* the checked file, not whatever a link names by now */
	h = dlopen(real, RTLD_NOW | RTLD_LOCAL);
	free(real);
	if (h == NULL) {
		fd_errs_add(errs, loc, "plugin file %s: %s", path, dlerror());
		return NULL;
	}
	if ((p = dlsym(h, FD_PLUGIN_SYMBOL)) == NULL) {
		fd_errs_add(errs, loc, "plugin file %s: missing entry symbol "
		    "%s", path, FD_PLUGIN_SYMBOL);
		dlclose(h);
		return NULL;
	}
	if (check_desc(p, path, loc, errs) < 0 ||
	    opened_take(h, &st, path, loc, errs) < 0) {
		dlclose(h);
		return NULL;
	}
	lib = fd_calloc(1, sizeof(*lib));
	lib->handle = h;
	n = p->size < sizeof(lib->desc) ? p->size : sizeof(lib->desc);
	memcpy(&lib->desc, p, n);
	/* what a 1.0 plugin has there is spare room, not a hook */
	if (p->abi_minor < 1)
		lib->desc.check_set = NULL;
	return lib;
}

const struct fd_plugin *
fd_plugin_lib_desc(const struct fd_plugin_lib *lib)
{
	return &lib->desc;
}

struct fd_plugin_lib *
fd_plugin_lib_close(struct fd_plugin_lib *lib)
{
	if (lib == NULL)
		return NULL;
	opened_drop(lib->handle);
	dlclose(lib->handle);
	free(lib);
	return NULL;
}
