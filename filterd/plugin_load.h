/*
 * plugin_load.h -- loading plugin shared objects
 *
 * The checks run in this order, each failure a located message naming
 * what was expected and what was found:
 *   1. the file, symlinks resolved, is a regular file; it and every
 *      directory above it are owned by root or by us and not writable
 *      by group or others (a directory may be if sticky, as /tmp);
 *   2. dlopen(RTLD_NOW | RTLD_LOCAL) succeeds (dlerror's text otherwise);
 *   3. the entry symbol `filterd_plugin` exists;
 *   4. magic, ABI major equal, ABI minor not newer than ours, size sane.
 * The host keeps its own copy of the plugin struct, zero-filled past the
 * plugin's `size`, so hooks appended in a later minor read as NULL.
 */
#ifndef FD_PLUGIN_LOAD_H
#define FD_PLUGIN_LOAD_H

#include "filterd/plugin.h"
#include "errs.h"

struct fd_plugin_lib;

/* fd_plugin_lib_open - load path; NULL with a message at loc in errs */
struct fd_plugin_lib	*fd_plugin_lib_open(const char *path,
			    const struct fd_loc *loc, struct fd_errs *errs);
/* fd_plugin_lib_desc - the validated copy of the plugin's struct */
const struct fd_plugin	*fd_plugin_lib_desc(const struct fd_plugin_lib *);
/* fd_plugin_lib_close - dlclose; returns NULL */
struct fd_plugin_lib	*fd_plugin_lib_close(struct fd_plugin_lib *);

#endif
