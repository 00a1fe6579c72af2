/* core/hash.c: SHA-256 through OpenSSL's one-shot digest, and FNV (see hash.h). */
#include "core/hash.h"

#include <openssl/evp.h>
#include <stdlib.h>

void ag_sha256(const void *data, size_t len, unsigned char out[AG_SHA256_SIZE])
{
    unsigned int n = 0;
    static const char empty[1];
    /* The one-shot digest cannot fail for SHA-256 short of a broken OpenSSL install. */
    if (EVP_Digest(data ? data : empty, len, out, &n, EVP_sha256(), NULL) != 1 ||
        n != AG_SHA256_SIZE)
        abort();
}

#define FNV_PRIME 0x100000001b3ull

uint64_t ag_hash_fnv1a_add(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * FNV_PRIME;
    return h;
}

uint64_t ag_hash_fnv1_add(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h * FNV_PRIME) ^ b[i];
    return h;
}
