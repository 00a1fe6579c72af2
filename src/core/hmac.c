/* core/hmac.c: HMAC-SHA-256 through OpenSSL's one-shot HMAC (see hmac.h). */
#include "core/hmac.h"

#include "core/hex.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdlib.h>

void ag_hmac_sha256(const void *key, size_t klen, const void *data, size_t len,
                    unsigned char out[AG_SHA256_SIZE])
{
    static const unsigned char empty[1];
    unsigned int n = 0;
    /* Like the digest, the one-shot HMAC cannot fail for SHA-256 short of a broken OpenSSL. */
    if (!HMAC(EVP_sha256(), key ? key : empty, (int)klen, data ? data : empty, len, out, &n) ||
        n != AG_SHA256_SIZE)
        abort();
}

void ag_hmac_sha256_hex(const void *key, size_t klen, const void *data, size_t len,
                        char out[2 * AG_SHA256_SIZE + 1])
{
    unsigned char mac[AG_SHA256_SIZE];
    ag_hmac_sha256(key, klen, data, len, mac);
    ag_hex_encode(out, mac, sizeof(mac));
}
