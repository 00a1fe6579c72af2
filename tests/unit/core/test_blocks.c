/* Unit tests for core/blocks (the per-thread cache of large blocks and arena-sized small ones) and
 * the users of it in core: ag_buf_reserve / ag_buf_reserve_cached / ag_buf_dispose and the arena's
 * large chunks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <pthread.h>

#include "core/arena.h"
#include "core/blocks.h"
#include "core/buf.h"
#include "core/err.h"

static int reset(void **state)
{
    (void)state;
    ag_block_trim();
    return 0;
}

static void a_block_put_back_is_handed_out_again(void **state)
{
    (void)state;
    size_t size = 0;
    char *p = ag_block_get(200000, &size);
    assert_true(size >= 200000);
    assert_true(size <= 200000 + 200000 / 4); /* classes are a quarter octave apart */
    memset(p, 'x', size);
    ag_block_put(p, size);
    assert_int_equal(ag_block_cached(), size);
    size_t size2 = 0;
    char *q = ag_block_get(210000, &size2); /* same class (192 KiB to 224 KiB) */
    assert_ptr_equal(p, q);
    assert_int_equal(size2, size);
    assert_int_equal(ag_block_cached(), 0);
    free(q); /* a block is ordinary heap memory */
}

static void small_and_huge_blocks_are_not_kept(void **state)
{
    (void)state;
    size_t size = 0;
    void *p = ag_block_get(1000, &size); /* below AG_BLOCK_SMALL_MIN */
    assert_int_equal(size, 1000);
    ag_block_put(p, size);
    void *h = ag_block_get(AG_BLOCK_MAX + 1, &size);
    assert_int_equal(size, AG_BLOCK_MAX + 1);
    ag_block_put(h, size);
    assert_int_equal(ag_block_cached(), 0);
    ag_block_put(NULL, 123456);
    assert_int_equal(ag_block_cached(), 0);
}

static void the_cache_stays_within_its_budget(void **state)
{
    (void)state;
    enum { N = (AG_BLOCK_CACHE_MAX / (4u * 1024 * 1024)) + 4 };
    void *blocks[N];
    size_t size = 0;
    for (int i = 0; i < N; i++)
        blocks[i] = ag_block_get(4u * 1024 * 1024, &size);
    for (int i = 0; i < N; i++)
        ag_block_put(blocks[i], size);
    assert_true(ag_block_cached() <= AG_BLOCK_CACHE_MAX);
    assert_true(ag_block_cached() >= AG_BLOCK_CACHE_MAX - size);
    ag_block_trim();
    assert_int_equal(ag_block_cached(), 0);
}

static void a_presized_buffer_never_moves_and_its_storage_is_reused(void **state)
{
    (void)state;
    struct ag_buf b;
    ag_buf_init(&b, 1024 * 1024);
    assert_int_equal(ag_buf_reserve_cached(&b, 300000), 0);
    assert_true(b._alloc >= 300001);
    assert_string_equal(b.data, "");
    char *first = b.data;
    char chunk[1000];
    memset(chunk, 'a', sizeof(chunk));
    for (int i = 0; i < 300; i++)
        assert_int_equal(ag_buf_append(&b, chunk, sizeof(chunk)), 0);
    assert_ptr_equal(b.data, first); /* one allocation for the whole body */
    assert_int_equal(b.len, 300000);
    /* growing past it keeps the contents */
    assert_int_equal(ag_buf_reserve_cached(&b, 100000), 0);
    assert_int_equal(b.len, 300000);
    assert_int_equal(b.data[299999], 'a');
    assert_int_equal(b.data[300000], '\0');
    char *second = b.data;
    assert_true(ag_block_cached() > 0); /* the first storage went back to the cache */
    ag_buf_dispose(&b);
    assert_null(b.data);
    assert_int_equal(b.len, 0);

    struct ag_buf c;
    ag_buf_init(&c, 1024 * 1024);
    assert_int_equal(ag_buf_reserve_cached(&c, 300000), 0);
    assert_ptr_equal(c.data, first);
    ag_buf_dispose(&c);
    (void)second;
}

static void a_cached_reserve_respects_the_cap_and_small_sizes(void **state)
{
    (void)state;
    struct ag_buf b;
    ag_buf_init(&b, 100000);
    assert_int_equal(ag_buf_reserve_cached(&b, 100001), AG_ETOOBIG);
    assert_null(b.data);
    assert_int_equal(ag_buf_reserve_cached(&b, 100), 0); /* below the cache: plain storage */
    assert_int_equal(ag_buf_append(&b, "hello", 5), 0);
    assert_string_equal(b.data, "hello");
    size_t len = 0;
    char *s = ag_buf_steal(&b, &len); /* ordinary heap memory either way */
    assert_int_equal(len, 5);
    free(s);
    assert_int_equal(ag_block_cached(), 0);
}

static void large_arena_chunks_come_back_on_the_next_request(void **state)
{
    (void)state;
    struct ag_arena a;
    ag_arena_init(&a, 8192, 64u * 1024 * 1024);
    char *small = ag_arena_alloc(&a, 100);
    char *big = ag_arena_alloc(&a, 500000);
    assert_non_null(small);
    assert_non_null(big);
    memset(big, 'b', 500000);
    ag_arena_dispose(&a);
    assert_true(ag_block_cached() >= 500000);

    struct ag_arena a2;
    ag_arena_init(&a2, 8192, 64u * 1024 * 1024);
    char *big2 = ag_arena_alloc(&a2, 500000);
    assert_ptr_equal(big2, big);
    assert_int_equal(ag_block_cached(), 8192); /* the first arena's regular chunk */
    ag_arena_dispose(&a2);

    /* the cap still counts what was asked for */
    struct ag_arena capped;
    ag_arena_init(&capped, 8192, 600000);
    assert_non_null(ag_arena_alloc(&capped, 500000));
    assert_null(ag_arena_alloc(&capped, 200000));
    ag_arena_dispose(&capped);
}

static void small_blocks_are_kept_within_their_budget(void **state)
{
    (void)state;
    size_t size = 0;
    void *p = ag_block_get(4096, &size);
    assert_int_equal(size, 4096);
    ag_block_put(p, size);
    assert_int_equal(ag_block_cached(), 4096);
    assert_ptr_equal(ag_block_get(4000, &size), p); /* the same class */
    assert_int_equal(size, 4096);
    assert_int_equal(ag_block_cached(), 0);
    ag_block_put(p, size);
    /* a smaller class is not served from it; a block is kept in the largest class it holds */
    void *q = ag_block_get(2048, &size);
    assert_ptr_not_equal(q, p);
    ag_block_put(q, size);
    void *odd = malloc(3000);
    ag_block_put(odd, 3000); /* held as a 2.5 KiB block */
    assert_int_equal(ag_block_cached(), 4096 + 2048 + 2560);
    assert_ptr_equal(ag_block_get(2500, &size), odd);
    assert_int_equal(size, 2560);
    ag_block_put(odd, size);
    ag_block_trim();

    enum { N = AG_BLOCK_SMALL_KEEP / 4096 + 8 };
    void *blocks[N];
    for (int i = 0; i < N; i++)
        blocks[i] = ag_block_get(4096, &size);
    for (int i = 0; i < N; i++)
        ag_block_put(blocks[i], size);
    assert_int_equal(ag_block_cached(), AG_BLOCK_SMALL_KEEP);
}

static void a_small_requests_arena_chunks_are_the_previous_ones(void **state)
{
    (void)state;
    struct ag_arena a;
    ag_arena_init(&a, 4096, 1u << 20);
    char *first = ag_arena_alloc(&a, 100);
    char *second = NULL;
    for (int i = 0; i < 4; i++) /* past the first chunk's room: a second regular chunk */
        second = ag_arena_alloc(&a, 1000);
    assert_non_null(first);
    assert_non_null(second);
    ag_arena_dispose(&a);
    assert_int_equal(ag_block_cached(), 2 * 4096); /* each chunk is 4 KiB with its header */

    ag_arena_init(&a, 4096, 1u << 20);
    char *again = ag_arena_alloc(&a, 100);
    assert_true(again == first || again == second); /* each chunk's first allocation */
    assert_int_equal(ag_block_cached(), 4096);
    ag_arena_dispose(&a);
}

static void a_buffer_of_a_kilobyte_or_more_reuses_the_previous_ones_storage(void **state)
{
    (void)state;
    char text[3000];
    memset(text, 't', sizeof(text));
    struct ag_buf b;
    ag_buf_init(&b, AG_BUF_UNBOUNDED);
    assert_int_equal(ag_buf_append(&b, text, 100), 0); /* small: plain heap */
    assert_int_equal(ag_buf_append(&b, text, 2000), 0);
    assert_int_equal(b.len, 2100);
    assert_int_equal(b.data[2099], 't');
    assert_int_equal(b.data[2100], '\0');
    char *first = b.data;
    ag_buf_dispose(&b);
    assert_true(ag_block_cached() >= 2101);

    struct ag_buf c;
    ag_buf_init(&c, AG_BUF_UNBOUNDED);
    assert_int_equal(ag_buf_append(&c, text, 2100), 0);
    assert_ptr_equal(c.data, first);
    ag_buf_dispose(&c);

    /* the room never goes past the cap, whatever the block's class */
    struct ag_buf capped;
    ag_buf_init(&capped, 1100);
    assert_int_equal(ag_buf_append(&capped, text, 1100), 0);
    assert_true(capped._alloc <= 1101);
    assert_int_equal(ag_buf_append(&capped, text, 1), AG_ETOOBIG);
    ag_buf_dispose(&capped);
}

static void a_quiet_thread_gives_its_blocks_back(void **state)
{
    (void)state;
    size_t size = 0;
    void *p = ag_block_get(300000, &size);
    ag_block_put(p, size);
    assert_int_equal(ag_block_cached(), size);
    /* busy: the counter moves every tick, the blocks stay */
    for (uint64_t t = 1; t <= 3 * AG_BLOCK_IDLE_TICKS; t++)
        assert_false(ag_block_idle_tick(t));
    assert_int_equal(ag_block_cached(), size);
    /* quiet: given back on the AG_BLOCK_IDLE_TICKS-th tick without activity, not before */
    for (int i = 1; i < AG_BLOCK_IDLE_TICKS; i++)
        assert_false(ag_block_idle_tick(3 * AG_BLOCK_IDLE_TICKS));
    assert_int_equal(ag_block_cached(), size);
    assert_true(ag_block_idle_tick(3 * AG_BLOCK_IDLE_TICKS));
    assert_int_equal(ag_block_cached(), 0);
    assert_false(ag_block_idle_tick(3 * AG_BLOCK_IDLE_TICKS)); /* nothing left to give */
}

static void integers_are_appended_in_decimal(void **state)
{
    (void)state;
    struct ag_buf b;
    ag_buf_init(&b, 64);
    assert_int_equal(ag_buf_append_int(&b, 0), 0);
    assert_int_equal(ag_buf_append(&b, " ", 1), 0);
    assert_int_equal(ag_buf_append_int(&b, -42), 0);
    assert_int_equal(ag_buf_append(&b, " ", 1), 0);
    assert_int_equal(ag_buf_append_int(&b, 9223372036854775807LL), 0);
    assert_int_equal(ag_buf_append(&b, " ", 1), 0);
    assert_int_equal(ag_buf_append_int(&b, -9223372036854775807LL - 1), 0);
    assert_string_equal(b.data, "0 -42 9223372036854775807 -9223372036854775808");
    ag_buf_dispose(&b);
    struct ag_buf small;
    ag_buf_init(&small, 3);
    assert_int_equal(ag_buf_append_int(&small, 1234), AG_ETOOBIG);
    ag_buf_dispose(&small);
}

static void *thread_main(void *arg)
{
    (void)arg;
    size_t size;
    void *p = ag_block_get(100000, &size);
    ag_block_put(p, size);
    return ag_block_cached() == size ? (void *)1 : NULL;
}

static void each_thread_has_its_own_cache(void **state)
{
    (void)state;
    pthread_t t;
    void *ok = NULL;
    assert_int_equal(pthread_create(&t, NULL, thread_main, NULL), 0);
    assert_int_equal(pthread_join(t, &ok), 0);
    assert_non_null(ok);
    /* the thread's block was freed when it exited (ASan's leak check would say otherwise) and
     * never reached this thread's cache */
    assert_int_equal(ag_block_cached(), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(a_block_put_back_is_handed_out_again, reset),
        cmocka_unit_test_setup(small_and_huge_blocks_are_not_kept, reset),
        cmocka_unit_test_setup(the_cache_stays_within_its_budget, reset),
        cmocka_unit_test_setup(a_presized_buffer_never_moves_and_its_storage_is_reused, reset),
        cmocka_unit_test_setup(a_cached_reserve_respects_the_cap_and_small_sizes, reset),
        cmocka_unit_test_setup(large_arena_chunks_come_back_on_the_next_request, reset),
        cmocka_unit_test_setup(each_thread_has_its_own_cache, reset),
        cmocka_unit_test_setup(small_blocks_are_kept_within_their_budget, reset),
        cmocka_unit_test_setup(a_small_requests_arena_chunks_are_the_previous_ones, reset),
        cmocka_unit_test_setup(a_buffer_of_a_kilobyte_or_more_reuses_the_previous_ones_storage,
                               reset),
        cmocka_unit_test_setup(a_quiet_thread_gives_its_blocks_back, reset),
        cmocka_unit_test(integers_are_appended_in_decimal),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    ag_block_trim();
    return rc;
}
