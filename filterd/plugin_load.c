/*
 * plugin_load.c -- load and validate plugin shared objects, see plugin.h
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <dlfcn.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
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
		fd_errs_add(errs, loc, "plugin %s %s: refused: owned by uid %u, "
		    "expected root or uid %u", what, path, (unsigned)st->st_uid,
		    (unsigned)geteuid());
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
 * mapped_file - the device and inode of the file mapped at addr, read
 * from /proc/self/maps; 0, or -1 when that cannot tell
 */
static int
mapped_file(const void *addr, dev_t *dev, ino_t *ino)
{
	FILE			*f;
	char			 line[512];
	unsigned long		 lo, hi;
	unsigned		 maj, min;
	unsigned long long	 inode;
	int			 rc = -1;

	if ((f = fopen("/proc/self/maps", "re")) == NULL)
		return -1;
	while (rc < 0 && fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, "%lx-%lx %*s %*s %x:%x %llu", &lo, &hi, &maj,
		    &min, &inode) != 5 || (uintptr_t)addr < lo ||
		    (uintptr_t)addr >= hi)
			continue;
		*dev = makedev(maj, min);
		*ino = (ino_t)inode;
		rc = 0;
	}
	fclose(f);
	return rc;
}

/*
 * same_file - the object dlopen() gave is the file that was checked.
 * glibc hands back an object already loaded under the same name, even
 * when the file by that name has since been replaced (a plugin
 * upgraded on disk while an older generation still uses the old one):
 * a reload would then run the old code and say nothing, and the file
 * the checks passed is not the one running.
 */
static int
same_file(const void *sym, const struct stat *st, const char *path,
    const struct fd_loc *loc, struct fd_errs *errs)
{
	Dl_info	 di;
	dev_t	 dev;
	ino_t	 ino;

	/* the object's first mapping, the file's start: the symbol itself
	 * might lie in memory no file backs */
	if (dladdr(sym, &di) == 0 || di.dli_fbase == NULL ||
	    mapped_file(di.dli_fbase, &dev, &ino) < 0 ||
	    (dev == st->st_dev && ino == st->st_ino))
		return 0;
	fd_errs_add(errs, loc, "plugin file %s: replaced since filterd loaded "
	    "it, and the file loaded first is still in use; restart filterd "
	    "to load the new one", path);
	return -1;
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
	if (same_file(p, &st, path, loc, errs) < 0 ||
	    check_desc(p, path, loc, errs) < 0) {
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
	dlclose(lib->handle);
	free(lib);
	return NULL;
}
