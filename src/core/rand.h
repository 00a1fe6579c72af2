/* core/rand.h: cryptographic randomness (the kernel's getrandom) and constant-time comparison
 * (OpenSSL's HMAC underneath). */
#ifndef AG_CORE_RAND_H
#define AG_CORE_RAND_H

#include <stdbool.h>
#include <stddef.h>

/** Fills buf with n cryptographically random bytes; 0 or AG_EIO. */
int ag_random_bytes(void *buf, size_t n);

/** Writes 2*nbytes random lowercase hex digits and a NUL into out (cap >= 2*nbytes+1); 0 or AG_EIO.
 */
int ag_random_hex(char *out, size_t cap, size_t nbytes);

/** Generates an API key "sk-" + 32 lowercase hex digits into out (cap >= 36); 0 or AG_EIO. */
int ag_random_api_key(char *out, size_t cap);

/**
 * Compares two byte strings (a secret and a guess) in time that depends neither on where they
 * differ nor on the secret's length (both are hashed with a per-process key first). Different
 * lengths compare unequal.
 */
bool ag_secret_eq(const char *a, size_t alen, const char *b, size_t blen);

#endif
