/*
 * grey_table.h -- the greylist plugin's own small tables
 *
 * A plugin links against nothing of filterd's, so the plugin keeps the
 * few lookups it needs here: networks (whitelisted networks, pool
 * networks), names (whitelisted client or sender domains, addresses,
 * pool domains) and the reader for table files. Each entry carries an
 * int value (a pool's number; 0 in plain whitelists).
 *
 *   nets    "192.0.2.0/24", "2001:db8::/32", a bare address; scanned in
 *           the order added, first match wins (tables here hold tens to
 *           hundreds of entries, the whole pools table included).
 *   names   "example.com" matches that name and every name under it;
 *           "user@example.com" that address; "postmaster@" that local
 *           part at any domain. Case-insensitive, sorted once, found by
 *           binary search per label.
 *
 * Tables are built at configuration time and only read afterwards.
 */
#ifndef GREY_TABLE_H
#define GREY_TABLE_H

#include <stddef.h>

struct grey_net {
	unsigned char	 addr[16];
	size_t		 len;		/* 4 or 16 */
	int		 plen;
	int		 value;
};

struct grey_nets {
	struct grey_net	*v;
	size_t		 n;
	size_t		 cap;
};

struct grey_name {
	char		*s;		/* lowercase; owned */
	int		 value;
};

struct grey_names {
	struct grey_name *v;
	size_t		 n;
	size_t		 cap;
};

/* grey_ip_parse - an IPv4 or IPv6 address as text into out; IPv4-mapped
 * IPv6 comes back as 4 bytes, as the host gives client addresses;
 * returns the length, 0 if s is no address */
size_t	 grey_ip_parse(const char *s, unsigned char out[16]);

/* grey_nets_add - one network; -1 (why set) if malformed or out of memory */
int	 grey_nets_add(struct grey_nets *, const char *s, int value,
	    const char **why);
/* grey_nets_match - the value of the first network holding ip, or -1 */
int	 grey_nets_match(const struct grey_nets *, const unsigned char *ip,
	    size_t iplen);
void	 grey_nets_clear(struct grey_nets *);

/* grey_names_add - one name, address or "local@"; -1 (why set) if
 * malformed or out of memory */
int	 grey_names_add(struct grey_names *, const char *s, int value,
	    const char **why);
/* grey_names_seal - sort; before the first lookup */
void	 grey_names_seal(struct grey_names *);
/* grey_names_domain - the value of the entry for name or its nearest
 * parent domain, or -1 */
int	 grey_names_domain(const struct grey_names *, const char *name);
/* grey_names_addr - the value for an address: the address itself, then
 * "local@", then its domain and parents; -1 if none */
int	 grey_names_addr(const struct grey_names *, const char *addr);
void	 grey_names_clear(struct grey_names *);

/*
 * grey_file_lines - call fn for every line of path holding words: words
 * are split at blanks and commas, "#" starts a comment (and "//", for
 * Public Suffix List files). cols holds each word's column, counted in
 * bytes from 1 as the core counts a config file's, so that fn can say
 * "path:line:col". A byte order mark at the start is skipped.
 *
 * Each problem goes to bad, fn's as well as the file's, and the lines
 * after it are read, so that one run of filterd -t shows them all: fn
 * reports its line's problems itself and returns their count. Past
 * GREY_FILE_ERRORS problems the rest of the file is skipped, as the
 * core's table files are. A file that cannot be opened or read, a FIFO
 * and a line too long end the file. Returns 0, or -1 if bad was called.
 */
#define GREY_FILE_WORDS		64
#define GREY_FILE_ERRORS	20
int	 grey_file_lines(const char *path,
	    int (*fn)(char **words, const int *cols, int n, int line,
	    void *arg, void (*bad)(void *arg, const char *msg)),
	    void (*bad)(void *arg, const char *msg), void *arg);

#endif
