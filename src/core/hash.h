/* core/hash.h: hashing. SHA-256 of a byte string (OpenSSL underneath), in raw form, for keys and
 * digests that must not collide; and the 64-bit FNV hash for in-memory tables and short
 * deterministic ids, where speed matters and collisions only cost a compare. */
#ifndef AG_CORE_HASH_H
#define AG_CORE_HASH_H

#include <stddef.h>
#include <stdint.h>

/** Bytes of a SHA-256 digest. */
#define AG_SHA256_SIZE 32

/** Writes the SHA-256 digest of the len bytes at data (data may be NULL when len is 0) into out.
 */
void ag_sha256(const void *data, size_t len, unsigned char out[AG_SHA256_SIZE]);

/** The 64-bit FNV offset basis: the start value of an FNV hash. */
#define AG_FNV_INIT 0xcbf29ce484222325ull

/**
 * Continues a 64-bit FNV-1a hash (xor each byte, then multiply) from h over the n bytes at p (p
 * may be NULL when n is 0) and returns it. Start with AG_FNV_INIT; feeding a string in pieces
 * gives the same value as feeding it whole.
 */
uint64_t ag_hash_fnv1a_add(uint64_t h, const void *p, size_t n);

/** The 64-bit FNV-1a hash of the n bytes at p. */
static inline uint64_t ag_hash_fnv1a(const void *p, size_t n)
{
    return ag_hash_fnv1a_add(AG_FNV_INIT, p, n);
}

/**
 * Continues a 64-bit FNV-1 hash (multiply, then xor each byte: the older order) from h over the n
 * bytes at p. Only for values that were defined with this order and must keep their value (the
 * upstream session id); everything new uses ag_hash_fnv1a.
 */
uint64_t ag_hash_fnv1_add(uint64_t h, const void *p, size_t n);

#endif
