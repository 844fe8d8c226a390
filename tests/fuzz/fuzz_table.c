/*
 * fuzz_table.c -- libFuzzer target: table files of each kind, and
 * lookups in them
 *
 * The first byte picks the kind (cidr, domain, regex, list); the rest is
 * the file. After the load each of its lines is looked up too, as an
 * address in a cidr table and as a name in the others, so that the
 * index, the hash slots and the combined regex see what they were built
 * from.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "errs.h"
#include "fuzz.h"
#include "table.h"

/* look_up - every line of text (NUL-terminated, modified) in t */
static void
look_up(const struct fd_table *t, enum fd_table_kind kind, char *text)
{
	unsigned char	 ip[16];
	char		*line, *save = NULL;
	size_t		 len;

	for (line = strtok_r(text, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		if (kind != FD_TABLE_CIDR)
			fd_table_match(t, line, strlen(line));
		else if ((len = fd_ip_parse(line, strlen(line), ip)) > 0)
			fd_table_match_ip(t, ip, len);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char		*path;
	struct fd_errs		 errs = { 0 };
	struct fd_table		*t;
	enum fd_table_kind	 kind;
	char			*text;

	if (size < 1)
		return 0;
	if (path == NULL)
		path = fz_scratch_path("fuzz.table");
	kind = (enum fd_table_kind)(data[0] & 3);
	fz_write_file(path, data + 1, size - 1);
	t = fd_table_new("fuzz", kind);
	fd_table_load(t, path, "fuzz.table", NULL, &errs);
	text = malloc(size);
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	look_up(t, kind, text);
	free(text);
	fd_table_free(t);
	fd_errs_clear(&errs);
	return 0;
}
