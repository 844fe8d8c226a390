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
 * Keys are returned as new strings (free()), with their length in *len;
 * NULL when out of memory.
 */
#ifndef GREY_KEY_H
#define GREY_KEY_H

#include <stddef.h>

char	*grey_key_triplet(const char *client, const char *sender,
	    const char *rcpt, size_t *len);
/* grey_key_awl - domain NULL: per client only */
char	*grey_key_awl(const char *client, const char *domain, size_t *len);
/* grey_key_body - rcpts need not be sorted; body may hold any bytes */
char	*grey_key_body(const char *sender, const char *const *rcpts,
	    size_t nrcpts, const void *body, size_t bodylen, size_t *len);

#endif
