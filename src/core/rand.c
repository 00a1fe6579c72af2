/* core/rand.c: randomness from the kernel's CSPRNG and constant-time compare. */
#include "core/rand.h"

#include "core/err.h"
#include "core/hex.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/random.h>

/* getrandom(2) draws from the same kernel CSPRNG that OpenSSL seeds itself from, blocks only
 * until that pool is initialised once after boot, and needs no library state: ids, tokens and
 * keys drawn at start-up do not initialise OpenSSL (its configuration, providers and DRBGs cost
 * the process megabytes of memory it may never need while idle). */
int ag_random_bytes(void *buf, size_t n)
{
    unsigned char *p = buf;
    while (n > 0) {
        ssize_t got = getrandom(p, n, 0);
        if (got < 0) {
            if (errno == EINTR)
                continue;
            return AG_EIO;
        }
        p += got;
        n -= (size_t)got;
    }
    return 0;
}

static unsigned char secret_hmac_key[32];

static void secret_key_init(void)
{
    if (ag_random_bytes(secret_hmac_key, sizeof(secret_hmac_key)))
        abort(); /* no randomness: secrets cannot be compared safely */
}

int ag_random_hex(char *out, size_t cap, size_t nbytes)
{
    unsigned char raw[64];
    if (nbytes > sizeof(raw) || cap < nbytes * 2 + 1)
        return AG_EINVAL;
    if (ag_random_bytes(raw, nbytes))
        return AG_EIO;
    ag_hex_encode(out, raw, nbytes);
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

/* Both sides go through HMAC-SHA-256 under a key drawn once per process, and the digests are
 * compared in constant time: neither where the strings differ nor the secret's length shows in the
 * time taken (a plain compare returns at once on a length mismatch, which tells a guesser the
 * length). The key makes the digests useless to anyone who sees them. */
bool ag_secret_eq(const char *a, size_t alen, const char *b, size_t blen)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    unsigned char da[EVP_MAX_MD_SIZE], db[EVP_MAX_MD_SIZE];
    unsigned la = 0, lb = 0;
    pthread_once(&once, secret_key_init);
    if (!HMAC(EVP_sha256(), secret_hmac_key, sizeof(secret_hmac_key), (const unsigned char *)a,
              alen, da, &la) ||
        !HMAC(EVP_sha256(), secret_hmac_key, sizeof(secret_hmac_key), (const unsigned char *)b,
              blen, db, &lb))
        abort(); /* no digest: nothing can be compared safely */
    return (CRYPTO_memcmp(da, db, la) == 0) & (alen == blen);
}
