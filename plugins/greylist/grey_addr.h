/*
 * grey_addr.h -- envelope address normalization for greylist keys
 *
 * A greylist triplet must stay the same across the retries of one
 * message, and across the messages of one sender, even when the sender
 * writes a fresh bounce address into every message. These functions turn
 * an envelope address into the stable form the keys are built from:
 *
 *   null sender        "" (or "<>") becomes "<>";
 *   domain             lowercased, a trailing dot dropped;
 *   SRS0 / SRS1        a forwarder's rewritten address is unwrapped to the
 *                      original sender (SRS0=HH=TT=orig.example=user@fwd);
 *   BATV               prvs=TAG=user, msprvs1=TAG=user and btv1==TAG==user
 *                      lose their per-message signature;
 *   sub-address        user+tag loses "+tag" (delimiters configurable);
 *   VERP               list-return-user=rcpt.example loses the encoded
 *                      recipient (found exactly when the recipient is
 *                      known, else by shape);
 *   digits             a number, or a long hex token, in the local part
 *                      becomes "#" (per-message ids in bounce addresses).
 *
 * The local part keeps its case (RFC 5321 lets it be case-sensitive).
 * Everything here is pure: no host, no clock, no global state. Returned
 * strings are owned by the caller (free()); NULL only when out of memory.
 * The _to variants write into the caller's buffer instead, which must
 * hold GREY_NORM_SIZE(strlen(address)) bytes (the normalized form is
 * never longer than the address, or "<>"): 0 with the length in *len,
 * or -1 (nothing written) when out is smaller or memory ran out.
 */
#ifndef GREY_ADDR_H
#define GREY_ADDR_H

#include <stddef.h>

/* which sender normalizations apply (the `normalize` directive) */
#define GREY_N_SRS	0x01u
#define GREY_N_BATV	0x02u
#define GREY_N_SUBADDR	0x04u
#define GREY_N_VERP	0x08u
#define GREY_N_DIGITS	0x10u
#define GREY_N_ALL	0x1fu

#define GREY_DELIMS_DEFAULT	"+"

/* grey_norm_sender - the stable form of an envelope sender; rcpt (or
 * NULL) is the recipient the key is for, to spot a VERP-encoded copy of
 * it; delims are the sub-address delimiters (NULL: "+") */
char	*grey_norm_sender(const char *sender, const char *rcpt,
	    unsigned flags, const char *delims);

/* grey_norm_rcpt - a recipient with its domain lowercased */
char	*grey_norm_rcpt(const char *rcpt);

#define GREY_NORM_SIZE(n)	((n) + 3)	/* see above */

int	 grey_norm_sender_to(char *out, size_t outlen, const char *sender,
	    const char *rcpt, unsigned flags, const char *delims, size_t *len);
int	 grey_norm_rcpt_to(char *out, size_t outlen, const char *rcpt,
	    size_t *len);

/* grey_work_get - a work buffer of need bytes: buf when it is big
 * enough, else a new one from the heap; NULL when out of memory.
 * grey_work_put releases it (nothing when it is buf). */
char	*grey_work_get(char *buf, size_t buflen, size_t need);
void	 grey_work_put(char *work, const char *buf);

/* grey_addr_domain - the domain part of a normalized address (after its
 * last '@'), "" if it has none; points into addr */
const char *grey_addr_domain(const char *addr);

/* grey_norm_flag - "srs", "batv", "subaddress", "verp", "digits" to its
 * GREY_N_* bit; 0 for an unknown name */
unsigned grey_norm_flag(const char *name);

#endif
