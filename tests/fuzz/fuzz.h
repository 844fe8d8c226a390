/*
 * fuzz.h -- what the libFuzzer targets share (fuzz.c)
 */
#ifndef FD_FUZZ_H
#define FD_FUZZ_H

#include <stddef.h>
#include <stdint.h>

/* the target's entry point, called by libFuzzer for each input */
int	 LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* fz_scratch_path - name in a directory of this process's own, removed
 * at exit; the caller frees the string */
char	*fz_scratch_path(const char *name);
/* fz_write_file - replace path's contents with size bytes of data */
void	 fz_write_file(const char *path, const void *data, size_t size);

#endif
