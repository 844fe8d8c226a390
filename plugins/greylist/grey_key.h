/*
 * grey_key.h -- the store keys of the greylist plugin
 *
 * Three kinds of key, each handed to host->grey_check, which hashes it
 * (so no address is stored in clear and a key's size is bounded in the
 * store whatever a client sends):
 *
 *   triplet   "g1\n" CLIENT "\n" SENDER "\n" RCPT
 *   awl       "a1\n" CLIENT, or "a1\n" CLIENT "\n" SENDER-DOMAIN with
 *             auto-whitelist per-domain
 *   body      "b1\n" SENDER "\n" RCPT... (sorted) "\n\n" BODY-PREFIX
 *             (end-of-message mode with body-hash on: a retry of the
 *             same message, to the same recipients, from any address)
 *
 * The parts are already normalized (grey_addr.h, grey_client.h). SMTP
 * addresses cannot hold a line feed, so "\n" separates parts without
 * ambiguity. The version tag lets a later format live beside this one.
 * These bytes are what existing stores hold (hashed): they never change
 * for a given tag. Keys are returned as new strings (free()), with their
 * length in *len; NULL when out of memory. The _to variants write into
 * the caller's buffer instead (a key per recipient need not cost an
 * allocation) with snprintf's contract: the key's length is returned,
 * and when it is outlen or more the key did not fit and nothing was
 * written (out may then be NULL); it needs the returned length + 1.
 */
#ifndef GREY_KEY_H
#define GREY_KEY_H

#include <stddef.h>

char	*grey_key_triplet(const char *client, const char *sender,
	    const char *rcpt, size_t *len);
/* grey_key_awl - domain NULL: per client only */
char	*grey_key_awl(const char *client, const char *domain, size_t *len);
size_t	 grey_key_triplet_to(char *out, size_t outlen, const char *client,
	    const char *sender, const char *rcpt);
size_t	 grey_key_awl_to(char *out, size_t outlen, const char *client,
	    const char *domain);
/* grey_key_body - rcpts need not be sorted; body may hold any bytes */
char	*grey_key_body(const char *sender, const char *const *rcpts,
	    size_t nrcpts, const void *body, size_t bodylen, size_t *len);

#endif
