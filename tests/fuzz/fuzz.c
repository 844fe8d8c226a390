/*
 * fuzz.c -- a scratch directory and file writing for the fuzz targets
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include "fuzz.h"
#include "proc.h"

static char	*scratch;

static void
scratch_remove(void)
{
	scratch = th_tmpdir_free(scratch);
}

char *
fz_scratch_path(const char *name)
{
	if (scratch == NULL) {
		scratch = th_tmpdir_new();
		atexit(scratch_remove);
	}
	return th_path(scratch, name);
}

void
fz_write_file(const char *path, const void *data, size_t size)
{
	FILE	*f;

	if ((f = fopen(path, "w")) == NULL ||
	    fwrite(data, 1, size, f) != size || fclose(f) != 0)
		abort();
}
