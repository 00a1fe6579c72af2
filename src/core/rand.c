/* core/rand.c: OpenSSL-backed randomness and constant-time compare. */
#include "core/rand.h"

#include "core/err.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdint.h>

int ag_random_bytes(void *buf, size_t n)
{
    return RAND_bytes(buf, (int)n) == 1 ? 0 : AG_EIO;
}

int ag_random_hex(char *out, size_t cap, size_t nbytes)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char raw[64];
    if (nbytes > sizeof(raw) || cap < nbytes * 2 + 1)
        return AG_EINVAL;
    if (ag_random_bytes(raw, nbytes))
        return AG_EIO;
    for (size_t i = 0; i < nbytes; i++) {
        out[2 * i] = hex[raw[i] >> 4];
        out[2 * i + 1] = hex[raw[i] & 15];
    }
    out[nbytes * 2] = '\0';
    return 0;
}

int ag_random_api_key(char *out, size_t cap)
{
    if (cap < 36)
        return AG_EINVAL;
    out[0] = 's';
    out[1] = 'k';
    out[2] = '-';
    return ag_random_hex(out + 3, cap - 3, 16);
}

bool ag_secret_eq(const char *a, size_t alen, const char *b, size_t blen)
{
    if (alen != blen)
        return false;
    return alen == 0 || CRYPTO_memcmp(a, b, alen) == 0;
}
