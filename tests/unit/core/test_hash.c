/* Unit tests for core/hash.c: SHA-256 and the two FNV orders against their published values. */
#include "ag_test.h"

#include "core/hash.h"

#include <string.h>

static void fnv1a_matches_published_values(void **state)
{
    assert_true(ag_hash_fnv1a("", 0) == 0xcbf29ce484222325ull);
    assert_true(ag_hash_fnv1a(NULL, 0) == AG_FNV_INIT);
    assert_true(ag_hash_fnv1a("a", 1) == 0xaf63dc4c8601ec8cull);
    assert_true(ag_hash_fnv1a("foobar", 6) == 0x85944171f73967e8ull);
    /* in pieces, the same value */
    uint64_t h = ag_hash_fnv1a_add(AG_FNV_INIT, "foo", 3);
    assert_true(ag_hash_fnv1a_add(h, "bar", 3) == 0x85944171f73967e8ull);
    /* bytes above 0x7f are taken unsigned */
    assert_true(ag_hash_fnv1a("\xff", 1) != ag_hash_fnv1a("\x7f", 1));
}

static void fnv1_keeps_the_older_order(void **state)
{
    assert_true(ag_hash_fnv1_add(AG_FNV_INIT, "a", 1) == 0xaf63bd4c8601b7beull);
    assert_true(ag_hash_fnv1_add(AG_FNV_INIT, "foobar", 6) == 0x340d8765a4dda9c2ull);
    assert_true(ag_hash_fnv1_add(AG_FNV_INIT, "foobar", 6) != ag_hash_fnv1a("foobar", 6));
}

static void sha256_of_abc(void **state)
{
    static const unsigned char want[AG_SHA256_SIZE] = {
        0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40,
        0xde, 0x5d, 0xae, 0x22, 0x23, 0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17,
        0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad};
    unsigned char got[AG_SHA256_SIZE];
    ag_sha256("abc", 3, got);
    assert_memory_equal(got, want, sizeof(want));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fnv1a_matches_published_values),
        cmocka_unit_test(fnv1_keeps_the_older_order),
        cmocka_unit_test(sha256_of_abc),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
