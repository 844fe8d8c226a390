/*
 * lookups.c -- getaddrinfo for check_store: see lookups.h
 *
 * A definition in the program comes before the C library's for every
 * caller, libhiredis included, so a test can count the lookups the store
 * makes without a resolver of its own; the C library's is found with
 * dlsym(RTLD_NEXT).
 */
#include "config.h"

#include <dlfcn.h>
#include <netdb.h>
#include <string.h>

#include "lookups.h"

typedef int (*gai_fn)(const char *, const char *, const struct addrinfo *,
    struct addrinfo **);

static int	 lookups;
static const char *target = "127.0.0.1";	/* of redis.fd-test */

int
getaddrinfo(const char *node, const char *service,
    const struct addrinfo *hints, struct addrinfo **res)
{
	static gai_fn	 real;
	gai_fn		 f;
	size_t		 n = node != NULL ? strlen(node) : 0;

	if (n > 8 && strcmp(node + n - 8, ".fd-test") == 0) {
		__atomic_add_fetch(&lookups, 1, __ATOMIC_ACQ_REL);
		if (strcmp(node, "redis.fd-test") != 0)
			return EAI_NONAME;
		node = __atomic_load_n(&target, __ATOMIC_ACQUIRE);
	}
	if ((f = __atomic_load_n(&real, __ATOMIC_ACQUIRE)) == NULL) {
		*(void **)&f = dlsym(RTLD_NEXT, "getaddrinfo");
		__atomic_store_n(&real, f, __ATOMIC_RELEASE);
	}
	return f(node, service, hints, res);
}

int
lookups_count(void)
{
	return __atomic_load_n(&lookups, __ATOMIC_ACQUIRE);
}

void
lookups_reset(void)
{
	__atomic_store_n(&lookups, 0, __ATOMIC_RELEASE);
}

void
lookups_point(const char *addr)
{
	__atomic_store_n(&target, addr, __ATOMIC_RELEASE);
}
