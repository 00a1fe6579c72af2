/* Unit tests for relay/response_store.c: bounds and expiry, and the binding of a stored response to
 * the credential that made it (another key, or none, sees an unknown id). */
#include "ag_test.h"

#include "core/err.h"
#include "core/hash.h"
#include "relay/response_store.h"

#include <string.h>

static void owner_of(const char *key, unsigned char out[AG_SHA256_SIZE])
{
    ag_sha256(key, strlen(key), out);
}

static void bound_to_its_owner(void **state)
{
    unsigned char a[AG_SHA256_SIZE], b[AG_SHA256_SIZE];
    owner_of("sk-key-a", a);
    owner_of("sk-key-b", b);
    struct ag_response_store *s = ag_response_store_new(0, 0, 0);
    assert_int_equal(ag_response_store_put(s, AG_STR("resp_1"), a, AG_STR("{\"n\":1}"), 1000), 0);

    struct ag_str got = ag_response_store_get(s, AG_STR("resp_1"), a, 1001);
    assert_non_null(got.p);
    assert_true(ag_str_eq_c(got, "{\"n\":1}"));
    /* another key and no key at all see nothing */
    assert_null(ag_response_store_get(s, AG_STR("resp_1"), b, 1001).p);
    assert_null(ag_response_store_get(s, AG_STR("resp_1"), NULL, 1001).p);
    /* and cannot delete it */
    assert_false(ag_response_store_delete(s, AG_STR("resp_1"), b, 1001));
    assert_false(ag_response_store_delete(s, AG_STR("resp_1"), NULL, 1001));
    assert_int_equal(ag_response_store_count(s), 1);
    assert_non_null(ag_response_store_get(s, AG_STR("resp_1"), a, 1002).p);
    /* the owner can */
    assert_true(ag_response_store_delete(s, AG_STR("resp_1"), a, 1003));
    assert_null(ag_response_store_get(s, AG_STR("resp_1"), a, 1004).p);
    assert_int_equal(ag_response_store_count(s), 0);
    ag_response_store_free(s);
}

static void unbound_is_shared(void **state)
{
    unsigned char a[AG_SHA256_SIZE];
    owner_of("sk-key-a", a);
    struct ag_response_store *s = ag_response_store_new(0, 0, 0);
    assert_int_equal(ag_response_store_put(s, AG_STR("resp_2"), NULL, AG_STR("{}"), 1000), 0);
    assert_non_null(ag_response_store_get(s, AG_STR("resp_2"), NULL, 1001).p);
    assert_non_null(ag_response_store_get(s, AG_STR("resp_2"), a, 1001).p);
    assert_true(ag_response_store_delete(s, AG_STR("resp_2"), a, 1002));
    ag_response_store_free(s);
}

static void bounds_and_expiry(void **state)
{
    unsigned char a[AG_SHA256_SIZE];
    owner_of("k", a);
    struct ag_response_store *s = ag_response_store_new(2, 1024, 100);
    assert_int_equal(ag_response_store_put(s, AG_STR("r1"), a, AG_STR("one"), 0), 0);
    assert_int_equal(ag_response_store_put(s, AG_STR("r2"), a, AG_STR("two"), 1), 0);
    assert_int_equal(ag_response_store_put(s, AG_STR("r3"), a, AG_STR("three"), 2), 0);
    /* the oldest went first */
    assert_null(ag_response_store_get(s, AG_STR("r1"), a, 3).p);
    assert_non_null(ag_response_store_get(s, AG_STR("r2"), a, 3).p);
    /* expired after its time to live */
    assert_null(ag_response_store_get(s, AG_STR("r2"), a, 101).p);
    /* larger than the byte bound on its own */
    char big[2048];
    memset(big, 'x', sizeof(big));
    assert_int_equal(ag_response_store_put(s, AG_STR("r4"), a, ag_str_make(big, sizeof(big)), 5),
                     AG_ETOOBIG);
    ag_response_store_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(bound_to_its_owner),
        cmocka_unit_test(unbound_is_shared),
        cmocka_unit_test(bounds_and_expiry),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
