/* core/hmac.h: HMAC-SHA-256 (OpenSSL underneath), for signatures a receiver checks with a shared
 * secret (webhook payloads). */
#ifndef AG_CORE_HMAC_H
#define AG_CORE_HMAC_H

#include <stddef.h>

#include "core/hash.h"

/**
 * Writes HMAC-SHA-256 of the len bytes at data under the klen-byte key into out (key and data may
 * be NULL when their length is 0).
 */
void ag_hmac_sha256(const void *key, size_t klen, const void *data, size_t len,
                    unsigned char out[AG_SHA256_SIZE]);

/** As ag_hmac_sha256, written as 64 lowercase hex digits and a NUL into out. */
void ag_hmac_sha256_hex(const void *key, size_t klen, const void *data, size_t len,
                        char out[2 * AG_SHA256_SIZE + 1]);

#endif
