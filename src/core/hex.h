/* core/hex.h: hexadecimal digits. Encoding bytes as hex text (ids, digests, escapes) and reading
 * one hex digit back; the one table of digits in the project. */
#ifndef AG_CORE_HEX_H
#define AG_CORE_HEX_H

#include <stddef.h>
#include <stdint.h>

/**
 * Writes the n bytes at in as 2*n lowercase hex digits, most significant nibble first, and a NUL
 * into out, which the caller provides with room for 2*n + 1 bytes. Returns out + 2*n (where the
 * NUL is), so that pieces can be written one after another.
 */
char *ag_hex_encode(char *out, const void *in, size_t n);

/** As ag_hex_encode, with uppercase digits (percent-encoding, RFC 3986 section 2.1). */
char *ag_hex_encode_upper(char *out, const void *in, size_t n);

/**
 * Writes the first ndigits (at most 16) hex digits of v, most significant first, and a NUL into
 * out (room for ndigits + 1 bytes): 16 digits give the whole number, fewer its top part. Returns
 * out + ndigits.
 */
char *ag_hex_u64(char *out, uint64_t v, unsigned ndigits);

/** The value of hex digit c (either case), or -1 when c is not one. */
static inline int ag_hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

#endif
