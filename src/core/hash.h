/* core/hash.h: message digests (OpenSSL underneath): SHA-256 of a byte string, in raw form. */
#ifndef AG_CORE_HASH_H
#define AG_CORE_HASH_H

#include <stddef.h>

/** Bytes of a SHA-256 digest. */
#define AG_SHA256_SIZE 32

/** Writes the SHA-256 digest of the len bytes at data (data may be NULL when len is 0) into out.
 */
void ag_sha256(const void *data, size_t len, unsigned char out[AG_SHA256_SIZE]);

#endif
