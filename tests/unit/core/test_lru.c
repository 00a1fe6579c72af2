/* Unit tests for core/lru.c: lookup by key, oldest-to-newest order, counts and bytes, removal from
 * the middle and from colliding chains. */
#include "ag_test.h"

#include "core/lru.h"

#include <stdio.h>
#include <string.h>

struct item {
    int value;
    struct ag_lru_node node;
    char key[16];
};

static void set(struct item *it, const char *key, int value, size_t bytes)
{
    memset(it, 0, sizeof(*it));
    snprintf(it->key, sizeof(it->key), "%s", key);
    it->value = value;
    it->node.key = ag_str_c(it->key);
    it->node.bytes = bytes;
}

static int value_of(struct ag_lru_node *n)
{
    return n ? AG_LRU_ENTRY(n, struct item, node)->value : -1;
}

static void finds_and_keeps_storing_order(void **state)
{
    struct ag_lru l;
    struct item a, b, c;
    ag_lru_init(&l, 2); /* few buckets: the three share chains */
    set(&a, "a", 1, 10);
    set(&b, "bb", 2, 20);
    set(&c, "ccc", 3, 30);
    ag_lru_push(&l, &a.node);
    ag_lru_push(&l, &b.node);
    ag_lru_push(&l, &c.node);
    assert_int_equal(l.count, 3);
    assert_int_equal(l.bytes, 60);
    assert_int_equal(value_of(ag_lru_find(&l, AG_STR("bb"))), 2);
    assert_int_equal(value_of(ag_lru_find(&l, AG_STR("b"))), -1);
    assert_int_equal(value_of(l.oldest), 1);
    assert_int_equal(value_of(l.newest), 3);

    /* out of the middle: the order closes over it */
    ag_lru_remove(&l, &b.node);
    assert_int_equal(l.count, 2);
    assert_int_equal(l.bytes, 40);
    assert_null(ag_lru_find(&l, AG_STR("bb")));
    assert_int_equal(value_of(ag_lru_find(&l, AG_STR("ccc"))), 3);
    assert_int_equal(value_of(l.oldest), 1);

    /* pushed again, it is the newest */
    ag_lru_push(&l, &b.node);
    assert_int_equal(value_of(l.newest), 2);
    ag_lru_remove(&l, l.oldest);
    assert_int_equal(value_of(l.oldest), 3);
    ag_lru_remove(&l, l.oldest);
    ag_lru_remove(&l, l.oldest);
    assert_null(l.oldest);
    assert_null(l.newest);
    assert_int_equal(l.count, 0);
    assert_int_equal(l.bytes, 0);
    ag_lru_dispose(&l);
}

static void many_keys_in_few_buckets(void **state)
{
    enum { N = 200 };
    static struct item items[N];
    struct ag_lru l;
    ag_lru_init(&l, 7);
    for (int i = 0; i < N; i++) {
        char k[16];
        snprintf(k, sizeof(k), "k%d", i);
        set(&items[i], k, i, 1);
        ag_lru_push(&l, &items[i].node);
    }
    for (int i = 0; i < N; i += 2)
        ag_lru_remove(&l, &items[i].node);
    assert_int_equal(l.count, N / 2);
    for (int i = 0; i < N; i++) {
        char k[16];
        snprintf(k, sizeof(k), "k%d", i);
        assert_int_equal(value_of(ag_lru_find(&l, ag_str_c(k))), i % 2 ? i : -1);
    }
    int expect = 1;
    while (l.oldest) {
        assert_int_equal(value_of(l.oldest), expect);
        ag_lru_remove(&l, l.oldest);
        expect += 2;
    }
    assert_int_equal(expect, N + 1);
    ag_lru_dispose(&l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(finds_and_keeps_storing_order),
        cmocka_unit_test(many_keys_in_few_buckets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
