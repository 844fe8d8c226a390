/*
 * lookups.h -- host name lookups as check_store sees them
 *
 * lookups.c defines getaddrinfo for the whole test program, the store's
 * and hiredis's calls included: names under .fd-test are answered there
 * and counted (redis.fd-test is 127.0.0.1 unless lookups_point says
 * otherwise, no other exists), every other
 * name goes to the C library's getaddrinfo.
 */
#ifndef LOOKUPS_H
#define LOOKUPS_H

int	 lookups_count(void);	/* of .fd-test names, since the reset */
void	 lookups_reset(void);
/* lookups_point - redis.fd-test is addr from now on (a failover) */
void	 lookups_point(const char *addr);

#endif
