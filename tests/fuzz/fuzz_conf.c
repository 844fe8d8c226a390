/*
 * fuzz_conf.c -- libFuzzer target: the config parser (conf_lex.l,
 * conf_parse.y and every directive's checks) on arbitrary files
 *
 * Each input is written to a file and loaded with fd_conf_load. The
 * sanitizers catch memory errors and leaks; a load must also never end
 * the process (flex's default input routine once did, on a directory).
 * `make fuzz` runs it (configure --enable-fuzzing, clang).
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "conf.h"
#include "errs.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char	*path;
	struct fd_errs	 errs = { 0 };
	struct fd_conf	*conf;

	if (path == NULL)
		path = fz_scratch_path("fuzz.conf");
	fz_write_file(path, data, size);
	if ((conf = fd_conf_load(path, &errs)) != NULL)
		fd_conf_free(conf);
	fd_errs_clear(&errs);
	return 0;
}
