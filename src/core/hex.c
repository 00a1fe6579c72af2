/* core/hex.c: hex encoding (see hex.h). */
#include "core/hex.h"

#include <assert.h>

static const char digits[2][16] = {
    {'0', '1', '2', '3', '4', '5', '6', '7', '8', '9', 'a', 'b', 'c', 'd', 'e', 'f'},
    {'0', '1', '2', '3', '4', '5', '6', '7', '8', '9', 'A', 'B', 'C', 'D', 'E', 'F'},
};

static char *encode(char *out, const unsigned char *in, size_t n, const char *d)
{
    for (size_t i = 0; i < n; i++) {
        *out++ = d[in[i] >> 4];
        *out++ = d[in[i] & 15];
    }
    *out = '\0';
    return out;
}

char *ag_hex_encode(char *out, const void *in, size_t n)
{
    return encode(out, in, n, digits[0]);
}

char *ag_hex_encode_upper(char *out, const void *in, size_t n)
{
    return encode(out, in, n, digits[1]);
}

char *ag_hex_u64(char *out, uint64_t v, unsigned ndigits)
{
    assert(ndigits <= 16);
    for (unsigned i = 0; i < ndigits; i++)
        *out++ = digits[0][(v >> (60 - 4 * i)) & 15];
    *out = '\0';
    return out;
}
